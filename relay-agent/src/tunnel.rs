//! The agent's side of the tunnel: dial out, prove who we are, serve HTTP/2, reconnect forever.
//!
//! One attempt: TCP (through an HTTP CONNECT proxy if configured), TLS with the client
//! certificate (files re-read on every attempt, so a rotated certificate takes effect on the
//! next connect), WebSocket upgrade offering our subprotocol, Hello/Welcome, then an HTTP/2
//! server on the WebSocket byte stream until the link ends. With TLS 1.3 a refused client
//! certificate only shows at the upgrade, so the tunnel counts as up only after the Welcome.
//! Between attempts: capped exponential backoff with full jitter, reset after a session that
//! was established.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use http::header::SEC_WEBSOCKET_PROTOCOL;
use http::{HeaderValue, Request};
use hyper_util::rt::TokioIo;
use relay_shared::backoff::Backoff;
use relay_shared::h2::Http2Settings;
use relay_shared::protocol::{self, ErrorBody, Hello, HelloReply, SUBPROTOCOL, Welcome};
use relay_shared::shutdown::Shutdown;
use relay_shared::telemetry::Readiness;
use relay_shared::tls::{self, Trust};
use relay_shared::wsio::{WsIo, websocket_config};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::{self, Message};
use tracing::{Instrument, info, info_span, warn};

use crate::config::{BrokerSettings, ProxySettings};
use crate::metrics::AgentMetrics;
use crate::proxy::{self, ProxyState};

/// What the tunnel loop needs.
#[derive(Debug, Clone)]
pub struct TunnelContext {
    pub broker: BrokerSettings,
    pub proxy: Arc<ProxyState>,
    pub metrics: AgentMetrics,
    pub readiness: Arc<Readiness>,
    pub h2: Http2Settings,
    pub grace: Duration,
    pub hostname: String,
}

/// Why one connection attempt failed; `reason` is a stable label for metrics.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ConnectError {
    pub reason: &'static str,
    pub message: String,
}

fn fail(reason: &'static str, message: impl Into<String>) -> ConnectError {
    ConnectError {
        reason,
        message: message.into(),
    }
}

type Ws = WebSocketStream<TlsStream<Box<dyn Io>>>;

/// A connected byte stream (TCP, or TCP through a proxy).
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Runs until shutdown: connect, serve, reconnect.
pub async fn run(ctx: Arc<TunnelContext>, shutdown: Shutdown) {
    let backoff = Backoff::new(ctx.broker.reconnect_min, ctx.broker.reconnect_max);
    let mut attempt = 0u32;
    ctx.readiness.set("tunnel", Err("connecting".into()));
    while !shutdown.is_stopping() {
        let connected = tokio::select! {
            result = connect(&ctx) => result,
            () = shutdown.stopped() => break,
        };
        match connected {
            Ok((ws, welcome)) => {
                attempt = 0;
                serve(&ctx, ws, welcome, &shutdown).await;
            }
            Err(err) => {
                ctx.metrics.tunnel_failure(err.reason);
                ctx.readiness
                    .set("tunnel", Err(format!("{}: {}", err.reason, err.message)));
                warn!(reason = err.reason, error = %err.message, broker = %ctx.broker.url, "cannot connect to the broker");
            }
        }
        if shutdown.is_stopping() {
            break;
        }
        let delay = backoff.delay(attempt);
        attempt = attempt.saturating_add(1);
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = shutdown.stopped() => break,
        }
    }
}

/// One connection attempt, up to and including the Welcome.
pub async fn connect(ctx: &TunnelContext) -> Result<(Ws, Welcome), ConnectError> {
    connect_with(&ctx.broker, &hello_for(ctx)).await
}

