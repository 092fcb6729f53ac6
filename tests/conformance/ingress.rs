//! Conformance handlers for the Ingress (ALB) scopes: `model.ingress`,
//! `model.ingress_frontend_nlb`, `backend.ingress_tgb_networking`, `backend.flag.manage_rules`.
//! Inputs are converted to world types, the core does the work, results go back to the vector's
//! shape.

use std::collections::BTreeMap;

use crate::common::VectorResolver;
use lbsg::core::lbc::annotations::{Annotations, Kind};
use lbsg::core::lbc::ingress::{self, IngressCtx, Member};
use lbsg::core::lbc::manage_rules;
use lbsg::core::lbc::model::{BACKEND_SG_TOKEN, Frontend, StackModel};
use lbsg::core::lbc::naming::GroupId;
use lbsg::world::{
    ControllerConfig, Ingress, IngressBackend, IngressClassParams, IngressPath, IngressRule,
    IntOrString, Meta, ObjKey, Service, ServicePort, ServiceSpec,
};
use serde_json::{Map, Value, json};

use crate::common::{
    Handler, Vector, check_error, i32_of, int_or_string, networking_to, rules_to, str_of,
    string_list, string_map,
};

pub fn handler(scope: &str) -> Option<Handler> {
    match scope {
        "model.ingress" => Some(model_ingress),
        "model.ingress_frontend_nlb" => Some(frontend_nlb),
        "backend.ingress_tgb_networking" => Some(ingress_tgb_networking),
        "backend.flag.manage_rules" => Some(manage_rules_flag),
        _ => None,
    }
}

pub(crate) fn resolver_of(v: &Vector) -> VectorResolver {
    let sg = v
        .input
        .get("aws")
        .and_then(|a| a.get("sg_resolution"))
        .or_else(|| v.input.get("sg_resolution"));
    VectorResolver(sg.cloned().unwrap_or(Value::Null))
}

fn bool_of(v: &Value, key: &str) -> Option<bool> {
    v.get(key).and_then(Value::as_bool)
}

/// `input.controller` → the LBC config, plus the id the backend-SG provider returns.
fn controller_from(c: &Value) -> (ControllerConfig, String) {
    let cfg = crate::common::controller_from(c);
    let s = |k: &str| c.get(k).and_then(str_of);
    let backend = s("backend_sg_id")
        .or_else(|| Some(cfg.backend_security_group.clone()).filter(|b| !b.is_empty()))
        .unwrap_or_else(|| BACKEND_SG_TOKEN.to_string());
    (cfg, backend)
}

fn meta_from(v: &Value) -> Meta {
    Meta {
        namespace: v.get("namespace").and_then(str_of).unwrap_or_default(),
        name: v.get("name").and_then(str_of).unwrap_or_default(),
        uid: v.get("uid").and_then(str_of).unwrap_or_default(),
        annotations: string_map(v.get("annotations").unwrap_or(&Value::Null)),
        ..Meta::default()
    }
}

/// `"<svc>:<port name or number>"` → a backend.
fn backend_from(s: &str) -> IngressBackend {
    let (name, port) = s.rsplit_once(':').unwrap_or((s, ""));
    let port = port
        .parse::<i32>()
        .map(IntOrString::Int)
        .unwrap_or_else(|_| IntOrString::Str(port.to_string()));
    IngressBackend {
        service_name: name.to_string(),
        service_port: port,
    }
}

pub(crate) fn ingress_from(v: &Value) -> Ingress {
    let paths = v
        .get("backends")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|b| IngressPath {
            path: None,
            backend: backend_from(b),
        })
        .collect();
    Ingress {
        meta: meta_from(v),
        ingress_class_name: v.get("ingress_class_name").and_then(str_of),
        default_backend: v
            .get("default_backend")
            .and_then(Value::as_str)
            .map(backend_from),
        rules: vec![IngressRule { host: None, paths }],
        ..Ingress::default()
    }
}

