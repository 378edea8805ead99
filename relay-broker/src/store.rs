//! The broker's store: everything the sync engine learns from Bitbucket, per tenant.
//!
//! The engine and the API talk to the [`Store`] trait only (as `Arc<dyn Store>`), so a
//! PostgreSQL implementation can follow the SQLite one without touching them (`docs/store.md`).
//!
//! Module map:
//! - `store` (this file): the [`Store`] trait, the contract, and [`StoreError`].
//! - [`records`]: keys and the records the engine writes (projects, repos, commits, PRs, users).
//! - [`views`]: what the API reads: filters, pages, summaries, events, identity mapping, counts.
//! - [`sqlite`]: [`SqliteStore`], the embedded default (one file, WAL, migrations at open).
//!
//! Rules every implementation keeps:
//! - Every row carries its tenant (and account alias) in its key; every read filters by tenant,
//!   so no call for one tenant can return another's rows.
//! - Each write method is one transaction: a crash never leaves half a repository, half a
//!   project list or half a directory.
//! - Writes are idempotent where the engine may repeat them after a crash (commit appends ignore
//!   ids already stored; upserts replace).

pub mod records;
pub mod sqlite;
pub mod views;

#[cfg(test)]
mod tests;

use std::path::PathBuf;

use chrono::{DateTime, Utc};

pub use records::*;
pub use sqlite::SqliteStore;
pub use views::*;

/// Store results.
pub type StoreResult<T> = Result<T, StoreError>;

/// Why a store operation failed: the operation, its key and the database error.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store: cannot open the database at {}", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: sqlx::Error,
    },
    #[error("store: cannot migrate the database schema")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    #[error("store: {op} for {key} failed")]
    Database {
        op: &'static str,
        key: String,
        #[source]
        source: sqlx::Error,
    },
    /// The operation needs a row that is not stored (a repository not upserted, an unknown run).
    #[error("store: {op}: {key} is not stored")]
    NotFound { op: &'static str, key: String },
    /// A stored value that cannot be read back (an unknown enum name, a timestamp out of range).
    #[error("store: {op} for {key}: corrupt value: {reason}")]
    Corrupt {
        op: &'static str,
        key: String,
        reason: String,
    },
}

impl StoreError {
    /// Whether trying again later may succeed: the database was busy or locked, or the pool had
    /// no free connection in time. Constraint violations and corrupt data are not retryable.
    pub fn is_retryable(&self) -> bool {
        let source = match self {
            Self::Open { source, .. } | Self::Database { source, .. } => source,
            Self::Migrate(_) | Self::NotFound { .. } | Self::Corrupt { .. } => return false,
        };
        match source {
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) => true,
            sqlx::Error::Database(db) => db.code().is_some_and(|code| is_busy_code(&code)),
            _ => false,
        }
    }
}

/// PostgreSQL SQLSTATEs (five characters) for serialization failure, deadlock and lock not
/// available; otherwise SQLite's BUSY (5) and LOCKED (6), extended codes included.
fn is_busy_code(code: &str) -> bool {
    if code.len() == 5 {
        return matches!(code, "40001" | "40P01" | "55P03");
    }
    code.parse::<i64>().is_ok_and(|n| matches!(n & 0xff, 5 | 6))
}

