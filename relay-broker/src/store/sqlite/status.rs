//! Sync runs, checkpoints and per-tenant counts.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::SqlitePool;

use super::begin_write;

use super::rows::{at, at_opt, corrupt, count, db, json_text, json_value, ms, now_ms, to_i64};
use crate::store::{
    AccountKey, Counts, RunOutcome, RunStatus, StoreError, StoreResult, SyncKind, SyncRun,
};

pub(super) async fn begin_run(
    pool: &SqlitePool,
    account: &AccountKey,
    kind: SyncKind,
) -> StoreResult<i64> {
    sqlx::query_scalar(
        "INSERT INTO sync_runs (tenant, alias, kind, started_at, status) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(&account.tenant)
    .bind(&account.alias)
    .bind(kind.as_str())
    .bind(now_ms())
    .bind(RunStatus::Running.as_str())
    .fetch_one(pool)
    .await
    .map_err(db("begin_run", account))
}

pub(super) async fn finish_run(
    pool: &SqlitePool,
    run_id: i64,
    outcome: &RunOutcome,
) -> StoreResult<()> {
    let key = format!("run {run_id}");
    let errors = serde_json::Value::from(outcome.errors.clone());
    let done = sqlx::query(
        "UPDATE sync_runs SET finished_at = $2, status = $3, calls = $4, errors = $5, detail = $6 \
         WHERE id = $1",
    )
    .bind(run_id)
    .bind(now_ms())
    .bind(outcome.status.as_str())
    .bind(to_i64(outcome.calls))
    .bind(json_text(&errors))
    .bind(json_text(&outcome.detail))
    .execute(pool)
    .await
    .map_err(db("finish_run", &key))?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound {
            op: "finish_run",
            key,
        });
    }
    Ok(())
}

pub(super) async fn interrupt_unfinished_runs(pool: &SqlitePool) -> StoreResult<u64> {
    let done = sqlx::query("UPDATE sync_runs SET status = $1, finished_at = $2 WHERE status = $3")
        .bind(RunStatus::Interrupted.as_str())
        .bind(now_ms())
        .bind(RunStatus::Running.as_str())
        .execute(pool)
        .await
        .map_err(db("interrupt_unfinished_runs", "all tenants"))?;
    Ok(done.rows_affected())
}

