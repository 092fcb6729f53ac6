//! The one State of the TUI. Only the reducer (`update`) changes it; `render` reads it.

pub mod editor;
pub mod input;
pub mod table;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::core::plan::{Edit, ResourceRef};
use crate::world::World;

use super::config::UiConfig;
use super::layout::graph::GraphLayout;
use super::layout::tree::TreeLine;
use super::model::ViewData;
use super::model::plan::PlanPreview;
use super::source::SourceInfo;

pub use editor::{AnnotationEditor, EditField, RuleEditor, RuleItem};
pub use input::LineInput;
pub use table::Cursor;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Info,
    Warn,
    Error,
}

/// A message under the header. It never takes focus; it expires on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Banner {
    pub level: Level,
    pub text: String,
    pub at: SystemTime,
}

impl Banner {
    pub fn ttl(&self) -> Duration {
        match self.level {
            Level::Info => Duration::from_secs(6),
            Level::Warn => Duration::from_secs(12),
            Level::Error => Duration::from_secs(30),
        }
    }
}

/// Freshness of one data feed (`world`, `kube`, `aws`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Feed {
    /// When the data shown was read (for a watched feed: the last change seen).
    pub loaded_at: Option<SystemTime>,
    /// The last refresh failed: the data shown is the previous one.
    pub error: Option<String>,
    /// Followed by a healthy watch: its data does not age, only an error makes it stale.
    pub live: bool,
    /// What this feed cannot show (a forbidden kind, a CRD not installed), for `:ctx`.
    pub notes: Vec<String>,
    /// When AWS last answered a call of this feed with throttling (the SDK retried it).
    pub throttled_at: Option<SystemTime>,
    /// Background loading still under way (`details 3/12`).
    pub progress: Option<String>,
}

/// How long the header says "throttled" after the last throttling answer.
pub const THROTTLE_SHOWN: Duration = Duration::from_secs(60);

impl Feed {
    /// Whether AWS throttled this feed recently (as of `now`).
    pub fn throttled(&self, now: SystemTime) -> bool {
        self.throttled_at
            .is_some_and(|t| now.duration_since(t).unwrap_or_default() < THROTTLE_SHOWN)
    }
}

/// A context switch under way: the new context's first world has not arrived yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Switching {
    pub generation: u64,
    pub context: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Normal,
    Command(LineInput),
    Filter(LineInput),
}

/// A table view's own state: cursor by key, filter, sort.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListView<K> {
    pub cursor: Cursor<K>,
    pub filter: String,
    pub sort: usize,
    pub reverse: bool,
}

impl<K> Default for ListView<K> {
    fn default() -> Self {
        Self {
            cursor: Cursor::default(),
            filter: String::new(),
            sort: 0,
            reverse: false,
        }
    }
}

/// Which kinds the resource table lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KindFilter {
    All,
    Services,
    Ingresses,
}

