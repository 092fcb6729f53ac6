//! The incremental planner: a world's desired state and drift computed once, then each edit
//! re-plans only what it touches (the edited object's stacks, their bindings, the target SGs
//! those bindings name) without copying the world. Its plans equal
//! [`plan_simple`](super::planner::plan_simple)'s, which applies the edit to a copy of the world
//! and recomputes everything; tests compare the two on the demo and on generated worlds.
//!
//! Edits that change which stacks exist (a Service the LBC starts or stops handling, an
//! IngressGroup appearing or emptying) and controller-flag edits take the reference path.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use super::apply::{apply_to_world, next_resource_version, overlay_of};
use super::drift::{DriftParts, PartsOverlay, backend_parts, stack_drift, target_changes};
use super::planner::{
    InvalidEdit, annotation_patch, change_key, combine, edit_warnings, edited_world, rule_changes,
};
use super::quotas::quota_errors;
use super::target_merge::TargetMerges;
use super::{Change, Edit, Plan, PlanError, ResourceRef, drift};
use crate::core::desired::{Computed, StackContext, StackState, compute};
use crate::core::lbc::model::StackId;
use crate::core::lbc::target::{
    TargetMemo, TgbOutcome, collects_garbage, object_spec, reconcile_target_sg, target_sg_changes,
};
use crate::core::reach::ExposureBase;
use crate::world::{AwsSide, Meta, ObjKey, Rule, SecurityGroup, World};

/// The annotations that decide which IngressGroup an Ingress is in, and its place there
/// (besides its class); an edit of any other leaves every group's membership as it is.
const GROUPING_ANNOTATIONS: [&str; 3] = [
    "kubernetes.io/ingress.class",
    "alb.ingress.kubernetes.io/group.name",
    "alb.ingress.kubernetes.io/group.order",
];

/// A world prepared for planning many edits.
pub struct Planner<'w> {
    world: &'w World,
    cx: StackContext<'w>,
    memo: TargetMemo<'w>,
    computed: Computed,
    parts: DriftParts,
    drift: Plan,
    pending: BTreeSet<String>,
    old_errors: BTreeSet<PlanError>,
    bindings: Bindings,
    merges: TargetMerges,
    reach: OnceLock<ExposureBase<'w>>,
}

/// Which binding outcomes come from where.
struct Bindings {
    /// Index into `desired.targets.tgbs`, by binding key.
    index: BTreeMap<String, usize>,
    /// Keys of each modelled stack's bindings (with networking).
    of_stack: BTreeMap<StackId, Vec<String>>,
    /// The computed bindings that give rules to each target SG (outcome indexes, in key
    /// order: the order the LBC merges them in).
    sg_users: BTreeMap<String, Vec<usize>>,
    /// How many bindings were computed.
    ok: usize,
    /// TargetGroupBinding objects by each stack their labels name.
    objects_of: BTreeMap<StackId, Vec<ObjKey>>,
}

impl<'w> Planner<'w> {
    /// Compute the desired state and drift of `world` (the cost of one full [`drift`]).
    pub fn new(world: &'w World) -> Self {
        let cx = StackContext::new(world);
        let memo = TargetMemo::new(world);
        let computed = compute(&cx, &memo);
        let d = &computed.desired;
        let parts = DriftParts::of(world, d);
        let drift = parts.assemble();
        let mut bindings = Bindings {
            index: BTreeMap::new(),
            of_stack: computed.stack_bindings.clone(),
            sg_users: BTreeMap::new(),
            ok: 0,
            objects_of: BTreeMap::new(),
        };
        let tgbs = &d.targets.tgbs;
        for (i, o) in tgbs.iter().enumerate() {
            bindings.index.insert(o.key.clone(), i);
            bindings.ok += usize::from(o.result.is_ok());
            for sg in o.result.iter().flat_map(|per_sg| per_sg.keys()) {
                bindings.sg_users.entry(sg.clone()).or_default().push(i);
            }
        }
        for users in bindings.sg_users.values_mut() {
            users.sort_by(|a, b| tgbs[*a].key.cmp(&tgbs[*b].key));
        }
        for tgb in world
            .kube
            .target_group_bindings
            .iter()
            .flat_map(|m| m.values())
        {
            for owner in StackId::owners(&tgb.meta.labels) {
                bindings
                    .objects_of
                    .entry(owner)
                    .or_default()
                    .push(tgb.meta.key());
            }
        }
        let merges = TargetMerges::new(
            &d.targets.tgbs,
            &bindings.sg_users,
            !cx.config.disable_restricted_sg_rules,
        );
        Planner {
            world,
            merges,
            pending: drift.changes.iter().map(change_key).collect(),
            old_errors: drift.errors.iter().cloned().collect(),
            cx,
            memo,
            computed,
            parts,
            drift,
            bindings,
            reach: OnceLock::new(),
        }
    }