pub(super) async fn prune_history(pool: &SqlitePool, before: DateTime<Utc>) -> StoreResult<u64> {
    let result: Result<u64, sqlx::Error> = async {
        let mut tx = begin_write(pool).await?;
        let runs = sqlx::query(
            "DELETE FROM sync_runs WHERE started_at < $1 AND status <> $2 \
             AND id <> (SELECT MAX(x.id) FROM sync_runs x WHERE x.tenant = sync_runs.tenant \
                 AND x.alias = sync_runs.alias AND x.kind = sync_runs.kind)",
        )
        .bind(ms(before))
        .bind(RunStatus::Running.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let deliveries = sqlx::query("DELETE FROM webhook_deliveries WHERE received_at < $1")
            .bind(ms(before))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(runs + deliveries)
    }
    .await;
    result.map_err(db("prune_history", "all tenants"))
}

pub(super) async fn record_delivery(
    pool: &SqlitePool,
    account: &AccountKey,
    delivery_id: &str,
) -> StoreResult<bool> {
    let inserted = sqlx::query(
        "INSERT INTO webhook_deliveries (tenant, alias, delivery_id, received_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
    )
    .bind(&account.tenant)
    .bind(&account.alias)
    .bind(delivery_id)
    .bind(now_ms())
    .execute(pool)
    .await
    .map_err(db(
        "record_delivery",
        &format!("{account} delivery {delivery_id}"),
    ))?
    .rows_affected();
    Ok(inserted == 1)
}

#[derive(sqlx::FromRow)]
struct RunRow {
    id: i64,
    alias: String,
    kind: String,
    started_at: i64,
    finished_at: Option<i64>,
    status: String,
    calls: i64,
    errors: String,
    detail: String,
}

impl RunRow {
    fn into_run(self) -> Result<SyncRun, String> {
        let kind = SyncKind::parse(&self.kind).ok_or_else(|| format!("kind {:?}", self.kind))?;
        let status =
            RunStatus::parse(&self.status).ok_or_else(|| format!("status {:?}", self.status))?;
        let errors: Vec<String> =
            serde_json::from_str(&self.errors).map_err(|e| format!("errors: {e}"))?;
        Ok(SyncRun {
            id: self.id,
            alias: self.alias,
            kind,
            started_at: at(self.started_at)?,
            finished_at: at_opt(self.finished_at)?,
            duration_ms: self
                .finished_at
                .map(|end| end.saturating_sub(self.started_at)),
            calls: count(self.calls)?,
            status,
            errors,
            detail: json_value(Some(&self.detail))?,
        })
    }
}

pub(super) async fn last_runs(pool: &SqlitePool, tenant: &str) -> StoreResult<Vec<SyncRun>> {
    let rows: Vec<RunRow> = sqlx::query_as(
        "SELECT r.id, r.alias, r.kind, r.started_at, r.finished_at, r.status, r.calls, r.errors, \
                r.detail \
         FROM sync_runs r \
         WHERE r.tenant = $1 AND r.id = (SELECT MAX(x.id) FROM sync_runs x \
               WHERE x.tenant = r.tenant AND x.alias = r.alias AND x.kind = r.kind) \
         ORDER BY r.alias, r.kind",
    )
    .bind(tenant)
    .fetch_all(pool)
    .await
    .map_err(db("last_runs", tenant))?;
    rows.into_iter()
        .map(|r| r.into_run().map_err(corrupt("last_runs", tenant)))
        .collect()
}

pub(super) async fn checkpoint(
    pool: &SqlitePool,
    account: &AccountKey,
    scope: &str,
    key: &str,
) -> StoreResult<Option<String>> {
    sqlx::query_scalar(
        "SELECT value FROM checkpoints \
         WHERE tenant = $1 AND alias = $2 AND scope = $3 AND key = $4",
    )
    .bind(&account.tenant)
    .bind(&account.alias)
    .bind(scope)
    .bind(key)
    .fetch_optional(pool)
    .await
    .map_err(db("checkpoint", &format!("{account} {scope}/{key}")))
}

pub(super) async fn set_checkpoint(
    pool: &SqlitePool,
    account: &AccountKey,
    scope: &str,
    key: &str,
    value: &str,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO checkpoints (tenant, alias, scope, key, value, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (tenant, alias, scope, key) \
         DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    )
    .bind(&account.tenant)
    .bind(&account.alias)
    .bind(scope)
    .bind(key)
    .bind(value)
    .bind(now_ms())
    .execute(pool)
    .await
    .map_err(db("set_checkpoint", &format!("{account} {scope}/{key}")))?;
    Ok(())
}

pub(super) async fn clear_checkpoint(
    pool: &SqlitePool,
    account: &AccountKey,
    scope: &str,
    key: &str,
) -> StoreResult<()> {
    sqlx::query(
        "DELETE FROM checkpoints WHERE tenant = $1 AND alias = $2 AND scope = $3 AND key = $4",
    )
    .bind(&account.tenant)
    .bind(&account.alias)
    .bind(scope)
    .bind(key)
    .execute(pool)
    .await
    .map_err(db("clear_checkpoint", &format!("{account} {scope}/{key}")))?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct CountsRow {
    projects: i64,
    repos: i64,
    commits: i64,
    releases: i64,
    files: i64,
    activities: i64,
    users: i64,
    user_groups: i64,
    group_members: i64,
    people: i64,
}

pub(super) async fn counts(pool: &SqlitePool, tenant: &str) -> StoreResult<Counts> {
    let row: CountsRow = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM projects WHERE tenant = $1) AS projects, \
                (SELECT COUNT(*) FROM repos WHERE tenant = $1) AS repos, \
                (SELECT COUNT(*) FROM commits WHERE tenant = $1) AS commits, \
                (SELECT COUNT(*) FROM releases WHERE tenant = $1) AS releases, \
                (SELECT COUNT(*) FROM files WHERE tenant = $1) AS files, \
                (SELECT COUNT(*) FROM pr_activities WHERE tenant = $1) AS activities, \
                (SELECT COUNT(*) FROM users WHERE tenant = $1) AS users, \
                (SELECT COUNT(*) FROM user_groups WHERE tenant = $1) AS user_groups, \
                (SELECT COUNT(*) FROM group_members WHERE tenant = $1) AS group_members, \
                (SELECT COUNT(*) FROM people WHERE tenant = $1) AS people",
    )
    .bind(tenant)
    .fetch_one(pool)
    .await
    .map_err(db("counts", tenant))?;
    let by_state: Vec<(String, i64)> = sqlx::query_as(
        "SELECT state, COUNT(*) FROM pull_requests WHERE tenant = $1 GROUP BY state ORDER BY state",
    )
    .bind(tenant)
    .fetch_all(pool)
    .await
    .map_err(db("counts", tenant))?;
    let c = |n: i64| count(n).map_err(corrupt("counts", tenant));
    let mut pull_requests_by_state = BTreeMap::new();
    let mut pull_requests = 0;
    for (state, n) in by_state {
        let n = c(n)?;
        pull_requests += n;
        pull_requests_by_state.insert(state, n);
    }
    Ok(Counts {
        projects: c(row.projects)?,
        repos: c(row.repos)?,
        commits: c(row.commits)?,
        releases: c(row.releases)?,
        files: c(row.files)?,
        pull_requests,
        pull_requests_by_state,
        activities: c(row.activities)?,
        users: c(row.users)?,
        groups: c(row.user_groups)?,
        group_members: c(row.group_members)?,
        people: c(row.people)?,
    })
}
