//! Reducer tests of live sessions: generations, context switches, feed states, the in-view
//! hint; and snapshots of the header in each live state.

use std::sync::Arc;
use std::time::Duration;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::tui::fixture;
use crate::tui::source::SourceInfo;
use crate::tui::state::Feed;
use crate::world::World;

fn live_info() -> SourceInfo {
    SourceInfo {
        kind: "live",
        context: "prod".into(),
        feeds: vec!["kube", "aws"],
        sink: "the cluster and AWS".into(),
        contexts: vec!["prod".into(), "staging".into(), "dev".into()],
    }
}

/// A live state showing the demo world from session 0 on context `prod`.
fn live_state() -> State {
    let mut s = State::new(
        Arc::new(Default::default()),
        live_info(),
        false,
        fixture::now(),
    );
    s.width = 120;
    s.height = 30;
    let fx = update(&mut s, world(0, "prod", fixture::world()));
    assert!(
        fx.iter().all(|e| matches!(e, Effect::Focus { .. })),
        "{fx:?}"
    );
    s
}

fn feed(at_secs_ago: u64) -> Feed {
    Feed {
        loaded_at: Some(fixture::now() - Duration::from_secs(at_secs_ago)),
        ..Feed::default()
    }
}

fn world(generation: u64, context: &str, w: World) -> Action {
    let mut l = fixture::loaded(w, false);
    l.context = Some(format!("{context} · all namespaces"));
    Action::LiveWorld {
        generation,
        loaded: Box::new(l),
        feeds: vec![
            (
                "kube",
                Feed {
                    live: true,
                    ..feed(0)
                },
            ),
            ("aws", feed(0)),
        ],
    }
}

