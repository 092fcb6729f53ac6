//! Sets of integers kept as sorted, disjoint, non-adjacent inclusive ranges.
//!
//! One representation serves IPv4 (`u32`), IPv6 (`u128`) and ports / ICMP type-code pairs (`u16`):
//! every operation is a linear merge over the two range lists, so it is exact and cheap even for
//! the full address space (`0.0.0.0/0` is one range).

use std::fmt::Debug;

/// An unsigned integer type usable as an interval bound.
pub trait Bound: Copy + Ord + Debug {
    const MIN: Self;
    const MAX: Self;
    fn succ(self) -> Option<Self>;
    fn pred(self) -> Option<Self>;
}

macro_rules! impl_bound {
    ($($t:ty),*) => {$(
        impl Bound for $t {
            const MIN: Self = <$t>::MIN;
            const MAX: Self = <$t>::MAX;
            fn succ(self) -> Option<Self> { self.checked_add(1) }
            fn pred(self) -> Option<Self> { self.checked_sub(1) }
        }
    )*};
}
impl_bound!(u16, u32, u128);

/// A set of `T` as normalised inclusive ranges.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IntervalSet<T> {
    ranges: Vec<(T, T)>,
}

impl<T: Bound> Default for IntervalSet<T> {
    fn default() -> Self {
        Self::empty()
    }
}

impl<T: Bound> IntervalSet<T> {
    pub fn empty() -> Self {
        Self { ranges: Vec::new() }
    }

    pub fn full() -> Self {
        Self {
            ranges: vec![(T::MIN, T::MAX)],
        }
    }

    /// `[lo, hi]`; empty when `lo > hi`.
    pub fn range(lo: T, hi: T) -> Self {
        if lo > hi {
            Self::empty()
        } else {
            Self {
                ranges: vec![(lo, hi)],
            }
        }
    }

    pub fn single(v: T) -> Self {
        Self::range(v, v)
    }

    /// Builds from any ranges (overlapping, unsorted, reversed ones dropped).
    pub fn from_ranges(ranges: impl IntoIterator<Item = (T, T)>) -> Self {
        let mut v: Vec<(T, T)> = ranges.into_iter().filter(|(a, b)| a <= b).collect();
        v.sort_unstable();
        Self {
            ranges: normalise(v),
        }
    }

