//! The one place the TUI calls the core. Everything the views need from `core::plan`,
//! `core::audit` and `core::reach` goes through these functions, so wiring a core function as
//! it lands is a change here and nowhere else.

use std::collections::BTreeSet;

use crate::core::plan::apply::apply_to_world;
use crate::core::plan::render::render_text;
use crate::core::plan::{Edit, Plan, ResourceRef};
use crate::world::World;

use super::model::plan::PlanPreview;
use super::model::{self, Analysis};

/// The core's view of a world: findings (when the audit is built in) and drift.
pub fn analyse(world: &World) -> Analysis {
    let drift = crate::core::plan::drift(world);
    let drift_text = render_text(world, &drift, &[]);
    Analysis {
        // core::audit is not in this build yet: the findings view says so instead of lying.
        findings: None,
        drift,
        drift_text,
    }
}

/// Plan an edit through the core planner (validation, the LBC's reaction, quotas, risk).
pub fn plan(world: &World, edit: &Edit) -> Result<Plan, String> {
    crate::core::plan::plan(world, edit).map_err(|e| e.0)
}

/// The resources whose exposure an edit can change: the annotated one, or every listed
/// resource whose chain contains the edited SG.
fn affected(world: &World, edit: &Edit) -> Vec<ResourceRef> {
    match edit {
        Edit::Annotations { resource, .. } => vec![resource.clone()],
        Edit::Rules { sg, .. } => {
            let idx = model::index::Index::new(world);
            let key = format!("sg:{sg}");
            model::listed_resources(world)
                .into_iter()
                .filter(|r| {
                    let g = model::graph::build(&idx, r);
                    g.node(&key).is_some()
                        || g.nodes.iter().any(|n| {
                            n.col == model::graph::TARGETS
                                && n.detail.iter().any(|d| d.contains(sg.as_str()))
                        })
                })
                .collect()
        }
        Edit::ControllerFlag { .. } => Vec::new(),
    }
}

/// `service/a/b: internet tcp/443 (2 reachable, 0 blocked) → …` lines.
pub fn exposure_lines(before: &World, after: &World, resources: &[ResourceRef]) -> Vec<String> {
    let (ib, ia) = (
        model::index::Index::new(before),
        model::index::Index::new(after),
    );
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for r in resources {
        if !seen.insert(r.clone()) {
            continue;
        }
        let (b, a) = (model::graph::build(&ib, r), model::graph::build(&ia, r));
        let text = |g: &model::GraphModel| {
            format!(
                "{} ({} reachable, {} blocked)",
                g.exposure.text, g.reach.reachable, g.reach.blocked
            )
        };
        let (tb, ta) = (text(&b), text(&a));
        if tb == ta {
            out.push(format!("{r}: {tb} (unchanged)"));
        } else {
            out.push(format!("{r}: {tb} → {ta}"));
        }
    }
    out
}

/// Plan an edit and render it for the preview dialog, with exposure before and after.
pub fn preview(world: &World, edit: &Edit) -> Result<PlanPreview, String> {
    let plan = plan(world, edit)?;
    let after = apply_to_world(world, &plan);
    let exposure = exposure_lines(world, &after, &affected(world, edit));
    let text = render_text(world, &plan, &exposure);
    Ok(PlanPreview::new(plan, &text))
}