fn key(s: &mut State, code: KeyCode) -> Vec<Effect> {
    update(s, Action::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn command(s: &mut State, cmd: &str) -> Vec<Effect> {
    key(s, KeyCode::Char(':'));
    for c in cmd.chars() {
        key(s, KeyCode::Char(c));
    }
    key(s, KeyCode::Enter)
}

fn without_focus(fx: Vec<Effect>) -> Vec<Effect> {
    fx.into_iter()
        .filter(|e| !matches!(e, Effect::Focus { .. }))
        .collect()
}

fn small_world() -> World {
    let mut w = fixture::world();
    w.kube.services.as_mut().unwrap().pop_first();
    w
}

#[test]
fn a_live_world_brings_its_feed_states() {
    let mut s = live_state();
    assert_eq!(s.source.context, "prod · all namespaces");
    assert!(s.feeds["kube"].live);
    // A kube feed without events for longer than `stale_after` is still live, not stale.
    s.now = fixture::now() + Duration::from_secs(3600);
    assert!(!s.is_stale(&s.feeds["kube"]));
    assert!(s.is_stale(&s.feeds["aws"]), "a polled feed ages");
}

#[test]
fn ctx_switches_asynchronously_and_the_first_world_completes_it() {
    let mut s = live_state();
    let fx = without_focus(command(&mut s, "ctx staging"));
    assert_eq!(
        fx,
        vec![Effect::SwitchContext {
            generation: 1,
            context: "staging".into()
        }]
    );
    assert_eq!(
        s.switching.as_ref().map(|w| w.context.as_str()),
        Some("staging")
    );
    // The UI stays usable, and the current session keeps delivering meanwhile.
    command(&mut s, "lb");
    assert!(matches!(s.view(), View::Lbs(_)));
    let before = s.world.clone();
    update(&mut s, world(0, "prod", small_world()));
    assert!(!Arc::ptr_eq(
        s.world.as_ref().unwrap(),
        before.as_ref().unwrap()
    ));
    assert_eq!(s.generation, 0);
    // The new context's first world completes the switch.
    let fx = without_focus(update(&mut s, world(1, "staging", fixture::world())));
    assert_eq!(fx, vec![Effect::Activate { generation: 1 }]);
    assert_eq!(s.generation, 1);
    assert_eq!(s.switching, None);
    assert_eq!(s.source.context, "staging · all namespaces");
    assert!(
        s.banner
            .as_ref()
            .unwrap()
            .text
            .contains("switched to staging")
    );
    assert_eq!(s.views.len(), 1, "views of the old context are closed");
    // A late world of the old context is dropped.
    let shown = s.world.clone();
    update(&mut s, world(0, "prod", small_world()));
    assert!(Arc::ptr_eq(
        s.world.as_ref().unwrap(),
        shown.as_ref().unwrap()
    ));
    assert_eq!(s.source.context, "staging · all namespaces");
}

#[test]
fn esc_cancels_a_switch_and_its_late_results_are_dropped() {
    let mut s = live_state();
    command(&mut s, "ctx staging");
    let fx = without_focus(key(&mut s, KeyCode::Esc));
    assert_eq!(fx, vec![Effect::CancelSwitch { generation: 1 }]);
    assert_eq!(s.switching, None);
    assert!(s.banner.as_ref().unwrap().text.contains("still on prod"));
    let shown = s.world.clone();
    let fx = update(&mut s, world(1, "staging", small_world()));
    assert!(fx.is_empty(), "{fx:?}");
    assert!(Arc::ptr_eq(
        s.world.as_ref().unwrap(),
        shown.as_ref().unwrap()
    ));
    assert_eq!(s.generation, 0);
    // A failure of the cancelled session says nothing either.
    s.banner = None;
    update(
        &mut s,
        Action::LiveFailed {
            generation: 1,
            error: "late".into(),
        },
    );
    assert_eq!(s.banner, None);
}

#[test]
fn a_second_ctx_replaces_the_switch_under_way() {
    let mut s = live_state();
    command(&mut s, "ctx staging");
    let fx = without_focus(command(&mut s, "ctx dev"));
    assert_eq!(
        fx,
        vec![
            Effect::CancelSwitch { generation: 1 },
            Effect::SwitchContext {
                generation: 2,
                context: "dev".into()
            }
        ]
    );
    // `:ctx prod` while switching away from prod: stay.
    let fx = without_focus(command(&mut s, "ctx prod"));
    assert_eq!(fx, vec![Effect::CancelSwitch { generation: 2 }]);
    assert_eq!(s.switching, None);
}

#[test]
fn a_failed_switch_keeps_the_current_context() {
    let mut s = live_state();
    command(&mut s, "ctx staging");
    let shown = s.world.clone();
    update(
        &mut s,
        Action::LiveFailed {
            generation: 1,
            error: "Kubernetes: cannot reach the API server".into(),
        },
    );
    assert_eq!(s.switching, None);
    assert_eq!(s.generation, 0);
    assert!(Arc::ptr_eq(
        s.world.as_ref().unwrap(),
        shown.as_ref().unwrap()
    ));
    let b = s.banner.as_ref().unwrap();
    assert_eq!(b.level, Level::Error);
    assert!(
        b.text.contains("cannot switch to staging") && b.text.contains("still on prod"),
        "{}",
        b.text
    );
    assert!(s.feeds.values().all(|f| f.error.is_none()));
}

#[test]
fn the_context_list_switches_on_enter() {
    let mut s = live_state();
    command(&mut s, "ctx");
    let View::Contexts(lv) = s.view() else {
        panic!("{:?}", s.view().title())
    };
    assert_eq!(lv.cursor.current().map(String::as_str), Some("prod"));
    assert_eq!(lv.cursor.keys, vec!["prod", "staging", "dev"]);
    key(&mut s, KeyCode::Char('j'));
    let fx = without_focus(key(&mut s, KeyCode::Enter));
    assert_eq!(
        fx,
        vec![Effect::SwitchContext {
            generation: 1,
            context: "staging".into()
        }]
    );
}

#[test]
fn a_fixed_world_cannot_switch_contexts() {
    let mut s = fixture::state(80, 24, false);
    assert!(command(&mut s, "ctx staging").is_empty());
    assert!(s.banner.as_ref().unwrap().text.contains("needs a live"));
    assert_eq!(s.switching, None);
}

#[test]
fn an_aws_failure_marks_the_feed_stale_and_keeps_the_data() {
    let mut s = live_state();
    let shown = s.world.clone();
    update(
        &mut s,
        Action::FeedChanged {
            generation: 0,
            feed: "aws",
            state: Feed {
                error: Some("AWS: the endpoint is unreachable".into()),
                ..feed(0)
            },
        },
    );
    assert!(s.is_stale(&s.feeds["aws"]));
    assert!(!s.is_stale(&s.feeds["kube"]));
    assert!(Arc::ptr_eq(
        s.world.as_ref().unwrap(),
        shown.as_ref().unwrap()
    ));
    assert!(s.banner.as_ref().unwrap().text.contains("unreachable"));
    // Another session's feed changes are not this one's.
    update(
        &mut s,
        Action::FeedChanged {
            generation: 7,
            feed: "kube",
            state: Feed {
                error: Some("x".into()),
                ..Feed::default()
            },
        },
    );
    assert_eq!(s.feeds["kube"].error, None);
    // The next good poll clears it.
    update(&mut s, world(0, "prod", fixture::world()));
    assert!(!s.is_stale(&s.feeds["aws"]));
}

#[test]
fn the_lbs_in_view_are_announced_when_the_selection_changes() {
    let mut s = live_state();
    let first = s.focus.clone();
    assert!(!first.is_empty(), "the first world announces the selection");
    let mut announced = Vec::new();
    for _ in 0..6 {
        for e in key(&mut s, KeyCode::Char('j')) {
            if let Effect::Focus { lbs } = e {
                announced.push(lbs);
            }
        }
    }
    assert!(!announced.is_empty());
    for w in announced.windows(2) {
        assert_ne!(w[0], w[1], "only changes are announced");
    }
    assert_eq!(announced.last(), Some(&s.focus));
    // A local source is never told.
    let mut d = fixture::state(80, 24, false);
    assert!(key(&mut d, KeyCode::Char('j')).is_empty());
}

#[test]
fn the_reducer_never_polls_a_live_source() {
    let mut s = live_state();
    let later = fixture::now() + Duration::from_secs(3600);
    let fx = update(&mut s, Action::Tick(later));
    assert!(!fx.contains(&Effect::LoadWorld), "{fx:?}");
    // Ctrl-r still asks.
    let fx = update(&mut s, Action::Intent(crate::tui::config::Intent::Refresh));
    assert_eq!(without_focus(fx), vec![Effect::LoadWorld]);
}

fn header(s: &State) -> String {
    let mut t = Terminal::new(TestBackend::new(s.width, 3)).unwrap();
    t.draw(|f| crate::tui::ui::render(s, f)).unwrap();
    let buf = t.backend().buffer();
    (0..3)
        .map(|y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol())
                .collect::<String>()
                .trim_end()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn header_while_switching() {
    let mut s = live_state();
    command(&mut s, "ctx staging");
    insta::assert_snapshot!("live_header_switching", header(&s));
}

#[test]
fn header_when_throttled_with_notes_and_details_loading() {
    let mut s = live_state();
    let mut aws = feed(5);
    aws.throttled_at = Some(fixture::now() - Duration::from_secs(10));
    aws.progress = Some("details 3/12".into());
    let mut kube = feed(0);
    kube.live = true;
    kube.notes = vec!["pods: forbidden to list/watch pods in all namespaces".into()];
    update(
        &mut s,
        Action::FeedChanged {
            generation: 0,
            feed: "aws",
            state: aws,
        },
    );
    update(
        &mut s,
        Action::FeedChanged {
            generation: 0,
            feed: "kube",
            state: kube,
        },
    );
    insta::assert_snapshot!("live_header_throttled", header(&s));
    // Throttling is shown for a while, then no more.
    s.now = fixture::now() + crate::tui::state::THROTTLE_SHOWN;
    assert!(!header(&s).contains("throttled"));
}

#[test]
fn header_when_aws_is_stale_with_an_error() {
    let mut s = live_state();
    update(
        &mut s,
        Action::FeedChanged {
            generation: 0,
            feed: "aws",
            state: Feed {
                error: Some(
                    "AWS: ec2:DescribeSecurityGroups: the credentials expired; run `aws sso login`"
                        .into(),
                ),
                ..feed(90)
            },
        },
    );
    insta::assert_snapshot!("live_header_stale", header(&s));
}

#[test]
fn ctx_lists_the_contexts_and_what_each_feed_cannot_show() {
    let mut s = live_state();
    let mut kube = feed(0);
    kube.live = true;
    kube.notes = vec![
        "pods: forbidden to list/watch pods in all namespaces (no); unknown, not empty".into(),
    ];
    update(
        &mut s,
        Action::FeedChanged {
            generation: 0,
            feed: "kube",
            state: kube,
        },
    );
    update(
        &mut s,
        Action::FeedChanged {
            generation: 0,
            feed: "aws",
            state: Feed {
                error: Some("AWS: the endpoint http://127.0.0.1:9 is unreachable".into()),
                ..feed(30)
            },
        },
    );
    command(&mut s, "ctx");
    key(&mut s, KeyCode::Char('j'));
    let mut t = Terminal::new(TestBackend::new(100, 16)).unwrap();
    s.width = 100;
    s.height = 16;
    relayout(&mut s);
    t.draw(|f| crate::tui::ui::render(&s, f)).unwrap();
    insta::assert_snapshot!("live_contexts", t.backend());
}
