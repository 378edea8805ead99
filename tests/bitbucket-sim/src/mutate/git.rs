//! Pushes, file changes, branches and tags (each emits `repo:refs_changed`).

use bytes::Bytes;
use serde::Deserialize;

use super::{MutationError, RepoRef, jobs_for, now_after, repo_index, user_id};
use crate::Simulator;
use crate::generate::commits::{CREATED_BASE, MAIN, commit_id, index, split};
use crate::model::{Commit, Person, Ref, RefKind};
use crate::overlay::{FileChange, PushedCommit};
use crate::repo_view::RepoView;
use crate::state::Data;
use crate::webhooks::payloads::{self, RefChange};

/// Commits to push to a branch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushRequest {
    /// Target branch; the default branch when absent.
    #[serde(default)]
    pub branch: Option<String>,
    /// Username of the author and pusher; `admin` when absent.
    #[serde(default)]
    pub author: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    /// Files the (last) commit writes; `null` content deletes the file.
    #[serde(default)]
    pub files: Vec<FileWrite>,
    /// How many commits to push (at least 1); only the last one carries `files`.
    #[serde(default)]
    pub count: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileWrite {
    pub path: String,
    pub content: Option<String>,
}

impl FileWrite {
    pub fn write(path: &str, content: &str) -> FileWrite {
        FileWrite {
            path: path.to_owned(),
            content: Some(content.to_owned()),
        }
    }

    pub fn delete(path: &str) -> FileWrite {
        FileWrite {
            path: path.to_owned(),
            content: None,
        }
    }
}

/// The next free position on branch `branch` and its current head.
fn next_slot(view: &RepoView<'_>, branch: u64) -> (u64, Option<u64>) {
    let head = view.head(branch);
    let overlay_next = view
        .overlay
        .and_then(|o| {
            o.commits
                .range(index(branch, 0)..index(branch + 1, 0))
                .next_back()
        })
        .map(|(&i, _)| split(i).1 + 1);
    let generated_next = match head {
        Some(h) if split(h).0 == branch => split(h).1 + 1,
        _ => 0,
    };
    (overlay_next.unwrap_or(0).max(generated_next), head)
}

fn person(data: &Data, user: u32) -> Person {
    let u = data.world.user(user);
    Person {
        name: u.map(|u| u.display_name.clone()).unwrap_or_default(),
        email: u
            .and_then(|u| u.email.clone())
            .unwrap_or_else(|| "noreply@acme.example".into()),
        user: Some(user),
    }
}

/// Appends one commit to a branch in the overlay and moves the branch head; returns its index.
pub(super) fn append_commit(
    data: &mut Data,
    repo: usize,
    branch: u64,
    author: u32,
    message: String,
    extra_parent: Option<u64>,
    changes: Vec<FileChange>,
) -> Result<u64, MutationError> {
    let (pos, head, ts, seed, repo_id) = {
        let view = data
            .view(repo)
            .ok_or_else(|| MutationError::NoSuchRepo(repo.to_string()))?;
        let (pos, head) = next_slot(&view, branch);
        let floor = head
            .and_then(|h| view.commit(h))
            .map(|c| c.committer_ms)
            .unwrap_or(0);
        let floor = extra_parent
            .and_then(|p| view.commit(p))
            .map_or(floor, |c| floor.max(c.committer_ms));
        (pos, head, now_after(floor), view.repo.seed, view.repo.id)
    };
    let idx = index(branch, pos);
    let who = person(data, author);
    let touched = changes.iter().map(|c| c.path.clone()).collect();
    let commit = Commit {
        index: idx,
        id: commit_id(seed, idx),
        author: who.clone(),
        author_ms: ts,
        committer: who,
        committer_ms: ts,
        message,
        parents: head.into_iter().chain(extra_parent).collect(),
        touched,
    };
    let overlay = data.overlays.entry(repo_id).or_default();
    overlay
        .commits
        .insert(idx, PushedCommit { commit, changes });
    overlay.heads.insert(branch, idx);
    Ok(idx)
}

impl Simulator {
    /// Pushes commits to a branch (the default branch by default) and sends
    /// `repo:refs_changed`. Returns the new commit ids, oldest first.
    pub fn push(&self, repo: &RepoRef, req: PushRequest) -> Result<Vec<String>, MutationError> {
        let mut data = self.shared.write();
        let idx = repo_index(&data, repo)?;
        let author = user_id(
            &data,
            req.author
                .as_deref()
                .unwrap_or(crate::credentials::ADMIN_USER),
        )?;
        let (branch, name, before) = {
            let view = data
                .view(idx)
                .ok_or_else(|| MutationError::NoSuchRepo(repo.slug.clone()))?;
            let name = req
                .branch
                .clone()
                .unwrap_or_else(|| view.repo.default_branch.clone());
            let branch = match view.branch_number(&name) {
                Some(b) => b,
                None if name == view.repo.default_branch => MAIN,
                None => return Err(MutationError::NoSuchRevision(name)),
            };
            (branch, name, view.head(branch))
        };
        let count = req.count.unwrap_or(1).max(1);
        let mut ids = Vec::new();
        let mut last = 0;
        for n in 0..count {
            let is_last = n + 1 == count;
            let changes = if is_last {
                req.files
                    .iter()
                    .map(|f| FileChange {
                        path: f.path.trim_matches('/').to_owned(),
                        content: f.content.clone().map(Bytes::from),
                    })
                    .collect()
            } else {
                Vec::new()
            };
            let message = match (&req.message, count) {
                (Some(m), 1) => m.clone(),
                (Some(m), _) => format!("{m} ({}/{count})", n + 1),
                (None, _) => default_message(&req.files, n + 1),
            };
            last = append_commit(&mut data, idx, branch, author, message, None, changes)?;
            ids.push(
                data.view(idx)
                    .map(|v| v.commit_id(last))
                    .unwrap_or_default(),
            );
        }
        let git_ref = Ref {
            display_id: name,
            kind: RefKind::Branch,
            target: last,
            tag_hash: None,
        };
        let jobs = refs_changed(
            self,
            &data,
            idx,
            author,
            vec![RefChange {
                git_ref,
                from: before,
                to: last,
            }],
        );
        drop(data);
        self.dispatch(jobs);
        Ok(ids)
    }

