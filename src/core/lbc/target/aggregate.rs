//! Cluster-wide merge of every binding's rules per target SG (lbc-semantics §8.4,
//! `computeRestrictedIngressPermissionsPerSG` / `computeUnrestrictedIngressPermissionsPerSG`).

use std::collections::BTreeMap;

use crate::world::{Rule, Source};

/// Rules per target SG, by binding key.
pub type PerTgb = BTreeMap<String, BTreeMap<String, Vec<Rule>>>;

/// Merge all bindings' rules per target SG.
///
/// Restricted (the default): rules from an SG (or a prefix list, or no source) collapse per
/// (protocol, source SG) into one rule spanning min(from)..max(to), keeping the first rule's
/// description; a rule with both ports 0/unset forces 0-65535. CIDR rules pass through as they
/// are. Unrestricted: rules are only de-duplicated by identity (the last one seen wins), in
/// identity order. An SG named by a binding appears in the result even with no rules.
pub fn aggregate(per_tgb: &PerTgb, restricted: bool) -> BTreeMap<String, Vec<Rule>> {
    if restricted {
        restricted_rules(per_tgb)
    } else {
        unrestricted_rules(per_tgb)
    }
}

fn restricted_rules(per_tgb: &PerTgb) -> BTreeMap<String, Vec<Rule>> {
    type Groups<'a> = BTreeMap<(&'a str, &'a str), Vec<&'a Rule>>;
    let mut grouped: BTreeMap<&str, Groups<'_>> = BTreeMap::new();
    let mut cidr_rules: BTreeMap<&str, Vec<&Rule>> = BTreeMap::new();
    for per_sg in per_tgb.values() {
        for (sg, rules) in per_sg {
            let groups = grouped.entry(sg).or_default();
            for rule in rules {
                match &rule.source {
                    Source::Cidr(_) | Source::CidrV6(_) => {
                        cidr_rules.entry(sg).or_default().push(rule)
                    }
                    // the LBC groups by the referenced group id, "" when there is none
                    Source::Group(g) => groups.entry((&rule.protocol, g)).or_default().push(rule),
                    Source::PrefixList(_) | Source::None => {
                        groups.entry((&rule.protocol, "")).or_default().push(rule)
                    }
                }
            }
        }
    }
    let mut out: BTreeMap<String, Vec<Rule>> = BTreeMap::new();
    for (sg, groups) in grouped {
        let rules = out.entry(sg.to_string()).or_default();
        rules.extend(groups.values().filter_map(|g| merge_range(g)));
        rules.extend(cidr_rules.remove(sg).into_iter().flatten().cloned());
    }
    out
}

/// One rule spanning the group's port range; the first rule gives everything else.
fn merge_range(group: &[&Rule]) -> Option<Rule> {
    let first = group.first()?;
    let (mut min, mut max) = (65535, 0);
    for r in group {
        let (from, to) = (r.from_port.unwrap_or(0), r.to_port.unwrap_or(0));
        if from == 0 && to == 0 {
            (min, max) = (0, 65535);
        } else {
            min = min.min(from);
            max = max.max(to);
        }
    }
    Some(Rule {
        from_port: Some(min),
        to_port: Some(max),
        ..(*first).clone()
    })
}

fn unrestricted_rules(per_tgb: &PerTgb) -> BTreeMap<String, Vec<Rule>> {
    let mut by_identity: BTreeMap<&str, BTreeMap<String, &Rule>> = BTreeMap::new();
    for per_sg in per_tgb.values() {
        for (sg, rules) in per_sg {
            let seen = by_identity.entry(sg).or_default();
            for rule in rules {
                seen.insert(rule.identity(), rule);
            }
        }
    }
    by_identity
        .into_iter()
        .map(|(sg, rules)| (sg.to_string(), rules.into_values().cloned().collect()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sg_rule(proto: &str, from: i32, to: i32, src: &str) -> Rule {
        Rule::new(proto, from, to, Source::Group(src.into()), "d")
    }

    fn per_tgb(entries: &[(&str, &str, Vec<Rule>)]) -> PerTgb {
        let mut m = PerTgb::new();
        for (tgb, sg, rules) in entries {
            m.entry(tgb.to_string())
                .or_default()
                .insert(sg.to_string(), rules.clone());
        }
        m
    }

    #[test]
    fn restricted_merges_across_bindings_per_protocol_and_source() {
        let input = per_tgb(&[
            ("a", "sg-node", vec![sg_rule("tcp", 31001, 31001, "sg-be")]),
            (
                "b",
                "sg-node",
                vec![
                    sg_rule("tcp", 10256, 10256, "sg-be"),
                    sg_rule("udp", 53, 53, "sg-be"),
                    sg_rule("tcp", 8080, 8080, "sg-other"),
                ],
            ),
        ]);
        let got = aggregate(&input, true);
        assert_eq!(
            got.get("sg-node"),
            Some(&vec![
                sg_rule("tcp", 10256, 31001, "sg-be"),
                sg_rule("tcp", 8080, 8080, "sg-other"),
                sg_rule("udp", 53, 53, "sg-be"),
            ])
        );
    }

    #[test]
    fn restricted_keeps_cidr_rules_verbatim_and_keeps_empty_sgs() {
        let cidr = Rule::new("tcp", 80, 80, Source::Cidr("10.0.0.0/8".into()), "d");
        let input = per_tgb(&[
            ("a", "sg-1", vec![cidr.clone(), cidr.clone()]),
            ("b", "sg-2", vec![]),
        ]);
        let got = aggregate(&input, true);
        assert_eq!(got.get("sg-1"), Some(&vec![cidr.clone(), cidr]));
        assert_eq!(got.get("sg-2"), Some(&vec![]));
    }

    #[test]
    fn unrestricted_dedupes_by_identity_ignoring_description() {
        let a = Rule::new("tcp", 0, 65535, Source::Group("sg-be".into()), "first");
        let b = Rule {
            description: "second".into(),
            ..a.clone()
        };
        let input = per_tgb(&[("a", "sg-1", vec![a]), ("b", "sg-1", vec![b.clone()])]);
        assert_eq!(aggregate(&input, false).get("sg-1"), Some(&vec![b]));
    }
}
