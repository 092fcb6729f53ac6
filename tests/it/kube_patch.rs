//! Annotation patches against the fake API server: dry run first, fieldManager=lbsg, the
//! planned resourceVersion as a precondition, conflicts typed and never retried, read-only
//! sends nothing.

use std::collections::BTreeMap;

use axum::http::Method;
use lbsg::core::plan::ResourceRef;
use lbsg::infra::kube::{AnnotationPatcher, PatchError, PatchRequest};
use lbsg::infra::kube::{KindId, KubeWatch, WatchOptions};
use lbsg::world::ObjKey;
use serde_json::{Value, json};

use crate::fake_apiserver::FakeApiServer;
use crate::kube_support::{client, eventually, service};

const KEY: &str =
    "service.beta.kubernetes.io/aws-load-balancer-manage-backend-security-group-rules";

fn request(rv: &str) -> PatchRequest {
    PatchRequest {
        resource: ResourceRef::Service(ObjKey::new("shop", "web")),
        resource_version: rv.to_string(),
        set: BTreeMap::from([(KEY.to_string(), "true".to_string())]),
        unset: vec!["old".into()],
    }
}

fn rv(v: &Value) -> String {
    v["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn patcher(fake: &FakeApiServer, readonly: bool) -> AnnotationPatcher {
    AnnotationPatcher::new(client(fake, None).await.client(), readonly)
}

#[tokio::test]
async fn apply_previews_then_patches_as_lbsg() {
    let fake = FakeApiServer::start().await;
    let stored = fake.put(service("shop", "web", json!({"old": "x", "keep": "y"})));
    let p = patcher(&fake, false).await;
    let out = p.apply(&request(&rv(&stored))).await.unwrap();
    assert!(!out.dry_run);
    assert_ne!(
        out.resource_version,
        rv(&stored),
        "a real write bumps the version"
    );

    let patches: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.method == Method::PATCH)
        .collect();
    assert_eq!(patches.len(), 2, "{patches:#?}");
    assert_eq!(
        patches[0].query.get("dryRun").map(String::as_str),
        Some("All"),
        "dry run first"
    );
    assert_eq!(patches[1].query.get("dryRun"), None);
    assert!(
        patches
            .iter()
            .all(|r| r.query.get("fieldManager").map(String::as_str) == Some("lbsg"))
    );
    assert!(
        patches
            .iter()
            .all(|r| r.path == "/api/v1/namespaces/shop/services/web")
    );

    let now = fake.get("services", "shop", "web").unwrap();
    let ann = &now["metadata"]["annotations"];
    assert_eq!(ann[KEY], "true");
    assert_eq!(ann["keep"], "y");
    assert!(
        ann.get("old").is_none(),
        "unset is a null in the merge patch"
    );
    let managers: Vec<&str> = now["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["fieldsV1"]["f:metadata"]["f:annotations"]
                .get(format!("f:{KEY}"))
                .is_some()
        })
        .map(|e| e["manager"].as_str().unwrap())
        .collect();
    assert_eq!(managers, vec!["lbsg"]);
    assert_eq!(out.annotations.get(KEY).map(String::as_str), Some("true"));
}

#[tokio::test]
async fn preview_writes_nothing() {
    let fake = FakeApiServer::start().await;
    let stored = fake.put(service("shop", "web", json!({"old": "x"})));
    let p = patcher(&fake, false).await;
    let out = p.preview(&request(&rv(&stored))).await.unwrap();
    assert!(out.dry_run);
    assert_eq!(
        out.annotations.get(KEY).map(String::as_str),
        Some("true"),
        "the server's answer"
    );
    assert_eq!(
        fake.get("services", "shop", "web").unwrap(),
        stored,
        "nothing stored"
    );
    assert_eq!(out.resource_version, rv(&stored));
}

#[tokio::test]
async fn a_stale_patch_is_a_conflict_and_writes_nothing() {
    let fake = FakeApiServer::start().await;
    let planned = fake.put(service("shop", "web", json!({"old": "x"})));
    // Someone else edits the Service after the plan was made.
    let theirs = fake.put(service("shop", "web", json!({"old": "x", "theirs": "1"})));
    let p = patcher(&fake, false).await;
    let err = p.apply(&request(&rv(&planned))).await.unwrap_err();
    assert!(err.is_conflict(), "{err}");
    match &err {
        PatchError::Conflict { planned: v, .. } => assert_eq!(v, &rv(&planned)),
        other => panic!("{other}"),
    }
    assert!(err.to_string().contains("re-plan"), "{err}");
    assert_eq!(
        fake.get("services", "shop", "web").unwrap(),
        theirs,
        "nothing written"
    );
    // The dry run already conflicted; no real patch was attempted, and nothing was retried.
    assert_eq!(fake.count(Method::PATCH, "/services/web"), 1);
}

