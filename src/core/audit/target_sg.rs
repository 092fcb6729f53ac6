//! Which SG of a target ENI gets the LBC's rule (lbc-semantics §8.2): several cluster-tagged SGs
//! (D04), none (D05), or a pod's branch ENI in either state (D06). The LBC's own error for the
//! binding decides; this explains it with the ENI's SGs and the targets it leaves unreachable.

use super::{Ctx, Finding, Remedy, Severity};
use crate::core::lbc::target::TargetError;

const SELECT_ERROR: &str = "expected exactly one securityGroup tagged with";

/// `eni-…` and the SG list from the LBC's selection error.
fn parse_error(msg: &str) -> Option<(String, Vec<String>)> {
    let eni = msg.split("for eni ").nth(1)?.split([',', ' ']).next()?;
    let got = msg.split("got: [").nth(1)?.split(']').next()?;
    Some((
        eni.to_string(),
        got.split_whitespace().map(String::from).collect(),
    ))
}

pub fn d04_d05_d06_target_sg_selection(ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    let tag = format!("kubernetes.io/cluster/{}", ctx.cluster);
    for t in &ctx.desired.targets.tgbs {
        let Err(TargetError::Lbc(msg)) = &t.result else {
            continue;
        };
        if !msg.contains(SELECT_ERROR) {
            continue;
        }
        let Some((eni_id, tagged)) = parse_error(msg) else {
            continue;
        };
        let eni = ctx.world.aws.enis.as_ref().and_then(|m| m.get(&eni_id));
        let branch = eni.is_some_and(|e| {
            e.interface_type.as_deref() == Some("branch")
                || e.description.contains("aws-k8s-branch-eni")
        });
        let id = if branch {
            "D06"
        } else if tagged.is_empty() {
            "D05"
        } else {
            "D04"
        };
        let resource = ctx.tgb_resource(&t.key);
        let sgs: Vec<String> = eni.map(|e| e.groups.clone()).unwrap_or_default();
        let mut f = Finding::new(id, Severity::High, resource)
            .objects([eni_id.clone()])
            .objects(sgs.iter().cloned())
            .evidence(format!("the LBC fails binding {}: {msg}", t.key));
        if !sgs.is_empty() {
            let described: Vec<String> = sgs
                .iter()
                .map(|s| {
                    let tagged_here = ctx.sg(s).is_some_and(|g| g.tags.contains_key(&tag));
                    format!(
                        "{}{}",
                        ctx.sg_label(s),
                        if tagged_here { " [tagged]" } else { "" }
                    )
                })
                .collect();
            f.evidence.push(format!(
                "{eni_id}{} has {} SGs: {}",
                if branch { " (a pod's branch ENI)" } else { "" },
                sgs.len(),
                described.join(", ")
            ));
        }
        if id == "D05" {
            let other_clusters: Vec<String> = sgs
                .iter()
                .filter_map(|s| ctx.sg(s))
                .flat_map(|g| g.tags.keys())
                .filter_map(|k| k.strip_prefix("kubernetes.io/cluster/"))
                .map(String::from)
                .collect();
            if !other_clusters.is_empty() {
                f.evidence.push(format!(
                    "its SGs are tagged for cluster {} — is the controller's --cluster-name ({}) right?",
                    other_clusters.join(", "),
                    ctx.cluster
                ));
            }
        }
        for (lb, (arn, tg)) in ctx
            .facts
            .lbs
            .values()
            .flat_map(|l| l.target_groups.iter().map(move |t| (l, t)))
        {
            let on_eni: Vec<&super::facts::TargetFacts> = tg
                .targets
                .iter()
                .flatten()
                .filter(|x| x.eni.as_deref() == Some(eni_id.as_str()))
                .collect();
            if on_eni.is_empty() || !tg_matches_binding(ctx, &t.key, arn) {
                continue;
            }
            let blocked: Vec<String> = on_eni
                .iter()
                .filter(|x| x.traffic.is_blocked())
                .map(|x| match (&x.state, &x.reason) {
                    (Some(s), Some(r)) => format!("{} ({s}, {r})", x.id),
                    (Some(s), None) => format!("{} ({s})", x.id),
                    _ => x.id.clone(),
                })
                .collect();
            if !blocked.is_empty() {
                let port = on_eni[0].port.or(tg.port).unwrap_or(0);
                let ports: Vec<String> = tg.protos.iter().map(|p| format!("{p}/{port}")).collect();
                f.evidence.push(format!(
                    "nothing on {} admits {} on {}: {} unreachable",
                    sgs.join(" or "),
                    lb.security_groups.join(" or "),
                    ports.join(" and "),
                    blocked.join(", ")
                ));
            }
        }
        if !ctx.desired.targets.complete {
            f.evidence.push(
                "while a binding fails the LBC only authorizes: it revokes no stale target rule anywhere in the cluster"
                    .into(),
            );
        }
        let remedy = match id {
            "D04" => {
                let untag: Vec<String> = tagged
                    .iter()
                    .filter(|s| {
                        ctx.sg(s)
                            .is_some_and(|g| !g.tags.contains_key("aws:eks:cluster-name"))
                    })
                    .cloned()
                    .collect();
                let which = if untag.is_empty() {
                    "all but one of them".to_string()
                } else {
                    untag.join(", ")
                };
                Remedy::manual(format!(
                    "remove the tag {tag} from {which} (EKS re-adds it to its cluster SG), or run the LBC with --service-target-eni-security-group-tags=KEY=VALUE and tag the SG that should receive the rules"
                ))
            }
            "D05" => Remedy::manual(format!(
                "tag exactly one SG of {eni_id} with {tag}=owned (or shared), or fix --cluster-name"
            )),
            _ => Remedy::manual(format!(
                "make exactly one SG of the pod's SecurityGroupPolicy carry {tag}, or add a rule from the backend SG to the pod SG by hand"
            )),
        };
        out.push(f.remedy(remedy));
    }
    out
}

