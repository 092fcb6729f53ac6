//! Whole-screen snapshots of every view on the demo world, at 80×24 (tree fallback) and 160×48
//! (columns), plus assertions on the colours that carry meaning (text snapshots lose them).

use std::sync::Arc;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::{Color, Modifier};

use super::action::Action;
use super::config::{Glyphs, UiConfig};
use super::fixture;
use super::state::{Overlay, State};
use super::update::update;

const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];

fn draw(s: &State) -> Terminal<TestBackend> {
    let mut t = match Terminal::new(TestBackend::new(s.width, s.height)) {
        Ok(t) => t,
        Err(e) => panic!("{e}"),
    };
    if let Err(e) = t.draw(|f| super::ui::render(s, f)) {
        panic!("{e}");
    }
    t
}

fn keys(s: &mut State, keys: &str) {
    for c in keys.chars() {
        let code = match c {
            '\n' => KeyCode::Enter,
            '\t' => KeyCode::Tab,
            '\x1b' => KeyCode::Esc,
            '↓' => KeyCode::Down,
            '↑' => KeyCode::Up,
            c => KeyCode::Char(c),
        };
        update(s, Action::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    }
}

/// A state at `size` after `setup`, drawn and snapshotted as `name_WxH`.
fn shot(name: &str, setup: &dyn Fn(&mut State)) {
    for (w, h) in SIZES {
        let mut s = fixture::state(w, h, false);
        setup(&mut s);
        let t = draw(&s);
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), t.backend());
    }
}

fn select(s: &mut State, needle: &str) {
    // `/needle` then Enter keeps the filter, leaving the match selected.
    keys(s, &format!("/{needle}\n"));
}

#[test]
fn resources() {
    shot("resources", &|_| {});
}

#[test]
fn graph_blocked_targets() {
    shot("graph_invoices", &|s| {
        select(s, "invoices");
        keys(s, "\nl");
    });
}

#[test]
fn graph_internet_exposed() {
    shot("graph_web", &|s| {
        select(s, "default");
        keys(s, "\n");
    });
}

#[test]
fn graph_missing_sg_and_no_lb() {
    shot("graph_search", &|s| {
        select(s, "search-api");
        keys(s, "\n");
    });
}

#[test]
fn graph_ingress_group() {
    shot("graph_portal", &|s| {
        select(s, "portal");
        keys(s, "\n");
    });
}

#[test]
fn security_groups() {
    shot("sgs", &|s| keys(s, ":sg sg-0nodes\n"));
}

#[test]
fn load_balancers() {
    shot("lbs", &|s| keys(s, ":lb\njj"));
}

#[test]
fn findings() {
    shot("findings", &|s| keys(s, ":findings\n"));
}

#[test]
fn drift() {
    shot("drift", &|s| keys(s, ":drift\n"));
}

#[test]
fn contexts() {
    shot("contexts", &|s| keys(s, ":ctx\n"));
}

#[test]
fn help() {
    shot("help", &|s| keys(s, "?"));
}

#[test]
fn annotation_editor() {
    shot("edit_annotations", &|s| {
        select(s, "invoices");
        keys(s, "e↓yes");
    });
}

#[test]
fn rule_editor() {
    shot("edit_rules", &|s| {
        keys(s, ":sg sg-0bastion\nrtcp:443:10.0.0.1/8")
    });
}

#[test]
fn lbc_owned_sg_offer() {
    shot("offer", &|s| keys(s, ":sg sg-0web\nr"));
}

#[test]
fn plan_preview() {
    shot("plan", &|s| {
        keys(s, ":findings\nf");
        let Some(Overlay::Plan(p)) = &s.overlay else {
            panic!("no plan")
        };
        let pv = super::bridge::preview(&p.world, &p.edit).map(Box::new);
        let request = p.request;
        update(
            s,
            Action::PlanComputed {
                request,
                result: pv,
            },
        );
    });
}

#[test]
fn command_prompt_and_banner() {
    shot("command", &|s| keys(s, ":nope\n:lb"));
}

#[test]
fn readonly_and_ascii() {
    for (w, h) in SIZES {
        let cfg = UiConfig {
            glyphs: Glyphs::ASCII,
            ..UiConfig::default()
        };
        let mut s = fixture::state(w, h, true);
        s.config = Arc::new(cfg);
        update(
            &mut s,
            Action::Resize {
                width: w,
                height: h,
            },
        );
        select(&mut s, "invoices");
        keys(&mut s, "\ne");
        insta::assert_snapshot!(format!("readonly_ascii_{w}x{h}"), draw(&s).backend());
    }
}

// ---- colours that carry meaning ----

fn find(buf: &Buffer, needle: &str) -> (u16, u16) {
    for y in 0..buf.area.height {
        let row: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
        if let Some(byte) = row.find(needle) {
            let x = row[..byte].chars().count() as u16;
            return (x, y);
        }
    }
    panic!("{needle:?} not on screen");
}

fn fg(buf: &Buffer, at: (u16, u16)) -> Option<Color> {
    buf[at].fg.into()
}

