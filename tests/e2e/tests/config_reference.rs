//! The operator documentation cannot drift from the code:
//! - every example config shipped in `deploy/` and every ```toml block of `docs/operations.md`
//!   parses (agent, broker or allow-list; a fragment is checked merged onto the full example);
//! - the full examples in `deploy/config/` pass `check` once their files exist;
//! - every field of the config structs appears in the reference in `docs/operations.md` (the
//!   field names come from serde itself: an unknown key's error lists the expected ones);
//! - every metric the agent and the broker register is listed in the metrics section.

// Test helpers unwrap like the tests they serve.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use relay_shared::allowlist::AllowList;
use toml::{Table, Value};

const UNKNOWN: &str = "zz_unknown_field";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(root().join(relative))
        .unwrap_or_else(|e| panic!("reading {relative}: {e}"))
}

fn operations_md() -> String {
    read("docs/operations.md")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Agent,
    Broker,
    AllowList,
}

/// Which file format a TOML document is, by its top-level keys.
fn kind_of(table: &Table) -> Option<Kind> {
    let has = |keys: &[&str]| keys.iter().any(|k| table.contains_key(*k));
    if has(&["rule", "version"]) {
        Some(Kind::AllowList)
    } else if has(&[
        "listen", "tls", "tunnel", "tenants", "agents", "revoked", "store",
    ]) {
        Some(Kind::Broker)
    } else if has(&["broker", "bitbucket", "allowlist", "audit", "ops"]) {
        Some(Kind::Agent)
    } else {
        None
    }
}

fn parse_as(kind: Kind, text: &str) -> Result<(), String> {
    match kind {
        Kind::Agent => toml::from_str::<relay_agent::config::RawConfig>(text)
            .map(drop)
            .map_err(|e| e.to_string()),
        Kind::Broker => toml::from_str::<relay_broker::config::RawConfig>(text)
            .map(drop)
            .map_err(|e| e.to_string()),
        Kind::AllowList => AllowList::parse(text, "example")
            .map(drop)
            .map_err(|e| e.to_string()),
    }
}

/// Tables merge key by key; anything else replaces.
fn merge(base: &mut Table, over: Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(Value::Table(b)), Value::Table(o)) => merge(b, o),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// Parses `text` as its kind; a fragment (missing required sections) is merged onto the full
/// example in deploy/config first.
fn check_example(name: &str, text: &str) {
    let table: Table = text
        .parse()
        .unwrap_or_else(|e| panic!("{name}: not TOML: {e}\n{text}"));
    let kind = kind_of(&table).unwrap_or_else(|| panic!("{name}: not a known config:\n{text}"));
    if parse_as(kind, text).is_ok() {
        return;
    }
    let base = match kind {
        Kind::Agent => read("deploy/config/agent.toml"),
        Kind::Broker => read("deploy/config/broker.toml"),
        Kind::AllowList => "version = 1\n".to_owned(),
    };
    let mut merged: Table = base.parse().unwrap();
    merge(&mut merged, table);
    let merged = toml::to_string(&merged).unwrap();
    if let Err(err) = parse_as(kind, &merged) {
        panic!(
            "{name} does not parse as a {kind:?} config (also merged onto the example): {err}\n{text}"
        );
    }
}

fn toml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            toml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
}

