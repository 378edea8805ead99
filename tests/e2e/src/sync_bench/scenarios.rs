//! The throughput scenarios: a full sync, an incremental sync with nothing changed, and one
//! with a share of the repositories changed (pushes, new approved pull requests).

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use bitbucket_sim::credentials::{ADMIN_USER, NORMAL_USER};
use bitbucket_sim::{Counters, FileWrite, NewPullRequest, PushRequest, RepoRef};
use relay_broker::store::Counts;
use relay_broker::store::{RepoId, RepoState, SyncKind};
use relay_broker::sync::SyncReport;
use serde_json::json;

use super::audit;
use super::memory::{Memory, file_mib};
use super::report::{PassFigure, Record, Target, by_endpoint};
use super::stack::Stack;
use crate::bench::machine::Machine;
use crate::harness::{ALIAS, TENANT};

/// Passes run back to back, with the simulator's counters reset before them.
pub struct Measured {
    pub reports: Vec<SyncReport>,
    pub wall: Duration,
    pub counters: Counters,
}

impl Measured {
    pub async fn run(stack: &Stack, kinds: &[SyncKind]) -> Result<Measured> {
        stack.sim.reset_counters();
        let started = Instant::now();
        let mut reports = Vec::new();
        for kind in kinds {
            let report = stack.engine().run(TENANT, ALIAS, *kind).await;
            reports.push(report.with_context(|| format!("the {} pass", kind.as_str()))?);
        }
        let wall = started.elapsed();
        Ok(Measured {
            reports,
            wall,
            counters: stack.sim.counters(),
        })
    }

    pub fn calls(&self) -> u64 {
        self.reports.iter().map(|r| r.calls).sum()
    }

    fn pass_calls(&self, kind: SyncKind) -> u64 {
        self.reports
            .iter()
            .filter(|r| r.kind == kind)
            .map(|r| r.calls)
            .sum()
    }

    pub fn record(
        &self,
        scenario: &'static str,
        stack: &Stack,
        targets: Vec<Target>,
        detail: serde_json::Value,
    ) -> Record {
        Record {
            scenario,
            profile: stack.profile.name(),
            repos: stack.sim.repos_len(),
            wall_s: self.wall.as_secs_f64(),
            engine_calls: self.calls(),
            sim_calls: self.counters.total,
            passes: self.reports.iter().map(PassFigure::of).collect(),
            top_endpoints: by_endpoint(&self.counters).into_iter().take(10).collect(),
            targets,
            detail,
            machine: Machine::detect(),
        }
    }
}

/// Identities, repositories and pull requests into an empty store.
pub async fn full(stack: &Stack) -> Result<Record> {
    let measured = Measured::run(
        stack,
        &[
            SyncKind::Identities,
            SyncKind::Repositories,
            SyncKind::PullRequests,
        ],
    )
    .await?;
    let after = Memory::now();
    let counts = stack.store().counts(TENANT).await?;
    let [sqlite, wal] = stack.sqlite_files();
    let m = &stack.memory;
    let detail = json!({
        "stored": counts,
        "simulator_build_s": stack.simulator_build.as_secs_f64(),
        "rss_mib_before_simulator": m.before.rss_mib,
        "rss_mib_simulator_built": m.simulator_built.rss_mib,
        "simulator_rss_contribution_mib": m.simulator_built.rss_mib - m.before.rss_mib,
        "rss_mib_stack_ready": m.ready.rss_mib,
        "rss_mib_after_sync": after.rss_mib,
        "peak_rss_mib": after.peak_rss_mib,
        "sqlite_mib": file_mib(&sqlite),
        "sqlite_wal_mib": file_mib(&wal),
        "calls_per_s": measured.calls() as f64 / measured.wall.as_secs_f64(),
    });
    Ok(measured.record("full", stack, Vec::new(), detail))
}

/// Repositories and pull requests again with nothing changed on the server (`scenario` names
/// the record: `nothing_changed`, or `settled` when run after the changes were synced).
pub async fn nothing_changed(stack: &Stack, scenario: &'static str) -> Result<(Record, u64)> {
    let offset = audit::offset(stack.audit_file());
    let measured = Measured::run(stack, &[SyncKind::Repositories, SyncKind::PullRequests]).await?;
    let calls = audit::calls_since(stack.audit_file(), offset)?;
    let repos = stack.sim.repos_len() as f64;
    let listing = listing_pages(&measured.counters);
    let with_branch = repo_states(stack)
        .await?
        .iter()
        .filter(|(_, s)| s.default_branch.is_some())
        .count() as f64;
    let targets = vec![
        Target::at_most(
            "repositories pass calls <= repos + listing pages",
            measured.pass_calls(SyncKind::Repositories) as f64,
            repos + listing as f64,
        ),
        Target::at_most(
            "pull-requests pass calls <= repos with a default branch",
            measured.pass_calls(SyncKind::PullRequests) as f64,
            with_branch,
        ),
        Target::at_most(
            "wall time in s, well under a minute",
            measured.wall.as_secs_f64(),
            60.0,
        ),
    ];
    let detail = json!({
        "listing_pages": listing,
        "repos_with_default_branch": with_branch,
        "all_endpoints": by_endpoint(&measured.counters),
        "at_the_agent": audit::sizes(&calls),
    });
    let record = measured.record(scenario, stack, targets, detail);
    Ok((record, measured.calls()))
}

