//! `RelayTransport` through the broker's real `Relay` and `Sessions`, over an in-memory
//! HTTP/2 connection to a miniature agent: the built-in allow-list, then the simulator with
//! basic credentials. (The full path through a real agent is the end-to-end suite's job.)

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bitbucket_sim::{SimConfig, Simulator};
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use prometheus_client::registry::Registry;
use relay_shared::allowlist::{AllowList, Decision};
use relay_shared::protocol::Hello;
use relay_shared::tls::CertInfo;

use crate::bitbucket::client::{AccountLabel, BitbucketClient, ClientConfig};
use crate::bitbucket::error::ErrorKind;
use crate::bitbucket::model::NewWebhook;
use crate::bitbucket::transport::{RelayTransport, Transport};
use crate::metrics::BrokerMetrics;
use crate::relay::Relay;
use crate::sessions::{Session, Sessions};

/// What the agent does, in miniature: check the allow-list, add credentials, forward.
async fn agent(
    request: Request<Incoming>,
    upstream: String,
    http: reqwest::Client,
    list: Arc<AllowList>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let raw = request
        .uri()
        .path_and_query()
        .map(|pq| pq.as_str())
        .unwrap_or("/");
    let reply = |status: StatusCode, body: Bytes| {
        let mut r = Response::new(Full::new(body));
        *r.status_mut() = status;
        Ok(r)
    };
    let target = match list.check(request.method(), raw) {
        Decision::Allow { target, .. } => target,
        Decision::Deny(denial) => {
            let body = serde_json::json!({"code": "forbidden", "message": denial.detail, "reason": denial.reason.code()});
            return reply(StatusCode::FORBIDDEN, Bytes::from(body.to_string()));
        }
    };
    let method = request.method().clone();
    let body = request.into_body().collect().await.unwrap().to_bytes();
    let answer = http
        .request(method, format!("{upstream}{}", target.as_str()))
        .basic_auth("admin", Some("admin-secret"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = answer.status();
    reply(status, answer.bytes().await.unwrap())
}

/// A simulator, and a broker `Relay` with one session for `acme/dc` to a miniature agent.
async fn relay_to_simulator() -> (Simulator, Relay) {
    let sim = Simulator::new(SimConfig::unlimited(bitbucket_sim::Profile::Tiny));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(sim.clone().serve(listener, std::future::pending()));

    let (broker_io, agent_io) = tokio::io::duplex(1 << 20);
    let list = Arc::new(AllowList::builtin_default());
    relay_shared::tls::install_crypto_provider();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let service = hyper::service::service_fn(move |req| {
        agent(req, upstream.clone(), http.clone(), Arc::clone(&list))
    });
    tokio::spawn(
        hyper::server::conn::http2::Builder::new(TokioExecutor::new())
            .serve_connection(TokioIo::new(agent_io), service),
    );
    let (sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(broker_io))
            .await
            .unwrap();
    tokio::spawn(conn);

    let hello = Hello {
        protocol: 1,
        agent_version: "test".into(),
        allowlist_digest: AllowList::builtin_default().digest().to_owned(),
        allowlist_rules: AllowList::builtin_default().rules().len(),
        capabilities: Vec::new(),
        hostname: "test".into(),
    };
    let cert = CertInfo {
        agent_id: Some("agent-1".into()),
        serial_hex: "01".into(),
        fingerprint: "sha256:00".into(),
        subject: "CN=agent-1".into(),
        not_after_unix: i64::MAX,
        dns_names: Vec::new(),
    };
    let session = Session::new(
        "s1".into(),
        "agent-1".into(),
        "acme".into(),
        "dc".into(),
        hello,
        &cert,
        "127.0.0.1:1".parse().unwrap(),
        sender,
    );
    let sessions = Sessions::new();
    sessions.add(session);
    let metrics = BrokerMetrics::register(&mut Registry::default());
    (sim, Relay::new(sessions, metrics, Duration::from_secs(10)))
}

fn client(relay: &Relay, alias: &str) -> BitbucketClient {
    let transport: Arc<dyn Transport> = Arc::new(RelayTransport::new(relay.clone(), "acme", alias));
    let config = ClientConfig {
        max_retries: 2,
        backoff: relay_shared::backoff::Backoff::new(
            Duration::from_millis(1),
            Duration::from_millis(5),
        ),
        ..ClientConfig::default()
    };
    BitbucketClient::new(AccountLabel::new("acme", alias), transport, config)
}

#[tokio::test]
async fn reads_through_the_relay_and_the_default_allow_list() {
    let (sim, relay) = relay_to_simulator().await;
    let client = client(&relay, "dc");
    assert_eq!(client.describe_transport(), "relay acme/dc");
    let projects = client.projects().await.unwrap();
    assert_eq!(projects.len(), sim.summary().projects);
    let info = sim.repos().into_iter().find(|r| r.head.is_some()).unwrap();
    let (p, r) = (info.project_key.as_str(), info.slug.as_str());
    let head = client.default_branch(p, r).await.unwrap().unwrap();
    let commits = client
        .commits(p, r, &head.latest_commit, None, None)
        .collect_all()
        .await
        .unwrap();
    assert_eq!(commits.len() as u64, info.commits);
    let members = client.group_members(&sim.groups()[0].name).await.unwrap();
    assert_eq!(members.len(), sim.groups()[0].members.len());
    let err = client
        .raw(p, r, &info.files[0], &head.latest_commit, 1)
        .await;
    assert!(matches!(
        err.unwrap_err().kind,
        ErrorKind::BodyTooLarge { limit: 1 }
    ));
}

#[tokio::test]
async fn the_default_allow_list_refuses_the_webhook_write() {
    let (_sim, relay) = relay_to_simulator().await;
    let client = client(&relay, "dc");
    let err = client
        .create_webhook("P", "r", &NewWebhook::default())
        .await
        .unwrap_err();
    assert!(matches!(err.kind, ErrorKind::Forbidden { .. }), "{err}");
    assert!(
        err.to_string().contains("no_matching_rule") || err.to_string().contains("not allowed"),
        "{err}"
    );
    assert_eq!(client.calls(), 1);
}

#[tokio::test]
async fn no_connected_agent_is_a_retryable_transport_error() {
    let (_sim, relay) = relay_to_simulator().await;
    let client = client(&relay, "other");
    let err = client.projects().await.unwrap_err();
    assert!(matches!(err.kind, ErrorKind::Transport(_)), "{err}");
    assert!(err.retryable);
    assert_eq!(client.calls(), 3);
    assert!(err.to_string().contains("no agent is connected"), "{err}");
}
