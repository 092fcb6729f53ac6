//! How the LBC makes an SG's inbound rules match the desired ones (lbc-semantics §8.5, §9) and
//! how it deletes SGs (§5.3, §10), as pure functions and small state machines. AWS answers are
//! injected, so the same code predicts a reconcile, drives a real one, or replays a vector.

use std::collections::{BTreeMap, VecDeque};

use super::aws_error::AwsError;
use crate::world::{Rule, SgRule};

pub use super::target::gc::description_labels;
pub use super::target::{
    SHARED_RULE_DESCRIPTION as TGB_SHARED_DESCRIPTION, TGB_LABEL_KEY, TGB_LABEL_VALUE,
};

/// Whether the TGB controller owns this rule on a target SG (§8.5): its description parses to
/// labels containing `elbv2.k8s.aws/targetGroupBinding=shared`.
pub fn is_tgb_shared(rule: &SgRule) -> bool {
    super::target::is_lbc_managed(&rule.rule)
}

/// Which existing rules a reconcile may revoke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Ownership {
    /// Every rule (managed frontend SG).
    #[default]
    All,
    /// Only `…targetGroupBinding=shared` rules (target SGs).
    TgbShared,
}

impl Ownership {
    pub fn owns(self, rule: &SgRule) -> bool {
        match self {
            Ownership::All => true,
            Ownership::TgbShared => is_tgb_shared(rule),
        }
    }
}

/// Set difference `source - target` on rule identity (§9.1). Sorted by identity string, as the
/// LBC emits it; of several source rules with one identity the last one is kept.
pub fn rules_minus(source: &[Rule], target: &[Rule]) -> Vec<Rule> {
    minus_by_identity(source, target, |r| r)
}

fn minus_by_identity<T: Clone>(
    source: &[T],
    target: &[Rule],
    rule: impl Fn(&T) -> &Rule,
) -> Vec<T> {
    let target_ids: std::collections::BTreeSet<String> =
        target.iter().map(Rule::identity).collect();
    let by_id: BTreeMap<String, &T> = source.iter().map(|x| (rule(x).identity(), x)).collect();
    by_id
        .into_iter()
        .filter(|(id, _)| !target_ids.contains(id))
        .map(|(_, x)| x.clone())
        .collect()
}

/// Rules to add and rules to take away so that an SG's inbound rules match `desired`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleDiff {
    pub authorize: Vec<Rule>,
    /// Existing rules (with their ids, when known) that are owned and not desired.
    pub revoke: Vec<SgRule>,
}

impl RuleDiff {
    pub fn is_empty(&self) -> bool {
        self.authorize.is_empty() && self.revoke.is_empty()
    }
}

/// Diff desired rules against an SG's current inbound rules: authorize desired rules missing by
/// identity; revoke current rules not desired, but only those `owned` says the LBC manages.
pub fn diff_rules(
    desired: &[Rule],
    current: &[SgRule],
    owned: impl Fn(&SgRule) -> bool,
) -> RuleDiff {
    let current_rules: Vec<Rule> = current.iter().map(|r| r.rule.clone()).collect();
    RuleDiff {
        authorize: rules_minus(desired, &current_rules),
        revoke: minus_by_identity(current, desired, |r| &r.rule)
            .into_iter()
            .filter(|r| owned(r))
            .collect(),
    }
}

/// Errors after which the LBC re-reads the SG without its cache and retries once.
pub fn should_retry_uncached(e: &AwsError) -> bool {
    matches!(
        e.code(),
        Some("InvalidPermission.Duplicate")
            | Some("InvalidPermission.NotFound")
            | Some("RulesPerSecurityGroupLimitExceeded")
    )
}

/// On the retry after this error the LBC revokes before it authorizes (to make room).
pub fn should_revoke_first(e: &AwsError) -> bool {
    e.has_code("RulesPerSecurityGroupLimitExceeded")
}

