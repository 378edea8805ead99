//! The `relay-agent` binary's commands, run as a user would.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::process::Command;

fn agent() -> Command {
    Command::new(env!("CARGO_BIN_EXE_relay-agent"))
}

#[test]
fn check_lists_every_config_error_and_exits_64() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agent.toml");
    std::fs::write(
        &path,
        r#"
[broker]
url = "https://broker.example"
cert_file = "missing.pem"
key = { file = "missing.key" }
keepalive_interval = "soon"

[bitbucket]
url = "bitbucket.internal"
auth = { kind = "bearer", token = { env = "X", file = "y" } }
"#,
    )
    .unwrap();
    let out = agent()
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    let stderr = String::from_utf8(out.stderr).unwrap();
    for field in [
        "broker.url",
        "broker.cert_file",
        "broker.keepalive_interval",
        "bitbucket.url",
        "bitbucket.auth.token",
    ] {
        assert!(stderr.contains(field), "{field} missing from:\n{stderr}");
    }
}

#[test]
fn check_reports_toml_errors_with_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agent.toml");
    std::fs::write(&path, "[broker]\nurl = \"wss://b\"\nunknown_key = 1\n").unwrap();
    let out = agent()
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("line 3, column 1") && stderr.contains("unknown_key"),
        "{stderr}"
    );
}

#[test]
fn the_shipped_snyk_accept_file_imports_into_a_valid_allow_list() {
    let accept = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/src/allowlist/testdata/snyk-bitbucket-server-accept.json"
    );
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("imported.toml");
    let out = agent()
        .args(["allowlist", "import", accept, "--output"])
        .arg(&output)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("warning:"),
        "inexpressible entries are reported:\n{stderr}"
    );
    let list = relay_shared::allowlist::AllowList::load(&output).unwrap();
    assert!(list.rules().len() > 30);

    let check = agent()
        .args(["allowlist", "check"])
        .arg(&output)
        .output()
        .unwrap();
    assert!(check.status.success());
    assert!(
        String::from_utf8(check.stdout)
            .unwrap()
            .contains(list.digest())
    );
}

#[test]
fn the_built_in_default_allow_list_is_printable_and_read_only() {
    let out = agent()
        .args(["allowlist", "show-default"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let list = relay_shared::allowlist::AllowList::parse(&text, "stdout").unwrap();
    assert!(
        list.rules()
            .iter()
            .all(|r| r.methods().iter().all(|m| m == http::Method::GET))
    );
}