/// IngressClassParams in CRD field names.
pub(crate) fn params_from(v: &Value) -> IngressClassParams {
    let list = |k: &str| string_list(v.get(k).unwrap_or(&Value::Null));
    let s = |k: &str| v.get(k).and_then(str_of);
    let tags = match v.get("tags") {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|t| {
                Some((
                    t.get("key").and_then(str_of)?,
                    t.get("value").and_then(str_of)?,
                ))
            })
            .collect(),
        Some(m) => string_map(m),
        None => BTreeMap::new(),
    };
    IngressClassParams {
        meta: Meta {
            name: s("name").unwrap_or_default(),
            ..Meta::default()
        },
        group_name: v.get("group").and_then(|g| g.get("name")).and_then(str_of),
        scheme: s("scheme"),
        ip_address_type: s("ipAddressType"),
        target_type: s("targetType"),
        inbound_cidrs: list("inboundCIDRs"),
        prefix_list_ids: list("prefixListsIDs"),
        prefix_list_ids_legacy: list("PrefixListsIDs"),
        tags,
        certificate_arns: list("certificateArn"),
        namespace_selector: v.get("namespaceSelector").is_some_and(|n| !n.is_null()),
    }
}

pub(crate) fn service_from(v: &Value) -> Service {
    let spec = v.get("spec").unwrap_or(v);
    let ports = spec
        .get("ports")
        .or_else(|| v.get("ports"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| ServicePort {
            name: p.get("name").and_then(str_of),
            protocol: p.get("protocol").and_then(str_of),
            port: p.get("port").and_then(i32_of).unwrap_or(0),
            target_port: p.get("target_port").and_then(int_or_string),
            node_port: p.get("node_port").and_then(i32_of),
        })
        .collect();
    let families = spec.get("ip_families").or_else(|| v.get("ip_families"));
    Service {
        meta: meta_from(v),
        spec: ServiceSpec {
            type_: spec.get("type").and_then(str_of).unwrap_or_default(),
            ip_families: string_list(families.unwrap_or(&Value::Null)),
            ports,
            ..ServiceSpec::default()
        },
        lb_hostnames: Vec::new(),
    }
}

pub(crate) fn group_from(v: &Value) -> GroupId {
    let name = v.get("name").and_then(str_of).unwrap_or_default();
    if bool_of(v, "explicit").unwrap_or(false) {
        GroupId::Explicit(name)
    } else {
        GroupId::Implicit {
            namespace: v.get("namespace").and_then(str_of).unwrap_or_default(),
            name,
        }
    }
}

fn model_to(m: &StackModel) -> Value {
    let frontend = match &m.frontend {
        Frontend::Managed(sg) => json!({
            "mode": "managed",
            "name": sg.name,
            "description": sg.description,
            "tags": sg.tags,
            "ingress_rules": rules_to(&sg.ingress_rules),
        }),
        Frontend::Custom(ids) => json!({"mode": "custom", "ids": ids}),
        Frontend::None => json!({"mode": "none"}),
    };
    let port_value = |p: &IntOrString| match p {
        IntOrString::Int(i) => json!(i),
        IntOrString::Str(s) => json!(s),
    };
    let tgs: Map<String, Value> = m
        .target_groups
        .iter()
        .map(|(id, tg)| {
            (
                id.clone(),
                json!({
                    "target_type": tg.target_type,
                    "port": port_value(&tg.port),
                    "protocol": tg.protocol,
                    "ip_address_type": tg.ip_address_type,
                    "health_check_port": tg.health_check_port,
                    "service": tg.service.to_string(),
                    "service_port": port_value(&tg.service_port),
                }),
            )
        })
        .collect();
    let tgbs: Map<String, Value> = m
        .tgb_networking
        .iter()
        .map(|(id, n)| (id.clone(), networking_to(n)))
        .collect();
    let listeners: Map<String, Value> = m
        .listeners
        .iter()
        .map(|(p, proto)| (p.to_string(), json!(proto)))
        .collect();
    json!({
        "frontend_sg": frontend,
        "lb_security_groups": m.lb_security_groups,
        "backend_sg_allocated": m.backend_sg_allocated,
        "rule_source_sg": m.rule_source_sg,
        "lb_scheme": m.scheme,
        "lb_ip_address_type": m.ip_address_type,
        "listeners": listeners,
        "target_groups": tgs,
        "tgb_networking": tgbs,
        "frontend_nlb_security_groups": m.frontend_nlb_security_groups,
    })
}

fn model_ingress(v: &Vector) -> Result<(), String> {
    let (cfg, backend_sg) = controller_from(v.input("controller"));
    let member_values: Vec<&Value> = v
        .input("members")
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    let ingresses: Vec<Ingress> = member_values.iter().map(|m| ingress_from(m)).collect();
    let class_params: BTreeMap<ObjKey, IngressClassParams> = member_values
        .iter()
        .zip(&ingresses)
        .filter_map(|(m, ing)| {
            m.get("ingress_class_params")
                .map(|p| (ing.meta.key(), params_from(p)))
        })
        .collect();
    let services: BTreeMap<ObjKey, Service> = v
        .input("services")
        .as_array()
        .into_iter()
        .flatten()
        .map(service_from)
        .map(|s| (s.meta.key(), s))
        .collect();
    let resolver = resolver_of(v);
    let ctx = IngressCtx {
        config: &cfg,
        backend_sg_id: &backend_sg,
        services: &services,
        class_params: &class_params,
        resolver: &resolver,
    };
    let group = group_from(v.input("group"));
    // Former members still holding the group finalizer (`deleting` or `deletion_timestamp`).
    let inactive: Vec<Ingress> = v
        .input("inactive_members")
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            let mut ing = ingress_from(m);
            ing.meta.deleting = bool_of(m, "deleting").unwrap_or(false)
                || m.get("deletion_timestamp").is_some_and(|t| !t.is_null());
            ing
        })
        .collect();
    let inactive_refs: Vec<&Ingress> = inactive.iter().collect();
    let refs: Vec<&Ingress> = ingresses.iter().collect();
    let outcome = ingress::group::check_inactive_members(&inactive_refs)
        .and_then(|()| ingress::group::sort_members(&refs))
        .and_then(|order| {
            let by_key: BTreeMap<ObjKey, &Ingress> =
                refs.iter().map(|i| (i.meta.key(), *i)).collect();
            let sorted: Vec<&Ingress> = order
                .iter()
                .filter_map(|k| by_key.get(k).copied())
                .collect();
            ingress::build_ingress_model(&ctx, &group, &sorted).map(|m| model_to(&m))
        });
    check_error(v, &outcome)
}

