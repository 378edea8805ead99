//! The pull-request pass: newest first, down to each repository's high-water mark.
//!
//! Per repository, pages of `state=ALL&order=NEWEST` (most recently updated first) are read
//! until a pull request not updated since the last sync: its `updatedDate` is at or below the
//! high-water mark, the stored maximum but never later than when the previous pass started (so
//! a Bitbucket clock running ahead cannot hide an update). Each newer one is stored with its
//! activities in one transaction. A repository with no change costs one call.
//!
//! Budget: Bitbucket refills 5 requests/s per user, so 10,000 repositories cannot all be polled
//! every 5 minutes. A scheduled pass spends at most the calls its window allows
//! (`rate_per_second × window × 0.8`, the rest left for webhook refreshes and code syncs),
//! polling first the repositories most likely to have changed (pull-request activity or a push
//! in the last 14 days, most recent first), then the others in a rotating order (a cursor checkpoint),
//! so every repository is reached within a few passes. Manual and first syncs poll everything.

use std::time::Duration;

use chrono::Utc;
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use serde_json::json;

use super::convert;
use super::engine::{AccountRuntime, PassResult, SyncError};
use crate::bitbucket::model::{PrOrder, PrState};
use crate::store::{RepoKey, Store};

type DateTimeUtc = chrono::DateTime<Utc>;

const HOT_DAYS: i64 = 14;
const CURSOR_SCOPE: &str = "pulls";
const CURSOR_KEY: &str = "cursor";
/// Share of the window's request budget a scheduled pass may spend.
const BUDGET_SHARE: f64 = 0.8;

/// How much of the account a pass covers.
#[derive(Debug, Clone)]
pub enum Coverage {
    /// Every repository, no budget cap (first sync, manual trigger).
    All,
    /// A scheduled pass: stop starting repositories once `window`'s budget share is spent.
    Window(Duration),
    /// Only these repositories (webhook hints).
    Only(Vec<(String, String)>),
}

struct Target {
    key: RepoKey,
    high_water: Option<DateTimeUtc>,
}

/// What a pass will poll, in order.
struct Plan {
    targets: Vec<Target>,
    /// For a scheduled pass: the hot repositories come first, then the cold ones from `cursor`.
    rotation: Option<Rotation>,
}

struct Rotation {
    hot: usize,
    cold: usize,
    cursor: usize,
}

pub async fn pass(
    rt: &AccountRuntime,
    store: &dyn Store,
    coverage: Option<Coverage>,
    previous_start: Option<DateTimeUtc>,
) -> Result<PassResult, SyncError> {
    let coverage = coverage.unwrap_or(Coverage::All);
    let Plan {
        mut targets,
        rotation,
    } = plan(rt, store, &coverage).await?;
    // The mark is never later than when the previous pass started: a pull request dated ahead
    // of that (a Bitbucket clock ahead of ours) is re-read rather than missed.
    if let Some(floor) = previous_start {
        for target in &mut targets {
            target.high_water = target.high_water.map(|h| h.min(floor));
        }
    }
    let max_calls = match coverage {
        Coverage::Window(window) => {
            Some((rt.account.limits.rate_per_second * window.as_secs_f64() * BUDGET_SHARE) as u64)
        }
        _ => None,
    };
    let start_calls = rt.client.calls();
    let concurrency = rt.account.limits.concurrency.max(1);
    let total = targets.len();
    let mut queue = targets.into_iter();
    let mut pending = FuturesUnordered::new();
    let mut outcomes = Vec::new();
    loop {
        while pending.len() < concurrency {
            // Each repository in flight will cost at least one more call.
            let spent = rt.client.calls().saturating_sub(start_calls) + pending.len() as u64;
            if max_calls.is_some_and(|max| spent >= max) {
                break;
            }
            let Some(target) = queue.next() else { break };
            pending.push(poll_target(rt, store, target));
        }
        match pending.next().await {
            Some(outcome) => outcomes.push(outcome),
            None => break,
        }
    }
    let mut result = PassResult::default();
    let (mut polled, mut updated) = (0u64, 0u64);
    for (key, outcome) in &outcomes {
        polled += 1;
        match outcome {
            Ok(n) => updated += n,
            Err(err) => result
                .errors
                .push(format!("{}/{}: {err}", key.project, key.slug)),
        }
    }
    if let Some(r) = rotation.filter(|r| r.cold > 0) {
        // The next pass starts where this one stopped in the cold list.
        let cold_polled = (polled as usize).saturating_sub(r.hot);
        let next = (r.cursor + cold_polled) % r.cold;
        store
            .set_checkpoint(&rt.key, CURSOR_SCOPE, CURSOR_KEY, &next.to_string())
            .await?;
    }
    result.detail = json!({
        "repos": total,
        "polled": polled,
        "pull_requests_updated": updated,
        "budget_calls": max_calls,
    });
    Ok(result)
}

