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
    let mut by_sg: BTreeMap<&str, Vec<&[Rule]>> = BTreeMap::new();
    for per_sg in per_tgb.values() {
        for (sg, rules) in per_sg {
            by_sg.entry(sg).or_default().push(rules);
        }
    }
    by_sg
        .into_iter()
        .map(|(sg, lists)| (sg.to_string(), aggregate_sg(lists, restricted)))
        .collect()
}

/// The merge for one target SG, given each binding's rules for it in binding-key order (the
/// order [`aggregate`] visits them in).
pub fn aggregate_sg<'a>(
    lists: impl IntoIterator<Item = &'a [Rule]>,
    restricted: bool,
) -> Vec<Rule> {
    if restricted {
        restricted_rules(lists)
    } else {
        unrestricted_rules(lists)
    }
}

fn restricted_rules<'a>(lists: impl IntoIterator<Item = &'a [Rule]>) -> Vec<Rule> {
    let mut groups: BTreeMap<(&str, &str), Vec<&Rule>> = BTreeMap::new();
    let mut cidr_rules: Vec<&Rule> = Vec::new();
    for rules in lists {
        for rule in rules {
            match &rule.source {
                Source::Cidr(_) | Source::CidrV6(_) => cidr_rules.push(rule),
                // the LBC groups by the referenced group id, "" when there is none
                Source::Group(g) => groups.entry((&rule.protocol, g)).or_default().push(rule),
                Source::PrefixList(_) | Source::None => {
                    groups.entry((&rule.protocol, "")).or_default().push(rule)
                }
            }
        }
    }
    groups
        .values()
        .filter_map(|g| merge_range(g))
        .chain(cidr_rules.into_iter().cloned())
        .collect()
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

fn unrestricted_rules<'a>(lists: impl IntoIterator<Item = &'a [Rule]>) -> Vec<Rule> {
    let mut seen: BTreeMap<String, &Rule> = BTreeMap::new();
    for rules in lists {
        for rule in rules {
            seen.insert(rule.identity(), rule);
        }
    }
    seen.into_values().cloned().collect()
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
