//! Secrets stay where they belong: the Bitbucket credentials never leave the agent, the tenant
//! API token never crosses the tunnel, and neither shows up in logs or responses.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::io::Write;
use std::sync::{Arc, Mutex};

use base64::Engine;
use relay_e2e::harness::{ALIAS, BB_PASSWORD, BB_USER, Harness, TOKEN};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Capture {
        self.clone()
    }
}

// One thread: every task of broker, agent and origin runs where the capturing subscriber is set.
#[tokio::test(flavor = "current_thread")]
async fn secrets_never_appear_in_logs_or_responses() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter("trace")
        .with_writer(capture.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let (h, agent) = Harness::start().await;
    let mut bodies = String::new();
    for target in [
        "/rest/api/1.0/projects",
        "/rest/api/1.0/admin/users",
        "/rest/api/1.0/projects/%2e%2e/x",
    ] {
        let response = h
            .http
            .get(h.relay_url(ALIAS, target))
            .bearer_auth(TOKEN)
            .header("cookie", "session=abc")
            .send()
            .await
            .unwrap();
        bodies.push_str(&format!("{:?}", response.headers()));
        bodies.push_str(&response.text().await.unwrap());
    }
    // The tenant token must not reach the agent or Bitbucket.
    let seen = h.origin.state.last().unwrap();
    assert!(!seen.authorization.unwrap_or_default().contains(TOKEN));

    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{BB_USER}:{BB_PASSWORD}"));
    let key = std::fs::read_to_string(&agent.files.key).unwrap();
    let key_body = key.lines().nth(1).unwrap().to_owned();
    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    let audit = std::fs::read_to_string(&agent.audit_file).unwrap();
    assert!(
        logs.contains("agent session established"),
        "logs were captured"
    );
    for (name, secret) in [
        ("bitbucket password", BB_PASSWORD),
        ("basic credentials", basic.as_str()),
        ("tenant token", TOKEN),
        ("agent key", key_body.as_str()),
    ] {
        assert!(!logs.contains(secret), "the {name} appears in the logs");
        assert!(!bodies.contains(secret), "the {name} appears in a response");
        assert!(
            !audit.contains(secret),
            "the {name} appears in the audit log"
        );
    }
    assert!(!format!("{:?}", agent.agent).contains(BB_PASSWORD));
}
