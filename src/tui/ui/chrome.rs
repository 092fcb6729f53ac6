//! Header, banner and footer: who and where we are, how fresh the data is, what keys do.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::style::{clock, severity};
use crate::tui::config::keymap::{Intent, Section};
use crate::tui::model::Severity;
use crate::tui::state::{Feed, Level, Mode, State, View};

fn sep(s: &State) -> Span<'static> {
    Span::styled(
        if s.config.glyphs.ascii {
            " | "
        } else {
            " │ "
        },
        s.config.skin.muted,
    )
}

pub fn header(s: &State, f: &mut Frame, area: Rect) {
    let skin = &s.config.skin;
    let w = s.world.as_deref();
    let cluster = w.and_then(|w| w.cluster_name()).unwrap_or("?").to_string();
    // The account is in every ARN when the world does not name it.
    let account = w
        .and_then(|w| {
            w.cluster.account.clone().or_else(|| {
                let lbs = w.aws.load_balancers.as_ref()?;
                lbs.keys().find_map(|arn| {
                    arn.split(':')
                        .nth(4)
                        .filter(|a| !a.is_empty())
                        .map(String::from)
                })
            })
        })
        .unwrap_or_else(|| "?".into());
    let region = w
        .and_then(|w| w.cluster.region.clone())
        .unwrap_or_else(|| "?".into());
    let mut l1 = vec![
        Span::styled(" lbsg ", skin.header),
        sep(s),
        Span::styled("ctx ", skin.muted),
        Span::raw(s.source.context.clone()),
        sep(s),
        Span::styled("cluster ", skin.muted),
        Span::raw(cluster),
        sep(s),
        Span::styled("aws ", skin.muted),
        Span::raw(format!("{account}/{region}")),
        Span::raw(" "),
    ];
    l1.push(if s.readonly {
        Span::styled(" RO ", skin.readonly_badge)
    } else {
        Span::styled(" RW ", skin.muted)
    });
    let g = s.config.glyphs.spinner;
    if let Some(sw) = &s.switching {
        l1.push(Span::styled(
            format!(" {} switching to {}…", g[s.spinner % g.len()], sw.context),
            skin.warn,
        ));
    } else if s.loading {
        l1.push(Span::styled(
            format!(" {} loading", g[s.spinner % g.len()]),
            skin.warn,
        ));
    }

    let mut l2 = vec![Span::raw(" ")];
    for (i, (name, feed)) in s.feeds.iter().enumerate() {
        if i > 0 {
            l2.push(sep(s));
        }
        feed_spans(s, name, feed, &mut l2);
    }
    l2.push(sep(s));
    match &s.data.findings {
        None => l2.push(Span::styled("audit n/a", skin.muted)),
        Some(list) if list.is_empty() => l2.push(Span::styled("no findings", skin.ok)),
        Some(_) => {
            l2.push(Span::styled("findings ", skin.muted));
            for sev in [
                Severity::Critical,
                Severity::High,
                Severity::Medium,
                Severity::Low,
                Severity::Info,
            ] {
                if let Some(n) = s.data.counts.get(&sev) {
                    l2.push(Span::styled(
                        format!("{n} {} ", sev.label()),
                        severity(skin, sev),
                    ));
                }
            }
        }
    }
    l2.push(sep(s));
    let lbs = s.data.lbs.len();
    let exposed = s
        .data
        .resources
        .iter()
        .filter(|r| r.exposure.level == crate::tui::model::ExposureLevel::Internet)
        .count();
    l2.push(Span::raw(format!("{lbs} LBs, ")));
    l2.push(Span::styled(
        format!("{exposed} internet-exposed"),
        if exposed > 0 { skin.exposed } else { skin.ok },
    ));
    f.render_widget(
        Paragraph::new(vec![Line::from(l1), Line::from(l2)]).style(skin.base),
        area,
    );
}

/// The longest error text the header shows (the banner and `:ctx` have all of it).
const ERROR_IN_HEADER: usize = 48;