#[tokio::test]
async fn readonly_sends_no_request_at_all() {
    let fake = FakeApiServer::start().await;
    let stored = fake.put(service("shop", "web", json!({})));
    let p = patcher(&fake, true).await;
    assert!(matches!(
        p.preview(&request(&rv(&stored))).await,
        Err(PatchError::ReadOnly { .. })
    ));
    assert!(matches!(
        p.apply(&request(&rv(&stored))).await,
        Err(PatchError::ReadOnly { .. })
    ));
    assert!(fake.mutating_requests().is_empty());
    assert!(fake.requests().is_empty(), "{:#?}", fake.requests());
}

#[tokio::test]
async fn a_plan_without_resource_version_is_refused() {
    let fake = FakeApiServer::start().await;
    fake.put(service("shop", "web", json!({})));
    let p = patcher(&fake, false).await;
    let err = p.apply(&request("")).await.unwrap_err();
    assert!(matches!(err, PatchError::NoResourceVersion { .. }), "{err}");
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn missing_and_forbidden_objects_are_typed() {
    let fake = FakeApiServer::start().await;
    let p = patcher(&fake, false).await;
    let err = p.apply(&request("5")).await.unwrap_err();
    assert!(matches!(err, PatchError::NotFound { .. }), "{err}");
    let stored = fake.put(service("shop", "web", json!({})));
    fake.forbid("services");
    let err = p.apply(&request(&rv(&stored))).await.unwrap_err();
    assert!(matches!(err, PatchError::Forbidden { .. }), "{err}");
    assert!(
        err.to_string().contains("cannot get"),
        "the server says which verb: {err}"
    );
}

#[tokio::test]
async fn helm_and_argo_ownership_is_warned_about() {
    let fake = FakeApiServer::start().await;
    let mut svc = service("shop", "web", json!({KEY: "false"}));
    svc["metadata"]["labels"] = json!({"app.kubernetes.io/managed-by": "Helm"});
    svc["metadata"]["managedFields"] = json!([{
        "manager": "argocd-controller", "operation": "Update", "apiVersion": "v1",
        "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {"f:annotations": {format!("f:{KEY}"): {}}}}
    }]);
    let stored = fake.put(svc);
    let p = patcher(&fake, false).await;
    let out = p.preview(&request(&rv(&stored))).await.unwrap();
    assert_eq!(out.warnings.len(), 2, "{:#?}", out.warnings);
    assert!(out.warnings.iter().any(|w| w.contains("Helm")));
    assert!(
        out.warnings
            .iter()
            .any(|w| w.contains("argocd-controller (Argo CD)"))
    );
}

#[tokio::test]
async fn the_live_world_sees_the_patch_and_its_manager() {
    let fake = FakeApiServer::start().await;
    fake.put(service("shop", "web", json!({"old": "x"})));
    let kc = client(&fake, None).await;
    let opts = WatchOptions {
        kinds: [KindId::Services].into(),
        ..WatchOptions::default()
    };
    let w = KubeWatch::start(&kc, &opts);
    assert!(w.wait_settled(std::time::Duration::from_secs(10)).await);
    // Plan from the live world: its resourceVersion is what the patch carries.
    let planned_rv = w.view().side.services.unwrap()[&ObjKey::new("shop", "web")]
        .meta
        .resource_version
        .clone();
    AnnotationPatcher::new(kc.client(), false)
        .apply(&request(&planned_rv))
        .await
        .unwrap();
    let key = ObjKey::new("shop", "web");
    eventually("the patched annotation and its manager", || {
        w.view()
            .side
            .services
            .and_then(|m| m.get(&key).cloned())
            .is_some_and(|s| {
                s.meta.annotations.get(KEY).map(String::as_str) == Some("true")
                    && s.meta.annotation_managers.get(KEY) == Some(&vec!["lbsg".to_string()])
            })
    })
    .await;
}
