//! A tiny deterministic random source (SplitMix64). Hand-written on purpose: the generated worlds
//! must stay byte-identical for a seed across crate upgrades, which a dependency cannot promise.

/// SplitMix64's output function: a bijection on `u64`, so distinct inputs give distinct outputs.
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

const GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// One stream of random numbers. Streams are independent, so adding draws to one part of the
/// generator does not shift the values of another.
#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// The stream `stream` of seed `seed`.
    pub fn new(seed: u64, stream: &str) -> Self {
        let salt = stream.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        Self {
            state: mix64(seed ^ mix64(salt)),
        }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GAMMA);
        mix64(self.state)
    }

    /// Uniform in `0..n` (`0` when `n == 0`).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        // the modulo bias of a 64-bit draw over these small ranges is negligible
        (self.next_u64() % n as u64) as usize
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi.saturating_sub(lo) + 1)
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p && p > 0.0
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len()))
    }

    /// `n` lowercase hex digits.
    pub fn hex(&mut self, n: usize) -> String {
        let mut s = String::with_capacity(n + 16);
        while s.len() < n {
            s.push_str(&format!("{:016x}", self.next_u64()));
        }
        s.truncate(n);
        s
    }

    /// A Kubernetes-style UID (random UUID v4 shape).
    pub fn uid(&mut self) -> String {
        let h = self.hex(32);
        format!(
            "{}-{}-4{}-8{}-{}",
            &h[..8],
            &h[8..12],
            &h[13..16],
            &h[17..20],
            &h[20..32]
        )
    }

    /// A pod-name style suffix of `n` consonants and digits, as ReplicaSets generate.
    pub fn kube_suffix(&mut self, n: usize) -> String {
        const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        (0..n)
            .map(|_| char::from(ALPHABET[self.below(ALPHABET.len())]))
            .collect()
    }
}

/// Unique ids of one kind: `n ↦ mix64(base + n)` is injective, so ids never collide.
#[derive(Debug, Clone)]
pub struct Ids {
    base: u64,
    next: u64,
}

impl Ids {
    pub fn new(seed: u64, kind: &str) -> Self {
        Self {
            base: Rng::new(seed, kind).next_u64(),
            next: 0,
        }
    }

    /// The next id as `prefix` + 17 hex digits (`sg-0…`, `eni-0…`, `i-0…`), EC2's shape.
    pub fn next(&mut self, prefix: &str) -> String {
        let v = mix64(self.base.wrapping_add(self.next));
        self.next += 1;
        format!("{prefix}0{v:016x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_deterministic_and_independent() {
        let a: Vec<u64> = (0..4).map(|_| Rng::new(7, "x").next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(Rng::new(7, "x").next_u64(), Rng::new(7, "y").next_u64());
        assert_ne!(Rng::new(7, "x").next_u64(), Rng::new(8, "x").next_u64());
        let mut ids = Ids::new(1, "sg");
        let (x, y) = (ids.next("sg-"), ids.next("sg-"));
        assert_ne!(x, y);
        assert_eq!(x.len(), "sg-0123456789abcdef0".len());
    }

    #[test]
    fn ranges_stay_in_bounds() {
        let mut r = Rng::new(1, "t");
        for _ in 0..1000 {
            assert!(r.below(3) < 3);
            let v = r.range(2, 5);
            assert!((2..=5).contains(&v));
        }
        assert!(!r.chance(0.0));
        assert!(r.chance(1.0));
        assert_eq!(r.uid().len(), 36);
    }
}
