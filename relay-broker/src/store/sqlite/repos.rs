//! Projects and repository metadata: replacing an account's projects, upserting and retaining
//! repositories (deletes cascade to all their data), and the repository reads.

use std::collections::HashSet;

use sqlx::{QueryBuilder, Sqlite, SqliteConnection, SqlitePool};

use super::begin_write;
use super::rows::{ProjectRow, RepoRow, at_opt, corrupt, count, db, json_value, repo_columns};
use crate::store::{
    AccountKey, ProjectRecord, RepoFilter, RepoId, RepoKey, RepoRecord, RepoSettings, RepoState,
    RepoSummary, StoreResult,
};

pub(super) async fn replace_projects(
    pool: &SqlitePool,
    account: &AccountKey,
    projects: &[ProjectRecord],
) -> StoreResult<()> {
    let err = db("replace_projects", account);
    let result: Result<Vec<String>, sqlx::Error> = async {
        let mut tx = begin_write(pool).await?;
        for p in projects {
            upsert_project(&mut tx, account, p).await?;
        }
        let keep: HashSet<&str> = projects.iter().map(|p| p.key.as_str()).collect();
        let stored: Vec<String> =
            sqlx::query_scalar("SELECT key FROM projects WHERE tenant = $1 AND alias = $2")
                .bind(&account.tenant)
                .bind(&account.alias)
                .fetch_all(&mut *tx)
                .await?;
        let gone: Vec<String> = stored
            .into_iter()
            .filter(|k| !keep.contains(k.as_str()))
            .collect();
        for key in &gone {
            // Cascades to the project's repositories and everything below them.
            sqlx::query("DELETE FROM projects WHERE tenant = $1 AND alias = $2 AND key = $3")
                .bind(&account.tenant)
                .bind(&account.alias)
                .bind(key)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(gone)
    }
    .await;
    let gone = result.map_err(err)?;
    if !gone.is_empty() {
        tracing::info!(
            tenant = %account.tenant,
            alias = %account.alias,
            projects = ?gone,
            "store: deleted projects no longer listed, with their repositories"
        );
    }
    Ok(())
}

async fn upsert_project(
    conn: &mut SqliteConnection,
    account: &AccountKey,
    p: &ProjectRecord,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO projects (tenant, alias, key, id, name, description, public, personal, link) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (tenant, alias, key) DO UPDATE SET id = excluded.id, name = excluded.name, \
             description = excluded.description, public = excluded.public, \
             personal = excluded.personal, link = excluded.link",
    )
    .bind(&account.tenant)
    .bind(&account.alias)
    .bind(&p.key)
    .bind(p.id)
    .bind(&p.name)
    .bind(&p.description)
    .bind(p.public)
    .bind(p.personal)
    .bind(&p.link)
    .execute(conn)
    .await?;
    Ok(())
}

/// Every table holding account data; `projects` cascades to repositories and below, and
/// `user_groups` to members.
const ACCOUNT_DELETES: [&str; 7] = [
    "DELETE FROM projects WHERE tenant = $1 AND alias = $2",
    "DELETE FROM users WHERE tenant = $1 AND alias = $2",
    "DELETE FROM user_groups WHERE tenant = $1 AND alias = $2",
    "DELETE FROM identity_state WHERE tenant = $1 AND alias = $2",
    "DELETE FROM checkpoints WHERE tenant = $1 AND alias = $2",
    "DELETE FROM sync_runs WHERE tenant = $1 AND alias = $2",
    "DELETE FROM webhook_deliveries WHERE tenant = $1 AND alias = $2",
];

pub(super) async fn purge_account(pool: &SqlitePool, account: &AccountKey) -> StoreResult<()> {
    let result: Result<(), sqlx::Error> = async {
        let mut tx = begin_write(pool).await?;
        for delete in ACCOUNT_DELETES {
            sqlx::query(delete)
                .bind(&account.tenant)
                .bind(&account.alias)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await
    }
    .await;
    result.map_err(db("purge_account", account))
}

/// A `None` default branch keeps the stored one: repository listings do not carry it.
pub(super) async fn upsert_repo(
    pool: &SqlitePool,
    account: &AccountKey,
    repo: &RepoRecord,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO repos (tenant, alias, project, slug, id, name, archived, public, link, \
                            default_branch) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (tenant, alias, project, slug) DO UPDATE SET id = excluded.id, \
             name = excluded.name, archived = excluded.archived, public = excluded.public, \
             link = excluded.link, \
             default_branch = COALESCE(excluded.default_branch, repos.default_branch)",
    )
    .bind(&account.tenant)
    .bind(&account.alias)
    .bind(&repo.project)
    .bind(&repo.slug)
    .bind(repo.id)
    .bind(&repo.name)
    .bind(repo.archived)
    .bind(repo.public)
    .bind(&repo.link)
    .bind(&repo.default_branch)
    .execute(pool)
    .await
    .map_err(db("upsert_repo", &account.repo(&repo.project, &repo.slug)))?;
    Ok(())
}

