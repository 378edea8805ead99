//! The Bitbucket REST API: the router, and the gate every request passes (counters, faults,
//! authentication, token restrictions, rate limit).

pub mod envelope;
pub mod errors;
mod files;
mod oauth;
mod projects;
mod pull_requests;
mod refs;
pub mod render;
mod settings;
mod users;
mod webhooks;

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use futures_util::StreamExt;
use serde::Deserialize;

use crate::auth::{AuthMethod, Caller, authenticate};
use crate::permissions;
use crate::repo_view::RepoView;
use crate::state::{Data, Shared};
use errors::ApiError;

pub type Query = axum::extract::Query<HashMap<String, String>>;
pub type Sim = State<Arc<Shared>>;

/// `{key}` and `{slug}` of repository routes (other path parameters are ignored).
#[derive(Debug, Deserialize)]
pub struct RepoPath {
    pub key: String,
    pub slug: String,
}

/// The repository index, or 404 when it does not exist *or* the caller may not see it: a
/// repository in a project the caller cannot see is reported as a missing project, unless the
/// repository itself is public.
pub fn visible_repo(
    data: &Data,
    caller: &Caller,
    key: &str,
    slug: &str,
) -> Result<usize, ApiError> {
    caller.require()?;
    let world = &data.world;
    let project = world
        .project_index(key)
        .ok_or_else(|| ApiError::no_such_project(key))?;
    let repo = world.repo_index(project, slug);
    if let Some(r) = repo.filter(|&r| {
        world
            .repos
            .get(r)
            .is_some_and(|repo| permissions::can_see_repo(world, caller, repo))
    }) {
        return Ok(r);
    }
    if permissions::can_see_project(world, caller, project) {
        Err(ApiError::no_such_repo(slug))
    } else {
        Err(ApiError::no_such_project(key))
    }
}

/// Runs `f` on the visible repository's view (404 when missing or invisible).
pub fn with_view<T>(
    data: &Data,
    caller: &Caller,
    p: &RepoPath,
    f: impl FnOnce(&RepoView<'_>) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let idx = visible_repo(data, caller, &p.key, &p.slug)?;
    let view = data
        .view(idx)
        .ok_or_else(|| ApiError::no_such_repo(&p.slug))?;
    f(&view)
}

/// The API router (without the `/sim` control API).
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .merge(core_routes())
        .merge(repo_routes())
        .route(
            "/rest/default-reviewers/{ver}/projects/{key}/repos/{slug}/conditions",
            get(settings::default_reviewer_conditions),
        )
        .route(
            "/rest/branch-permissions/{ver}/projects/{key}/repos/{slug}/restrictions",
            get(settings::branch_restrictions),
        )
        .route("/rest/oauth2/{ver}/token", post(oauth::token))
        .route_layer(middleware::from_fn_with_state(Arc::clone(&shared), gate))
        .with_state(shared)
}

/// Server-wide and project-level endpoints.
fn core_routes() -> Router<Arc<Shared>> {
    let api = "/rest/api/{ver}";
    Router::new()
        .route(
            &format!("{api}/application-properties"),
            get(projects::application_properties),
        )
        .route(&format!("{api}/projects"), get(projects::list_projects))
        .route(
            &format!("{api}/projects/{{key}}"),
            get(projects::get_project),
        )
        .route(
            &format!("{api}/projects/{{key}}/permissions/groups"),
            get(projects::project_group_permissions),
        )
        .route(
            &format!("{api}/projects/{{key}}/repos"),
            get(projects::list_project_repos),
        )
        .route(
            &format!("{api}/projects/{{key}}/webhooks"),
            get(webhooks::list_project).post(webhooks::create_project),
        )
        .route(&format!("{api}/repos"), get(projects::list_all_repos))
        .route(&format!("{api}/users"), get(users::list_users))
        .route(&format!("{api}/users/{{user}}"), get(users::get_user))
        .route(&format!("{api}/admin/groups"), get(users::admin_groups))
        .route(
            &format!("{api}/admin/groups/more-members"),
            get(users::admin_group_members),
        )
        .route(
            &format!("{api}/admin/users/more-members"),
            get(users::admin_user_groups),
        )
}

/// Endpoints of one repository.
fn repo_routes() -> Router<Arc<Shared>> {
    let repo = "/rest/api/{ver}/projects/{key}/repos/{slug}";
    Router::new()
        .route(repo, get(projects::get_repo))
        .route(&format!("{repo}/default-branch"), get(refs::default_branch))
        .route(
            &format!("{repo}/branches/default"),
            get(refs::default_branch),
        )
        .route(&format!("{repo}/branches"), get(refs::branches))
        .route(&format!("{repo}/tags"), get(refs::tags))
        .route(&format!("{repo}/commits"), get(refs::commits))
        .route(&format!("{repo}/commits/{{commit}}"), get(refs::commit))
        .route(&format!("{repo}/files"), get(files::files_root))
        .route(&format!("{repo}/files/{{*path}}"), get(files::files))
        .route(&format!("{repo}/browse"), get(files::browse_root))
        .route(&format!("{repo}/browse/{{*path}}"), get(files::browse))
        .route(&format!("{repo}/raw/{{*path}}"), get(files::raw))
        .route(&format!("{repo}/pull-requests"), get(pull_requests::list))
        .route(
            &format!("{repo}/pull-requests/{{id}}"),
            get(pull_requests::get_one),
        )
        .route(
            &format!("{repo}/pull-requests/{{id}}/activities"),
            get(pull_requests::activities),
        )
        .route(
            &format!("{repo}/pull-requests/{{id}}/participants"),
            get(pull_requests::participants),
        )
        .route(
            &format!("{repo}/settings/pull-requests"),
            get(settings::pull_request_settings),
        )
        .route(
            &format!("{repo}/webhooks"),
            get(webhooks::list_repo).post(webhooks::create_repo),
        )
}

