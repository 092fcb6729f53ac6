//! Exposure facts the checks need, from the World's LB, listener, target group, target health,
//! ENI and SG facts alone: who each listener admits, and whether each target's SGs admit the
//! load balancer on the traffic port and on the health-check port.
//!
//! This is deliberately small: `core::reach` computes the same exactly (address-set algebra,
//! prefix-list expansion, RA explanation codes). When it lands, [`Facts::new`] becomes an adapter
//! from its `Exposure`, and the checks keep reading these structs.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ipnet::IpNet;
use serde::Serialize;

use crate::core::desired::Desired;
use crate::core::lbc::target::{TargetEndpoints, TgbSpec, resolve_endpoint_enis};
use crate::world::{LoadBalancer, NetworkInterface, Rule, SecurityGroup, Source, World};

/// Whether the targets' SGs let the load balancer's traffic through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admit {
    /// Admitted, by these rules (`sg-…: tcp 80 from …`).
    Admitted(Vec<String>),
    Blocked,
    /// Not decidable (ENI or SG not loaded).
    Unknown(String),
}

impl Admit {
    pub fn is_blocked(&self) -> bool {
        matches!(self, Admit::Blocked)
    }
    pub fn is_admitted(&self) -> bool {
        matches!(self, Admit::Admitted(_))
    }
}

/// One registered target and what its SGs admit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetFacts {
    /// Instance id or IP.
    pub id: String,
    pub port: Option<i32>,
    pub eni: Option<String>,
    pub sgs: Vec<String>,
    pub traffic: Admit,
    pub health: Admit,
    pub state: Option<String>,
    pub reason: Option<String>,
}

/// One target group behind one load balancer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TgFacts {
    pub arn: String,
    pub name: String,
    pub target_type: String,
    /// `tcp` and/or `udp`.
    pub protos: Vec<&'static str>,
    /// The TG's port (targets may override it).
    pub port: Option<i32>,
    /// A fixed health-check port; `None` = the traffic port.
    pub health_port: Option<i32>,
    /// Client IP preservation as AWS defaults it (TG attributes are not in a World).
    pub preserve_client_ip: bool,
    /// `None` when neither target health nor the binding's endpoints are known.
    pub targets: Option<Vec<TargetFacts>>,
    pub targets_from: TargetsFrom,
}

/// Where a TG's targets come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetsFrom {
    /// DescribeTargetHealth: the registered targets, with their health.
    TargetHealth,
    /// Target health not loaded: the ENIs of the TargetGroupBinding's endpoints.
    Endpoints,
    NotLoaded,
}

impl TgFacts {
    /// The health-check port of one target.
    pub fn health_port_of(&self, t: &TargetFacts) -> Option<i32> {
        self.health_port.or(t.port).or(self.port)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerFacts {
    pub port: i32,
    pub protocol: String,
    pub protos: Vec<&'static str>,
    /// Sources admitted on this listener: CIDRs, prefix lists, SG ids (sorted).
    pub sources: Vec<String>,
    pub internet: bool,
    pub target_groups: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LbFacts {
    pub arn: String,
    pub name: String,
    pub type_: String,
    pub scheme: String,
    pub ip_address_type: String,
    pub security_groups: Vec<String>,
    /// The Service/Ingress(-group) that owns it, as a resource label.
    pub owner: Option<String>,
    /// IPv4 and IPv6 CIDRs of its subnets; empty when unknown.
    pub subnet_cidrs: Vec<String>,
    pub listeners: Vec<ListenerFacts>,
    pub target_groups: BTreeMap<String, TgFacts>,
}

impl LbFacts {
    pub fn sg_less(&self) -> bool {
        self.security_groups.is_empty()
    }
    pub fn internal(&self) -> bool {
        self.scheme == "internal"
    }
    pub fn dualstack(&self) -> bool {
        self.ip_address_type.starts_with("dualstack")
    }
}

/// Exposure facts of a world.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    pub lbs: BTreeMap<String, LbFacts>,
    pub notes: Vec<String>,
}

/// `cli.md`'s exposure entry: one per load balancer listener.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ExposureLine {
    pub resource: String,
    pub load_balancer: String,
    pub scheme: String,
    /// `tcp/443`, `https/443`, …
    pub listener: String,
    pub sources: Vec<String>,
    pub internet: bool,
    pub targets: TargetCounts,
}

/// Targets behind a listener; targets whose SGs are unknown are in neither count.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct TargetCounts {
    pub reachable: usize,
    pub blocked: usize,
    /// Traffic ports of the targets, `tcp/31443`.
    pub ports: Vec<String>,
}

