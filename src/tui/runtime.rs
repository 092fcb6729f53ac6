//! Executes effects and answers with actions. The source (loads and applies) lives in one task
//! that owns it; view-model building runs on blocking threads, off the UI task, and previews
//! on the planning worker of the current world (see `planning`).

use std::sync::Arc;
use std::time::SystemTime;

use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};
use tracing::Instrument;

use super::action::{Action, Loaded};
use super::bridge;
use super::effect::Effect;
use super::model;
use super::planning::Planning;
use super::source::{ApplyError, Follow, WorldSource};
use crate::core::plan::Plan;
use crate::world::World;

/// Analyse a world and derive its view models (CPU work, no IO).
pub fn derive(world: World, at: SystemTime, context: Option<String>) -> Loaded {
    let analysis = bridge::analyse(&world);
    let data = model::build(&world, &analysis);
    Loaded {
        world: Arc::new(world),
        data: Arc::new(data),
        at,
        context,
    }
}

/// Plan an edit on a blocking thread, from scratch (planning is CPU work; the UI task stays
/// responsive). The runtime plans on a warm planner instead; this serves [`execute`].
pub async fn compute_plan(
    request: u64,
    world: Arc<World>,
    edit: crate::core::plan::Edit,
) -> Action {
    let result = tokio::task::spawn_blocking(move || bridge::preview(&world, &edit))
        .await
        .map_err(|e| format!("planning failed: {e}"))
        .and_then(|r| r)
        .map(Box::new);
    Action::PlanComputed { request, result }
}

/// Run one effect to completion against `source` and return its answer (`None` for the
/// effects only a following source acts on). The app runs this in tasks; tests call it directly.
pub async fn execute(source: &mut dyn WorldSource, effect: Effect) -> Option<Action> {
    Some(match effect {
        Effect::SwitchContext { .. }
        | Effect::CancelSwitch { .. }
        | Effect::Activate { .. }
        | Effect::Focus { .. } => return None,
        Effect::LoadWorld => match source.load().await {
            Ok(w) => {
                let at = SystemTime::now();
                let context = Some(source.info().context);
                match tokio::task::spawn_blocking(move || derive(w, at, context)).await {
                    Ok(l) => Action::WorldLoaded(Box::new(l)),
                    Err(e) => Action::WorldLoadFailed {
                        error: format!("analysing the world failed: {e}"),
                        at,
                    },
                }
            }
            Err(error) => Action::WorldLoadFailed {
                error,
                at: SystemTime::now(),
            },
        },
        Effect::ComputePlan {
            request,
            world,
            edit,
        } => compute_plan(request, world, edit).await,
        Effect::ApplyPlan {
            request,
            world,
            plan,
        } => apply(source, request, &world, &plan).await,
    })
}

async fn apply(source: &mut dyn WorldSource, request: u64, world: &World, plan: &Plan) -> Action {
    match source.apply(world, plan).await {
        Ok(done) => {
            tracing::info!(request, applied = done.report.applied.len(), message = %done.message, "plan applied");
            let at = SystemTime::now();
            let context = Some(source.info().context);
            let (after, report, message) = (done.world, done.report, done.message);
            let Some(after) = after else {
                // A following source shows the change when its watch or poll sees it.
                return Action::PlanApplied {
                    request,
                    loaded: None,
                    report,
                    message,
                };
            };
            match tokio::task::spawn_blocking(move || derive(after, at, context)).await {
                Ok(l) => Action::PlanApplied {
                    request,
                    loaded: Some(Box::new(l)),
                    report,
                    message,
                },
                Err(e) => Action::PlanApplyFailed {
                    request,
                    error: format!("{message}, but analysing the result failed: {e}"),
                },
            }
        }
        Err(ApplyError::Conflict(message)) => {
            tracing::warn!(request, %message, "apply met a conflict; planning again");
            Action::PlanConflict { request, message }
        }
        Err(ApplyError::Failed(error)) => {
            tracing::warn!(request, %error, "apply failed");
            Action::PlanApplyFailed { request, error }
        }
    }
}

/// Hands effects to their executors. Source effects are queued to the task owning the source,
/// so loads and applies never overlap; plans go to the planning worker, which every arriving
/// world warms ([`Runtime::observe`]). A following (live) source's control effects go straight
/// to its handle, so a context switch never waits on an apply.
pub struct Runtime {
    source_jobs: UnboundedSender<Effect>,
    planning: Arc<Planning>,
    follow: Option<Arc<dyn Follow>>,
}

impl Runtime {
    pub fn spawn(mut source: Box<dyn WorldSource>, actions: UnboundedSender<Action>) -> Self {
        let planning = Arc::new(Planning::new(actions.clone()));
        let follow = source.follow();
        if let Some(f) = &follow {
            f.attach(actions.clone());
        }
        let (tx, mut rx) = unbounded_channel::<Effect>();
        tokio::spawn(async move {
            while let Some(effect) = rx.recv().await {
                let span = tracing::info_span!("effect", kind = effect_name(&effect));
                let answer = execute(source.as_mut(), effect).instrument(span).await;
                if let Some(a) = answer
                    && actions.send(a).is_err()
                {
                    break;
                }
            }
        });
        Self {
            source_jobs: tx,
            planning,
            follow,
        }
    }

    /// Called with every action before the app reduces it: a world that arrives (a load, an
    /// apply's result, a live update) starts its planner, so the first preview of it is fast.
    /// (Here rather than on the way from the source, where an extra hop would let the source
    /// run ahead of what the app has been given.)
    pub fn observe(&self, action: &Action) {
        if let Some(world) = arriving_world(action) {
            self.planning.warm(world);
        }
    }

    pub fn run(&self, effect: Effect) {
        tracing::debug!(kind = effect_name(&effect), "effect");
        if let Some(f) = &self.follow {
            match effect {
                Effect::LoadWorld => return f.refresh(),
                Effect::SwitchContext {
                    generation,
                    context,
                } => return f.switch(generation, context),
                Effect::CancelSwitch { generation } => return f.cancel(generation),
                Effect::Activate { generation } => return f.activate(generation),
                Effect::Focus { lbs } => return f.focus(lbs),
                _ => {}
            }
        }
        match effect {
            Effect::ComputePlan {
                request,
                world,
                edit,
            } => self.planning.plan(request, world, edit),
            other => {
                let _ = self.source_jobs.send(other);
            }
        }
    }
}

/// The world an action delivers (a load, an apply's result, a live update).
fn arriving_world(a: &Action) -> Option<&Arc<World>> {
    match a {
        Action::WorldLoaded(l) | Action::LiveWorld { loaded: l, .. } => Some(&l.world),
        Action::PlanApplied {
            loaded: Some(l), ..
        } => Some(&l.world),
        _ => None,
    }
}

fn effect_name(e: &Effect) -> &'static str {
    match e {
        Effect::LoadWorld => "load_world",
        Effect::ComputePlan { .. } => "compute_plan",
        Effect::ApplyPlan { .. } => "apply_plan",
        Effect::SwitchContext { .. } => "switch_context",
        Effect::CancelSwitch { .. } => "cancel_switch",
        Effect::Activate { .. } => "activate",
        Effect::Focus { .. } => "focus",
    }
}