/// Options of one inbound-rules reconcile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReconcileOptions {
    pub ownership: Ownership,
    /// Never revoke (target SGs before every TGB has been computed, §8.5).
    pub authorize_only: bool,
}

/// A call the reconcile makes on the SG.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IngressCall {
    /// Read the SG's inbound rules (`uncached`: bypass the controller's SG cache).
    Describe {
        uncached: bool,
    },
    Authorize(Vec<Rule>),
    Revoke(Vec<SgRule>),
}

/// The answer to an [`IngressCall`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallResult {
    /// The SG's inbound rules (answer to `Describe`).
    Described(Vec<SgRule>),
    /// `Authorize`/`Revoke` succeeded.
    Done,
    Failed(AwsError),
}

/// What the reconcile wants next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Call(IngressCall),
    Finished(Result<(), AwsError>),
}

#[derive(Debug, Clone)]
enum Phase {
    Describing,
    Applying(VecDeque<IngressCall>),
    Finished,
}

/// The LBC's `ReconcileIngress` as a state machine: describe, then authorize missing rules and
/// revoke extra owned ones (an authorize error stops before the revoke). On a duplicate/not-found/
/// rule-limit error it re-describes uncached and runs the diff once more (revoking first after a
/// rule-limit error). Drive it with [`IngressReconcile::start`] and [`IngressReconcile::resume`].
#[derive(Debug, Clone)]
pub struct IngressReconcile {
    desired: Vec<Rule>,
    opts: ReconcileOptions,
    phase: Phase,
    retried: bool,
    revoke_first: bool,
}

impl IngressReconcile {
    pub fn new(desired: Vec<Rule>, opts: ReconcileOptions) -> Self {
        Self {
            desired,
            opts,
            phase: Phase::Describing,
            retried: false,
            revoke_first: false,
        }
    }

    /// The first call: a (cached) describe.
    pub fn start(&mut self) -> Step {
        self.phase = Phase::Describing;
        Step::Call(IngressCall::Describe { uncached: false })
    }

    /// Feed the answer to the last call; get the next one.
    pub fn resume(&mut self, result: CallResult) -> Step {
        let phase = std::mem::replace(&mut self.phase, Phase::Finished);
        match (phase, result) {
            (Phase::Finished, _) => Step::Finished(Ok(())),
            (_, CallResult::Failed(e)) => self.fail(e),
            (Phase::Describing, CallResult::Described(current)) => {
                let diff = diff_rules(&self.desired, &current, |r| self.opts.ownership.owns(r));
                let revoke = (!diff.revoke.is_empty() && !self.opts.authorize_only)
                    .then_some(IngressCall::Revoke(diff.revoke));
                let authorize =
                    (!diff.authorize.is_empty()).then_some(IngressCall::Authorize(diff.authorize));
                let calls: VecDeque<IngressCall> = if self.revoke_first {
                    revoke.into_iter().chain(authorize).collect()
                } else {
                    authorize.into_iter().chain(revoke).collect()
                };
                self.next_from(calls)
            }
            (Phase::Describing, CallResult::Done) => {
                Step::Finished(Err(AwsError::other("describe returned no security group")))
            }
            (Phase::Applying(calls), _) => self.next_from(calls),
        }
    }

    fn next_from(&mut self, mut calls: VecDeque<IngressCall>) -> Step {
        match calls.pop_front() {
            Some(call) => {
                self.phase = Phase::Applying(calls);
                Step::Call(call)
            }
            None => Step::Finished(Ok(())),
        }
    }

    fn fail(&mut self, e: AwsError) -> Step {
        // A describe failure, a non-retryable error or a second failure ends the reconcile.
        if self.retried || !should_retry_uncached(&e) {
            return Step::Finished(Err(e));
        }
        self.retried = true;
        self.revoke_first = should_revoke_first(&e);
        self.phase = Phase::Describing;
        Step::Call(IngressCall::Describe { uncached: true })
    }
}

/// Every call of a reconcile with its answer, and the end result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trace {
    pub calls: Vec<(IngressCall, CallResult)>,
    pub result: Result<(), AwsError>,
}

