//! Epoch milliseconds ⇄ `DateTime<Utc>` for `#[serde(with = ...)]`. Accepts integers and
//! floats (some proxies re-encode numbers); out-of-range values are errors, not panics.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serializer};

fn from_millis<E: serde::de::Error>(value: f64) -> Result<DateTime<Utc>, E> {
    if !value.is_finite() {
        return Err(E::custom("timestamp is not a finite number"));
    }
    DateTime::from_timestamp_millis(value as i64)
        .ok_or_else(|| E::custom(format!("timestamp {value} out of range")))
}

pub fn serialize<S: Serializer>(value: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_i64(value.timestamp_millis())
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    from_millis(f64::deserialize(d)?)
}

/// For optional timestamps (`closedDate`, `lastAuthenticationTimestamp`).
pub mod option {
    use super::*;

    pub fn serialize<S: Serializer>(
        value: &Option<DateTime<Utc>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(v) => s.serialize_some(&v.timestamp_millis()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        Option::<f64>::deserialize(d)?.map(from_millis).transpose()
    }
}

/// The default of a missing timestamp: the epoch (shown as "unknown" by the API).
pub fn epoch() -> DateTime<Utc> {
    DateTime::UNIX_EPOCH
}
