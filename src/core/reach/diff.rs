//! What changes in exposure between two worlds (before/after a plan): sources and ports gained
//! or lost per listener, and targets that become reachable or blocked.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::addr::AddrSet;
use super::admit::{AdmittedSources, Verdict};
use super::exposure::{Exposure, LbReach, ListenerReach, exposure};
use super::ports::PortMap;
use crate::world::World;

/// Sources on one side of a diff.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SourceDelta {
    pub addrs: AddrSet,
    pub groups: BTreeSet<String>,
    pub prefix_lists: BTreeSet<String>,
}

impl SourceDelta {
    pub fn is_empty(&self) -> bool {
        self.addrs.is_empty() && self.groups.is_empty() && self.prefix_lists.is_empty()
    }

    fn between(a: &AdmittedSources, b: &AdmittedSources) -> Self {
        let pl = |s: &AdmittedSources| -> BTreeSet<String> {
            s.prefix_lists
                .union(&s.unexpanded_prefix_lists)
                .cloned()
                .collect()
        };
        Self {
            addrs: a.addrs.difference(&b.addrs),
            groups: a.groups.difference(&b.groups).cloned().collect(),
            prefix_lists: pl(a).difference(&pl(b)).cloned().collect(),
        }
    }
}

impl std::fmt::Display for SourceDelta {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = self.addrs.cidr_strings();
        parts.extend(self.groups.iter().cloned());
        parts.extend(self.prefix_lists.iter().cloned());
        f.write_str(&parts.join(", "))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    Added,
    Removed,
    Changed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListenerDiff {
    pub load_balancer: String,
    pub load_balancer_name: String,
    /// `<lb arn>|<PROTOCOL>|<port>`: stable even when a listener is re-created.
    pub listener: String,
    pub protocol: String,
    pub port: u16,
    pub change: Change,
    pub sources_gained: SourceDelta,
    pub sources_lost: SourceDelta,
    /// The whole admitted-source list before and after, for a readable `A → B` line.
    pub sources_before: String,
    pub sources_after: String,
    /// `IPv4` / `IPv6`: whole-internet reach gained or lost.
    pub internet_gained: Vec<String>,
    pub internet_lost: Vec<String>,
    /// `<tg arn>|<target id>|<port>`.
    pub targets_newly_reachable: Vec<String>,
    pub targets_newly_blocked: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortsDiff {
    pub load_balancer: String,
    /// What the frontend SGs admit (any source) after but not before, and the reverse.
    pub gained: PortMap,
    pub lost: PortMap,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ExposureDiff {
    pub load_balancers_added: Vec<String>,
    pub load_balancers_removed: Vec<String>,
    pub listeners: Vec<ListenerDiff>,
    pub frontend_ports: Vec<PortsDiff>,
}

impl ExposureDiff {
    pub fn is_empty(&self) -> bool {
        self.load_balancers_added.is_empty()
            && self.load_balancers_removed.is_empty()
            && self.listeners.is_empty()
            && self.frontend_ports.is_empty()
    }

    /// Whether anyone gains reach (new sources, internet, ports or reachable targets).
    pub fn widens(&self) -> bool {
        !self.load_balancers_added.is_empty()
            || self.listeners.iter().any(|l| {
                !l.sources_gained.is_empty()
                    || !l.internet_gained.is_empty()
                    || !l.targets_newly_reachable.is_empty()
            })
            || self.frontend_ports.iter().any(|p| !p.gained.is_empty())
    }

    /// One line per change, for `lbsg plan`.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        for lb in &self.load_balancers_added {
            out.push(format!("+ load balancer {lb}"));
        }
        for lb in &self.load_balancers_removed {
            out.push(format!("- load balancer {lb}"));
        }
        for l in &self.listeners {
            let head = format!("{} {}/{}", l.load_balancer_name, l.protocol, l.port);
            match l.change {
                Change::Added => out.push(format!("+ {head}: new listener")),
                Change::Removed => out.push(format!("- {head}: listener removed")),
                Change::Changed => {}
            }
            for fam in &l.internet_gained {
                out.push(format!("+ {head}: reachable from the {fam} internet"));
            }
            for fam in &l.internet_lost {
                out.push(format!(
                    "- {head}: no longer reachable from the {fam} internet"
                ));
            }
            let sign = match (l.sources_gained.is_empty(), l.sources_lost.is_empty()) {
                (true, true) => None,
                (false, true) => Some('+'),
                (true, false) => Some('-'),
                (false, false) => Some('~'),
            };
            if let (Some(sign), Change::Changed) = (sign, l.change) {
                out.push(format!(
                    "{sign} {head}: sources {} → {}",
                    l.sources_before, l.sources_after
                ));
            }
            if !l.targets_newly_reachable.is_empty() {
                out.push(format!(
                    "+ {head}: {} target(s) become reachable",
                    l.targets_newly_reachable.len()
                ));
            }
            if !l.targets_newly_blocked.is_empty() {
                out.push(format!(
                    "- {head}: {} target(s) become unreachable",
                    l.targets_newly_blocked.len()
                ));
            }
        }
        for p in &self.frontend_ports {
            if !p.gained.is_empty() {
                out.push(format!(
                    "+ {}: frontend SGs admit {}",
                    p.load_balancer, p.gained
                ));
            }
            if !p.lost.is_empty() {
                out.push(format!(
                    "- {}: frontend SGs no longer admit {}",
                    p.load_balancer, p.lost
                ));
            }
        }
        out
    }
}

pub fn exposure_diff(before: &World, after: &World) -> ExposureDiff {
    diff_exposures(&exposure(before), &exposure(after))
}

pub fn diff_exposures(before: &Exposure, after: &Exposure) -> ExposureDiff {
    let arns: BTreeSet<&String> = before
        .load_balancers
        .keys()
        .chain(after.load_balancers.keys())
        .collect();
    diff_lbs(arns.iter().map(|arn| {
        (
            before.load_balancers.get(*arn),
            after.load_balancers.get(*arn),
        )
    }))
}

/// The diff of load balancers given as (before, after) pairs in ARN order; a pair that is the
/// same LB unchanged adds nothing.
pub(crate) fn diff_lbs<'a>(
    pairs: impl Iterator<Item = (Option<&'a LbReach>, Option<&'a LbReach>)> + Clone,
) -> ExposureDiff {
    let mut out = ExposureDiff::default();
    for (b, a) in pairs.clone() {
        match (b, a) {
            (None, Some(a)) => out.load_balancers_added.push(a.arn.clone()),
            (Some(b), None) => out.load_balancers_removed.push(b.arn.clone()),
            _ => {}
        }
    }
    let empty_lb = |lb: &LbReach| LbReach {
        listeners: Vec::new(),
        target_groups: BTreeMap::new(),
        frontend_ports: PortMap::default(),
        ..lb.clone()
    };
    for pair in pairs {
        match pair {
            (Some(b), Some(a)) => diff_lb(b, a, &mut out),
            (Some(b), None) => diff_lb(b, &empty_lb(b), &mut out),
            (None, Some(a)) => diff_lb(&empty_lb(a), a, &mut out),
            (None, None) => {}
        }
    }
    out
}

