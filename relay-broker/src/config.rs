//! Broker configuration: the TOML file, and its validation into typed settings.
//!
//! Parsing (`RawConfig`, `deny_unknown_fields`) is separate from validation
//! ([`BrokerConfig::from_raw`]), which collects every error with its field path and loads the
//! TLS files, so a bad config fails as a whole before any port is bound (exit code 64).
//! Relative paths are resolved against the config file's directory. The parts that can change
//! at runtime (tenants and their tokens, registered agents, revocations) form a [`Directory`]
//! that `SIGHUP` reloads.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use relay_shared::config::{ConfigErrors, LogSection, ShutdownSection, load_toml, resolve_path};
use relay_shared::secret::SecretSource;
use relay_shared::telemetry::LogFormat;
use relay_shared::tls;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;

use crate::pki::validate_id;

/// The config file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub listen: RawListen,
    pub tls: RawTls,
    #[serde(default)]
    pub tunnel: RawTunnel,
    #[serde(default)]
    pub shutdown: ShutdownSection,
    #[serde(default)]
    pub log: LogSection,
    #[serde(default)]
    pub tenants: Vec<RawTenant>,
    #[serde(default)]
    pub agents: Vec<RawAgent>,
    #[serde(default)]
    pub revoked: RawRevoked,
    #[serde(default)]
    pub store: RawStore,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStore {
    /// SQLite file; `$STATE_DIRECTORY/broker.sqlite` (or `broker.sqlite` beside the config).
    pub path: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawListen {
    /// Where agents connect (mutual TLS).
    pub tunnel: String,
    /// API, relay endpoint and ops endpoints (plain HTTP; put TLS in front or keep it private).
    pub api: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTls {
    pub cert_file: PathBuf,
    pub key: SecretSource,
    pub agent_ca_file: PathBuf,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTunnel {
    pub keepalive_interval: Option<String>,
    pub handshake_timeout: Option<String>,
    pub call_timeout: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTenant {
    pub id: String,
    /// API tokens accepted for this tenant (several, so tokens can be rotated).
    #[serde(default)]
    pub api_tokens: Vec<SecretSource>,
    /// Bitbucket accounts of this tenant.
    #[serde(default)]
    pub accounts: Vec<crate::accounts::RawAccount>,
    /// The portal's people directory (identity mapping by email).
    #[serde(default)]
    pub people: Vec<RawPerson>,
}

#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RawPerson {
    pub email: String,
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAgent {
    /// The id in the agent certificate's SAN URI.
    pub id: String,
    pub tenant: String,
    pub alias: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRevoked {
    /// Certificate serial numbers, hex (colons allowed).
    #[serde(default)]
    pub serials: Vec<String>,
    /// Certificate fingerprints, `sha256:<hex>`.
    #[serde(default)]
    pub fingerprints: Vec<String>,
}

/// A registered agent identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentEntry {
    pub tenant: String,
    pub alias: String,
}

/// A tenant and the SHA-256 digests of its API tokens.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub id: String,
    token_digests: Vec<[u8; 32]>,
}

/// The runtime-reloadable part of the config.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    pub tenants: Vec<Tenant>,
    pub agents: HashMap<String, AgentEntry>,
    pub revoked_serials: HashSet<String>,
    pub revoked_fingerprints: HashSet<String>,
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

impl Directory {
    /// The tenant whose API token this is. Compares SHA-256 digests with a fold that does not
    /// stop at the first difference; even a timing leak would only reveal digest bytes.
    pub fn tenant_for_token(&self, token: &str) -> Option<&Tenant> {
        let presented = sha256(token.as_bytes());
        self.tenants.iter().find(|tenant| {
            tenant.token_digests.iter().any(|known| {
                known
                    .iter()
                    .zip(presented)
                    .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                    == 0
            })
        })
    }

    /// Whether a tenant has an agent registered for `alias`.
    pub fn alias_exists(&self, tenant: &str, alias: &str) -> bool {
        self.agents
            .values()
            .any(|a| a.tenant == tenant && a.alias == alias)
    }

    /// Why a certificate is revoked, if it is.
    pub fn revocation(&self, serial_hex: &str, fingerprint: &str) -> Option<&'static str> {
        if self.revoked_serials.contains(serial_hex) {
            Some("serial is on the revocation list")
        } else if self.revoked_fingerprints.contains(fingerprint) {
            Some("fingerprint is on the revocation list")
        } else {
            None
        }
    }
}

/// Validated broker settings.
#[derive(Debug)]
pub struct BrokerConfig {
    pub source: PathBuf,
    pub listen_tunnel: SocketAddr,
    pub listen_api: SocketAddr,
    pub server_chain: Vec<CertificateDer<'static>>,
    pub server_key: PrivateKeyDer<'static>,
    pub agent_cas: Vec<CertificateDer<'static>>,
    pub keepalive_interval: Duration,
    pub handshake_timeout: Duration,
    pub call_timeout: Duration,
    pub shutdown_grace: Duration,
    pub log_format: LogFormat,
    pub log_level: String,
    pub directory: Directory,
    /// Every tenant's Bitbucket accounts.
    pub accounts: Vec<crate::accounts::Account>,
    /// People directories by tenant.
    pub people: HashMap<String, Vec<RawPerson>>,
    pub store_path: PathBuf,
}

impl BrokerConfig {
    /// Loads and validates a config file.
    pub fn load(path: &Path) -> Result<BrokerConfig, ConfigErrors> {
        let raw: RawConfig = load_toml(path)?;
        Self::from_raw(raw, path)
    }

    /// Validates a parsed config; every error is collected.
    pub fn from_raw(raw: RawConfig, path: &Path) -> Result<BrokerConfig, ConfigErrors> {
        let mut errors = ConfigErrors::new(path.display().to_string());
        let base = path.parent().unwrap_or(Path::new(".")).to_owned();
        let listen_tunnel = errors.take("listen.tunnel", raw.listen.tunnel.parse::<SocketAddr>());
        let listen_api = errors.take("listen.api", raw.listen.api.parse::<SocketAddr>());

        let server_chain = errors.take(
            "tls.cert_file",
            tls::load_certs(&resolve_path(&base, &raw.tls.cert_file)),
        );
        let key_source = raw.tls.key.relative_to(&base);
        let server_key = errors
            .take("tls.key", key_source.read_bytes())
            .and_then(|pem| {
                errors.take(
                    "tls.key",
                    tls::private_key_from_pem(&pem, &key_source.describe()),
                )
            });
        let agent_cas = errors.take(
            "tls.agent_ca_file",
            tls::load_certs(&resolve_path(&base, &raw.tls.agent_ca_file)),
        );

        let keepalive_interval = errors.duration(
            "tunnel.keepalive_interval",
            raw.tunnel.keepalive_interval.as_deref(),
            Duration::from_secs(15),
        );
        let handshake_timeout = errors.duration(
            "tunnel.handshake_timeout",
            raw.tunnel.handshake_timeout.as_deref(),
            Duration::from_secs(10),
        );
        let call_timeout = errors.duration(
            "tunnel.call_timeout",
            raw.tunnel.call_timeout.as_deref(),
            Duration::from_secs(120),
        );
        let shutdown_grace = errors.duration(
            "shutdown.grace",
            raw.shutdown.grace.as_deref(),
            Duration::from_secs(30),
        );
        let directory = Self::directory(&raw, &base, &mut errors);
        let mut accounts = Vec::new();
        let mut people = HashMap::new();
        for (i, tenant) in raw.tenants.iter().enumerate() {
            let prefix = format!("tenants[{i}]");
            accounts.extend(crate::accounts::validate(
                &tenant.id,
                &tenant.accounts,
                &base,
                &mut errors,
                &prefix,
            ));
            for (j, person) in tenant.people.iter().enumerate() {
                if !person.email.contains('@') {
                    errors.push(
                        format!("{prefix}.people[{j}].email"),
                        format!("{:?} is not an email address", person.email),
                    );
                }
            }
            people.insert(tenant.id.clone(), tenant.people.clone());
        }
        let store_path = match &raw.store.path {
            Some(path) => resolve_path(&base, path),
            None => std::env::var_os("STATE_DIRECTORY")
                .map(|dir| PathBuf::from(dir).join("broker.sqlite"))
                .unwrap_or_else(|| base.join("broker.sqlite")),
        };

        match (
            listen_tunnel,
            listen_api,
            server_chain,
            server_key,
            agent_cas,
        ) {
            (
                Some(listen_tunnel),
                Some(listen_api),
                Some(server_chain),
                Some(server_key),
                Some(agent_cas),
            ) if errors.is_empty() => Ok(BrokerConfig {
                source: path.to_owned(),
                listen_tunnel,
                listen_api,
                server_chain,
                server_key,
                agent_cas,
                keepalive_interval,
                handshake_timeout,
                call_timeout,
                shutdown_grace,
                log_format: raw.log.format,
                log_level: raw.log.level.unwrap_or_else(|| "info".to_owned()),
                directory,
                accounts,
                people,
                store_path,
            }),
            _ => Err(errors),
        }
    }

    /// Re-reads only the reloadable part ([`Directory`]) from the config file.
    pub fn reload_directory(path: &Path) -> Result<Directory, ConfigErrors> {
        let raw: RawConfig = load_toml(path)?;
        let mut errors = ConfigErrors::new(path.display().to_string());
        let base = path.parent().unwrap_or(Path::new(".")).to_owned();
        let directory = Self::directory(&raw, &base, &mut errors);
        errors.finish(directory)
    }

    fn directory(raw: &RawConfig, base: &Path, errors: &mut ConfigErrors) -> Directory {
        let mut directory = Directory::default();
        let mut tenant_ids = HashSet::new();
        for (i, tenant) in raw.tenants.iter().enumerate() {
            let field = format!("tenants[{i}]");
            if let Err(err) = validate_id("tenant id", &tenant.id) {
                errors.push(format!("{field}.id"), err);
            }
            if !tenant_ids.insert(tenant.id.clone()) {
                errors.push(
                    format!("{field}.id"),
                    format!("duplicate tenant {:?}", tenant.id),
                );
            }
            let mut token_digests = Vec::new();
            for (j, source) in tenant.api_tokens.iter().enumerate() {
                let source = source.relative_to(base);
                if let Some(secret) =
                    errors.take(&format!("{field}.api_tokens[{j}]"), source.read())
                {
                    if secret.expose().len() < 16 {
                        errors.push(
                            format!("{field}.api_tokens[{j}]"),
                            "API tokens must be at least 16 characters",
                        );
                    }
                    token_digests.push(sha256(secret.expose().as_bytes()));
                }
            }
            directory.tenants.push(Tenant {
                id: tenant.id.clone(),
                token_digests,
            });
        }
        for (i, agent) in raw.agents.iter().enumerate() {
            let field = format!("agents[{i}]");
            for (name, value) in [
                ("id", &agent.id),
                ("tenant", &agent.tenant),
                ("alias", &agent.alias),
            ] {
                if let Err(err) = validate_id("value", value) {
                    errors.push(format!("{field}.{name}"), err);
                }
            }
            if !tenant_ids.contains(&agent.tenant) {
                errors.push(
                    format!("{field}.tenant"),
                    format!("no tenant {:?} is configured", agent.tenant),
                );
            }
            let entry = AgentEntry {
                tenant: agent.tenant.clone(),
                alias: agent.alias.clone(),
            };
            if directory.agents.insert(agent.id.clone(), entry).is_some() {
                errors.push(
                    format!("{field}.id"),
                    format!("duplicate agent {:?}", agent.id),
                );
            }
        }
        for (i, serial) in raw.revoked.serials.iter().enumerate() {
            let normalised: String = serial
                .chars()
                .filter(|c| *c != ':')
                .collect::<String>()
                .to_ascii_lowercase();
            if normalised.is_empty() || !normalised.bytes().all(|b| b.is_ascii_hexdigit()) {
                errors.push(
                    format!("revoked.serials[{i}]"),
                    "expected hex digits (colons allowed)",
                );
            }
            directory
                .revoked_serials
                .insert(normalised.trim_start_matches("00").to_owned());
            directory.revoked_serials.insert(normalised);
        }
        for (i, fingerprint) in raw.revoked.fingerprints.iter().enumerate() {
            let lower = fingerprint.to_ascii_lowercase();
            let valid = lower
                .strip_prefix("sha256:")
                .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()));
            if !valid {
                errors.push(
                    format!("revoked.fingerprints[{i}]"),
                    "expected sha256:<64 hex digits>",
                );
            }
            directory.revoked_fingerprints.insert(lower);
        }
        directory
    }
}
