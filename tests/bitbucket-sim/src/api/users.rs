//! Users (paged, `filter`), one user, and the admin group endpoints group sync uses.

use axum::Extension;
use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::envelope::PageRequest;
use super::errors::ApiError;
use super::{Query, Sim, json};
use crate::auth::Caller;
use crate::model::User;

fn matches_filter(u: &User, filter: Option<&String>) -> bool {
    filter.is_none_or(|f| {
        let f = f.to_lowercase();
        u.name.to_lowercase().contains(&f)
            || u.display_name.to_lowercase().contains(&f)
            || u.email
                .as_ref()
                .is_some_and(|e| e.to_lowercase().contains(&f))
    })
}

pub async fn list_users(
    State(shared): Sim,
    Extension(caller): Extension<Caller>,
    q: Query,
) -> Result<Response, ApiError> {
    caller.require()?;
    let data = shared.read();
    let render = shared.render(&data);
    let page = PageRequest::from_query(&q, shared.config.page_caps.users);
    let users = data
        .world
        .users
        .iter()
        .filter(|u| matches_filter(u, q.get("filter")));
    Ok(json(page.page(users, |u| render.user(u))))
}

#[derive(Debug, Deserialize)]
pub struct UserPath {
    user: String,
}

pub async fn get_user(
    State(shared): Sim,
    Extension(caller): Extension<Caller>,
    Path(p): Path<UserPath>,
) -> Result<Response, ApiError> {
    caller.require()?;
    let data = shared.read();
    let render = shared.render(&data);
    let user = data
        .world
        .user_index(&p.user)
        .and_then(|i| data.world.users.get(i))
        .ok_or_else(|| ApiError::no_such_user(&p.user))?;
    Ok(json(render.user(user)))
}

fn require_admin(caller: &Caller) -> Result<(), ApiError> {
    caller.require()?;
    if caller.admin {
        Ok(())
    } else {
        Err(ApiError::not_permitted(
            "You are not permitted to access this resource",
        ))
    }
}

pub async fn admin_groups(
    State(shared): Sim,
    Extension(caller): Extension<Caller>,
    q: Query,
) -> Result<Response, ApiError> {
    require_admin(&caller)?;
    let data = shared.read();
    let page = PageRequest::from_query(&q, shared.config.page_caps.groups);
    let filter = q.get("filter").map(|f| f.to_lowercase());
    let groups = data.world.groups.iter().filter(|g| {
        filter
            .as_ref()
            .is_none_or(|f| g.name.to_lowercase().contains(f))
    });
    Ok(json(page.page(
        groups,
        |g| json!({"name": g.name, "deletable": true}),
    )))
}

/// Members of the group named by `context`, as detailed users.
pub async fn admin_group_members(
    State(shared): Sim,
    Extension(caller): Extension<Caller>,
    q: Query,
) -> Result<Response, ApiError> {
    require_admin(&caller)?;
    let data = shared.read();
    let world = &data.world;
    let render = shared.render(&data);
    let name = q
        .get("context")
        .ok_or_else(|| ApiError::bad_request("context is required"))?;
    let group = world
        .group_index(name)
        .and_then(|i| world.groups.get(i))
        .ok_or_else(|| ApiError::no_such_group(name))?;
    let page = PageRequest::from_query(&q, shared.config.page_caps.users);
    let members = group
        .members
        .iter()
        .filter_map(|&id| world.user(id))
        .filter(|u| matches_filter(u, q.get("filter")));
    Ok(json(page.page(members, |u| render.detailed_user(u))))
}

/// Groups of the user named by `context` (the endpoint name is Bitbucket's, not ours).
pub async fn admin_user_groups(
    State(shared): Sim,
    Extension(caller): Extension<Caller>,
    q: Query,
) -> Result<Response, ApiError> {
    require_admin(&caller)?;
    let data = shared.read();
    let world = &data.world;
    let name = q
        .get("context")
        .ok_or_else(|| ApiError::bad_request("context is required"))?;
    let user = world
        .user_index(name)
        .and_then(|i| world.users.get(i))
        .ok_or_else(|| ApiError::no_such_user(name))?;
    let page = PageRequest::from_query(&q, shared.config.page_caps.groups);
    let groups = world.groups.iter().filter(|g| g.members.contains(&user.id));
    Ok(json(page.page(
        groups,
        |g| json!({"name": g.name, "deletable": true}),
    )))
}
