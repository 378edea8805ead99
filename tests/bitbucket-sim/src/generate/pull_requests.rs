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
    let from_commit = index(branch.number, branch.len.saturating_sub(1));
    let created =
        history.timestamp(from_commit) + HOUR_MS / 6 + rng.below(2 * HOUR_MS as u64) as i64;
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
        items: Vec::new(),
    };
    log.push(created, author, Action::Opened);

    let mut t = created;
    let from = from_commit;
    let old = created < GENERATED_UNTIL_MS - 30 * 24 * HOUR_MS;
    for &reviewer in &reviewers {
        t += HOUR_MS + rng.below(7 * HOUR_MS as u64) as i64;
        if rng.chance(0.6) {
            let text = rng.word(COMMENTS).to_owned();
            log.push(
                t,
                reviewer,
                Action::Commented {
                    comment_id: log.base + log.items.len() as u64,
                    text,
                },
            );
        }
        if rng.chance(0.25) {
            t += HOUR_MS / 4;
            log.push(t, reviewer, Action::Reviewed);
            t += HOUR_MS + rng.below(20 * HOUR_MS as u64) as i64;
            // The author pushed a fix. Generated PRs always end at their branch head, so the
            // rescope goes from the commit before the head to the head.
            let (b, pos) = split(from);
            let previous_from = if pos > 0 { index(b, pos - 1) } else { from };
            log.push(
                t,
                author,
                Action::Rescoped {
                    previous_from,
                    from,
                },
            );
        }
        if rng.chance(0.8) {
            t += HOUR_MS / 2 + rng.below(4 * HOUR_MS as u64) as i64;
            log.push(t, reviewer, Action::Approved);
            if rng.chance(0.05) {
                t += HOUR_MS;
                log.push(t, reviewer, Action::Unapproved);
            }
        }
    }
    let roll = rng.below(100);
    let closing = if old { roll < 88 } else { roll < 40 };
    let mut state = PrState::Open;
    if closing {
        let merge = if old { roll < 75 } else { roll < 30 };
        let closed = t + HOUR_MS + rng.below(48 * HOUR_MS as u64) as i64;
        if closed < GENERATED_UNTIL_MS - HOUR_MS {
            let closer = if merge {
                reviewers.first().copied().unwrap_or(author)
            } else {
                author
            };
            t = closed;
            if merge {
                let commit = history_merge_commit(history, closed);
                log.push(t, closer, Action::Merged { commit });
                state = PrState::Merged;
            } else {
                log.push(t, closer, Action::Declined);
                state = PrState::Declined;
            }
        }
    }
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
    let version = activities
        .iter()
        .filter(|a| matches!(a.action, Action::Rescoped { .. }))
        .count() as u32
        + u32::from(state != PrState::Open);
    PullRequest {
        id,
        version,
        description: format!(
            "Fixes {ticket}.\n\n* {} the {}\n* add tests",
            rng.word(VERBS),
            rng.word(COMPONENTS)
        ),
        title,
        state,
        draft: state == PrState::Open && rng.chance(0.05),
        created_ms: created,
        updated_ms: t,
        closed_ms: (state != PrState::Open).then_some(t),
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

struct Log {
    base: u64,
    items: Vec<Activity>,
}

impl Log {
    fn push(&mut self, created_ms: i64, user: u32, action: Action) {
        let id = self.base + self.items.len() as u64;
        self.items.push(Activity {
            id,
            created_ms,
            user,
            action,
        });
    }
}
