//! Logs, metrics and the ops endpoints, set up the same way in both binaries.
//!
//! - Logs: `tracing` with structured fields; text for people, JSON for collectors.
//! - Metrics: a `prometheus-client` registry; names carry a per-binary prefix and base units,
//!   counters get `_total` from the library (never put it in the name yourself).
//! - Ops endpoints ([`ops_router`]): `/healthz` (the process is alive, no dependency checks),
//!   `/readyz` (it can do useful work; 503 listing the failed checks otherwise, and the first
//!   thing to fail when shutdown starts), `/metrics` (Prometheus text format).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::registry::Registry;

/// Log output format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Installs the global tracing subscriber. `RUST_LOG` overrides `default_filter`.
/// Safe to call more than once (later calls are ignored), which tests rely on.
pub fn init_tracing(format: LogFormat, default_filter: &str) {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    // Colours only for a person at a terminal; journald and log files get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// Named readiness checks plus a shutdown flag.
#[derive(Debug, Default)]
pub struct Readiness {
    checks: Mutex<BTreeMap<&'static str, Result<(), String>>>,
    stopping: std::sync::atomic::AtomicBool,
}

impl Readiness {
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    /// Records the state of one check (e.g. `tunnel`, `allowlist`).
    pub fn set(&self, check: &'static str, state: Result<(), String>) {
        self.checks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(check, state);
    }

    /// Marks the process as shutting down: readiness fails from now on.
    pub fn set_stopping(&self) {
        self.stopping
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// `Ok` when ready, else the failed checks as `name: reason`.
    pub fn state(&self) -> Result<(), Vec<String>> {
        let mut failed = Vec::new();
        if self.stopping.load(std::sync::atomic::Ordering::SeqCst) {
            failed.push("shutdown: shutting down".to_owned());
        }
        for (name, state) in self
            .checks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            if let Err(reason) = state {
                failed.push(format!("{name}: {reason}"));
            }
        }
        if failed.is_empty() {
            Ok(())
        } else {
            Err(failed)
        }
    }
}

/// What the ops endpoints need.
#[derive(Debug, Clone)]
pub struct OpsState {
    pub registry: Arc<Registry>,
    pub readiness: Arc<Readiness>,
}

/// `/healthz`, `/readyz` and `/metrics` as a router to serve alone or merge into another.
pub fn ops_router(state: OpsState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { (StatusCode::OK, "ok\n") }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn readyz(State(state): State<OpsState>) -> Response {
    match state.readiness.state() {
        Ok(()) => axum::Json(serde_json::json!({ "ready": true })).into_response(),
        Err(failed) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({ "ready": false, "failed": failed })),
        )
            .into_response(),
    }
}

async fn metrics(State(state): State<OpsState>) -> Response {
    let mut text = String::new();
    match prometheus_client::encoding::text::encode(&mut text, &state.registry) {
        Ok(()) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(err) => (StatusCode::INTERNAL_SERVER_ERROR, err.to_string()).into_response(),
    }
}

/// Serves a router on an already-bound listener until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    // Without TCP_NODELAY, a response written as headers then body waits for the client's
    // delayed ACK (Nagle): 40 ms stalls on relayed calls.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readiness_lists_failed_checks_and_fails_when_stopping() {
        let readiness = Readiness::new();
        readiness.set("tunnel", Err("not connected".into()));
        readiness.set("allowlist", Ok(()));
        assert_eq!(
            readiness.state(),
            Err(vec!["tunnel: not connected".to_owned()])
        );
        readiness.set("tunnel", Ok(()));
        assert_eq!(readiness.state(), Ok(()));
        readiness.set_stopping();
        assert!(readiness.state().is_err());
    }
}
