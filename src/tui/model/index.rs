//! Lookups over one World that the view-model builders need (node of an instance, pod of an
//! IP, who owns an SG). Built once per world; borrowing, never copying, the world.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::core::plan::ResourceRef;
use crate::world::{SecurityGroup, World, WorldOverlay};

pub const INGRESS_GROUP_ANNOTATION: &str = "alb.ingress.kubernetes.io/group.name";

pub struct Index<'w> {
    pub world: &'w World,
    lookups: Arc<Lookups<'w>>,
    /// A plan's objects seen in place of the world's own (a preview's "after").
    overlay: Option<&'w WorldOverlay>,
}

/// Lookups over objects no plan changes (nodes, pods, ENIs), shared with overlaid indexes.
struct Lookups<'w> {
    node_of_instance: BTreeMap<&'w str, &'w str>,
    pod_of_ip: BTreeMap<&'w str, String>,
    instance_of_eni: BTreeMap<&'w str, &'w str>,
}

impl<'w> Index<'w> {
    pub fn new(world: &'w World) -> Self {
        let mut node_of_instance = BTreeMap::new();
        for node in world.kube.nodes.iter().flat_map(|m| m.values()) {
            if let Some(i) = node.instance_id() {
                node_of_instance.insert(i, node.meta.name.as_str());
            }
        }
        let mut pod_of_ip = BTreeMap::new();
        for pod in world.kube.pods.iter().flat_map(|m| m.values()) {
            for ip in &pod.pod_ips {
                pod_of_ip.insert(ip.as_str(), pod.meta.key().to_string());
            }
        }
        let mut instance_of_eni = BTreeMap::new();
        for eni in world.aws.enis.iter().flat_map(|m| m.values()) {
            if let Some(i) = eni
                .attachment
                .as_ref()
                .and_then(|a| a.instance_id.as_deref())
            {
                instance_of_eni.insert(eni.id.as_str(), i);
            }
        }
        Self {
            world,
            lookups: Arc::new(Lookups {
                node_of_instance,
                pod_of_ip,
                instance_of_eni,
            }),
            overlay: None,
        }
    }

    /// This index with `overlay`'s objects in place of the world's, without indexing again.
    pub fn overlaid<'a>(&'a self, overlay: &'a WorldOverlay) -> Index<'a> {
        Index {
            world: self.world,
            lookups: Arc::clone(&self.lookups) as Arc<Lookups<'a>>,
            overlay: Some(overlay),
        }
    }

    pub fn sg(&self, id: &str) -> Option<&'w SecurityGroup> {
        match self.overlay {
            Some(o) => o.sg(self.world, id),
            None => self.world.aws.security_groups.as_ref()?.get(id),
        }
    }

    /// Every security group, by id.
    pub fn sgs(&self) -> impl Iterator<Item = &'w SecurityGroup> + '_ {
        let world = self.world.aws.security_groups.iter().flat_map(|m| m.keys());
        let ids: BTreeSet<&str> = match self.overlay {
            Some(o) => world
                .chain(o.security_groups.keys())
                .map(String::as_str)
                .collect(),
            None => world.map(String::as_str).collect(),
        };
        ids.into_iter().filter_map(|id| self.sg(id))
    }

    /// A Service's or Ingress's annotations.
    pub fn annotations(&self, r: &ResourceRef) -> Option<&'w BTreeMap<String, String>> {
        let kube = &self.world.kube;
        match r {
            ResourceRef::Service(k) => match self.overlay.and_then(|o| o.services.get(k)) {
                Some(s) => Some(&s.meta.annotations),
                None => kube.services.as_ref()?.get(k).map(|s| &s.meta.annotations),
            },
            ResourceRef::Ingress(k) => match self.overlay.and_then(|o| o.ingresses.get(k)) {
                Some(i) => Some(&i.meta.annotations),
                None => kube.ingresses.as_ref()?.get(k).map(|i| &i.meta.annotations),
            },
        }
    }

    /// A readable owner of a target: the node of an instance, the pod of an IP (else the node
    /// its ENI is attached to).
    pub fn target_owner(&self, id: &str, eni: Option<&str>) -> Option<String> {
        let l = &self.lookups;
        if id.starts_with("i-") {
            return l.node_of_instance.get(id).map(|n| short_node(n));
        }
        if let Some(p) = l.pod_of_ip.get(id) {
            return Some(p.clone());
        }
        let inst = l.instance_of_eni.get(eni?)?;
        l.node_of_instance.get(inst).map(|n| short_node(n))
    }
}

/// `ip-10-0-12-34.ec2.internal` → `ip-10-0-12-34`.
pub fn short_node(name: &str) -> String {
    name.split('.').next().unwrap_or(name).to_string()
}

/// Whether an SG is the cluster's shared backend SG.
pub fn is_backend_sg(world: &World, sg: &SecurityGroup) -> bool {
    let configured = world
        .controller
        .as_ref()
        .map(|c| c.backend_security_group.as_str())
        .filter(|s| !s.is_empty());
    configured == Some(sg.id.as_str())
        || sg.tags.get("elbv2.k8s.aws/resource").map(String::as_str) == Some("backend-sg")
}

/// The stack an LBC-managed frontend SG belongs to (`ns/name` or an IngressGroup name).
pub fn managed_sg_stack(sg: &SecurityGroup) -> Option<(&'static str, &str)> {
    if !sg.tags.contains_key("elbv2.k8s.aws/cluster") {
        return None;
    }
    if let Some(s) = sg.tags.get("service.k8s.aws/stack") {
        return Some(("service", s));
    }
    sg.tags
        .get("ingress.k8s.aws/stack")
        .map(|s| ("ingress", s.as_str()))
}