/// The repositories to poll, in order, and the cold-list cursor to store after the pass.
async fn plan(
    rt: &AccountRuntime,
    store: &dyn Store,
    coverage: &Coverage,
) -> Result<Plan, SyncError> {
    let mut states = store.repo_states(&rt.key).await?;
    states.retain(|(_, state)| state.default_branch.is_some());
    if let Coverage::Only(list) = coverage {
        states.retain(|(id, _)| list.iter().any(|(p, s)| *p == id.project && *s == id.slug));
    }
    let Coverage::Window(_) = coverage else {
        let targets = states
            .into_iter()
            .map(|(id, state)| target(rt, id, &state))
            .collect();
        return Ok(Plan {
            targets,
            rotation: None,
        });
    };
    // Hot: pull-request activity or a push in the last days, most recent first.
    let hot_since = Utc::now() - chrono::Duration::days(HOT_DAYS);
    let activity = |state: &crate::store::RepoState| state.pr_high_water.max(state.last_commit_at);
    let (mut hot, mut cold): (Vec<_>, Vec<_>) = states
        .into_iter()
        .partition(|(_, state)| activity(state).is_some_and(|at| at >= hot_since));
    hot.sort_by_key(|(_, state)| std::cmp::Reverse(activity(state)));
    let cursor: usize = store
        .checkpoint(&rt.key, CURSOR_SCOPE, CURSOR_KEY)
        .await?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let cursor = cursor % cold.len().max(1);
    cold.rotate_left(cursor);
    let rotation = Rotation {
        hot: hot.len(),
        cold: cold.len(),
        cursor,
    };
    let targets = hot
        .into_iter()
        .chain(cold)
        .map(|(id, state)| target(rt, id, &state))
        .collect();
    Ok(Plan {
        targets,
        rotation: Some(rotation),
    })
}

fn target(
    rt: &AccountRuntime,
    id: crate::store::RepoId,
    state: &crate::store::RepoState,
) -> Target {
    Target {
        key: rt.key.repo(id.project, id.slug),
        high_water: state.pr_high_water,
    }
}

async fn poll_target(
    rt: &AccountRuntime,
    store: &dyn Store,
    target: Target,
) -> (RepoKey, Result<u64, SyncError>) {
    let result = poll_repo(rt, store, &target).await;
    (target.key, result)
}

/// Reads one repository's pull requests newest first down to its high-water mark.
async fn poll_repo(
    rt: &AccountRuntime,
    store: &dyn Store,
    target: &Target,
) -> Result<u64, SyncError> {
    let (project, slug) = (target.key.project.as_str(), target.key.slug.as_str());
    if let Some(mark) = target.high_water {
        // Peek at the most recently updated pull request alone: an unchanged repository then
        // costs one call of a few hundred bytes instead of a full page.
        let newest = rt
            .client
            .pull_requests(project, slug, PrState::All, PrOrder::Newest)
            .with_limit(1)
            .fetch(0)
            .await?;
        if newest
            .values
            .first()
            .is_none_or(|pr| pr.updated_date <= mark)
        {
            return Ok(0);
        }
    }
    let mut start = 0;
    let mut updated = 0;
    loop {
        let page = rt
            .client
            .pull_requests_page(project, slug, PrState::All, PrOrder::Newest, start)
            .await?;
        let mut reached = false;
        for pr in &page.values {
            if target.high_water.is_some_and(|h| pr.updated_date <= h) {
                reached = true;
                break;
            }
            let Some(record) = convert::pull_request(pr) else {
                continue;
            };
            let activities: Vec<_> = rt
                .client
                .activities(project, slug, pr.id)
                .await?
                .iter()
                .map(convert::activity)
                .collect();
            store
                .apply_pull_request(&target.key, &record, &activities)
                .await?;
            updated += 1;
        }
        match page.next_page_start {
            Some(next) if !reached && !page.is_last_page && next > start => start = next,
            _ => break,
        }
    }
    Ok(updated)
}
