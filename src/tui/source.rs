//! Where the TUI's world comes from and where its edits go: one trait for loading and applying,
//! with the demo (in memory) and world-file implementations here. Live sources implement the
//! same trait elsewhere.

use std::path::PathBuf;
use std::sync::Arc;

use futures::future::BoxFuture;
use tokio::sync::mpsc::UnboundedSender;

use super::action::Action;

use crate::core::plan::apply::apply_to_world;
use crate::core::plan::{ApplyReport, ChangeKind, Plan};
use crate::world::World;

pub use crate::cli::source::DEMO_WORLD;

/// What the header says about the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceInfo {
    /// `demo`, `file`, `live`.
    pub kind: &'static str,
    /// Shown as the context: `demo`, the file name, the kube context.
    pub context: String,
    /// Freshness is tracked per name (`world` for files, `kube` and `aws` when live).
    pub feeds: Vec<&'static str>,
    /// Where edits go, in words (`memory only`, `world file w.yaml`).
    pub sink: String,
    /// The contexts `:ctx` offers (a live source's kubeconfig; empty otherwise).
    pub contexts: Vec<String>,
}

/// Loads worlds and applies plans. Methods return boxed futures so live sources can do IO;
/// local ones finish immediately.
pub trait WorldSource: Send {
    fn info(&self) -> SourceInfo;
    fn load(&mut self) -> BoxFuture<'_, Result<World, String>>;
    /// Apply `plan`, computed on `world`, and return the world as it is afterwards.
    fn apply<'a>(
        &'a mut self,
        world: &'a World,
        plan: &'a Plan,
    ) -> BoxFuture<'a, Result<Applied, ApplyError>>;
    /// A source that follows its data by itself (live) returns its control handle; its worlds
    /// then arrive as actions and `load` is never called.
    fn follow(&self) -> Option<Arc<dyn Follow>> {
        None
    }
}

/// The control of a source that follows its data by itself. Every call returns at once (the
/// UI never waits on a cluster); answers arrive later as actions on the channel of `attach`,
/// tagged with the session generation they belong to.
pub trait Follow: Send + Sync {
    /// Start delivering: the first session (generation 0) starts on the first `refresh`.
    fn attach(&self, actions: UnboundedSender<Action>);
    /// Start the session if it is not running (or failed), else re-read what is polled.
    fn refresh(&self);
    /// Start session `generation` on `context` beside the current one.
    fn switch(&self, generation: u64, context: String);
    /// Stop session `generation` if it is still being switched to.
    fn cancel(&self, generation: u64);
    /// Session `generation` is shown now: stop every other.
    fn activate(&self, generation: u64);
    /// These load balancers are in view.
    fn focus(&self, lbs: Vec<String>);
}

/// Why an apply did not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApplyError {
    /// Something the plan reads changed since it was shown (HTTP 409 on the annotation patch):
    /// nothing was written, and the edit must be planned again on what is there now.
    Conflict(String),
    /// Anything else, in one sentence.
    Failed(String),
}

impl From<String> for ApplyError {
    fn from(m: String) -> Self {
        Self::Failed(m)
    }
}

impl From<&str> for ApplyError {
    fn from(m: &str) -> Self {
        Self::Failed(m.to_string())
    }
}

impl std::fmt::Display for ApplyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Conflict(m) | Self::Failed(m) => f.write_str(m),
        }
    }
}

/// What an apply did: the world afterwards, the report, and one sentence for the user.
#[derive(Debug, Clone)]
pub struct Applied {
    /// `None` when the source follows its data (the change shows when it is seen).
    pub world: Option<World>,
    pub report: ApplyReport,
    pub message: String,
}

pub type Loader = Box<dyn Fn() -> Result<World, String> + Send>;
pub type Saver = Box<dyn Fn(&World) -> Result<(), String> + Send>;

/// The demo world (kept in memory, edits included) or a world file (reloaded on refresh,
/// saved atomically on apply).
pub struct LocalSource {
    info: SourceInfo,
    loader: Loader,
    saver: Option<Saver>,
    current: Option<World>,
    readonly: bool,
}

impl LocalSource {
    pub fn new(info: SourceInfo, loader: Loader, saver: Option<Saver>, readonly: bool) -> Self {
        Self {
            info,
            loader,
            saver,
            current: None,
            readonly,
        }
    }

    /// The embedded demo world; edits stay in memory for the session.
    pub fn demo(loader: Loader, readonly: bool) -> Self {
        Self::new(
            SourceInfo {
                kind: "demo",
                context: "demo".into(),
                feeds: vec!["world"],
                sink: "memory only (demo)".into(),
                contexts: Vec::new(),
            },
            loader,
            None,
            readonly,
        )
    }

    /// A world file; edits are written back to it.
    pub fn file(path: PathBuf, loader: Loader, saver: Saver, readonly: bool) -> Self {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        Self::new(
            SourceInfo {
                kind: "file",
                context: name,
                feeds: vec!["world"],
                sink: format!("world file {}", path.display()),
                contexts: Vec::new(),
            },
            loader,
            Some(saver),
            readonly,
        )
    }
}

