//! Conformance handlers for the Service (NLB) path: frontend (03), model (04), backend (05).
//! Each converts the vector's input to world types, calls `core::lbc::service`, and converts the
//! result back to the vector's shape.

use std::collections::BTreeMap;

use lbsg::core::lbc::model::{BACKEND_SG_TOKEN, Frontend, StackModel};
use lbsg::core::lbc::service::networking::{self, LegacyInput};
use lbsg::core::lbc::service::{
    ExistingLb, ServiceCtx, build_service_model, frontend, lb_attrs, service_annotations,
    target_group,
};
use lbsg::world::{IntOrString, Meta, Service, ServicePort, ServiceSpec, Subnet};

use crate::common::{VectorResolver, controller_from};
use serde_json::{Map, Value, json};

use crate::common::{
    Handler, Vector, check_error, i32_of, int_or_string, networking_to, rules_to, str_of,
    string_list, string_map, subset_match,
};

pub fn handler(scope: &str) -> Option<Handler> {
    Some(match scope {
        "frontend.service_cidrs" => service_cidrs,
        "frontend.service_rules" => service_rules,
        "frontend.service_lb_attrs" => service_lb_attrs,
        "model.service" => model_service,
        "backend.service_tgb_networking" => tgb_networking_sg,
        "backend.service_tgb_networking_legacy" => tgb_networking_legacy,
        "backend.service_preserve_client_ip" => preserve_client_ip,
        "backend.service_hc_port" => hc_port,
        _ => return None,
    })
}

// ---- input conversion ------------------------------------------------------------------------

/// A field of a Service-shaped object: under `spec` when present, else flat on the object.
fn field<'a>(obj: &'a Value, key: &str) -> &'a Value {
    obj.get("spec")
        .and_then(|s| s.get(key))
        .or_else(|| obj.get(key))
        .unwrap_or(&Value::Null)
}

fn port_from(v: &Value) -> ServicePort {
    let port = v.get("port").and_then(i32_of).unwrap_or(0);
    ServicePort {
        name: v.get("name").and_then(str_of),
        protocol: v.get("protocol").and_then(str_of),
        port,
        target_port: v.get("target_port").and_then(int_or_string),
        node_port: v.get("node_port").and_then(i32_of),
    }
}

/// A vector Service (full `{namespace, name, uid, annotations, spec}` or flat fragments) → world.
pub(crate) fn service_from(obj: &Value) -> Service {
    let s = |k: &str| obj.get(k).and_then(str_of).unwrap_or_default();
    Service {
        meta: Meta {
            namespace: s("namespace"),
            name: s("name"),
            uid: s("uid"),
            annotations: string_map(obj.get("annotations").unwrap_or(&Value::Null)),
            ..Meta::default()
        },
        spec: ServiceSpec {
            type_: field(obj, "type").as_str().unwrap_or_default().to_string(),
            load_balancer_class: str_of(field(obj, "load_balancer_class")),
            external_traffic_policy: str_of(field(obj, "external_traffic_policy")),
            health_check_node_port: i32_of(field(obj, "health_check_node_port")),
            ip_families: string_list(field(obj, "ip_families")),
            load_balancer_source_ranges: string_list(field(obj, "load_balancer_source_ranges")),
            ports: field(obj, "ports")
                .as_array()
                .map(|a| a.iter().map(port_from).collect())
                .unwrap_or_default(),
            ..ServiceSpec::default()
        },
        ..Service::default()
    }
}

pub(crate) fn subnets_from(v: &Value) -> Vec<Subnet> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|s| Subnet {
                    id: s.get("id").and_then(str_of).unwrap_or_default(),
                    cidr: s.get("cidr").and_then(str_of).unwrap_or_default(),
                    ipv6_cidrs: string_list(s.get("ipv6_cidrs").unwrap_or(&Value::Null)),
                    ..Subnet::default()
                })
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn existing_lb_from(v: &Value) -> Option<ExistingLb> {
    v.as_object()?;
    Some(ExistingLb {
        scheme: v.get("scheme").and_then(str_of).unwrap_or_default(),
        security_groups: string_list(v.get("security_groups").unwrap_or(&Value::Null)),
        ip_address_type: v
            .get("ip_address_type")
            .and_then(str_of)
            .unwrap_or_default(),
    })
}