#[test]
fn blocked_hops_are_red_allowed_ones_green() {
    let mut s = fixture::state(160, 48, false);
    select(&mut s, "invoices");
    keys(&mut s, "\n");
    let t = draw(&s);
    let buf = t.backend().buffer();
    let (x, y) = find(buf, "✗▶");
    assert_eq!(fg(buf, (x, y)), Some(Color::Red), "the break mark");
    assert_eq!(
        fg(buf, (x + 1, y)),
        Some(Color::Red),
        "the arrow into a blocked target"
    );
    assert!(buf[(x, y)].modifier.contains(Modifier::BOLD));

    let mut s = fixture::state(160, 48, false);
    select(&mut s, "default");
    keys(&mut s, "\n");
    let t = draw(&s);
    let buf = t.backend().buffer();
    let (x, y) = find(buf, "▶✓ eni-0node1");
    assert_eq!(fg(buf, (x, y)), Some(Color::Green), "an allowed hop");
    let (x, y) = find(buf, "◉ sg-0web");
    assert_eq!(
        fg(buf, (x, y)),
        Some(Color::Red),
        "internet exposure is red"
    );
}

#[test]
fn missing_sg_placeholder_is_red() {
    let mut s = fixture::state(160, 48, false);
    select(&mut s, "search-api");
    keys(&mut s, "\n");
    let t = draw(&s);
    let buf = t.backend().buffer();
    let (x, y) = find(buf, "? search-frontend");
    assert_eq!(fg(buf, (x, y)), Some(Color::Red));
    assert!(buf[(x, y)].modifier.contains(Modifier::CROSSED_OUT));
    // The LB placeholder starts selected; move off it to see its own colour.
    keys(&mut s, "h");
    let t = draw(&s);
    let buf = t.backend().buffer();
    let (x, y) = find(buf, "no load balancer");
    assert_eq!(fg(buf, (x, y)), Some(Color::Red));
}

#[test]
fn tree_fallback_marks_blocked_hops_in_red() {
    let mut s = fixture::state(80, 24, false);
    select(&mut s, "invoices");
    keys(&mut s, "\n");
    let t = draw(&s);
    let buf = t.backend().buffer();
    let (x, y) = find(buf, "✗ eni-0node1");
    assert_eq!(fg(buf, (x, y)), Some(Color::Red));
    let (x, y) = find(
        buf,
        "sg-0nodes has no rule for tcp/30643 from sg-0invoiceslb",
    );
    assert_eq!(fg(buf, (x, y)), Some(Color::Red));
}

#[test]
fn readonly_badge_selection_and_exposure_column() {
    let s = fixture::state(160, 48, true);
    let t = draw(&s);
    let buf = t.backend().buffer();
    let (x, y) = find(buf, " RO ");
    assert_eq!(buf[(x, y)].bg, Color::Yellow);
    // The cursor row is drawn in the selection style.
    let (x, y) = find(buf, "report-api");
    assert_eq!(buf[(x, y)].bg, Color::Cyan);
    let (x, y) = find(buf, "internet tcp/443");
    assert_eq!(fg(buf, (x, y)), Some(Color::Red));
    assert!(
        !t.backend().to_string().contains(" e edit"),
        "edit hints are hidden in read-only mode"
    );
}

#[test]
fn plan_dialog_focuses_cancel() {
    let mut s = fixture::state(160, 48, false);
    keys(&mut s, ":findings\nf");
    let t = draw(&s);
    let buf = t.backend().buffer();
    let (x, y) = find(buf, " Cancel ");
    assert_eq!(buf[(x, y)].bg, Color::Cyan, "Cancel is focused first");
    let (x, y) = find(buf, " Apply ");
    assert!(
        buf[(x, y)].modifier.contains(Modifier::CROSSED_OUT),
        "Apply is disabled while planning"
    );
}

// ---- frame cost ----

fn best_frame(s: &State) -> std::time::Duration {
    let mut t = match Terminal::new(TestBackend::new(s.width, s.height)) {
        Ok(t) => t,
        Err(e) => panic!("{e}"),
    };
    (0..7)
        .map(|_| {
            let start = std::time::Instant::now();
            if let Err(e) = t.draw(|f| super::ui::render(s, f)) {
                panic!("{e}");
            }
            start.elapsed()
        })
        .min()
        .unwrap_or_default()
}

#[test]
fn a_frame_costs_the_visible_rows_not_all_rows() {
    let big = best_frame(&super::bench::table_state(10_000, 160, 48));
    let small = best_frame(&super::bench::table_state(100, 160, 48));
    let graph = best_frame(&super::bench::graph_state(160, 48));
    println!("frame (debug build): 10k rows {big:?}, 100 rows {small:?}, 200-node graph {graph:?}");
    assert!(
        big < small * 4 + std::time::Duration::from_millis(2),
        "10k rows {big:?} vs 100 rows {small:?}: rendering must not walk every row"
    );
    assert!(
        graph < std::time::Duration::from_millis(100),
        "graph frame {graph:?}"
    );
}

/// A large target group's count is shown whole (`✓ 250/250`), not cut to the demo's width.
#[test]
fn reach_column_fits_large_counts() {
    for (w, h) in SIZES {
        let mut s = super::bench::table_state(3, w, h);
        let mut data = (*s.data).clone();
        data.resources[0].reach = super::model::graph::ReachCount {
            reachable: 250,
            blocked: 0,
            unknown: 0,
        };
        data.resources[1].reach.reachable = 1000;
        s.data = Arc::new(data);
        let screen = format!("{}", draw(&s).backend());
        assert!(screen.contains("✓ 250/250"), "{w}x{h}:\n{screen}");
        assert!(screen.contains("✗ 1000/1001"), "{w}x{h}:\n{screen}");
    }
}
