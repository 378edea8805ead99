//! Who may connect: only certificates chained to the agent CA, naming a registered agent,
//! not expired, not revoked. Refusals happen before any request flows, and are counted.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::time::Duration;

use relay_broker::config::BrokerConfig;
use relay_e2e::harness::{ALIAS, AgentOptions, Harness, TENANT, wait_until};

async fn refused(h: &Harness, reason: &str) {
    let series = format!("relay_broker_agent_connections_refused_total{{reason=\"{reason}\"}}");
    wait_until(Duration::from_secs(15), || h.broker_metric(&series) >= 1.0)
        .await
        .unwrap_or_else(|| {
            panic!(
                "no refusal with reason {reason}; metrics:\n{}",
                h.broker_metrics()
            )
        });
    assert_eq!(
        h.broker.sessions.connected(TENANT, ALIAS),
        0,
        "{:?}",
        h.broker.sessions.list(None)
    );
}

#[tokio::test]
async fn a_certificate_from_another_ca_is_refused_in_the_tls_handshake() {
    let h = Harness::start_without_agent().await;
    // Another installation's agent CA: same name, different key, so the chain's signature fails.
    let files = h.pki.foreign_agent("dc-1", TENANT, ALIAS);
    let agent = h
        .start_agent(AgentOptions {
            files: Some(files),
            ..AgentOptions::new("dc-1")
        })
        .await;
    refused(&h, "bad_signature").await;
    assert_eq!(h.origin.state.count(), 0);
    assert!(
        agent
            .metrics()
            .contains("relay_agent_tunnel_failures_total"),
        "{}",
        agent.metrics()
    );
}

#[tokio::test]
async fn an_expired_certificate_is_refused() {
    let h = Harness::start_without_agent().await;
    let files = h.pki.agent_with_validity("dc-1", TENANT, ALIAS, -30, 10);
    let _agent = h
        .start_agent(AgentOptions {
            files: Some(files),
            ..AgentOptions::new("dc-1")
        })
        .await;
    refused(&h, "expired").await;
}

#[tokio::test]
async fn an_unregistered_agent_identity_is_refused_with_a_reason() {
    let h = Harness::start_without_agent().await;
    let files = h.pki.agent("intruder", TENANT, ALIAS);
    let agent = h
        .start_agent(AgentOptions {
            files: Some(files),
            ..AgentOptions::new("dc-1")
        })
        .await;
    refused(&h, "unknown_agent").await;
    let series = "relay_agent_tunnel_failures_total{reason=\"unknown_agent\"}";
    wait_until(Duration::from_secs(10), || {
        relay_e2e::harness::metric_value(&agent.metrics(), series) >= 1.0
    })
    .await
    .unwrap_or_else(|| panic!("agent did not see the refusal reason:\n{}", agent.metrics()));
}

#[tokio::test]
async fn a_revoked_certificate_is_cut_off_and_refused_on_reconnect() {
    let (mut h, agent) = Harness::start().await;
    assert_eq!(h.get("/rest/api/1.0/projects").await.status(), 200);

    // Revoke the agent's serial and reload the broker's directory, as SIGHUP does.
    h.revoked_serials.push(agent.files.serial_hex.clone());
    let directory = BrokerConfig::reload_directory(&h.write_broker_config()).unwrap();
    h.broker.apply_directory(directory);

    refused(&h, "revoked").await;
    let response = h.get("/rest/api/1.0/projects").await;
    assert_eq!(response.status(), 503);
}

#[tokio::test]
async fn an_agent_offering_another_protocol_version_is_told_what_to_upgrade() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let (h, agent) = Harness::start().await;
    // A hand-made agent with a valid certificate that speaks only a future protocol.
    let tls = relay_shared::tls::agent_client_config(
        &relay_shared::tls::Trust::Cas {
            certs: relay_shared::tls::load_certs(&h.pki.ca_file).unwrap(),
            source: "ca".into(),
        },
        relay_shared::tls::load_certs(&agent.files.cert).unwrap(),
        relay_shared::tls::private_key_from_pem(&std::fs::read(&agent.files.key).unwrap(), "key")
            .unwrap(),
    )
    .unwrap();
    let tcp = tokio::net::TcpStream::connect(h.broker.tunnel_addr)
        .await
        .unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let stream = tokio_rustls::TlsConnector::from(std::sync::Arc::new(tls))
        .connect(name, tcp)
        .await
        .unwrap();
    let mut request = format!(
        "wss://localhost:{}/v1/agent/connect",
        h.broker.tunnel_addr.port()
    )
    .into_client_request()
    .unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "bitbucket-relay.v9".parse().unwrap(),
    );
    let err = tokio_tungstenite::client_async(request, stream)
        .await
        .unwrap_err();
    let tokio_tungstenite::tungstenite::Error::Http(response) = err else {
        panic!("expected an HTTP refusal, got {err}")
    };
    assert_eq!(response.status(), 426);
    let body: serde_json::Value =
        serde_json::from_slice(response.body().as_deref().unwrap()).unwrap();
    assert_eq!(body["code"], "protocol_unsupported");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("bitbucket-relay.v1") && message.contains("upgrade the broker"),
        "{message}"
    );
}
