//! The graph view: paints a precomputed layout (columns or tree) into the buffer, scrolled, and
//! the details of the selected node under it. No layout work happens here.

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use super::style::{self, fit};
use crate::tui::layout::graph::{DOWN, GraphLayout, LEFT, MarkKind, RIGHT, UP};
use crate::tui::layout::tree::TreeLine;
use crate::tui::layout::{self};
use crate::tui::model::graph::{COLUMN_TITLES, GraphModel};
use crate::tui::state::{GraphShape, GraphView, State};

pub fn render(s: &State, f: &mut Frame, body: Rect, g: &GraphView) {
    let skin = &s.config.skin;
    let (area, details) = layout::graph_areas(body);
    let model = s.data.graphs.get(&g.root);
    let title = match model {
        Some(m) => {
            let total = m.reach.reachable + m.reach.blocked + m.reach.unknown;
            let mut spans = vec![
                Span::styled(format!(" {} ", g.root), skin.title),
                Span::styled(
                    m.exposure.text.clone(),
                    style::exposure(skin, m.exposure.level),
                ),
            ];
            if total > 0 {
                let st = if m.reach.blocked > 0 {
                    skin.error
                } else {
                    skin.ok
                };
                spans.push(Span::styled(
                    format!(" · {}/{total} targets reachable ", m.reach.reachable),
                    st,
                ));
            } else {
                spans.push(Span::raw(" "));
            }
            Line::from(spans)
        }
        None => Line::styled(format!(" {} (gone from the world) ", g.root), skin.error),
    };
    let block = Block::bordered().border_style(skin.border).title(title);
    let inner = layout::inner(area);
    f.render_widget(block, area);
    if let Some(m) = model {
        match &g.shape {
            GraphShape::Columns(l) => paint_columns(s, f.buffer_mut(), inner, l, m, g),
            GraphShape::Tree(t) => paint_tree(s, f.buffer_mut(), inner, t, m, g),
        }
    }
    if details.height > 0 {
        let mut lines: Vec<Line> = Vec::new();
        if let Some(n) = model
            .zip(g.selected.as_deref())
            .and_then(|(m, k)| m.node(k))
        {
            for (i, d) in n.detail.iter().enumerate() {
                let st = if d.starts_with("BLOCKED") {
                    skin.error
                } else if i == 0 {
                    skin.title
                } else {
                    skin.base
                };
                lines.push(Line::styled(d.clone(), st));
            }
        }
        if let Some(m) = model {
            for note in &m.notes {
                lines.push(Line::styled(note.clone(), skin.warn));
            }
        }
        let b = Block::bordered()
            .border_style(skin.border)
            .title(Span::styled(" details ", skin.title));
        f.render_widget(
            Paragraph::new(lines).wrap(Wrap { trim: false }).block(b),
            details,
        );
    }
}

fn set(buf: &mut Buffer, area: Rect, x: u16, y: u16, scroll: u16, sym: &str, st: Style) {
    if y < scroll || y - scroll >= area.height || x >= area.width {
        return;
    }
    if let Some(cell) = buf.cell_mut((area.x + x, area.y + y - scroll)) {
        cell.set_symbol(sym).set_style(st);
    }
}

fn text(buf: &mut Buffer, area: Rect, x: u16, y: u16, scroll: u16, s: &str, st: Style) {
    if y < scroll || y - scroll >= area.height || x >= area.width {
        return;
    }
    let w = usize::from(area.width - x);
    buf.set_stringn(area.x + x, area.y + y - scroll, s, w, st);
}

