//! Drift: the plan the LBC would carry out on the world as it is, with no edit — the
//! difference between what AWS has and what the LBC would reconcile.

use std::collections::{BTreeMap, BTreeSet};

use super::{Change, ChangeKind, Owner, Plan, PlanError, Risk};
use crate::core::desired::{Desired, StackState, desired};
use crate::core::lbc::model::{Frontend, ManagedSg, StackId};
use crate::core::lbc::target::target_sg_changes;
use crate::world::{Rule, SecurityGroup, Tags, World};

/// What the LBC would change in AWS if it reconciled everything now.
pub fn drift(world: &World) -> Plan {
    drift_of(world, &desired(world))
}

/// Drift against an already computed desired state.
pub fn drift_of(world: &World, d: &Desired) -> Plan {
    let mut plan = DriftParts::of(world, d).assemble();
    super::risk::refine(world, &mut plan);
    plan
}

/// Drift split by what each change comes from, in the order the plan lists them, so that an
/// edit can recompute only its own parts (see `incremental`).
#[derive(Debug, Clone, Default)]
pub struct DriftParts {
    /// 1. The shared backend SG: create it, or sync its tags.
    pub backend: Vec<Change>,
    /// 2. Per stack: managed SG, its rules and tags, the LB's SG list; SGs to delete later.
    pub stacks: BTreeMap<StackId, StackDrift>,
    /// 3. Per target SG: authorize, then revoke (the LBC's order).
    pub targets: BTreeMap<String, Vec<Change>>,
    /// Bindings whose rules could not be computed, by binding key.
    pub tgb_errors: BTreeMap<String, PlanError>,
    /// 4. The backend SG's deletion when no stack needs it.
    pub backend_delete: Vec<Change>,
    pub unknowns: Vec<String>,
}

/// Replacements for some parts of a [`DriftParts`] (what an edit recomputed).
#[derive(Debug, Clone, Default)]
pub struct PartsOverlay {
    /// Step 1 and the backend deletion of step 4.
    pub backend: Option<(Vec<Change>, Vec<Change>)>,
    pub stacks: BTreeMap<StackId, StackDrift>,
    /// Per target SG; `None` drops the SG's entry.
    pub targets: BTreeMap<String, Option<Vec<Change>>>,
    /// Every target SG's changes at once (applied before `targets`).
    pub all_targets: Option<BTreeMap<String, Vec<Change>>>,
    /// Per binding key; `None` drops the binding's error.
    pub tgb_errors: BTreeMap<String, Option<PlanError>>,
}

/// The drift of one stack.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StackDrift {
    pub changes: Vec<Change>,
    /// SGs deleted after everything else: (SG, stack label).
    pub deletions: Vec<(String, String)>,
    pub error: Option<PlanError>,
}

impl DriftParts {
    pub fn of(world: &World, d: &Desired) -> Self {
        let no_sgs = BTreeMap::new();
        let sgs = world.aws.security_groups.as_ref().unwrap_or(&no_sgs);
        let (backend, backend_delete) = backend_parts(sgs, d, d.backend_sg.as_ref());
        let stacks = d
            .stacks
            .values()
            .map(|s| (s.id.clone(), stack_drift(world, d, s)))
            .collect();
        let targets = target_sg_changes(world, &d.targets)
            .into_iter()
            .map(|(sg, ch)| {
                let changes = target_changes(sgs.get(&sg), &sg, ch);
                (sg, changes)
            })
            .collect();
        DriftParts {
            backend,
            stacks,
            targets,
            tgb_errors: tgb_errors(&d.targets.tgbs),
            backend_delete,
            unknowns: d.unknowns.clone(),
        }
    }

    /// The plan these parts make, in drift order.
    pub fn assemble(&self) -> Plan {
        self.assemble_with(&PartsOverlay::default())
    }

    /// The plan these parts make with some of them replaced.
    pub fn assemble_with(&self, o: &PartsOverlay) -> Plan {
        let mut b = Builder::default();
        let (backend, backend_delete) = match &o.backend {
            Some((first, last)) => (first, last),
            None => (&self.backend, &self.backend_delete),
        };
        b.changes.extend(backend.iter().cloned());
        let stacks: Vec<&StackDrift> = self
            .stacks
            .iter()
            .map(|(id, sd)| o.stacks.get(id).unwrap_or(sd))
            .collect();
        for sd in &stacks {
            b.changes.extend(sd.changes.iter().cloned());
            b.errors.extend(sd.error.iter().cloned());
        }
        let targets = o.all_targets.as_ref().unwrap_or(&self.targets);
        let keys: BTreeSet<&String> = targets.keys().chain(o.targets.keys()).collect();
        for sg in keys {
            let changes = match o.targets.get(sg) {
                Some(replaced) => replaced.as_ref(),
                None => targets.get(sg),
            };
            b.changes.extend(changes.into_iter().flatten().cloned());
        }
        let keys: BTreeSet<&String> = self.tgb_errors.keys().chain(o.tgb_errors.keys()).collect();
        for k in keys {
            let e = match o.tgb_errors.get(k) {
                Some(replaced) => replaced.as_ref(),
                None => self.tgb_errors.get(k),
            };
            b.errors.extend(e.cloned());
        }
        for sd in &stacks {
            for (id, label) in &sd.deletions {
                b.push(
                    ChangeKind::DeleteSecurityGroup { sg: id.clone() },
                    Risk::Unchanged,
                    Some(label.clone()),
                );
            }
        }
        b.changes.extend(backend_delete.iter().cloned());
        let mut plan = b.finish();
        plan.warnings.extend(self.unknowns.iter().cloned());
        plan
    }
}

