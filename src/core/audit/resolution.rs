//! Custom SGs the `security-groups` annotation names but the LBC cannot find: names without a
//! matching `Name` tag in the cluster's VPC (D14), ids that do not exist (D15).

use std::collections::BTreeMap;

use super::{Ctx, Finding, Remedy, Severity};
use crate::core::lbc::annotations::split_list;
use crate::core::plan::{Edit, ResourceRef};

const SVC_SGS: &str = "service.beta.kubernetes.io/aws-load-balancer-security-groups";
const ING_SGS: &str = "alb.ingress.kubernetes.io/security-groups";

fn sgs_key(r: &ResourceRef) -> &'static str {
    match r {
        ResourceRef::Service(_) => SVC_SGS,
        ResourceRef::Ingress(_) => ING_SGS,
    }
}

/// `requested <what> [a, b] but found [c]` → the requested items not found.
fn missing(err: &str, what: &str) -> Vec<String> {
    let Some(rest) = err.split(&format!("requested {what} [")).nth(1) else {
        return Vec::new();
    };
    let Some((requested, rest)) = rest.split_once(']') else {
        return Vec::new();
    };
    let found = rest
        .split_once("but found [")
        .and_then(|(_, f)| f.split_once(']'))
        .map(|(f, _)| f)
        .unwrap_or_default();
    let found: Vec<&str> = found.split(", ").filter(|s| !s.is_empty()).collect();
    requested
        .split(", ")
        .filter(|r| !r.is_empty() && !found.contains(r))
        .map(String::from)
        .collect()
}

/// `InvalidGroup.NotFound: The security group 'sg-…' does not exist` → the id (EC2 fails a
/// by-id lookup on the first unknown id).
fn not_found(err: &str) -> Option<String> {
    let rest = err.split("The security group '").nth(1)?;
    let (id, rest) = rest.split_once('\'')?;
    rest.starts_with(" does not exist").then(|| id.to_string())
}

