//! The managed NLB frontend SG: source CIDRs, inbound rules, name and model tags
//! (lbc-semantics §5.1, §5.2, §5.4).

use super::lb_attrs::IP_TYPE_DUALSTACK;
use super::{port_protocol, service_annotations};
use crate::core::lbc::annotations::Annotations;
use crate::core::lbc::model::ManagedSg;
use crate::core::lbc::naming::{MANAGED_SG_DESCRIPTION, service_sg_name};
use crate::world::{ControllerConfig, Rule, Service, Source, Tags};

pub(crate) const SOURCE_RANGES_KEY: &str = "load-balancer-source-ranges";
const PREFIX_LISTS_KEY: &str = "aws-load-balancer-security-group-prefix-lists";
const ICMP_KEY: &str = "aws-load-balancer-enable-icmp-for-path-mtu-discovery";
const ADDITIONAL_TAGS_KEY: &str = "aws-load-balancer-additional-resource-tags";

/// ICMP "fragmentation needed" (type 3, code 4) and ICMPv6 "packet too big" (type 2, code 0).
const ICMP_V4: (&str, i32, i32) = ("icmp", 3, 4);
const ICMP_V6: (&str, i32, i32) = ("icmpv6", 2, 0);

/// Client ranges as the Service gives them: `spec.loadBalancerSourceRanges` when non-empty,
/// else the `load-balancer-source-ranges` annotation. Shared with the legacy target rules.
pub fn source_ranges(svc: &Service) -> Vec<String> {
    if !svc.spec.load_balancer_source_ranges.is_empty() {
        return svc.spec.load_balancer_source_ranges.clone();
    }
    service_annotations(svc)
        .list(SOURCE_RANGES_KEY)
        .unwrap_or_default()
}

/// Whether the prefix-list annotation is present at all (even empty, it suppresses the defaults).
pub fn prefix_lists_configured(svc: &Service) -> bool {
    service_annotations(svc).has(PREFIX_LISTS_KEY)
}

/// The CIDRs of the managed SG's rules: source ranges (IPv6 ones only on dualstack), else
/// nothing when prefix lists are configured, else `0.0.0.0/0` (+ `::/0` on dualstack).
/// Neither the scheme nor CIDR syntax matter here.
pub fn source_cidrs(
    svc: &Service,
    ip_address_type: &str,
    prefix_lists_configured: bool,
) -> Result<Vec<String>, String> {
    let cidrs = source_ranges(svc);
    if let Some(v6) = cidrs
        .iter()
        .find(|c| c.contains(':') && ip_address_type != IP_TYPE_DUALSTACK)
    {
        return Err(format!("unsupported v6 cidr {v6} when lb is not dualstack"));
    }
    if !cidrs.is_empty() || prefix_lists_configured {
        return Ok(cidrs);
    }
    let mut defaults = vec!["0.0.0.0/0".to_string()];
    if ip_address_type == IP_TYPE_DUALSTACK {
        defaults.push("::/0".to_string());
    }
    Ok(defaults)
}

/// The managed SG's inbound rules in the LBC's order: per service port, each CIDR (followed by its
/// ICMP rule when the path-MTU annotation is exactly `on`), then each prefix list. Protocol is the
/// lowercased port protocol; ports are the listener port. Descriptions are empty.
pub fn managed_sg_rules(svc: &Service, ip_address_type: &str) -> Result<Vec<Rule>, String> {
    let ann = service_annotations(svc);
    let icmp = ann.get(ICMP_KEY) == Some("on");
    let prefix_lists = ann.list(PREFIX_LISTS_KEY);
    let cidrs = source_cidrs(svc, ip_address_type, prefix_lists.is_some())?;
    let mut rules = Vec::new();
    for port in &svc.spec.ports {
        let proto = port_protocol(port).to_lowercase();
        let p = port.port;
        for cidr in &cidrs {
            let source = Source::from_cidr(cidr);
            let (icmp_proto, icmp_type, icmp_code) = match source {
                Source::CidrV6(_) => ICMP_V6,
                _ => ICMP_V4,
            };
            rules.push(Rule::new(&proto, p, p, source.clone(), ""));
            if icmp {
                rules.push(Rule::new(icmp_proto, icmp_type, icmp_code, source, ""));
            }
        }
        for pl in prefix_lists.iter().flatten() {
            rules.push(Rule::new(&proto, p, p, Source::PrefixList(pl.clone()), ""));
        }
    }
    Ok(rules)
}

