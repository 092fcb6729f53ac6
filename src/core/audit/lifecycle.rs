//! Life-cycle findings: NLBs that can never get SGs (D01), leftover and stuck SGs (D27), the NLB
//! SG setting flipped after creation (D29), and cluster-tagged SGs nothing uses (X06).

use super::facts::client_rules;
use super::{Ctx, Finding, Remedy, Severity};
use crate::core::desired::find::{
    BACKEND_SG_RESOURCE, CLUSTER_TAG, LEGACY_CLUSTER_TAG, MANAGED_SG_RESOURCE, RESOURCE_TAG,
};
use crate::core::plan::{Edit, ResourceRef};
use crate::world::{ObjKey, SecurityGroup};

const DISABLE_NLB_SG: &str = "service.beta.kubernetes.io/aws-load-balancer-disable-nlb-sg";
const SECURITY_GROUPS: &str = "service.beta.kubernetes.io/aws-load-balancer-security-groups";

/// D01: an LBC NLB without security groups.
pub fn d01_legacy_nlb(ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for (s, _) in ctx.modelled() {
        let Some(lb) = ctx
            .stack_lb(s)
            .filter(|lb| lb.is_nlb() && lb.security_groups.is_empty())
        else {
            continue;
        };
        let mut f = Finding::new("D01", Severity::Low, s.id.to_string())
            .objects([lb.arn.clone()])
            .evidence(format!(
                "{} is an NLB without security groups; AWS adds SGs to an NLB only at creation",
                lb.name
            ));
        if let Some(facts) = ctx.facts.lb(&lb.arn) {
            for tg in facts.target_groups.values() {
                let Some((sgs, port, _)) = ctx.target_sets(s, tg).into_iter().next() else {
                    continue;
                };
                f.objects.extend(sgs.iter().cloned());
                let clients = tg
                    .protos
                    .iter()
                    .filter_map(|p| {
                        client_rules(ctx.world, &sgs, p, port, &facts.subnet_cidrs).ok()
                    })
                    .flatten()
                    .map(|(_, r)| r.source.to_string())
                    .collect::<Vec<_>>();
                let ports = tg
                    .protos
                    .iter()
                    .map(|p| format!("{p}/{port}"))
                    .collect::<Vec<_>>()
                    .join(" and ");
                f.evidence.push(if clients.is_empty() {
                    format!(
                        "filtering happens on the targets' SGs ({}): they admit no client range on {ports}",
                        sgs.join(", ")
                    )
                } else {
                    format!(
                        "filtering happens on the targets' SGs ({}): they admit {ports} from {}",
                        sgs.join(", "),
                        clients.join(", ")
                    )
                });
            }
        }
        let asks_for_sgs = s.resources.iter().any(|r| {
            ctx.annotations(r)
                .is_some_and(|a| a.contains_key(SECURITY_GROUPS))
        });
        if asks_for_sgs {
            f.evidence.push(
                "the security-groups annotation has no effect on this NLB (the LBC skips SG handling for an existing SG-less NLB)"
                    .into(),
            );
        }
        out.push(f.remedy(Remedy::manual(
            "recreate the Service to get an NLB with security groups (new DNS name: plan the cut-over); until then keep its source ranges explicit",
        )));
    }
    out
}

/// The stack label a managed SG's tags name: `service/ns/name`, `ingress/ns/name` or
/// `ingress-group/name`.
fn tagged_stack(sg: &SecurityGroup) -> Option<(String, String)> {
    if let Some(v) = sg.tags.get("service.k8s.aws/stack") {
        return Some((format!("service/{v}"), format!("service.k8s.aws/stack={v}")));
    }
    let v = sg.tags.get("ingress.k8s.aws/stack")?;
    let label = if v.contains('/') {
        format!("ingress/{v}")
    } else {
        format!("ingress-group/{v}")
    };
    Some((label, format!("ingress.k8s.aws/stack={v}")))
}

