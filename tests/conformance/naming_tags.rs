//! Conformance handlers: `naming.*` (01-naming.yaml) and `tags.*` (02-tags.yaml).

use std::collections::BTreeMap;

use lbsg::core::lbc::aws_error::AwsError;
use lbsg::core::lbc::backend_sg::{BackendSgCall, ExistingBackendSg, plan_backend_sg};
use lbsg::core::lbc::model::BACKEND_SG_TOKEN;
use lbsg::core::lbc::naming::{self, GroupId};
use lbsg::core::lbc::tags::{self, IngressMember, Stack};
use lbsg::world::{ControllerConfig, IngressClassParams, ObjKey, Tags};
use serde_json::{Map, Value, json};

use crate::common::{Handler, Vector, check_error, str_of, string_list, string_map};

pub fn handler(scope: &str) -> Option<Handler> {
    match scope {
        "naming.service_sg" => Some(naming_service),
        "naming.ingress_sg" => Some(naming_ingress),
        "naming.backend_sg" => Some(naming_backend),
        "tags.service_sg_spec" => Some(tags_service_spec),
        "tags.ingress_sg_spec" => Some(tags_ingress_spec),
        "tags.deployed" => Some(tags_deployed),
        "tags.backend_sg" => Some(tags_backend_sg),
        _ => None,
    }
}

fn s(v: &Value, key: &str) -> String {
    v.get(key).and_then(str_of).unwrap_or_default()
}

/// Controller flags from a vector input (top level, or under `controller`), over LBC defaults.
pub fn config_from(input: &Value) -> ControllerConfig {
    crate::common::controller_from(input.get("controller").unwrap_or(input))
}

fn tags_json(t: &Tags) -> Value {
    Value::Object(t.iter().map(|(k, v)| (k.clone(), json!(v))).collect())
}

/// Run `f` on the input, or on every entry of `input.cases` (each merged over the input).
fn per_case(v: &Vector, f: impl Fn(&Value) -> Result<Value, String>) -> Result<Vec<Value>, String> {
    match v.input("cases").as_array() {
        None => Ok(vec![f(&v.input)?]),
        Some(cases) => cases
            .iter()
            .map(|c| {
                let mut merged = v.input.as_object().cloned().unwrap_or_default();
                merged.remove("cases");
                if let Some(o) = c.as_object() {
                    merged.extend(o.clone());
                }
                f(&Value::Object(merged))
            })
            .collect(),
    }
}

/// Combine per-case naming outputs: a single case as-is; several as `cases` plus whether the
/// 10-character hashes agree.
fn naming_result(v: &Vector, outs: Vec<Value>) -> Result<(), String> {
    let got = if v.input("cases").is_array() {
        let hashes: Vec<&str> = outs
            .iter()
            .filter_map(|o| o.get("sha256_hex").and_then(Value::as_str))
            .map(|h| &h[..10])
            .collect();
        let equal = hashes.windows(2).all(|w| w[0] == w[1]);
        json!({
            "cases": outs,
            "hash_prefix10_equal": equal,
            "hash_prefix10": if equal { hashes.first().map(|h| json!(h)).unwrap_or(Value::Null) } else { json!(hashes) },
        })
    } else {
        outs.into_iter().next().unwrap_or(Value::Null)
    };
    check_error(v, &Ok(got))
}

fn naming_out(name: String, hash_input: String, description: &str) -> Value {
    json!({
        "group_name": name,
        "hash_input_bytes": hash_input,
        "sha256_hex": naming::sha256_hex(&[&hash_input]),
        "description": description,
    })
}

fn naming_service(v: &Vector) -> Result<(), String> {
    let outs = per_case(v, |i| {
        let (c, ns, n, uid) = (
            s(i, "cluster_name"),
            s(i, "namespace"),
            s(i, "name"),
            s(i, "uid"),
        );
        Ok(naming_out(
            naming::service_sg_name(&c, &ns, &n, &uid),
            naming::service_sg_hash_input(&c, &ns, &n, &uid),
            naming::MANAGED_SG_DESCRIPTION,
        ))
    })?;
    naming_result(v, outs)
}

