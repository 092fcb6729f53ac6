//! The AWS side of a live session. AWS has no watch, so it is polled: `load_base` (one
//! paginated call per kind) gives the first picture; listeners, LB attributes and target health
//! (one call per LB or TG, the expensive part of the ELB budget) load afterwards in the
//! background, what is in view first. Every call goes through the client's rate budget. A
//! failed poll keeps the last good data and says why; throttling is reported, never fatal.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::infra::aws::errors::ErrorKind;
use crate::infra::aws::{
    Aws, AwsError, LoadOptions, load_base, load_lb_attributes, load_listeners, load_target_health,
};
use crate::world::{Listener, TargetHealth, World};

/// Where the AWS side stands, published on every change.
#[derive(Debug, Clone, Default)]
pub struct AwsState {
    /// The last good base load with the details loaded so far.
    pub world: Option<Arc<World>>,
    /// Bumped whenever `world` changes.
    pub version: u64,
    /// When the base was last loaded successfully.
    pub loaded_at: Option<SystemTime>,
    /// Why the last base load failed (cleared by the next success).
    pub error: Option<String>,
    pub throttled_at: Option<SystemTime>,
    /// Base loads attempted so far (the first picture waits for the first).
    pub attempts: u64,
    /// Details of the current pass: (done, total).
    pub details: Option<(usize, usize)>,
    /// Detail calls that failed, by resource.
    pub problems: BTreeMap<String, String>,
}

