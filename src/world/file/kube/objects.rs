//! Each kind's fields (`spec`, `status`) → the world's kube types.

use std::collections::BTreeMap;

use super::super::located::{At, Res};
use crate::world::kube::*;

/// `int-or-string`: a plain integer is a port number, anything else a port name.
fn int_or_string(at: &At<'_>) -> Res<IntOrString> {
    if at.int_value().is_some() {
        Ok(IntOrString::Int(at.port()?))
    } else {
        Ok(IntOrString::Str(at.str()?))
    }
}

fn lb_hostnames(at: &At<'_>) -> Res<Vec<String>> {
    let mut out = Vec::new();
    let Some(status) = at.get("status")? else {
        return Ok(out);
    };
    let Some(lb) = status.get("loadBalancer")? else {
        return Ok(out);
    };
    for ing in lb.list("ingress")? {
        if let Some(h) = ing.opt_str("hostname")?.or(ing.opt_str("ip")?) {
            out.push(h);
        }
    }
    Ok(out)
}

pub(super) fn read_service(at: &At<'_>, meta: Meta) -> Res<Service> {
    let mut svc = Service {
        meta,
        lb_hostnames: lb_hostnames(at)?,
        ..Service::default()
    };
    let Some(spec) = at.get("spec")? else {
        svc.spec.type_ = "ClusterIP".into();
        return Ok(svc);
    };
    svc.spec = ServiceSpec {
        type_: spec.opt_str("type")?.unwrap_or_else(|| "ClusterIP".into()),
        load_balancer_class: spec.opt_str("loadBalancerClass")?,
        external_traffic_policy: spec.opt_str("externalTrafficPolicy")?,
        health_check_node_port: spec.opt_port("healthCheckNodePort")?,
        ip_families: spec.str_list("ipFamilies")?,
        // Passed through unvalidated: the LBC reports bad ranges itself, and so does lbsg.
        load_balancer_source_ranges: spec.str_list("loadBalancerSourceRanges")?,
        ports: spec
            .list("ports")?
            .iter()
            .map(|p| {
                Ok(ServicePort {
                    name: p.opt_str("name")?,
                    protocol: p.opt_str("protocol")?,
                    port: p.req("port")?.port()?,
                    target_port: p
                        .get("targetPort")?
                        .map(|t| int_or_string(&t))
                        .transpose()?,
                    node_port: p.opt_port("nodePort")?,
                })
            })
            .collect::<Res<_>>()?,
        selector: spec.str_map("selector")?,
    };
    Ok(svc)
}

/// An Ingress backend; `None` for a `resource` backend, which has no Service.
fn ingress_backend(at: &At<'_>) -> Res<Option<IngressBackend>> {
    let Some(svc) = at.get("service")? else {
        if at.get("resource")?.is_some() {
            return Ok(None);
        }
        return Err(at.missing("service"));
    };
    let port = svc.req("port")?;
    let service_port = match (port.get("number")?, port.get("name")?) {
        (Some(n), _) => IntOrString::Int(n.port()?),
        (None, Some(n)) => IntOrString::Str(n.str()?),
        (None, None) => return Err(port.err("expected `number` or `name`")),
    };
    Ok(Some(IngressBackend {
        service_name: svc.req_str("name")?,
        service_port,
    }))
}

pub(super) fn read_ingress(at: &At<'_>, meta: Meta) -> Res<Ingress> {
    let mut ing = Ingress {
        meta,
        lb_hostnames: lb_hostnames(at)?,
        ..Ingress::default()
    };
    let Some(spec) = at.get("spec")? else {
        return Ok(ing);
    };
    ing.ingress_class_name = spec.opt_str("ingressClassName")?;
    ing.default_backend = match spec.get("defaultBackend")? {
        Some(b) => ingress_backend(&b)?,
        None => None,
    };
    for rule in spec.list("rules")? {
        let mut r = IngressRule {
            host: rule.opt_str("host")?,
            paths: Vec::new(),
        };
        if let Some(http) = rule.get("http")? {
            for p in http.list("paths")? {
                if let Some(backend) = ingress_backend(&p.req("backend")?)? {
                    r.paths.push(IngressPath {
                        path: p.opt_str("path")?,
                        backend,
                    });
                }
            }
        }
        ing.rules.push(r);
    }
    for tls in spec.list("tls")? {
        ing.tls_hosts.extend(tls.str_list("hosts")?);
    }
    Ok(ing)
}