/// The protocols a listener or target-group protocol carries.
pub fn protos_of(protocol: Option<&str>) -> Vec<&'static str> {
    match protocol.map(str::to_ascii_uppercase).as_deref() {
        Some("UDP" | "QUIC") => vec!["udp"],
        Some("TCP_UDP" | "TCP_QUIC") => vec!["tcp", "udp"],
        _ => vec!["tcp"],
    }
}

/// Whether `rule` covers `proto`/`port` (sources aside).
pub fn covers(rule: &Rule, proto: &str, port: i32) -> bool {
    let p = match rule.protocol.as_str() {
        "-1" | "all" => return true,
        "6" => "tcp",
        "17" => "udp",
        other => other,
    };
    p == proto && rule.from_port.unwrap_or(0) <= port && port <= rule.to_port.unwrap_or(65535)
}

/// Whether the CIDR `outer` contains the network `inner` (both parsed; false if either is not).
pub fn cidr_contains(outer: &str, inner: &str) -> bool {
    match (outer.parse::<IpNet>(), inner.parse::<IpNet>()) {
        (Ok(o), Ok(i)) => o.contains(&i),
        _ => false,
    }
}

/// `0.0.0.0/0` or `::/0` (any spelling with prefix length 0).
pub fn is_world(source: &Source) -> bool {
    match source {
        Source::Cidr(c) | Source::CidrV6(c) => {
            c.parse::<IpNet>().is_ok_and(|n| n.prefix_len() == 0)
        }
        _ => false,
    }
}

/// A load balancer's own network interface (NLB/GWLB interface type, or the `ELB app/…` /
/// `ELB net/…` description AWS gives them). Its SGs are the LB's, not a workload's.
pub fn is_lb_eni(eni: &NetworkInterface) -> bool {
    matches!(
        eni.interface_type.as_deref(),
        Some("network_load_balancer" | "gateway_load_balancer")
    ) || eni.description.starts_with("ELB ")
}

/// `sg-…: tcp 80 from …` for evidence.
pub fn rule_text(sg: &str, r: &Rule) -> String {
    format!("{sg}: {} from {}", r.ports_text(), r.source)
}

/// Who sends the load balancer's traffic to its targets.
struct Sender<'a> {
    groups: &'a [String],
    subnets: &'a [String],
}

/// The rules of `sgs` that admit `sender` on `proto`/`port`; every subnet of the sender must be
/// covered for CIDR sources to count.
fn admits(world: &World, sgs: &[String], proto: &str, port: i32, sender: &Sender<'_>) -> Admit {
    let mut loaded: Vec<&SecurityGroup> = Vec::new();
    for id in sgs {
        match world.aws.security_groups.as_ref().and_then(|m| m.get(id)) {
            Some(sg) => loaded.push(sg),
            None => return Admit::Unknown(format!("{id} is not loaded")),
        }
    }
    let mut by_group = Vec::new();
    let mut cidr_rules: Vec<(&str, &Rule)> = Vec::new();
    for sg in &loaded {
        for r in sg
            .ingress
            .iter()
            .map(|r| &r.rule)
            .filter(|r| covers(r, proto, port))
        {
            match &r.source {
                Source::Group(g) if sender.groups.contains(g) => {
                    by_group.push(rule_text(&sg.id, r));
                }
                Source::Cidr(_) | Source::CidrV6(_) => cidr_rules.push((&sg.id, r)),
                _ => {}
            }
        }
    }
    if !by_group.is_empty() {
        return Admit::Admitted(by_group);
    }
    if let Some(rules) = subnets_covered(&cidr_rules, sender.subnets) {
        return Admit::Admitted(rules);
    }
    Admit::Blocked
}

