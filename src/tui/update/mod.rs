//! The reducer: the only place the State changes. Synchronous, no IO; whatever needs IO comes
//! back as `Effect`s.

pub mod edit;
pub mod lists;
pub mod live;
pub mod nav;

use std::sync::Arc;

use ratatui::crossterm::event::{KeyEvent, KeyEventKind};
use ratatui::layout::Rect;

use super::action::{Action, Loaded};
use super::config::{Intent, KeySpec, Section};
use super::effect::Effect;
use super::layout;
use super::state::{Banner, GraphShape, Level, Mode, Overlay, State, View};

/// The first effects of a session: load the world.
pub fn start(s: &mut State) -> Vec<Effect> {
    s.loading = true;
    s.dirty = true;
    vec![Effect::LoadWorld]
}

pub fn update(s: &mut State, action: Action) -> Vec<Effect> {
    let mut effects = reduce(s, action);
    effects.extend(live::focus_effect(s));
    effects
}

fn reduce(s: &mut State, action: Action) -> Vec<Effect> {
    match action {
        Action::Key(ev) => on_key(s, &ev),
        Action::Resize { width, height } => {
            s.width = width;
            s.height = height;
            relayout(s);
            s.dirty = true;
            Vec::new()
        }
        Action::Tick(now) => on_tick(s, now),
        Action::Intent(i) => nav::on_intent(s, i),
        Action::RunCommand(c) => nav::run_command(s, &c),
        Action::WorldLoaded(l) => {
            install(s, *l);
            edit::replan_pending(s)
        }
        Action::WorldLoadFailed { error, at } => {
            s.loading = false;
            for f in s.feeds.values_mut() {
                f.error = Some(error.clone());
            }
            flash(
                s,
                Level::Error,
                format!("loading the world failed: {error}"),
            );
            s.now = s.now.max(at);
            s.dirty = true;
            Vec::new()
        }
        Action::PlanComputed { request, result } => {
            edit::plan_computed(s, request, result);
            Vec::new()
        }
        Action::PlanApplied {
            request,
            loaded,
            report,
            message,
        } => {
            edit::plan_applied(s, request, loaded.map(|l| *l), &report, message);
            Vec::new()
        }
        Action::PlanConflict { request, message } => edit::plan_conflict(s, request, message),
        Action::PlanApplyFailed { request, error } => {
            edit::plan_apply_failed(s, request, error);
            Vec::new()
        }
        Action::LiveWorld {
            generation,
            loaded,
            feeds,
        } => {
            let mut effects = live::live_world(s, generation, *loaded, feeds);
            effects.extend(edit::replan_pending(s));
            effects
        }
        Action::FeedChanged {
            generation,
            feed,
            state,
        } => {
            live::feed_changed(s, generation, feed, state);
            Vec::new()
        }
        Action::LiveFailed { generation, error } => {
            live::live_failed(s, generation, error);
            Vec::new()
        }
        Action::Quit => {
            s.quit = true;
            Vec::new()
        }
    }
}

/// Show a message under the header (never blocks input).
pub fn flash(s: &mut State, level: Level, text: impl Into<String>) {
    let had = s.banner.is_some();
    s.banner = Some(Banner {
        level,
        text: text.into(),
        at: s.now,
    });
    if !had {
        // The banner takes a row from the body.
        relayout(s);
    }
    s.dirty = true;
}

/// Put a freshly loaded world in place, keeping every selection by key.
pub fn install(s: &mut State, l: Loaded) {
    s.world = Some(l.world);
    if let Some(c) = l.context {
        s.source.context = c;
    }
    s.data = l.data;
    s.loading = false;
    for f in s.feeds.values_mut() {
        f.loaded_at = Some(l.at);
        f.error = None;
    }
    if matches!(&s.banner, Some(b) if b.level == Level::Error && b.text.starts_with("loading the world failed"))
    {
        s.banner = None;
    }
    relayout(s);
    s.dirty = true;
}

fn on_tick(s: &mut State, now: std::time::SystemTime) -> Vec<Effect> {
    s.now = now;
    let waiting = matches!(&s.overlay, Some(Overlay::Plan(p)) if p.preview.is_none() || p.applying);
    if s.loading || waiting {
        s.spinner = s.spinner.wrapping_add(1);
        s.dirty = true;
    }
    if let Some(b) = &s.banner
        && now.duration_since(b.at).unwrap_or_default() >= b.ttl()
    {
        s.banner = None;
        relayout(s);
        s.dirty = true;
    }
    if s.switching.is_some() {
        s.spinner = s.spinner.wrapping_add(1);
        s.dirty = true;
    }
    // Ages, "throttled" and "stale" in the header change with the clock. (A live source
    // follows its data itself: kube by watching, AWS by polling on its own interval.)
    if s.source.kind == "live" {
        s.dirty = true;
    }
    Vec::new()
}

/// The body rectangle the views draw into, for the current size and banner.
pub fn body(s: &State) -> Rect {
    layout::areas(Rect::new(0, 0, s.width, s.height), s.banner.is_some()).body
}

