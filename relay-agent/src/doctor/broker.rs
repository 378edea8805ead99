//! Doctor checks towards the broker, one layer at a time: DNS, TCP (or the proxy), TLS, whether
//! the broker accepts this certificate (and its clock), then the real WebSocket upgrade and hello.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Empty;
use hyper_util::rt::TokioIo;
use relay_shared::allowlist::AllowList;
use relay_shared::protocol::{self, ErrorBody, ErrorCode, Hello, PROTOCOL_VERSION, SUBPROTOCOL};
use relay_shared::tls::{self, Trust};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use super::{Check, Report, clock_skew};
use crate::config::BrokerSettings;
use crate::tunnel::{self, ConnectError, Io};

/// A path on the tunnel listener that is not the connect path: the broker checks the client
/// certificate first and then answers 404, without counting a refused connection.
const PROBE_PATH: &str = "/v1/agent/doctor";

/// Runs the broker checks in order, stopping at the first failure.
pub async fn check(b: &BrokerSettings, rules: &AllowList, report: &mut Report) {
    let (host, port, via) = match &b.proxy {
        Some(p) => (p.host.clone(), p.port, " (the HTTP proxy)"),
        None => (b.host.clone(), b.port, ""),
    };
    let Some(addrs) = dns(&host, port, via, report).await else {
        return;
    };
    let Some(io) = tcp(b, &addrs, report).await else {
        return;
    };
    let Some(tls) = handshake(b, io, report).await else {
        return;
    };
    if !probe_identity(b, tls, report).await {
        return;
    }
    upgrade(b, rules, report).await;
}

async fn dns(host: &str, port: u16, via: &str, report: &mut Report) -> Option<Vec<SocketAddr>> {
    match tokio::net::lookup_host((host, port)).await {
        Ok(addrs) => {
            let addrs: Vec<SocketAddr> = addrs.collect();
            let list: Vec<String> = addrs.iter().map(|a| a.ip().to_string()).collect();
            report
                .add(Check::pass(
                    "broker DNS",
                    format!("{host}{via} resolves to {}", list.join(", ")),
                ))
                .then_some(addrs)
        }
        Err(err) => {
            report.add(Check::fail(
                "broker DNS",
                format!("cannot resolve {host}{via}: {err}"),
                "check the host name in [broker] url (or proxy) and this host's resolver (/etc/resolv.conf)",
            ));
            None
        }
    }
}

async fn tcp(b: &BrokerSettings, addrs: &[SocketAddr], report: &mut Report) -> Option<Box<dyn Io>> {
    let result: Result<Box<dyn Io>, String> = match &b.proxy {
        Some(proxy) => tokio::time::timeout(
            b.connect_timeout,
            tunnel::http_connect(proxy, &b.host, b.port),
        )
        .await
        .map_err(|_| format!("no answer from the proxy within {:?}", b.connect_timeout))
        .and_then(|r| r.map_err(|e| e.to_string()))
        .map(|tcp| Box::new(tcp) as Box<dyn Io>),
        None => tokio::time::timeout(b.connect_timeout, TcpStream::connect(addrs))
            .await
            .map_err(|_| format!("no TCP connection within {:?}", b.connect_timeout))
            .and_then(|r| r.map_err(|e| e.to_string()))
            .map(|tcp| Box::new(tcp) as Box<dyn Io>),
    };
    let target = format!("{}:{}", b.host, b.port);
    match result {
        Ok(io) => {
            let how = b.proxy.as_ref().map_or(String::new(), |p| {
                format!(" through the proxy {}:{}", p.host, p.port)
            });
            report.add(Check::pass(
                "broker TCP",
                format!("connected to {target}{how}"),
            ));
            Some(io)
        }
        Err(err) => {
            report.add(Check::fail(
                "broker TCP",
                format!("cannot connect to {target}: {err}"),
                "allow outbound TCP from this host to the broker's tunnel port (firewall, proxy: [broker] proxy or HTTPS_PROXY)",
            ));
            None
        }
    }
}

fn trust(b: &BrokerSettings) -> Result<(Trust, String), String> {
    match &b.ca_file {
        Some(path) => Ok((
            Trust::Cas {
                certs: tls::load_certs(path).map_err(|e| e.to_string())?,
                source: path.display().to_string(),
            },
            format!("the CA in {}", path.display()),
        )),
        None => Ok((Trust::System, "the system roots".to_owned())),
    }
}

