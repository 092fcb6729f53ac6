//! Dialogs drawn over the view, in a fixed order (editors < offer < plan < help): the
//! annotation and rule editors, the LBC-owned-SG offer, the plan preview, the help.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::style::fit;
use crate::tui::config::keymap::{Intent, Section};
use crate::tui::model::plan::Tone;
use crate::tui::state::{AnnotationEditor, Offer, PlanDialog, RuleEditor, State};
use crate::tui::update::nav::COMMANDS;

/// A centred box of at most `w`×`h` inside `area`.
pub fn centred(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

fn frame<'a>(s: &State, title: String) -> Block<'a> {
    Block::bordered()
        .border_style(s.config.skin.title)
        .title(Span::styled(title, s.config.skin.title))
}

fn keys(s: &State, section: Section, i: Intent) -> String {
    s.config.keymap.keys_text(section, i)
}

fn hint_line(s: &State, items: &[(Section, Intent, &str)]) -> Line<'static> {
    let skin = &s.config.skin;
    let mut spans = Vec::new();
    for (sec, i, label) in items {
        if s.readonly && i.is_edit() {
            continue;
        }
        spans.push(Span::styled(format!(" {}", keys(s, *sec, *i)), skin.key));
        spans.push(Span::styled(format!(" {label} "), skin.muted));
    }
    Line::from(spans)
}

pub fn annotations(s: &State, f: &mut Frame, area: Rect, e: &AnnotationEditor) {
    let skin = &s.config.skin;
    let r = centred(area, 100, area.height.saturating_sub(2));
    f.render_widget(Clear, r);
    let inner_w = usize::from(r.width.saturating_sub(4));
    let mut lines = vec![Line::styled(
        format!(
            "{}… (an empty value removes the annotation)",
            e.kind.prefix()
        ),
        skin.muted,
    )];
    let mut focus_line = 0;
    for (i, field) in e.fields.iter().enumerate() {
        let focused = i == e.focus;
        if focused {
            focus_line = lines.len();
        }
        let marker = if field.changed() { "*" } else { " " };
        let label_style = if focused { skin.title } else { skin.base };
        lines.push(Line::from(vec![Span::styled(
            format!("{marker}{}", field.def.suffix),
            label_style,
        )]));
        let value = if focused {
            let mut t = field.input.text.clone();
            let b = t
                .char_indices()
                .nth(field.input.cursor)
                .map(|(b, _)| b)
                .unwrap_or(t.len());
            t.insert(b, '▏');
            t
        } else if field.input.text.is_empty() {
            "(unset)".to_string()
        } else {
            field.input.text.clone()
        };
        let vstyle = if field.verdict.error.is_some() {
            skin.error
        } else if focused {
            skin.selected
        } else if field.input.text.is_empty() {
            skin.muted
        } else {
            skin.base
        };
        lines.push(Line::from(vec![
            Span::raw("   "),
            Span::styled(
                fit(&value, inner_w.saturating_sub(3), s.config.glyphs.ascii),
                vstyle,
            ),
        ]));
        if let Some(err) = &field.verdict.error {
            lines.push(Line::styled(
                format!("   {} {err}", s.config.glyphs.blocked),
                skin.error,
            ));
        } else if let Some(n) = &field.verdict.note {
            lines.push(Line::styled(
                format!("   {} {n}", s.config.glyphs.warn),
                skin.warn,
            ));
        } else if focused {
            lines.push(Line::styled(format!("   {}", field.def.help), skin.muted));
        }
    }
    // Keep the focused field on screen: drop fields from the top when needed.
    let room = usize::from(r.height.saturating_sub(3));
    let skip = (focus_line + 3).saturating_sub(room);
    let mut shown: Vec<Line> = lines.into_iter().skip(skip).take(room).collect();
    shown.push(hint_line(
        s,
        &[
            (Section::Form, Intent::NextField, "next"),
            (Section::Form, Intent::Submit, "plan"),
            (Section::Form, Intent::Cancel, "cancel"),
        ],
    ));
    let errs = e.errors();
    let title = if errs > 0 {
        format!(" edit {} ({errs} invalid) ", e.resource)
    } else {
        format!(" edit {} ", e.resource)
    };
    f.render_widget(Paragraph::new(shown).block(frame(s, title)), r);
}

