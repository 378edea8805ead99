//! A repository's code data: the one-transaction [`apply_code`], batched commit appends, and
//! the reads behind the repository page (contributors, recent commits and releases, events).

use sqlx::{QueryBuilder, Sqlite, SqliteConnection, SqlitePool};

use super::begin_write;
use super::rows::{
    BATCH_ROWS, CommitRow, ReleaseRow, at_opt, author_key, capped, corrupt, count, db, json_text,
    ms, now_ms, to_i64,
};
use crate::store::{
    CodeUpdate, CommitRecord, Contributor, Event, EventKind, Page, ReleaseRecord, RepoKey,
    RepoSettings, StoreError, StoreResult,
};

/// Applies one code sync of one repository: everything or nothing.
pub(super) async fn apply_code(pool: &SqlitePool, update: &CodeUpdate) -> StoreResult<()> {
    let repo = &update.repo;
    let err = db("apply_code", repo);
    let mut tx = begin_write(pool).await.map_err(db("apply_code", repo))?;
    let found = sqlx::query(
        "UPDATE repos SET default_branch = $5, head = $6, code_synced_at = $7 \
         WHERE tenant = $1 AND alias = $2 AND project = $3 AND slug = $4",
    )
    .bind(&repo.tenant)
    .bind(&repo.alias)
    .bind(&repo.project)
    .bind(&repo.slug)
    .bind(&update.default_branch)
    .bind(&update.head)
    .bind(now_ms())
    .execute(&mut *tx)
    .await
    .map_err(db("apply_code", repo))?
    .rows_affected();
    if found == 0 {
        // Dropping the transaction rolls it back.
        return Err(StoreError::NotFound {
            op: "apply_code",
            key: repo.to_string(),
        });
    }
    let result: Result<u64, sqlx::Error> = async {
        if update.replace_history {
            delete_of_repo(&mut tx, "DELETE FROM commits", repo).await?;
        }
        let added = insert_commits(&mut tx, repo, &update.new_commits).await?;
        if let Some(releases) = &update.releases {
            delete_of_repo(&mut tx, "DELETE FROM releases", repo).await?;
            insert_releases(&mut tx, repo, releases).await?;
        }
        if let Some(files) = &update.files {
            delete_of_repo(&mut tx, "DELETE FROM files", repo).await?;
            let stored = insert_files(&mut tx, repo, files).await?;
            set_files_summary(&mut tx, repo, stored, update.top_language.as_deref()).await?;
        }
        if let Some(settings) = &update.settings {
            set_settings(&mut tx, repo, settings).await?;
        }
        tx.commit().await?;
        Ok(added)
    }
    .await;
    let added = result.map_err(err)?;
    tracing::debug!(
        tenant = %repo.tenant,
        alias = %repo.alias,
        repo = %format_args!("{}/{}", repo.project, repo.slug),
        head = update.head.as_deref().unwrap_or("-"),
        commits_added = added,
        replace_history = update.replace_history,
        "store: code update applied"
    );
    Ok(())
}

/// Streams commits in without moving the head; idempotent on commit id.
pub(super) async fn append_commits(
    pool: &SqlitePool,
    repo: &RepoKey,
    commits: &[CommitRecord],
) -> StoreResult<u64> {
    let result: Result<u64, sqlx::Error> = async {
        let mut tx = begin_write(pool).await?;
        let inserted = insert_commits(&mut tx, repo, commits).await?;
        tx.commit().await?;
        Ok(inserted)
    }
    .await;
    result.map_err(db("append_commits", repo))
}

/// Runs `<delete> WHERE <this repository>`; `delete` is a `DELETE FROM table` literal.
async fn delete_of_repo(
    conn: &mut SqliteConnection,
    delete: &'static str,
    repo: &RepoKey,
) -> Result<(), sqlx::Error> {
    let mut q = QueryBuilder::<Sqlite>::new(delete);
    push_repo_filter(&mut q, repo);
    q.build().execute(conn).await?;
    Ok(())
}

fn push_repo_filter(q: &mut QueryBuilder<Sqlite>, repo: &RepoKey) {
    q.push(" WHERE tenant = ").push_bind(repo.tenant.as_str());
    q.push(" AND alias = ").push_bind(repo.alias.as_str());
    q.push(" AND project = ").push_bind(repo.project.as_str());
    q.push(" AND slug = ").push_bind(repo.slug.as_str());
}

