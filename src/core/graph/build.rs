//! Building the topology from a World and its exposure: the whole world, or one Service/Ingress's
//! chain (its LBs, their SGs and sources, target groups, targets, and the target-SG rules that
//! concern those LBs).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::{Edge, EdgeKind, Node, NodeKind, Role, Status, Topology};
use crate::core::plan::ResourceRef;
use crate::core::reach::owners::{ingress_groups, tagged_owners};
use crate::core::reach::ports::{PortMap, RulePorts};
use crate::core::reach::{Exposure, LbReach, TargetSet, Verdict, WorldIndex, exposure_with};
use crate::world::{SecurityGroup, Source, World};

/// The topology of a whole world.
pub fn build(world: &World) -> Topology {
    let idx = WorldIndex::new(world);
    let e = exposure_with(&idx);
    build_with(&idx, &e)
}

/// The whole-world topology from an index and exposure already computed.
pub fn build_with(idx: &WorldIndex<'_>, e: &Exposure) -> Topology {
    let mut b = Builder::new(idx);
    for sg in idx
        .world
        .aws
        .security_groups
        .iter()
        .flat_map(|m| m.values())
    {
        b.sg(&sg.id);
        b.rules(sg, |_| true);
    }
    for eni in idx.world.aws.enis.iter().flat_map(|m| m.values()) {
        b.eni(&eni.id);
    }
    for lb in e.load_balancers.values() {
        b.lb(lb, false);
    }
    b.sg_owners();
    b.finish()
}

/// One Service's or Ingress's chain; `None` when the world does not hold the resource.
pub fn build_for(idx: &WorldIndex<'_>, e: &Exposure, r: &ResourceRef) -> Option<Topology> {
    let exists = match r {
        ResourceRef::Service(k) => idx.world.kube.services.as_ref()?.contains_key(k),
        ResourceRef::Ingress(k) => idx.world.kube.ingresses.as_ref()?.contains_key(k),
    };
    if !exists {
        return None;
    }
    let mut b = Builder::new(idx);
    b.owner(r);
    for o in idx.owned.get(r).into_iter().flatten() {
        if let Some(lb) = e.load_balancers.get(&o.load_balancer) {
            b.lb(lb, true);
        }
    }
    b.sg_owners();
    Some(b.finish())
}

struct Builder<'a, 'w> {
    idx: &'a WorldIndex<'w>,
    nodes: BTreeMap<String, Node>,
    edges: BTreeMap<(String, String, EdgeKind), Status>,
    /// (source key, SG id) → ports, folded into one AllowsFrom edge each.
    allows: BTreeMap<(String, String), PortMap>,
    pods_by_ip: HashMap<&'w str, String>,
}

fn rank(s: Status) -> u8 {
    match s {
        Status::Neutral => 0,
        Status::Ok => 1,
        Status::Unknown => 2,
        Status::Exposed => 3,
        Status::Blocked => 4,
    }
}

fn verdict_status(v: Verdict) -> Status {
    match v {
        Verdict::Admitted => Status::Ok,
        Verdict::Unknown => Status::Unknown,
        Verdict::Partial | Verdict::Blocked => Status::Blocked,
    }
}

impl<'a, 'w> Builder<'a, 'w> {
    fn new(idx: &'a WorldIndex<'w>) -> Self {
        let mut pods_by_ip = HashMap::new();
        for (k, p) in idx.world.kube.pods.iter().flatten() {
            for ip in &p.pod_ips {
                pods_by_ip.insert(ip.as_str(), format!("pod/{k}"));
            }
        }
        Self {
            idx,
            nodes: BTreeMap::new(),
            edges: BTreeMap::new(),
            allows: BTreeMap::new(),
            pods_by_ip,
        }
    }

    fn node(&mut self, key: &str, kind: NodeKind, label: &str) -> &mut Node {
        self.nodes.entry(key.to_string()).or_insert_with(|| Node {
            key: key.to_string(),
            kind,
            label: label.to_string(),
            roles: BTreeSet::new(),
            status: Status::Neutral,
        })
    }

    /// Raises a node's status (Blocked > Exposed > Unknown > Ok > Neutral).
    fn mark(&mut self, key: &str, s: Status) {
        if let Some(n) = self.nodes.get_mut(key)
            && rank(s) > rank(n.status)
        {
            n.status = s;
        }
    }

    fn edge(&mut self, a: &str, b: &str, kind: EdgeKind, s: Status) {
        let e = self
            .edges
            .entry((a.to_string(), b.to_string(), kind))
            .or_insert(s);
        if rank(s) > rank(*e) {
            *e = s;
        }
    }

    fn sg(&mut self, id: &str) {
        let (label, status) = match self.idx.sg(id) {
            Some(sg) if !sg.name.is_empty() => (sg.name.clone(), Status::Neutral),
            Some(_) => (id.to_string(), Status::Neutral),
            None => (format!("{id} (not loaded)"), Status::Unknown),
        };
        let backend = self.idx.backend_sgs.contains(id);
        let n = self.node(id, NodeKind::SecurityGroup, &label);
        n.status = status;
        if backend {
            n.roles.insert(Role::Backend);
        }
    }