/// The ```toml blocks of a Markdown file, with their first line number.
fn toml_blocks(markdown: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in markdown.lines().enumerate() {
        match (&mut current, line.trim_start()) {
            (None, "```toml") => current = Some((i + 2, String::new())),
            (Some(_), "```") => blocks.extend(current.take()),
            (Some((_, text)), _) => {
                text.push_str(line);
                text.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

#[test]
fn every_example_config_in_deploy_and_docs_parses() {
    let mut files = Vec::new();
    toml_files(&root().join("deploy"), &mut files);
    assert!(files.len() >= 4, "{files:?}");
    for file in &files {
        check_example(
            &file.display().to_string(),
            &std::fs::read_to_string(file).unwrap(),
        );
    }
    let blocks = toml_blocks(&operations_md());
    assert!(
        blocks.len() >= 4,
        "docs/operations.md has only {} toml blocks",
        blocks.len()
    );
    for (line, text) in blocks {
        check_example(&format!("docs/operations.md:{line}"), &text);
    }
}

/// Copies an example config into `dir`, pointing its absolute paths there instead.
fn relocate(example: &str, prefixes: &[&str], dir: &Path) -> PathBuf {
    let mut text = read(example);
    for prefix in prefixes {
        text = text.replace(prefix, &format!("{}/", dir.display()));
    }
    let path = dir.join(Path::new(example).file_name().unwrap());
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn the_full_examples_pass_check_once_their_files_exist() {
    relay_shared::tls::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pki = relay_e2e::pki::TestPki::new(&d.join("pki"));
    let agent = pki.agent("acme-dc-1", "acme", "dc");
    std::fs::create_dir_all(d.join("credentials")).unwrap();
    std::fs::copy(&pki.ca_file, d.join("broker-ca.pem")).unwrap();
    std::fs::copy(&pki.ca_file, d.join("agent-ca.pem")).unwrap();
    std::fs::copy(&agent.cert, d.join("agent.pem")).unwrap();
    std::fs::copy(&agent.key, d.join("credentials/agent.key")).unwrap();
    std::fs::copy(&pki.broker_cert, d.join("broker.pem")).unwrap();
    std::fs::copy(&pki.broker_key, d.join("credentials/broker.key")).unwrap();
    std::fs::write(d.join("credentials/bitbucket-secret"), "password\n").unwrap();
    std::fs::write(
        d.join("credentials/acme.token"),
        "acme-token-0123456789abcdef\n",
    )
    .unwrap();
    std::fs::write(
        d.join("credentials/acme-webhook.secret"),
        "webhook-secret\n",
    )
    .unwrap();
    std::fs::write(d.join("allowlist.toml"), AllowList::DEFAULT_TOML).unwrap();

    let agent_toml = relocate(
        "deploy/config/agent.toml",
        &["/etc/relay-agent/", "/var/lib/relay-agent/"],
        d,
    );
    if let Err(errors) = relay_agent::config::AgentConfig::load(&agent_toml) {
        panic!("deploy/config/agent.toml:\n{errors}");
    }
    let broker_toml = relocate(
        "deploy/config/broker.toml",
        &["/etc/relay-broker/", "/var/lib/relay-broker/"],
        d,
    );
    if let Err(errors) = relay_broker::config::BrokerConfig::load(&broker_toml) {
        panic!("deploy/config/broker.toml:\n{errors}");
    }
}

/// The fields serde expects in the table at `path` of `base` (arrays: their first element).
fn expected_fields(kind: Kind, base: &str, path: &[&str]) -> Vec<String> {
    let mut doc: Table = base.parse().unwrap();
    let mut table = &mut doc;
    for key in path {
        let value = table
            .entry(key.to_string())
            .or_insert_with(|| Value::Table(Table::new()));
        table = match value {
            Value::Table(t) => t,
            Value::Array(items) => match items.first_mut() {
                Some(Value::Table(t)) => t,
                _ => panic!("{path:?}: array without a table"),
            },
            _ => panic!("{path:?}: not a table"),
        };
    }
    table.insert(UNKNOWN.into(), Value::Integer(1));
    let text = toml::to_string(&doc).unwrap();
    let err = parse_as(kind, &text).expect_err("the unknown field was accepted");
    let (_, expected) = err
        .split_once("expected")
        .unwrap_or_else(|| panic!("{path:?}: no field list in {err}"));
    expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

const AGENT_BASE: &str = r#"
[broker]
url = "wss://b:1"
cert_file = "c"
key = { file = "k" }
[bitbucket]
url = "https://bb"
auth = { kind = "basic", username = "u", password = { file = "p" } }
"#;

const BROKER_BASE: &str = r#"
[listen]
tunnel = "0.0.0.0:1"
api = "0.0.0.0:2"
[tls]
cert_file = "c"
key = { file = "k" }
agent_ca_file = "a"
[[tenants]]
id = "t"
[[tenants.accounts]]
alias = "a"
kind = "server-relay"
[[tenants.people]]
email = "e@x"
name = "n"
[[agents]]
id = "i"
tenant = "t"
alias = "a"
"#;

/// Every (documented key, field) the structs have, e.g. `broker.url`.
fn struct_keys() -> Vec<String> {
    let mut keys = Vec::new();
    let mut add = |kind: Kind, base: &str, path: &[&str], prefix: &str| {
        for field in expected_fields(kind, base, path) {
            keys.push(if prefix.is_empty() {
                format!("[{field}]")
            } else {
                format!("{prefix}.{field}")
            });
        }
    };
    for section in [
        "",
        "broker",
        "bitbucket",
        "allowlist",
        "audit",
        "ops",
        "shutdown",
        "log",
    ] {
        let path: Vec<&str> = section.split('.').filter(|s| !s.is_empty()).collect();
        add(Kind::Agent, AGENT_BASE, &path, section);
    }
    let bearer = AGENT_BASE.replace(
        r#"{ kind = "basic", username = "u", password = { file = "p" } }"#,
        r#"{ kind = "bearer", token = { file = "t" } }"#,
    );
    let oauth = AGENT_BASE.replace(
        r#"{ kind = "basic", username = "u", password = { file = "p" } }"#,
        r#"{ kind = "oauth2", token_url = "https://x", client_id = "c", client_secret = { file = "s" }, refresh_token = { file = "r" }, state_file = "f" }"#,
    );
    for base in [AGENT_BASE, bearer.as_str(), oauth.as_str()] {
        add(Kind::Agent, base, &["bitbucket", "auth"], "bitbucket.auth");
    }
    add(Kind::Agent, AGENT_BASE, &["broker", "key"], "secret");
    for section in [
        "",
        "listen",
        "tls",
        "tunnel",
        "shutdown",
        "log",
        "store",
        "revoked",
        "tenants",
        "agents",
        "tenants.accounts",
        "tenants.accounts.schedule",
        "tenants.accounts.limits",
        "tenants.people",
    ] {
        let path: Vec<&str> = section.split('.').filter(|s| !s.is_empty()).collect();
        add(Kind::Broker, BROKER_BASE, &path, section);
    }
    keys.sort();
    keys.dedup();
    keys
}

#[test]
fn every_config_field_is_in_the_reference() {
    let docs = operations_md();
    let keys = struct_keys();
    assert!(keys.len() > 60, "field discovery broke: {keys:?}");
    let missing: Vec<&String> = keys
        .iter()
        .filter(|key| {
            // Root fields are sections: `[broker]` or `[[tenants]]`.
            let double = key.replace('[', "[[").replace(']', "]]");
            !docs.contains(&format!("`{key}`")) && !docs.contains(&format!("`{double}`"))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "docs/operations.md lacks these config keys in its reference: {missing:?}"
    );
}

/// The metric names a `metrics.rs` registers: its prefix plus the first string literal after
/// each `register(` / `register_with_unit(` (families only appear in an encoding once used, so
/// the source is the one complete list).
fn registered_metrics(source: &str) -> Vec<String> {
    let literal = |text: &str| text.split('"').nth(1).map(str::to_owned);
    let prefix = source
        .split_once("sub_registry_with_prefix(")
        .and_then(|(_, rest)| literal(rest))
        .expect("no sub_registry_with_prefix");
    source
        .split("register")
        .skip(1)
        .filter_map(|part| {
            part.strip_prefix('(')
                .or_else(|| part.strip_prefix("_with_unit("))
        })
        // The name is the call's first argument: only whitespace before its opening quote.
        .filter(|args| args.split('"').next().is_some_and(|b| b.trim().is_empty()))
        .filter_map(literal)
        .map(|name| format!("{prefix}_{name}"))
        .collect()
}

#[test]
fn every_metric_is_listed_with_the_alerts() {
    let docs = operations_md();
    let mut names = registered_metrics(&read("relay-agent/src/metrics.rs"));
    names.extend(registered_metrics(&read("relay-broker/src/metrics.rs")));
    assert!(names.len() >= 10, "{names:?}");
    let missing: Vec<&String> = names
        .iter()
        .filter(|n| !docs.contains(&format!("`{n}")))
        .collect();
    assert!(
        missing.is_empty(),
        "metrics missing from docs/operations.md: {missing:?}"
    );
}
