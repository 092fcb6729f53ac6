//! Source lists: duplicate CIDRs (D17), dual-stack LBs without IPv6 sources and IPv6 on
//! IPv4-only LBs (D18), and ranges written where the LBC does not read them (D21).

use std::collections::BTreeMap;

use ipnet::IpNet;

use super::{Ctx, Finding, Remedy, Severity};
use crate::core::lbc::annotations::split_list;
use crate::core::lbc::model::Frontend;
use crate::core::plan::{Edit, ResourceRef};
use crate::world::{Ingress, IngressClassParams, ObjKey, Source};

const SVC_RANGES: &str = "service.beta.kubernetes.io/load-balancer-source-ranges";
const SVC_PREFIX_LISTS: &str =
    "service.beta.kubernetes.io/aws-load-balancer-security-group-prefix-lists";
const ING_CIDRS: &str = "alb.ingress.kubernetes.io/inbound-cidrs";
const ING_PREFIX_LISTS: &str = "alb.ingress.kubernetes.io/security-group-prefix-lists";

/// Where a source list was written.
enum Origin {
    Spec,
    Annotation(&'static str),
    ClassParams(String),
}

/// Every source list of the LBC's Services and Ingresses, with where it was written.
fn source_lists(ctx: &Ctx<'_>) -> Vec<(ResourceRef, Origin, Vec<String>)> {
    let mut out = Vec::new();
    for s in ctx.desired.stacks.values() {
        for r in &s.resources {
            match r {
                ResourceRef::Service(k) => {
                    let Some(svc) = ctx.service(k) else { continue };
                    if !svc.spec.load_balancer_source_ranges.is_empty() {
                        out.push((
                            r.clone(),
                            Origin::Spec,
                            svc.spec.load_balancer_source_ranges.clone(),
                        ));
                    }
                    if let Some(v) = svc.meta.annotations.get(SVC_RANGES) {
                        out.push((r.clone(), Origin::Annotation(SVC_RANGES), split_list(v)));
                    }
                }
                ResourceRef::Ingress(k) => {
                    let Some(ing) = ingress(ctx, k) else { continue };
                    if let Some(v) = ing.meta.annotations.get(ING_CIDRS) {
                        out.push((r.clone(), Origin::Annotation(ING_CIDRS), split_list(v)));
                    }
                    if let Some(p) = class_params(ctx, ing).filter(|p| !p.inbound_cidrs.is_empty())
                    {
                        out.push((
                            r.clone(),
                            Origin::ClassParams(p.meta.name.clone()),
                            p.inbound_cidrs.clone(),
                        ));
                    }
                }
            }
        }
    }
    out
}

fn ingress<'w>(ctx: &Ctx<'w>, k: &ObjKey) -> Option<&'w Ingress> {
    ctx.world.kube.ingresses.as_ref()?.get(k)
}

/// The IngressClassParams an Ingress's class points at.
fn class_params<'w>(ctx: &Ctx<'w>, ing: &Ingress) -> Option<&'w IngressClassParams> {
    let class = ctx
        .world
        .kube
        .ingress_classes
        .as_ref()?
        .get(ing.ingress_class_name.as_deref()?)?;
    ctx.world
        .kube
        .ingress_class_params
        .as_ref()?
        .get(class.params_name.as_deref()?)
}

