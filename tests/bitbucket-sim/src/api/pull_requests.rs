//! Pull requests: paged lists with `state`, `order`, `at` and `role.N` / `username.N` filters,
//! one pull request, its activities (newest first) and participants.

use axum::Extension;
use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::Value;

use super::envelope::PageRequest;
use super::errors::ApiError;
use super::{Query, RepoPath, Sim, json, with_view};
use crate::auth::Caller;
use crate::generate::World;
use crate::generate::pull_requests::{PrState, PullRequest, Role};

#[derive(Debug, Deserialize)]
pub struct PrPath {
    key: String,
    slug: String,
    id: String,
}

impl PrPath {
    fn split(self) -> Result<(RepoPath, u64), ApiError> {
        let id = self
            .id
            .parse()
            .map_err(|_| ApiError::bad_request(format!("Invalid pull request id {:?}", self.id)))?;
        Ok((
            RepoPath {
                key: self.key,
                slug: self.slug,
            },
            id,
        ))
    }
}

/// One `role.N` / `username.N` participant filter.
struct ParticipantFilter {
    role: Option<Role>,
    user: Option<u32>,
}

fn participant_filters(q: &Query, world: &World) -> Result<Vec<ParticipantFilter>, ApiError> {
    let mut out = Vec::new();
    for n in 1..=10 {
        let role = q.get(&format!("role.{n}"));
        let username = q.get(&format!("username.{n}"));
        if role.is_none() && username.is_none() {
            continue;
        }
        let role = match role.map(|r| r.to_ascii_uppercase()) {
            None => None,
            Some(r) if r == "AUTHOR" => Some(Role::Author),
            Some(r) if r == "REVIEWER" => Some(Role::Reviewer),
            Some(r) if r == "PARTICIPANT" => Some(Role::Participant),
            Some(r) => return Err(ApiError::bad_request(format!("Invalid role {r}"))),
        };
        // An unknown user matches nothing, rather than failing the request.
        let user = username.map(|name| {
            world
                .user_index(name)
                .and_then(|i| world.users.get(i))
                .map_or(0, |u| u.id)
        });
        out.push(ParticipantFilter { role, user });
    }
    Ok(out)
}

fn matches(pr: &PullRequest, f: &ParticipantFilter) -> bool {
    let roles = std::iter::once((pr.author, Role::Author))
        .chain(pr.reviewers.iter().map(|p| (p.user, Role::Reviewer)))
        .chain(pr.participants.iter().map(|p| (p.user, Role::Participant)));
    roles
        .into_iter()
        .any(|(user, role)| f.user.is_none_or(|u| u == user) && f.role.is_none_or(|r| r == role))
}

pub async fn list(
    State(shared): Sim,
    Extension(caller): Extension<Caller>,
    Path(p): Path<RepoPath>,
    q: Query,
) -> Result<Response, ApiError> {
    let data = shared.read();
    let render = shared.render(&data);
    let page = PageRequest::from_query(&q, shared.config.page_caps.pull_requests);
    let state = match q.get("state").map(|s| s.to_ascii_uppercase()).as_deref() {
        None | Some("OPEN") => Some(PrState::Open),
        Some("MERGED") => Some(PrState::Merged),
        Some("DECLINED") => Some(PrState::Declined),
        Some("ALL") => None,
        Some(other) => return Err(ApiError::bad_request(format!("Invalid state {other}"))),
    };
    let oldest_first = q
        .get("order")
        .is_some_and(|o| o.eq_ignore_ascii_case("OLDEST"));
    let at = q
        .get("at")
        .map(|a| a.trim_start_matches("refs/heads/").to_owned());
    let filters = participant_filters(&q, &data.world)?;
    with_view(&data, &caller, &p, |view| {
        // Real servers order by last update: NEWEST is the most recently updated first (what an
        // incremental sync relies on to stop at its high-water mark), OLDEST the reverse.
        let mut prs: Vec<_> = (1..=view.max_pull_request_id())
            .filter_map(|id| view.pull_request(id))
            .filter(|pr| state.is_none_or(|s| pr.state == s))
            .filter(|pr| at.as_ref().is_none_or(|a| &pr.to_branch == a))
            .filter(|pr| filters.iter().all(|f| matches(pr, f)))
            .collect();
        prs.sort_by_key(|pr| std::cmp::Reverse((pr.updated_ms, pr.id)));
        if oldest_first {
            prs.reverse();
        }
        Ok(json(page.page(prs.into_iter(), |pr| {
            render.pull_request(view, &pr)
        })))
    })
}

pub async fn get_one(
    State(shared): Sim,
    Extension(caller): Extension<Caller>,
    Path(p): Path<PrPath>,
) -> Result<Response, ApiError> {
    let (rp, id) = p.split()?;
    let data = shared.read();
    let render = shared.render(&data);
    with_view(&data, &caller, &rp, |view| {
        let pr = view
            .pull_request(id)
            .ok_or_else(|| ApiError::no_such_pull_request(id))?;
        Ok(json(render.pull_request(view, &pr)))
    })
}

pub async fn activities(
    State(shared): Sim,
    Extension(caller): Extension<Caller>,
    Path(p): Path<PrPath>,
    q: Query,
) -> Result<Response, ApiError> {
    let (rp, id) = p.split()?;
    let data = shared.read();
    let render = shared.render(&data);
    let page = PageRequest::from_query(&q, shared.config.page_caps.activities);
    with_view(&data, &caller, &rp, |view| {
        let pr = view
            .pull_request(id)
            .ok_or_else(|| ApiError::no_such_pull_request(id))?;
        Ok(json(page.page(pr.activities.iter().rev(), |a| {
            render.activity(view, a)
        })))
    })
}

pub async fn participants(
    State(shared): Sim,
    Extension(caller): Extension<Caller>,
    Path(p): Path<PrPath>,
    q: Query,
) -> Result<Response, ApiError> {
    let (rp, id) = p.split()?;
    let data = shared.read();
    let render = shared.render(&data);
    let page = PageRequest::from_query(&q, shared.config.page_caps.participants);
    with_view(&data, &caller, &rp, |view| {
        let pr = view
            .pull_request(id)
            .ok_or_else(|| ApiError::no_such_pull_request(id))?;
        let all: Vec<Value> = pr
            .reviewers
            .iter()
            .chain(pr.participants.iter())
            .map(|p| render.participant(view, p))
            .collect();
        Ok(json(page.page(all.into_iter(), |v| v)))
    })
}