// ---- output conversion -----------------------------------------------------------------------

fn ios_to(p: &IntOrString) -> Value {
    match p {
        IntOrString::Int(i) => Value::from(*i),
        IntOrString::Str(s) => Value::String(s.clone()),
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
    let listeners: Map<String, Value> = m
        .listeners
        .iter()
        .map(|(p, proto)| (p.to_string(), Value::String(proto.clone())))
        .collect();
    let target_groups: Map<String, Value> = m
        .target_groups
        .iter()
        .map(|(id, tg)| {
            let v = json!({
                "target_type": tg.target_type,
                "port": ios_to(&tg.port),
                "protocol": tg.protocol,
                "ip_address_type": tg.ip_address_type,
                "health_check_port": tg.health_check_port,
            });
            (id.clone(), v)
        })
        .collect();
    let networking: Map<String, Value> = m
        .tgb_networking
        .iter()
        .map(|(id, n)| (id.clone(), networking_to(n)))
        .collect();
    json!({
        "frontend_sg": frontend,
        "lb_security_groups": m.lb_security_groups,
        "backend_sg_allocated": m.backend_sg_allocated,
        "lb_scheme": m.scheme,
        "lb_ip_address_type": m.ip_address_type,
        "security_groups_inbound_rules_on_private_link": m.private_link_enforcement,
        "listeners": listeners,
        "target_groups": target_groups,
        "tgb_networking": networking,
    })
}

// ---- handlers --------------------------------------------------------------------------------

fn ip_type_input(v: &Vector) -> String {
    v.input("ip_address_type")
        .as_str()
        .unwrap_or(lb_attrs::IP_TYPE_IPV4)
        .to_string()
}

fn service_cidrs(v: &Vector) -> Result<(), String> {
    let svc = service_from(&v.input);
    let present = v
        .input("prefix_lists_annotation_present")
        .as_bool()
        .unwrap_or_else(|| frontend::prefix_lists_configured(&svc));
    let got = frontend::source_cidrs(&svc, &ip_type_input(v), present).map(|c| json!({"cidrs": c}));
    check_error(v, &got)
}

fn service_rules(v: &Vector) -> Result<(), String> {
    let svc = service_from(&v.input);
    let got = frontend::managed_sg_rules(&svc, &ip_type_input(v))
        .map(|r| json!({"ingress_rules": rules_to(&r)}));
    check_error(v, &got)
}

fn service_lb_attrs(v: &Vector) -> Result<(), String> {
    let svc = service_from(&v.input);
    let ann = service_annotations(&svc);
    let cfg = controller_from(v.input("controller"));
    let existing = existing_lb_from(v.input("existing_lb"));
    let got = (|| {
        let scheme = lb_attrs::scheme(&ann, existing.as_ref(), &cfg.default_load_balancer_scheme)?;
        let ip_type = lb_attrs::ip_address_type(&ann)?;
        let private_link = lb_attrs::private_link_enforcement(&ann)?;
        Ok(json!({
            "lb_scheme": scheme,
            "lb_ip_address_type": ip_type,
            "security_groups_inbound_rules_on_private_link": private_link,
        }))
    })();
    check_error(v, &got)
}

fn model_service(v: &Vector) -> Result<(), String> {
    let controller = v.input("controller");
    let cfg = controller_from(controller);
    let backend_sg_id = controller
        .get("backend_sg_id")
        .and_then(str_of)
        .or_else(|| Some(cfg.backend_security_group.clone()).filter(|s| !s.is_empty()))
        .unwrap_or_else(|| BACKEND_SG_TOKEN.to_string());
    let aws = v.input("aws");
    let get = |k: &str| aws.get(k).unwrap_or(&Value::Null);
    let subnets = subnets_from(get("lb_subnets"));
    let vpc_cidrs = string_list(get("vpc_cidrs"));
    let vpc_ipv6_cidrs = string_list(get("vpc_ipv6_cidrs"));
    let resolver = VectorResolver(get("sg_resolution").clone());
    let ctx = ServiceCtx {
        config: &cfg,
        backend_sg_id: &backend_sg_id,
        lb_subnets: &subnets,
        vpc_cidrs: &vpc_cidrs,
        vpc_ipv6_cidrs: &vpc_ipv6_cidrs,
        existing_lb: existing_lb_from(get("existing_lb")),
        resolver: &resolver,
    };
    let svc = service_from(v.input("service"));
    let got = build_service_model(&ctx, &svc).map(|m| model_to(&m));
    check_error(v, &got)
}

fn port_input(v: &Vector, key: &str) -> IntOrString {
    int_or_string(v.input(key)).unwrap_or_default()
}

fn tgb_networking_sg(v: &Vector) -> Result<(), String> {
    let net = networking::sg_mode(
        v.input("rule_source_sg").as_str(),
        &port_input(v, "tg_port"),
        &port_input(v, "hc_port"),
        v.input("tg_protocol").as_str().unwrap_or_default(),
        v.input("disable_restricted_sg_rules")
            .as_bool()
            .unwrap_or(false),
    );
    check_error(v, &Ok(json!({"tgb_networking": networking_to(&net)})))
}

fn tgb_networking_legacy(v: &Vector) -> Result<(), String> {
    let svc = service_from(v.input("service"));
    let subnets = subnets_from(v.input("lb_subnets"));
    let vpc_cidrs = string_list(v.input("vpc_cidrs"));
    let vpc_ipv6_cidrs = string_list(v.input("vpc_ipv6_cidrs"));
    let (tg_port, hc_port) = (port_input(v, "tg_port"), port_input(v, "hc_port"));
    let got = networking::legacy(&LegacyInput {
        svc: &svc,
        tg_port: &tg_port,
        hc_port: &hc_port,
        tg_protocol: v.input("tg_protocol").as_str().unwrap_or_default(),
        tg_ip_address_type: v
            .input("tg_ip_address_type")
            .as_str()
            .unwrap_or(target_group::TG_IP_TYPE_IPV4),
        preserve_client_ip: v.input("preserve_client_ip").as_bool().unwrap_or(false),
        scheme: v.input("scheme").as_str().unwrap_or_default(),
        lb_subnets: &subnets,
        vpc_cidrs: &vpc_cidrs,
        vpc_ipv6_cidrs: &vpc_ipv6_cidrs,
    })
    .map(|n| json!({"tgb_networking": networking_to(&n)}));
    check_error(v, &got)
}

fn preserve_client_ip(v: &Vector) -> Result<(), String> {
    let attrs: BTreeMap<String, String> = string_map(v.input("tg_attributes"));
    let got = target_group::preserve_client_ip(
        v.input("target_type").as_str().unwrap_or_default(),
        &attrs,
    )
    .map(|p| json!({"preserve_client_ip": p}));
    check_error(v, &got)
}

fn hc_port(v: &Vector) -> Result<(), String> {
    let svc = service_from(&v.input);
    let got = match target_group::health_check_port(
        &svc,
        v.input("target_type").as_str().unwrap_or_default(),
        &str_of(v.input("default_hc_port")).unwrap_or_default(),
    ) {
        Ok(p) => json!({"hc_port": {"value": ios_to(&p)}}),
        Err(e) => json!({"hc_port": {"error": e}}),
    };
    subset_match(&v.expected, &got, "expected")
}
