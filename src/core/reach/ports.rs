//! Protocols and port sets as EC2 evaluates them.
//!
//! A rule's `IpProtocol` is `-1` (every protocol, every port), `tcp`/`udp` with a port range,
//! `icmp`/`icmpv6` with a type (`FromPort`) and code (`ToPort`, `-1` = any), or another protocol
//! number, for which EC2 ignores ports. ICMP type/code pairs are kept in the same `u16` space as
//! ports (`type << 8 | code`), so one set type serves every protocol.

use std::collections::BTreeMap;

use serde::{Serialize, Serializer};

use super::interval::IntervalSet;
use crate::world::Rule;

/// One concrete IP protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Proto {
    Tcp,
    Udp,
    Icmp,
    Icmpv6,
    /// Any other IANA protocol number (ports do not apply).
    Other(u8),
}

impl Proto {
    /// EC2 or ELB spelling, case-insensitive: `tcp`, `6`, `UDP`, `icmp`, `58`, `50`, …
    /// `None` for `-1`/`all` (not one protocol) and for unknown names.
    pub fn parse(s: &str) -> Option<Self> {
        let l = s.trim().to_ascii_lowercase();
        match l.as_str() {
            "tcp" | "6" => Some(Proto::Tcp),
            "udp" | "17" => Some(Proto::Udp),
            "icmp" | "1" => Some(Proto::Icmp),
            "icmpv6" | "58" => Some(Proto::Icmpv6),
            other => other.parse::<u8>().ok().map(Proto::Other),
        }
    }

    /// Whether the protocol has ports (or ICMP type/code) that rules can restrict.
    pub fn has_ports(self) -> bool {
        !matches!(self, Proto::Other(_))
    }

    pub fn is_icmp(self) -> bool {
        matches!(self, Proto::Icmp | Proto::Icmpv6)
    }

    pub fn name(self) -> String {
        match self {
            Proto::Tcp => "tcp".into(),
            Proto::Udp => "udp".into(),
            Proto::Icmp => "icmp".into(),
            Proto::Icmpv6 => "icmpv6".into(),
            Proto::Other(n) => format!("proto-{n}"),
        }
    }
}

impl std::fmt::Display for Proto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

impl Serialize for Proto {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

/// ICMP type/code as one value in the port space.
pub fn icmp_key(icmp_type: u8, code: u8) -> u16 {
    (u16::from(icmp_type) << 8) | u16::from(code)
}

/// One flow to test a rule against: a protocol and a port (or ICMP type/code key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Traffic {
    pub proto: Proto,
    pub port: u16,
}

impl Traffic {
    pub fn tcp(port: u16) -> Self {
        Self {
            proto: Proto::Tcp,
            port,
        }
    }
    pub fn udp(port: u16) -> Self {
        Self {
            proto: Proto::Udp,
            port,
        }
    }
}

impl std::fmt::Display for Traffic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.proto {
            Proto::Icmp | Proto::Icmpv6 => write!(
                f,
                "{} type {} code {}",
                self.proto,
                self.port >> 8,
                self.port & 0xff
            ),
            Proto::Other(_) => write!(f, "{}", self.proto),
            _ => write!(f, "{}/{}", self.proto, self.port),
        }
    }
}

pub type PortSet = IntervalSet<u16>;

/// What one rule admits, protocol-wise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RulePorts {
    /// Protocol `-1`: everything.
    All,
    One(Proto, PortSet),
    /// A protocol string EC2 would not hold; admits nothing.
    Invalid,
}

impl RulePorts {
    pub fn of(rule: &Rule) -> Self {
        let p = rule.protocol.trim();
        if p == "-1" || p.eq_ignore_ascii_case("all") {
            return RulePorts::All;
        }
        let Some(proto) = Proto::parse(p) else {
            return RulePorts::Invalid;
        };
        let set = match proto {
            Proto::Other(_) => PortSet::full(),
            Proto::Icmp | Proto::Icmpv6 => icmp_set(rule.from_port, rule.to_port),
            Proto::Tcp | Proto::Udp => port_range(rule.from_port, rule.to_port),
        };
        RulePorts::One(proto, set)
    }

    pub fn admits(&self, t: Traffic) -> bool {
        match self {
            RulePorts::All => true,
            RulePorts::One(p, set) => *p == t.proto && (!p.has_ports() || set.contains(t.port)),
            RulePorts::Invalid => false,
        }
    }
}

