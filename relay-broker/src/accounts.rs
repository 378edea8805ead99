//! Bitbucket accounts: per tenant, several configurations, each with an alias, one default.
//!
//! Kinds: `server-relay` (Bitbucket Server/DC through the tenant's agents for that alias),
//! `server-direct` (the broker calls Bitbucket itself with basic, bearer or OAuth 2.0
//! credentials), and the names reserved for Bitbucket Cloud (`cloud-workspace-token`,
//! `cloud-app-password`), which are accepted by the parser but refused by validation until Cloud
//! support lands. An optional project filter limits what is synced; schedules are cron
//! expressions in UTC (croner); limits cap concurrency and the request rate per account.

use std::path::{Path, PathBuf};
use std::time::Duration;

use relay_shared::config::{ConfigErrors, parse_duration, resolve_path};
use relay_shared::credentials::{AuthSettings, RawAuth};
use serde::{Deserialize, Serialize};

use crate::pki::validate_id;

/// `[[tenants.accounts]]` as written (or as submitted to `POST /api/v1/accounts`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawAccount {
    pub alias: String,
    #[serde(default)]
    pub default: bool,
    pub kind: String,
    /// Project keys to include; all visible projects when absent.
    pub projects: Option<Vec<String>>,
    /// `server-direct`: Bitbucket's base URL (with any context path).
    pub url: Option<String>,
    /// `server-direct`: how to authenticate.
    pub auth: Option<RawAuth>,
    /// `server-direct`: extra CA bundle for Bitbucket's certificate.
    pub ca_file: Option<PathBuf>,
    #[serde(default)]
    pub schedule: RawSchedule,
    #[serde(default)]
    pub limits: RawLimits,
    /// Webhook secrets (newest first; two during a rotation).
    #[serde(default)]
    pub webhook_secrets: Vec<relay_shared::secret::SecretSource>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawSchedule {
    pub identities: Option<String>,
    pub repositories: Option<String>,
    pub pull_requests: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    pub concurrency: Option<usize>,
    pub rate_per_second: Option<f64>,
    pub burst: Option<u32>,
    pub timeout: Option<String>,
}

/// What kind of Bitbucket an account talks to, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AccountKind {
    ServerRelay,
    ServerDirect,
    CloudWorkspaceToken,
    CloudAppPassword,
}

impl AccountKind {
    pub fn parse(text: &str) -> Result<AccountKind, String> {
        match text {
            "server-relay" => Ok(AccountKind::ServerRelay),
            "server-direct" => Ok(AccountKind::ServerDirect),
            "cloud-workspace-token" => Ok(AccountKind::CloudWorkspaceToken),
            "cloud-app-password" => Ok(AccountKind::CloudAppPassword),
            other => Err(format!(
                "unknown kind {other:?}: use server-relay, server-direct (cloud-workspace-token and cloud-app-password are reserved)"
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::ServerRelay => "server-relay",
            AccountKind::ServerDirect => "server-direct",
            AccountKind::CloudWorkspaceToken => "cloud-workspace-token",
            AccountKind::CloudAppPassword => "cloud-app-password",
        }
    }
}

/// Cron schedules (UTC), as croner patterns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Schedule {
    pub identities: String,
    pub repositories: String,
    pub pull_requests: String,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule {
            identities: "0 10 * * *".into(),
            repositories: "0 14 * * *".into(),
            pull_requests: "*/5 * * * *".into(),
        }
    }
}

/// Per-account call limits.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Limits {
    pub concurrency: usize,
    /// Requests per second the account may spend (Bitbucket's default per-user refill is 5/s).
    pub rate_per_second: f64,
    pub burst: u32,
    pub timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            concurrency: 4,
            rate_per_second: 5.0,
            burst: 20,
            timeout: Duration::from_secs(30),
        }
    }
}

/// How a `server-direct` account reaches Bitbucket.
#[derive(Debug, Clone)]
pub struct DirectSettings {
    pub url: String,
    pub auth: AuthSettings,
    pub ca_file: Option<PathBuf>,
}

/// A validated account.
#[derive(Debug, Clone)]
pub struct Account {
    pub tenant: String,
    pub alias: String,
    pub default: bool,
    pub kind: AccountKind,
    pub projects: Option<Vec<String>>,
    pub direct: Option<DirectSettings>,
    pub schedule: Schedule,
    pub limits: Limits,
    pub webhook_secrets: Vec<relay_shared::secret::SecretSource>,
}

/// Validates one tenant's accounts (field paths start with `prefix`, e.g. `tenants[0]`).
pub fn validate(
    tenant: &str,
    raw: &[RawAccount],
    base: &Path,
    errors: &mut ConfigErrors,
    prefix: &str,
) -> Vec<Account> {
    let mut accounts: Vec<Account> = Vec::new();
    for (i, account) in raw.iter().enumerate() {
        let field = format!("{prefix}.accounts[{i}]");
        if let Some(account) = validate_one(tenant, account, base, errors, &field) {
            if accounts.iter().any(|a| a.alias == account.alias) {
                errors.push(
                    format!("{field}.alias"),
                    format!("duplicate alias {:?}", account.alias),
                );
            }
            accounts.push(account);
        }
    }
    match accounts.iter().filter(|a| a.default).count() {
        0 if accounts.len() == 1 => accounts[0].default = true,
        0 if accounts.len() > 1 => errors.push(
            format!("{prefix}.accounts"),
            "mark exactly one account `default = true`",
        ),
        n if n > 1 => errors.push(
            format!("{prefix}.accounts"),
            "only one account may be the default",
        ),
        _ => {}
    }
    accounts
}

