//! AWS faults in-process (`infra::aws` against moto through the fault-injecting proxy): what
//! the SDK retries is ridden out and counted, what persists is one clear error naming the API,
//! nothing is applied silently, and the same client recovers once the fault clears.
//!
//! The clients retry in production's mode (standard) with a short backoff, so a persistent
//! fault costs milliseconds, not the seconds of the default backoff.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use aws_config::retry::RetryConfig;
use lbsg::core::plan::{Change, ChangeKind, Owner, Plan, Risk};
use lbsg::infra::aws::budget::Budget;
use lbsg::infra::aws::errors::ErrorContext;
use lbsg::infra::aws::{
    Aws, AwsSnapshot, ErrorKind, LoadOptions, apply_plan, load_base, snapshot_aws,
};
use lbsg::world::{Rule, Source, World};

use crate::aws_common::{Env, moto_endpoint, sdk_config};
use crate::aws_seed::{Seeded, seed};
use crate::moto_proxy::{Fault, Inject, MotoProxy};

/// Attempts per request (the SDK's first try and its retries).
const ATTEMPTS: u32 = 4;

const ELB_LBS: &str = "elasticloadbalancing:DescribeLoadBalancers";
const ELB_HEALTH: &str = "elasticloadbalancing:DescribeTargetHealth";
const AUTHORIZE: &str = "ec2:AuthorizeSecurityGroupIngress";

struct Faulty {
    proxy: MotoProxy,
    env: Env,
    s: Seeded,
    opts: LoadOptions,
}

fn retry() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(ATTEMPTS)
        .with_initial_backoff(Duration::from_millis(10))
        .with_max_backoff(Duration::from_millis(100))
}

/// The seeded account behind a fresh proxy; lbsg's clients go through the proxy.
async fn faulty(test: &str) -> Option<Faulty> {
    let endpoint = moto_endpoint(test)?;
    let proxy = MotoProxy::start(&endpoint).await;
    let sdk = sdk_config(&proxy.url).await;
    let aws = Aws::from_builders(
        aws_sdk_ec2::config::Builder::from(&sdk).retry_config(retry()),
        aws_sdk_elasticloadbalancingv2::config::Builder::from(&sdk).retry_config(retry()),
        ErrorContext {
            region: Some("us-east-1".into()),
            ec2_endpoint: Some(proxy.url.clone()),
            elb_endpoint: Some(proxy.url.clone()),
            credentials: None,
        },
    )
    .with_budget(Budget::unlimited())
    .with_credential_source("the environment (AWS_ACCESS_KEY_ID)".into());
    let env = Env {
        aws,
        ec2: aws_sdk_ec2::Client::new(&sdk),
        elb: aws_sdk_elasticloadbalancingv2::Client::new(&sdk),
        recorder: Default::default(),
        account: proxy.account.clone(),
    };
    let s = seed(&env).await;
    let opts = LoadOptions {
        vpc_id: Some(s.vpc.clone()),
        ..Default::default()
    };
    proxy.clear();
    Some(Faulty {
        proxy,
        env,
        s,
        opts,
    })
}

impl Faulty {
    async fn snapshot(&self) -> Result<AwsSnapshot, lbsg::infra::aws::AwsError> {
        // Boxed: a debug build's load future is large, and a test awaits several.
        Box::pin(snapshot_aws(&self.env.aws, &self.opts)).await
    }

    /// A clean load, then the counters zeroed: the reference world.
    async fn reference(&self) -> World {
        let snap = self.snapshot().await.unwrap();
        assert!(snap.problems.is_empty(), "{:?}", snap.problems);
        self.fresh_counts();
        snap.world
    }

    fn fresh_counts(&self) {
        self.env.aws.stats().reset();
        self.proxy.clear();
    }

    fn stat(&self, action: &str) -> lbsg::infra::aws::stats::OpStats {
        self.env
            .aws
            .stats()
            .snapshot()
            .get(action)
            .copied()
            .unwrap_or_default()
    }
}

