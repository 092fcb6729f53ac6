//! Per-LB and per-TG calls (listeners, attributes, target health). They dominate the ELB
//! budget (one call per LB or TG, 40 tokens / 10 per s for the whole account), so each has its
//! own function for the UI to call lazily for what is in view; [`snapshot_aws`] loads them all.

use std::collections::BTreeMap;

use futures::StreamExt;

use super::client::Aws;
use super::elbv2;
use super::errors::{AwsError, ErrorKind};
use super::inventory::{LoadOptions, PageSizes, load_base};
use super::ops::Op;
use super::paging::{Page, paginate};
use crate::world::{Listener, TargetHealth, World};

fn next(token: Option<&str>) -> Option<String> {
    token.map(str::to_string)
}

/// The listeners of one load balancer.
pub async fn load_listeners(
    aws: &Aws,
    lb_arn: &str,
    ps: PageSizes,
) -> Result<Vec<Listener>, AwsError> {
    aws.call(Op::DescribeListeners);
    let mut items = paginate(|marker| async move {
        let req = aws
            .elb
            .describe_listeners()
            .load_balancer_arn(lb_arn)
            .page_size(ps.elb)
            .set_marker(marker);
        let out = aws.send(Op::DescribeListeners, req.send()).await?;
        Ok(Page {
            items: out.listeners().iter().map(elbv2::listener).collect(),
            next: next(out.next_marker()),
        })
    })
    .await?;
    items.sort_by(|a, b| (a.port, &a.arn).cmp(&(b.port, &b.arn)));
    Ok(items)
}

/// The attributes of one load balancer.
pub async fn load_lb_attributes(
    aws: &Aws,
    lb_arn: &str,
) -> Result<BTreeMap<String, String>, AwsError> {
    aws.call(Op::DescribeLoadBalancerAttributes);
    let req = aws
        .elb
        .describe_load_balancer_attributes()
        .load_balancer_arn(lb_arn);
    let out = aws
        .send(Op::DescribeLoadBalancerAttributes, req.send())
        .await?;
    Ok(elbv2::attributes(out.attributes()))
}

/// The health of one target group's targets (one call; the API does not page).
pub async fn load_target_health(aws: &Aws, tg_arn: &str) -> Result<Vec<TargetHealth>, AwsError> {
    aws.call(Op::DescribeTargetHealth);
    let req = aws.elb.describe_target_health().target_group_arn(tg_arn);
    let out = aws.send(Op::DescribeTargetHealth, req.send()).await?;
    let mut items: Vec<TargetHealth> = out
        .target_health_descriptions()
        .iter()
        .map(elbv2::target_health)
        .collect();
    items.sort_by(|a, b| (&a.id, a.port).cmp(&(&b.id, b.port)));
    Ok(items)
}

/// What [`load_details`] could not load: the entry stays unknown and the error is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The LB or TG ARN.
    pub resource: String,
    pub error: AwsError,
}

enum Detail {
    Listeners(String, Result<Vec<Listener>, AwsError>),
    Attributes(String, Result<BTreeMap<String, String>, AwsError>),
    Health(String, Result<Vec<TargetHealth>, AwsError>),
}

impl Detail {
    fn error(&self) -> Option<&AwsError> {
        match self {
            Detail::Listeners(_, Err(e))
            | Detail::Attributes(_, Err(e))
            | Detail::Health(_, Err(e)) => Some(e),
            _ => None,
        }
    }
}

/// Listeners and attributes of every LB and the target health of every TG of `world`, a few
/// at a time under the budget. A failed call (e.g. throttled past the retries) is not fatal:
/// it is returned, and that LB's listeners or that TG's health stays unknown. A call that lost
/// the endpoint or the credentials stops the rest (returned as a problem; see [`is_fatal`]).
pub async fn load_details(aws: &Aws, world: &mut World, opts: &LoadOptions) -> Vec<Problem> {
    let lbs: Vec<String> = world
        .aws
        .load_balancers
        .iter()
        .flat_map(|m| m.keys().cloned())
        .collect();
    let tgs: Vec<String> = world
        .aws
        .target_groups
        .iter()
        .flat_map(|m| m.keys().cloned())
        .collect();
    let ps = opts.page_sizes;
    let jobs = lbs
        .iter()
        .flat_map(|a| [(0u8, a.clone()), (1, a.clone())])
        .chain(tgs.iter().map(|a| (2u8, a.clone())));
    let mut calls = futures::stream::iter(jobs)
        .map(|(kind, arn)| async move {
            match kind {
                0 => Detail::Listeners(arn.clone(), load_listeners(aws, &arn, ps).await),
                1 => Detail::Attributes(arn.clone(), load_lb_attributes(aws, &arn).await),
                _ => Detail::Health(arn.clone(), load_target_health(aws, &arn).await),
            }
        })
        .buffer_unordered(opts.concurrency.max(1));
    let mut results: Vec<Detail> = Vec::new();
    while let Some(r) = calls.next().await {
        let fatal = r.error().is_some_and(|e| is_fatal(e.kind));
        results.push(r);
        // The endpoint or the credentials are gone: every other call would retry into the
        // same wall. Dropping the stream cancels the calls in flight.
        if fatal {
            break;
        }
    }
    drop(calls);

    let mut problems = Vec::new();
    let listeners = world.aws.listeners.get_or_insert_with(BTreeMap::new);
    let health = world.aws.target_health.get_or_insert_with(BTreeMap::new);
    for r in results {
        match r {
            Detail::Listeners(_, Ok(ls)) => {
                listeners.extend(ls.into_iter().map(|l| (l.arn.clone(), l)));
            }
            Detail::Attributes(arn, Ok(attrs)) => {
                if let Some(lb) = world
                    .aws
                    .load_balancers
                    .as_mut()
                    .and_then(|m| m.get_mut(&arn))
                {
                    lb.attributes = Some(attrs);
                }
            }
            Detail::Health(arn, Ok(h)) => {
                health.insert(arn, h);
            }
            Detail::Listeners(resource, Err(error))
            | Detail::Attributes(resource, Err(error))
            | Detail::Health(resource, Err(error)) => problems.push(Problem { resource, error }),
        }
    }
    problems.sort_by(|a, b| a.resource.cmp(&b.resource));
    problems
}

/// A full live load of the AWS side, for `lbsg snapshot --no-kube`.
#[derive(Debug, Clone)]
pub struct AwsSnapshot {
    pub world: World,
    /// Per-LB / per-TG calls that failed; the rest of the world is complete.
    pub problems: Vec<Problem>,
}

/// Load everything: [`load_base`], then [`load_details`]. Credentials, endpoint and access
/// errors of the base load are returned as errors, and so is a detail call that lost the
/// endpoint or the credentials (e.g. they expired mid-load): that says nothing about one LB
/// or TG, and every other detail is then just as unknown.
pub async fn snapshot_aws(aws: &Aws, opts: &LoadOptions) -> Result<AwsSnapshot, AwsError> {
    let mut world = load_base(aws, opts).await?;
    let problems = load_details(aws, &mut world, opts).await;
    if let Some(p) = problems.iter().find(|p| is_fatal(p.error.kind)) {
        return Err(p.error.clone());
    }
    Ok(AwsSnapshot { world, problems })
}

/// Failures that are about the connection or the identity, not about one resource.
pub fn is_fatal(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::Unreachable
            | ErrorKind::ExpiredCredentials
            | ErrorKind::InvalidCredentials
            | ErrorKind::NoCredentials
            | ErrorKind::NoRegion
            | ErrorKind::WrongRegion
    )
}
