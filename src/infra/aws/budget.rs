//! Client-side rate budget: token buckets that keep lbsg at or under half of the account's API
//! buckets, because those are per account and Region and shared with the LBC itself.
//!
//! Account buckets (diagnostics-and-limits.md §4): EC2 non-mutating 100 tokens / 20 per s,
//! EC2 Authorize/Revoke 50 / 5 per s, ELBv2 Describe* 40 / 10 per s. The SDK's standard retry
//! handles what still gets throttled; this budget makes that rare.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::ops::Bucket;

/// Size and refill rate of one bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limit {
    pub burst: f64,
    pub per_second: f64,
}

impl Limit {
    pub const fn new(burst: f64, per_second: f64) -> Self {
        Self { burst, per_second }
    }
}

/// Half of each account bucket. ELBv2 mutations have no published bucket; 10 / 2 per s is far
/// below what the LBC itself allows for Modify* (3 per s, burst 20) plus its own headroom.
pub const EC2_DESCRIBE: Limit = Limit::new(50.0, 10.0);
pub const EC2_MUTATE: Limit = Limit::new(25.0, 2.5);
pub const ELB_DESCRIBE: Limit = Limit::new(20.0, 5.0);
pub const ELB_MUTATE: Limit = Limit::new(10.0, 2.0);

/// A token bucket that hands out reservations: a caller takes a token now and is told how long
/// to wait before using it. Pure (time is passed in), so it is tested without sleeping.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    limit: Limit,
    /// May go negative: that many callers are already waiting.
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    pub fn new(limit: Limit, now: Instant) -> Self {
        Self {
            limit,
            tokens: limit.burst,
            last: now,
        }
    }

    /// Take one token; returns how long the caller must wait before it may send.
    pub fn reserve(&mut self, now: Instant) -> Duration {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = self.last.max(now);
        self.tokens = (self.tokens + elapsed * self.limit.per_second).min(self.limit.burst);
        self.tokens -= 1.0;
        if self.tokens >= 0.0 || self.limit.per_second <= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.limit.per_second)
        }
    }
}

/// The four buckets lbsg draws from; cheap to clone (shared).
#[derive(Debug, Clone)]
pub struct Budget {
    buckets: Option<Arc<Mutex<[TokenBucket; 4]>>>,
}

impl Default for Budget {
    fn default() -> Self {
        Self::with_limits([EC2_DESCRIBE, EC2_MUTATE, ELB_DESCRIBE, ELB_MUTATE])
    }
}

impl Budget {
    /// Limits in the order EC2 describe, EC2 mutate, ELB describe, ELB mutate.
    pub fn with_limits(limits: [Limit; 4]) -> Self {
        let now = Instant::now();
        Self {
            buckets: Some(Arc::new(Mutex::new(
                limits.map(|l| TokenBucket::new(l, now)),
            ))),
        }
    }

    /// No client-side limit (tests that count calls against an emulator).
    pub fn unlimited() -> Self {
        Self { buckets: None }
    }

    /// Wait until the bucket allows one more request.
    pub async fn acquire(&self, bucket: Bucket) {
        let Some(buckets) = &self.buckets else {
            return;
        };
        let wait = {
            let mut b = buckets.lock().unwrap_or_else(|e| e.into_inner());
            b[index(bucket)].reserve(Instant::now())
        };
        if !wait.is_zero() {
            tracing::debug!(?bucket, ?wait, "rate budget: waiting");
            tokio::time::sleep(wait).await;
        }
    }
}

fn index(bucket: Bucket) -> usize {
    match bucket {
        Bucket::Ec2Describe => 0,
        Bucket::Ec2Mutate => 1,
        Bucket::ElbDescribe => 2,
        Bucket::ElbMutate => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sends `n` requests as fast as the bucket lets them; returns when each may go (seconds).
    fn schedule(limit: Limit, n: usize) -> Vec<f64> {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(limit, t0);
        let mut now = t0;
        (0..n)
            .map(|_| {
                let wait = b.reserve(now);
                // A caller that waited sends at now + wait; the next arrives then.
                now += wait;
                now.duration_since(t0).as_secs_f64()
            })
            .collect()
    }

    #[test]
    fn burst_is_free_then_refill_rate_applies() {
        let times = schedule(ELB_DESCRIBE, 40);
        assert!(times[..20].iter().all(|t| *t == 0.0));
        // Request 21 waits one refill interval (1/5 s), request 40 waits 20 intervals.
        assert!((times[20] - 0.2).abs() < 1e-9, "{}", times[20]);
        assert!((times[39] - 4.0).abs() < 1e-9, "{}", times[39]);
    }

    #[test]
    fn stays_under_half_of_the_account_buckets_in_any_window() {
        // Over any window of t seconds the account allows burst + rate*t; lbsg must use at
        // most half of it.
        for (ours, account) in [
            (EC2_DESCRIBE, Limit::new(100.0, 20.0)),
            (ELB_DESCRIBE, Limit::new(40.0, 10.0)),
            (EC2_MUTATE, Limit::new(50.0, 5.0)),
        ] {
            let times = schedule(ours, 500);
            for window in [0.0, 0.5, 1.0, 3.0, 10.0] {
                let max_in_window = (0..times.len())
                    .map(|i| {
                        times[i..]
                            .iter()
                            .take_while(|t| **t <= times[i] + window)
                            .count()
                    })
                    .max()
                    .unwrap_or(0) as f64;
                let allowed = (account.burst + account.per_second * window) / 2.0;
                assert!(
                    max_in_window <= allowed + 1.0,
                    "{ours:?}: {max_in_window} requests in {window}s, half of account is {allowed}"
                );
            }
        }
    }

    #[test]
    fn idle_time_refills_up_to_the_burst_only() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(Limit::new(2.0, 1.0), t0);
        assert_eq!(b.reserve(t0), Duration::ZERO);
        assert_eq!(b.reserve(t0), Duration::ZERO);
        assert_eq!(b.reserve(t0), Duration::from_secs(1));
        // A long pause refills to 2, never more.
        let later = t0 + Duration::from_secs(100);
        assert_eq!(b.reserve(later), Duration::ZERO);
        assert_eq!(b.reserve(later), Duration::ZERO);
        assert_eq!(b.reserve(later), Duration::from_secs(1));
    }

    #[tokio::test]
    async fn unlimited_never_waits() {
        let b = Budget::unlimited();
        let start = Instant::now();
        for _ in 0..1000 {
            b.acquire(Bucket::ElbDescribe).await;
        }
        assert!(start.elapsed() < Duration::from_secs(1));
    }
}
