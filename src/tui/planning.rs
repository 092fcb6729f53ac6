//! Previews on a warm planner. Preparing a world for planning (its desired state, drift and
//! exposure) costs a full analysis, ~0.3 s on the large world; an edit of a prepared world costs
//! milliseconds. So one worker thread per world owns the world and its
//! [`Previewer`](super::bridge::Previewer), which borrows the world and so lives on that
//! thread's stack, and answers edits in the order they came.
//!
//! A world is prepared as soon as it arrives ([`Planning::warm`]), so the first preview is fast
//! too. A request for another world replaces the worker; the replaced one still answers what
//! it was given (the reducer drops answers to requests it no longer waits for), then exits.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use tokio::sync::mpsc::UnboundedSender;

use super::action::Action;
use super::bridge::Previewer;
use crate::core::plan::Edit;
use crate::world::World;

/// The planning worker of the latest world, started on demand.
pub struct Planning {
    actions: UnboundedSender<Action>,
    current: Mutex<Option<Worker>>,
}

struct Worker {
    world: Arc<World>,
    jobs: Sender<Job>,
}

struct Job {
    request: u64,
    edit: Edit,
}

impl Planning {
    /// Answers (`PlanComputed`) go to `actions`.
    pub fn new(actions: UnboundedSender<Action>) -> Self {
        Self {
            actions,
            current: Mutex::new(None),
        }
    }

    /// Start preparing `world` for previews, unless it is already the current world.
    pub fn warm(&self, world: &Arc<World>) {
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        self.worker_for(&mut current, world);
    }

    /// Plan `edit` of `world`; the answer arrives as `PlanComputed { request, .. }`.
    pub fn plan(&self, request: u64, world: Arc<World>, edit: Edit) {
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        let job = Job { request, edit };
        let Err(failed) = self.worker_for(&mut current, &world).send(job) else {
            return;
        };
        // The worker is gone (its thread could not start): a fresh one, once, then an answer
        // either way, so the dialog never waits for nothing.
        *current = None;
        if let Err(failed) = self.worker_for(&mut current, &world).send(failed.0) {
            *current = None;
            let _ = self.actions.send(Action::PlanComputed {
                request: failed.0.request,
                result: Err("planning failed: the planning thread could not start".into()),
            });
        }
    }

    /// The worker of `world`, started if the current one is another world's.
    fn worker_for<'a>(
        &self,
        current: &'a mut Option<Worker>,
        world: &Arc<World>,
    ) -> &'a Sender<Job> {
        if current
            .as_ref()
            .is_some_and(|w| !Arc::ptr_eq(&w.world, world))
        {
            *current = None;
        }
        &current.get_or_insert_with(|| self.start(world)).jobs
    }

    fn start(&self, world: &Arc<World>) -> Worker {
        let (jobs, rx) = channel();
        let (w, out) = (Arc::clone(world), self.actions.clone());
        let spawned = std::thread::Builder::new()
            .name("lbsg-planner".into())
            .spawn(move || work(&w, &rx, &out));
        if let Err(e) = spawned {
            // The receiver went with the closure: sending to this worker fails.
            tracing::error!("cannot start the planning thread: {e}");
        }
        Worker {
            world: Arc::clone(world),
            jobs,
        }
    }
}

/// Prepare `world`, then answer every job until the sender is replaced or dropped.
fn work(world: &World, jobs: &Receiver<Job>, out: &UnboundedSender<Action>) {
    let started = Instant::now();
    let previewer = catch_unwind(AssertUnwindSafe(|| Previewer::new(world)));
    tracing::debug!(ms = started.elapsed().as_millis(), "planner ready");
    for job in jobs {
        let result = match &previewer {
            Ok(p) => catch_unwind(AssertUnwindSafe(|| p.preview(&job.edit)))
                .unwrap_or_else(|panic| Err(failed(panic.as_ref()))),
            Err(panic) => Err(failed(panic.as_ref())),
        };
        let answer = Action::PlanComputed {
            request: job.request,
            result: result.map(Box::new),
        };
        if out.send(answer).is_err() {
            return;
        }
    }
}

/// A panic as the dialog shows it (the panic hook has logged it already).
fn failed(panic: &(dyn Any + Send)) -> String {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into());
    format!("planning failed: {what}")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use tokio::sync::mpsc::unbounded_channel;

    use super::*;
    use crate::devtools::edits::all_edits;
    use crate::tui::bridge::preview;
    use crate::world::file::load_str;

    #[test]
    fn answers_every_request_in_order_and_follows_the_world() {
        let (tx, mut rx) = unbounded_channel();
        let planning = Planning::new(tx);
        let a = Arc::new(load_str(crate::cli::source::DEMO_WORLD, "demo").unwrap());
        // the same content, another world: a new worker
        let b = Arc::new((*a).clone());
        let edits: Vec<Edit> = all_edits(&a).into_iter().step_by(37).collect();
        assert!(edits.len() >= 8, "{}", edits.len());
        planning.warm(&a);
        let half = edits.len() as u64 / 2;
        let mut asked = BTreeMap::new();
        for (i, edit) in edits.iter().enumerate() {
            let i = i as u64;
            let world = if i < half { &a } else { &b };
            planning.plan(i, Arc::clone(world), edit.clone());
            asked.insert(i, edit);
        }
        let current = planning.current.lock().unwrap();
        assert!(current.as_ref().is_some_and(|w| Arc::ptr_eq(&w.world, &b)));
        drop(current);
        // every request is answered, the replaced worker's too; each worker in order
        let mut last: [Option<u64>; 2] = [None; 2];
        for _ in 0..edits.len() {
            let Some(Action::PlanComputed { request, result }) = rx.blocking_recv() else {
                panic!("not a plan answer");
            };
            let edit = asked.remove(&request).expect("asked once");
            assert_eq!(result.map(|p| *p), preview(&a, edit), "{edit:?}");
            let of = usize::from(request >= half);
            assert!(
                last[of].is_none_or(|l| l < request),
                "{last:?} then {request}"
            );
            last[of] = Some(request);
        }
        assert!(asked.is_empty(), "{asked:?}");
    }
}
