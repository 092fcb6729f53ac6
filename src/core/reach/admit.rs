//! What security groups admit: the sources of one SG (or a union of SGs) on one protocol/port,
//! and whether that union admits a given sender, with the matching rules as evidence.
//!
//! EC2 semantics: a packet is admitted when *any* inbound rule of *any* SG on the receiving ENI
//! matches it (rules only allow). A rule whose source is an SG matches traffic from ENIs carrying
//! that SG; a CIDR or prefix-list rule matches by source address.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::addr::AddrSet;
use super::ports::{RulePorts, Traffic};
use crate::world::{PrefixList, Rule, SecurityGroup, Source};

/// Prefix-list entries as address sets, parsed once per world.
#[derive(Debug, Clone, Default)]
pub struct PrefixLists {
    /// `None` = the list is known but its entries were not loaded.
    sets: BTreeMap<String, Option<AddrSet>>,
}

impl PrefixLists {
    pub fn new(lists: Option<&BTreeMap<String, PrefixList>>) -> Self {
        let sets = lists
            .into_iter()
            .flatten()
            .map(|(id, pl)| {
                let set = pl
                    .entries
                    .as_ref()
                    .map(|e| AddrSet::from_cidrs(e.iter().map(String::as_str)).0);
                (id.clone(), set)
            })
            .collect();
        Self { sets }
    }

    /// The entries of a list, when loaded.
    pub fn get(&self, id: &str) -> Option<&AddrSet> {
        self.sets.get(id).and_then(Option::as_ref)
    }
}

/// One rule cited as evidence.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct RuleRef {
    pub sg: String,
    /// `sgr-…` when known.
    pub rule_id: Option<String>,
    pub rule: Rule,
}

impl RuleRef {
    fn new(sg: &SecurityGroup, i: usize) -> Option<Self> {
        sg.ingress.get(i).map(|r| Self {
            sg: sg.id.clone(),
            rule_id: r.id.clone(),
            rule: r.rule.clone(),
        })
    }
}

impl std::fmt::Display for RuleRef {
    /// `sg-0nodes: tcp 5514-32443 from sg-0backend`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} from {}",
            self.sg,
            self.rule.ports_text(),
            self.rule.source
        )
    }
}

/// Who a set of SGs admits on one protocol/port.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AdmittedSources {
    /// CIDR sources and the entries of expanded prefix lists, merged.
    pub addrs: AddrSet,
    /// Referenced SGs (traffic from ENIs carrying them).
    pub groups: BTreeSet<String>,
    /// Prefix lists whose entries are in `addrs`.
    pub prefix_lists: BTreeSet<String>,
    /// Prefix lists named by a rule whose entries are not loaded: their addresses are unknown.
    pub unexpanded_prefix_lists: BTreeSet<String>,
    /// CIDR strings that do not parse (EC2 would not hold them; a hand-written world might).
    pub invalid: BTreeSet<String>,
    /// The matching rules.
    pub rules: Vec<RuleRef>,
}

impl AdmittedSources {
    pub fn is_empty(&self) -> bool {
        self.addrs.is_empty() && self.groups.is_empty() && self.unexpanded_prefix_lists.is_empty()
    }

    pub fn merge(&mut self, other: AdmittedSources) {
        self.addrs.insert(&other.addrs);
        self.groups.extend(other.groups);
        self.prefix_lists.extend(other.prefix_lists);
        self.unexpanded_prefix_lists
            .extend(other.unexpanded_prefix_lists);
        self.invalid.extend(other.invalid);
        self.rules.extend(other.rules);
        self.rules.sort();
        self.rules.dedup();
    }

    /// `0.0.0.0/0, ::/0`, `10.0.0.0/16, sg-0bastion, pl-0abc (entries not loaded)`, or `nobody`.
    pub fn describe(&self) -> String {
        let mut parts = self.addrs.cidr_strings();
        parts.extend(self.groups.iter().cloned());
        parts.extend(
            self.unexpanded_prefix_lists
                .iter()
                .map(|p| format!("{p} (entries not loaded)")),
        );
        if parts.is_empty() {
            "nobody".into()
        } else {
            parts.join(", ")
        }
    }
}

