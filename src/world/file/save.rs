//! World → world file: kubectl-shaped objects and AWS-CLI-shaped responses under the `lbsg/v1`
//! envelope, so a saved file reads like a pasted one. Output is deterministic (maps are sorted,
//! lists keep the world's order) and loads back into an equal [`World`].

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde_json::{Map, Value, json};

use super::{API_VERSION, KIND, WorldFileError};
use crate::world::aws::*;
use crate::world::kube::*;
use crate::world::{ControllerConfig, World};

/// A JSON object under construction; keys keep insertion order (serde_json `preserve_order`).
#[derive(Default)]
struct Obj(Map<String, Value>);

impl Obj {
    fn new() -> Self {
        Obj(Map::new())
    }
    fn set(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.0.insert(key.to_string(), value.into());
        self
    }
    fn opt(self, key: &str, value: Option<impl Into<Value>>) -> Self {
        match value {
            Some(v) => self.set(key, v),
            None => self,
        }
    }
    /// Sets a string unless it is empty.
    fn text(self, key: &str, value: &str) -> Self {
        if value.is_empty() {
            self
        } else {
            self.set(key, value)
        }
    }
    /// Sets a list unless it is empty.
    fn list(self, key: &str, items: Vec<Value>) -> Self {
        if items.is_empty() {
            self
        } else {
            self.set(key, Value::Array(items))
        }
    }
    /// Sets a string map unless it is empty.
    fn map(self, key: &str, m: &BTreeMap<String, String>) -> Self {
        if m.is_empty() {
            self
        } else {
            self.set(key, str_map(m))
        }
    }
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    fn done(self) -> Value {
        Value::Object(self.0)
    }
}

fn str_map(m: &BTreeMap<String, String>) -> Value {
    Value::Object(m.iter().map(|(k, v)| (k.clone(), json!(v))).collect())
}

fn strs(v: &[String]) -> Vec<Value> {
    v.iter().map(|s| json!(s)).collect()
}

/// AWS `[{Key, Value}]`, sorted by key.
fn aws_tags(tags: &Tags) -> Vec<Value> {
    tags.iter()
        .map(|(k, v)| json!({"Key": k, "Value": v}))
        .collect()
}

/// The world as world-file text (YAML).
pub fn save_string(world: &World) -> String {
    // Serialising a JSON value cannot fail (string keys, finite numbers only).
    serde_saphyr::to_string(&document(world)).unwrap_or_default()
}

/// The world as a JSON world file (same content; loads several times faster than YAML).
pub fn save_string_json(world: &World) -> String {
    serde_json::to_string_pretty(&document(world)).unwrap_or_default()
}

fn document(world: &World) -> Value {
    let mut root = Obj::new().set("apiVersion", API_VERSION).set("kind", KIND);
    let c = &world.cluster;
    let cluster = Obj::new()
        .opt("name", c.name.clone())
        .opt("region", c.region.clone())
        .opt("vpcId", c.vpc_id.clone())
        .opt("account", c.account.clone());
    if !cluster.is_empty() {
        root = root.set("cluster", cluster.done());
    }
    if let Some(cfg) = &world.controller {
        root = root.set("controller", json!({"args": controller_args(cfg)}));
    }
    if let Some(k) = kubernetes(&world.kube) {
        root = root.set("kubernetes", k);
    }
    let aws = aws(&world.aws);
    if !aws.is_empty() {
        root = root.set("aws", aws.done());
    }
    root.done()
}

/// Writes the world file atomically: a temporary file in the same directory, then a rename.
/// An existing file is kept as `<name>.bak`. A `.json` path gets JSON, anything else YAML.
pub fn save_path_atomic(world: &World, path: &Path) -> Result<(), WorldFileError> {
    let io = |source| WorldFileError::Io {
        origin: path.display().to_string(),
        source,
    };
    let text = if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
    {
        save_string_json(world)
    } else {
        save_string(world)
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| io(std::io::Error::other("not a file path")))?
        .to_string_lossy()
        .into_owned();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        if path.exists() {
            std::fs::copy(path, dir.join(format!("{name}.bak")))?;
        }
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(e)
    })
}

