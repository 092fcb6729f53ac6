//! The cluster side as kubectl prints it (keys sorted, as kubectl does).

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::{Obj, str_map, strs};
use crate::world::kube::*;

/// kubectl prints object keys sorted; the builders below insert them in that order.
fn object(api: &str, kind: &str, meta: &Meta) -> Obj {
    Obj::new()
        .set("apiVersion", api)
        .set("kind", kind)
        .set("metadata", metadata(api, meta))
}

fn metadata(api: &str, m: &Meta) -> Value {
    let mut by_manager: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (key, managers) in &m.annotation_managers {
        for manager in managers {
            by_manager.entry(manager).or_default().push(key);
        }
    }
    let managed: Vec<Value> = by_manager
        .into_iter()
        .map(|(manager, keys)| {
            let mut annotations = Map::new();
            for k in keys {
                annotations.insert(format!("f:{k}"), json!({}));
            }
            json!({
                "apiVersion": api,
                "fieldsType": "FieldsV1",
                "fieldsV1": {"f:metadata": {"f:annotations": annotations}},
                "manager": manager,
                "operation": "Update",
            })
        })
        .collect();
    Obj::new()
        .map("annotations", &m.annotations)
        // The time is not kept in the world; any value marks the object as being deleted.
        .opt(
            "deletionTimestamp",
            m.deleting.then_some("1970-01-01T00:00:00Z"),
        )
        .list("finalizers", strs(&m.finalizers))
        .map("labels", &m.labels)
        .list("managedFields", managed)
        .set("name", m.name.as_str())
        .text("namespace", &m.namespace)
        .text("resourceVersion", &m.resource_version)
        .text("uid", &m.uid)
        .done()
}

fn int_or_string(v: &IntOrString) -> Value {
    match v {
        IntOrString::Int(i) => json!(i),
        IntOrString::Str(s) => json!(s),
    }
}

fn lb_status(hostnames: &[String]) -> Option<Value> {
    if hostnames.is_empty() {
        return None;
    }
    let ingress: Vec<Value> = hostnames
        .iter()
        .map(|h| {
            if h.parse::<std::net::IpAddr>().is_ok() {
                json!({"ip": h})
            } else {
                json!({"hostname": h})
            }
        })
        .collect();
    Some(json!({"loadBalancer": {"ingress": ingress}}))
}

fn service(s: &Service) -> Value {
    let ports = s
        .spec
        .ports
        .iter()
        .map(|p| {
            Obj::new()
                .opt("name", p.name.clone())
                .opt("nodePort", p.node_port)
                .set("port", p.port)
                .opt("protocol", p.protocol.clone())
                .opt("targetPort", p.target_port.as_ref().map(int_or_string))
                .done()
        })
        .collect();
    let spec = Obj::new()
        .opt(
            "externalTrafficPolicy",
            s.spec.external_traffic_policy.clone(),
        )
        .opt("healthCheckNodePort", s.spec.health_check_node_port)
        .list("ipFamilies", strs(&s.spec.ip_families))
        .opt("loadBalancerClass", s.spec.load_balancer_class.clone())
        .list(
            "loadBalancerSourceRanges",
            strs(&s.spec.load_balancer_source_ranges),
        )
        .list("ports", ports)
        .map("selector", &s.spec.selector)
        .text("type", &s.spec.type_);
    object("v1", "Service", &s.meta)
        .set("spec", spec.done())
        .opt("status", lb_status(&s.lb_hostnames))
        .done()
}

fn backend(b: &IngressBackend) -> Value {
    let port = match &b.service_port {
        IntOrString::Int(i) => json!({"number": i}),
        IntOrString::Str(s) => json!({"name": s}),
    };
    json!({"service": {"name": b.service_name, "port": port}})
}

fn ingress(i: &Ingress) -> Value {
    let rules = i
        .rules
        .iter()
        .map(|r| {
            let paths: Vec<Value> = r
                .paths
                .iter()
                .map(|p| {
                    Obj::new()
                        .set("backend", backend(&p.backend))
                        .opt("path", p.path.clone())
                        .set("pathType", "ImplementationSpecific")
                        .done()
                })
                .collect();
            Obj::new()
                .opt("host", r.host.clone())
                .opt("http", (!paths.is_empty()).then(|| json!({"paths": paths})))
                .done()
        })
        .collect();
    let tls = if i.tls_hosts.is_empty() {
        Vec::new()
    } else {
        vec![json!({"hosts": i.tls_hosts})]
    };
    let spec = Obj::new()
        .opt("defaultBackend", i.default_backend.as_ref().map(backend))
        .opt("ingressClassName", i.ingress_class_name.clone())
        .list("rules", rules)
        .list("tls", tls);
    object("networking.k8s.io/v1", "Ingress", &i.meta)
        .set("spec", spec.done())
        .opt("status", lb_status(&i.lb_hostnames))
        .done()
}

