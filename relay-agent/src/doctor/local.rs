//! Doctor checks that need no network: config, allow-list, secrets, certificate and key.

use std::path::Path;

use chrono::Utc;
use relay_shared::allowlist::AllowList;
use relay_shared::secret::SecretSource;
use relay_shared::tls;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::{Check, EXPIRY_WARNING_DAYS, Report};
use crate::config::{AgentConfig, AuthSettings};

/// Loads and validates the config; `None` (after a FAIL) when it is unusable.
pub fn config(path: &Path, report: &mut Report) -> Option<AgentConfig> {
    match AgentConfig::load(path) {
        Ok(config) => {
            report.add(Check::pass(
                "config",
                format!(
                    "{} is valid (broker {}, Bitbucket {})",
                    path.display(),
                    config.broker.url,
                    config.bitbucket.url
                ),
            ));
            Some(config)
        }
        Err(errors) => {
            let detail = errors
                .iter()
                .map(|(field, message)| format!("{field}: {message}"))
                .collect::<Vec<_>>()
                .join("; ");
            report.add(Check::fail(
                "config",
                format!("{}: {detail}", path.display()),
                "correct the fields named above (docs/operations.md lists every field); `relay-agent check` validates the file",
            ));
            None
        }
    }
}

/// The allow-list in force (validated with the config), and its lint findings.
pub fn allowlist(config: &AgentConfig, report: &mut Report) -> AllowList {
    let (rules, source) = match &config.allowlist_file {
        Some(path) => match AllowList::load(path) {
            Ok(rules) => (rules, path.display().to_string()),
            Err(err) => {
                report.add(Check::fail(
                    "allow-list",
                    err.to_string(),
                    "fix the file at the positions named above (docs/allowlist.md)",
                ));
                return AllowList::builtin_default();
            }
        },
        None => (AllowList::builtin_default(), "built-in default".to_owned()),
    };
    report.add(Check::pass(
        "allow-list",
        format!(
            "{source}: {} rules, {}",
            rules.rules().len(),
            rules.digest()
        ),
    ));
    let lints = rules.lint();
    if lints.is_empty() {
        report.add(Check::pass(
            "allow-list lint",
            "no rule is unreachable or shadowed",
        ));
    } else {
        let findings: Vec<String> = lints.iter().map(ToString::to_string).collect();
        report.add(Check::warn(
            "allow-list lint",
            findings.join("; "),
            "delete or reorder the rules named above: they never decide anything (docs/allowlist.md, Lint)",
        ));
    }
    rules
}

/// Every secret the config names can be read by this user.
pub fn secrets(config: &AgentConfig, report: &mut Report) {
    let mut sources: Vec<(&str, &SecretSource)> = vec![("broker.key", &config.broker.key)];
    match &config.bitbucket.auth {
        AuthSettings::Basic { password, .. } => {
            sources.push(("bitbucket.auth.password", password));
        }
        AuthSettings::Bearer { token } => sources.push(("bitbucket.auth.token", token)),
        AuthSettings::Oauth2 {
            client_secret,
            refresh_token,
            ..
        } => {
            sources.push(("bitbucket.auth.client_secret", client_secret));
            sources.push(("bitbucket.auth.refresh_token", refresh_token));
        }
    }
    if let Some(key) = &config.bitbucket.client_key {
        sources.push(("bitbucket.client_key", key));
    }
    for (field, source) in sources {
        let name = format!("secret {field}");
        let check = match source.read_bytes() {
            Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Check::fail(
                name,
                format!("{} is empty", source.describe()),
                "write the secret into it (no trailing spaces; one newline is fine)",
            ),
            Ok(_) => Check::pass(name, format!("readable from {}", source.describe())),
            Err(err) => Check::fail(
                name,
                err.to_string(),
                "make it readable by the user running relay-agent; under systemd, run doctor inside the unit's sandbox: `systemd-run --pipe --wait -p DynamicUser=yes -p LoadCredential=... relay-agent doctor` (docs/operations.md, Troubleshooting)",
            ),
        };
        report.add(check);
    }
}

