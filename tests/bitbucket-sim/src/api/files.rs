//! `/files` (plain path strings), `/browse` (file lines pages and directory listings) and
//! `/raw` (file bytes), all at a revision (`at`, default branch by default).

use std::collections::BTreeMap;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::envelope::PageRequest;
use super::errors::ApiError;
use super::{Query, RepoPath, Sim, json, with_view};
use crate::auth::Caller;
use crate::repo_view::{FileSource, RepoView};

#[derive(Debug, Deserialize)]
pub struct FilePath {
    key: String,
    slug: String,
    path: String,
}

impl FilePath {
    fn split(self) -> (RepoPath, String) {
        (
            RepoPath {
                key: self.key,
                slug: self.slug,
            },
            self.path.trim_matches('/').to_owned(),
        )
    }
}

/// The tree at `at` (or the default branch) and the revision string to echo.
fn tree_at(
    view: &RepoView<'_>,
    q: &Query,
) -> Result<(BTreeMap<String, FileSource>, String), ApiError> {
    let slug = &view.repo.slug;
    match q.get("at").filter(|s| !s.is_empty()) {
        Some(rev) => {
            let at = view
                .resolve(rev)
                .ok_or_else(|| ApiError::no_such_commit(rev, slug))?;
            Ok((view.tree_at(at), rev.clone()))
        }
        None => {
            let head = view
                .default_head()
                .ok_or_else(|| ApiError::no_default_branch(slug))?;
            Ok((
                view.tree_at(head),
                format!("refs/heads/{}", view.repo.default_branch),
            ))
        }
    }
}

fn is_dir(tree: &BTreeMap<String, FileSource>, path: &str) -> bool {
    path.is_empty()
        || tree
            .range(format!("{path}/")..)
            .next()
            .is_some_and(|(k, _)| k.starts_with(&format!("{path}/")))
}

pub async fn files_root(
    state: Sim,
    caller: Extension<Caller>,
    Path(p): Path<RepoPath>,
    q: Query,
) -> Result<Response, ApiError> {
    list_files(state, caller, p, String::new(), q)
}

pub async fn files(
    state: Sim,
    caller: Extension<Caller>,
    Path(p): Path<FilePath>,
    q: Query,
) -> Result<Response, ApiError> {
    let (rp, path) = p.split();
    list_files(state, caller, rp, path, q)
}

fn list_files(
    State(shared): Sim,
    Extension(caller): Extension<Caller>,
    p: RepoPath,
    path: String,
    q: Query,
) -> Result<Response, ApiError> {
    let data = shared.read();
    let page = PageRequest::from_query(&q, shared.config.page_caps.files);
    with_view(&data, &caller, &p, |view| {
        let (tree, rev) = tree_at(view, &q)?;
        if !is_dir(&tree, &path) {
            return Err(ApiError::no_such_path(&path, &rev));
        }
        let prefix = if path.is_empty() {
            String::new()
        } else {
            format!("{path}/")
        };
        let paths = tree
            .keys()
            .filter_map(|k| k.strip_prefix(prefix.as_str()))
            .map(str::to_owned);
        Ok(json(page.page(paths, Value::String)))
    })
}

pub async fn browse_root(
    state: Sim,
    caller: Extension<Caller>,
    Path(p): Path<RepoPath>,
    q: Query,
) -> Result<Response, ApiError> {
    browse_path(state, caller, p, String::new(), q)
}

pub async fn browse(
    state: Sim,
    caller: Extension<Caller>,
    Path(p): Path<FilePath>,
    q: Query,
) -> Result<Response, ApiError> {
    let (rp, path) = p.split();
    browse_path(state, caller, rp, path, q)
}

fn path_json(path: &str) -> Value {
    let components: Vec<&str> = if path.is_empty() {
        Vec::new()
    } else {
        path.split('/').collect()
    };
    let name = components.last().copied().unwrap_or_default();
    let mut v = json!({
        "components": components,
        "parent": components[..components.len().saturating_sub(1)].join("/"),
        "name": name,
        "toString": path,
    });
    if let Some((_, ext)) = name.rsplit_once('.').filter(|(stem, _)| !stem.is_empty()) {
        v["extension"] = json!(ext);
    }
    v
}

fn browse_path(
    State(shared): Sim,
    Extension(caller): Extension<Caller>,
    p: RepoPath,
    path: String,
    q: Query,
) -> Result<Response, ApiError> {
    let data = shared.read();
    let caps = shared.config.page_caps;
    with_view(&data, &caller, &p, |view| {
        let (tree, rev) = tree_at(view, &q)?;
        let file = tree.get(&path);
        let dir = file.is_none() && is_dir(&tree, &path);
        if q.get("type").is_some_and(|t| t == "true") {
            return match (file, dir) {
                (Some(_), _) => Ok(json(json!({"type": "FILE"}))),
                (None, true) => Ok(json(json!({"type": "DIRECTORY"}))),
                _ => Err(ApiError::no_such_path(&path, &rev)),
            };
        }
        if let Some(source) = file {
            let page = PageRequest::from_query(&q, caps.source_lines);
            let bytes = view.file_bytes(source);
            let text = String::from_utf8_lossy(&bytes);
            let (lines, last) = page.take(text.lines());
            let lines = lines.iter().map(|l| json!({"text": l})).collect();
            return Ok(json(page.envelope_named("lines", lines, last)));
        }
        if !dir {
            return Err(ApiError::no_such_path(&path, &rev));
        }
        let page = PageRequest::from_query(&q, caps.directory_children);
        let children = directory_children(view, &tree, &path);
        Ok(json(json!({
            "path": path_json(&path),
            "revision": rev,
            "children": page.page(children.into_iter(), |c| c),
        })))
    })
}

/// Immediate children of a directory: directories first, then files, each by name.
fn directory_children(
    view: &RepoView<'_>,
    tree: &BTreeMap<String, FileSource>,
    dir: &str,
) -> Vec<Value> {
    let prefix = if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    };
    let mut dirs: Vec<String> = Vec::new();
    let mut files: Vec<Value> = Vec::new();
    for (path, source) in tree.range(prefix.clone()..) {
        let Some(rest) = path.strip_prefix(prefix.as_str()) else {
            break;
        };
        match rest.split_once('/') {
            Some((d, _)) => {
                if dirs.last().is_none_or(|last| last != d) {
                    dirs.push(d.to_owned());
                }
            }
            None => {
                let size = view.file_bytes(source).len();
                let mut entry = json!({"path": path_json(rest), "type": "FILE", "size": size});
                entry["contentId"] = json!(crate::generate::commits::commit_id(
                    view.repo.seed ^ size as u64,
                    path.len() as u64
                ));
                files.push(entry);
            }
        }
    }
    dirs.dedup();
    dirs.into_iter()
        .map(|d| json!({"path": path_json(&d), "type": "DIRECTORY"}))
        .chain(files)
        .collect()
}

pub async fn raw(
    State(shared): Sim,
    Extension(caller): Extension<Caller>,
    Path(p): Path<FilePath>,
    q: Query,
) -> Result<Response, ApiError> {
    let (rp, path) = p.split();
    let data = shared.read();
    with_view(&data, &caller, &rp, |view| {
        let (tree, rev) = tree_at(view, &q)?;
        let source = tree
            .get(&path)
            .ok_or_else(|| ApiError::no_such_path(&path, &rev))?;
        let bytes = view.file_bytes(source);
        Ok(([(header::CONTENT_TYPE, "text/plain; charset=UTF-8")], bytes).into_response())
    })
}
