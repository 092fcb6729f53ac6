//! Watchers into the World, against the fake API server: the World follows creates, updates and
//! deletes; resumes after a dropped stream; relists after 410 Gone; a forbidden kind or an
//! absent CRD degrades only itself.

use std::time::Duration;

use axum::http::Method;
use lbsg::infra::kube::{KindId, KubeWatch, Problem, SnapshotOptions, WatchOptions, snapshot_kube};
use lbsg::world::ObjKey;
use serde_json::json;

use crate::fake_apiserver::FakeApiServer;
use crate::kube_support::{client, deployment, eventually, ingress, node, service};

const SETTLE: Duration = Duration::from_secs(10);

fn svc_annotation(w: &KubeWatch, ns: &str, name: &str, key: &str) -> Option<String> {
    w.view()
        .side
        .services?
        .get(&ObjKey::new(ns, name))?
        .meta
        .annotations
        .get(key)
        .cloned()
}

fn has_service(w: &KubeWatch, ns: &str, name: &str) -> bool {
    w.view()
        .side
        .services
        .is_some_and(|m| m.contains_key(&ObjKey::new(ns, name)))
}

#[tokio::test]
async fn world_follows_creates_updates_and_deletes() {
    let fake = FakeApiServer::start().await;
    fake.put(service("shop", "web", json!({"a": "1"})));
    fake.put(ingress("shop", "front"));
    fake.put(node("n1"));
    let kc = client(&fake, None).await;
    let w = KubeWatch::start(&kc, &WatchOptions::default());
    assert!(w.wait_settled(SETTLE).await, "{:?}", w.kinds());

    let v = w.view();
    assert_eq!(v.context, "fake");
    assert!(v.notes.is_empty(), "{:?}", v.notes);
    assert_eq!(v.side.services.as_ref().unwrap().len(), 1);
    assert_eq!(v.side.ingresses.as_ref().unwrap().len(), 1);
    assert_eq!(
        v.side.nodes.as_ref().unwrap()["n1"].instance_id(),
        Some("i-0n1")
    );
    // Listed and empty is known-empty, not unknown.
    assert_eq!(
        v.side.target_group_bindings.as_ref().map(|m| m.len()),
        Some(0)
    );
    assert_eq!(v.side.events.as_ref().map(|e| e.len()), Some(0));

    fake.put(service("shop", "api", json!({})));
    eventually("created service appears", || has_service(&w, "shop", "api")).await;
    fake.put(service("shop", "web", json!({"a": "2"})));
    eventually("update is seen", || {
        svc_annotation(&w, "shop", "web", "a").as_deref() == Some("2")
    })
    .await;
    assert!(fake.delete("services", "shop", "web"));
    eventually("deleted service disappears", || {
        !has_service(&w, "shop", "web")
    })
    .await;
    assert!(has_service(&w, "shop", "api"));
    // All of that came over one list and one watch.
    assert_eq!(
        fake.count(Method::GET, "/api/v1/services"),
        2,
        "{:#?}",
        fake.requests()
    );
}

