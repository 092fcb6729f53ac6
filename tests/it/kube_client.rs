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
