//! The exposure diff of a change without re-evaluating the whole world: the world's exposure is
//! computed once, with which security groups and load balancers each LB's evaluation reads;
//! a change (a [`WorldOverlay`]) then re-evaluates only the LBs that read something it
//! replaces. Every other LB reads the same objects before and after, so its part of the diff is
//! empty. Equals [`exposure_diff`](super::exposure_diff) of the world and the world with the
//! overlay written in (tests below, and the planner's tests against the reference planner).

use std::collections::{BTreeSet, HashMap};

use super::diff::{ExposureDiff, diff_lbs};
use super::exposure::{Exposure, LbReach, exposure_with, lb_reach};
use super::index::WorldIndex;
use crate::core::plan::ResourceRef;
use crate::world::{World, WorldOverlay};

/// A world's exposure, ready for diffs of changes to it.
pub struct ExposureBase<'w> {
    idx: WorldIndex<'w>,
    exposure: Exposure,
    /// LBs whose evaluation reads each SG: their own (frontend) SGs, and their targets' SGs.
    readers_of_sg: HashMap<String, BTreeSet<String>>,
    /// LBs with an ALB among their targets, by that ALB (its SGs are the targets' SGs).
    readers_of_lb: HashMap<String, BTreeSet<String>>,
}

impl<'w> ExposureBase<'w> {
    /// The cost of one whole-world [`exposure`](super::exposure).
    pub fn new(world: &'w World) -> Self {
        let idx = WorldIndex::new(world);
        let exposure = exposure_with(&idx);
        let mut readers_of_sg: HashMap<String, BTreeSet<String>> = HashMap::new();
        let mut readers_of_lb: HashMap<String, BTreeSet<String>> = HashMap::new();
        for (arn, lb) in &exposure.load_balancers {
            let target_sgs = lb
                .target_groups
                .values()
                .flat_map(|tg| &tg.sets)
                .flat_map(|set| &set.sgs);
            for sg in lb.security_groups.iter().chain(target_sgs) {
                readers_of_sg
                    .entry(sg.clone())
                    .or_default()
                    .insert(arn.clone());
            }
            for tg in lb.target_groups.values().filter(|t| t.target_type == "alb") {
                for target in tg.sets.iter().flat_map(|s| &s.targets) {
                    readers_of_lb
                        .entry(target.id.clone())
                        .or_default()
                        .insert(arn.clone());
                }
            }
        }
        Self {
            idx,
            exposure,
            readers_of_sg,
            readers_of_lb,
        }
    }

    pub fn exposure(&self) -> &Exposure {
        &self.exposure
    }

    /// The LBs whose evaluation may read something `overlay` replaces: LBs reading a changed SG,
    /// changed LBs and the LBs targeting them, and the LBs of changed Services and Ingresses
    /// (a Service's target-group attributes decide client IP preservation).
    pub fn affected(&self, overlay: &WorldOverlay) -> BTreeSet<&str> {
        let mut out: BTreeSet<&str> = BTreeSet::new();
        fn readers<'a>(m: &'a HashMap<String, BTreeSet<String>>, k: &str) -> Vec<&'a str> {
            m.get(k).into_iter().flatten().map(String::as_str).collect()
        }
        for sg in overlay.security_groups.keys() {
            out.extend(readers(&self.readers_of_sg, sg));
        }
        for arn in overlay.load_balancers.keys() {
            if let Some((arn, _)) = self.exposure.load_balancers.get_key_value(arn) {
                out.insert(arn);
            }
            out.extend(readers(&self.readers_of_lb, arn));
        }
        let owners = overlay
            .services
            .keys()
            .map(|k| ResourceRef::Service(k.clone()))
            .chain(
                overlay
                    .ingresses
                    .keys()
                    .map(|k| ResourceRef::Ingress(k.clone())),
            );
        for r in owners {
            for o in self.idx.owned.get(&r).into_iter().flatten() {
                if let Some((arn, _)) = self.exposure.load_balancers.get_key_value(&o.load_balancer)
                {
                    out.insert(arn);
                }
            }
        }
        out
    }

    /// What the change does to who can reach what.
    pub fn diff(&self, overlay: &WorldOverlay) -> ExposureDiff {
        if overlay.is_empty() {
            return ExposureDiff::default();
        }
        let after = self.idx.overlaid(overlay);
        let pairs: Vec<(Option<&LbReach>, Option<LbReach>)> = self
            .affected(overlay)
            .into_iter()
            .map(|arn| {
                (
                    self.exposure.load_balancers.get(arn),
                    after.lb(arn).map(|lb| lb_reach(&after, lb)),
                )
            })
            .collect();
        diff_lbs(pairs.iter().map(|(b, a)| (*b, a.as_ref())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::plan::Planner;
    use crate::core::plan::apply::{apply_to_world, overlay_of};
    use crate::core::reach::exposure_diff;
    use crate::devtools::edits::all_edits;
    use crate::devtools::worldgen::{GenSpec, Size, generate};
    use crate::world::file::load_str;

    /// For every catalogued edit of `world`: the diff of its plan from the base equals the
    /// whole-world diff of the world and the world with the plan applied. Returns how many
    /// plans changed exposure (so the caller can check the comparison was not vacuous).
    fn equal_on_every_edit(world: &World) -> usize {
        let base = ExposureBase::new(world);
        let planner = Planner::new(world);
        let mut nonempty = 0;
        for edit in all_edits(world) {
            let Ok(plan) = planner.changes(&edit) else {
                continue;
            };
            let whole = exposure_diff(world, &apply_to_world(world, &plan));
            assert_eq!(base.diff(&overlay_of(world, &plan)), whole, "{edit:?}");
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
        for (seed, problems) in [(12, 0.3)] {
            let g = generate(&GenSpec {
                seed,
                counts: Size::Tiny.counts(),
                problems,
            })
            .unwrap();
            let nonempty = equal_on_every_edit(&g.world);
            assert!(nonempty >= 3, "seed {seed}: {nonempty}");
        }
    }

    #[test]
    fn a_change_nobody_reads_evaluates_nothing() {
        let world = load_str(crate::cli::source::DEMO_WORLD, "demo").unwrap();
        let base = ExposureBase::new(&world);
        let mut overlay = WorldOverlay::default();
        overlay
            .security_groups
            .insert("sg-0nobody-reads-this".into(), None);
        assert!(base.affected(&overlay).is_empty());
        assert!(base.diff(&overlay).is_empty());
        // and the base's whole exposure is the world's
        assert_eq!(base.exposure(), &crate::core::reach::exposure(&world));
    }
}