/// Rules that together cover every subnet (at least one subnet needed), or `None`.
fn subnets_covered(rules: &[(&str, &Rule)], subnets: &[String]) -> Option<Vec<String>> {
    let v4: Vec<&String> = subnets.iter().filter(|s| !s.contains(':')).collect();
    if v4.is_empty() {
        return None;
    }
    let mut used = BTreeSet::new();
    for s in v4 {
        let (sg, r) = rules
            .iter()
            .find(|(_, r)| cidr_contains(r.source.value(), s))?;
        used.insert(rule_text(sg, r));
    }
    Some(used.into_iter().collect())
}

impl Facts {
    pub fn new(world: &World, desired: &Desired) -> Self {
        let mut facts = Facts::default();
        let Some(lbs) = world.aws.load_balancers.as_ref() else {
            facts
                .notes
                .push("load balancers not loaded: exposure not computed".into());
            return facts;
        };
        if world.aws.listeners.is_none() {
            facts.notes.push("listeners not loaded".into());
        }
        let owners = lb_owners(world, desired);
        let ips = ip_index(world);
        for lb in lbs.values() {
            let f = lb_facts(world, lb, owners.get(&lb.arn).cloned(), &ips);
            facts.lbs.insert(lb.arn.clone(), f);
        }
        facts
    }

    pub fn lb(&self, arn: &str) -> Option<&LbFacts> {
        self.lbs.get(arn)
    }

    /// One exposure line per listener, sorted.
    pub fn exposure_lines(&self) -> Vec<ExposureLine> {
        let mut out = Vec::new();
        for lb in self.lbs.values() {
            let resource = lb
                .owner
                .clone()
                .unwrap_or_else(|| format!("loadbalancer/{}", lb.name));
            for l in &lb.listeners {
                let mut counts = TargetCounts {
                    reachable: 0,
                    blocked: 0,
                    ports: Vec::new(),
                };
                let mut ports = BTreeSet::new();
                for tg in l
                    .target_groups
                    .iter()
                    .filter_map(|a| lb.target_groups.get(a))
                {
                    for t in tg.targets.iter().flatten() {
                        if let Some(p) = t.port.or(tg.port) {
                            for proto in &tg.protos {
                                ports.insert(format!("{proto}/{p}"));
                            }
                        }
                        if t.traffic.is_blocked() || t.health.is_blocked() {
                            counts.blocked += 1;
                        } else if t.traffic.is_admitted() && t.health.is_admitted() {
                            counts.reachable += 1;
                        }
                    }
                }
                counts.ports = ports.into_iter().collect();
                out.push(ExposureLine {
                    resource: resource.clone(),
                    load_balancer: lb.arn.clone(),
                    scheme: lb.scheme.clone(),
                    listener: format!("{}/{}", l.protocol.to_ascii_lowercase(), l.port),
                    sources: l.sources.clone(),
                    internet: l.internet,
                    targets: counts,
                });
            }
        }
        // By owner, LB, then listener port as a number (80 before 443).
        out.sort_by(|a, b| {
            let port = |l: &ExposureLine| {
                l.listener
                    .rsplit('/')
                    .next()
                    .and_then(|p| p.parse::<i32>().ok())
                    .unwrap_or(0)
            };
            (&a.resource, &a.load_balancer, port(a), a).cmp(&(
                &b.resource,
                &b.load_balancer,
                port(b),
                b,
            ))
        });
        out
    }
}

/// LB ARN → owner: the LBC stack that built it, else a Service whose status names its DNS name
/// (the in-tree provider's LBs), else the in-tree `kubernetes.io/service-name` tag.
fn lb_owners(world: &World, desired: &Desired) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for s in desired.stacks.values() {
        if let Some(arn) = &s.lb {
            out.insert(arn.clone(), s.id.to_string());
        }
    }
    for lb in world.aws.load_balancers.iter().flat_map(|m| m.values()) {
        if out.contains_key(&lb.arn) {
            continue;
        }
        let by_status = world
            .kube
            .services
            .iter()
            .flat_map(|m| m.values())
            .find(|s| !lb.dns_name.is_empty() && s.lb_hostnames.iter().any(|h| h == &lb.dns_name));
        if let Some(svc) = by_status {
            out.insert(lb.arn.clone(), format!("service/{}", svc.meta.key()));
        } else if let Some(name) = lb.tags.get("kubernetes.io/service-name") {
            out.insert(lb.arn.clone(), format!("service/{name}"));
        }
    }
    out
}