#[tokio::test]
async fn aws_faults_transient_elb_throttling_is_ridden_out_and_counted() {
    let Some(f) = faulty("aws_faults_transient_elb_throttling_is_ridden_out_and_counted").await
    else {
        return;
    };
    let t = Instant::now();
    let clean = f.reference().await;
    eprintln!("clean load: {:?}", t.elapsed());
    f.proxy
        .inject(Inject::new(ELB_LBS, Fault::Throttle).times(2));
    f.proxy
        .inject(Inject::new(ELB_HEALTH, Fault::Throttle).times(3));
    let t = Instant::now();
    let snap = f.snapshot().await.unwrap();
    eprintln!("throttled load: {:?}", t.elapsed());
    assert!(snap.problems.is_empty(), "{:?}", snap.problems);
    assert_eq!(snap.world, clean, "the world is the unthrottled one");
    // The stats saw every throttle (on the wire, independently of the proxy's count).
    for (action, n) in [(ELB_LBS, 2), (ELB_HEALTH, 3)] {
        assert_eq!(f.proxy.injected_count(action, Fault::Throttle), n);
        let st = f.stat(action);
        assert_eq!(st.throttled, n as u64, "{action}: {st:?}");
        assert_eq!(st.attempts, st.pages + n as u64, "{action}: {st:?}");
    }
    assert_eq!(f.env.aws.stats().total().throttled, 5);
}

#[tokio::test]
async fn aws_faults_persistent_throttling_is_one_error_naming_the_api_and_budget() {
    let Some(f) =
        faulty("aws_faults_persistent_throttling_is_one_error_naming_the_api_and_budget").await
    else {
        return;
    };
    let clean = f.reference().await;

    // On the base load: the load fails, naming the API and the bucket it ran out of.
    f.proxy.inject(Inject::new(ELB_LBS, Fault::Throttle));
    let err = f.snapshot().await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Throttled, "{err}");
    let text = err.to_string();
    eprintln!("message: {text}");
    assert!(text.contains(ELB_LBS), "{text}");
    assert!(
        text.contains("ELBv2 Describe* request budget (40 requests burst, 10 per second)"),
        "{text}"
    );
    assert_eq!(
        f.proxy.injected_count(ELB_LBS, Fault::Throttle),
        ATTEMPTS as usize,
        "the SDK retried up to its budget of attempts, then gave up"
    );
    assert_eq!(f.stat(ELB_LBS).throttled, u64::from(ATTEMPTS));

    // The fault clears: the same client loads the same world.
    f.proxy.clear_faults();
    f.fresh_counts();
    let t = Instant::now();
    let snap = f.snapshot().await.unwrap();
    eprintln!("load after the throttling cleared: {:?}", t.elapsed());
    assert!(snap.problems.is_empty(), "{:?}", snap.problems);
    assert_eq!(snap.world, clean);

    // On a per-TG call: only that detail is unknown, named, and the rest is complete.
    f.proxy.inject(Inject::new(ELB_HEALTH, Fault::Throttle));
    let snap = f.snapshot().await.unwrap();
    let tgs: BTreeSet<&String> = clean.aws.target_groups.as_ref().unwrap().keys().collect();
    let failed: BTreeSet<&String> = snap.problems.iter().map(|p| &p.resource).collect();
    assert_eq!(failed, tgs, "every TG's health is a named problem");
    assert!(
        snap.problems
            .iter()
            .all(|p| p.error.kind == ErrorKind::Throttled && p.error.op.action() == ELB_HEALTH)
    );
    assert_eq!(
        snap.world.aws.target_health.as_ref().map(|h| h.len()),
        Some(0),
        "no health is made up"
    );
    let mut rest = snap.world.clone();
    rest.aws.target_health = clean.aws.target_health.clone();
    assert_eq!(rest, clean, "everything else was loaded");
    f.proxy.clear_faults();
    assert_eq!(f.snapshot().await.unwrap().world, clean, "recovered");
}

