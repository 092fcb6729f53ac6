//! The backend side: custom frontend SGs nobody opened the targets for (D07), inbound rules on the
//! shared backend SG (D08), rule management asked for without the backend SG (D09), and health
//! checks the targets' SGs drop (D10).

use std::collections::BTreeMap;

use super::facts::{LbFacts, TargetFacts, TargetsFrom, TgFacts, covers};
use super::{Ctx, Finding, Remedy, Severity};
use crate::core::desired::StackState;
use crate::core::lbc::model::Frontend;
use crate::core::plan::{Edit, ResourceRef};
use crate::world::{Rule, Source};

const SVC_MANAGE: &str =
    "service.beta.kubernetes.io/aws-load-balancer-manage-backend-security-group-rules";
const ING_MANAGE: &str = "alb.ingress.kubernetes.io/manage-backend-security-group-rules";
const SVC_SGS: &str = "service.beta.kubernetes.io/aws-load-balancer-security-groups";
const ING_SGS: &str = "alb.ingress.kubernetes.io/security-groups";

fn manage_key(r: &ResourceRef) -> &'static str {
    match r {
        ResourceRef::Service(_) => SVC_MANAGE,
        ResourceRef::Ingress(_) => ING_MANAGE,
    }
}

/// The member that carries the security-groups annotation (else the first).
fn custom_sg_member<'s>(ctx: &Ctx<'_>, s: &'s StackState) -> Option<&'s ResourceRef> {
    s.resources
        .iter()
        .find(|r| {
            ctx.annotations(r)
                .is_some_and(|a| a.contains_key(SVC_SGS) || a.contains_key(ING_SGS))
        })
        .or_else(|| s.resources.first())
}

/// `2 of 2 targets blocked (…); target health: …` for the blocked targets of one TG.
fn health_summary(tg: &TgFacts, blocked: &[&TargetFacts], total: usize) -> String {
    let mut reasons: Vec<String> = blocked
        .iter()
        .filter_map(|t| match (&t.state, &t.reason) {
            (Some(s), Some(r)) => Some(format!("{s}, {r}")),
            (Some(s), None) => Some(s.clone()),
            _ => None,
        })
        .collect();
    reasons.sort();
    reasons.dedup();
    let ids: Vec<&str> = blocked.iter().map(|t| t.id.as_str()).collect();
    let mut s = format!(
        "{} of {total} targets blocked ({})",
        blocked.len(),
        ids.join(", ")
    );
    if !reasons.is_empty() {
        s.push_str(&format!("; target health: {}", reasons.join("; ")));
    }
    if tg.targets_from == TargetsFrom::Endpoints {
        s.push_str(" (target health not loaded: targets are the binding's endpoints)");
    }
    s
}

/// Target groups of an LB with the targets whose traffic (or health check) is blocked.
type Blocked<'f> = (&'f TgFacts, Vec<&'f TargetFacts>, usize);

fn blocked_targets(lb: &LbFacts, which: fn(&TargetFacts) -> bool) -> Vec<Blocked<'_>> {
    lb.target_groups
        .values()
        .filter_map(|tg| {
            let all: Vec<&TargetFacts> = tg.targets.iter().flatten().collect();
            let blocked: Vec<&TargetFacts> = all.iter().copied().filter(|t| which(t)).collect();
            (!blocked.is_empty()).then_some((tg, blocked, all.len()))
        })
        .collect()
}

fn ports_text(tg: &TgFacts, t: &TargetFacts) -> String {
    let port = t.port.or(tg.port).unwrap_or(0);
    tg.protos
        .iter()
        .map(|p| format!("{p}/{port}"))
        .collect::<Vec<_>>()
        .join(" and ")
}

