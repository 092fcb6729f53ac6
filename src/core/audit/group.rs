//! IngressGroups whose members disagree on an SG setting (D16): the group fails as a whole.

use super::{Ctx, Finding, Remedy, Severity};
use crate::core::lbc::model::StackId;

/// The SG-related conflicts the group builder reports.
const CONFLICTS: &[&str] = &[
    "conflicting securityGroups",
    "conflicting inbound-cidrs",
    "conflicting manage backend security group rules settings",
    "conflicting security group prefix lists",
];

pub fn d16_group_conflicts(ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for s in ctx.desired.stacks.values() {
        let (StackId::Ingress(_), Err(e)) = (&s.id, &s.model) else {
            continue;
        };
        if !CONFLICTS.iter().any(|c| e.contains(c)) {
            continue;
        }
        let members: Vec<String> = s.resources.iter().map(ToString::to_string).collect();
        out.push(
            Finding::new("D16", Severity::High, s.id.to_string())
                .objects(members.iter().cloned())
                .evidence(format!("Failed build model due to {e}"))
                .evidence(format!(
                    "the whole group fails to reconcile: {}",
                    members.join(", ")
                ))
                .remedy(Remedy::manual(
                    "set the value on one member only, or make every member's value identical",
                )),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use crate::core::audit::testworld::*;
    use crate::world::{Ingress, IngressBackend, IngressClass, IntOrString, Meta, ObjKey};

    fn member(name: &str, sgs: &str) -> Ingress {
        let mut annotations = BTreeMap::from([
            (
                "alb.ingress.kubernetes.io/group.name".to_string(),
                "g".to_string(),
            ),
            (
                "alb.ingress.kubernetes.io/scheme".to_string(),
                "internal".to_string(),
            ),
        ]);
        if !sgs.is_empty() {
            annotations.insert(
                "alb.ingress.kubernetes.io/security-groups".into(),
                sgs.into(),
            );
        }
        Ingress {
            meta: Meta {
                namespace: "default".into(),
                name: name.into(),
                annotations,
                ..Meta::default()
            },
            ingress_class_name: Some("alb".into()),
            default_backend: Some(IngressBackend {
                service_name: "web".into(),
                service_port: IntOrString::Int(443),
            }),
            ..Ingress::default()
        }
    }

    fn group(a: &str, b: &str) -> crate::world::World {
        let mut w = world();
        add_sg(&mut w, sg("sg-a", &[], vec![]));
        add_sg(&mut w, sg("sg-b", &[], vec![]));
        w.kube.ingress_classes = Some(BTreeMap::from([(
            "alb".to_string(),
            IngressClass {
                meta: Meta {
                    name: "alb".into(),
                    ..Meta::default()
                },
                controller: "ingress.k8s.aws/alb".into(),
                params_name: None,
                is_default: false,
            },
        )]));
        let ings = [member("one", a), member("two", b)];
        w.kube.ingresses = Some(
            ings.into_iter()
                .map(|i| (ObjKey::new("default", i.meta.name.clone()), i))
                .collect(),
        );
        w
    }

    #[test]
    fn d16_members_disagree_on_security_groups() {
        let f = findings(&group("sg-a", "sg-b"), "D16");
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].resource, "ingress-group/g");
        assert_eq!(f[0].objects.len(), 2);
        assert!(findings(&group("sg-a", "sg-a"), "D16").is_empty());
        assert!(findings(&group("sg-a", ""), "D16").is_empty());
    }
}
