//! What the LBC would change on its next reconcile: rules on its SGs that differ from what it
//! reconciles (D25), and bindings without ready targets whose rules it revokes (D26).

use std::collections::BTreeMap;

use super::{Ctx, Finding, Remedy, Severity};
use crate::core::plan::ChangeKind;
use crate::world::Rule;

fn rules_text(rules: &[Rule]) -> String {
    rules
        .iter()
        .map(|r| format!("{} from {}", r.ports_text(), r.source))
        .collect::<Vec<_>>()
        .join(", ")
}

/// D25: pending rule and SG-list changes on objects the LBC owns.
pub fn d25_reverted_edits(ctx: &Ctx<'_>) -> Vec<Finding> {
    if !ctx.kube_known() || !ctx.aws_known() {
        return Vec::new(); // drift against an unknown side is not an edit
    }
    let mut by_resource: BTreeMap<String, Finding> = BTreeMap::new();
    for c in &ctx.drift.changes {
        if c.kind.subject().starts_with("$new:") {
            continue; // an SG the LBC has yet to create: nothing was edited
        }
        let (line, severity, object) = match &c.kind {
            ChangeKind::AuthorizeIngress { sg, rules } if c.stack.is_some() => (
                format!(
                    "managed SG {} lacks {}: clients are refused until the LBC adds it back",
                    ctx.sg_label(sg),
                    rules_text(rules)
                ),
                Severity::Medium,
                sg.clone(),
            ),
            ChangeKind::RevokeIngress { sg, rules, .. } if c.stack.is_some() => (
                format!(
                    "managed SG {} holds {} the LBC does not want: it revokes them on its next reconcile",
                    ctx.sg_label(sg),
                    rules_text(rules)
                ),
                Severity::Medium,
                sg.clone(),
            ),
            ChangeKind::AuthorizeIngress { sg, rules } => (
                format!(
                    "target SG {} lacks the LBC's {}: the targets are unreachable until the LBC authorizes it again",
                    ctx.sg_label(sg),
                    rules_text(rules)
                ),
                Severity::Medium,
                sg.clone(),
            ),
            ChangeKind::RevokeIngress { sg, rules, .. } => (
                format!(
                    "target SG {} holds LBC-labelled {} no binding needs: the LBC revokes them",
                    ctx.sg_label(sg),
                    rules_text(rules)
                ),
                Severity::Low,
                sg.clone(),
            ),
            ChangeKind::SetSecurityGroups {
                load_balancer,
                security_groups,
                private_link,
            } => (
                format!(
                    "the load balancer's SGs differ from the model: the LBC sets [{}]{}",
                    security_groups.join(", "),
                    private_link
                        .as_ref()
                        .map(|p| format!(" with PrivateLink inbound-rule enforcement {p}"))
                        .unwrap_or_default()
                ),
                Severity::Medium,
                load_balancer.clone(),
            ),
            _ => continue,
        };
        let resource = c.stack.clone().unwrap_or_else(|| object.clone());
        let f = by_resource.entry(resource.clone()).or_insert_with(|| {
            Finding::new("D25", Severity::Low, resource)
                .remedy(Remedy::manual(
                    "express the intent through the Service/Ingress annotations (or use a custom SG); exempt the LBC's SGs from remediation bots",
                ))
        });
        f.severity = f.severity.max(severity);
        f.objects.push(object);
        f.evidence.push(line);
    }
    by_resource
        .into_values()
        .map(|f| {
            f.evidence(
                "either someone edited it outside the LBC, or the LBC has not reconciled the latest change yet",
            )
        })
        .collect()
}

/// D26: bindings whose targets are all gone or not ready: the LBC computes no rule for them.
pub fn d26_no_ready_targets(ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for t in &ctx.desired.targets.tgbs {
        let Ok(per_sg) = &t.result else { continue };
        if !per_sg.is_empty() || t.backend_not_found.is_some() {
            continue;
        }
        out.push(
            Finding::new("D26", Severity::Low, ctx.tgb_resource(&t.key))
                .objects([t.key.clone()])
                .evidence(format!(
                    "binding {} has no ready endpoint (ip) or eligible node (instance): the LBC wants no target rule for it and revokes the ones only it needed",
                    t.key
                ))
                .evidence("when targets come back they stay unhealthy until the LBC authorizes the rule again")
                .remedy(Remedy::manual(
                    "find out why no target is ready (node readiness, pod readiness, node selector); expect Authorize/Revoke churn in CloudTrail",
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
    fn d25_hand_rule_on_the_managed_sg() {
        assert!(findings(&world(), "D25").is_empty());
        let mut w = world();
        sg_mut(&mut w, "sg-web").ingress.push(crate::world::SgRule {
            rule: tcp(22, "198.51.100.0/24"),
            id: None,
            tags: Default::default(),
        });
        let f = findings(&w, "D25");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].resource, "service/default/web");
        assert!(f[0].evidence[0].contains("revokes"), "{f:?}");
    }

    #[test]
    fn d25_lbc_rule_removed_from_the_target_sg() {
        let mut w = world();
        sg_mut(&mut w, "sg-node").ingress.clear();
        let f = findings(&w, "D25");
        assert_eq!(f.len(), 1);
        assert_eq!(
            (f[0].resource.as_str(), f[0].severity),
            ("sg-node", Severity::Medium)
        );
    }

    #[test]
    fn d26_no_ready_node() {
        assert!(findings(&world(), "D26").is_empty());
        let mut w = world();
        w.kube
            .nodes
            .as_mut()
            .unwrap()
            .values_mut()
            .for_each(|n| n.ready = false);
        let f = findings(&w, "D26");
        assert_eq!(f.len(), 1, "{:#?}", crate::core::audit::audit(&w).findings);
        assert_eq!(f[0].resource, "service/default/web");
    }
}