/// TCP/UDP ports: `-1`/absent bounds mean "all" (what EC2 shows for all-port rules).
fn port_range(from: Option<i32>, to: Option<i32>) -> PortSet {
    match (from, to) {
        (None, _) | (Some(-1), _) => PortSet::full(),
        (Some(f), t) => {
            let t = t.filter(|t| *t >= 0).unwrap_or(f);
            match (u16::try_from(f), u16::try_from(t)) {
                (Ok(f), Ok(t)) => PortSet::range(f, t),
                _ => PortSet::empty(),
            }
        }
    }
}

/// ICMP: type `-1` = every type and code; code `-1` = every code of the type.
fn icmp_set(icmp_type: Option<i32>, code: Option<i32>) -> PortSet {
    let Some(t) = icmp_type.filter(|t| *t >= 0) else {
        return PortSet::full();
    };
    let Ok(t) = u8::try_from(t) else {
        return PortSet::empty();
    };
    match code.filter(|c| *c >= 0) {
        None => PortSet::range(icmp_key(t, 0), icmp_key(t, 255)),
        Some(c) => match u8::try_from(c) {
            Ok(c) => PortSet::single(icmp_key(t, c)),
            Err(_) => PortSet::empty(),
        },
    }
}

/// Ports per protocol: what a set of rules admits, for summaries and diffs.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PortMap {
    /// A `-1` rule is present: every protocol and port.
    pub all: bool,
    pub per_proto: BTreeMap<Proto, PortSet>,
}

impl PortMap {
    pub fn add_rule(&mut self, rp: &RulePorts) {
        match rp {
            RulePorts::All => self.all = true,
            RulePorts::One(p, set) => self.per_proto.entry(*p).or_default().insert(set),
            RulePorts::Invalid => {}
        }
    }

    pub fn is_empty(&self) -> bool {
        !self.all && self.per_proto.values().all(PortSet::is_empty)
    }

    pub fn admits(&self, t: Traffic) -> bool {
        self.all
            || self
                .per_proto
                .get(&t.proto)
                .is_some_and(|s| !t.proto.has_ports() || s.contains(t.port))
    }

    /// What `self` admits that `other` does not. `all` on one side is kept as a flag (there is no
    /// finite "everything except" to show).
    pub fn difference(&self, other: &Self) -> Self {
        if other.all {
            return Self::default();
        }
        let per_proto = self
            .per_proto
            .iter()
            .map(|(p, s)| {
                let rest = match other.per_proto.get(p) {
                    Some(o) => s.difference(o),
                    None => s.clone(),
                };
                (*p, rest)
            })
            .filter(|(_, s)| !s.is_empty())
            .collect();
        Self {
            all: self.all,
            per_proto,
        }
    }
}

impl std::fmt::Display for PortMap {
    /// `all traffic`, or `tcp 80, 443, 30000-32767; udp 53`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.all {
            return f.write_str("all traffic");
        }
        let mut parts = Vec::new();
        for (p, set) in &self.per_proto {
            if set.is_empty() {
                continue;
            }
            parts.push(format!("{p} {}", ports_text(*p, set)));
        }
        if parts.is_empty() {
            f.write_str("nothing")
        } else {
            f.write_str(&parts.join("; "))
        }
    }
}