/// What the session asks of the poller.
#[derive(Debug, Clone)]
pub enum Control {
    /// Poll now (Ctrl-r, after an apply).
    Refresh,
    /// These LBs are in view: their details first.
    Focus(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Job {
    Listeners(String),
    Attributes(String),
    Health(String),
}

impl Job {
    fn arn(&self) -> &str {
        match self {
            Job::Listeners(a) | Job::Attributes(a) | Job::Health(a) => a,
        }
    }
}

enum Answer {
    Listeners(Vec<Listener>),
    Attributes(BTreeMap<String, String>),
    Health(Vec<TargetHealth>),
}

/// Details loaded so far, by ARN; kept across base polls for resources that still exist.
#[derive(Default)]
struct Details {
    listeners: BTreeMap<String, Vec<Listener>>,
    /// LBs whose listener call was made (a failed one counts: retried next pass).
    listeners_tried: BTreeSet<String>,
    attributes: BTreeMap<String, BTreeMap<String, String>>,
    health: BTreeMap<String, Vec<TargetHealth>>,
}

impl Details {
    /// The base world with the details known for its LBs and TGs. Listeners are a section
    /// (unknown or complete): they are shown once every LB's listeners were read.
    fn onto(&self, base: &World) -> World {
        let mut w = base.clone();
        let lbs: Vec<String> = w
            .aws
            .load_balancers
            .iter()
            .flat_map(|m| m.keys().cloned())
            .collect();
        if let Some(m) = w.aws.load_balancers.as_mut() {
            for (arn, lb) in m.iter_mut() {
                if let Some(a) = self.attributes.get(arn) {
                    lb.attributes = Some(a.clone());
                }
            }
        }
        if lbs.iter().all(|a| self.listeners_tried.contains(a)) && !lbs.is_empty() {
            w.aws.listeners = Some(
                lbs.iter()
                    .filter_map(|a| self.listeners.get(a))
                    .flatten()
                    .map(|l| (l.arn.clone(), l.clone()))
                    .collect(),
            );
        } else if lbs.is_empty() && w.aws.load_balancers.is_some() {
            w.aws.listeners = Some(BTreeMap::new());
        }
        let tgs: BTreeSet<&String> = w.aws.target_groups.iter().flat_map(|m| m.keys()).collect();
        let health: BTreeMap<String, Vec<TargetHealth>> = self
            .health
            .iter()
            .filter(|(a, _)| tgs.contains(a))
            .map(|(a, h)| (a.clone(), h.clone()))
            .collect();
        if !health.is_empty() {
            w.aws.target_health = Some(health);
        }
        w
    }

    /// Forget what belongs to resources that are gone.
    fn retain(&mut self, base: &World) {
        let lbs: BTreeSet<String> = base
            .aws
            .load_balancers
            .iter()
            .flat_map(|m| m.keys().cloned())
            .collect();
        let tgs: BTreeSet<String> = base
            .aws
            .target_groups
            .iter()
            .flat_map(|m| m.keys().cloned())
            .collect();
        self.listeners.retain(|a, _| lbs.contains(a));
        self.listeners_tried.retain(|a| lbs.contains(a));
        self.attributes.retain(|a, _| lbs.contains(a));
        self.health.retain(|a, _| tgs.contains(a));
    }
}

/// An LB's own jobs: listeners, attributes, the health of the TGs that name it.
fn jobs_of_lb(base: &World, lb: &str) -> Vec<Job> {
    let mut v = vec![Job::Listeners(lb.into()), Job::Attributes(lb.into())];
    for tg in base.aws.target_groups.iter().flat_map(|m| m.values()) {
        if tg.load_balancer_arns.iter().any(|a| a == lb) {
            v.push(Job::Health(tg.arn.clone()));
        }
    }
    v
}

/// The jobs of one pass, in order: what is in view, then listeners not read yet (the section
/// is unknown until all are; failed ones again), then the rest not known yet; on a `full` pass
/// everything again.
fn plan(base: &World, d: &Details, focus: &[String], full: bool) -> VecDeque<Job> {
    let lbs: Vec<&String> = base
        .aws
        .load_balancers
        .iter()
        .flat_map(|m| m.keys())
        .collect();
    let tgs: Vec<&String> = base
        .aws
        .target_groups
        .iter()
        .flat_map(|m| m.keys())
        .collect();
    let mut out: Vec<Job> = Vec::new();
    for lb in focus.iter().filter(|f| lbs.contains(f)) {
        out.extend(jobs_of_lb(base, lb));
    }
    for lb in &lbs {
        if full || !d.listeners.contains_key(*lb) {
            out.push(Job::Listeners((*lb).clone()));
        }
    }
    for lb in &lbs {
        if full || !d.attributes.contains_key(*lb) {
            out.push(Job::Attributes((*lb).clone()));
        }
    }
    for tg in &tgs {
        if full || !d.health.contains_key(*tg) {
            out.push(Job::Health((*tg).clone()));
        }
    }
    let mut seen = BTreeSet::new();
    out.into_iter().filter(|j| seen.insert(j.clone())).collect()
}

/// Put the jobs of the LBs in view first.
fn prioritise(queue: &mut VecDeque<Job>, base: &World, focus: &[String]) {
    let first: Vec<Job> = focus.iter().flat_map(|lb| jobs_of_lb(base, lb)).collect();
    let wanted: BTreeSet<&Job> = first.iter().collect();
    let present: BTreeSet<Job> = queue.iter().cloned().collect();
    queue.retain(|j| !wanted.contains(j));
    // Only jobs still to do (or in view anyway, to refresh them) move up.
    for j in first.iter().rev() {
        if present.contains(j) || matches!(j, Job::Health(_)) {
            queue.push_front(j.clone());
        }
    }
}

async fn run_job(aws: Aws, job: Job, opts: LoadOptions) -> (Job, Result<Answer, AwsError>) {
    let r = match &job {
        Job::Listeners(a) => load_listeners(&aws, a, opts.page_sizes)
            .await
            .map(Answer::Listeners),
        Job::Attributes(a) => load_lb_attributes(&aws, a).await.map(Answer::Attributes),
        Job::Health(a) => load_target_health(&aws, a).await.map(Answer::Health),
    };
    (job, r)
}

/// How the poller runs.
#[derive(Debug, Clone)]
pub struct PollOptions {
    pub load: LoadOptions,
    /// Time between base polls; `None`: only on request.
    pub every: Option<Duration>,
    /// Every this many polls, all details are read again (else only new ones and those in view).
    pub full_every: u64,
    /// Publish detail progress at most this often (each publish re-analyses the world).
    pub publish_every: Duration,
}

/// Poll until the session ends (its receiver of `control` is dropped with it). `go` turns true
/// once the first picture is on screen: details wait for it.
pub async fn run(
    aws: Aws,
    opts: PollOptions,
    tx: watch::Sender<AwsState>,
    mut control: mpsc::UnboundedReceiver<Control>,
    mut go: watch::Receiver<bool>,
) {
    let mut focus: Vec<String> = Vec::new();
    let mut details = Details::default();
    let mut base: Option<World> = None;
    let mut round: u64 = 0;
    let mut throttled_seen = aws.stats().total().throttled;
    let note_throttle = |tx: &watch::Sender<AwsState>, seen: &mut u64, err: Option<&AwsError>| {
        let now = aws.stats().total().throttled;
        let by_error = err.is_some_and(|e| e.kind == ErrorKind::Throttled);
        if now > *seen || by_error {
            *seen = now;
            tx.send_modify(|s| s.throttled_at = Some(SystemTime::now()));
        }
    };
    loop {
        let polled = load_base(&aws, &opts.load).await;
        note_throttle(&tx, &mut throttled_seen, polled.as_ref().err());
        match polled {
            Ok(b) => {
                details.retain(&b);
                let world = Arc::new(details.onto(&b));
                base = Some(b);
                tx.send_modify(|s| {
                    s.attempts += 1;
                    s.world = Some(world);
                    s.version += 1;
                    s.loaded_at = Some(SystemTime::now());
                    s.error = None;
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, "AWS poll failed; keeping the last good data");
                tx.send_modify(|s| {
                    s.attempts += 1;
                    s.error = Some(format!("AWS: {e}"));
                });
            }
        }
        // Details never compete with the first picture.
        if !*go.borrow() && go.wait_for(|v| *v).await.is_err() {
            return;
        }
        let mut queue = base
            .as_ref()
            .map(|b| {
                plan(
                    b,
                    &details,
                    &focus,
                    round > 0 && round.is_multiple_of(opts.full_every.max(1)),
                )
            })
            .unwrap_or_default();
        let total = queue.len();
        let mut done = 0usize;
        let mut inflight = FuturesUnordered::new();
        let mut last_publish = Instant::now();
        let next_poll = opts.every.map(|e| Instant::now() + e);
        if total > 0 {
            tx.send_modify(|s| s.details = Some((0, total)));
        }
        loop {
            while inflight.len() < opts.load.concurrency.max(1) {
                let Some(job) = queue.pop_front() else { break };
                inflight.push(run_job(aws.clone(), job, opts.load.clone()));
            }
            let sleep = async {
                match next_poll {
                    Some(t) => tokio::time::sleep_until(t).await,
                    None => futures::future::pending().await,
                }
            };
            tokio::select! {
                _ = sleep => break,
                c = control.recv() => match c {
                    Some(Control::Refresh) => break,
                    Some(Control::Focus(lbs)) => {
                        if let Some(b) = &base {
                            prioritise(&mut queue, b, &lbs);
                        }
                        focus = lbs;
                    }
                    None => return,
                },
                Some((job, r)) = inflight.next(), if !inflight.is_empty() => {
                    done += 1;
                    note_throttle(&tx, &mut throttled_seen, r.as_ref().err());
                    let arn = job.arn().to_string();
                    let in_view = focus.iter().any(|f| f == &arn)
                        || base.as_ref().is_some_and(|b| {
                            focus.iter().any(|f| jobs_of_lb(b, f).contains(&job))
                        });
                    let failed = match (job, r) {
                        (Job::Listeners(a), Ok(Answer::Listeners(ls))) => {
                            details.listeners.insert(a.clone(), ls);
                            details.listeners_tried.insert(a);
                            None
                        }
                        (Job::Attributes(a), Ok(Answer::Attributes(at))) => {
                            details.attributes.insert(a, at);
                            None
                        }
                        (Job::Health(a), Ok(Answer::Health(h))) => {
                            details.health.insert(a, h);
                            None
                        }
                        (job, Err(e)) => {
                            tracing::warn!(resource = %arn, error = %e, "AWS detail call failed");
                            if let Job::Listeners(a) = job {
                                // Tried: the section may become known; retried next pass.
                                details.listeners_tried.insert(a);
                            }
                            Some(e.to_string())
                        }
                        // An answer of another job's kind cannot happen (`run_job` pairs them).
                        _ => None,
                    };
                    tx.send_modify(|s| match failed {
                        Some(e) => {
                            s.problems.insert(arn.clone(), e);
                        }
                        None => {
                            s.problems.remove(&arn);
                        }
                    });
                    let finished = queue.is_empty() && inflight.is_empty();
                    if finished || in_view || last_publish.elapsed() >= opts.publish_every {
                        last_publish = Instant::now();
                        if let Some(b) = &base {
                            let world = Arc::new(details.onto(b));
                            tx.send_modify(|s| {
                                s.world = Some(world);
                                s.version += 1;
                                s.details = (!finished).then_some((done, total));
                            });
                        }
                    }
                }
            }
            if queue.is_empty() && inflight.is_empty() && next_poll.is_none() {
                // Nothing to do until asked.
                match control.recv().await {
                    Some(Control::Refresh) => break,
                    Some(Control::Focus(lbs)) => {
                        if let Some(b) = &base {
                            queue.extend(lbs.iter().flat_map(|lb| jobs_of_lb(b, lb)));
                        }
                        focus = lbs;
                    }
                    None => return,
                }
            }
        }
        if !queue.is_empty() || !inflight.is_empty() {
            tx.send_modify(|s| s.details = None);
        }
        round += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::{LoadBalancer, TargetGroup};

    fn base() -> World {
        let mut w = World::default();
        let lb = |arn: &str| LoadBalancer {
            arn: arn.into(),
            ..LoadBalancer::default()
        };
        let tg = |arn: &str, lb: &str| TargetGroup {
            arn: arn.into(),
            load_balancer_arns: vec![lb.into()],
            ..TargetGroup::default()
        };
        w.aws.load_balancers = Some(
            [
                ("lb-a".to_string(), lb("lb-a")),
                ("lb-b".into(), lb("lb-b")),
            ]
            .into_iter()
            .collect(),
        );
        w.aws.target_groups = Some(
            [
                ("tg-a".to_string(), tg("tg-a", "lb-a")),
                ("tg-b".into(), tg("tg-b", "lb-b")),
            ]
            .into_iter()
            .collect(),
        );
        w
    }

    #[test]
    fn the_lb_in_view_comes_first_then_listeners() {
        let b = base();
        let q: Vec<Job> = plan(&b, &Details::default(), &["lb-b".into()], false).into();
        assert_eq!(
            q[..4],
            [
                Job::Listeners("lb-b".into()),
                Job::Attributes("lb-b".into()),
                Job::Health("tg-b".into()),
                Job::Listeners("lb-a".into()),
            ]
        );
        assert_eq!(q.len(), 6, "{q:?}");
        let mut q: VecDeque<Job> = plan(&b, &Details::default(), &[], false);
        prioritise(&mut q, &b, &["lb-b".into()]);
        assert_eq!(q.front(), Some(&Job::Listeners("lb-b".into())));
        assert_eq!(q.len(), 6, "no job twice: {q:?}");
    }

    #[test]
    fn listeners_are_a_section_known_only_when_every_lb_was_read() {
        let b = base();
        let mut d = Details::default();
        assert_eq!(d.onto(&b).aws.listeners, None);
        assert_eq!(d.onto(&b).aws.target_health, None);
        d.listeners_tried.insert("lb-a".into());
        d.listeners.insert("lb-a".into(), vec![]);
        d.health.insert("tg-a".into(), vec![]);
        let w = d.onto(&b);
        assert_eq!(w.aws.listeners, None, "lb-b not read yet");
        assert_eq!(w.aws.target_health.map(|h| h.len()), Some(1));
        d.listeners_tried.insert("lb-b".into());
        assert_eq!(d.onto(&b).aws.listeners, Some(BTreeMap::new()));
        // A later pass without lb-b: its details are forgotten.
        let mut gone = b.clone();
        gone.aws.load_balancers.as_mut().unwrap().remove("lb-b");
        d.retain(&gone);
        assert!(!d.listeners_tried.contains("lb-b"));
        // A pass after everything is known plans nothing, unless full.
        d.attributes.insert("lb-a".into(), BTreeMap::new());
        d.health.insert("tg-b".into(), vec![]);
        assert!(plan(&gone, &d, &[], false).is_empty());
        assert!(!plan(&gone, &d, &[], true).is_empty());
    }
}