#[tokio::test]
async fn aws_faults_server_errors_are_retried_then_reported_as_awss_side() {
    let Some(f) = faulty("aws_faults_server_errors_are_retried_then_reported_as_awss_side").await
    else {
        return;
    };
    let clean = f.reference().await;
    let sgs = "ec2:DescribeSecurityGroups";
    f.proxy
        .inject(Inject::new(sgs, Fault::ServerError).times(2));
    f.proxy
        .inject(Inject::new("elasticloadbalancing", Fault::ServerError).times(2));
    let snap = f.snapshot().await.unwrap();
    assert!(snap.problems.is_empty(), "{:?}", snap.problems);
    assert_eq!(snap.world, clean);
    let st = f.stat(sgs);
    assert_eq!(st.attempts, st.pages + 2, "{st:?}");
    assert_eq!(f.proxy.injected().len(), 4, "{:?}", f.proxy.injected());

    f.proxy.clear_faults();
    f.fresh_counts();
    f.proxy.inject(Inject::new(sgs, Fault::ServerError));
    let err = f.snapshot().await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::ServerError, "{err}");
    let text = err.to_string();
    eprintln!("message: {text}");
    assert!(
        text.contains(sgs)
            && text.contains("InternalError")
            && text.contains("AWS failed on its side"),
        "{text}"
    );
    assert_eq!(
        f.proxy.injected_count(sgs, Fault::ServerError),
        ATTEMPTS as usize
    );
    f.proxy.clear_faults();
    assert_eq!(f.snapshot().await.unwrap().world, clean, "recovered");
}

#[tokio::test]
async fn aws_faults_expired_credentials_name_the_source_and_the_fix() {
    let Some(f) = faulty("aws_faults_expired_credentials_name_the_source_and_the_fix").await else {
        return;
    };
    let clean = f.reference().await;
    // EC2 says RequestExpired, ELBv2 ExpiredToken; both mid-load too (on the per-TG calls,
    // after the base load succeeded): the load fails, it does not go on with 23 notes.
    for target in ["ec2", "elasticloadbalancing", ELB_HEALTH] {
        f.fresh_counts();
        f.proxy.inject(Inject::new(target, Fault::Expired));
        let err = f.snapshot().await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::ExpiredCredentials, "{target}: {err}");
        let text = err.to_string();
        eprintln!("{target}: {text}");
        assert!(
            text.contains("the environment (AWS_ACCESS_KEY_ID)") && text.contains("aws sso login"),
            "{text}"
        );
        assert!(
            f.proxy
                .injected()
                .iter()
                .all(|(a, _)| a.starts_with(target)),
            "{:?}",
            f.proxy.injected()
        );
        // Expired credentials are not retried: one attempt per request that was in flight.
        let attempts = f.env.aws.stats().total();
        assert_eq!(attempts.attempts, attempts.pages, "{attempts:?}");
        f.proxy.clear_faults();
    }
    assert_eq!(f.snapshot().await.unwrap().world, clean, "recovered");
}

#[tokio::test]
async fn aws_faults_endpoint_down_then_back() {
    let Some(f) = faulty("aws_faults_endpoint_down_then_back").await else {
        return;
    };
    let clean = f.reference().await;
    f.proxy.set_forwarding(false);
    let t = Instant::now();
    let err = f.snapshot().await.unwrap_err();
    eprintln!("endpoint down: {:?}: {err}", t.elapsed());
    assert_eq!(err.kind, ErrorKind::Unreachable, "{err}");
    assert!(err.to_string().contains(&f.proxy.url), "{err}");
    assert!(
        f.proxy.injected().len() >= ATTEMPTS as usize,
        "retried: {:?}",
        f.proxy.injected()
    );
    f.proxy.set_forwarding(true);
    assert_eq!(f.snapshot().await.unwrap().world, clean, "recovered");
}

// ---- apply under faults -------------------------------------------------------------------

fn tcp(port: i32, src: &str) -> Rule {
    Rule::new("tcp", port, port, Source::parse_token(src), "")
}

/// One authorization per group, each its own API call.
fn three_authorizations(s: &Seeded, port: i32) -> Plan {
    Plan {
        changes: [&s.sg_front, &s.sg_back, &s.sg_node]
            .into_iter()
            .map(|sg| Change {
                kind: ChangeKind::AuthorizeIngress {
                    sg: sg.clone(),
                    rules: vec![tcp(port, "10.9.0.0/16")],
                },
                owner: Owner::User,
                risk: Risk::Widened,
                stack: None,
                pending: false,
            })
            .collect(),
        ..Default::default()
    }
}

