//! Identities: `GET /api/v1/users`, `/api/v1/groups`, `/api/v1/identity` (Bitbucket accounts ⇄
//! portal people by case-insensitive email, with both sides' unmapped), and `PUT /api/v1/people`
//! (replace the tenant's people directory).

use axum::Json;
use axum::extract::{Query, State};
use http::StatusCode;
use relay_shared::protocol::ErrorCode;
use serde::{Deserialize, Serialize};

use super::ApiState;
use super::auth::TenantAuth;
use super::error::ApiError;
use crate::store::{AccountKey, GroupRecord, IdentityMapping, PersonRecord, UserRecord};

#[derive(Debug, Deserialize)]
pub struct AliasQuery {
    pub alias: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ListedUser {
    pub alias: String,
    #[serde(flatten)]
    pub user: UserRecord,
}

pub async fn users(
    State(state): State<ApiState>,
    TenantAuth(tenant): TenantAuth,
    Query(query): Query<AliasQuery>,
) -> Result<Json<Vec<ListedUser>>, ApiError> {
    let users = state.store.users(&tenant, query.alias.as_deref()).await?;
    Ok(Json(
        users
            .into_iter()
            .map(|(alias, user)| ListedUser { alias, user })
            .collect(),
    ))
}

#[derive(Debug, Serialize)]
pub struct ListedGroups {
    pub groups: Vec<ListedGroup>,
    /// Accounts whose groups could not be read, and why (e.g. no admin access).
    pub degraded: Vec<DegradedAccount>,
}

#[derive(Debug, Serialize)]
pub struct ListedGroup {
    pub alias: String,
    #[serde(flatten)]
    pub group: GroupRecord,
}

#[derive(Debug, Serialize)]
pub struct DegradedAccount {
    pub alias: String,
    pub reason: String,
}

pub async fn groups(
    State(state): State<ApiState>,
    TenantAuth(tenant): TenantAuth,
    Query(query): Query<AliasQuery>,
) -> Result<Json<ListedGroups>, ApiError> {
    let groups = state.store.groups(&tenant, query.alias.as_deref()).await?;
    let mut degraded = Vec::new();
    for account in state.engine.accounts(&tenant) {
        if query.alias.as_deref().is_some_and(|a| *a != account.alias) {
            continue;
        }
        if let Some(reason) = state
            .store
            .groups_state(&AccountKey::new(tenant.clone(), account.alias.clone()))
            .await?
        {
            degraded.push(DegradedAccount {
                alias: account.alias.clone(),
                reason,
            });
        }
    }
    Ok(Json(ListedGroups {
        groups: groups
            .into_iter()
            .map(|(alias, group)| ListedGroup { alias, group })
            .collect(),
        degraded,
    }))
}

pub async fn mapping(
    State(state): State<ApiState>,
    TenantAuth(tenant): TenantAuth,
) -> Result<Json<IdentityMapping>, ApiError> {
    Ok(Json(state.store.identity_mapping(&tenant).await?))
}

pub async fn replace_people(
    State(state): State<ApiState>,
    TenantAuth(tenant): TenantAuth,
    Json(people): Json<Vec<PersonRecord>>,
) -> Result<StatusCode, ApiError> {
    if let Some(bad) = people.iter().find(|p| !p.email.contains('@')) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadRequest,
            format!("{:?} is not an email address", bad.email),
        ));
    }
    state.store.replace_people(&tenant, &people).await?;
    Ok(StatusCode::NO_CONTENT)
}
