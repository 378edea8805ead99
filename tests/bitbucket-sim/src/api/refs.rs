//! Default branch, branches, tags, commits and single commits.

use std::cmp::Reverse;

use axum::Extension;
use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::envelope::PageRequest;
use super::errors::ApiError;
use super::{Query, RepoPath, Sim, json, with_view};
use crate::auth::Caller;
use crate::model::Ref;
use crate::repo_view::RepoView;

/// `/default-branch` and the older `/branches/default`; 404 for an empty repository.
pub async fn default_branch(
    State(shared): Sim,
    Extension(caller): Extension<Caller>,
    Path(p): Path<RepoPath>,
) -> Result<Response, ApiError> {
    let data = shared.read();
    let render = shared.render(&data);
    with_view(&data, &caller, &p, |view| {
        let head = view
            .default_head()
            .ok_or_else(|| ApiError::no_default_branch(&view.repo.slug))?;
        let r = Ref {
            display_id: view.repo.default_branch.clone(),
            kind: crate::model::RefKind::Branch,
            target: head,
            tag_hash: None,
        };
        Ok(json(render.git_ref(view, &r, true)))
    })
}

/// Orders refs like `orderBy`: `ALPHABETICAL`, or `MODIFICATION` (newest tip first, default).
fn order(view: &RepoView<'_>, refs: &mut [Ref], q: &Query, default_first: bool) {
    let alphabetical = q
        .get("orderBy")
        .is_some_and(|o| o.eq_ignore_ascii_case("ALPHABETICAL"));
    if alphabetical {
        refs.sort_by(|a, b| a.display_id.cmp(&b.display_id));
    } else {
        refs.sort_by_key(|r| {
            let ts = view.commit(r.target).map(|c| c.committer_ms).unwrap_or(0);
            (Reverse(ts), r.display_id.clone())
        });
    }
    if default_first
        && let Some(pos) = refs
            .iter()
            .position(|r| r.display_id == view.repo.default_branch)
    {
        refs[..=pos].rotate_right(1);
    }
}

fn filtered(refs: Vec<Ref>, q: &Query) -> Vec<Ref> {
    match q.get("filterText").map(|f| f.to_lowercase()) {
        Some(f) => refs
            .into_iter()
            .filter(|r| r.display_id.to_lowercase().contains(&f))
            .collect(),
        None => refs,
    }
}

pub async fn branches(
    State(shared): Sim,
    Extension(caller): Extension<Caller>,
    Path(p): Path<RepoPath>,
    q: Query,
) -> Result<Response, ApiError> {
    let data = shared.read();
    let render = shared.render(&data);
    let page = PageRequest::from_query(&q, shared.config.page_caps.branches);
    with_view(&data, &caller, &p, |view| {
        let mut refs = filtered(view.branches(), &q);
        order(view, &mut refs, &q, true);
        let default = view.repo.default_branch.clone();
        Ok(json(page.page(refs.into_iter(), |r| {
            let is_default = r.display_id == default;
            render.git_ref(view, &r, is_default)
        })))
    })
}

pub async fn tags(
    State(shared): Sim,
    Extension(caller): Extension<Caller>,
    Path(p): Path<RepoPath>,
    q: Query,
) -> Result<Response, ApiError> {
    let data = shared.read();
    let render = shared.render(&data);
    let page = PageRequest::from_query(&q, shared.config.page_caps.tags);
    with_view(&data, &caller, &p, |view| {
        let mut refs = filtered(view.tags(), &q);
        order(view, &mut refs, &q, false);
        Ok(json(page.page(refs.into_iter(), |r| {
            render.git_ref(view, &r, false)
        })))
    })
}

/// `GET .../commits` with `until` (ref or commit to start from; default branch by default),
/// `since` (exclusive), `path` (commits touching it), `merges` (`include`, `exclude`, `only`)
/// and `withCounts` (adds `authorCount` and `totalCount`).
pub async fn commits(
    State(shared): Sim,
    Extension(caller): Extension<Caller>,
    Path(p): Path<RepoPath>,
    q: Query,
) -> Result<Response, ApiError> {
    let data = shared.read();
    let render = shared.render(&data);
    let page = PageRequest::from_query(&q, shared.config.page_caps.commits);
    with_view(&data, &caller, &p, |view| {
        let slug = &view.repo.slug;
        let until = match q.get("until").filter(|s| !s.is_empty()) {
            Some(rev) => Some(
                view.resolve(rev)
                    .ok_or_else(|| ApiError::no_such_commit(rev, slug))?,
            ),
            None => view.default_head(),
        };
        let Some(until) = until else {
            // An empty repository: an empty page, as real servers answer.
            return Ok(json(page.envelope(Vec::new(), true)));
        };
        let since = match q.get("since").filter(|s| !s.is_empty()) {
            Some(rev) => Some(
                view.resolve(rev)
                    .ok_or_else(|| ApiError::no_such_commit(rev, slug))?,
            ),
            None => None,
        };
        let path = q
            .get("path")
            .map(|s| s.trim_matches('/').to_owned())
            .filter(|s| !s.is_empty());
        let merges = q
            .get("merges")
            .map(|s| s.to_lowercase())
            .unwrap_or_else(|| "include".into());
        // Filter on indices (parents and touched paths are cheap); derive full commits only
        // for the page, so a deep page of a large history stays cheap.
        let matching = view
            .log(until, since)
            .filter(|&i| match merges.as_str() {
                "exclude" => view.parents(i).len() < 2,
                "only" => view.parents(i).len() > 1,
                _ => true,
            })
            .filter(|&i| path.as_ref().is_none_or(|p| view.touches(i, p)));
        let with_counts = q.get("withCounts").is_some_and(|v| v == "true");
        if with_counts {
            let all: Vec<_> = matching.filter_map(|i| view.commit(i)).collect();
            let mut authors: Vec<&str> = all.iter().map(|c| c.author.email.as_str()).collect();
            authors.sort_unstable();
            authors.dedup();
            let (author_count, total) = (authors.len(), all.len());
            let mut body = page.page(all.iter(), |c| render.commit(view, c));
            body["authorCount"] = json!(author_count);
            body["totalCount"] = json!(total);
            return Ok(json(body));
        }
        let (window, last) = page.take(matching);
        let values = window
            .into_iter()
            .filter_map(|i| view.commit(i))
            .map(|c| render.commit(view, &c))
            .collect();
        Ok(json(page.envelope(values, last)))
    })
}

#[derive(Debug, Deserialize)]
pub struct CommitPath {
    key: String,
    slug: String,
    commit: String,
}

pub async fn commit(
    State(shared): Sim,
    Extension(caller): Extension<Caller>,
    Path(p): Path<CommitPath>,
) -> Result<Response, ApiError> {
    let data = shared.read();
    let render = shared.render(&data);
    let rp = RepoPath {
        key: p.key,
        slug: p.slug,
    };
    with_view(&data, &caller, &rp, |view| {
        let c = view
            .resolve(&p.commit)
            .and_then(|i| view.commit(i))
            .ok_or_else(|| ApiError::no_such_commit(&p.commit, &view.repo.slug))?;
        Ok(json(render.commit(view, &c)))
    })
}
