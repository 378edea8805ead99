//! Application properties, projects, project permissions and repositories.

use axum::Extension;
use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::envelope::PageRequest;
use super::errors::ApiError;
use super::{Query, RepoPath, Sim, json, visible_repo};
use crate::auth::Caller;
use crate::permissions;

pub const VERSION: &str = "9.2.4";

/// No authentication needed, as on real servers.
pub async fn application_properties() -> Response {
    json(json!({
        "version": VERSION,
        "buildNumber": "9002004",
        "buildDate": "1727856000000",
        "displayName": "Bitbucket",
    }))
}

pub async fn list_projects(
    State(shared): Sim,
    Extension(caller): Extension<Caller>,
    q: Query,
) -> Result<Response, ApiError> {
    caller.require()?;
    let data = shared.read();
    let world = &data.world;
    let render = shared.render(&data);
    let name = q.get("name").map(|s| s.to_lowercase());
    let page = PageRequest::from_query(&q, shared.config.page_caps.projects);
    let visible = world
        .projects
        .iter()
        .enumerate()
        .filter(|(_, p)| !p.is_personal())
        .filter(|(i, _)| permissions::can_see_project(world, &caller, *i))
        .filter(|(_, p)| {
            name.as_ref()
                .is_none_or(|n| p.name.to_lowercase().contains(n))
        })
        .map(|(_, p)| p);
    Ok(json(page.page(visible, |p| render.project(p))))
}

#[derive(Debug, Deserialize)]
pub struct KeyPath {
    pub key: String,
}

fn visible_project(
    shared: &crate::state::Data,
    caller: &Caller,
    key: &str,
) -> Result<usize, ApiError> {
    caller.require()?;
    shared
        .world
        .project_index(key)
        .filter(|&p| permissions::can_see_project(&shared.world, caller, p))
        .ok_or_else(|| ApiError::no_such_project(key))
}

pub async fn get_project(
    State(shared): Sim,
    Extension(caller): Extension<Caller>,
    Path(p): Path<KeyPath>,
) -> Result<Response, ApiError> {
    let data = shared.read();
    let idx = visible_project(&data, &caller, &p.key)?;
    let render = shared.render(&data);
    Ok(json(
        data.world
            .projects
            .get(idx)
            .map(|p| render.project(p))
            .unwrap_or_default(),
    ))
}

pub async fn project_group_permissions(
    State(shared): Sim,
    Extension(caller): Extension<Caller>,
    Path(p): Path<KeyPath>,
    q: Query,
) -> Result<Response, ApiError> {
    let data = shared.read();
    let idx = visible_project(&data, &caller, &p.key)?;
    let page = PageRequest::from_query(&q, shared.config.page_caps.groups);
    let grants = data
        .world
        .projects
        .get(idx)
        .map(|p| p.group_grants.clone())
        .unwrap_or_default();
    Ok(json(page.page(
        grants.into_iter(),
        |(g, perm)| json!({"group": {"name": g}, "permission": perm.as_str()}),
    )))
}

pub async fn list_project_repos(
    State(shared): Sim,
    Extension(caller): Extension<Caller>,
    Path(p): Path<KeyPath>,
    q: Query,
) -> Result<Response, ApiError> {
    let data = shared.read();
    let idx = visible_project(&data, &caller, &p.key)?;
    let world = &data.world;
    let render = shared.render(&data);
    let page = PageRequest::from_query(&q, shared.config.page_caps.repos);
    let repos = world.repos.iter().filter(|r| r.project == idx);
    Ok(json(page.page(repos, |r| render.repo(r))))
}

/// `/repos` across projects, filtered by `projectname` and `name` (case-insensitive substrings),
/// ordered by project then repo.
pub async fn list_all_repos(
    State(shared): Sim,
    Extension(caller): Extension<Caller>,
    q: Query,
) -> Result<Response, ApiError> {
    caller.require()?;
    let data = shared.read();
    let world = &data.world;
    let render = shared.render(&data);
    let project_name = q.get("projectname").map(|s| s.to_lowercase());
    let name = q.get("name").map(|s| s.to_lowercase());
    let page = PageRequest::from_query(&q, shared.config.page_caps.repos);
    let repos = world
        .repos
        .iter()
        .filter(|r| permissions::can_see_repo(world, &caller, r))
        .filter(|r| {
            project_name.as_ref().is_none_or(|n| {
                world.projects.get(r.project).is_some_and(|p| {
                    p.name.to_lowercase().contains(n) || p.key.to_lowercase() == *n
                })
            })
        })
        .filter(|r| {
            name.as_ref()
                .is_none_or(|n| r.name.to_lowercase().contains(n) || r.slug.contains(n.as_str()))
        });
    Ok(json(page.page(repos, |r| render.repo(r))))
}

pub async fn get_repo(
    State(shared): Sim,
    Extension(caller): Extension<Caller>,
    Path(p): Path<RepoPath>,
) -> Result<Response, ApiError> {
    let data = shared.read();
    let idx = visible_repo(&data, &caller, &p.key, &p.slug)?;
    let render = shared.render(&data);
    Ok(json(
        data.world
            .repos
            .get(idx)
            .map(|r| render.repo(r))
            .unwrap_or_default(),
    ))
}
