//! Agent configuration: the TOML file and its validation into typed settings.
//!
//! Raw structs mirror the file (`deny_unknown_fields`); [`AgentConfig::from_raw`] validates
//! everything at once (URLs, durations, sizes, secret sources, the allow-list file, TLS files)
//! and reports every error with its field path, so `relay-agent check` and `run` fail before
//! binding anything (exit 64). Relative paths are resolved against the config file's
//! directory. Secrets are referenced by source, never written inline.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use relay_shared::config::{
    ConfigErrors, LogSection, ShutdownSection, load_toml, parse_size, resolve_path,
};
use relay_shared::secret::SecretSource;
use relay_shared::telemetry::LogFormat;
use serde::Deserialize;

pub use relay_shared::credentials::{AuthSettings, RawAuth};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub broker: RawBroker,
    pub bitbucket: RawBitbucket,
    #[serde(default)]
    pub allowlist: RawAllowlist,
    #[serde(default)]
    pub audit: RawAudit,
    #[serde(default)]
    pub ops: RawOps,
    #[serde(default)]
    pub shutdown: ShutdownSection,
    #[serde(default)]
    pub log: LogSection,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBroker {
    /// `wss://host:port` (the connect path is added) or a full `wss://host:port/v1/agent/connect`.
    pub url: String,
    /// CA bundle to verify the broker; the system roots when absent.
    pub ca_file: Option<PathBuf>,
    /// The agent's client certificate (PEM, chain allowed).
    pub cert_file: PathBuf,
    /// The agent's private key.
    pub key: SecretSource,
    /// Override the TLS server name (SNI and verification).
    pub server_name: Option<String>,
    /// `http://proxy:port` for HTTP CONNECT; defaults to `HTTPS_PROXY`/`https_proxy`.
    pub proxy: Option<String>,
    pub keepalive_interval: Option<String>,
    pub connect_timeout: Option<String>,
    pub reconnect_min: Option<String>,
    pub reconnect_max: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBitbucket {
    /// Base URL of Bitbucket Server, including any context path (`https://bb.corp/bitbucket`).
    pub url: String,
    pub auth: RawAuth,
    /// Extra CA bundle for Bitbucket's certificate (added to the system roots).
    pub ca_file: Option<PathBuf>,
    /// Client certificate towards Bitbucket (mutual TLS at Bitbucket's proxy), with its key.
    pub client_cert_file: Option<PathBuf>,
    pub client_key: Option<SecretSource>,
    pub connect_timeout: Option<String>,
    /// Maximum time without receiving data from Bitbucket.
    pub read_timeout: Option<String>,
    /// Largest request body accepted from the broker (e.g. `10MiB`).
    pub max_request_body: Option<String>,
    /// Largest response body passed back (unlimited when absent).
    pub max_response_body: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAllowlist {
    /// Allow-list file; the built-in least-privilege list when absent.
    pub file: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAudit {
    /// JSON-lines audit log; `$STATE_DIRECTORY/audit.jsonl` (or `./audit.jsonl`) when absent.
    pub file: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOps {
    /// `/healthz`, `/readyz`, `/metrics`; default `127.0.0.1:9091`.
    pub listen: Option<String>,
}

/// Validated broker connection settings.
#[derive(Debug, Clone)]
pub struct BrokerSettings {
    pub url: String,
    pub host: String,
    pub port: u16,
    pub path: String,
    pub server_name: String,
    pub ca_file: Option<PathBuf>,
    pub cert_file: PathBuf,
    pub key: SecretSource,
    pub proxy: Option<ProxySettings>,
    pub keepalive_interval: Duration,
    pub connect_timeout: Duration,
    pub reconnect_min: Duration,
    pub reconnect_max: Duration,
}

/// An HTTP CONNECT proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxySettings {
    pub host: String,
    pub port: u16,
    /// `user:password` from the proxy URL, sent as Basic `Proxy-Authorization`.
    pub basic_auth: Option<String>,
}

/// Validated Bitbucket settings.
#[derive(Debug, Clone)]
pub struct BitbucketSettings {
    /// Base URL without a trailing slash.
    pub url: String,
    pub auth: AuthSettings,
    pub ca_file: Option<PathBuf>,
    pub client_cert_file: Option<PathBuf>,
    pub client_key: Option<SecretSource>,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
    pub max_request_body: u64,
    pub max_response_body: Option<u64>,
}

/// Everything the agent needs, validated.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    pub source: PathBuf,
    pub broker: BrokerSettings,
    pub bitbucket: BitbucketSettings,
    pub allowlist_file: Option<PathBuf>,
    pub audit_file: PathBuf,
    pub ops_listen: SocketAddr,
    pub shutdown_grace: Duration,
    pub log_format: LogFormat,
    pub log_level: String,
}

fn secret(
    base: &Path,
    errors: &mut ConfigErrors,
    field: &str,
    source: &SecretSource,
) -> SecretSource {
    if let Err(err) = source.validate() {
        errors.push(field, err);
    }
    source.relative_to(base)
}

/// Splits `scheme://host[:port][/path]` into its parts (no userinfo unless `allow_userinfo`).
pub fn split_url(
    url: &str,
    default_port: u16,
) -> Result<(String, Option<String>, String, u16, String), String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("{url:?} is not an absolute URL"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((user, host)) => (Some(user.to_owned()), host),
        None => (None, authority),
    };
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (host, after) = v6
            .split_once(']')
            .ok_or_else(|| format!("{url:?}: unterminated IPv6 address"))?;
        let port = after
            .strip_prefix(':')
            .map(str::parse::<u16>)
            .transpose()
            .map_err(|_| format!("{url:?}: bad port"))?;
        (host.to_owned(), port)
    } else {
        match hostport.rsplit_once(':') {
            Some((host, port)) => (
                host.to_owned(),
                Some(
                    port.parse::<u16>()
                        .map_err(|_| format!("{url:?}: bad port"))?,
                ),
            ),
            None => (hostport.to_owned(), None),
        }
    };
    if host.is_empty() {
        return Err(format!("{url:?} has no host"));
    }
    Ok((
        scheme.to_ascii_lowercase(),
        userinfo,
        host,
        port.unwrap_or(default_port),
        path.to_owned(),
    ))
}