fn frontend_nlb(v: &Vector) -> Result<(), String> {
    let ingresses: Vec<Ingress> = match v.input("members").as_array() {
        Some(ms) => ms.iter().map(ingress_from).collect(),
        None => vec![Ingress {
            meta: meta_from(&v.input),
            ..Ingress::default()
        }],
    };
    let members: Vec<Member<'_>> = ingresses
        .iter()
        .map(|ing| Member { ing, params: None })
        .collect();
    let outcome = ingress::frontend::frontend_nlb_security_groups(&members, &resolver_of(v))
        .map(|sgs| json!({"frontend_nlb_security_groups": sgs}));
    check_error(v, &outcome)
}

fn ingress_tgb_networking(v: &Vector) -> Result<(), String> {
    let input = &v.input;
    let outcome = if input.get("target_port").is_some() {
        let port = |k: &str| input.get(k).and_then(int_or_string);
        let traffic = port("target_port").ok_or("vector has no usable target_port")?;
        let hc = port("hc_port").unwrap_or_else(|| IntOrString::Str("traffic-port".into()));
        let networking = ingress::networking::tgb_networking(
            input.get("rule_source_sg").and_then(Value::as_str),
            &traffic,
            &hc,
            input.get("target_control_port").and_then(i32_of),
            bool_of(input, "disable_restricted_sg_rules").unwrap_or(false),
        );
        Ok(json!({"tgb_networking": networking_to(&networking)}))
    } else {
        let ann_map = string_map(v.input("annotations"));
        let ann = Annotations::new(Kind::Ingress, &ann_map);
        let svc = v
            .input("service")
            .as_str()
            .ok_or("vector has neither target_port nor service")?;
        let port = int_or_string(v.input("service_port")).ok_or("vector has no service_port")?;
        ingress::target_group::target_control_port(&ann, svc, &port)
            .map(|p| json!({"target_control_port": p}))
    };
    check_error(v, &outcome)
}

fn manage_rules_flag(v: &Vector) -> Result<(), String> {
    let cli = bool_of(&v.input, "cli_enable_manage_backend_security_group_rules").unwrap_or(false);
    let outcome = match v.input("members").as_array() {
        Some(members) => {
            let maps: Vec<BTreeMap<String, String>> = members
                .iter()
                .map(|m| string_map(m.get("annotations").unwrap_or(&Value::Null)))
                .collect();
            let anns: Vec<Annotations<'_>> = maps
                .iter()
                .map(|m| Annotations::new(Kind::Ingress, m))
                .collect();
            manage_rules::ingress_flag(&anns, cli)
        }
        None => {
            let map = string_map(v.input("annotations"));
            manage_rules::service_flag(&Annotations::new(Kind::Service, &map), cli)
        }
    };
    check_error(v, &outcome.map(|b| json!({"manage_backend_sg_rules": b})))
}