#[tokio::test]
async fn a_dropped_stream_resumes_from_the_last_resource_version() {
    let fake = FakeApiServer::start().await;
    fake.put(service("shop", "web", json!({"a": "1"})));
    fake.put(service("shop", "old", json!({})));
    let kc = client(&fake, None).await;
    let opts = WatchOptions {
        kinds: [KindId::Services].into(),
        ..WatchOptions::default()
    };
    let w = KubeWatch::start(&kc, &opts);
    assert!(w.wait_settled(SETTLE).await);
    // A change seen live proves the watch stream is open before it is broken.
    let sentinel = fake.put(service("shop", "sentinel", json!({})));
    eventually("the watch is live", || has_service(&w, "shop", "sentinel")).await;
    let last_seen = sentinel["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    let lists_before = fake
        .requests()
        .iter()
        .filter(|r| r.path == "/api/v1/services" && !r.query.contains_key("watch"))
        .count();

    // The stream breaks; while the client is cut off, the cluster changes.
    fake.hold_watches(true);
    fake.put(service("shop", "web", json!({"a": "2"})));
    fake.delete("services", "shop", "old");
    fake.put(service("shop", "new", json!({})));
    fake.hold_watches(false);

    eventually("changes made during the break arrive", || {
        svc_annotation(&w, "shop", "web", "a").as_deref() == Some("2")
            && !has_service(&w, "shop", "old")
            && has_service(&w, "shop", "new")
    })
    .await;
    let reqs = fake.requests();
    let lists_after = reqs
        .iter()
        .filter(|r| r.path == "/api/v1/services" && !r.query.contains_key("watch"))
        .count();
    assert_eq!(lists_before, lists_after, "resumed without a relist");
    let resumed: Vec<&String> = reqs
        .iter()
        .filter(|r| r.query.contains_key("watch"))
        .filter_map(|r| r.query.get("resourceVersion"))
        .collect();
    assert_eq!(resumed.len(), 2, "one more watch was opened: {resumed:?}");
    assert_eq!(resumed[1], &last_seen, "resumed from the last version seen");
}

#[tokio::test]
async fn a_410_gone_relists_and_drops_what_was_deleted_meanwhile() {
    let fake = FakeApiServer::start().await;
    fake.put(service("shop", "web", json!({})));
    fake.put(service("shop", "doomed", json!({})));
    let kc = client(&fake, None).await;
    let opts = WatchOptions {
        kinds: [KindId::Services].into(),
        ..WatchOptions::default()
    };
    let w = KubeWatch::start(&kc, &opts);
    assert!(w.wait_settled(SETTLE).await);
    fake.put(service("shop", "sentinel", json!({})));
    eventually("the watch is live", || has_service(&w, "shop", "sentinel")).await;

    fake.hold_watches(true);
    fake.delete("services", "shop", "doomed");
    fake.put(service("shop", "born", json!({})));
    // History is compacted away: only a relist can tell the watcher about the delete.
    fake.compact();
    fake.hold_watches(false);

    eventually("relist replaced the store", || {
        !has_service(&w, "shop", "doomed") && has_service(&w, "shop", "born")
    })
    .await;
    let lists = fake
        .requests()
        .iter()
        .filter(|r| r.path == "/api/v1/services" && !r.query.contains_key("watch"))
        .count();
    assert!(lists >= 2, "410 led to a relist: {lists}");
    // A 410 is routine, not a problem to show.
    assert!(w.view().notes.is_empty(), "{:?}", w.view().notes);
    assert!(has_service(&w, "shop", "web"));
}

#[tokio::test]
async fn a_watch_that_times_out_resumes() {
    let fake = FakeApiServer::start().await;
    fake.put(service("shop", "web", json!({})));
    let kc = client(&fake, None).await;
    let opts = WatchOptions {
        kinds: [KindId::Services].into(),
        watch_timeout_secs: 1,
        ..WatchOptions::default()
    };
    let w = KubeWatch::start(&kc, &opts);
    assert!(w.wait_settled(SETTLE).await);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    fake.put(service("shop", "late", json!({})));
    eventually("a change after the timeout arrives", || {
        has_service(&w, "shop", "late")
    })
    .await;
    let reqs = fake.requests();
    let watches: Vec<_> = reqs
        .iter()
        .filter(|r| r.query.contains_key("watch"))
        .collect();
    assert!(watches.len() >= 2, "{watches:#?}");
    assert!(
        watches
            .iter()
            .all(|r| r.query.get("timeoutSeconds").map(String::as_str) == Some("1"))
    );
    assert!(
        watches
            .iter()
            .all(|r| r.query.get("allowWatchBookmarks").map(String::as_str) == Some("true"))
    );
}

#[tokio::test]
async fn a_forbidden_kind_degrades_only_itself() {
    let fake = FakeApiServer::start().await;
    fake.forbid("pods");
    fake.put(service("shop", "web", json!({})));
    let kc = client(&fake, None).await;
    let w = KubeWatch::start(&kc, &WatchOptions::default());
    assert!(
        w.wait_settled(SETTLE).await,
        "a forbidden kind is settled: {:?}",
        w.kinds()
    );
    let v = w.view();
    assert_eq!(v.side.pods, None, "forbidden is unknown, not empty");
    assert_eq!(v.side.services.as_ref().map(|m| m.len()), Some(1));
    assert!(matches!(
        v.kinds[&KindId::Pods].problem,
        Some(Problem::Forbidden(_))
    ));
    assert_eq!(v.notes.len(), 1, "{:?}", v.notes);
    assert_eq!(v.notes[0].subject, "pods");
    assert!(v.notes[0].message.contains("forbidden"), "{}", v.notes[0]);
    assert!(v.notes[0].message.contains("unknown"), "{}", v.notes[0]);
}

#[tokio::test]
async fn absent_crds_leave_their_sections_unknown() {
    let fake = FakeApiServer::without_crds().await;
    fake.put(service("shop", "web", json!({})));
    let kc = client(&fake, None).await;
    let w = KubeWatch::start(&kc, &WatchOptions::default());
    assert!(w.wait_settled(SETTLE).await, "{:?}", w.kinds());
    let v = w.view();
    assert_eq!(v.side.target_group_bindings, None);
    assert_eq!(v.side.ingress_class_params, None);
    assert!(v.side.services.is_some());
    let subjects: Vec<&str> = v.notes.iter().map(|n| n.subject.as_str()).collect();
    assert_eq!(subjects, vec!["ingressclassparams", "targetgroupbindings"]);
    assert!(
        v.notes
            .iter()
            .all(|n| n.message.contains("CRD") && n.message.contains("not installed"))
    );
}

#[tokio::test]
async fn crds_are_read_when_installed() {
    let fake = FakeApiServer::start().await;
    fake.put(json!({
        "apiVersion": "elbv2.k8s.aws/v1beta1", "kind": "TargetGroupBinding",
        "metadata": {"name": "tgb", "namespace": "shop"},
        "spec": {"targetGroupARN": "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/t/1",
                 "serviceRef": {"name": "web", "port": 80},
                 "networking": {"ingress": [{"from": [{"securityGroup": {"groupID": "sg-1"}}],
                                             "ports": [{"port": 80, "protocol": "TCP"}]}]}}
    }));
    fake.put(json!({
        "apiVersion": "elbv2.k8s.aws/v1beta1", "kind": "IngressClassParams",
        "metadata": {"name": "internal"}, "spec": {"scheme": "internal", "group": {"name": "g"}}
    }));
    let kc = client(&fake, None).await;
    let opts = WatchOptions {
        kinds: [KindId::TargetGroupBindings, KindId::IngressClassParams].into(),
        ..WatchOptions::default()
    };
    let w = KubeWatch::start(&kc, &opts);
    assert!(w.wait_settled(SETTLE).await);
    let v = w.view();
    let tgb = &v.side.target_group_bindings.as_ref().unwrap()[&ObjKey::new("shop", "tgb")];
    assert_eq!(tgb.service_name, "web");
    assert_eq!(tgb.networking.as_ref().map(Vec::len), Some(1));
    let params = &v.side.ingress_class_params.as_ref().unwrap()["internal"];
    assert_eq!(params.group_name.as_deref(), Some("g"));
}

#[tokio::test]
async fn namespace_scope_narrows_namespaced_kinds_only() {
    let fake = FakeApiServer::start().await;
    fake.put(service("shop", "web", json!({})));
    fake.put(service("other", "web", json!({})));
    fake.put(node("n1"));
    let kc = client(&fake, Some("shop")).await;
    assert_eq!(kc.header(), "fake · namespace shop");
    let opts = WatchOptions {
        kinds: [KindId::Services, KindId::Nodes].into(),
        ..WatchOptions::default()
    };
    let w = KubeWatch::start(&kc, &opts);
    assert!(w.wait_settled(SETTLE).await);
    let v = w.view();
    let keys: Vec<ObjKey> = v.side.services.unwrap().into_keys().collect();
    assert_eq!(keys, vec![ObjKey::new("shop", "web")]);
    assert_eq!(v.side.nodes.map(|n| n.len()), Some(1));
    fake.put(service("other", "late", json!({})));
    fake.put(service("shop", "late", json!({})));
    eventually("in-scope change arrives", || {
        has_service(&w, "shop", "late")
    })
    .await;
    assert!(!has_service(&w, "other", "late"));
    assert!(
        fake.requests()
            .iter()
            .any(|r| r.path == "/api/v1/namespaces/shop/services")
    );
}

#[tokio::test]
async fn lists_are_paged() {
    let fake = FakeApiServer::start().await;
    for i in 0..5 {
        fake.put(service("shop", &format!("s{i}"), json!({})));
    }
    let kc = client(&fake, None).await;
    let opts = WatchOptions {
        kinds: [KindId::Services].into(),
        page_size: 2,
        ..WatchOptions::default()
    };
    let w = KubeWatch::start(&kc, &opts);
    assert!(w.wait_settled(SETTLE).await);
    assert_eq!(w.view().side.services.map(|m| m.len()), Some(5));
    let pages = fake
        .requests()
        .iter()
        .filter(|r| r.path == "/api/v1/services" && !r.query.contains_key("watch"))
        .count();
    assert_eq!(pages, 3);
}

#[tokio::test]
async fn views_are_published_on_changes() {
    let fake = FakeApiServer::start().await;
    let kc = client(&fake, None).await;
    let opts = WatchOptions {
        kinds: [KindId::Services].into(),
        ..WatchOptions::default()
    };
    let w = KubeWatch::start(&kc, &opts);
    let mut views = w.views(Duration::from_millis(30));
    assert!(w.wait_settled(SETTLE).await);
    fake.put(service("shop", "web", json!({})));
    let got = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            views.changed().await.unwrap();
            let v = views.borrow_and_update().clone();
            if v.side.services.as_ref().is_some_and(|m| m.len() == 1) {
                return v;
            }
        }
    })
    .await
    .expect("a view with the new service");
    assert_eq!(got.context, "fake");
    drop(w);
    // The publisher stops with the watch.
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        while views.changed().await.is_ok() {}
    })
    .await;
    assert!(
        closed.is_ok(),
        "views channel closes when the watch is dropped"
    );
}

