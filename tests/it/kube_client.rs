//! Kubeconfig and context resolution as kubectl users expect it.

use std::path::PathBuf;

use k8s_openapi::api::core::v1::Service;
use kube::Api;
use lbsg::infra::kube::{ContextOptions, KubeClient, KubeError, Scope};

use crate::fake_apiserver::FakeApiServer;

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn two_contexts(url: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: dev\n\
         clusters:\n- name: c\n  cluster:\n    server: {url}\n\
         contexts:\n- name: dev\n  context:\n    cluster: c\n    user: u\n\
         - name: prod\n  context:\n    cluster: c\n    user: u\n    namespace: payments\n\
         users:\n- name: u\n  user:\n    token: t\n"
    )
}

#[tokio::test]
async fn the_kubeconfig_flag_and_context_are_honoured() {
    let fake = FakeApiServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "config", &two_contexts(&fake.url));
    let mut opts = ContextOptions {
        kubeconfig: Some(path),
        // Must be ignored when --kubeconfig is given.
        kubeconfig_env: Some("/nonexistent/one".into()),
        ..ContextOptions::default()
    };
    let c = KubeClient::connect(&opts).await.unwrap();
    assert_eq!(c.context(), "dev", "the current-context by default");
    assert_eq!(c.scope(), &Scope::All, "all namespaces unless -n");
    assert_eq!(c.header(), "dev · all namespaces");

    opts.context = Some("prod".into());
    let c = KubeClient::connect(&opts).await.unwrap();
    assert_eq!(c.context(), "prod");
    // The client really talks to the kubeconfig's server.
    let list = Api::<Service>::all(c.client())
        .list(&Default::default())
        .await
        .unwrap();
    assert!(list.items.is_empty());
    assert_eq!(fake.requests().len(), 1);

    opts.context = Some("staging".into());
    let err = KubeClient::connect(&opts).await.unwrap_err();
    assert_eq!(
        err,
        KubeError::UnknownContext {
            name: "staging".into(),
            available: vec!["dev".into(), "prod".into()]
        }
    );
    assert!(err.to_string().contains("dev, prod"));
}

#[tokio::test]
async fn kubeconfig_env_merges_files_first_wins() {
    let dir = tempfile::tempdir().unwrap();
    let first = write(
        &dir,
        "a",
        "apiVersion: v1\nkind: Config\ncurrent-context: prod\n",
    );
    let second = write(&dir, "b", &two_contexts("http://127.0.0.1:1"));
    let env = std::env::join_paths([&first, &second]).unwrap();
    let opts = ContextOptions {
        kubeconfig_env: Some(env),
        home: Some(dir.path().join("no-home")),
        namespace: Some("shop".into()),
        ..ContextOptions::default()
    };
    let c = KubeClient::connect(&opts).await.unwrap();
    assert_eq!(c.context(), "prod", "current-context from the first file");
    assert_eq!(c.scope(), &Scope::Namespace("shop".into()));
}

#[tokio::test]
async fn missing_or_empty_kubeconfigs_say_what_to_do() {
    let none = ContextOptions::default();
    assert_eq!(
        KubeClient::connect(&none).await.unwrap_err(),
        KubeError::NoKubeconfig
    );

    // What the test script sets: KUBECONFIG=/dev/null.
    let devnull = ContextOptions {
        kubeconfig_env: Some("/dev/null".into()),
        ..ContextOptions::default()
    };
    let err = KubeClient::connect(&devnull).await.unwrap_err();
    assert_eq!(err, KubeError::NoContext { available: vec![] });
    assert!(err.to_string().contains("--context"));

    let dir = tempfile::tempdir().unwrap();
    let home = ContextOptions {
        home: Some(dir.path().to_path_buf()),
        ..ContextOptions::default()
    };
    let err = KubeClient::connect(&home).await.unwrap_err();
    assert!(
        matches!(err, KubeError::Kubeconfig(ref m) if m.contains(".kube/config")),
        "{err}"
    );
}

#[test]
fn all_namespaces_wins_over_a_namespace() {
    let opts = ContextOptions {
        namespace: Some("shop".into()),
        all_namespaces: true,
        ..ContextOptions::default()
    };
    assert_eq!(opts.scope(), Scope::All);
}

async fn connect_to(url: &str) -> KubeClient {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "config", &two_contexts(url));
    let opts = ContextOptions {
        kubeconfig: Some(path),
        ..ContextOptions::default()
    };
    KubeClient::connect(&opts).await.unwrap()
}

#[tokio::test]
async fn probe_tells_an_unreachable_server_from_a_working_one() {
    let fake = FakeApiServer::start().await;
    connect_to(&fake.url).await.probe().await.unwrap();
    let paths: Vec<String> = fake.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, vec!["/version"], "one cheap request");

    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closed = format!("http://{}", l.local_addr().unwrap());
    drop(l);
    let err = connect_to(&closed).await.probe().await.unwrap_err();
    match &err {
        KubeError::Unreachable {
            context,
            url,
            message,
        } => {
            assert_eq!(context, "dev");
            assert!(url.starts_with(&closed), "{url}");
            assert!(
                message.contains("Connection refused"),
                "the cause: {message}"
            );
        }
        other => panic!("expected Unreachable, got {other:?}"),
    }
    assert!(
        err.to_string().contains("cannot reach the API server"),
        "{err}"
    );
}

#[tokio::test]
async fn probe_reports_rejected_credentials_and_accepts_other_answers() {
    use axum::http::StatusCode;
    // An API server that answers /version with a fixed status.
    async fn server(code: StatusCode) -> String {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        let body = serde_json::json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
            "message": "token expired", "reason": "Unauthorized", "code": code.as_u16()})
        .to_string();
        let app = axum::Router::new().fallback(move || {
            let body = body.clone();
            async move { (code, [("content-type", "application/json")], body) }
        });
        tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
        url
    }
    let url = server(StatusCode::UNAUTHORIZED).await;
    let err = connect_to(&url).await.probe().await.unwrap_err();
    assert!(
        matches!(&err, KubeError::Unauthorized { message, .. } if message == "token expired"),
        "{err:?}"
    );
    assert!(err.to_string().contains("log in again"), "{err}");
    // A server that forbids /version is still there: the watchers will say what they may read.
    let url = server(StatusCode::FORBIDDEN).await;
    connect_to(&url).await.probe().await.unwrap();
}