/// One feed in the header: `kube live 14:55:10 (2 notes)`, `aws 14:55:10 throttled`,
/// `aws 14:50:02 (stale: AWS: …)`.
fn feed_spans(s: &State, name: &str, feed: &Feed, out: &mut Vec<Span<'static>>) {
    let skin = &s.config.skin;
    let stale = s.is_stale(feed);
    let live = if feed.live && feed.error.is_none() {
        " live"
    } else {
        ""
    };
    let text = match feed.loaded_at {
        Some(t) => format!("{name}{live} {}", clock(t)),
        None if s.loading || feed.progress.is_some() => format!("{name} loading"),
        None => format!("{name} not loaded"),
    };
    let style = if stale || feed.loaded_at.is_none() {
        skin.warn
    } else {
        skin.ok
    };
    out.push(Span::styled(text, style));
    if let Some(p) = &feed.progress {
        out.push(Span::styled(format!(" ({p})"), skin.muted));
    }
    if feed.throttled(s.now) {
        out.push(Span::styled(" throttled, backing off", skin.warn));
    }
    if !feed.notes.is_empty() {
        let n = feed.notes.len();
        out.push(Span::styled(
            format!(" ({n} note{}, :ctx)", if n == 1 { "" } else { "s" }),
            skin.warn,
        ));
    }
    match (&feed.error, stale) {
        (Some(e), _) => {
            let short: String = if e.chars().count() > ERROR_IN_HEADER {
                let mut t: String = e.chars().take(ERROR_IN_HEADER - 1).collect();
                t.push('…');
                t
            } else {
                e.clone()
            };
            out.push(Span::styled(format!(" (stale: {short})"), skin.warn));
        }
        (None, true) => out.push(Span::styled(" (stale)", skin.warn)),
        (None, false) => {}
    }
}

pub fn banner(s: &State, f: &mut Frame, area: Rect) {
    let Some(b) = &s.banner else { return };
    let skin = &s.config.skin;
    let (style, tag) = match b.level {
        Level::Info => (skin.ok, "ok"),
        Level::Warn => (skin.warn, "note"),
        Level::Error => (skin.error, "error"),
    };
    let line = Line::from(vec![
        Span::styled(format!(" {tag}: "), style),
        Span::styled(b.text.clone(), style),
    ]);
    f.render_widget(Paragraph::new(line), area);
}

/// The keys worth showing in the footer for the current view (from the keymap).
fn hints(s: &State) -> Vec<(Intent, &'static str)> {
    let mut v = vec![(Intent::Help, "help"), (Intent::CommandMode, "cmd")];
    match s.view() {
        View::Resources(..) => {
            v.extend([
                (Intent::Filter, "filter"),
                (Intent::Open, "graph"),
                (Intent::SortNext, "sort"),
                (Intent::EditAnnotations, "edit"),
            ]);
        }
        View::Graph(_) => {
            v.extend([
                (Intent::MoveRight, "column"),
                (Intent::Open, "open SG/LB"),
                (Intent::EditAnnotations, "edit"),
                (Intent::EditRules, "rules"),
            ]);
        }
        View::Sgs(_) => v.extend([
            (Intent::Filter, "filter"),
            (Intent::EditRules, "rules"),
            (Intent::EditAnnotations, "edit"),
        ]),
        View::Lbs(_) => v.extend([(Intent::Filter, "filter"), (Intent::Open, "graph")]),
        View::Findings(_) => v.extend([
            (Intent::Open, "graph"),
            (Intent::ApplyRemedy, "fix"),
            (Intent::Filter, "filter"),
        ]),
        View::Contexts(_) if !s.source.contexts.is_empty() => {
            v.extend([(Intent::Filter, "filter"), (Intent::Open, "switch")])
        }
        View::Contexts(_) => {}
        View::Drift { .. } => {}
    }
    if s.switching.is_some() {
        v.insert(0, (Intent::Back, "cancel switch"));
    }
    if s.views.len() > 1 {
        v.push((Intent::Back, "back"));
    }
    v.push((Intent::Quit, "quit"));
    v.retain(|(i, _)| !(s.readonly && i.is_edit()));
    v
}

pub fn footer(s: &State, f: &mut Frame, area: Rect) {
    let skin = &s.config.skin;
    let line = match &s.mode {
        Mode::Command(i) => Line::from(vec![
            Span::styled(":", skin.key),
            Span::raw(i.text.clone()),
            Span::styled(" ", skin.selected),
            Span::styled(
                format!("   {}", crate::tui::update::nav::COMMANDS),
                skin.muted,
            ),
        ]),
        Mode::Filter(i) => Line::from(vec![
            Span::styled("/", skin.key),
            Span::raw(i.text.clone()),
            Span::styled(" ", skin.selected),
            Span::styled("   enter keep  esc clear  !text inverts", skin.muted),
        ]),
        Mode::Normal => {
            let km = &s.config.keymap;
            let mut spans = vec![Span::styled(format!(" {} ", s.view().title()), skin.title)];
            for (i, label) in hints(s) {
                let keys = km.keys_for(Section::Normal, i);
                let Some(k) = keys.first() else { continue };
                spans.push(Span::styled(format!(" {k}"), skin.key));
                spans.push(Span::styled(format!(" {label}"), skin.muted));
            }
            Line::from(spans)
        }
    };
    f.render_widget(Paragraph::new(line).style(Style::default()), area);
}
