//! Operating the relay: certificate rotation without downtime, `relay-agent doctor` against a
//! real broker and origin (passing, failing, warning), readiness for systemd, and the container
//! healthcheck.

// Test helpers unwrap like the tests they serve.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use relay_agent::agent::Agent;
use relay_agent::config::AgentConfig;
use relay_agent::doctor::{self, Status};
use relay_broker::config::BrokerConfig;
use relay_e2e::harness::{ALIAS, AgentOptions, AgentUnderTest, Harness, TENANT, TOKEN, wait_until};
use relay_shared::shutdown::Shutdown;

/// The config file the harness wrote for this agent.
fn config_path(h: &Harness, agent: &AgentUnderTest, id: &str) -> PathBuf {
    h.path(&format!("agent-{id}-{}.toml", agent.files.serial_hex))
}

/// A copy of an agent config with one line replaced.
fn variant(path: &Path, name: &str, from: &str, to: &str) -> PathBuf {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{from:?} not in {text}");
    let out = path.with_file_name(name);
    std::fs::write(&out, text.replace(from, to)).unwrap();
    out
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
async fn certificate_rotation_keeps_calls_flowing_and_refuses_the_old_certificate() {
    let (mut h, agent_a) = Harness::start().await;
    let serial_a = agent_a.files.serial_hex.clone();

    // Calls run back to back during the whole rotation; none may fail.
    let stop = Arc::new(AtomicBool::new(false));
    let calls = {
        let (http, url, stop) = (
            h.http.clone(),
            h.relay_url(ALIAS, "/rest/api/1.0/projects"),
            Arc::clone(&stop),
        );
        tokio::spawn(async move {
            let (mut ok, mut failed) = (0u32, Vec::new());
            while !stop.load(Ordering::SeqCst) {
                match http.get(&url).bearer_auth(TOKEN).send().await {
                    Ok(r) if r.status() == 200 => ok += 1,
                    Ok(r) => failed.push(r.status().to_string()),
                    Err(e) => failed.push(e.to_string()),
                }
            }
            (ok, failed)
        })
    };

    // 1. Issue certificate B for the same agent id; a second agent process starts with it.
    let cert_b = h.pki.agent("dc-1", TENANT, ALIAS);
    let serial_b = cert_b.serial_hex.clone();
    let agent_b = h
        .start_agent(AgentOptions {
            files: Some(cert_b),
            ..AgentOptions::new("dc-1")
        })
        .await;
    h.wait_connected(TENANT, ALIAS, 2).await;

    // 2. Revoke A and reload the broker (what SIGHUP does in `relay-broker serve`).
    h.revoked_serials.push(serial_a.clone());
    let directory = BrokerConfig::reload_directory(&h.write_broker_config()).unwrap();
    h.broker.apply_directory(directory);
    wait_until(Duration::from_secs(15), || {
        h.broker.sessions.list(Some(TENANT)).len() == 1
    })
    .await
    .unwrap_or_else(|| panic!("{:?}", h.broker.sessions.list(Some(TENANT))));
    let sessions = h.broker.sessions.list(Some(TENANT));
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    assert_eq!(sessions[0].cert_serial, serial_b);

    // 3. Agent A keeps reconnecting with its old certificate: refused as revoked.
    let series = "relay_broker_agent_connections_refused_total{reason=\"revoked\"}";
    wait_until(Duration::from_secs(15), || h.broker_metric(series) >= 1.0)
        .await
        .unwrap_or_else(|| panic!("no revoked refusal:\n{}", h.broker_metrics()));
    // And doctor, run with A's config, says so.
    let report = doctor::run(&config_path(&h, &agent_a, "dc-1")).await;
    let verdict = report.get("broker accepts certificate").unwrap();
    assert_eq!(verdict.status, Status::Fail, "{}", summary(&report));
    assert!(verdict.detail.starts_with("revoked"), "{verdict}");

    // A few more calls after the rotation, then stop the loop.
    let before = h.origin.state.count();
    wait_until(Duration::from_secs(10), || {
        h.origin.state.count() >= before + 5
    })
    .await
    .unwrap();
    stop.store(true, Ordering::SeqCst);
    let (ok, failed) = calls.await.unwrap();
    assert!(
        failed.is_empty(),
        "{} calls failed: {failed:?}",
        failed.len()
    );
    assert!(ok >= 5, "only {ok} calls ran");
    assert_eq!(h.get("/rest/api/1.0/projects").await.status(), 200);
    agent_a.stop().await;
    agent_b.stop().await;
}

#[tokio::test]
async fn doctor_passes_every_check_against_a_working_setup() {
    let h = Harness::start_without_agent().await;
    // 90 days, as `pki issue-agent` issues: the harness default (30) sits on the warning edge.
    let files = h.pki.agent_with_validity("dc-1", TENANT, ALIAS, 0, 90);
    let agent = h
        .start_agent(AgentOptions {
            files: Some(files),
            ..AgentOptions::new("dc-1")
        })
        .await;
    h.wait_connected(TENANT, ALIAS, 1).await;
    let report = doctor::run(&config_path(&h, &agent, "dc-1")).await;
    let text = summary(&report);
    assert_eq!(report.exit_code(), 0, "{text}");
    for name in [
        "config",
        "allow-list",
        "allow-list lint",
        "secret broker.key",
        "secret bitbucket.auth.password",
        "certificate",
        "certificate key",
        "certificate expiry",
        "broker DNS",
        "broker TCP",
        "broker TLS",
        "broker accepts certificate",
        "broker clock",
        "broker WebSocket",
        "protocol version",
        "Bitbucket reachable",
        "Bitbucket version",
        "Bitbucket clock",
        "Bitbucket credentials",
        "permission: repositories",
        "permission: admin groups",
    ] {
        let check = report
            .get(name)
            .unwrap_or_else(|| panic!("no {name}:\n{text}"));
        assert_eq!(check.status, Status::Pass, "{check}");
        assert!(check.fix.is_none());
    }
    assert!(
        report
            .get("broker TLS")
            .unwrap()
            .detail
            .contains("agent-ca.pem"),
        "{text}"
    );
    assert!(
        report
            .get("Bitbucket version")
            .unwrap()
            .detail
            .contains("8.19.1"),
        "{text}"
    );
    // The doctor's session was closed right after the welcome.
    h.wait_connected(TENANT, ALIAS, 1).await;
}

#[tokio::test]
async fn doctor_fails_on_a_wrong_ca_file_and_says_which_and_how_to_fix() {
    let (h, agent) = Harness::start().await;
    let other = relay_broker::pki::Ca::generate(1).unwrap();
    let wrong = h.path("other-ca.pem");
    std::fs::write(&wrong, &other.cert_pem).unwrap();
    let path = variant(
        &config_path(&h, &agent, "dc-1"),
        "doctor-wrong-ca.toml",
        "ca_file = \"pki/agent-ca.pem\"",
        &format!("ca_file = \"{}\"", wrong.display()),
    );
    let report = doctor::run(&path).await;
    let text = summary(&report);
    assert_eq!(report.exit_code(), 2, "{text}");
    let tls = report.get("broker TLS").unwrap();
    assert_eq!(tls.status, Status::Fail);
    assert!(tls.detail.contains("other-ca.pem"), "{tls}");
    assert!(
        tls.to_string().contains("fix: set [broker] ca_file"),
        "{tls}"
    );
    // What depends on TLS did not run; Bitbucket was still checked.
    assert!(report.get("broker WebSocket").is_none(), "{text}");
    assert_eq!(
        report.get("Bitbucket reachable").unwrap().status,
        Status::Pass
    );
}

#[tokio::test]
async fn doctor_warns_about_an_expiring_certificate_and_shadowed_rules() {
    let h = Harness::start_without_agent().await;
    let files = h.pki.agent_with_validity("dc-2", TENANT, ALIAS, 0, 10);
    let allowlist = h.write_allowlist(
        "shadowed.toml",
        "version = 1\n\n[[rule]]\nid = \"all-projects\"\nmethods = [\"GET\"]\npath = \"/rest/api/1.0/projects/**\"\n\n\
         [[rule]]\nid = \"one-project\"\nmethods = [\"GET\"]\npath = \"/rest/api/1.0/projects/{key}\"\n\n\
         [[rule]]\nid = \"properties\"\nmethods = [\"GET\"]\npath = \"/rest/api/1.0/application-properties\"\n",
    );
    let agent = h
        .start_agent(AgentOptions {
            files: Some(files),
            allowlist_file: Some(allowlist),
            ..AgentOptions::new("dc-2")
        })
        .await;
    h.wait_connected(TENANT, ALIAS, 1).await;
    let report = doctor::run(&config_path(&h, &agent, "dc-2")).await;
    let text = summary(&report);
    assert_eq!(report.exit_code(), 1, "{text}");
    let expiry = report.get("certificate expiry").unwrap();
    assert_eq!(expiry.status, Status::Warn, "{expiry}");
    assert!(expiry.detail.contains("expires in"), "{expiry}");
    let lint = report.get("allow-list lint").unwrap();
    assert_eq!(lint.status, Status::Warn, "{lint}");
    assert!(lint.detail.contains("one-project"), "{lint}");
    // This list does not allow the admin calls: their permission is not probed.
    assert!(report.get("permission: admin groups").is_none(), "{text}");
}

#[tokio::test]
async fn doctor_reports_an_invalid_config_and_stops() {
    let h = Harness::start_without_agent().await;
    let path = h.path("broken-agent.toml");
    std::fs::write(&path, "[broker]\nurl = \"https://not-wss\"\n").unwrap();
    let report = doctor::run(&path).await;
    assert_eq!(report.exit_code(), 2);
    assert_eq!(report.checks.len(), 1, "{}", summary(&report));
    assert_eq!(report.checks[0].name, "config");
}

/// Starts one more in-process agent from a harness config, on an ops listener we know.
async fn agent_with_ops(path: &Path) -> (Agent, Shutdown, std::net::SocketAddr) {
    let config = AgentConfig::load(path).unwrap();
    let ops = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = ops.local_addr().unwrap();
    let shutdown = Shutdown::new();
    let agent = Agent::start(config, ops, shutdown.clone()).unwrap();
    (agent, shutdown, addr)
}

#[tokio::test]
async fn ready_is_announced_after_the_first_attempt_connected_or_not() {
    let (h, agent) = Harness::start().await;
    assert!(
        relay_agent::notify::wait_first_attempt(
            &agent.agent.readiness,
            &agent.agent.metrics,
            Duration::from_secs(10)
        )
        .await
    );

    // A broker that is not there: the first attempt fails, the agent retries, and that counts.
    let dead = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead_addr = dead.local_addr().unwrap();
    drop(dead);
    let lonely = h
        .start_agent(AgentOptions {
            broker_addr: Some(dead_addr),
            ..AgentOptions::new("dc-3")
        })
        .await;
    assert!(
        relay_agent::notify::wait_first_attempt(
            &lonely.agent.readiness,
            &lonely.agent.metrics,
            Duration::from_secs(10)
        )
        .await
    );
    assert!(lonely.agent.readiness.state().is_err());
    lonely.stop().await;
}

#[tokio::test]
async fn healthcheck_follows_readyz() {
    let (h, agent) = Harness::start().await;
    let (second, shutdown, ops) = agent_with_ops(&config_path(&h, &agent, "dc-1")).await;
    h.wait_connected(TENANT, ALIAS, 2).await;
    let addr = ops.to_string();
    let ready = tokio::task::spawn_blocking({
        let addr = addr.clone();
        move || relay_shared::healthcheck::probe(&addr)
    })
    .await
    .unwrap();
    assert!(ready.is_ok(), "{ready:?}");

    second.readiness.set_stopping();
    let not_ready = tokio::task::spawn_blocking(move || relay_shared::healthcheck::probe(&addr))
        .await
        .unwrap();
    let err = not_ready.unwrap_err().to_string();
    assert!(
        err.contains("503") && err.contains("shutting down"),
        "{err}"
    );
    shutdown.trigger();
    second.shutdown().await;
}

#[tokio::test]
async fn broker_healthcheck_follows_readyz() {
    use std::process::ExitCode;
    let h = Harness::start_without_agent().await;
    let addr = h.broker.api_addr.to_string();
    let code = tokio::task::spawn_blocking({
        let addr = addr.clone();
        move || relay_broker::cli::healthcheck(&addr)
    })
    .await
    .unwrap();
    assert_eq!(code, ExitCode::SUCCESS);
    h.broker.readiness.set_stopping();
    let code = tokio::task::spawn_blocking(move || relay_broker::cli::healthcheck(&addr))
        .await
        .unwrap();
    assert_eq!(code, ExitCode::FAILURE);
}

#[tokio::test]
async fn doctor_goes_through_the_configured_proxy() {
    let h = Harness::start_without_agent().await;
    let proxy = relay_e2e::tcp_relay::ConnectProxy::start().await;
    let files = h.pki.agent_with_validity("dc-1", TENANT, ALIAS, 0, 90);
    let agent = h
        .start_agent(AgentOptions {
            files: Some(files),
            proxy: Some(proxy.addr),
            ..AgentOptions::new("dc-1")
        })
        .await;
    h.wait_connected(TENANT, ALIAS, 1).await;
    let before = proxy.tunnels.load(Ordering::SeqCst);
    let report = doctor::run(&config_path(&h, &agent, "dc-1")).await;
    let text = summary(&report);
    assert_eq!(report.exit_code(), 0, "{text}");
    assert!(
        report
            .get("broker DNS")
            .unwrap()
            .detail
            .contains("HTTP proxy"),
        "{text}"
    );
    assert!(
        report
            .get("broker TCP")
            .unwrap()
            .detail
            .contains("through the proxy"),
        "{text}"
    );
    // The layered checks and the real upgrade each opened a CONNECT tunnel.
    assert!(proxy.tunnels.load(Ordering::SeqCst) >= before + 2);
}