/// Every private address of every loaded ENI → the ENI.
fn ip_index(world: &World) -> BTreeMap<IpAddr, &NetworkInterface> {
    let mut out = BTreeMap::new();
    for eni in world.aws.enis.iter().flat_map(|m| m.values()) {
        for ip in eni.private_ips.iter().chain(&eni.ipv6_addresses) {
            if let Ok(a) = ip.parse::<IpAddr>() {
                out.insert(a, eni);
            }
        }
    }
    out
}

fn lb_facts(
    world: &World,
    lb: &LoadBalancer,
    owner: Option<String>,
    ips: &BTreeMap<IpAddr, &NetworkInterface>,
) -> LbFacts {
    let subnet_cidrs: Vec<String> = lb
        .subnets
        .iter()
        .filter_map(|id| world.aws.subnets.as_ref().and_then(|m| m.get(id)))
        .flat_map(|s| std::iter::once(s.cidr.clone()).chain(s.ipv6_cidrs.iter().cloned()))
        .collect();
    let mut f = LbFacts {
        arn: lb.arn.clone(),
        name: lb.name.clone(),
        type_: lb.type_.clone(),
        scheme: lb.scheme.clone(),
        ip_address_type: lb.ip_address_type.clone(),
        security_groups: lb.security_groups.clone(),
        owner,
        subnet_cidrs,
        listeners: Vec::new(),
        target_groups: BTreeMap::new(),
    };
    let tgs_of_lb: Vec<&crate::world::TargetGroup> = world
        .aws
        .target_groups
        .iter()
        .flat_map(|m| m.values())
        .filter(|tg| tg.load_balancer_arns.contains(&lb.arn))
        .collect();
    for tg in &tgs_of_lb {
        f.target_groups.insert(
            tg.arn.clone(),
            tg_facts(world, lb, &f.subnet_cidrs, tg, ips),
        );
    }
    let mut listeners: Vec<&crate::world::Listener> = world
        .aws
        .listeners
        .iter()
        .flat_map(|m| m.values())
        .filter(|l| l.load_balancer_arn == lb.arn)
        .collect();
    listeners.sort_by_key(|l| (l.port, l.protocol.clone()));
    for l in listeners {
        // ALB listener rules are not in a World: an ALB listener without a default target
        // group reaches the LB's target groups through its rules.
        let tgs = if l.target_group_arns.is_empty() && lb.is_alb() {
            tgs_of_lb.iter().map(|t| t.arn.clone()).collect()
        } else {
            l.target_group_arns.clone()
        };
        let protos = protos_of(Some(&l.protocol));
        let sources = listener_sources(world, &f, &tgs, &protos, l.port);
        let internet = !f.internal()
            && sources.iter().any(|s| {
                let src = Source::parse_token(s);
                is_world(&src) && (matches!(src, Source::Cidr(_)) || f.dualstack())
            });
        f.listeners.push(ListenerFacts {
            port: l.port,
            protocol: l.protocol.clone(),
            protos,
            sources,
            internet,
            target_groups: tgs,
        });
    }
    f
}

/// One target before its SGs are judged: from target health, or from the binding's endpoints.
struct Registered {
    id: String,
    port: Option<i32>,
    eni: Option<String>,
    sgs: Result<Vec<String>, String>,
    state: Option<String>,
    reason: Option<String>,
}

