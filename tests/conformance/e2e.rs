//! Conformance handlers for `e2e`: one resource through every layer — LB SG decision, managed
//! SG (name, tags, rules), the backend SG, TGB networking, target-SG selection on the ENIs and
//! the aggregated rules per target SG — composed exactly as the core composes them.

use std::collections::BTreeMap;

use lbsg::core::lbc::ingress::{self, IngressCtx};
use lbsg::core::lbc::model::{BACKEND_SG_TOKEN, Frontend, MANAGED_SG_TOKEN, StackId, StackModel};
use lbsg::core::lbc::naming::{BACKEND_SG_DESCRIPTION, GroupId, backend_sg_name};
use lbsg::core::lbc::service::{ServiceCtx, build_service_model};
use lbsg::core::lbc::tags::backend_sg_tags;
use lbsg::core::lbc::target::aggregate::{PerTgb, aggregate};
use lbsg::core::lbc::target::permissions::permissions_for;
use lbsg::core::lbc::target::select::select_target_sg;
use lbsg::world::{IngressClassParams, NetworkingPeer, NetworkingRule, ObjKey, Service, Tags};
use serde_json::{Value, json};

use crate::common::{
    Handler, Vector, VectorResolver, controller_from, networking_to, rules_to, str_of, string_map,
    subset_match,
};

pub fn handler(scope: &str) -> Option<Handler> {
    (scope == "e2e").then_some(e2e as Handler)
}

/// The SGs on the target ENIs: `primary_eni_sgs` (instance targets) or `pod_eni_sgs` (ip).
fn target_sgs(aws: &Value, key: &str) -> Vec<(String, Tags)> {
    aws.get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|sg| {
            (
                sg.get("id").and_then(str_of).unwrap_or_default(),
                string_map(sg.get("tags").unwrap_or(&Value::Null)),
            )
        })
        .collect()
}

