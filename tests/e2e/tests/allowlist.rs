//! The agent's allow-list, end to end: what it refuses never reaches Bitbucket, every refusal
//! carries its reason in the 403 body and the audit log, and hot reload swaps rules safely.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::time::Duration;

use relay_e2e::harness::{ALIAS, AgentOptions, Harness, TOKEN, wait_until};
use relay_e2e::raw_http;

/// (raw target after `/relay/dc`, expected reason code)
const ATTACKS: &[(&str, &str)] = &[
    ("/rest/api/1.0/projects/%2e%2e/admin/groups", "dot_segment"),
    ("/rest/api/1.0/projects/%2E%2E/admin/groups", "dot_segment"),
    ("/rest/api/1.0/projects/%2e%2E/admin/groups", "dot_segment"),
    ("/rest/api/1.0/projects/.%2e/admin/groups", "dot_segment"),
    ("/rest/api/1.0/projects/%2e./admin/groups", "dot_segment"),
    ("/rest/api/1.0/projects/../admin/groups", "dot_segment"),
    ("/rest/api/1.0/projects/./PROJ", "dot_segment"),
    ("/rest/api/1.0/projects/%2e/PROJ", "dot_segment"),
    ("/rest/api/1.0/projects/PROJ/repos/r/raw/..", "dot_segment"),
    ("/rest/api/1.0/projects/%252e%252e/admin", "double_encoding"),
    ("/rest/api/1.0/projects/%252E%252E/admin", "double_encoding"),
    (
        "/rest/api/1.0/projects/P/repos/r/raw/%252f..%252fetc",
        "double_encoding",
    ),
    (
        "/rest/api/1.0/projects/P/repos/r/raw/a?at=%2525",
        "double_encoding",
    ),
    ("/rest/api/1.0/projects/..%2fadmin", "encoded_slash"),
    ("/rest/api/1.0/projects/%2e%2e%2fadmin", "encoded_slash"),
    (
        "/rest/api/1.0/projects/P%2F..%2Fadmin/repos",
        "encoded_slash",
    ),
    (
        "/rest/api/1.0/projects/P/repos/r/raw/a%2Fb",
        "encoded_slash",
    ),
    ("/rest/api/1.0/projects/..%5cadmin", "encoded_backslash"),
    ("/rest/api/1.0/projects/P%5C..%5Cadmin", "encoded_backslash"),
    ("/rest/api/1.0/projects/..\\admin", "backslash"),
    ("/rest/api/1.0/projects/P/repos/r/raw/a\\..\\b", "backslash"),
    (
        "/rest/api/1.0/projects/..;/admin/groups",
        "matrix_parameter",
    ),
    ("/rest/api/1.0/projects;jsessionid=abc", "matrix_parameter"),
    ("/rest/api/1.0/projects/P%3B/repos", "matrix_parameter"),
    ("/rest/api/1.0//projects", "empty_segment"),
    ("//rest/api/1.0/projects", "empty_segment"),
    ("/rest/api/1.0/projects/", "empty_segment"),
    ("/rest/api/1.0/projects/P%00/repos", "control_character"),
    ("/rest/api/1.0/projects/P%0a/repos", "control_character"),
    (
        "/rest/api/1.0/projects/P%0D%0AX-Injected:%201/repos",
        "control_character",
    ),
    ("/rest/api/1.0/projects/P%7f/repos", "control_character"),
    ("/rest/api/1.0/projects?name=%00", "control_character"),
    ("/rest/api/1.0/projects/%c0%ae%c0%ae/admin", "invalid_utf8"),
    ("/rest/api/1.0/projects/%ff/repos", "invalid_utf8"),
    ("/rest/api/1.0/projects/%zz/repos", "bad_percent_encoding"),
    ("/rest/api/1.0/projects/%2/repos", "bad_percent_encoding"),
    (
        "/rest/api/1.0/projects/P/repos/r/raw/%",
        "bad_percent_encoding",
    ),
    ("/rest/api/1.0/admin/groups/../../projects", "dot_segment"),
    ("/rest/api/1.0/admin/users", "no_matching_rule"),
    (
        "/rest/api/1.0/projects?sneaky=1",
        "query_parameter_not_allowed",
    ),
];

