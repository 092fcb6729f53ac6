//! Lookups over one World, built once so that reachability and the graph never scan lists in a
//! loop: ENIs by IP (addresses and delegated prefixes), instances' primary ENIs, listeners and
//! target groups per LB, TGBs per TG, EndpointSlices per Service, LBs by DNS name.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::Arc;

use super::addr::AddrSet;
use super::admit::PrefixLists;
use super::owners::{self, Owned};
use crate::core::lbc::target::NodesByLabel;
use crate::core::plan::ResourceRef;
use crate::world::{
    EndpointSlice, Listener, LoadBalancer, NetworkInterface, Node, ObjKey, SecurityGroup, Service,
    TargetGroup, TargetGroupBinding, World, WorldOverlay,
};

/// The tag the LBC puts on the shared backend SG.
const BACKEND_SG_TAG: (&str, &str) = ("elbv2.k8s.aws/resource", "backend-sg");

pub struct WorldIndex<'w> {
    pub world: &'w World,
    pub prefix_lists: Arc<PrefixLists>,
    /// The lookups no plan changes, shared with [`WorldIndex::overlaid`] indexes.
    lookups: Arc<Lookups<'w>>,
    /// The shared backend SG(s) of this cluster.
    pub backend_sgs: BTreeSet<String>,
    /// Which LBs each Service/Ingress owns, and how that was decided.
    pub owned: Arc<BTreeMap<ResourceRef, Vec<Owned>>>,
    pub owners_of_lb: Arc<HashMap<String, Vec<ResourceRef>>>,
    /// Objects seen in place of the world's own.
    overlay: Option<&'w WorldOverlay>,
}

