//! Cron schedules (UTC): per account, identities (default daily 10:00), repositories (daily
//! 14:00) and pull requests (every 5 minutes). Each schedule is a task that sleeps until the
//! next occurrence and runs the pass, waiting for the account's previous pass if one is still
//! going (one sync per account at a time). Stops with the broker's shutdown.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use croner::Cron;
use relay_shared::shutdown::Shutdown;
use tracing::{info, warn};

use super::engine::{AccountRuntime, SyncEngine};
use super::pulls::Coverage;
use crate::store::SyncKind;

/// The time between two consecutive occurrences of `pattern` from now (the window a
/// scheduled pull-request pass may spend its budget in); 5 minutes if it cannot be computed.
pub fn interval(pattern: &str) -> Duration {
    let fallback = Duration::from_secs(300);
    let Ok(cron) = pattern.parse::<Cron>() else {
        return fallback;
    };
    let now = Utc::now();
    let Ok(first) = cron.find_next_occurrence(&now, false) else {
        return fallback;
    };
    let Ok(second) = cron.find_next_occurrence(&first, false) else {
        return fallback;
    };
    (second - first).to_std().unwrap_or(fallback)
}

/// Starts one task per (account, schedule) for every account.
pub fn start(engine: Arc<SyncEngine>, shutdown: &Shutdown) {
    for rt in engine.runtimes() {
        start_account(&engine, &rt, shutdown);
    }
}

/// Starts the schedules of one account. They end with the shutdown, or at their first wake-up
/// after the account was removed.
pub fn start_account(engine: &Arc<SyncEngine>, rt: &Arc<AccountRuntime>, shutdown: &Shutdown) {
    let schedule = &rt.account.schedule;
    for (kind, pattern) in [
        (SyncKind::Identities, schedule.identities.clone()),
        (SyncKind::Repositories, schedule.repositories.clone()),
        (SyncKind::PullRequests, schedule.pull_requests.clone()),
    ] {
        let Ok(cron) = pattern.parse::<Cron>() else {
            warn!(account = %rt.key, pattern, "invalid schedule skipped");
            continue;
        };
        let engine = Arc::clone(engine);
        let (tenant, alias) = (rt.key.tenant.clone(), rt.key.alias.clone());
        let stop = shutdown.clone();
        shutdown.spawn(async move {
            while let Ok(next) = cron.find_next_occurrence(&Utc::now(), false) {
                let wait = (next - Utc::now()).to_std().unwrap_or_default();
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    () = stop.stopped() => break,
                }
                if engine.runtime(&tenant, &alias).is_err() {
                    break; // removed through the admin API
                }
                let result = match kind {
                    SyncKind::PullRequests => engine.run_pulls(&tenant, &alias, Coverage::Window(interval(&pattern))).await,
                    _ => engine.run(&tenant, &alias, kind).await,
                };
                match result {
                    Ok(report) => info!(tenant, alias, kind = kind.as_str(), status = report.status.as_str(), calls = report.calls, "scheduled sync done"),
                    Err(err) => warn!(tenant, alias, kind = kind.as_str(), error = %err, "scheduled sync failed"),
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_of_the_default_schedules() {
        assert_eq!(interval("*/5 * * * *"), Duration::from_secs(300));
        assert_eq!(interval("0 14 * * *"), Duration::from_secs(86_400));
        assert_eq!(interval("not a cron"), Duration::from_secs(300));
    }
}
