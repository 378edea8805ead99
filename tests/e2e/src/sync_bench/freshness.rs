//! How fresh pull-request data stays under the default budget, without waiting real time.
//!
//! A scheduled pass may spend `rate × window × 0.8` calls (`relay-broker/src/sync/pulls.rs`):
//! with the default limits (5 requests/s) and the 5-minute schedule, 1200 calls. It polls the
//! hot repositories (pull-request activity in the last 14 days) first, then the cold ones in a
//! rotation that starts at a stored cursor.
//!
//! Each emulated pass runs through a second engine over the same store and relay whose account
//! has the default limits with the rate scaled up [`SCALE`] times and the window scaled down as
//! much: the same 1200-call budget in 1/100 of the time. The engine advances the cold cursor by
//! the cold repositories a pass polled, so consecutive scaled passes rotate exactly as 5/s passes
//! do. The agent's audit log tells which repositories each pass polled. Passes repeat until
//! every repository with a default branch has been polled once, or `max_passes`; then a pass with
//! a zero-length window (no calls) times the planning alone.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use anyhow::Result;
use relay_broker::accounts::Limits;
use relay_broker::store::AccountKey;
use relay_broker::sync::pulls::Coverage;
use serde::Serialize;
use serde_json::json;

use super::audit;
use super::report::{Record, Target, by_endpoint};
use super::scenarios::repo_states;
use super::stack::Stack;
use crate::bench::machine::Machine;
use crate::harness::{ALIAS, TENANT};

/// How much faster than the default rate the emulated passes run.
pub const SCALE: f64 = 100.0;
/// The default pull-request schedule's interval (`*/5 * * * *`).
const WINDOW: Duration = Duration::from_secs(300);
/// The engine's cold-list cursor checkpoint (`pulls.rs`: scope `pulls`, key `cursor`).
const CURSOR: (&str, &str) = ("pulls", "cursor");
/// `pulls.rs`: repositories with pull-request activity or a push this recent are hot.
const HOT_DAYS: i64 = 14;

/// One emulated scheduled pass.
#[derive(Debug, Clone, Serialize)]
struct Pass {
    calls: u64,
    polled: usize,
    hot_polled: usize,
    newly_reached: usize,
    cursor_before: u64,
    cursor_after: u64,
    seconds: f64,
}

/// Emulates scheduled passes until every repository was polled once (or `max_passes`).
pub async fn run(stack: &Stack, max_passes: usize) -> Result<Record> {
    let defaults = Limits::default();
    let scaled = stack.engine_with(Limits {
        rate_per_second: defaults.rate_per_second * SCALE,
        ..defaults
    })?;
    let (targets, hot) = targets_and_hot(stack).await?;
    let key = Stack::account();
    stack.sim.reset_counters();
    let started = Instant::now();
    let mut reached: HashSet<(String, String)> = HashSet::new();
    let mut passes = Vec::new();
    let mut budget = 0;
    while passes.len() < max_passes.max(1) && reached.len() < targets {
        let cursor_before = cursor(stack, &key).await?;
        let offset = audit::offset(stack.audit_file());
        let pass_started = Instant::now();
        let report = scaled
            .run_pulls(TENANT, ALIAS, Coverage::Window(WINDOW.div_f64(SCALE)))
            .await?;
        let seconds = pass_started.elapsed().as_secs_f64();
        budget = report.detail["budget_calls"].as_u64().unwrap_or(0);
        let polled = audit::polled(&audit::calls_since(stack.audit_file(), offset)?);
        let before = reached.len();
        reached.extend(polled.iter().cloned());
        passes.push(Pass {
            calls: report.calls,
            polled: polled.len(),
            hot_polled: polled.intersection(&hot).count(),
            newly_reached: reached.len() - before,
            cursor_before,
            cursor_after: cursor(stack, &key).await?,
            seconds,
        });
    }
    let plan_only = scaled
        .run_pulls(TENANT, ALIAS, Coverage::Window(Duration::ZERO))
        .await?;
    let counters = stack.sim.counters();
    let mut summary = Summary::of(&passes, targets, hot.len(), reached.len(), budget);
    summary.plan_only_seconds = plan_only.duration_ms as f64 / 1000.0;
    Ok(Record {
        scenario: "freshness",
        profile: stack.profile.name(),
        repos: stack.sim.repos_len(),
        wall_s: started.elapsed().as_secs_f64(),
        engine_calls: passes.iter().map(|p| p.calls).sum(),
        sim_calls: counters.total,
        passes: Vec::new(),
        top_endpoints: by_endpoint(&counters).into_iter().take(10).collect(),
        targets: summary.targets(),
        detail: summary.detail(&passes),
        machine: Machine::detect(),
    })
}