    /// Creates a branch at a revision (default branch head by default); sends `repo:refs_changed` (ADD).
    pub fn create_branch(
        &self,
        repo: &RepoRef,
        name: &str,
        from: Option<&str>,
    ) -> Result<String, MutationError> {
        let mut data = self.shared.write();
        let idx = repo_index(&data, repo)?;
        let (target, id, repo_id, number) = {
            let view = data
                .view(idx)
                .ok_or_else(|| MutationError::NoSuchRepo(repo.slug.clone()))?;
            if view.branch_number(name).is_some() {
                return Err(MutationError::Conflict(format!(
                    "branch {name} already exists"
                )));
            }
            let target = match from {
                Some(rev) => view
                    .resolve(rev)
                    .ok_or_else(|| MutationError::NoSuchRevision(rev.to_owned()))?,
                None => view
                    .default_head()
                    .ok_or_else(|| MutationError::NoSuchRevision("default branch".into()))?,
            };
            let number = CREATED_BASE + view.overlay.map_or(0, |o| o.created_branches.len() as u64);
            (target, view.commit_id(target), view.repo.id, number)
        };
        let overlay = data.overlays.entry(repo_id).or_default();
        overlay.created_branches.insert(number, name.to_owned());
        overlay.heads.insert(number, target);
        let git_ref = Ref {
            display_id: name.to_owned(),
            kind: RefKind::Branch,
            target,
            tag_hash: None,
        };
        let jobs = refs_changed(
            self,
            &data,
            idx,
            1,
            vec![RefChange {
                git_ref,
                from: None,
                to: target,
            }],
        );
        drop(data);
        self.dispatch(jobs);
        Ok(id)
    }

    /// Creates a tag at a revision (default branch head by default); sends `repo:refs_changed` (ADD).
    pub fn create_tag(
        &self,
        repo: &RepoRef,
        name: &str,
        at: Option<&str>,
        annotated: bool,
    ) -> Result<String, MutationError> {
        let mut data = self.shared.write();
        let idx = repo_index(&data, repo)?;
        let (target, id, repo_id, seed) = {
            let view = data
                .view(idx)
                .ok_or_else(|| MutationError::NoSuchRepo(repo.slug.clone()))?;
            if view.tags().iter().any(|t| t.display_id == name) {
                return Err(MutationError::Conflict(format!(
                    "tag {name} already exists"
                )));
            }
            let target = match at {
                Some(rev) => view
                    .resolve(rev)
                    .ok_or_else(|| MutationError::NoSuchRevision(rev.to_owned()))?,
                None => view
                    .default_head()
                    .ok_or_else(|| MutationError::NoSuchRevision("default branch".into()))?,
            };
            (target, view.commit_id(target), view.repo.id, view.repo.seed)
        };
        let tag = Ref {
            display_id: name.to_owned(),
            kind: RefKind::Tag,
            target,
            tag_hash: annotated.then(|| commit_id(seed ^ 0x7A6 ^ name.len() as u64, target)),
        };
        data.overlays
            .entry(repo_id)
            .or_default()
            .tags
            .push(tag.clone());
        let jobs = refs_changed(
            self,
            &data,
            idx,
            1,
            vec![RefChange {
                git_ref: tag,
                from: None,
                to: target,
            }],
        );
        drop(data);
        self.dispatch(jobs);
        Ok(id)
    }
}

fn default_message(files: &[FileWrite], n: u32) -> String {
    match files {
        [] => format!("Simulated change {n}"),
        [one] if one.content.is_none() => format!("Delete {}", one.path),
        [one] => format!("Update {}", one.path),
        many => format!("Update {} files", many.len()),
    }
}

pub(super) fn refs_changed(
    sim: &Simulator,
    data: &Data,
    repo: usize,
    actor: u32,
    changes: Vec<RefChange>,
) -> Vec<crate::webhooks::Job> {
    let Some(view) = data.view(repo) else {
        return Vec::new();
    };
    let r = sim.shared.render(data);
    let payload = payloads::refs_changed(
        &r,
        &view,
        r.user_by_id(actor),
        chrono::Utc::now().timestamp_millis(),
        &changes,
    );
    jobs_for(&sim.shared, data, repo, payloads::REFS_CHANGED, &payload)
}
