//! The warm previewer against the whole-world path it replaced: the world copied with the plan
//! applied, and the whole copy's exposure evaluated for the edited resource's chain.

use super::*;
use crate::core::plan::apply::apply_to_world;
use crate::devtools::edits::all_edits;
use crate::devtools::worldgen::{GenSpec, Size, generate};
use crate::tui::model::GraphModel;
use crate::world::file::load_str;

/// The preview as it was computed before the previewer, and the edited resource's after chain.
fn whole_world(world: &World, edit: &Edit) -> Result<(PlanPreview, Option<GraphModel>), String> {
    let planner = Planner::new(world);
    let plan = planner.plan(edit).map_err(|e| e.0)?;
    let after = apply_to_world(world, &plan);
    let mut lines = plan.exposure.lines();
    let mut after_chain = None;
    if let Some(Edit::Annotations { resource, .. }) = &plan.edit {
        let chain = |w: &World, e: &Exposure| {
            model::graph::build(&model::index::Index::new(w), e, resource)
        };
        let b = chain(world, planner.reach().exposure());
        let a = chain(&after, &crate::core::reach::exposure(&after));
        lines.push(chain_line(resource, &b, &a));
        after_chain = Some(a);
    }
    if lines.is_empty() {
        lines.push("no change in who can reach what".into());
    }
    let text = render_text(world, &plan, &lines);
    Ok((PlanPreview::new(plan, &text), after_chain))
}

#[derive(Default, Debug)]
struct Seen {
    service: usize,
    ingress: usize,
    rules: usize,
    /// Annotation edits whose chain line changed (`before → after`).
    chain_changed: usize,
}

/// Every catalogued edit of `world`, previewed both ways: the same preview (every line, byte
/// for byte) and the same after chain (every node and edge, not just the line).
fn equal_on_every_edit(world: &World) -> Seen {
    let warm = Previewer::new(world);
    let mut seen = Seen::default();
    for edit in all_edits(world) {
        let (want, want_chain) = match whole_world(world, &edit) {
            Ok(x) => x,
            Err(e) => {
                assert_eq!(warm.preview(&edit), Err(e), "{edit:?}");
                continue;
            }
        };
        assert_eq!(warm.preview(&edit).as_ref(), Ok(&want), "{edit:?}");
        match &edit {
            Edit::Annotations { resource, .. } => {
                let plan = &want.plan;
                let overlay = overlay_of(world, plan);
                let reach = warm.planner.reach().resource_exposure(&overlay, resource);
                let chain = model::graph::build(&warm.index.overlaid(&overlay), &reach, resource);
                assert_eq!(Some(chain), want_chain, "{edit:?}");
                match resource {
                    ResourceRef::Service(_) => seen.service += 1,
                    ResourceRef::Ingress(_) => seen.ingress += 1,
                }
                let changed = want
                    .lines
                    .iter()
                    .any(|l| l.text.contains(&format!("{resource}: ")) && l.text.contains(" → "));
                seen.chain_changed += usize::from(changed);
            }
            Edit::Rules { .. } => seen.rules += 1,
            Edit::ControllerFlag { .. } => {}
        }
    }
    seen
}

#[test]
fn the_warm_preview_equals_the_whole_world_one_on_the_demo() {
    let world = load_str(crate::cli::source::DEMO_WORLD, "demo").unwrap();
    let seen = equal_on_every_edit(&world);
    assert!(
        seen.service >= 20 && seen.ingress >= 10 && seen.rules >= 10,
        "{seen:?}"
    );
    assert!(seen.chain_changed >= 10, "{seen:?}");
}

#[test]
fn the_warm_preview_equals_the_whole_world_one_on_a_generated_world() {
    let g = generate(&GenSpec {
        seed: 12,
        counts: Size::Tiny.counts(),
        problems: 0.3,
    })
    .unwrap();
    let seen = equal_on_every_edit(&g.world);
    assert!(
        seen.service >= 20 && seen.ingress >= 10 && seen.rules >= 10,
        "{seen:?}"
    );
    assert!(seen.chain_changed >= 10, "{seen:?}");
}

#[test]
fn one_shot_and_warm_previews_agree() {
    let world = load_str(crate::cli::source::DEMO_WORLD, "demo").unwrap();
    let warm = Previewer::new(&world);
    // the warm previewer answers many edits from one planner, in any order
    let edits = all_edits(&world);
    for edit in edits.iter().rev().step_by(7) {
        assert_eq!(warm.preview(edit), preview(&world, edit), "{edit:?}");
    }
}