fn ingress_class(c: &IngressClass) -> Value {
    let mut meta = c.meta.clone();
    if c.is_default {
        meta.annotations
            .entry("ingressclass.kubernetes.io/is-default-class".into())
            .or_insert_with(|| "true".into());
    }
    let params = c.params_name.as_ref().map(
        |name| json!({"apiGroup": "elbv2.k8s.aws", "kind": "IngressClassParams", "name": name}),
    );
    let spec = Obj::new()
        .text("controller", &c.controller)
        .opt("parameters", params);
    object("networking.k8s.io/v1", "IngressClass", &meta)
        .set("spec", spec.done())
        .done()
}

fn params(p: &IngressClassParams) -> Value {
    let tags = p
        .tags
        .iter()
        .map(|(k, v)| json!({"key": k, "value": v}))
        .collect();
    let spec = Obj::new()
        .list("certificateArn", strs(&p.certificate_arns))
        .opt("group", p.group_name.as_ref().map(|g| json!({"name": g})))
        .list("inboundCIDRs", strs(&p.inbound_cidrs))
        .opt("ipAddressType", p.ip_address_type.clone())
        .opt("namespaceSelector", p.namespace_selector.then(|| json!({})))
        .list("prefixListsIDs", strs(&p.prefix_list_ids))
        .opt("scheme", p.scheme.clone())
        .list("tags", tags)
        .opt("targetType", p.target_type.clone());
    object("elbv2.k8s.aws/v1beta1", "IngressClassParams", &p.meta)
        .set("spec", spec.done())
        .done()
}

fn tgb(t: &TargetGroupBinding) -> Value {
    let networking = t.networking.as_ref().map(|rules| {
        let ingress: Vec<Value> = rules
            .iter()
            .map(|r| {
                let from: Vec<Value> = r
                    .from
                    .iter()
                    .map(|p| match p {
                        NetworkingPeer::SecurityGroup(g) => {
                            json!({"securityGroup": {"groupID": g}})
                        }
                        NetworkingPeer::IpBlock(c) => json!({"ipBlock": {"cidr": c}}),
                        NetworkingPeer::Empty => json!({}),
                    })
                    .collect();
                let ports: Vec<Value> = r
                    .ports
                    .iter()
                    .map(|p| {
                        Obj::new()
                            .opt("port", p.port.as_ref().map(int_or_string))
                            .opt("protocol", p.protocol.clone())
                            .done()
                    })
                    .collect();
                json!({"from": from, "ports": ports})
            })
            .collect();
        json!({"ingress": ingress})
    });
    let spec = Obj::new()
        .opt("ipAddressType", t.ip_address_type.clone())
        .opt("networking", networking)
        .opt(
            "nodeSelector",
            (!t.node_selector.is_empty())
                .then(|| json!({"matchLabels": str_map(&t.node_selector)})),
        )
        .set(
            "serviceRef",
            json!({"name": t.service_name, "port": int_or_string(&t.service_port)}),
        )
        .set("targetGroupARN", t.target_group_arn.as_str())
        .opt("targetType", t.target_type.clone());
    object("elbv2.k8s.aws/v1beta1", "TargetGroupBinding", &t.meta)
        .set("spec", spec.done())
        .done()
}

fn ready_condition(ready: bool) -> Value {
    json!({"conditions": [{"status": if ready { "True" } else { "False" }, "type": "Ready"}]})
}

fn node(n: &Node) -> Value {
    let taints = n
        .taints
        .iter()
        .map(|t| {
            Obj::new()
                .set("effect", t.effect.as_str())
                .set("key", t.key.as_str())
                .opt("value", t.value.clone())
                .done()
        })
        .collect();
    let spec = Obj::new()
        .opt("providerID", n.provider_id.clone())
        .list("taints", taints);
    let mut status = ready_condition(n.ready);
    let addresses: Vec<Value> = n
        .internal_ips
        .iter()
        .map(|ip| json!({"address": ip, "type": "InternalIP"}))
        .collect();
    if let Some(s) = status.as_object_mut() {
        // kubectl's key order: addresses before conditions.
        let conditions = s.remove("conditions").unwrap_or(Value::Null);
        if !addresses.is_empty() {
            s.insert("addresses".into(), Value::Array(addresses));
        }
        s.insert("conditions".into(), conditions);
    }
    object("v1", "Node", &n.meta)
        .set("spec", spec.done())
        .set("status", status)
        .done()
}

