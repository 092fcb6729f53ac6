//! Conformance handlers: `backend_sg.release`, `config.*` and `webhook.ingressclassparams`
//! (10-backend-sg-config-webhook.yaml; `config.validation` also appears in 02-tags.yaml).

use std::collections::BTreeMap;

use lbsg::core::lbc::aws_error::AwsError;
use lbsg::core::lbc::backend_sg::{
    BackendSgTracker, ClusterListing, ListedObject, ReleaseDecision, ResourceKind,
};
use lbsg::core::lbc::config::{self, FlagValue};
use lbsg::core::lbc::webhook;
use lbsg::world::{ControllerConfig, ObjKey};
use serde_json::{Map, Value, json};

use crate::common::{Handler, Vector, check_error, str_of, string_list};
use crate::naming_tags::{class_params_from, config_from};

pub fn handler(scope: &str) -> Option<Handler> {
    match scope {
        "backend_sg.release" => Some(release),
        "config.validation" => Some(config_validation),
        "config.defaults" => Some(config_defaults),
        "webhook.ingressclassparams" => Some(webhook_icp),
        _ => None,
    }
}

fn obj_key(s: &str) -> ObjKey {
    match s.split_once('/') {
        Some((ns, name)) => ObjKey::new(ns, name),
        None => ObjKey::new("", s),
    }
}

fn kind_from(s: &str) -> Option<ResourceKind> {
    match s.to_ascii_lowercase().as_str() {
        "ingress" => Some(ResourceKind::Ingress),
        "service" => Some(ResourceKind::Service),
        "gateway" => Some(ResourceKind::Gateway),
        _ => None,
    }
}

fn listed(v: &Value) -> Vec<ListedObject> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|o| ListedObject {
                    key: obj_key(&o.get("name").and_then(str_of).unwrap_or_default()),
                    finalizers: string_list(o.get("finalizers").unwrap_or(&Value::Null)),
                })
                .collect()
        })
        .unwrap_or_default()
}

fn release(v: &Vector) -> Result<(), String> {
    let cfg = config_from(&v.input);
    let mut tracker = BackendSgTracker {
        explicit: cfg.backend_security_group.clone(),
        auto_generated: v.input("auto_generated_sg").as_str().map(String::from),
        gateway_check: v.input("enable_gateway_check").as_bool().unwrap_or(false),
        ..BackendSgTracker::default()
    };
    // `tracked` keys are `<kind> <ns/name>`.
    for (k, needed) in v.input("tracked").as_object().into_iter().flatten() {
        let (kind, key) = k.split_once(' ').ok_or(format!("bad tracked key {k}"))?;
        let kind = kind_from(kind).ok_or(format!("bad resource kind in {k}"))?;
        tracker
            .tracked
            .insert((kind, obj_key(key)), needed.as_bool().unwrap_or(false));
    }
    let call = v.input("release_call");
    let kind = call
        .get("resource_type")
        .and_then(Value::as_str)
        .and_then(kind_from)
        .ok_or("release_call.resource_type missing")?;
    let inactive: Vec<ObjKey> = string_list(call.get("inactive").unwrap_or(&Value::Null))
        .iter()
        .map(|s| obj_key(s))
        .collect();

    let mut lists = BTreeMap::new();
    for (kind, items, error) in [
        (
            ResourceKind::Ingress,
            "cluster_ingresses",
            "list_ingresses_error",
        ),
        (
            ResourceKind::Service,
            "cluster_services",
            "list_services_error",
        ),
        (
            ResourceKind::Gateway,
            "cluster_gateways",
            "list_gateways_error",
        ),
    ] {
        let entry = match v.input(error).as_str() {
            Some(e) => Err(e.to_string()),
            None => Ok(listed(v.input(items))),
        };
        lists.insert(kind, entry);
    }
    let cluster = ClusterListing { lists };

    let mut got = Map::new();
    let release = match tracker.release(kind, &inactive, &cluster) {
        Ok(r) => r,
        Err(e) => return check_error(v, &Err(e)),
    };
    got.insert("cluster_listed".into(), json!(release.listed_cluster));
    let mut calls: Vec<String> = Vec::new();
    let mut delete_sg = Value::Null;
    if let ReleaseDecision::Delete(sg) = &release.decision {
        delete_sg = json!(sg);
        let mut answers = v
            .input("delete_responses")
            .as_array()
            .map(|a| a.iter().filter_map(str_of).collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter();
        let out = tracker.delete(|| {
            calls.push(format!("DeleteSecurityGroup {sg}"));
            match answers.next() {
                None => Ok(()),
                Some(a) if a == "ok" => Ok(()),
                Some(a) => Err(AwsError::parse(&a)),
            }
        });
        got.insert("delete_attempts".into(), json!(out.attempts));
        if let Err(e) = out.result {
            return check_error(v, &Err(e.to_string()));
        }
    }
    got.insert("delete_sg".into(), delete_sg);
    got.insert("aws_calls".into(), json!(calls));
    check_error(v, &Ok(Value::Object(got)))
}

/// Fixture cluster name for vectors that test flag checks downstream of the required name.
const FIXTURE_CLUSTER: &str = "my-cluster";

fn config_validation(v: &Vector) -> Result<(), String> {
    let mut cfg = config_from(&v.input);
    if v.input.get("cluster_name").is_none()
        && v.input
            .get("controller")
            .and_then(|c| c.get("cluster_name"))
            .is_none()
    {
        cfg.cluster_name = FIXTURE_CLUSTER.into();
    }
    let got = config::validate(&cfg).map(|()| json!({ "error": null, "valid": true }));
    check_error(v, &got)
}

fn flag_json(value: &FlagValue) -> Value {
    match value {
        FlagValue::Bool(b) => json!(b),
        FlagValue::Str(s) => json!(s),
        FlagValue::List(l) => json!(l),
        FlagValue::Map(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), json!(v))).collect()),
        FlagValue::Gates(g) => {
            Value::Object(g.iter().map(|(k, v)| (k.clone(), json!(v))).collect())
        }
    }
}

fn config_defaults(v: &Vector) -> Result<(), String> {
    let mut got = Map::new();
    for flag in config::sg_flags(&ControllerConfig::default()) {
        let value = flag_json(&flag.value);
        if matches!(flag.value, FlagValue::Gates(_)) {
            got.insert("feature_gates".into(), value.clone());
        }
        got.insert(flag.name.into(), value);
    }
    check_error(v, &Ok(Value::Object(got)))
}

fn webhook_icp(v: &Vector) -> Result<(), String> {
    let params = class_params_from(&v.input);
    let got = webhook::validate_ingress_class_params(&params)
        .map(|()| json!({ "error": null, "valid": true }));
    check_error(v, &got)
}
