//! Pure layout: screen areas, the layered graph, the tree fallback. Computed in the reducer when
//! data or the terminal size changes, never while drawing.

pub mod graph;
pub mod tree;

use ratatui::layout::Rect;

/// Below this width the graph view draws the tree instead of columns.
pub const MIN_GRAPH_WIDTH: u16 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    pub header: Rect,
    pub banner: Option<Rect>,
    pub body: Rect,
    pub footer: Rect,
}

/// Header (2 rows), optional banner (1 row), body, footer (1 row).
pub fn areas(size: Rect, banner: bool) -> Areas {
    let h = size.height;
    let header = Rect::new(size.x, size.y, size.width, h.min(2));
    let mut y = size.y + header.height;
    let banner_rect = if banner && h > 4 {
        let r = Rect::new(size.x, y, size.width, 1);
        y += 1;
        Some(r)
    } else {
        None
    };
    let footer_h = u16::from(h > 3);
    let footer = Rect::new(size.x, size.y + h - footer_h, size.width, footer_h);
    let body = Rect::new(
        size.x,
        y,
        size.width,
        (size.y + h - footer_h).saturating_sub(y),
    );
    Areas {
        header,
        banner: banner_rect,
        body,
        footer,
    }
}

/// The graph view's body: the graph (inside a border) and a details pane under it.
pub fn graph_areas(body: Rect) -> (Rect, Rect) {
    let details_h = if body.height >= 30 {
        8
    } else if body.height >= 14 {
        5
    } else {
        0
    };
    let graph = Rect::new(body.x, body.y, body.width, body.height - details_h);
    let details = Rect::new(body.x, body.y + graph.height, body.width, details_h);
    (graph, details)
}

/// The inside of a bordered block.
pub fn inner(r: Rect) -> Rect {
    Rect::new(
        r.x + 1,
        r.y + 1,
        r.width.saturating_sub(2),
        r.height.saturating_sub(2),
    )
}

/// The table views, for splitting their body into a list and a detail pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Resources,
    Sgs,
    Lbs,
    Findings,
}

/// A table view's body: the list (top) and its detail pane (bottom).
pub fn list_split(pane: Pane, body: Rect) -> (Rect, Rect) {
    let d = match pane {
        Pane::Resources => 0,
        Pane::Sgs | Pane::Lbs => body.height / 2,
        Pane::Findings => (body.height / 2).min(10),
    };
    (
        Rect::new(body.x, body.y, body.width, body.height - d),
        Rect::new(body.x, body.y + body.height - d, body.width, d),
    )
}

/// Rows a bordered table with a header row can show.
pub fn table_capacity(list: Rect) -> usize {
    usize::from(list.height.saturating_sub(3)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn areas_add_up() {
        for (w, h, banner) in [
            (80, 24, false),
            (80, 24, true),
            (160, 48, true),
            (10, 3, true),
        ] {
            let a = areas(Rect::new(0, 0, w, h), banner);
            let total = a.header.height
                + a.banner.map_or(0, |b| b.height)
                + a.body.height
                + a.footer.height;
            assert_eq!(total, h, "{w}x{h}");
        }
        let (g, d) = graph_areas(Rect::new(0, 2, 80, 21));
        assert_eq!((g.height, d.height), (16, 5));
    }
}