/// Multi-row `INSERT ... ON CONFLICT DO NOTHING` in batches of [`BATCH_ROWS`]; returns rows
/// inserted (duplicates of stored ids are not counted).
async fn insert_commits(
    conn: &mut SqliteConnection,
    repo: &RepoKey,
    commits: &[CommitRecord],
) -> Result<u64, sqlx::Error> {
    let mut inserted = 0;
    for batch in commits.chunks(BATCH_ROWS) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO commits (tenant, alias, project, slug, id, author_name, author_email, \
             author_key, author_at, committer_at, message, link) ",
        );
        q.push_values(batch, |mut row, c| {
            row.push_bind(repo.tenant.as_str())
                .push_bind(repo.alias.as_str())
                .push_bind(repo.project.as_str())
                .push_bind(repo.slug.as_str())
                .push_bind(c.id.as_str())
                .push_bind(c.author_name.as_str())
                .push_bind(c.author_email.as_deref())
                .push_bind(author_key(c))
                .push_bind(ms(c.author_at))
                .push_bind(ms(c.committer_at))
                .push_bind(capped(&c.message))
                .push_bind(c.link.as_deref());
        });
        q.push(" ON CONFLICT DO NOTHING");
        inserted += q.build().execute(&mut *conn).await?.rows_affected();
    }
    Ok(inserted)
}

/// Plain `INSERT`: two releases with one name are a caller bug and fail the transaction.
async fn insert_releases(
    conn: &mut SqliteConnection,
    repo: &RepoKey,
    releases: &[ReleaseRecord],
) -> Result<(), sqlx::Error> {
    for batch in releases.chunks(BATCH_ROWS) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO releases (tenant, alias, project, slug, name, commit_id, commit_at, link) ",
        );
        q.push_values(batch, |mut row, r| {
            row.push_bind(repo.tenant.as_str())
                .push_bind(repo.alias.as_str())
                .push_bind(repo.project.as_str())
                .push_bind(repo.slug.as_str())
                .push_bind(r.name.as_str())
                .push_bind(r.commit_id.as_str())
                .push_bind(r.commit_at.map(ms))
                .push_bind(r.link.as_deref());
        });
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// Returns the number of distinct paths stored.
async fn insert_files(
    conn: &mut SqliteConnection,
    repo: &RepoKey,
    files: &[String],
) -> Result<u64, sqlx::Error> {
    let mut stored = 0;
    for batch in files.chunks(BATCH_ROWS) {
        let mut q =
            QueryBuilder::<Sqlite>::new("INSERT INTO files (tenant, alias, project, slug, path) ");
        q.push_values(batch, |mut row, path| {
            row.push_bind(repo.tenant.as_str())
                .push_bind(repo.alias.as_str())
                .push_bind(repo.project.as_str())
                .push_bind(repo.slug.as_str())
                .push_bind(path.as_str());
        });
        q.push(" ON CONFLICT DO NOTHING");
        stored += q.build().execute(&mut *conn).await?.rows_affected();
    }
    Ok(stored)
}

async fn set_files_summary(
    conn: &mut SqliteConnection,
    repo: &RepoKey,
    file_count: u64,
    top_language: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE repos SET file_count = $5, top_language = $6 \
         WHERE tenant = $1 AND alias = $2 AND project = $3 AND slug = $4",
    )
    .bind(&repo.tenant)
    .bind(&repo.alias)
    .bind(&repo.project)
    .bind(&repo.slug)
    .bind(to_i64(file_count))
    .bind(top_language)
    .execute(conn)
    .await?;
    Ok(())
}

async fn set_settings(
    conn: &mut SqliteConnection,
    repo: &RepoKey,
    settings: &RepoSettings,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE repos SET required_approvals = $5, default_reviewers = $6, \
             branch_restrictions = $7, settings_synced_at = $8 \
         WHERE tenant = $1 AND alias = $2 AND project = $3 AND slug = $4",
    )
    .bind(&repo.tenant)
    .bind(&repo.alias)
    .bind(&repo.project)
    .bind(&repo.slug)
    .bind(settings.required_approvals.map(i64::from))
    .bind(json_text(&settings.default_reviewers))
    .bind(json_text(&settings.branch_restrictions))
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(())
}

pub(super) async fn files(pool: &SqlitePool, repo: &RepoKey) -> StoreResult<Vec<String>> {
    sqlx::query_scalar(
        "SELECT path FROM files \
         WHERE tenant = $1 AND alias = $2 AND project = $3 AND slug = $4 ORDER BY path",
    )
    .bind(&repo.tenant)
    .bind(&repo.alias)
    .bind(&repo.project)
    .bind(&repo.slug)
    .fetch_all(pool)
    .await
    .map_err(db("files", repo))
}