pub fn rules(s: &State, f: &mut Frame, area: Rect, e: &RuleEditor) {
    let skin = &s.config.skin;
    let r = centred(area, 100, area.height.saturating_sub(2));
    f.render_widget(Clear, r);
    let mut lines = vec![Line::styled(
        "inbound rules (delete/space marks a rule for removal)",
        skin.muted,
    )];
    for (i, item) in e.rules.iter().enumerate() {
        let focused = i == e.focus;
        let mark = if item.remove { "[-]" } else { "[ ]" };
        let base = if item.remove { skin.removed } else { skin.base };
        let st = if focused { skin.selected } else { base };
        let mut spans = vec![Span::styled(format!("{mark} {}", item.rule), st)];
        spans.push(Span::styled(
            format!("  {}", item.owner.label()),
            super::style::rule_owner(skin, item.owner),
        ));
        if item.remove && item.owner == crate::tui::model::RuleOwner::Lbc {
            spans.push(Span::styled("  (the LBC will add it back)", skin.warn));
        }
        lines.push(Line::from(spans));
    }
    lines.push(Line::raw(""));
    let focused = e.on_input();
    let mut text = e.input.text.clone();
    if focused {
        let b = text
            .char_indices()
            .nth(e.input.cursor)
            .map(|(b, _)| b)
            .unwrap_or(text.len());
        text.insert(b, '▏');
    }
    lines.push(Line::from(vec![
        Span::styled("add: ", skin.title),
        Span::styled(
            if text.is_empty() {
                "PROTO:PORTS:SOURCE[:DESCRIPTION] …".to_string()
            } else {
                text
            },
            if focused { skin.selected } else { skin.muted },
        ),
    ]));
    match &e.error {
        Some(err) if !e.input.text.is_empty() => lines.push(Line::styled(
            format!("  {} {err}", s.config.glyphs.blocked),
            skin.error,
        )),
        _ => lines.push(Line::styled(
            "  e.g. tcp:443:10.0.0.0/8:office  tcp:8000-8100:sg-0abc  udp:53:pl-0123",
            skin.muted,
        )),
    }
    let room = usize::from(r.height.saturating_sub(3));
    let skip = lines.len().saturating_sub(room);
    let mut shown: Vec<Line> = lines.into_iter().skip(skip).collect();
    shown.push(hint_line(
        s,
        &[
            (Section::Form, Intent::NextField, "next"),
            (Section::Form, Intent::ToggleRemove, "remove"),
            (Section::Form, Intent::Submit, "plan"),
            (Section::Form, Intent::Cancel, "cancel"),
        ],
    ));
    f.render_widget(
        Paragraph::new(shown).block(frame(s, format!(" rules of {} ", e.sg))),
        r,
    );
}

pub fn offer(s: &State, f: &mut Frame, area: Rect, o: &Offer) {
    // Rows after wrapping at the box's inner width, plus the hint line and the borders.
    let inner_w = usize::from(area.width.min(96).saturating_sub(2)).max(1);
    let rows: usize = o
        .lines
        .iter()
        .map(|l| {
            unicode_width::UnicodeWidthStr::width(l.as_str())
                .div_ceil(inner_w)
                .max(1)
        })
        .sum();
    let r = centred(area, 96, (rows + 3) as u16);
    f.render_widget(Clear, r);
    let mut lines: Vec<Line> = o.lines.iter().map(|l| Line::raw(l.clone())).collect();
    let mut hints = vec![(Section::Plan, Intent::Cancel, "close")];
    if o.annotation.is_some() && !s.readonly {
        hints.insert(0, (Section::Plan, Intent::Activate, "edit the annotation"));
    }
    lines.push(hint_line(s, &hints));
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(frame(s, format!(" {} ", o.title))),
        r,
    );
}

