//! Users, groups with members, the people directory, and the identity mapping between them
//! (joined on `email_key`, the lower-cased email the store computes on write).

use std::collections::HashMap;

use sqlx::{QueryBuilder, Sqlite, SqliteConnection, SqlitePool};

use super::begin_write;
use super::rows::{BATCH_ROWS, UserRow, db, email_key, now_ms, user_columns};
use crate::store::{
    AccountKey, GroupRecord, IdentityMapping, MappedIdentity, PersonRecord, StoreResult,
    UnmappedReason, UnmappedUser, UserRecord,
};

pub(super) async fn replace_users(
    pool: &SqlitePool,
    account: &AccountKey,
    users: &[UserRecord],
) -> StoreResult<()> {
    let result: Result<(), sqlx::Error> = async {
        let mut tx = begin_write(pool).await?;
        sqlx::query("DELETE FROM users WHERE tenant = $1 AND alias = $2")
            .bind(&account.tenant)
            .bind(&account.alias)
            .execute(&mut *tx)
            .await?;
        for batch in users.chunks(BATCH_ROWS) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO users (tenant, alias, slug, id, name, display_name, email, \
                 email_key, active) ",
            );
            q.push_values(batch, |mut row, u| {
                row.push_bind(account.tenant.as_str())
                    .push_bind(account.alias.as_str())
                    .push_bind(u.slug.as_str())
                    .push_bind(u.id)
                    .push_bind(u.name.as_str())
                    .push_bind(u.display_name.as_str())
                    .push_bind(u.email.as_deref())
                    .push_bind(email_key(u.email.as_deref()))
                    .push_bind(u.active);
            });
            q.push(" ON CONFLICT DO NOTHING");
            q.build().execute(&mut *tx).await?;
        }
        tx.commit().await
    }
    .await;
    result.map_err(db("replace_users", account))
}

pub(super) async fn replace_groups(
    pool: &SqlitePool,
    account: &AccountKey,
    groups: Option<&[GroupRecord]>,
    degraded_reason: Option<&str>,
) -> StoreResult<()> {
    let result: Result<(), sqlx::Error> = async {
        let mut tx = begin_write(pool).await?;
        if let Some(groups) = groups {
            // Members go with their groups (ON DELETE CASCADE).
            sqlx::query("DELETE FROM user_groups WHERE tenant = $1 AND alias = $2")
                .bind(&account.tenant)
                .bind(&account.alias)
                .execute(&mut *tx)
                .await?;
            insert_groups(&mut tx, account, groups).await?;
        }
        sqlx::query(
            "INSERT INTO identity_state (tenant, alias, groups_degraded, updated_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (tenant, alias) \
             DO UPDATE SET groups_degraded = excluded.groups_degraded, \
                 updated_at = excluded.updated_at",
        )
        .bind(&account.tenant)
        .bind(&account.alias)
        .bind(degraded_reason)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        tx.commit().await
    }
    .await;
    result.map_err(db("replace_groups", account))
}

async fn insert_groups(
    conn: &mut SqliteConnection,
    account: &AccountKey,
    groups: &[GroupRecord],
) -> Result<(), sqlx::Error> {
    for batch in groups.chunks(BATCH_ROWS) {
        let mut q = QueryBuilder::<Sqlite>::new("INSERT INTO user_groups (tenant, alias, name) ");
        q.push_values(batch, |mut row, g| {
            row.push_bind(account.tenant.as_str())
                .push_bind(account.alias.as_str())
                .push_bind(g.name.as_str());
        });
        q.push(" ON CONFLICT DO NOTHING");
        q.build().execute(&mut *conn).await?;
    }
    let members: Vec<(&str, &str)> = groups
        .iter()
        .flat_map(|g| g.members.iter().map(move |m| (g.name.as_str(), m.as_str())))
        .collect();
    for batch in members.chunks(BATCH_ROWS) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO group_members (tenant, alias, group_name, user_slug) ",
        );
        q.push_values(batch, |mut row, (group, member)| {
            row.push_bind(account.tenant.as_str())
                .push_bind(account.alias.as_str())
                .push_bind(*group)
                .push_bind(*member);
        });
        q.push(" ON CONFLICT DO NOTHING");
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// One entry per case-insensitive email; a later duplicate wins.
pub(super) async fn replace_people(
    pool: &SqlitePool,
    tenant: &str,
    people: &[PersonRecord],
) -> StoreResult<()> {
    let result: Result<(), sqlx::Error> = async {
        let mut tx = begin_write(pool).await?;
        sqlx::query("DELETE FROM people WHERE tenant = $1")
            .bind(tenant)
            .execute(&mut *tx)
            .await?;
        for person in people {
            let Some(key) = email_key(Some(&person.email)) else {
                continue; // nobody can map to a person without an email
            };
            sqlx::query(
                "INSERT INTO people (tenant, email_key, email, name) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (tenant, email_key) \
                 DO UPDATE SET email = excluded.email, name = excluded.name",
            )
            .bind(tenant)
            .bind(key)
            .bind(person.email.trim())
            .bind(&person.name)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await
    }
    .await;
    result.map_err(db("replace_people", tenant))
}

pub(super) async fn users(
    pool: &SqlitePool,
    tenant: &str,
    alias: Option<&str>,
) -> StoreResult<Vec<(String, UserRecord)>> {
    let rows: Vec<UserRow> = sqlx::query_as(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users u WHERE u.tenant = $1 AND ($2 IS NULL OR u.alias = $2) \
         ORDER BY u.alias, u.slug"
    ))
    .bind(tenant)
    .bind(alias)
    .fetch_all(pool)
    .await
    .map_err(db("users", tenant))?;
    Ok(rows.into_iter().map(UserRow::into_record).collect())
}