pub(super) async fn retain_repos(
    pool: &SqlitePool,
    account: &AccountKey,
    present: &[RepoId],
) -> StoreResult<u64> {
    let err = db("retain_repos", account);
    let result: Result<u64, sqlx::Error> = async {
        let mut tx = begin_write(pool).await?;
        let keep: HashSet<(&str, &str)> = present
            .iter()
            .map(|r| (r.project.as_str(), r.slug.as_str()))
            .collect();
        let stored: Vec<(String, String)> =
            sqlx::query_as("SELECT project, slug FROM repos WHERE tenant = $1 AND alias = $2")
                .bind(&account.tenant)
                .bind(&account.alias)
                .fetch_all(&mut *tx)
                .await?;
        let mut deleted = 0;
        for (project, slug) in &stored {
            if keep.contains(&(project.as_str(), slug.as_str())) {
                continue;
            }
            deleted += sqlx::query(
                "DELETE FROM repos \
                 WHERE tenant = $1 AND alias = $2 AND project = $3 AND slug = $4",
            )
            .bind(&account.tenant)
            .bind(&account.alias)
            .bind(project)
            .bind(slug)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
        Ok(deleted)
    }
    .await;
    let deleted = result.map_err(err)?;
    if deleted > 0 {
        tracing::info!(
            tenant = %account.tenant,
            alias = %account.alias,
            deleted,
            "store: deleted repositories no longer listed, with their data"
        );
    }
    Ok(deleted)
}

#[derive(sqlx::FromRow)]
struct StateRow {
    project: String,
    slug: String,
    id: i64,
    archived: bool,
    default_branch: Option<String>,
    head: Option<String>,
    code_synced_at: Option<i64>,
    commits: i64,
    last_commit_at: Option<i64>,
    pr_high_water: Option<i64>,
    required_approvals: Option<i64>,
    default_reviewers: Option<String>,
    branch_restrictions: Option<String>,
    settings_synced_at: Option<i64>,
}

impl StateRow {
    fn into_state(self) -> Result<(RepoId, RepoState), String> {
        let settings = match self.settings_synced_at {
            None => None,
            Some(_) => Some(RepoSettings {
                required_approvals: self
                    .required_approvals
                    .map(|n| u32::try_from(n).map_err(|_| format!("required approvals {n}")))
                    .transpose()?,
                default_reviewers: json_value(self.default_reviewers.as_deref())?,
                branch_restrictions: json_value(self.branch_restrictions.as_deref())?,
            }),
        };
        let state = RepoState {
            id: self.id,
            archived: self.archived,
            default_branch: self.default_branch,
            head: self.head,
            code_synced_at: at_opt(self.code_synced_at)?,
            commits: count(self.commits)?,
            last_commit_at: at_opt(self.last_commit_at)?,
            pr_high_water: at_opt(self.pr_high_water)?,
            settings,
        };
        Ok((RepoId::new(self.project, self.slug), state))
    }
}

/// The repository columns of [`StateRow`]; commit and PR figures come from joins or
/// subqueries (`commits`, `last_commit_at`, `pr_high_water`).
macro_rules! state_columns {
    () => {
        "r.project, r.slug, r.id, r.archived, r.default_branch, r.head, r.code_synced_at, \
         r.required_approvals, r.default_reviewers, r.branch_restrictions, r.settings_synced_at"
    };
}

pub(super) async fn repo_state(
    pool: &SqlitePool,
    repo: &RepoKey,
) -> StoreResult<Option<RepoState>> {
    let row: Option<StateRow> = sqlx::query_as(concat!(
        "SELECT ",
        state_columns!(),
        ", (SELECT COUNT(*) FROM commits c WHERE c.tenant = r.tenant AND c.alias = r.alias \
                AND c.project = r.project AND c.slug = r.slug) AS commits, \
            (SELECT MAX(c.committer_at) FROM commits c WHERE c.tenant = r.tenant \
                AND c.alias = r.alias AND c.project = r.project AND c.slug = r.slug) \
                AS last_commit_at, \
            (SELECT MAX(p.updated_at) FROM pull_requests p WHERE p.tenant = r.tenant \
                AND p.alias = r.alias AND p.project = r.project AND p.slug = r.slug) \
                AS pr_high_water \
         FROM repos r \
         WHERE r.tenant = $1 AND r.alias = $2 AND r.project = $3 AND r.slug = $4"
    ))
    .bind(&repo.tenant)
    .bind(&repo.alias)
    .bind(&repo.project)
    .bind(&repo.slug)
    .fetch_optional(pool)
    .await
    .map_err(db("repo_state", repo))?;
    row.map(|r| {
        r.into_state()
            .map(|(_, state)| state)
            .map_err(corrupt("repo_state", repo))
    })
    .transpose()
}

/// One pass over the account's commits and pull requests (grouped), not one query per repo.
pub(super) async fn repo_states(
    pool: &SqlitePool,
    account: &AccountKey,
) -> StoreResult<Vec<(RepoId, RepoState)>> {
    let rows: Vec<StateRow> = sqlx::query_as(concat!(
        "SELECT ",
        state_columns!(),
        ", COALESCE(c.n, 0) AS commits, c.last AS last_commit_at, p.hw AS pr_high_water \
         FROM repos r \
         LEFT JOIN (SELECT project, slug, COUNT(*) AS n, MAX(committer_at) AS last \
             FROM commits WHERE tenant = $1 AND alias = $2 GROUP BY project, slug) c \
             ON c.project = r.project AND c.slug = r.slug \
         LEFT JOIN (SELECT project, slug, MAX(updated_at) AS hw \
             FROM pull_requests WHERE tenant = $1 AND alias = $2 GROUP BY project, slug) p \
             ON p.project = r.project AND p.slug = r.slug \
         WHERE r.tenant = $1 AND r.alias = $2 ORDER BY r.project, r.slug"
    ))
    .bind(&account.tenant)
    .bind(&account.alias)
    .fetch_all(pool)
    .await
    .map_err(db("repo_states", account))?;
    rows.into_iter()
        .map(|r| r.into_state().map_err(corrupt("repo_states", account)))
        .collect()
}

pub(super) async fn projects(
    pool: &SqlitePool,
    tenant: &str,
) -> StoreResult<Vec<(String, ProjectRecord)>> {
    let rows: Vec<ProjectRow> = sqlx::query_as(
        "SELECT alias, key, id, name, description, public, personal, link FROM projects \
         WHERE tenant = $1 ORDER BY alias, key",
    )
    .bind(tenant)
    .fetch_all(pool)
    .await
    .map_err(db("projects", tenant))?;
    Ok(rows.into_iter().map(ProjectRow::into_record).collect())
}

pub(super) async fn repos(
    pool: &SqlitePool,
    tenant: &str,
    filter: &RepoFilter,
) -> StoreResult<Vec<RepoSummary>> {
    let mut q = QueryBuilder::<Sqlite>::new(concat!("SELECT ", repo_columns!(), " FROM repos"));
    q.push(" WHERE tenant = ").push_bind(tenant);
    if let Some(alias) = &filter.alias {
        q.push(" AND alias = ").push_bind(alias.as_str());
    }
    if let Some(project) = &filter.project {
        q.push(" AND project = ").push_bind(project.as_str());
    }
    q.push(" ORDER BY alias, project, slug LIMIT ")
        .push_bind(i64::from(filter.page.limit));
    q.push(" OFFSET ").push_bind(i64::from(filter.page.offset));
    let rows: Vec<RepoRow> = q
        .build_query_as()
        .fetch_all(pool)
        .await
        .map_err(db("repos", tenant))?;
    rows.into_iter()
        .map(|r| r.into_summary().map_err(corrupt("repos", tenant)))
        .collect()
}

pub(super) async fn repo(pool: &SqlitePool, repo: &RepoKey) -> StoreResult<Option<RepoSummary>> {
    let row: Option<RepoRow> = sqlx::query_as(concat!(
        "SELECT ",
        repo_columns!(),
        " FROM repos WHERE tenant = $1 AND alias = $2 AND project = $3 AND slug = $4"
    ))
    .bind(&repo.tenant)
    .bind(&repo.alias)
    .bind(&repo.project)
    .bind(&repo.slug)
    .fetch_optional(pool)
    .await
    .map_err(db("repo", repo))?;
    row.map(|r| r.into_summary().map_err(corrupt("repo", repo)))
        .transpose()
}
