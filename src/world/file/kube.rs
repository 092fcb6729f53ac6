//! Kubernetes objects as `kubectl get -o yaml` prints them → the world's kube types.

use std::collections::{BTreeMap, BTreeSet};

use super::located::{self, At, Res, Unique};
use crate::world::ControllerConfig;
use crate::world::kube::*;

/// The container (and Deployment) name the LBC's Helm chart uses.
pub(super) const LBC_NAME: &str = "aws-load-balancer-controller";

/// Kinds lbsg reads: kind, API groups it may come from, versions accepted for that kind.
/// A known kind from one of these groups in another version is rejected; from another group
/// (a Knative `Service`, say) it is an unknown kind and ignored.
const KINDS: &[(&str, &[&str], &[&str])] = &[
    ("Service", &[""], &["v1"]),
    (
        "Ingress",
        &["networking.k8s.io", "extensions"],
        &["networking.k8s.io/v1"],
    ),
    (
        "IngressClass",
        &["networking.k8s.io"],
        &["networking.k8s.io/v1"],
    ),
    (
        "IngressClassParams",
        &["elbv2.k8s.aws"],
        &["elbv2.k8s.aws/v1beta1"],
    ),
    (
        "TargetGroupBinding",
        &["elbv2.k8s.aws"],
        &["elbv2.k8s.aws/v1beta1", "elbv2.k8s.aws/v1alpha1"],
    ),
    ("Node", &[""], &["v1"]),
    ("Pod", &[""], &["v1"]),
    (
        "EndpointSlice",
        &["discovery.k8s.io"],
        &["discovery.k8s.io/v1"],
    ),
    ("Event", &["", "events.k8s.io"], &["v1", "events.k8s.io/v1"]),
    ("Deployment", &["apps", "extensions"], &["apps/v1"]),
];

/// Kinds that `kubernetes.kinds` may name (Deployment only feeds the controller config).
pub(super) const LISTABLE: &[&str] = &[
    "Service",
    "Ingress",
    "IngressClass",
    "IngressClassParams",
    "TargetGroupBinding",
    "Node",
    "Pod",
    "EndpointSlice",
    "Event",
];

fn group_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(g, _)| g)
}

/// The LBC args found in a Deployment, with the node to blame for bad flags.
pub(super) type LbcArgs<'a> = Option<(Vec<String>, At<'a>)>;

/// The controller's flags read from its Deployment, or the problem with them (reported after
/// the AWS side's problems).
pub(super) type LbcFlags = Option<Res<ControllerConfig>>;

/// Reads the `kubernetes:` section: a List (`items`), one object, or a list of objects; with
/// `lbc_flags`, also the controller's flags from its Deployment.
pub(super) fn read(tree: located::Node<'_>, lbc_flags: bool) -> Res<(KubeSide, LbcFlags)> {
    let at = &At::section(&tree, "kubernetes");
    let mut objects = Vec::new();
    let mut listed = BTreeSet::new();
    // A List (kubectl's, or lbsg's `items` + `kinds`) unless it is one object with a kind.
    let is_list = at.is_map() && (at.get("items")?.is_some() || at.get("kind")?.is_none());
    if is_list {
        at.only_keys(&["apiVersion", "kind", "metadata", "items", "kinds"])?;
        for k in at.list("kinds")? {
            let kind = k.str()?;
            if !LISTABLE.contains(&kind.as_str()) {
                return Err(k.err(format!(
                    "expected one of the kinds lbsg reads ({}), found {kind:?}",
                    LISTABLE.join(", ")
                )));
            }
            listed.insert(kind);
        }
        for item in at.list("items")? {
            collect(&item, &mut objects)?;
        }
    } else {
        collect(at, &mut objects)?;
    }

    let mut r = Reader::default();
    for kind in &listed {
        r.mark_known(kind);
    }
    for obj in &objects {
        r.object(obj)?;
    }
    let flags = match r.lbc {
        Some((args, list)) if lbc_flags => Some(super::controller_from(&args, &list)),
        _ => None,
    };
    Ok((r.side, flags))
}