fn listener_key(lb: &LbReach, l: &ListenerReach) -> String {
    format!("{}|{}|{}", lb.arn, l.protocol.to_ascii_uppercase(), l.port)
}

fn diff_lb<'a>(before: &'a LbReach, after: &'a LbReach, out: &mut ExposureDiff) {
    let gained = after.frontend_ports.difference(&before.frontend_ports);
    let lost = before.frontend_ports.difference(&after.frontend_ports);
    if !gained.is_empty() || !lost.is_empty() {
        out.frontend_ports.push(PortsDiff {
            load_balancer: after.arn.clone(),
            gained,
            lost,
        });
    }
    let index = |lb: &'a LbReach| -> BTreeMap<String, &'a ListenerReach> {
        lb.listeners
            .iter()
            .map(|l| (listener_key(lb, l), l))
            .collect()
    };
    let (b, a) = (index(before), index(after));
    let keys: BTreeSet<&String> = b.keys().chain(a.keys()).collect();
    for key in keys {
        let (bl, al) = (b.get(key).copied(), a.get(key).copied());
        let Some(any) = al.or(bl) else { continue };
        let change = match (bl, al) {
            (None, Some(_)) => Change::Added,
            (Some(_), None) => Change::Removed,
            _ => Change::Changed,
        };
        let none = AdmittedSources::default();
        let bs = bl.map_or(&none, |l| &l.sources);
        let as_ = al.map_or(&none, |l| &l.sources);
        let fam = |l: Option<&ListenerReach>| -> BTreeSet<String> {
            let mut s = BTreeSet::new();
            if let Some(l) = l {
                if l.internet_v4 {
                    s.insert("IPv4".to_string());
                }
                if l.internet_v6 {
                    s.insert("IPv6".to_string());
                }
            }
            s
        };
        let (bf, af) = (fam(bl), fam(al));
        // the same target groups evaluated the same way reach the same targets: skip
        // collecting thousands of them (most LBs a change touches only change sources)
        let same_targets = match (bl, al) {
            (Some(b), Some(a)) => {
                b.target_groups == a.target_groups
                    && b.target_groups
                        .iter()
                        .all(|arn| before.target_groups.get(arn) == after.target_groups.get(arn))
            }
            _ => false,
        };
        let (bt, at) = if same_targets {
            (BTreeSet::new(), BTreeSet::new())
        } else {
            (reachable_targets(before, bl), reachable_targets(after, al))
        };
        let targets = |a: &BTreeSet<TargetKey<'_>>, b: &BTreeSet<TargetKey<'_>>| {
            // formatted only when they differ: a listener may reach thousands of targets
            let mut v: Vec<String> = a.difference(b).map(target_text).collect();
            v.sort();
            v
        };
        let d = ListenerDiff {
            load_balancer: after.arn.clone(),
            load_balancer_name: after.name.clone(),
            listener: key.clone(),
            protocol: any.protocol.clone(),
            port: any.port,
            change,
            sources_gained: SourceDelta::between(as_, bs),
            sources_lost: SourceDelta::between(bs, as_),
            sources_before: bs.describe(),
            sources_after: as_.describe(),
            internet_gained: af.difference(&bf).cloned().collect(),
            internet_lost: bf.difference(&af).cloned().collect(),
            targets_newly_reachable: targets(&at, &bt),
            targets_newly_blocked: targets(&bt, &at),
        };
        let unchanged = d.change == Change::Changed
            && d.sources_gained.is_empty()
            && d.sources_lost.is_empty()
            && d.internet_gained.is_empty()
            && d.internet_lost.is_empty()
            && d.targets_newly_reachable.is_empty()
            && d.targets_newly_blocked.is_empty();
        if !unchanged {
            out.listeners.push(d);
        }
    }
}

