//! The tunnel listener: mutual TLS, identity check, WebSocket upgrade, hello, HTTP/2.
//!
//! Order matters, and nothing is served before every step passed:
//! 1. TLS handshake with a mandatory client certificate chained to the agent CA (rustls
//!    rejects wrong-CA, expired and wrong-EKU certificates here; the reason is logged and
//!    counted under `relay_broker_agent_connections_refused_total`).
//! 2. The certificate's SAN URI names an agent registered in config and not revoked.
//! 3. `GET /v1/agent/connect` with a WebSocket upgrade offering our subprotocol.
//! 4. Hello (agent) / Welcome (broker) as text frames.
//! 5. HTTP/2 over the WebSocket byte stream, broker as the client; the session is registered.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use futures_util::{SinkExt, StreamExt};
use http::{HeaderValue, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper_util::rt::TokioIo;
use relay_shared::h2::Http2Settings;
use relay_shared::protocol::{
    self, CONNECT_PATH, ErrorBody, ErrorCode, Hello, HelloReply, MIN_PROTOCOL_VERSION,
    PROTOCOL_VERSION, Reject, SUBPROTOCOL, Welcome,
};
use relay_shared::shutdown::Shutdown;
use relay_shared::tls::{CertInfo, cert_info, handshake_failure_reason};
use relay_shared::wsio::{WsIo, websocket_config};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tracing::{Instrument, info, info_span, warn};

use crate::config::{AgentEntry, Directory};
use crate::metrics::{AliasLabels, BrokerMetrics};
use crate::sessions::{Session, Sessions};

/// Everything the tunnel listener needs.
#[derive(Debug, Clone)]
pub struct TunnelContext {
    pub tls: Arc<rustls::ServerConfig>,
    pub directory: Arc<ArcSwap<Directory>>,
    pub sessions: Arc<Sessions>,
    pub metrics: BrokerMetrics,
    pub h2: Http2Settings,
    pub handshake_timeout: Duration,
    pub shutdown_grace: Duration,
}

/// An agent that passed TLS and the identity check.
#[derive(Debug, Clone)]
struct Identity {
    agent_id: String,
    entry: AgentEntry,
    cert: CertInfo,
    remote: SocketAddr,
}

/// Accepts agent connections until `shutdown` stops; each connection runs as a tracked task.
pub async fn serve(listener: TcpListener, ctx: Arc<TunnelContext>, shutdown: Shutdown) {
    let acceptor = TlsAcceptor::from(Arc::clone(&ctx.tls));
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.stopped() => break,
        };
        let (tcp, remote) = match accepted {
            Ok(pair) => pair,
            Err(err) => {
                warn!(error = %err, "accepting an agent connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let ctx = Arc::clone(&ctx);
        let acceptor = acceptor.clone();
        let conn_shutdown = shutdown.clone();
        shutdown.spawn(
            async move { handle_connection(tcp, remote, acceptor, ctx, conn_shutdown).await }
                .instrument(info_span!("agent_conn", %remote)),
        );
    }
}

async fn handle_connection(
    tcp: TcpStream,
    remote: SocketAddr,
    acceptor: TlsAcceptor,
    ctx: Arc<TunnelContext>,
    shutdown: Shutdown,
) {
    let tls = match tokio::time::timeout(ctx.handshake_timeout, acceptor.accept(tcp)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(err)) => {
            let reason = handshake_failure_reason(&err);
            ctx.metrics.refused(reason);
            warn!(reason, error = %err, "agent TLS handshake refused");
            return;
        }
        Err(_) => {
            ctx.metrics.refused("handshake_timeout");
            warn!(
                reason = "handshake_timeout",
                "agent TLS handshake timed out"
            );
            return;
        }
    };
    let identity = identify(&tls.get_ref().1.peer_certificates(), remote, &ctx);
    let service_ctx = Arc::clone(&ctx);
    let service = hyper::service::service_fn(move |req| {
        let ctx = Arc::clone(&service_ctx);
        let identity = identity.clone();
        let shutdown = shutdown.clone();
        async move { Ok::<_, Infallible>(upgrade(req, identity, ctx, shutdown)) }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(ctx.handshake_timeout)
        .serve_connection(TokioIo::new(tls), service)
        .with_upgrades();
    if let Err(err) = conn.await {
        warn!(error = %err, "agent connection ended with an error before the tunnel started");
    }
}

/// Maps the peer certificate to a registered, unrevoked agent, or says why not.
fn identify(
    certs: &Option<&[rustls::pki_types::CertificateDer<'static>]>,
    remote: SocketAddr,
    ctx: &TunnelContext,
) -> Result<Identity, (ErrorCode, &'static str, String)> {
    let Some(leaf) = certs.and_then(|c| c.first()) else {
        return Err((
            ErrorCode::UnknownAgent,
            "no_client_certificate",
            "no client certificate".into(),
        ));
    };
    let cert = cert_info(leaf).map_err(|e| {
        (
            ErrorCode::UnknownAgent,
            "unparsable_certificate",
            format!("certificate cannot be parsed: {e}"),
        )
    })?;
    let Some(agent_id) = cert.agent_id.clone() else {
        return Err((
            ErrorCode::UnknownAgent,
            "no_agent_identity",
            format!(
                "certificate {} has no {} SAN URI",
                cert.subject,
                relay_shared::tls::AGENT_URI_PREFIX
            ),
        ));
    };
    let directory = ctx.directory.load();
    if let Some(why) = directory.revocation(&cert.serial_hex, &cert.fingerprint) {
        return Err((
            ErrorCode::RevokedAgent,
            "revoked",
            format!(
                "agent {agent_id}: certificate serial {} revoked ({why})",
                cert.serial_hex
            ),
        ));
    }
    let Some(entry) = directory.agents.get(&agent_id).cloned() else {
        return Err((
            ErrorCode::UnknownAgent,
            "unknown_agent",
            format!(
                "agent {agent_id} is not registered with this broker (add an [[agents]] entry)"
            ),
        ));
    };
    Ok(Identity {
        agent_id,
        entry,
        cert,
        remote,
    })
}

fn json_response(status: StatusCode, body: ErrorBody) -> Response<Full<Bytes>> {
    body.into_response::<Vec<u8>>(status)
        .map(|b| Full::new(Bytes::from(b)))
}

/// Answers the upgrade request: refuses (with a JSON reason) or switches protocols and starts
/// the session in the background.
fn upgrade(
    req: Request<Incoming>,
    identity: Result<Identity, (ErrorCode, &'static str, String)>,
    ctx: Arc<TunnelContext>,
    shutdown: Shutdown,
) -> Response<Full<Bytes>> {
    let identity = match identity {
        Ok(identity) => identity,
        Err((code, reason, message)) => {
            ctx.metrics.refused(reason);
            warn!(reason, %message, "agent refused");
            return json_response(
                StatusCode::FORBIDDEN,
                ErrorBody::new(code, message).with_reason(reason),
            );
        }
    };
    if shutdown.is_stopping() {
        return json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorBody::new(
                ErrorCode::ShuttingDown,
                "broker is shutting down; reconnect shortly",
            ),
        );
    }
    if req.uri().path() != CONNECT_PATH {
        return json_response(
            StatusCode::NOT_FOUND,
            ErrorBody::new(
                ErrorCode::BadRequest,
                format!("agents connect at {CONNECT_PATH}"),
            ),
        );
    }
    let Some(key) = websocket_key(&req) else {
        ctx.metrics.refused("not_websocket");
        return json_response(
            StatusCode::BAD_REQUEST,
            ErrorBody::new(
                ErrorCode::BadRequest,
                "expected a WebSocket upgrade (version 13)",
            ),
        );
    };
    let offered = offered_subprotocols(&req);
    if !offered.contains(&SUBPROTOCOL) {
        ctx.metrics.refused("protocol_unsupported");
        let message = format!(
            "this broker speaks {SUBPROTOCOL} (protocol {PROTOCOL_VERSION}); the agent offered {offered:?}. {}",
            upgrade_advice(&offered)
        );
        warn!(agent_id = %identity.agent_id, %message, "agent protocol mismatch");
        return json_response(
            StatusCode::UPGRADE_REQUIRED,
            ErrorBody::new(ErrorCode::ProtocolUnsupported, message)
                .with_reason("protocol_unsupported"),
        );
    }
    let span = info_span!("session", agent_id = %identity.agent_id, tenant = %identity.entry.tenant, alias = %identity.entry.alias);
    let session_shutdown = shutdown.clone();
    shutdown.spawn(
        async move {
            match hyper::upgrade::on(req).await {
                Ok(upgraded) => {
                    run_session(TokioIo::new(upgraded), identity, ctx, session_shutdown).await
                }
                Err(err) => warn!(error = %err, "WebSocket upgrade failed"),
            }
        }
        .instrument(span),
    );
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(
        header::SEC_WEBSOCKET_PROTOCOL,
        HeaderValue::from_static(SUBPROTOCOL),
    );
    if let Ok(accept) = HeaderValue::from_str(&derive_accept_key(key.as_bytes())) {
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    response
}

fn upgrade_advice(offered: &[&str]) -> String {
    let newest = offered
        .iter()
        .filter_map(|p| protocol::subprotocol_version(p))
        .max();
    match newest {
        Some(v) if v > PROTOCOL_VERSION => {
            format!(
                "The agent is newer (protocol {v}): upgrade the broker to a release that speaks it."
            )
        }
        Some(v) if v < MIN_PROTOCOL_VERSION => format!(
            "The agent is too old (protocol {v}): upgrade the agent to {} or later.",
            protocol::SOFTWARE_VERSION
        ),
        _ => format!(
            "Upgrade the agent to relay-agent {} or later.",
            protocol::SOFTWARE_VERSION
        ),
    }
}

fn websocket_key(req: &Request<Incoming>) -> Option<String> {
    let headers = req.headers();
    let is_upgrade = headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    let version_ok = headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_some_and(|v| v == "13");
    if !(is_upgrade && version_ok && req.method() == http::Method::GET) {
        return None;
    }
    headers
        .get(header::SEC_WEBSOCKET_KEY)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn offered_subprotocols(req: &Request<Incoming>) -> Vec<&str> {
    req.headers()
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect()
}

type Upgraded = TokioIo<hyper::upgrade::Upgraded>;

/// Hello exchange, then HTTP/2 for the life of the session.
async fn run_session(
    io: Upgraded,
    identity: Identity,
    ctx: Arc<TunnelContext>,
    shutdown: Shutdown,
) {
    let mut ws = WebSocketStream::from_raw_socket(io, Role::Server, Some(websocket_config())).await;
    let hello = match read_hello(&mut ws, ctx.handshake_timeout).await {
        Ok(hello) => hello,
        Err(message) => {
            ctx.metrics.refused("bad_hello");
            warn!(%message, "agent hello refused");
            let reply = HelloReply::Reject(Reject {
                code: ErrorCode::ProtocolUnsupported,
                message,
            });
            let _ = send_reply(&mut ws, &reply).await;
            let _ = ws.close(None).await;
            return;
        }
    };
    let session_id = protocol::new_request_id();
    let welcome = HelloReply::Welcome(Welcome {
        protocol: PROTOCOL_VERSION,
        broker_version: protocol::SOFTWARE_VERSION.to_owned(),
        session_id: session_id.clone(),
        tenant: identity.entry.tenant.clone(),
        alias: identity.entry.alias.clone(),
    });
    if let Err(err) = send_reply(&mut ws, &welcome).await {
        warn!(error = %err, "sending welcome failed");
        return;
    }
    let io = TokioIo::new(WsIo::new(ws));
    let (sender, mut conn) = match ctx.h2.client_builder().handshake(io).await {
        Ok(pair) => pair,
        Err(err) => {
            warn!(error = %err, "HTTP/2 handshake with the agent failed");
            return;
        }
    };
    let session = Session::new(
        session_id,
        identity.agent_id.clone(),
        identity.entry.tenant.clone(),
        identity.entry.alias.clone(),
        hello,
        &identity.cert,
        identity.remote,
        sender,
    );
    let labels = AliasLabels {
        tenant: session.tenant.clone(),
        alias: session.alias.clone(),
    };
    ctx.sessions.add(Arc::clone(&session));
    ctx.metrics.sessions_opened.get_or_create(&labels).inc();
    ctx.metrics.sessions_connected.get_or_create(&labels).inc();
    info!(session_id = %session.id, version = %session.hello.agent_version,
          allowlist_digest = %session.hello.allowlist_digest, "agent session established");

    let ended = tokio::select! {
        result = &mut conn => Some(result),
        () = session.stop.cancelled() => None,
        () = shutdown.stopped() => None,
    };
    // Whatever happened, no new call may pick this session any more.
    ctx.sessions.remove(&session);
    ctx.metrics.sessions_connected.get_or_create(&labels).dec();
    match ended {
        Some(Ok(())) => info!(session_id = %session.id, "agent session closed"),
        Some(Err(err)) => warn!(session_id = %session.id, error = %err, "agent session failed"),
        None => {
            // Drain: let calls in flight finish (the connection keeps running) within the grace.
            let in_flight = session.in_flight();
            info!(session_id = %session.id, in_flight, "agent session draining");
            tokio::select! {
                _ = &mut conn => {}
                () = session.idle() => {}
                () = tokio::time::sleep(ctx.shutdown_grace) => {
                    warn!(session_id = %session.id, in_flight = session.in_flight(), "grace period over; cutting calls");
                }
            }
        }
    }
}

async fn read_hello(
    ws: &mut WebSocketStream<Upgraded>,
    timeout: Duration,
) -> Result<Hello, String> {
    let message = tokio::time::timeout(timeout, ws.next())
        .await
        .map_err(|_| format!("no hello within {timeout:?}"))?
        .ok_or("connection closed before the hello")?
        .map_err(|e| format!("reading the hello: {e}"))?;
    let Message::Text(text) = message else {
        return Err("the first message must be a text hello".into());
    };
    let hello: Hello =
        serde_json::from_str(text.as_str()).map_err(|e| format!("malformed hello: {e}"))?;
    if hello.protocol < MIN_PROTOCOL_VERSION || hello.protocol > PROTOCOL_VERSION {
        return Err(format!(
            "agent {} speaks protocol {}, this broker {MIN_PROTOCOL_VERSION}..={PROTOCOL_VERSION}; upgrade the {}",
            hello.agent_version,
            hello.protocol,
            if hello.protocol < MIN_PROTOCOL_VERSION {
                "agent"
            } else {
                "broker"
            }
        ));
    }
    Ok(hello)
}

async fn send_reply(
    ws: &mut WebSocketStream<Upgraded>,
    reply: &HelloReply,
) -> Result<(), tokio_tungstenite::tungstenite::Error> {
    let text = serde_json::to_string(reply).unwrap_or_default();
    ws.send(Message::text(text)).await
}
