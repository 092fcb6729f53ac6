//! Moving around: intents in normal mode, `:` commands, filters, the graph cursor, help.

use std::sync::Arc;

use super::{body, edit, flash, lists, relayout};
use crate::core::plan::ResourceRef;
use crate::tui::config::keymap::{Intent, Key, KeySpec, Section};
use crate::tui::effect::Effect;
use crate::tui::layout;
use crate::tui::model::graph::NodeLink;
use crate::tui::state::{
    GraphShape, GraphView, KindFilter, Level, LineInput, ListView, Mode, State, View,
};

pub const COMMANDS: &str = ":svc :ing :lb :sg :findings :drift :ctx :q";

pub fn on_intent(s: &mut State, i: Intent) -> Vec<Effect> {
    s.dirty = true;
    if i.is_edit() && s.readonly {
        flash(
            s,
            Level::Warn,
            "read-only mode (--readonly): edits are disabled",
        );
        return Vec::new();
    }
    match i {
        Intent::Quit | Intent::ForceQuit => s.quit = true,
        Intent::Back => return back(s),
        Intent::Help => s.help = Some(0),
        Intent::CommandMode => s.mode = Mode::Command(LineInput::default()),
        Intent::Filter => {
            if let Some(current) = filter_of(s) {
                s.mode = Mode::Filter(LineInput::new(&current));
            }
        }
        Intent::MoveDown => move_by(s, 1),
        Intent::MoveUp => move_by(s, -1),
        Intent::PageDown => move_by(s, page(s) as isize),
        Intent::PageUp => move_by(s, -(page(s) as isize)),
        Intent::Top => move_by(s, isize::MIN / 2),
        Intent::Bottom => move_by(s, isize::MAX / 2),
        Intent::MoveLeft => graph_column(s, -1),
        Intent::MoveRight => graph_column(s, 1),
        Intent::Open => return open(s),
        Intent::SortNext => sort(s, false),
        Intent::SortReverse => sort(s, true),
        Intent::Refresh => {
            s.loading = true;
            return vec![Effect::LoadWorld];
        }
        Intent::EditAnnotations => return edit::open_annotations(s),
        Intent::EditRules => return edit::open_rules(s),
        Intent::ApplyRemedy => return edit::apply_remedy(s),
        // Dialog and form intents only reach their own handlers.
        _ => {}
    }
    Vec::new()
}

pub fn help_key(s: &mut State, spec: &KeySpec) {
    let km = &s.config.keymap;
    let scroll = s.help.unwrap_or(0);
    s.help = match km.lookup(Section::Normal, spec) {
        Some(Intent::MoveDown | Intent::PageDown) => Some(scroll.saturating_add(1)),
        Some(Intent::MoveUp | Intent::PageUp) => Some(scroll.saturating_sub(1)),
        Some(Intent::ForceQuit) => {
            s.quit = true;
            None
        }
        _ if matches!(spec.key, Key::Esc | Key::Char('?') | Key::Char('q')) => None,
        _ => Some(scroll),
    };
}

fn back(s: &mut State) -> Vec<Effect> {
    // Esc first cancels a context switch under way.
    if s.switching.is_some() {
        return super::live::cancel_switch(s);
    }
    if let Some(f) = filter_of(s)
        && !f.is_empty()
    {
        set_filter(s, String::new());
        return Vec::new();
    }
    if s.views.len() > 1 {
        s.views.pop();
        relayout(s);
    } else if s.banner.is_some() {
        s.banner = None;
        relayout(s);
    }
    Vec::new()
}

fn list_mut(v: &mut View) -> Option<(&mut String, &mut usize, &mut bool)> {
    match v {
        View::Resources(_, lv) => Some((&mut lv.filter, &mut lv.sort, &mut lv.reverse)),
        View::Sgs(lv) | View::Lbs(lv) | View::Findings(lv) | View::Contexts(lv) => {
            Some((&mut lv.filter, &mut lv.sort, &mut lv.reverse))
        }
        _ => None,
    }
}

fn filter_of(s: &State) -> Option<String> {
    match s.view() {
        View::Resources(_, lv) => Some(lv.filter.clone()),
        View::Sgs(lv) | View::Lbs(lv) | View::Findings(lv) | View::Contexts(lv) => {
            Some(lv.filter.clone())
        }
        _ => None,
    }
}

pub fn set_filter(s: &mut State, text: String) {
    if let Some(v) = s.views.last_mut()
        && let Some((f, _, _)) = list_mut(v)
    {
        *f = text;
    }
    relayout(s);
}

fn sort(s: &mut State, reverse: bool) {
    let n = match s.view() {
        View::Resources(..) => lists::RESOURCE_SORTS.len(),
        View::Sgs(_) => lists::SG_SORTS.len(),
        View::Lbs(_) => lists::LB_SORTS.len(),
        View::Findings(_) => lists::FINDING_SORTS.len(),
        _ => return,
    };
    if let Some(v) = s.views.last_mut()
        && let Some((_, col, rev)) = list_mut(v)
    {
        if reverse {
            *rev = !*rev;
        } else {
            *col = (*col + 1) % n;
        }
    }
    relayout(s);
}