/// One connection attempt with a given hello (`relay-agent doctor` uses it to test the link).
pub async fn connect_with(
    b: &BrokerSettings,
    hello: &Hello,
) -> Result<(Ws, Welcome), ConnectError> {
    let io = tokio::time::timeout(b.connect_timeout, dial(b))
        .await
        .map_err(|_| {
            fail(
                "connect_timeout",
                format!("no TCP connection within {:?}", b.connect_timeout),
            )
        })??;
    let config = client_tls(b)?;
    let server_name =
        rustls::pki_types::ServerName::try_from(b.server_name.clone()).map_err(|_| {
            fail(
                "config",
                format!("{:?} is not a valid TLS server name", b.server_name),
            )
        })?;
    let tls = tokio::time::timeout(
        b.connect_timeout,
        TlsConnector::from(Arc::new(config)).connect(server_name, io),
    )
    .await
    .map_err(|_| fail("tls_timeout", "TLS handshake timed out"))?
    .map_err(|e| {
        fail(
            tls::handshake_failure_reason(&e),
            format!("TLS handshake with {}: {e}", b.server_name),
        )
    })?;

    let request = Request::get(format!("wss://{}:{}{}", b.host, b.port, b.path))
        .header("Host", format!("{}:{}", b.host, b.port))
        .header("Connection", "Upgrade")
        .header("Upgrade", "websocket")
        .header("Sec-WebSocket-Version", "13")
        .header(
            "Sec-WebSocket-Key",
            tungstenite::handshake::client::generate_key(),
        )
        .header(
            SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static(SUBPROTOCOL),
        )
        .header(
            "User-Agent",
            format!("relay-agent/{}", protocol::SOFTWARE_VERSION),
        )
        .body(())
        .map_err(|e| fail("config", e.to_string()))?;
    let upgrade =
        tokio_tungstenite::client_async_with_config(request, tls, Some(websocket_config()));
    let (mut ws, response) = tokio::time::timeout(b.connect_timeout, upgrade)
        .await
        .map_err(|_| fail("upgrade_timeout", "WebSocket upgrade timed out"))?
        .map_err(upgrade_error)?;
    let chosen = response
        .headers()
        .get(SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok());
    if chosen != Some(SUBPROTOCOL) {
        return Err(fail(
            "protocol_unsupported",
            format!(
                "broker chose subprotocol {chosen:?}, this agent speaks {SUBPROTOCOL}; upgrade one side"
            ),
        ));
    }
    let welcome = exchange_hello(&mut ws, hello, b.connect_timeout).await?;
    Ok((ws, welcome))
}

/// Turns a refused upgrade into the broker's own explanation where there is one.
fn upgrade_error(err: tungstenite::Error) -> ConnectError {
    match err {
        tungstenite::Error::Http(response) => {
            let status = response.status();
            let body = response.body().as_deref().unwrap_or_default();
            let explained = serde_json::from_slice::<ErrorBody>(body).ok();
            let reason = match (status.as_u16(), explained.as_ref().map(|e| e.code)) {
                (426, _) => "protocol_unsupported",
                (_, Some(protocol::ErrorCode::RevokedAgent)) => "revoked",
                (_, Some(protocol::ErrorCode::UnknownAgent)) => "unknown_agent",
                (403, _) => "refused",
                _ => "upgrade_refused",
            };
            let message = explained.map_or_else(
                || format!("broker answered {status}"),
                |e| format!("broker answered {status}: {}", e.message),
            );
            fail(reason, message)
        }
        tungstenite::Error::Io(io) => fail(
            tls::handshake_failure_reason(&io),
            format!("during the upgrade: {io}"),
        ),
        other => fail("upgrade_failed", other.to_string()),
    }
}

/// The hello this agent sends: its version, allow-list and host.
pub fn hello_for(ctx: &TunnelContext) -> Hello {
    let rules = ctx.proxy.rules.current();
    Hello {
        protocol: protocol::PROTOCOL_VERSION,
        agent_version: protocol::SOFTWARE_VERSION.to_owned(),
        allowlist_digest: rules.digest().to_owned(),
        allowlist_rules: rules.rules().len(),
        capabilities: vec![
            protocol::capability::PROXY.to_owned(),
            protocol::capability::STATUS.to_owned(),
        ],
        hostname: ctx.hostname.clone(),
    }
}

async fn exchange_hello(
    ws: &mut Ws,
    hello: &Hello,
    timeout: Duration,
) -> Result<Welcome, ConnectError> {
    let text = serde_json::to_string(hello).map_err(|e| fail("internal", e.to_string()))?;
    ws.send(Message::text(text))
        .await
        .map_err(|e| fail("hello_failed", e.to_string()))?;
    let reply = tokio::time::timeout(timeout, ws.next())
        .await
        .map_err(|_| fail("hello_timeout", "no answer to the hello"))?
        .ok_or_else(|| {
            fail(
                "hello_failed",
                "broker closed the connection after the upgrade",
            )
        })?
        .map_err(|e| fail("hello_failed", e.to_string()))?;
    let Message::Text(text) = reply else {
        return Err(fail(
            "hello_failed",
            "broker answered the hello with a non-text frame",
        ));
    };
    match serde_json::from_str::<HelloReply>(text.as_str()) {
        Ok(HelloReply::Welcome(welcome)) => Ok(welcome),
        Ok(HelloReply::Reject(reject)) => Err(fail(
            "rejected",
            format!("{}: {}", reject.code.as_str(), reject.message),
        )),
        Err(e) => Err(fail("hello_failed", format!("malformed broker reply: {e}"))),
    }
}

fn client_tls(b: &BrokerSettings) -> Result<rustls::ClientConfig, ConnectError> {
    let config_err = |e: &dyn std::fmt::Display| fail("config", e.to_string());
    let trust = match &b.ca_file {
        Some(path) => Trust::Cas {
            certs: tls::load_certs(path).map_err(|e| config_err(&e))?,
            source: path.display().to_string(),
        },
        None => Trust::System,
    };
    let chain = tls::load_certs(&b.cert_file).map_err(|e| config_err(&e))?;
    let key_pem = b.key.read_bytes().map_err(|e| config_err(&e))?;
    let key = tls::private_key_from_pem(&key_pem, &b.key.describe()).map_err(|e| config_err(&e))?;
    tls::agent_client_config(&trust, chain, key).map_err(|e| config_err(&e))
}