/// Flattens Lists (kubectl prints `kind: List` with `items`) into single objects.
fn collect<'a>(at: &At<'a>, out: &mut Vec<At<'a>>) -> Res<()> {
    if at.is_seq() {
        for item in at.seq()? {
            collect(&item, out)?;
        }
        return Ok(());
    }
    if !at.is_map() {
        return Err(at.err("expected a Kubernetes object (with apiVersion and kind) or a List"));
    }
    let kind = at.opt_str("kind")?;
    match kind {
        Some(k) if k.ends_with("List") && at.get("items")?.is_some() => {
            for item in at.list("items")? {
                collect(&item, out)?;
            }
        }
        Some(_) => out.push(at.clone()),
        None => return Err(at.missing("kind")),
    }
    Ok(())
}

#[derive(Default)]
struct Reader<'a> {
    side: KubeSide,
    lbc: LbcArgs<'a>,
    seen: Unique<'a>,
}

/// Inserts into a keyed section, creating it, rejecting a second object with the same key.
fn put<K: Ord, V>(section: &mut Option<BTreeMap<K, V>>, key: K, value: V) {
    section.get_or_insert_with(BTreeMap::new).insert(key, value);
}

impl<'a> Reader<'a> {
    fn mark_known(&mut self, kind: &str) {
        let s = &mut self.side;
        match kind {
            "Service" => drop(s.services.get_or_insert_with(BTreeMap::new)),
            "Ingress" => drop(s.ingresses.get_or_insert_with(BTreeMap::new)),
            "IngressClass" => drop(s.ingress_classes.get_or_insert_with(BTreeMap::new)),
            "IngressClassParams" => drop(s.ingress_class_params.get_or_insert_with(BTreeMap::new)),
            "TargetGroupBinding" => drop(s.target_group_bindings.get_or_insert_with(BTreeMap::new)),
            "Node" => drop(s.nodes.get_or_insert_with(BTreeMap::new)),
            "Pod" => drop(s.pods.get_or_insert_with(BTreeMap::new)),
            "EndpointSlice" => drop(s.endpoint_slices.get_or_insert_with(BTreeMap::new)),
            "Event" => drop(s.events.get_or_insert_with(Vec::new)),
            _ => {}
        }
    }

    fn object(&mut self, at: &At<'a>) -> Res<()> {
        let api_at = at.req("apiVersion")?;
        let api = api_at.str()?;
        let kind = at.req_str("kind")?;
        let Some((_, groups, versions)) = KINDS.iter().find(|(k, ..)| *k == kind) else {
            return Ok(());
        };
        if !groups.contains(&group_of(&api)) {
            return Ok(());
        }
        if !versions.contains(&api.as_str()) {
            return Err(api_at.err(format!(
                "unsupported apiVersion {api:?} for {kind}; expected {}",
                versions.join(" or ")
            )));
        }
        let namespaced = !matches!(
            kind.as_str(),
            "Node" | "IngressClass" | "IngressClassParams"
        );
        if kind == "Deployment" {
            if self.lbc.is_none() {
                self.lbc = deployment_args(at, false)?;
            }
            return Ok(());
        }
        let meta = read_meta(at, namespaced)?;
        if kind != "Event" {
            let name_at = at.req("metadata")?.req("name")?;
            self.seen.check(&kind, &meta.key().to_string(), &name_at)?;
        }
        let s = &mut self.side;
        match kind.as_str() {
            "Service" => put(&mut s.services, meta.key(), read_service(at, meta)?),
            "Ingress" => put(&mut s.ingresses, meta.key(), read_ingress(at, meta)?),
            "IngressClass" => {
                let name = meta.name.clone();
                put(&mut s.ingress_classes, name, read_ingress_class(at, meta)?)
            }
            "IngressClassParams" => {
                let name = meta.name.clone();
                put(&mut s.ingress_class_params, name, read_params(at, meta)?)
            }
            "TargetGroupBinding" => put(
                &mut s.target_group_bindings,
                meta.key(),
                read_tgb(at, meta)?,
            ),
            "Node" => {
                let name = meta.name.clone();
                put(&mut s.nodes, name, read_node(at, meta)?)
            }
            "Pod" => put(&mut s.pods, meta.key(), read_pod(at, meta)?),
            "EndpointSlice" => put(&mut s.endpoint_slices, meta.key(), read_slice(at, meta)?),
            "Event" => {
                let event = read_event(at, meta, &api)?;
                s.events.get_or_insert_with(Vec::new).push(event);
            }
            _ => {}
        }
        Ok(())
    }
}