pub fn group_from(g: &Value) -> GroupId {
    if g.get("explicit").and_then(Value::as_bool).unwrap_or(false) {
        GroupId::Explicit(s(g, "name"))
    } else {
        GroupId::Implicit {
            namespace: s(g, "namespace"),
            name: s(g, "name"),
        }
    }
}

fn naming_ingress(v: &Vector) -> Result<(), String> {
    let outs = per_case(v, |i| {
        let c = s(i, "cluster_name");
        let g = group_from(i.get("group").unwrap_or(&Value::Null));
        Ok(naming_out(
            naming::ingress_sg_name(&c, &g),
            naming::ingress_sg_hash_input(&c, &g),
            naming::MANAGED_SG_DESCRIPTION,
        ))
    })?;
    naming_result(v, outs)
}

fn naming_backend(v: &Vector) -> Result<(), String> {
    let outs = per_case(v, |i| {
        let c = s(i, "cluster_name");
        Ok(naming_out(
            naming::backend_sg_name(&c),
            naming::backend_sg_hash_input(&c),
            naming::BACKEND_SG_DESCRIPTION,
        ))
    })?;
    naming_result(v, outs)
}

fn tags_service_spec(v: &Vector) -> Result<(), String> {
    let cfg = config_from(&v.input);
    let ann = string_map(v.input("annotations"));
    let got = tags::service_sg_tags(&cfg, &ann).map(|t| json!({ "tags": tags_json(&t) }));
    check_error(v, &got)
}

/// IngressClassParams from the CRD shape (`spec` optional; tags as `[{key, value}]` or a map).
pub fn class_params_from(p: &Value) -> IngressClassParams {
    let spec = p.get("spec").unwrap_or(p);
    let mut out = IngressClassParams::default();
    out.meta.name = p
        .get("metadata")
        .and_then(|m| m.get("name"))
        .or_else(|| p.get("name"))
        .and_then(str_of)
        .unwrap_or_default();
    out.tags = match spec.get("tags") {
        Some(Value::Array(items)) => items.iter().map(|t| (s(t, "key"), s(t, "value"))).collect(),
        Some(other) => string_map(other),
        None => Tags::new(),
    };
    out.inbound_cidrs = string_list(spec.get("inboundCIDRs").unwrap_or(&Value::Null));
    out
}

fn tags_ingress_spec(v: &Vector) -> Result<(), String> {
    let cfg = config_from(&v.input);
    let raw: Vec<(ObjKey, BTreeMap<String, String>, Option<IngressClassParams>)> = v
        .input("members")
        .as_array()
        .map(|ms| {
            ms.iter()
                .enumerate()
                .map(|(i, m)| {
                    let key = ObjKey::new(
                        m.get("namespace").and_then(str_of).unwrap_or_default(),
                        m.get("name")
                            .and_then(str_of)
                            .unwrap_or_else(|| format!("ingress-{i}")),
                    );
                    let ann = string_map(m.get("annotations").unwrap_or(&Value::Null));
                    let params = m.get("ingress_class_params").map(class_params_from);
                    (key, ann, params)
                })
                .collect()
        })
        .unwrap_or_default();
    let members: Vec<IngressMember<'_>> = raw
        .iter()
        .map(|(key, annotations, params)| IngressMember {
            key,
            annotations,
            class_params: params.as_ref(),
        })
        .collect();
    let got = tags::ingress_sg_tags(&cfg, &members).map(|t| json!({ "tags": tags_json(&t) }));
    check_error(v, &got)
}

fn stack_from(i: &Value) -> Stack {
    if let Some(g) = i.get("group") {
        return Stack::Ingress(group_from(g));
    }
    let key = ObjKey::new(s(i, "namespace"), s(i, "name"));
    if s(i, "kind").eq_ignore_ascii_case("ingress") {
        Stack::Ingress(GroupId::Implicit {
            namespace: key.namespace,
            name: key.name,
        })
    } else {
        Stack::Service(key)
    }
}

