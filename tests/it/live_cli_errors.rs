//! Bad live input through the real binary: one clear message, exit 2, nothing written (no
//! world file, no PATCH at the fake, no mutating AWS call).

use crate::fake_apiserver::FakeApiServer;
use crate::live_cli_support::*;
use crate::moto_proxy::MotoProxy;

/// Exactly one error line, from the command, that mentions every `needles`.
fn one_message(run: &Run, cmd: &str, needles: &[&str]) {
    assert_eq!(run.code, Some(2), "{run}");
    let lines = run.err_lines(&format!("lbsg {cmd}:"));
    assert_eq!(lines.len(), 1, "one message: {run}");
    for n in needles {
        assert!(lines[0].contains(n), "{n:?} missing from {:?}", lines[0]);
    }
    assert!(run.out.is_empty(), "{run}");
}

#[tokio::test]
async fn live_unreachable_api_server_fails_fast_and_writes_nothing() {
    let url = closed_port_url().await;
    let lbsg = Lbsg::new().kube_url(&url);
    let out = lbsg.path("w.yaml");
    let started = std::time::Instant::now();
    let run = lbsg
        .run(&["snapshot", "--no-aws", "--out", out.to_str().unwrap()])
        .await;
    one_message(
        &run,
        "snapshot",
        &["cannot reach the API server", &url, "\"fake\""],
    );
    assert!(!out.exists(), "no world file from an unreachable cluster");
    assert!(
        started.elapsed().as_secs() < 30,
        "fails fast instead of waiting for watchers: {:?}",
        started.elapsed()
    );
    let run = lbsg
        .run(&["apply", "svc/shop/web", "--set", "a=b", "--yes", "--no-aws"])
        .await;
    one_message(&run, "apply", &["cannot reach the API server"]);
}

#[tokio::test]
async fn live_unknown_context_names_the_contexts_and_sends_nothing() {
    let fake = FakeApiServer::start().await;
    seed_cluster(&fake, &["--cluster-name=demo"]);
    let lbsg = Lbsg::new().kube(&fake);
    let out = lbsg.path("w.yaml");
    let run = lbsg
        .run(&[
            "snapshot",
            "--no-aws",
            "--context",
            "prod",
            "--out",
            out.to_str().unwrap(),
        ])
        .await;
    one_message(&run, "snapshot", &["\"prod\"", "contexts: fake"]);
    assert!(!out.exists());
    let run = lbsg
        .run(&[
            "apply",
            "svc/shop/web",
            "--set",
            &format!("{SOURCE_RANGES}=10.0.0.0/8"),
            "--yes",
            "--no-aws",
            "--context",
            "prod",
        ])
        .await;
    one_message(&run, "apply", &["\"prod\""]);
    assert!(fake.requests().is_empty(), "{:#?}", fake.requests());
}

/// The cluster is fine; AWS is not: the apply stops before any write on either side.
async fn aws_failure(lbsg: Lbsg, fake: &FakeApiServer, needles: &[&str]) {
    let out = lbsg.path("w.yaml");
    let run = lbsg
        .run(&["snapshot", "--no-kube", "--out", out.to_str().unwrap()])
        .await;
    one_message(&run, "snapshot", needles);
    assert!(!out.exists());
    let run = lbsg
        .run(&[
            "apply",
            "svc/shop/web",
            "--set",
            &format!("{SOURCE_RANGES}=10.0.0.0/8"),
            "--yes",
        ])
        .await;
    one_message(&run, "apply", needles);
    assert!(
        fake.mutating_requests().is_empty(),
        "{:#?}",
        fake.mutating_requests()
    );
}

#[tokio::test]
async fn live_unreachable_aws_endpoint_is_one_message() {
    let fake = FakeApiServer::start().await;
    seed_cluster(&fake, &["--cluster-name=demo"]);
    let url = closed_port_url().await;
    let lbsg = Lbsg::new().kube(&fake).set("AWS_ENDPOINT_URL", &url);
    aws_failure(lbsg, &fake, &["cannot reach the AWS endpoint", &url]).await;
}

#[tokio::test]
async fn live_missing_aws_credentials_is_one_message() {
    let fake = FakeApiServer::start().await;
    seed_cluster(&fake, &["--cluster-name=demo"]);
    // A proxy that logs any call that still went out (to nowhere: no emulator is needed).
    let proxy = MotoProxy::start(&closed_port_url().await).await;
    let lbsg = Lbsg::new()
        .kube(&fake)
        .aws(&proxy)
        .unset("AWS_ACCESS_KEY_ID")
        .unset("AWS_SECRET_ACCESS_KEY");
    aws_failure(lbsg, &fake, &["no AWS credentials"]).await;
    assert!(proxy.actions().is_empty(), "{:?}", proxy.actions());
}
