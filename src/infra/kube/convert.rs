//! k8s-openapi objects → the World's kube types, trimmed to the fields lbsg reads.
//! Same meaning as the world-file reader gives `kubectl get -o yaml` output, so a live world and
//! a snapshot of it compare equal.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::api::discovery::v1 as discovery;
use k8s_openapi::api::networking::v1 as networking;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ManagedFieldsEntry, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr;

use crate::world::kube::*;

/// The API group of the LBC's CRDs.
pub const ELBV2_GROUP: &str = "elbv2.k8s.aws";

/// Metadata, with the field managers that own each annotation (from `managedFields`).
pub fn meta(m: &ObjectMeta) -> Meta {
    Meta {
        namespace: m.namespace.clone().unwrap_or_default(),
        name: m.name.clone().unwrap_or_default(),
        uid: m.uid.clone().unwrap_or_default(),
        resource_version: m.resource_version.clone().unwrap_or_default(),
        annotations: m.annotations.clone().unwrap_or_default(),
        labels: m.labels.clone().unwrap_or_default(),
        finalizers: m.finalizers.clone().unwrap_or_default(),
        deleting: m.deletion_timestamp.is_some(),
        annotation_managers: annotation_managers(m.managed_fields.as_deref().unwrap_or_default()),
    }
}

/// Annotation key → managers whose `fieldsV1` set lists `f:metadata.f:annotations.f:<key>`.
pub fn annotation_managers(entries: &[ManagedFieldsEntry]) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in entries {
        let (Some(manager), Some(fields)) = (&e.manager, &e.fields_v1) else {
            continue;
        };
        let Some(annotations) = fields
            .0
            .get("f:metadata")
            .and_then(|m| m.get("f:annotations"))
            .and_then(|a| a.as_object())
        else {
            continue;
        };
        for key in annotations.keys() {
            if let Some(name) = key.strip_prefix("f:") {
                let owners = out.entry(name.to_string()).or_default();
                if !owners.contains(manager) {
                    owners.push(manager.clone());
                    owners.sort();
                }
            }
        }
    }
    out
}

fn int_or_string(v: &intstr::IntOrString) -> IntOrString {
    match v {
        intstr::IntOrString::Int(i) => IntOrString::Int(*i),
        intstr::IntOrString::String(s) => IntOrString::Str(s.clone()),
    }
}

fn opt_vec<T: Clone>(v: &Option<Vec<T>>) -> Vec<T> {
    v.clone().unwrap_or_default()
}

pub fn service(s: &core::Service) -> Service {
    let spec = s.spec.clone().unwrap_or_default();
    let lb_hostnames = s
        .status
        .as_ref()
        .and_then(|st| st.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_ref())
        .map(|ing| {
            ing.iter()
                .filter_map(|i| i.hostname.clone().or_else(|| i.ip.clone()))
                .collect()
        })
        .unwrap_or_default();
    Service {
        meta: meta(&s.metadata),
        spec: ServiceSpec {
            type_: spec.type_.clone().unwrap_or_else(|| "ClusterIP".into()),
            load_balancer_class: spec.load_balancer_class.clone(),
            external_traffic_policy: spec.external_traffic_policy.clone(),
            health_check_node_port: spec.health_check_node_port,
            ip_families: opt_vec(&spec.ip_families),
            load_balancer_source_ranges: opt_vec(&spec.load_balancer_source_ranges),
            ports: spec
                .ports
                .iter()
                .flatten()
                .map(|p| ServicePort {
                    name: p.name.clone(),
                    protocol: p.protocol.clone(),
                    port: p.port,
                    target_port: p.target_port.as_ref().map(int_or_string),
                    node_port: p.node_port,
                })
                .collect(),
            selector: spec.selector.clone().unwrap_or_default(),
        },
        lb_hostnames,
    }
}

/// A Service backend; `None` for a `resource` backend (no Service) or one without a port.
fn ingress_backend(b: &networking::IngressBackend) -> Option<IngressBackend> {
    let svc = b.service.as_ref()?;
    let port = svc.port.as_ref()?;
    let service_port = match (port.number, &port.name) {
        (Some(n), _) => IntOrString::Int(n),
        (None, Some(name)) => IntOrString::Str(name.clone()),
        (None, None) => return None,
    };
    Some(IngressBackend {
        service_name: svc.name.clone(),
        service_port,
    })
}