fn paint_columns(
    s: &State,
    buf: &mut Buffer,
    area: Rect,
    l: &GraphLayout,
    m: &GraphModel,
    g: &GraphView,
) {
    let skin = &s.config.skin;
    let glyphs = &s.config.glyphs;
    for (c, title) in COLUMN_TITLES.iter().enumerate() {
        text(
            buf,
            area,
            l.col_x[c],
            0,
            g.scroll,
            &fit(title, usize::from(l.col_w), glyphs.ascii),
            skin.muted,
        );
    }
    for (&(y, x), cell) in &l.cells {
        let sym = glyphs.line(
            cell.mask & UP != 0,
            cell.mask & DOWN != 0,
            cell.mask & LEFT != 0,
            cell.mask & RIGHT != 0,
        );
        set(
            buf,
            area,
            x,
            y,
            g.scroll,
            sym,
            style::edge(skin, cell.status),
        );
    }
    for mark in &l.marks {
        let sym = match mark.kind {
            MarkKind::Arrow => glyphs.arrow,
            MarkKind::Blocked => glyphs.blocked,
        };
        set(
            buf,
            area,
            mark.x,
            mark.y,
            g.scroll,
            sym,
            style::edge(skin, mark.status),
        );
    }
    for p in &l.nodes {
        let Some(n) = m.node(&p.key) else { continue };
        let selected = g.selected.as_deref() == Some(p.key.as_str());
        let st = style::node(skin, n.status);
        let (title_style, sub_style) = if selected {
            (skin.selected, skin.selected)
        } else {
            (st, skin.muted)
        };
        let w = usize::from(p.w);
        let head = format!("{} {}", style::node_glyph(glyphs, n.status), n.title);
        let head = format!("{:<w$}", fit(&head, w, glyphs.ascii));
        text(buf, area, p.x, p.y, g.scroll, &head, title_style);
        let sub = format!("  {}", n.subtitle);
        let sub = format!("{:<w$}", fit(&sub, w, glyphs.ascii));
        text(buf, area, p.x, p.y + 1, g.scroll, &sub, sub_style);
    }
}

fn put(buf: &mut Buffer, area: Rect, at: (&mut u16, u16), scroll: u16, s: &str, st: Style) {
    let (x, y) = at;
    text(buf, area, *x, y, scroll, s, st);
    *x = x.saturating_add(unicode_width::UnicodeWidthStr::width(s) as u16);
}

fn paint_tree(
    s: &State,
    buf: &mut Buffer,
    area: Rect,
    t: &[TreeLine],
    m: &GraphModel,
    g: &GraphView,
) {
    let skin = &s.config.skin;
    let glyphs = &s.config.glyphs;
    let sc = g.scroll;
    for (i, line) in t.iter().enumerate() {
        let y = i as u16;
        let mut x = 0u16;
        put(buf, area, (&mut x, y), sc, &line.prefix, skin.muted);
        if let Some(e) = line.edge.filter(|_| line.key.is_some()) {
            let glyph = format!("{} ", style::edge_glyph(glyphs, e));
            put(buf, area, (&mut x, y), sc, &glyph, style::edge(skin, e));
        }
        match line.key.as_deref().and_then(|k| m.node(k)) {
            Some(n) => {
                let selected = g.selected.as_deref() == Some(n.key.as_str());
                if !line.role.is_empty() {
                    put(
                        buf,
                        area,
                        (&mut x, y),
                        sc,
                        &format!("{} ", line.role),
                        skin.muted,
                    );
                }
                let st = if selected {
                    skin.selected
                } else {
                    style::node(skin, n.status)
                };
                // A target line already carries its hop's glyph; others show the node's.
                if line.edge.is_none() {
                    let glyph = format!("{} ", style::node_glyph(glyphs, n.status));
                    put(buf, area, (&mut x, y), sc, &glyph, st);
                }
                let room = usize::from(area.width.saturating_sub(x));
                put(
                    buf,
                    area,
                    (&mut x, y),
                    sc,
                    &fit(&line.text, room, glyphs.ascii),
                    st,
                );
            }
            None => {
                let room = usize::from(area.width.saturating_sub(x));
                put(
                    buf,
                    area,
                    (&mut x, y),
                    sc,
                    &fit(&line.text, room, glyphs.ascii),
                    skin.error,
                );
            }
        }
    }
}
