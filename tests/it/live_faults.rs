//! AWS faults through the real binary (moto behind the fault-injecting proxy): `lbsg snapshot`
//! rides out what the SDK retries and counts it in `--stats`; what persists is one message, exit
//! 2, and no world file (an existing one is left as it was); a stopped emulator ends the run
//! in bounded time; a failing apply says change by change what was applied.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::aws_common::moto_endpoint;
use crate::aws_seed::Seeded;
use crate::live_cli::stats_table;
use crate::live_cli_support::*;
use crate::moto_proxy::{Fault, Inject, MotoProxy};

const ELB_LBS: &str = "elasticloadbalancing:DescribeLoadBalancers";
const ELB_HEALTH: &str = "elasticloadbalancing:DescribeTargetHealth";

async fn seeded(test: &str) -> Option<(MotoProxy, Seeded)> {
    let endpoint = moto_endpoint(test)?;
    let proxy = MotoProxy::start(&endpoint).await;
    let s = seed_through(&proxy).await;
    Some((proxy, s))
}

fn notes(run: &Run) -> Vec<&str> {
    run.err_lines("lbsg: note:")
}

/// Exactly one `lbsg snapshot:` line, exit 2, and it names every needle.
fn one_failure(run: &Run, needles: &[&str]) {
    assert_eq!(run.code, Some(2), "{run}");
    let lines = run.err_lines("lbsg snapshot:");
    assert_eq!(lines.len(), 1, "one message: {run}");
    for n in needles {
        assert!(lines[0].contains(n), "{n:?} missing from {:?}", lines[0]);
    }
}

#[tokio::test]
async fn live_faults_snapshot_rides_out_throttling_and_counts_it() {
    let Some((proxy, s)) = seeded("live_faults_snapshot_rides_out_throttling_and_counts_it").await
    else {
        return;
    };
    let lbsg = Lbsg::new().aws(&proxy);
    let (clean, throttled) = (lbsg.path("clean.yaml"), lbsg.path("throttled.yaml"));
    let t = Instant::now();
    let run = aws_snapshot(&lbsg, &s.vpc, &clean).await;
    let clean_time = t.elapsed();
    assert_eq!(run.code, Some(0), "{run}");

    proxy.clear();
    proxy.inject(Inject::new(ELB_LBS, Fault::Throttle).times(2));
    proxy.inject(Inject::new(ELB_HEALTH, Fault::Throttle).times(2));
    let t = Instant::now();
    let run = aws_snapshot(&lbsg, &s.vpc, &throttled).await;
    eprintln!(
        "snapshot: clean {clean_time:?}, throttled {:?}",
        t.elapsed()
    );
    assert_eq!(run.code, Some(0), "{run}");
    assert_eq!(
        notes(&run).len(),
        1,
        "only --no-kube's, nothing unknown: {run}"
    );
    assert_eq!(
        std::fs::read_to_string(&throttled).unwrap(),
        std::fs::read_to_string(&clean).unwrap(),
        "the world file is the unthrottled one"
    );
    let table = stats_table(&run.out);
    assert_eq!(table[ELB_LBS][3], 2, "{run}");
    assert_eq!(table[ELB_HEALTH][3], 2, "{run}");
    assert_eq!(table["total"][3], 4, "{run}");
    // Attempts in the table are what reached the proxy, throttled ones included.
    for (action, n) in proxy.counts() {
        assert_eq!(table[&action][2], n, "{action}: {run}");
    }
}

