//! The relay path end to end: broker API → broker → mTLS WebSocket → HTTP/2 → agent → origin.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use relay_e2e::harness::{
    ALIAS, BB_PASSWORD, BB_USER, Harness, OTHER_ALIAS, OTHER_TENANT, OTHER_TOKEN, TENANT, TOKEN,
};

#[tokio::test]
async fn allowed_get_passes_with_credentials_injected() {
    let (h, agent) = Harness::start().await;
    let response = h
        .http
        .get(h.relay_url(ALIAS, "/rest/api/1.0/projects?limit=5"))
        .bearer_auth(TOKEN)
        .header("cookie", "stolen=1")
        .header("x-forwarded-for", "10.0.0.1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers().get("set-cookie").is_none(),
        "Set-Cookie must never come back"
    );
    assert_eq!(
        response.headers().get("x-relay-rule").unwrap(),
        "projects.list"
    );
    let request_id = response
        .headers()
        .get("x-request-id")
        .map(|v| v.to_str().unwrap().to_owned());
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["values"][0]["key"], "DEMO");

    let seen = h.origin.state.last().unwrap();
    assert_eq!(seen.target, "/rest/api/1.0/projects?limit=5");
    use base64::Engine;
    let expected =
        base64::engine::general_purpose::STANDARD.encode(format!("{BB_USER}:{BB_PASSWORD}"));
    assert_eq!(
        seen.authorization.as_deref(),
        Some(format!("Basic {expected}").as_str())
    );
    for forbidden in ["cookie", "x-forwarded-for"] {
        assert!(
            !seen.header_names.iter().any(|n| n == forbidden),
            "{forbidden} reached the origin"
        );
    }
    assert!(seen.header_names.iter().any(|n| n == "x-request-id"));

    let audit = agent.audit();
    let line = audit.last().unwrap();
    assert_eq!(line["outcome"], "allowed");
    assert_eq!(line["rule_id"], "projects.list");
    assert_eq!(line["status"], 200);
    assert_eq!(line["target"], "/rest/api/1.0/projects?limit=5");
    if let Some(id) = request_id {
        assert_eq!(line["request_id"], id);
    }
    assert_eq!(h.broker.sessions.connected(TENANT, ALIAS), 1);
}

#[tokio::test]
async fn a_tenant_token_cannot_reach_another_tenants_alias() {
    let (h, _agent) = Harness::start().await;
    let gx = h
        .start_agent(relay_e2e::harness::AgentOptions::new("gx-1"))
        .await;
    h.wait_connected(OTHER_TENANT, OTHER_ALIAS, 1).await;
    let before = h.origin.state.count();

    // globex's token on acme's alias, and acme's token on globex's alias.
    for (token, alias) in [(OTHER_TOKEN, ALIAS), (TOKEN, OTHER_ALIAS)] {
        let response = h
            .http
            .get(h.relay_url(alias, "/rest/api/1.0/projects"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["code"], "unknown_alias");
    }
    // No token, a wrong token.
    for auth in [None, Some("not-a-token-at-all-really")] {
        let mut request = h.http.get(h.relay_url(ALIAS, "/rest/api/1.0/projects"));
        if let Some(token) = auth {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["code"], "unauthorized");
    }
    assert_eq!(h.origin.state.count(), before, "nothing reached the origin");

    // Each tenant still reaches its own alias.
    let own = h
        .http
        .get(h.relay_url(OTHER_ALIAS, "/rest/api/1.0/projects"))
        .bearer_auth(OTHER_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 200);
    // And sees only its own agents.
    let agents: Vec<serde_json::Value> = h
        .http
        .get(format!("http://{}/api/v1/agents", h.broker.api_addr))
        .bearer_auth(OTHER_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(agents.len(), 1);
    assert_eq!(agents[0]["agent_id"], "gx-1");
    drop(gx);
}

#[tokio::test]
async fn with_no_agent_connected_a_call_fails_fast_with_a_json_error() {
    let h = Harness::start_without_agent().await;
    let response = h.get("/rest/api/1.0/projects").await;
    assert_eq!(response.status(), 503);
    assert_eq!(
        response.headers().get("x-relay-error").unwrap(),
        "no_agent_connected"
    );
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "no_agent_connected");
    // The answer is "no agent", not a timeout: the broker did not wait for one to appear.
    assert!(
        body["message"].as_str().unwrap().contains("\"dc\""),
        "{body}"
    );
}

#[tokio::test]
async fn the_agents_listing_shows_version_digest_and_in_flight() {
    let (h, agent) = Harness::start().await;
    let agents: Vec<serde_json::Value> = h
        .http
        .get(format!("http://{}/api/v1/agents", h.broker.api_addr))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(agents.len(), 1);
    let listed = &agents[0];
    assert_eq!(listed["agent_id"], "dc-1");
    assert_eq!(listed["tenant"], TENANT);
    assert_eq!(listed["alias"], ALIAS);
    assert_eq!(listed["agent_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        listed["allowlist_digest"],
        agent.agent.rules.current().digest()
    );
    assert_eq!(listed["cert_serial"], agent.files.serial_hex);
    assert_eq!(listed["in_flight"], 0);
}