/// The targets of a TG: its registered targets when target health is loaded; else, for a
/// binding the LBC manages no rules for (the D07 case), the ENIs its endpoints sit on (what the
/// LBC would register); else unknown. Bindings with networking are left unknown: the LBC opens
/// their targets itself (drift shows when it has not), and resolving every binding's endpoints a
/// second time would double the cost of the desired state on large clusters.
fn registered(
    world: &World,
    tg: &crate::world::TargetGroup,
    ips: &BTreeMap<IpAddr, &NetworkInterface>,
) -> Option<(Vec<Registered>, TargetsFrom)> {
    if let Some(health) = world
        .aws
        .target_health
        .as_ref()
        .and_then(|m| m.get(&tg.arn))
    {
        let out = health
            .iter()
            .map(|h| {
                let (eni, sgs) = target_sgs(world, &h.id, ips);
                Registered {
                    id: h.id.clone(),
                    port: h.port.or(tg.port),
                    eni,
                    sgs,
                    state: Some(h.state.clone()),
                    reason: h.reason.clone(),
                }
            })
            .collect();
        return Some((out, TargetsFrom::TargetHealth));
    }
    let tgb = world
        .kube
        .target_group_bindings
        .iter()
        .flat_map(|m| m.values())
        .find(|t| t.target_group_arn == tg.arn && t.networking.is_none())?;
    let mut spec = TgbSpec::from_object(tgb);
    if spec.target_type.is_empty() {
        spec.target_type = tg.target_type.clone();
    }
    let TargetEndpoints::Enis(enis) = resolve_endpoint_enis(world, &spec).ok()? else {
        return None;
    };
    let out = enis
        .into_iter()
        .map(|e| Registered {
            id: e.target.to_string(),
            port: tg.port,
            eni: Some(e.eni_id),
            sgs: Ok(e.security_groups),
            state: None,
            reason: None,
        })
        .collect();
    Some((out, TargetsFrom::Endpoints))
}

fn tg_facts(
    world: &World,
    lb: &LoadBalancer,
    subnets: &[String],
    tg: &crate::world::TargetGroup,
    ips: &BTreeMap<IpAddr, &NetworkInterface>,
) -> TgFacts {
    let protos = protos_of(tg.protocol.as_deref());
    let preserve = tg.target_type == "instance" || protos.contains(&"udp");
    let health_port = tg
        .health_check_port
        .as_deref()
        .and_then(|p| p.parse::<i32>().ok());
    let sender = Sender {
        groups: &lb.security_groups,
        subnets,
    };
    let clients = lb.security_groups.is_empty() && preserve;
    // Targets sharing SGs and ports share the answer: a TG of 500 nodes behind one node SG is
    // judged once per port, not 500 times.
    let mut memo: BTreeMap<(Vec<String>, &str, i32, bool), Admit> = BTreeMap::new();
    let mut check = |sgs: &[String], proto: &'static str, port: i32, clients: bool| {
        memo.entry((sgs.to_vec(), proto, port, clients))
            .or_insert_with(|| {
                if clients {
                    client_admits(world, sgs, proto, port, subnets)
                } else {
                    admits(world, sgs, proto, port, &sender)
                }
            })
            .clone()
    };
    let (targets, from) = match registered(world, tg, ips) {
        Some((regs, from)) => {
            let facts = regs
                .into_iter()
                .map(|r| {
                    // Traffic: clients on an SG-less NLB preserving client IPs, else the LB.
                    // Health checks always come from the LB, over TCP.
                    let (traffic, health) = match (&r.sgs, r.port) {
                        (Err(why), _) => (Admit::Unknown(why.clone()), Admit::Unknown(why.clone())),
                        (_, None) => {
                            let why = format!("no port known for {}", r.id);
                            (Admit::Unknown(why.clone()), Admit::Unknown(why))
                        }
                        (Ok(sgs), Some(p)) => (
                            worst(protos.iter().map(|proto| check(sgs, proto, p, clients))),
                            check(sgs, "tcp", health_port.unwrap_or(p), false),
                        ),
                    };
                    TargetFacts {
                        id: r.id,
                        port: r.port,
                        eni: r.eni,
                        sgs: r.sgs.unwrap_or_default(),
                        traffic,
                        health,
                        state: r.state,
                        reason: r.reason,
                    }
                })
                .collect();
            (Some(facts), from)
        }
        None => (None, TargetsFrom::NotLoaded),
    };
    TgFacts {
        arn: tg.arn.clone(),
        name: tg.name.clone(),
        target_type: tg.target_type.clone(),
        protos,
        port: tg.port,
        health_port,
        preserve_client_ip: preserve,
        targets,
        targets_from: from,
    }
}

/// SG-less NLB with client IP preserved: clients are admitted by CIDR rules other than the
/// LB subnets' own (those are the health-check rules).
fn client_admits(
    world: &World,
    sgs: &[String],
    proto: &str,
    port: i32,
    subnets: &[String],
) -> Admit {
    let rules = client_rules(world, sgs, proto, port, subnets);
    match rules {
        Err(why) => Admit::Unknown(why),
        Ok(r) if r.is_empty() => Admit::Blocked,
        Ok(r) => Admit::Admitted(r.into_iter().map(|(sg, r)| rule_text(&sg, &r)).collect()),
    }
}

