//! The exposure diff of a change without re-evaluating the whole world. The world's exposure
//! is computed once, with which security groups and load balancers each LB's evaluation
//! reads; a change (a [`WorldOverlay`]) then re-evaluates only the LBs that read something it
//! replaces: every other LB reads the same objects before and after, so its part of the diff
//! is empty.
//!
//! Every plan carries the drift already pending (often hundreds of LBs' worth on a large
//! world), so the base also holds that pending change applied: its re-evaluated LBs and their
//! part of the diff. A plan then re-evaluates only the LBs reading an object the plan leaves
//! differently from the pending change alone, and reuses the rest.
//!
//! Equals [`exposure_diff`](super::exposure_diff) of the world and the world with the overlay
//! written in (tests below, and the planner's tests against the reference planner).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::diff::{ExposureDiff, diff_lbs};
use super::exposure::{Exposure, LbReach, exposure_with, lb_reach, resource_reach};
use super::index::WorldIndex;
use super::owners::ingress_owned;
use crate::core::plan::ResourceRef;
use crate::world::{World, WorldOverlay};

/// A world's exposure, ready for diffs of changes to it.
pub struct ExposureBase<'w> {
    idx: WorldIndex<'w>,
    exposure: Exposure,
    /// The change every diff is made next to (the pending drift), and the LBs it re-evaluates
    /// with their part of its diff.
    pending: WorldOverlay,
    pending_diff: BTreeMap<String, ExposureDiff>,
    /// Which LBs read what, once the pending change is made.
    readers: Readers,
}

/// LBs whose evaluation reads each object.
#[derive(Default)]
struct Readers {
    /// Their own (frontend) SGs, and their targets' SGs.
    of_sg: HashMap<String, BTreeSet<String>>,
    /// ALBs registered as targets (their SGs are the targets' SGs).
    of_lb: HashMap<String, BTreeSet<String>>,
}

impl Readers {
    fn add(&mut self, lb: &LbReach) {
        let target_sgs = lb
            .target_groups
            .values()
            .flat_map(|tg| &tg.sets)
            .flat_map(|set| &set.sgs);
        for sg in lb.security_groups.iter().chain(target_sgs) {
            self.of_sg
                .entry(sg.clone())
                .or_default()
                .insert(lb.arn.clone());
        }
        for tg in lb.target_groups.values().filter(|t| t.target_type == "alb") {
            for target in tg.sets.iter().flat_map(|s| &s.targets) {
                self.of_lb
                    .entry(target.id.clone())
                    .or_default()
                    .insert(lb.arn.clone());
            }
        }
    }
}

/// The objects two states of a world hold differently.
#[derive(Default)]
struct Changed<'a> {
    sgs: Vec<&'a str>,
    lbs: Vec<&'a str>,
    owners: Vec<ResourceRef>,
}

impl<'w> ExposureBase<'w> {
    /// The cost of one whole-world [`exposure`](super::exposure).
    pub fn new(world: &'w World) -> Self {
        Self::with_pending(world, WorldOverlay::default())
    }

    /// The base for diffs of changes that include `pending` (a plan includes the drift
    /// already pending): one whole-world exposure, and the LBs `pending` affects.
    pub fn with_pending(world: &'w World, pending: WorldOverlay) -> Self {
        let idx = WorldIndex::new(world);
        let exposure = exposure_with(&idx);
        let mut readers = Readers::default();
        for lb in exposure.load_balancers.values() {
            readers.add(lb);
        }
        let mut pending_reach: BTreeMap<String, LbReach> = BTreeMap::new();
        let mut pending_diff = BTreeMap::new();
        if !pending.is_empty() {
            let nothing = WorldOverlay::default();
            let changed = changed(world, &nothing, &pending);
            let affected = touched(&idx, &exposure, &readers, &changed);
            let after = idx.overlaid(&pending);
            for arn in affected {
                let Some(reach) = after.lb(arn).map(|lb| lb_reach(&after, lb)) else {
                    continue;
                };
                let before = exposure.load_balancers.get(arn);
                pending_diff.insert(
                    arn.to_string(),
                    diff_lbs([(before, Some(&reach))].into_iter()),
                );
                pending_reach.insert(arn.to_string(), reach);
            }
            readers = Readers::default();
            for (arn, lb) in &exposure.load_balancers {
                readers.add(pending_reach.get(arn).unwrap_or(lb));
            }
        }
        Self {
            idx,
            exposure,
            pending,
            pending_diff,
            readers,
        }
    }

