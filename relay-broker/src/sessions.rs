//! Live agent sessions, indexed by (tenant, alias), and how a call picks one.
//!
//! Several agents may serve one alias: a call goes to the connected session with the fewest
//! calls in flight, and fails over to the next when a session turns out to be closed. A session
//! counts a call as in flight until its response body has been fully read or dropped.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use relay_shared::protocol::Hello;
use serde::Serialize;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Error type of bodies crossing the tunnel.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// Request body type of calls sent into the tunnel.
pub type RelayBody = http_body_util::combinators::UnsyncBoxBody<Bytes, BoxError>;
/// The HTTP/2 handle that opens streams on one tunnel.
pub type Sender = hyper::client::conn::http2::SendRequest<RelayBody>;

/// One connected agent.
#[derive(Debug)]
pub struct Session {
    pub id: String,
    pub agent_id: String,
    pub tenant: String,
    pub alias: String,
    pub hello: Hello,
    pub cert_serial: String,
    pub cert_fingerprint: String,
    pub remote: SocketAddr,
    pub connected_at: DateTime<Utc>,
    sender: Sender,
    in_flight: AtomicUsize,
    idle: Notify,
    /// Cancelled to end this session (revocation, shutdown).
    pub stop: CancellationToken,
}

/// What operators see about a session (`relay-broker agents`, `GET /api/v1/agents`).
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct SessionInfo {
    pub session_id: String,
    pub agent_id: String,
    pub tenant: String,
    pub alias: String,
    pub agent_version: String,
    pub protocol: u32,
    pub allowlist_digest: String,
    pub allowlist_rules: usize,
    pub hostname: String,
    pub remote: String,
    pub since: DateTime<Utc>,
    pub in_flight: usize,
    pub cert_serial: String,
}

impl Session {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: String,
        agent_id: String,
        tenant: String,
        alias: String,
        hello: Hello,
        cert: &relay_shared::tls::CertInfo,
        remote: SocketAddr,
        sender: Sender,
    ) -> Arc<Session> {
        Arc::new(Session {
            id,
            agent_id,
            tenant,
            alias,
            hello,
            cert_serial: cert.serial_hex.clone(),
            cert_fingerprint: cert.fingerprint.clone(),
            remote,
            connected_at: Utc::now(),
            sender,
            in_flight: AtomicUsize::new(0),
            idle: Notify::new(),
            stop: CancellationToken::new(),
        })
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// Whether the HTTP/2 connection can still take streams.
    pub fn is_open(&self) -> bool {
        !self.sender.is_closed() && !self.stop.is_cancelled()
    }

    /// A handle to open a stream, counting it in flight until the guard drops.
    pub fn begin_call(self: &Arc<Self>) -> (Sender, InFlight) {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        (self.sender.clone(), InFlight(Arc::clone(self)))
    }

    /// Resolves when no call is in flight.
    pub async fn idle(&self) {
        loop {
            let notified = self.idle.notified();
            if self.in_flight() == 0 {
                return;
            }
            notified.await;
        }
    }

    pub fn info(&self) -> SessionInfo {
        SessionInfo {
            session_id: self.id.clone(),
            agent_id: self.agent_id.clone(),
            tenant: self.tenant.clone(),
            alias: self.alias.clone(),
            agent_version: self.hello.agent_version.clone(),
            protocol: self.hello.protocol,
            allowlist_digest: self.hello.allowlist_digest.clone(),
            allowlist_rules: self.hello.allowlist_rules,
            hostname: self.hello.hostname.clone(),
            remote: self.remote.to_string(),
            since: self.connected_at,
            in_flight: self.in_flight(),
            cert_serial: self.cert_serial.clone(),
        }
    }
}

/// Counts one call in flight on a session; dropping it ends the count.
#[derive(Debug)]
pub struct InFlight(Arc<Session>);

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

type Key = (String, String);

/// All live sessions of this broker.
#[derive(Debug, Default)]
pub struct Sessions {
    by_alias: RwLock<HashMap<Key, Vec<Arc<Session>>>>,
}

impl Sessions {
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    pub fn add(&self, session: Arc<Session>) {
        let key = (session.tenant.clone(), session.alias.clone());
        self.by_alias
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(key)
            .or_default()
            .push(session);
    }

    /// Removes a session; returns whether it was registered.
    pub fn remove(&self, session: &Session) -> bool {
        let key = (session.tenant.clone(), session.alias.clone());
        let mut map = self
            .by_alias
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(list) = map.get_mut(&key) else {
            return false;
        };
        let before = list.len();
        list.retain(|s| s.id != session.id);
        let removed = list.len() != before;
        if list.is_empty() {
            map.remove(&key);
        }
        removed
    }

    /// The open session with the fewest calls in flight, skipping `tried` session ids.
    pub fn pick(&self, tenant: &str, alias: &str, tried: &[String]) -> Option<Arc<Session>> {
        let map = self.by_alias.read().unwrap_or_else(PoisonError::into_inner);
        map.get(&(tenant.to_owned(), alias.to_owned()))?
            .iter()
            .filter(|s| s.is_open() && !tried.contains(&s.id))
            .min_by_key(|s| s.in_flight())
            .cloned()
    }

    /// Every session, or those of one tenant.
    pub fn list(&self, tenant: Option<&str>) -> Vec<SessionInfo> {
        let map = self.by_alias.read().unwrap_or_else(PoisonError::into_inner);
        let mut out: Vec<SessionInfo> = map
            .values()
            .flatten()
            .filter(|s| tenant.is_none_or(|t| s.tenant == t))
            .map(|s| s.info())
            .collect();
        out.sort_by(|a, b| {
            (&a.tenant, &a.alias, &a.agent_id).cmp(&(&b.tenant, &b.alias, &b.agent_id))
        });
        out
    }

    /// Every session object (for revocation sweeps and shutdown).
    pub fn all(&self) -> Vec<Arc<Session>> {
        let map = self.by_alias.read().unwrap_or_else(PoisonError::into_inner);
        map.values().flatten().cloned().collect()
    }

    pub fn connected(&self, tenant: &str, alias: &str) -> usize {
        let map = self.by_alias.read().unwrap_or_else(PoisonError::into_inner);
        map.get(&(tenant.to_owned(), alias.to_owned()))
            .map_or(0, |l| l.iter().filter(|s| s.is_open()).count())
    }
}
