//! Quotas: inbound rules per SG per address family on managed frontend SGs (D11), target SGs
//! (D12) and custom frontend SGs (X05); SGs per network interface and per load balancer (D13,
//! D30). Counts follow AWS: a CIDR weighs 1 in its family, an SG reference 1 in each, a prefix
//! list its max entries.

use std::collections::BTreeSet;

use super::{Ctx, Finding, Remedy, Severity};
use crate::core::lbc::model::Frontend;
use crate::core::plan::quotas::{RULES_PER_SG, SGS_PER_ENI, rule_weights};
use crate::world::{Rule, SecurityGroup, SgRule, Tags};

/// From here on an SG is "near" the quota: 90% of 60.
pub const NEAR: usize = RULES_PER_SG * 9 / 10;

/// Weights (IPv4, IPv6) of a set of rules, counted once per identity.
fn weights(ctx: &Ctx<'_>, rules: &[Rule]) -> (usize, usize) {
    let mut seen = BTreeSet::new();
    let sg = SecurityGroup {
        ingress: rules
            .iter()
            .filter(|r| seen.insert(r.key()))
            .map(|r| SgRule {
                rule: r.clone(),
                id: None,
                tags: Tags::new(),
            })
            .collect(),
        ..SecurityGroup::default()
    };
    rule_weights(ctx.world, &sg)
}