/// The LBC's container args from a Deployment: those of the container named or imaged after the
/// LBC, else of the first container when the user said this is the LBC (`explicit`,
/// `controller.deployment`) or the Deployment bears the chart's name. Other Deployments: `None`.
pub(super) fn deployment_args<'a>(at: &At<'a>, explicit: bool) -> Res<LbcArgs<'a>> {
    if explicit {
        let api = at.req("apiVersion")?;
        if api.str()? != "apps/v1" {
            return Err(api.err(format!(
                "expected apiVersion apps/v1, found {:?}",
                api.str()?
            )));
        }
        let kind = at.req("kind")?;
        if kind.str()? != "Deployment" {
            return Err(kind.err(format!("expected kind Deployment, found {:?}", kind.str()?)));
        }
    }
    let containers = match at.get("spec")? {
        Some(spec) => match spec.get("template")? {
            Some(t) => match t.get("spec")? {
                Some(ps) => ps.list("containers")?,
                None => Vec::new(),
            },
            None => Vec::new(),
        },
        None => Vec::new(),
    };
    let mut chosen = None;
    for c in &containers {
        let name = c.str_or_empty("name")?;
        let image = c.str_or_empty("image")?;
        if name == LBC_NAME || image.contains(LBC_NAME) {
            chosen = Some(c.clone());
            break;
        }
    }
    // A Deployment named like the chart's is the LBC even when its container is renamed.
    let named_lbc = match at.get("metadata")? {
        Some(m) => m.opt_str("name")?.as_deref() == Some(LBC_NAME),
        None => false,
    };
    if chosen.is_none() && (explicit || named_lbc) {
        chosen = containers.first().cloned();
    }
    let Some(c) = chosen else {
        return Ok(None);
    };
    let (args, blame) = match c.get("args")? {
        Some(list) => (list.seq()?.iter().map(At::str).collect::<Res<_>>()?, list),
        None => (Vec::new(), c),
    };
    Ok(Some((args, blame)))
}

fn read_meta(at: &At<'_>, namespaced: bool) -> Res<Meta> {
    let m = at.req("metadata")?;
    let mut meta = Meta {
        name: m.req_str("name")?,
        // A namespaced object without a namespace (a hand-written manifest) lives in `default`.
        namespace: if namespaced {
            m.opt_str("namespace")?.unwrap_or_else(|| "default".into())
        } else {
            String::new()
        },
        uid: m.str_or_empty("uid")?,
        resource_version: m.str_or_empty("resourceVersion")?,
        annotations: m.str_map("annotations")?,
        labels: m.str_map("labels")?,
        finalizers: m.str_list("finalizers")?,
        deleting: m.get("deletionTimestamp")?.is_some(),
        annotation_managers: BTreeMap::new(),
    };
    for entry in m.list("managedFields")? {
        let Some(manager) = entry.opt_str("manager")? else {
            continue;
        };
        let Some(fields) = entry.get("fieldsV1")? else {
            continue;
        };
        let Some(annotations) = fields
            .get("f:metadata")?
            .map(|md| md.get("f:annotations"))
            .transpose()?
            .flatten()
        else {
            continue;
        };
        for (key, _) in annotations.entries()? {
            if let Some(name) = key.strip_prefix("f:") {
                let owners = meta
                    .annotation_managers
                    .entry(name.to_string())
                    .or_default();
                if !owners.contains(&manager) {
                    owners.push(manager.clone());
                    owners.sort();
                }
            }
        }
    }
    Ok(meta)
}

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

fn read_service(at: &At<'_>, meta: Meta) -> Res<Service> {
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

fn read_ingress(at: &At<'_>, meta: Meta) -> Res<Ingress> {
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

fn read_ingress_class(at: &At<'_>, meta: Meta) -> Res<IngressClass> {
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

fn read_params(at: &At<'_>, meta: Meta) -> Res<IngressClassParams> {
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

fn read_tgb(at: &At<'_>, meta: Meta) -> Res<TargetGroupBinding> {
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

fn read_node(at: &At<'_>, meta: Meta) -> Res<Node> {
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

fn read_pod(at: &At<'_>, meta: Meta) -> Res<Pod> {
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

fn read_slice(at: &At<'_>, meta: Meta) -> Res<EndpointSlice> {
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
fn read_event(at: &At<'_>, meta: Meta, api: &str) -> Res<Event> {
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
