//! An apply that meets a conflict (409: the object changed since the plan was shown) writes
//! nothing; the dialog stays, says so, and shows the same edit planned again on a newer world.
//! The old plan is never re-sent.

use ratatui::crossterm::event::KeyCode;

use super::tests::{key, open_remedy_plan, preview};
use super::*;
use crate::tui::fixture;
use crate::tui::state::Overlay;

/// The fixture world after another writer changed the Service the remedy edits.
fn changed_world() -> crate::tui::action::Loaded {
    let mut w = fixture::world();
    let svc = w
        .kube
        .services
        .as_mut()
        .and_then(|m| m.get_mut(&crate::world::ObjKey::new("billing", "invoices")))
        .expect("the fixture's Service");
    svc.meta.resource_version = format!("{}9", svc.meta.resource_version);
    svc.meta
        .annotations
        .insert("team".into(), "payments".into());
    fixture::loaded(w, true)
}

const CONFLICT: &str = "service billing/invoices changed since the plan (resourceVersion 7 → 9)";

/// Open the D07 remedy plan, confirm it, and answer the apply with a conflict.
fn conflicted(s: &mut State) -> (u64, Vec<Effect>) {
    let request = open_remedy_plan(s);
    let a = preview(s, request);
    update(s, a);
    key(s, KeyCode::Tab);
    let effects = key(s, KeyCode::Enter);
    assert!(matches!(effects.as_slice(), [Effect::ApplyPlan { .. }]));
    let effects = update(
        s,
        Action::PlanConflict {
            request,
            message: CONFLICT.into(),
        },
    );
    (request, effects)
}

fn dialog(s: &State) -> &crate::tui::state::PlanDialog {
    match &s.overlay {
        Some(Overlay::Plan(p)) => p,
        other => panic!("no plan dialog: {other:?}"),
    }
}

#[test]
fn a_conflict_waits_for_a_newer_world_then_plans_the_same_edit_on_it() {
    let mut s = fixture::state(160, 48, false);
    let (old_request, effects) = conflicted(&mut s);
    // The world in the app is still the one the plan was computed on: nothing to plan on yet.
    assert!(effects.is_empty(), "{effects:?}");
    let p = dialog(&s);
    assert!(!p.applying && !p.apply_focused, "Cancel focused again");
    assert!(p.note.as_deref().is_some_and(|n| n.contains(CONFLICT)));
    assert!(
        s.banner
            .as_ref()
            .is_some_and(|b| b.text.contains("planning again") && b.text.contains(CONFLICT))
    );
    let edit = p.edit.clone();

    // A world in which the Service has not changed yet (delivered before the watch saw the
    // other writer) would only reproduce the conflict: no plan on it.
    let effects = update(
        &mut s,
        Action::WorldLoaded(Box::new(fixture::loaded(fixture::world(), true))),
    );
    assert!(effects.is_empty(), "{effects:?}");
    assert!(
        dialog(&s).preview.is_none(),
        "the old plan cannot be applied"
    );
    // Apply cannot be focused while it waits (Enter stays on Cancel).
    key(&mut s, KeyCode::Tab);
    assert!(!dialog(&s).apply_focused);

    // The re-read arrives: the same edit is planned on it, under a new request.
    let effects = update(&mut s, Action::WorldLoaded(Box::new(changed_world())));
    let [
        Effect::ComputePlan {
            request,
            world,
            edit: again,
        },
    ] = effects.as_slice()
    else {
        panic!("{effects:?}")
    };
    assert_ne!(*request, old_request);
    assert_eq!(again, &edit);
    assert!(Arc::ptr_eq(world, s.world.as_ref().unwrap()));
    let p = dialog(&s);
    assert!(p.preview.is_none(), "the old plan is gone");
    assert!(
        Arc::ptr_eq(&p.world, world),
        "applied to the world it was planned on"
    );

    // A late answer for the old plan is dropped; the new one shows, with the note above it.
    update(
        &mut s,
        Action::PlanComputed {
            request: old_request,
            result: Err("old".into()),
        },
    );
    assert!(dialog(&s).error.is_none());
    let a = preview(&s, *request);
    update(&mut s, a);
    let p = dialog(&s);
    assert!(p.preview.is_some() && p.note.is_some());

    // Only one re-plan per conflict: a further world does not plan again.
    let effects = update(&mut s, Action::WorldLoaded(Box::new(changed_world())));
    assert!(effects.is_empty(), "{effects:?}");
}

#[test]
fn a_conflict_on_an_already_newer_world_plans_again_at_once() {
    let mut s = fixture::state(160, 48, false);
    let request = open_remedy_plan(&mut s);
    let a = preview(&s, request);
    update(&mut s, a);
    // The watch delivered the other writer's change while the dialog was open.
    update(&mut s, Action::WorldLoaded(Box::new(changed_world())));
    key(&mut s, KeyCode::Tab);
    key(&mut s, KeyCode::Enter);
    let effects = update(
        &mut s,
        Action::PlanConflict {
            request,
            message: CONFLICT.into(),
        },
    );
    assert!(
        matches!(effects.as_slice(), [Effect::ComputePlan { request: r, .. }] if *r != request),
        "{effects:?}"
    );
}

#[test]
fn a_conflict_for_a_closed_dialog_only_tells_the_user() {
    let mut s = fixture::state(160, 48, false);
    let (_, _) = conflicted(&mut s);
    s.overlay = None;
    let effects = update(
        &mut s,
        Action::PlanConflict {
            request: 999,
            message: CONFLICT.into(),
        },
    );
    assert!(effects.is_empty() && s.overlay.is_none());
    let effects = update(&mut s, Action::WorldLoaded(Box::new(changed_world())));
    assert!(effects.is_empty());
}