/// The store of one broker: sync status, Bitbucket data and identities of every tenant.
///
/// Dyn-compatible: the engine and the API hold an `Arc<dyn Store>`.
#[async_trait::async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    // --- sync status and checkpoints

    /// Records the start of a run (status `running`); returns its id.
    async fn begin_run(&self, account: &AccountKey, kind: SyncKind) -> StoreResult<i64>;
    /// Records how a run ended (sets `finished_at` now).
    async fn finish_run(&self, run_id: i64, outcome: &RunOutcome) -> StoreResult<()>;
    /// Marks every run still `running` as `interrupted` (call once at startup, before any sync:
    /// those runs died with the previous process); returns how many.
    async fn interrupt_unfinished_runs(&self) -> StoreResult<u64>;
    /// Deletes finished runs that started before `before` (always keeping the latest run per
    /// tenant, alias and kind) and webhook deliveries received before it; returns rows deleted.
    async fn prune_history(&self, before: DateTime<Utc>) -> StoreResult<u64>;
    /// Records a webhook delivery by its request id; `false` if it was already recorded (a
    /// redelivery to ignore).
    async fn record_delivery(&self, account: &AccountKey, delivery_id: &str) -> StoreResult<bool>;
    /// The latest run per (alias, kind) of a tenant, ordered by alias then kind.
    async fn last_runs(&self, tenant: &str) -> StoreResult<Vec<SyncRun>>;
    async fn checkpoint(
        &self,
        account: &AccountKey,
        scope: &str,
        key: &str,
    ) -> StoreResult<Option<String>>;
    async fn set_checkpoint(
        &self,
        account: &AccountKey,
        scope: &str,
        key: &str,
        value: &str,
    ) -> StoreResult<()>;
    /// Removes one checkpoint (a finished pass no longer needs its resume point).
    async fn clear_checkpoint(
        &self,
        account: &AccountKey,
        scope: &str,
        key: &str,
    ) -> StoreResult<()>;

    // --- projects and repositories

    /// Upserts all given projects and deletes the account's others with their repositories and
    /// all their data, in one transaction.
    async fn replace_projects(
        &self,
        account: &AccountKey,
        projects: &[ProjectRecord],
    ) -> StoreResult<()>;
    /// Deletes everything of one account (a removed configuration): projects with all their
    /// data, users, groups, checkpoints, runs and deliveries, in one transaction.
    async fn purge_account(&self, account: &AccountKey) -> StoreResult<()>;
    /// Upserts repository metadata (name, flags, link, default branch); its project must exist.
    async fn upsert_repo(&self, account: &AccountKey, repo: &RepoRecord) -> StoreResult<()>;
    /// Deletes the account's repositories not in `present`, with all their data; returns how many.
    async fn retain_repos(&self, account: &AccountKey, present: &[RepoId]) -> StoreResult<u64>;
    async fn repo_state(&self, repo: &RepoKey) -> StoreResult<Option<RepoState>>;
    /// [`Store::repo_state`] of every repository of the account in one query (for planning a
    /// pass over 10,000 repositories), ordered by project then slug.
    async fn repo_states(&self, account: &AccountKey) -> StoreResult<Vec<(RepoId, RepoState)>>;
    /// Applies one code sync of one repository in one transaction (see [`CodeUpdate`]).
    async fn apply_code(&self, update: &CodeUpdate) -> StoreResult<()>;
    /// Adds commits without touching the head (streaming a long first history page by page
    /// before the final `apply_code`); ignores ids already stored; returns rows inserted.
    async fn append_commits(&self, repo: &RepoKey, commits: &[CommitRecord]) -> StoreResult<u64>;
    /// Upserts a pull request with its reviewers and participants and replaces its activities,
    /// in one transaction.
    async fn apply_pull_request(
        &self,
        repo: &RepoKey,
        pr: &PullRequestRecord,
        activities: &[ActivityRecord],
    ) -> StoreResult<()>;
    async fn delete_pull_request(&self, repo: &RepoKey, id: i64) -> StoreResult<()>;

    // --- identities

    /// Replaces the account's users, in one transaction.
    async fn replace_users(&self, account: &AccountKey, users: &[UserRecord]) -> StoreResult<()>;
    /// `Some(groups)`: replaces the account's groups and members. `None`: keeps the previous
    /// groups. Either way records `degraded_reason` (`None` clears it).
    async fn replace_groups(
        &self,
        account: &AccountKey,
        groups: Option<&[GroupRecord]>,
        degraded_reason: Option<&str>,
    ) -> StoreResult<()>;
    /// Replaces the tenant's people directory (one entry per case-insensitive email).
    async fn replace_people(&self, tenant: &str, people: &[PersonRecord]) -> StoreResult<()>;

    // --- reads (every one filtered by tenant)

    /// Projects with their account alias, ordered by alias then key.
    async fn projects(&self, tenant: &str) -> StoreResult<Vec<(String, ProjectRecord)>>;
    /// Repositories ordered by alias, project, slug.
    async fn repos(&self, tenant: &str, filter: &RepoFilter) -> StoreResult<Vec<RepoSummary>>;
    async fn repo(&self, repo: &RepoKey) -> StoreResult<Option<RepoSummary>>;
    /// The file paths at the default-branch head, sorted.
    async fn files(&self, repo: &RepoKey) -> StoreResult<Vec<String>>;
    /// Contributors by commit count, most first.
    async fn top_contributors(&self, repo: &RepoKey, limit: u32) -> StoreResult<Vec<Contributor>>;
    /// Newest committer time first (then author time, then id, all descending).
    async fn recent_commits(&self, repo: &RepoKey, limit: u32) -> StoreResult<Vec<CommitRecord>>;
    /// Newest commit time first; releases without one last.
    async fn recent_releases(&self, repo: &RepoKey, limit: u32) -> StoreResult<Vec<ReleaseRecord>>;
    /// Commits and releases merged, newest first, in a stable order for paging.
    async fn events(&self, repo: &RepoKey, page: Page) -> StoreResult<Vec<Event>>;
    /// Pull requests, most recently updated first (ties: alias, project, slug, id, descending).
    async fn pull_requests(
        &self,
        tenant: &str,
        filter: &PrFilter,
    ) -> StoreResult<Vec<ListedPullRequest>>;
    /// A pull request's activities, oldest first.
    async fn activities(&self, repo: &RepoKey, pr_id: i64) -> StoreResult<Vec<ActivityRecord>>;
    /// Users with their account alias, by alias then slug.
    async fn users(
        &self,
        tenant: &str,
        alias: Option<&str>,
    ) -> StoreResult<Vec<(String, UserRecord)>>;
    /// Groups with their members and account alias, by alias then name.
    async fn groups(
        &self,
        tenant: &str,
        alias: Option<&str>,
    ) -> StoreResult<Vec<(String, GroupRecord)>>;
    /// Why the account's groups are degraded, if they are.
    async fn groups_state(&self, account: &AccountKey) -> StoreResult<Option<String>>;
    /// Bitbucket users ⇄ people by case-insensitive email, with the unmapped of both sides.
    async fn identity_mapping(&self, tenant: &str) -> StoreResult<IdentityMapping>;
    async fn counts(&self, tenant: &str) -> StoreResult<Counts>;

    // --- accounts added through the admin API (config-file accounts are not stored)

    /// Stores (or replaces) an API-managed account's spec (its `[[tenants.accounts]]` as JSON).
    async fn save_account(&self, account: &AccountKey, spec: &serde_json::Value)
    -> StoreResult<()>;
    /// Forgets an API-managed account's spec; `false` if there was none.
    async fn delete_account_spec(&self, account: &AccountKey) -> StoreResult<bool>;
    /// Every API-managed account, for loading at start.
    async fn account_specs(&self) -> StoreResult<Vec<(AccountKey, serde_json::Value)>>;
}