/// Sources `sg` admits on `t`.
pub fn sg_admits(sg: &SecurityGroup, t: Traffic, pls: &PrefixLists) -> AdmittedSources {
    let mut out = AdmittedSources::default();
    let mut cidrs: Vec<&str> = Vec::new();
    for (i, r) in sg.ingress.iter().enumerate() {
        if !RulePorts::of(&r.rule).admits(t) {
            continue;
        }
        match &r.rule.source {
            Source::Cidr(c) | Source::CidrV6(c) => cidrs.push(c),
            Source::PrefixList(p) => match pls.get(p) {
                Some(set) => {
                    out.addrs.insert(set);
                    out.prefix_lists.insert(p.clone());
                }
                None => {
                    out.unexpanded_prefix_lists.insert(p.clone());
                }
            },
            Source::Group(g) => {
                out.groups.insert(g.clone());
            }
            Source::None => continue,
        }
        out.rules.extend(RuleRef::new(sg, i));
    }
    let (set, bad) = AddrSet::from_cidrs(cidrs);
    out.addrs.insert(&set);
    out.invalid.extend(bad);
    out
}

/// Sources the union of `sgs` admits on `t`.
pub fn sgs_admit<'a>(
    sgs: impl IntoIterator<Item = &'a SecurityGroup>,
    t: Traffic,
    pls: &PrefixLists,
) -> AdmittedSources {
    let mut out = AdmittedSources::default();
    for sg in sgs {
        out.merge(sg_admits(sg, t, pls));
    }
    out
}

/// A sender: the SGs its ENIs carry and the addresses it may send from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Principal {
    pub groups: BTreeSet<String>,
    /// Every address the sender may use; all of them must be admitted.
    pub addrs: AddrSet,
}

impl Principal {
    pub fn group(id: &str) -> Self {
        Self {
            groups: BTreeSet::from([id.to_string()]),
            addrs: AddrSet::empty(),
        }
    }

    /// One address (an ENI, a client).
    pub fn addr(addr: std::net::IpAddr) -> Self {
        Self::addrs(AddrSet::from_addr(addr))
    }

    pub fn addrs(addrs: AddrSet) -> Self {
        Self {
            groups: BTreeSet::new(),
            addrs,
        }
    }
}

/// The answer to "does this union of SGs admit that sender".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Admitted,
    /// Some of the sender's addresses only.
    Partial,
    Blocked,
    /// Missing data (an SG or prefix list not loaded) could change the answer.
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Admission {
    pub verdict: Verdict,
    /// Rules that admit (part of) the sender.
    pub rules: Vec<RuleRef>,
    /// Rules from the right source on other ports: the usual "almost" of a missing rule.
    pub near_misses: Vec<RuleRef>,
    /// Sender addresses no rule admits (for `Partial`).
    pub uncovered: AddrSet,
    /// Why the answer is `Unknown`.
    pub unknown: Vec<String>,
}

