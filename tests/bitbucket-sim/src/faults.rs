//! Fault injection per endpoint template: added latency, error statuses at a rate, connection
//! resets and slow bodies. Rates draw from a seeded generator, so a test run is reproducible.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::seed::SimRng;

/// The faults of one endpoint template (or of `*`, every endpoint).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Fault {
    /// Added before the request is handled.
    pub latency_ms: u64,
    /// Status of injected errors (e.g. 500, 503).
    pub error_status: Option<u16>,
    /// Probability (0..=1) that a request gets `error_status`.
    pub error_rate: f64,
    /// Probability (0..=1) that the connection is cut instead of answered.
    pub reset_rate: f64,
    /// Send the body at this many bytes per second.
    pub slow_body_bytes_per_sec: Option<u64>,
}

/// What to do to one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaultPlan {
    pub latency: Duration,
    pub error_status: Option<u16>,
    pub reset: bool,
    pub slow_body_bytes_per_sec: Option<u64>,
}

#[derive(Debug)]
pub struct FaultStore {
    state: Mutex<(BTreeMap<String, Fault>, SimRng)>,
}

impl FaultStore {
    pub fn new(seed: u64) -> FaultStore {
        FaultStore {
            state: Mutex::new((BTreeMap::new(), SimRng::derived(seed, "faults", 0))),
        }
    }

    /// Sets (or with `None` clears) the fault of a template; `*` applies to every endpoint.
    pub fn set(&self, template: &str, fault: Option<Fault>) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match fault {
            Some(f) => s.0.insert(template.to_owned(), f),
            None => s.0.remove(template),
        };
    }

    pub fn clear(&self) {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .0
            .clear();
    }

    pub fn list(&self) -> BTreeMap<String, Fault> {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .0
            .clone()
    }

    /// Decides the faults of one request to `template`.
    pub fn plan(&self, template: &str) -> FaultPlan {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (rules, rng) = &mut *s;
        let Some(fault) = rules.get(template).or_else(|| rules.get("*")).cloned() else {
            return FaultPlan::default();
        };
        let reset = fault.reset_rate > 0.0 && rng.unit() < fault.reset_rate;
        let error = fault
            .error_status
            .filter(|_| fault.error_rate > 0.0 && rng.unit() < fault.error_rate);
        FaultPlan {
            latency: Duration::from_millis(fault.latency_ms),
            error_status: error,
            reset,
            slow_body_bytes_per_sec: fault.slow_body_bytes_per_sec,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_one_always_fires_and_zero_never() {
        let store = FaultStore::new(1);
        store.set(
            "GET /a",
            Some(Fault {
                error_status: Some(503),
                error_rate: 1.0,
                ..Fault::default()
            }),
        );
        for _ in 0..20 {
            assert_eq!(store.plan("GET /a").error_status, Some(503));
            assert_eq!(store.plan("GET /b"), FaultPlan::default());
        }
    }

    #[test]
    fn wildcard_applies_when_no_specific_rule() {
        let store = FaultStore::new(1);
        store.set(
            "*",
            Some(Fault {
                latency_ms: 5,
                ..Fault::default()
            }),
        );
        assert_eq!(store.plan("GET /x").latency, Duration::from_millis(5));
    }
}
