//! The `relay-agent run` process and its signals: SIGHUP reloads the allow-list (a broken file
//! is refused and counted, the old rules stay), SIGTERM drains and exits 0.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free loopback port (bound and released; the agent binds it right after).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn get(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    Some(text)
}

/// Polls `/metrics` until `series` has `value` (10 s at most).
fn wait_metric(port: u16, series: &str, value: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let metrics = get(port, "/metrics").unwrap_or_default();
        if metrics.lines().any(|l| {
            l.strip_prefix(series)
                .is_some_and(|rest| rest.trim() == value)
        }) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{series} never reached {value}:\n{metrics}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

const RULES: &str = "version = 1\n[[rule]]\nid = \"projects\"\nmethods = [\"GET\"]\npath = \"/rest/api/1.0/projects\"\n";

#[test]
fn sighup_reloads_the_allow_list_and_sigterm_drains() {
    let dir = tempfile::tempdir().unwrap();
    // Any certificate will do: the broker is unreachable and the agent keeps retrying.
    let key = rcgen_free_cert(dir.path());
    let port = free_port();
    std::fs::write(dir.path().join("allowlist.toml"), RULES).unwrap();
    std::fs::write(dir.path().join("password"), "secret").unwrap();
    std::fs::write(
        dir.path().join("agent.toml"),
        format!(
            "[broker]\nurl = \"wss://127.0.0.1:9\"\ncert_file = \"cert.pem\"\nkey = {{ file = \"{key}\" }}\nca_file = \"cert.pem\"\n\
             [bitbucket]\nurl = \"http://127.0.0.1:9\"\nauth = {{ kind = \"basic\", username = \"u\", password = {{ file = \"password\" }} }}\n\
             [allowlist]\nfile = \"allowlist.toml\"\n[audit]\nfile = \"audit.jsonl\"\n[ops]\nlisten = \"127.0.0.1:{port}\"\n[shutdown]\ngrace = \"2s\"\n"
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_relay-agent"))
        .args(["run", "--config"])
        .arg(dir.path().join("agent.toml"))
        .env_remove("NOTIFY_SOCKET")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_metric(port, "relay_agent_allowlist_rules", "1");

    // SIGHUP with the file unchanged: a reload that finds the same rules.
    signal(&child, "HUP");
    wait_metric(
        port,
        "relay_agent_allowlist_reloads_total{result=\"unchanged\"}",
        "1",
    );

    // A broken file: refused, counted, the one rule stays.
    std::fs::write(
        dir.path().join("allowlist.toml"),
        "version = 1\n[[rule]]\nid = 1\n",
    )
    .unwrap();
    signal(&child, "HUP");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !get(port, "/metrics")
        .unwrap_or_default()
        .contains("result=\"invalid\"")
    {
        assert!(Instant::now() < deadline, "the broken file was not counted");
        std::thread::sleep(Duration::from_millis(20));
    }
    wait_metric(port, "relay_agent_allowlist_rules", "1");

    signal(&child, "TERM");
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the agent did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status}");
}

/// Writes a throwaway self-signed certificate and key (generated, never committed); returns
/// the key file name.
fn rcgen_free_cert(dir: &std::path::Path) -> String {
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    std::fs::write(dir.join("cert.pem"), generated.cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), generated.signing_key.serialize_pem()).unwrap();
    "key.pem".to_owned()
}
