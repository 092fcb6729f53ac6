//! Per target group: which targets it has (target health, else the binding's endpoints) and
//! whether each target's SGs admit the load balancer on the traffic port and the health-check
//! port. Targets sharing SGs and ports are judged once.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ipnet::IpNet;

use super::facts::{
    Admit, TargetFacts, TargetsFrom, TgFacts, cidr_contains, covers, protos_of, rule_text,
};
use crate::core::lbc::target::{TargetEndpoints, TgbSpec, resolve_endpoint_enis};
use crate::world::{LoadBalancer, NetworkInterface, Rule, SecurityGroup, Source, World};

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

/// Every private address of every loaded ENI → the ENI.
pub(super) fn ip_index(world: &World) -> BTreeMap<IpAddr, &NetworkInterface> {
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

pub(super) fn tg_facts(
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
