//! The live source: the cluster through the kube client and AWS through the SDK, loaded and
//! applied exactly as `lbsg plan`/`apply` do (`cli::live`, `cli::live_apply`). Refresh re-reads
//! both sides; an apply patches the annotation (dry run first, optimistic lock) and changes
//! user-owned rules, then re-reads, so the screen shows what is really there.

use futures::future::BoxFuture;

use super::source::{Applied, SourceInfo, WorldSource};
use crate::cli::args::SourceArgs;
use crate::cli::live::{Live, load_live};
use crate::cli::live_apply::{LiveOutcome, apply_live};
use crate::core::plan::{ApplyReport, Owner, Plan};
use crate::world::World;

/// The clients of a live world run on their own runtime, on their own thread: their futures are
/// not `Send`-provable for the app's runtime, and the runtime must outlive the clients.
pub struct LiveSource {
    args: SourceArgs,
    live: Option<(tokio::runtime::Runtime, Live)>,
    context: String,
}

impl Drop for LiveSource {
    fn drop(&mut self) {
        if let Some((rt, _)) = self.live.take() {
            rt.shutdown_background();
        }
    }
}

/// Run `f` on a fresh OS thread without blocking the app's other tasks.
fn off_thread<T: Send>(f: impl FnOnce() -> Result<T, String> + Send) -> Result<T, String> {
    tokio::task::block_in_place(|| {
        std::thread::scope(|sc| {
            sc.spawn(f)
                .join()
                .unwrap_or_else(|_| Err("the live source panicked".into()))
        })
    })
}

impl LiveSource {
    pub fn new(args: SourceArgs) -> Self {
        let context = args
            .context
            .clone()
            .unwrap_or_else(|| "current context".into());
        Self {
            args,
            live: None,
            context,
        }
    }
}

/// The changes an apply performs itself (the patch and user-owned AWS changes); the LBC makes
/// the rest on its next reconcile.
fn live_report(plan: &Plan) -> ApplyReport {
    let mut report = ApplyReport::default();
    for (i, c) in plan.changes.iter().enumerate() {
        if c.owner == Owner::User {
            report.applied.push(i);
        }
    }
    report
}

impl WorldSource for LiveSource {
    fn info(&self) -> SourceInfo {
        let mut feeds = Vec::new();
        if !self.args.no_kube {
            feeds.push("kube");
        }
        if !self.args.no_aws {
            feeds.push("aws");
        }
        SourceInfo {
            kind: "live",
            context: self.context.clone(),
            feeds,
            sink: "the cluster and AWS".into(),
        }
    }

    fn load(&mut self) -> BoxFuture<'_, Result<World, String>> {
        Box::pin(async move {
            let args = self.args.clone();
            let (rt, live) = off_thread(|| {
                let rt = crate::cli::source::runtime()?;
                let live = rt.block_on(load_live(&args))?;
                Ok((rt, live))
            })?;
            for n in &live.notes {
                tracing::warn!(note = %n, "live load");
            }
            if let Some(k) = &live.kube {
                self.context = k.header();
            }
            let world = live.world.clone();
            if let Some((old, _)) = self.live.replace((rt, live)) {
                old.shutdown_background();
            }
            Ok(world)
        })
    }

    fn apply<'a>(
        &'a mut self,
        world: &'a World,
        plan: &'a Plan,
    ) -> BoxFuture<'a, Result<Applied, String>> {
        Box::pin(async move {
            if self.args.readonly {
                return Err("read-only mode: nothing was applied".into());
            }
            let Some((rt, live)) = &self.live else {
                return Err("the live world is not loaded yet; nothing was applied".into());
            };
            let outcome = off_thread(|| Ok(rt.block_on(apply_live(live, world, plan, false))))?;
            let message = match outcome {
                LiveOutcome::Applied(m) => m,
                LiveOutcome::Conflict(m) => {
                    return Err(format!(
                        "{m}; nothing was written: refresh (Ctrl-r) and plan again"
                    ));
                }
                LiveOutcome::Failed(m) => return Err(m),
            };
            // Show what is really there now, not what the plan predicted.
            let after = self
                .load()
                .await
                .map_err(|e| format!("{message}; re-reading failed: {e}"))?;
            Ok(Applied {
                world: after,
                report: live_report(plan),
                message,
            })
        })
    }
}