    pub fn exposure(&self) -> &Exposure {
        &self.exposure
    }

    /// The LBs a diff of `overlay` evaluates again: those reading an object `overlay` leaves
    /// differently from the pending change.
    pub fn reevaluated(&self, overlay: &WorldOverlay) -> BTreeSet<&str> {
        let changed = changed(self.idx.world, &self.pending, overlay);
        touched(&self.idx, &self.exposure, &self.readers, &changed)
    }

    /// What the change does to who can reach what.
    pub fn diff(&self, overlay: &WorldOverlay) -> ExposureDiff {
        let again = self.reevaluated(overlay);
        let after = self.idx.overlaid(overlay);
        let arns: BTreeSet<&str> = self
            .pending_diff
            .keys()
            .map(String::as_str)
            .chain(again.iter().copied())
            .collect();
        let mut out = ExposureDiff::default();
        for arn in arns {
            let part = if again.contains(arn) {
                let reach = after.lb(arn).map(|lb| lb_reach(&after, lb));
                let before = self.exposure.load_balancers.get(arn);
                diff_lbs([(before, reach.as_ref())].into_iter())
            } else {
                match self.pending_diff.get(arn) {
                    Some(d) => d.clone(),
                    None => continue,
                }
            };
            out.load_balancers_added.extend(part.load_balancers_added);
            out.load_balancers_removed
                .extend(part.load_balancers_removed);
            out.listeners.extend(part.listeners);
            out.frontend_ports.extend(part.frontend_ports);
        }
        out
    }

    /// The exposure of one Service/Ingress once `overlay` is made: its LBs alone, evaluated
    /// through the overlay. It is what a whole-world [`exposure`](super::exposure) of the world
    /// with the overlay written in says of it, without copying or evaluating the rest, except
    /// for [`LbReach::owners`], which stays the world's (an Ingress moved to another group).
    pub fn resource_exposure(&self, overlay: &WorldOverlay, r: &ResourceRef) -> Exposure {
        let after = self.idx.overlaid(overlay);
        let world = self.idx.world;
        // The overlaid index keeps the world's owners: right for Services (stack tags and
        // status hostnames, which no plan changes), but an edited Ingress may change group.
        let owned = match r {
            ResourceRef::Ingress(k) => match overlay.ingresses.get(k) {
                Some(ing) => {
                    let lbs = world.aws.load_balancers.iter().flat_map(|m| m.keys());
                    ingress_owned(world, lbs.filter_map(|arn| after.lb(arn)), ing)
                }
                None => after.owned.get(r).cloned().unwrap_or_default(),
            },
            ResourceRef::Service(_) => after.owned.get(r).cloned().unwrap_or_default(),
        };
        let mut out = Exposure::default();
        for o in &owned {
            if let Some(lb) = after.lb(&o.load_balancer) {
                out.load_balancers
                    .insert(lb.arn.clone(), lb_reach(&after, lb));
            }
        }
        if !owned.is_empty() {
            let reach = resource_reach(r, &owned, &out.load_balancers);
            out.resources.insert(r.to_string(), reach);
        }
        out
    }
}