fn page(s: &State) -> usize {
    usize::from(body(s).height.saturating_sub(4)).max(1)
}

fn move_by(s: &mut State, delta: isize) {
    let b = body(s);
    let Some(v) = s.views.last_mut() else { return };
    match v {
        View::Resources(_, lv) => step(lv, delta, layout::Pane::Resources, b),
        View::Sgs(lv) => step(lv, delta, layout::Pane::Sgs, b),
        View::Lbs(lv) => step(lv, delta, layout::Pane::Lbs, b),
        View::Findings(lv) => step(lv, delta, layout::Pane::Findings, b),
        View::Contexts(lv) => step(lv, delta, layout::Pane::Resources, b),
        View::Graph(g) => {
            let keys: Vec<String> = g.keys().iter().map(|k| k.to_string()).collect();
            let next = match &g.shape {
                GraphShape::Columns(l) => {
                    // j/k stay in the column of the selection.
                    let col = g
                        .selected
                        .as_deref()
                        .and_then(|k| l.node(k))
                        .map(|n| n.col)
                        .unwrap_or(0);
                    let in_col: Vec<&str> = l
                        .nodes
                        .iter()
                        .filter(|n| n.col == col)
                        .map(|n| n.key.as_str())
                        .collect();
                    pick(&in_col, g.selected.as_deref(), delta)
                }
                GraphShape::Tree(_) => {
                    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
                    pick(&refs, g.selected.as_deref(), delta)
                }
            };
            if next.is_some() {
                g.selected = next;
            }
            let (area, _) = layout::graph_areas(b);
            scroll_graph(g, layout::inner(area).height);
        }
        View::Drift { scroll } => {
            *scroll = (i64::from(*scroll) + delta as i64).clamp(0, i64::from(u16::MAX)) as u16;
        }
    }
}

fn step<K: Clone + PartialEq>(
    lv: &mut ListView<K>,
    delta: isize,
    pane: layout::Pane,
    body: ratatui::layout::Rect,
) {
    lv.cursor.move_by(delta);
    let (list, _) = layout::list_split(pane, body);
    lv.cursor.scroll(layout::table_capacity(list));
}

fn pick(keys: &[&str], current: Option<&str>, delta: isize) -> Option<String> {
    if keys.is_empty() {
        return None;
    }
    let pos = current
        .and_then(|c| keys.iter().position(|k| *k == c))
        .unwrap_or(0) as isize;
    let last = keys.len() as isize - 1;
    let next = pos.saturating_add(delta).clamp(0, last) as usize;
    Some(keys[next].to_string())
}

/// h/l in the graph: the nearest node (by row) in the neighbouring column.
fn graph_column(s: &mut State, dir: isize) {
    let b = body(s);
    let Some(View::Graph(g)) = s.views.last_mut() else {
        return;
    };
    match &g.shape {
        GraphShape::Columns(l) => {
            let Some(cur) = g.selected.as_deref().and_then(|k| l.node(k)) else {
                return;
            };
            let target_col = cur.col as isize + dir;
            let best = l
                .nodes
                .iter()
                .filter(|n| n.col as isize == target_col)
                .min_by_key(|n| (i32::from(n.y) - i32::from(cur.y)).abs());
            if let Some(n) = best {
                g.selected = Some(n.key.clone());
            }
        }
        GraphShape::Tree(_) => {
            let keys = g.keys();
            if let Some(n) = pick(&keys, g.selected.as_deref(), dir) {
                g.selected = Some(n);
            }
        }
    }
    let (area, _) = layout::graph_areas(b);
    scroll_graph(g, layout::inner(area).height);
}

/// Keep the selected node inside the visible rows.
pub fn scroll_graph(g: &mut GraphView, height: u16) {
    let (row, total) = match &g.shape {
        GraphShape::Columns(l) => (
            g.selected
                .as_deref()
                .and_then(|k| l.node(k))
                .map(|n| (n.y, n.y + 1)),
            l.height,
        ),
        GraphShape::Tree(t) => (
            g.selected
                .as_deref()
                .and_then(|k| t.iter().position(|l| l.key.as_deref() == Some(k)))
                .map(|i| (i as u16, i as u16 + 1)),
            t.len() as u16,
        ),
    };
    let h = height.max(1);
    if let Some((top, bottom)) = row {
        if top < g.scroll {
            g.scroll = top.saturating_sub(1);
        } else if bottom >= g.scroll + h {
            g.scroll = bottom + 1 - h;
        }
    }
    g.scroll = g.scroll.min(total.saturating_sub(h));
}

