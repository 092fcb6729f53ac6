//! IPv4 + IPv6 address sets: exact set algebra over CIDRs, "covers the internet", and the
//! minimal CIDR decomposition used for display.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use serde::{Serialize, Serializer};

use super::interval::IntervalSet;

/// A set of IPv4 and IPv6 addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct AddrSet {
    pub v4: IntervalSet<u32>,
    pub v6: IntervalSet<u128>,
}

impl AddrSet {
    pub fn empty() -> Self {
        Self::default()
    }

    /// Every IPv4 and IPv6 address.
    pub fn internet() -> Self {
        Self {
            v4: IntervalSet::full(),
            v6: IntervalSet::full(),
        }
    }

    /// `0.0.0.0/0` only.
    pub fn all_v4() -> Self {
        Self {
            v4: IntervalSet::full(),
            v6: IntervalSet::empty(),
        }
    }

    /// `::/0` only.
    pub fn all_v6() -> Self {
        Self {
            v4: IntervalSet::empty(),
            v6: IntervalSet::full(),
        }
    }

    /// A CIDR as EC2 would hold it. Host bits are masked off (EC2 refuses them, the LBC passes
    /// strings through, so be lenient on input and exact on the network it names).
    pub fn parse_cidr(cidr: &str) -> Result<Self, String> {
        let t = cidr.trim();
        let net: IpNet = match t.parse::<IpNet>() {
            Ok(n) => n,
            // A bare address is a /32 or /128 (EndpointSlice addresses, target IPs).
            Err(_) => match t.parse::<IpAddr>() {
                Ok(a) => IpNet::from(a),
                Err(e) => return Err(format!("invalid CIDR address: {t}: {e}")),
            },
        };
        Ok(Self::from_net(net))
    }

    pub fn from_net(net: IpNet) -> Self {
        let mut s = Self::empty();
        match net.trunc() {
            IpNet::V4(n) => {
                s.v4 = IntervalSet::range(u32::from(n.network()), u32::from(n.broadcast()));
            }
            IpNet::V6(n) => {
                s.v6 = IntervalSet::range(u128::from(n.network()), u128::from(n.broadcast()));
            }
        }
        s
    }

    pub fn from_addr(addr: IpAddr) -> Self {
        Self::from_net(IpNet::from(addr))
    }

    /// The union of CIDRs; invalid entries are returned separately so callers can name them.
    pub fn from_cidrs<'a>(cidrs: impl IntoIterator<Item = &'a str>) -> (Self, Vec<String>) {
        let mut set = Self::empty();
        let mut bad = Vec::new();
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for c in cidrs {
            match Self::parse_cidr(c) {
                Ok(s) => {
                    v4.extend_from_slice(s.v4.ranges());
                    v6.extend_from_slice(s.v6.ranges());
                }
                Err(_) => bad.push(c.to_string()),
            }
        }
        set.v4 = IntervalSet::from_ranges(v4);
        set.v6 = IntervalSet::from_ranges(v6);
        (set, bad)
    }

    pub fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }

    /// `0.0.0.0/0` is in the set.
    pub fn covers_all_v4(&self) -> bool {
        self.v4.is_full()
    }

    /// `::/0` is in the set.
    pub fn covers_all_v6(&self) -> bool {
        self.v6.is_full()
    }

    /// Either whole address family: "open to the internet".
    pub fn covers_internet(&self) -> bool {
        self.covers_all_v4() || self.covers_all_v6()
    }

    pub fn contains(&self, addr: IpAddr) -> bool {
        match addr {
            IpAddr::V4(a) => self.v4.contains(u32::from(a)),
            IpAddr::V6(a) => self.v6.contains(u128::from(a)),
        }
    }

    /// Whether every address of `other` is in `self`.
    pub fn contains_set(&self, other: &Self) -> bool {
        self.v4.contains_set(&other.v4) && self.v6.contains_set(&other.v6)
    }

    pub fn overlaps(&self, other: &Self) -> bool {
        self.v4.overlaps(&other.v4) || self.v6.overlaps(&other.v6)
    }

    pub fn union(&self, other: &Self) -> Self {
        Self {
            v4: self.v4.union(&other.v4),
            v6: self.v6.union(&other.v6),
        }
    }

    pub fn insert(&mut self, other: &Self) {
        self.v4.insert(&other.v4);
        self.v6.insert(&other.v6);
    }

    pub fn intersection(&self, other: &Self) -> Self {
        Self {
            v4: self.v4.intersection(&other.v4),
            v6: self.v6.intersection(&other.v6),
        }
    }

    pub fn difference(&self, other: &Self) -> Self {
        Self {
            v4: self.v4.difference(&other.v4),
            v6: self.v6.difference(&other.v6),
        }
    }

    /// The fewest CIDRs whose union is exactly this set, IPv4 first, each family in address order.
    pub fn to_cidrs(&self) -> Vec<IpNet> {
        let mut out = Vec::new();
        for &(lo, hi) in self.v4.ranges() {
            for (base, len) in decompose(u128::from(lo), u128::from(hi), 32) {
                if let Ok(n) = Ipv4Net::new(Ipv4Addr::from(base as u32), len) {
                    out.push(IpNet::V4(n));
                }
            }
        }
        for &(lo, hi) in self.v6.ranges() {
            for (base, len) in decompose(lo, hi, 128) {
                if let Ok(n) = Ipv6Net::new(Ipv6Addr::from(base), len) {
                    out.push(IpNet::V6(n));
                }
            }
        }
        out
    }

    /// CIDR strings of [`AddrSet::to_cidrs`].
    pub fn cidr_strings(&self) -> Vec<String> {
        self.to_cidrs().iter().map(ToString::to_string).collect()
    }
}