/// The objects `b` leaves differently from `a` (both overlays of `world`).
fn changed<'a>(world: &World, a: &'a WorldOverlay, b: &'a WorldOverlay) -> Changed<'a> {
    fn keys<'k, K: Ord, V>(x: &'k BTreeMap<K, V>, y: &'k BTreeMap<K, V>) -> BTreeSet<&'k K> {
        x.keys().chain(y.keys()).collect()
    }
    let mut out = Changed::default();
    for id in keys(&a.security_groups, &b.security_groups) {
        if a.sg(world, id) != b.sg(world, id) {
            out.sgs.push(id);
        }
    }
    for arn in keys(&a.load_balancers, &b.load_balancers) {
        if a.lb(world, arn) != b.lb(world, arn) {
            out.lbs.push(arn);
        }
    }
    for k in keys(&a.services, &b.services) {
        if a.service(world, k) != b.service(world, k) {
            out.owners.push(ResourceRef::Service(k.clone()));
        }
    }
    let ingress = |o: &'a WorldOverlay, k| {
        o.ingresses
            .get(k)
            .or_else(|| world.kube.ingresses.as_ref()?.get(k))
    };
    for k in keys(&a.ingresses, &b.ingresses) {
        if ingress(a, k) != ingress(b, k) {
            out.owners.push(ResourceRef::Ingress(k.clone()));
        }
    }
    out
}