/// Whether the target group `arn` is the one of binding `key` (a modelled binding names its
/// stack; an object names itself).
fn tg_matches_binding(ctx: &Ctx<'_>, key: &str, arn: &str) -> bool {
    match key.split_once(' ') {
        Some((stack, _)) => ctx
            .facts
            .lbs
            .values()
            .any(|l| l.owner.as_deref() == Some(stack) && l.target_groups.contains_key(arn)),
        None => ctx.tgb_of_tg(arn).is_some_and(|k| k.to_string() == key),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::audit::testworld::*;

    fn two_sgs(w: &mut crate::world::World, second_tags: &[(&str, &str)]) {
        add_sg(w, sg("sg-extra", second_tags, vec![]));
        let eni = w.aws.enis.as_mut().unwrap().get_mut("eni-1").unwrap();
        eni.groups.push("sg-extra".into());
    }

    #[test]
    fn parses_the_lbc_error() {
        let (eni, sgs) = parse_error("expected exactly one securityGroup tagged with kubernetes.io/cluster/demo for eni eni-0node3, got: [sg-a sg-b] (clusterName: demo)").unwrap();
        assert_eq!(eni, "eni-0node3");
        assert_eq!(sgs, vec!["sg-a", "sg-b"]);
    }

    #[test]
    fn d04_two_tagged_sgs_and_not_one() {
        assert!(findings(&world(), "D04").is_empty());
        let mut w = world();
        two_sgs(&mut w, &[("kubernetes.io/cluster/c", "owned")]);
        let f = findings(&w, "D04");
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].resource, "service/default/web");
        assert!(f[0].objects.contains(&"eni-1".to_string()));
        assert!(
            f[0].evidence[0].contains("got: [sg-extra sg-node]"),
            "{f:?}"
        );
        // an untagged second SG is fine: the tagged one is chosen
        let mut w = world();
        two_sgs(&mut w, &[]);
        assert!(findings(&w, "D04").is_empty());
    }

    #[test]
    fn d05_no_tagged_sg() {
        let mut w = world();
        two_sgs(&mut w, &[("kubernetes.io/cluster/other", "owned")]);
        sg_mut(&mut w, "sg-node").tags.clear();
        let f = findings(&w, "D05");
        assert_eq!(f.len(), 1, "{:?}", crate::core::audit::audit(&w).findings);
        assert!(f[0].evidence.iter().any(|e| e.contains("cluster other")));
    }

    #[test]
    fn d06_branch_eni() {
        let mut w = world();
        two_sgs(&mut w, &[("kubernetes.io/cluster/c", "owned")]);
        let eni = w.aws.enis.as_mut().unwrap().get_mut("eni-1").unwrap();
        eni.interface_type = Some("branch".into());
        assert_eq!(findings(&w, "D06").len(), 1);
        assert!(findings(&w, "D04").is_empty());
    }
}