pub(super) async fn groups(
    pool: &SqlitePool,
    tenant: &str,
    alias: Option<&str>,
) -> StoreResult<Vec<(String, GroupRecord)>> {
    let names: Vec<(String, String)> = sqlx::query_as(
        "SELECT alias, name FROM user_groups WHERE tenant = $1 AND ($2 IS NULL OR alias = $2) \
         ORDER BY alias, name",
    )
    .bind(tenant)
    .bind(alias)
    .fetch_all(pool)
    .await
    .map_err(db("groups", tenant))?;
    let members: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT alias, group_name, user_slug FROM group_members \
         WHERE tenant = $1 AND ($2 IS NULL OR alias = $2) ORDER BY alias, group_name, user_slug",
    )
    .bind(tenant)
    .bind(alias)
    .fetch_all(pool)
    .await
    .map_err(db("groups", tenant))?;
    let mut by_group: HashMap<(String, String), Vec<String>> = HashMap::new();
    for (alias, group, slug) in members {
        by_group.entry((alias, group)).or_default().push(slug);
    }
    Ok(names
        .into_iter()
        .map(|(alias, name)| {
            let members = by_group
                .remove(&(alias.clone(), name.clone()))
                .unwrap_or_default();
            (alias, GroupRecord { name, members })
        })
        .collect())
}

pub(super) async fn groups_state(
    pool: &SqlitePool,
    account: &AccountKey,
) -> StoreResult<Option<String>> {
    let reason: Option<Option<String>> = sqlx::query_scalar(
        "SELECT groups_degraded FROM identity_state WHERE tenant = $1 AND alias = $2",
    )
    .bind(&account.tenant)
    .bind(&account.alias)
    .fetch_optional(pool)
    .await
    .map_err(db("groups_state", account))?;
    Ok(reason.flatten())
}

pub(super) async fn identity_mapping(
    pool: &SqlitePool,
    tenant: &str,
) -> StoreResult<IdentityMapping> {
    let err = || db("identity_mapping", tenant);
    let mapped: Vec<MappedRow> = sqlx::query_as(concat!(
        "SELECT p.email AS person_email, p.name AS person_name, ",
        user_columns!(),
        " FROM users u JOIN people p ON p.tenant = u.tenant AND p.email_key = u.email_key \
         WHERE u.tenant = $1 ORDER BY p.email_key, u.alias, u.slug"
    ))
    .bind(tenant)
    .fetch_all(pool)
    .await
    .map_err(err())?;
    let unmapped: Vec<UserRow> = sqlx::query_as(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users u WHERE u.tenant = $1 AND (u.email_key IS NULL OR NOT EXISTS \
             (SELECT 1 FROM people p WHERE p.tenant = u.tenant AND p.email_key = u.email_key)) \
         ORDER BY u.alias, u.slug"
    ))
    .bind(tenant)
    .fetch_all(pool)
    .await
    .map_err(err())?;
    let unmapped_people: Vec<(String, String)> = sqlx::query_as(
        "SELECT p.email, p.name FROM people p WHERE p.tenant = $1 AND NOT EXISTS \
             (SELECT 1 FROM users u WHERE u.tenant = p.tenant AND u.email_key = p.email_key) \
         ORDER BY p.email_key",
    )
    .bind(tenant)
    .fetch_all(pool)
    .await
    .map_err(err())?;
    Ok(IdentityMapping {
        mapped: mapped.into_iter().map(MappedRow::into_mapped).collect(),
        unmapped_users: unmapped.into_iter().map(unmapped_user).collect(),
        unmapped_people: unmapped_people
            .into_iter()
            .map(|(email, name)| PersonRecord { email, name })
            .collect(),
    })
}

fn unmapped_user(row: UserRow) -> UnmappedUser {
    let (alias, user) = row.into_record();
    let reason = match email_key(user.email.as_deref()) {
        None => UnmappedReason::NoEmail,
        Some(_) => UnmappedReason::NoPerson,
    };
    UnmappedUser {
        alias,
        user,
        reason,
    }
}

#[derive(sqlx::FromRow)]
struct MappedRow {
    person_email: String,
    person_name: String,
    #[sqlx(flatten)]
    user: UserRow,
}

impl MappedRow {
    fn into_mapped(self) -> MappedIdentity {
        let (alias, user) = self.user.into_record();
        let person = PersonRecord {
            email: self.person_email,
            name: self.person_name,
        };
        MappedIdentity {
            person,
            alias,
            user,
        }
    }
}