/// Lookups over objects a plan never changes (ENIs, instances, listeners, target groups,
/// bindings, EndpointSlices, nodes).
struct Lookups<'w> {
    eni_by_ip: HashMap<IpAddr, &'w NetworkInterface>,
    /// Delegated prefixes, sorted by start: (start, end, ENI).
    prefixes_v4: Vec<(u32, u32, &'w NetworkInterface)>,
    prefixes_v6: Vec<(u128, u128, &'w NetworkInterface)>,
    primary_eni: HashMap<&'w str, &'w NetworkInterface>,
    listeners_by_lb: HashMap<&'w str, Vec<&'w Listener>>,
    tgs_by_lb: HashMap<&'w str, Vec<&'w TargetGroup>>,
    tgbs_by_tg: HashMap<&'w str, Vec<&'w TargetGroupBinding>>,
    slices_by_service: HashMap<&'w str, HashMap<&'w str, Vec<&'w EndpointSlice>>>,
    nodes_by_instance: HashMap<&'w str, &'w Node>,
    /// Nodes the LBC may register as instance targets, by instance id (sorted), indexed by
    /// label for the bindings' node selectors.
    registrable_nodes: NodesByLabel<'w, &'w str>,
}

impl<'w> WorldIndex<'w> {
    pub fn new(world: &'w World) -> Self {
        let aws = &world.aws;
        let mut eni_by_ip = HashMap::new();
        let mut prefixes_v4 = Vec::new();
        let mut prefixes_v6 = Vec::new();
        let mut primary_eni = HashMap::new();
        for eni in aws.enis.iter().flat_map(|m| m.values()) {
            for ip in eni.private_ips.iter().chain(&eni.ipv6_addresses) {
                if let Ok(a) = ip.parse::<IpAddr>() {
                    eni_by_ip.insert(a, eni);
                }
            }
            for p in eni.ipv4_prefixes.iter().chain(&eni.ipv6_prefixes) {
                if let Ok(set) = AddrSet::parse_cidr(p) {
                    prefixes_v4.extend(set.v4.ranges().iter().map(|&(a, b)| (a, b, eni)));
                    prefixes_v6.extend(set.v6.ranges().iter().map(|&(a, b)| (a, b, eni)));
                }
            }
            if let Some(att) = &eni.attachment
                && att.device_index == Some(0)
                && let Some(i) = att.instance_id.as_deref()
            {
                primary_eni.insert(i, eni);
            }
        }
        // The instance's own view of its primary ENI wins over the ENI's attachment.
        if let Some(enis) = &aws.enis {
            for inst in aws.instances.iter().flat_map(|m| m.values()) {
                if let Some(eni) = inst.primary_eni().and_then(|id| enis.get(id)) {
                    primary_eni.insert(inst.id.as_str(), eni);
                }
            }
        }
        prefixes_v4.sort_by_key(|p| (p.0, p.1));
        prefixes_v6.sort_by_key(|p| (p.0, p.1));

        let mut listeners_by_lb: HashMap<&str, Vec<&Listener>> = HashMap::new();
        for l in aws.listeners.iter().flat_map(|m| m.values()) {
            listeners_by_lb
                .entry(l.load_balancer_arn.as_str())
                .or_default()
                .push(l);
        }
        for v in listeners_by_lb.values_mut() {
            v.sort_by(|a, b| (a.port, &a.protocol, &a.arn).cmp(&(b.port, &b.protocol, &b.arn)));
        }
        let mut tgs_by_lb: HashMap<&str, Vec<&TargetGroup>> = HashMap::new();
        for tg in aws.target_groups.iter().flat_map(|m| m.values()) {
            for lb in &tg.load_balancer_arns {
                tgs_by_lb.entry(lb.as_str()).or_default().push(tg);
            }
        }
        let kube = &world.kube;
        let mut tgbs_by_tg: HashMap<&str, Vec<&TargetGroupBinding>> = HashMap::new();
        for tgb in kube.target_group_bindings.iter().flat_map(|m| m.values()) {
            tgbs_by_tg
                .entry(tgb.target_group_arn.as_str())
                .or_default()
                .push(tgb);
        }
        let mut slices_by_service: HashMap<&str, HashMap<&str, Vec<&EndpointSlice>>> =
            HashMap::new();
        for s in kube.endpoint_slices.iter().flat_map(|m| m.values()) {
            if let Some(svc) = s.service_name.as_deref() {
                slices_by_service
                    .entry(s.meta.namespace.as_str())
                    .or_default()
                    .entry(svc)
                    .or_default()
                    .push(s);
            }
        }
        let nodes_by_instance = kube
            .nodes
            .iter()
            .flat_map(|m| m.values())
            .filter_map(|n| n.instance_id().map(|i| (i, n)))
            .collect();

        let mut registrable_nodes: Vec<(&str, &Node)> = kube
            .nodes
            .iter()
            .flat_map(|m| m.values())
            .filter(|n| super::targets::registrable(n))
            .filter_map(|n| n.instance_id().map(|i| (i, n)))
            .collect();
        registrable_nodes.sort_by_key(|(i, _)| *i);

        let backend_sgs = backend_sgs(world);
        let owned = owners::resolve(world);
        let mut owners_of_lb: HashMap<String, Vec<ResourceRef>> = HashMap::new();
        for (r, lbs) in &owned {
            for o in lbs {
                owners_of_lb
                    .entry(o.load_balancer.clone())
                    .or_default()
                    .push(r.clone());
            }
        }
        Self {
            world,
            prefix_lists: Arc::new(PrefixLists::new(aws.prefix_lists.as_ref())),
            lookups: Arc::new(Lookups {
                eni_by_ip,
                prefixes_v4,
                prefixes_v6,
                primary_eni,
                listeners_by_lb,
                tgs_by_lb,
                tgbs_by_tg,
                slices_by_service,
                nodes_by_instance,
                registrable_nodes: NodesByLabel::new(registrable_nodes),
            }),
            backend_sgs,
            owned: Arc::new(owned),
            owners_of_lb: Arc::new(owners_of_lb),
            overlay: None,
        }
    }

    /// This index with `overlay`'s objects (a plan's security groups, load balancers and
    /// Services) in place of the world's own, without indexing the world again. Owners stay
    /// this world's: no overlay changes which LB a Service owns (stack tags and hostnames), and
    /// an Ingress moved to another group changes only [`LbReach::owners`](super::LbReach).
    pub fn overlaid<'a>(&'a self, overlay: &'a WorldOverlay) -> WorldIndex<'a> {
        let mut backend_sgs = self.backend_sgs.clone();
        if !has_backend_flag(self.world) {
            let cluster = self.world.cluster_name();
            for (id, sg) in &overlay.security_groups {
                backend_sgs.remove(id);
                if sg.as_ref().is_some_and(|sg| tagged_backend(sg, cluster)) {
                    backend_sgs.insert(id.clone());
                }
            }
        }
        WorldIndex {
            world: self.world,
            prefix_lists: Arc::clone(&self.prefix_lists),
            lookups: Arc::clone(&self.lookups) as Arc<Lookups<'a>>,
            backend_sgs,
            owned: Arc::clone(&self.owned),
            owners_of_lb: Arc::clone(&self.owners_of_lb),
            overlay: Some(overlay),
        }
    }

    pub fn sg(&self, id: &str) -> Option<&'w SecurityGroup> {
        match self.overlay {
            Some(o) => o.sg(self.world, id),
            None => self.world.aws.security_groups.as_ref()?.get(id),
        }
    }

    pub fn lb(&self, arn: &str) -> Option<&'w LoadBalancer> {
        match self.overlay {
            Some(o) => o.lb(self.world, arn),
            None => self.world.aws.load_balancers.as_ref()?.get(arn),
        }
    }

    pub fn service(&self, key: &ObjKey) -> Option<&'w Service> {
        match self.overlay {
            Some(o) => o.service(self.world, key),
            None => self.world.kube.services.as_ref()?.get(key),
        }
    }

    pub fn eni(&self, id: &str) -> Option<&'w NetworkInterface> {
        self.world.aws.enis.as_ref()?.get(id)
    }

    pub fn target_group(&self, arn: &str) -> Option<&'w TargetGroup> {
        self.world.aws.target_groups.as_ref()?.get(arn)
    }

    /// The ENI holding `ip`: an exact address first, else a delegated prefix containing it.
    pub fn eni_by_ip(&self, ip: IpAddr) -> Option<&'w NetworkInterface> {
        if let Some(e) = self.lookups.eni_by_ip.get(&ip) {
            return Some(e);
        }
        match ip {
            IpAddr::V4(a) => find_range(&self.lookups.prefixes_v4, u32::from(a)),
            IpAddr::V6(a) => find_range(&self.lookups.prefixes_v6, u128::from(a)),
        }
    }

    /// The instance's primary ENI (device index 0), the one instance targets use.
    pub fn primary_eni(&self, instance_id: &str) -> Option<&'w NetworkInterface> {
        self.lookups.primary_eni.get(instance_id).copied()
    }

    /// Listeners of an LB by port; `None` when listeners were not loaded at all.
    pub fn listeners(&self, lb_arn: &str) -> Option<&[&'w Listener]> {
        self.world.aws.listeners.as_ref()?;
        Some(
            self.lookups
                .listeners_by_lb
                .get(lb_arn)
                .map(Vec::as_slice)
                .unwrap_or(&[]),
        )
    }

    /// Target groups that name this LB in their `LoadBalancerArns`.
    pub fn target_groups_of_lb(&self, lb_arn: &str) -> &[&'w TargetGroup] {
        self.lookups
            .tgs_by_lb
            .get(lb_arn)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    pub fn tgbs_of_tg(&self, tg_arn: &str) -> &[&'w TargetGroupBinding] {
        self.lookups
            .tgbs_by_tg
            .get(tg_arn)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    pub fn endpoint_slices(&self, namespace: &str, service: &str) -> &[&'w EndpointSlice] {
        self.lookups
            .slices_by_service
            .get(namespace)
            .and_then(|m| m.get(service))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Nodes the LBC may register as instance targets, sorted by instance id.
    pub fn registrable_nodes(&self) -> &[(&'w str, &'w Node)] {
        self.lookups.registrable_nodes.items()
    }

    /// Instance ids of the registrable nodes carrying every label of `selector`, sorted.
    pub fn registrable_matching(&self, selector: &BTreeMap<String, String>) -> Vec<&'w str> {
        let matching = self.lookups.registrable_nodes.matching(selector);
        matching.into_iter().map(|(i, _)| i).collect()
    }

    pub fn node_of_instance(&self, instance_id: &str) -> Option<&'w Node> {
        self.lookups.nodes_by_instance.get(instance_id).copied()
    }

    /// IPv4 or IPv6 CIDRs of the LB's subnets (where its nodes take their addresses); `None`
    /// when the subnets are not loaded or a subnet is missing.
    pub fn lb_subnet_addrs(&self, lb: &LoadBalancer, ipv6: bool) -> Option<AddrSet> {
        let subnets = self.world.aws.subnets.as_ref()?;
        if lb.subnets.is_empty() {
            return None;
        }
        let mut cidrs: Vec<&str> = Vec::new();
        for id in &lb.subnets {
            let s = subnets.get(id)?;
            if ipv6 {
                cidrs.extend(s.ipv6_cidrs.iter().map(String::as_str));
            } else {
                cidrs.push(&s.cidr);
            }
        }
        let (set, _) = AddrSet::from_cidrs(cidrs);
        (!set.is_empty()).then_some(set)
    }

    /// The associated CIDRs of the cluster VPC (or the LB's VPC), per family.
    pub fn vpc_addrs(&self, vpc_id: Option<&str>, ipv6: bool) -> Option<AddrSet> {
        let id = vpc_id.or(self.world.vpc_id())?;
        let vpc = self.world.aws.vpcs.as_ref()?.iter().find(|v| v.id == id)?;
        let blocks = if ipv6 {
            &vpc.ipv6_cidr_blocks
        } else {
            &vpc.cidr_blocks
        };
        let cidrs = blocks
            .iter()
            .filter(|b| b.state.as_deref().is_none_or(|s| s == "associated"))
            .map(|b| b.cidr.as_str());
        let (set, _) = AddrSet::from_cidrs(cidrs);
        (!set.is_empty()).then_some(set)
    }

    /// `sg-x (the backend SG)` or `sg-x`.
    pub fn sg_label(&self, id: &str) -> String {
        if self.backend_sgs.contains(id) {
            format!("{id} (the backend SG)")
        } else {
            id.to_string()
        }
    }
}

