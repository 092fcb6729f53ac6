//! One live session: one kube context (watched) and the AWS account (polled), merged into a
//! World and delivered to the app whenever either side changes, tagged with the session's
//! generation. Dropping the session's task stops its watchers and poller at once.

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::LiveOptions;
use super::aws_feed::{self, AwsState, Control, PollOptions};
use crate::cli::args::SourceArgs;
use crate::cli::live::{
    NO_VPC_NOTE, connect_aws, connect_kube, fill_cluster_name, merge_aws, vpc_for,
};
use crate::infra::aws::{Aws, LoadOptions};
use crate::infra::kube::controller::Overrides;
use crate::infra::kube::{KindId, KubeClient, KubeView, KubeWatch, Problem, discover_controller};
use crate::tui::action::Action;
use crate::tui::runtime::derive;
use crate::tui::state::Feed;
use crate::world::controller::ControllerConfig;
use crate::world::{ClusterInfo, World};

/// The clients of a session, for applying plans.
#[derive(Clone, Default)]
pub struct Clients {
    pub kube: Option<KubeClient>,
    pub aws: Option<Aws>,
}

/// Aborts the task when dropped.
pub struct Guard(pub JoinHandle<()>);

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// What a session needs to run.
pub struct Start {
    pub generation: u64,
    /// `None`: the context the flags and kubeconfig name.
    pub context: Option<String>,
    pub args: SourceArgs,
    pub opts: LiveOptions,
    pub out: mpsc::UnboundedSender<Action>,
    pub clients: Arc<Mutex<Clients>>,
    pub focus: Vec<String>,
}

/// The controller as discovered (or as the overrides alone say), with its notes.
struct Controller {
    config: Option<ControllerConfig>,
    notes: Vec<String>,
}

async fn controller(kube: Option<&KubeClient>, args: &SourceArgs) -> Result<Controller, String> {
    let overrides = Overrides::from_args(args);
    match kube {
        Some(c) => {
            let d = discover_controller(c, &overrides)
                .await
                .map_err(|e| format!("Kubernetes: {e}"))?;
            Ok(Controller {
                config: d.config,
                notes: d.notes.iter().map(|n| n.to_string()).collect(),
            })
        }
        None => Ok(Controller {
            config: overrides.apply_to_default().map_err(|e| e.to_string())?,
            notes: Vec::new(),
        }),
    }
}

/// The kube feed as a watch view says: problems other than "forbidden"/"not installed" make it
/// stale (the watchers retry them); those two and kinds still loading are notes.
fn kube_feed(view: &KubeView, controller_notes: &[String], at: SystemTime) -> Feed {
    let mut failing = Vec::new();
    let mut notes = Vec::new();
    for n in &view.notes {
        let kind = KindId::ALL.into_iter().find(|k| k.resource() == n.subject);
        let problem = kind
            .and_then(|k| view.kinds.get(&k))
            .and_then(|s| s.problem.as_ref());
        match problem {
            Some(Problem::Failing(_)) => failing.push(n.to_string()),
            _ => notes.push(n.to_string()),
        }
    }
    notes.extend(controller_notes.iter().cloned());
    let settled = view.kinds.values().all(|k| k.settled());
    Feed {
        loaded_at: Some(at),
        error: (!failing.is_empty()).then(|| failing.join("; ")),
        live: true,
        notes,
        throttled_at: None,
        progress: (!settled).then(|| "listing".to_string()),
    }
}

fn aws_feed_state(a: &AwsState, vpc_known: bool) -> Feed {
    let mut notes: Vec<String> = a
        .problems
        .iter()
        .map(|(r, e)| format!("{r}: {e}"))
        .collect();
    if !vpc_known {
        notes.insert(0, NO_VPC_NOTE.to_string());
    }
    Feed {
        loaded_at: a.loaded_at,
        error: a.error.clone(),
        live: false,
        notes,
        throttled_at: a.throttled_at,
        progress: a.details.map(|(d, t)| format!("details {d}/{t}")),
    }
}

/// The cluster side of the world: the watched objects and the controller configuration.
fn cluster_side(view: Option<&KubeView>, ctl: &Controller) -> World {
    World {
        cluster: ClusterInfo {
            region: ctl.config.as_ref().and_then(|c| c.region.clone()),
            ..ClusterInfo::default()
        },
        controller: ctl.config.clone(),
        kube: view.map(|v| v.side.clone()).unwrap_or_default(),
        aws: Default::default(),
    }
}