/// The proxy to use: the configured one, else `HTTPS_PROXY` / `https_proxy` (unless the broker
/// host is listed in `NO_PROXY`).
fn proxy_settings(
    configured: Option<&str>,
    broker_host: &str,
) -> Result<Option<ProxySettings>, String> {
    let from_env = || {
        ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"]
            .iter()
            .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    };
    let Some(url) = configured.map(str::to_owned).or_else(from_env) else {
        return Ok(None);
    };
    if configured.is_none() && no_proxy_matches(broker_host) {
        return Ok(None);
    }
    let (scheme, userinfo, host, port, _) = split_url(&url, 3128)?;
    if scheme != "http" {
        return Err(format!(
            "proxy {url:?}: only http:// proxies (HTTP CONNECT) are supported"
        ));
    }
    Ok(Some(ProxySettings {
        host,
        port,
        basic_auth: userinfo,
    }))
}

fn no_proxy_matches(host: &str) -> bool {
    let list = std::env::var("NO_PROXY")
        .or_else(|_| std::env::var("no_proxy"))
        .unwrap_or_default();
    list.split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .any(|entry| {
            entry == "*"
                || host == entry.trim_start_matches('.')
                || host.ends_with(&format!(".{}", entry.trim_start_matches('.')))
        })
}

impl AgentConfig {
    pub fn load(path: &Path) -> Result<AgentConfig, ConfigErrors> {
        let raw: RawConfig = load_toml(path)?;
        Self::from_raw(raw, path)
    }

    /// Validates a parsed config; every error is collected.
    pub fn from_raw(raw: RawConfig, path: &Path) -> Result<AgentConfig, ConfigErrors> {
        let mut errors = ConfigErrors::new(path.display().to_string());
        let base = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_owned();
        let broker = Self::broker(&raw.broker, &base, &mut errors);
        let bitbucket = Self::bitbucket(&raw.bitbucket, &base, &mut errors);
        let allowlist_file = raw.allowlist.file.as_ref().map(|f| resolve_path(&base, f));
        if let Some(file) = &allowlist_file
            && let Err(err) = relay_shared::allowlist::AllowList::load(file)
        {
            errors.push("allowlist.file", err);
        }
        let audit_file = match &raw.audit.file {
            Some(file) => resolve_path(&base, file),
            None => std::env::var_os("STATE_DIRECTORY")
                .map(|dir| PathBuf::from(dir).join("audit.jsonl"))
                .unwrap_or_else(|| base.join("audit.jsonl")),
        };
        let ops_listen = errors.take(
            "ops.listen",
            raw.ops
                .listen
                .as_deref()
                .unwrap_or("127.0.0.1:9091")
                .parse::<SocketAddr>(),
        );
        let shutdown_grace = errors.duration(
            "shutdown.grace",
            raw.shutdown.grace.as_deref(),
            Duration::from_secs(30),
        );
        match (broker, bitbucket, ops_listen) {
            (Some(broker), Some(bitbucket), Some(ops_listen)) if errors.is_empty() => {
                Ok(AgentConfig {
                    source: path.to_owned(),
                    broker,
                    bitbucket,
                    allowlist_file,
                    audit_file,
                    ops_listen,
                    shutdown_grace,
                    log_format: raw.log.format,
                    log_level: raw.log.level.unwrap_or_else(|| "info".to_owned()),
                })
            }
            _ => Err(errors),
        }
    }