/// Indices of the changes an in-memory apply performs (recreates are left to the user).
pub fn local_report(plan: &Plan) -> ApplyReport {
    let mut report = ApplyReport::default();
    for (i, c) in plan.changes.iter().enumerate() {
        if matches!(c.kind, ChangeKind::RecreateRequired { .. }) {
            report.not_attempted.push(i);
        } else {
            report.applied.push(i);
        }
    }
    report
}

impl WorldSource for LocalSource {
    fn info(&self) -> SourceInfo {
        self.info.clone()
    }

    fn load(&mut self) -> BoxFuture<'_, Result<World, String>> {
        Box::pin(async move {
            // The demo keeps its edits; a file is the truth and is read again.
            if self.saver.is_none()
                && let Some(w) = &self.current
            {
                return Ok(w.clone());
            }
            let w = (self.loader)()?;
            self.current = Some(w.clone());
            Ok(w)
        })
    }

    fn apply<'a>(
        &'a mut self,
        world: &'a World,
        plan: &'a Plan,
    ) -> BoxFuture<'a, Result<Applied, ApplyError>> {
        Box::pin(async move {
            if self.readonly {
                return Err("read-only mode: nothing was applied".into());
            }
            let after = apply_to_world(world, plan);
            if let Some(save) = &self.saver {
                save(&after)?;
            }
            self.current = Some(after.clone());
            let report = local_report(plan);
            let n = report.applied.len();
            let mut message = format!(
                "applied {n} change{} to {}",
                if n == 1 { "" } else { "s" },
                self.info.sink
            );
            if !report.not_attempted.is_empty() {
                message.push_str(&format!(
                    "; {} need a recreate, which lbsg never does",
                    report.not_attempted.len()
                ));
            }
            Ok(Applied {
                world: Some(after),
                report,
                message,
            })
        })
    }
}

/// Parse a world file's text (`origin` names it in errors).
pub fn parse_world(text: &str, origin: &str) -> Result<World, String> {
    crate::world::file::load_str(text, origin).map_err(|e| e.to_string())
}

/// Write a world file atomically, keeping the previous one as `.bak`.
pub fn save_world(path: &std::path::Path, world: &World) -> Result<(), String> {
    crate::world::file::save_path_atomic(world, path).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::plan::{Change, Owner, Risk};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn patch_plan() -> Plan {
        Plan {
            changes: vec![
                Change {
                    kind: ChangeKind::CreateTags {
                        sg: "sg-1".into(),
                        tags: [("a".to_string(), "b".to_string())].into(),
                    },
                    owner: Owner::User,
                    risk: Risk::Unchanged,
                    stack: None,
                    pending: false,
                },
                Change {
                    kind: ChangeKind::RecreateRequired {
                        load_balancer: "lb".into(),
                        reason: "r".into(),
                    },
                    owner: Owner::User,
                    risk: Risk::Unchanged,
                    stack: None,
                    pending: false,
                },
            ],
            ..Plan::default()
        }
    }

    fn block<T>(f: BoxFuture<'_, T>) -> T {
        futures::executor::block_on(f)
    }

    #[test]
    fn demo_keeps_edits_across_reloads() {
        let loads = Arc::new(AtomicUsize::new(0));
        let l2 = loads.clone();
        let mut src = LocalSource::demo(
            Box::new(move || {
                l2.fetch_add(1, Ordering::SeqCst);
                Ok(World::default())
            }),
            false,
        );
        let w = block(src.load()).unwrap();
        let done = block(src.apply(&w, &patch_plan())).unwrap();
        assert_eq!(done.report.applied, vec![0]);
        assert_eq!(done.report.not_attempted, vec![1]);
        assert!(
            done.message.starts_with("applied 1 change to memory only"),
            "{}",
            done.message
        );
        assert_eq!(Some(block(src.load()).unwrap()), done.world);
        assert_eq!(loads.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn readonly_refuses_before_touching_anything() {
        let saved = Arc::new(AtomicUsize::new(0));
        let s2 = saved.clone();
        let mut src = LocalSource::file(
            "w.yaml".into(),
            Box::new(|| Ok(World::default())),
            Box::new(move |_| {
                s2.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }),
            true,
        );
        let w = block(src.load()).unwrap();
        assert!(block(src.apply(&w, &patch_plan())).is_err());
        assert_eq!(saved.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn file_source_saves_and_rereads() {
        let saved = Arc::new(AtomicUsize::new(0));
        let s2 = saved.clone();
        let mut src = LocalSource::file(
            "dir/w.yaml".into(),
            Box::new(|| Ok(World::default())),
            Box::new(move |_| {
                s2.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }),
            false,
        );
        assert_eq!(src.info().context, "w.yaml");
        let w = block(src.load()).unwrap();
        block(src.apply(&w, &patch_plan())).unwrap();
        assert_eq!(saved.load(Ordering::SeqCst), 1);
        // A file source reads the file again: the file is the truth.
        assert_eq!(block(src.load()).unwrap(), World::default());
    }
}