pub fn d14_d15_unresolved_sgs(ctx: &Ctx<'_>) -> Vec<Finding> {
    let vpc = ctx.desired.vpc_id.as_deref();
    let mut out = Vec::new();
    for s in ctx.desired.stacks.values() {
        let Err(e) = &s.model else { continue };
        if !e.contains("couldn't find all security groups") {
            continue;
        }
        let names = missing(e, "names");
        let mut ids = missing(e, "ids");
        ids.extend(not_found(e));
        let member = s.resources.iter().find(|r| {
            ctx.annotations(r)
                .is_some_and(|a| a.contains_key(sgs_key(r)))
        });
        if !names.is_empty() {
            let mut f = Finding::new("D14", Severity::High, s.id.to_string())
                .evidence(format!("Failed build model due to {e}"))
                .evidence("the LBC resolves names by the Name tag in the cluster's VPC, never by GroupName");
            let mut replace: BTreeMap<String, String> = BTreeMap::new();
            for name in &names {
                let by_group_name: Vec<&str> = ctx
                    .sgs()
                    .filter(|g| g.name == *name && (vpc.is_none() || g.vpc_id.as_deref() == vpc))
                    .map(|g| g.id.as_str())
                    .collect();
                let tagged_elsewhere: Vec<String> = ctx
                    .sgs()
                    .filter(|g| g.name_tag() == Some(name.as_str()))
                    .map(|g| {
                        format!(
                            "{} (in {})",
                            g.id,
                            g.vpc_id.as_deref().unwrap_or("another VPC")
                        )
                    })
                    .collect();
                f.objects
                    .extend(by_group_name.iter().map(|s| s.to_string()));
                match by_group_name.as_slice() {
                    [one] => {
                        f.evidence.push(format!(
                            "{one} has GroupName {name} but no Name tag: tag it Name={name} or use its id"
                        ));
                        replace.insert(name.clone(), one.to_string());
                    }
                    [] if !tagged_elsewhere.is_empty() => f.evidence.push(format!(
                        "Name={name} is on {}, outside the cluster's VPC",
                        tagged_elsewhere.join(", ")
                    )),
                    [] => f
                        .evidence
                        .push(format!("no SG in the world is named or tagged {name}")),
                    many => f.evidence.push(format!(
                        "several SGs have GroupName {name}: {}",
                        many.join(", ")
                    )),
                }
            }
            let edit = member.and_then(|r| {
                if replace.len() != names.len() {
                    return None;
                }
                let raw = ctx.annotations(r)?.get(sgs_key(r))?;
                let tokens: Vec<String> = split_list(raw)
                    .into_iter()
                    .map(|t| replace.get(&t).cloned().unwrap_or(t))
                    .collect();
                Some(Edit::Annotations {
                    resource: r.clone(),
                    set: BTreeMap::from([(sgs_key(r).to_string(), tokens.join(","))]),
                    unset: Vec::new(),
                })
            });
            f = match edit {
                Some(edit) => f.remedy(Remedy::edit(
                    "name the SG by its id in the security-groups annotation",
                    edit,
                )),
                None => f.remedy(Remedy::manual(
                    "use sg- ids in the security-groups annotation, or tag the SG Name=<value> in the cluster's VPC",
                )),
            };
            out.push(f);
        }
        if !ids.is_empty() {
            let mut f = Finding::new("D15", Severity::High, s.id.to_string())
                .objects(ids.iter().cloned())
                .evidence(format!("Failed build model due to {e}"));
            for id in &ids {
                f.evidence.push(format!(
                    "{id} is not in the loaded inventory: deleted, or in another account or Region"
                ));
            }
            out.push(f.remedy(Remedy::manual(
                "correct the ids in the security-groups annotation",
            )));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::audit::testworld::*;

    #[test]
    fn parses_requested_and_found() {
        let e = "couldn't find all security groups: requested ids [sg-1, sg-2] but found [sg-1], requested names [a, b] but found [b]";
        assert_eq!(missing(e, "ids"), vec!["sg-2"]);
        assert_eq!(missing(e, "names"), vec!["a"]);
        let e = "couldn't find all security groups: InvalidGroup.NotFound: The security group 'sg-9' does not exist";
        assert_eq!(not_found(e).as_deref(), Some("sg-9"));
    }

    #[test]
    fn d14_group_name_is_not_a_name_tag() {
        let mut w = world();
        let mut custom = sg("sg-fe", &[], vec![tcp(443, "0.0.0.0/0")]);
        custom.name = "frontend".into();
        add_sg(&mut w, custom);
        set_ann(web(&mut w), "aws-load-balancer-security-groups", "frontend");
        let f = findings(&w, "D14");
        assert_eq!(f.len(), 1, "{:#?}", crate::core::audit::audit(&w).findings);
        assert!(
            f[0].evidence
                .iter()
                .any(|e| e.contains("GroupName frontend"))
        );
        let edit = f[0].remedy.as_ref().unwrap().edit.clone().unwrap();
        let plan = crate::core::plan::plan(&w, &edit).unwrap();
        assert!(plan.errors.is_empty(), "{plan:#?}");
        // with the Name tag it resolves
        sg_mut(&mut w, "sg-fe")
            .tags
            .insert("Name".into(), "frontend".into());
        assert!(findings(&w, "D14").is_empty());
    }

    #[test]
    fn d15_unknown_id() {
        let mut w = world();
        set_ann(
            web(&mut w),
            "aws-load-balancer-security-groups",
            "sg-missing",
        );
        let f = findings(&w, "D15");
        assert_eq!(f.len(), 1, "{:#?}", crate::core::audit::audit(&w).findings);
        assert_eq!(f[0].objects, vec!["sg-missing".to_string()]);
        add_sg(&mut w, sg("sg-missing", &[], vec![]));
        assert!(findings(&w, "D15").is_empty());
    }
}