/// Repositories a pass can poll (with a default branch), and the hot ones among them.
async fn targets_and_hot(stack: &Stack) -> Result<(usize, HashSet<(String, String)>)> {
    let since = chrono::Utc::now() - chrono::Duration::days(HOT_DAYS);
    let states = repo_states(stack).await?;
    let targets = states
        .iter()
        .filter(|(_, s)| s.default_branch.is_some())
        .count();
    let hot = states
        .into_iter()
        .filter(|(_, s)| {
            let activity = s.pr_high_water.max(s.last_commit_at);
            s.default_branch.is_some() && activity.is_some_and(|at| at >= since)
        })
        .map(|(id, _)| (audit::normalise(&id.project), id.slug))
        .collect();
    Ok((targets, hot))
}

async fn cursor(stack: &Stack, key: &AccountKey) -> Result<u64> {
    let (scope, name) = CURSOR;
    let value = stack.store().checkpoint(key, scope, name).await?;
    Ok(value.and_then(|v| v.parse().ok()).unwrap_or(0))
}

/// The figures the freshness analysis derives from.
struct Summary {
    passes: usize,
    targets: usize,
    hot: usize,
    reached: usize,
    budget: u64,
    max_calls: u64,
    mean_polled: f64,
    passes_missing_hot: usize,
    mean_cursor_advance: f64,
    plan_only_seconds: f64,
}

impl Summary {
    fn of(passes: &[Pass], targets: usize, hot: usize, reached: usize, budget: u64) -> Summary {
        let n = passes.len().max(1) as f64;
        let cold = targets.saturating_sub(hot).max(1) as u64;
        let advance: u64 = passes
            .iter()
            .map(|p| (p.cursor_after + cold - p.cursor_before % cold) % cold)
            .sum();
        Summary {
            passes: passes.len(),
            targets,
            hot,
            reached,
            budget,
            max_calls: passes.iter().map(|p| p.calls).max().unwrap_or(0),
            mean_polled: passes.iter().map(|p| p.polled).sum::<usize>() as f64 / n,
            passes_missing_hot: passes.iter().filter(|p| p.hot_polled < hot).count(),
            mean_cursor_advance: advance as f64 / n,
            plan_only_seconds: 0.0,
        }
    }

    fn targets(&self) -> Vec<Target> {
        vec![
            Target::at_most(
                "calls of one pass <= its budget",
                self.max_calls as f64,
                self.budget as f64,
            ),
            Target::at_most(
                "passes in which a hot repository was not polled",
                self.passes_missing_hot as f64,
                0.0,
            ),
        ]
    }

    fn detail(&self, passes: &[Pass]) -> serde_json::Value {
        let minutes = WINDOW.as_secs_f64() / 60.0;
        let all_reached = self.reached >= self.targets;
        let cold = self.targets.saturating_sub(self.hot) as f64;
        let cold_per_pass = (self.mean_polled - self.hot as f64).max(1.0);
        let intended = (cold / cold_per_pass).ceil();
        json!({
            "scale": format!("rate x{SCALE}, window /{SCALE}: {} s at {} requests/s",
                WINDOW.as_secs_f64() / SCALE, Limits::default().rate_per_second * SCALE),
            "budget_calls_per_pass": self.budget,
            "repos_with_default_branch": self.targets,
            "hot_repos": self.hot,
            "mean_repos_polled_per_pass": self.mean_polled,
            "mean_cursor_advance_per_pass": self.mean_cursor_advance,
            "passes_run": self.passes,
            "repos_reached": self.reached,
            "passes_until_every_repo_polled": all_reached.then_some(self.passes),
            "worst_staleness_cold_minutes": all_reached.then_some(self.passes as f64 * minutes),
            "worst_staleness_hot_minutes": minutes,
            "derived_passes_ceil_cold_over_cold_polled_per_pass": intended,
            "derived_worst_staleness_cold_minutes": intended * minutes,
            "per_pass_calls": passes.iter().map(|p| p.calls).collect::<Vec<_>>(),
            "per_pass_polled": passes.iter().map(|p| p.polled).collect::<Vec<_>>(),
            "per_pass_newly_reached": passes.iter().map(|p| p.newly_reached).collect::<Vec<_>>(),
            "per_pass_cursor_after": passes.iter().map(|p| p.cursor_after).collect::<Vec<_>>(),
            "per_pass_seconds": passes.iter().map(|p| round2(p.seconds)).collect::<Vec<_>>(),
            "plan_only_pass_seconds": self.plan_only_seconds,
        })
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
