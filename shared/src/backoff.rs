//! Capped exponential backoff with full jitter, the one backoff policy of the workspace.
//!
//! "Full jitter" (a uniformly random delay between zero and the capped exponential bound)
//! spreads a fleet of agents that lost their broker at the same instant, so they do not all
//! come back in lock-step. See <https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/>.

use std::time::Duration;

use rand::Rng;

/// Backoff policy: the bound doubles from `base` up to `cap`; each delay is uniform in `[0, bound]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

impl Backoff {
    pub const fn new(base: Duration, cap: Duration) -> Self {
        Backoff { base, cap }
    }

    /// The upper bound for retry number `attempt` (0-based), before jitter.
    pub fn bound(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// A jittered delay for retry number `attempt`.
    pub fn delay(&self, attempt: u32) -> Duration {
        let bound = self.bound(attempt);
        let nanos = u64::try_from(bound.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(rand::rng().random_range(0..=nanos))
    }

    /// A jittered delay that is at least `floor` (e.g. a server's `Retry-After`), still capped.
    pub fn delay_at_least(&self, attempt: u32, floor: Duration) -> Duration {
        self.delay(attempt).max(floor.min(self.cap))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bound_doubles_and_caps() {
        let b = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
        assert_eq!(b.bound(0), Duration::from_millis(100));
        assert_eq!(b.bound(3), Duration::from_millis(800));
        assert_eq!(b.bound(10), Duration::from_secs(5));
        assert_eq!(b.bound(u32::MAX), Duration::from_secs(5));
    }

    #[test]
    fn delays_stay_within_bound() {
        let b = Backoff::new(Duration::from_millis(10), Duration::from_millis(200));
        for attempt in 0..40 {
            assert!(b.delay(attempt) <= b.bound(attempt));
        }
        assert!(b.delay_at_least(0, Duration::from_millis(150)) >= Duration::from_millis(150));
    }
}