/// The graph drawn either as columns or as a tree, whichever fits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GraphShape {
    Columns(Arc<GraphLayout>),
    Tree(Arc<Vec<TreeLine>>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphView {
    pub root: ResourceRef,
    pub selected: Option<String>,
    pub shape: GraphShape,
    /// First row shown.
    pub scroll: u16,
}

impl GraphView {
    /// Node keys in navigation order.
    pub fn keys(&self) -> Vec<&str> {
        match &self.shape {
            GraphShape::Columns(l) => l.nodes.iter().map(|n| n.key.as_str()).collect(),
            GraphShape::Tree(t) => t.iter().filter_map(|l| l.key.as_deref()).collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum View {
    Resources(KindFilter, ListView<ResourceRef>),
    Graph(GraphView),
    Sgs(ListView<String>),
    Lbs(ListView<String>),
    Findings(ListView<String>),
    Drift {
        scroll: u16,
    },
    /// The kubeconfig's contexts; Enter switches to the selected one.
    Contexts(ListView<String>),
}

impl View {
    pub fn title(&self) -> &'static str {
        match self {
            View::Resources(KindFilter::All, _) => "resources",
            View::Resources(KindFilter::Services, _) => "services",
            View::Resources(KindFilter::Ingresses, _) => "ingresses",
            View::Graph(_) => "graph",
            View::Sgs(_) => "security groups",
            View::Lbs(_) => "load balancers",
            View::Findings(_) => "findings",
            View::Drift { .. } => "drift",
            View::Contexts(_) => "contexts",
        }
    }
}

/// The plan preview of one edit, from request to apply.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanDialog {
    pub request: u64,
    pub title: String,
    pub edit: Edit,
    /// The world the plan is computed on (and applied to).
    pub world: Arc<World>,
    pub preview: Option<PlanPreview>,
    pub error: Option<String>,
    /// Cancel is focused first.
    pub apply_focused: bool,
    pub scroll: u16,
    pub applying: bool,
    /// Why this plan was computed again (an apply met a conflict), shown above it.
    pub note: Option<String>,
    /// An apply met a conflict: plan again as soon as a newer world is in.
    pub replan: bool,
    /// The editor that led here; Cancel returns to it.
    pub back: Option<Box<Overlay>>,
}

/// An explanation with an optional way forward (e.g. "this SG is the LBC's: edit the annotation").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    pub title: String,
    pub lines: Vec<String>,
    /// Enter opens the annotation editor of this resource on this field.
    pub annotation: Option<(ResourceRef, &'static str)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Overlay {
    Annotations(AnnotationEditor),
    Rules(RuleEditor),
    Offer(Offer),
    Plan(Box<PlanDialog>),
}

pub struct State {
    pub config: Arc<UiConfig>,
    pub readonly: bool,
    pub source: SourceInfo,
    pub world: Option<Arc<World>>,
    pub data: Arc<ViewData>,
    pub feeds: BTreeMap<&'static str, Feed>,
    pub loading: bool,
    /// The live session whose results are shown; results of any other are dropped.
    pub generation: u64,
    /// The last generation handed out (a context switch takes the next one).
    pub generations: u64,
    pub switching: Option<Switching>,
    /// The load balancers last announced as in view (the live source loads their details first).
    pub focus: Vec<String>,
    pub spinner: usize,
    /// The clock, as of the last tick (injected, so screens are reproducible).
    pub now: SystemTime,
    pub banner: Option<Banner>,
    /// Never empty: the bottom view is the resource table.
    pub views: Vec<View>,
    pub mode: Mode,
    pub overlay: Option<Overlay>,
    /// Help is drawn above everything; its scroll offset.
    pub help: Option<u16>,
    pub width: u16,
    pub height: u16,
    pub next_request: u64,
    /// Something visible changed since the last draw.
    pub dirty: bool,
    pub quit: bool,
}

impl State {
    pub fn new(config: Arc<UiConfig>, source: SourceInfo, readonly: bool, now: SystemTime) -> Self {
        let feeds = source.feeds.iter().map(|f| (*f, Feed::default())).collect();
        Self {
            config,
            readonly,
            source,
            world: None,
            data: Arc::new(ViewData::default()),
            feeds,
            loading: false,
            generation: 0,
            generations: 0,
            switching: None,
            focus: Vec::new(),
            spinner: 0,
            now,
            banner: None,
            views: vec![View::Resources(KindFilter::All, ListView::default())],
            mode: Mode::Normal,
            overlay: None,
            help: None,
            width: 80,
            height: 24,
            next_request: 1,
            dirty: true,
            quit: false,
        }
    }

    pub fn view(&self) -> &View {
        // `views` is never empty; the fallback keeps this total anyway.
        static EMPTY: std::sync::OnceLock<View> = std::sync::OnceLock::new();
        self.views
            .last()
            .unwrap_or_else(|| EMPTY.get_or_init(|| View::Drift { scroll: 0 }))
    }

    pub fn is_stale(&self, feed: &Feed) -> bool {
        feed.error.is_some()
            || !feed.live
                && feed.loaded_at.is_some_and(|t| {
                    self.now.duration_since(t).unwrap_or_default() > self.config.stale_after
                })
                && self.source.kind == "live"
    }

    /// Whether a timer must run (spinner, banner expiry, freshness ages).
    pub fn wants_ticks(&self) -> bool {
        self.loading
            || self.switching.is_some()
            || self.banner.is_some()
            || matches!(&self.overlay, Some(Overlay::Plan(p)) if p.preview.is_none() || p.applying)
    }
}