/// Calls to endpoints that are not about one repository (project and repository listings).
fn listing_pages(counters: &Counters) -> u64 {
    counters
        .by_endpoint
        .iter()
        .filter(|(template, _)| !template.contains("/repos/{"))
        .map(|(_, n)| n)
        .sum()
}

pub async fn repo_states(stack: &Stack) -> Result<Vec<(RepoId, RepoState)>> {
    Ok(stack.store().repo_states(&Stack::account()).await?)
}

/// What the "changed" scenario did to the simulator before syncing.
#[derive(Debug, Default)]
struct Changes {
    pushed: Vec<RepoId>,
    pull_requests: Vec<RepoId>,
}

/// Pushes a commit to `percent` % of the non-empty repositories (spread evenly) and opens and
/// approves a pull request in every `pr_every`-th of them; then repositories and pull
/// requests. `baseline` is the nothing-changed scenario's calls.
pub async fn changed(
    stack: &Stack,
    percent: f64,
    pr_every: usize,
    baseline: u64,
) -> Result<Record> {
    let before = stack.store().counts(TENANT).await?;
    let changes = change(stack, percent, pr_every.max(1)).await?;
    let measured = Measured::run(stack, &[SyncKind::Repositories, SyncKind::PullRequests]).await?;
    let after: Counts = stack.store().counts(TENANT).await?;
    let n = changes.pushed.len().max(1) as f64;
    let detail = json!({
        "repos_pushed": changes.pushed.len(),
        "pull_requests_opened_and_approved": changes.pull_requests.len(),
        "commits_stored_delta": after.commits.saturating_sub(before.commits),
        "pull_requests_stored_delta": after.pull_requests.saturating_sub(before.pull_requests),
        "calls_over_nothing_changed": measured.calls().saturating_sub(baseline),
        "calls_over_nothing_changed_per_changed_repo":
            measured.calls().saturating_sub(baseline) as f64 / n,
    });
    Ok(measured.record("changed", stack, Vec::new(), detail))
}

async fn change(stack: &Stack, percent: f64, pr_every: usize) -> Result<Changes> {
    let candidates: Vec<RepoId> = repo_states(stack)
        .await?
        .into_iter()
        .filter(|(_, s)| s.head.is_some())
        .map(|(id, _)| id)
        .collect();
    let wanted = ((candidates.len() as f64 * percent / 100.0).ceil() as usize).max(1);
    let step = (candidates.len() / wanted).max(1);
    let mut changes = Changes::default();
    for (i, id) in candidates.iter().step_by(step).take(wanted).enumerate() {
        let at = RepoRef::new(&id.project, &id.slug);
        let push = PushRequest {
            message: Some(format!("sync-bench change {i}")),
            files: vec![FileWrite::write(
                "docs/SYNC-BENCH.md",
                &format!("change {i}\n"),
            )],
            ..PushRequest::default()
        };
        stack
            .sim
            .push(&at, push)
            .with_context(|| format!("pushing to {id:?}"))?;
        changes.pushed.push(id.clone());
        if i % pr_every == 0 && open_approved_pull_request(stack, &at)? {
            changes.pull_requests.push(id.clone());
        }
    }
    Ok(changes)
}

/// Opens a pull request from the first other branch that accepts one, and approves it.
/// `false` when the repository has no branch to open one from.
fn open_approved_pull_request(stack: &Stack, at: &RepoRef) -> Result<bool> {
    let info = stack
        .sim
        .repo(&at.project, &at.slug)
        .context("a pushed repository vanished from the simulator")?;
    for branch in info.branches.iter().filter(|b| **b != info.default_branch) {
        let request = NewPullRequest {
            from_branch: branch.clone(),
            to_branch: None,
            title: "sync-bench change".into(),
            description: String::new(),
            author: NORMAL_USER.into(),
            reviewers: vec![ADMIN_USER.into()],
        };
        if let Ok(id) = stack.sim.open_pull_request(at, request) {
            stack.sim.approve_pull_request(at, id, ADMIN_USER)?;
            return Ok(true);
        }
    }
    Ok(false)
}