fn e2e(v: &Vector) -> Result<(), String> {
    let cfg = controller_from(v.input("controller"));
    let aws = v.input("aws");
    let resource = v.input("resource");
    let s = |k: &str| aws.get(k).and_then(str_of);
    let backend_id = if !cfg.enable_backend_security_group {
        String::new()
    } else if !cfg.backend_security_group.is_empty() {
        cfg.backend_security_group.clone()
    } else {
        aws.get("existing_backend_sg")
            .and_then(|b| b.get("id"))
            .and_then(str_of)
            .or_else(|| s("created_backend_sg_id"))
            .unwrap_or_else(|| BACKEND_SG_TOKEN.to_string())
    };
    let managed_id = s("created_managed_sg_id").unwrap_or_else(|| MANAGED_SG_TOKEN.to_string());
    let resolver = VectorResolver(aws.get("sg_resolution").cloned().unwrap_or(Value::Null));

    let (stack, built): (StackId, Result<StackModel, String>) =
        match resource.get("kind").and_then(Value::as_str) {
            Some("Service") => {
                let svc = crate::service::service_from(resource);
                let subnets =
                    crate::service::subnets_from(aws.get("lb_subnets").unwrap_or(&Value::Null));
                let cidrs =
                    |k: &str| crate::common::string_list(aws.get(k).unwrap_or(&Value::Null));
                let (v4, v6) = (cidrs("vpc_cidrs"), cidrs("vpc_ipv6_cidrs"));
                let ctx = ServiceCtx {
                    config: &cfg,
                    backend_sg_id: &backend_id,
                    lb_subnets: &subnets,
                    vpc_cidrs: &v4,
                    vpc_ipv6_cidrs: &v6,
                    existing_lb: crate::service::existing_lb_from(
                        aws.get("existing_lb").unwrap_or(&Value::Null),
                    ),
                    resolver: &resolver,
                };
                (
                    StackId::Service(svc.meta.key()),
                    build_service_model(&ctx, &svc),
                )
            }
            Some("IngressGroup" | "Ingress") => {
                let group: GroupId =
                    crate::ingress::group_from(resource.get("group").unwrap_or(&Value::Null));
                let members: Vec<Value> = resource
                    .get("members")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                let ings: Vec<_> = members.iter().map(crate::ingress::ingress_from).collect();
                let params: BTreeMap<ObjKey, IngressClassParams> = members
                    .iter()
                    .zip(&ings)
                    .filter_map(|(m, i)| {
                        m.get("ingress_class_params")
                            .map(|p| (i.meta.key(), crate::ingress::params_from(p)))
                    })
                    .collect();
                let services: BTreeMap<ObjKey, Service> = resource
                    .get("services")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(crate::ingress::service_from)
                    .map(|s| (s.meta.key(), s))
                    .collect();
                let ctx = IngressCtx {
                    config: &cfg,
                    backend_sg_id: &backend_id,
                    services: &services,
                    class_params: &params,
                    resolver: &resolver,
                };
                let refs: Vec<_> = ings.iter().collect();
                let built = ingress::group::sort_members(&refs).and_then(|order| {
                    let sorted: Vec<_> = order
                        .iter()
                        .filter_map(|k| ings.iter().find(|i| i.meta.key() == *k))
                        .collect();
                    ingress::build_ingress_model(&ctx, &group, &sorted)
                });
                (StackId::Ingress(group), built)
            }
            other => return Err(format!("e2e resource kind {other:?} is not supported")),
        };
    let model = match built {
        Ok(m) => m,
        Err(e) => {
            return match v.expected_error() {
                Some(want) if want == e => Ok(()),
                _ => Err(format!("build failed: {e}")),
            };
        }
    };
    let real = |sg: &str| match sg {
        MANAGED_SG_TOKEN => managed_id.clone(),
        BACKEND_SG_TOKEN => backend_id.clone(),
        other => other.to_string(),
    };

    let mut out = serde_json::Map::new();
    let managed = matches!(model.frontend, Frontend::Managed(_));
    out.insert(
        "frontend_sg".into(),
        match &model.frontend {
            Frontend::Managed(m) => json!({
                "mode": "managed",
                "group_name": m.name,
                "name": m.name,
                "description": m.description,
                "tags": stack.managed_sg_tags(&cfg.cluster_name, &m.tags),
                "ingress_rules": rules_to(&m.ingress_rules),
            }),
            Frontend::Custom(ids) => json!({"mode": "custom", "ids": ids}),
            Frontend::None => json!({"mode": "none"}),
        },
    );
    let lb_sgs: Vec<String> = model.lb_security_groups.iter().map(|s| real(s)).collect();
    out.insert("lb_security_groups".into(), json!(lb_sgs));
    out.insert(
        "backend_sg_allocated".into(),
        json!(model.backend_sg_allocated),
    );
    if model.backend_sg_allocated && cfg.backend_security_group.is_empty() {
        out.insert(
            "backend_sg".into(),
            json!({
                "group_name": backend_sg_name(&cfg.cluster_name),
                "description": BACKEND_SG_DESCRIPTION,
                "tags": backend_sg_tags(&cfg.cluster_name, &cfg.default_tags),
                "ingress_rules": [],
            }),
        );
    }
    // The managed SG that exists (created_managed_sg_id) is deleted once the stack stops using it.
    let deleted: Vec<String> = match s("created_managed_sg_id") {
        Some(id) if !managed => vec![id],
        _ => Vec::new(),
    };
    out.insert("deleted_sgs".into(), json!(deleted));
    // The one prose field of the e2e schema: "deleted only if …" asserts that this resource
    // releases the auto-created backend SG (its deletion then depends on the other users).
    let releases = !model.backend_sg_allocated
        && cfg.enable_backend_security_group
        && cfg.backend_security_group.is_empty();
    if let Some(after) = v.expected.get("backend_sg_after").and_then(Value::as_str) {
        let says_release = after.starts_with("deleted");
        if says_release != releases {
            return Err(format!(
                "backend_sg_after: expected {after:?}, but the resource {} the backend SG",
                if releases { "releases" } else { "keeps" }
            ));
        }
        out.insert("backend_sg_after".into(), json!(after));
    }

    // TGB networking with real ids, then the rules it puts on the target SGs.
    let mut networking: BTreeMap<String, Value> = BTreeMap::new();
    let mut per_tgb = PerTgb::new();
    let instance_sgs = target_sgs(aws, "primary_eni_sgs");
    let pod_sgs = target_sgs(aws, "pod_eni_sgs");
    let all_target_sgs: Vec<&(String, Tags)> = instance_sgs.iter().chain(&pod_sgs).collect();
    for (id, net) in &model.tgb_networking {
        let net: Option<Vec<NetworkingRule>> = net.clone().map(|rules| {
            rules
                .into_iter()
                .map(|mut r| {
                    for p in &mut r.from {
                        if let NetworkingPeer::SecurityGroup(sg) = p {
                            *sg = real(sg);
                        }
                    }
                    r
                })
                .collect()
        });
        networking.insert(id.clone(), networking_to(&net));
        let Some(rules) = net else { continue };
        let tg = model.target_groups.get(id);
        let sgs = if tg.is_some_and(|t| t.target_type == "ip") {
            &pod_sgs
        } else {
            &instance_sgs
        };
        if sgs.is_empty() {
            continue;
        }
        let eni_sgs: Vec<String> = sgs.iter().map(|(id, _)| id.clone()).collect();
        let tags: BTreeMap<String, Tags> = sgs.iter().cloned().collect();
        let target = select_target_sg(
            &cfg.cluster_name,
            &cfg.service_target_eni_sg_tags,
            "eni-e2e",
            &eni_sgs,
            &|sg: &str| tags.get(sg),
        )?;
        let perms = permissions_for(&rules, &[])?;
        per_tgb.entry(id.clone()).or_default().insert(target, perms);
    }
    out.insert("tgb_networking".into(), json!(networking));
    let aggregated = aggregate(&per_tgb, !cfg.disable_restricted_sg_rules);
    let mut target_rules = serde_json::Map::new();
    for (sg, _) in all_target_sgs {
        let rules = aggregated.get(sg).cloned().unwrap_or_default();
        target_rules.insert(sg.clone(), rules_to(&rules));
    }
    out.insert("target_sg_rules".into(), Value::Object(target_rules));
    if v.expected_error().is_some() {
        return Err("expected an error, the build succeeded".into());
    }
    subset_match(&v.expected, &Value::Object(out), "expected")
}