    pub fn ranges(&self) -> &[(T, T)] {
        &self.ranges
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    pub fn is_full(&self) -> bool {
        self.ranges.as_slice() == [(T::MIN, T::MAX)]
    }

    pub fn contains(&self, v: T) -> bool {
        // Last range starting at or before v.
        let i = self.ranges.partition_point(|&(lo, _)| lo <= v);
        i > 0 && self.ranges[i - 1].1 >= v
    }

    /// Whether every element of `other` is in `self`.
    pub fn contains_set(&self, other: &Self) -> bool {
        other.difference(self).is_empty()
    }

    pub fn overlaps(&self, other: &Self) -> bool {
        !self.intersection(other).is_empty()
    }

    pub fn union(&self, other: &Self) -> Self {
        let mut v = Vec::with_capacity(self.ranges.len() + other.ranges.len());
        let (mut i, mut j) = (0, 0);
        while i < self.ranges.len() || j < other.ranges.len() {
            let take_left = j >= other.ranges.len()
                || (i < self.ranges.len() && self.ranges[i] <= other.ranges[j]);
            if take_left {
                v.push(self.ranges[i]);
                i += 1;
            } else {
                v.push(other.ranges[j]);
                j += 1;
            }
        }
        Self {
            ranges: normalise(v),
        }
    }

    pub fn insert(&mut self, other: &Self) {
        if !other.is_empty() {
            *self = self.union(other);
        }
    }

    pub fn intersection(&self, other: &Self) -> Self {
        let mut out = Vec::new();
        let (mut i, mut j) = (0, 0);
        while i < self.ranges.len() && j < other.ranges.len() {
            let (a0, a1) = self.ranges[i];
            let (b0, b1) = other.ranges[j];
            let lo = a0.max(b0);
            let hi = a1.min(b1);
            if lo <= hi {
                out.push((lo, hi));
            }
            if a1 < b1 {
                i += 1;
            } else {
                j += 1;
            }
        }
        Self { ranges: out }
    }

    pub fn complement(&self) -> Self {
        let mut out = Vec::new();
        let mut next = Some(T::MIN);
        for &(lo, hi) in &self.ranges {
            if let Some(n) = next
                && n < lo
                && let Some(p) = lo.pred()
            {
                out.push((n, p));
            }
            next = hi.succ();
        }
        if let Some(n) = next {
            out.push((n, T::MAX));
        }
        Self { ranges: out }
    }

    pub fn difference(&self, other: &Self) -> Self {
        if other.is_empty() || self.is_empty() {
            return self.clone();
        }
        self.intersection(&other.complement())
    }
}

/// Sorted ranges → merged (overlapping or adjacent ranges joined).
fn normalise<T: Bound>(sorted: Vec<(T, T)>) -> Vec<(T, T)> {
    let mut out: Vec<(T, T)> = Vec::with_capacity(sorted.len());
    for (lo, hi) in sorted {
        if let Some(last) = out.last_mut() {
            let touches = match last.1.succ() {
                Some(n) => lo <= n,
                None => true, // last already reaches MAX
            };
            if touches {
                if hi > last.1 {
                    last.1 = hi;
                }
                continue;
            }
        }
        out.push((lo, hi));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(r: &[(u16, u16)]) -> IntervalSet<u16> {
        IntervalSet::from_ranges(r.iter().copied())
    }

    #[test]
    fn normalises_overlapping_and_adjacent_ranges() {
        assert_eq!(s(&[(5, 10), (1, 3), (4, 4), (9, 20)]).ranges(), &[(1, 20)]);
        assert_eq!(s(&[(1, 2), (4, 5)]).ranges(), &[(1, 2), (4, 5)]);
        assert!(s(&[(5, 1)]).is_empty());
    }

    #[test]
    fn set_algebra() {
        let a = s(&[(10, 20), (30, 40)]);
        let b = s(&[(15, 35)]);
        assert_eq!(a.union(&b).ranges(), &[(10, 40)]);
        assert_eq!(a.intersection(&b).ranges(), &[(15, 20), (30, 35)]);
        assert_eq!(a.difference(&b).ranges(), &[(10, 14), (36, 40)]);
        assert_eq!(b.difference(&a).ranges(), &[(21, 29)]);
        assert!(a.contains(10) && a.contains(40) && !a.contains(25) && !a.contains(9));
        assert!(a.contains_set(&s(&[(12, 13), (31, 31)])));
        assert!(!a.contains_set(&b));
    }

    #[test]
    fn complement_touches_both_ends() {
        assert!(IntervalSet::<u16>::full().complement().is_empty());
        assert!(IntervalSet::<u16>::empty().complement().is_full());
        assert_eq!(
            s(&[(0, 5), (65530, 65535)]).complement().ranges(),
            &[(6, 65529)]
        );
        assert_eq!(s(&[(3, 5)]).complement().ranges(), &[(0, 2), (6, 65535)]);
    }

    #[test]
    fn full_range_at_type_limits() {
        let full = IntervalSet::<u128>::full();
        assert!(full.is_full());
        assert!(full.contains(u128::MAX) && full.contains(0));
        let top = IntervalSet::range(u128::MAX - 1, u128::MAX);
        assert_eq!(
            top.union(&IntervalSet::range(0, u128::MAX - 2)),
            IntervalSet::full()
        );
    }

    mod props {
        use std::collections::BTreeSet;

        use proptest::prelude::*;

        use super::*;

        fn oracle(r: &[(u16, u16)]) -> BTreeSet<u16> {
            r.iter().flat_map(|&(a, b)| a..=b).collect()
        }

        fn ranges() -> impl Strategy<Value = Vec<(u16, u16)>> {
            prop::collection::vec((0u16..200, 0u16..20), 0..6)
                .prop_map(|v| v.into_iter().map(|(a, len)| (a, a + len)).collect())
        }

        fn members(set: &IntervalSet<u16>) -> BTreeSet<u16> {
            set.ranges().iter().flat_map(|&(a, b)| a..=b).collect()
        }

        proptest! {
            #[test]
            fn algebra_matches_a_plain_set(a in ranges(), b in ranges()) {
                let (sa, sb) = (IntervalSet::from_ranges(a.clone()), IntervalSet::from_ranges(b.clone()));
                let (oa, ob) = (oracle(&a), oracle(&b));
                prop_assert_eq!(members(&sa.union(&sb)), &oa | &ob);
                prop_assert_eq!(members(&sa.intersection(&sb)), &oa & &ob);
                prop_assert_eq!(members(&sa.difference(&sb)), &oa - &ob);
                prop_assert_eq!(sa.contains_set(&sb), ob.is_subset(&oa));
                prop_assert_eq!(sa.overlaps(&sb), !oa.is_disjoint(&ob));
                for x in 0u16..230 {
                    prop_assert_eq!(sa.contains(x), oa.contains(&x));
                    prop_assert_eq!(sa.complement().contains(x), !oa.contains(&x));
                }
                // Normal form: sorted, disjoint, never adjacent.
                for w in sa.union(&sb).ranges().windows(2) {
                    prop_assert!(w[0].1 + 1 < w[1].0);
                }
            }
        }
    }
}