async fn dial(b: &BrokerSettings) -> Result<Box<dyn Io>, ConnectError> {
    match &b.proxy {
        None => {
            let tcp = TcpStream::connect((b.host.as_str(), b.port))
                .await
                .map_err(|e| {
                    fail(
                        "connect_failed",
                        format!("TCP connect to {}:{}: {e}", b.host, b.port),
                    )
                })?;
            let _ = tcp.set_nodelay(true);
            Ok(Box::new(tcp))
        }
        Some(proxy) => Ok(Box::new(http_connect(proxy, &b.host, b.port).await?)),
    }
}

/// Opens a tunnel through an HTTP proxy with `CONNECT host:port`.
pub async fn http_connect(
    proxy: &ProxySettings,
    host: &str,
    port: u16,
) -> Result<TcpStream, ConnectError> {
    let mut tcp = TcpStream::connect((proxy.host.as_str(), proxy.port))
        .await
        .map_err(|e| {
            fail(
                "proxy_connect_failed",
                format!("TCP connect to proxy {}:{}: {e}", proxy.host, proxy.port),
            )
        })?;
    let _ = tcp.set_nodelay(true);
    let target = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let mut request = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
    if let Some(credentials) = &proxy.basic_auth {
        use base64::Engine;
        let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
        request.push_str(&format!("Proxy-Authorization: Basic {encoded}\r\n"));
    }
    request.push_str("\r\n");
    tcp.write_all(request.as_bytes())
        .await
        .map_err(|e| fail("proxy_failed", e.to_string()))?;
    // The proxy sends nothing after its answer until we speak, so reading up to the blank line
    // cannot swallow TLS bytes.
    let mut head = Vec::with_capacity(256);
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 8192 {
            return Err(fail("proxy_failed", "proxy answer header too long"));
        }
        let n = tcp
            .read(&mut byte)
            .await
            .map_err(|e| fail("proxy_failed", e.to_string()))?;
        if n == 0 {
            return Err(fail(
                "proxy_failed",
                "proxy closed the connection during CONNECT",
            ));
        }
        head.push(byte[0]);
    }
    let status_line = String::from_utf8_lossy(&head);
    let status_line = status_line.lines().next().unwrap_or_default();
    let code = status_line.split_whitespace().nth(1).unwrap_or_default();
    if code != "200" {
        return Err(fail(
            "proxy_refused",
            format!("proxy answered {status_line:?} to CONNECT {target}"),
        ));
    }
    Ok(tcp)
}

/// Serves HTTP/2 on an established session until it ends or shutdown drains it.
async fn serve(ctx: &TunnelContext, ws: Ws, welcome: Welcome, shutdown: &Shutdown) {
    let span = info_span!("session", session_id = %welcome.session_id, tenant = %welcome.tenant, alias = %welcome.alias);
    async {
        info!(broker_version = %welcome.broker_version, "tunnel up");
        ctx.metrics.tunnel_connects.inc();
        ctx.metrics.tunnel_connected.set(1);
        ctx.readiness.set("tunnel", Ok(()));
        let state = Arc::clone(&ctx.proxy);
        let service = hyper::service::service_fn(move |request| {
            let state = Arc::clone(&state);
            async move { Ok::<_, std::convert::Infallible>(proxy::serve(state, request).await) }
        });
        let conn = ctx
            .h2
            .server_builder()
            .serve_connection(TokioIo::new(WsIo::new(ws)), service);
        tokio::pin!(conn);
        let result = tokio::select! {
            result = conn.as_mut() => result,
            () = shutdown.stopped() => {
                info!("draining the tunnel: no new calls, finishing calls in flight");
                conn.as_mut().graceful_shutdown();
                match tokio::time::timeout(ctx.grace, conn.as_mut()).await {
                    Ok(result) => result,
                    Err(_) => {
                        warn!("grace period over; closing the tunnel with calls in flight");
                        Ok(())
                    }
                }
            }
        };
        ctx.metrics.tunnel_connected.set(0);
        ctx.readiness
            .set("tunnel", Err("disconnected; reconnecting".into()));
        match result {
            Ok(()) => info!("tunnel closed"),
            Err(err) if shutdown.is_stopping() => {
                info!(error = %err, "tunnel closed during shutdown")
            }
            Err(err) => {
                ctx.metrics.tunnel_failure("session_failed");
                warn!(error = %err, "tunnel failed; reconnecting");
            }
        }
    }
    .instrument(span)
    .await;
}
