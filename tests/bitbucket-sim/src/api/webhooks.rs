//! Webhook registrations: list and create, per repository and per project.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{Value, json};

use super::envelope::PageRequest;
use super::errors::ApiError;
use super::projects::KeyPath;
use super::{Query, RepoPath, Sim, json, visible_repo};
use crate::auth::Caller;
use crate::model::ProjectPermission;
use crate::permissions;
use crate::state::{HookScope, Webhook};
use crate::webhooks::payloads::ALL_EVENTS;

/// The body of a create request (Bitbucket's `RestWebhook`).
#[derive(Debug, Deserialize)]
pub struct CreateWebhook {
    pub name: String,
    pub url: String,
    #[serde(default)]
    pub events: Vec<String>,
    #[serde(default = "yes")]
    pub active: bool,
    #[serde(default)]
    pub configuration: Option<Value>,
    #[serde(default, rename = "sslVerificationRequired")]
    pub ssl_verification_required: Option<bool>,
}

/// A malformed body is a 400 in Bitbucket's error envelope, not axum's plain-text rejection.
fn parse(body: Result<Json<CreateWebhook>, JsonRejection>) -> Result<CreateWebhook, ApiError> {
    body.map(|Json(b)| b)
        .map_err(|e| ApiError::bad_request(format!("Invalid webhook: {}", e.body_text())))
}

fn yes() -> bool {
    true
}

pub fn render(hook: &Webhook) -> Value {
    json!({
        "id": hook.id,
        "name": hook.name,
        "createdDate": hook.created_ms,
        "updatedDate": hook.updated_ms,
        "events": hook.events,
        "configuration": {"createdBy": "bitbucket"},
        "url": hook.url,
        "active": hook.active,
        "scopeType": match hook.scope { HookScope::Repository(_) => "repository", HookScope::Project(_) => "project" },
        "sslVerificationRequired": hook.ssl_verification_required,
    })
}

fn list(shared: &crate::state::Shared, scope: HookScope, q: &Query) -> Response {
    let data = shared.read();
    let page = PageRequest::from_query(q, shared.config.page_caps.webhooks);
    json(page.page(data.webhooks.iter().filter(|h| h.scope == scope), render))
}

fn create(
    shared: &crate::state::Shared,
    scope: HookScope,
    body: CreateWebhook,
) -> Result<Response, ApiError> {
    if let Some(bad) = body
        .events
        .iter()
        .find(|e| !ALL_EVENTS.contains(&e.as_str()))
    {
        return Err(ApiError::bad_request(format!(
            "Unknown webhook event {bad:?}"
        )));
    }
    if !body.url.starts_with("http://") && !body.url.starts_with("https://") {
        return Err(ApiError::bad_request(
            "The webhook URL must be an http(s) URL",
        ));
    }
    let secret = body
        .configuration
        .as_ref()
        .and_then(|c| c.get("secret"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| shared.config.webhook_secret_default.clone());
    let now = chrono::Utc::now().timestamp_millis();
    let mut data = shared.write();
    let hook = Webhook {
        id: data.webhooks.iter().map(|h| h.id).max().unwrap_or(0) + 1,
        scope,
        name: body.name,
        url: body.url,
        events: body.events,
        active: body.active,
        secret,
        created_ms: now,
        updated_ms: now,
        ssl_verification_required: body.ssl_verification_required.unwrap_or(true),
    };
    let rendered = render(&hook);
    data.webhooks.push(hook);
    Ok((StatusCode::CREATED, Json(rendered)).into_response())
}

fn repo_scope(
    shared: &crate::state::Shared,
    caller: &Caller,
    p: &RepoPath,
    write: bool,
) -> Result<HookScope, ApiError> {
    let data = shared.read();
    let idx = visible_repo(&data, caller, &p.key, &p.slug)?;
    let repo = data
        .world
        .repos
        .get(idx)
        .ok_or_else(|| ApiError::no_such_repo(&p.slug))?;
    let allowed = if write {
        permissions::can_write_repo(&data.world, caller, repo)
    } else {
        true
    };
    if !allowed {
        return Err(ApiError::not_permitted(
            "You are not permitted to administer this repository's webhooks",
        ));
    }
    Ok(HookScope::Repository(repo.id))
}

fn project_scope(
    shared: &crate::state::Shared,
    caller: &Caller,
    key: &str,
    write: bool,
) -> Result<HookScope, ApiError> {
    let user = caller.require()?;
    let data = shared.read();
    let idx = data
        .world
        .project_index(key)
        .filter(|&p| permissions::can_see_project(&data.world, caller, p))
        .ok_or_else(|| ApiError::no_such_project(key))?;
    let perm = permissions::project_permission(&data.world, user, idx);
    if write && (caller.read_only() || perm < Some(ProjectPermission::Admin)) {
        return Err(ApiError::not_permitted(
            "You are not permitted to administer this project's webhooks",
        ));
    }
    Ok(HookScope::Project(idx))
}

pub async fn list_repo(
    State(shared): Sim,
    Extension(caller): Extension<Caller>,
    Path(p): Path<RepoPath>,
    q: Query,
) -> Result<Response, ApiError> {
    let scope = repo_scope(&shared, &caller, &p, false)?;
    Ok(list(&shared, scope, &q))
}

pub async fn create_repo(
    State(shared): Sim,
    Extension(caller): Extension<Caller>,
    Path(p): Path<RepoPath>,
    body: Result<Json<CreateWebhook>, JsonRejection>,
) -> Result<Response, ApiError> {
    let scope = repo_scope(&shared, &caller, &p, true)?;
    create(&shared, scope, parse(body)?)
}

pub async fn list_project(
    State(shared): Sim,
    Extension(caller): Extension<Caller>,
    Path(p): Path<KeyPath>,
    q: Query,
) -> Result<Response, ApiError> {
    let scope = project_scope(&shared, &caller, &p.key, false)?;
    Ok(list(&shared, scope, &q))
}

pub async fn create_project(
    State(shared): Sim,
    Extension(caller): Extension<Caller>,
    Path(p): Path<KeyPath>,
    body: Result<Json<CreateWebhook>, JsonRejection>,
) -> Result<Response, ApiError> {
    let scope = project_scope(&shared, &caller, &p.key, true)?;
    create(&shared, scope, parse(body)?)
}
