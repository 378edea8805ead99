//! Accounts added through the admin API, stored as submitted so a restart brings them back.

use sqlx::SqlitePool;

use super::rows::{corrupt, db, json_text, json_value, now_ms};
use crate::store::{AccountKey, StoreResult};

pub(super) async fn save_account(
    pool: &SqlitePool,
    account: &AccountKey,
    spec: &serde_json::Value,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO api_accounts (tenant, alias, spec, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (tenant, alias) DO UPDATE SET spec = excluded.spec",
    )
    .bind(&account.tenant)
    .bind(&account.alias)
    .bind(json_text(spec))
    .bind(now_ms())
    .execute(pool)
    .await
    .map_err(db("save_account", account))?;
    Ok(())
}

pub(super) async fn delete_account_spec(
    pool: &SqlitePool,
    account: &AccountKey,
) -> StoreResult<bool> {
    let done = sqlx::query("DELETE FROM api_accounts WHERE tenant = $1 AND alias = $2")
        .bind(&account.tenant)
        .bind(&account.alias)
        .execute(pool)
        .await
        .map_err(db("delete_account_spec", account))?;
    Ok(done.rows_affected() > 0)
}

pub(super) async fn account_specs(
    pool: &SqlitePool,
) -> StoreResult<Vec<(AccountKey, serde_json::Value)>> {
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("SELECT tenant, alias, spec FROM api_accounts ORDER BY tenant, alias")
            .fetch_all(pool)
            .await
            .map_err(db("account_specs", "all tenants"))?;
    rows.into_iter()
        .map(|(tenant, alias, spec)| {
            let key = AccountKey::new(tenant, alias);
            let value = json_value(Some(&spec)).map_err(corrupt("account_specs", &key))?;
            Ok((key, value))
        })
        .collect()
}