/// Minimal aligned blocks covering `[lo, hi]` in a `bits`-wide space: at each step take the
/// largest block that starts at `lo` (alignment) and does not pass `hi`.
fn decompose(mut lo: u128, hi: u128, bits: u8) -> Vec<(u128, u8)> {
    let mut out = Vec::new();
    loop {
        let align = if lo == 0 {
            u32::from(bits)
        } else {
            lo.trailing_zeros().min(u32::from(bits))
        };
        // span = hi - lo + 1 may overflow for the full v6 space; compare in "size - 1" terms.
        let span_minus_one = hi - lo;
        let fit = if span_minus_one == u128::MAX {
            128
        } else {
            127 - (span_minus_one + 1).leading_zeros()
        };
        let size_bits = align.min(fit);
        // size_bits <= bits <= 128, so the prefix length fits in u8.
        out.push((lo, bits - size_bits as u8));
        let last = if size_bits >= 128 {
            u128::MAX
        } else {
            lo + ((1u128 << size_bits) - 1)
        };
        if last >= hi {
            break;
        }
        lo = last + 1;
    }
    out
}

impl std::fmt::Display for AddrSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cidrs = self.cidr_strings();
        if cidrs.is_empty() {
            f.write_str("(none)")
        } else {
            f.write_str(&cidrs.join(", "))
        }
    }
}