pub(super) fn read_ingress_class(at: &At<'_>, meta: Meta) -> Res<IngressClass> {
    let is_default = meta
        .annotations
        .get("ingressclass.kubernetes.io/is-default-class")
        .is_some_and(|v| v == "true");
    let mut class = IngressClass {
        meta,
        is_default,
        ..IngressClass::default()
    };
    if let Some(spec) = at.get("spec")? {
        class.controller = spec.str_or_empty("controller")?;
        if let Some(p) = spec.get("parameters")? {
            let is_params = p.opt_str("apiGroup")?.as_deref() == Some("elbv2.k8s.aws")
                && p.opt_str("kind")?.as_deref() == Some("IngressClassParams");
            if is_params {
                class.params_name = Some(p.req_str("name")?);
            }
        }
    }
    Ok(class)
}

pub(super) fn read_params(at: &At<'_>, meta: Meta) -> Res<IngressClassParams> {
    let mut params = IngressClassParams {
        meta,
        ..IngressClassParams::default()
    };
    let Some(spec) = at.get("spec")? else {
        return Ok(params);
    };
    params.group_name = spec.get("group")?.map(|g| g.req_str("name")).transpose()?;
    params.scheme = spec.opt_str("scheme")?;
    params.ip_address_type = spec.opt_str("ipAddressType")?;
    params.target_type = spec.opt_str("targetType")?;
    params.inbound_cidrs = spec.str_list("inboundCIDRs")?;
    params.prefix_list_ids = spec.str_list("prefixListsIDs")?;
    if params.prefix_list_ids.is_empty() {
        // The legacy capitalised spelling, still honoured by the LBC.
        params.prefix_list_ids = spec.str_list("PrefixListsIDs")?;
    }
    for tag in spec.list("tags")? {
        params
            .tags
            .insert(tag.req_str("key")?, tag.str_or_empty("value")?);
    }
    params.certificate_arns = spec.str_list("certificateArn")?;
    params.namespace_selector = spec.get("namespaceSelector")?.is_some();
    Ok(params)
}

pub(super) fn read_tgb(at: &At<'_>, meta: Meta) -> Res<TargetGroupBinding> {
    let spec = at.req("spec")?;
    let svc = spec.req("serviceRef")?;
    let networking = match spec.get("networking")? {
        None => None,
        Some(n) => Some(
            n.list("ingress")?
                .iter()
                .map(|rule| {
                    Ok(NetworkingRule {
                        from: rule.list("from")?.iter().map(peer).collect::<Res<_>>()?,
                        ports: rule
                            .list("ports")?
                            .iter()
                            .map(|p| {
                                Ok(NetworkingPort {
                                    protocol: p.opt_str("protocol")?,
                                    port: p.get("port")?.map(|v| int_or_string(&v)).transpose()?,
                                })
                            })
                            .collect::<Res<_>>()?,
                    })
                })
                .collect::<Res<_>>()?,
        ),
    };
    let node_selector = match spec.get("nodeSelector")? {
        Some(sel) => sel.str_map("matchLabels")?,
        None => BTreeMap::new(),
    };
    Ok(TargetGroupBinding {
        meta,
        target_group_arn: spec.str_or_empty("targetGroupARN")?,
        target_type: spec.opt_str("targetType")?,
        service_name: svc.req_str("name")?,
        service_port: int_or_string(&svc.req("port")?)?,
        networking,
        node_selector,
        ip_address_type: spec.opt_str("ipAddressType")?,
    })
}

fn peer(at: &At<'_>) -> Res<NetworkingPeer> {
    if let Some(sg) = at.get("securityGroup")? {
        return Ok(NetworkingPeer::SecurityGroup(sg.req_str("groupID")?));
    }
    if let Some(block) = at.get("ipBlock")? {
        return Ok(NetworkingPeer::IpBlock(block.req_str("cidr")?));
    }
    Ok(NetworkingPeer::Empty)
}

/// `status.conditions[type=Ready].status == "True"`.
fn ready(at: &At<'_>) -> Res<bool> {
    let Some(status) = at.get("status")? else {
        return Ok(false);
    };
    for c in status.list("conditions")? {
        if c.opt_str("type")?.as_deref() == Some("Ready") {
            return Ok(c.opt_str("status")?.as_deref() == Some("True"));
        }
    }
    Ok(false)
}