    /// The world's drift (what the LBC would do with no edit).
    pub fn drift(&self) -> &Plan {
        &self.drift
    }

    /// The world's desired state.
    pub fn desired(&self) -> &crate::core::desired::Desired {
        &self.computed.desired
    }

    /// Plan one edit of the world (validated first, like [`super::plan`]).
    pub fn plan(&self, edit: &Edit) -> Result<Plan, InvalidEdit> {
        let mut plan = self.changes(edit)?;
        plan.exposure = self.reach().diff(&overlay_of(self.world, &plan));
        Ok(plan)
    }

    /// The world's exposure with and without the pending drift (every plan carries it), for
    /// the exposure diffs of plans: computed on the first plan that needs it (a planner built
    /// only for its drift does not pay for it).
    pub fn reach(&self) -> &ExposureBase<'w> {
        self.reach.get_or_init(|| {
            ExposureBase::with_pending(self.world, overlay_of(self.world, &self.drift))
        })
    }

    /// [`Planner::plan`] without the exposure diff: the changes, errors, warnings and risk
    /// (what a preview shows while the user is still typing).
    pub fn changes(&self, edit: &Edit) -> Result<Plan, InvalidEdit> {
        let (first, after) = match edit {
            Edit::Annotations {
                resource,
                set,
                unset,
            } => {
                let patch = annotation_patch(self.world, resource, set, unset)?;
                let after = match resource {
                    ResourceRef::Service(k) => self.after_service_edit(k, set, unset),
                    ResourceRef::Ingress(k) => self.after_ingress_edit(k, set, unset),
                };
                (vec![patch], after)
            }
            Edit::Rules { sg, add, remove } => {
                let changes = rule_changes(self.world, sg, add, remove)?;
                let after = self.after_rule_edit(sg, &changes);
                (changes, after)
            }
            Edit::ControllerFlag { .. } => (Vec::new(), None),
        };
        let (first, after) = match after {
            Some(after) => (first, after),
            None => {
                let (edited, first) = edited_world(self.world, edit)?;
                (first, drift(&edited))
            }
        };
        let mut plan = combine(edit, first, &self.pending, &self.old_errors, after);
        plan.errors.extend(touched_quota_errors(self.world, &plan));
        plan.warnings.extend(edit_warnings(self.world, edit));
        super::risk::refine(self.world, &mut plan);
        Ok(plan)
    }

    fn after_service_edit(
        &self,
        key: &ObjKey,
        set: &BTreeMap<String, String>,
        unset: &[String],
    ) -> Option<Plan> {
        let services = self.world.kube.services.as_ref()?;
        let mut edited = services.get(key)?.clone();
        patch(&mut edited.meta, set, unset);
        let id = StackId::Service(key.clone());
        let new = self.cx.service_stack(&edited);
        if self.computed.desired.stacks.contains_key(&id) != new.is_some() {
            return None;
        }
        let mut changed: Vec<StackState> = new.into_iter().collect();
        let groups = self.groups_using(key);
        if !groups.is_empty() {
            let ings = self.world.kube.ingresses.as_ref()?;
            let mut services = services.clone();
            services.insert(key.clone(), edited);
            for g in groups {
                let members = self.computed.groups.get(&g)?;
                let had = self
                    .computed
                    .desired
                    .stacks
                    .contains_key(&StackId::Ingress(g.clone()));
                let new = self.cx.ingress_stack(
                    &|k| ings.get(k),
                    &services,
                    &self.computed.class_params,
                    &g,
                    members,
                );
                if had != new.is_some() {
                    return None;
                }
                changed.extend(new);
            }
        }
        Some(self.after_stacks(changed))
    }

    /// IngressGroups with a member that may read the Service: one in its namespace naming it as
    /// a backend, or routing through `actions.*` annotations (which name Services in JSON).
    fn groups_using(&self, svc: &ObjKey) -> Vec<crate::core::lbc::naming::GroupId> {
        let Some(ings) = self.world.kube.ingresses.as_ref() else {
            return Vec::new();
        };
        self.computed
            .groups
            .iter()
            .filter(|(_, m)| {
                m.members.iter().filter_map(|k| ings.get(k)).any(|ing| {
                    ing.meta.namespace == svc.namespace
                        && (ing.backends().any(|b| b.service_name == svc.name)
                            || ing
                                .meta
                                .annotations
                                .keys()
                                .any(|a| a.starts_with("alb.ingress.kubernetes.io/actions.")))
                })
            })
            .map(|(g, _)| g.clone())
            .collect()
    }

    fn after_ingress_edit(
        &self,
        key: &ObjKey,
        set: &BTreeMap<String, String>,
        unset: &[String],
    ) -> Option<Plan> {
        let regroups = set
            .keys()
            .chain(unset)
            .any(|k| GROUPING_ANNOTATIONS.contains(&k.as_str()));
        if !regroups {
            return self.after_member_edit(key, set, unset);
        }
        let mut ings = self.world.kube.ingresses.clone()?;
        patch(&mut ings.get_mut(key)?.meta, set, unset);
        let (groups, class_params) = self.cx.ingress_groups(&ings);
        let before = &self.computed.groups;
        let mut affected: BTreeSet<&crate::core::lbc::naming::GroupId> = BTreeSet::new();
        for g in groups.keys().chain(before.keys()) {
            let (now, was) = (groups.get(g), before.get(g));
            if now != was || [now, was].iter().flatten().any(|m| m.members.contains(key)) {
                affected.insert(g);
            }
        }
        let no_services = BTreeMap::new();
        let services = self.world.kube.services.as_ref().unwrap_or(&no_services);
        let mut changed = Vec::new();
        for g in affected {
            let had = self
                .computed
                .desired
                .stacks
                .contains_key(&StackId::Ingress(g.clone()));
            let new = groups.get(g).and_then(|m| {
                self.cx
                    .ingress_stack(&|k| ings.get(k), services, &class_params, g, m)
            });
            if had != new.is_some() {
                return None;
            }
            changed.extend(new);
        }
        Some(self.after_stacks(changed))
    }

    /// An Ingress edit that leaves every group as it is: only the Ingress's own group changes.
    fn after_member_edit(
        &self,
        key: &ObjKey,
        set: &BTreeMap<String, String>,
        unset: &[String],
    ) -> Option<Plan> {
        let ings = self.world.kube.ingresses.as_ref()?;
        let mut edited = ings.get(key)?.clone();
        patch(&mut edited.meta, set, unset);
        let lookup = |k: &ObjKey| if k == key { Some(&edited) } else { ings.get(k) };
        let no_services = BTreeMap::new();
        let services = self.world.kube.services.as_ref().unwrap_or(&no_services);
        let mut changed = Vec::new();
        for (g, m) in &self.computed.groups {
            if !m.members.contains(key) {
                continue;
            }
            let new = self
                .cx
                .ingress_stack(&lookup, services, &self.computed.class_params, g, m);
            let had = self
                .computed
                .desired
                .stacks
                .contains_key(&StackId::Ingress(g.clone()));
            if had != new.is_some() {
                return None;
            }
            changed.extend(new);
        }
        Some(self.after_stacks(changed))
    }

    /// A rule edit changes only that SG's rules: its target-SG changes, if it is a target SG.
    /// (Managed SGs are refused by validation; no other part of drift reads SG rules.)
    fn after_rule_edit(&self, sg: &str, changes: &[Change]) -> Option<Plan> {
        let orig = self.world.aws.security_groups.as_ref()?.get(sg)?;
        let mut mini = World::default();
        mini.aws.security_groups = Some(BTreeMap::from([(sg.to_string(), orig.clone())]));
        let applied = apply_to_world(
            &mini,
            &Plan {
                changes: changes.to_vec(),
                ..Plan::default()
            },
        );
        let edited = applied.aws.security_groups.as_ref()?.get(sg)?;
        let t = &self.computed.desired.targets;
        let have: Vec<Rule> = edited.ingress.iter().map(|r| r.rule.clone()).collect();
        let ch = match t.per_sg.get(sg) {
            Some(want) => Some(reconcile_target_sg(want, &have, !t.complete)),
            None if t.gc.contains(sg) => Some(reconcile_target_sg(&[], &have, false)),
            None => None,
        };
        let mut o = PartsOverlay::default();
        o.targets.insert(
            sg.to_string(),
            ch.map(|ch| target_changes(Some(edited), sg, ch)),
        );
        Some(self.parts.assemble_with(&o))
    }

    /// The drift once `changed` replace their stacks (the set of stacks is the same).
    fn after_stacks(&self, changed: Vec<StackState>) -> Plan {
        let world = self.world;
        let d = &self.computed.desired;
        let mut o = PartsOverlay::default();
        for s in &changed {
            o.stacks.insert(s.id.clone(), stack_drift(world, d, s));
        }
        let new_of: BTreeMap<&StackId, &StackState> = changed.iter().map(|s| (&s.id, s)).collect();
        let modelled_after = |id: &StackId| match new_of.get(id) {
            Some(s) => s.model.is_ok(),
            None => d.stacks.get(id).is_some_and(|s| s.model.is_ok()),
        };

        // the backend SG is needed while some stack allocates it
        let needed = d
            .stacks
            .values()
            .map(|s| *new_of.get(&s.id).unwrap_or(&s))
            .any(|s| s.model.as_ref().is_ok_and(|m| m.backend_sg_allocated));
        if let Some(bsg) = d.backend_sg.as_ref().filter(|b| b.needed != needed) {
            let mut bsg = bsg.clone();
            bsg.needed = needed;
            let no_sgs = BTreeMap::new();
            let sgs = world.aws.security_groups.as_ref().unwrap_or(&no_sgs);
            o.backend = Some(backend_parts(sgs, d, Some(&bsg)));
        }

        // bindings: the changed stacks' old ones out, their new ones in; a stack whose build
        // starts or stops failing also hands its TargetGroupBinding objects over
        let mut removed: BTreeSet<String> = BTreeSet::new();
        let mut added: BTreeMap<String, TgbOutcome> = BTreeMap::new();
        for s in &changed {
            removed.extend(
                self.bindings
                    .of_stack
                    .get(&s.id)
                    .into_iter()
                    .flatten()
                    .cloned(),
            );
            for spec in self.cx.stack_tgbs(s).into_iter().flatten() {
                if spec.networking.is_some() {
                    added.insert(spec.key.clone(), self.memo.outcome(&spec, spec.key.clone()));
                }
            }
            let was = d.stacks.get(&s.id).is_some_and(|s| s.model.is_ok());
            if was == s.model.is_ok() {
                continue;
            }
            let objects = world.kube.target_group_bindings.as_ref();
            for k in self.bindings.objects_of.get(&s.id).into_iter().flatten() {
                let Some(obj) = objects.and_then(|m| m.get(k)) else {
                    continue;
                };
                let owners = StackId::owners(&obj.meta.labels);
                let before = !owners
                    .iter()
                    .any(|o| d.stacks.get(o).is_some_and(|s| s.model.is_ok()));
                let after = !owners.iter().any(&modelled_after);
                let spec = object_spec(world, obj);
                if spec.networking.is_none() || before == after {
                    continue;
                }
                if before {
                    removed.insert(spec.key.clone());
                } else {
                    added.insert(spec.key.clone(), self.memo.outcome(&spec, spec.key.clone()));
                }
            }
        }
        for k in &removed {
            o.tgb_errors.insert(k.clone(), None);
        }
        for (k, out) in &added {
            let e = out.result.as_ref().err().map(|e| PlanError {
                resource: k.clone(),
                message: e.to_string(),
            });
            o.tgb_errors.insert(k.clone(), e);
        }

        // every binding computed? (every removed key was an outcome; no added key survives)
        let removed_idx: BTreeSet<usize> = removed
            .iter()
            .filter_map(|k| self.bindings.index.get(k).copied())
            .collect();
        let removed_ok = removed_idx
            .iter()
            .filter(|i| d.targets.tgbs[**i].result.is_ok())
            .count();
        let added_ok = added.values().filter(|t| t.result.is_ok()).count();
        let total = d.targets.tgbs.len() - removed_idx.len() + added.len();
        let complete = self.bindings.ok - removed_ok + added_ok == total;

        // target SGs whose bindings changed
        let mut affected: BTreeSet<&str> = BTreeSet::new();
        for i in &removed_idx {
            if let Ok(per_sg) = &d.targets.tgbs[*i].result {
                affected.extend(per_sg.keys().map(String::as_str));
            }
        }
        for out in added.values() {
            if let Ok(per_sg) = &out.result {
                affected.extend(per_sg.keys().map(String::as_str));
            }
        }
        let mut per_sg_new: BTreeMap<&str, Option<Vec<Rule>>> = BTreeMap::new();
        let tgbs = &d.targets.tgbs;
        for sg in &affected {
            // the SG's bindings in key order: the old ones that stay, and the new ones
            let mut remaining = self
                .bindings
                .sg_users
                .get(*sg)
                .into_iter()
                .flatten()
                .filter(|i| !removed_idx.contains(*i))
                .peekable();
            let new_lists: Vec<(&str, &[Rule])> = added
                .iter()
                .filter_map(|(k, out)| {
                    Some((k.as_str(), out.result.as_ref().ok()?.get(*sg)?.as_slice()))
                })
                .collect();
            // an SG stays desired while some binding names it, even with no rules
            if remaining.peek().is_none() && new_lists.is_empty() {
                per_sg_new.insert(sg, None);
                continue;
            }
            let old_lists = remaining.filter_map(|i| {
                let t = &tgbs[*i];
                Some((t.key.as_str(), t.result.as_ref().ok()?.get(*sg)?.as_slice()))
            });
            let rules = self
                .merges
                .merged(sg, tgbs, &removed_idx, old_lists, &new_lists);
            per_sg_new.insert(sg, Some(rules));
        }

        let no_sgs = BTreeMap::new();
        let sgs = world.aws.security_groups.as_ref().unwrap_or(&no_sgs);
        if complete != d.targets.complete {
            // revoking starts or stops everywhere: every target SG again
            let mut t = d.targets.clone();
            for (sg, rules) in per_sg_new {
                match rules {
                    Some(r) => t.per_sg.insert(sg.to_string(), r),
                    None => t.per_sg.remove(sg),
                };
            }
            t.complete = complete;
            t.gc = if complete {
                sgs.values()
                    .filter(|g| !t.per_sg.contains_key(&g.id) && collects_garbage(world, g))
                    .map(|g| g.id.clone())
                    .collect()
            } else {
                BTreeSet::new()
            };
            o.all_targets = Some(
                target_sg_changes(world, &t)
                    .into_iter()
                    .map(|(sg, ch)| {
                        let changes = target_changes(sgs.get(&sg), &sg, ch);
                        (sg, changes)
                    })
                    .collect(),
            );
        } else {
            for (sg, rules) in per_sg_new {
                let Some(group) = sgs.get(sg) else {
                    o.targets.insert(sg.to_string(), None);
                    continue;
                };
                let have: Vec<Rule> = group.ingress.iter().map(|r| r.rule.clone()).collect();
                let ch = match rules {
                    Some(want) => Some(reconcile_target_sg(&want, &have, !complete)),
                    None if complete && collects_garbage(world, group) => {
                        Some(reconcile_target_sg(&[], &have, false))
                    }
                    None => None,
                };
                o.targets.insert(
                    sg.to_string(),
                    ch.map(|ch| target_changes(Some(group), sg, ch)),
                );
            }
        }
        self.parts.assemble_with(&o)
    }
}

