//! Shared helpers for the kube tests: clients built from the fake's URL, objects, waiting.

use std::time::Duration;

use kube::config::Kubeconfig;
use lbsg::infra::kube::{ContextOptions, KubeClient};
use serde_json::{Value, json};

use crate::fake_apiserver::FakeApiServer;

/// A client for the fake, in all namespaces (`ns = None`) or one.
pub async fn client(fake: &FakeApiServer, ns: Option<&str>) -> KubeClient {
    let kc = Kubeconfig::from_yaml(&fake.kubeconfig_yaml("fake")).unwrap();
    let opts = ContextOptions {
        namespace: ns.map(String::from),
        ..ContextOptions::default()
    };
    KubeClient::from_kubeconfig(kc, &opts).await.unwrap()
}

/// Poll `cond` until it holds, or panic with `what` after 10 s.
pub async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub fn service(ns: &str, name: &str, annotations: Value) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "namespace": ns, "annotations": annotations},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}],
                 "selector": {"app": name}}
    })
}

pub fn ingress(ns: &str, name: &str) -> Value {
    json!({
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"ingressClassName": "alb", "rules": [{"http": {"paths": [
            {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}}
        ]}}]}
    })
}

pub fn node(name: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name},
        "spec": {"providerID": format!("aws:///us-east-1a/i-0{name}")},
        "status": {"conditions": [{"type": "Ready", "status": "True"}],
                   "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}]}
    })
}

pub fn deployment(ns: &str, name: &str, labels: Value, args: &[&str]) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {"selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "aws-load-balancer-controller",
                                                       "image": "public.ecr.aws/eks/aws-load-balancer-controller:v2.8.0",
                                                       "args": args}]}}}
    })
}
