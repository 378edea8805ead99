//! The binary documents its accounts and rejects bad configuration before binding a port.

use std::process::Command;

#[test]
fn help_lists_the_accounts_and_tokens() {
    let out = Command::new(env!("CARGO_BIN_EXE_bitbucket-sim"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    let creds = bitbucket_sim::Credentials::documented();
    for needle in [
        creds.admin_password.as_str(),
        creds.user_password.as_str(),
        creds.read_token.token.as_str(),
        creds.write_token.token.as_str(),
        creds.oauth_client_secret.as_str(),
        "--profile",
        "--no-retry-after",
    ] {
        assert!(help.contains(needle), "--help lacks {needle}");
    }
}

#[test]
fn bad_configuration_exits_64_before_binding() {
    let out = Command::new(env!("CARGO_BIN_EXE_bitbucket-sim"))
        .args(["--rate-limit-refill=-1", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    let unknown = Command::new(env!("CARGO_BIN_EXE_bitbucket-sim"))
        .args(["--profile", "huge"])
        .output()
        .unwrap();
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("tiny, demo or large"));
}