#[tokio::test]
async fn live_faults_persistent_faults_are_one_message_and_keep_the_file() {
    let Some((proxy, s)) =
        seeded("live_faults_persistent_faults_are_one_message_and_keep_the_file").await
    else {
        return;
    };
    // Two attempts per request: the default backoff (up to 1 s, then 2 s) stays bounded.
    let lbsg = Lbsg::new().aws(&proxy).set("AWS_MAX_ATTEMPTS", "2");
    let out = lbsg.path("world.yaml");
    let before = "# the previous snapshot\n";
    let cases: [(&str, Fault, &[&str]); 3] = [
        (
            ELB_LBS,
            Fault::Throttle,
            &[
                "AWS kept throttling elasticloadbalancing:DescribeLoadBalancers",
                "ELBv2 Describe* request budget",
            ],
        ),
        (
            "ec2:DescribeSecurityGroups",
            Fault::Throttle,
            &[
                "ec2:DescribeSecurityGroups",
                "EC2 non-mutating request budget",
            ],
        ),
        (
            "ec2:DescribeSecurityGroups",
            Fault::ServerError,
            &[
                "AWS failed on its side on ec2:DescribeSecurityGroups",
                "InternalError",
            ],
        ),
    ];
    for (action, fault, needles) in cases {
        std::fs::write(&out, before).unwrap();
        proxy.clear();
        proxy.clear_faults();
        proxy.inject(Inject::new(action, fault));
        let run = aws_snapshot(&lbsg, &s.vpc, &out).await;
        one_failure(&run, needles);
        assert_eq!(proxy.injected_count(action, fault), 2, "{run}");
        assert_eq!(std::fs::read_to_string(&out).unwrap(), before, "{run}");
        assert!(!lbsg.path("world.yaml.bak").exists(), "{run}");
    }
    // A 500 that clears within the retries is not even a note.
    proxy.clear_faults();
    proxy.inject(Inject::new("ec2:DescribeSecurityGroups", Fault::ServerError).times(1));
    let run = aws_snapshot(&lbsg, &s.vpc, &out).await;
    assert_eq!(run.code, Some(0), "{run}");
    assert_eq!(notes(&run).len(), 1, "only --no-kube's: {run}");
    assert_ne!(std::fs::read_to_string(&out).unwrap(), before);
}

#[tokio::test]
async fn live_faults_expired_credentials_name_their_source() {
    let Some((proxy, s)) = seeded("live_faults_expired_credentials_name_their_source").await else {
        return;
    };
    proxy.inject(Inject::new("*", Fault::Expired));
    let env_keys = Lbsg::new().aws(&proxy);
    // The same identity from a profile instead of exported keys.
    let profile = Lbsg::new()
        .aws(&proxy)
        .unset("AWS_ACCESS_KEY_ID")
        .unset("AWS_SECRET_ACCESS_KEY")
        .set("AWS_PROFILE", "dev");
    let config = profile.path("aws-config");
    std::fs::write(
        &config,
        "[profile dev]\naws_access_key_id = testing\naws_secret_access_key = testing\n",
    )
    .unwrap();
    let profile = profile.set("AWS_CONFIG_FILE", config.to_str().unwrap());
    for (lbsg, source) in [
        (env_keys, "the environment (AWS_ACCESS_KEY_ID)"),
        (profile, "profile \"dev\""),
    ] {
        proxy.clear();
        let out = lbsg.path("w.yaml");
        let run = aws_snapshot(&lbsg, &s.vpc, &out).await;
        one_failure(&run, &["credentials from", source, "aws sso login"]);
        assert!(!out.exists());
        // Not retried: one attempt per request that was in flight.
        let sent = proxy.actions();
        let distinct: std::collections::BTreeSet<&String> = sent.iter().collect();
        assert_eq!(sent.len(), distinct.len(), "{sent:?}");
    }
}

// ---- moto stopped mid-load ----------------------------------------------------------------

