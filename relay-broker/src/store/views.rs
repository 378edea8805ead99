//! What the API reads: filters and pages, summaries, events, contributors, the identity
//! mapping and counts. Shapes of query results, built from the [`records`](super::records).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::records::{PersonRecord, PrState, PullRequestRecord, UserRecord};

/// A pull request as listed across repositories: where it lives, then the record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListedPullRequest {
    pub alias: String,
    pub project: String,
    pub slug: String,
    #[serde(flatten)]
    pub pr: PullRequestRecord,
}

/// A Bitbucket user matched to a person by case-insensitive email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MappedIdentity {
    pub person: PersonRecord,
    pub alias: String,
    pub user: UserRecord,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnmappedReason {
    NoEmail,
    NoPerson,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnmappedUser {
    pub alias: String,
    pub user: UserRecord,
    pub reason: UnmappedReason,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityMapping {
    pub mapped: Vec<MappedIdentity>,
    pub unmapped_users: Vec<UnmappedUser>,
    pub unmapped_people: Vec<PersonRecord>,
}

/// Offset paging.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    pub offset: u32,
    pub limit: u32,
}

impl Page {
    pub const DEFAULT_LIMIT: u32 = 100;

    pub fn new(offset: u32, limit: u32) -> Self {
        Self { offset, limit }
    }
}

impl Default for Page {
    fn default() -> Self {
        Self {
            offset: 0,
            limit: Self::DEFAULT_LIMIT,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoFilter {
    pub alias: Option<String>,
    pub project: Option<String>,
    pub page: Page,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrFilter {
    pub alias: Option<String>,
    pub project: Option<String>,
    /// Repository slug.
    pub repo: Option<String>,
    pub state: Option<PrState>,
    /// Author user slug.
    pub author: Option<String>,
    /// Reviewer user slug.
    pub reviewer: Option<String>,
    pub page: Page,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepoSummary {
    pub alias: String,
    pub project: String,
    pub slug: String,
    pub id: i64,
    pub name: String,
    pub link: Option<String>,
    pub public: bool,
    pub archived: bool,
    pub default_branch: Option<String>,
    pub head: Option<String>,
    pub top_language: Option<String>,
    pub file_count: Option<u64>,
    pub required_approvals: Option<u32>,
    pub code_synced_at: Option<DateTime<Utc>>,
}

/// Commits grouped by case-insensitive author email (the name when there is none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contributor {
    /// Name and email of the contributor's newest commit.
    pub name: String,
    pub email: Option<String>,
    pub commits: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Commit,
    Release,
}

/// A commit or a release in a repository's events list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub kind: EventKind,
    /// Commit id or tag name.
    pub id: String,
    /// First line of the commit message, or the tag name.
    pub title: String,
    /// Commit: committer time. Release: its commit's time (releases without one come last).
    pub at: Option<DateTime<Utc>>,
    pub link: Option<String>,
}

/// Row counts of one tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub projects: u64,
    pub repos: u64,
    pub commits: u64,
    pub releases: u64,
    pub files: u64,
    pub pull_requests: u64,
    /// By Bitbucket state (`OPEN`, `MERGED`, `DECLINED`).
    pub pull_requests_by_state: BTreeMap<String, u64>,
    pub activities: u64,
    pub users: u64,
    pub groups: u64,
    pub group_members: u64,
    pub people: u64,
}