/// The controller args: the loaded args, plus flags for values that differ from what those
/// args give (values set another way, e.g. by an edit).
fn controller_args(cfg: &ControllerConfig) -> Vec<String> {
    let mut args = cfg.args.clone();
    let base = ControllerConfig::from_args(&cfg.args).unwrap_or_default();
    let mut flag = |name: &str, value: String| args.push(format!("--{name}={value}"));
    let kv = |m: &BTreeMap<String, String>| {
        m.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    if base.cluster_name != cfg.cluster_name {
        flag("cluster-name", cfg.cluster_name.clone());
    }
    if base.vpc_id != cfg.vpc_id {
        flag("aws-vpc-id", cfg.vpc_id.clone().unwrap_or_default());
    }
    if base.region != cfg.region {
        flag("aws-region", cfg.region.clone().unwrap_or_default());
    }
    if base.enable_backend_security_group != cfg.enable_backend_security_group {
        flag(
            "enable-backend-security-group",
            cfg.enable_backend_security_group.to_string(),
        );
    }
    if base.backend_security_group != cfg.backend_security_group {
        flag("backend-security-group", cfg.backend_security_group.clone());
    }
    if base.enable_manage_backend_security_group_rules
        != cfg.enable_manage_backend_security_group_rules
    {
        flag(
            "enable-manage-backend-security-group-rules",
            cfg.enable_manage_backend_security_group_rules.to_string(),
        );
    }
    if base.disable_restricted_sg_rules != cfg.disable_restricted_sg_rules {
        flag(
            "disable-restricted-sg-rules",
            cfg.disable_restricted_sg_rules.to_string(),
        );
    }
    if base.default_target_type != cfg.default_target_type {
        flag("default-target-type", cfg.default_target_type.clone());
    }
    if base.default_load_balancer_scheme != cfg.default_load_balancer_scheme {
        flag(
            "default-load-balancer-scheme",
            cfg.default_load_balancer_scheme.clone(),
        );
    }
    if base.default_tags != cfg.default_tags {
        flag("default-tags", kv(&cfg.default_tags));
    }
    if base.external_managed_tags != cfg.external_managed_tags {
        flag("external-managed-tags", cfg.external_managed_tags.join(","));
    }
    let gates: Vec<String> = cfg
        .feature_gates
        .0
        .iter()
        .filter(|(k, v)| base.feature_gates.0.get(*k) != Some(v))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if !gates.is_empty() {
        flag("feature-gates", gates.join(","));
    }
    if base.load_balancer_class != cfg.load_balancer_class {
        flag("load-balancer-class", cfg.load_balancer_class.clone());
    }
    if base.ingress_class != cfg.ingress_class {
        flag("ingress-class", cfg.ingress_class.clone());
    }
    if base.service_target_eni_sg_tags != cfg.service_target_eni_sg_tags {
        flag(
            "service-target-eni-security-group-tags",
            kv(&cfg.service_target_eni_sg_tags),
        );
    }
    args
}

// ---------------------------------------------------------------- kubernetes

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

fn kubernetes(k: &KubeSide) -> Option<Value> {
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

// ---------------------------------------------------------------- AWS

fn aws(a: &AwsSide) -> Obj {
    let mut ec2 = Obj::new();
    if let Some(vpcs) = &a.vpcs {
        ec2 = ec2.set(
            "DescribeVpcs",
            json!({"Vpcs": vpcs.iter().map(vpc).collect::<Vec<_>>()}),
        );
    }
    if let Some(subnets) = &a.subnets {
        let list: Vec<Value> = subnets.values().map(subnet).collect();
        ec2 = ec2.set("DescribeSubnets", json!({"Subnets": list}));
    }
    if let Some(groups) = &a.security_groups {
        let list: Vec<Value> = groups.values().map(security_group).collect();
        ec2 = ec2.set("DescribeSecurityGroups", json!({"SecurityGroups": list}));
        let rules: Vec<Value> = groups.values().flat_map(sg_rule_details).collect();
        if !rules.is_empty() {
            ec2 = ec2.set(
                "DescribeSecurityGroupRules",
                json!({"SecurityGroupRules": rules}),
            );
        }
    }
    if let Some(enis) = &a.enis {
        let list: Vec<Value> = enis.values().map(eni).collect();
        ec2 = ec2.set(
            "DescribeNetworkInterfaces",
            json!({"NetworkInterfaces": list}),
        );
    }
    if let Some(instances) = &a.instances {
        let list: Vec<Value> = instances.values().map(instance).collect();
        let reservations = if list.is_empty() {
            Vec::new()
        } else {
            vec![json!({"Instances": list})]
        };
        ec2 = ec2.set("DescribeInstances", json!({"Reservations": reservations}));
    }
    if let Some(lists) = &a.prefix_lists {
        let list: Vec<Value> = lists.values().map(prefix_list).collect();
        ec2 = ec2.set("DescribeManagedPrefixLists", json!({"PrefixLists": list}));
        let entries: Map<String, Value> = lists
            .values()
            .filter_map(|pl| {
                pl.entries.as_ref().map(|e| {
                    let e: Vec<Value> = e.iter().map(|c| json!({"Cidr": c})).collect();
                    (pl.id.clone(), json!({"Entries": e}))
                })
            })
            .collect();
        if !entries.is_empty() {
            ec2 = ec2.set("GetManagedPrefixListEntries", Value::Object(entries));
        }
    }

    let mut elb = Obj::new();
    if let Some(lbs) = &a.load_balancers {
        let list: Vec<Value> = lbs.values().map(load_balancer).collect();
        elb = elb.set("DescribeLoadBalancers", json!({"LoadBalancers": list}));
    }
    if let Some(listeners) = &a.listeners {
        let list: Vec<Value> = listeners.values().map(listener).collect();
        elb = elb.set("DescribeListeners", json!({"Listeners": list}));
    }
    if let Some(tgs) = &a.target_groups {
        let list: Vec<Value> = tgs.values().map(target_group).collect();
        elb = elb.set("DescribeTargetGroups", json!({"TargetGroups": list}));
    }
    if let Some(health) = &a.target_health {
        let by_arn: Map<String, Value> = health
            .iter()
            .map(|(arn, list)| {
                let d: Vec<Value> = list.iter().map(target_health).collect();
                (arn.clone(), json!({"TargetHealthDescriptions": d}))
            })
            .collect();
        elb = elb.set("DescribeTargetHealth", Value::Object(by_arn));
    }
    let lb_tags = a
        .load_balancers
        .iter()
        .flat_map(|m| m.values())
        .map(|lb| (&lb.arn, &lb.tags));
    let tg_tags = a
        .target_groups
        .iter()
        .flat_map(|m| m.values())
        .map(|tg| (&tg.arn, &tg.tags));
    let descriptions: Vec<Value> = lb_tags
        .chain(tg_tags)
        .filter(|(_, t)| !t.is_empty())
        .map(|(arn, t)| json!({"ResourceArn": arn, "Tags": aws_tags(t)}))
        .collect();
    if !descriptions.is_empty() {
        elb = elb.set("DescribeTags", json!({"TagDescriptions": descriptions}));
    }
    let attributes: Map<String, Value> = a
        .load_balancers
        .iter()
        .flat_map(|m| m.values())
        .filter_map(|lb| {
            lb.attributes.as_ref().map(|attrs| {
                let list: Vec<Value> = attrs
                    .iter()
                    .map(|(k, v)| json!({"Key": k, "Value": v}))
                    .collect();
                (lb.arn.clone(), json!({"Attributes": list}))
            })
        })
        .collect();
    if !attributes.is_empty() {
        elb = elb.set("DescribeLoadBalancerAttributes", Value::Object(attributes));
    }

    let mut out = Obj::new();
    if !ec2.is_empty() {
        out = out.set("ec2", ec2.done());
    }
    if !elb.is_empty() {
        out = out.set("elbv2", elb.done());
    }
    out
}

fn cidr_blocks(blocks: &[CidrBlock], cidr_key: &str, state_key: &str) -> Vec<Value> {
    blocks
        .iter()
        .map(|b| {
            Obj::new()
                .set(cidr_key, b.cidr.as_str())
                .opt(state_key, b.state.as_ref().map(|s| json!({"State": s})))
                .done()
        })
        .collect()
}

fn vpc(v: &Vpc) -> Value {
    Obj::new()
        .opt("CidrBlock", v.cidr_blocks.first().map(|b| b.cidr.clone()))
        .set("VpcId", v.id.as_str())
        .list(
            "CidrBlockAssociationSet",
            cidr_blocks(&v.cidr_blocks, "CidrBlock", "CidrBlockState"),
        )
        .list(
            "Ipv6CidrBlockAssociationSet",
            cidr_blocks(&v.ipv6_cidr_blocks, "Ipv6CidrBlock", "Ipv6CidrBlockState"),
        )
        .list("Tags", aws_tags(&v.tags))
        .done()
}

fn subnet(s: &Subnet) -> Value {
    let v6: Vec<Value> = s
        .ipv6_cidrs
        .iter()
        .map(|c| json!({"Ipv6CidrBlock": c}))
        .collect();
    Obj::new()
        .opt("AvailabilityZone", s.availability_zone.clone())
        .text("CidrBlock", &s.cidr)
        .set("SubnetId", s.id.as_str())
        .set("VpcId", s.vpc_id.as_str())
        .list("Ipv6CidrBlockAssociationSet", v6)
        .list("Tags", aws_tags(&s.tags))
        .done()
}

fn port_fields(obj: Obj, r: &Rule) -> Obj {
    obj.opt("FromPort", r.from_port).opt("ToPort", r.to_port)
}

/// Rules back into EC2 permissions: consecutive rules with one protocol and port range share a
/// permission, as long as their sources stay in EC2's order (IpRanges, Ipv6Ranges,
/// PrefixListIds, UserIdGroupPairs), so reading the file expands them into the same order.
fn permissions(rules: &[SgRule]) -> Vec<Value> {
    fn rank(s: &Source) -> u8 {
        match s {
            Source::Cidr(_) => 0,
            Source::CidrV6(_) => 1,
            Source::PrefixList(_) => 2,
            Source::Group(_) => 3,
            Source::None => 4,
        }
    }
    let mut groups: Vec<Vec<&Rule>> = Vec::new();
    for r in rules.iter().map(|r| &r.rule) {
        let joins = groups.last().and_then(|g| g.last()).is_some_and(|last| {
            last.protocol == r.protocol
                && last.from_port == r.from_port
                && last.to_port == r.to_port
                && rank(&last.source) <= rank(&r.source)
                && !matches!(r.source, Source::None)
                && !matches!(last.source, Source::None)
        });
        match groups.last_mut() {
            Some(g) if joins => g.push(r),
            _ => groups.push(vec![r]),
        }
    }
    groups
        .into_iter()
        .map(|g| {
            let first = g[0];
            let mut by_kind: [Vec<Value>; 4] = Default::default();
            for r in &g {
                let d = |o: Obj| o.text("Description", &r.description).done();
                match &r.source {
                    Source::Cidr(c) => by_kind[0].push(d(Obj::new().set("CidrIp", c.as_str()))),
                    Source::CidrV6(c) => by_kind[1].push(d(Obj::new().set("CidrIpv6", c.as_str()))),
                    Source::PrefixList(p) => {
                        by_kind[2].push(d(Obj::new().set("PrefixListId", p.as_str())))
                    }
                    Source::Group(id) => by_kind[3].push(d(Obj::new().set("GroupId", id.as_str()))),
                    Source::None => {}
                }
            }
            let [v4, v6, pl, sg] = by_kind;
            port_fields(Obj::new(), first)
                .set("IpProtocol", first.protocol.as_str())
                .set("IpRanges", Value::Array(v4))
                .set("Ipv6Ranges", Value::Array(v6))
                .set("PrefixListIds", Value::Array(pl))
                .set("UserIdGroupPairs", Value::Array(sg))
                .done()
        })
        .collect()
}

fn security_group(g: &SecurityGroup) -> Value {
    Obj::new()
        .set("Description", g.description.as_str())
        .set("GroupName", g.name.as_str())
        .set("IpPermissions", Value::Array(permissions(&g.ingress)))
        .opt("OwnerId", g.owner_id.clone())
        .set("GroupId", g.id.as_str())
        .set("IpPermissionsEgress", Value::Array(permissions(&g.egress)))
        .list("Tags", aws_tags(&g.tags))
        .opt("VpcId", g.vpc_id.clone())
        .done()
}

/// DescribeSecurityGroupRules entries for the rules that carry an id or tags.
fn sg_rule_details(g: &SecurityGroup) -> Vec<Value> {
    let ingress = g.ingress.iter().map(|r| (false, r));
    let egress = g.egress.iter().map(|r| (true, r));
    ingress
        .chain(egress)
        .filter(|(_, r)| r.id.is_some() || !r.tags.is_empty())
        .map(|(is_egress, r)| {
            let rule = &r.rule;
            let all = rule.protocol == "-1";
            let mut o = Obj::new()
                .opt("SecurityGroupRuleId", r.id.clone())
                .set("GroupId", g.id.as_str())
                .opt("GroupOwnerId", g.owner_id.clone())
                .set("IsEgress", is_egress)
                .set("IpProtocol", rule.protocol.as_str())
                .opt("FromPort", if all { Some(-1) } else { rule.from_port })
                .opt("ToPort", if all { Some(-1) } else { rule.to_port });
            o = match &rule.source {
                Source::Cidr(c) => o.set("CidrIpv4", c.as_str()),
                Source::CidrV6(c) => o.set("CidrIpv6", c.as_str()),
                Source::PrefixList(p) => o.set("PrefixListId", p.as_str()),
                Source::Group(id) => o.set("ReferencedGroupInfo", json!({"GroupId": id})),
                Source::None => o,
            };
            o.text("Description", &rule.description)
                .set("Tags", Value::Array(aws_tags(&r.tags)))
                .done()
        })
        .collect()
}

fn eni(e: &NetworkInterface) -> Value {
    let attachment = e.attachment.as_ref().map(|a| {
        Obj::new()
            .opt("DeviceIndex", a.device_index)
            .opt("InstanceId", a.instance_id.clone())
            .done()
    });
    let private: Vec<Value> = e
        .private_ips
        .iter()
        .enumerate()
        .map(|(i, ip)| json!({"Primary": i == 0, "PrivateIpAddress": ip}))
        .collect();
    let groups: Vec<Value> = e.groups.iter().map(|g| json!({"GroupId": g})).collect();
    let v6: Vec<Value> = e
        .ipv6_addresses
        .iter()
        .map(|a| json!({"Ipv6Address": a}))
        .collect();
    let p4: Vec<Value> = e
        .ipv4_prefixes
        .iter()
        .map(|p| json!({"Ipv4Prefix": p}))
        .collect();
    let p6: Vec<Value> = e
        .ipv6_prefixes
        .iter()
        .map(|p| json!({"Ipv6Prefix": p}))
        .collect();
    Obj::new()
        .opt("Attachment", attachment)
        .set("Description", e.description.as_str())
        .set("Groups", Value::Array(groups))
        .opt("InterfaceType", e.interface_type.clone())
        .list("Ipv6Addresses", v6)
        .set("NetworkInterfaceId", e.id.as_str())
        .opt("PrivateIpAddress", e.private_ips.first().cloned())
        .list("PrivateIpAddresses", private)
        .list("Ipv4Prefixes", p4)
        .list("Ipv6Prefixes", p6)
        .opt("Status", e.status.clone())
        .opt("SubnetId", e.subnet_id.clone())
        .set("TagSet", Value::Array(aws_tags(&e.tags)))
        .opt("VpcId", e.vpc_id.clone())
        .done()
}

/// EC2's numeric code for an instance state name.
fn state_code(name: &str) -> Option<i32> {
    Some(match name {
        "pending" => 0,
        "running" => 16,
        "shutting-down" => 32,
        "terminated" => 48,
        "stopping" => 64,
        "stopped" => 80,
        _ => return None,
    })
}

fn instance(i: &Instance) -> Value {
    let enis: Vec<Value> = i
        .enis
        .iter()
        .map(|e| json!({"Attachment": {"DeviceIndex": e.device_index}, "NetworkInterfaceId": e.id}))
        .collect();
    let groups: Vec<Value> = i
        .security_groups
        .iter()
        .map(|g| json!({"GroupId": g}))
        .collect();
    let state = i.state.as_ref().map(|s| {
        Obj::new()
            .opt("Code", state_code(s))
            .set("Name", s.as_str())
            .done()
    });
    Obj::new()
        .set("InstanceId", i.id.as_str())
        .opt("PrivateDnsName", i.private_dns_name.clone())
        .opt("PrivateIpAddress", i.private_ip.clone())
        .opt("State", state)
        .opt("SubnetId", i.subnet_id.clone())
        .opt("VpcId", i.vpc_id.clone())
        .set("NetworkInterfaces", Value::Array(enis))
        .set("SecurityGroups", Value::Array(groups))
        .list("Tags", aws_tags(&i.tags))
        .done()
}

fn prefix_list(p: &PrefixList) -> Value {
    Obj::new()
        .set("PrefixListId", p.id.as_str())
        .opt("AddressFamily", p.address_family.clone())
        .opt("MaxEntries", p.max_entries)
        .set("PrefixListName", p.name.as_str())
        .done()
}

fn load_balancer(lb: &LoadBalancer) -> Value {
    let zones: Vec<Value> = lb.subnets.iter().map(|s| json!({"SubnetId": s})).collect();
    Obj::new()
        .set("LoadBalancerArn", lb.arn.as_str())
        .set("DNSName", lb.dns_name.as_str())
        .set("LoadBalancerName", lb.name.as_str())
        .set("Scheme", lb.scheme.as_str())
        .opt("VpcId", lb.vpc_id.clone())
        .opt("State", lb.state.as_ref().map(|s| json!({"Code": s})))
        .set("Type", lb.type_.as_str())
        .set("AvailabilityZones", Value::Array(zones))
        // Absent, not empty, for an NLB without security groups: that is how AWS prints it.
        .list("SecurityGroups", strs(&lb.security_groups))
        .set("IpAddressType", lb.ip_address_type.as_str())
        .opt(
            "EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic",
            lb.enforce_private_link_sg.clone(),
        )
        .done()
}

fn listener(l: &Listener) -> Value {
    let actions = match l.target_group_arns.as_slice() {
        [] => Vec::new(),
        [one] => vec![json!({
            "Type": "forward",
            "TargetGroupArn": one,
            "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": one, "Weight": 1}]},
        })],
        many => {
            let tgs: Vec<Value> = many
                .iter()
                .map(|a| json!({"TargetGroupArn": a, "Weight": 1}))
                .collect();
            vec![json!({"Type": "forward", "ForwardConfig": {"TargetGroups": tgs}})]
        }
    };
    Obj::new()
        .set("ListenerArn", l.arn.as_str())
        .set("LoadBalancerArn", l.load_balancer_arn.as_str())
        .opt("Port", (l.port != 0).then_some(l.port))
        .text("Protocol", &l.protocol)
        .set("DefaultActions", Value::Array(actions))
        .done()
}

fn target_group(t: &TargetGroup) -> Value {
    Obj::new()
        .set("TargetGroupArn", t.arn.as_str())
        .set("TargetGroupName", t.name.as_str())
        .opt("Protocol", t.protocol.clone())
        .opt("Port", t.port)
        .opt("VpcId", t.vpc_id.clone())
        .opt("HealthCheckProtocol", t.health_check_protocol.clone())
        .opt("HealthCheckPort", t.health_check_port.clone())
        .set(
            "LoadBalancerArns",
            Value::Array(strs(&t.load_balancer_arns)),
        )
        .set("TargetType", t.target_type.as_str())
        .opt("IpAddressType", t.ip_address_type.clone())
        .done()
}

fn target_health(h: &TargetHealth) -> Value {
    let target = Obj::new()
        .set("Id", h.id.as_str())
        .opt("Port", h.port)
        .opt("AvailabilityZone", h.availability_zone.clone());
    let health = Obj::new()
        .set("State", h.state.as_str())
        .opt("Reason", h.reason.clone())
        .opt("Description", h.description.clone());
    Obj::new()
        .set("Target", target.done())
        .opt("HealthCheckPort", h.health_check_port.clone())
        .set("TargetHealth", health.done())
        .done()
}
