//! The `/sim/...` control API (not Bitbucket's): JSON over HTTP for what the typed methods on
//! [`Simulator`] do. No authentication; only the simulator mounts it.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Simulator;
use crate::config::RateLimitConfig;
use crate::faults::Fault;
use crate::model::ProjectPermission;
use crate::mutate::{
    MutationError, NewPullRequest, NewUser, PermissionTarget, PushRequest, RepoRef,
};

type Sim = State<Simulator>;

impl IntoResponse for MutationError {
    fn into_response(self) -> Response {
        (self.status(), Json(json!({"error": self.to_string()}))).into_response()
    }
}

fn ok(value: Value) -> Response {
    Json(value).into_response()
}

pub fn router(sim: Simulator) -> Router {
    Router::new()
        .route("/sim/counters", get(counters).delete(reset_counters))
        .route("/sim/counters/reset", post(reset_counters))
        .route("/sim/summary", get(summary))
        .route("/sim/credentials", get(credentials))
        .route("/sim/repos", get(repos))
        .route("/sim/repos/{project}/{slug}/push", post(push))
        .route("/sim/repos/{project}/{slug}/branches", post(create_branch))
        .route("/sim/repos/{project}/{slug}/tags", post(create_tag))
        .route("/sim/repos/{project}/{slug}/pull-requests", post(open_pr))
        .route(
            "/sim/repos/{project}/{slug}/pull-requests/{id}/{action}",
            post(pr_action),
        )
        .route("/sim/users", post(add_user))
        .route("/sim/groups", post(add_group))
        .route("/sim/groups/{name}/members", post(add_member))
        .route("/sim/projects/{key}/grants", post(grant))
        .route(
            "/sim/faults",
            get(list_faults).post(set_fault).delete(clear_faults),
        )
        .route("/sim/webhooks/deliveries", get(deliveries))
        .route("/sim/webhooks/{id}/ping", post(ping))
        .route("/sim/oauth/codes", post(oauth_code))
        .route("/sim/oauth/expire", post(oauth_expire))
        .route("/sim/rate-limit", get(get_rate_limit).put(put_rate_limit))
        .with_state(sim)
}

async fn counters(State(sim): Sim) -> Response {
    ok(json!(sim.counters()))
}

async fn reset_counters(State(sim): Sim) -> StatusCode {
    sim.reset_counters();
    StatusCode::NO_CONTENT
}

async fn summary(State(sim): Sim) -> Response {
    ok(json!(sim.summary()))
}

async fn credentials(State(sim): Sim) -> Response {
    ok(json!(sim.credentials()))
}

async fn repos(State(sim): Sim) -> Response {
    let list: Vec<Value> = sim
        .repos()
        .into_iter()
        .map(|r| json!({"project": r.project_key, "slug": r.slug, "head": r.head, "commits": r.commits, "pullRequests": r.pull_requests}))
        .collect();
    ok(json!(list))
}

#[derive(Debug, Deserialize)]
struct RepoParams {
    project: String,
    slug: String,
}

impl RepoParams {
    fn repo(&self) -> RepoRef {
        RepoRef::new(&self.project, &self.slug)
    }
}

async fn push(
    State(sim): Sim,
    Path(p): Path<RepoParams>,
    Json(req): Json<PushRequest>,
) -> Result<Response, MutationError> {
    let ids = sim.push(&p.repo(), req)?;
    Ok(ok(json!({"commits": ids})))
}

#[derive(Debug, Deserialize)]
struct BranchBody {
    name: String,
    #[serde(default)]
    from: Option<String>,
}

async fn create_branch(
    State(sim): Sim,
    Path(p): Path<RepoParams>,
    Json(b): Json<BranchBody>,
) -> Result<Response, MutationError> {
    let id = sim.create_branch(&p.repo(), &b.name, b.from.as_deref())?;
    Ok(ok(json!({"latestCommit": id})))
}

#[derive(Debug, Deserialize)]
struct TagBody {
    name: String,
    #[serde(default)]
    at: Option<String>,
    #[serde(default)]
    annotated: bool,
}

async fn create_tag(
    State(sim): Sim,
    Path(p): Path<RepoParams>,
    Json(b): Json<TagBody>,
) -> Result<Response, MutationError> {
    let id = sim.create_tag(&p.repo(), &b.name, b.at.as_deref(), b.annotated)?;
    Ok(ok(json!({"latestCommit": id})))
}

async fn open_pr(
    State(sim): Sim,
    Path(p): Path<RepoParams>,
    Json(req): Json<NewPullRequest>,
) -> Result<Response, MutationError> {
    let id = sim.open_pull_request(&p.repo(), req)?;
    Ok(ok(json!({"id": id})))
}