/// The errors of bindings that could not be computed, by binding key.
pub fn tgb_errors(tgbs: &[crate::core::lbc::target::TgbOutcome]) -> BTreeMap<String, PlanError> {
    tgbs.iter()
        .filter_map(|t| {
            let e = t.result.as_ref().err()?;
            Some((
                t.key.clone(),
                PlanError {
                    resource: t.key.clone(),
                    message: e.to_string(),
                },
            ))
        })
        .collect()
}

/// Step 1 (create or tag-sync the backend SG) and step 4's backend deletion, for `bsg` (the
/// desired backend SG, with its `needed` flag) against the world's SGs.
pub fn backend_parts(
    sgs: &BTreeMap<String, SecurityGroup>,
    d: &Desired,
    bsg: Option<&crate::core::desired::BackendSg>,
) -> (Vec<Change>, Vec<Change>) {
    let mut b = Builder::default();
    if let Some(bsg) = bsg {
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
    let mut tail = Builder::default();
    if let Some(bsg) = bsg.filter(|b| !b.explicit && b.exists && !b.needed && !d.stacks.is_empty())
    {
        tail.push(
            ChangeKind::DeleteSecurityGroup { sg: bsg.id.clone() },
            Risk::Unchanged,
            None,
        );
    }
    (b.changes, tail.changes)
}

/// Step 2 for one stack. Reads from `d` only its configuration, cluster, VPC and backend SG id.
pub fn stack_drift(world: &World, d: &Desired, s: &StackState) -> StackDrift {
    let no_sgs = BTreeMap::new();
    let sgs = world.aws.security_groups.as_ref().unwrap_or(&no_sgs);
    let mut b = Builder::default();
    let mut out = StackDrift::default();
    let model = match &s.model {
        Ok(m) => m,
        Err(e) => {
            out.error = Some(PlanError {
                resource: s.id.to_string(),
                message: format!("Failed build model due to {e}"),
            });
            return out;
        }
    };
    // most stacks have nothing to do: the label is written only into changes
    const LABEL: &str = "\0";
    match &model.frontend {
        Frontend::Managed(m) => managed_sg(&mut b, d, s, m, sgs, LABEL),
        _ => {
            for id in &s.managed_sgs {
                out.deletions.push((id.clone(), LABEL.to_string()));
            }
        }
    }
    if let Frontend::Managed(_) = &model.frontend {
        for dup in s.managed_sgs.iter().skip(1) {
            out.deletions.push((dup.clone(), LABEL.to_string()));
        }
    }
    lb_security_groups(&mut b, world, d, s, LABEL);
    if !b.changes.is_empty() || !out.deletions.is_empty() {
        let label = s.id.to_string();
        for c in &mut b.changes {
            c.stack = c.stack.take().map(|_| label.clone());
        }
        for del in &mut out.deletions {
            del.1 = label.clone();
        }
    }
    out.changes = b.changes;
    out
}

/// Step 3 for one target SG: authorize, then revoke with the rules' ids.
pub fn target_changes(
    sg: Option<&SecurityGroup>,
    id: &str,
    ch: crate::core::lbc::target::TargetSgChanges,
) -> Vec<Change> {
    let mut b = Builder::default();
    if !ch.authorize.is_empty() {
        b.push(
            ChangeKind::AuthorizeIngress {
                sg: id.to_string(),
                rules: ch.authorize,
            },
            Risk::Widened,
            None,
        );
    }
    if !ch.revoke.is_empty() {
        let ids = rule_ids(sg, &ch.revoke);
        b.push(
            ChangeKind::RevokeIngress {
                sg: id.to_string(),
                rules: ch.revoke,
                rule_ids: ids,
            },
            Risk::Narrowed,
            None,
        );
    }
    b.changes
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
            let have: BTreeSet<_> = sg.ingress.iter().map(|r| key_ref(&r.rule)).collect();
            let want: BTreeSet<_> = desired.iter().map(key_ref).collect();
            let add: Vec<Rule> = desired
                .iter()
                .filter(|r| !have.contains(&key_ref(r)))
                .cloned()
                .collect();
            let del: Vec<Rule> = sg
                .ingress
                .iter()
                .filter(|r| !want.contains(&key_ref(&r.rule)))
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
    let want_set: BTreeSet<&str> = want.iter().map(String::as_str).collect();
    let have_set: BTreeSet<&str> = lb.security_groups.iter().map(String::as_str).collect();
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
    let risk = if want_set == have_set {
        Risk::Unchanged
    } else if want_set.is_subset(&have_set) {
        Risk::Narrowed
    } else {
        Risk::Widened
    };
    drop(want_set);
    b.push(
        ChangeKind::SetSecurityGroups {
            load_balancer: arn.clone(),
            security_groups: want,
            private_link: model.private_link_enforcement.clone(),
        },
        risk,
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
        .filter(|r| seen.insert(key_ref(r)))
        .cloned()
        .collect()
}

/// [`Rule::key`] without copying: the same equivalence.
fn key_ref(r: &Rule) -> (&str, i32, i32, &crate::world::Source) {
    (
        &r.protocol,
        r.from_port.unwrap_or(0),
        r.to_port.unwrap_or(0),
        &r.source,
    )
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
