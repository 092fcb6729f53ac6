//! One target group behind one load balancer: do the targets' SGs admit the LB on the traffic
//! port and on the health-check port?
//!
//! Targets are grouped by (SGs, ports) first, so a TG of 500 nodes sharing one node SG costs one
//! evaluation, not 500.

use std::collections::HashMap;

use serde::Serialize;

use super::admit::{AdmittedSources, Principal, RuleRef, Verdict, admits, sgs_admit};
use super::explain::{Code, near_miss_text, or_list, traffic_text};
use super::index::WorldIndex;
use super::ports::{Proto, Traffic};
use super::targets::{self, ResolvedTarget, SgOrigin, TargetsFrom};
use crate::world::{LoadBalancer, SecurityGroup, TargetGroup};

/// One check of a target set against its sender.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub verdict: Verdict,
    pub codes: Vec<Code>,
    /// Rules that admit the sender.
    pub rules: Vec<RuleRef>,
    /// Rules from the right source on other ports.
    pub near_misses: Vec<RuleRef>,
    pub explanation: String,
}

/// Targets that share SGs and ports, and therefore one answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TargetSet {
    /// Stable: `<tg arn>|<sgs joined by +>|<port>|<hc port>`.
    pub id: String,
    pub sgs: Vec<String>,
    pub origin: SgOrigin,
    pub traffic: Vec<Traffic>,
    pub health_check: Option<Traffic>,
    pub traffic_check: Check,
    pub health_check_check: Option<Check>,
    /// Both checks combined (the worse one).
    pub verdict: Verdict,
    /// SG-less NLB with client IP preserved: the clients the targets' SGs let through.
    pub client_sources: Option<AdmittedSources>,
    pub targets: Vec<TargetRef>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct TargetRef {
    pub id: String,
    pub port: Option<u16>,
    pub eni: Option<String>,
    pub health: Option<String>,
}

/// Client IP preservation on an SG-less NLB's target group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PreserveClientIp {
    pub enabled: bool,
    /// From AWS defaults rather than a configured attribute.
    pub assumed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TgReach {
    pub arn: String,
    pub name: String,
    pub target_type: String,
    pub protocol: Option<String>,
    pub port: Option<i32>,
    pub health_check_port: Option<String>,
    pub targets_from: TargetsFrom,
    pub preserve_client_ip: Option<PreserveClientIp>,
    pub total: usize,
    pub reachable: usize,
    /// Blocked or partially admitted.
    pub blocked: usize,
    pub unknown: usize,
    pub sets: Vec<TargetSet>,
    pub codes: Vec<Code>,
    pub summary: String,
}

/// The protocols a listener or TG protocol name carries (`TCP_UDP` carries both).
pub fn protos_of(protocol: Option<&str>) -> Vec<Proto> {
    match protocol.map(str::to_ascii_uppercase).as_deref() {
        Some("UDP" | "QUIC" | "GENEVE") => vec![Proto::Udp],
        Some("TCP_UDP" | "TCP_QUIC") => vec![Proto::Tcp, Proto::Udp],
        _ => vec![Proto::Tcp],
    }
}

fn tg_is_ipv6(tg: &TargetGroup) -> bool {
    tg.ip_address_type.as_deref() == Some("ipv6")
}

/// Targets with equal SGs, SG origin, traffic port and health-check port share one answer.
type SetKey<'w> = (Vec<&'w str>, SgOrigin, Option<u16>, Option<u16>);

/// How the LB reaches its targets, fixed per (LB, TG).
struct Sender {
    /// SG-mode: the LB's SGs and subnet addresses. SG-less: the subnet addresses only.
    lb: Principal,
    lb_text: String,
    /// SG-less NLB with client IP preserved: clients, not the LB, are the traffic's source.
    clients: bool,
    subnets_known: bool,
}

