//! The one place the TUI calls the core's analyses. Everything the views need from
//! `core::plan`, `core::reach` (and `core::audit`, once it lands) goes through these functions,
//! so wiring a core function is a change here and nowhere else.

use crate::core::plan::apply::apply_to_world;
use crate::core::plan::incremental::Planner;
use crate::core::plan::render::render_text;
use crate::core::plan::{Edit, Plan};
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

/// What the plan does to exposure: the core's lines (the plan carries its exposure diff),
/// then, for an annotation edit, the resource's reachable/blocked targets before → after.
/// `before_exposure` is `before`'s, which the planner has already computed.
pub fn exposure_lines(
    before: &World,
    before_exposure: &Exposure,
    after: &World,
    plan: &Plan,
) -> Vec<String> {
    let mut out = plan.exposure.lines();
    if let Some(Edit::Annotations { resource, .. }) = &plan.edit {
        let chain = |w: &World, e: &Exposure| {
            let idx = model::index::Index::new(w);
            model::graph::build(&idx, e, resource)
        };
        let (b, a) = (
            chain(before, before_exposure),
            chain(after, &crate::core::reach::exposure(after)),
        );
        let text = |g: &model::GraphModel| {
            format!(
                "{} ({} reachable, {} blocked)",
                g.exposure.text, g.reach.reachable, g.reach.blocked
            )
        };
        let (tb, ta) = (text(&b), text(&a));
        out.push(if tb == ta {
            format!("{resource}: {tb} (unchanged)")
        } else {
            format!("{resource}: {tb} → {ta}")
        });
    }
    if out.is_empty() {
        out.push("no change in who can reach what".into());
    }
    out
}

/// Plan an edit and render it for the preview dialog, with exposure before and after.
pub fn preview(world: &World, edit: &Edit) -> Result<PlanPreview, String> {
    // The core planner (validation, the LBC's reaction, quotas, risk, the exposure diff).
    let planner = Planner::new(world);
    let plan = planner.plan(edit).map_err(|e| e.0)?;
    let after = apply_to_world(world, &plan);
    let exposure = exposure_lines(world, planner.reach().exposure(), &after, &plan);
    let text = render_text(world, &plan, &exposure);
    Ok(PlanPreview::new(plan, &text))
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
