//! Who reconciles an object at all: Services left to the in-tree provider (D02), and
//! annotations written with the other object kind's prefix (D03).

use std::collections::BTreeMap;

use super::{Ctx, Finding, Remedy, Severity};
use crate::core::lbc::annotations::{ING_PREFIX, SVC_PREFIX};
use crate::core::lbc::service::is_lbc_service;
use crate::core::plan::{Edit, ResourceRef};

const LB_TYPE: &str = "service.beta.kubernetes.io/aws-load-balancer-type";
const TARGET_TYPE: &str = "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type";

/// Annotations only the LBC reads (the in-tree provider ignores them).
const LBC_ONLY: &[&str] = &[
    "aws-load-balancer-security-groups",
    "aws-load-balancer-manage-backend-security-group-rules",
    "aws-load-balancer-security-group-prefix-lists",
    "aws-load-balancer-nlb-target-type",
    "aws-load-balancer-scheme",
    "aws-load-balancer-ip-address-type",
    "aws-load-balancer-inbound-sg-rules-on-private-link-traffic",
    "aws-load-balancer-disable-nlb-sg",
];

/// D02: a `type: LoadBalancer` Service the LBC does not reconcile although nothing says another
/// controller should (no `loadBalancerClass`).
pub fn d02_in_tree_provider(ctx: &Ctx<'_>) -> Vec<Finding> {
    let cfg = ctx.config();
    let mut out = Vec::new();
    for svc in ctx.services() {
        if svc.spec.type_ != "LoadBalancer"
            || svc.spec.load_balancer_class.is_some()
            || svc.meta.deleting
            || is_lbc_service(cfg, svc)
        {
            continue;
        }
        let resource = format!("service/{}", svc.meta.key());
        let ann = &svc.meta.annotations;
        let lb_type = ann.get(LB_TYPE).map(String::as_str);
        let mut f = Finding::new("D02", Severity::Low, resource.clone());
        match lb_type {
            Some("external") => {
                // The in-tree provider skips `external`, and the LBC needs a target type with it.
                f.severity = Severity::Medium;
                f.evidence.push(format!(
                    "{LB_TYPE}: external without {TARGET_TYPE} (ip or instance): neither the LBC nor the in-tree provider builds a load balancer for it"
                ));
            }
            Some(t) => f.evidence.push(format!(
                "no spec.loadBalancerClass and {LB_TYPE}: {t}: the in-tree cloud provider reconciles it, the LBC ignores it"
            )),
            None => f.evidence.push(format!(
                "no spec.loadBalancerClass and no {LB_TYPE}: the in-tree cloud provider reconciles it, the LBC ignores it"
            )),
        }
        let ignored: Vec<&String> = ann
            .keys()
            .filter(|k| {
                k.strip_prefix(SVC_PREFIX)
                    .is_some_and(|s| LBC_ONLY.contains(&s))
            })
            .collect();
        if !ignored.is_empty() && lb_type != Some("external") {
            f.severity = Severity::Medium;
            f.evidence.push(format!(
                "these LBC annotations have no effect: {}",
                ignored
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let lb = ctx
            .world
            .aws
            .load_balancers
            .iter()
            .flat_map(|m| m.values())
            .find(|lb| {
                !lb.dns_name.is_empty() && svc.lb_hostnames.iter().any(|h| h == &lb.dns_name)
            });
        if let Some(lb) = lb {
            f.objects.push(lb.arn.clone());
            let cluster_tag = format!("kubernetes.io/cluster/{}", ctx.cluster);
            if lb.tags.contains_key(&cluster_tag)
                && !lb
                    .tags
                    .contains_key(crate::core::desired::find::CLUSTER_TAG)
            {
                f.evidence.push(format!(
                    "its load balancer {} carries {cluster_tag} (in-tree provider), not elbv2.k8s.aws/cluster",
                    lb.name
                ));
            }
        }
        let in_tree_rules: Vec<String> = ctx
            .sgs()
            .flat_map(|sg| sg.ingress.iter().map(move |r| (sg, r)))
            .filter(|(_, r)| r.rule.description.starts_with("kubernetes.io/rule/nlb/"))
            .filter(|(_, r)| lb.is_some_and(|lb| r.rule.description.contains(lb.name.as_str())))
            .map(|(sg, _)| sg.id.clone())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        if !in_tree_rules.is_empty() {
            f.evidence.push(format!(
                "rules described kubernetes.io/rule/nlb/… on {} belong to the in-tree provider, not the LBC",
                in_tree_rules.join(", ")
            ));
            f.objects.extend(in_tree_rules);
        }
        let remedy = if lb_type == Some("external") {
            Remedy::edit(
                format!("set {TARGET_TYPE} to instance (or ip) so the LBC builds an NLB"),
                Edit::Annotations {
                    resource: ResourceRef::Service(svc.meta.key()),
                    set: BTreeMap::from([(TARGET_TYPE.to_string(), "instance".to_string())]),
                    unset: Vec::new(),
                },
            )
        } else {
            Remedy::manual(
                "to move it to the LBC, recreate it with spec.loadBalancerClass: service.k8s.aws/nlb (or aws-load-balancer-type: external plus a target type); a new load balancer with a new DNS name replaces the old one",
            )
        };
        out.push(f.remedy(remedy));
    }
    out
}

/// ALB annotations read on the Ingress only (load balancer, listener and SG settings). The
/// others (target-type, backend-protocol, healthcheck-*, tags, auth-*, …) may also sit on a
/// Service used as an Ingress backend, where they override the Ingress's value.
const INGRESS_ONLY: &[&str] = &[
    "load-balancer-name",
    "group.name",
    "group.order",
    "ip-address-type",
    "scheme",
    "subnets",
    "security-groups",
    "manage-backend-security-group-rules",
    "security-group-prefix-lists",
    "inbound-cidrs",
    "listen-ports",
    "ssl-redirect",
    "certificate-arn",
    "ssl-policy",
    "load-balancer-attributes",
    "wafv2-acl-arn",
    "shield-advanced-protection",
    "customer-owned-ipv4-pool",
];

/// Whether an annotation on an object of the other kind is ignored by the LBC.
fn misplaced(key: &str, on_service: bool) -> bool {
    if on_service {
        key.strip_prefix(ING_PREFIX)
            .is_some_and(|s| INGRESS_ONLY.contains(&s))
    } else {
        key.starts_with(SVC_PREFIX)
    }
}

/// The key of the other kind that means the same thing, for the SG-related annotations.
fn counterpart(key: &str, to_service: bool) -> Option<String> {
    const PAIRS: &[(&str, &str)] = &[
        ("security-groups", "aws-load-balancer-security-groups"),
        (
            "manage-backend-security-group-rules",
            "aws-load-balancer-manage-backend-security-group-rules",
        ),
        (
            "security-group-prefix-lists",
            "aws-load-balancer-security-group-prefix-lists",
        ),
        ("inbound-cidrs", "load-balancer-source-ranges"),
        ("scheme", "aws-load-balancer-scheme"),
        ("ip-address-type", "aws-load-balancer-ip-address-type"),
    ];
    if to_service {
        let s = key.strip_prefix(ING_PREFIX)?;
        let (_, svc) = PAIRS.iter().find(|(i, _)| *i == s)?;
        Some(format!("{SVC_PREFIX}{svc}"))
    } else {
        let s = key.strip_prefix(SVC_PREFIX)?;
        let (ing, _) = PAIRS.iter().find(|(_, v)| *v == s)?;
        Some(format!("{ING_PREFIX}{ing}"))
    }
}

/// D03: `alb.ingress.kubernetes.io/*` on a Service, `service.beta.kubernetes.io/aws-load-balancer-*`
/// on an Ingress.
pub fn d03_misplaced_annotations(ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut objects: Vec<(ResourceRef, &BTreeMap<String, String>)> = Vec::new();
    for svc in ctx.services() {
        objects.push((ResourceRef::Service(svc.meta.key()), &svc.meta.annotations));
    }
    for ing in ctx.world.kube.ingresses.iter().flat_map(|m| m.values()) {
        objects.push((ResourceRef::Ingress(ing.meta.key()), &ing.meta.annotations));
    }
    let mut out = Vec::new();
    for (r, ann) in objects {
        let to_service = matches!(r, ResourceRef::Service(_));
        let misplaced: Vec<&String> = ann.keys().filter(|k| misplaced(k, to_service)).collect();
        if misplaced.is_empty() {
            continue;
        }
        let mut set = BTreeMap::new();
        let mut unset = Vec::new();
        let mut f = Finding::new("D03", Severity::Medium, r.to_string());
        for k in &misplaced {
            match counterpart(k, to_service) {
                Some(right) => {
                    f.evidence.push(format!(
                        "{k} is ignored on a {}: the key it reads is {right}",
                        r.kind()
                    ));
                    if !ann.contains_key(&right) {
                        set.insert(right, ann[*k].clone());
                        unset.push((*k).clone());
                    }
                }
                None => f.evidence.push(format!("{k} is ignored on a {}", r.kind())),
            }
        }
        if !set.is_empty() {
            f = f.remedy(Remedy::edit(
                "move the value to the key this kind reads",
                Edit::Annotations {
                    resource: r.clone(),
                    set,
                    unset,
                },
            ));
        } else {
            f = f.remedy(Remedy::manual(format!(
                "remove the annotations; on a {} use the {} keys",
                r.kind(),
                if to_service { SVC_PREFIX } else { ING_PREFIX }
            )));
        }
        out.push(f);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::audit::testworld::*;

    #[test]
    fn d02_in_tree_service_and_not_an_lbc_one() {
        assert!(findings(&world(), "D02").is_empty());
        let mut w = world();
        let s = web(&mut w);
        s.spec.load_balancer_class = None;
        s.meta.annotations.clear();
        set_ann(s, "aws-load-balancer-type", "nlb");
        let f = findings(&w, "D02");
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].severity, Severity::Low);
        // with an LBC-only annotation it matters more
        set_ann(web(&mut w), "aws-load-balancer-security-groups", "sg-x");
        assert_eq!(findings(&w, "D02")[0].severity, Severity::Medium);
        // another controller's class: not ours
        web(&mut w).spec.load_balancer_class = Some("example.com/lb".into());
        assert!(findings(&w, "D02").is_empty());
    }

    #[test]
    fn d02_external_without_target_type_is_handled_by_nobody() {
        let mut w = world();
        let s = web(&mut w);
        s.spec.load_balancer_class = None;
        s.meta.annotations.clear();
        set_ann(s, "aws-load-balancer-type", "external");
        let f = findings(&w, "D02");
        assert_eq!(f[0].severity, Severity::Medium);
        let edit = f[0].remedy.as_ref().unwrap().edit.clone().unwrap();
        assert!(crate::core::plan::plan(&w, &edit).is_ok());
    }

    #[test]
    fn d03_alb_key_on_a_service() {
        assert!(findings(&world(), "D03").is_empty());
        let mut w = world();
        web(&mut w).meta.annotations.insert(
            "alb.ingress.kubernetes.io/inbound-cidrs".into(),
            "10.0.0.0/8".into(),
        );
        let f = findings(&w, "D03");
        assert_eq!(f.len(), 1);
        let edit = f[0].remedy.as_ref().unwrap().edit.clone().unwrap();
        let Edit::Annotations { set, unset, .. } = &edit else {
            panic!("{edit:?}")
        };
        assert_eq!(
            set.get("service.beta.kubernetes.io/load-balancer-source-ranges")
                .map(String::as_str),
            Some("10.0.0.0/8")
        );
        assert_eq!(
            unset,
            &vec!["alb.ingress.kubernetes.io/inbound-cidrs".to_string()]
        );
        assert!(crate::core::plan::plan(&w, &edit).is_ok());
    }

    #[test]
    fn d03_backend_level_alb_keys_belong_on_services() {
        let mut w = world();
        web(&mut w).meta.annotations.insert(
            "alb.ingress.kubernetes.io/healthcheck-path".into(),
            "/healthz".into(),
        );
        assert!(findings(&w, "D03").is_empty());
    }
}