impl Serialize for AddrSet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.cidr_strings())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(cidrs: &[&str]) -> AddrSet {
        let (s, bad) = AddrSet::from_cidrs(cidrs.iter().copied());
        assert!(bad.is_empty(), "bad cidrs {bad:?}");
        s
    }

    #[test]
    fn overlapping_cidrs_merge_to_the_fewest_blocks() {
        let s = set(&["10.0.0.0/24", "10.0.1.0/24", "10.0.0.128/25", "10.0.2.0/23"]);
        assert_eq!(s.cidr_strings(), vec!["10.0.0.0/22"]);
        let s = set(&["10.0.0.0/24", "10.0.2.0/24"]);
        assert_eq!(s.cidr_strings(), vec!["10.0.0.0/24", "10.0.2.0/24"]);
    }

    #[test]
    fn unaligned_range_decomposes_minimally() {
        // 10.0.0.1 .. 10.0.0.6 = .1/32 .2/31 .4/31 .6/32
        let mut s = AddrSet::empty();
        s.v4 = IntervalSet::range(0x0a00_0001, 0x0a00_0006);
        assert_eq!(
            s.cidr_strings(),
            vec!["10.0.0.1/32", "10.0.0.2/31", "10.0.0.4/31", "10.0.0.6/32"]
        );
    }

    #[test]
    fn slash_zero_is_the_internet_in_each_family() {
        let v4 = set(&["0.0.0.0/0"]);
        assert!(v4.covers_all_v4() && !v4.covers_all_v6() && v4.covers_internet());
        assert_eq!(v4.cidr_strings(), vec!["0.0.0.0/0"]);
        let both = set(&["0.0.0.0/1", "128.0.0.0/1", "::/0"]);
        assert!(both.covers_all_v4() && both.covers_all_v6());
        assert_eq!(both.cidr_strings(), vec!["0.0.0.0/0", "::/0"]);
        assert_eq!(both, AddrSet::internet());
        assert!(!set(&["0.0.0.0/1"]).covers_internet());
    }

    #[test]
    fn ipv6_arithmetic() {
        let vpc = set(&["2600:1f18:4d2:e600::/56"]);
        let subnet = set(&["2600:1f18:4d2:e601::/64"]);
        assert!(vpc.contains_set(&subnet));
        assert!(vpc.contains("2600:1f18:4d2:e6ff::1".parse().unwrap()));
        assert!(!vpc.contains("2600:1f18:4d2:e700::1".parse().unwrap()));
        let rest = vpc.difference(&subnet);
        assert_eq!(
            rest.cidr_strings(),
            vec![
                "2600:1f18:4d2:e600::/64",
                "2600:1f18:4d2:e602::/63",
                "2600:1f18:4d2:e604::/62",
                "2600:1f18:4d2:e608::/61",
                "2600:1f18:4d2:e610::/60",
                "2600:1f18:4d2:e620::/59",
                "2600:1f18:4d2:e640::/58",
                "2600:1f18:4d2:e680::/57",
            ]
        );
        assert_eq!(rest.union(&subnet), vpc);
        // Families never mix.
        assert!(!set(&["::/0"]).overlaps(&set(&["0.0.0.0/0"])));
    }

    #[test]
    fn internet_minus_a_block_and_back() {
        let all = AddrSet::all_v4();
        let private = set(&["10.0.0.0/8"]);
        let public = all.difference(&private);
        assert!(!public.covers_internet());
        assert!(!public.contains("10.1.2.3".parse().unwrap()));
        assert!(public.contains("11.0.0.0".parse().unwrap()));
        assert_eq!(public.to_cidrs().len(), 8); // 0/5 8/7 11/8 12/6 16/4 32/3 64/2 128/1
        assert_eq!(public.union(&private), all);
    }

    #[test]
    fn host_bits_and_bare_addresses() {
        assert_eq!(set(&["10.0.0.7/24"]).cidr_strings(), vec!["10.0.0.0/24"]);
        assert_eq!(set(&["10.0.0.7"]).cidr_strings(), vec!["10.0.0.7/32"]);
        let (_, bad) = AddrSet::from_cidrs(["10.0.0.0/33", "nope", "10.0.0.0/8"]);
        assert_eq!(bad, vec!["10.0.0.0/33", "nope"]);
    }

    mod props {
        use proptest::prelude::*;

        use super::*;

        proptest! {
            /// The CIDR decomposition is exact, disjoint, and minimal (no two blocks are
            /// siblings that would merge into their parent).
            #[test]
            fn cidr_decomposition_round_trips(lo in any::<u32>(), len in 0u32..100_000, v6_lo in any::<u128>(), v6_len in any::<u64>()) {
                let hi = lo.saturating_add(len);
                let mut s = AddrSet::empty();
                s.v4 = IntervalSet::range(lo, hi);
                s.v6 = IntervalSet::range(v6_lo, v6_lo.saturating_add(u128::from(v6_len)));
                let cidrs = s.to_cidrs();
                let mut back = AddrSet::empty();
                for c in &cidrs {
                    let one = AddrSet::from_net(*c);
                    prop_assert!(!back.overlaps(&one), "{} overlaps", c);
                    back.insert(&one);
                }
                prop_assert_eq!(&back, &s);
                for w in cidrs.windows(2) {
                    let siblings = w[0].prefix_len() == w[1].prefix_len()
                        && w[0].prefix_len() > 0
                        && w[0].supernet() == w[1].supernet()
                        && w[0].supernet().is_some();
                    prop_assert!(!siblings, "{} and {} should merge", w[0], w[1]);
                }
            }
        }
    }
}