fn tags_deployed(v: &Vector) -> Result<(), String> {
    let outs = per_case(v, |i| {
        let cfg = config_from(i);
        let stack = stack_from(i);
        let model = string_map(i.get("model_tags").unwrap_or(&Value::Null));
        let desired = match i.get("resource_id").and_then(str_of) {
            Some(id) => stack.resource_tags(&cfg.cluster_name, &id, &model),
            None => stack.managed_sg_tags(&cfg.cluster_name, &model),
        };
        let mut out = Map::new();
        out.insert("tags".into(), tags_json(&desired));
        let current = ["current_tags", "existing_tags"]
            .iter()
            .find_map(|k| i.get(*k));
        if let Some(current) = current {
            let d = tags::managed_sg_tag_diff(&cfg, &stack, &model, &string_map(current));
            for (k, t) in [
                ("create_tags", &d.create),
                ("tags_to_add", &d.create),
                ("delete_tags", &d.delete),
                ("tags_to_remove", &d.delete),
            ] {
                out.insert(k.into(), tags_json(t));
            }
        }
        Ok(Value::Object(out))
    })?;
    let got = if v.input("cases").is_array() {
        let tags: Vec<Value> = outs.iter().map(|o| o["tags"].clone()).collect();
        json!({ "tags": tags, "cases": outs })
    } else {
        outs.into_iter().next().unwrap_or(Value::Null)
    };
    check_error(v, &Ok(got))
}

fn aws_error_for(v: &Vector, call: &str) -> Option<AwsError> {
    v.input("aws_errors")
        .get(call)
        .and_then(str_of)
        .map(|e| AwsError::parse(&e))
}

fn tags_backend_sg(v: &Vector) -> Result<(), String> {
    let cfg = config_from(&v.input);
    let vpc = cfg.vpc_id.clone().unwrap_or_default();
    let mut calls: Vec<String> = Vec::new();
    let mut out = Map::new();
    let plan = plan_backend_sg(
        &cfg.backend_security_group,
        &cfg.cluster_name,
        &vpc,
        &cfg.default_tags,
        || {
            calls.push("DescribeSecurityGroups".into());
            if let Some(e) = aws_error_for(v, "DescribeSecurityGroups") {
                return Err(e);
            }
            Ok(match v.input("existing_backend_sg") {
                Value::Object(sg) => vec![ExistingBackendSg {
                    id: sg.get("id").and_then(str_of).unwrap_or_default(),
                    tags: string_map(sg.get("tags").unwrap_or(&Value::Null)),
                }],
                _ => Vec::new(),
            })
        },
    );
    let result = plan.and_then(|plan| {
        out.insert("create_tags".into(), json!({}));
        out.insert("delete_tags".into(), json!({}));
        plan.execute(|call| {
            let (name, answer) = match call {
                BackendSgCall::CreateTags { tags, .. } => {
                    out.insert("create_tags".into(), tags_json(tags));
                    ("CreateTags", None)
                }
                BackendSgCall::DeleteTags { tags, .. } => {
                    out.insert("delete_tags".into(), tags_json(tags));
                    ("DeleteTags", None)
                }
                BackendSgCall::CreateSecurityGroup(req) => {
                    let ordered: Vec<Value> = req
                        .tags
                        .iter()
                        .map(|(k, v)| json!({"key": k, "value": v}))
                        .collect();
                    let map: Tags = req.tags.iter().cloned().collect();
                    out.insert(
                        "create_security_group".into(),
                        json!({
                            "name": req.name,
                            "group_name": req.name,
                            "description": req.description,
                            "vpc_id": req.vpc_id,
                            "tags": tags_json(&map),
                            "tags_in_order": ordered,
                        }),
                    );
                    let id = ["created_sg_id", "create_response"]
                        .iter()
                        .find_map(|k| v.input(k).as_str())
                        .unwrap_or(BACKEND_SG_TOKEN);
                    ("CreateSecurityGroup", Some(id.to_string()))
                }
            };
            calls.push(name.into());
            match aws_error_for(v, name) {
                Some(e) => Err(e),
                None => Ok(answer),
            }
        })
    });
    let got = result.map_err(|e| e.to_string()).map(|id| {
        out.insert("returned_sg".into(), json!(id));
        out.insert("aws_calls".into(), json!(calls));
        Value::Object(out)
    });
    check_error(v, &got)
}