#[derive(Debug, Deserialize)]
struct PrParams {
    project: String,
    slug: String,
    id: u64,
    action: String,
}

#[derive(Debug, Deserialize)]
struct PrActionBody {
    user: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

/// `approve`, `needs-work`, `merge`, `decline`, `delete`, `update`.
async fn pr_action(
    State(sim): Sim,
    Path(p): Path<PrParams>,
    Json(b): Json<PrActionBody>,
) -> Result<Response, MutationError> {
    let repo = RepoRef::new(&p.project, &p.slug);
    let pr = match p.action.as_str() {
        "approve" => sim.approve_pull_request(&repo, p.id, &b.user)?,
        "needs-work" => sim.needs_work_pull_request(&repo, p.id, &b.user)?,
        "merge" => sim.merge_pull_request(&repo, p.id, &b.user)?,
        "decline" => sim.decline_pull_request(&repo, p.id, &b.user)?,
        "update" => sim.update_pull_request(&repo, p.id, &b.user, b.title, b.description)?,
        "delete" => {
            sim.delete_pull_request(&repo, p.id, &b.user)?;
            return Ok(StatusCode::NO_CONTENT.into_response());
        }
        other => return Err(MutationError::Invalid(format!("unknown action {other:?}"))),
    };
    Ok(ok(
        json!({"id": pr.id, "state": pr.state.as_str(), "version": pr.version}),
    ))
}

async fn add_user(State(sim): Sim, Json(u): Json<NewUser>) -> Result<Response, MutationError> {
    let id = sim.add_user(u)?;
    Ok(ok(json!({"id": id})))
}

#[derive(Debug, Deserialize)]
struct NameBody {
    name: String,
}

async fn add_group(State(sim): Sim, Json(b): Json<NameBody>) -> Result<StatusCode, MutationError> {
    sim.add_group(&b.name)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
struct UserBody {
    user: String,
}

async fn add_member(
    State(sim): Sim,
    Path(name): Path<String>,
    Json(b): Json<UserBody>,
) -> Result<StatusCode, MutationError> {
    sim.add_group_member(&name, &b.user)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
struct GrantBody {
    #[serde(flatten)]
    target: PermissionTarget,
    permission: ProjectPermission,
}

async fn grant(
    State(sim): Sim,
    Path(key): Path<String>,
    Json(b): Json<GrantBody>,
) -> Result<StatusCode, MutationError> {
    sim.grant_project(&key, b.target, b.permission)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_faults(State(sim): Sim) -> Response {
    ok(json!(sim.shared.faults.list()))
}

#[derive(Debug, Deserialize)]
struct FaultBody {
    /// An endpoint template as the counters name it, or `*`.
    template: String,
    /// `null` clears the template's fault.
    fault: Option<Fault>,
}

async fn set_fault(State(sim): Sim, Json(b): Json<FaultBody>) -> StatusCode {
    sim.set_fault(&b.template, b.fault);
    StatusCode::NO_CONTENT
}

async fn clear_faults(State(sim): Sim) -> StatusCode {
    sim.clear_faults();
    StatusCode::NO_CONTENT
}

async fn deliveries(State(sim): Sim) -> Response {
    ok(json!(sim.webhook_deliveries()))
}

async fn ping(State(sim): Sim, Path(id): Path<u32>) -> Result<StatusCode, MutationError> {
    sim.ping_webhook(id)?;
    Ok(StatusCode::ACCEPTED)
}

async fn oauth_code(State(sim): Sim, Json(b): Json<UserBody>) -> Result<Response, MutationError> {
    if sim.shared.read().world.user_index(&b.user).is_none() {
        return Err(MutationError::NoSuchUser(b.user));
    }
    Ok(ok(json!({"code": sim.issue_oauth_code(&b.user)})))
}

async fn oauth_expire(State(sim): Sim) -> StatusCode {
    sim.expire_oauth_access_tokens();
    StatusCode::NO_CONTENT
}

async fn get_rate_limit(State(sim): Sim) -> Response {
    let c = sim.shared.limiter.config();
    ok(
        json!({"enabled": c.enabled, "burst": c.burst, "refillPerSecond": c.refill_per_second, "retryAfterHeader": c.retry_after_header}),
    )
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RateLimitBody {
    enabled: bool,
    burst: u32,
    refill_per_second: f64,
    retry_after_header: bool,
}

async fn put_rate_limit(State(sim): Sim, Json(b): Json<RateLimitBody>) -> StatusCode {
    sim.set_rate_limit(RateLimitConfig {
        enabled: b.enabled,
        burst: b.burst,
        refill_per_second: b.refill_per_second,
        retry_after_header: b.retry_after_header,
    });
    StatusCode::NO_CONTENT
}