/// The endpoint template of a matched route, with the API version normalised:
/// `GET /rest/api/1.0/projects/{key}/repos`.
pub fn template(method: &http::Method, matched: &str) -> String {
    let path = matched
        .replacen("/rest/api/{ver}/", "/rest/api/1.0/", 1)
        .replacen(
            "/rest/default-reviewers/{ver}/",
            "/rest/default-reviewers/1.0/",
            1,
        )
        .replacen(
            "/rest/branch-permissions/{ver}/",
            "/rest/branch-permissions/2.0/",
            1,
        )
        .replacen("/rest/oauth2/{ver}/", "/rest/oauth2/latest/", 1)
        .replace("{*path}", "{path}");
    format!("{method} {path}")
}

fn version_ok(path: &str) -> bool {
    let mut segs = path.trim_start_matches('/').split('/');
    let (_, family, version) = (segs.next(), segs.next(), segs.next());
    matches!(
        (family, version),
        (_, Some("latest"))
            | (Some("api" | "default-reviewers"), Some("1.0"))
            | (Some("branch-permissions"), Some("2.0"))
    )
}

async fn gate(State(shared): Sim, matched: MatchedPath, mut req: Request, next: Next) -> Response {
    let template = template(req.method(), matched.as_str());
    shared.counters.hit(&template);
    if !version_ok(req.uri().path()) {
        return ApiError::not_found("No such API version").into_response();
    }
    let plan = shared.faults.plan(&template);
    if !plan.latency.is_zero() {
        tokio::time::sleep(plan.latency).await;
    }
    if plan.reset {
        return reset_response();
    }
    if let Some(status) = plan
        .error_status
        .and_then(|s| http::StatusCode::from_u16(s).ok())
    {
        return ApiError::injected(status).into_response();
    }
    let caller = {
        let data = shared.read();
        authenticate(
            req.headers(),
            &data.world,
            &shared.credentials,
            &shared.oauth,
        )
    };
    let caller = match caller {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    if let Err(e) = restrict(&caller, req.method(), &template) {
        return e.into_response();
    }
    if let Some(name) = &caller.username
        && let Err(limited) = shared.limiter.check(name)
    {
        return ApiError::rate_limited(limited.send_header.then_some(limited.retry_after_secs))
            .into_response();
    }
    let identity = caller.user.zip(caller.username.clone());
    req.extensions_mut().insert(caller);
    let mut response = next.run(req).await;
    // Real servers name the authenticated user in every response (seen in recorded headers).
    if let Some((id, name)) = identity
        && let (Ok(id), Ok(name)) = (
            http::HeaderValue::from_str(&id.to_string()),
            http::HeaderValue::from_str(&name),
        )
    {
        response.headers_mut().insert("x-auserid", id);
        response.headers_mut().insert("x-ausername", name);
    }
    match plan.slow_body_bytes_per_sec {
        Some(rate) => slow(response, rate).await,
        None => response,
    }
}

/// What HTTP access tokens may not do: anything under `/admin` (any scope), and writes with a
/// read-scoped token.
fn restrict(caller: &Caller, method: &http::Method, template: &str) -> Result<(), ApiError> {
    if let AuthMethod::AccessToken(_) = caller.method
        && template.contains(" /rest/api/1.0/admin/")
    {
        return Err(ApiError::not_permitted(
            "You are not permitted to access this resource: HTTP access tokens cannot be used for system administration",
        ));
    }
    if caller.read_only() && method != http::Method::GET && method != http::Method::HEAD {
        return Err(ApiError::not_permitted(
            "You are not permitted to access this resource: this token only has read permission",
        ));
    }
    Ok(())
}

/// A response whose body fails at once: hyper aborts the connection, the client sees a reset.
fn reset_response() -> Response {
    let failing = futures_util::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "injected reset",
        ))
    });
    Response::builder()
        .status(http::StatusCode::OK)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(failing))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

/// Re-sends a response's body at `rate` bytes per second, in chunks of a tenth of a second.
async fn slow(response: Response, rate: u64) -> Response {
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return reset_response();
    };
    let chunk = (rate / 10).max(1) as usize;
    let pieces: Vec<Bytes> = (0..bytes.len())
        .step_by(chunk)
        .map(|i| bytes.slice(i..(i + chunk).min(bytes.len())))
        .collect();
    let stream = futures_util::stream::iter(pieces).then(|piece| async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        Ok::<Bytes, Infallible>(piece)
    });
    parts.headers.remove(http::header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from_stream(stream))
}

/// A JSON response with the server's content type.
pub fn json(value: serde_json::Value) -> Response {
    axum::Json(value).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_normalise_versions() {
        assert_eq!(
            template(&http::Method::GET, "/rest/api/{ver}/projects/{key}/repos"),
            "GET /rest/api/1.0/projects/{key}/repos"
        );
        assert_eq!(
            template(
                &http::Method::GET,
                "/rest/api/{ver}/projects/{key}/repos/{slug}/raw/{*path}"
            ),
            "GET /rest/api/1.0/projects/{key}/repos/{slug}/raw/{path}"
        );
    }

    #[test]
    fn versions() {
        assert!(version_ok("/rest/api/1.0/projects"));
        assert!(version_ok("/rest/api/latest/projects"));
        assert!(!version_ok("/rest/api/2.0/projects"));
        assert!(version_ok("/rest/branch-permissions/2.0/x"));
    }
}
