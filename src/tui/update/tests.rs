//! Reducer tests: feed actions, check the state and the effects. No terminal involved.

use std::sync::Arc;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::core::plan::{Edit, ResourceRef};
use crate::tui::fixture;
use crate::tui::model::plan::PlanPreview;
use crate::tui::state::{GraphShape, KindFilter, Overlay};
use crate::world::ObjKey;

pub(super) fn key(s: &mut State, code: KeyCode) -> Vec<Effect> {
    update(s, Action::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn ch(s: &mut State, c: char) -> Vec<Effect> {
    key(s, KeyCode::Char(c))
}

fn typed(s: &mut State, text: &str) {
    for c in text.chars() {
        ch(s, c);
    }
}

fn command(s: &mut State, cmd: &str) -> Vec<Effect> {
    ch(s, ':');
    typed(s, cmd);
    key(s, KeyCode::Enter)
}

fn svc(ns: &str, name: &str) -> ResourceRef {
    ResourceRef::Service(ObjKey::new(ns, name))
}

fn selected_resource(s: &State) -> Option<ResourceRef> {
    match s.view() {
        View::Resources(_, lv) => lv.cursor.current().cloned(),
        _ => None,
    }
}

fn select_row(s: &mut State, r: &ResourceRef) {
    for _ in 0..10 {
        if selected_resource(s).as_ref() == Some(r) {
            return;
        }
        ch(s, 'j');
    }
    panic!("{r} not in the table");
}

#[test]
fn start_asks_for_the_world() {
    let mut s = State::new(
        Arc::new(Default::default()),
        fixture::info(),
        false,
        fixture::now(),
    );
    assert_eq!(start(&mut s), vec![Effect::LoadWorld]);
    assert!(s.loading && s.wants_ticks());
}

#[test]
fn world_arrival_fills_the_table_in_id_order() {
    let s = fixture::state(160, 48, false);
    let View::Resources(KindFilter::All, lv) = s.view() else {
        panic!()
    };
    let keys: Vec<String> = lv.cursor.keys.iter().map(|k| k.to_string()).collect();
    assert_eq!(keys.len(), 14, "{keys:?}");
    assert_eq!(keys[0], "service/batch/report-api");
    assert_eq!(
        keys[13], "ingress/shop/storefront",
        "services first, then ingresses, each by ns/name"
    );
    assert!(!s.loading);
    assert_eq!(s.feeds["world"].loaded_at, Some(fixture::now()));
}

#[test]
fn selection_survives_a_refresh_that_adds_rows() {
    let mut s = fixture::state(160, 48, false);
    select_row(&mut s, &svc("search", "search-api"));
    let mut w = fixture::world();
    let mut extra = w
        .kube
        .services
        .as_ref()
        .unwrap()
        .values()
        .next()
        .unwrap()
        .clone();
    extra.meta.namespace = "aaa".into();
    w.kube
        .services
        .as_mut()
        .unwrap()
        .insert(extra.meta.key(), extra);
    update(
        &mut s,
        Action::WorldLoaded(Box::new(fixture::loaded(w, true))),
    );
    assert_eq!(selected_resource(&s), Some(svc("search", "search-api")));
}

#[test]
fn enter_opens_the_graph_and_esc_comes_back() {
    let mut s = fixture::state(160, 48, false);
    select_row(&mut s, &svc("default", "web"));
    key(&mut s, KeyCode::Enter);
    let View::Graph(g) = s.view() else {
        panic!("no graph")
    };
    assert_eq!(g.root, svc("default", "web"));
    assert!(
        matches!(g.shape, GraphShape::Columns(_)),
        "160 columns fit the graph"
    );
    assert_eq!(
        g.selected.as_deref(),
        Some(format!("lb:{}", fixture::WEB_LB).as_str())
    );
    key(&mut s, KeyCode::Esc);
    assert!(matches!(s.view(), View::Resources(..)));
    assert_eq!(selected_resource(&s), Some(svc("default", "web")));
}

#[test]
fn narrow_terminals_get_the_tree_and_resize_switches() {
    let mut s = fixture::state(80, 24, false);
    select_row(&mut s, &svc("default", "web"));
    key(&mut s, KeyCode::Enter);
    let View::Graph(g) = s.view() else { panic!() };
    assert!(matches!(g.shape, GraphShape::Tree(_)));
    let before = g.selected.clone();
    update(
        &mut s,
        Action::Resize {
            width: 160,
            height: 48,
        },
    );
    let View::Graph(g) = s.view() else { panic!() };
    assert!(matches!(g.shape, GraphShape::Columns(_)));
    assert_eq!(
        g.selected, before,
        "the selection is kept by key across layouts"
    );
}

#[test]
fn graph_cursor_moves_within_and_across_columns() {
    let mut s = fixture::state(160, 48, false);
    select_row(&mut s, &svc("default", "web"));
    key(&mut s, KeyCode::Enter);
    let sel = |s: &State| match s.view() {
        View::Graph(g) => g.selected.clone().unwrap(),
        _ => panic!(),
    };
    ch(&mut s, 'h');
    assert_eq!(sel(&s), "sg:sg-0web");
    ch(&mut s, 'l');
    ch(&mut s, 'l');
    assert_eq!(sel(&s), "sg:sg-0backend");
    ch(&mut s, 'l');
    let first_target = sel(&s);
    assert!(first_target.starts_with("eni:"), "{first_target}");
    ch(&mut s, 'j');
    assert_ne!(sel(&s), first_target);
    assert!(sel(&s).starts_with("eni:"));
    ch(&mut s, 'j');
    assert!(sel(&s).starts_with("eni:"), "j stays in the column");
    // Enter on an SG node opens the SG view on it.
    ch(&mut s, 'h');
    key(&mut s, KeyCode::Enter);
    let View::Sgs(lv) = s.view() else {
        panic!("no SG view")
    };
    assert_eq!(lv.cursor.current().map(String::as_str), Some("sg-0backend"));
}

#[test]
fn commands_switch_views_and_unknown_ones_say_so() {
    let mut s = fixture::state(160, 48, false);
    command(&mut s, "sg");
    assert!(matches!(s.view(), View::Sgs(_)));
    command(&mut s, "lb");
    assert!(matches!(s.view(), View::Lbs(_)));
    assert_eq!(s.views.len(), 2, "commands do not pile views up");
    command(&mut s, "ing");
    assert_eq!(s.views.len(), 1);
    let View::Resources(KindFilter::Ingresses, lv) = s.view() else {
        panic!()
    };
    assert_eq!(lv.cursor.keys.len(), 3);
    command(&mut s, "nope");
    assert!(
        s.banner
            .as_ref()
            .unwrap()
            .text
            .contains("unknown command :nope")
    );
    assert!(!s.quit);
    command(&mut s, "q");
    assert!(s.quit);
}

#[test]
fn filter_narrows_and_esc_clears() {
    let mut s = fixture::state(160, 48, false);
    ch(&mut s, '/');
    typed(&mut s, "invo");
    let count = |s: &State| match s.view() {
        View::Resources(_, lv) => lv.cursor.keys.len(),
        _ => 0,
    };
    assert_eq!(count(&s), 1, "filters as you type");
    key(&mut s, KeyCode::Enter);
    assert_eq!(count(&s), 1, "enter keeps the filter");
    ch(&mut s, '/');
    key(&mut s, KeyCode::Esc);
    assert_eq!(count(&s), 14);
    ch(&mut s, '/');
    typed(&mut s, "!svc");
    assert_eq!(count(&s), 3, "! inverts");
}

#[test]
fn sort_cycles_and_reverses() {
    let mut s = fixture::state(160, 48, false);
    ch(&mut s, 's');
    ch(&mut s, 'S');
    let View::Resources(_, lv) = s.view() else {
        panic!()
    };
    assert_eq!((lv.sort, lv.reverse), (1, true));
    // By kind (ing < svc), then id; reversed as a whole.
    assert_eq!(lv.cursor.keys.first(), Some(&svc("streaming", "syslog")));
    assert_eq!(
        lv.cursor.keys.last(),
        Some(&ResourceRef::Ingress(ObjKey::new(
            "accounts",
            "accounts-api"
        )))
    );
}

#[test]
fn readonly_refuses_every_edit_path() {
    let mut s = fixture::state(160, 48, true);
    for c in ['e', 'r', 'f'] {
        assert!(ch(&mut s, c).is_empty());
        assert!(s.overlay.is_none(), "{c}");
        assert!(s.banner.as_ref().unwrap().text.contains("read-only"));
    }
    command(&mut s, "findings");
    assert!(ch(&mut s, 'f').is_empty());
    assert!(s.overlay.is_none());
    // Even a direct call cannot open a plan.
    let edit = Edit::Annotations {
        resource: svc("default", "web"),
        set: Default::default(),
        unset: vec![],
    };
    assert!(edit::start_plan(&mut s, edit, "x".into(), None).is_empty());
    assert!(s.overlay.is_none());
}

pub(super) fn open_remedy_plan(s: &mut State) -> u64 {
    command(s, "findings");
    let View::Findings(lv) = s.view() else {
        panic!()
    };
    assert_eq!(
        lv.cursor.current().map(String::as_str),
        Some("D07 service/billing/invoices"),
        "worst first, then resource"
    );
    let effects = ch(s, 'f');
    let [Effect::ComputePlan { request, edit, .. }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert!(
        matches!(edit, Edit::Annotations { set, .. } if set.get(fixture::MANAGE).map(String::as_str) == Some("true"))
    );
    *request
}

pub(super) fn preview(s: &State, request: u64) -> Action {
    let Some(Overlay::Plan(p)) = &s.overlay else {
        panic!("no plan dialog")
    };
    let pv = crate::tui::bridge::preview(&p.world, &p.edit).unwrap();
    Action::PlanComputed {
        request,
        result: Ok(Box::new(pv)),
    }
}

#[test]
fn remedy_opens_a_plan_with_cancel_focused() {
    let mut s = fixture::state(160, 48, false);
    let request = open_remedy_plan(&mut s);
    // A late answer to an older request is dropped.
    let stale = Action::PlanComputed {
        request: request + 7,
        result: Err("old".into()),
    };
    update(&mut s, stale);
    let Some(Overlay::Plan(p)) = &s.overlay else {
        panic!()
    };
    assert!(p.error.is_none() && p.preview.is_none());
    let a = preview(&s, request);
    update(&mut s, a);
    let Some(Overlay::Plan(p)) = &s.overlay else {
        panic!()
    };
    assert!(p.preview.is_some() && !p.apply_focused);
    // Enter on the focused Cancel closes without applying.
    assert!(key(&mut s, KeyCode::Enter).is_empty());
    assert!(s.overlay.is_none());
}

#[test]
fn confirm_applies_and_the_new_world_replaces_the_old() {
    let mut s = fixture::state(160, 48, false);
    let invoices = svc("billing", "invoices");
    assert_eq!(
        s.data.graphs[&invoices].reach.blocked, 2,
        "D07: both targets blocked"
    );
    let request = open_remedy_plan(&mut s);
    let a = preview(&s, request);
    update(&mut s, a);
    key(&mut s, KeyCode::Tab);
    let effects = key(&mut s, KeyCode::Enter);
    let [Effect::ApplyPlan { plan, world, .. }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    // A second Enter while applying does nothing.
    assert!(key(&mut s, KeyCode::Enter).is_empty());
    let after = crate::core::plan::apply::apply_to_world(world, plan);
    let report = crate::tui::source::local_report(plan);
    update(
        &mut s,
        Action::PlanApplied {
            request,
            loaded: Some(Box::new(fixture::loaded(after, true))),
            report,
            message: "applied 2 changes to memory".into(),
        },
    );
    assert!(s.overlay.is_none());
    assert!(
        s.banner
            .as_ref()
            .unwrap()
            .text
            .starts_with("applied 2 changes to memory")
    );
    let w = s.world.as_ref().unwrap();
    let inv = &w.kube.services.as_ref().unwrap()[&ObjKey::new("billing", "invoices")];
    assert_eq!(
        inv.meta
            .annotations
            .get(fixture::MANAGE)
            .map(String::as_str),
        Some("true")
    );
    assert!(
        matches!(s.view(), View::Findings(_)),
        "the view stays where it was"
    );
}

#[test]
fn apply_failure_keeps_the_dialog_and_says_why() {
    let mut s = fixture::state(160, 48, false);
    let request = open_remedy_plan(&mut s);
    let a = preview(&s, request);
    update(&mut s, a);
    key(&mut s, KeyCode::Right);
    key(&mut s, KeyCode::Enter);
    update(
        &mut s,
        Action::PlanApplyFailed {
            request,
            error: "disk full".into(),
        },
    );
    let Some(Overlay::Plan(p)) = &s.overlay else {
        panic!()
    };
    assert!(!p.applying && p.error.as_deref() == Some("disk full"));
    assert!(s.banner.as_ref().unwrap().text.contains("disk full"));
}

#[test]
fn empty_plans_cannot_be_applied() {
    let mut s = fixture::state(160, 48, false);
    let request = open_remedy_plan(&mut s);
    let pv = PlanPreview::new(Default::default(), "No changes.\n");
    update(
        &mut s,
        Action::PlanComputed {
            request,
            result: Ok(Box::new(pv)),
        },
    );
    key(&mut s, KeyCode::Tab);
    let Some(Overlay::Plan(p)) = &s.overlay else {
        panic!()
    };
    assert!(!p.apply_focused, "focus cannot move to a disabled Apply");
    assert!(key(&mut s, KeyCode::Enter).is_empty());
}

#[test]
fn annotation_editor_validates_as_you_type() {
    let mut s = fixture::state(160, 48, false);
    select_row(&mut s, &svc("billing", "invoices"));
    ch(&mut s, 'e');
    let Some(Overlay::Annotations(e)) = &s.overlay else {
        panic!("no editor")
    };
    assert_eq!(
        e.fields[0].input.text, "sg-0invoiceslb",
        "current values are loaded"
    );
    key(&mut s, KeyCode::Down);
    typed(&mut s, "yes");
    let Some(Overlay::Annotations(e)) = &s.overlay else {
        panic!()
    };
    assert!(
        e.fields[1]
            .verdict
            .error
            .as_deref()
            .unwrap()
            .contains("strconv.ParseBool")
    );
    assert!(
        key(&mut s, KeyCode::Enter).is_empty(),
        "invalid forms do not plan"
    );
    assert!(matches!(s.overlay, Some(Overlay::Annotations(_))));
    for _ in 0..3 {
        key(&mut s, KeyCode::Backspace);
    }
    typed(&mut s, "true");
    let effects = key(&mut s, KeyCode::Enter);
    let [Effect::ComputePlan { edit, .. }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    let Edit::Annotations { set, unset, .. } = edit else {
        panic!()
    };
    assert_eq!(set.get(fixture::MANAGE).map(String::as_str), Some("true"));
    assert!(unset.is_empty());
    // Cancel in the plan goes back to the editor, text intact.
    key(&mut s, KeyCode::Esc);
    let Some(Overlay::Annotations(e)) = &s.overlay else {
        panic!("editor not restored")
    };
    assert_eq!(e.fields[1].input.text, "true");
}

#[test]
fn rule_edit_on_an_lbc_sg_offers_the_annotation() {
    let mut s = fixture::state(160, 48, false);
    command(&mut s, "sg sg-0web");
    ch(&mut s, 'r');
    let Some(Overlay::Offer(o)) = &s.overlay else {
        panic!("{:?}", s.overlay)
    };
    assert_eq!(
        o.annotation,
        Some((svc("default", "web"), "load-balancer-source-ranges"))
    );
    key(&mut s, KeyCode::Enter);
    let Some(Overlay::Annotations(e)) = &s.overlay else {
        panic!()
    };
    assert_eq!(e.fields[e.focus].def.suffix, "load-balancer-source-ranges");
}

#[test]
fn rule_editor_on_a_user_sg() {
    let mut s = fixture::state(160, 48, false);
    command(&mut s, "sg sg-0nodes");
    ch(&mut s, 'r');
    let Some(Overlay::Rules(e)) = &s.overlay else {
        panic!("{:?}", s.overlay)
    };
    let ssh = e
        .rules
        .iter()
        .position(|r| r.rule.from_port == Some(22))
        .unwrap();
    let n = e.rules.len();
    typed(&mut s, "tcp:443:10.0.0.1/8");
    let Some(Overlay::Rules(e)) = &s.overlay else {
        panic!()
    };
    assert!(e.error.as_deref().unwrap().contains("host bits"));
    assert!(key(&mut s, KeyCode::Enter).is_empty());
    for _ in 0.."10.0.0.1/8".len() {
        key(&mut s, KeyCode::Backspace);
    }
    typed(&mut s, "10.0.0.0/8:vpn");
    // Mark the SSH rule for removal: up from the input line to its row.
    for _ in ssh..n {
        key(&mut s, KeyCode::Up);
    }
    ch(&mut s, ' ');
    let effects = key(&mut s, KeyCode::Enter);
    let [
        Effect::ComputePlan {
            edit: Edit::Rules { sg, add, remove },
            ..
        },
    ] = effects.as_slice()
    else {
        panic!("{effects:?}")
    };
    assert_eq!(sg, "sg-0nodes");
    assert_eq!(add.len(), 1);
    assert_eq!(add[0].description, "vpn");
    assert_eq!(remove.len(), 1);
    assert_eq!(remove[0].from_port, Some(22));
}

#[test]
fn banner_expires_and_load_failure_keeps_data() {
    let mut s = fixture::state(160, 48, false);
    update(
        &mut s,
        Action::WorldLoadFailed {
            error: "boom".into(),
            at: fixture::now(),
        },
    );
    assert!(s.banner.is_some());
    assert!(s.is_stale(&s.feeds["world"]));
    assert_eq!(s.data.resources.len(), 14, "last good data is kept");
    update(
        &mut s,
        Action::Tick(fixture::now() + std::time::Duration::from_secs(60)),
    );
    assert!(s.banner.is_none());
    let effects = update(
        &mut s,
        Action::Key(KeyEvent::new(KeyCode::Char('r'), KeyModifiers::CONTROL)),
    );
    assert_eq!(effects, vec![Effect::LoadWorld]);
    assert!(s.loading);
}

#[test]
fn help_opens_and_closes_without_side_effects() {
    let mut s = fixture::state(80, 24, false);
    ch(&mut s, '?');
    assert!(s.help.is_some());
    ch(&mut s, 'e');
    assert!(s.overlay.is_none(), "keys go to help while it is open");
    key(&mut s, KeyCode::Esc);
    assert!(s.help.is_none());
}

#[test]
fn quit_keys_and_signals() {
    let mut s = fixture::state(80, 24, false);
    ch(&mut s, 'q');
    assert!(s.quit);
    let mut s = fixture::state(80, 24, false);
    update(&mut s, Action::Quit);
    assert!(s.quit);
}
