//! Accounts: `GET /api/v1/accounts` (config and sync status), `POST /api/v1/accounts/test`
//! (test all configurations), `POST /api/v1/accounts/{alias}/sync?kind=...&wait=true` (manual
//! trigger; `409` while a sync of that account runs).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use relay_shared::protocol::ErrorCode;
use serde::{Deserialize, Serialize};

use super::ApiState;
use super::auth::TenantAuth;
use super::error::ApiError;
use crate::accounts::{Limits, Schedule};
use crate::checks::{self, AccountVerdict};
use crate::store::{SyncKind, SyncRun};
use crate::sync::{SyncError, SyncReport};

#[derive(Debug, Serialize)]
pub struct AccountView {
    pub alias: String,
    pub kind: &'static str,
    pub default: bool,
    pub projects: Option<Vec<String>>,
    pub schedule: Schedule,
    pub limits: Limits,
    pub agents_connected: usize,
    pub sync_running: bool,
    pub last_runs: Vec<SyncRun>,
}

pub async fn list(
    State(state): State<ApiState>,
    TenantAuth(tenant): TenantAuth,
) -> Result<Json<Vec<AccountView>>, ApiError> {
    let runs = state.store.last_runs(&tenant).await?;
    let sessions = state.relay.sessions();
    let views = state
        .engine
        .accounts(&tenant)
        .into_iter()
        .map(|a| AccountView {
            alias: a.alias.clone(),
            kind: a.kind.as_str(),
            default: a.default,
            projects: a.projects.clone(),
            schedule: a.schedule.clone(),
            limits: a.limits,
            agents_connected: sessions.connected(&tenant, &a.alias),
            sync_running: state.engine.is_running(&tenant, &a.alias),
            last_runs: runs
                .iter()
                .filter(|r| r.alias == a.alias)
                .cloned()
                .collect(),
        })
        .collect();
    Ok(Json(views))
}

pub async fn test_all(
    State(state): State<ApiState>,
    TenantAuth(tenant): TenantAuth,
) -> Json<Vec<AccountVerdict>> {
    let mut verdicts = Vec::new();
    for rt in state
        .engine
        .runtimes()
        .iter()
        .filter(|rt| rt.account.tenant == tenant)
    {
        verdicts.push(checks::test_account(rt, state.relay.sessions()).await);
    }
    Json(verdicts)
}

#[derive(Debug, Deserialize)]
pub struct SyncQuery {
    /// `all` (default), `identities`, `repositories` or `pull_requests`.
    pub kind: Option<String>,
    /// Answer when the sync is done (with its reports) instead of at once.
    #[serde(default)]
    pub wait: bool,
}

fn sync_error(err: SyncError) -> ApiError {
    match err {
        SyncError::UnknownAccount { .. } => ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::UnknownAlias,
            err.to_string(),
        ),
        SyncError::AlreadyRunning { .. } => {
            ApiError::new(StatusCode::CONFLICT, ErrorCode::BadRequest, err.to_string())
        }
        other => ApiError::new(
            StatusCode::BAD_GATEWAY,
            ErrorCode::UpstreamUnreachable,
            other.to_string(),
        ),
    }
}

pub async fn trigger(
    State(state): State<ApiState>,
    TenantAuth(tenant): TenantAuth,
    Path(alias): Path<String>,
    Query(query): Query<SyncQuery>,
) -> Result<Response, ApiError> {
    let kinds: Vec<SyncKind> = match query.kind.as_deref().unwrap_or("all") {
        "all" => vec![
            SyncKind::Identities,
            SyncKind::Repositories,
            SyncKind::PullRequests,
        ],
        other => vec![
            SyncKind::parse(other)
                .filter(|k| *k != SyncKind::Webhook)
                .ok_or_else(|| {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        ErrorCode::BadRequest,
                        format!(
                            "kind {other:?}: use all, identities, repositories or pull_requests"
                        ),
                    )
                })?,
        ],
    };
    state.engine.runtime(&tenant, &alias).map_err(sync_error)?;
    if state.engine.is_running(&tenant, &alias) {
        return Err(sync_error(SyncError::AlreadyRunning {
            account: format!("{tenant}/{alias}"),
        }));
    }
    let engine = std::sync::Arc::clone(&state.engine);
    let run = async move {
        let mut reports: Vec<SyncReport> = Vec::new();
        for kind in kinds {
            reports.push(engine.try_run(&tenant, &alias, kind).await?);
        }
        Ok::<_, SyncError>(reports)
    };
    if query.wait {
        let reports = run.await.map_err(sync_error)?;
        return Ok(Json(reports).into_response());
    }
    tokio::spawn(async move {
        if let Err(err) = run.await {
            tracing::warn!(error = %err, "manual sync failed");
        }
    });
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({ "started": true })),
    )
        .into_response())
}