fn validate_one(
    tenant: &str,
    raw: &RawAccount,
    base: &Path,
    errors: &mut ConfigErrors,
    field: &str,
) -> Option<Account> {
    if let Err(err) = validate_id("alias", &raw.alias) {
        errors.push(format!("{field}.alias"), err);
    }
    let kind = errors.take(&format!("{field}.kind"), AccountKind::parse(&raw.kind))?;
    let direct = match kind {
        AccountKind::ServerRelay => {
            if raw.url.is_some() || raw.auth.is_some() || raw.ca_file.is_some() {
                errors.push(
                    field,
                    "server-relay accounts take no url/auth/ca_file: the agent holds them",
                );
            }
            None
        }
        AccountKind::ServerDirect => {
            let url = raw.url.clone().unwrap_or_default();
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                errors.push(
                    format!("{field}.url"),
                    "server-direct accounts need an http(s):// url",
                );
            }
            let auth = match &raw.auth {
                Some(auth) => AuthSettings::from_raw(auth, base, errors, &format!("{field}.auth")),
                None => {
                    errors.push(format!("{field}.auth"), "server-direct accounts need auth");
                    return None;
                }
            };
            Some(DirectSettings {
                url: url.trim_end_matches('/').to_owned(),
                auth,
                ca_file: raw.ca_file.as_ref().map(|f| resolve_path(base, f)),
            })
        }
        AccountKind::CloudWorkspaceToken | AccountKind::CloudAppPassword => {
            errors.push(
                format!("{field}.kind"),
                format!(
                    "{} is reserved: Bitbucket Cloud is not supported yet",
                    kind.as_str()
                ),
            );
            None
        }
    };
    if raw.projects.as_ref().is_some_and(Vec::is_empty) {
        errors.push(
            format!("{field}.projects"),
            "an empty project list would sync nothing; omit it to sync all",
        );
    }

    let defaults = Schedule::default();
    let mut cron = |name: &str, value: &Option<String>, default: String| {
        let pattern = value.clone().unwrap_or(default);
        if let Err(err) = pattern.parse::<croner::Cron>() {
            errors.push(
                format!("{field}.schedule.{name}"),
                format!("{pattern:?}: {err}"),
            );
        }
        pattern
    };
    let schedule = Schedule {
        identities: cron("identities", &raw.schedule.identities, defaults.identities),
        repositories: cron(
            "repositories",
            &raw.schedule.repositories,
            defaults.repositories,
        ),
        pull_requests: cron(
            "pull_requests",
            &raw.schedule.pull_requests,
            defaults.pull_requests,
        ),
    };
    let limits = limits(&raw.limits, errors, field);
    let webhook_secrets = raw
        .webhook_secrets
        .iter()
        .map(|s| s.relative_to(base))
        .collect();
    Some(Account {
        tenant: tenant.to_owned(),
        alias: raw.alias.clone(),
        default: raw.default,
        kind,
        projects: raw.projects.clone(),
        direct,
        schedule,
        limits,
        webhook_secrets,
    })
}

fn limits(raw: &RawLimits, errors: &mut ConfigErrors, field: &str) -> Limits {
    let mut limits = Limits::default();
    if let Some(n) = raw.concurrency {
        if n == 0 || n > 64 {
            errors.push(format!("{field}.limits.concurrency"), "must be 1..=64");
        }
        limits.concurrency = n.clamp(1, 64);
    }
    if let Some(rate) = raw.rate_per_second {
        if !(rate > 0.0 && rate <= 1000.0) {
            errors.push(
                format!("{field}.limits.rate_per_second"),
                "must be in (0, 1000]",
            );
        }
        limits.rate_per_second = rate;
    }
    if let Some(burst) = raw.burst {
        if burst == 0 {
            errors.push(format!("{field}.limits.burst"), "must be at least 1");
        }
        limits.burst = burst.max(1);
    }
    if let Some(timeout) = &raw.timeout
        && let Some(t) = errors.take(&format!("{field}.limits.timeout"), parse_duration(timeout))
    {
        limits.timeout = t;
    }

    limits
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<Account>, ConfigErrors> {
        #[derive(Deserialize)]
        struct Wrap {
            accounts: Vec<RawAccount>,
        }
        let raw: Wrap = relay_shared::config::parse_toml(text, "t.toml")?;
        let mut errors = ConfigErrors::new("t.toml");
        let accounts = validate(
            "acme",
            &raw.accounts,
            Path::new("/etc"),
            &mut errors,
            "tenants[0]",
        );
        errors.finish(accounts)
    }

    #[test]
    fn a_single_account_becomes_the_default_with_default_schedules() {
        let accounts = parse("[[accounts]]\nalias = \"dc\"\nkind = \"server-relay\"\n").unwrap();
        assert!(accounts[0].default);
        assert_eq!(accounts[0].schedule, Schedule::default());
        assert_eq!(accounts[0].limits.rate_per_second, 5.0);
    }

    #[test]
    fn every_mistake_is_reported_with_its_field() {
        let err = parse(
            "[[accounts]]\nalias = \"dc\"\nkind = \"server-direct\"\nurl = \"ftp://x\"\nauth = { kind = \"bearer\", token = { env = \"T\" } }\nschedule = { pull_requests = \"every minute\" }\n\
             [[accounts]]\nalias = \"dc\"\nkind = \"cloud-app-password\"\n\
             [[accounts]]\nalias = \"x\"\nkind = \"server-relay\"\nprojects = []\nlimits = { concurrency = 0 }\n",
        )
        .unwrap_err()
        .to_string();
        for needle in [
            "accounts[0].url",
            "accounts[0].schedule.pull_requests",
            "accounts[1].kind",
            "accounts[2].projects",
            "accounts[2].limits.concurrency",
            "mark exactly one account",
        ] {
            assert!(err.contains(needle), "{needle} missing in:\n{err}");
        }
    }
}