#[tokio::test]
async fn events_keep_only_the_lbc_on_services_and_ingresses() {
    let fake = FakeApiServer::start().await;
    let event = |name: &str, kind: &str, component: &str| {
        json!({"apiVersion": "v1", "kind": "Event",
               "metadata": {"name": name, "namespace": "shop"},
               "involvedObject": {"kind": kind, "namespace": "shop", "name": "web"},
               "reason": "FailedDeployModel", "message": "AccessDenied", "type": "Warning",
               "source": {"component": component}, "count": 3})
    };
    fake.put(event("e1", "Service", "service"));
    fake.put(event("e2", "Pod", "kubelet"));
    fake.put(event("e3", "Ingress", "ingress"));
    let kc = client(&fake, None).await;
    let opts = WatchOptions {
        kinds: [KindId::Events].into(),
        ..WatchOptions::default()
    };
    let w = KubeWatch::start(&kc, &opts);
    assert!(w.wait_settled(SETTLE).await);
    let events = w.view().side.events.unwrap();
    let names: Vec<&str> = events.iter().map(|e| e.meta.name.as_str()).collect();
    assert_eq!(names, vec!["e1", "e3"]);
    assert_eq!(events[0].count, 3);
}

#[tokio::test]
async fn snapshot_captures_the_cluster_side_and_controller() {
    let fake = FakeApiServer::without_crds().await;
    fake.put(service(
        "shop",
        "web",
        json!({"service.beta.kubernetes.io/aws-load-balancer-type": "external"}),
    ));
    fake.put(node("n1"));
    fake.put(deployment(
        "kube-system",
        "aws-load-balancer-controller",
        json!({"app.kubernetes.io/name": "aws-load-balancer-controller"}),
        &["--cluster-name=demo", "--aws-region=eu-west-1"],
    ));
    let kc = client(&fake, None).await;
    let snap = snapshot_kube(&kc, &SnapshotOptions::default())
        .await
        .unwrap();
    assert_eq!(snap.context, "fake");
    assert_eq!(snap.world.cluster_name(), Some("demo"));
    assert_eq!(snap.world.cluster.region.as_deref(), Some("eu-west-1"));
    assert_eq!(snap.world.kube.services.as_ref().map(|m| m.len()), Some(1));
    assert_eq!(
        snap.world.aws,
        Default::default(),
        "the AWS side stays unknown"
    );
    let subjects: Vec<&str> = snap.notes.iter().map(|n| n.subject.as_str()).collect();
    assert_eq!(subjects, vec!["ingressclassparams", "targetgroupbindings"]);
    // Only reads.
    assert!(fake.mutating_requests().is_empty());
}

#[tokio::test]
async fn dropping_a_watch_stops_it_without_waiting_for_the_cluster() {
    let fake = FakeApiServer::start().await;
    let kc = client(&fake, None).await;
    let opts = WatchOptions {
        kinds: [KindId::Services].into(),
        ..WatchOptions::default()
    };
    let w = KubeWatch::start(&kc, &opts);
    assert!(w.wait_settled(SETTLE).await);
    fake.put(service("shop", "sentinel", json!({})));
    eventually("the watch is live", || has_service(&w, "shop", "sentinel")).await;
    let started = std::time::Instant::now();
    drop(w);
    assert!(
        started.elapsed() < Duration::from_millis(100),
        "drop does not wait"
    );
    let before = fake.requests().len();
    // A watcher still running would reconnect after its stream breaks (within ~1.6 s).
    fake.drop_watches();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(fake.requests().len(), before, "no watcher is left running");
}