/// CIDR and prefix-list rules of `sgs` on `proto`/`port`, except the LB subnets' own.
pub fn client_rules(
    world: &World,
    sgs: &[String],
    proto: &str,
    port: i32,
    subnets: &[String],
) -> Result<Vec<(String, Rule)>, String> {
    let mut out = Vec::new();
    for id in sgs {
        let sg = world
            .aws
            .security_groups
            .as_ref()
            .and_then(|m| m.get(id))
            .ok_or_else(|| format!("{id} is not loaded"))?;
        for r in sg.ingress.iter().map(|r| &r.rule) {
            let client = matches!(
                r.source,
                Source::Cidr(_) | Source::CidrV6(_) | Source::PrefixList(_)
            ) && !subnets.iter().any(|s| s == r.source.value());
            if client && covers(r, proto, port) {
                out.push((id.clone(), r.clone()));
            }
        }
    }
    Ok(out)
}

/// Blocked beats unknown beats admitted.
fn worst(checks: impl Iterator<Item = Admit>) -> Admit {
    let mut out: Option<Admit> = None;
    for c in checks {
        out = Some(match (out, c) {
            (Some(Admit::Blocked), _) | (_, Admit::Blocked) => Admit::Blocked,
            (Some(Admit::Unknown(w)), _) | (_, Admit::Unknown(w)) => Admit::Unknown(w),
            (Some(Admit::Admitted(mut a)), Admit::Admitted(b)) => {
                a.extend(b);
                Admit::Admitted(a)
            }
            (None, c) => c,
        });
    }
    out.unwrap_or(Admit::Unknown("no protocol".into()))
}

/// The ENI and SGs of a target: an instance's primary ENI, or the ENI owning an IP.
fn target_sgs(
    world: &World,
    id: &str,
    ips: &BTreeMap<IpAddr, &NetworkInterface>,
) -> (Option<String>, Result<Vec<String>, String>) {
    if id.starts_with("i-") {
        let inst = world.aws.instances.as_ref().and_then(|m| m.get(id));
        let eni_id = inst
            .and_then(|i| i.primary_eni().map(String::from))
            .or_else(|| {
                world
                    .aws
                    .enis
                    .iter()
                    .flat_map(|m| m.values())
                    .find_map(|e| {
                        let a = e.attachment.as_ref()?;
                        (a.instance_id.as_deref() == Some(id) && a.device_index == Some(0))
                            .then(|| e.id.clone())
                    })
            });
        let eni = eni_id
            .as_deref()
            .and_then(|e| world.aws.enis.as_ref().and_then(|m| m.get(e)));
        return match (eni, inst) {
            (Some(e), _) => (Some(e.id.clone()), Ok(e.groups.clone())),
            (None, Some(i)) if !i.security_groups.is_empty() => {
                (eni_id, Ok(i.security_groups.clone()))
            }
            _ => (
                eni_id,
                Err(format!("the primary ENI of {id} is not loaded")),
            ),
        };
    }
    let Ok(ip) = id.parse::<IpAddr>() else {
        return (
            None,
            Err(format!("target {id} is neither an instance nor an IP")),
        );
    };
    if let Some(eni) = ips.get(&ip) {
        return (Some(eni.id.clone()), Ok(eni.groups.clone()));
    }
    let by_prefix = world.aws.enis.iter().flat_map(|m| m.values()).find(|e| {
        e.ipv4_prefixes
            .iter()
            .chain(&e.ipv6_prefixes)
            .any(|p| p.parse::<IpNet>().is_ok_and(|n| n.contains(&ip)))
    });
    match by_prefix {
        Some(e) => (Some(e.id.clone()), Ok(e.groups.clone())),
        None => (None, Err(format!("no loaded ENI holds {id}"))),
    }
}

