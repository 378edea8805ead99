//! Keys and the records the sync engine writes through the [`Store`](super::Store) (and reads
//! back as they were written). Plain data with serde, no SQL: every implementation shares them.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Commit messages are stored in full up to this many bytes (cut at a character boundary).
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// One Bitbucket account of one tenant.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AccountKey {
    pub tenant: String,
    pub alias: String,
}

impl AccountKey {
    pub fn new(tenant: impl Into<String>, alias: impl Into<String>) -> Self {
        Self {
            tenant: tenant.into(),
            alias: alias.into(),
        }
    }

    /// The key of one of this account's repositories.
    pub fn repo(&self, project: impl Into<String>, slug: impl Into<String>) -> RepoKey {
        RepoKey {
            tenant: self.tenant.clone(),
            alias: self.alias.clone(),
            project: project.into(),
            slug: slug.into(),
        }
    }
}

impl fmt::Display for AccountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.tenant, self.alias)
    }
}

/// A repository within an account: project key and repository slug.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RepoId {
    pub project: String,
    pub slug: String,
}

impl RepoId {
    pub fn new(project: impl Into<String>, slug: impl Into<String>) -> Self {
        Self {
            project: project.into(),
            slug: slug.into(),
        }
    }
}

/// A repository, fully qualified: tenant, account alias, project key, slug.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RepoKey {
    pub tenant: String,
    pub alias: String,
    pub project: String,
    pub slug: String,
}

impl RepoKey {
    pub fn account(&self) -> AccountKey {
        AccountKey::new(self.tenant.clone(), self.alias.clone())
    }

    pub fn id(&self) -> RepoId {
        RepoId::new(self.project.clone(), self.slug.clone())
    }
}

impl fmt::Display for RepoKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}/{}",
            self.tenant, self.alias, self.project, self.slug
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Sync runs

/// What a sync run covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncKind {
    Identities,
    Repositories,
    PullRequests,
    Webhook,
}

impl SyncKind {
    pub const ALL: [SyncKind; 4] = [
        Self::Identities,
        Self::Repositories,
        Self::PullRequests,
        Self::Webhook,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Identities => "identities",
            Self::Repositories => "repositories",
            Self::PullRequests => "pull_requests",
            Self::Webhook => "webhook",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// How a sync run ended; `Running` until [`Store::finish_run`](super::Store::finish_run).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Ok,
    /// Finished, but some repositories or entities failed (see the errors).
    Partial,
    Failed,
    /// Stopped by shutdown, or found still `Running` after a restart.
    Interrupted,
}

impl RunStatus {
    pub const ALL: [RunStatus; 5] = [
        Self::Running,
        Self::Ok,
        Self::Partial,
        Self::Failed,
        Self::Interrupted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Ok => "ok",
            Self::Partial => "partial",
            Self::Failed => "failed",
            Self::Interrupted => "interrupted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// What [`Store::finish_run`](super::Store::finish_run) records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunOutcome {
    pub status: RunStatus,
    /// Bitbucket calls made by the run.
    pub calls: u64,
    pub errors: Vec<String>,
    /// Free-form figures (repos changed, commits added, ...).
    pub detail: serde_json::Value,
}

/// One sync run as the status API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncRun {
    pub id: i64,
    pub alias: String,
    pub kind: SyncKind,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<i64>,
    pub calls: u64,
    pub status: RunStatus,
    pub errors: Vec<String>,
    pub detail: serde_json::Value,
}

// ---------------------------------------------------------------------------------------------
// Projects, repositories, code

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectRecord {
    pub key: String,
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    pub public: bool,
    pub personal: bool,
    pub link: Option<String>,
}

/// Repository metadata as listed by Bitbucket (what [`Store::upsert_repo`](super::Store::upsert_repo) writes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoRecord {
    pub project: String,
    pub slug: String,
    pub id: i64,
    pub name: String,
    pub archived: bool,
    pub public: bool,
    pub link: Option<String>,
    pub default_branch: Option<String>,
}

