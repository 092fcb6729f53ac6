//! AWS quotas a plan would break (diagnostics-and-limits §4.4): inbound rules per SG per address
//! family, SGs per load balancer.

use std::collections::BTreeSet;

use super::{ChangeKind, Plan, PlanError};
use crate::world::{SecurityGroup, Source, World};

/// Default inbound rules per SG, counted separately for IPv4 and IPv6.
pub const RULES_PER_SG: usize = 60;
/// Default SGs per network interface (and per load balancer).
pub const SGS_PER_ENI: usize = 5;

/// Inbound rule weight per family: (IPv4, IPv6). SG references count once in each family;
/// a customer prefix list counts as its max entries.
pub fn rule_weights(world: &World, sg: &SecurityGroup) -> (usize, usize) {
    let mut v4 = 0;
    let mut v6 = 0;
    for r in &sg.ingress {
        match &r.rule.source {
            Source::Cidr(_) => v4 += 1,
            Source::CidrV6(_) => v6 += 1,
            Source::Group(_) | Source::None => {
                v4 += 1;
                v6 += 1;
            }
            Source::PrefixList(pl) => {
                let info = world.aws.prefix_lists.as_ref().and_then(|m| m.get(pl));
                let w = info
                    .and_then(|p| p.max_entries)
                    .map_or(1, |n| n.max(1) as usize);
                match info.and_then(|p| p.address_family.as_deref()) {
                    Some("IPv6") => v6 += w,
                    Some("IPv4") => v4 += w,
                    _ => {
                        v4 += w;
                        v6 += w;
                    }
                }
            }
        }
    }
    (v4, v6)
}

/// Quota errors in `after` (the world once `plan` is applied) for the objects the plan touches.
pub fn quota_errors(_before: &World, after: &World, plan: &Plan) -> Vec<PlanError> {
    let mut out = Vec::new();
    let mut touched = BTreeSet::new();
    for c in &plan.changes {
        match &c.kind {
            ChangeKind::AuthorizeIngress { sg, .. } => {
                touched.insert(sg.clone());
            }
            ChangeKind::SetSecurityGroups {
                load_balancer,
                security_groups,
                ..
            } if security_groups.len() > SGS_PER_ENI => out.push(PlanError {
                resource: load_balancer.clone(),
                message: format!(
                    "{} security groups on one load balancer; the default quota is {SGS_PER_ENI} per network interface",
                    security_groups.len()
                ),
            }),
            _ => {}
        }
    }
    let Some(sgs) = after.aws.security_groups.as_ref() else {
        return out;
    };
    for id in touched {
        let Some(sg) = sgs.get(&id).or_else(|| {
            id.strip_prefix("$new:")
                .and_then(|name| sgs.values().find(|s| s.name == name))
        }) else {
            continue;
        };
        let (v4, v6) = rule_weights(after, sg);
        for (fam, n) in [("IPv4", v4), ("IPv6", v6)] {
            if n > RULES_PER_SG {
                out.push(PlanError {
                    resource: id.clone(),
                    message: format!(
                        "would hold {n} {fam} inbound rules; the default quota is {RULES_PER_SG} per address family (AWS answers RulesPerSecurityGroupLimitExceeded)"
                    ),
                });
            }
        }
    }
    out
}