/// Sources admitted on a listener. SG mode: what the frontend SGs admit. SG-less NLB: the client
/// CIDRs the targets admit (client IP preserved), else whoever reaches the LB.
fn listener_sources(
    world: &World,
    lb: &LbFacts,
    tgs: &[String],
    protos: &[&str],
    port: i32,
) -> Vec<String> {
    let mut out = BTreeSet::new();
    if !lb.sg_less() {
        for sg in lb
            .security_groups
            .iter()
            .filter_map(|s| world.aws.security_groups.as_ref().and_then(|m| m.get(s)))
        {
            for r in sg.ingress.iter().map(|r| &r.rule) {
                if protos.iter().any(|p| covers(r, p, port)) {
                    out.insert(r.source.to_string());
                }
            }
        }
        return sorted_sources(out);
    }
    for tg in tgs.iter().filter_map(|a| lb.target_groups.get(a)) {
        for t in tg.targets.iter().flatten() {
            let Some(p) = t.port.or(tg.port) else {
                continue;
            };
            for proto in &tg.protos {
                if tg.preserve_client_ip {
                    if let Ok(rules) = client_rules(world, &t.sgs, proto, p, &lb.subnet_cidrs) {
                        out.extend(rules.into_iter().map(|(_, r)| r.source.to_string()));
                    }
                } else if t.traffic.is_admitted() {
                    if lb.internal() {
                        let (v4, v6) = crate::core::desired::find::vpc_cidrs(world, world.vpc_id());
                        out.extend(v4);
                        out.extend(v6);
                    } else {
                        out.insert("0.0.0.0/0".into());
                        if lb.dualstack() {
                            out.insert("::/0".into());
                        }
                    }
                }
            }
        }
    }
    sorted_sources(out)
}

/// Sources in address order: IPv4 CIDRs, IPv6 CIDRs, prefix lists, SGs.
fn sorted_sources(sources: BTreeSet<String>) -> Vec<String> {
    let mut v: Vec<String> = sources.into_iter().collect();
    v.sort_by_key(|s| match s.parse::<IpNet>() {
        Ok(IpNet::V4(n)) => (0, Some(IpNet::V4(n)), String::new()),
        Ok(IpNet::V6(n)) => (1, Some(IpNet::V6(n)), String::new()),
        Err(_) if s.starts_with("pl-") => (2, None, s.clone()),
        Err(_) => (3, None, s.clone()),
    });
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_coverage_by_protocol_and_range() {
        let r = Rule::new("tcp", 5514, 32443, Source::Group("sg-b".into()), "");
        assert!(covers(&r, "tcp", 5514) && covers(&r, "tcp", 32443));
        assert!(!covers(&r, "tcp", 5513) && !covers(&r, "udp", 8080));
        let all = Rule {
            protocol: "-1".into(),
            from_port: None,
            to_port: None,
            source: Source::Cidr("10.0.0.0/8".into()),
            description: String::new(),
        };
        assert!(covers(&all, "udp", 53));
        let numeric = Rule::new("17", 53, 53, Source::Cidr("10.0.0.0/8".into()), "");
        assert!(covers(&numeric, "udp", 53));
    }

    #[test]
    fn cidr_containment_and_world_sources() {
        assert!(cidr_contains("10.0.0.0/8", "10.0.32.0/19"));
        assert!(!cidr_contains("10.0.0.0/19", "10.0.32.0/19"));
        assert!(cidr_contains("::/0", "2600:1f18::/56"));
        assert!(!cidr_contains("not-a-cidr", "10.0.0.0/8"));
        assert!(is_world(&Source::Cidr("0.0.0.0/0".into())));
        assert!(is_world(&Source::CidrV6("::/0".into())));
        assert!(!is_world(&Source::Cidr("0.0.0.0/1".into())));
    }

    #[test]
    fn sources_sort_by_address() {
        let set: BTreeSet<String> = ["sg-1", "::/0", "192.0.2.13/32", "pl-1", "192.0.2.8/32"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            sorted_sources(set),
            vec!["192.0.2.8/32", "192.0.2.13/32", "::/0", "pl-1", "sg-1"]
        );
    }

    #[test]
    fn protocols_of_listeners() {
        assert_eq!(protos_of(Some("TCP_UDP")), vec!["tcp", "udp"]);
        assert_eq!(protos_of(Some("udp")), vec!["udp"]);
        assert_eq!(protos_of(Some("HTTPS")), vec!["tcp"]);
    }
}