impl RepoRecord {
    pub fn repo_id(&self) -> RepoId {
        RepoId::new(self.project.clone(), self.slug.clone())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitRecord {
    pub id: String,
    pub author_name: String,
    pub author_email: Option<String>,
    pub author_at: DateTime<Utc>,
    pub committer_at: DateTime<Utc>,
    /// The full message; cut to [`MAX_MESSAGE_BYTES`] when stored.
    pub message: String,
    pub link: Option<String>,
}

impl CommitRecord {
    /// The first line of the message.
    pub fn title(&self) -> &str {
        self.message.lines().next().unwrap_or_default()
    }
}

/// A tag, shown as a release (Bitbucket Server has no releases).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseRecord {
    pub name: String,
    pub commit_id: String,
    pub commit_at: Option<DateTime<Utc>>,
    pub link: Option<String>,
}

/// Pull-request settings and branch rules of a repository.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepoSettings {
    pub required_approvals: Option<u32>,
    pub default_reviewers: serde_json::Value,
    pub branch_restrictions: serde_json::Value,
}

/// Everything one code sync of one repository writes, applied in one transaction by
/// [`Store::apply_code`](super::Store::apply_code).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodeUpdate {
    pub repo: RepoKey,
    /// Always written (`None`: the repository has no default branch yet).
    pub default_branch: Option<String>,
    /// Always written: the default-branch head the stored commits now reach (`None`: empty
    /// repository, or a history still being streamed).
    pub head: Option<String>,
    /// Added, ignoring ids already stored.
    pub new_commits: Vec<CommitRecord>,
    /// Delete every stored commit first (the default branch was rewritten).
    pub replace_history: bool,
    /// `Some`: replaces all releases.
    pub releases: Option<Vec<ReleaseRecord>>,
    /// `Some`: replaces the file list at head; also sets the file count and `top_language`.
    pub files: Option<Vec<String>>,
    /// Written only together with `files`.
    pub top_language: Option<String>,
    /// `Some`: replaces the settings.
    pub settings: Option<RepoSettings>,
}

impl CodeUpdate {
    /// An update that only records the default branch and head.
    pub fn new(repo: RepoKey, default_branch: Option<String>, head: Option<String>) -> Self {
        Self {
            repo,
            default_branch,
            head,
            new_commits: Vec::new(),
            replace_history: false,
            releases: None,
            files: None,
            top_language: None,
            settings: None,
        }
    }
}

/// What incremental sync needs to know about a stored repository.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepoState {
    pub id: i64,
    pub archived: bool,
    pub default_branch: Option<String>,
    /// The head the stored commits reach, as set by the last `apply_code`.
    pub head: Option<String>,
    pub code_synced_at: Option<DateTime<Utc>>,
    pub commits: u64,
    /// The newest committer time of the stored commits (how recently it was pushed to).
    pub last_commit_at: Option<DateTime<Utc>>,
    /// The newest `updated_at` of the stored pull requests: the high-water mark.
    pub pr_high_water: Option<DateTime<Utc>>,
    pub settings: Option<RepoSettings>,
}

// ---------------------------------------------------------------------------------------------
// Pull requests

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PrState {
    Open,
    Merged,
    Declined,
}

impl PrState {
    pub const ALL: [PrState; 3] = [Self::Open, Self::Merged, Self::Declined];

    /// Bitbucket's spelling: `OPEN`, `MERGED`, `DECLINED`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "OPEN",
            Self::Merged => "MERGED",
            Self::Declined => "DECLINED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s))
    }
}

/// A Bitbucket user as a pull request names them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrUser {
    pub slug: String,
    pub display_name: String,
    pub email: Option<String>,
}

/// A reviewer or participant of a pull request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewerRecord {
    pub slug: String,
    pub name: String,
    pub email: Option<String>,
    /// Bitbucket's `status`: `UNAPPROVED`, `NEEDS_WORK`, `APPROVED`.
    pub status: String,
    pub approved: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullRequestRecord {
    pub id: i64,
    pub version: i64,
    pub title: String,
    pub description: Option<String>,
    pub state: PrState,
    pub author: PrUser,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub from_branch: String,
    pub to_branch: String,
    pub link: Option<String>,
    pub reviewers: Vec<ReviewerRecord>,
    pub participants: Vec<ReviewerRecord>,
}

/// One pull-request activity (`OPENED`, `APPROVED`, `REVIEWED`, `MERGED`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityRecord {
    pub id: i64,
    pub action: String,
    pub user_slug: Option<String>,
    pub at: DateTime<Utc>,
}

// ---------------------------------------------------------------------------------------------
// Identities

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRecord {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub display_name: String,
    pub email: Option<String>,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRecord {
    pub name: String,
    /// Member user slugs.
    pub members: Vec<String>,
}

/// A person of the portal's people directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonRecord {
    pub email: String,
    pub name: String,
}
