//! The broker's Prometheus metrics (prefix `relay_broker_`). Labels never carry paths, repo
//! slugs or user ids; tenants and aliases are bounded by configuration.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    pub reason: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AliasLabels {
    pub tenant: String,
    pub alias: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub tenant: String,
    pub alias: String,
    pub outcome: String,
}

/// Every metric the broker exports.
#[derive(Debug, Clone)]
pub struct BrokerMetrics {
    /// Agent connections refused before any request flowed, by reason.
    pub connections_refused: Family<ReasonLabel, Counter>,
    /// Agent sessions established.
    pub sessions_opened: Family<AliasLabels, Counter>,
    /// Agent sessions currently connected.
    pub sessions_connected: Family<AliasLabels, Gauge>,
    /// Calls relayed, by outcome (`ok`, `no_agent`, `tunnel_error`, `timeout`, ...).
    pub calls: Family<OutcomeLabels, Counter>,
    /// Time to response headers for relayed calls.
    pub call_seconds: Histogram,
    /// Config reloads that failed (old settings kept).
    pub reload_failures: Counter,
}

impl BrokerMetrics {
    /// Creates the metrics and registers them.
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = BrokerMetrics {
            connections_refused: Family::default(),
            sessions_opened: Family::default(),
            sessions_connected: Family::default(),
            calls: Family::default(),
            call_seconds: Histogram::new(exponential_buckets(0.0001, 2.5, 14)),
            reload_failures: Counter::default(),
        };
        let r = registry.sub_registry_with_prefix("relay_broker");
        r.register(
            "agent_connections_refused",
            "Agent connections refused, by reason",
            metrics.connections_refused.clone(),
        );
        r.register(
            "agent_sessions_opened",
            "Agent sessions established",
            metrics.sessions_opened.clone(),
        );
        r.register(
            "agent_sessions",
            "Agent sessions currently connected",
            metrics.sessions_connected.clone(),
        );
        r.register(
            "relay_calls",
            "Calls relayed to agents, by outcome",
            metrics.calls.clone(),
        );
        r.register_with_unit(
            "relay_call_headers",
            "Time from sending a call to receiving its response headers",
            prometheus_client::registry::Unit::Seconds,
            metrics.call_seconds.clone(),
        );
        r.register(
            "config_reload_failures",
            "Config reloads refused (old settings kept)",
            metrics.reload_failures.clone(),
        );
        metrics
    }

    pub fn refused(&self, reason: &str) {
        self.connections_refused
            .get_or_create(&ReasonLabel {
                reason: reason.to_owned(),
            })
            .inc();
    }

    pub fn call(&self, tenant: &str, alias: &str, outcome: &str) {
        self.calls
            .get_or_create(&OutcomeLabels {
                tenant: tenant.to_owned(),
                alias: alias.to_owned(),
                outcome: outcome.to_owned(),
            })
            .inc();
    }
}
