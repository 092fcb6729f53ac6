//! Lookups over one World that the view-model builders need (ENI by IP, node of an instance,
//! LB of a stack). Built once per world; borrowing, never copying, the world.

use std::collections::BTreeMap;

use crate::core::plan::ResourceRef;
use crate::world::{LoadBalancer, NetworkInterface, SecurityGroup, TargetGroup, World};

pub const INGRESS_GROUP_ANNOTATION: &str = "alb.ingress.kubernetes.io/group.name";

pub struct Index<'w> {
    pub world: &'w World,
    eni_by_ip: BTreeMap<&'w str, &'w NetworkInterface>,
    primary_eni: BTreeMap<&'w str, &'w NetworkInterface>,
    node_of_instance: BTreeMap<&'w str, &'w str>,
    pod_of_ip: BTreeMap<&'w str, String>,
    tgs_of_lb: BTreeMap<&'w str, Vec<&'w TargetGroup>>,
}

impl<'w> Index<'w> {
    pub fn new(world: &'w World) -> Self {
        let mut eni_by_ip = BTreeMap::new();
        let mut primary_eni = BTreeMap::new();
        for eni in world.aws.enis.iter().flat_map(|m| m.values()) {
            for ip in &eni.private_ips {
                eni_by_ip.insert(ip.as_str(), eni);
            }
            if let Some(att) = &eni.attachment
                && let (Some(inst), Some(0)) = (att.instance_id.as_deref(), att.device_index)
            {
                primary_eni.insert(inst, eni);
            }
        }
        // An instance's own ENI list wins over attachments (it names the primary explicitly).
        let enis = world.aws.enis.as_ref();
        for inst in world.aws.instances.iter().flat_map(|m| m.values()) {
            if let Some(eni) = inst
                .primary_eni()
                .and_then(|id| enis.and_then(|m| m.get(id)))
            {
                primary_eni.insert(inst.id.as_str(), eni);
            }
        }
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
        let mut tgs_of_lb: BTreeMap<&str, Vec<&TargetGroup>> = BTreeMap::new();
        for tg in world.aws.target_groups.iter().flat_map(|m| m.values()) {
            for lb in &tg.load_balancer_arns {
                tgs_of_lb.entry(lb.as_str()).or_default().push(tg);
            }
        }
        Self {
            world,
            eni_by_ip,
            primary_eni,
            node_of_instance,
            pod_of_ip,
            tgs_of_lb,
        }
    }

    pub fn sg(&self, id: &str) -> Option<&'w SecurityGroup> {
        self.world.aws.security_groups.as_ref()?.get(id)
    }

    pub fn sgs_loaded(&self) -> bool {
        self.world.aws.security_groups.is_some()
    }

    /// The ENI a target id (instance id or IP) lands on.
    pub fn target_eni(&self, id: &str) -> Option<&'w NetworkInterface> {
        if id.starts_with("i-") {
            self.primary_eni.get(id).copied()
        } else {
            self.eni_by_ip.get(id).copied()
        }
    }

    /// A readable owner of a target: the node of an instance, the pod of an IP.
    pub fn target_owner(&self, id: &str, eni: Option<&NetworkInterface>) -> Option<String> {
        if id.starts_with("i-") {
            return self.node_of_instance.get(id).map(|n| short_node(n));
        }
        if let Some(p) = self.pod_of_ip.get(id) {
            return Some(p.clone());
        }
        let inst = eni?.attachment.as_ref()?.instance_id.as_deref()?;
        self.node_of_instance.get(inst).map(|n| short_node(n))
    }

    pub fn target_groups_of(&self, lb_arn: &str) -> &[&'w TargetGroup] {
        self.tgs_of_lb
            .get(lb_arn)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// The load balancers a Service or Ingress owns, by the tags the LBC (or the in-tree
    /// provider) puts on them.
    pub fn lbs_of(&self, r: &ResourceRef) -> Vec<&'w LoadBalancer> {
        let key = r.key().to_string();
        let group = match r {
            ResourceRef::Ingress(k) => self
                .world
                .kube
                .ingresses
                .as_ref()
                .and_then(|m| m.get(k))
                .and_then(|i| i.meta.annotations.get(INGRESS_GROUP_ANNOTATION).cloned()),
            ResourceRef::Service(_) => None,
        };
        self.world
            .aws
            .load_balancers
            .iter()
            .flat_map(|m| m.values())
            .filter(|lb| match r {
                ResourceRef::Service(_) => {
                    lb.tags.get("service.k8s.aws/stack") == Some(&key)
                        || lb.tags.get("kubernetes.io/service-name") == Some(&key)
                }
                ResourceRef::Ingress(_) => {
                    let want = group.as_deref().unwrap_or(&key);
                    lb.tags.get("ingress.k8s.aws/stack").map(String::as_str) == Some(want)
                }
            })
            .collect()
    }

    /// The CIDRs of the subnets an LB lives in (its private addresses come from there).
    pub fn lb_subnet_cidrs(&self, lb: &LoadBalancer) -> Vec<&'w str> {
        let subnets = self.world.aws.subnets.as_ref();
        lb.subnets
            .iter()
            .filter_map(|s| subnets.and_then(|m| m.get(s)))
            .map(|s| s.cidr.as_str())
            .collect()
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