pub fn evaluate(idx: &WorldIndex<'_>, lb: &LoadBalancer, tg: &TargetGroup) -> TgReach {
    let sg_less = lb.security_groups.is_empty();
    let ipv6 = tg_is_ipv6(tg);
    let subnets = idx
        .lb_subnet_addrs(lb, ipv6)
        .or_else(|| idx.vpc_addrs(lb.vpc_id.as_deref(), ipv6));
    let mut codes = Vec::new();
    let preserve = sg_less.then(|| preserve_client_ip(idx, lb, tg));
    if let Some(p) = preserve
        && p.assumed
    {
        codes.push(if p.enabled {
            Code::AssumptionPreserveClientIpIsEnabled
        } else {
            Code::AssumptionPreserveClientIpIsDisabled
        });
    }
    let sender = Sender {
        lb: Principal {
            groups: lb.security_groups.iter().cloned().collect(),
            addrs: subnets.clone().unwrap_or_default(),
        },
        lb_text: if sg_less {
            match &subnets {
                Some(a) => format!("the LB subnets ({a})"),
                None => "the LB subnets".into(),
            }
        } else {
            or_list(
                &lb.security_groups
                    .iter()
                    .map(|s| idx.sg_label(s))
                    .collect::<Vec<_>>(),
            )
        },
        clients: preserve.is_some_and(|p| p.enabled),
        subnets_known: subnets.is_some(),
    };
    if sg_less && !sender.subnets_known {
        codes.push(Code::LbSubnetsNotLoaded);
    }

    let (from, resolved) = targets::resolve(idx, tg);
    if from == TargetsFrom::NotLoaded {
        codes.push(Code::TargetsNotLoaded);
    }
    let traffic_protos = protos_of(tg.protocol.as_deref());
    // Thousands of targets fall into a few sets, mostly in runs (one instance TG: every node
    // with the same SGs): try the last set first, then a hash; order the sets by key after.
    let mut groups: Vec<(SetKey<'_>, Vec<ResolvedTarget>)> = Vec::new();
    let mut slot: HashMap<SetKey<'_>, usize> = HashMap::new();
    for t in resolved {
        let same = |k: &SetKey<'_>| {
            k.0 == t.sgs && k.1 == t.origin && k.2 == t.port && k.3 == t.health_check_port
        };
        let i = match groups.last() {
            Some((k, _)) if same(k) => groups.len() - 1,
            _ => {
                let key = (t.sgs.clone(), t.origin.clone(), t.port, t.health_check_port);
                *slot.entry(key.clone()).or_insert_with(|| {
                    groups.push((key, Vec::new()));
                    groups.len() - 1
                })
            }
        };
        groups[i].1.push(t);
    }
    groups.sort_by(|a, b| a.0.cmp(&b.0));
    let mut sets = Vec::with_capacity(groups.len());
    for ((sgs, origin, port, hc), members) in groups {
        sets.push(evaluate_set(
            idx,
            tg,
            &sender,
            &traffic_protos,
            sgs.iter().map(|s| s.to_string()).collect(),
            origin,
            port,
            hc,
            members,
        ));
    }
    let total = sets.iter().map(|s| s.targets.len()).sum();
    let count = |pred: &dyn Fn(Verdict) -> bool| -> usize {
        sets.iter()
            .filter(|s| pred(s.verdict))
            .map(|s| s.targets.len())
            .sum()
    };
    let reachable = count(&|v| v == Verdict::Admitted);
    let blocked = count(&|v| matches!(v, Verdict::Blocked | Verdict::Partial));
    let unknown = count(&|v| v == Verdict::Unknown);
    for s in &sets {
        for c in s
            .traffic_check
            .codes
            .iter()
            .chain(s.health_check_check.iter().flat_map(|c| &c.codes))
        {
            if !codes.contains(c) {
                codes.push(*c);
            }
        }
    }
    codes.sort();
    let summary = tg_summary(from, total, reachable, &sets);
    TgReach {
        arn: tg.arn.clone(),
        name: tg.name.clone(),
        target_type: tg.target_type.clone(),
        protocol: tg.protocol.clone(),
        port: tg.port,
        health_check_port: tg.health_check_port.clone(),
        targets_from: from,
        preserve_client_ip: preserve,
        total,
        reachable,
        blocked,
        unknown,
        sets,
        codes,
        summary,
    }
}

