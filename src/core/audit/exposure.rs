//! Exposure findings about what the LBC builds: internal LBs open to 0.0.0.0/0 by default (D19),
//! internal legacy NLBs that only admit the VPC (D20), legacy NLBs admitting more than their
//! source ranges (D22) or whole subnets through health-check rules (D23), and restricted target
//! rules spanning a wide range (D24). lbsg's own internet checks are in `internet.rs`.

use std::collections::{BTreeMap, BTreeSet};

use super::facts::{LbFacts, cidr_contains, client_rules, covers, is_world, rule_text};
use super::{Ctx, Finding, Remedy, Severity};
use crate::core::desired::StackState;
use crate::core::lbc::model::Frontend;
use crate::core::lbc::service::frontend::source_ranges;
use crate::core::lbc::target::is_lbc_managed;
use crate::core::plan::{Edit, ResourceRef};
use crate::world::{Rule, Service, Source};

const SVC_RANGES: &str = "service.beta.kubernetes.io/load-balancer-source-ranges";
const ING_CIDRS: &str = "alb.ingress.kubernetes.io/inbound-cidrs";

/// The listener ports of an LB, as (proto, port).
fn listener_ports(lb: &LbFacts) -> Vec<(&'static str, i32)> {
    lb.listeners
        .iter()
        .flat_map(|l| l.protos.iter().map(move |p| (*p, l.port)))
        .collect()
}

fn service_of<'w>(ctx: &Ctx<'w>, s: &StackState) -> Option<&'w Service> {
    match s.resources.as_slice() {
        [ResourceRef::Service(k)] => ctx.service(k),
        _ => None,
    }
}

/// Whether a stack's objects set client ranges themselves (spec, annotation or inbound-cidrs).
fn explicit_ranges(ctx: &Ctx<'_>, s: &StackState) -> bool {
    s.resources.iter().any(|r| match r {
        ResourceRef::Service(k) => ctx
            .service(k)
            .is_some_and(|svc| !source_ranges(svc).is_empty()),
        ResourceRef::Ingress(_) => ctx
            .annotations(r)
            .is_some_and(|a| a.contains_key(ING_CIDRS)),
    })
}