fn open(s: &mut State) -> Vec<Effect> {
    if let View::Contexts(lv) = s.view() {
        return match lv.cursor.current().cloned() {
            Some(name) => super::live::switch_context(s, &name),
            None => Vec::new(),
        };
    }
    let target = match s.view() {
        View::Resources(_, lv) => lv.cursor.current().cloned().map(Goto::Graph),
        View::Findings(lv) => lv
            .cursor
            .current()
            .and_then(|k| s.data.finding(k))
            .and_then(|f| match f.resource_ref() {
                Some(r) => Some(Goto::Graph(r)),
                None if f.resource.starts_with("sg-") => Some(Goto::Sg(f.resource.clone())),
                None => None,
            }),
        View::Lbs(lv) => lv
            .cursor
            .current()
            .and_then(|arn| s.data.graphs.iter().find(|(_, g)| g.lbs.contains(arn)))
            .map(|(r, _)| Goto::Graph(r.clone())),
        View::Graph(g) => g
            .selected
            .as_deref()
            .and_then(|k| s.data.graphs.get(&g.root)?.node(k))
            .and_then(|n| match &n.link {
                NodeLink::Sg(id) => Some(Goto::Sg(id.clone())),
                NodeLink::Lb(arn) => Some(Goto::Lb(arn.clone())),
                NodeLink::None => None,
            }),
        View::Sgs(_) | View::Drift { .. } | View::Contexts(_) => None,
    };
    match target {
        Some(Goto::Graph(r)) => open_graph(s, r),
        Some(Goto::Sg(id)) => {
            let mut lv = ListView::default();
            lv.cursor.selected = Some(id);
            s.views.push(View::Sgs(lv));
            relayout(s);
        }
        Some(Goto::Lb(arn)) => {
            let mut lv = ListView::default();
            lv.cursor.selected = Some(arn);
            s.views.push(View::Lbs(lv));
            relayout(s);
        }
        None => {}
    }
    Vec::new()
}

enum Goto {
    Graph(ResourceRef),
    Sg(String),
    Lb(String),
}

pub fn open_graph(s: &mut State, root: ResourceRef) {
    if !s.data.graphs.contains_key(&root) {
        flash(s, Level::Warn, format!("{root} is not in the loaded world"));
        return;
    }
    s.views.push(View::Graph(GraphView {
        root,
        selected: None,
        shape: GraphShape::Tree(Arc::new(Vec::new())),
        scroll: 0,
    }));
    relayout(s);
}

/// `:svc`, `:ing`, `:lb`, `:sg`, `:findings`, `:drift`, `:ctx`, `:q`. A command switches the
/// view on top of the resource table, so Esc always leads back there.
pub fn run_command(s: &mut State, line: &str) -> Vec<Effect> {
    s.dirty = true;
    let mut words = line.split_whitespace();
    let Some(cmd) = words.next() else {
        return Vec::new();
    };
    let arg = words.next();
    let base_kind = match cmd {
        "svc" | "service" | "services" => Some(KindFilter::Services),
        "ing" | "ingress" | "ingresses" => Some(KindFilter::Ingresses),
        "all" | "res" | "resources" => Some(KindFilter::All),
        _ => None,
    };
    if let Some(kind) = base_kind {
        s.views.truncate(1);
        if let Some(View::Resources(k, lv)) = s.views.first_mut() {
            *k = kind;
            lv.filter = arg.unwrap_or("").to_string();
        }
        relayout(s);
        return Vec::new();
    }
    let view = match cmd {
        "lb" | "lbs" => View::Lbs(ListView::default()),
        "sg" | "sgs" => View::Sgs(ListView::default()),
        "findings" | "finding" | "audit" => View::Findings(ListView::default()),
        "drift" => View::Drift { scroll: 0 },
        "ctx" | "context" | "contexts" => {
            return match arg {
                Some(name) => super::live::switch_context(s, name),
                None => {
                    super::live::open_contexts(s);
                    Vec::new()
                }
            };
        }
        "q" | "quit" | "q!" => {
            s.quit = true;
            return Vec::new();
        }
        "help" => {
            s.help = Some(0);
            return Vec::new();
        }
        other => {
            flash(
                s,
                Level::Error,
                format!("unknown command :{other} (try {COMMANDS})"),
            );
            return Vec::new();
        }
    };
    s.views.truncate(1);
    s.views.push(view);
    let exact_sg = arg.filter(|a| s.data.sg(a).is_some()).map(str::to_string);
    match (s.views.last_mut(), exact_sg, arg) {
        // `:sg sg-0abc` selects that group; any other argument filters.
        (Some(View::Sgs(lv)), Some(id), _) => lv.cursor.selected = Some(id),
        (Some(v), None, Some(filter)) => {
            if let Some((f, _, _)) = list_mut(v) {
                *f = filter.to_string();
            }
        }
        _ => {}
    }
    relayout(s);
    Vec::new()
}