/// Delegated prefixes never overlap (AWS assigns each once), so only the last range starting at
/// or before `x` can hold it.
fn find_range<T: Ord + Copy, V: Copy>(ranges: &[(T, T, V)], x: T) -> Option<V> {
    let i = ranges.partition_point(|r| r.0 <= x);
    ranges[..i].last().filter(|r| r.1 >= x).map(|r| r.2)
}

/// The controller's `--backend-security-group`, else SGs tagged as this cluster's backend SG.
fn backend_sgs(world: &World) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    if let Some(c) = &world.controller
        && has_backend_flag(world)
    {
        out.insert(c.backend_security_group.clone());
        return out;
    }
    let cluster = world.cluster_name();
    for sg in world.aws.security_groups.iter().flat_map(|m| m.values()) {
        if tagged_backend(sg, cluster) {
            out.insert(sg.id.clone());
        }
    }
    out
}

fn has_backend_flag(world: &World) -> bool {
    world
        .controller
        .as_ref()
        .is_some_and(|c| !c.backend_security_group.is_empty())
}

fn tagged_backend(sg: &SecurityGroup, cluster: Option<&str>) -> bool {
    let tagged = sg.tags.get(BACKEND_SG_TAG.0).map(String::as_str) == Some(BACKEND_SG_TAG.1);
    let ours = match cluster {
        Some(c) => sg.tags.get("elbv2.k8s.aws/cluster").map(String::as_str) == Some(c),
        None => true,
    };
    tagged && ours
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devtools::worldgen::{GenSpec, Size, generate};

    #[test]
    fn node_selectors_match_what_a_scan_of_every_node_finds() {
        let world = generate(&GenSpec::new(5, Size::Small, 0.0)).unwrap().world;
        let idx = WorldIndex::new(&world);
        let scan = |sel: &BTreeMap<String, String>| -> Vec<&str> {
            idx.registrable_nodes()
                .iter()
                .filter(|(_, n)| sel.iter().all(|(k, v)| n.meta.labels.get(k) == Some(v)))
                .map(|(i, _)| *i)
                .collect()
        };
        let selectors = crate::core::lbc::target::node_index::probe_selectors(&world);
        for s in &selectors {
            assert_eq!(idx.registrable_matching(s), scan(s), "{s:?}");
        }
        assert_eq!(
            idx.registrable_matching(&BTreeMap::new()).len(),
            idx.registrable_nodes().len()
        );
        assert!(
            !idx.registrable_matching(&selectors[selectors.len() - 3])
                .is_empty(),
            "the two-label selector matches some node"
        );
    }
}
