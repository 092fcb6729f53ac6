//! Applying a plan to the live world: the annotation patch goes to the API server (dry run
//! first, carrying the planned resourceVersion), user-owned rule changes go to AWS, and the
//! LBC's own changes are left to the LBC, which makes them on its next reconcile.

use super::live::Live;
use crate::core::plan::{ApplyReport, ChangeKind, Owner, Plan};
use crate::infra::aws;
use crate::infra::kube::{AnnotationPatcher, PatchError, PatchRequest};
use crate::world::World;

/// What happened, for the exit code and the message.
pub enum LiveOutcome {
    Applied(String),
    /// The object changed since the plan: nothing was written; re-read and re-plan.
    Conflict(String),
    Failed(String),
}

pub async fn apply_live(live: &Live, world: &World, plan: &Plan, readonly: bool) -> LiveOutcome {
    let mut done = Vec::new();
    for c in &plan.changes {
        let Some(req) = PatchRequest::from_change(&c.kind) else {
            continue;
        };
        let Some(kube) = &live.kube else {
            return LiveOutcome::Failed(
                "the plan patches an annotation but the cluster side was not loaded (--no-kube)"
                    .into(),
            );
        };
        let patcher = AnnotationPatcher::new(kube.client(), readonly);
        match patcher.apply(&req).await {
            Ok(out) => done.push(format!(
                "patched {} (resourceVersion {})",
                out.resource, out.resource_version
            )),
            Err(e @ PatchError::Conflict { .. }) => return LiveOutcome::Conflict(e.to_string()),
            Err(e) => return LiveOutcome::Failed(e.to_string()),
        }
    }
    let user_aws: Vec<_> = plan
        .changes
        .iter()
        .filter(|c| c.owner == Owner::User && c.kind.is_aws())
        .cloned()
        .collect();
    if !user_aws.is_empty() {
        let Some(client) = &live.aws else {
            return LiveOutcome::Failed(
                "the plan changes security group rules but the AWS side was not loaded (--no-aws)"
                    .into(),
            );
        };
        let sub = Plan {
            changes: user_aws,
            ..Plan::default()
        };
        match aws::apply_plan(client, world, &sub, readonly).await {
            Ok(report) if report.is_complete() => {
                done.push(format!("{} AWS change(s) applied", report.applied.len()))
            }
            Ok(report) => return LiveOutcome::Failed(partial(&done, &sub, &report)),
            Err(e) => return LiveOutcome::Failed(e.to_string()),
        }
    }
    let by_lbc = plan
        .changes
        .iter()
        .filter(|c| c.owner == Owner::Lbc && !matches!(c.kind, ChangeKind::PatchAnnotations { .. }))
        .count();
    if by_lbc > 0 {
        done.push(format!(
            "the LBC will now make the {by_lbc} change(s) marked 'by the LBC' on its next reconcile"
        ));
    }
    LiveOutcome::Applied(done.join("; "))
}

/// What a stopped apply did, change by change: nothing half-applied goes unsaid.
fn partial(done: &[String], sub: &Plan, report: &ApplyReport) -> String {
    let mut out = String::from(if done.is_empty() && report.applied.is_empty() {
        "nothing was applied: the apply stopped at its first change:"
    } else {
        "partially applied; the apply stopped at the first failure:"
    });
    for d in done {
        out.push_str(&format!("\n  applied:       {d}"));
    }
    for &i in &report.applied {
        out.push_str(&format!(
            "\n  applied:       {}",
            one_line(&sub.changes[i].kind)
        ));
    }
    if let Some((i, why)) = &report.failed {
        out.push_str(&format!(
            "\n  FAILED:        {}: {why}",
            one_line(&sub.changes[*i].kind)
        ));
    }
    for &i in &report.not_attempted {
        out.push_str(&format!(
            "\n  not attempted: {}",
            one_line(&sub.changes[i].kind)
        ));
    }
    out.push_str("\nRe-read the world (the plan is now stale) and plan again for what is left.");
    out
}

/// One change as a line of the report.
fn one_line(kind: &ChangeKind) -> String {
    let rules = |rules: &[crate::world::Rule]| {
        rules
            .iter()
            .map(|r| r.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match kind {
        ChangeKind::AuthorizeIngress { sg, rules: rs } => {
            format!("{sg}: authorize inbound {}", rules(rs))
        }
        ChangeKind::RevokeIngress { sg, rules: rs, .. } => {
            format!("{sg}: revoke inbound {}", rules(rs))
        }
        ChangeKind::CreateSecurityGroup { id, name, .. } => {
            format!("create security group {name:?} ({id})")
        }
        ChangeKind::DeleteSecurityGroup { sg } => format!("{sg}: delete the security group"),
        ChangeKind::SetSecurityGroups {
            load_balancer,
            security_groups,
            ..
        } => format!(
            "{load_balancer}: set security groups [{}]",
            security_groups.join(", ")
        ),
        ChangeKind::CreateTags { sg, tags } => format!(
            "{sg}: tag {}",
            tags.keys().cloned().collect::<Vec<_>>().join(", ")
        ),
        ChangeKind::DeleteTags { sg, keys } => format!("{sg}: untag {}", keys.join(", ")),
        other => other.subject(),
    }
}
