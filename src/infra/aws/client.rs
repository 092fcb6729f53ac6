//! The EC2 and ELBv2 clients, built from one `SdkConfig`, plus what every call goes through:
//! the rate budget, the stats, and error classification.

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;

use aws_config::SdkConfig;
use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};

use super::budget::Budget;
use super::config::error_context;
use super::errors::{AwsError, ErrorContext, from_sdk};
use super::ops::Op;
use super::stats::Stats;

/// Everything needed to talk to AWS. Cheap to clone (the SDK clients are shared handles).
#[derive(Clone)]
pub struct Aws {
    pub(crate) ec2: aws_sdk_ec2::Client,
    pub(crate) elb: aws_sdk_elasticloadbalancingv2::Client,
    budget: Budget,
    stats: Stats,
    ctx: ErrorContext,
}

impl fmt::Debug for Aws {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Aws")
            .field("ctx", &self.ctx)
            .finish_non_exhaustive()
    }
}

impl Aws {
    /// Clients for an `SdkConfig` from [`super::config::load_sdk_config`].
    pub fn new(sdk: &SdkConfig) -> Self {
        Self::from_builders(
            aws_sdk_ec2::config::Builder::from(sdk),
            aws_sdk_elasticloadbalancingv2::config::Builder::from(sdk),
            error_context(sdk),
        )
    }

    /// Clients from config builders, so callers (tests) can add interceptors first. The stats
    /// interceptor is added here.
    pub fn from_builders(
        ec2: aws_sdk_ec2::config::Builder,
        elb: aws_sdk_elasticloadbalancingv2::config::Builder,
        ctx: ErrorContext,
    ) -> Self {
        let stats = Stats::default();
        let ec2 = aws_sdk_ec2::Client::from_conf(ec2.interceptor(stats.interceptor()).build());
        let elb = aws_sdk_elasticloadbalancingv2::Client::from_conf(
            elb.interceptor(stats.interceptor()).build(),
        );
        Self {
            ec2,
            elb,
            budget: Budget::default(),
            stats,
            ctx,
        }
    }

    /// Replace the rate budget (shared between clones made afterwards).
    pub fn with_budget(mut self, budget: Budget) -> Self {
        self.budget = budget;
        self
    }

    /// Name the credentials' source in error messages (see [`super::config::credential_source`]).
    pub fn with_credential_source(mut self, source: String) -> Self {
        self.ctx.credentials = Some(source);
        self
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    pub fn error_context(&self) -> &ErrorContext {
        &self.ctx
    }

    /// Send one request (one page): wait for the budget, count it, classify its error.
    /// `request` is an unsent SDK future; nothing goes out before the budget allows it.
    pub(crate) async fn send<T, E, R>(
        &self,
        op: Op,
        request: impl Future<Output = Result<T, SdkError<E, R>>>,
    ) -> Result<T, AwsError>
    where
        E: ProvideErrorMetadata + StdError + 'static,
        R: fmt::Debug + 'static,
    {
        self.budget.acquire(op.bucket()).await;
        self.stats.page(op);
        request.await.map_err(|e| {
            let err = from_sdk(op, &e, &self.ctx);
            tracing::debug!(%op, error = %aws_sdk_ec2::error::DisplayErrorContext(&e), "AWS call failed");
            err
        })
    }

    /// Count one logical request (its pages are counted by [`Aws::send`]).
    pub(crate) fn call(&self, op: Op) {
        self.stats.call(op);
    }
}