/// Run a reconcile to the end, answering each call with `answer`.
pub fn run_ingress_reconcile(
    desired: Vec<Rule>,
    opts: ReconcileOptions,
    mut answer: impl FnMut(&IngressCall) -> CallResult,
) -> Trace {
    let mut machine = IngressReconcile::new(desired, opts);
    let mut calls = Vec::new();
    let mut step = machine.start();
    loop {
        match step {
            Step::Finished(result) => return Trace { calls, result },
            Step::Call(call) => {
                let res = answer(&call);
                calls.push((call, res.clone()));
                step = machine.resume(res);
            }
        }
    }
}

/// Whether a failed `DeleteSecurityGroup` is retried: `DependencyViolation` anywhere in the chain
/// (the SG is still referenced, e.g. by an LB being updated or by rules on other SGs).
pub fn is_dependency_violation(e: &AwsError) -> bool {
    e.has_code("DependencyViolation")
}

/// How long SG deletion retries `DependencyViolation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeleteRetryPolicy {
    pub interval_secs: u32,
    pub timeout_secs: u32,
    /// Run one target-rule garbage collection on the first `DependencyViolation` (managed SGs).
    pub gc_on_dependency_violation: bool,
}

/// Managed frontend SG: every 2 s for up to 10 s, with one GC (§5.3).
pub const MANAGED_SG_DELETE: DeleteRetryPolicy = DeleteRetryPolicy {
    interval_secs: 2,
    timeout_secs: 10,
    gc_on_dependency_violation: true,
};

/// Shared backend SG: every 2 s for up to 2 min (§10).
pub const BACKEND_SG_DELETE: DeleteRetryPolicy = DeleteRetryPolicy {
    interval_secs: 2,
    timeout_secs: 120,
    gc_on_dependency_violation: false,
};

impl DeleteRetryPolicy {
    /// Attempts before the timeout: one immediately, then one per interval (the LBC polls
    /// immediately, then on a ticker; the last tick races the deadline, so this is an upper bound).
    pub fn max_attempts(&self) -> u32 {
        self.timeout_secs / self.interval_secs.max(1) + 1
    }
}

/// The result of deleting an SG with retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteOutcome {
    pub attempts: u32,
    /// Whether the one-off target-rule GC ran.
    pub gc_triggered: bool,
    /// `failed to delete securityGroup: …` on failure.
    pub result: Result<(), AwsError>,
}