fn is_managed_sg(sg: &SecurityGroup) -> bool {
    ["service.k8s.aws/resource", "ingress.k8s.aws/resource"]
        .iter()
        .any(|k| sg.tags.get(*k).map(String::as_str) == Some(MANAGED_SG_RESOURCE))
}

fn ours(ctx: &Ctx<'_>, sg: &SecurityGroup) -> bool {
    [CLUSTER_TAG, LEGACY_CLUSTER_TAG]
        .iter()
        .any(|k| sg.tags.get(*k).map(String::as_str) == Some(ctx.cluster.as_str()))
}

/// D27: managed SGs whose Service/Ingress is gone (or being deleted), and a backend SG left
/// after the feature was turned off.
pub fn d27_leftover_sgs(ctx: &Ctx<'_>) -> Vec<Finding> {
    if ctx.cluster.is_empty() {
        return Vec::new();
    }
    let live: Vec<String> = ctx.desired.stacks.keys().map(ToString::to_string).collect();
    let mut out = Vec::new();
    for sg in ctx.sgs().filter(|sg| ours(ctx, sg)) {
        let users = ctx.sg_users(&sg.id);
        let mut f = if is_managed_sg(sg) {
            let Some((stack, tag)) = tagged_stack(sg) else {
                continue;
            };
            let kind_loaded = if stack.starts_with("service/") {
                ctx.world.kube.services.is_some()
            } else {
                ctx.world.kube.ingresses.is_some()
            };
            if live.contains(&stack) || !kind_loaded {
                continue;
            }
            let mut f = Finding::new("D27", Severity::Low, sg.id.clone()).evidence(format!(
                "{} is an LBC-managed SG tagged {tag}",
                ctx.sg_label(&sg.id)
            ));
            match deleting_owner(ctx, &stack) {
                Some(finalizers) => f.evidence.push(format!(
                    "{stack} is being deleted and still has finalizers [{}]: the LBC deletes this SG last",
                    finalizers.join(", ")
                )),
                None => f
                    .evidence
                    .push(format!("{stack} does not exist or is not handled by the LBC")),
            }
            f
        } else if sg.tags.get(RESOURCE_TAG).map(String::as_str) == Some(BACKEND_SG_RESOURCE)
            && !ctx.config().enable_backend_security_group
        {
            Finding::new("D27", Severity::Low, sg.id.clone()).evidence(format!(
                "{} is the LBC's backend SG, but the controller runs with --enable-backend-security-group=false: the LBC no longer uses or deletes it",
                ctx.sg_label(&sg.id)
            ))
        } else {
            continue;
        };
        if users.is_unused() {
            f.evidence.push(
                "it is attached to no load balancer or loaded ENI and referenced by no rule, so it can be deleted"
                    .into(),
            );
            let open: Vec<String> = sg
                .ingress
                .iter()
                .map(|r| format!("{} from {}", r.rule.ports_text(), r.rule.source))
                .collect();
            if !open.is_empty() {
                f.evidence.push(format!(
                    "its rules ({}) expose nothing while it is unattached",
                    open.join(", ")
                ));
            }
            f = f.remedy(Remedy::manual(format!(
                "delete it: aws ec2 delete-security-group --group-id {}",
                sg.id
            )));
        } else {
            f.severity = Severity::Medium;
            let mut used = Vec::new();
            if !users.load_balancers.is_empty() {
                used.push(format!("attached to {}", users.load_balancers.join(", ")));
            }
            if !users.enis.is_empty() {
                used.push(format!("attached to {}", users.enis.join(", ")));
            }
            if !users.referenced_by.is_empty() {
                used.push(format!(
                    "referenced by rules of {}",
                    users.referenced_by.join(", ")
                ));
            }
            f.evidence.push(format!(
                "it is still {}: deleting it fails with DependencyViolation",
                used.join("; ")
            ));
            f.objects.extend(users.referenced_by.iter().cloned());
            f.objects.extend(users.enis.iter().cloned());
            f = f.remedy(Remedy::manual(
                "remove the referencing rules and attachments first, then delete the SG",
            ));
        }
        out.push(f.objects([sg.id.clone()]));
    }
    out
}