    /// Source nodes and AllowsFrom ports for the inbound rules of `sg` that pass `keep`.
    fn rules(&mut self, sg: &SecurityGroup, keep: impl Fn(&Source) -> bool) {
        for r in &sg.ingress {
            let src = &r.rule.source;
            if !keep(src) {
                continue;
            }
            let key = match src {
                Source::Cidr(c) | Source::CidrV6(c) => {
                    let internet = matches!(c.as_str(), "0.0.0.0/0" | "::/0");
                    let (kind, label) = if internet {
                        (NodeKind::Internet, format!("internet ({c})"))
                    } else {
                        (NodeKind::Cidr, c.clone())
                    };
                    self.node(c, kind, &label);
                    c.clone()
                }
                Source::PrefixList(p) => {
                    let label = self
                        .idx
                        .world
                        .aws
                        .prefix_lists
                        .as_ref()
                        .and_then(|m| m.get(p))
                        .map(|pl| pl.name.clone())
                        .filter(|n| !n.is_empty())
                        .unwrap_or_else(|| p.clone());
                    self.node(p, NodeKind::PrefixList, &label);
                    p.clone()
                }
                Source::Group(g) => {
                    self.sg(g);
                    g.clone()
                }
                Source::None => continue,
            };
            self.allows
                .entry((key, sg.id.clone()))
                .or_default()
                .add_rule(&RulePorts::of(&r.rule));
        }
    }

    fn eni(&mut self, id: &str) {
        let Some(eni) = self.idx.eni(id) else {
            return;
        };
        let label = match eni.private_ips.first() {
            Some(ip) => format!("{id} ({ip})"),
            None => id.to_string(),
        };
        self.node(id, NodeKind::Eni, &label);
        for g in &eni.groups {
            self.sg(g);
            self.edge(g, id, EdgeKind::AttachedTo, Status::Neutral);
        }
        if let Some(inst) = eni
            .attachment
            .as_ref()
            .and_then(|a| a.instance_id.as_deref())
        {
            self.instance(inst);
            self.edge(id, inst, EdgeKind::OwnedBy, Status::Neutral);
        }
    }

    fn instance(&mut self, id: &str) {
        let label = match self.idx.node_of_instance(id) {
            Some(n) => format!("{} ({id})", n.meta.name),
            None => id.to_string(),
        };
        self.node(id, NodeKind::Instance, &label);
    }

    fn owner(&mut self, r: &ResourceRef) {
        let kind = match r {
            ResourceRef::Service(_) => NodeKind::Service,
            ResourceRef::Ingress(_) => NodeKind::Ingress,
        };
        let key = r.to_string();
        self.node(&key, kind, &r.key().to_string());
    }

    /// The LB, its SGs and their sources, listeners, target groups and targets. With
    /// `chain_only`, target SGs contribute only the rules that concern this LB.
    fn lb(&mut self, lb: &LbReach, chain_only: bool) {
        let arn = lb.arn.as_str();
        self.node(arn, NodeKind::LoadBalancer, &lb.name);
        for owner in self.idx.owners_of_lb.get(arn).cloned().unwrap_or_default() {
            self.owner(&owner);
            self.edge(arn, &owner.to_string(), EdgeKind::OwnedBy, Status::Neutral);
        }
        for sg in &lb.security_groups {
            self.sg(sg);
            if let Some(n) = self.nodes.get_mut(sg.as_str()) {
                n.roles.insert(Role::Frontend);
            }
            self.edge(sg, arn, EdgeKind::AttachedTo, Status::Neutral);
            if chain_only && let Some(g) = self.idx.sg(sg) {
                self.rules(g, |_| true);
            }
        }
        let mut lb_status = Status::Ok;
        for l in &lb.listeners {
            let label = format!("{}:{}", l.protocol, l.port);
            let mut st = Status::Ok;
            if l.internet_v4 || l.internet_v6 {
                st = Status::Exposed;
            }
            if l.sources.is_empty() || l.reachable_targets < l.total_targets {
                st = Status::Blocked;
            }
            self.node(&l.id, NodeKind::Listener, &label).status = st;
            if rank(st) > rank(lb_status) {
                lb_status = st;
            }
            self.edge(arn, &l.id, EdgeKind::ListensOn, Status::Neutral);
            for tg in &l.target_groups {
                if let Some(t) = lb.target_groups.get(tg) {
                    self.node(tg, NodeKind::TargetGroup, &t.name);
                    self.edge(&l.id, tg, EdgeKind::ForwardsTo, Status::Neutral);
                }
            }
            if l.internet_v4 {
                self.mark_internet("0.0.0.0/0");
            }
            if l.internet_v6 {
                self.mark_internet("::/0");
            }
        }
        self.mark(arn, lb_status);
        for owner in self.idx.owners_of_lb.get(arn).cloned().unwrap_or_default() {
            self.mark(&owner.to_string(), lb_status);
        }
        for (tg_arn, t) in &lb.target_groups {
            self.node(tg_arn, NodeKind::TargetGroup, &t.name);
            for set in &t.sets {
                self.target_set(lb, tg_arn, set, chain_only);
                self.mark(tg_arn, verdict_status(set.verdict));
            }
            if t.total == 0 {
                self.mark(tg_arn, Status::Unknown);
            }
        }
    }