/// A target behind a listener: (TG ARN, target id, port).
type TargetKey<'a> = (&'a str, &'a str, Option<u16>);

/// `<tg>|<target>|<port>`.
fn target_text((tg, id, port): &TargetKey<'_>) -> String {
    format!(
        "{tg}|{id}|{}",
        port.map(|p| p.to_string()).unwrap_or_default()
    )
}

/// Every target the listener reaches.
fn reachable_targets<'a>(lb: &'a LbReach, l: Option<&'a ListenerReach>) -> BTreeSet<TargetKey<'a>> {
    let mut out = BTreeSet::new();
    let Some(l) = l else { return out };
    for arn in &l.target_groups {
        let Some(tg) = lb.target_groups.get(arn) else {
            continue;
        };
        for set in tg.sets.iter().filter(|s| s.verdict == Verdict::Admitted) {
            for t in &set.targets {
                out.insert((arn.as_str(), t.id.as_str(), t.port));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::reach::fixtures::*;

    #[test]
    fn no_change_no_diff() {
        let mut w = base();
        web(&mut w);
        let d = exposure_diff(&w, &w.clone());
        assert!(d.is_empty(), "{d:#?}");
        assert!(!d.widens());
    }

    #[test]
    fn widening_a_frontend_rule_gains_sources_and_ports() {
        let mut before = base();
        let (lb, _) = web(&mut before);
        if let Some(sg) = sgs(&mut before).get_mut("sg-0web") {
            sg.ingress = vec![rule("tcp", 443, 443, "10.0.0.0/16")];
        }
        let mut after = before.clone();
        add_rule(&mut after, "sg-0web", rule("tcp", 443, 443, "0.0.0.0/0"));
        add_rule(
            &mut after,
            "sg-0web",
            rule("tcp", 8443, 8443, "sg-0bastion"),
        );
        let d = exposure_diff(&before, &after);
        assert!(d.widens());
        assert_eq!(d.listeners.len(), 1);
        let l = &d.listeners[0];
        assert_eq!(l.listener, format!("{lb}|TCP|443"));
        assert_eq!(l.change, Change::Changed);
        assert_eq!(l.internet_gained, vec!["IPv4"]);
        // 0.0.0.0/0 minus the 10.0.0.0/16 already admitted.
        assert!(l.sources_gained.addrs.contains("8.8.8.8".parse().unwrap()));
        assert!(!l.sources_gained.addrs.contains("10.0.1.1".parse().unwrap()));
        assert!(l.sources_lost.is_empty());
        assert_eq!(d.frontend_ports.len(), 1);
        assert_eq!(d.frontend_ports[0].gained.to_string(), "tcp 8443");
        assert!(d.frontend_ports[0].lost.is_empty());
        let lines = d.lines();
        assert!(
            lines
                .iter()
                .any(|x| x == "+ web TCP/443: reachable from the IPv4 internet"),
            "{lines:#?}"
        );
        // And back: the reverse diff narrows.
        let r = exposure_diff(&after, &before);
        assert!(!r.widens());
        assert_eq!(r.listeners[0].internet_lost, vec!["IPv4"]);
        assert_eq!(r.frontend_ports[0].lost.to_string(), "tcp 8443");
    }

    #[test]
    fn fixing_a_target_rule_makes_targets_reachable() {
        let mut after = base();
        let (_, tg) = web(&mut after);
        let mut before = after.clone();
        if let Some(sg) = sgs(&mut before).get_mut(NODE_SG) {
            sg.ingress.retain(|r| r.rule.from_port != Some(31443));
        }
        let d = exposure_diff(&before, &after);
        let l = &d.listeners[0];
        assert_eq!(
            l.targets_newly_reachable,
            vec![format!("{tg}|i-0n1|31443"), format!("{tg}|i-0n2|31443")]
        );
        assert!(l.targets_newly_blocked.is_empty());
        assert!(l.sources_gained.is_empty(), "the frontend did not change");
        assert!(d.widens());
        let back = exposure_diff(&after, &before);
        assert_eq!(back.listeners[0].targets_newly_blocked.len(), 2);
    }

    #[test]
    fn new_and_removed_listeners_and_lbs() {
        let before = base();
        let mut after = before.clone();
        let (lb, _) = web(&mut after);
        let d = exposure_diff(&before, &after);
        assert_eq!(d.load_balancers_added, vec![lb.clone()]);
        assert_eq!(d.listeners[0].change, Change::Added);
        assert!(d.listeners[0].internet_gained.contains(&"IPv4".to_string()));
        let back = exposure_diff(&after, &before);
        assert_eq!(back.load_balancers_removed, vec![lb]);
        assert_eq!(back.listeners[0].change, Change::Removed);
    }
}
