//! Rendering: a pure function of the State. Views, then overlays in a fixed z-order.

pub mod chrome;
pub mod graph;
pub mod overlays;
pub mod style;
pub mod tables;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph};

use super::layout;
use super::model::plan::{Tone, classify};
use super::state::{ListView, Overlay, State, View};

pub fn render(s: &State, f: &mut Frame) {
    let a = layout::areas(f.area(), s.banner.is_some());
    chrome::header(s, f, a.header);
    if let Some(b) = a.banner {
        chrome::banner(s, f, b);
    }
    match s.view() {
        View::Resources(kind, lv) => tables::resources(s, f, a.body, *kind, lv),
        View::Graph(g) => graph::render(s, f, a.body, g),
        View::Sgs(lv) => tables::sgs(s, f, a.body, lv),
        View::Lbs(lv) => tables::lbs(s, f, a.body, lv),
        View::Findings(lv) => tables::findings(s, f, a.body, lv),
        View::Drift { scroll } => drift(s, f, a.body, *scroll),
        View::Contexts(lv) => contexts(s, f, a.body, lv),
    }
    chrome::footer(s, f, a.footer);
    match &s.overlay {
        Some(Overlay::Annotations(e)) => overlays::annotations(s, f, a.body, e),
        Some(Overlay::Rules(e)) => overlays::rules(s, f, a.body, e),
        Some(Overlay::Offer(o)) => overlays::offer(s, f, a.body, o),
        Some(Overlay::Plan(p)) => overlays::plan(s, f, a.body, p),
        None => {}
    }
    if let Some(scroll) = s.help {
        overlays::help(s, f, a.body, scroll);
    }
}

fn titled<'a>(s: &State, title: String) -> Block<'a> {
    Block::bordered()
        .border_style(s.config.skin.border)
        .title(ratatui::text::Span::styled(title, s.config.skin.title))
}

fn drift(s: &State, f: &mut Frame, body: Rect, scroll: u16) {
    let skin = &s.config.skin;
    let lines: Vec<Line> = if s.world.is_none() {
        vec![Line::styled("no world loaded", skin.muted)]
    } else {
        let mut v = vec![Line::styled(
            "What the LBC would change in AWS if it reconciled everything now:",
            skin.muted,
        )];
        v.extend(classify(&s.data.drift_text).into_iter().map(|l| {
            let st = match l.tone {
                Tone::Heading => skin.title,
                Tone::Added => skin.added,
                Tone::Removed => skin.removed,
                Tone::Changed => skin.changed,
                Tone::Error => skin.error,
                Tone::Warn => skin.warn,
                Tone::Plain => skin.base,
            };
            Line::styled(l.text, st)
        }));
        v
    };
    let max = lines
        .len()
        .saturating_sub(usize::from(body.height.saturating_sub(2)));
    let scroll = usize::from(scroll).min(max) as u16;
    let title = format!(" drift ({} changes) ", s.data.drift_changes);
    f.render_widget(
        Paragraph::new(lines)
            .scroll((scroll, 0))
            .block(titled(s, title)),
        body,
    );
}

fn contexts(s: &State, f: &mut Frame, body: Rect, lv: &ListView<String>) {
    let skin = &s.config.skin;
    let mut lines = vec![
        Line::from(format!("current: {} ({})", s.source.context, s.source.kind)),
        Line::from(format!("edits go to: {}", s.source.sink)),
        Line::raw(""),
    ];
    if s.source.contexts.is_empty() {
        lines.push(Line::styled(
            "Switching contexts needs a live source (a kubeconfig); this session reads one fixed world.",
            skin.muted,
        ));
    } else {
        if let Some(sw) = &s.switching {
            lines.push(Line::styled(
                format!("switching to {}… (Esc cancels)", sw.context),
                skin.warn,
            ));
        }
        lines.push(Line::styled("contexts (Enter switches):", skin.muted));
        let current = s.source.context.split(" · ").next().unwrap_or_default();
        for name in &lv.cursor.keys {
            let mark = if name == current { "* " } else { "  " };
            let style = if lv.cursor.current() == Some(name) {
                skin.selected
            } else {
                skin.base
            };
            lines.push(Line::styled(format!("{mark}{name}"), style));
        }
    }
    // What each feed cannot show, and why its data is stale.
    for (name, feed) in &s.feeds {
        if let Some(e) = &feed.error {
            lines.push(Line::styled(format!("{name}: stale: {e}"), skin.warn));
        }
        for n in &feed.notes {
            lines.push(Line::styled(format!("{name}: {n}"), skin.warn));
        }
    }
    f.render_widget(
        Paragraph::new(lines).block(titled(s, " contexts ".into())),
        body,
    );
}
