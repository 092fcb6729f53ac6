//! Drift: the plan the LBC would carry out on the world as it is, with no edit — the
//! difference between what AWS has and what the LBC would reconcile.

use std::collections::{BTreeMap, BTreeSet};

use super::{Change, ChangeKind, Owner, Plan, PlanError, Risk};
use crate::core::desired::{Desired, StackState, desired};
use crate::core::lbc::model::{Frontend, ManagedSg};
use crate::core::lbc::target::target_sg_changes;
use crate::world::{Rule, SecurityGroup, Tags, World};

/// What the LBC would change in AWS if it reconciled everything now.
pub fn drift(world: &World) -> Plan {
    drift_of(world, &desired(world))
}

/// Drift against an already computed desired state.
pub fn drift_of(world: &World, d: &Desired) -> Plan {
    let mut b = Builder::default();
    let sgs = world.aws.security_groups.clone().unwrap_or_default();

    // 1. the shared backend SG exists before any LB references it
    if let Some(bsg) = &d.backend_sg {
        if !bsg.explicit && bsg.needed && !bsg.exists {
            b.push(
                ChangeKind::CreateSecurityGroup {
                    id: bsg.id.clone(),
                    name: bsg.name.clone(),
                    description: crate::core::lbc::naming::BACKEND_SG_DESCRIPTION.into(),
                    vpc_id: d.vpc_id.clone(),
                    tags: bsg.tags.clone(),
                },
                Risk::Unchanged,
                None,
            );
        } else if let Some(sg) = sgs.get(&bsg.id).filter(|_| !bsg.explicit && bsg.exists) {
            // the backend SG keeps only `aws:` tags besides its own
            tag_sync(&mut b, sg, &bsg.tags, |k| k.starts_with("aws:"), None);
        }
    }

    // 2. per stack: managed SG, its rules and tags, the LB's SG list
    let mut deletions: Vec<(String, String)> = Vec::new();
    for s in d.stacks.values() {
        let label = s.id.to_string();
        let model = match &s.model {
            Ok(m) => m,
            Err(e) => {
                b.errors.push(PlanError {
                    resource: label.clone(),
                    message: format!("Failed build model due to {e}"),
                });
                continue;
            }
        };
        match &model.frontend {
            Frontend::Managed(m) => managed_sg(&mut b, d, s, m, &sgs, &label),
            _ => {
                for id in &s.managed_sgs {
                    deletions.push((id.clone(), label.clone()));
                }
            }
        }
        if let Frontend::Managed(_) = &model.frontend {
            for dup in s.managed_sgs.iter().skip(1) {
                deletions.push((dup.clone(), label.clone()));
            }
        }
        lb_security_groups(&mut b, world, d, s, &label);
    }

    // 3. target SGs: authorize first, then revoke (the LBC's order)
    for (sg, ch) in target_sg_changes(world, &d.targets) {
        if !ch.authorize.is_empty() {
            b.push(
                ChangeKind::AuthorizeIngress {
                    sg: sg.clone(),
                    rules: ch.authorize.clone(),
                },
                Risk::Widened,
                None,
            );
        }
        if !ch.revoke.is_empty() {
            let ids = rule_ids(sgs.get(&sg), &ch.revoke);
            b.push(
                ChangeKind::RevokeIngress {
                    sg,
                    rules: ch.revoke,
                    rule_ids: ids,
                },
                Risk::Narrowed,
                None,
            );
        }
    }
    for t in &d.targets.tgbs {
        if let Err(e) = &t.result {
            b.errors.push(PlanError {
                resource: t.key.clone(),
                message: e.to_string(),
            });
        }
    }

    // 4. post-synthesis: SGs no longer used by their stack, and an unneeded backend SG
    for (id, label) in deletions {
        b.push(
            ChangeKind::DeleteSecurityGroup { sg: id },
            Risk::Unchanged,
            Some(label),
        );
    }
    if let Some(bsg) = d
        .backend_sg
        .as_ref()
        .filter(|b| !b.explicit && b.exists && !b.needed && !d.stacks.is_empty())
    {
        b.push(
            ChangeKind::DeleteSecurityGroup { sg: bsg.id.clone() },
            Risk::Unchanged,
            None,
        );
    }
    let mut plan = b.finish();
    plan.warnings.extend(d.unknowns.iter().cloned());
    super::risk::refine(world, &mut plan);
    plan
}

#[derive(Default)]
struct Builder {
    changes: Vec<Change>,
    errors: Vec<PlanError>,
}

impl Builder {
    fn push(&mut self, kind: ChangeKind, risk: Risk, stack: Option<String>) {
        self.changes.push(Change {
            kind,
            owner: Owner::Lbc,
            risk,
            stack,
            pending: false,
        });
    }
    fn finish(self) -> Plan {
        let mut errors = self.errors;
        errors.sort();
        errors.dedup();
        Plan {
            edit: None,
            changes: self.changes,
            errors,
            ..Plan::default()
        }
    }
}

