//! Wiring: a validated config plus bound listeners become a running broker.
//!
//! [`Broker::start`] takes already-bound listeners (tests bind `127.0.0.1:0`) and a
//! [`Shutdown`]; it returns at once with a handle. `relay-broker serve` binds the configured
//! addresses, starts, and then waits for signals: SIGHUP reloads the directory (tenants, agents,
//! revocations), SIGTERM/SIGINT drain.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use prometheus_client::registry::Registry;
use relay_shared::h2::Http2Settings;
use relay_shared::shutdown::Shutdown;
use relay_shared::telemetry::{OpsState, Readiness};
use relay_shared::tls::broker_server_config;
use tokio::net::TcpListener;
use tracing::{info, warn};

use crate::api::{self, ApiState};
use crate::config::{BrokerConfig, Directory};
use crate::metrics::BrokerMetrics;
use crate::relay::Relay;
use crate::sessions::Sessions;
use crate::store::{SqliteStore, Store};
use crate::sync::SyncEngine;
use crate::tunnel::{self, TunnelContext};

/// A running broker.
#[derive(Debug, Clone)]
pub struct Broker {
    pub tunnel_addr: SocketAddr,
    pub api_addr: SocketAddr,
    pub relay: Relay,
    pub sessions: Arc<Sessions>,
    pub metrics: BrokerMetrics,
    pub registry: Arc<Registry>,
    pub readiness: Arc<Readiness>,
    pub store: Arc<dyn Store>,
    pub engine: Arc<SyncEngine>,
    directory: Arc<ArcSwap<Directory>>,
    shutdown: Shutdown,
    grace: Duration,
}

/// Why the broker could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("building the tunnel TLS configuration: {0}")]
    Tls(#[from] relay_shared::tls::TlsError),
    #[error("reading a listener address: {0}")]
    Listener(#[from] std::io::Error),
    #[error("{0}")]
    Store(#[from] crate::store::StoreError),
    #[error("{0}")]
    Sync(#[from] crate::sync::SyncError),
}

impl Broker {
    /// Opens the store, then starts the tunnel listener, the API and the sync schedules on the
    /// given listeners.
    pub async fn start(
        config: BrokerConfig,
        tunnel_listener: TcpListener,
        api_listener: TcpListener,
        shutdown: Shutdown,
    ) -> Result<Broker, StartError> {
        relay_shared::tls::install_crypto_provider();
        let tls = broker_server_config(config.server_chain, config.server_key, &config.agent_cas)?;
        let mut registry = Registry::default();
        let metrics = BrokerMetrics::register(&mut registry);
        let registry = Arc::new(registry);
        let readiness = Readiness::new();
        let sessions = Sessions::new();
        let directory = Arc::new(ArcSwap::from_pointee(config.directory));
        let relay = Relay::new(Arc::clone(&sessions), metrics.clone(), config.call_timeout);
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&config.store_path).await?);
        let engine = Arc::new(SyncEngine::new(
            Arc::clone(&store),
            &config.accounts,
            &relay,
        )?);
        engine.prepare(&config.people).await?;
        load_api_accounts(&engine, store.as_ref()).await?;
        crate::sync::scheduler::start(Arc::clone(&engine), &shutdown);
        let h2 = Http2Settings {
            keepalive_interval: config.keepalive_interval,
            ..Http2Settings::default()
        };
        let tunnel_addr = tunnel_listener.local_addr()?;
        let api_addr = api_listener.local_addr()?;

        let ctx = Arc::new(TunnelContext {
            tls: Arc::new(tls),
            directory: Arc::clone(&directory),
            sessions: Arc::clone(&sessions),
            metrics: metrics.clone(),
            h2,
            handshake_timeout: config.handshake_timeout,
            shutdown_grace: config.shutdown_grace,
        });
        shutdown.spawn(tunnel::serve(tunnel_listener, ctx, shutdown.clone()));

        let ops = OpsState {
            registry: Arc::clone(&registry),
            readiness: Arc::clone(&readiness),
        };
        let app = api::router(
            ApiState {
                relay: relay.clone(),
                directory: Arc::clone(&directory),
                store: Arc::clone(&store),
                engine: Arc::clone(&engine),
                shutdown: shutdown.clone(),
            },
            ops,
        );
        let api_shutdown = shutdown.clone();
        shutdown.spawn(async move {
            let stopped = async move { api_shutdown.stopped().await };
            if let Err(err) = relay_shared::telemetry::serve(api_listener, app, stopped).await {
                warn!(error = %err, "API server failed");
            }
        });
        readiness.set("listeners", Ok(()));
        info!(%tunnel_addr, %api_addr, "broker started");
        Ok(Broker {
            tunnel_addr,
            api_addr,
            relay,
            sessions,
            metrics,
            registry,
            readiness,
            store,
            engine,
            directory,
            shutdown,
            grace: config.shutdown_grace,
        })
    }

    /// Replaces the directory (tenants, agents, revocations) and ends sessions whose agent is
    /// no longer registered or whose certificate is now revoked.
    pub fn apply_directory(&self, directory: Directory) {
        self.directory.store(Arc::new(directory));
        let directory = self.directory.load();
        for session in self.sessions.all() {
            let revoked = directory.revocation(&session.cert_serial, &session.cert_fingerprint);
            let registered = directory.agents.get(&session.agent_id);
            let still_valid =
                registered.is_some_and(|e| e.tenant == session.tenant && e.alias == session.alias);
            if revoked.is_some() || !still_valid {
                warn!(agent_id = %session.agent_id, session_id = %session.id,
                      reason = revoked.unwrap_or("agent no longer registered"), "ending session after reload");
                session.stop.cancel();
            }
        }
    }

    pub fn directory(&self) -> Arc<Directory> {
        self.directory.load_full()
    }

    /// Stops taking new agents and calls, drains in-flight ones within the grace period.
    pub async fn shutdown(&self) -> bool {
        self.readiness.set_stopping();
        self.shutdown
            .drain(self.grace + Duration::from_secs(1))
            .await
    }
}

/// Brings back the accounts added through the API before the restart. One that no longer
/// validates (e.g. a secret file gone) is skipped with a warning rather than blocking the start.
async fn load_api_accounts(engine: &SyncEngine, store: &dyn Store) -> Result<(), StartError> {
    for (key, spec) in store.account_specs().await? {
        let account = serde_json::from_value::<crate::accounts::RawAccount>(spec)
            .map_err(|e| e.to_string())
            .and_then(|raw| crate::api::accounts::validate_submitted(&key.tenant, &raw));
        match account.map(|a| engine.add_account(a)) {
            Ok(Ok(_)) => info!(account = %key, "account from the API restored"),
            Ok(Err(err)) => warn!(account = %key, error = %err, "stored account not restored"),
            Err(err) => {
                warn!(account = %key, error = %err, "stored account no longer valid; not restored")
            }
        }
    }
    Ok(())
}
