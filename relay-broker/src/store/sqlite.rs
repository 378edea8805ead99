//! [`SqliteStore`]: the embedded store, one SQLite file in WAL mode, migrated at open.
//!
//! The SQL uses `$N` placeholders and `ON CONFLICT` upserts that PostgreSQL accepts as written,
//! so a PostgreSQL store can share most statements. Every write method runs in one
//! `BEGIN IMMEDIATE` transaction: it takes the write lock up front, so two writers queue on the
//! busy timeout instead of failing on a lock upgrade.
//!
//! Module map, by concern:
//! - [`status`](self::status): sync runs, checkpoints, counts.
//! - [`repos`](self::repos): projects and repository metadata.
//! - [`code`](self::code): commits, releases, files, settings; contributors and events.
//! - [`pulls`](self::pulls): pull requests, reviewers, activities.
//! - [`identity`](self::identity): users, groups, people and the identity mapping.
//! - [`accounts`](self::accounts): accounts added through the admin API.
//! - [`rows`](self::rows): row structs, timestamp and number conversions, error mapping.

mod accounts;
mod code;
mod identity;
mod pulls;
mod repos;
mod rows;
mod status;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};
use tokio::sync::Mutex;

use super::{
    AccountKey, ActivityRecord, CodeUpdate, CommitRecord, Contributor, Counts, Event, GroupRecord,
    IdentityMapping, ListedPullRequest, Page, PersonRecord, PrFilter, ProjectRecord,
    PullRequestRecord, ReleaseRecord, RepoFilter, RepoId, RepoKey, RepoRecord, RepoState,
    RepoSummary, RunOutcome, Store, StoreError, StoreResult, SyncKind, SyncRun, UserRecord,
};

/// How long a statement waits for another connection's write lock before failing as busy.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// One writer at a time is SQLite's rule; the rest serve reads concurrently under WAL.
const MAX_CONNECTIONS: u32 = 4;

/// The SQLite store. Cheap to clone (a connection pool).
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// SQLite has one writer at a time. Writers of this process queue here, holding no pooled
    /// connection while they wait, so readers (the API) always find one; writers of other
    /// processes (the CLI) still queue on the busy timeout.
    writer: Arc<Mutex<()>>,
}

impl SqliteStore {
    /// Opens (creating if missing) the database file, in WAL mode with foreign keys on, and
    /// applies pending migrations.
    pub async fn open(path: &Path) -> StoreResult<SqliteStore> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            // Planner statistics, refreshed cheaply as pooled connections retire.
            .optimize_on_close(true, 400);
        let pool = SqlitePoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Open {
                path: path.to_owned(),
                source,
            })?;
        Self::migrated(pool).await
    }

    /// A private in-memory database (one connection that lives as long as the store), for tests.
    pub async fn in_memory() -> StoreResult<SqliteStore> {
        let options = SqliteConnectOptions::new()
            .in_memory(true)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Open {
                path: ":memory:".into(),
                source,
            })?;
        Self::migrated(pool).await
    }

    async fn migrated(pool: SqlitePool) -> StoreResult<SqliteStore> {
        sqlx::migrate!("migrations/sqlite")
            .run(&pool)
            .await
            .map_err(StoreError::Migrate)?;
        Ok(SqliteStore {
            pool,
            writer: Arc::new(Mutex::new(())),
        })
    }

    /// The pool, for diagnostics and tests (`PRAGMA` reads).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Closes every connection (checkpointing the WAL).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Starts a write transaction that holds the write lock from its first statement.