/// `--default-tags` merged with `aws-load-balancer-additional-resource-tags`: default tags win
/// unless gate `EnableDefaultTagsLowPriority`. Keys in `--external-managed-tags` are an error.
/// (The LB, target groups and managed SG all use this set.)
// TODO(merge): unify with core::lbc::tags once that module lands.
pub fn resource_tags(cfg: &ControllerConfig, ann: &Annotations<'_>) -> Result<Tags, String> {
    let annotated = ann.string_map(ADDITIONAL_TAGS_KEY)?.unwrap_or_default();
    if let Some(k) = annotated
        .keys()
        .find(|k| cfg.external_managed_tags.contains(k))
    {
        return Err(format!(
            "external managed tag key {k} cannot be specified on Service"
        ));
    }
    let (low, high) = if cfg.feature_gates.enabled("EnableDefaultTagsLowPriority") {
        (&cfg.default_tags, &annotated)
    } else {
        (&annotated, &cfg.default_tags)
    };
    let mut tags = low.clone();
    tags.extend(high.iter().map(|(k, v)| (k.clone(), v.clone())));
    Ok(tags)
}

/// The desired managed SG of a Service's NLB (name, description, model tags, inbound rules).
pub fn managed_sg(
    cfg: &ControllerConfig,
    svc: &Service,
    ip_address_type: &str,
) -> Result<ManagedSg, String> {
    let m = &svc.meta;
    let tags = resource_tags(cfg, &service_annotations(svc))?;
    let ingress_rules = managed_sg_rules(svc, ip_address_type)?;
    Ok(ManagedSg {
        name: service_sg_name(&cfg.cluster_name, &m.namespace, &m.name, &m.uid),
        description: MANAGED_SG_DESCRIPTION.to_string(),
        tags,
        ingress_rules,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::lbc::service::test_service;

    fn with_ann(kv: &[(&str, &str)]) -> Service {
        test_service(kv, vec![])
    }

    fn tag(t: &Result<Tags, String>, k: &str) -> Option<String> {
        t.as_ref().ok().and_then(|t| t.get(k).cloned())
    }

    #[test]
    fn tag_precedence_follows_the_gate() {
        let svc = with_ann(&[(ADDITIONAL_TAGS_KEY, "team=app,env=dev")]);
        let mut cfg = ControllerConfig::default();
        cfg.default_tags.insert("env".into(), "prod".into());
        let t = resource_tags(&cfg, &service_annotations(&svc));
        assert_eq!(tag(&t, "env").as_deref(), Some("prod"));
        assert_eq!(tag(&t, "team").as_deref(), Some("app"));
        cfg.feature_gates
            .0
            .insert("EnableDefaultTagsLowPriority".into(), true);
        let t = resource_tags(&cfg, &service_annotations(&svc));
        assert_eq!(tag(&t, "env").as_deref(), Some("dev"));
    }

    #[test]
    fn external_managed_tag_is_rejected() {
        let svc = with_ann(&[(ADDITIONAL_TAGS_KEY, "owner=me")]);
        let cfg = ControllerConfig {
            external_managed_tags: vec!["owner".into()],
            ..ControllerConfig::default()
        };
        assert_eq!(
            resource_tags(&cfg, &service_annotations(&svc)),
            Err("external managed tag key owner cannot be specified on Service".into())
        );
    }

    #[test]
    fn empty_prefix_list_annotation_suppresses_defaults_but_absent_does_not() {
        let svc = with_ann(&[]);
        assert_eq!(
            source_cidrs(&svc, "ipv4", false),
            Ok(vec!["0.0.0.0/0".to_string()])
        );
        assert_eq!(source_cidrs(&svc, "ipv4", true), Ok(vec![]));
        assert!(!prefix_lists_configured(&svc));
        let svc = with_ann(&[(PREFIX_LISTS_KEY, "")]);
        assert!(prefix_lists_configured(&svc));
        assert_eq!(managed_sg_rules(&svc, "ipv4"), Ok(vec![]));
    }
}
