//! Shared pieces of the moto-backed tests: one moto account per test and a call recorder.

// Test helpers: a failed seed or lock should panic the test that called it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use aws_sdk_ec2::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_ec2::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_ec2::config::{ConfigBag, Credentials, Intercept, Region, RuntimeComponents};
use aws_sdk_ec2::error::BoxError;
use lbsg::infra::aws::budget::Budget;
use lbsg::infra::aws::config::https_client;
use lbsg::infra::aws::errors::ErrorContext;
use lbsg::infra::aws::stats::action_of;
use lbsg::infra::aws::{Aws, Op};

/// The moto endpoint, or `None` after printing why the test is skipped.
pub fn moto_endpoint(test: &str) -> Option<String> {
    match std::env::var("MOTO_ENDPOINT") {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            // Straight to the stderr handle: the test harness captures eprintln! of a passing
            // test, and a skip must be seen.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: MOTO_ENDPOINT is not set. Run scripts/test, or \
                 `eval \"$(scripts/moto start)\"` first (scripts/moto stop ends it)."
            );
            None
        }
    }
}

/// A 12-digit account id no other test (in this or another process) uses.
pub fn fresh_account() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mix = (nanos / 1000) ^ (u64::from(std::process::id()) << 20) ^ (n * 7919);
    format!("{}", 100_000_000_000 + mix % 899_999_999_999)
}

/// Sends every request to this test's own moto account (moto reads the header).
#[derive(Debug)]
struct MotoAccount(String);

impl Intercept for MotoAccount {
    fn name(&self) -> &'static str {
        "MotoAccount"
    }
    fn modify_before_signing(
        &self,
        ctx: &mut BeforeTransmitInterceptorContextMut<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        ctx.request_mut()
            .headers_mut()
            .insert("x-moto-account-id", self.0.clone());
        Ok(())
    }
}

/// Records every attempt that goes on the wire, by IAM action.
#[derive(Debug, Clone, Default)]
pub struct Recorder(pub Arc<Mutex<Vec<String>>>);

impl Recorder {
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
    pub fn mutating(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|a| Op::from_action(a).is_none_or(|o| o.is_mutating()))
            .cloned()
            .collect()
    }
}

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "Recorder"
    }
    fn read_before_transmit(
        &self,
        _ctx: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.lock().unwrap().push(action_of(cfg));
        Ok(())
    }
}

pub struct Env {
    /// lbsg's clients (through budget, stats and the recorder).
    pub aws: Aws,
    /// Plain clients on the same account for seeding and asserting (not recorded).
    pub ec2: aws_sdk_ec2::Client,
    pub elb: aws_sdk_elasticloadbalancingv2::Client,
    pub recorder: Recorder,
    pub account: String,
}

pub async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(https_client())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "static"))
        .load()
        .await
}

pub async fn env(test: &str) -> Option<Env> {
    let endpoint = moto_endpoint(test)?;
    let sdk = sdk_config(&endpoint).await;
    let account = fresh_account();
    let recorder = Recorder::default();
    let aws = Aws::from_builders(
        aws_sdk_ec2::config::Builder::from(&sdk)
            .interceptor(MotoAccount(account.clone()))
            .interceptor(recorder.clone()),
        aws_sdk_elasticloadbalancingv2::config::Builder::from(&sdk)
            .interceptor(MotoAccount(account.clone()))
            .interceptor(recorder.clone()),
        ErrorContext {
            region: Some("us-east-1".into()),
            ec2_endpoint: Some(endpoint.clone()),
            elb_endpoint: Some(endpoint.clone()),
            credentials: None,
        },
    )
    .with_budget(Budget::unlimited());
    let ec2 = aws_sdk_ec2::Client::from_conf(
        aws_sdk_ec2::config::Builder::from(&sdk)
            .interceptor(MotoAccount(account.clone()))
            .build(),
    );
    let elb = aws_sdk_elasticloadbalancingv2::Client::from_conf(
        aws_sdk_elasticloadbalancingv2::config::Builder::from(&sdk)
            .interceptor(MotoAccount(account.clone()))
            .build(),
    );
    Some(Env {
        aws,
        ec2,
        elb,
        recorder,
        account,
    })
}