pub fn plan(s: &State, f: &mut Frame, area: Rect, p: &PlanDialog) {
    let skin = &s.config.skin;
    let r = centred(area, 110, area.height.saturating_sub(1));
    f.render_widget(Clear, r);
    let spin = s.config.glyphs.spinner[s.spinner % s.config.glyphs.spinner.len()];
    let mut lines: Vec<Line> = Vec::new();
    if let Some(note) = &p.note {
        lines.push(Line::styled(note.clone(), skin.warn));
        lines.push(Line::raw(""));
    }
    match (&p.preview, &p.error) {
        (_, Some(e)) if p.preview.is_none() => {
            lines.push(Line::styled(format!("planning failed: {e}"), skin.error))
        }
        (None, _) if p.replan => lines.push(Line::styled(
            format!("{spin} waiting for the current state of what this edit changes…"),
            skin.warn,
        )),
        (None, _) => lines.push(Line::styled(format!("{spin} planning…"), skin.warn)),
        (Some(pv), _) => {
            for l in &pv.lines {
                let st = match l.tone {
                    Tone::Heading => skin.title,
                    Tone::Added => skin.added,
                    Tone::Removed => skin.removed,
                    Tone::Changed => skin.changed,
                    Tone::Error => skin.error,
                    Tone::Warn => skin.warn,
                    Tone::Plain => skin.base,
                };
                lines.push(Line::styled(l.text.clone(), st));
            }
        }
    }
    // The plan text wraps and scrolls; the status and button rows stay at the bottom.
    let inner = crate::tui::layout::inner(r);
    let text_area = Rect::new(
        inner.x,
        inner.y,
        inner.width,
        inner.height.saturating_sub(2),
    );
    let more = lines.len() > usize::from(text_area.height);
    let text = Paragraph::new(lines).wrap(Wrap { trim: false });
    f.render_widget(frame(s, format!(" plan: {} ", p.title)), r);
    f.render_widget(text.scroll((p.scroll, 0)), text_area);
    let mut shown: Vec<Line> = Vec::new();
    // Status line, then the buttons: Cancel first and focused until the user moves.
    let status = if p.applying {
        Line::styled(format!("{spin} applying…"), skin.warn)
    } else if let (Some(_), Some(e)) = (&p.preview, &p.error) {
        Line::styled(format!("apply failed: {e}"), skin.error)
    } else if let Some(why) = p.preview.as_ref().and_then(|pv| pv.blocked.clone()) {
        Line::styled(format!("Apply is disabled: {why}"), skin.muted)
    } else if more || p.scroll > 0 {
        Line::styled(
            format!(
                "{}/{} scroll",
                keys(s, Section::Plan, Intent::ScrollDown),
                keys(s, Section::Plan, Intent::ScrollUp)
            ),
            skin.muted,
        )
    } else {
        Line::raw("")
    };
    shown.push(status);
    let can_apply = p.preview.as_ref().is_some_and(|pv| pv.blocked.is_none()) && !s.readonly;
    let (cancel, apply) = if p.apply_focused {
        (skin.button, skin.button_focused)
    } else {
        (skin.button_focused, skin.button)
    };
    let mut buttons = vec![
        Span::raw(" "),
        Span::styled(" Cancel ", cancel),
        Span::raw("  "),
    ];
    if can_apply {
        buttons.push(Span::styled(" Apply ", apply));
    } else {
        buttons.push(Span::styled(
            " Apply ",
            skin.muted
                .add_modifier(ratatui::style::Modifier::CROSSED_OUT),
        ));
    }
    buttons.push(Span::styled(
        format!(
            "   {} switch  {} press  {} close",
            keys(s, Section::Plan, Intent::DialogNext),
            keys(s, Section::Plan, Intent::Activate),
            keys(s, Section::Plan, Intent::Cancel)
        ),
        skin.muted,
    ));
    shown.push(Line::from(buttons));
    let bottom = Rect::new(
        inner.x,
        inner.y + text_area.height,
        inner.width,
        inner.height - text_area.height,
    );
    f.render_widget(Paragraph::new(shown), bottom);
}

pub fn help(s: &State, f: &mut Frame, area: Rect, scroll: u16) {
    let skin = &s.config.skin;
    let r = centred(area, 92, area.height);
    f.render_widget(Clear, r);
    let mut lines = vec![Line::styled(format!("commands: {COMMANDS}"), skin.title)];
    let mut section = None;
    for e in s.config.keymap.help(s.readonly) {
        if section != Some(e.section) {
            section = Some(e.section);
            lines.push(Line::styled(format!("[{}]", e.section.name()), skin.title));
        }
        lines.push(Line::from(vec![
            Span::styled(format!("  {:<16}", e.keys), skin.key),
            Span::styled(format!("{:<18}", e.name), skin.muted),
            Span::styled(e.desc, Style::default()),
        ]));
    }
    if s.readonly {
        lines.push(Line::styled(
            "read-only mode: edit keys are disabled",
            skin.warn,
        ));
    }
    let room = usize::from(r.height.saturating_sub(2));
    let scroll = usize::from(scroll).min(lines.len().saturating_sub(room));
    let shown: Vec<Line> = lines.into_iter().skip(scroll).take(room).collect();
    f.render_widget(
        Paragraph::new(shown).block(frame(s, " help (esc closes) ".into())),
        r,
    );
}