async fn begin_write(pool: &SqlitePool) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
    pool.begin_with("BEGIN IMMEDIATE").await
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn begin_run(&self, account: &AccountKey, kind: SyncKind) -> StoreResult<i64> {
        let _writer = self.writer.lock().await;
        status::begin_run(&self.pool, account, kind).await
    }

    async fn finish_run(&self, run_id: i64, outcome: &RunOutcome) -> StoreResult<()> {
        let _writer = self.writer.lock().await;
        status::finish_run(&self.pool, run_id, outcome).await
    }

    async fn interrupt_unfinished_runs(&self) -> StoreResult<u64> {
        let _writer = self.writer.lock().await;
        status::interrupt_unfinished_runs(&self.pool).await
    }

    async fn prune_history(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let _writer = self.writer.lock().await;
        status::prune_history(&self.pool, before).await
    }

    async fn record_delivery(&self, account: &AccountKey, delivery_id: &str) -> StoreResult<bool> {
        let _writer = self.writer.lock().await;
        status::record_delivery(&self.pool, account, delivery_id).await
    }

    async fn last_runs(&self, tenant: &str) -> StoreResult<Vec<SyncRun>> {
        status::last_runs(&self.pool, tenant).await
    }

    async fn checkpoint(
        &self,
        account: &AccountKey,
        scope: &str,
        key: &str,
    ) -> StoreResult<Option<String>> {
        status::checkpoint(&self.pool, account, scope, key).await
    }

    async fn set_checkpoint(
        &self,
        account: &AccountKey,
        scope: &str,
        key: &str,
        value: &str,
    ) -> StoreResult<()> {
        let _writer = self.writer.lock().await;
        status::set_checkpoint(&self.pool, account, scope, key, value).await
    }

    async fn clear_checkpoint(
        &self,
        account: &AccountKey,
        scope: &str,
        key: &str,
    ) -> StoreResult<()> {
        let _writer = self.writer.lock().await;
        status::clear_checkpoint(&self.pool, account, scope, key).await
    }

    async fn replace_projects(
        &self,
        account: &AccountKey,
        projects: &[ProjectRecord],
    ) -> StoreResult<()> {
        let _writer = self.writer.lock().await;
        repos::replace_projects(&self.pool, account, projects).await
    }

    async fn purge_account(&self, account: &AccountKey) -> StoreResult<()> {
        let _writer = self.writer.lock().await;
        repos::purge_account(&self.pool, account).await
    }

    async fn upsert_repo(&self, account: &AccountKey, repo: &RepoRecord) -> StoreResult<()> {
        let _writer = self.writer.lock().await;
        repos::upsert_repo(&self.pool, account, repo).await
    }

    async fn retain_repos(&self, account: &AccountKey, present: &[RepoId]) -> StoreResult<u64> {
        let _writer = self.writer.lock().await;
        repos::retain_repos(&self.pool, account, present).await
    }

    async fn repo_state(&self, repo: &RepoKey) -> StoreResult<Option<RepoState>> {
        repos::repo_state(&self.pool, repo).await
    }

    async fn repo_states(&self, account: &AccountKey) -> StoreResult<Vec<(RepoId, RepoState)>> {
        repos::repo_states(&self.pool, account).await
    }

    async fn apply_code(&self, update: &CodeUpdate) -> StoreResult<()> {
        let _writer = self.writer.lock().await;
        code::apply_code(&self.pool, update).await
    }

    async fn append_commits(&self, repo: &RepoKey, commits: &[CommitRecord]) -> StoreResult<u64> {
        let _writer = self.writer.lock().await;
        code::append_commits(&self.pool, repo, commits).await
    }

    async fn apply_pull_request(
        &self,
        repo: &RepoKey,
        pr: &PullRequestRecord,
        activities: &[ActivityRecord],
    ) -> StoreResult<()> {
        let _writer = self.writer.lock().await;
        pulls::apply_pull_request(&self.pool, repo, pr, activities).await
    }

    async fn delete_pull_request(&self, repo: &RepoKey, id: i64) -> StoreResult<()> {
        let _writer = self.writer.lock().await;
        pulls::delete_pull_request(&self.pool, repo, id).await
    }

    async fn replace_users(&self, account: &AccountKey, users: &[UserRecord]) -> StoreResult<()> {
        let _writer = self.writer.lock().await;
        identity::replace_users(&self.pool, account, users).await
    }

    async fn replace_groups(
        &self,
        account: &AccountKey,
        groups: Option<&[GroupRecord]>,
        degraded_reason: Option<&str>,
    ) -> StoreResult<()> {
        let _writer = self.writer.lock().await;
        identity::replace_groups(&self.pool, account, groups, degraded_reason).await
    }

    async fn replace_people(&self, tenant: &str, people: &[PersonRecord]) -> StoreResult<()> {
        let _writer = self.writer.lock().await;
        identity::replace_people(&self.pool, tenant, people).await
    }

    async fn projects(&self, tenant: &str) -> StoreResult<Vec<(String, ProjectRecord)>> {
        repos::projects(&self.pool, tenant).await
    }

    async fn repos(&self, tenant: &str, filter: &RepoFilter) -> StoreResult<Vec<RepoSummary>> {
        repos::repos(&self.pool, tenant, filter).await
    }

    async fn repo(&self, repo: &RepoKey) -> StoreResult<Option<RepoSummary>> {
        repos::repo(&self.pool, repo).await
    }

    async fn files(&self, repo: &RepoKey) -> StoreResult<Vec<String>> {
        code::files(&self.pool, repo).await
    }

    async fn top_contributors(&self, repo: &RepoKey, limit: u32) -> StoreResult<Vec<Contributor>> {
        code::top_contributors(&self.pool, repo, limit).await
    }

    async fn recent_commits(&self, repo: &RepoKey, limit: u32) -> StoreResult<Vec<CommitRecord>> {
        code::recent_commits(&self.pool, repo, limit).await
    }

    async fn recent_releases(&self, repo: &RepoKey, limit: u32) -> StoreResult<Vec<ReleaseRecord>> {
        code::recent_releases(&self.pool, repo, limit).await
    }

    async fn events(&self, repo: &RepoKey, page: Page) -> StoreResult<Vec<Event>> {
        code::events(&self.pool, repo, page).await
    }

    async fn pull_requests(
        &self,
        tenant: &str,
        filter: &PrFilter,
    ) -> StoreResult<Vec<ListedPullRequest>> {
        pulls::pull_requests(&self.pool, tenant, filter).await
    }

    async fn activities(&self, repo: &RepoKey, pr_id: i64) -> StoreResult<Vec<ActivityRecord>> {
        pulls::activities(&self.pool, repo, pr_id).await
    }

    async fn users(
        &self,
        tenant: &str,
        alias: Option<&str>,
    ) -> StoreResult<Vec<(String, UserRecord)>> {
        identity::users(&self.pool, tenant, alias).await
    }

    async fn groups(
        &self,
        tenant: &str,
        alias: Option<&str>,
    ) -> StoreResult<Vec<(String, GroupRecord)>> {
        identity::groups(&self.pool, tenant, alias).await
    }

    async fn groups_state(&self, account: &AccountKey) -> StoreResult<Option<String>> {
        identity::groups_state(&self.pool, account).await
    }

    async fn identity_mapping(&self, tenant: &str) -> StoreResult<IdentityMapping> {
        identity::identity_mapping(&self.pool, tenant).await
    }

    async fn counts(&self, tenant: &str) -> StoreResult<Counts> {
        status::counts(&self.pool, tenant).await
    }

    async fn save_account(
        &self,
        account: &AccountKey,
        spec: &serde_json::Value,
    ) -> StoreResult<()> {
        let _writer = self.writer.lock().await;
        accounts::save_account(&self.pool, account, spec).await
    }

    async fn delete_account_spec(&self, account: &AccountKey) -> StoreResult<bool> {
        let _writer = self.writer.lock().await;
        accounts::delete_account_spec(&self.pool, account).await
    }

    async fn account_specs(&self) -> StoreResult<Vec<(AccountKey, serde_json::Value)>> {
        accounts::account_specs(&self.pool).await
    }
}