fn managed_sg(
    b: &mut Builder,
    d: &Desired,
    s: &StackState,
    m: &ManagedSg,
    sgs: &BTreeMap<String, SecurityGroup>,
    label: &str,
) {
    let id = s.managed_sg_id.clone().unwrap_or_default();
    let tags = s.id.managed_sg_tags(&d.cluster, &m.tags);
    let desired = dedupe(&m.ingress_rules);
    match sgs.get(&id) {
        None => {
            b.push(
                ChangeKind::CreateSecurityGroup {
                    id: id.clone(),
                    name: m.name.clone(),
                    description: m.description.clone(),
                    vpc_id: d.vpc_id.clone(),
                    tags,
                },
                Risk::Unchanged,
                Some(label.to_string()),
            );
            if !desired.is_empty() {
                b.push(
                    ChangeKind::AuthorizeIngress {
                        sg: id,
                        rules: desired,
                    },
                    Risk::Widened,
                    Some(label.to_string()),
                );
            }
        }
        Some(sg) => {
            let ext: BTreeSet<&String> = d.config.external_managed_tags.iter().collect();
            tag_sync(
                b,
                sg,
                &tags,
                |k| k.starts_with("aws:") || is_legacy_tag(k) || ext.contains(&k.to_string()),
                Some(label),
            );
            let have: BTreeSet<_> = sg.ingress.iter().map(|r| r.rule.key()).collect();
            let want: BTreeSet<_> = desired.iter().map(Rule::key).collect();
            let add: Vec<Rule> = desired
                .iter()
                .filter(|r| !have.contains(&r.key()))
                .cloned()
                .collect();
            let del: Vec<Rule> = sg
                .ingress
                .iter()
                .filter(|r| !want.contains(&r.rule.key()))
                .map(|r| r.rule.clone())
                .collect();
            if !add.is_empty() {
                b.push(
                    ChangeKind::AuthorizeIngress {
                        sg: id.clone(),
                        rules: add,
                    },
                    Risk::Widened,
                    Some(label.to_string()),
                );
            }
            if !del.is_empty() {
                let ids = rule_ids(Some(sg), &del);
                b.push(
                    ChangeKind::RevokeIngress {
                        sg: id,
                        rules: del,
                        rule_ids: ids,
                    },
                    Risk::Narrowed,
                    Some(label.to_string()),
                );
            }
        }
    }
}

fn lb_security_groups(b: &mut Builder, world: &World, d: &Desired, s: &StackState, label: &str) {
    let (Some(arn), Ok(model)) = (&s.lb, &s.model) else {
        return;
    };
    let Some(lb) = world.aws.load_balancers.as_ref().and_then(|m| m.get(arn)) else {
        return;
    };
    let backend = d
        .backend_sg
        .as_ref()
        .map(|b| b.id.as_str())
        .unwrap_or_default();
    let want = s.lb_security_groups(backend);
    let want_set: BTreeSet<String> = want.iter().cloned().collect();
    let have_set: BTreeSet<String> = lb.security_groups.iter().cloned().collect();
    let private_link_differs = model
        .private_link_enforcement
        .as_ref()
        .is_some_and(|p| lb.enforce_private_link_sg.as_ref().is_some_and(|h| h != p));
    if want_set == have_set && !private_link_differs {
        return;
    }
    if lb.security_groups.is_empty() && !want.is_empty() {
        b.push(
            ChangeKind::RecreateRequired {
                load_balancer: arn.clone(),
                reason: "security groups can only be added to an NLB at creation".into(),
            },
            Risk::Unchanged,
            Some(label.to_string()),
        );
        return;
    }
    let risk = if want_set.is_subset(&have_set) {
        Risk::Narrowed
    } else {
        Risk::Widened
    };
    b.push(
        ChangeKind::SetSecurityGroups {
            load_balancer: arn.clone(),
            security_groups: want,
            private_link: model.private_link_enforcement.clone(),
        },
        if want_set == have_set {
            Risk::Unchanged
        } else {
            risk
        },
        Some(label.to_string()),
    );
}

/// Make the SG's tags equal to `want`, keeping keys `keep` says the LBC never removes.
fn tag_sync(
    b: &mut Builder,
    sg: &SecurityGroup,
    want: &Tags,
    keep: impl Fn(&str) -> bool,
    label: Option<&str>,
) {
    let add: Tags = want
        .iter()
        .filter(|(k, v)| sg.tags.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let del: Vec<String> = sg
        .tags
        .keys()
        .filter(|k| !want.contains_key(*k) && !keep(k))
        .cloned()
        .collect();
    if !add.is_empty() {
        b.push(
            ChangeKind::CreateTags {
                sg: sg.id.clone(),
                tags: add,
            },
            Risk::Unchanged,
            label.map(String::from),
        );
    }
    if !del.is_empty() {
        b.push(
            ChangeKind::DeleteTags {
                sg: sg.id.clone(),
                keys: del,
            },
            Risk::Unchanged,
            label.map(String::from),
        );
    }
}

fn is_legacy_tag(k: &str) -> bool {
    k.starts_with("kubernetes.io/cluster/")
        || matches!(
            k,
            "kubernetes.io/cluster-name"
                | "kubernetes.io/namespace"
                | "kubernetes.io/ingress-name"
                | "kubernetes.io/service-name"
                | "kubernetes.io/service-port"
                | "ingress.k8s.aws/cluster"
        )
}

fn dedupe(rules: &[Rule]) -> Vec<Rule> {
    let mut seen = BTreeSet::new();
    rules
        .iter()
        .filter(|r| seen.insert(r.key()))
        .cloned()
        .collect()
}

fn rule_ids(sg: Option<&SecurityGroup>, rules: &[Rule]) -> Vec<Option<String>> {
    rules
        .iter()
        .map(|r| {
            sg.and_then(|g| g.ingress.iter().find(|e| e.rule.key() == r.key()))
                .and_then(|e| e.id.clone())
        })
        .collect()
}