fn pod(p: &Pod) -> Value {
    let ports: Vec<Value> = p
        .ports
        .iter()
        .map(|c| {
            Obj::new()
                .set("containerPort", c.container_port)
                .opt("name", c.name.clone())
                .opt("protocol", c.protocol.clone())
                .done()
        })
        .collect();
    // The world keeps the pod's ports, not its containers: one container carries them all.
    let containers = if ports.is_empty() {
        Vec::new()
    } else {
        vec![json!({"name": "app", "ports": ports})]
    };
    let spec = Obj::new()
        .list("containers", containers)
        .opt("nodeName", p.node_name.clone());
    let mut status = ready_condition(p.ready);
    if let (Some(s), Some(first)) = (status.as_object_mut(), p.pod_ips.first()) {
        s.insert("podIP".into(), json!(first));
        let ips: Vec<Value> = p.pod_ips.iter().map(|ip| json!({"ip": ip})).collect();
        s.insert("podIPs".into(), Value::Array(ips));
    }
    object("v1", "Pod", &p.meta)
        .set("spec", spec.done())
        .set("status", status)
        .done()
}

fn endpoint_slice(e: &EndpointSlice) -> Value {
    let mut meta = e.meta.clone();
    if let Some(svc) = &e.service_name {
        meta.labels
            .entry("kubernetes.io/service-name".into())
            .or_insert_with(|| svc.clone());
    }
    let endpoints: Vec<Value> = e
        .endpoints
        .iter()
        .map(|ep| {
            let target = ep
                .pod
                .as_ref()
                .map(|k| json!({"kind": "Pod", "name": k.name, "namespace": k.namespace}));
            Obj::new()
                .set("addresses", Value::Array(strs(&ep.addresses)))
                .set("conditions", json!({"ready": ep.ready}))
                .opt("nodeName", ep.node_name.clone())
                .opt("targetRef", target)
                .done()
        })
        .collect();
    let ports: Vec<Value> = e
        .ports
        .iter()
        .map(|p| {
            Obj::new()
                .opt("name", p.name.clone())
                .opt("port", p.port)
                .opt("protocol", p.protocol.clone())
                .done()
        })
        .collect();
    let mut out = Obj::new()
        .set("addressType", e.address_type.as_str())
        .set("apiVersion", "discovery.k8s.io/v1")
        .list("endpoints", endpoints)
        .set("kind", "EndpointSlice")
        .set("metadata", metadata("discovery.k8s.io/v1", &meta));
    if !ports.is_empty() {
        out = out.set("ports", Value::Array(ports));
    }
    out.done()
}

fn event(e: &Event) -> Value {
    let involved = Obj::new()
        .text("kind", &e.involved_kind)
        .text("name", &e.involved.name)
        .text("namespace", &e.involved.namespace);
    Obj::new()
        .set("apiVersion", "v1")
        .set("count", e.count)
        .set("involvedObject", involved.done())
        .set("kind", "Event")
        .opt("lastTimestamp", e.last_timestamp.clone())
        .set("message", e.message.as_str())
        .set("metadata", metadata("v1", &e.meta))
        .set("reason", e.reason.as_str())
        .set("type", e.type_.as_str())
        .done()
}

pub(super) fn kubernetes(k: &KubeSide) -> Option<Value> {
    let mut items = Vec::new();
    let mut empty_kinds = Vec::new();
    let mut section = |kind: &str, known: bool, objects: Vec<Value>| {
        if known && objects.is_empty() {
            empty_kinds.push(json!(kind));
        }
        items.extend(objects);
        known
    };
    let mut any = false;
    any |= section(
        "IngressClassParams",
        k.ingress_class_params.is_some(),
        k.ingress_class_params
            .iter()
            .flat_map(|m| m.values())
            .map(params)
            .collect(),
    );
    any |= section(
        "IngressClass",
        k.ingress_classes.is_some(),
        k.ingress_classes
            .iter()
            .flat_map(|m| m.values())
            .map(ingress_class)
            .collect(),
    );
    any |= section(
        "Service",
        k.services.is_some(),
        k.services
            .iter()
            .flat_map(|m| m.values())
            .map(service)
            .collect(),
    );
    any |= section(
        "Ingress",
        k.ingresses.is_some(),
        k.ingresses
            .iter()
            .flat_map(|m| m.values())
            .map(ingress)
            .collect(),
    );
    any |= section(
        "TargetGroupBinding",
        k.target_group_bindings.is_some(),
        k.target_group_bindings
            .iter()
            .flat_map(|m| m.values())
            .map(tgb)
            .collect(),
    );
    any |= section(
        "Node",
        k.nodes.is_some(),
        k.nodes.iter().flat_map(|m| m.values()).map(node).collect(),
    );
    any |= section(
        "Pod",
        k.pods.is_some(),
        k.pods.iter().flat_map(|m| m.values()).map(pod).collect(),
    );
    any |= section(
        "EndpointSlice",
        k.endpoint_slices.is_some(),
        k.endpoint_slices
            .iter()
            .flat_map(|m| m.values())
            .map(endpoint_slice)
            .collect(),
    );
    any |= section(
        "Event",
        k.events.is_some(),
        k.events.iter().flatten().map(event).collect(),
    );
    if !any {
        return None;
    }
    let out = Obj::new()
        .list("kinds", empty_kinds)
        .set("items", Value::Array(items));
    Some(out.done())
}
