//! The live source: the cluster through kube watchers, AWS through the SDK, followed in the
//! background (see `session`) and delivered to the app as `LiveWorld` actions. A context switch
//! starts a second session beside the current one; the reducer decides which one is shown and
//! the other is stopped (its tasks aborted, never awaited). Applying goes through the current
//! session's clients exactly as `lbsg apply` does (`cli::live_apply`); afterwards the screen
//! follows the watch and the next AWS poll instead of re-reading everything.

pub mod aws_feed;
pub mod session;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

use super::action::Action;
use super::source::{Applied, ApplyError, Follow, SourceInfo, WorldSource};
use crate::cli::args::SourceArgs;
use crate::cli::live::Live;
use crate::cli::live_apply::{LiveOutcome, apply_live};
use crate::core::plan::{ApplyReport, Owner, Plan};
use crate::infra::aws::LoadOptions;
use crate::infra::aws::budget::Budget;
use crate::infra::kube::client::context_names;
use crate::infra::kube::{ContextOptions, WatchOptions};
use crate::world::World;
use aws_feed::Control;
use session::{Clients, Guard, Start};

/// How a live source runs.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// Time between AWS polls (AWS has no watch); `None`: only on Ctrl-r.
    pub aws_every: Option<Duration>,
    /// Watch events are coalesced for this long before the world is rebuilt.
    pub debounce: Duration,
    /// The first picture waits at most this long for every kind to be listed and the first
    /// AWS poll.
    pub settle_timeout: Duration,
    pub watch: WatchOptions,
    /// Page sizes and per-LB concurrency (the VPC comes from the flags or the controller).
    pub load: LoadOptions,
    /// An endpoint for every AWS service (emulators, tests); else `AWS_ENDPOINT_URL*`.
    pub aws_endpoint: Option<String>,
    /// The rate budget, shared by every session; `None`: the default (half of the account's
    /// buckets).
    pub budget: Option<Budget>,
    /// Every this many AWS polls, all per-LB/per-TG details are read again.
    pub full_details_every: u64,
    /// Detail progress is delivered at most this often.
    pub publish_every: Duration,
}

impl Default for LiveOptions {
    fn default() -> Self {
        Self {
            aws_every: Some(Duration::from_secs(60)),
            debounce: Duration::from_millis(250),
            settle_timeout: Duration::from_secs(30),
            watch: WatchOptions::default(),
            load: LoadOptions::default(),
            aws_endpoint: None,
            budget: None,
            full_details_every: 5,
            publish_every: Duration::from_secs(1),
        }
    }
}

struct Session {
    generation: u64,
    context: Option<String>,
    control: UnboundedSender<Control>,
    clients: Arc<Mutex<Clients>>,
    task: Guard,
}

#[derive(Default)]
struct Sessions {
    out: Option<UnboundedSender<Action>>,
    handle: Option<tokio::runtime::Handle>,
    /// The session shown (or being started for the first time).
    active: Option<Session>,
    /// The session being switched to.
    pending: Option<Session>,
    /// The generation shown by the app.
    generation: u64,
    focus: Vec<String>,
}

/// The sessions and what starts them; shared by the source (apply) and the app's runtime
/// (control).
struct Hub {
    args: SourceArgs,
    opts: LiveOptions,
    sessions: Mutex<Sessions>,
}

impl Hub {
    fn lock(&self) -> MutexGuard<'_, Sessions> {
        // Every update is a few assignments; a panic cannot leave them half-done.
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn start(&self, s: &Sessions, generation: u64, context: Option<String>) -> Option<Session> {
        let (out, handle) = (s.out.clone()?, s.handle.clone()?);
        let (control, rx) = unbounded_channel();
        let clients = Arc::new(Mutex::new(Clients::default()));
        let start = Start {
            generation,
            context: context.clone(),
            args: self.args.clone(),
            opts: self.opts.clone(),
            out,
            clients: clients.clone(),
            focus: s.focus.clone(),
        };
        tracing::info!(generation, context = ?context, "starting a live session");
        let task = Guard(handle.spawn(session::run(start, rx)));
        Some(Session {
            generation,
            context,
            control,
            clients,
            task,
        })
    }
}

impl Follow for Hub {
    fn attach(&self, actions: UnboundedSender<Action>) {
        let mut s = self.lock();
        s.out = Some(actions);
        s.handle = tokio::runtime::Handle::try_current().ok();
    }

    fn refresh(&self) {
        let mut s = self.lock();
        let running = s.active.as_ref().is_some_and(|a| !a.task.0.is_finished());
        if running {
            if let Some(a) = &s.active {
                let _ = a.control.send(Control::Refresh);
            }
            return;
        }
        let context = s.active.as_ref().and_then(|a| a.context.clone());
        let generation = s.generation;
        s.active = self.start(&s, generation, context);
    }

