//! The request-rate budget of one account: a token bucket refilled at `rate_per_second` up to
//! `burst` tokens, like Bitbucket's own per-user limiter (defaults 5/s and 60).
//!
//! Every request, retries included, takes a token before it leaves. [`RateBudget::acquire`]
//! reserves the next token and sleeps until it exists, so waiters are served in arrival order
//! and the budget is never exceeded: in any window of `t` seconds at most
//! `burst + rate * t` requests start. A reservation dropped while waiting is not given back
//! (the budget errs on the side of sending less).
//!
//! When the server answers 429 anyway (another client shares the user's limit, or the
//! configured budget is above the server's), [`RateBudget::hold`] stops every caller of the
//! account until the server's `Retry-After`, instead of letting the others keep hitting it.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug)]
struct Bucket {
    /// May go negative: that many tokens are reserved by waiters.
    tokens: f64,
    updated: Instant,
    /// No request starts before this (set after a 429).
    held_until: Option<Instant>,
}

/// A token bucket shared by every request of an account.
#[derive(Debug)]
pub struct RateBudget {
    rate: f64,
    burst: f64,
    bucket: Mutex<Bucket>,
}

impl RateBudget {
    /// `rate_per_second` must be positive (a non-positive or non-finite rate is treated as
    /// one request per second); `burst` is at least one.
    pub fn new(rate_per_second: f64, burst: u32) -> RateBudget {
        let rate = if rate_per_second.is_finite() && rate_per_second > 0.0 {
            rate_per_second
        } else {
            1.0
        };
        let burst = f64::from(burst.max(1));
        RateBudget {
            rate,
            burst,
            bucket: Mutex::new(Bucket {
                tokens: burst,
                updated: Instant::now(),
                held_until: None,
            }),
        }
    }

    pub fn rate_per_second(&self) -> f64 {
        self.rate
    }

    pub fn burst(&self) -> u32 {
        self.burst as u32
    }

    /// Takes one token, waiting until it is available.
    pub async fn acquire(&self) {
        let wait = self.reserve();
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    /// Reserves a token and says how long until it exists.
    fn reserve(&self) -> Duration {
        let mut bucket = self.bucket.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.rate).min(self.burst);
        bucket.updated = now;
        bucket.tokens -= 1.0;
        let token_wait = if bucket.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-bucket.tokens / self.rate)
        };
        let held = bucket
            .held_until
            .map_or(Duration::ZERO, |until| until.saturating_duration_since(now));
        token_wait.max(held)
    }

    /// Lets no request start for `pause` from now (extending, never shortening, a hold).
    pub fn hold(&self, pause: Duration) {
        let mut bucket = self.bucket.lock().unwrap_or_else(PoisonError::into_inner);
        let until = Instant::now() + pause;
        if bucket.held_until.is_none_or(|current| current < until) {
            bucket.held_until = Some(until);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// Every window of `span` starting at a request holds at most `burst + rate * span` requests.
    fn assert_within_budget(times: &[Duration], rate: f64, burst: u32, span: Duration) {
        let allowed = f64::from(burst) + rate * span.as_secs_f64();
        for (i, start) in times.iter().enumerate() {
            let in_window = times[i..]
                .iter()
                .take_while(|t| **t < *start + span)
                .count();
            assert!(
                in_window as f64 <= allowed + 1e-9,
                "{in_window} requests in the {span:?} from {start:?}, budget {allowed}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_acquirers_never_exceed_the_budget() {
        let (rate, burst) = (5.0, 20);
        let budget = Arc::new(RateBudget::new(rate, burst));
        let origin = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..200 {
            let budget = Arc::clone(&budget);
            tasks.push(tokio::spawn(async move {
                budget.acquire().await;
                origin.elapsed()
            }));
        }
        let mut times = Vec::new();
        for task in tasks {
            times.push(task.await.unwrap());
        }
        times.sort();
        for span in [1, 2, 5, 10, 30] {
            assert_within_budget(&times, rate, burst, Duration::from_secs(span));
        }
        // The burst goes at once; the rest follow at the refill rate: 180 more at 5/s.
        assert_eq!(times.iter().filter(|t| t.is_zero()).count(), 20);
        assert_eq!(times.last().copied(), Some(Duration::from_secs(36)));
    }

    #[tokio::test(start_paused = true)]
    async fn idle_time_refills_only_up_to_the_burst() {
        let budget = RateBudget::new(2.0, 3);
        let origin = Instant::now();
        tokio::time::advance(Duration::from_secs(100)).await;
        let mut times = Vec::new();
        for _ in 0..7 {
            budget.acquire().await;
            times.push(origin.elapsed());
        }
        let at = |s: f64| Duration::from_secs(100) + Duration::from_secs_f64(s);
        assert_eq!(
            times,
            vec![
                at(0.0),
                at(0.0),
                at(0.0),
                at(0.5),
                at(1.0),
                at(1.5),
                at(2.0)
            ]
        );
        assert_within_budget(&times, 2.0, 3, Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_hold_delays_every_caller() {
        let budget = RateBudget::new(100.0, 10);
        let origin = Instant::now();
        budget.acquire().await;
        budget.hold(Duration::from_secs(3));
        budget.hold(Duration::from_secs(1)); // never shortens
        budget.acquire().await;
        assert_eq!(origin.elapsed(), Duration::from_secs(3));
        budget.acquire().await;
        assert_eq!(origin.elapsed(), Duration::from_secs(3), "the hold is over");
    }

    #[test]
    fn nonsense_rates_fall_back_to_one_per_second() {
        assert_eq!(RateBudget::new(0.0, 0).rate_per_second(), 1.0);
        assert_eq!(RateBudget::new(f64::NAN, 0).burst(), 1);
    }
}