/// The finalizers of a Service/Ingress that exists and is being deleted.
fn deleting_owner(ctx: &Ctx<'_>, stack: &str) -> Option<Vec<String>> {
    let (kind, rest) = stack.split_once('/')?;
    let (ns, name) = rest.split_once('/')?;
    let key = ObjKey::new(ns, name);
    let meta = match kind {
        "service" => &ctx.service(&key)?.meta,
        "ingress" => &ctx.world.kube.ingresses.as_ref()?.get(&key)?.meta,
        _ => return None,
    };
    meta.deleting.then(|| meta.finalizers.clone())
}

/// D29: the NLB has SGs but the LBC is now told to build none.
pub fn d29_feature_gate_flipped(ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for s in ctx.desired.stacks.values() {
        let Err(e) = &s.model else { continue };
        if !e.contains("conflicting security groups configuration") {
            continue;
        }
        let mut f = Finding::new("D29", Severity::High, s.id.to_string())
            .evidence(format!("Failed build model due to {e}"));
        if let Some(lb) = ctx.stack_lb(s) {
            f = f.objects([lb.arn.clone()]).evidence(format!(
                "{} already has security groups [{}]; they cannot be removed from an NLB",
                lb.name,
                lb.security_groups.join(", ")
            ));
        }
        let annotated = s.resources.iter().find(|r| {
            ctx.annotations(r)
                .and_then(|a| a.get(DISABLE_NLB_SG))
                .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        });
        f = match annotated {
            Some(r @ ResourceRef::Service(_)) => {
                f.evidence
                    .push(format!("{r} has {DISABLE_NLB_SG}: \"true\""));
                f.remedy(Remedy::edit(
                    format!("remove {DISABLE_NLB_SG} (it must be fixed at creation)"),
                    Edit::Annotations {
                        resource: r.clone(),
                        set: Default::default(),
                        unset: vec![DISABLE_NLB_SG.to_string()],
                    },
                ))
            }
            _ => {
                f.evidence
                    .push("the controller runs with --feature-gates=NLBSecurityGroup=false".into());
                f.remedy(Remedy::manual(
                    "set --feature-gates=NLBSecurityGroup=true on the controller again, or recreate the Service",
                ))
            }
        };
        out.push(f);
    }
    out
}