    fn mark_internet(&mut self, cidr: &str) {
        if self.nodes.contains_key(cidr) {
            self.mark(cidr, Status::Exposed);
        }
    }

    fn target_set(&mut self, lb: &LbReach, tg: &str, set: &TargetSet, chain_only: bool) {
        let status = verdict_status(set.verdict);
        for sg in &set.sgs {
            self.sg(sg);
            if let Some(n) = self.nodes.get_mut(sg.as_str()) {
                n.roles.insert(Role::Target);
            }
            if chain_only && let Some(g) = self.idx.sg(sg) {
                // Only the rules that could admit this LB: from its SGs, or from addresses when
                // the LB has no SGs.
                let lb_sgs: BTreeSet<&str> =
                    lb.security_groups.iter().map(String::as_str).collect();
                let sg_less = lb.sg_less;
                self.rules(g, |s| match s {
                    Source::Group(id) => lb_sgs.contains(id.as_str()),
                    Source::Cidr(_) | Source::CidrV6(_) | Source::PrefixList(_) => sg_less,
                    Source::None => false,
                });
            }
            if set.verdict == Verdict::Blocked || set.verdict == Verdict::Partial {
                let missing = missing_traffic(set);
                let from: Vec<String> = if lb.sg_less {
                    vec![lb.arn.clone()]
                } else {
                    lb.security_groups.clone()
                };
                for f in from {
                    self.edge(
                        &f,
                        sg,
                        EdgeKind::MissingRule {
                            traffic: missing.clone(),
                        },
                        Status::Blocked,
                    );
                }
            }
        }
        for t in &set.targets {
            let port = t.port;
            let key = match &t.eni {
                Some(eni) => {
                    self.eni(eni);
                    eni.clone()
                }
                None => {
                    let kind = if t.id.starts_with("i-") {
                        NodeKind::Instance
                    } else if t.id.starts_with("arn:") {
                        NodeKind::LoadBalancer
                    } else {
                        NodeKind::Eni
                    };
                    let label = format!("{} (ENI not loaded)", t.id);
                    self.node(&t.id, kind, &label);
                    for sg in &set.sgs {
                        self.edge(sg, &t.id, EdgeKind::AttachedTo, Status::Neutral);
                    }
                    t.id.clone()
                }
            };
            self.mark(&key, status);
            self.edge(tg, &key, EdgeKind::Targets { port }, status);
            if let Some(pod) = self.pods_by_ip.get(t.id.as_str()).cloned() {
                let label = pod.trim_start_matches("pod/").to_string();
                self.node(&pod, NodeKind::Pod, &label);
                self.edge(&key, &pod, EdgeKind::AttachedTo, Status::Neutral);
            }
        }
    }

    /// Managed SGs point at the Service/Ingress their stack tags name.
    fn sg_owners(&mut self) {
        let groups = ingress_groups(self.idx.world);
        let sgs: Vec<String> = self
            .nodes
            .values()
            .filter(|n| n.kind == NodeKind::SecurityGroup)
            .map(|n| n.key.clone())
            .collect();
        for id in sgs {
            let Some(sg) = self.idx.sg(&id) else { continue };
            for owner in tagged_owners(self.idx.world, &groups, &sg.tags) {
                self.owner(&owner);
                self.edge(&id, &owner.to_string(), EdgeKind::OwnedBy, Status::Neutral);
            }
        }
    }

    fn finish(mut self) -> Topology {
        for ((src, sg), ports) in std::mem::take(&mut self.allows) {
            self.edge(
                &src,
                &sg,
                EdgeKind::AllowsFrom {
                    ports: ports.to_string(),
                },
                Status::Neutral,
            );
        }
        let nodes: Vec<Node> = self.nodes.into_values().collect();
        let edges = self
            .edges
            .into_iter()
            .map(|((a, b, kind), status)| (a, b, Edge { kind, status }))
            .collect();
        Topology::from_parts(nodes, edges)
    }
}

/// `tcp/31443` or `health check tcp/32156`: what the blocked set lacks.
fn missing_traffic(set: &TargetSet) -> String {
    let mut parts = Vec::new();
    if set.traffic_check.verdict != Verdict::Admitted {
        parts.extend(set.traffic.iter().map(ToString::to_string));
    }
    if let (Some(c), Some(t)) = (&set.health_check_check, set.health_check)
        && c.verdict != Verdict::Admitted
        && !set.traffic.contains(&t)
    {
        parts.push(format!("health check {t}"));
    }
    parts.join(", ")
}