/// Groups by `author_key`; names each group by its newest commit (window functions: SQLite
/// 3.25+ and PostgreSQL alike).
pub(super) async fn top_contributors(
    pool: &SqlitePool,
    repo: &RepoKey,
    limit: u32,
) -> StoreResult<Vec<Contributor>> {
    let rows: Vec<(String, Option<String>, i64)> = sqlx::query_as(
        "SELECT author_name, author_email, n FROM ( \
             SELECT author_key, author_name, author_email, \
                 COUNT(*) OVER (PARTITION BY author_key) AS n, \
                 ROW_NUMBER() OVER (PARTITION BY author_key \
                     ORDER BY committer_at DESC, author_at DESC, id) AS rn \
             FROM commits \
             WHERE tenant = $1 AND alias = $2 AND project = $3 AND slug = $4) c \
         WHERE rn = 1 ORDER BY n DESC, author_key LIMIT $5",
    )
    .bind(&repo.tenant)
    .bind(&repo.alias)
    .bind(&repo.project)
    .bind(&repo.slug)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await
    .map_err(db("top_contributors", repo))?;
    rows.into_iter()
        .map(|(name, email, n)| {
            let commits = count(n).map_err(corrupt("top_contributors", repo))?;
            Ok(Contributor {
                name,
                email,
                commits,
            })
        })
        .collect()
}

pub(super) async fn recent_commits(
    pool: &SqlitePool,
    repo: &RepoKey,
    limit: u32,
) -> StoreResult<Vec<CommitRecord>> {
    let rows: Vec<CommitRow> = sqlx::query_as(
        "SELECT id, author_name, author_email, author_at, committer_at, message, link \
         FROM commits WHERE tenant = $1 AND alias = $2 AND project = $3 AND slug = $4 \
         ORDER BY committer_at DESC, author_at DESC, id DESC LIMIT $5",
    )
    .bind(&repo.tenant)
    .bind(&repo.alias)
    .bind(&repo.project)
    .bind(&repo.slug)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await
    .map_err(db("recent_commits", repo))?;
    rows.into_iter()
        .map(|r| r.into_record().map_err(corrupt("recent_commits", repo)))
        .collect()
}

pub(super) async fn recent_releases(
    pool: &SqlitePool,
    repo: &RepoKey,
    limit: u32,
) -> StoreResult<Vec<ReleaseRecord>> {
    let rows: Vec<ReleaseRow> = sqlx::query_as(
        "SELECT name, commit_id, commit_at, link \
         FROM releases WHERE tenant = $1 AND alias = $2 AND project = $3 AND slug = $4 \
         ORDER BY (commit_at IS NULL), commit_at DESC, name LIMIT $5",
    )
    .bind(&repo.tenant)
    .bind(&repo.alias)
    .bind(&repo.project)
    .bind(&repo.slug)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await
    .map_err(db("recent_releases", repo))?;
    rows.into_iter()
        .map(|r| r.into_record().map_err(corrupt("recent_releases", repo)))
        .collect()
}

#[derive(sqlx::FromRow)]
struct EventRow {
    kind: String,
    id: String,
    title: String,
    at: Option<i64>,
    link: Option<String>,
}

impl EventRow {
    fn into_event(self) -> Result<Event, String> {
        let kind = match self.kind.as_str() {
            "commit" => EventKind::Commit,
            "release" => EventKind::Release,
            other => return Err(format!("event kind {other:?}")),
        };
        let title = self.title.lines().next().unwrap_or_default().to_owned();
        Ok(Event {
            kind,
            id: self.id,
            title,
            at: at_opt(self.at)?,
            link: self.link,
        })
    }
}

/// Commits and releases, newest first; ties broken by kind and id so pages never overlap.
pub(super) async fn events(
    pool: &SqlitePool,
    repo: &RepoKey,
    page: Page,
) -> StoreResult<Vec<Event>> {
    let rows: Vec<EventRow> = sqlx::query_as(
        "SELECT kind, id, title, at, link FROM ( \
             SELECT 'commit' AS kind, id, substr(message, 1, 1024) AS title, \
                 committer_at AS at, link \
             FROM commits WHERE tenant = $1 AND alias = $2 AND project = $3 AND slug = $4 \
             UNION ALL \
             SELECT 'release' AS kind, name AS id, name AS title, commit_at AS at, link \
             FROM releases WHERE tenant = $1 AND alias = $2 AND project = $3 AND slug = $4 \
         ) e ORDER BY (at IS NULL), at DESC, kind, id LIMIT $5 OFFSET $6",
    )
    .bind(&repo.tenant)
    .bind(&repo.alias)
    .bind(&repo.project)
    .bind(&repo.slug)
    .bind(i64::from(page.limit))
    .bind(i64::from(page.offset))
    .fetch_all(pool)
    .await
    .map_err(db("events", repo))?;
    rows.into_iter()
        .map(|r| r.into_event().map_err(corrupt("events", repo)))
        .collect()
}
