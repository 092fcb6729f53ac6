//! The layered graph as cells: four fixed columns, nodes stacked two rows high, edges routed
//! through the gutters as orthogonal lines whose junctions are joined per cell (a bitmask of
//! up/down/left/right), arrowheads where edges enter a node, a mark where a hop is blocked.

use std::collections::BTreeMap;

use crate::tui::model::graph::{EdgeStatus, GraphModel, TARGETS};

pub const UP: u8 = 1;
pub const DOWN: u8 = 2;
pub const LEFT: u8 = 4;
pub const RIGHT: u8 = 8;
/// Rows per node (title, subtitle) and the pitch between nodes.
pub const NODE_ROWS: u16 = 2;
const PITCH: u16 = 3;
/// The first node row (under the column titles).
pub const TOP: u16 = 2;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedNode {
    pub key: String,
    pub col: usize,
    pub x: u16,
    pub y: u16,
    pub w: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EdgeCell {
    pub mask: u8,
    pub status: EdgeStatus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkKind {
    Arrow,
    Blocked,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    pub x: u16,
    pub y: u16,
    pub kind: MarkKind,
    pub status: EdgeStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GraphLayout {
    pub width: u16,
    pub height: u16,
    pub col_x: [u16; 4],
    pub col_w: u16,
    /// In navigation order: column by column, top to bottom.
    pub nodes: Vec<PlacedNode>,
    /// Edge cells by (y, x).
    pub cells: BTreeMap<(u16, u16), EdgeCell>,
    pub marks: Vec<Mark>,
}

impl GraphLayout {
    pub fn node(&self, key: &str) -> Option<&PlacedNode> {
        self.nodes.iter().find(|n| n.key == key)
    }
}

/// Which edge wins a shared cell: a path that gets through is shown as such.
fn rank(s: EdgeStatus) -> u8 {
    match s {
        EdgeStatus::Allowed => 3,
        EdgeStatus::Attached => 2,
        EdgeStatus::Unknown => 1,
        EdgeStatus::Blocked => 0,
    }
}

fn put(cells: &mut BTreeMap<(u16, u16), EdgeCell>, x: u16, y: u16, mask: u8, status: EdgeStatus) {
    let c = cells.entry((y, x)).or_insert(EdgeCell { mask: 0, status });
    c.mask |= mask;
    if rank(status) > rank(c.status) {
        c.status = status;
    }
}

/// Lay out `model` for a drawing area `width` columns wide.
pub fn layout(model: &GraphModel, width: u16) -> GraphLayout {
    let mut gutter: u16 = 6;
    let col_w = (width.saturating_sub(3 * gutter) / 4).clamp(12, 38);
    if width > 4 * col_w {
        gutter = ((width - 4 * col_w) / 3).clamp(4, 12);
    }
    let col_x = [0, 1, 2, 3].map(|c| c * (col_w + gutter));

    // Column contents in model order; targets re-ordered by the rows of their sources.
    let mut cols: [Vec<&str>; 4] = Default::default();
    for n in &model.nodes {
        cols[n.col.min(3)].push(n.key.as_str());
    }
    let counts = cols.clone().map(|c| c.len() as u16);
    let tallest = counts.iter().copied().max().unwrap_or(0);
    let span = |n: u16| if n == 0 { 0 } else { n * PITCH - 1 };
    let mut pos: BTreeMap<&str, (usize, u16)> = BTreeMap::new();
    for c in 0..3 {
        let off = (span(tallest) - span(counts[c])) / 2;
        for (i, k) in cols[c].iter().enumerate() {
            pos.insert(k, (c, TOP + off + i as u16 * PITCH));
        }
    }
    let mut targets: Vec<(u32, &str)> = cols[TARGETS]
        .iter()
        .map(|k| {
            let ys: Vec<u32> = model
                .edges
                .iter()
                .filter(|e| e.to == *k)
                .filter_map(|e| pos.get(e.from.as_str()).map(|p| u32::from(p.1)))
                .collect();
            let bary = if ys.is_empty() {
                0
            } else {
                ys.iter().sum::<u32>() * 16 / ys.len() as u32
            };
            (bary, *k)
        })
        .collect();
    targets.sort();
    let off = (span(tallest) - span(counts[TARGETS])) / 2;
    for (i, (_, k)) in targets.iter().enumerate() {
        pos.insert(k, (TARGETS, TOP + off + i as u16 * PITCH));
    }

    let mut nodes: Vec<PlacedNode> = Vec::new();
    for (c, &x) in col_x.iter().enumerate() {
        let mut in_col: Vec<(&str, u16)> = pos
            .iter()
            .filter(|(_, (col, _))| *col == c)
            .map(|(k, (_, y))| (*k, *y))
            .collect();
        in_col.sort_by_key(|(_, y)| *y);
        for (k, y) in in_col {
            nodes.push(PlacedNode {
                key: k.to_string(),
                col: c,
                x,
                y,
                w: col_w,
            });
        }
    }

    let mut cells = BTreeMap::new();
    let mut marks = Vec::new();
    let tracks = gutter.saturating_sub(3).max(1);
    // One vertical track per source node in its gutter, so trunks of different sources do not merge.
    let mut track_of: BTreeMap<&str, u16> = BTreeMap::new();
    for c in 0..3 {
        let mut i = 0;
        for n in nodes.iter().filter(|n| n.col == c) {
            if model.edges.iter().any(|e| e.from == n.key) {
                track_of.insert(n.key.as_str(), i % tracks);
                i += 1;
            }
        }
    }
    for e in &model.edges {
        let (Some(a), Some(b)) = (
            nodes.iter().find(|n| n.key == e.from),
            nodes.iter().find(|n| n.key == e.to),
        ) else {
            continue;
        };
        if b.col != a.col + 1 {
            continue;
        }
        let sx = a.x + a.w;
        let ex = b.x.saturating_sub(1);
        if ex <= sx + 1 {
            continue;
        }
        let tx = (sx + 1 + track_of.get(e.from.as_str()).copied().unwrap_or(0)).min(ex - 1);
        let (sy, ey) = (a.y, b.y);
        for x in sx..tx {
            put(&mut cells, x, sy, LEFT | RIGHT, e.status);
        }
        if sy == ey {
            put(&mut cells, tx, sy, LEFT | RIGHT, e.status);
        } else {
            let v = if ey > sy { DOWN } else { UP };
            put(&mut cells, tx, sy, LEFT | v, e.status);
            let (lo, hi) = (sy.min(ey), sy.max(ey));
            for y in lo + 1..hi {
                put(&mut cells, tx, y, UP | DOWN, e.status);
            }
            let back = if ey > sy { UP } else { DOWN };
            put(&mut cells, tx, ey, back | RIGHT, e.status);
        }
        for x in tx + 1..ex {
            put(&mut cells, x, ey, LEFT | RIGHT, e.status);
        }
        marks.push(Mark {
            x: ex,
            y: ey,
            kind: MarkKind::Arrow,
            status: e.status,
        });
        if e.status == EdgeStatus::Blocked {
            marks.push(Mark {
                x: ex - 1,
                y: ey,
                kind: MarkKind::Blocked,
                status: e.status,
            });
        }
    }
    let height = TOP + span(tallest) + 1;
    GraphLayout {
        width: col_x[3] + col_w,
        height,
        col_x,
        col_w,
        nodes,
        cells,
        marks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::plan::ResourceRef;
    use crate::tui::model::graph::*;
    use crate::world::ObjKey;

    fn node(key: &str, col: usize) -> GNode {
        GNode {
            key: key.into(),
            col,
            title: key.into(),
            subtitle: String::new(),
            status: NodeStatus::Ok,
            link: NodeLink::None,
            detail: vec![],
        }
    }

    fn model() -> GraphModel {
        let e = |f: &str, t: &str, s| GEdge {
            from: f.into(),
            to: t.into(),
            status: s,
            label: String::new(),
        };
        GraphModel {
            root: ResourceRef::Service(ObjKey::new("a", "b")),
            nodes: vec![
                node("fe", 0),
                node("lb", 1),
                node("be", 2),
                node("t1", 3),
                node("t2", 3),
                node("t3", 3),
            ],
            edges: vec![
                e("fe", "lb", EdgeStatus::Attached),
                e("lb", "be", EdgeStatus::Attached),
                e("be", "t1", EdgeStatus::Allowed),
                e("be", "t2", EdgeStatus::Blocked),
                e("be", "t3", EdgeStatus::Allowed),
            ],
            notes: vec![],
            exposure: Exposure {
                level: ExposureLevel::Internet,
                text: String::new(),
            },
            reach: ReachCount::default(),
            lbs: vec![],
        }
    }

    #[test]
    fn columns_are_centred_and_fit() {
        let l = layout(&model(), 156);
        assert!(l.width <= 156);
        let y = |k: &str| l.node(k).unwrap().y;
        assert_eq!((y("t1"), y("t2"), y("t3")), (2, 5, 8));
        assert_eq!(y("be"), 5, "single node centred on the tallest column");
        assert_eq!(
            l.nodes.iter().map(|n| n.col).collect::<Vec<_>>(),
            vec![0, 1, 2, 3, 3, 3]
        );
    }

    #[test]
    fn fan_out_joins_into_one_trunk_with_tees() {
        let l = layout(&model(), 156);
        let be = l.node("be").unwrap();
        let sx = be.x + be.w;
        let tx = sx + 1;
        // Trunk: ┌ at t1's row, ┼ where be's line meets it (t2 goes straight on), └ at t3's row.
        assert_eq!(l.cells[&(2, tx)].mask, DOWN | RIGHT);
        assert_eq!(l.cells[&(5, tx)].mask, UP | DOWN | LEFT | RIGHT);
        assert_eq!(l.cells[&(8, tx)].mask, UP | RIGHT);
        // The trunk carries an allowed path even though one branch is blocked.
        assert_eq!(l.cells[&(5, tx)].status, EdgeStatus::Allowed);
        let blocked: Vec<_> = l
            .marks
            .iter()
            .filter(|m| m.kind == MarkKind::Blocked)
            .collect();
        assert_eq!(blocked.len(), 1);
        assert_eq!(blocked[0].y, 5);
        assert_eq!(
            l.marks.iter().filter(|m| m.kind == MarkKind::Arrow).count(),
            5
        );
    }

    #[test]
    fn deterministic() {
        assert_eq!(layout(&model(), 120), layout(&model(), 120));
    }
}