/// `moto_server` from the venv scripts/moto installs, if it is there.
fn moto_server() -> Option<PathBuf> {
    let script =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/moto")).ok()?;
    let version = script
        .lines()
        .find_map(|l| l.strip_prefix("MOTO_VERSION="))?
        .trim()
        .to_string();
    let cache = std::env::var("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|_| std::env::var("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .ok()?;
    let bin = cache.join(format!("lbsg/venv-moto-{version}/bin/moto_server"));
    bin.exists().then_some(bin)
}

/// A private moto on a free port, ready (its reset endpoint answers), killed on drop.
async fn private_moto(bin: &Path) -> (tokio::process::Child, String) {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let child = tokio::process::Command::new(bin)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<axum::body::Body>();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let req = axum::http::Request::post(format!("{url}/moto-api/reset"))
            .body(axum::body::Body::empty())
            .unwrap();
        if client
            .request(req)
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            break;
        }
        assert!(Instant::now() < deadline, "private moto did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (child, url)
}

#[tokio::test]
async fn live_faults_moto_stopped_mid_load_ends_the_run_cleanly() {
    let test = "live_faults_moto_stopped_mid_load_ends_the_run_cleanly";
    if moto_endpoint(test).is_none() {
        return;
    }
    let Some(bin) = moto_server() else {
        panic!("MOTO_ENDPOINT is set but the moto venv of scripts/moto is not found");
    };
    let (mut child, url) = private_moto(&bin).await;
    let proxy = MotoProxy::start(&url).await;
    let s = seed_through(&proxy).await;
    // The base load has succeeded by the first per-TG call; moto dies right then.
    proxy.before_nth(ELB_HEALTH, 1, async move {
        child.kill().await.unwrap();
    });
    let lbsg = Lbsg::new().aws(&proxy);
    let out = lbsg.path("w.yaml");
    let t = Instant::now();
    let run = aws_snapshot(&lbsg, &s.vpc, &out).await;
    let took = t.elapsed();
    eprintln!("moto stopped mid-load: lbsg exited after {took:?}");
    one_failure(&run, &["cannot reach the AWS endpoint", &proxy.url]);
    assert!(!out.exists(), "{run}");
    assert!(
        took < Duration::from_secs(60),
        "bounded by the retries: {took:?}"
    );
    assert!(proxy.counts()[ELB_HEALTH] >= 1);
}

// ---- apply under faults -------------------------------------------------------------------

#[tokio::test]
async fn live_faults_apply_reports_each_change_and_sends_nothing_after_a_failure() {
    let Some((proxy, ec2)) =
        moto("live_faults_apply_reports_each_change_and_sends_nothing_after_a_failure").await
    else {
        return;
    };
    let (vpc, _) = seed_vpc(&ec2).await;
    let lbsg = Lbsg::new().aws(&proxy).set("AWS_MAX_ATTEMPTS", "2");
    // An SG with SSH open; the edit adds HTTPS (authorize) and closes SSH (revoke), in that order.
    let new_sg = |name: &'static str| {
        let (ec2, vpc) = (ec2.clone(), vpc.clone());
        async move {
            let sg = ec2
                .create_security_group()
                .group_name(name)
                .description("app")
                .vpc_id(&vpc)
                .send()
                .await
                .unwrap()
                .group_id()
                .unwrap()
                .to_string();
            ec2.authorize_security_group_ingress()
                .group_id(&sg)
                .ip_permissions(
                    crate::aws_seed::perm("tcp", Some(22), Some(22))
                        .ip_ranges(crate::aws_seed::cidr("192.168.0.0/16", None))
                        .build(),
                )
                .send()
                .await
                .unwrap();
            sg
        }
    };
    let ports = |sg: String| {
        let ec2 = ec2.clone();
        async move {
            let out = ec2
                .describe_security_groups()
                .group_ids(sg)
                .send()
                .await
                .unwrap();
            let mut p: Vec<i32> = out.security_groups()[0]
                .ip_permissions()
                .iter()
                .filter_map(|p| p.from_port())
                .collect();
            p.sort();
            p
        }
    };
    let apply = |sg: String| {
        let (lbsg, vpc) = (&lbsg, vpc.clone());
        async move {
            lbsg.run(&[
                "apply",
                &sg,
                "--add-rule",
                "tcp:443:10.0.0.0/8",
                "--remove-rule",
                "tcp:22:192.168.0.0/16",
                "--no-kube",
                "--vpc-id",
                &vpc,
                "--yes",
            ])
            .await
        }
    };
    let (authorize, revoke) = (
        "ec2:AuthorizeSecurityGroupIngress",
        "ec2:RevokeSecurityGroupIngress",
    );

    // The second change fails through its retries: the first is reported applied.
    let sg = new_sg("first").await;
    proxy.clear();
    proxy.inject(Inject::new(revoke, Fault::ServerError));
    let run = apply(sg.clone()).await;
    assert_eq!(run.code, Some(2), "{run}");
    assert!(run.err.contains("partially applied"), "{run}");
    assert!(
        run.err.contains(&format!(
            "applied:       {sg}: authorize inbound tcp 443 from 10.0.0.0/8"
        )),
        "{run}"
    );
    assert!(
        run.err.contains(&format!(
            "FAILED:        {sg}: revoke inbound tcp 22 from 192.168.0.0/16: AWS failed on its side"
        )),
        "{run}"
    );
    assert_eq!(proxy.mutating(), [authorize, revoke, revoke], "{run}");
    assert_eq!(ports(sg).await, [22, 443], "AWS holds what the report says");

    // The first change fails: nothing applied, the second never sent.
    proxy.clear_faults();
    let sg = new_sg("second").await;
    proxy.clear();
    proxy.inject(Inject::new(authorize, Fault::Throttle));
    let run = apply(sg.clone()).await;
    assert_eq!(run.code, Some(2), "{run}");
    assert!(run.err.contains("nothing was applied"), "{run}");
    assert!(
        run.err.contains(&format!(
            "not attempted: {sg}: revoke inbound tcp 22 from 192.168.0.0/16"
        )),
        "{run}"
    );
    assert_eq!(proxy.mutating(), [authorize, authorize], "{run}");
    assert_eq!(ports(sg).await, [22]);
}