/// D07: custom frontend SG, the LBC manages no target rule, and the targets' SGs do not admit
/// the load balancer.
pub fn d07_custom_frontend_unmanaged(ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for (s, m) in ctx.modelled() {
        let Frontend::Custom(custom) = &m.frontend else {
            continue;
        };
        if m.tgb_networking.values().any(Option::is_some) {
            continue; // rules are managed
        }
        let Some(lb) = s.lb.as_deref().and_then(|a| ctx.facts.lb(a)) else {
            continue;
        };
        let blocked = blocked_targets(lb, |t| t.traffic.is_blocked());
        if blocked.is_empty() {
            continue;
        }
        let backend = ctx.backend_sg();
        let mut f = Finding::new("D07", Severity::High, s.id.to_string())
            .objects(lb.security_groups.iter().cloned())
            .evidence(format!(
                "frontend SG{} {} {} custom and manage-backend-security-group-rules is not true: the LBC adds no rule to the targets' SGs",
                if custom.len() > 1 { "s" } else { "" },
                custom.join(", "),
                if custom.len() > 1 { "are" } else { "is" },
            ));
        let senders: Vec<String> = lb
            .security_groups
            .iter()
            .cloned()
            .chain(
                backend
                    .filter(|b| !lb.security_groups.iter().any(|s| s == b))
                    .map(String::from),
            )
            .collect();
        for (tg, targets, total) in &blocked {
            let mut sgs: Vec<String> = targets.iter().flat_map(|t| t.sgs.clone()).collect();
            sgs.sort();
            sgs.dedup();
            f.objects.extend(sgs.iter().cloned());
            f.objects
                .extend(targets.iter().filter_map(|t| t.eni.clone()));
            f.evidence.push(format!(
                "no rule on {} admits {} on {}",
                sgs.join(" or "),
                senders.join(" or "),
                ports_text(tg, targets[0])
            ));
            f.evidence.push(health_summary(tg, targets, *total));
        }
        f = f.remedy(d07_remedy(ctx, s, &blocked, lb));
        out.push(f);
    }
    out
}

fn d07_remedy(ctx: &Ctx<'_>, s: &StackState, blocked: &[Blocked<'_>], lb: &LbFacts) -> Remedy {
    if ctx.config().enable_backend_security_group
        && let Some(r) = custom_sg_member(ctx, s)
    {
        return Remedy::edit(
            "set manage-backend-security-group-rules to true: the LBC adds the backend SG to the load balancer and opens the targets' SGs to it",
            Edit::Annotations {
                resource: r.clone(),
                set: BTreeMap::from([(manage_key(r).to_string(), "true".to_string())]),
                unset: Vec::new(),
            },
        );
    }
    // Without the backend SG feature: open the target SG to the LB's first SG by hand.
    let by_hand = || {
        Remedy::manual(
            "add rules on the targets' SGs admitting the load balancer's SG on the target and health-check ports",
        )
    };
    let (Some((tg, targets, _)), Some(src)) = (blocked.first(), lb.security_groups.first()) else {
        return by_hand();
    };
    let [sg] = targets[0].sgs.as_slice() else {
        return by_hand();
    };
    let port = targets[0].port.or(tg.port).unwrap_or(0);
    let add: Vec<Rule> = tg
        .protos
        .iter()
        .map(|p| {
            Rule::new(
                p,
                port,
                port,
                Source::Group(src.clone()),
                "lbsg: load balancer to targets",
            )
        })
        .collect();
    Remedy::edit(
        format!("add a rule on {sg} admitting {src} on the target port"),
        Edit::Rules {
            sg: sg.clone(),
            add,
            remove: Vec::new(),
        },
    )
}

