//! Conformance handlers for the target-SG scopes (07-target-rules.yaml): SG selection on an ENI,
//! rule materialisation, aggregation, the shared-label reconcile and garbage collection.

use std::collections::{BTreeMap, BTreeSet};

use lbsg::core::lbc::target::{
    self, NetworkingState, PERMISSION_SELECTOR, aggregate::PerTgb, description_is_managed,
    numeric_ports, permissions_for, reconcile_target_sg, select_target_sg,
};
use lbsg::world::{ContainerPort, Meta, Pod, Rule, Tags};
use serde_json::{Value, json};

use crate::common::{
    Handler, Vector, check_error, i32_of, int_or_string, networking_from, rules_from, rules_to,
    str_of, string_list, string_map,
};

pub fn handler(scope: &str) -> Option<Handler> {
    match scope {
        "target.endpoint_sg_selection" => Some(endpoint_sg_selection),
        "target.permissions" => Some(permissions),
        "target.aggregation.restricted" | "target.aggregation.unrestricted" => Some(aggregation),
        "target.reconcile" => Some(reconcile),
        "target.gc" => Some(gc),
        _ => None,
    }
}

fn endpoint_sg_selection(v: &Vector) -> Result<(), String> {
    let cluster = str_of(v.input("cluster_name")).unwrap_or_default();
    let extra = string_map(v.input("service_target_eni_sg_tags"));
    let eni = v.input("eni");
    let eni_id = eni.get("id").and_then(str_of).unwrap_or_default();
    let eni_sgs = string_list(eni.get("security_groups").unwrap_or(&Value::Null));
    let details: BTreeMap<String, Tags> = v
        .input("sg_details")
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| {
            let id = d.get("id").and_then(str_of)?;
            Some((id, string_map(d.get("tags").unwrap_or(&Value::Null))))
        })
        .collect();
    let lookup = |id: &str| details.get(id);
    let got = select_target_sg(&cluster, &extra, &eni_id, &eni_sgs, &lookup)
        .map(|sg| json!({ "target_sg": sg }));
    check_error(v, &got)
}

/// `[{name: ns/pod, container_ports: {name: port} | [{name, container_port}]}]` → pods.
fn pods_from(v: &Value) -> Vec<Pod> {
    let pod = |p: &Value| {
        let full = p.get("name").and_then(str_of).unwrap_or_default();
        let (namespace, name) = full.split_once('/').unwrap_or(("", full.as_str()));
        let ports = match p.get("container_ports") {
            Some(Value::Object(m)) => m
                .iter()
                .filter_map(|(n, port)| Some((Some(n.clone()), i32_of(port)?)))
                .collect(),
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|c| {
                    let port = c.get("container_port").or(c.get("port")).and_then(i32_of)?;
                    Some((c.get("name").and_then(str_of), port))
                })
                .collect(),
            _ => Vec::new(),
        };
        Pod {
            meta: Meta {
                namespace: namespace.to_string(),
                name: name.to_string(),
                ..Meta::default()
            },
            ports: ports
                .into_iter()
                .map(|(name, container_port)| ContainerPort {
                    name,
                    container_port,
                    protocol: None,
                })
                .collect(),
            ..Pod::default()
        }
    };
    v.as_array().into_iter().flatten().map(pod).collect()
}

fn permissions(v: &Vector) -> Result<(), String> {
    let pods = pods_from(v.input("pods"));
    let networking = if !v.input("tgb_networking").is_null() {
        Some(v.input("tgb_networking").clone())
    } else if !v.input("peer").is_null() {
        Some(json!([{ "from": [v.input("peer")], "ports": [v.input("port")] }]))
    } else {
        None
    };
    let got = match networking {
        Some(n) => {
            let rules = networking_from(&n).ok_or("tgb_networking is not a list")?;
            permissions_for(&rules, &pods).map(|r| json!({ "rules": rules_to(&r) }))
        }
        None => {
            let port = int_or_string(v.input("port")).ok_or("input.port is not a port")?;
            numeric_ports(&port, &pods).map(|p| json!({ "numeric_ports": p }))
        }
    };
    check_error(v, &got)
}

/// `{key: {sg: [rules]}}`.
fn per_sg_rules(v: &Value) -> BTreeMap<String, Vec<Rule>> {
    v.as_object()
        .into_iter()
        .flatten()
        .map(|(sg, rules)| (sg.clone(), rules_from(rules)))
        .collect()
}