// ---- RBAC: one kind forbidden -------------------------------------------------------------

#[tokio::test]
async fn live_faults_forbidden_kind_is_a_note_with_the_rbac_fix_and_the_rest_is_there() {
    let fake = crate::fake_apiserver::FakeApiServer::start().await;
    seed_cluster(&fake, &["--cluster-name=demo"]);
    fake.forbid("endpointslices");
    let lbsg = Lbsg::new().kube(&fake);
    let out = lbsg.path("w.yaml");
    let want = "lbsg: note: endpointslices: forbidden to list/watch endpointslices in all \
                namespaces";
    let fix = "grant it in a ClusterRole: apiGroups [\"discovery.k8s.io\"], resources \
               [\"endpointslices\"], verbs [\"list\", \"watch\"]";
    let run = lbsg
        .run(&["snapshot", "--no-aws", "--out", out.to_str().unwrap()])
        .await;
    assert_eq!(run.code, Some(0), "{run}");
    let forbidden: Vec<&str> = notes(&run)
        .into_iter()
        .filter(|l| l.contains("forbidden"))
        .collect();
    assert_eq!(forbidden.len(), 1, "{run}");
    assert!(forbidden[0].starts_with(want), "{run}");
    assert!(forbidden[0].contains(fix), "{run}");
    assert!(forbidden[0].contains("unknown, not empty"), "{run}");
    let world = lbsg::world::file::load_path(&out).unwrap();
    assert!(world.kube.endpoint_slices.is_none(), "unknown, not empty");
    assert_eq!(world.kube.services.as_ref().map(|s| s.len()), Some(2));
    assert_eq!(world.kube.ingresses.as_ref().map(|s| s.len()), Some(1));
    assert!(world.controller.is_some());

    // audit: the same note, and the findings of the rest of the world (exit 0 or 1, not 2).
    let run = lbsg.run(&["audit", "--no-aws", "--format", "json"]).await;
    assert!(matches!(run.code, Some(0 | 1)), "{run}");
    assert!(notes(&run).iter().any(|l| l.contains(fix)), "{run}");
    let report: serde_json::Value = serde_json::from_str(&run.out).unwrap();
    assert_eq!(report["schema"], "lbsg.audit/v1");
    assert!(fake.mutating_requests().is_empty());
}
