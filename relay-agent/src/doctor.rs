//! `relay-agent doctor`: everything between a config file and a working relay, checked in order.
//!
//! Each check prints `PASS|WARN|FAIL <name>: <detail>` and, unless it passed, a `fix:` line.
//! The exit code says the worst: 0 all passed, 1 warnings, 2 failures (see [`Report::exit_code`]).
//! Checks that depend on an earlier one (TLS needs TCP, which needs DNS) are not run when it
//! failed, so the first failure printed is the one to fix.
//!
//! - [`local`]: config, allow-list (validity and lint), secrets readable, certificate and key
//!   match, certificate expiry.
//! - [`broker`]: DNS, TCP (or the HTTP CONNECT proxy), TLS (which CA, which name), whether the
//!   broker accepts this certificate, clock skew, WebSocket upgrade, hello and protocol version.
//! - [`bitbucket`]: reachable, its version, credentials accepted, the permissions the default
//!   allow-list needs, clock skew.
//!
//! The broker check opens one short session (closed right after the broker's welcome), so the
//! agent may show up in `relay-broker agents` for an instant, with `(doctor)` after its host name.
//! Doctor never refreshes OAuth 2.0 tokens: Bitbucket rotates the refresh token on use, which
//! would leave a running agent holding a spent one.

pub mod bitbucket;
pub mod broker;
pub mod local;

use std::fmt;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use chrono::{DateTime, Utc};

/// Clock difference above which doctor warns (certificate validity and OAuth expiry suffer).
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(30);
/// Certificates expiring sooner than this are reported as a warning.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

/// How a check went, in increasing order of badness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    Pass,
    Warn,
    Fail,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
        }
    }
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub status: Status,
    pub name: String,
    pub detail: String,
    /// What to do about it (always set unless the check passed).
    pub fix: Option<String>,
}

impl Check {
    pub fn pass(name: impl Into<String>, detail: impl Into<String>) -> Check {
        Check {
            status: Status::Pass,
            name: name.into(),
            detail: detail.into(),
            fix: None,
        }
    }

    pub fn warn(
        name: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check {
            status: Status::Warn,
            name: name.into(),
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    pub fn fail(
        name: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check {
            status: Status::Fail,
            name: name.into(),
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    pub fn passed(&self) -> bool {
        self.status == Status::Pass
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status.as_str(), self.name, self.detail)?;
        if let Some(fix) = &self.fix {
            write!(f, "\n     fix: {fix}")?;
        }
        Ok(())
    }
}

/// Every check that ran, in order.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub checks: Vec<Check>,
}

impl Report {
    /// Adds a check; returns `false` if it failed (callers skip what depends on it).
    pub fn add(&mut self, check: Check) -> bool {
        let passed = check.status != Status::Fail;
        self.checks.push(check);
        passed
    }

    /// The worst status (`Pass` when nothing ran).
    pub fn worst(&self) -> Status {
        self.checks
            .iter()
            .map(|c| c.status)
            .max()
            .unwrap_or(Status::Pass)
    }

    /// 0 when everything passed, 1 with warnings, 2 with failures.
    pub fn exit_code(&self) -> u8 {
        match self.worst() {
            Status::Pass => 0,
            Status::Warn => 1,
            Status::Fail => 2,
        }
    }

    /// The check with this name, if it ran.
    pub fn get(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }
}

/// Runs every check for the config at `path`.
pub async fn run(path: &Path) -> Report {
    relay_shared::tls::install_crypto_provider();
    let mut report = Report::default();
    let Some(config) = local::config(path, &mut report) else {
        return report;
    };
    let rules = local::allowlist(&config, &mut report);
    local::secrets(&config, &mut report);
    let identity_ok = local::certificate(&config, &mut report);
    if identity_ok {
        broker::check(&config.broker, &rules, &mut report).await;
    }
    bitbucket::check(&config.bitbucket, &rules, &mut report).await;
    report
}

/// The subcommand: prints every check and a summary, exits 0, 1 or 2.
pub fn main(path: &Path) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("cannot start the async runtime: {err}");
            return ExitCode::from(2);
        }
    };
    let report = runtime.block_on(run(path));
    for check in &report.checks {
        println!("{check}");
    }
    let count = |s: Status| report.checks.iter().filter(|c| c.status == s).count();
    println!(
        "\n{} passed, {} warnings, {} failed",
        count(Status::Pass),
        count(Status::Warn),
        count(Status::Fail)
    );
    ExitCode::from(report.exit_code())
}

/// Compares an HTTP `Date` header with the local clock.
pub fn clock_skew(name: &str, peer: &str, date: Option<&str>, now: DateTime<Utc>) -> Check {
    let Some(text) = date else {
        return Check::warn(
            name,
            format!("{peer} sent no Date header; clock skew unknown"),
            "keep this host's clock synchronised (chrony or systemd-timesyncd)",
        );
    };
    let Ok(remote) = DateTime::parse_from_rfc2822(text) else {
        return Check::warn(
            name,
            format!("{peer} sent an unreadable Date header {text:?}"),
            "keep this host's clock synchronised (chrony or systemd-timesyncd)",
        );
    };
    let skew = remote.with_timezone(&Utc) - now;
    let seconds = skew.num_seconds();
    let limit = i64::try_from(MAX_CLOCK_SKEW.as_secs()).unwrap_or(i64::MAX);
    if seconds.abs() > limit {
        let direction = if seconds > 0 { "behind" } else { "ahead of" };
        Check::warn(
            name,
            format!(
                "this host is {}s {direction} {peer} (limit {limit}s)",
                seconds.abs()
            ),
            "synchronise the clocks with NTP (chrony or systemd-timesyncd) on this host and on the peer; certificate validity and token expiry depend on them",
        )
    } else {
        Check::pass(name, format!("{}s difference with {peer}", seconds.abs()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_code_is_the_worst_status() {
        let mut report = Report::default();
        assert_eq!(report.exit_code(), 0);
        report.add(Check::pass("a", "ok"));
        assert_eq!(report.exit_code(), 0);
        report.add(Check::warn("b", "meh", "do x"));
        assert_eq!(report.exit_code(), 1);
        assert!(!report.add(Check::fail("c", "bad", "do y")));
        assert_eq!(report.exit_code(), 2);
        assert_eq!(
            report.get("c").unwrap().to_string(),
            "FAIL c: bad\n     fix: do y"
        );
    }

    #[test]
    fn clock_skew_warns_beyond_thirty_seconds() {
        let now = DateTime::parse_from_rfc2822("Wed, 25 Nov 2026 03:00:00 GMT")
            .unwrap()
            .with_timezone(&Utc);
        let near = clock_skew("c", "x", Some("Wed, 25 Nov 2026 03:00:12 GMT"), now);
        assert_eq!(near.status, Status::Pass);
        let far = clock_skew("c", "x", Some("Wed, 25 Nov 2026 03:01:00 GMT"), now);
        assert_eq!(far.status, Status::Warn);
        assert!(far.detail.contains("60s behind x"), "{}", far.detail);
        assert_eq!(clock_skew("c", "x", None, now).status, Status::Warn);
        assert_eq!(
            clock_skew("c", "x", Some("yesterday"), now).status,
            Status::Warn
        );
    }
}
