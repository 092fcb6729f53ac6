//! Exposure of every load balancer listener and of every Service/Ingress, from World facts only:
//! LB → listeners → frontend SGs → admitted sources, and listener → target groups → targets →
//! whether the targets' SGs admit the LB (see [`super::tg`]).

use std::collections::{BTreeMap, BTreeSet};

use rayon::prelude::*;
use serde::Serialize;

use super::addr::AddrSet;
use super::admit::{AdmittedSources, RuleRef, Verdict, sgs_admit};
use super::explain::{Code, sources_text, traffic_text};
use super::index::WorldIndex;
use super::owners::Owned;
use super::ports::{PortMap, RulePorts, Traffic};
use super::tg::{self, TgReach, protos_of};
use crate::core::plan::ResourceRef;
use crate::world::{Listener, LoadBalancer, World};

/// How a listener's target groups were found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    /// The listener's default action.
    DefaultAction,
    /// ALB listener rules are not loaded: the LB's target groups not named by any default action.
    LoadBalancerTargetGroups,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListenerReach {
    /// The listener ARN.
    pub id: String,
    pub port: u16,
    pub protocol: String,
    pub traffic: Vec<Traffic>,
    /// Who can connect. SG-mode: what the frontend SGs admit. SG-less NLB: what the targets'
    /// SGs let through.
    pub sources: AdmittedSources,
    /// Reachable from the whole IPv4 / IPv6 internet (internet-facing, an address in that
    /// family, and `0.0.0.0/0` / `::/0` admitted).
    pub internet_v4: bool,
    pub internet_v6: bool,
    pub target_groups: Vec<String>,
    pub via: Via,
    pub total_targets: usize,
    pub reachable_targets: usize,
    /// Targets whose SGs do not admit the LB (traffic or health check).
    pub blocked_targets: usize,
    /// Targets the world lacks the data to decide.
    pub unknown_targets: usize,
    pub codes: Vec<Code>,
    pub summary: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LbReach {
    pub arn: String,
    pub name: String,
    pub type_: String,
    pub scheme: String,
    pub ip_address_type: String,
    pub internal: bool,
    pub security_groups: Vec<String>,
    /// Attached SGs the world does not hold.
    pub missing_sgs: Vec<String>,
    pub sg_less: bool,
    pub owners: Vec<String>,
    pub listeners_loaded: bool,
    pub listeners: Vec<ListenerReach>,
    pub target_groups: BTreeMap<String, TgReach>,
    /// Every protocol/port the frontend SGs admit from any source.
    pub frontend_ports: PortMap,
    pub codes: Vec<Code>,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResourceReach {
    /// `service/ns/name` or `ingress/ns/name`.
    pub id: String,
    pub load_balancers: Vec<Owned>,
    /// One line per listener: `<lb>: <listener summary>`.
    pub lines: Vec<String>,
}

/// Exposure of a whole world.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Exposure {
    pub load_balancers: BTreeMap<String, LbReach>,
    pub resources: BTreeMap<String, ResourceReach>,
    pub notes: Vec<String>,
}

/// Exposure of every LB and owner in `world`.
pub fn exposure(world: &World) -> Exposure {
    exposure_with(&WorldIndex::new(world))
}

pub fn exposure_with(idx: &WorldIndex<'_>) -> Exposure {
    let mut out = Exposure::default();
    let aws = &idx.world.aws;
    if aws.load_balancers.is_none() {
        out.notes
            .push("load balancers not loaded: exposure not computed".into());
    }
    if aws.security_groups.is_none() {
        out.notes
            .push("security groups not loaded: every rule check is unknown".into());
    }
    if aws.listeners.is_none() {
        out.notes.push("listeners not loaded".into());
    }
    // Each LB's evaluation reads the shared index only: spread them over the cores.
    let lbs: Vec<&LoadBalancer> = aws.load_balancers.iter().flat_map(|m| m.values()).collect();
    let reached: Vec<LbReach> = lbs
        .par_iter()
        .map(|lb| lb_reach(idx, idx.lb(&lb.arn).unwrap_or(lb)))
        .collect();
    for r in reached {
        out.load_balancers.insert(r.arn.clone(), r);
    }
    for (r, owned) in idx.owned.iter() {
        out.resources
            .insert(r.to_string(), resource_reach(r, owned, &out.load_balancers));
    }
    // Owners that should have an LB but none was found.
    for (key, svc) in idx.world.kube.services.iter().flatten() {
        let r = ResourceRef::Service(key.clone());
        if svc.spec.type_ == "LoadBalancer" && !idx.owned.contains_key(&r) {
            out.resources.insert(r.to_string(), no_lb(&r));
        }
    }
    for key in idx.world.kube.ingresses.iter().flat_map(|m| m.keys()) {
        let r = ResourceRef::Ingress(key.clone());
        if !idx.owned.contains_key(&r) {
            out.resources.insert(r.to_string(), no_lb(&r));
        }
    }
    out
}

/// Exposure of one Service/Ingress: its LBs and the summary lines.
pub fn resource_exposure(idx: &WorldIndex<'_>, r: &ResourceRef) -> (ResourceReach, Vec<LbReach>) {
    let Some(owned) = idx.owned.get(r) else {
        return (no_lb(r), Vec::new());
    };
    let lbs: BTreeMap<String, LbReach> = owned
        .iter()
        .filter_map(|o| idx.lb(&o.load_balancer))
        .map(|lb| (lb.arn.clone(), lb_reach(idx, lb)))
        .collect();
    (resource_reach(r, owned, &lbs), lbs.into_values().collect())
}

fn no_lb(r: &ResourceRef) -> ResourceReach {
    ResourceReach {
        id: r.to_string(),
        load_balancers: Vec::new(),
        lines: vec![
            "no load balancer found (none carries its stack tags or its status hostname)".into(),
        ],
    }
}

pub(super) fn resource_reach(
    r: &ResourceRef,
    owned: &[Owned],
    lbs: &BTreeMap<String, LbReach>,
) -> ResourceReach {
    let mut lines = Vec::new();
    for o in owned {
        let Some(lb) = lbs.get(&o.load_balancer) else {
            continue;
        };
        if !lb.listeners_loaded {
            lines.push(format!("{}: listeners not loaded", lb.name));
        } else if lb.listeners.is_empty() {
            lines.push(format!("{}: no listeners", lb.name));
        }
        for l in &lb.listeners {
            lines.push(format!("{}: {}", lb.name, l.summary));
        }
    }
    ResourceReach {
        id: r.to_string(),
        load_balancers: owned.to_vec(),
        lines,
    }
}

/// Exposure of one load balancer.
pub fn lb_reach(idx: &WorldIndex<'_>, lb: &LoadBalancer) -> LbReach {
    let internal = lb.scheme == "internal";
    let sg_less = lb.security_groups.is_empty();
    let frontend: Vec<_> = lb
        .security_groups
        .iter()
        .filter_map(|s| idx.sg(s))
        .collect();
    let missing_sgs: Vec<String> = lb
        .security_groups
        .iter()
        .filter(|s| idx.sg(s).is_none())
        .cloned()
        .collect();
    let mut codes = Vec::new();
    let mut notes = Vec::new();
    if internal {
        codes.push(Code::InternalLoadBalancer);
        notes.push("internal: reachable only from inside the VPC and networks routed to it".into());
    }
    if sg_less && lb.is_nlb() {
        codes.push(Code::LoadBalancerHasNoSecurityGroups);
        notes.push(
            "no security groups on this NLB: the targets' SGs decide who gets through".into(),
        );
    }
    if !missing_sgs.is_empty() {
        codes.push(Code::SecurityGroupNotLoaded);
        notes.push(format!("SGs not loaded: {}", missing_sgs.join(", ")));
    }
    let mut frontend_ports = PortMap::default();
    for sg in &frontend {
        for r in &sg.ingress {
            frontend_ports.add_rule(&RulePorts::of(&r.rule));
        }
    }

    let listeners = idx.listeners(&lb.arn);
    let listeners_loaded = listeners.is_some();
    if !listeners_loaded {
        codes.push(Code::ListenersNotLoaded);
    }
    let listeners = listeners.unwrap_or(&[]);
    // TGs no default action names are reached through ALB listener rules (not in the world).
    let named: BTreeSet<&str> = listeners
        .iter()
        .flat_map(|l| l.target_group_arns.iter().map(String::as_str))
        .collect();
    let by_rules: Vec<String> = idx
        .target_groups_of_lb(&lb.arn)
        .iter()
        .map(|tg| tg.arn.clone())
        .filter(|a| !named.contains(a.as_str()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();

    let mut target_groups: BTreeMap<String, TgReach> = BTreeMap::new();
    let mut out_listeners = Vec::new();
    for l in listeners {
        let (tgs, via) = if lb.is_alb() && !by_rules.is_empty() {
            let mut v = l.target_group_arns.clone();
            v.extend(by_rules.iter().cloned());
            (v, Via::LoadBalancerTargetGroups)
        } else {
            (l.target_group_arns.clone(), Via::DefaultAction)
        };
        for arn in &tgs {
            if !target_groups.contains_key(arn)
                && let Some(tg) = idx.target_group(arn)
            {
                target_groups.insert(arn.clone(), tg::evaluate(idx, lb, tg));
            }
        }
        out_listeners.push(listener_reach(
            idx,
            lb,
            &frontend,
            l,
            tgs,
            via,
            &target_groups,
        ));
    }
    codes.sort();
    codes.dedup();
    LbReach {
        arn: lb.arn.clone(),
        name: lb.name.clone(),
        type_: lb.type_.clone(),
        scheme: lb.scheme.clone(),
        ip_address_type: lb.ip_address_type.clone(),
        internal,
        security_groups: lb.security_groups.clone(),
        missing_sgs,
        sg_less,
        owners: idx
            .owners_of_lb
            .get(&lb.arn)
            .into_iter()
            .flatten()
            .map(ToString::to_string)
            .collect(),
        listeners_loaded,
        listeners: out_listeners,
        target_groups,
        frontend_ports,
        codes,
        notes,
    }
}

fn listener_reach(
    idx: &WorldIndex<'_>,
    lb: &LoadBalancer,
    frontend: &[&crate::world::SecurityGroup],
    l: &Listener,
    tgs: Vec<String>,
    via: Via,
    reached: &BTreeMap<String, TgReach>,
) -> ListenerReach {
    let internal = lb.scheme == "internal";
    let port = u16::try_from(l.port).unwrap_or(0);
    let traffic: Vec<Traffic> = protos_of(Some(&l.protocol))
        .into_iter()
        .map(|proto| Traffic { proto, port })
        .collect();
    let mut codes = Vec::new();
    if via == Via::LoadBalancerTargetGroups {
        codes.push(Code::ListenerRulesNotLoaded);
    }
    let tg_reaches: Vec<&TgReach> = tgs.iter().filter_map(|a| reached.get(a)).collect();
    if tgs.is_empty() {
        codes.push(Code::Elbv2ListenerHasNoTg);
    }

    let sources = if lb.security_groups.is_empty() {
        sg_less_sources(idx, lb, &tg_reaches)
    } else {
        let mut s = AdmittedSources::default();
        for t in &traffic {
            s.merge(sgs_admit(frontend.iter().copied(), *t, &idx.prefix_lists));
        }
        if s.is_empty() && frontend.len() == lb.security_groups.len() {
            codes.push(Code::EniSgRulesMismatch);
        }
        s
    };
    let frontend_missing: Vec<&String> = lb
        .security_groups
        .iter()
        .filter(|s| idx.sg(s).is_none())
        .collect();
    if !frontend_missing.is_empty() {
        codes.push(Code::SecurityGroupNotLoaded);
    }
    let public_v4 = lb.ip_address_type != "dualstack-without-public-ipv4";
    let has_v6 = lb.ip_address_type.starts_with("dualstack");
    let internet_v4 = !internal && public_v4 && sources.addrs.covers_all_v4();
    let internet_v6 = !internal && has_v6 && sources.addrs.covers_all_v6();

    let total: usize = tg_reaches.iter().map(|t| t.total).sum();
    let reachable: usize = tg_reaches.iter().map(|t| t.reachable).sum();
    let blocked: usize = tg_reaches.iter().map(|t| t.blocked).sum();
    let unknown: usize = tg_reaches.iter().map(|t| t.unknown).sum();
    for t in &tg_reaches {
        codes.extend(t.codes.iter().copied());
    }
    codes.sort();
    codes.dedup();

    let mut src = sources_text(&sources, internet_v4, internet_v6, internal);
    if !frontend_missing.is_empty() {
        let names: Vec<&str> = frontend_missing.iter().map(|s| s.as_str()).collect();
        src = if sources.is_empty() {
            format!("unknown ({} not loaded)", names.join(", "))
        } else {
            format!(
                "{src}, and whatever {} admit (not loaded)",
                names.join(", ")
            )
        };
    }
    let mut summary = format!("{src} → {}", traffic_text(&traffic));
    if sources.is_empty() && !lb.security_groups.is_empty() && frontend_missing.is_empty() {
        summary.push_str(&format!(
            " (blocked: {} {} no rule for {})",
            lb.security_groups.join(" + "),
            if lb.security_groups.len() > 1 {
                "have"
            } else {
                "has"
            },
            traffic_text(&traffic)
        ));
    }
    summary.push_str(" → ");
    summary.push_str(&targets_text(&tgs, &tg_reaches, total, reachable));
    if via == Via::LoadBalancerTargetGroups {
        summary.push_str(" (via listener rules, not loaded)");
    }
    ListenerReach {
        id: l.arn.clone(),
        port,
        protocol: l.protocol.clone(),
        traffic,
        sources,
        internet_v4,
        internet_v6,
        target_groups: tgs,
        via,
        total_targets: total,
        reachable_targets: reachable,
        blocked_targets: blocked,
        unknown_targets: unknown,
        codes,
        summary,
    }
}

/// `12 of 12 targets on tcp/31443`, with the first blocking reason when some are not reachable.
fn targets_text(tgs: &[String], reached: &[&TgReach], total: usize, reachable: usize) -> String {
    if tgs.is_empty() {
        return "no target group".into();
    }
    if reached.is_empty() {
        return "target groups not loaded".into();
    }
    if reached
        .iter()
        .all(|t| t.targets_from == super::targets::TargetsFrom::NotLoaded)
    {
        return "targets not loaded".into();
    }
    let ports: BTreeSet<Traffic> = reached
        .iter()
        .flat_map(|t| &t.sets)
        .flat_map(|s| s.traffic.iter().copied())
        .collect();
    let ports: Vec<Traffic> = ports.into_iter().collect();
    let mut s = format!("{reachable} of {total} targets");
    if !ports.is_empty() {
        s.push_str(&format!(" on {}", traffic_text(&ports).replace('+', ", ")));
    }
    let first_bad = reached
        .iter()
        .flat_map(|t| &t.sets)
        .find(|s| s.verdict != Verdict::Admitted);
    if let Some(set) = first_bad {
        let check = if set.traffic_check.verdict != Verdict::Admitted {
            &set.traffic_check
        } else {
            set.health_check_check
                .as_ref()
                .unwrap_or(&set.traffic_check)
        };
        let what = if set.traffic_check.verdict == Verdict::Admitted {
            "health check "
        } else {
            ""
        };
        let verb = if set.verdict == Verdict::Unknown {
            "unknown"
        } else {
            "blocked"
        };
        s.push_str(&format!("; {what}{verb}: {}", check.explanation));
    }
    s
}

/// SG-less NLB: with client IP preserved, the clients the targets admit; otherwise, if the
/// targets admit the LB at all, whoever can reach the LB.
fn sg_less_sources(idx: &WorldIndex<'_>, lb: &LoadBalancer, tgs: &[&TgReach]) -> AdmittedSources {
    let mut out = AdmittedSources::default();
    for tg in tgs {
        for set in &tg.sets {
            if let Some(c) = &set.client_sources {
                out.merge(c.clone());
            } else if set.traffic_check.verdict == Verdict::Admitted && !set.traffic.is_empty() {
                let reach = if lb.scheme == "internal" {
                    idx.vpc_addrs(lb.vpc_id.as_deref(), false)
                        .unwrap_or_default()
                        .union(
                            &idx.vpc_addrs(lb.vpc_id.as_deref(), true)
                                .unwrap_or_default(),
                        )
                } else {
                    AddrSet::internet()
                };
                out.addrs.insert(&reach);
                let rules: Vec<RuleRef> = set.traffic_check.rules.clone();
                out.rules.extend(rules);
            }
        }
    }
    out.rules.sort();
    out.rules.dedup();
    out
}