/// How many inbound rules of `sg` are tcp `port` from 10.9.0.0/16, as EC2 describes them.
async fn copies(f: &Faulty, sg: &str, port: i32) -> usize {
    let out = f
        .env
        .ec2
        .describe_security_groups()
        .group_ids(sg)
        .send()
        .await
        .unwrap();
    out.security_groups()[0]
        .ip_permissions()
        .iter()
        .filter(|p| p.ip_protocol() == Some("tcp") && p.from_port() == Some(port))
        .flat_map(|p| p.ip_ranges())
        .filter(|r| r.cidr_ip() == Some("10.9.0.0/16"))
        .count()
}

#[tokio::test]
async fn aws_faults_apply_stops_at_a_persistent_failure_and_says_what_was_applied() {
    let Some(f) =
        faulty("aws_faults_apply_stops_at_a_persistent_failure_and_says_what_was_applied").await
    else {
        return;
    };
    for (port, fault, kind) in [
        (9001, Fault::ServerError, "InternalError"),
        (9002, Fault::Throttle, "RequestLimitExceeded"),
    ] {
        let world = load_base(&f.env.aws, &f.opts).await.unwrap();
        f.fresh_counts();
        // The second authorization fails however often it is retried.
        f.proxy.inject(Inject::new(AUTHORIZE, fault).after(1));
        let plan = three_authorizations(&f.s, port);
        let report = apply_plan(&f.env.aws, &world, &plan, false).await.unwrap();
        f.proxy.clear_faults();
        assert_eq!(report.applied, vec![0], "{fault:?}: {report:?}");
        let (i, why) = report.failed.clone().unwrap();
        assert_eq!(i, 1);
        assert!(why.contains(AUTHORIZE) && why.contains(kind), "{why}");
        assert_eq!(report.not_attempted, vec![2], "{report:?}");
        // At the proxy: the first call, then the second one's attempts, and nothing after.
        let sent: Vec<String> = f.proxy.mutating();
        assert_eq!(sent.len(), 1 + ATTEMPTS as usize, "{fault:?}: {sent:?}");
        assert_eq!(f.proxy.injected_count(AUTHORIZE, fault), ATTEMPTS as usize);
        assert_eq!(
            copies(&f, &f.s.sg_front, port).await,
            1,
            "change 0 is in AWS"
        );
        assert_eq!(copies(&f, &f.s.sg_back, port).await, 0, "change 1 failed");
        assert_eq!(
            copies(&f, &f.s.sg_node, port).await,
            0,
            "change 2 not attempted"
        );
    }
}

#[tokio::test]
async fn aws_faults_apply_through_transient_faults_applies_each_change_once() {
    let Some(f) =
        faulty("aws_faults_apply_through_transient_faults_applies_each_change_once").await
    else {
        return;
    };
    let world = load_base(&f.env.aws, &f.opts).await.unwrap();
    f.fresh_counts();
    // Attempt 1 (change 0) is throttled; attempt 3 (change 1's first) reaches EC2 but its
    // answer is lost: the SDK retries an authorization that already happened.
    f.proxy
        .inject(Inject::new(AUTHORIZE, Fault::Throttle).times(1));
    f.proxy
        .inject(Inject::new(AUTHORIZE, Fault::LostAnswer).after(2).times(1));
    let plan = three_authorizations(&f.s, 9003);
    let report = apply_plan(&f.env.aws, &world, &plan, false).await.unwrap();
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.applied, vec![0, 1, 2]);
    for sg in [&f.s.sg_front, &f.s.sg_back, &f.s.sg_node] {
        assert_eq!(copies(&f, sg, 9003).await, 1, "{sg}: exactly once");
    }
    // 0: throttled + retry; 1: lost answer + retry (Duplicate) + the one-by-one check
    // (Duplicate = already there); 2: one call.
    assert_eq!(f.proxy.mutating().len(), 6, "{:?}", f.proxy.mutating());
    assert_eq!(
        f.proxy.injected(),
        vec![
            (AUTHORIZE.to_string(), Fault::Throttle),
            (AUTHORIZE.to_string(), Fault::LostAnswer)
        ]
    );
}