/// The family lines at or above [`NEAR`], with the severity they deserve.
fn over(v4: usize, v6: usize) -> Option<(Severity, Vec<(&'static str, usize)>)> {
    let fams: Vec<(&str, usize)> = [("IPv4", v4), ("IPv6", v6)]
        .into_iter()
        .filter(|(_, n)| *n >= NEAR)
        .collect();
    let worst = fams.iter().map(|(_, n)| *n).max()?;
    let sev = if worst > RULES_PER_SG {
        Severity::High
    } else {
        Severity::Medium
    };
    Some((sev, fams))
}

fn family_text(what: &str, fams: &[(&str, usize)]) -> String {
    fams.iter()
        .map(|(fam, n)| {
            if *n > RULES_PER_SG {
                format!("{what} {n} {fam} inbound rules, over the default quota of {RULES_PER_SG}: AWS answers RulesPerSecurityGroupLimitExceeded")
            } else {
                format!(
                    "{what} {n} of {RULES_PER_SG} {fam} inbound rules (room for {})",
                    RULES_PER_SG - n
                )
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// D11: the managed SG's predicted rule count per family.
pub fn d11_frontend_rule_quota(ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for (s, m) in ctx.modelled() {
        let Frontend::Managed(ms) = &m.frontend else {
            continue;
        };
        let (v4, v6) = weights(ctx, &ms.ingress_rules);
        let Some((sev, fams)) = over(v4, v6) else {
            continue;
        };
        let sg = s.managed_sg_id.clone().unwrap_or_else(|| ms.name.clone());
        let ports: BTreeSet<i32> = ms
            .ingress_rules
            .iter()
            .filter_map(|r| r.from_port)
            .collect();
        let what = match sg.strip_prefix("$new:") {
            Some(name) => format!("the managed SG {name} (not created yet) would hold"),
            None => format!("managed SG {} holds", ctx.sg_label(&sg)),
        };
        let mut f = Finding::new("D11", sev, s.id.to_string())
            .objects([sg.clone()])
            .evidence(family_text(&what, &fams));
        let per_port = v4.max(v6) / ports.len().max(1);
        if ports.len() == 1 && per_port > 0 {
            f.evidence.push(format!(
                "one listener port × {per_port} sources; a second listener port would need {} rules",
                per_port * 2
            ));
        } else if !ports.is_empty() {
            f.evidence.push(format!(
                "{} listener ports × about {per_port} sources each",
                ports.len()
            ));
        }
        if sev == Severity::Medium {
            f.evidence.push(format!(
                "lbsg refuses a plan that takes it past {RULES_PER_SG}"
            ));
        }
        out.push(f.remedy(Remedy::manual(
            "consolidate the source ranges (aggregate adjacent CIDRs), use a managed prefix list (it counts at its max entries), spread the sources over custom SGs (security-groups, at most 5), or raise the quota (keeping quota × SGs per ENI ≤ 1,000)",
        )));
    }
    out
}

/// D12: target SGs that receive the LBC's rules, with what they hold and what the LBC would add.
pub fn d12_target_sg_rule_quota(ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for (id, desired) in &ctx.desired.targets.per_sg {
        let Some(sg) = ctx.sg(id) else { continue };
        let mut rules: Vec<Rule> = sg.ingress.iter().map(|r| r.rule.clone()).collect();
        rules.extend(desired.iter().cloned());
        let (v4, v6) = weights(ctx, &rules);
        let Some((sev, fams)) = over(v4, v6) else {
            continue;
        };
        let lbc = sg
            .ingress
            .iter()
            .filter(|r| crate::core::lbc::target::is_lbc_managed(&r.rule))
            .count();
        out.push(
            Finding::new("D12", sev, id.clone())
                .objects([id.clone()])
                .evidence(family_text(
                    &format!("target SG {} holds (with the LBC's pending rules)", ctx.sg_label(id)),
                    &fams,
                ))
                .evidence(format!(
                    "{lbc} of its rules are the LBC's (legacy NLBs add one per CIDR and port)"
                ))
                .remedy(Remedy::manual(
                    "move legacy NLBs to SG-mode NLBs (one backend-SG rule per protocol), or stop rule management (manage-backend-security-group-rules: false) and add one broad rule yourself",
                )),
        );
    }
    out
}

/// D13: ENIs and load balancers already at the default of 5 SGs.
pub fn d13_sgs_per_interface(ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    let target_enis: BTreeSet<&str> = ctx
        .facts
        .lbs
        .values()
        .flat_map(|l| l.target_groups.values())
        .flat_map(|tg| tg.targets.iter().flatten())
        .filter_map(|t| t.eni.as_deref())
        .collect();
    for eni in ctx.world.aws.enis.iter().flat_map(|m| m.values()) {
        if eni.groups.len() >= SGS_PER_ENI && target_enis.contains(eni.id.as_str()) {
            out.push(
                Finding::new("D13", Severity::Low, eni.id.clone())
                    .objects([eni.id.clone()])
                    .objects(eni.groups.iter().cloned())
                    .evidence(format!(
                        "target ENI {} has {} SGs; the default quota is {SGS_PER_ENI} per network interface",
                        eni.id,
                        eni.groups.len()
                    ))
                    .remedy(Remedy::manual(
                        "share one node SG instead of one per workload, or raise the quota (up to 16, keeping rules × SGs ≤ 1,000)",
                    )),
            );
        }
    }
    for (s, m) in ctx.modelled() {
        let Some(lb) = ctx.stack_lb(s) else { continue };
        if lb.security_groups.len() == SGS_PER_ENI && m.lb_security_groups.len() == SGS_PER_ENI {
            out.push(
                Finding::new("D13", Severity::Low, s.id.to_string())
                    .objects([lb.arn.clone()])
                    .evidence(format!(
                        "{} carries {SGS_PER_ENI} SGs, the default quota: adding one (for example the backend SG when turning on rule management) fails",
                        lb.name
                    ))
                    .remedy(Remedy::manual("merge custom SGs, or raise the quota")),
            );
        }
    }
    out
}

/// D30: the load balancer would carry more SGs than the quota allows.
pub fn d30_lb_sg_count(ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for (s, m) in ctx.modelled() {
        let n = m.lb_security_groups.len();
        if n <= SGS_PER_ENI {
            continue;
        }
        let backend = if m.backend_sg_allocated {
            " (the custom SGs plus the backend SG the LBC appends)"
        } else {
            ""
        };
        out.push(
            Finding::new("D30", Severity::High, s.id.to_string())
                .objects(s.lb_security_groups(ctx.backend_sg().unwrap_or_default()))
                .evidence(format!(
                    "the load balancer would carry {n} SGs{backend}; the default quota is {SGS_PER_ENI}: SetSecurityGroups fails"
                ))
                .remedy(Remedy::manual(format!(
                    "list at most {} custom SGs when backend rules are managed",
                    SGS_PER_ENI - 1
                ))),
        );
    }
    out
}

/// X05: custom (user-managed) frontend SGs near the quota.
pub fn x05_custom_frontend_quota(ctx: &Ctx<'_>) -> Vec<Finding> {
    let backend = ctx.backend_sg();
    let frontend: BTreeSet<&str> = ctx
        .world
        .aws
        .load_balancers
        .iter()
        .flat_map(|m| m.values())
        .flat_map(|lb| lb.security_groups.iter().map(String::as_str))
        .filter(|id| Some(*id) != backend)
        .collect();
    let mut out = Vec::new();
    for id in frontend {
        let Some(sg) = ctx.sg(id) else { continue };
        let managed = ["service.k8s.aws/resource", "ingress.k8s.aws/resource"]
            .iter()
            .any(|k| sg.tags.contains_key(*k));
        if managed {
            continue; // D11
        }
        let (v4, v6) = rule_weights(ctx.world, sg);
        let Some((_, fams)) = over(v4, v6) else {
            continue;
        };
        let users = ctx.sg_users(id);
        out.push(
            Finding::new("X05", Severity::Medium, id.to_string())
                .objects([id.to_string()])
                .evidence(family_text(&format!("custom frontend SG {} holds", ctx.sg_label(id)), &fams))
                .evidence(format!(
                    "it fronts {}",
                    users.load_balancers.join(", ")
                ))
                .remedy(Remedy::manual(
                    "consolidate CIDRs, use a managed prefix list, or split the sources over a second SG",
                )),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::audit::testworld::*;

    fn ranges(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("192.0.2.{i}/32")).collect()
    }

    #[test]
    fn d11_near_and_over_the_quota() {
        let mut w = world();
        web(&mut w).spec.load_balancer_source_ranges = ranges(53);
        assert!(findings(&w, "D11").is_empty());
        web(&mut w).spec.load_balancer_source_ranges = ranges(56);
        let f = findings(&w, "D11");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Medium);
        assert!(f[0].evidence[0].contains("56 of 60 IPv4"), "{f:?}");
        assert!(f[0].evidence[1].contains("112"), "{f:?}");
        web(&mut w).spec.load_balancer_source_ranges = ranges(61);
        assert_eq!(findings(&w, "D11")[0].severity, Severity::High);
    }

    #[test]
    fn d12_target_sg_near_the_quota() {
        let mut w = world();
        let rules: Vec<SgRule> = ranges(55)
            .iter()
            .map(|c| SgRule {
                rule: tcp(22, c),
                id: None,
                tags: Tags::new(),
            })
            .collect();
        sg_mut(&mut w, "sg-node").ingress.extend(rules.clone());
        assert_eq!(findings(&w, "D12").len(), 1);
        let mut w = world();
        sg_mut(&mut w, "sg-node")
            .ingress
            .extend(rules[..50].to_vec());
        assert!(findings(&w, "D12").is_empty());
    }

    #[test]
    fn d13_target_eni_with_five_sgs() {
        let mut w = world();
        for i in 0..4 {
            add_sg(&mut w, sg(&format!("sg-x{i}"), &[], vec![]));
            w.aws
                .enis
                .as_mut()
                .unwrap()
                .get_mut("eni-1")
                .unwrap()
                .groups
                .push(format!("sg-x{i}"));
        }
        assert_eq!(findings(&w, "D13").len(), 1);
        w.aws
            .enis
            .as_mut()
            .unwrap()
            .get_mut("eni-1")
            .unwrap()
            .groups
            .pop();
        assert!(findings(&w, "D13").is_empty());
    }

    #[test]
    fn d30_five_custom_sgs_plus_backend() {
        let mut w = world();
        let ids: Vec<String> = (0..5).map(|i| format!("sg-c{i}")).collect();
        for id in &ids {
            add_sg(&mut w, sg(id, &[], vec![]));
        }
        set_ann(
            web(&mut w),
            "aws-load-balancer-security-groups",
            &ids.join(","),
        );
        set_ann(
            web(&mut w),
            "aws-load-balancer-manage-backend-security-group-rules",
            "true",
        );
        let f = findings(&w, "D30");
        assert_eq!(f.len(), 1, "{:#?}", crate::core::audit::audit(&w).findings);
        set_ann(
            web(&mut w),
            "aws-load-balancer-security-groups",
            &ids[..4].join(","),
        );
        assert!(findings(&w, "D30").is_empty());
    }

    #[test]
    fn x05_custom_frontend_sg_near_the_quota() {
        let mut w = world();
        let rules: Vec<Rule> = ranges(55).iter().map(|c| tcp(443, c)).collect();
        add_sg(&mut w, sg("sg-custom", &[], rules));
        lb_mut(&mut w).security_groups.push("sg-custom".into());
        assert_eq!(findings(&w, "X05").len(), 1);
        // the managed SG is D11's business
        let mut w = world();
        let more: Vec<SgRule> = ranges(55)
            .iter()
            .map(|c| SgRule {
                rule: tcp(443, c),
                id: None,
                tags: Tags::new(),
            })
            .collect();
        sg_mut(&mut w, "sg-web").ingress.extend(more);
        assert!(findings(&w, "X05").is_empty());
    }
}