impl Serialize for PortMap {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

/// `80, 443, 30000-32767`, `all ports`, ICMP as `type 3 code 4` / `type 8` / `all`.
pub fn ports_text(p: Proto, set: &PortSet) -> String {
    if set.is_full() || !p.has_ports() {
        return if p.is_icmp() { "all" } else { "all ports" }.into();
    }
    let parts: Vec<String> = set
        .ranges()
        .iter()
        .map(|&(lo, hi)| {
            if p.is_icmp() {
                let (t0, t1) = (lo >> 8, hi >> 8);
                if lo & 0xff == 0 && hi & 0xff == 0xff {
                    if t0 == t1 {
                        format!("type {t0}")
                    } else {
                        format!("types {t0}-{t1}")
                    }
                } else if lo == hi {
                    format!("type {t0} code {}", lo & 0xff)
                } else {
                    format!("type {t0} code {}-type {t1} code {}", lo & 0xff, hi & 0xff)
                }
            } else if lo == hi {
                lo.to_string()
            } else {
                format!("{lo}-{hi}")
            }
        })
        .collect();
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::Source;

    fn rule(proto: &str, from: Option<i32>, to: Option<i32>) -> Rule {
        Rule {
            protocol: proto.into(),
            from_port: from,
            to_port: to,
            source: Source::Cidr("0.0.0.0/0".into()),
            description: String::new(),
        }
    }

    #[test]
    fn protocol_minus_one_admits_everything() {
        for r in [rule("-1", None, None), rule("-1", Some(-1), Some(-1))] {
            let rp = RulePorts::of(&r);
            assert!(rp.admits(Traffic::tcp(22)));
            assert!(rp.admits(Traffic::udp(53)));
            assert!(rp.admits(Traffic {
                proto: Proto::Icmp,
                port: icmp_key(8, 0)
            }));
            assert!(rp.admits(Traffic {
                proto: Proto::Other(50),
                port: 0
            }));
        }
    }

    #[test]
    fn tcp_ranges_are_inclusive_and_protocol_specific() {
        let rp = RulePorts::of(&rule("tcp", Some(30000), Some(32767)));
        assert!(rp.admits(Traffic::tcp(30000)) && rp.admits(Traffic::tcp(32767)));
        assert!(!rp.admits(Traffic::tcp(29999)) && !rp.admits(Traffic::tcp(32768)));
        assert!(!rp.admits(Traffic::udp(31000)));
        // Protocol numbers are the same protocols.
        assert!(RulePorts::of(&rule("6", Some(443), Some(443))).admits(Traffic::tcp(443)));
        assert!(RulePorts::of(&rule("UDP", Some(53), Some(53))).admits(Traffic::udp(53)));
        // Reversed or out-of-range ports admit nothing.
        assert!(!RulePorts::of(&rule("tcp", Some(90), Some(80))).admits(Traffic::tcp(85)));
        assert!(!RulePorts::of(&rule("tcp", Some(70000), Some(70000))).admits(Traffic::tcp(4464)));
        assert_eq!(
            RulePorts::of(&rule("bogus", None, None)),
            RulePorts::Invalid
        );
    }

    #[test]
    fn icmp_type_and_code() {
        let frag = RulePorts::of(&rule("icmp", Some(3), Some(4)));
        let t = |ty, c| Traffic {
            proto: Proto::Icmp,
            port: icmp_key(ty, c),
        };
        assert!(frag.admits(t(3, 4)) && !frag.admits(t(3, 3)) && !frag.admits(t(8, 0)));
        let unreachable = RulePorts::of(&rule("icmp", Some(3), Some(-1)));
        assert!(unreachable.admits(t(3, 0)) && unreachable.admits(t(3, 255)));
        assert!(!unreachable.admits(t(4, 0)));
        let any = RulePorts::of(&rule("icmp", Some(-1), Some(-1)));
        assert!(any.admits(t(0, 0)) && any.admits(t(255, 255)));
        // icmp never admits icmpv6.
        assert!(!any.admits(Traffic {
            proto: Proto::Icmpv6,
            port: 0
        }));
    }

    #[test]
    fn other_protocols_ignore_ports() {
        let esp = RulePorts::of(&rule("50", Some(0), Some(0)));
        assert!(esp.admits(Traffic {
            proto: Proto::Other(50),
            port: 1234
        }));
        assert!(!esp.admits(Traffic::tcp(0)));
    }

    #[test]
    fn port_map_text_and_difference() {
        let mut a = PortMap::default();
        a.add_rule(&RulePorts::of(&rule("tcp", Some(80), Some(80))));
        a.add_rule(&RulePorts::of(&rule("tcp", Some(443), Some(443))));
        a.add_rule(&RulePorts::of(&rule("tcp", Some(81), Some(81))));
        a.add_rule(&RulePorts::of(&rule("udp", Some(53), Some(53))));
        a.add_rule(&RulePorts::of(&rule("icmp", Some(3), Some(4))));
        assert_eq!(a.to_string(), "tcp 80-81, 443; udp 53; icmp type 3 code 4");
        let mut b = PortMap::default();
        b.add_rule(&RulePorts::of(&rule("tcp", Some(0), Some(100))));
        assert_eq!(
            a.difference(&b).to_string(),
            "tcp 443; udp 53; icmp type 3 code 4"
        );
        assert!(b.difference(&a).admits(Traffic::tcp(22)));
        let mut all = PortMap::default();
        all.add_rule(&RulePorts::All);
        assert!(a.difference(&all).is_empty());
        assert_eq!(all.to_string(), "all traffic");
    }
}