pub(super) fn read_node(at: &At<'_>, meta: Meta) -> Res<Node> {
    let mut node = Node {
        meta,
        ready: ready(at)?,
        ..Node::default()
    };
    if let Some(spec) = at.get("spec")? {
        node.provider_id = spec.opt_str("providerID")?;
        for t in spec.list("taints")? {
            node.taints.push(Taint {
                key: t.req_str("key")?,
                value: t.opt_str("value")?,
                effect: t.str_or_empty("effect")?,
            });
        }
    }
    if let Some(status) = at.get("status")? {
        for a in status.list("addresses")? {
            if a.opt_str("type")?.as_deref() == Some("InternalIP") {
                node.internal_ips.push(a.req_str("address")?);
            }
        }
    }
    Ok(node)
}

pub(super) fn read_pod(at: &At<'_>, meta: Meta) -> Res<Pod> {
    let mut pod = Pod {
        meta,
        ready: ready(at)?,
        ..Pod::default()
    };
    if let Some(spec) = at.get("spec")? {
        pod.node_name = spec.opt_str("nodeName")?;
        for c in spec.list("containers")? {
            for p in c.list("ports")? {
                pod.ports.push(ContainerPort {
                    name: p.opt_str("name")?,
                    container_port: p.req("containerPort")?.port()?,
                    protocol: p.opt_str("protocol")?,
                });
            }
        }
    }
    if let Some(status) = at.get("status")? {
        for ip in status.list("podIPs")? {
            pod.pod_ips.push(ip.req_str("ip")?);
        }
        if pod.pod_ips.is_empty() {
            pod.pod_ips.extend(status.opt_str("podIP")?);
        }
    }
    Ok(pod)
}

pub(super) fn read_slice(at: &At<'_>, meta: Meta) -> Res<EndpointSlice> {
    let service_name = meta.labels.get("kubernetes.io/service-name").cloned();
    let namespace = meta.namespace.clone();
    let mut slice = EndpointSlice {
        meta,
        service_name,
        address_type: at.str_or_empty("addressType")?,
        ..EndpointSlice::default()
    };
    for p in at.list("ports")? {
        slice.ports.push(EndpointPort {
            name: p.opt_str("name")?,
            port: p.opt_port("port")?,
            protocol: p.opt_str("protocol")?,
        });
    }
    for e in at.list("endpoints")? {
        let pod = match e.get("targetRef")? {
            Some(r) if r.opt_str("kind")?.as_deref() == Some("Pod") => Some(ObjKey::new(
                r.opt_str("namespace")?.unwrap_or_else(|| namespace.clone()),
                r.req_str("name")?,
            )),
            _ => None,
        };
        // An unset `ready` means unknown, which Kubernetes says to treat as ready.
        let ready = match e.get("conditions")? {
            Some(c) => c.opt_bool("ready")?.unwrap_or(true),
            None => true,
        };
        slice.endpoints.push(Endpoint {
            addresses: e.str_list("addresses")?,
            ready,
            node_name: e.opt_str("nodeName")?,
            pod,
        });
    }
    Ok(slice)
}

/// Core `v1` Events and `events.k8s.io/v1` Events (different field names, same facts).
pub(super) fn read_event(at: &At<'_>, meta: Meta, api: &str) -> Res<Event> {
    let v1 = api == "v1";
    let (regarding, message, count, last) = if v1 {
        (
            at.get("involvedObject")?,
            at.str_or_empty("message")?,
            at.opt_i32("count")?,
            at.opt_str("lastTimestamp")?.or(at.opt_str("eventTime")?),
        )
    } else {
        let series = at.get("series")?;
        let series_count = series
            .as_ref()
            .map(|s| s.opt_i32("count"))
            .transpose()?
            .flatten();
        let series_last = series
            .as_ref()
            .map(|s| s.opt_str("lastObservedTime"))
            .transpose()?
            .flatten();
        (
            at.get("regarding")?,
            at.str_or_empty("note")?,
            series_count.or(at.opt_i32("deprecatedCount")?),
            series_last
                .or(at.opt_str("deprecatedLastTimestamp")?)
                .or(at.opt_str("eventTime")?),
        )
    };
    let (involved_kind, involved) = match regarding {
        Some(r) => (
            r.str_or_empty("kind")?,
            ObjKey::new(r.str_or_empty("namespace")?, r.str_or_empty("name")?),
        ),
        None => (String::new(), ObjKey::default()),
    };
    Ok(Event {
        meta,
        involved_kind,
        involved,
        reason: at.str_or_empty("reason")?,
        message,
        type_: at.str_or_empty("type")?,
        // An event with no count happened once.
        count: count.unwrap_or(1),
        last_timestamp: last,
    })
}
