//! Typed control operations: push commits, change files, create branches and tags, drive pull
//! requests through their lifecycle, add users, groups and grants. Each data change emits the
//! webhooks real servers would send.

mod directory;
mod git;
mod prs;

use serde::Deserialize;
use serde_json::Value;

use crate::Simulator;
use crate::state::{Data, HookScope, Shared};
use crate::webhooks::Job;

pub use directory::{NewUser, PermissionTarget};
pub use git::{FileWrite, PushRequest};
pub use prs::NewPullRequest;

/// Why a control operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MutationError {
    #[error("repository {0} does not exist")]
    NoSuchRepo(String),
    #[error("branch or revision {0:?} does not exist")]
    NoSuchRevision(String),
    #[error("user {0:?} does not exist")]
    NoSuchUser(String),
    #[error("group {0:?} does not exist")]
    NoSuchGroup(String),
    #[error("project {0:?} does not exist")]
    NoSuchProject(String),
    #[error("pull request {0} does not exist")]
    NoSuchPullRequest(u64),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("invalid request: {0}")]
    Invalid(String),
}

impl MutationError {
    /// The HTTP status of the control API's answer.
    pub fn status(&self) -> http::StatusCode {
        match self {
            MutationError::Conflict(_) => http::StatusCode::CONFLICT,
            MutationError::Invalid(_) => http::StatusCode::BAD_REQUEST,
            _ => http::StatusCode::NOT_FOUND,
        }
    }
}

/// Which repository an operation targets.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RepoRef {
    pub project: String,
    pub slug: String,
}

impl RepoRef {
    pub fn new(project: &str, slug: &str) -> RepoRef {
        RepoRef {
            project: project.to_owned(),
            slug: slug.to_owned(),
        }
    }
}

/// The repository index, or `NoSuchRepo`.
fn repo_index(data: &Data, r: &RepoRef) -> Result<usize, MutationError> {
    data.world
        .project_index(&r.project)
        .and_then(|p| data.world.repo_index(p, &r.slug))
        .ok_or_else(|| MutationError::NoSuchRepo(format!("{}/{}", r.project, r.slug)))
}

/// The user id of a username, or `NoSuchUser`.
fn user_id(data: &Data, name: &str) -> Result<u32, MutationError> {
    data.world
        .user_index(name)
        .and_then(|i| data.world.users.get(i))
        .map(|u| u.id)
        .ok_or_else(|| MutationError::NoSuchUser(name.to_owned()))
}

/// Now, in epoch ms, but never before `floor` (keeps histories strictly ordered).
fn now_after(floor: i64) -> i64 {
    chrono::Utc::now().timestamp_millis().max(floor + 1000)
}

/// Builds the delivery jobs of an event for the webhooks of `repo` (and of its project) that
/// subscribe to it. Called under the data lock; the jobs are enqueued after it is released.
fn jobs_for(
    shared: &Shared,
    data: &Data,
    repo: usize,
    event_key: &str,
    payload: &Value,
) -> Vec<Job> {
    let Some(r) = data.world.repos.get(repo) else {
        return Vec::new();
    };
    let body = bytes::Bytes::from(serde_json::to_vec(payload).unwrap_or_default());
    data.webhooks
        .iter()
        .filter(|h| h.active && h.events.iter().any(|e| e == event_key))
        .filter(|h| {
            h.scope == HookScope::Repository(r.id) || h.scope == HookScope::Project(r.project)
        })
        .map(|h| Job {
            webhook_id: h.id,
            url: h.url.clone(),
            event_key: event_key.to_owned(),
            request_id: shared.hooks.next_request_id(),
            secret: h.secret.clone(),
            body: body.clone(),
        })
        .collect()
}

impl Simulator {
    fn dispatch(&self, jobs: Vec<Job>) {
        for job in jobs {
            self.shared.hooks.enqueue(job);
        }
    }

    /// Sends `diagnostics:ping` to one webhook, whatever its events.
    pub fn ping_webhook(&self, id: u32) -> Result<(), MutationError> {
        let job = {
            let data = self.shared.read();
            let hook =
                data.webhooks.iter().find(|h| h.id == id).ok_or_else(|| {
                    MutationError::Invalid(format!("webhook {id} does not exist"))
                })?;
            Job {
                webhook_id: hook.id,
                url: hook.url.clone(),
                event_key: crate::webhooks::payloads::PING.to_owned(),
                request_id: self.shared.hooks.next_request_id(),
                secret: hook.secret.clone(),
                body: bytes::Bytes::from(crate::webhooks::payloads::ping().to_string()),
            }
        };
        self.dispatch(vec![job]);
        Ok(())
    }
}