/// Recompute every view's visible rows and the graph layout (data or size changed).
pub fn relayout(s: &mut State) {
    let data = Arc::clone(&s.data);
    let contexts = s.source.contexts.clone();
    let glyphs = s.config.glyphs;
    let body = body(s);
    for v in &mut s.views {
        match v {
            View::Resources(kind, lv) => {
                let keys = lists::resources(&data, *kind, &lv.filter, lv.sort, lv.reverse);
                lv.cursor.set_keys(keys);
                let (list, _) = layout::list_split(layout::Pane::Resources, body);
                lv.cursor.scroll(layout::table_capacity(list));
            }
            View::Sgs(lv) => {
                lv.cursor
                    .set_keys(lists::sgs(&data, &lv.filter, lv.sort, lv.reverse));
                let (list, _) = layout::list_split(layout::Pane::Sgs, body);
                lv.cursor.scroll(layout::table_capacity(list));
            }
            View::Lbs(lv) => {
                lv.cursor
                    .set_keys(lists::lbs(&data, &lv.filter, lv.sort, lv.reverse));
                let (list, _) = layout::list_split(layout::Pane::Lbs, body);
                lv.cursor.scroll(layout::table_capacity(list));
            }
            View::Findings(lv) => {
                lv.cursor
                    .set_keys(lists::findings(&data, &lv.filter, lv.sort, lv.reverse));
                let (list, _) = layout::list_split(layout::Pane::Findings, body);
                lv.cursor.scroll(layout::table_capacity(list));
            }
            View::Graph(g) => {
                let Some(model) = data.graphs.get(&g.root) else {
                    g.shape = GraphShape::Tree(Arc::new(Vec::new()));
                    continue;
                };
                let (area, _) = layout::graph_areas(body);
                let inner = layout::inner(area);
                g.shape = if inner.width >= layout::MIN_GRAPH_WIDTH {
                    GraphShape::Columns(Arc::new(layout::graph::layout(model, inner.width)))
                } else {
                    GraphShape::Tree(Arc::new(layout::tree::tree(model, &glyphs)))
                };
                let keys = g.keys();
                let keep = g.selected.as_deref().is_some_and(|k| keys.contains(&k));
                if !keep {
                    // Start on the load balancer: the middle of the story.
                    g.selected = keys
                        .iter()
                        .find(|k| k.starts_with("lb:") || k.starts_with("ph:nolb"))
                        .or(keys.first())
                        .map(|k| k.to_string());
                }
                nav::scroll_graph(g, inner.height);
            }
            View::Contexts(lv) => {
                let keys = live::contexts(&contexts, &lv.filter);
                lv.cursor.set_keys(keys);
                let (list, _) = layout::list_split(layout::Pane::Resources, body);
                lv.cursor.scroll(layout::table_capacity(list));
            }
            View::Drift { .. } => {}
        }
    }
}

fn on_key(s: &mut State, ev: &KeyEvent) -> Vec<Effect> {
    if ev.kind != KeyEventKind::Press {
        return Vec::new();
    }
    s.dirty = true;
    let Some(spec) = KeySpec::from_event(ev) else {
        return Vec::new();
    };
    if s.help.is_some() {
        nav::help_key(s, &spec);
        return Vec::new();
    }
    match &mut s.mode {
        Mode::Command(input) => {
            match spec.key {
                super::config::keymap::Key::Enter => {
                    let line = input.text.trim().trim_start_matches(':').to_string();
                    s.mode = Mode::Normal;
                    return nav::run_command(s, &line);
                }
                super::config::keymap::Key::Esc => s.mode = Mode::Normal,
                _ => {
                    input.handle(ev);
                }
            }
            return Vec::new();
        }
        Mode::Filter(input) => {
            match spec.key {
                super::config::keymap::Key::Enter => s.mode = Mode::Normal,
                super::config::keymap::Key::Esc => {
                    s.mode = Mode::Normal;
                    nav::set_filter(s, String::new());
                }
                _ => {
                    if input.handle(ev) {
                        let text = input.text.clone();
                        nav::set_filter(s, text);
                    }
                }
            }
            return Vec::new();
        }
        Mode::Normal => {}
    }
    match &s.overlay {
        Some(Overlay::Plan(_)) | Some(Overlay::Offer(_)) => {
            match s.config.keymap.lookup(Section::Plan, &spec) {
                Some(i) => edit::dialog_intent(s, i),
                // Ctrl-c quits from anywhere; nothing is ever applied implicitly.
                None if s.config.keymap.lookup(Section::Normal, &spec)
                    == Some(Intent::ForceQuit) =>
                {
                    s.quit = true;
                    Vec::new()
                }
                None => Vec::new(),
            }
        }
        Some(Overlay::Annotations(_)) | Some(Overlay::Rules(_)) => edit::form_key(s, ev, &spec),
        None => match s.config.keymap.lookup(Section::Normal, &spec) {
            Some(i) => nav::on_intent(s, i),
            None => Vec::new(),
        },
    }
}

#[cfg(test)]
mod conflict_tests;
#[cfg(test)]
mod live_tests;
#[cfg(test)]
mod tests;