/// D17: the same network twice in one list.
pub fn d17_duplicate_cidrs(ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for (r, origin, list) in source_lists(ctx) {
        let mut by_net: BTreeMap<String, Vec<&String>> = BTreeMap::new();
        for c in &list {
            let net = c
                .parse::<IpNet>()
                .map(|n| n.trunc().to_string())
                .unwrap_or_else(|_| c.clone());
            by_net.entry(net).or_default().push(c);
        }
        let dups: Vec<(&String, &Vec<&String>)> =
            by_net.iter().filter(|(_, v)| v.len() > 1).collect();
        if dups.is_empty() {
            continue;
        }
        let spelled_apart = dups.iter().any(|(_, v)| v.iter().any(|c| *c != v[0]));
        let where_ = match &origin {
            Origin::Spec => "spec.loadBalancerSourceRanges".to_string(),
            Origin::Annotation(k) => (*k).to_string(),
            Origin::ClassParams(n) => format!("IngressClassParams {n} inboundCIDRs"),
        };
        let mut f = Finding::new(
            "D17",
            if spelled_apart {
                Severity::Medium
            } else {
                Severity::Low
            },
            r.to_string(),
        );
        for (net, spellings) in &dups {
            f.evidence.push(format!(
                "{where_} lists {net} {} times ({})",
                spellings.len(),
                spellings
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        f.evidence.push(if spelled_apart {
            "written differently, EC2 stores one rule while the LBC keeps asking for each spelling ('The same permission must not appear multiple times')".to_string()
        } else {
            "the LBC collapses identical entries; harmless, but the list says less than it seems".to_string()
        });
        let mut seen = std::collections::BTreeSet::new();
        let deduped: Vec<String> = list
            .iter()
            .filter(|c| {
                let net = c
                    .parse::<IpNet>()
                    .map(|n| n.trunc().to_string())
                    .unwrap_or_else(|_| (*c).clone());
                seen.insert(net)
            })
            .cloned()
            .collect();
        f = match origin {
            Origin::Annotation(key) => f.remedy(Remedy::edit(
                "write each network once",
                Edit::Annotations {
                    resource: r.clone(),
                    set: BTreeMap::from([(key.to_string(), deduped.join(","))]),
                    unset: Vec::new(),
                },
            )),
            _ => f.remedy(Remedy::manual(format!(
                "write each network once in {where_}: {}",
                deduped.join(", ")
            ))),
        };
        out.push(f);
    }
    out
}

/// D18: IPv6 configuration errors, and dual-stack LBs whose frontend SGs admit only IPv4 clients.
pub fn d18_dualstack(ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for s in ctx.desired.stacks.values() {
        if let Err(e) = &s.model
            && (e.contains("unsupported v6 cidr") || e.contains("unsupported IPv6 configuration"))
        {
            out.push(
                Finding::new("D18", Severity::High, s.id.to_string())
                    .evidence(format!("Failed build model due to {e}"))
                    .remedy(Remedy::manual(
                        "make the load balancer dualstack (ip-address-type) before listing IPv6 sources, or drop them",
                    )),
            );
        }
    }
    for (s, _) in ctx.modelled() {
        let Some(lb) = s.lb.as_deref().and_then(|a| ctx.facts.lb(a)) else {
            continue;
        };
        if !lb.dualstack() || lb.sg_less() {
            continue;
        }
        let v4_only: Vec<String> = lb
            .listeners
            .iter()
            .filter(|l| {
                let srcs: Vec<Source> = l.sources.iter().map(|t| Source::parse_token(t)).collect();
                srcs.iter().any(|s| matches!(s, Source::Cidr(_)))
                    && !srcs.iter().any(|s| matches!(s, Source::CidrV6(_)))
            })
            .map(|l| format!("{}/{}", l.protocol.to_ascii_lowercase(), l.port))
            .collect();
        if v4_only.is_empty() {
            continue;
        }
        out.push(
            Finding::new("D18", Severity::Medium, s.id.to_string())
                .objects([lb.arn.clone()])
                .objects(lb.security_groups.iter().cloned())
                .evidence(format!(
                    "{} is {}, but its SGs admit only IPv4 sources on {}: IPv6 clients time out",
                    lb.name,
                    lb.ip_address_type,
                    v4_only.join(", ")
                ))
                .remedy(Remedy::manual(
                    "add the IPv6 client ranges (for example ::/0) to the source ranges, or to the custom SG",
                )),
        );
    }
    out
}

/// D21: ranges written where the LBC does not read them.
pub fn d21_source_precedence(ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for (s, m) in ctx.modelled() {
        let custom = matches!(m.frontend, Frontend::Custom(_));
        for r in &s.resources {
            let Some(ann) = ctx.annotations(r) else {
                continue;
            };
            let mut ignored: Vec<(&str, String)> = Vec::new();
            match r {
                ResourceRef::Service(k) => {
                    let Some(svc) = ctx.service(k) else { continue };
                    let spec = !svc.spec.load_balancer_source_ranges.is_empty();
                    if custom {
                        if ann.contains_key(SVC_RANGES) {
                            ignored.push((
                                SVC_RANGES,
                                "custom security groups are set: the LBC writes no frontend rule"
                                    .into(),
                            ));
                        }
                        if ann.contains_key(SVC_PREFIX_LISTS) {
                            ignored.push((
                                SVC_PREFIX_LISTS,
                                "custom security groups are set: the LBC writes no frontend rule"
                                    .into(),
                            ));
                        }
                        if spec {
                            ignored.push((
                                "spec.loadBalancerSourceRanges",
                                "custom security groups are set: the LBC writes no frontend rule"
                                    .into(),
                            ));
                        }
                    } else if spec && ann.contains_key(SVC_RANGES) {
                        ignored.push((
                            SVC_RANGES,
                            "spec.loadBalancerSourceRanges is set and wins".into(),
                        ));
                    }
                }
                ResourceRef::Ingress(k) => {
                    let Some(ing) = ingress(ctx, k) else { continue };
                    let params = class_params(ctx, ing).filter(|p| !p.inbound_cidrs.is_empty());
                    if custom {
                        for key in [ING_CIDRS, ING_PREFIX_LISTS] {
                            if ann.contains_key(key) {
                                ignored.push((key, "custom security groups are set: the LBC writes no frontend rule".into()));
                            }
                        }
                    } else if let (Some(p), true) = (params, ann.contains_key(ING_CIDRS)) {
                        ignored.push((
                            ING_CIDRS,
                            format!(
                                "IngressClassParams {} sets inboundCIDRs, which win",
                                p.meta.name
                            ),
                        ));
                    }
                }
            }
            if ignored.is_empty() {
                continue;
            }
            let mut f = Finding::new("D21", Severity::Low, r.to_string());
            for (key, why) in &ignored {
                f.evidence.push(format!("{key} is ignored: {why}"));
            }
            let unset: Vec<String> = ignored
                .iter()
                .map(|(k, _)| *k)
                .filter(|k| ann.contains_key(*k))
                .map(String::from)
                .collect();
            f = if unset.is_empty() {
                f.remedy(Remedy::manual(
                    "edit the setting that is in force, and clear the ignored one",
                ))
            } else {
                f.remedy(Remedy::edit(
                    "remove the ignored annotation so the object says what is in force",
                    Edit::Annotations {
                        resource: r.clone(),
                        set: BTreeMap::new(),
                        unset,
                    },
                ))
            };
            out.push(f);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::audit::testworld::*;

    #[test]
    fn d17_duplicates_identical_and_spelled_apart() {
        assert!(findings(&world(), "D17").is_empty());
        let mut w = world();
        set_ann(
            web(&mut w),
            "load-balancer-source-ranges",
            "10.0.0.0/8,192.0.2.0/24",
        );
        assert!(findings(&w, "D17").is_empty());
        set_ann(
            web(&mut w),
            "load-balancer-source-ranges",
            "10.0.0.0/8, 10.0.0.0/8",
        );
        assert_eq!(findings(&w, "D17")[0].severity, Severity::Low);
        set_ann(
            web(&mut w),
            "load-balancer-source-ranges",
            "10.0.0.0/8,10.1.0.0/8",
        );
        let f = findings(&w, "D17");
        assert_eq!(f[0].severity, Severity::Medium);
        let edit = f[0].remedy.as_ref().unwrap().edit.clone().unwrap();
        let Edit::Annotations { set, .. } = &edit else {
            panic!()
        };
        assert_eq!(set[SVC_RANGES], "10.0.0.0/8");
    }

    #[test]
    fn d18_ipv6_cidr_on_ipv4_lb_and_dualstack_without_v6() {
        assert!(findings(&world(), "D18").is_empty());
        let mut w = world();
        web(&mut w).spec.load_balancer_source_ranges = vec!["2001:db8::/32".into()];
        assert_eq!(findings(&w, "D18")[0].severity, Severity::High);

        let mut w = world();
        set_ann(
            web(&mut w),
            "aws-load-balancer-ip-address-type",
            "dualstack",
        );
        lb_mut(&mut w).ip_address_type = "dualstack".into();
        web(&mut w).spec.load_balancer_source_ranges = vec!["10.0.0.0/8".into()];
        sg_mut(&mut w, "sg-web").ingress[0].rule = tcp(443, "10.0.0.0/8");
        let f = findings(&w, "D18");
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].severity, Severity::Medium);
        // with an IPv6 rule too: fine
        sg_mut(&mut w, "sg-web").ingress.push(crate::world::SgRule {
            rule: tcp(443, "::/0"),
            id: None,
            tags: Default::default(),
        });
        assert!(findings(&w, "D18").is_empty());
    }

    #[test]
    fn d21_spec_wins_over_the_annotation() {
        let mut w = world();
        web(&mut w).spec.load_balancer_source_ranges = vec!["10.0.0.0/8".into()];
        assert!(findings(&w, "D21").is_empty());
        set_ann(web(&mut w), "load-balancer-source-ranges", "192.0.2.0/24");
        let f = findings(&w, "D21");
        assert_eq!(f.len(), 1);
        let edit = f[0].remedy.as_ref().unwrap().edit.clone().unwrap();
        assert!(crate::core::plan::plan(&w, &edit).is_ok());
    }
}
