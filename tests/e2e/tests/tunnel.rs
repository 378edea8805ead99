//! The relay path end to end: broker API → broker → mTLS WebSocket → HTTP/2 → agent → origin.

use relay_e2e::harness::{ALIAS, BB_PASSWORD, BB_USER, Harness, TENANT, TOKEN};

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
