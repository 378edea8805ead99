//! Wiring: a validated config plus a bound ops listener become a running agent.
//!
//! [`Agent::start`] loads the allow-list and credentials, opens the audit log, starts the ops
//! endpoints, the allow-list watcher and the tunnel loop, and returns at once. The CLI adds
//! signal handling around it (SIGHUP reloads, SIGTERM/SIGINT drain).

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::registry::Registry;
use relay_shared::allowlist::AllowListError;
use relay_shared::h2::Http2Settings;
use relay_shared::shutdown::Shutdown;
use relay_shared::telemetry::{OpsState, Readiness, ops_router};
use tokio::net::TcpListener;
use tracing::warn;

use crate::audit::AuditLog;
use crate::config::AgentConfig;
use crate::credentials::{CredentialError, Credentials};
use crate::metrics::AgentMetrics;
use crate::proxy::ProxyState;
use crate::rules::Rules;
use crate::tunnel::{self, TunnelContext};
use crate::upstream::{Upstream, UpstreamError};

/// Why the agent could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("allow-list: {0}")]
    AllowList(#[from] AllowListError),
    #[error("Bitbucket client: {0}")]
    Upstream(#[from] UpstreamError),
    #[error("credentials: {0}")]
    Credentials(#[from] CredentialError),
    #[error("opening the audit log {path}: {source}")]
    Audit {
        path: String,
        source: std::io::Error,
    },
    #[error("watching the allow-list file: {0}")]
    Watch(#[from] notify::Error),
}

/// A running agent.
#[derive(Debug, Clone)]
pub struct Agent {
    pub rules: Arc<Rules>,
    pub metrics: AgentMetrics,
    pub readiness: Arc<Readiness>,
    pub registry: Arc<Registry>,
    shutdown: Shutdown,
    grace: Duration,
}

impl Agent {
    pub fn start(
        config: AgentConfig,
        ops_listener: TcpListener,
        shutdown: Shutdown,
    ) -> Result<Agent, StartError> {
        relay_shared::tls::install_crypto_provider();
        let mut registry = Registry::default();
        let metrics = AgentMetrics::register(&mut registry);
        let registry = Arc::new(registry);
        let readiness = Readiness::new();
        let rules = Rules::load(config.allowlist_file.clone(), metrics.clone())?;
        let upstream = Upstream::new(&config.bitbucket)?;
        let credentials = Credentials::load(&config.bitbucket.auth, upstream.client())?;
        let audit = AuditLog::open(&config.audit_file).map_err(|source| StartError::Audit {
            path: config.audit_file.display().to_string(),
            source,
        })?;
        let proxy = Arc::new(ProxyState {
            rules: Arc::clone(&rules),
            upstream,
            credentials,
            audit,
            metrics: metrics.clone(),
            max_request_body: config.bitbucket.max_request_body,
            max_response_body: config.bitbucket.max_response_body,
        });
        rules.watch(&shutdown)?;
        readiness.set("allowlist", Ok(()));

        let ops = ops_router(OpsState {
            registry: Arc::clone(&registry),
            readiness: Arc::clone(&readiness),
        });
        let ops_shutdown = shutdown.clone();
        shutdown.spawn(async move {
            let stopped = async move { ops_shutdown.stopped().await };
            if let Err(err) = relay_shared::telemetry::serve(ops_listener, ops, stopped).await {
                warn!(error = %err, "ops server failed");
            }
        });

        let ctx = Arc::new(TunnelContext {
            h2: Http2Settings {
                keepalive_interval: config.broker.keepalive_interval,
                ..Http2Settings::default()
            },
            broker: config.broker,
            proxy,
            metrics: metrics.clone(),
            readiness: Arc::clone(&readiness),
            grace: config.shutdown_grace,
            hostname: hostname(),
        });
        shutdown.spawn(tunnel::run(ctx, shutdown.clone()));
        Ok(Agent {
            rules,
            metrics,
            readiness,
            registry,
            shutdown,
            grace: config.shutdown_grace,
        })
    }

    /// Stops taking new calls and drains in-flight ones within the grace period.
    pub async fn shutdown(&self) -> bool {
        self.readiness.set_stopping();
        self.shutdown
            .drain(self.grace + Duration::from_secs(1))
            .await
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "unknown".to_owned())
}