#[allow(clippy::too_many_arguments)]
fn evaluate_set(
    idx: &WorldIndex<'_>,
    tg: &TargetGroup,
    sender: &Sender,
    protos: &[Proto],
    sgs: Vec<String>,
    origin: SgOrigin,
    port: Option<u16>,
    hc: Option<u16>,
    members: Vec<ResolvedTarget<'_>>,
) -> TargetSet {
    let traffic: Vec<Traffic> = port
        .map(|p| {
            protos
                .iter()
                .map(|&proto| Traffic { proto, port: p })
                .collect()
        })
        .unwrap_or_default();
    // Health checks are TCP, HTTP or HTTPS: always TCP on the wire.
    let health_check = hc.map(Traffic::tcp);
    let loaded: Vec<&SecurityGroup> = sgs.iter().filter_map(|s| idx.sg(s)).collect();
    let missing: Vec<String> = sgs
        .iter()
        .filter(|s| idx.sg(s).is_none())
        .cloned()
        .collect();
    let id = format!(
        "{}|{}|{}|{}",
        tg.arn,
        sgs.join("+"),
        port.map(|p| p.to_string()).unwrap_or_default(),
        hc.map(|p| p.to_string()).unwrap_or_default()
    );
    let targets = members
        .into_iter()
        .map(|t| TargetRef {
            id: t.id,
            port: t.port,
            eni: t.eni.map(|e| e.id.clone()),
            health: t.health,
        })
        .collect();

    let mut client_sources = None;
    let (traffic_check, health_check_check) = match &origin {
        SgOrigin::Lambda => (pass("Lambda target: no security group in the path"), None),
        SgOrigin::Unresolved(why) => (
            Check {
                verdict: Verdict::Unknown,
                codes: vec![Code::TargetEniNotFound],
                rules: Vec::new(),
                near_misses: Vec::new(),
                explanation: format!("cannot check: {why}"),
            },
            None,
        ),
        _ if traffic.is_empty() => (
            Check {
                verdict: Verdict::Unknown,
                codes: vec![Code::TargetsNotLoaded],
                rules: Vec::new(),
                near_misses: Vec::new(),
                explanation: "target port unknown".into(),
            },
            None,
        ),
        _ => {
            let tc = if sender.clients {
                let (check, admitted) = client_check(idx, &loaded, &missing, &sgs, &traffic);
                client_sources = Some(admitted);
                check
            } else {
                combine(
                    traffic
                        .iter()
                        .map(|t| sender_check(idx, &loaded, &missing, &sgs, sender, *t))
                        .collect(),
                )
            };
            let hcc = health_check.map(|t| {
                // An SG-less NLB health-checks from its subnets even when clients pass through.
                sender_check(idx, &loaded, &missing, &sgs, sender, t)
            });
            (tc, hcc)
        }
    };
    let verdict = worst(
        traffic_check.verdict,
        health_check_check
            .as_ref()
            .map_or(Verdict::Admitted, |c| c.verdict),
    );
    TargetSet {
        id,
        sgs,
        origin,
        traffic,
        health_check,
        traffic_check,
        health_check_check,
        verdict,
        client_sources,
        targets,
    }
}

fn pass(why: &str) -> Check {
    Check {
        verdict: Verdict::Admitted,
        codes: Vec::new(),
        rules: Vec::new(),
        near_misses: Vec::new(),
        explanation: why.into(),
    }
}