/// Whether the union of `sgs` admits `who` on `t`. `missing` names SGs the receiver carries but
/// the world does not hold (their rules are unknown).
pub fn admits(
    sgs: &[&SecurityGroup],
    missing: &[String],
    who: &Principal,
    t: Traffic,
    pls: &PrefixLists,
) -> Admission {
    let mut by_group = Vec::new();
    let mut by_addr = Vec::new();
    let mut near = Vec::new();
    let mut covered = AddrSet::empty();
    let mut unexpanded = BTreeSet::new();
    for sg in sgs {
        for (i, r) in sg.ingress.iter().enumerate() {
            let rule_addrs = match &r.rule.source {
                Source::Group(g) if who.groups.contains(g) => None,
                Source::Group(_) | Source::None => continue,
                Source::Cidr(c) | Source::CidrV6(c) => match AddrSet::parse_cidr(c) {
                    Ok(s) => Some(s),
                    Err(_) => continue,
                },
                Source::PrefixList(p) => match pls.get(p) {
                    Some(s) => Some(s.clone()),
                    None => {
                        if RulePorts::of(&r.rule).admits(t) {
                            unexpanded.insert(p.clone());
                        }
                        continue;
                    }
                },
            };
            let relevant = match &rule_addrs {
                None => true,
                Some(s) => s.overlaps(&who.addrs),
            };
            if !relevant {
                continue;
            }
            let matches = RulePorts::of(&r.rule).admits(t);
            // A near miss is a rule that would admit the whole sender if only its ports matched.
            let near_miss = !matches
                && match &rule_addrs {
                    None => true,
                    Some(s) => s.contains_set(&who.addrs),
                };
            let slot = match (&rule_addrs, matches) {
                (_, false) if !near_miss => continue,
                (_, false) => &mut near,
                (None, true) => &mut by_group,
                (Some(s), true) => {
                    covered.insert(&s.intersection(&who.addrs));
                    &mut by_addr
                }
            };
            slot.extend(RuleRef::new(sg, i));
        }
    }
    let uncovered = who.addrs.difference(&covered);
    let (verdict, rules) = if !by_group.is_empty() {
        (Verdict::Admitted, by_group)
    } else if !who.addrs.is_empty() && uncovered.is_empty() {
        (Verdict::Admitted, by_addr)
    } else if !missing.is_empty() || !unexpanded.is_empty() {
        (Verdict::Unknown, by_addr)
    } else if !covered.is_empty() {
        (Verdict::Partial, by_addr)
    } else {
        (Verdict::Blocked, by_addr)
    };
    let mut unknown = Vec::new();
    if verdict == Verdict::Unknown {
        unknown.extend(missing.iter().map(|m| format!("{m} not loaded")));
        unknown.extend(
            unexpanded
                .iter()
                .map(|p| format!("prefix list {p}: entries not loaded")),
        );
    }
    Admission {
        verdict,
        rules,
        near_misses: near,
        uncovered: if verdict == Verdict::Admitted {
            AddrSet::empty()
        } else {
            uncovered
        },
        unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::{Rule, SgRule};

    fn sg(id: &str, rules: &[Rule]) -> SecurityGroup {
        SecurityGroup {
            id: id.into(),
            ingress: rules
                .iter()
                .map(|r| SgRule {
                    rule: r.clone(),
                    id: None,
                    tags: Default::default(),
                })
                .collect(),
            ..Default::default()
        }
    }

    fn r(proto: &str, from: i32, to: i32, src: &str) -> Rule {
        Rule::new(proto, from, to, Source::parse_token(src), "")
    }

    fn pls() -> PrefixLists {
        let mut m = BTreeMap::new();
        m.insert(
            "pl-0office".to_string(),
            PrefixList {
                id: "pl-0office".into(),
                entries: Some(vec!["198.51.100.0/25".into(), "198.51.100.128/25".into()]),
                ..Default::default()
            },
        );
        m.insert(
            "pl-0opaque".to_string(),
            PrefixList {
                id: "pl-0opaque".into(),
                entries: None,
                ..Default::default()
            },
        );
        PrefixLists::new(Some(&m))
    }

    #[test]
    fn sources_merge_across_rules_and_groups() {
        let a = sg(
            "sg-a",
            &[
                r("tcp", 443, 443, "10.0.0.0/24"),
                r("tcp", 400, 500, "10.0.1.0/24"),
                r("tcp", 80, 80, "0.0.0.0/0"),
                r("tcp", 443, 443, "sg-0bastion"),
                r("tcp", 443, 443, "pl-0office"),
                r("tcp", 443, 443, "pl-0opaque"),
            ],
        );
        let b = sg("sg-b", &[r("-1", 0, 0, "::/0")]);
        let got = sgs_admit([&a, &b], Traffic::tcp(443), &pls());
        assert_eq!(
            got.addrs.cidr_strings(),
            vec!["10.0.0.0/23", "198.51.100.0/24", "::/0"]
        );
        assert_eq!(got.groups, BTreeSet::from(["sg-0bastion".to_string()]));
        assert_eq!(got.prefix_lists, BTreeSet::from(["pl-0office".to_string()]));
        assert_eq!(
            got.unexpanded_prefix_lists,
            BTreeSet::from(["pl-0opaque".to_string()])
        );
        assert_eq!(got.rules.len(), 6);
        assert!(got.addrs.covers_all_v6() && !got.addrs.covers_all_v4());
        assert!(sg_admits(&a, Traffic::tcp(22), &pls()).is_empty());
        assert!(
            sg_admits(&a, Traffic::tcp(80), &pls())
                .addrs
                .covers_all_v4()
        );
        assert!(sg_admits(&a, Traffic::udp(443), &pls()).is_empty());
    }

    #[test]
    fn sg_reference_admits_the_sender_carrying_it() {
        let node = sg(
            "sg-0node",
            &[
                r("tcp", 5514, 30000, "sg-0backend"),
                r("tcp", 22, 22, "sg-0bastion"),
            ],
        );
        let lb = Principal::group("sg-0backend");
        let ok = admits(&[&node], &[], &lb, Traffic::tcp(8080), &pls());
        assert_eq!(ok.verdict, Verdict::Admitted);
        assert_eq!(ok.rules.len(), 1);
        let no = admits(&[&node], &[], &lb, Traffic::tcp(31443), &pls());
        assert_eq!(no.verdict, Verdict::Blocked);
        assert!(no.rules.is_empty());
        assert_eq!(
            no.near_misses.len(),
            1,
            "the 5514-30000 rule is a near miss"
        );
        let other = admits(
            &[&node],
            &[],
            &Principal::group("sg-0custom"),
            Traffic::tcp(8080),
            &pls(),
        );
        assert_eq!(other.verdict, Verdict::Blocked);
        assert!(other.near_misses.is_empty());
    }

    #[test]
    fn cidr_coverage_is_exact() {
        let node = sg(
            "sg-0node",
            &[
                r("tcp", 30808, 30808, "10.0.0.0/24"),
                r("tcp", 30808, 30808, "10.0.1.0/24"),
            ],
        );
        let subnets = |c: &[&str]| Principal::addrs(AddrSet::from_cidrs(c.iter().copied()).0);
        let all = admits(
            &[&node],
            &[],
            &subnets(&["10.0.0.0/23"]),
            Traffic::tcp(30808),
            &pls(),
        );
        assert_eq!(all.verdict, Verdict::Admitted);
        assert_eq!(all.rules.len(), 2);
        let part = admits(
            &[&node],
            &[],
            &subnets(&["10.0.0.0/23", "10.0.2.0/24"]),
            Traffic::tcp(30808),
            &pls(),
        );
        assert_eq!(part.verdict, Verdict::Partial);
        assert_eq!(part.uncovered.cidr_strings(), vec!["10.0.2.0/24"]);
        let v6 = admits(
            &[&node],
            &[],
            &subnets(&["2600::/64"]),
            Traffic::tcp(30808),
            &pls(),
        );
        assert_eq!(v6.verdict, Verdict::Blocked);
        // Near misses: only rules that would admit the whole sender on another port.
        let wide = sg(
            "sg-0wide",
            &[
                r("tcp", 22, 22, "10.0.0.0/16"),
                r("tcp", 23, 23, "10.0.0.0/24"),
            ],
        );
        let miss = admits(
            &[&wide],
            &[],
            &subnets(&["10.0.0.0/23"]),
            Traffic::tcp(30808),
            &pls(),
        );
        assert_eq!(miss.verdict, Verdict::Blocked);
        assert_eq!(miss.near_misses.len(), 1);
        assert_eq!(miss.near_misses[0].rule.from_port, Some(22));
    }

    #[test]
    fn unknown_when_missing_data_could_admit() {
        let node = sg("sg-0node", &[r("tcp", 443, 443, "pl-0opaque")]);
        let who = Principal::addrs(AddrSet::parse_cidr("10.0.0.0/24").unwrap());
        let a = admits(&[&node], &[], &who, Traffic::tcp(443), &pls());
        assert_eq!(a.verdict, Verdict::Unknown);
        assert_eq!(
            a.unknown,
            vec!["prefix list pl-0opaque: entries not loaded"]
        );
        let b = admits(
            &[],
            &["sg-0gone".to_string()],
            &who,
            Traffic::tcp(443),
            &pls(),
        );
        assert_eq!(b.verdict, Verdict::Unknown);
        // An expanded list decides.
        let office = sg("sg-0x", &[r("tcp", 443, 443, "pl-0office")]);
        let c = admits(
            &[&office],
            &[],
            &Principal::addrs(AddrSet::parse_cidr("198.51.100.7/32").unwrap()),
            Traffic::tcp(443),
            &pls(),
        );
        assert_eq!(c.verdict, Verdict::Admitted);
    }
}