fn client_config(b: &BrokerSettings) -> Result<(rustls::ClientConfig, String), String> {
    let (trust, described) = trust(b)?;
    let chain = tls::load_certs(&b.cert_file).map_err(|e| e.to_string())?;
    let pem = b.key.read_bytes().map_err(|e| e.to_string())?;
    let key = tls::private_key_from_pem(&pem, &b.key.describe()).map_err(|e| e.to_string())?;
    let config = tls::agent_client_config(&trust, chain, key).map_err(|e| e.to_string())?;
    Ok((config, described))
}

fn tls_fix(reason: &str) -> &'static str {
    match reason {
        "unknown_ca" | "bad_signature" => {
            "set [broker] ca_file to the CA that signed the broker's certificate (agent-ca.pem from `relay-broker pki init`), or remove it to use the system roots"
        }
        "invalid_certificate" => {
            "the broker's certificate does not name the host dialled: set [broker] server_name to a name it carries, or reissue it with `pki init --name <host>`"
        }
        "expired" | "not_yet_valid" => {
            "the broker's certificate is outside its validity: check this host's clock, then renew the broker certificate"
        }
        _ => {
            "check that [broker] url points at the broker's tunnel port (not the API port, not a TLS-terminating proxy)"
        }
    }
}

async fn handshake(
    b: &BrokerSettings,
    io: Box<dyn Io>,
    report: &mut Report,
) -> Option<TlsStream<Box<dyn Io>>> {
    let (config, described) = match client_config(b) {
        Ok(pair) => pair,
        Err(err) => {
            report.add(Check::fail(
                "broker TLS",
                err,
                "fix the certificate, key or CA file named above",
            ));
            return None;
        }
    };
    let Ok(name) = rustls::pki_types::ServerName::try_from(b.server_name.clone()) else {
        report.add(Check::fail(
            "broker TLS",
            format!("{:?} is not a valid TLS server name", b.server_name),
            "set [broker] server_name to the DNS name in the broker's certificate",
        ));
        return None;
    };
    let connect = TlsConnector::from(Arc::new(config)).connect(name, io);
    match tokio::time::timeout(b.connect_timeout, connect).await {
        Ok(Ok(stream)) => {
            let peer = peer_summary(&stream);
            report.add(Check::pass(
                "broker TLS",
                format!(
                    "{} verified against {described} for the name {:?}{peer}",
                    tls_version(&stream),
                    b.server_name
                ),
            ));
            Some(stream)
        }
        Ok(Err(err)) => {
            let reason = tls::handshake_failure_reason(&err);
            report.add(Check::fail(
                "broker TLS",
                format!(
                    "{reason}: verifying the broker as {:?} against {described}: {err}",
                    b.server_name
                ),
                tls_fix(reason),
            ));
            None
        }
        Err(_) => {
            report.add(Check::fail(
                "broker TLS",
                format!("no TLS handshake within {:?}", b.connect_timeout),
                tls_fix("timeout"),
            ));
            None
        }
    }
}

fn tls_version(stream: &TlsStream<Box<dyn Io>>) -> String {
    stream
        .get_ref()
        .1
        .protocol_version()
        .map_or("TLS".to_owned(), |v| format!("{v:?}").replace('_', "."))
}

fn peer_summary(stream: &TlsStream<Box<dyn Io>>) -> String {
    let leaf = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|certs| certs.first())
        .and_then(|der| tls::cert_info(der).ok());
    leaf.map_or(String::new(), |info| {
        let until = chrono::DateTime::from_timestamp(info.not_after_unix, 0)
            .map(|t| t.format("%Y-%m-%d").to_string())
            .unwrap_or_default();
        format!("; broker certificate {} valid until {until}", info.subject)
    })
}

/// `GET PROBE_PATH` on the TLS stream: 404 means the broker accepted our certificate.
async fn probe_identity(
    b: &BrokerSettings,
    tls: TlsStream<Box<dyn Io>>,
    report: &mut Report,
) -> bool {
    let answer = tokio::time::timeout(b.connect_timeout, http_get(tls, &b.host, b.port)).await;
    let (status, date, body) = match answer {
        Ok(Ok(answer)) => answer,
        Ok(Err(err)) => {
            report.add(Check::fail(
                "broker accepts certificate",
                format!("the broker closed the connection: {err}"),
                "the broker refused this certificate during TLS: it must be issued by the broker's agent CA (`relay-broker pki issue-agent`) and be within its validity",
            ));
            return false;
        }
        Err(_) => {
            report.add(Check::fail(
                "broker accepts certificate",
                format!("no answer within {:?}", b.connect_timeout),
                "check that [broker] url points at the broker's tunnel port",
            ));
            return false;
        }
    };
    let passed = report.add(identity_verdict(status, &body));
    report.add(clock_skew(
        "broker clock",
        "the broker",
        date.as_deref(),
        chrono::Utc::now(),
    ));
    passed
}

