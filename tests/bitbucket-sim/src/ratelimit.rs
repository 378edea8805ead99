//! Per-user token-bucket rate limiting, like Bitbucket's: a burst of `burst` requests, refilled
//! at `refill_per_second`; an empty bucket answers 429.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::time::Instant;

use crate::config::RateLimitConfig;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

#[derive(Debug)]
pub struct RateLimiter {
    config: Mutex<RateLimitConfig>,
    buckets: Mutex<HashMap<String, Bucket>>,
}

/// Why a request was refused: the caller may retry after this many seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    pub retry_after_secs: u64,
    pub send_header: bool,
}

impl RateLimiter {
    pub fn new(config: RateLimitConfig) -> RateLimiter {
        RateLimiter {
            config: Mutex::new(config),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    pub fn config(&self) -> RateLimitConfig {
        *self.config.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Replaces the settings and refills every bucket.
    pub fn set_config(&self, config: RateLimitConfig) {
        *self.config.lock().unwrap_or_else(|e| e.into_inner()) = config;
        self.buckets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Takes one token from `user`'s bucket.
    pub fn check(&self, user: &str) -> Result<(), Limited> {
        let config = self.config();
        if !config.enabled {
            return Ok(());
        }
        let now = Instant::now();
        let burst = f64::from(config.burst.max(1));
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let bucket = buckets.entry(user.to_owned()).or_insert(Bucket {
            tokens: burst,
            updated: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * config.refill_per_second).min(burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        let missing = 1.0 - bucket.tokens;
        let secs = if config.refill_per_second > 0.0 {
            (missing / config.refill_per_second).ceil().max(1.0) as u64
        } else {
            3600
        };
        Err(Limited {
            retry_after_secs: secs,
            send_header: config.retry_after_header,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn bucket_empties_then_refills() {
        let rl = RateLimiter::new(RateLimitConfig {
            enabled: true,
            burst: 2,
            refill_per_second: 1.0,
            retry_after_header: true,
        });
        assert!(rl.check("a").is_ok());
        assert!(rl.check("a").is_ok());
        let limited = rl.check("a").unwrap_err();
        assert_eq!(limited.retry_after_secs, 1);
        assert!(rl.check("b").is_ok(), "buckets are per user");
        tokio::time::advance(std::time::Duration::from_secs(1)).await;
        assert!(rl.check("a").is_ok());
    }
}
