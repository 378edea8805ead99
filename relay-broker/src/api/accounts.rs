//! Accounts: `GET /api/v1/accounts` (config and sync status), `POST /api/v1/accounts` and
//! `DELETE /api/v1/accounts/{alias}` (accounts managed through the API, stored so a restart
//! keeps them), `POST /api/v1/accounts/test` (test all configurations),
//! `POST /api/v1/accounts/{alias}/sync?kind=...&wait=true` (manual trigger; `409` while a sync
//! of that account runs).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use relay_shared::protocol::ErrorCode;
use serde::{Deserialize, Serialize};

use super::ApiState;
use super::auth::TenantAuth;
use super::error::ApiError;
use crate::accounts::{Account, Limits, RawAccount, Schedule};
use crate::checks::{self, AccountVerdict};
use crate::store::{AccountKey, SyncKind, SyncRun};
use crate::sync::{SyncError, SyncReport};
use relay_shared::config::ConfigErrors;
use relay_shared::credentials::RawAuth;

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

fn bad_account(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::BadRequest, message)
}

/// Validates an account submitted through the API (file paths must be absolute: there is no
/// config file to be relative to).
pub fn validate_submitted(tenant: &str, raw: &RawAccount) -> Result<Account, String> {
    let mut errors = ConfigErrors::new("account");
    let mut paths: Vec<&std::path::Path> = raw.ca_file.iter().map(|p| p.as_path()).collect();
    paths.extend(raw.webhook_secrets.iter().filter_map(|s| s.file.as_deref()));
    if let Some(auth) = &raw.auth {
        let sources: Vec<&relay_shared::secret::SecretSource> = match auth {
            RawAuth::Basic { password, .. } => vec![password],
            RawAuth::Bearer { token } => vec![token],
            RawAuth::Oauth2 {
                client_secret,
                refresh_token,
                ..
            } => vec![client_secret, refresh_token],
        };
        paths.extend(sources.into_iter().filter_map(|s| s.file.as_deref()));
    }
    if let Some(relative) = paths.iter().find(|p| !p.is_absolute()) {
        errors.push(
            "account",
            format!("{} must be an absolute path", relative.display()),
        );
    }
    let mut accounts = crate::accounts::validate(
        tenant,
        std::slice::from_ref(raw),
        std::path::Path::new("/"),
        &mut errors,
        "account",
    );
    let account = errors.finish(accounts.pop()).map_err(|e| e.to_string())?;
    let mut account = account.ok_or_else(|| "the account is invalid".to_owned())?;
    account.default = raw.default;
    Ok(account)
}

/// `POST /api/v1/accounts`: adds an account (body: `[[tenants.accounts]]` as JSON).
pub async fn create(
    State(state): State<ApiState>,
    TenantAuth(tenant): TenantAuth,
    Json(raw): Json<RawAccount>,
) -> Result<Response, ApiError> {
    let mut account = validate_submitted(&tenant, &raw).map_err(bad_account)?;
    let existing = state.engine.accounts(&tenant);
    if existing.iter().any(|a| a.alias == account.alias) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::BadRequest,
            format!("alias {:?} is already in use", account.alias),
        ));
    }
    let has_default = existing.iter().any(|a| a.default);
    if account.default && has_default {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::BadRequest,
            "the tenant already has a default account",
        ));
    }
    account.default = account.default || !has_default;
    let key = AccountKey::new(tenant.clone(), account.alias.clone());
    let spec = serde_json::to_value(&raw).map_err(|e| bad_account(e.to_string()))?;
    let rt = state.engine.add_account(account).map_err(sync_error)?;
    if let Err(err) = state.store.save_account(&key, &spec).await {
        let _ = state.engine.remove_account(&tenant, &key.alias);
        return Err(err.into());
    }
    crate::sync::scheduler::start_account(&state.engine, &rt, &state.shutdown);
    tracing::info!(account = %key, kind = rt.account.kind.as_str(), "account added through the API");
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "alias": key.alias, "kind": rt.account.kind.as_str(), "default": rt.account.default }))).into_response())
}

/// `DELETE /api/v1/accounts/{alias}`: removes an account added through the API, with its data.
pub async fn delete(
    State(state): State<ApiState>,
    TenantAuth(tenant): TenantAuth,
    Path(alias): Path<String>,
) -> Result<StatusCode, ApiError> {
    let key = AccountKey::new(tenant.clone(), alias.clone());
    if !state.store.delete_account_spec(&key).await? {
        return match state.engine.runtime(&tenant, &alias) {
            Ok(_) => Err(ApiError::new(
                StatusCode::CONFLICT,
                ErrorCode::BadRequest,
                "this account is defined in the broker config file; remove it there",
            )),
            Err(err) => Err(sync_error(err)),
        };
    }
    let _ = state.engine.remove_account(&tenant, &alias);
    state.store.purge_account(&key).await?;
    tracing::info!(account = %key, "account removed through the API");
    Ok(StatusCode::NO_CONTENT)
}