/// Does the union of the target SGs admit the LB (its SGs, else its subnet addresses) on `t`?
fn sender_check(
    idx: &WorldIndex<'_>,
    loaded: &[&SecurityGroup],
    missing: &[String],
    sgs: &[String],
    sender: &Sender,
    t: Traffic,
) -> Check {
    let a = admits(loaded, missing, &sender.lb, t, &idx.prefix_lists);
    let mut codes = Vec::new();
    let who = sgs_text(sgs);
    let explanation = match a.verdict {
        Verdict::Admitted => {
            let via: Vec<String> = a.rules.iter().take(2).map(ToString::to_string).collect();
            format!("{t} admitted by {}", via.join("; "))
        }
        Verdict::Blocked | Verdict::Partial => {
            codes.push(Code::EniSgRulesMismatch);
            let mut s = if a.verdict == Verdict::Partial {
                codes.push(Code::PartialCidrCoverage);
                format!(
                    "{who} admits {t} from part of {} only (not {})",
                    sender.lb_text, a.uncovered
                )
            } else {
                format!("{who} {} no rule for {t} from {}", has(sgs), sender.lb_text)
            };
            if let Some(n) = near_miss_text(&a.near_misses) {
                s.push_str(&format!(" ({n})"));
            }
            s
        }
        Verdict::Unknown => {
            if !missing.is_empty() {
                codes.push(Code::SecurityGroupNotLoaded);
            }
            if a.unknown.iter().any(|u| u.starts_with("prefix list")) {
                codes.push(Code::PrefixListNotExpanded);
            }
            format!(
                "cannot decide {t} from {}: {}",
                sender.lb_text,
                a.unknown.join(", ")
            )
        }
    };
    // Without subnet addresses an SG-less LB's answer is unknowable.
    let (verdict, explanation) = if sender.lb.groups.is_empty() && !sender.subnets_known {
        codes.push(Code::LbSubnetsNotLoaded);
        (
            Verdict::Unknown,
            format!("cannot decide {t}: the LB's subnets are not loaded"),
        )
    } else {
        (a.verdict, explanation)
    };
    Check {
        verdict,
        codes,
        rules: a.rules,
        near_misses: a.near_misses,
        explanation,
    }
}

/// SG-less NLB, client IP preserved: which client addresses do the target SGs admit? SG-sourced
/// rules do not match clients arriving through an NLB, so only CIDRs and prefix lists count.
fn client_check(
    idx: &WorldIndex<'_>,
    loaded: &[&SecurityGroup],
    missing: &[String],
    sgs: &[String],
    traffic: &[Traffic],
) -> (Check, AdmittedSources) {
    let mut admitted: Option<AdmittedSources> = None;
    for t in traffic {
        let mut a = sgs_admit(loaded.iter().copied(), *t, &idx.prefix_lists);
        a.groups.clear();
        a.rules
            .retain(|r| !matches!(r.rule.source, crate::world::Source::Group(_)));
        // TCP_UDP needs both: keep the clients admitted on every protocol.
        admitted = Some(match admitted {
            None => a,
            Some(mut prev) => {
                prev.addrs = prev.addrs.intersection(&a.addrs);
                prev.rules.extend(a.rules);
                prev.unexpanded_prefix_lists
                    .extend(a.unexpanded_prefix_lists);
                prev
            }
        });
    }
    let admitted = admitted.unwrap_or_default();
    let tt = traffic_text(traffic);
    let mut codes = Vec::new();
    let (verdict, explanation) = if !admitted.addrs.is_empty() {
        (
            Verdict::Admitted,
            format!(
                "clients from {} admitted on {tt} (client IP preserved)",
                admitted.addrs
            ),
        )
    } else if !missing.is_empty() || !admitted.unexpanded_prefix_lists.is_empty() {
        if !missing.is_empty() {
            codes.push(Code::SecurityGroupNotLoaded);
        }
        if !admitted.unexpanded_prefix_lists.is_empty() {
            codes.push(Code::PrefixListNotExpanded);
        }
        (
            Verdict::Unknown,
            format!(
                "cannot decide which clients {} admits on {tt}",
                sgs_text(sgs)
            ),
        )
    } else {
        codes.push(Code::EniSgRulesMismatch);
        (
            Verdict::Blocked,
            format!(
                "{} {} no rule for {tt} from any client CIDR (client IP preserved)",
                sgs_text(sgs),
                has(sgs)
            ),
        )
    };
    let check = Check {
        verdict,
        codes,
        rules: admitted.rules.clone(),
        near_misses: Vec::new(),
        explanation,
    };
    (check, admitted)
}