/// D19: an internal LB whose managed SG admits 0.0.0.0/0 or ::/0 on a listener port.
pub fn d19_internal_open_managed(ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for (s, m) in ctx.modelled() {
        let (Frontend::Managed(_), Some(sg_id)) = (&m.frontend, s.managed_sg_id.as_deref()) else {
            continue;
        };
        let Some(lb) = s.lb.as_deref().and_then(|a| ctx.facts.lb(a)) else {
            continue;
        };
        let Some(sg) = ctx.sg(sg_id) else { continue };
        if !lb.internal() {
            continue;
        }
        let ports = listener_ports(lb);
        let open: Vec<&Rule> = sg
            .ingress
            .iter()
            .map(|r| &r.rule)
            .filter(|r| is_world(&r.source) && ports.iter().any(|(p, n)| covers(r, p, *n)))
            .collect();
        if open.is_empty() {
            continue;
        }
        let (v4, v6) = ctx.vpc_cidrs();
        let mut f = Finding::new("D19", Severity::Medium, s.id.to_string())
            .objects([sg_id.to_string(), lb.arn.clone()])
            .evidence(format!(
                "{} is internal, and its managed SG {} admits {}",
                lb.name,
                ctx.sg_label(sg_id),
                open.iter()
                    .map(|r| format!("{} from {}", r.ports_text(), r.source))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .evidence(if explicit_ranges(ctx, s) {
                "the source ranges list it explicitly: anything routed into the VPC (peering, Transit Gateway, VPN, Direct Connect) can connect"
            } else {
                "with no source ranges the LBC opens the listener ports to 0.0.0.0/0 whatever the scheme: anything routed into the VPC (peering, Transit Gateway, VPN, Direct Connect) can connect"
            });
        let mut want: Vec<String> = v4.clone();
        if lb.dualstack() {
            want.extend(v6.iter().cloned());
        }
        let remedy = match (s.resources.as_slice(), service_of(ctx, s)) {
            (_, Some(svc))
                if svc.spec.load_balancer_source_ranges.is_empty() && !want.is_empty() =>
            {
                Some((SVC_RANGES, ResourceRef::Service(svc.meta.key())))
            }
            ([r @ ResourceRef::Ingress(_)], _) if !want.is_empty() => Some((ING_CIDRS, r.clone())),
            _ => None,
        };
        f = match remedy {
            Some((key, r)) => f.remedy(Remedy::edit(
                format!("limit the sources to the VPC ({}) or the ranges that should connect", want.join(", ")),
                Edit::Annotations {
                    resource: r,
                    set: BTreeMap::from([(key.to_string(), want.join(","))]),
                    unset: Vec::new(),
                },
            )),
            None => f.remedy(Remedy::manual(
                "set spec.loadBalancerSourceRanges (Service) or inbound-cidrs (each Ingress of the group) to the ranges that should connect",
            )),
        };
        out.push(f);
    }
    out
}

/// Legacy (SG-less) LBC NLBs with their stack.
fn legacy<'c>(ctx: &'c Ctx<'_>) -> impl Iterator<Item = (&'c StackState, &'c LbFacts)> {
    ctx.modelled().filter_map(|(s, m)| {
        let lb = s.lb.as_deref().and_then(|a| ctx.facts.lb(a))?;
        (matches!(m.frontend, Frontend::None) && lb.sg_less() && lb.type_ == "network")
            .then_some((s, lb))
    })
}

/// D20: an internal legacy NLB preserving client IPs, without source ranges.
pub fn d20_internal_legacy_vpc_only(ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for (s, lb) in legacy(ctx) {
        let Some(svc) = service_of(ctx, s) else {
            continue;
        };
        if !lb.internal() || !source_ranges(svc).is_empty() {
            continue;
        }
        if !lb.target_groups.values().any(|tg| tg.preserve_client_ip) {
            continue;
        }
        let (v4, v6) = ctx.vpc_cidrs();
        let vpc: Vec<String> = v4.into_iter().chain(v6).collect();
        out.push(
            Finding::new("D20", Severity::Low, s.id.to_string())
                .objects([lb.arn.clone()])
                .evidence(format!(
                    "{} is an internal NLB without SGs that preserves client IPs, and the Service sets no source ranges: the node rules admit only the VPC's CIDRs ({})",
                    lb.name,
                    vpc.join(", ")
                ))
                .evidence("clients in peered VPCs or on-premises networks are dropped by the targets' SGs")
                .remedy(Remedy::manual(
                    "set spec.loadBalancerSourceRanges to every network that should connect",
                )),
        );
    }
    out
}

/// The client ranges a legacy NLB's Service declares (the defaults when none).
fn declared_ranges(ctx: &Ctx<'_>, svc: &Service, lb: &LbFacts) -> Vec<String> {
    let declared = source_ranges(svc);
    if !declared.is_empty() {
        return declared;
    }
    if lb.internal() {
        let (v4, v6) = ctx.vpc_cidrs();
        v4.into_iter().chain(v6).collect()
    } else {
        vec!["0.0.0.0/0".into(), "::/0".into()]
    }
}

/// D22: a legacy NLB's targets admit clients outside its declared source ranges.
pub fn d22_shared_node_sg_leak(ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for (s, lb) in legacy(ctx) {
        let Some(svc) = service_of(ctx, s) else {
            continue;
        };
        let declared = declared_ranges(ctx, svc, lb);
        let mut leaks: BTreeSet<String> = BTreeSet::new();
        let mut sgs: BTreeSet<String> = BTreeSet::new();
        for tg in lb.target_groups.values().filter(|tg| tg.preserve_client_ip) {
            for (target_sgs, port, _) in ctx.target_sets(s, tg) {
                for proto in &tg.protos {
                    let Ok(rules) =
                        client_rules(ctx.world, &target_sgs, proto, port, &lb.subnet_cidrs)
                    else {
                        continue;
                    };
                    for (sg, r) in rules {
                        let inside = declared
                            .iter()
                            .any(|d| d == r.source.value() || cidr_contains(d, r.source.value()));
                        if !inside {
                            let who = if is_lbc_managed(&r) {
                                " (an LBC rule, for another binding)"
                            } else {
                                ""
                            };
                            leaks.insert(format!("{}{who}", rule_text(&sg, &r)));
                            sgs.insert(sg);
                        }
                    }
                }
            }
        }
        if leaks.is_empty() {
            continue;
        }
        out.push(
            Finding::new("D22", Severity::High, s.id.to_string())
                .objects([lb.arn.clone()])
                .objects(sgs)
                .evidence(format!(
                    "{} has no SGs, so the targets' SGs are the only filter; the Service allows {}",
                    lb.name,
                    declared.join(", ")
                ))
                .evidence(format!(
                    "but SG rules are a union per ENI, and these admit other clients too: {}",
                    leaks.into_iter().collect::<Vec<_>>().join("; ")
                ))
                .remedy(Remedy::manual(
                    "move to an SG-mode NLB (filtering then happens at the NLB's SG), or give every Service on these targets explicit source ranges and remove wider hand-made rules",
                )),
        );
    }
    out
}

/// D23: a legacy NLB's health-check rules admit its whole subnets on the target ports.
pub fn d23_legacy_health_subnets(ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for (s, lb) in legacy(ctx) {
        let mut hits: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for tg in lb.target_groups.values() {
            for (target_sgs, port, health) in ctx.target_sets(s, tg) {
                let ports = [port, health];
                for sg in target_sgs.iter().filter_map(|id| ctx.sg(id)) {
                    for r in sg.ingress.iter().map(|r| &r.rule) {
                        let from_subnet = lb.subnet_cidrs.iter().any(|c| c == r.source.value());
                        if from_subnet && ports.iter().any(|p| covers(r, "tcp", *p)) {
                            hits.entry(format!("{} {}", sg.id, r.ports_text()))
                                .or_default()
                                .insert(r.source.to_string());
                        }
                    }
                }
            }
        }
        if hits.is_empty() {
            continue;
        }
        let mut f = Finding::new("D23", Severity::Low, s.id.to_string()).objects([lb.arn.clone()]);
        for (what, subnets) in &hits {
            let (sg, ports) = what.split_once(' ').unwrap_or((what, ""));
            f.objects.push(sg.to_string());
            f.evidence.push(format!(
                "{sg} admits {ports} from the load balancer's subnets {} (health-check rules): every workload in those subnets reaches it",
                subnets.iter().cloned().collect::<Vec<_>>().join(", ")
            ));
        }
        out.push(f.remedy(Remedy::manual(
            "an SG-mode NLB (recreate) lets target rules reference the NLB's SG instead of its subnets",
        )));
    }
    out
}

/// D24: the LBC's restricted target rule spans ports no binding needs.
pub fn d24_restricted_range(ctx: &Ctx<'_>) -> Vec<Finding> {
    // Ports each binding needs, per (target SG, source SG, protocol).
    let mut needed: BTreeMap<(String, String, String), BTreeSet<i32>> = BTreeMap::new();
    for t in &ctx.desired.targets.tgbs {
        let Ok(per_sg) = &t.result else { continue };
        for (sg, rules) in per_sg {
            for r in rules {
                if let (Source::Group(src), Some(from), Some(to)) =
                    (&r.source, r.from_port, r.to_port)
                    && to - from < 1000
                {
                    needed
                        .entry((sg.clone(), src.clone(), r.protocol.clone()))
                        .or_default()
                        .extend(from..=to);
                }
            }
        }
    }
    let mut out = Vec::new();
    for sg in ctx.sgs() {
        for r in sg
            .ingress
            .iter()
            .map(|r| &r.rule)
            .filter(|r| is_lbc_managed(r))
        {
            let (Source::Group(src), Some(from), Some(to)) = (&r.source, r.from_port, r.to_port)
            else {
                continue;
            };
            if to <= from {
                continue;
            }
            let Some(need) = needed.get(&(sg.id.clone(), src.clone(), r.protocol.clone())) else {
                continue; // no binding known for it (cluster side unknown, or bindings failed)
            };
            let inside: Vec<i32> = need
                .iter()
                .copied()
                .filter(|p| (from..=to).contains(p))
                .collect();
            let width = (to - from + 1) as usize;
            if inside.len() >= width {
                continue;
            }
            let lbs = ctx.sg_users(src).load_balancers;
            let used: Vec<String> = inside.iter().map(ToString::to_string).collect();
            let used = if used.len() > 12 {
                format!("{}, … ({} in all)", used[..12].join(", "), used.len())
            } else {
                used.join(", ")
            };
            let mut f = Finding::new("D24", Severity::Low, sg.id.clone())
                .objects([sg.id.clone(), src.clone()])
                .evidence(format!(
                    "{} holds the LBC's rule {} from {}: {width} ports for {} port(s) the bindings use ({used})",
                    ctx.sg_label(&sg.id),
                    r.ports_text(),
                    src,
                    inside.len(),
                ))
                .evidence(format!(
                    "the other {} ports are open to every load balancer carrying {src} ({} today)",
                    width - inside.len(),
                    lbs.len()
                ));
            if !ctx.desired.targets.complete {
                f.evidence.push(
                    "some bindings could not be computed: the ports they need are not counted above"
                        .into(),
                );
            }
            if ctx.config().disable_restricted_sg_rules {
                f.evidence.push(
                    "the controller runs with --disable-restricted-sg-rules=true: the LBC opens every port".into(),
                );
            } else {
                f.evidence.push(
                    "the LBC merges every binding with the same source SG and protocol into one rule from the lowest to the highest port".into(),
                );
            }
            out.push(f.remedy(Remedy::manual(
                "usually acceptable (the source is an SG, not an address range); to narrow it, use a custom backend SG per group of load balancers or manage the target rules yourself",
            )));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::core::audit::testworld::*;
    use crate::world::{NetworkingPeer, NetworkingPort, NetworkingRule, SgRule, World};

    #[test]
    fn d19_internal_managed_open_and_not_internet_facing() {
        assert!(findings(&world(), "D19").is_empty());
        let mut w = world();
        set_ann(web(&mut w), "aws-load-balancer-scheme", "internal");
        lb_mut(&mut w).scheme = "internal".into();
        let f = findings(&w, "D19");
        assert_eq!(f.len(), 1, "{f:?}");
        let edit = f[0].remedy.as_ref().unwrap().edit.clone().unwrap();
        let plan = crate::core::plan::plan(&w, &edit).unwrap();
        assert!(
            plan.errors.is_empty() && plan.changes.len() > 1,
            "{plan:#?}"
        );
        // 0.0.0.0/0 written by hand is still open, and said so
        web(&mut w).spec.load_balancer_source_ranges = vec!["0.0.0.0/0".into()];
        let f = findings(&w, "D19");
        assert!(f[0].evidence[1].contains("explicitly"), "{f:?}");
        assert!(f[0].remedy.as_ref().unwrap().edit.is_none());
        // explicit ranges: not open
        web(&mut w).spec.load_balancer_source_ranges = vec!["10.0.0.0/16".into()];
        sg_mut(&mut w, "sg-web").ingress[0].rule = tcp(443, "10.0.0.0/16");
        assert!(findings(&w, "D19").is_empty());
    }

    /// default/web as a legacy NLB: no SGs, node rules from clients and from the LB subnet.
    fn legacy_world(clients: &str, ranges: &[&str]) -> World {
        let mut w = world();
        lb_mut(&mut w).security_groups.clear();
        w.aws.security_groups.as_mut().unwrap().remove("sg-web");
        web(&mut w).spec.load_balancer_source_ranges =
            ranges.iter().map(|s| s.to_string()).collect();
        let node = sg_mut(&mut w, "sg-node");
        node.ingress = [clients, "10.0.0.0/24"]
            .iter()
            .map(|c| SgRule {
                rule: tcp_range(31443, 31443, c, SHARED),
                id: None,
                tags: Default::default(),
            })
            .collect();
        let tgb = w
            .kube
            .target_group_bindings
            .as_mut()
            .unwrap()
            .values_mut()
            .next()
            .unwrap();
        tgb.networking = Some(
            [clients, "10.0.0.0/24"]
                .iter()
                .map(|c| NetworkingRule {
                    from: vec![NetworkingPeer::IpBlock(c.to_string())],
                    ports: vec![NetworkingPort {
                        protocol: Some("TCP".into()),
                        port: Some(crate::world::IntOrString::Int(31443)),
                    }],
                })
                .collect(),
        );
        w
    }

    #[test]
    fn d23_health_rules_from_the_subnets() {
        let w = legacy_world("203.0.113.0/24", &["203.0.113.0/24"]);
        let f = findings(&w, "D23");
        assert_eq!(f.len(), 1, "{:#?}", crate::core::audit::audit(&w).findings);
        assert!(f[0].evidence[0].contains("10.0.0.0/24"));
        // without target health the SGs the LBC writes the legacy rules to stand in
        let mut w = w;
        w.aws.target_health = Some(Default::default());
        assert_eq!(findings(&w, "D23").len(), 1);
        assert!(findings(&world(), "D23").is_empty());
    }

    #[test]
    fn d22_a_wider_rule_leaks_and_a_declared_one_does_not() {
        let w = legacy_world("203.0.113.0/24", &["203.0.113.0/24"]);
        assert!(findings(&w, "D22").is_empty(), "{:#?}", findings(&w, "D22"));
        let mut w = w;
        sg_mut(&mut w, "sg-node").ingress.push(SgRule {
            rule: tcp_range(30000, 32767, "0.0.0.0/0", "nodeports"),
            id: None,
            tags: Default::default(),
        });
        let f = findings(&w, "D22");
        assert_eq!(f.len(), 1);
        assert!(f[0].evidence[1].contains("0.0.0.0/0"), "{f:?}");
    }

    #[test]
    fn d20_internal_legacy_without_ranges() {
        let mut w = legacy_world("10.0.0.0/16", &[]);
        lb_mut(&mut w).scheme = "internal".into();
        set_ann(web(&mut w), "aws-load-balancer-scheme", "internal");
        assert_eq!(
            findings(&w, "D20").len(),
            1,
            "{:#?}",
            crate::core::audit::audit(&w).findings
        );
        web(&mut w).spec.load_balancer_source_ranges = vec!["10.0.0.0/16".into()];
        assert!(findings(&w, "D20").is_empty());
    }

    #[test]
    fn d24_range_wider_than_the_bindings() {
        assert!(findings(&world(), "D24").is_empty());
        let mut w = world();
        sg_mut(&mut w, "sg-node").ingress[0].rule = tcp_range(30000, 31443, "sg-backend", SHARED);
        let f = findings(&w, "D24");
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(
            f[0].evidence[0].contains("1444 ports for 1 port(s)"),
            "{f:?}"
        );
    }
}
