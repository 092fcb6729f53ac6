//! Building the topology from a World and its exposure: the whole world, or one Service/Ingress's
//! chain (its LBs, their SGs and sources, target groups, targets, and the target-SG rules that
//! concern those LBs).

use std::collections::{BTreeSet, HashMap};

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
    /// Nodes in insertion order, interned by key; sorted by key in [`Builder::finish`].
    nodes: Vec<Node>,
    ids: HashMap<String, u32>,
    /// Pushed as found (duplicates allowed), sorted and merged once in [`Builder::finish`]:
    /// cheaper than hashing a quarter of a million edge keys.
    edges: Vec<(u32, u32, EdgeKind, Status)>,
    /// (source, SG) → ports, folded into one AllowsFrom edge each.
    allows: HashMap<(u32, u32), PortMap>,
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
            nodes: Vec::new(),
            ids: HashMap::new(),
            edges: Vec::new(),
            allows: HashMap::new(),
            pods_by_ip,
        }
    }

    fn has(&self, key: &str) -> bool {
        self.ids.contains_key(key)
    }

    /// The node's id, inserting it (with `kind` and `label`) when new.
    fn node(&mut self, key: &str, kind: NodeKind, label: &str) -> u32 {
        if let Some(&i) = self.ids.get(key) {
            return i;
        }
        let i = u32::try_from(self.nodes.len()).unwrap_or(u32::MAX);
        self.nodes.push(Node {
            key: key.to_string(),
            kind,
            label: label.to_string(),
            roles: BTreeSet::new(),
            status: Status::Neutral,
        });
        self.ids.insert(key.to_string(), i);
        i
    }

    fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        let i = *self.ids.get(key)?;
        self.nodes.get_mut(i as usize)
    }

    /// Raises a node's status (Blocked > Exposed > Unknown > Ok > Neutral).
    fn mark(&mut self, key: &str, s: Status) {
        if let Some(n) = self.get_mut(key)
            && rank(s) > rank(n.status)
        {
            n.status = s;
        }
    }

    fn edge(&mut self, a: &str, b: &str, kind: EdgeKind, s: Status) {
        let (Some(&ia), Some(&ib)) = (self.ids.get(a), self.ids.get(b)) else {
            return;
        };
        self.edges.push((ia, ib, kind, s));
    }

    fn sg(&mut self, id: &str) {
        if self.has(id) {
            return;
        }
        let (label, status) = match self.idx.sg(id) {
            Some(sg) if !sg.name.is_empty() => (sg.name.clone(), Status::Neutral),
            Some(_) => (id.to_string(), Status::Neutral),
            None => (format!("{id} (not loaded)"), Status::Unknown),
        };
        let backend = self.idx.backend_sgs.contains(id);
        let i = self.node(id, NodeKind::SecurityGroup, &label) as usize;
        if let Some(n) = self.nodes.get_mut(i) {
            n.status = status;
            if backend {
                n.roles.insert(Role::Backend);
            }
        }
    }

    /// Source nodes and AllowsFrom ports for the inbound rules of `sg` that pass `keep`.
    fn rules(&mut self, sg: &SecurityGroup, keep: impl Fn(&Source) -> bool) {
        self.sg(&sg.id);
        for r in &sg.ingress {
            let src = &r.rule.source;
            if !keep(src) {
                continue;
            }
            let src_id = match src {
                Source::Cidr(c) | Source::CidrV6(c) => {
                    let internet = matches!(c.as_str(), "0.0.0.0/0" | "::/0");
                    let (kind, label) = if internet {
                        (NodeKind::Internet, format!("internet ({c})"))
                    } else {
                        (NodeKind::Cidr, c.clone())
                    };
                    self.node(c, kind, &label)
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
                    if self.has(p) {
                        self.node(p, NodeKind::PrefixList, "")
                    } else {
                        self.node(p, NodeKind::PrefixList, &label)
                    }
                }
                Source::Group(g) => {
                    self.sg(g);
                    self.node(g, NodeKind::SecurityGroup, g)
                }
                Source::None => continue,
            };
            let sg_id = self.node(&sg.id, NodeKind::SecurityGroup, &sg.id);
            self.allows
                .entry((src_id, sg_id))
                .or_default()
                .add_rule(&RulePorts::of(&r.rule));
        }
    }

    fn eni(&mut self, id: &str) {
        if self.has(id) {
            return;
        }
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
        if self.has(id) {
            return;
        }
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
            if let Some(n) = self.get_mut(sg) {
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
            self.node(&l.id, NodeKind::Listener, &label);
            self.mark(&l.id, st);
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
        self.mark(cidr, Status::Exposed);
    }

    fn target_set(&mut self, lb: &LbReach, tg: &str, set: &TargetSet, chain_only: bool) {
        let status = verdict_status(set.verdict);
        for sg in &set.sgs {
            self.sg(sg);
            if let Some(n) = self.get_mut(sg) {
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
        let Some(&tg_id) = self.ids.get(tg) else {
            return;
        };
        for t in &set.targets {
            let target = match &t.eni {
                Some(eni) => {
                    self.eni(eni);
                    self.ids.get(eni.as_str()).copied()
                }
                None => {
                    let (kind, label) = if t.id.starts_with("i-") {
                        (NodeKind::Instance, format!("{} (ENI not loaded)", t.id))
                    } else if t.id.starts_with("arn:") {
                        (NodeKind::LoadBalancer, format!("{} (not loaded)", t.id))
                    } else {
                        (NodeKind::Eni, format!("{} (ENI not loaded)", t.id))
                    };
                    let i = self.node(&t.id, kind, &label);
                    for sg in &set.sgs {
                        self.edge(sg, &t.id, EdgeKind::AttachedTo, Status::Neutral);
                    }
                    Some(i)
                }
            };
            let Some(target) = target else { continue };
            if let Some(n) = self.nodes.get_mut(target as usize)
                && rank(status) > rank(n.status)
            {
                n.status = status;
            }
            self.edges
                .push((tg_id, target, EdgeKind::Targets { port: t.port }, status));
            if !self.pods_by_ip.is_empty()
                && let Some(pod) = self.pods_by_ip.get(t.id.as_str()).cloned()
            {
                let label = pod.trim_start_matches("pod/").to_string();
                let p = self.node(&pod, NodeKind::Pod, &label);
                self.edges
                    .push((target, p, EdgeKind::AttachedTo, Status::Neutral));
            }
        }
    }

    /// Managed SGs point at the Service/Ingress their stack tags name.
    fn sg_owners(&mut self) {
        let groups = ingress_groups(self.idx.world);
        let sgs: Vec<String> = self
            .nodes
            .iter()
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
            let kind = EdgeKind::AllowsFrom { ports };
            self.edges.push((src, sg, kind, Status::Neutral));
        }
        // Key order for nodes; (from key, to key, kind) for edges: the graph is then the same
        // for the same world however it was assembled.
        let mut order: Vec<u32> = (0..self.nodes.len() as u32).collect();
        order.sort_by(|a, b| {
            self.nodes[*a as usize]
                .key
                .cmp(&self.nodes[*b as usize].key)
        });
        let mut rank_of = vec![0u32; self.nodes.len()];
        for (r, &i) in order.iter().enumerate() {
            rank_of[i as usize] = r as u32;
        }
        let mut edges = std::mem::take(&mut self.edges);
        for e in &mut edges {
            e.0 = rank_of[e.0 as usize];
            e.1 = rank_of[e.1 as usize];
        }
        edges.sort_unstable_by(|x, y| {
            x.0.cmp(&y.0)
                .then(x.1.cmp(&y.1))
                .then_with(|| x.2.cmp(&y.2))
        });
        // One edge per (from, to, kind), carrying the strongest status seen.
        edges.dedup_by(|later, kept| {
            let same = later.0 == kept.0 && later.1 == kept.1 && later.2 == kept.2;
            if same && rank(later.3) > rank(kept.3) {
                kept.3 = later.3;
            }
            same
        });
        let mut slots: Vec<Option<Node>> = self.nodes.into_iter().map(Some).collect();
        let nodes: Vec<Node> = order
            .iter()
            .filter_map(|&i| slots[i as usize].take())
            .collect();
        Topology::from_sorted(
            nodes,
            edges
                .into_iter()
                .map(|(a, b, kind, status)| (a, b, Edge { kind, status }))
                .collect(),
        )
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