pub fn ingress(i: &networking::Ingress) -> Ingress {
    let spec = i.spec.clone().unwrap_or_default();
    let lb_hostnames = i
        .status
        .as_ref()
        .and_then(|st| st.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_ref())
        .map(|ing| {
            ing.iter()
                .filter_map(|x| x.hostname.clone().or_else(|| x.ip.clone()))
                .collect()
        })
        .unwrap_or_default();
    Ingress {
        meta: meta(&i.metadata),
        ingress_class_name: spec.ingress_class_name.clone(),
        default_backend: spec.default_backend.as_ref().and_then(ingress_backend),
        rules: spec
            .rules
            .iter()
            .flatten()
            .map(|r| IngressRule {
                host: r.host.clone(),
                paths: r
                    .http
                    .iter()
                    .flat_map(|h| h.paths.iter())
                    .filter_map(|p| {
                        Some(IngressPath {
                            path: p.path.clone(),
                            backend: ingress_backend(&p.backend)?,
                        })
                    })
                    .collect(),
            })
            .collect(),
        tls_hosts: spec
            .tls
            .iter()
            .flatten()
            .flat_map(|t| t.hosts.iter().flatten().cloned())
            .collect(),
        lb_hostnames,
    }
}

pub fn ingress_class(c: &networking::IngressClass) -> IngressClass {
    let m = meta(&c.metadata);
    let is_default = m
        .annotations
        .get("ingressclass.kubernetes.io/is-default-class")
        .is_some_and(|v| v == "true");
    let spec = c.spec.clone().unwrap_or_default();
    let params_name = spec
        .parameters
        .as_ref()
        .filter(|p| p.api_group.as_deref() == Some(ELBV2_GROUP) && p.kind == "IngressClassParams")
        .map(|p| p.name.clone());
    IngressClass {
        meta: m,
        controller: spec.controller.clone().unwrap_or_default(),
        params_name,
        is_default,
    }
}

fn condition_true<'a>(mut conditions: impl Iterator<Item = (&'a str, &'a str)>) -> bool {
    conditions.any(|(t, s)| t == "Ready" && s == "True")
}

pub fn node(n: &core::Node) -> Node {
    let spec = n.spec.clone().unwrap_or_default();
    let status = n.status.clone().unwrap_or_default();
    Node {
        meta: meta(&n.metadata),
        provider_id: spec.provider_id.clone(),
        internal_ips: status
            .addresses
            .iter()
            .flatten()
            .filter(|a| a.type_ == "InternalIP")
            .map(|a| a.address.clone())
            .collect(),
        taints: spec
            .taints
            .iter()
            .flatten()
            .map(|t| Taint {
                key: t.key.clone(),
                value: t.value.clone(),
                effect: t.effect.clone(),
            })
            .collect(),
        ready: condition_true(
            status
                .conditions
                .iter()
                .flatten()
                .map(|c| (c.type_.as_str(), c.status.as_str())),
        ),
    }
}

