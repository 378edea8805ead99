//! Repository settings: pull-request settings (`requiredApprovers` in the 9.x object shape or
//! the older integer shape, per repo), default-reviewer conditions and branch restrictions.

use axum::Extension;
use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::{Value, json};

use super::envelope::PageRequest;
use super::errors::ApiError;
use super::{Query, RepoPath, Sim, json, with_view};
use crate::auth::Caller;
use crate::model::SettingsShape;
use crate::seed::derive;

fn strategy(id: &str, name: &str, flag: &str, enabled: bool) -> Value {
    json!({"id": id, "name": name, "flag": flag, "enabled": enabled, "description": format!("{name} merge strategy.")})
}

pub async fn pull_request_settings(
    State(shared): Sim,
    Extension(caller): Extension<Caller>,
    Path(p): Path<RepoPath>,
) -> Result<Response, ApiError> {
    let data = shared.read();
    with_view(&data, &caller, &p, |view| {
        let count = 1 + derive(view.repo.seed, "approvers", 0) % 3;
        // 9.x sends `{enabled, count: "2"}` for both; older servers plain integers.
        let (required, builds) = match view.repo.settings_shape {
            SettingsShape::Object => (
                json!({"enabled": true, "count": count.to_string()}),
                json!({"enabled": true, "count": "1"}),
            ),
            SettingsShape::Integer => (json!(count), json!(1)),
        };
        let no_ff = strategy("no-ff", "Merge commit", "--no-ff", true);
        Ok(json(json!({
            "mergeConfig": {
                "defaultStrategy": no_ff,
                "strategies": [no_ff, strategy("ff", "Fast-forward", "--ff", false), strategy("squash", "Squash", "--squash", true)],
                "type": "REPOSITORY",
            },
            "requiredAllApprovers": false,
            "requiredAllTasksComplete": true,
            "requiredApprovers": required,
            "requiredSuccessfulBuilds": builds,
            "unapproveOnUpdate": true,
        })))
    })
}

fn any_ref_matcher() -> Value {
    json!({"active": true, "id": "ANY_REF_MATCHER_ID", "displayId": "ANY_REF_MATCHER_ID", "type": {"id": "ANY_REF", "name": "Any branch"}})
}

/// A bare JSON array, as real servers answer (not paged).
pub async fn default_reviewer_conditions(
    State(shared): Sim,
    Extension(caller): Extension<Caller>,
    Path(p): Path<RepoPath>,
) -> Result<Response, ApiError> {
    let data = shared.read();
    let render = shared.render(&data);
    with_view(&data, &caller, &p, |view| {
        let people = data.world.people(view.repo);
        if people.len() < 2 || derive(view.repo.seed, "default-reviewers", 0).is_multiple_of(3) {
            return Ok(json(json!([])));
        }
        let reviewers: Vec<Value> = people
            .iter()
            .take(2)
            .map(|&u| render.user_by_id(u))
            .collect();
        Ok(json(json!([{
            "id": view.repo.id,
            "scope": {"type": "REPOSITORY", "resourceId": view.repo.id},
            "sourceRefMatcher": any_ref_matcher(),
            "targetRefMatcher": {"active": true, "id": format!("refs/heads/{}", view.repo.default_branch), "displayId": view.repo.default_branch, "type": {"id": "BRANCH", "name": "Branch"}},
            "reviewers": reviewers,
            "requiredApprovals": 1,
        }])))
    })
}

pub async fn branch_restrictions(
    State(shared): Sim,
    Extension(caller): Extension<Caller>,
    Path(p): Path<RepoPath>,
    q: Query,
) -> Result<Response, ApiError> {
    let data = shared.read();
    let page = PageRequest::from_query(&q, shared.config.page_caps.restrictions);
    with_view(&data, &caller, &p, |view| {
        let groups: Vec<String> = data
            .world
            .projects
            .get(view.repo.project)
            .map(|p| p.group_grants.iter().map(|(g, _)| g.clone()).collect())
            .unwrap_or_default();
        let branch = &view.repo.default_branch;
        let items = ["fast-forward-only", "no-deletes", "pull-request-only"]
            .iter()
            .enumerate()
            .filter(|(i, _)| derive(view.repo.seed, "restriction", *i as u64).is_multiple_of(2))
            .map(|(i, kind)| {
                json!({
                    "id": view.repo.id * 10 + i as u32,
                    "type": kind,
                    "matcher": {"id": format!("refs/heads/{branch}"), "displayId": branch, "active": true, "type": {"id": "BRANCH", "name": "Branch"}},
                    "users": [],
                    "groups": groups,
                    "accessKeys": [],
                })
            })
            .collect::<Vec<_>>();
        Ok(json(page.page(items.into_iter(), |v| v)))
    })
}