fn combine(checks: Vec<Check>) -> Check {
    let mut it = checks.into_iter();
    let Some(mut out) = it.next() else {
        return pass("nothing to check");
    };
    for c in it {
        out.verdict = worst(out.verdict, c.verdict);
        out.codes.extend(c.codes);
        out.rules.extend(c.rules);
        out.near_misses.extend(c.near_misses);
        out.explanation = format!("{}; {}", out.explanation, c.explanation);
    }
    out.codes.sort();
    out.codes.dedup();
    out
}

/// Blocked beats Partial beats Unknown beats Admitted.
pub fn worst(a: Verdict, b: Verdict) -> Verdict {
    let rank = |v| match v {
        Verdict::Admitted => 0,
        Verdict::Unknown => 1,
        Verdict::Partial => 2,
        Verdict::Blocked => 3,
    };
    if rank(a) >= rank(b) { a } else { b }
}

fn sgs_text(sgs: &[String]) -> String {
    if sgs.is_empty() {
        "the target (no SGs)".into()
    } else {
        sgs.join(" + ")
    }
}

fn has(sgs: &[String]) -> &'static str {
    if sgs.len() > 1 { "have" } else { "has" }
}

/// `2 of 2 targets reachable`, or the first reason targets are not.
fn tg_summary(from: TargetsFrom, total: usize, reachable: usize, sets: &[TargetSet]) -> String {
    if from == TargetsFrom::NotLoaded {
        return "targets not loaded".into();
    }
    let mut s = format!("{reachable} of {total} targets reachable");
    let bad: Vec<&TargetSet> = sets
        .iter()
        .filter(|s| s.verdict != Verdict::Admitted)
        .collect();
    if let Some(first) = bad.first() {
        let why = if first.traffic_check.verdict != Verdict::Admitted {
            &first.traffic_check.explanation
        } else {
            first
                .health_check_check
                .as_ref()
                .map_or(&first.traffic_check.explanation, |c| &c.explanation)
        };
        let verb = match first.verdict {
            Verdict::Unknown => "unknown",
            _ => "blocked",
        };
        s.push_str(&format!("; {verb}: {why}"));
    }
    s
}

const TG_ATTRIBUTES_ANNOTATION: &str =
    "service.beta.kubernetes.io/aws-load-balancer-target-group-attributes";

/// `preserve_client_ip.enabled` from the owning Service's target-group-attributes annotation
/// (the world holds no TG attributes), else the AWS default: off for ip targets over TCP/TLS,
/// on otherwise (UDP and TCP_UDP cannot turn it off).
fn preserve_client_ip(
    idx: &WorldIndex<'_>,
    lb: &LoadBalancer,
    tg: &TargetGroup,
) -> PreserveClientIp {
    let udp = protos_of(tg.protocol.as_deref()).contains(&Proto::Udp);
    if udp {
        return PreserveClientIp {
            enabled: true,
            assumed: false,
        };
    }
    let configured = idx
        .owners_of_lb
        .get(&lb.arn)
        .into_iter()
        .flatten()
        .find_map(|r| {
            let crate::core::plan::ResourceRef::Service(k) = r else {
                return None;
            };
            let svc = idx.service(k)?;
            let raw = svc.meta.annotations.get(TG_ATTRIBUTES_ANNOTATION)?;
            let map = crate::core::lbc::annotations::parse_string_map(raw)?;
            map.get("preserve_client_ip.enabled")
                .and_then(|v| crate::world::controller::parse_go_bool(v))
        });
    match configured {
        Some(enabled) => PreserveClientIp {
            enabled,
            assumed: false,
        },
        None => PreserveClientIp {
            enabled: tg.target_type != "ip",
            assumed: true,
        },
    }
}
