//! Member settings merged across an IngressGroup (`pkg/ingress/model_builder.go`
//! mergeListenPortConfigs, `model_build_listener.go`, `model_build_load_balancer.go`,
//! `model_build_tags.go`).
//!
//! Per listen port, members that give CIDRs (or prefix lists) must give the same sets; members
//! that give none inherit; the `0.0.0.0/0` + `::/0` default applies only when no member on that
//! port gave either. Group-wide values (`security-groups`, `ip-address-type`, `scheme`, tags)
//! must agree between the members that set them.

use std::collections::{BTreeMap, BTreeSet};

use crate::world::{ControllerConfig, Tags};

use super::listen_port::member_listen_port_configs;
pub use super::listen_port::{HTTP, HTTPS, ListenPortConfig};
use super::{Member, go_list, int32_annotation};

/// The group's listen ports after the merge.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListenPorts {
    pub by_port: BTreeMap<i32, ListenPortConfig>,
    /// Indexes (into the member slice) of the members listening on each port, in member order.
    pub members_by_port: BTreeMap<i32, Vec<usize>>,
}

fn sorted(v: &[String]) -> Vec<String> {
    v.iter()
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Merge the configs members gave one port (`(member key, config)` in member order).
pub fn merge_port(configs: &[(String, ListenPortConfig)]) -> Result<ListenPortConfig, String> {
    let mut protocol: Option<(&str, &str)> = None;
    let mut cidrs: Option<(&str, Vec<String>, Vec<String>)> = None;
    let mut prefixes: Option<(&str, Vec<String>)> = None;
    let mut policy: Option<(&str, &str)> = None;
    for (key, cfg) in configs {
        match protocol {
            None => protocol = Some((key, &cfg.protocol)),
            Some((k, p)) if p != cfg.protocol => {
                return Err(format!(
                    "conflicting protocol, {k}: {p} | {key}: {}",
                    cfg.protocol
                ));
            }
            Some(_) => {}
        }
        if !cfg.inbound_cidr_v4.is_empty() || !cfg.inbound_cidr_v6.is_empty() {
            let (v4, v6) = (sorted(&cfg.inbound_cidr_v4), sorted(&cfg.inbound_cidr_v6));
            match &cidrs {
                None => cidrs = Some((key, v4, v6)),
                Some((k, m4, m6)) if *m4 != v4 || *m6 != v6 => {
                    return Err(format!(
                        "conflicting inbound-cidrs, {k}: {}, {} | {key}: {}, {}",
                        go_list(m4),
                        go_list(m6),
                        go_list(&v4),
                        go_list(&v6)
                    ));
                }
                Some(_) => {}
            }
        }
        if !cfg.prefix_lists.is_empty() {
            let pl = sorted(&cfg.prefix_lists);
            match &prefixes {
                None => prefixes = Some((key, pl)),
                Some((k, merged)) if *merged != pl => {
                    return Err(format!(
                        "conflicting inbound-prefix-lists, {k}: {} | {key}: {}",
                        go_list(merged),
                        go_list(&pl)
                    ));
                }
                Some(_) => {}
            }
        }
        if let Some(p) = &cfg.ssl_policy {
            match policy {
                None => policy = Some((key, p)),
                Some((k, merged)) if merged != p => {
                    return Err(format!("conflicting sslPolicy, {k}: {merged} | {key}: {p}"));
                }
                Some(_) => {}
            }
        }
    }
    let (mut v4, mut v6) = cidrs.map(|(_, a, b)| (a, b)).unwrap_or_default();
    let prefix_lists = prefixes.map(|(_, p)| p).unwrap_or_default();
    if v4.is_empty() && v6.is_empty() && prefix_lists.is_empty() {
        v4 = vec!["0.0.0.0/0".into()];
        v6 = vec!["::/0".into()];
    }
    Ok(ListenPortConfig {
        protocol: protocol.map(|(_, p)| p.to_string()).unwrap_or_default(),
        inbound_cidr_v4: v4,
        inbound_cidr_v6: v6,
        prefix_lists,
        // The LBC fills in its default SSL policy for HTTPS ports; not an SG concern.
        ssl_policy: policy.map(|(_, p)| p.to_string()),
    })
}

/// Every member's listen ports, merged per port (ports in ascending order; the LBC iterates a Go
/// map, so with several conflicting ports which error it reports first is not fixed).
pub fn listen_ports(members: &[Member<'_>]) -> Result<ListenPorts, String> {
    let mut per_port: BTreeMap<i32, Vec<(String, ListenPortConfig)>> = BTreeMap::new();
    let mut members_by_port: BTreeMap<i32, Vec<usize>> = BTreeMap::new();
    for (i, m) in members.iter().enumerate() {
        let cfgs =
            member_listen_port_configs(m).map_err(|e| format!("ingress: {}: {e}", m.key()))?;
        for (port, cfg) in cfgs {
            per_port.entry(port).or_default().push((m.key(), cfg));
            members_by_port.entry(port).or_default().push(i);
        }
    }
    let mut by_port = BTreeMap::new();
    for (port, cfgs) in per_port {
        let merged = merge_port(&cfgs)
            .map_err(|e| format!("failed to merge listenPort config for port: {port}: {e}"))?;
        by_port.insert(port, merged);
    }
    Ok(ListenPorts {
        by_port,
        members_by_port,
    })
}

/// A list annotation every member that sets it must set identically (order matters).
fn identical_list(members: &[Member<'_>], suffix: &str) -> Result<Vec<String>, String> {
    let mut chosen: Option<Vec<String>> = None;
    for m in members {
        let Some(list) = m.ann().list(suffix) else {
            continue;
        };
        match &chosen {
            None => chosen = Some(list),
            Some(c) if *c != list => {
                return Err(format!(
                    "conflicting securityGroups: {} | {}",
                    go_list(c),
                    go_list(&list)
                ));
            }
            Some(_) => {}
        }
    }
    Ok(chosen.unwrap_or_default())
}

/// The group's `security-groups` tokens (ids or Name tags); empty = managed SG.
pub fn frontend_sg_tokens(members: &[Member<'_>]) -> Result<Vec<String>, String> {
    identical_list(members, "security-groups")
}

/// The group's `frontend-nlb-security-groups` tokens; empty = reuse the ALB's SGs.
pub fn frontend_nlb_sg_tokens(members: &[Member<'_>]) -> Result<Vec<String>, String> {
    identical_list(members, "frontend-nlb-security-groups")
}

/// A string setting from IngressClassParams (wins) or an annotation; members must agree.
fn agreed_values(
    members: &[Member<'_>],
    from_params: impl Fn(&Member<'_>) -> Option<String>,
    suffix: &str,
) -> BTreeSet<String> {
    members
        .iter()
        .filter_map(|m| from_params(m).or_else(|| m.ann().get(suffix).map(String::from)))
        .collect()
}

/// `ip-address-type` / params `ipAddressType` (`ipv4` when nobody sets it).
pub fn ip_address_type(members: &[Member<'_>]) -> Result<String, String> {
    let values = agreed_values(
        members,
        |m| m.params.and_then(|p| p.ip_address_type.clone()),
        "ip-address-type",
    );
    let list: Vec<String> = values.into_iter().collect();
    match list.as_slice() {
        [] => Ok("ipv4".into()),
        [one] if ["ipv4", "dualstack", "dualstack-without-public-ipv4"].contains(&one.as_str()) => {
            Ok(one.clone())
        }
        [one] => Err(format!("unknown IPAddressType: {one}")),
        many => Err(format!("conflicting IPAddressType: {}", go_list(many))),
    }
}

/// `scheme` / params `scheme`, else `--default-load-balancer-scheme`.
pub fn scheme(members: &[Member<'_>], default: &str) -> Result<String, String> {
    let values = agreed_values(
        members,
        |m| m.params.and_then(|p| p.scheme.clone()),
        "scheme",
    );
    let list: Vec<String> = values.into_iter().collect();
    match list.as_slice() {
        [] => Ok(default.to_string()),
        [one] if one == "internet-facing" || one == "internal" => Ok(one.clone()),
        [one] => Err(format!("unknown scheme: {one}")),
        // Go prints the set itself: map[a:{} b:{}].
        many => Err(format!(
            "conflicting scheme: map[{}]",
            many.iter()
                .map(|s| format!("{s}:{{}}"))
                .collect::<Vec<_>>()
                .join(" ")
        )),
    }
}

/// `enable-frontend-nlb`: members that set it must agree.
pub fn enable_frontend_nlb(members: &[Member<'_>]) -> Result<bool, String> {
    let mut decided: Option<bool> = None;
    for m in members {
        if let Some(v) = m.ann().bool("enable-frontend-nlb")? {
            match decided {
                Some(d) if d != v => return Err("conflicting enable frontend NLB values".into()),
                _ => decided = Some(v),
            }
        }
    }
    Ok(decided.unwrap_or(false))
}

/// `ssl-redirect`: one port for the group, which must be an HTTPS listener.
pub fn ssl_redirect_port(
    members: &[Member<'_>],
    ports: &BTreeMap<i32, ListenPortConfig>,
) -> Result<Option<i32>, String> {
    let mut explicit = BTreeSet::new();
    for m in members {
        let p = int32_annotation(&m.ann(), "ssl-redirect")
            .map_err(|e| format!("ingress: {}: {e}", m.key()))?;
        explicit.extend(p);
    }
    let list: Vec<i32> = explicit.into_iter().collect();
    match list.as_slice() {
        [] => Ok(None),
        [port] => match ports.get(port) {
            None => Err(format!(
                "listener does not exist for SSLRedirect port: {port}"
            )),
            Some(c) if c.protocol != HTTPS => Err(format!(
                "listener protocol non-SSL for SSLRedirect port: {port}"
            )),
            Some(_) => Ok(Some(*port)),
        },
        many => Err(format!(
            "conflicting sslRedirect port: {}",
            go_list(&many.iter().map(i32::to_string).collect::<Vec<_>>())
        )),
    }
}

fn check_external_managed(tags: &Tags, cfg: &ControllerConfig) -> Result<(), String> {
    match tags.keys().find(|k| cfg.external_managed_tags.contains(k)) {
        Some(k) => Err(format!("external managed tag key {k} cannot be specified")),
        None => Ok(()),
    }
}

/// IngressClassParams tags of a member, checked against `--external-managed-tags`.
pub(crate) fn class_tags(m: &Member<'_>, cfg: &ControllerConfig) -> Result<Tags, String> {
    let Some(p) = m.params.filter(|p| !p.tags.is_empty()) else {
        return Ok(Tags::new());
    };
    check_external_managed(&p.tags, cfg).map_err(|e| {
        format!(
            "failed build tags for IngressClassParams {}: {e}",
            p.meta.name
        )
    })?;
    Ok(p.tags.clone())
}

/// `base` with `over` taking precedence (Go `MergeStringMap(over, base)`).
pub(crate) fn overlay(over: &Tags, base: &Tags) -> Tags {
    let mut out = base.clone();
    out.extend(over.iter().map(|(k, v)| (k.clone(), v.clone())));
    out
}

/// The group's resource tags merged with `--default-tags` (used for the managed SG and the LB).
/// A private minimal version of the tag rules (§5.2); the shared tags module owns the full set.
pub(crate) fn group_tags(members: &[Member<'_>], cfg: &ControllerConfig) -> Result<Tags, String> {
    let mut group = Tags::new();
    for m in members {
        let ann_tags = m.ann().string_map("tags")?.unwrap_or_default();
        check_external_managed(&ann_tags, cfg)
            .map_err(|e| format!("failed build tags for Ingress {}: {e}", m.key()))?;
        for (k, v) in overlay(&class_tags(m, cfg)?, &ann_tags) {
            match group.get(&k) {
                Some(existing) if *existing != v => {
                    return Err(format!("conflicting tag {k}: {existing} | {v}"));
                }
                _ => {
                    group.insert(k, v);
                }
            }
        }
    }
    Ok(
        if cfg.feature_gates.enabled("EnableDefaultTagsLowPriority") {
            overlay(&group, &cfg.default_tags)
        } else {
            overlay(&cfg.default_tags, &group)
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(protocol: &str, v4: &[&str], v6: &[&str], pl: &[&str]) -> ListenPortConfig {
        let s = |x: &[&str]| x.iter().map(|c| c.to_string()).collect::<Vec<_>>();
        ListenPortConfig {
            protocol: protocol.into(),
            inbound_cidr_v4: s(v4),
            inbound_cidr_v6: s(v6),
            prefix_lists: s(pl),
            ssl_policy: None,
        }
    }

    #[test]
    fn members_without_cidrs_inherit_and_defaults_need_silence() {
        let merged = merge_port(&[
            ("a/x".into(), cfg("HTTP", &[], &[], &[])),
            (
                "a/y".into(),
                cfg("HTTP", &["10.0.0.0/8", "10.0.0.0/8"], &[], &[]),
            ),
        ])
        .unwrap();
        assert_eq!(merged.inbound_cidr_v4, vec!["10.0.0.0/8"]);
        assert!(merged.inbound_cidr_v6.is_empty());
        let silent = merge_port(&[("a/x".into(), cfg("HTTP", &[], &[], &[]))]).unwrap();
        assert_eq!(silent.inbound_cidr_v4, vec!["0.0.0.0/0"]);
        assert_eq!(silent.inbound_cidr_v6, vec!["::/0"]);
        let pl_only = merge_port(&[("a/x".into(), cfg("HTTP", &[], &[], &["pl-1"]))]).unwrap();
        assert!(pl_only.inbound_cidr_v4.is_empty());
    }

    #[test]
    fn conflicts_are_reported_like_the_lbc() {
        let e = merge_port(&[
            ("a/x".into(), cfg("HTTP", &[], &[], &["pl-2", "pl-1"])),
            ("a/y".into(), cfg("HTTP", &[], &[], &["pl-1"])),
        ])
        .unwrap_err();
        assert_eq!(
            e,
            "conflicting inbound-prefix-lists, a/x: [pl-1 pl-2] | a/y: [pl-1]"
        );
        let e = merge_port(&[
            ("a/x".into(), cfg("HTTP", &[], &[], &[])),
            ("a/y".into(), cfg("HTTPS", &[], &[], &[])),
        ])
        .unwrap_err();
        assert_eq!(e, "conflicting protocol, a/x: HTTP | a/y: HTTPS");
        // same set in another order is no conflict
        assert!(
            merge_port(&[
                (
                    "a/x".into(),
                    cfg("HTTP", &["1.0.0.0/8", "2.0.0.0/8"], &[], &[])
                ),
                (
                    "a/y".into(),
                    cfg("HTTP", &["2.0.0.0/8", "1.0.0.0/8"], &[], &[])
                ),
            ])
            .is_ok()
        );
    }
}
