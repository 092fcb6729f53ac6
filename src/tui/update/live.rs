//! Live sessions in the reducer: worlds and feed states tagged with a session generation,
//! context switches (asynchronous, cancellable, old results dropped) and the "in view" hint.

use super::{edit, flash, install, relayout};
use crate::tui::action::Loaded;
use crate::tui::effect::Effect;
use crate::tui::state::{Feed, Level, ListView, Overlay, State, Switching, View};

/// Take the feed states a live world brings. New notes (a kind became forbidden, a CRD is
/// missing) are logged; the header counts them and `:ctx` lists them. A new failure is said.
fn set_feeds(s: &mut State, feeds: Vec<(&'static str, Feed)>) {
    let mut failed = Vec::new();
    for (name, feed) in feeds {
        if let Some(f) = s.feeds.get_mut(name) {
            for n in feed.notes.iter().filter(|n| !f.notes.contains(n)) {
                tracing::warn!(feed = name, note = %n, "live feed note");
            }
            if let Some(e) = feed.error.as_ref().filter(|e| f.error.as_ref() != Some(*e)) {
                failed.push(format!("{name}: {e}"));
            }
            *f = feed;
        }
    }
    if !failed.is_empty() {
        flash(
            s,
            Level::Warn,
            format!("showing the last good data: {}", failed.join("; ")),
        );
    }
}

/// A world from session `generation`: shown if it is the current session; the first world of
/// the session being switched to completes the switch; anything else is late and dropped.
pub fn live_world(
    s: &mut State,
    generation: u64,
    loaded: Loaded,
    feeds: Vec<(&'static str, Feed)>,
) -> Vec<Effect> {
    if generation == s.generation {
        set_feeds(s, feeds);
        install_keeping_feeds(s, loaded);
        return Vec::new();
    }
    if s.switching
        .as_ref()
        .is_none_or(|sw| sw.generation != generation)
    {
        tracing::debug!(
            generation,
            current = s.generation,
            "dropped a late live world"
        );
        return Vec::new();
    }
    let old = s.source.context.clone();
    s.switching = None;
    s.generation = generation;
    // Nothing of the old context may be applied to the new one: close editors and plans, and
    // start from the resource list.
    if !matches!(&s.overlay, Some(Overlay::Plan(p)) if p.applying) {
        s.overlay = None;
    }
    s.views.truncate(1);
    for f in s.feeds.values_mut() {
        *f = Feed::default();
    }
    set_feeds(s, feeds);
    install_keeping_feeds(s, loaded);
    flash(
        s,
        Level::Info,
        format!("switched to {} (was {old})", s.source.context),
    );
    vec![Effect::Activate { generation }]
}

/// `install` sets every feed as loaded now; a live world brings its own feed states.
fn install_keeping_feeds(s: &mut State, loaded: Loaded) {
    let feeds = s.feeds.clone();
    install(s, loaded);
    s.feeds = feeds;
}

pub fn feed_changed(s: &mut State, generation: u64, name: &'static str, state: Feed) {
    if generation != s.generation {
        return;
    }
    if let Some(f) = s.feeds.get_mut(name) {
        if state.error.is_some() && state.error != f.error {
            let msg = format!(
                "{name} refresh failed, showing the last good data: {}",
                state.error.as_deref().unwrap_or_default()
            );
            *f = state;
            flash(s, Level::Warn, msg);
        } else {
            *f = state;
        }
        s.dirty = true;
    }
}

pub fn live_failed(s: &mut State, generation: u64, error: String) {
    if let Some(sw) = s.switching.clone().filter(|sw| sw.generation == generation) {
        s.switching = None;
        let msg = format!(
            "cannot switch to {}: {error}; still on {}",
            sw.context, s.source.context
        );
        flash(s, Level::Error, msg);
        return;
    }
    if generation != s.generation {
        return;
    }
    s.loading = false;
    for f in s.feeds.values_mut() {
        f.error = Some(error.clone());
    }
    flash(
        s,
        Level::Error,
        format!("loading the world failed: {error}"),
    );
}

/// `:ctx NAME`: start a session on NAME; the current one stays on screen until NAME's first
/// world arrives.
pub fn switch_context(s: &mut State, name: &str) -> Vec<Effect> {
    if s.source.kind != "live" || !s.feeds.contains_key("kube") {
        flash(
            s,
            Level::Warn,
            "switching contexts needs a live cluster source (a kubeconfig, without --no-kube)",
        );
        return Vec::new();
    }
    let current = s.source.context.split(" · ").next().unwrap_or_default();
    if s.switching.is_none() && current == name && s.world.is_some() {
        flash(s, Level::Info, format!("already on {name}"));
        return Vec::new();
    }
    let mut effects = Vec::new();
    if let Some(old) = s.switching.take() {
        effects.push(Effect::CancelSwitch {
            generation: old.generation,
        });
    }
    if current == name && s.world.is_some() {
        flash(s, Level::Info, format!("staying on {name}"));
        return effects;
    }
    s.generations = s.generations.max(s.generation) + 1;
    let generation = s.generations;
    s.switching = Some(Switching {
        generation,
        context: name.to_string(),
    });
    s.dirty = true;
    effects.push(Effect::SwitchContext {
        generation,
        context: name.to_string(),
    });
    effects
}

/// Esc while switching: keep the current context.
pub fn cancel_switch(s: &mut State) -> Vec<Effect> {
    let Some(sw) = s.switching.take() else {
        return Vec::new();
    };
    let msg = format!(
        "cancelled the switch to {}; still on {}",
        sw.context, s.source.context
    );
    flash(s, Level::Info, msg);
    vec![Effect::CancelSwitch {
        generation: sw.generation,
    }]
}

/// `:ctx` without a name: the context list, the current one selected.
pub fn open_contexts(s: &mut State) {
    let mut lv = ListView::default();
    let current = s.source.context.split(" · ").next().unwrap_or_default();
    lv.cursor.selected = s.source.contexts.iter().find(|c| *c == current).cloned();
    s.views.truncate(1);
    s.views.push(View::Contexts(lv));
    relayout(s);
}

/// The contexts the list shows for `filter`.
pub fn contexts(all: &[String], filter: &str) -> Vec<String> {
    let f = filter.to_lowercase();
    all.iter()
        .filter(|c| f.is_empty() || c.to_lowercase().contains(&f))
        .cloned()
        .collect()
}

/// The load balancers of what is in view: the selected resource's, or the LB under the cursor.
fn in_view(s: &State) -> Vec<String> {
    if let View::Lbs(lv) = s.view() {
        return lv.cursor.current().cloned().into_iter().collect();
    }
    edit::current_resource(s)
        .and_then(|r| s.data.graphs.get(&r))
        .map(|g| g.lbs.clone())
        .unwrap_or_default()
}

/// Tell a live source when what is in view changed (it loads those details first).
pub fn focus_effect(s: &mut State) -> Option<Effect> {
    if s.source.kind != "live" || s.world.is_none() {
        return None;
    }
    let lbs = in_view(s);
    if lbs.is_empty() || lbs == s.focus {
        return None;
    }
    s.focus = lbs.clone();
    Some(Effect::Focus { lbs })
}