/// The LBs reading a changed object: a changed SG, a changed LB itself and the LBs targeting
/// it, the LBs of a changed Service (its target-group attributes decide client IP
/// preservation) or Ingress.
fn touched<'e>(
    idx: &WorldIndex<'_>,
    exposure: &'e Exposure,
    readers: &'e Readers,
    changed: &Changed<'_>,
) -> BTreeSet<&'e str> {
    let mut out: BTreeSet<&str> = BTreeSet::new();
    let mut add = |arn: &str| {
        if let Some((arn, _)) = exposure.load_balancers.get_key_value(arn) {
            out.insert(arn.as_str());
        }
    };
    let of = |m: &'e HashMap<String, BTreeSet<String>>, k: &str| m.get(k).into_iter().flatten();
    for sg in &changed.sgs {
        of(&readers.of_sg, sg).for_each(|a| add(a));
    }
    for arn in &changed.lbs {
        add(arn);
        of(&readers.of_lb, arn).for_each(|a| add(a));
    }
    for r in &changed.owners {
        for o in idx.owned.get(r).into_iter().flatten() {
            add(&o.load_balancer);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::plan::Planner;
    use crate::core::plan::apply::{apply_to_world, overlay_of};
    use crate::core::reach::exposure_diff;
    use crate::devtools::edits::all_edits;
    use crate::devtools::worldgen::{GenSpec, Size, generate};
    use crate::world::Origin;
    use crate::world::file::load_str;

    /// For every catalogued edit of `world`: the diff of its plan from the base equals the
    /// whole-world diff of the world and the world with the plan applied. Returns how many
    /// plans changed exposure (so the caller can check the comparison was not vacuous).
    fn equal_on_every_edit(world: &World) -> usize {
        let planner = Planner::new(world);
        let pending = overlay_of(world, planner.drift());
        // with no pending change, and next to the world's pending drift (what the planner does)
        let bases = [
            ExposureBase::new(world),
            ExposureBase::with_pending(world, pending),
        ];
        let mut nonempty = 0;
        for edit in all_edits(world) {
            let Ok(plan) = planner.changes(&edit) else {
                continue;
            };
            let whole = exposure_diff(world, &apply_to_world(world, &plan));
            let overlay = overlay_of(world, &plan);
            for base in &bases {
                assert_eq!(base.diff(&overlay), whole, "{edit:?}");
            }
            nonempty += usize::from(!whole.is_empty());
        }
        nonempty
    }

    #[test]
    fn equals_the_whole_world_diff_on_the_demo() {
        let world = load_str(crate::cli::source::DEMO_WORLD, "demo").unwrap();
        let nonempty = equal_on_every_edit(&world);
        assert!(nonempty >= 10, "{nonempty}");
    }

    #[test]
    fn equals_the_whole_world_diff_on_generated_worlds() {
        let mut g = generate(&GenSpec {
            seed: 12,
            counts: Size::Tiny.counts(),
            problems: 0.3,
        })
        .unwrap();
        let nonempty = equal_on_every_edit(&g.world);
        assert!(nonempty >= 3, "{nonempty}");
        // run with unrestricted target rules, its target SGs drift: the pending path is taken
        let mut cfg = g.world.controller_or_default();
        cfg.set("disable-restricted-sg-rules", "true", Origin::Args)
            .unwrap();
        g.world.controller = Some(cfg);
        let pending = overlay_of(&g.world, Planner::new(&g.world).drift());
        assert!(!pending.is_empty());
        let nonempty = equal_on_every_edit(&g.world);
        assert!(nonempty >= 3, "{nonempty}");
    }

    /// For every catalogued annotation edit of `world`: the edited resource's exposure through
    /// the overlay equals what the whole-world exposure of the edited world says of it (its
    /// LBs' `owners` aside). Returns how many edits changed that exposure.
    fn resource_equal_on_every_edit(world: &World) -> usize {
        let planner = Planner::new(world);
        let base = planner.reach();
        let mut changed = 0;
        for edit in all_edits(world) {
            let crate::core::plan::Edit::Annotations { resource: r, .. } = &edit else {
                continue;
            };
            let Ok(plan) = planner.changes(&edit) else {
                continue;
            };
            let whole = crate::core::reach::exposure(&apply_to_world(world, &plan));
            let fast = base.resource_exposure(&overlay_of(world, &plan), r);
            let id = r.to_string();
            let want = whole
                .resources
                .get(&id)
                .filter(|x| !x.load_balancers.is_empty());
            assert_eq!(fast.resources.get(&id), want, "{edit:?}");
            let arns: Vec<&String> = want
                .iter()
                .flat_map(|x| &x.load_balancers)
                .map(|o| &o.load_balancer)
                .collect();
            assert_eq!(
                fast.load_balancers.keys().collect::<Vec<_>>(),
                arns,
                "{edit:?}"
            );
            let no_owners = |lb: &LbReach| LbReach {
                owners: Vec::new(),
                ..lb.clone()
            };
            for (arn, lb) in &fast.load_balancers {
                let w = whole.load_balancers.get(arn).map(no_owners);
                assert_eq!(Some(no_owners(lb)), w, "{edit:?}");
            }
            let before = |e: &Exposure| {
                let rr = e
                    .resources
                    .get(&id)
                    .filter(|x| !x.load_balancers.is_empty());
                let lbs: Vec<LbReach> = rr
                    .iter()
                    .flat_map(|x| &x.load_balancers)
                    .filter_map(|o| e.load_balancers.get(&o.load_balancer))
                    .map(no_owners)
                    .collect();
                (rr.cloned(), lbs)
            };
            changed += usize::from(before(base.exposure()) != before(&fast));
        }
        changed
    }

    #[test]
    fn one_resource_s_exposure_equals_the_whole_world_s() {
        let world = load_str(crate::cli::source::DEMO_WORLD, "demo").unwrap();
        let changed = resource_equal_on_every_edit(&world);
        assert!(changed >= 10, "{changed}");
        let g = generate(&GenSpec {
            seed: 12,
            counts: Size::Tiny.counts(),
            problems: 0.3,
        })
        .unwrap();
        let changed = resource_equal_on_every_edit(&g.world);
        assert!(changed >= 10, "{changed}");
    }

    #[test]
    fn a_change_nobody_reads_evaluates_nothing() {
        let world = load_str(crate::cli::source::DEMO_WORLD, "demo").unwrap();
        let base = ExposureBase::new(&world);
        let mut overlay = WorldOverlay::default();
        overlay
            .security_groups
            .insert("sg-0nobody-reads-this".into(), None);
        assert!(base.reevaluated(&overlay).is_empty());
        assert!(base.diff(&overlay).is_empty());
        // and the base's whole exposure is the world's
        assert_eq!(base.exposure(), &crate::core::reach::exposure(&world));
    }
}
