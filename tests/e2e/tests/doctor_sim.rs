//! `relay-agent doctor` against the Bitbucket simulator, which (unlike the test origin) checks
//! credentials and permissions: an admin passes everything, a wrong password fails, and an HTTP
//! access token is told that group sync will be degraded.

// Test helpers unwrap like the tests they serve.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use bitbucket_sim::credentials::{ADMIN_PASSWORD, ADMIN_USER, READ_TOKEN};
use bitbucket_sim::{Profile, RateLimitConfig, SimConfig, Simulator};
use relay_agent::doctor::{self, Status};
use relay_e2e::harness::{ALIAS, AgentOptions, BitbucketTarget, Harness, TENANT};

async fn start_sim() -> (Simulator, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let sim = Simulator::new(SimConfig {
        profile: Profile::Tiny,
        base_url: url.clone(),
        rate_limit: RateLimitConfig {
            burst: 10_000,
            refill_per_second: 10_000.0,
            ..RateLimitConfig::default()
        },
        ..SimConfig::default()
    });
    let serving = sim.clone();
    tokio::spawn(async move { serving.serve(listener, std::future::pending()).await });
    (sim, url)
}

/// Writes (and starts) agent `dc-1` logged in to the simulator; returns its config path.
async fn agent_config(h: &Harness, url: &str, user: &str, password: &str) -> PathBuf {
    let files = h.pki.agent_with_validity("dc-1", TENANT, ALIAS, 0, 90);
    let serial = files.serial_hex.clone();
    let agent = h
        .start_agent(AgentOptions {
            files: Some(files),
            bitbucket: Some(BitbucketTarget {
                url: url.to_owned(),
                user: user.to_owned(),
                password: password.to_owned(),
            }),
            ..AgentOptions::new("dc-1")
        })
        .await;
    agent.stop().await;
    h.path(&format!("agent-dc-1-{serial}.toml"))
}

fn summary(report: &doctor::Report) -> String {
    report
        .checks
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn an_admin_account_passes_every_bitbucket_check() {
    let (_sim, url) = start_sim().await;
    let h = Harness::start_without_agent().await;
    let path = agent_config(&h, &url, ADMIN_USER, ADMIN_PASSWORD).await;
    let report = doctor::run(&path).await;
    let text = summary(&report);
    assert_eq!(report.exit_code(), 0, "{text}");
    for name in [
        "Bitbucket reachable",
        "Bitbucket version",
        "Bitbucket credentials",
        "permission: repositories",
        "permission: admin groups",
    ] {
        assert_eq!(report.get(name).unwrap().status, Status::Pass, "{text}");
    }
}

#[tokio::test]
async fn a_wrong_password_fails_the_credentials_check() {
    let (_sim, url) = start_sim().await;
    let h = Harness::start_without_agent().await;
    let path = agent_config(&h, &url, ADMIN_USER, "not-the-password").await;
    let report = doctor::run(&path).await;
    let text = summary(&report);
    assert_eq!(report.exit_code(), 2, "{text}");
    let check = report.get("Bitbucket credentials").unwrap();
    assert_eq!(check.status, Status::Fail, "{text}");
    assert!(check.detail.contains("401"), "{check}");
    assert!(report.get("permission: admin groups").is_none(), "{text}");
}

#[tokio::test]
async fn an_access_token_is_warned_that_group_sync_is_degraded() {
    let (_sim, url) = start_sim().await;
    let h = Harness::start_without_agent().await;
    let basic = agent_config(&h, &url, ADMIN_USER, ADMIN_PASSWORD).await;
    std::fs::write(h.path("read-token"), READ_TOKEN).unwrap();
    let text = std::fs::read_to_string(&basic).unwrap();
    let auth = text
        .lines()
        .find(|l| l.starts_with("auth = "))
        .unwrap()
        .to_owned();
    let path = h.path("agent-bearer.toml");
    std::fs::write(
        &path,
        text.replace(
            &auth,
            "auth = { kind = \"bearer\", token = { file = \"read-token\" } }",
        ),
    )
    .unwrap();
    let report = doctor::run(&path).await;
    let text = summary(&report);
    assert_eq!(report.exit_code(), 1, "{text}");
    assert_eq!(
        report.get("Bitbucket credentials").unwrap().status,
        Status::Pass,
        "{text}"
    );
    let groups = report.get("permission: admin groups").unwrap();
    assert_eq!(groups.status, Status::Warn, "{text}");
    assert!(
        groups.detail.contains("group sync will be degraded"),
        "{groups}"
    );
}