/// X06: SGs tagged for the cluster that nothing uses (only when ENIs and LBs are loaded).
pub fn x06_unused_cluster_sgs(ctx: &Ctx<'_>) -> Vec<Finding> {
    let w = ctx.world;
    if ctx.cluster.is_empty()
        || w.aws.enis.is_none()
        || w.aws.load_balancers.is_none()
        || !ctx.kube_known()
    {
        return Vec::new();
    }
    let tag = format!("kubernetes.io/cluster/{}", ctx.cluster);
    let named_in_annotations = |id: &str| {
        ctx.services()
            .flat_map(|s| s.meta.annotations.values())
            .chain(
                w.kube
                    .ingresses
                    .iter()
                    .flat_map(|m| m.values())
                    .flat_map(|i| i.meta.annotations.values()),
            )
            .any(|v| v.split(',').any(|t| t.trim() == id))
    };
    let mut out = Vec::new();
    for sg in ctx.sgs() {
        if !sg.tags.contains_key(&tag) || is_managed_sg(sg) || sg.name == "default" {
            continue;
        }
        if !ctx.sg_users(&sg.id).is_unused() || named_in_annotations(&sg.id) {
            continue;
        }
        out.push(
            Finding::new("X06", Severity::Low, sg.id.clone())
                .objects([sg.id.clone()])
                .evidence(format!(
                    "{} carries {tag} but is attached to no load balancer or loaded ENI and referenced by no rule",
                    ctx.sg_label(&sg.id)
                ))
                .remedy(Remedy::manual(
                    "delete it if it is a leftover; if it is kept for later, remember that a second cluster-tagged SG on an ENI stops the LBC's target rules (D04)",
                )),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::audit::testworld::*;

    #[test]
    fn d01_sg_less_nlb_and_not_with_sgs() {
        assert!(findings(&world(), "D01").is_empty());
        let mut w = world();
        lb_mut(&mut w).security_groups.clear();
        let f = findings(&w, "D01");
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].resource, "service/default/web");
        assert!(f[0].evidence.iter().any(|e| e.contains("sg-node")), "{f:?}");
    }

    fn leftover() -> SecurityGroup {
        sg(
            "sg-gone",
            &[
                ("elbv2.k8s.aws/cluster", "c"),
                ("service.k8s.aws/resource", "ManagedLBSecurityGroup"),
                ("service.k8s.aws/stack", "retired/gone"),
            ],
            vec![tcp(8080, "0.0.0.0/0")],
        )
    }

    #[test]
    fn d27_managed_sg_without_its_service() {
        let mut w = world();
        add_sg(&mut w, leftover());
        let f = findings(&w, "D27");
        assert_eq!(f.len(), 1);
        assert_eq!(
            (f[0].resource.as_str(), f[0].severity),
            ("sg-gone", Severity::Low)
        );
        assert!(f[0].evidence.iter().any(|e| e.contains("can be deleted")));
        // the live stack's own managed SG is not a leftover
        assert!(findings(&world(), "D27").is_empty());
    }

    #[test]
    fn d27_referenced_leftover_is_blocked() {
        let mut w = world();
        add_sg(&mut w, leftover());
        sg_mut(&mut w, "sg-node").ingress[0].rule.source =
            crate::world::Source::Group("sg-gone".into());
        let f = findings(&w, "D27");
        assert_eq!(f[0].severity, Severity::Medium);
        assert!(
            f[0].evidence
                .iter()
                .any(|e| e.contains("DependencyViolation"))
        );
    }

    #[test]
    fn d27_backend_sg_after_the_feature_is_off() {
        let mut w = world();
        w.controller.as_mut().unwrap().enable_backend_security_group = false;
        lb_mut(&mut w).security_groups = vec!["sg-web".into()];
        sg_mut(&mut w, "sg-node").ingress.clear();
        let f = findings(&w, "D27");
        assert!(f.iter().any(|f| f.resource == "sg-backend"), "{f:?}");
    }

    #[test]
    fn d29_disable_annotation_on_an_nlb_with_sgs() {
        assert!(findings(&world(), "D29").is_empty());
        let mut w = world();
        set_ann(web(&mut w), "aws-load-balancer-disable-nlb-sg", "true");
        let f = findings(&w, "D29");
        assert_eq!(f.len(), 1, "{f:?}");
        let edit = f[0].remedy.as_ref().unwrap().edit.clone().unwrap();
        let plan = crate::core::plan::plan(&w, &edit).unwrap();
        assert!(plan.errors.is_empty(), "{plan:?}");
    }

    #[test]
    fn x06_unused_cluster_tagged_sg() {
        let mut w = world();
        add_sg(
            &mut w,
            sg("sg-spare", &[("kubernetes.io/cluster/c", "owned")], vec![]),
        );
        assert_eq!(findings(&w, "X06").len(), 1);
        // attached to an ENI: used
        let eni = w.aws.enis.as_mut().unwrap().get_mut("eni-1").unwrap();
        eni.groups.push("sg-spare".into());
        assert!(findings(&w, "X06").is_empty());
        // without the cluster tag: not ours to judge
        let mut w = world();
        add_sg(&mut w, sg("sg-spare", &[], vec![]));
        assert!(findings(&w, "X06").is_empty());
    }
}