/// D08: inbound rules on the shared backend SG (empty by design).
pub fn d08_backend_sg_inbound_rules(ctx: &Ctx<'_>) -> Vec<Finding> {
    let Some(id) = ctx.backend_sg() else {
        return Vec::new();
    };
    let Some(sg) = ctx.sg(id).filter(|s| !s.ingress.is_empty()) else {
        return Vec::new();
    };
    let users = ctx.sg_users(id);
    let rules: Vec<Rule> = sg.ingress.iter().map(|r| r.rule.clone()).collect();
    let f = Finding::new("D08", Severity::Medium, id.to_string())
        .objects([id.to_string()])
        .evidence(format!(
            "{} is the LBC's shared backend SG; it should have no inbound rules, it has {}: {}",
            ctx.sg_label(id),
            rules.len(),
            rules
                .iter()
                .map(|r| format!("{} from {}", r.ports_text(), r.source))
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .evidence(format!(
            "it is attached to {} load balancer(s) ({}), so these sources reach all of them",
            users.load_balancers.len(),
            users.load_balancers.join(", ")
        ))
        .remedy(Remedy::edit(
            "remove the inbound rules from the backend SG (put frontend rules on each load balancer's frontend SG)",
            Edit::Rules {
                sg: id.to_string(),
                add: Vec::new(),
                remove: rules,
            },
        ));
    vec![f]
}

/// D09: the model build fails because rule management needs the backend SG feature.
pub fn d09_backend_sg_feature_off(ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for s in ctx.desired.stacks.values() {
        let Err(e) = &s.model else { continue };
        if !e.contains("backendSG feature is required to manage worker node SG rules") {
            continue;
        }
        let mut f = Finding::new("D09", Severity::High, s.id.to_string())
            .evidence(format!("Failed build model due to {e}"))
            .evidence("the controller runs with --enable-backend-security-group=false");
        let annotated = s.resources.iter().find(|r| {
            ctx.annotations(r)
                .is_some_and(|a| a.contains_key(manage_key(r)))
        });
        f = match annotated {
            Some(r) => f.remedy(Remedy::edit(
                "remove manage-backend-security-group-rules and open the targets' SGs by hand (or turn the backend SG feature on)",
                Edit::Annotations {
                    resource: r.clone(),
                    set: BTreeMap::new(),
                    unset: vec![manage_key(r).to_string()],
                },
            )),
            None => f.remedy(Remedy::manual(
                "turn --enable-backend-security-group back on, or turn --enable-manage-backend-security-group-rules off",
            )),
        };
        out.push(f);
    }
    out
}

/// D10: the targets admit the load balancer's traffic but not its health checks.
pub fn d10_health_check_port_blocked(ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for (s, _) in ctx.modelled() {
        let Some(lb) = s.lb.as_deref().and_then(|a| ctx.facts.lb(a)) else {
            continue;
        };
        for (tg, targets, total) in
            blocked_targets(lb, |t| t.traffic.is_admitted() && t.health.is_blocked())
        {
            let t0 = targets[0];
            let Some(hc) = tg.health_port_of(t0) else {
                continue;
            };
            let sg = t0.sgs.first().cloned().unwrap_or_default();
            if lbc_will_add(ctx, &sg, hc, lb) {
                continue; // the LBC authorizes it itself (D25 reports the pending rule)
            }
            let mut f = Finding::new("D10", Severity::High, s.id.to_string())
                .objects(t0.sgs.iter().cloned())
                .objects([tg.arn.clone()])
                .evidence(format!(
                    "{} admit the load balancer on {} but not on the health-check port tcp/{hc}",
                    t0.sgs.join(" + "),
                    ports_text(tg, t0)
                ))
                .evidence(health_summary(tg, &targets, total));
            let sources: Vec<Source> = if lb.sg_less() {
                lb.subnet_cidrs
                    .iter()
                    .filter(|c| !c.contains(':'))
                    .map(|c| Source::Cidr(c.clone()))
                    .collect()
            } else {
                let src = ctx
                    .backend_sg()
                    .filter(|b| lb.security_groups.iter().any(|s| s == b))
                    .map(String::from)
                    .or_else(|| lb.security_groups.first().cloned());
                src.into_iter().map(Source::Group).collect()
            };
            if t0.sgs.len() == 1 && !sources.is_empty() {
                let add = sources
                    .into_iter()
                    .map(|src| Rule::new("tcp", hc, hc, src, "lbsg: health checks"))
                    .collect();
                f = f.remedy(Remedy::edit(
                    format!("allow the health-check port tcp/{hc} on {sg} from the load balancer"),
                    Edit::Rules {
                        sg,
                        add,
                        remove: Vec::new(),
                    },
                ));
            } else {
                f = f.remedy(Remedy::manual(format!(
                    "allow tcp/{hc} from the load balancer on the target SG (legacy NLB: from its subnets)"
                )));
            }
            out.push(f);
        }
    }
    out
}

/// Whether the LBC's desired rules on `sg` cover tcp/`port` from one of the LB's SGs.
fn lbc_will_add(ctx: &Ctx<'_>, sg: &str, port: i32, lb: &LbFacts) -> bool {
    ctx.desired.targets.per_sg.get(sg).is_some_and(|rules| {
        rules.iter().any(|r| {
            covers(r, "tcp", port)
                && match &r.source {
                    Source::Group(g) => lb.security_groups.contains(g),
                    _ => lb.sg_less(),
                }
        })
    })
}

#[cfg(test)]
mod tests {
    use crate::core::audit::testworld::*;
    use crate::world::World;

    /// default/web with a custom frontend SG `sg-custom` and unmanaged backend rules.
    fn custom(manage: Option<&str>) -> World {
        let mut w = world();
        add_sg(&mut w, sg("sg-custom", &[], vec![tcp(443, "10.0.0.0/8")]));
        set_ann(
            web(&mut w),
            "aws-load-balancer-security-groups",
            "sg-custom",
        );
        if let Some(v) = manage {
            set_ann(
                web(&mut w),
                "aws-load-balancer-manage-backend-security-group-rules",
                v,
            );
        }
        lb_mut(&mut w).security_groups = vec!["sg-custom".into()];
        // the managed SG is gone, and so is the LBC's rule on the node SG
        w.aws.security_groups.as_mut().unwrap().remove("sg-web");
        sg_mut(&mut w, "sg-node").ingress.clear();
        w.kube
            .target_group_bindings
            .as_mut()
            .unwrap()
            .values_mut()
            .for_each(|t| t.networking = None);
        w
    }

    #[test]
    fn d07_custom_sg_blocked_targets() {
        let w = custom(None);
        let f = findings(&w, "D07");
        assert_eq!(f.len(), 1, "{:#?}", crate::core::audit::audit(&w).findings);
        assert!(
            f[0].evidence
                .iter()
                .any(|e| e.contains("no rule on sg-node admits sg-custom")),
            "{f:?}"
        );
        let edit = f[0].remedy.as_ref().unwrap().edit.clone().unwrap();
        let plan = crate::core::plan::plan(&w, &edit).unwrap();
        assert!(plan.errors.is_empty(), "{plan:#?}");
    }

    #[test]
    fn d07_not_when_a_hand_rule_admits_the_lb() {
        let mut w = custom(None);
        sg_mut(&mut w, "sg-node")
            .ingress
            .push(crate::world::SgRule {
                rule: tcp(31443, "sg-custom"),
                id: None,
                tags: Default::default(),
            });
        assert!(findings(&w, "D07").is_empty());
    }

    #[test]
    fn d08_backend_sg_with_an_inbound_rule() {
        assert!(findings(&world(), "D08").is_empty());
        let mut w = world();
        sg_mut(&mut w, "sg-backend")
            .ingress
            .push(crate::world::SgRule {
                rule: tcp(22, "0.0.0.0/0"),
                id: None,
                tags: Default::default(),
            });
        let f = findings(&w, "D08");
        assert_eq!(f.len(), 1);
        let edit = f[0].remedy.as_ref().unwrap().edit.clone().unwrap();
        assert!(crate::core::plan::plan(&w, &edit).is_ok());
    }

    #[test]
    fn d09_manage_without_backend_sg() {
        let mut w = custom(Some("true"));
        w.controller.as_mut().unwrap().enable_backend_security_group = false;
        let f = findings(&w, "D09");
        assert_eq!(f.len(), 1, "{:#?}", crate::core::audit::audit(&w).findings);
        let mut w = custom(Some("true"));
        assert!(findings(&w, "D09").is_empty());
        w.controller.as_mut().unwrap().enable_backend_security_group = true;
        assert!(findings(&w, "D09").is_empty());
    }

    #[test]
    fn d10_health_check_port_not_admitted() {
        let mut w = custom(None);
        // a hand rule opens the traffic port but not the health-check port
        sg_mut(&mut w, "sg-node")
            .ingress
            .push(crate::world::SgRule {
                rule: tcp(31443, "sg-custom"),
                id: None,
                tags: Default::default(),
            });
        let tg = w
            .aws
            .target_groups
            .as_mut()
            .unwrap()
            .values_mut()
            .next()
            .unwrap();
        tg.health_check_port = Some("32000".into());
        let f = findings(&w, "D10");
        assert_eq!(f.len(), 1, "{:#?}", crate::core::audit::audit(&w).findings);
        let edit = f[0].remedy.as_ref().unwrap().edit.clone().unwrap();
        assert!(crate::core::plan::plan(&w, &edit).is_ok());
        // same port for health checks: fine
        let tg = w
            .aws
            .target_groups
            .as_mut()
            .unwrap()
            .values_mut()
            .next()
            .unwrap();
        tg.health_check_port = Some("traffic-port".into());
        assert!(findings(&w, "D10").is_empty());
    }
}
