//! Exposure facts the checks need, from the World's LB, listener, target group, target health,
//! ENI and SG facts alone: who each listener admits, and whether each target's SGs admit the
//! load balancer on the traffic port and on the health-check port.
//!
//! This is deliberately small and rule-based, for the checks' evidence. The audit's exposure
//! report comes from `core::reach` (exact address sets, prefix-list expansion, RA explanation
//! codes): see [`exposure_lines`].

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ipnet::IpNet;
use serde::Serialize;

pub use super::targets::client_rules;
use super::targets::{ip_index, tg_facts};
use crate::core::desired::Desired;
use crate::world::{LoadBalancer, NetworkInterface, Rule, Source, World};

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

/// `cli.md`'s exposure entries from the reachability evaluator: one per owner and listener
/// (an LB nobody owns is `loadbalancer/<name>`), sorted by owner, LB and port.
pub fn exposure_lines(e: &crate::core::reach::Exposure) -> Vec<ExposureLine> {
    let mut out = Vec::new();
    for lb in e.load_balancers.values() {
        let owners = if lb.owners.is_empty() {
            vec![format!("loadbalancer/{}", lb.name)]
        } else {
            lb.owners.clone()
        };
        for l in &lb.listeners {
            let mut sources = l.sources.addrs.cidr_strings();
            sources.extend(l.sources.unexpanded_prefix_lists.iter().cloned());
            sources.extend(l.sources.groups.iter().cloned());
            let ports: BTreeSet<String> = l
                .target_groups
                .iter()
                .filter_map(|a| lb.target_groups.get(a))
                .flat_map(|tg| &tg.sets)
                .flat_map(|set| set.traffic.iter().map(ToString::to_string))
                .collect();
            for owner in &owners {
                out.push(ExposureLine {
                    resource: owner.clone(),
                    load_balancer: lb.arn.clone(),
                    scheme: lb.scheme.clone(),
                    listener: format!("{}/{}", l.protocol.to_ascii_lowercase(), l.port),
                    sources: sources.clone(),
                    internet: l.internet_v4 || l.internet_v6,
                    targets: TargetCounts {
                        reachable: l.reachable_targets,
                        blocked: l.blocked_targets,
                        ports: ports.iter().cloned().collect(),
                    },
                });
            }
        }
    }
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