/// Two key-ordered sequences merged in key order.
pub(super) fn merge_by_key<'a, T>(
    a: impl Iterator<Item = (&'a str, T)>,
    b: impl Iterator<Item = (&'a str, T)>,
) -> Vec<(&'a str, T)> {
    let mut out: Vec<(&str, T)> = Vec::new();
    let (mut a, mut b) = (a.peekable(), b.peekable());
    loop {
        let take_a = match (a.peek(), b.peek()) {
            (Some((ka, _)), Some((kb, _))) => ka <= kb,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => return out,
        };
        out.extend(if take_a { a.next() } else { b.next() });
    }
}

/// The annotation patch as the API server applies it (same as `apply_to_world`).
fn patch(meta: &mut Meta, set: &BTreeMap<String, String>, unset: &[String]) {
    for k in unset {
        meta.annotations.remove(k);
    }
    meta.annotations.extend(set.clone());
    meta.resource_version = next_resource_version(&meta.resource_version);
}

/// [`quota_errors`] without copying the world: the plan is applied to the SGs it touches (and
/// those sharing a name with an SG it creates), which is all the quotas read.
fn touched_quota_errors(world: &World, plan: &Plan) -> Vec<PlanError> {
    use super::ChangeKind as K;
    let mut ids: BTreeSet<&str> = BTreeSet::new();
    let mut names: BTreeSet<&str> = BTreeSet::new();
    for c in &plan.changes {
        match &c.kind {
            K::CreateSecurityGroup { name, .. } => {
                names.insert(name);
            }
            K::DeleteSecurityGroup { sg }
            | K::AuthorizeIngress { sg, .. }
            | K::RevokeIngress { sg, .. }
            | K::CreateTags { sg, .. }
            | K::DeleteTags { sg, .. } => {
                ids.insert(sg);
                names.extend(sg.strip_prefix("$new:"));
            }
            K::PatchAnnotations { .. }
            | K::SetSecurityGroups { .. }
            | K::RecreateRequired { .. } => {}
        }
    }
    let mut mini = World {
        cluster: world.cluster.clone(),
        aws: AwsSide {
            prefix_lists: world.aws.prefix_lists.clone(),
            ..AwsSide::default()
        },
        ..World::default()
    };
    if let Some(sgs) = world.aws.security_groups.as_ref() {
        let mut subset: BTreeMap<String, SecurityGroup> = ids
            .iter()
            .filter_map(|id| sgs.get(*id))
            .map(|g| (g.id.clone(), g.clone()))
            .collect();
        if !names.is_empty() {
            for g in sgs.values().filter(|g| names.contains(g.name.as_str())) {
                subset.insert(g.id.clone(), g.clone());
            }
        }
        mini.aws.security_groups = Some(subset);
    }
    let after = apply_to_world(&mini, plan);
    quota_errors(world, &after, plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devtools::edits::all_edits;
    use crate::world::file::load_str;

    #[test]
    fn equals_the_reference_planner_on_every_catalogued_edit_of_the_demo() {
        let world = load_str(crate::cli::source::DEMO_WORLD, "demo").unwrap();
        let planner = Planner::new(&world);
        assert_eq!(planner.drift(), &drift(&world));
        let edits = all_edits(&world);
        assert!(edits.len() > 300, "{}", edits.len());
        let mut planned = 0;
        for edit in &edits {
            let fast = planner.plan(edit);
            assert_eq!(
                fast,
                crate::core::plan::plan_simple(&world, edit),
                "{edit:?}"
            );
            planned += usize::from(fast.is_ok());
        }
        // most catalogued edits are valid ones
        assert!(planned * 2 > edits.len(), "{planned} of {}", edits.len());
    }
}
