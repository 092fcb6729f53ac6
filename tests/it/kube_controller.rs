//! Finding the LBC Deployment over HTTP and reading its flags, with CLI overrides on top.

use lbsg::infra::kube::controller::{Discovered, Overrides, discover_controller};
use lbsg::world::{ObjKey, Origin};
use serde_json::json;

use crate::fake_apiserver::FakeApiServer;
use crate::kube_support::{client, deployment};

fn lbc_labels() -> serde_json::Value {
    json!({"app.kubernetes.io/name": "aws-load-balancer-controller"})
}

#[tokio::test]
async fn the_default_deployment_gives_flags_with_their_origins() {
    let fake = FakeApiServer::start().await;
    fake.put(deployment(
        "kube-system",
        "aws-load-balancer-controller",
        lbc_labels(),
        &[
            "--cluster-name=demo",
            "--enable-backend-security-group=false",
            "--feature-gates=NLBSecurityGroup=false",
            "--default-target-type=ip",
        ],
    ));
    // Scoped to one namespace: discovery still looks cluster-wide.
    let kc = client(&fake, Some("shop")).await;
    let overrides = Overrides {
        cluster_name: None,
        args: vec!["--default-target-type=instance".into()],
    };
    let d = discover_controller(&kc, &overrides).await.unwrap();
    assert_eq!(d.how, Discovered::DefaultName);
    assert_eq!(
        d.deployment,
        Some(ObjKey::new("kube-system", "aws-load-balancer-controller"))
    );
    assert_eq!(d.container.as_deref(), Some("aws-load-balancer-controller"));
    assert!(d.notes.is_empty(), "{:?}", d.notes);
    let c = d.config.unwrap();
    assert_eq!(c.cluster_name, "demo");
    assert_eq!(c.origin("cluster-name"), Origin::Args);
    assert!(!c.enable_backend_security_group);
    assert!(!c.feature_gates.enabled("NLBSecurityGroup"));
    assert_eq!(c.default_target_type, "instance");
    assert_eq!(c.origin("default-target-type"), Origin::Override);
    assert_eq!(c.origin("load-balancer-class"), Origin::Default);
    assert!(fake.mutating_requests().is_empty());
}

#[tokio::test]
async fn a_renamed_controller_is_found_by_label() {
    let fake = FakeApiServer::start().await;
    fake.put(deployment(
        "lbc",
        "my-lbc",
        lbc_labels(),
        &["--cluster-name=prod"],
    ));
    fake.put(deployment(
        "lbc",
        "unrelated",
        json!({"app": "x"}),
        &["--cluster-name=nope"],
    ));
    let kc = client(&fake, None).await;
    let d = discover_controller(&kc, &Overrides::default())
        .await
        .unwrap();
    assert_eq!(d.how, Discovered::Label);
    assert_eq!(d.deployment, Some(ObjKey::new("lbc", "my-lbc")));
    assert_eq!(d.config.unwrap().cluster_name, "prod");
}

#[tokio::test]
async fn several_controllers_are_reported() {
    let fake = FakeApiServer::start().await;
    fake.put(deployment(
        "team-b",
        "lbc-b",
        lbc_labels(),
        &["--cluster-name=b"],
    ));
    fake.put(deployment(
        "kube-system",
        "aws-load-balancer-controller",
        lbc_labels(),
        &["--cluster-name=main"],
    ));
    fake.put(deployment(
        "team-a",
        "lbc-a",
        lbc_labels(),
        &["--cluster-name=a"],
    ));
    let kc = client(&fake, None).await;
    let d = discover_controller(&kc, &Overrides::default())
        .await
        .unwrap();
    assert_eq!(d.how, Discovered::Several);
    assert_eq!(d.candidates.len(), 3);
    // The default-named one is preferred.
    assert_eq!(d.config.unwrap().cluster_name, "main");
    assert_eq!(d.notes.len(), 1);
    let note = d.notes[0].to_string();
    for name in [
        "team-a/lbc-a",
        "team-b/lbc-b",
        "kube-system/aws-load-balancer-controller",
    ] {
        assert!(note.contains(name), "{note}");
    }
}

#[tokio::test]
async fn no_controller_is_said_and_overrides_still_apply() {
    let fake = FakeApiServer::start().await;
    let kc = client(&fake, None).await;
    let d = discover_controller(&kc, &Overrides::default())
        .await
        .unwrap();
    assert_eq!(d.how, Discovered::NotFound);
    assert!(d.config.is_none(), "nothing known");
    assert!(
        d.notes[0]
            .message
            .contains("no AWS Load Balancer Controller found")
    );

    let overrides = Overrides {
        cluster_name: Some("given".into()),
        args: vec![],
    };
    let d = discover_controller(&kc, &overrides).await.unwrap();
    let c = d.config.unwrap();
    assert_eq!(c.cluster_name, "given");
    assert_eq!(c.origin("cluster-name"), Origin::Override);
}

#[tokio::test]
async fn forbidden_deployments_become_notes() {
    let fake = FakeApiServer::start().await;
    fake.forbid("deployments");
    let kc = client(&fake, None).await;
    let d = discover_controller(&kc, &Overrides::default())
        .await
        .unwrap();
    assert_eq!(d.how, Discovered::NotFound);
    let text: Vec<String> = d.notes.iter().map(ToString::to_string).collect();
    assert_eq!(text.len(), 3, "{text:#?}");
    assert!(
        text[0].contains("forbidden") && text[0].contains("(403)"),
        "{text:#?}"
    );
}
