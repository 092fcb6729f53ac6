//! Everything that can happen to the TUI, as data: input, timers, data arrivals, effect results.
//! Intents are imperative (`RunCommand`), arrivals past tense (`WorldLoaded`).

use std::sync::Arc;
use std::time::SystemTime;

use ratatui::crossterm::event::KeyEvent;

use crate::core::plan::ApplyReport;
use crate::world::World;

use super::config::Intent;
use super::model::ViewData;
use super::model::plan::PlanPreview;
use super::state::Feed;

/// A world and its view models, as the runtime delivers them.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub world: Arc<World>,
    pub data: Arc<ViewData>,
    pub at: SystemTime,
    /// The context the source reports after loading (a live source learns it on connect).
    pub context: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Action {
    Key(KeyEvent),
    Resize {
        width: u16,
        height: u16,
    },
    Tick(SystemTime),
    Intent(Intent),
    /// A `:` command line (without the colon).
    RunCommand(String),
    WorldLoaded(Box<Loaded>),
    WorldLoadFailed {
        error: String,
        at: SystemTime,
    },
    PlanComputed {
        request: u64,
        result: Result<Box<PlanPreview>, String>,
    },
    PlanApplied {
        request: u64,
        /// The world afterwards; `None` when the source follows its data (live), which then
        /// shows the change when its watch or next poll sees it.
        loaded: Option<Box<Loaded>>,
        report: ApplyReport,
        /// What the sink did, in one sentence.
        message: String,
    },
    PlanApplyFailed {
        request: u64,
        error: String,
    },
    /// The apply met a conflict (the object changed since the plan); nothing was written.
    PlanConflict {
        request: u64,
        message: String,
    },
    /// A world from live session `generation`, with the state of its feeds as of this world.
    LiveWorld {
        generation: u64,
        loaded: Box<Loaded>,
        feeds: Vec<(&'static str, Feed)>,
    },
    /// A feed's state changed without a new world (AWS failed or was throttled).
    FeedChanged {
        generation: u64,
        feed: &'static str,
        state: Feed,
    },
    /// Live session `generation` could not start (kubeconfig, unreachable API server, …).
    LiveFailed {
        generation: u64,
        error: String,
    },
    /// SIGTERM / SIGHUP: leave now, restoring the terminal.
    Quit,
}
