//! The one place the TUI calls the core's analyses. Everything the views need from
//! `core::plan`, `core::reach` (and `core::audit`, once it lands) goes through these functions,
//! so wiring a core function is a change here and nowhere else.

use crate::core::plan::apply::overlay_of;
use crate::core::plan::incremental::Planner;
use crate::core::plan::render::render_text;
use crate::core::plan::{Edit, Plan, ResourceRef};
use crate::core::reach::Exposure;
use crate::world::World;

use super::model::plan::PlanPreview;
use super::model::{self, Analysis};

/// The core's view of a world: findings (when the audit is built in) and drift.
pub fn analyse(world: &World) -> Analysis {
    let drift = crate::core::plan::drift(world);
    let drift_text = render_text(world, &drift, &[]);
    // One exposure serves the graph and the audit (the most expensive part of either).
    let exposure = crate::core::reach::exposure(world);
    Analysis {
        findings: Some(findings(world, &exposure)),
        drift,
        drift_text,
        exposure,
    }
}

/// A world prepared for previews: its planner (desired state, drift and exposure, computed
/// once) and the view models' lookups, so that a preview costs only its edit. Build it off the
/// UI task (the cost of a full drift and exposure); the runtime keeps one per world.
pub struct Previewer<'w> {
    world: &'w World,
    planner: Planner<'w>,
    index: model::index::Index<'w>,
}

impl<'w> Previewer<'w> {
    pub fn new(world: &'w World) -> Self {
        let planner = Planner::new(world);
        // The exposure base is lazy in the planner; every preview needs it, so build it now.
        planner.reach();
        Self {
            world,
            planner,
            index: model::index::Index::new(world),
        }
    }

    /// Plan an edit and render it for the preview dialog, with exposure before and after.
    pub fn preview(&self, edit: &Edit) -> Result<PlanPreview, String> {
        // The core planner (validation, the LBC's reaction, quotas, risk, the exposure diff).
        let plan = self.planner.plan(edit).map_err(|e| e.0)?;
        let exposure = self.exposure_lines(&plan);
        let text = render_text(self.world, &plan, &exposure);
        Ok(PlanPreview::new(plan, &text))
    }

    /// What the plan does to exposure: the core's lines (the plan carries its exposure diff),
    /// then, for an annotation edit, the resource's reachable/blocked targets before → after.
    /// The after side evaluates only the resource's LBs, through the plan's overlay (no copy
    /// of the world, no whole-world exposure).
    fn exposure_lines(&self, plan: &Plan) -> Vec<String> {
        let mut out = plan.exposure.lines();
        if let Some(Edit::Annotations { resource, .. }) = &plan.edit {
            let reach = self.planner.reach();
            let overlay = overlay_of(self.world, plan);
            let after = reach.resource_exposure(&overlay, resource);
            let before = model::graph::build(&self.index, reach.exposure(), resource);
            let after = model::graph::build(&self.index.overlaid(&overlay), &after, resource);
            out.push(chain_line(resource, &before, &after));
        }
        if out.is_empty() {
            out.push("no change in who can reach what".into());
        }
        out
    }
}

/// `<resource>: <exposure> (<n> reachable, <m> blocked)` before → after, or `(unchanged)`.
fn chain_line(
    resource: &ResourceRef,
    before: &model::GraphModel,
    after: &model::GraphModel,
) -> String {
    let text = |g: &model::GraphModel| {
        format!(
            "{} ({} reachable, {} blocked)",
            g.exposure.text, g.reach.reachable, g.reach.blocked
        )
    };
    let (tb, ta) = (text(before), text(after));
    if tb == ta {
        format!("{resource}: {tb} (unchanged)")
    } else {
        format!("{resource}: {tb} → {ta}")
    }
}

/// Plan one edit of a world not prepared for it (the planner is built for this one edit).
pub fn preview(world: &World, edit: &Edit) -> Result<PlanPreview, String> {
    Previewer::new(world).preview(edit)
}

/// The core audit's findings as the findings view shows them (same order, same remedies).
pub fn findings(world: &World, exposure: &Exposure) -> Vec<model::Finding> {
    crate::core::audit::audit_with(world, exposure)
        .findings
        .into_iter()
        .map(|f| model::Finding {
            id: f.id,
            severity: model::Severity::parse(f.severity.as_str()),
            title: f.title,
            resource: f.resource,
            evidence: f.evidence,
            remedy: f.remedy.map(|r| model::Remedy {
                summary: r.summary,
                edit: r.edit,
            }),
        })
        .collect()
}

#[cfg(test)]
#[path = "bridge_tests.rs"]
mod tests;