/// Run a session until it fails to start or its task is aborted.
pub async fn run(start: Start, mut control: mpsc::UnboundedReceiver<Control>) {
    let Start {
        generation,
        context,
        args,
        opts,
        out,
        clients,
        focus,
    } = start;
    let fail = |error: String| {
        tracing::warn!(generation, %error, "live session could not start");
        let _ = out.send(Action::LiveFailed { generation, error });
    };
    let kube = if args.no_kube {
        None
    } else {
        match connect_kube(&args, context.as_deref()).await {
            Ok(c) => Some(c),
            Err(e) => return fail(e),
        }
    };
    let header = kube
        .as_ref()
        .map(|k| k.header())
        .unwrap_or_else(|| "no cluster (--no-kube)".into());
    tracing::info!(generation, context = %header, "live session connected");
    let watch = kube.as_ref().map(|c| KubeWatch::start(c, &opts.watch));
    let mut views = watch.as_ref().map(|w| w.views(opts.debounce));
    let mut ctl = match controller(kube.as_ref(), &args).await {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let aws = if args.no_aws {
        None
    } else {
        let a = connect_aws(&args, opts.aws_endpoint.clone()).await;
        Some(match &opts.budget {
            Some(b) => a.with_budget(b.clone()),
            None => a,
        })
    };
    if let Ok(mut c) = clients.lock() {
        *c = Clients {
            kube: kube.clone(),
            aws: aws.clone(),
        };
    }
    let vpc = vpc_for(&args, &cluster_side(None, &ctl));
    let (aws_tx, mut aws_rx) = watch::channel(AwsState::default());
    let (go_tx, go_rx) = watch::channel(false);
    let (aws_ctl, aws_ctl_rx) = mpsc::unbounded_channel();
    let poller = aws.clone().map(|a| {
        let poll = PollOptions {
            load: LoadOptions {
                vpc_id: vpc.clone(),
                ..opts.load.clone()
            },
            every: opts.aws_every,
            full_every: opts.full_details_every,
            publish_every: opts.publish_every,
        };
        Guard(tokio::spawn(aws_feed::run(
            a, poll, aws_tx, aws_ctl_rx, go_rx,
        )))
    });
    if !focus.is_empty() {
        let _ = aws_ctl.send(Control::Focus(focus));
    }

    // The first picture: every kind listed (or known unlistable) and the first AWS poll done,
    // each bounded, so a slow side never keeps the other off the screen for long.
    let settle = async {
        if let Some(w) = &watch {
            w.wait_settled(opts.settle_timeout).await;
        }
    };
    let first_poll = async {
        if aws.is_some() {
            let _ = tokio::time::timeout(opts.settle_timeout, aws_rx.wait_for(|s| s.attempts > 0))
                .await;
        }
    };
    tokio::join!(settle, first_poll);

    let mut aws_alive = poller.is_some();
    let mut kube_at = SystemTime::now();
    let mut published_aws: Option<u64> = None;
    let mut force = true;
    loop {
        // The debounced channel only says *when*; the stores say *what*, as of now (the
        // channel's value may predate the last events, e.g. at the first picture).
        if let Some(v) = views.as_mut() {
            v.borrow_and_update();
        }
        let view = watch.as_ref().map(KubeWatch::view);
        let aws_state = aws_rx.borrow_and_update().clone();
        let mut feeds = Vec::new();
        if let Some(v) = &view {
            feeds.push(("kube", kube_feed(v, &ctl.notes, kube_at)));
        }
        if aws.is_some() {
            feeds.push(("aws", aws_feed_state(&aws_state, vpc.is_some())));
        }
        if force || published_aws != Some(aws_state.version) {
            let mut world = cluster_side(view.as_ref(), &ctl);
            if let Some(a) = &aws_state.world {
                merge_aws(&mut world, a, vpc.clone());
            } else if vpc.is_some() {
                world.cluster.vpc_id = vpc.clone();
            }
            fill_cluster_name(&mut world);
            let at = SystemTime::now();
            let context = Some(header.clone());
            let loaded = match tokio::task::spawn_blocking(move || derive(world, at, context)).await
            {
                Ok(l) => l,
                Err(e) => return fail(format!("analysing the world failed: {e}")),
            };
            if out
                .send(Action::LiveWorld {
                    generation,
                    loaded: Box::new(loaded),
                    feeds,
                })
                .is_err()
            {
                return;
            }
            published_aws = Some(aws_state.version);
            force = false;
            go_tx.send_replace(true);
        } else if let Some((_, state)) = feeds.into_iter().find(|(n, _)| *n == "aws") {
            // Only the AWS status changed (a failed poll, throttling): no new world.
            if out
                .send(Action::FeedChanged {
                    generation,
                    feed: "aws",
                    state,
                })
                .is_err()
            {
                return;
            }
        }
        tokio::select! {
            r = async { match views.as_mut() { Some(v) => v.changed().await, None => futures::future::pending().await } } => {
                if r.is_err() {
                    return;
                }
                kube_at = SystemTime::now();
                force = true;
            }
            r = aws_rx.changed(), if aws_alive => {
                if r.is_err() {
                    // The poller ended (it cannot, short of a panic): keep watching kube.
                    tracing::warn!(generation, "the AWS poller stopped");
                    aws_alive = false;
                }
            }
            c = control.recv() => match c {
                Some(Control::Refresh) => {
                    if let Ok(c) = controller(kube.as_ref(), &args).await {
                        ctl = c;
                    }
                    let _ = aws_ctl.send(Control::Refresh);
                    force = true;
                }
                Some(f @ Control::Focus(_)) => {
                    let _ = aws_ctl.send(f);
                }
                None => return,
            },
        }
    }
}
