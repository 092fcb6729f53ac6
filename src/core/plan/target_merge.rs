//! Re-merging one target SG's rules after an edit without walking every binding's rule maps:
//! each SG's contributions are laid out once, grouped as the LBC's restricted merge groups them
//! (per protocol and source SG, CIDR rules apart) and in binding-key order, so an edit only
//! skips the bindings it removed and folds in the ones it added. The result is the same as
//! [`target_sg_rules`] over the SG's bindings (tested through the planner's equality tests).

use std::collections::{BTreeMap, BTreeSet};

use crate::core::lbc::target::{TgbOutcome, dedupe_identities, target_sg_rules};
use crate::world::{Rule, Source};

/// One rule of one binding in a merge group; `from`/`to` already widened (0/0 means all).
struct Contribution {
    user: usize,
    from: i32,
    to: i32,
    rule: Rule,
}

#[derive(Default)]
struct SgMerge {
    /// By (protocol, source SG or ""), contributions in binding-key order.
    groups: BTreeMap<(String, String), Vec<Contribution>>,
    /// CIDR rules in binding-key order: (binding, rule).
    cidrs: Vec<(usize, Rule)>,
}

/// The merge layout of every target SG of a world.
pub(super) struct TargetMerges {
    restricted: bool,
    by_sg: BTreeMap<String, SgMerge>,
}

/// How a rule enters the restricted merge.
enum Slot<'r> {
    Group(&'r str, &'r str),
    Cidr,
}

fn slot(rule: &Rule) -> Slot<'_> {
    match &rule.source {
        Source::Cidr(_) | Source::CidrV6(_) => Slot::Cidr,
        Source::Group(g) => Slot::Group(&rule.protocol, g),
        Source::PrefixList(_) | Source::None => Slot::Group(&rule.protocol, ""),
    }
}

fn widened(rule: &Rule) -> (i32, i32) {
    match (rule.from_port.unwrap_or(0), rule.to_port.unwrap_or(0)) {
        (0, 0) => (0, 65535),
        range => range,
    }
}

impl TargetMerges {
    /// `sg_users`: per SG, the outcomes naming it, in binding-key order.
    pub fn new(
        tgbs: &[TgbOutcome],
        sg_users: &BTreeMap<String, Vec<usize>>,
        restricted: bool,
    ) -> Self {
        let mut by_sg = BTreeMap::new();
        if restricted {
            for (sg, users) in sg_users {
                let mut m = SgMerge::default();
                for &u in users {
                    let Some(rules) = tgbs[u].result.as_ref().ok().and_then(|p| p.get(sg)) else {
                        continue;
                    };
                    for r in rules {
                        match slot(r) {
                            Slot::Cidr => m.cidrs.push((u, r.clone())),
                            Slot::Group(p, g) => {
                                let (from, to) = widened(r);
                                m.groups
                                    .entry((p.to_string(), g.to_string()))
                                    .or_default()
                                    .push(Contribution {
                                        user: u,
                                        from,
                                        to,
                                        rule: r.clone(),
                                    });
                            }
                        }
                    }
                }
                by_sg.insert(sg.clone(), m);
            }
        }
        TargetMerges { restricted, by_sg }
    }

    /// The desired rules of `sg` once the `removed` outcomes are gone and `added` (binding key,
    /// rules for this SG; in key order) are in. `old` lists the SG's remaining bindings in key
    /// order, for the unrestricted merge.
    pub fn merged<'a>(
        &self,
        sg: &str,
        tgbs: &'a [TgbOutcome],
        removed: &BTreeSet<usize>,
        old: impl Iterator<Item = (&'a str, &'a [Rule])>,
        added: &[(&'a str, &'a [Rule])],
    ) -> Vec<Rule> {
        let Some(m) = self.by_sg.get(sg).filter(|_| self.restricted) else {
            let lists = super::incremental::merge_by_key(old, added.iter().copied());
            return target_sg_rules(lists.into_iter().map(|(_, r)| r), self.restricted);
        };
        let key = |u: usize| tgbs[u].key.as_str();
        let mut add_groups: BTreeMap<(&str, &str), Vec<(&str, &Rule)>> = BTreeMap::new();
        let mut add_cidrs: Vec<(&str, &Rule)> = Vec::new();
        for (k, rules) in added {
            for r in *rules {
                match slot(r) {
                    Slot::Cidr => add_cidrs.push((k, r)),
                    Slot::Group(p, g) => add_groups.entry((p, g)).or_default().push((k, r)),
                }
            }
        }
        let group_keys: BTreeSet<(&str, &str)> = m
            .groups
            .keys()
            .map(|(p, g)| (p.as_str(), g.as_str()))
            .chain(add_groups.keys().copied())
            .collect();
        let mut out = Vec::new();
        for gk in group_keys {
            let (mut min, mut max) = (65535, 0);
            let mut first: Option<(&str, &Rule)> = None;
            let old_list = m.groups.get(&(gk.0.to_string(), gk.1.to_string()));
            for c in old_list.into_iter().flatten() {
                if removed.contains(&c.user) {
                    continue;
                }
                (min, max) = (min.min(c.from), max.max(c.to));
                first.get_or_insert((key(c.user), &c.rule));
            }
            for (k, r) in add_groups.get(&gk).into_iter().flatten() {
                let (from, to) = widened(r);
                (min, max) = (min.min(from), max.max(to));
                if first.is_none_or(|(fk, _)| *k < fk) {
                    first = Some((k, r));
                }
            }
            if let Some((_, r)) = first {
                out.push(Rule {
                    from_port: Some(min),
                    to_port: Some(max),
                    ..r.clone()
                });
            }
        }
        let old_cidrs = m
            .cidrs
            .iter()
            .filter(|(u, _)| !removed.contains(u))
            .map(|(u, r)| (key(*u), r));
        let cidrs = super::incremental::merge_by_key(old_cidrs, add_cidrs.into_iter());
        out.extend(cidrs.into_iter().map(|(_, r)| r.clone()));
        dedupe_identities(out)
    }
}
