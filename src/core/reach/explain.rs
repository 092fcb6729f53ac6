//! Explanation codes and the plain-words texts of reachability results.
//!
//! Codes reuse AWS Reachability Analyzer's vocabulary where one fits (`ENI_SG_RULES_MISMATCH`,
//! `ELBV2_LISTENER_HAS_NO_TG`, the `ASSUMPTION_PRESERVE_CLIENT_IP_IS_*` details); the rest say
//! what data was missing, because lbsg works on whatever part of the world was loaded.

use serde::Serialize;

use super::addr::AddrSet;
use super::admit::{AdmittedSources, RuleRef};
use super::ports::Traffic;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Code {
    /// No inbound rule of the receiving ENI's SGs admits the sender (RA).
    EniSgRulesMismatch,
    /// The listener forwards to no target group (RA).
    Elbv2ListenerHasNoTg,
    /// Client IP preservation assumed on / off from AWS defaults (RA additional detail).
    AssumptionPreserveClientIpIsEnabled,
    AssumptionPreserveClientIpIsDisabled,
    /// Internal scheme: only addresses that route into the VPC can connect.
    InternalLoadBalancer,
    /// An NLB without SGs: the targets' SGs alone filter clients.
    LoadBalancerHasNoSecurityGroups,
    /// CIDR rules cover only part of the sender's addresses.
    PartialCidrCoverage,
    ListenersNotLoaded,
    /// ALB listener rules are not part of the world; every TG of the LB is assumed reachable.
    ListenerRulesNotLoaded,
    TargetsNotLoaded,
    TargetEniNotFound,
    SecurityGroupNotLoaded,
    PrefixListNotExpanded,
    LbSubnetsNotLoaded,
}

/// `a`, `a or b`, `a, b or c`.
pub fn or_list(items: &[String]) -> String {
    join_with(items, "or")
}

/// `a`, `a and b`, `a, b and c`.
pub fn and_list(items: &[String]) -> String {
    join_with(items, "and")
}

fn join_with(items: &[String], word: &str) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} {word} {last}", init.join(", ")),
    }
}

/// `tcp/443`, `tcp/53+udp/53`.
pub fn traffic_text(t: &[Traffic]) -> String {
    t.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("+")
}

/// The sources of a listener in words. `internet (0.0.0.0/0, ::/0)` when the LB is reachable
/// from the internet on both families; long lists are cut after a few entries.
pub fn sources_text(
    s: &AdmittedSources,
    internet_v4: bool,
    internet_v6: bool,
    internal: bool,
) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut rest = s.addrs.clone();
    if internet_v4 || internet_v6 {
        let mut fam = Vec::new();
        if internet_v4 {
            fam.push("0.0.0.0/0");
            rest = rest.difference(&AddrSet::all_v4());
        }
        if internet_v6 {
            fam.push("::/0");
            rest = rest.difference(&AddrSet::all_v6());
        }
        parts.push(format!("internet ({})", fam.join(", ")));
    } else if internal && s.addrs.covers_internet() {
        let mut fam = Vec::new();
        if s.addrs.covers_all_v4() {
            fam.push("0.0.0.0/0");
            rest = rest.difference(&AddrSet::all_v4());
        }
        if s.addrs.covers_all_v6() {
            fam.push("::/0");
            rest = rest.difference(&AddrSet::all_v6());
        }
        parts.push(format!("anything routed to the VPC ({})", fam.join(", ")));
    }
    // Families the LB has no address in (e.g. ::/0 on an IPv4 LB) are still listed: the rule exists.
    let mut listed: Vec<String> = rest.cidr_strings();
    listed.extend(s.groups.iter().cloned());
    listed.extend(s.prefix_lists.iter().cloned());
    listed.extend(
        s.unexpanded_prefix_lists
            .iter()
            .map(|p| format!("{p} (entries not loaded)")),
    );
    const SHOWN: usize = 4;
    let more = listed.len().saturating_sub(SHOWN);
    parts.extend(listed.into_iter().take(SHOWN));
    if more > 0 {
        parts.push(format!("+{more} more"));
    }
    if parts.is_empty() {
        "nobody".into()
    } else {
        parts.join(", ")
    }
}

/// `sg-0nodes admits sg-0backend on tcp 5514-30000 only`-style hints from near misses.
pub fn near_miss_text(near: &[RuleRef]) -> Option<String> {
    if near.is_empty() {
        return None;
    }
    let shown: Vec<String> = near
        .iter()
        .take(3)
        .map(|r| {
            format!(
                "{} admits {} on {}",
                r.sg,
                r.rule.source,
                r.rule.ports_text()
            )
        })
        .collect();
    Some(format!("{} only", shown.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_read_like_english() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(or_list(&v(&["a"])), "a");
        assert_eq!(or_list(&v(&["a", "b"])), "a or b");
        assert_eq!(and_list(&v(&["a", "b", "c"])), "a, b and c");
    }

    #[test]
    fn codes_use_reachability_analyzer_spelling() {
        let j = serde_json::to_string(&[Code::EniSgRulesMismatch, Code::Elbv2ListenerHasNoTg])
            .unwrap_or_default();
        assert_eq!(j, r#"["ENI_SG_RULES_MISMATCH","ELBV2_LISTENER_HAS_NO_TG"]"#);
        let j =
            serde_json::to_string(&Code::AssumptionPreserveClientIpIsEnabled).unwrap_or_default();
        assert_eq!(j, r#""ASSUMPTION_PRESERVE_CLIENT_IP_IS_ENABLED""#);
    }

    #[test]
    fn sources_text_names_the_internet_and_cuts_long_lists() {
        let mut s = AdmittedSources {
            addrs: AddrSet::internet(),
            ..Default::default()
        };
        assert_eq!(
            sources_text(&s, true, true, false),
            "internet (0.0.0.0/0, ::/0)"
        );
        assert_eq!(
            sources_text(&s, true, false, false),
            "internet (0.0.0.0/0), ::/0"
        );
        assert_eq!(
            sources_text(&s, false, false, true),
            "anything routed to the VPC (0.0.0.0/0, ::/0)"
        );
        s.addrs = AddrSet::from_cidrs(["10.0.0.0/24", "10.0.2.0/24", "10.0.4.0/24"]).0;
        s.groups.insert("sg-0a".into());
        s.groups.insert("sg-0b".into());
        assert_eq!(
            sources_text(&s, false, false, false),
            "10.0.0.0/24, 10.0.2.0/24, 10.0.4.0/24, sg-0a, +1 more"
        );
        assert_eq!(
            sources_text(&AdmittedSources::default(), false, false, false),
            "nobody"
        );
    }
}
