//! Pull requests, their reviewers and their activity streams, derived per `(repo, id)`.
//!
//! Timings follow how teams work: the first review comes hours after opening, a "needs work"
//! is followed by a rescope (new commits) and an approval, merges and declines come last.

use serde::Serialize;

use super::commits::{History, MAIN, index, split};
use super::words::{COMMENTS, COMPONENTS, JIRA_KEYS, VERBS};
use crate::model::GENERATED_UNTIL_MS;
use crate::seed::SimRng;

const HOUR_MS: i64 = 3_600_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum PrState {
    #[serde(rename = "OPEN")]
    Open,
    #[serde(rename = "MERGED")]
    Merged,
    #[serde(rename = "DECLINED")]
    Declined,
}

impl PrState {
    pub fn as_str(self) -> &'static str {
        match self {
            PrState::Open => "OPEN",
            PrState::Merged => "MERGED",
            PrState::Declined => "DECLINED",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Role {
    Author,
    Reviewer,
    Participant,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ReviewStatus {
    Unapproved,
    NeedsWork,
    Approved,
}

impl ReviewStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewStatus::Unapproved => "UNAPPROVED",
            ReviewStatus::NeedsWork => "NEEDS_WORK",
            ReviewStatus::Approved => "APPROVED",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Participant {
    pub user: u32,
    pub role: Role,
    pub status: ReviewStatus,
    pub last_reviewed: Option<u64>,
}

/// What happened in one activity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Action {
    Opened,
    Commented {
        comment_id: u64,
        text: String,
    },
    Approved,
    Unapproved,
    /// "Needs work".
    Reviewed,
    Rescoped {
        previous_from: u64,
        from: u64,
    },
    Merged {
        commit: Option<u64>,
    },
    Declined,
    Reopened,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Activity {
    pub id: u64,
    pub created_ms: i64,
    pub user: u32,
    pub action: Action,
}

/// A pull request with everything the REST API and the webhooks show of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PullRequest {
    pub id: u64,
    pub version: u32,
    pub title: String,
    pub description: String,
    pub state: PrState,
    pub draft: bool,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub closed_ms: Option<i64>,
    pub from_branch: String,
    pub from_commit: u64,
    pub to_branch: String,
    pub to_commit: u64,
    pub author: u32,
    pub reviewers: Vec<Participant>,
    pub participants: Vec<Participant>,
    /// Oldest first.
    pub activities: Vec<Activity>,
}

impl PullRequest {
    pub fn merge_commit(&self) -> Option<u64> {
        self.activities.iter().rev().find_map(|a| match a.action {
            Action::Merged { commit } => commit,
            _ => None,
        })
    }
}

/// Derives generated pull request `id` of the repository `history` describes. `people` are the
/// user ids who work on it (at least one).
pub fn generate(history: &History<'_>, people: &[u32], id: u64) -> PullRequest {
    let repo = history.repo;
    let mut rng = SimRng::derived(repo.seed, "pull-request", id);
    let branch = history.pr_branch(id);
    let from = index(branch.number, branch.len.saturating_sub(1));
    let created = history.timestamp(from) + HOUR_MS / 6 + rng.below(2 * HOUR_MS as u64) as i64;
    let author = rng.pick(people).copied().unwrap_or(1);
    let others: Vec<u32> = people.iter().copied().filter(|&u| u != author).collect();
    let mut reviewers: Vec<u32> = (0..rng.between(1, 3))
        .filter_map(|_| rng.pick(&others).copied())
        .collect();
    reviewers.sort_unstable();
    reviewers.dedup();
    let ticket = format!("{}-{}", rng.word(JIRA_KEYS), 100 + id);
    let title = format!("{ticket}: {} {}", rng.word(VERBS), rng.word(COMPONENTS));
    let mut log = Log {
        base: u64::from(repo.id) * 10_000_000 + id * 100,
        now: created,
        items: Vec::new(),
    };
    log.push(0, author, Action::Opened);
    for &reviewer in &reviewers {
        review_round(&mut log, &mut rng, reviewer, author, from);
    }
    let old = created < GENERATED_UNTIL_MS - 30 * 24 * HOUR_MS;
    let state = close(
        &mut log,
        &mut rng,
        history,
        old,
        reviewers.first().copied().unwrap_or(author),
        author,
    );
    let activities = log.items;
    let reviewers: Vec<Participant> = reviewers
        .iter()
        .map(|&u| Participant {
            user: u,
            role: Role::Reviewer,
            status: status_of(&activities, u),
            last_reviewed: activities
                .iter()
                .any(|a| a.user == u && a.action != Action::Opened)
                .then_some(from),
        })
        .collect();
    let rescopes = activities
        .iter()
        .filter(|a| matches!(a.action, Action::Rescoped { .. }))
        .count();
    PullRequest {
        id,
        version: rescopes as u32 + u32::from(state != PrState::Open),
        description: format!(
            "Fixes {ticket}.\n\n* {} the {}\n* add tests",
            rng.word(VERBS),
            rng.word(COMPONENTS)
        ),
        title,
        state,
        draft: state == PrState::Open && rng.chance(0.05),
        created_ms: created,
        updated_ms: log.now,
        closed_ms: (state != PrState::Open).then_some(log.now),
        from_branch: branch.name,
        from_commit: from,
        to_branch: repo.default_branch.clone(),
        to_commit: index(MAIN, branch.fork),
        author,
        reviewers,
        participants: Vec::new(),
        activities,
    }
}

/// One reviewer's pass: hours after the previous event a comment, maybe "needs work" followed
/// by the author's fix (a rescope), then usually an approval (rarely withdrawn).
fn review_round(log: &mut Log, rng: &mut SimRng, reviewer: u32, author: u32, from: u64) {
    log.wait(HOUR_MS + rng.below(7 * HOUR_MS as u64) as i64);
    if rng.chance(0.6) {
        let comment_id = log.base + log.items.len() as u64;
        log.push(
            0,
            reviewer,
            Action::Commented {
                comment_id,
                text: rng.word(COMMENTS).to_owned(),
            },
        );
    }
    if rng.chance(0.25) {
        log.push(HOUR_MS / 4, reviewer, Action::Reviewed);
        // Generated PRs end at their branch head: the rescope goes from the commit before it.
        let (b, pos) = split(from);
        let previous_from = if pos > 0 { index(b, pos - 1) } else { from };
        log.push(
            HOUR_MS + rng.below(20 * HOUR_MS as u64) as i64,
            author,
            Action::Rescoped {
                previous_from,
                from,
            },
        );
    }
    if rng.chance(0.8) {
        log.push(
            HOUR_MS / 2 + rng.below(4 * HOUR_MS as u64) as i64,
            reviewer,
            Action::Approved,
        );
        if rng.chance(0.05) {
            log.push(HOUR_MS, reviewer, Action::Unapproved);
        }
    }
}

/// Most old pull requests are closed (mostly merged by a reviewer), recent ones mostly open;
/// nothing closes after the generated history ends.
fn close(
    log: &mut Log,
    rng: &mut SimRng,
    history: &History<'_>,
    old: bool,
    merger: u32,
    author: u32,
) -> PrState {
    let roll = rng.below(100);
    let closing = if old { roll < 88 } else { roll < 40 };
    let merge = if old { roll < 75 } else { roll < 30 };
    let delay = HOUR_MS + rng.below(48 * HOUR_MS as u64) as i64;
    if !closing || log.now + delay >= GENERATED_UNTIL_MS - HOUR_MS {
        return PrState::Open;
    }
    if merge {
        let commit = history_merge_commit(history, log.now + delay);
        log.push(delay, merger, Action::Merged { commit });
        PrState::Merged
    } else {
        log.push(delay, author, Action::Declined);
        PrState::Declined
    }
}

/// The default-branch commit that stands for the merge of a PR closed at `closed_ms`: the
/// first commit at or after that time (none if the history ends before it).
fn history_merge_commit(history: &History<'_>, closed_ms: i64) -> Option<u64> {
    let (mut lo, mut hi) = (0u64, history.repo.commits);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if history.timestamp(index(MAIN, mid)) < closed_ms {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    (lo < history.repo.commits).then(|| index(MAIN, lo))
}

/// A reviewer's status after the given activities.
pub fn status_of(activities: &[Activity], user: u32) -> ReviewStatus {
    activities
        .iter()
        .filter(|a| a.user == user)
        .fold(ReviewStatus::Unapproved, |s, a| match a.action {
            Action::Approved => ReviewStatus::Approved,
            Action::Reviewed => ReviewStatus::NeedsWork,
            Action::Unapproved => ReviewStatus::Unapproved,
            _ => s,
        })
}

/// The activity stream being generated, with its clock.
struct Log {
    base: u64,
    now: i64,
    items: Vec<Activity>,
}

impl Log {
    /// Records an activity `after` ms after the previous one.
    fn push(&mut self, after: i64, user: u32, action: Action) {
        self.now += after;
        let id = self.base + self.items.len() as u64;
        self.items.push(Activity {
            id,
            created_ms: self.now,
            user,
            action,
        });
    }

    fn wait(&mut self, ms: i64) {
        self.now += ms;
    }
}
