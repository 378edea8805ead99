//! Which failed attempts are tried again, and after how long.
//!
//! 429 and 5xx are retried; so are timeouts and transport failures, but only for idempotent
//! calls (a POST whose answer was lost may have been applied). A POST is retried on 429 alone,
//! which guarantees nothing happened. The delay is the workspace's one backoff
//! ([`relay_shared::backoff::Backoff`], full jitter), never shorter than the server's
//! `Retry-After` (seconds or an HTTP date) when it sends one. A `Retry-After` longer than
//! [`RetryPolicy::max_retry_after`] is not waited for: the call fails, retryable later.

use std::time::Duration;

use chrono::{DateTime, Utc};
use http::HeaderMap;
use relay_shared::backoff::Backoff;

use super::error::ErrorKind;

/// How a client retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (so at most `max_retries + 1` requests per call).
    pub max_retries: u32,
    pub backoff: Backoff,
    /// The longest `Retry-After` the client waits for.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 5,
            backoff: Backoff::new(Duration::from_millis(500), Duration::from_secs(30)),
            max_retry_after: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// The delay before retry number `retry` (0-based) after a failure of `kind`, or `None` to
    /// give up. `server_delay` is the answer's `Retry-After`, if any.
    pub fn decide(
        &self,
        retry: u32,
        kind: &ErrorKind,
        idempotent: bool,
        server_delay: Option<Duration>,
    ) -> Option<Duration> {
        if retry >= self.max_retries || !should_retry(kind, idempotent) {
            return None;
        }
        match server_delay {
            Some(after) if after > self.max_retry_after => None,
            Some(after) => Some(self.backoff.delay(retry).max(after)),
            None => Some(self.backoff.delay(retry)),
        }
    }
}

/// Whether a failure of `kind` is worth another attempt at all.
pub fn should_retry(kind: &ErrorKind, idempotent: bool) -> bool {
    match kind {
        ErrorKind::RateLimited { .. } => true,
        ErrorKind::Status { status, .. } => *status >= 500 && idempotent,
        ErrorKind::Timeout(_) | ErrorKind::Transport(_) => idempotent,
        _ => false,
    }
}

/// The `Retry-After` of an answer: delay-seconds or an HTTP date (relative to `now`; a date in
/// the past means "now"). Unparsable values count as absent.
pub fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let value = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let date = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    Some((date - now).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            http::header::RETRY_AFTER,
            HeaderValue::from_str(value).unwrap(),
        );
        h
    }

    #[test]
    fn parses_retry_after_seconds_and_dates() {
        let now = DateTime::parse_from_rfc3339("2015-10-21T07:28:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            retry_after(&headers("7"), now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            retry_after(&headers("Wed, 21 Oct 2015 07:28:30 GMT"), now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            retry_after(&headers("Wed, 21 Oct 2015 07:27:00 GMT"), now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after(&headers("soon"), now), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn retries_transient_failures_only() {
        let p = RetryPolicy::default();
        let status = |s| ErrorKind::Status {
            status: s,
            message: String::new(),
        };
        let limited = ErrorKind::RateLimited { retry_after: None };
        assert!(p.decide(0, &status(503), true, None).is_some());
        assert!(p.decide(0, &status(400), true, None).is_none());
        assert!(p.decide(0, &limited, false, None).is_some());
        assert!(p.decide(0, &status(503), false, None).is_none());
        let unauthorized = ErrorKind::Unauthorized {
            message: String::new(),
        };
        assert!(p.decide(0, &unauthorized, true, None).is_none());
        let transport = ErrorKind::Transport("reset".into());
        assert!(p.decide(0, &transport, true, None).is_some());
        assert!(p.decide(0, &transport, false, None).is_none());
        assert!(
            p.decide(5, &status(503), true, None).is_none(),
            "max reached"
        );
    }

    #[test]
    fn honours_retry_after_up_to_the_maximum() {
        let p = RetryPolicy::default();
        let limited = ErrorKind::RateLimited { retry_after: None };
        for retry in 0..5 {
            let d = p
                .decide(retry, &limited, true, Some(Duration::from_secs(40)))
                .unwrap();
            assert!(d >= Duration::from_secs(40), "{d:?}");
        }
        assert!(
            p.decide(0, &limited, true, Some(Duration::from_secs(600)))
                .is_none()
        );
        let d = p.decide(2, &limited, true, None).unwrap();
        assert!(d <= p.backoff.bound(2));
    }
}