fn per_target_sg_to(m: &BTreeMap<String, Vec<Rule>>) -> Value {
    Value::Object(
        m.iter()
            .map(|(sg, rules)| (sg.clone(), rules_to(rules)))
            .collect(),
    )
}

/// The target SGs a binding's endpoints land on: a map `{tgb: sg | [sg]}`, or a description
/// naming exactly one SG that every binding shares.
fn endpoint_sgs(endpoints: &Value, tgb: &str) -> Result<Vec<String>, String> {
    match endpoints {
        Value::Object(m) => match m.get(tgb) {
            Some(Value::Array(_)) => Ok(string_list(&m[tgb])),
            Some(sg) => str_of(sg)
                .map(|s| vec![s])
                .ok_or(format!("endpoints.{tgb} is not an SG")),
            None => Ok(Vec::new()),
        },
        Value::String(text) => {
            let sgs: BTreeSet<&str> = text
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                .filter(|t| t.starts_with("sg-"))
                .collect();
            match sgs.len() {
                1 => Ok(sgs.into_iter().map(String::from).collect()),
                _ => Err(format!("endpoints {text:?} must name exactly one SG")),
            }
        }
        other => Err(format!("endpoints: unsupported shape {other}")),
    }
}

fn aggregation(v: &Vector) -> Result<(), String> {
    let restricted = match v.input("disable_restricted_sg_rules") {
        Value::Bool(disabled) => !disabled,
        _ => !v.scope.ends_with(".unrestricted"),
    };
    let mut per_tgb = PerTgb::new();
    if let Some(m) = v.input("per_tgb").as_object() {
        for (tgb, per_sg) in m {
            per_tgb.insert(tgb.clone(), per_sg_rules(per_sg));
        }
    }
    if let Some(m) = v.input("tgbs").as_object() {
        for (tgb, spec) in m {
            let networking = spec
                .get("networking")
                .and_then(networking_from)
                .unwrap_or_default();
            let rules = permissions_for(&networking, &[])?;
            let entry = per_tgb.entry(tgb.clone()).or_default();
            for sg in endpoint_sgs(v.input("endpoints"), tgb)? {
                entry.insert(sg, rules.clone());
            }
        }
    }
    let got = target::aggregate(&per_tgb, restricted);
    check_error(v, &Ok(json!({ "per_target_sg": per_target_sg_to(&got) })))
}

fn reconcile(v: &Vector) -> Result<(), String> {
    let got = if let Some(descriptions) = v.input("descriptions").as_array() {
        let managed: Vec<bool> = descriptions
            .iter()
            .map(|d| description_is_managed(&str_of(d).unwrap_or_default()))
            .collect();
        json!({ "managed": managed })
    } else {
        let computed = v.input("all_tgbs_computed").as_bool().unwrap_or(true);
        let desired = rules_from(v.input("desired"));
        let current = rules_from(v.input("current"));
        let changes = reconcile_target_sg(&desired, &current, !computed);
        json!({
            "authorize": rules_to(&changes.authorize),
            "revoke": rules_to(&changes.revoke),
            "permission_selector": PERMISSION_SELECTOR,
        })
    };
    check_error(v, &Ok(got))
}

fn gc(v: &Vector) -> Result<(), String> {
    let with_networking: BTreeSet<String> = v
        .input("tgbs_in_cluster")
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t.get("networking").is_some_and(|n| !n.is_null()))
        .filter_map(|t| t.get("name").and_then(str_of))
        .collect();
    let cached_permissions = v.input("cached_permissions");
    let mut state = NetworkingState::default();
    for tgb in string_list(v.input("cached_tgbs")) {
        let per_sg = per_sg_rules(cached_permissions.get(&tgb).unwrap_or(&Value::Null));
        state.permissions_by_tgb.insert(tgb, per_sg);
    }
    state.tracked_sgs = string_list(v.input("tracked_sgs")).into_iter().collect();
    let discovered: BTreeSet<String> = string_list(v.input("cluster_tagged_sgs"))
        .into_iter()
        .collect();
    let restricted = v.input("disable_restricted_sg_rules").as_bool() != Some(true);
    let pass = state
        .attempt_gc(&with_networking, &discovered, restricted)
        .unwrap_or_default();
    let desired: Vec<Rule> = pass.values().flatten().cloned().collect();
    let got = json!({
        "reconciled_sgs": pass.keys().collect::<Vec<_>>(),
        "desired_per_sg": rules_to(&desired),
        "permission_selector": PERMISSION_SELECTOR,
    });
    check_error(v, &Ok(got))
}