    fn switch(&self, generation: u64, context: String) {
        let mut s = self.lock();
        // A newer switch replaces the one under way.
        s.pending = None;
        s.pending = self.start(&s, generation, Some(context));
    }

    fn cancel(&self, generation: u64) {
        let mut s = self.lock();
        if s.pending
            .as_ref()
            .is_some_and(|p| p.generation == generation)
        {
            s.pending = None;
        }
    }

    fn activate(&self, generation: u64) {
        let mut s = self.lock();
        s.generation = generation;
        if s.pending
            .as_ref()
            .is_some_and(|p| p.generation == generation)
        {
            // Dropping the old session aborts its watchers and poller without waiting.
            s.active = s.pending.take();
        } else if s
            .active
            .as_ref()
            .is_some_and(|a| a.generation == generation)
        {
            s.pending = None;
        }
    }

    fn focus(&self, lbs: Vec<String>) {
        let mut s = self.lock();
        if let Some(a) = &s.active {
            let _ = a.control.send(Control::Focus(lbs.clone()));
        }
        s.focus = lbs;
    }
}

/// The live source.
pub struct LiveSource {
    hub: Arc<Hub>,
    info: SourceInfo,
}

impl LiveSource {
    pub fn new(args: SourceArgs, mut opts: LiveOptions) -> Self {
        // One budget for every session: during a switch two sessions may poll the same
        // account, and together they must stay within it.
        opts.budget.get_or_insert_with(Budget::default);
        // The contexts `:ctx` offers; a kubeconfig that cannot be read offers none (the first
        // session then says why).
        let kubeconfig = ContextOptions::from_args(&args).load_kubeconfig().ok();
        let contexts = if args.no_kube {
            Vec::new()
        } else {
            kubeconfig.as_ref().map(context_names).unwrap_or_default()
        };
        let context = args
            .context
            .clone()
            .or_else(|| kubeconfig.and_then(|k| k.current_context))
            .unwrap_or_else(|| "current context".into());
        let mut feeds = Vec::new();
        if !args.no_kube {
            feeds.push("kube");
        }
        if !args.no_aws {
            feeds.push("aws");
        }
        let info = SourceInfo {
            kind: "live",
            context,
            feeds,
            sink: "the cluster and AWS".into(),
            contexts,
        };
        Self {
            hub: Arc::new(Hub {
                args,
                opts,
                sessions: Mutex::new(Sessions::default()),
            }),
            info,
        }
    }

    /// The control handle (tests drive it without the app).
    pub fn control(&self) -> Arc<dyn Follow> {
        self.hub.clone()
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
        self.info.clone()
    }

    fn load(&mut self) -> BoxFuture<'_, Result<World, String>> {
        // Never called while following (the runtime sends `LoadWorld` to `refresh`).
        Box::pin(async { Err("the live source delivers its worlds by itself".to_string()) })
    }

    fn apply<'a>(
        &'a mut self,
        world: &'a World,
        plan: &'a Plan,
    ) -> BoxFuture<'a, Result<Applied, ApplyError>> {
        Box::pin(async move {
            if self.hub.args.readonly {
                return Err("read-only mode: nothing was applied".into());
            }
            let (clients, control) = {
                let s = self.hub.lock();
                let Some(a) = &s.active else {
                    return Err("the live world is not loaded yet; nothing was applied".into());
                };
                let c = a.clients.lock().map(|c| c.clone()).unwrap_or_default();
                (c, a.control.clone())
            };
            if clients.kube.is_none() && clients.aws.is_none() {
                return Err("the live world is not loaded yet; nothing was applied".into());
            }
            let live = Live {
                world: World::default(),
                notes: Vec::new(),
                kube: clients.kube,
                aws: clients.aws,
            };
            let message = match apply_live(&live, world, plan, false).await {
                LiveOutcome::Applied(m) => m,
                LiveOutcome::Conflict(m) => {
                    // Re-read now: the app plans the edit again on the next world.
                    let _ = control.send(Control::Refresh);
                    return Err(ApplyError::Conflict(m));
                }
                LiveOutcome::Failed(m) => return Err(ApplyError::Failed(m)),
            };
            // The watch shows the patched object; AWS is polled now rather than at the next
            // interval, so rule changes show without waiting.
            let _ = control.send(Control::Refresh);
            Ok(Applied {
                world: None,
                report: live_report(plan),
                message,
            })
        })
    }

    fn follow(&self) -> Option<Arc<dyn Follow>> {
        Some(self.hub.clone())
    }
}