fn identity_verdict(status: u16, body: &[u8]) -> Check {
    const NAME: &str = "broker accepts certificate";
    if status == 404 {
        return Check::pass(
            NAME,
            "the broker knows this agent and its certificate is not revoked",
        );
    }
    let explained = serde_json::from_slice::<ErrorBody>(body).ok();
    let message = explained
        .as_ref()
        .map_or_else(String::new, |e| e.message.clone());
    match explained.map(|e| e.code) {
        Some(ErrorCode::RevokedAgent) => Check::fail(
            NAME,
            format!("revoked: {message}"),
            "install a newly issued certificate (`relay-broker pki issue-agent`); the revoked one cannot be reinstated",
        ),
        Some(ErrorCode::UnknownAgent) => Check::fail(
            NAME,
            format!("unknown agent: {message}"),
            "add the [[agents]] block printed by `pki issue-agent` to the broker config and reload the broker (SIGHUP)",
        ),
        _ => Check::fail(
            NAME,
            format!("HTTP {status}: {message}"),
            "check that [broker] url points at the broker's tunnel port",
        ),
    }
}

type Answer = (u16, Option<String>, Vec<u8>);

async fn http_get(
    tls: TlsStream<Box<dyn Io>>,
    host: &str,
    port: u16,
) -> Result<Answer, hyper::Error> {
    use http_body_util::BodyExt;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await?;
    let driver = tokio::spawn(conn);
    let request = http::Request::get(PROBE_PATH)
        .header(http::header::HOST, format!("{host}:{port}"))
        .header(
            http::header::USER_AGENT,
            format!("relay-agent-doctor/{}", protocol::SOFTWARE_VERSION),
        )
        .body(Empty::<bytes::Bytes>::new());
    let Ok(request) = request else {
        driver.abort();
        return Ok((0, None, Vec::new()));
    };
    let response = sender.send_request(request).await?;
    let status = response.status().as_u16();
    let date = response
        .headers()
        .get(http::header::DATE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response.into_body().collect().await?.to_bytes().to_vec();
    driver.abort();
    Ok((status, date, body))
}

/// The agent's real connect path: upgrade, subprotocol, hello, welcome; then closes at once.
async fn upgrade(b: &BrokerSettings, rules: &AllowList, report: &mut Report) {
    let hello = Hello {
        protocol: PROTOCOL_VERSION,
        agent_version: protocol::SOFTWARE_VERSION.to_owned(),
        allowlist_digest: rules.digest().to_owned(),
        allowlist_rules: rules.rules().len(),
        capabilities: vec![protocol::capability::PROXY.to_owned()],
        hostname: format!("{} (doctor)", hostname()),
    };
    match tunnel::connect_with(b, &hello).await {
        Ok((mut ws, welcome)) => {
            let _ = tokio::time::timeout(Duration::from_secs(2), ws.close(None)).await;
            report.add(Check::pass(
                "broker WebSocket",
                format!("upgraded at {} with subprotocol {SUBPROTOCOL}", b.path),
            ));
            report.add(Check::pass(
                "protocol version",
                format!(
                    "protocol {} with relay-broker {} (this agent {}); serving tenant {:?}, alias {:?}",
                    welcome.protocol, welcome.broker_version, protocol::SOFTWARE_VERSION, welcome.tenant, welcome.alias
                ),
            ));
        }
        Err(err) => {
            report.add(upgrade_failure(&err));
        }
    }
}

fn upgrade_failure(err: &ConnectError) -> Check {
    let fix = match err.reason {
        "protocol_unsupported" | "rejected" => {
            "agent and broker speak different protocol versions: upgrade the older side (docs/operations.md, Upgrading)"
        }
        "revoked" => "install a newly issued certificate (`relay-broker pki issue-agent`)",
        "unknown_agent" | "refused" => {
            "register this agent id in the broker's [[agents]] and reload the broker"
        }
        _ => {
            "check that [broker] url (path included) points at the broker's tunnel listener, and that no proxy strips WebSocket upgrades"
        }
    };
    let name = if matches!(err.reason, "protocol_unsupported" | "rejected") {
        "protocol version"
    } else {
        "broker WebSocket"
    };
    Check::fail(name, format!("{}: {}", err.reason, err.message), fix)
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "unknown".to_owned())
}
