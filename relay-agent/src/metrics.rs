//! The agent's Prometheus metrics (prefix `relay_agent_`). Calls are labelled by allow-list
//! rule id and outcome, never by path.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallLabels {
    pub rule: String,
    pub outcome: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    pub reason: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabel {
    pub result: String,
}

/// Every metric the agent exports.
#[derive(Debug, Clone)]
pub struct AgentMetrics {
    pub calls: Family<CallLabels, Counter>,
    pub denials: Family<ReasonLabel, Counter>,
    pub upstream_seconds: Histogram,
    pub in_flight: Gauge,
    pub tunnel_connected: Gauge,
    pub tunnel_connects: Counter,
    pub tunnel_failures: Family<ReasonLabel, Counter>,
    pub allowlist_reloads: Family<ResultLabel, Counter>,
    pub allowlist_rules: Gauge,
}

impl AgentMetrics {
    pub fn register(registry: &mut Registry) -> Self {
        let m = AgentMetrics {
            calls: Family::default(),
            denials: Family::default(),
            upstream_seconds: Histogram::new(exponential_buckets(0.0005, 2.5, 14)),
            in_flight: Gauge::default(),
            tunnel_connected: Gauge::default(),
            tunnel_connects: Counter::default(),
            tunnel_failures: Family::default(),
            allowlist_reloads: Family::default(),
            allowlist_rules: Gauge::default(),
        };
        let r = registry.sub_registry_with_prefix("relay_agent");
        r.register(
            "calls",
            "Calls served for the broker, by allow-list rule and outcome",
            m.calls.clone(),
        );
        r.register(
            "denials",
            "Calls refused by the allow-list, by reason code",
            m.denials.clone(),
        );
        r.register_with_unit(
            "upstream_headers",
            "Time until Bitbucket's response headers",
            Unit::Seconds,
            m.upstream_seconds.clone(),
        );
        r.register(
            "calls_in_flight",
            "Calls currently being served",
            m.in_flight.clone(),
        );
        r.register(
            "tunnel_connected",
            "1 while a tunnel to the broker is up",
            m.tunnel_connected.clone(),
        );
        r.register(
            "tunnel_connects",
            "Tunnel sessions established",
            m.tunnel_connects.clone(),
        );
        r.register(
            "tunnel_failures",
            "Failed tunnel attempts and broken sessions, by reason",
            m.tunnel_failures.clone(),
        );
        r.register(
            "allowlist_reloads",
            "Allow-list reloads, by result (ok, invalid, unchanged)",
            m.allowlist_reloads.clone(),
        );
        r.register(
            "allowlist_rules",
            "Rules in the allow-list in force",
            m.allowlist_rules.clone(),
        );
        m
    }

    pub fn call(&self, rule: &str, outcome: &str) {
        self.calls
            .get_or_create(&CallLabels {
                rule: rule.to_owned(),
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    pub fn tunnel_failure(&self, reason: &str) {
        self.tunnel_failures
            .get_or_create(&ReasonLabel {
                reason: reason.to_owned(),
            })
            .inc();
    }
}