    fn broker(raw: &RawBroker, base: &Path, errors: &mut ConfigErrors) -> Option<BrokerSettings> {
        let key = secret(base, errors, "broker.key", &raw.key);
        let cert_file = resolve_path(base, &raw.cert_file);
        if let Err(err) = relay_shared::tls::load_certs(&cert_file) {
            errors.push("broker.cert_file", err);
        }
        let ca_file = raw.ca_file.as_ref().map(|f| resolve_path(base, f));
        if let Some(ca) = &ca_file
            && let Err(err) = relay_shared::tls::load_certs(ca)
        {
            errors.push("broker.ca_file", err);
        }
        let keepalive_interval = errors.duration(
            "broker.keepalive_interval",
            raw.keepalive_interval.as_deref(),
            Duration::from_secs(15),
        );
        let connect_timeout = errors.duration(
            "broker.connect_timeout",
            raw.connect_timeout.as_deref(),
            Duration::from_secs(10),
        );
        let reconnect_min = errors.duration(
            "broker.reconnect_min",
            raw.reconnect_min.as_deref(),
            Duration::from_millis(200),
        );
        let reconnect_max = errors.duration(
            "broker.reconnect_max",
            raw.reconnect_max.as_deref(),
            Duration::from_secs(60),
        );
        if reconnect_min > reconnect_max {
            errors.push(
                "broker.reconnect_min",
                "must not exceed broker.reconnect_max",
            );
        }
        let (scheme, userinfo, host, port, path) =
            errors.take("broker.url", split_url(&raw.url, 443))?;
        if scheme != "wss" {
            errors.push(
                "broker.url",
                "must start with wss:// (the tunnel always uses TLS)",
            );
        }
        if userinfo.is_some() {
            errors.push(
                "broker.url",
                "must not carry credentials; the agent authenticates with its certificate",
            );
        }
        let proxy = errors
            .take("broker.proxy", proxy_settings(raw.proxy.as_deref(), &host))
            .flatten();
        let path = if path.is_empty() || path == "/" {
            relay_shared::protocol::CONNECT_PATH.to_owned()
        } else {
            path
        };
        Some(BrokerSettings {
            url: raw.url.clone(),
            server_name: raw.server_name.clone().unwrap_or_else(|| host.clone()),
            host,
            port,
            path,
            ca_file,
            cert_file,
            key,
            proxy,
            keepalive_interval,
            connect_timeout,
            reconnect_min,
            reconnect_max,
        })
    }

    fn bitbucket(
        raw: &RawBitbucket,
        base: &Path,
        errors: &mut ConfigErrors,
    ) -> Option<BitbucketSettings> {
        let auth = AuthSettings::from_raw(&raw.auth, base, errors, "bitbucket.auth");
        let (scheme, userinfo, ..) = errors.take("bitbucket.url", split_url(&raw.url, 443))?;
        if scheme != "https" && scheme != "http" {
            errors.push("bitbucket.url", "must be an http:// or https:// URL");
        }
        if userinfo.is_some() {
            errors.push(
                "bitbucket.url",
                "must not carry credentials; use [bitbucket.auth]",
            );
        }
        let ca_file = raw.ca_file.as_ref().map(|f| resolve_path(base, f));
        if let Some(ca) = &ca_file
            && let Err(err) = relay_shared::tls::load_certs(ca)
        {
            errors.push("bitbucket.ca_file", err);
        }
        let client_cert_file = raw.client_cert_file.as_ref().map(|f| resolve_path(base, f));
        let client_key = raw
            .client_key
            .as_ref()
            .map(|k| secret(base, errors, "bitbucket.client_key", k));
        if client_cert_file.is_some() != client_key.is_some() {
            errors.push(
                "bitbucket.client_cert_file",
                "client_cert_file and client_key go together",
            );
        }
        let size = |errors: &mut ConfigErrors, field: &str, value: &Option<String>| {
            value
                .as_deref()
                .and_then(|text| errors.take(field, parse_size(text)))
        };
        Some(BitbucketSettings {
            url: raw.url.trim_end_matches('/').to_owned(),
            auth,
            ca_file,
            client_cert_file,
            client_key,
            connect_timeout: errors.duration(
                "bitbucket.connect_timeout",
                raw.connect_timeout.as_deref(),
                Duration::from_secs(10),
            ),
            read_timeout: errors.duration(
                "bitbucket.read_timeout",
                raw.read_timeout.as_deref(),
                Duration::from_secs(60),
            ),
            max_request_body: size(errors, "bitbucket.max_request_body", &raw.max_request_body)
                .unwrap_or(10 << 20),
            max_response_body: size(
                errors,
                "bitbucket.max_response_body",
                &raw.max_response_body,
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_urls_with_ports_paths_and_ipv6() {
        assert_eq!(
            split_url("wss://broker.example:8443/v1/agent/connect", 443).unwrap(),
            (
                "wss".into(),
                None,
                "broker.example".into(),
                8443,
                "/v1/agent/connect".into()
            )
        );
        assert_eq!(split_url("https://[::1]/bb", 443).unwrap().2, "::1");
        assert_eq!(
            split_url("http://u:p@proxy:3128", 80).unwrap().1.as_deref(),
            Some("u:p")
        );
        assert!(split_url("broker:8443", 443).is_err());
    }
}