pub fn pod(p: &core::Pod) -> Pod {
    let spec = p.spec.as_ref();
    let status = p.status.as_ref();
    let mut pod_ips: Vec<String> = status
        .and_then(|s| s.pod_ips.as_ref())
        .map(|ips| ips.iter().map(|i| i.ip.clone()).collect())
        .unwrap_or_default();
    if pod_ips.is_empty() {
        pod_ips.extend(status.and_then(|s| s.pod_ip.clone()));
    }
    Pod {
        meta: meta(&p.metadata),
        node_name: spec.and_then(|s| s.node_name.clone()),
        pod_ips,
        ports: spec
            .map(|s| {
                s.containers
                    .iter()
                    .flat_map(|c| c.ports.iter().flatten())
                    .map(|cp| ContainerPort {
                        name: cp.name.clone(),
                        container_port: cp.container_port,
                        protocol: cp.protocol.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        ready: condition_true(
            status
                .and_then(|s| s.conditions.as_ref())
                .into_iter()
                .flatten()
                .map(|c| (c.type_.as_str(), c.status.as_str())),
        ),
    }
}

pub fn endpoint_slice(s: &discovery::EndpointSlice) -> EndpointSlice {
    let m = meta(&s.metadata);
    let service_name = m.labels.get("kubernetes.io/service-name").cloned();
    let namespace = m.namespace.clone();
    EndpointSlice {
        service_name,
        address_type: s.address_type.clone(),
        ports: s
            .ports
            .iter()
            .flatten()
            .map(|p| EndpointPort {
                name: p.name.clone(),
                port: p.port,
                protocol: p.protocol.clone(),
            })
            .collect(),
        endpoints: s
            .endpoints
            .iter()
            .map(|e| Endpoint {
                addresses: e.addresses.clone(),
                // Unset means unknown, which Kubernetes says to treat as ready.
                ready: e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true),
                node_name: e.node_name.clone(),
                pod: e
                    .target_ref
                    .as_ref()
                    .filter(|r| r.kind.as_deref() == Some("Pod"))
                    .and_then(|r| {
                        Some(ObjKey::new(
                            r.namespace.clone().unwrap_or_else(|| namespace.clone()),
                            r.name.clone()?,
                        ))
                    }),
            })
            .collect(),
        meta: m,
    }
}

/// The event recorder names the LBC reports Service and Ingress events under.
pub const LBC_EVENT_COMPONENTS: &[&str] = &["service", "ingress"];

/// A core/v1 Event about a Service or Ingress, reported by the LBC; `None` for any other event
/// (the cluster's Pod churn is of no use to a diagnosis and would fill the store).
pub fn lbc_event(e: &core::Event) -> Option<Event> {
    let kind = e.involved_object.kind.clone().unwrap_or_default();
    if kind != "Service" && kind != "Ingress" {
        return None;
    }
    let component = e.source.as_ref().and_then(|s| s.component.as_deref());
    let reporter = e.reporting_component.as_deref();
    let by_lbc = [component, reporter]
        .iter()
        .flatten()
        .any(|c| LBC_EVENT_COMPONENTS.contains(c));
    if !by_lbc {
        return None;
    }
    let last = e
        .last_timestamp
        .as_ref()
        .map(|t| t.0.to_string())
        .or_else(|| {
            e.series
                .as_ref()
                .and_then(|s| s.last_observed_time.as_ref())
                .map(|t| t.0.to_string())
        })
        .or_else(|| e.event_time.as_ref().map(|t| t.0.to_string()));
    Some(Event {
        meta: meta(&e.metadata),
        involved_kind: kind,
        involved: ObjKey::new(
            e.involved_object.namespace.clone().unwrap_or_default(),
            e.involved_object.name.clone().unwrap_or_default(),
        ),
        reason: e.reason.clone().unwrap_or_default(),
        message: e.message.clone().unwrap_or_default(),
        type_: e.type_.clone().unwrap_or_default(),
        // An event with no count happened once.
        count: e
            .count
            .or_else(|| e.series.as_ref().and_then(|s| s.count))
            .unwrap_or(1),
        last_timestamp: last,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::FieldsV1;
    use serde_json::json;

    fn from<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn annotation_managers_come_from_managed_fields() {
        let entries = vec![
            ManagedFieldsEntry {
                manager: Some("helm".into()),
                fields_v1: Some(FieldsV1(json!({"f:metadata": {"f:annotations": {
                    "f:a": {}, "f:b": {}}, "f:labels": {"f:x": {}}}}))),
                ..Default::default()
            },
            ManagedFieldsEntry {
                manager: Some("kubectl-edit".into()),
                fields_v1: Some(FieldsV1(
                    json!({"f:metadata": {"f:annotations": {"f:b": {}}}}),
                )),
                ..Default::default()
            },
            ManagedFieldsEntry {
                manager: Some("status-writer".into()),
                fields_v1: Some(FieldsV1(json!({"f:status": {}}))),
                ..Default::default()
            },
        ];
        let m = annotation_managers(&entries);
        assert_eq!(m.len(), 2, "labels and status are not annotations: {m:?}");
        assert_eq!(m["a"], vec!["helm"]);
        assert_eq!(m["b"], vec!["helm", "kubectl-edit"]);
    }

    #[test]
    fn service_is_trimmed_to_what_lbsg_reads() {
        let s: core::Service = from(json!({
            "metadata": {"name": "web", "namespace": "shop", "resourceVersion": "7",
                         "annotations": {"k": "v"}, "deletionTimestamp": "2024-01-01T00:00:00Z"},
            "spec": {"type": "LoadBalancer", "loadBalancerClass": "service.k8s.aws/nlb",
                     "ports": [{"port": 80, "targetPort": "http", "protocol": "TCP", "nodePort": 30080}],
                     "selector": {"app": "web"}, "loadBalancerSourceRanges": ["10.0.0.0/8"]},
            "status": {"loadBalancer": {"ingress": [{"hostname": "a.elb"}, {"ip": "1.2.3.4"}]}}
        }));
        let w = service(&s);
        assert_eq!(w.meta.key(), ObjKey::new("shop", "web"));
        assert!(w.meta.deleting);
        assert_eq!(w.spec.type_, "LoadBalancer");
        assert_eq!(
            w.spec.ports[0].target_port,
            Some(IntOrString::Str("http".into()))
        );
        assert_eq!(w.spec.ports[0].node_port, Some(30080));
        assert_eq!(w.lb_hostnames, vec!["a.elb", "1.2.3.4"]);
        let bare: core::Service = from(json!({"metadata": {"name": "x", "namespace": "d"}}));
        assert_eq!(service(&bare).spec.type_, "ClusterIP");
    }

    #[test]
    fn ingress_backends_skip_resource_backends() {
        let i: networking::Ingress = from(json!({
            "metadata": {"name": "i", "namespace": "n"},
            "spec": {"ingressClassName": "alb",
                "defaultBackend": {"resource": {"kind": "Bucket", "name": "b"}},
                "rules": [{"host": "a.example", "http": {"paths": [
                    {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"name": "http"}}}},
                    {"path": "/api", "pathType": "Prefix", "backend": {"service": {"name": "api", "port": {"number": 8080}}}}
                ]}}],
                "tls": [{"hosts": ["a.example"]}]}
        }));
        let w = ingress(&i);
        assert_eq!(w.default_backend, None);
        let b: Vec<_> = w
            .backends()
            .map(|b| (b.service_name.as_str(), b.service_port.clone()))
            .collect();
        assert_eq!(
            b,
            vec![
                ("web", IntOrString::Str("http".into())),
                ("api", IntOrString::Int(8080))
            ]
        );
        assert_eq!(w.tls_hosts, vec!["a.example"]);
    }

    #[test]
    fn ingress_class_points_at_params_only_for_elbv2() {
        let c: networking::IngressClass = from(json!({
            "metadata": {"name": "alb", "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"}},
            "spec": {"controller": "ingress.k8s.aws/alb",
                     "parameters": {"apiGroup": "elbv2.k8s.aws", "kind": "IngressClassParams", "name": "p"}}
        }));
        let w = ingress_class(&c);
        assert_eq!(w.params_name.as_deref(), Some("p"));
        assert!(w.is_default);
        let other: networking::IngressClass = from(json!({
            "metadata": {"name": "nginx"},
            "spec": {"controller": "k8s.io/ingress-nginx",
                     "parameters": {"apiGroup": "k8s.nginx.org", "kind": "Params", "name": "p"}}
        }));
        assert_eq!(ingress_class(&other).params_name, None);
    }

    #[test]
    fn nodes_pods_and_slices() {
        let n: core::Node = from(json!({
            "metadata": {"name": "n1"},
            "spec": {"providerID": "aws:///us-east-1a/i-0abc", "taints": [{"key": "k", "effect": "NoSchedule"}]},
            "status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.1"}, {"type": "Hostname", "address": "h"}],
                       "conditions": [{"type": "Ready", "status": "True"}]}
        }));
        let w = node(&n);
        assert_eq!(w.instance_id(), Some("i-0abc"));
        assert_eq!(w.internal_ips, vec!["10.0.0.1"]);
        assert!(w.ready);

        let p: core::Pod = from(json!({
            "metadata": {"name": "p", "namespace": "n"},
            "spec": {"nodeName": "n1", "containers": [{"name": "c", "ports": [{"containerPort": 8080, "name": "http"}]}]},
            "status": {"podIP": "10.0.1.5", "conditions": [{"type": "Ready", "status": "False"}]}
        }));
        let w = pod(&p);
        assert_eq!(w.pod_ips, vec!["10.0.1.5"]);
        assert_eq!(w.ports[0].container_port, 8080);
        assert!(!w.ready);

        let s: discovery::EndpointSlice = from(json!({
            "metadata": {"name": "web-abc", "namespace": "n", "labels": {"kubernetes.io/service-name": "web"}},
            "addressType": "IPv4",
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
            "endpoints": [
                {"addresses": ["10.0.1.5"], "targetRef": {"kind": "Pod", "name": "p"}},
                {"addresses": ["10.0.1.6"], "conditions": {"ready": false}}
            ]
        }));
        let w = endpoint_slice(&s);
        assert_eq!(w.service_name.as_deref(), Some("web"));
        assert!(w.endpoints[0].ready, "unset ready counts as ready");
        assert_eq!(w.endpoints[0].pod, Some(ObjKey::new("n", "p")));
        assert!(!w.endpoints[1].ready);
    }

    #[test]
    fn only_lbc_events_on_services_and_ingresses_are_kept() {
        let ev = |kind: &str, component: &str| -> core::Event {
            from(json!({
                "metadata": {"name": "e", "namespace": "n"},
                "involvedObject": {"kind": kind, "namespace": "n", "name": "web"},
                "reason": "FailedDeployModel", "message": "boom", "type": "Warning",
                "source": {"component": component},
                "lastTimestamp": "2024-05-01T10:00:00Z"
            }))
        };
        let kept = lbc_event(&ev("Service", "service")).unwrap();
        assert_eq!(kept.involved, ObjKey::new("n", "web"));
        assert_eq!(kept.count, 1);
        assert_eq!(kept.last_timestamp.as_deref(), Some("2024-05-01T10:00:00Z"));
        assert!(lbc_event(&ev("Ingress", "ingress")).is_some());
        assert!(lbc_event(&ev("Pod", "service")).is_none());
        assert!(lbc_event(&ev("Service", "service-controller")).is_none());
    }
}