/// Certificate readable, an agent identity, key matching, not expiring soon. Returns whether
/// the broker checks can use them.
pub fn certificate(config: &AgentConfig, report: &mut Report) -> bool {
    let b = &config.broker;
    let chain = match tls::load_certs(&b.cert_file) {
        Ok(chain) => chain,
        Err(err) => {
            report.add(Check::fail(
                "certificate",
                err.to_string(),
                "point [broker] cert_file at the PEM written by `relay-broker pki issue-agent`",
            ));
            return false;
        }
    };
    let Some(leaf) = chain.first() else {
        return false;
    };
    if !report.add(identity(leaf)) {
        return false;
    }
    let key = b
        .key
        .read_bytes()
        .map_err(|e| e.to_string())
        .and_then(|pem| {
            tls::private_key_from_pem(&pem, &b.key.describe()).map_err(|e| e.to_string())
        });
    let key = match key {
        Ok(key) => key,
        Err(err) => {
            report.add(Check::fail(
                "certificate key",
                err,
                "[broker] key must name the PEM private key issued with the certificate",
            ));
            return false;
        }
    };
    let matched = report.add(key_match(chain.clone(), key));
    report.add(expiry(leaf));
    matched
}

fn identity(leaf: &CertificateDer<'_>) -> Check {
    match tls::cert_info(leaf) {
        Ok(info) => match info.agent_id {
            Some(id) => Check::pass(
                "certificate",
                format!(
                    "agent id {id}, serial {}, {}",
                    info.serial_hex, info.fingerprint
                ),
            ),
            None => Check::fail(
                "certificate",
                format!(
                    "{} carries no {} SAN URI: it is not an agent certificate",
                    info.subject,
                    tls::AGENT_URI_PREFIX
                ),
                "issue one with `relay-broker pki issue-agent --agent-id ... --tenant ... --alias ...`",
            ),
        },
        Err(err) => Check::fail(
            "certificate",
            format!("cannot parse the certificate: {err}"),
            "point [broker] cert_file at the PEM written by `relay-broker pki issue-agent`",
        ),
    }
}

fn key_match(chain: Vec<CertificateDer<'static>>, key: PrivateKeyDer<'static>) -> Check {
    let provider = rustls::crypto::ring::default_provider();
    let signing = match provider.key_provider.load_private_key(key) {
        Ok(signing) => signing,
        Err(err) => {
            return Check::fail(
                "certificate key",
                format!("the key is not usable: {err}"),
                "[broker] key must name the PEM private key issued with the certificate",
            );
        }
    };
    match rustls::sign::CertifiedKey::new(chain, signing).keys_match() {
        Ok(()) => Check::pass("certificate key", "the private key matches the certificate"),
        Err(err) => Check::fail(
            "certificate key",
            format!("the private key does not belong to the certificate ({err})"),
            "install the key and certificate of the same `pki issue-agent` run (NAME.key with NAME.pem)",
        ),
    }
}

fn expiry(leaf: &CertificateDer<'_>) -> Check {
    let Ok(info) = tls::cert_info(leaf) else {
        return Check::fail(
            "certificate expiry",
            "cannot parse the certificate",
            "reissue it",
        );
    };
    let left = info.not_after_unix - Utc::now().timestamp();
    let days = left / 86_400;
    let until = chrono::DateTime::from_timestamp(info.not_after_unix, 0)
        .map(|t| t.to_rfc3339())
        .unwrap_or_default();
    let renew = "issue a new certificate (`relay-broker pki issue-agent`), install it, then revoke the old serial (docs/operations.md, Certificate rotation)";
    if left <= 0 {
        Check::fail("certificate expiry", format!("expired on {until}"), renew)
    } else if days < EXPIRY_WARNING_DAYS {
        Check::warn(
            "certificate expiry",
            format!("expires in {days} days ({until})"),
            renew,
        )
    } else {
        Check::pass(
            "certificate expiry",
            format!("valid for {days} more days ({until})"),
        )
    }
}