#[tokio::test]
async fn canonicalisation_attacks_are_refused_with_a_reason_and_never_reach_bitbucket() {
    let (h, agent) = Harness::start().await;
    let auth = format!("Bearer {TOKEN}");
    let mut failures = Vec::new();
    for (attack, reason) in ATTACKS {
        let target = format!("/relay/{ALIAS}{attack}");
        let response = raw_http::request(
            h.broker.api_addr,
            "GET",
            target.as_bytes(),
            &[("Authorization", &auth)],
        )
        .await;
        let body: serde_json::Value = serde_json::from_str(&response.body).unwrap_or_default();
        if response.status != 403 || body["reason"] != *reason || body["code"] != "forbidden" {
            failures.push(format!(
                "{attack}: expected 403/{reason}, got {} {}",
                response.status, response.body
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} attacks not refused as expected:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(ATTACKS.len() >= 30);
    assert_eq!(
        h.origin.state.count(),
        0,
        "origin saw {:?}",
        h.origin.state.targets()
    );

    // Every refusal is in the audit log with its reason code.
    let audit = agent.audit();
    let denied: Vec<_> = audit.iter().filter(|r| r["outcome"] == "denied").collect();
    assert_eq!(denied.len(), ATTACKS.len());
    for (record, (_, reason)) in denied.iter().zip(ATTACKS) {
        assert_eq!(record["reason"], *reason);
        assert_eq!(record["status"], 403);
    }
}

#[tokio::test]
async fn targets_the_http_layer_rejects_never_reach_bitbucket_either() {
    let (h, _agent) = Harness::start().await;
    let auth = format!("Bearer {TOKEN}");
    // Raw spaces, raw control bytes, absolute-form and fragments: the HTTP parsers refuse them
    // or (fragment) drop them before the request-target exists; nothing must get through.
    let raw: &[&[u8]] = &[
        b"/relay/dc/rest/api/1.0/projects/a b",
        b"/relay/dc/rest/api/1.0/projects/\x00",
        b"/relay/dc/rest/api/1.0/projects/\x01",
        b"http://evil.example/relay/dc/rest/api/1.0/admin/groups",
    ];
    for target in raw {
        let response = raw_http::request(
            h.broker.api_addr,
            "GET",
            target,
            &[("Authorization", &auth)],
        )
        .await;
        assert!(
            response.status == 400
                || response.status == 403
                || response.status == 404
                || response.status == 0,
            "{:?} answered {}",
            String::from_utf8_lossy(target),
            response.status
        );
    }
    assert_eq!(
        h.origin.state.count(),
        0,
        "origin saw {:?}",
        h.origin.state.targets()
    );
}

#[tokio::test]
async fn denied_method_and_denied_path_never_reach_the_origin() {
    let (h, agent) = Harness::start().await;
    for (method, target, reason) in [
        (
            "DELETE",
            "/rest/api/1.0/projects/PROJ",
            "method_not_allowed",
        ),
        ("POST", "/rest/api/1.0/projects", "method_not_allowed"),
        (
            "PUT",
            "/rest/api/1.0/projects/PROJ/repos/r/settings/pull-requests",
            "method_not_allowed",
        ),
        (
            "GET",
            "/rest/api/1.0/admin/permissions/users",
            "no_matching_rule",
        ),
        ("GET", "/rest/api/latest/projects", "no_matching_rule"),
        ("GET", "/plugins/servlet/anything", "no_matching_rule"),
    ] {
        let response = h
            .http
            .request(method.parse().unwrap(), h.relay_url(ALIAS, target))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{method} {target}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["reason"], reason, "{method} {target}: {body}");
        assert!(body["request_id"].is_string());
    }
    assert_eq!(h.origin.state.count(), 0);
    assert_eq!(agent.audit().len(), 6);
}

#[tokio::test]
async fn the_forwarded_target_is_the_canonical_form() {
    let (h, _agent) = Harness::start().await;
    let auth = format!("Bearer {TOKEN}");
    for (sent, forwarded) in [
        (
            "/rest/api/1.0/projects/%7Euser/repos/r/raw/docs/READ%4dE.md?at=refs%2Fheads%2Fmain",
            "/rest/api/1.0/projects/~user/repos/r/raw/docs/README.md?at=refs%2Fheads%2Fmain",
        ),
        (
            "/rest/api/1.0/projects/P/repos/r/raw/caf%c3%a9.txt",
            "/rest/api/1.0/projects/P/repos/r/raw/caf%C3%A9.txt",
        ),
    ] {
        let target = format!("/relay/{ALIAS}{sent}");
        let response = raw_http::request(
            h.broker.api_addr,
            "GET",
            target.as_bytes(),
            &[("Authorization", &auth)],
        )
        .await;
        assert_eq!(response.status, 200, "{sent}: {}", response.body);
        assert_eq!(h.origin.state.last().unwrap().target, forwarded);
    }
}

const ONLY_PROJECTS: &str = r#"
version = 1

[[rule]]
id = "projects.list"
methods = ["GET"]
path = "/rest/api/1.0/projects"
"#;

const ONLY_USERS: &str = r#"
version = 1

[[rule]]
id = "users.list"
methods = ["GET"]
path = "/rest/api/1.0/users"
"#;

#[tokio::test]
async fn hot_reload_swaps_rules_and_a_broken_file_keeps_the_old_ones() {
    let h = Harness::start_without_agent().await;
    let file = h.write_allowlist("allowlist.toml", ONLY_PROJECTS);
    let agent = h
        .start_agent(AgentOptions {
            allowlist_file: Some(file.clone()),
            ..AgentOptions::new("dc-1")
        })
        .await;
    h.wait_connected("acme", ALIAS, 1).await;
    assert_eq!(h.get("/rest/api/1.0/projects").await.status(), 200);
    assert_eq!(h.get("/rest/api/1.0/users").await.status(), 403);
    let first = agent.agent.rules.current().digest().to_owned();

    // A valid change is picked up by the file watcher.
    relay_e2e::harness::write_atomically(&file, ONLY_USERS);
    wait_until(Duration::from_secs(10), || {
        agent.agent.rules.current().digest() != first
    })
    .await
    .expect("the watcher reloaded the file");
    assert_eq!(h.get("/rest/api/1.0/users").await.status(), 200);
    assert_eq!(h.get("/rest/api/1.0/projects").await.status(), 403);
    let second = agent.agent.rules.current().digest().to_owned();

    // A broken file is refused whole: the previous rules stay, and the failure is counted.
    relay_e2e::harness::write_atomically(
        &file,
        "version = 1\n[[rule]]\nid = \"x\"\nmethods = [\"GET\"]\npath = \"/a/{b\"\n",
    );
    let error = agent.agent.rules.reload().unwrap_err().to_string();
    assert!(error.contains("allowlist.toml:5:"), "{error}");
    assert_eq!(agent.agent.rules.current().digest(), second);
    assert_eq!(h.get("/rest/api/1.0/users").await.status(), 200);
    let mut metrics = String::new();
    prometheus_client::encoding::text::encode(&mut metrics, &agent.agent.registry).unwrap();
    assert!(
        metrics.contains("relay_agent_allowlist_reloads_total{result=\"invalid\"}"),
        "{metrics}"
    );
}