/// Delete an SG, answering each `DeleteSecurityGroup` attempt with `attempt`.
pub fn run_sg_delete(
    policy: DeleteRetryPolicy,
    mut attempt: impl FnMut() -> Result<(), AwsError>,
) -> DeleteOutcome {
    const CONTEXT: &str = "failed to delete securityGroup";
    let mut gc_triggered = false;
    let mut last: Option<AwsError> = None;
    for n in 1..=policy.max_attempts() {
        match attempt() {
            Ok(()) => {
                return DeleteOutcome {
                    attempts: n,
                    gc_triggered,
                    result: Ok(()),
                };
            }
            Err(e) if is_dependency_violation(&e) => {
                gc_triggered |= policy.gc_on_dependency_violation;
                last = Some(e);
            }
            Err(e) => {
                return DeleteOutcome {
                    attempts: n,
                    gc_triggered,
                    result: Err(e.wrap(CONTEXT)),
                };
            }
        }
    }
    // Go joins the timeout and the last error with %v, so no API code survives in the chain.
    let timeout = match last {
        Some(e) => AwsError::other(format!("timed out waiting for the condition: {e}")),
        None => AwsError::other("timed out waiting for the condition"),
    };
    DeleteOutcome {
        attempts: policy.max_attempts(),
        gc_triggered,
        result: Err(timeout.wrap(CONTEXT)),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
mod tests {
    use super::*;
    use crate::world::{Source, Tags};

    fn tcp(from: i32, to: i32, src: &str, desc: &str) -> Rule {
        Rule::new("tcp", from, to, Source::parse_token(src), desc)
    }

    fn sg(rule: Rule) -> SgRule {
        SgRule {
            rule,
            id: None,
            tags: Tags::new(),
        }
    }

    #[test]
    fn labels_follow_the_lbc_pattern() {
        let l = description_labels("elbv2.k8s.aws/targetGroupBinding=shared");
        assert_eq!(l.get(TGB_LABEL_KEY).map(String::as_str), Some("shared"));
        let l = description_labels("a=b,c=d");
        assert_eq!(l.len(), 2);
        // a pair must be followed by a comma or the end
        assert!(description_labels("a=b c").is_empty());
        assert_eq!(
            description_labels("note: x=y").get("x").map(String::as_str),
            Some("y")
        );
        // `a=b=c`: the first pair is followed by `=`, the scan finds `b=c`
        let l = description_labels("a=b=c");
        assert_eq!(l.get("b").map(String::as_str), Some("c"));
        assert!(!l.contains_key("a"));
        assert!(description_labels("").is_empty());
        assert!(description_labels("shared").is_empty());
    }

    #[test]
    fn only_owned_rules_are_revoked() {
        let shared = sg(tcp(80, 80, "sg-a", TGB_SHARED_DESCRIPTION));
        let manual = sg(tcp(22, 22, "10.0.0.0/8", "ssh for ops"));
        let d = diff_rules(
            &[tcp(443, 443, "sg-a", TGB_SHARED_DESCRIPTION)],
            &[shared.clone(), manual],
            is_tgb_shared,
        );
        assert_eq!(d.revoke, vec![shared]);
        assert_eq!(d.authorize.len(), 1);
    }

    #[test]
    fn diff_ignores_descriptions_and_collapses_duplicates() {
        let d = diff_rules(
            &[
                tcp(80, 80, "0.0.0.0/0", ""),
                tcp(80, 80, "0.0.0.0/0", "dup"),
                tcp(81, 81, "0.0.0.0/0", ""),
            ],
            &[sg(tcp(80, 80, "0.0.0.0/0", "edited"))],
            |_| true,
        );
        assert_eq!(d.authorize, vec![tcp(81, 81, "0.0.0.0/0", "")]);
        assert!(d.revoke.is_empty());
    }

    #[test]
    fn authorize_only_never_revokes() {
        let t = run_ingress_reconcile(
            vec![],
            ReconcileOptions {
                authorize_only: true,
                ..ReconcileOptions::default()
            },
            |c| match c {
                IngressCall::Describe { .. } => {
                    CallResult::Described(vec![sg(tcp(1, 1, "1.1.1.1/32", ""))])
                }
                _ => CallResult::Done,
            },
        );
        assert_eq!(t.calls.len(), 1);
        assert_eq!(t.result, Ok(()));
    }

    #[test]
    fn a_second_retryable_error_is_final() {
        let t = run_ingress_reconcile(
            vec![tcp(1, 1, "1.1.1.1/32", "")],
            ReconcileOptions::default(),
            |c| match c {
                IngressCall::Describe { .. } => CallResult::Described(vec![]),
                _ => CallResult::Failed(AwsError::api("InvalidPermission.Duplicate", "dup")),
            },
        );
        // describe, authorize (fails), describe uncached, authorize (fails)
        assert_eq!(t.calls.len(), 4);
        assert_eq!(
            t.result.unwrap_err().code(),
            Some("InvalidPermission.Duplicate")
        );
    }

    #[test]
    fn delete_gives_up_after_the_timeout() {
        let out = run_sg_delete(MANAGED_SG_DELETE, || {
            Err(AwsError::api("DependencyViolation", "in use"))
        });
        assert_eq!(out.attempts, 6);
        assert!(out.gc_triggered);
        assert_eq!(
            out.result.unwrap_err().to_string(),
            "failed to delete securityGroup: timed out waiting for the condition: api error DependencyViolation: in use"
        );
    }
}
