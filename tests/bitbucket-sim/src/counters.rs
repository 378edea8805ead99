//! Per-endpoint-template request counters (`GET /rest/api/1.0/projects/{key}/repos` ...).

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::Serialize;

/// A snapshot of the counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    pub total: u64,
    pub by_endpoint: BTreeMap<String, u64>,
}

impl Counters {
    /// Requests counted for one endpoint template (0 if none).
    pub fn get(&self, template: &str) -> u64 {
        self.by_endpoint.get(template).copied().unwrap_or(0)
    }
}

#[derive(Debug, Default)]
pub struct CounterStore {
    inner: Mutex<Counters>,
}

impl CounterStore {
    pub fn hit(&self, template: &str) {
        let mut c = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        c.total += 1;
        *c.by_endpoint.entry(template.to_owned()).or_default() += 1;
    }

    pub fn snapshot(&self) -> Counters {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn reset(&self) {
        *self.inner.lock().unwrap_or_else(|e| e.into_inner()) = Counters::default();
    }
}
