//! The pull-request lifecycle: open, approve, needs work, update, merge, decline, delete.

use serde::Deserialize;
use serde_json::{Value, json};

use super::git::{append_commit, refs_changed};
use super::{MutationError, RepoRef, jobs_for, now_after, repo_index, user_id};
use crate::Simulator;
use crate::generate::commits::split;
use crate::generate::pull_requests::{
    Action, Activity, Participant, PrState, PullRequest, ReviewStatus, Role, status_of,
};
use crate::model::{Ref, RefKind};
use crate::state::Data;
use crate::webhooks::Job;
use crate::webhooks::payloads::{self, RefChange};

/// A pull request to open.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPullRequest {
    pub from_branch: String,
    /// The default branch when absent.
    #[serde(default)]
    pub to_branch: Option<String>,
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// Username of the author.
    pub author: String,
    #[serde(default)]
    pub reviewers: Vec<String>,
}

/// A webhook event to send about a pull request.
struct Event {
    key: &'static str,
    /// The actor's status before a reviewer event.
    previous_status: ReviewStatus,
    /// Extra top-level payload fields (`previousTitle` ... for `pr:modified`).
    extra: Vec<(&'static str, Value)>,
}

impl Event {
    fn new(key: &'static str) -> Event {
        Event {
            key,
            previous_status: ReviewStatus::Unapproved,
            extra: Vec::new(),
        }
    }

    fn reviewer(key: &'static str, previous_status: ReviewStatus) -> Event {
        Event {
            previous_status,
            ..Event::new(key)
        }
    }
}

/// Loads a pull request, applies `change` to a copy, stores it, and builds its webhooks.
fn modify(
    sim: &Simulator,
    repo: &RepoRef,
    id: u64,
    user: &str,
    change: impl FnOnce(&mut Data, usize, u32, &mut PullRequest) -> Result<Vec<Event>, MutationError>,
) -> Result<PullRequest, MutationError> {
    let mut data = sim.shared.write();
    let idx = repo_index(&data, repo)?;
    let uid = user_id(&data, user)?;
    let mut pr = data
        .view(idx)
        .and_then(|v| v.pull_request(id))
        .ok_or(MutationError::NoSuchPullRequest(id))?;
    let events = change(&mut data, idx, uid, &mut pr)?;
    let repo_id = data.world.repos.get(idx).map(|r| r.id).unwrap_or_default();
    data.overlays
        .entry(repo_id)
        .or_default()
        .pull_requests
        .insert(id, Some(pr.clone()));
    let jobs = pr_jobs(sim, &data, idx, uid, &pr, &events);
    drop(data);
    sim.dispatch(jobs);
    Ok(pr)
}

/// Builds the webhook jobs of PR events; `ReviewStatus` is the previous status for reviewer events.
fn pr_jobs(
    sim: &Simulator,
    data: &Data,
    idx: usize,
    actor: u32,
    pr: &PullRequest,
    events: &[Event],
) -> Vec<Job> {
    let Some(view) = data.view(idx) else {
        return Vec::new();
    };
    let r = sim.shared.render(data);
    let now = pr.updated_ms;
    let mut jobs = Vec::new();
    for event in events {
        let key = event.key;
        let mut payload = match key {
            payloads::PR_APPROVED | payloads::PR_NEEDS_WORK => {
                payloads::reviewer(&r, &view, key, now, pr, actor, event.previous_status)
            }
            _ => payloads::pull_request(&r, &view, key, r.user_by_id(actor), now, pr),
        };
        for (field, value) in &event.extra {
            payload[*field] = value.clone();
        }
        jobs.extend(jobs_for(&sim.shared, data, idx, key, &payload));
    }
    jobs
}

fn require_open(pr: &PullRequest) -> Result<(), MutationError> {
    if pr.state == PrState::Open {
        Ok(())
    } else {
        Err(MutationError::Conflict(format!(
            "pull request {} is {}",
            pr.id,
            pr.state.as_str()
        )))
    }
}

fn push_activity(pr: &mut PullRequest, user: u32, action: Action) -> i64 {
    let now = now_after(pr.updated_ms);
    let id = pr.activities.iter().map(|a| a.id).max().unwrap_or(0) + 1;
    pr.activities.push(Activity {
        id,
        created_ms: now,
        user,
        action,
    });
    pr.updated_ms = now;
    now
}

/// Records a review verdict, adding the user as a participant when not a reviewer.
fn review(pr: &mut PullRequest, user: u32, action: Action) -> ReviewStatus {
    let previous = status_of(&pr.activities, user);
    push_activity(pr, user, action);
    let status = status_of(&pr.activities, user);
    let from = pr.from_commit;
    match pr
        .reviewers
        .iter_mut()
        .chain(pr.participants.iter_mut())
        .find(|p| p.user == user)
    {
        Some(p) => {
            p.status = status;
            p.last_reviewed = Some(from);
        }
        None => pr.participants.push(Participant {
            user,
            role: Role::Participant,
            status,
            last_reviewed: Some(from),
        }),
    }
    previous
}

impl Simulator {
    /// Opens a pull request; sends `pr:opened`. Returns its id.
    pub fn open_pull_request(
        &self,
        repo: &RepoRef,
        req: NewPullRequest,
    ) -> Result<u64, MutationError> {
        let mut data = self.shared.write();
        let idx = repo_index(&data, repo)?;
        let author = user_id(&data, &req.author)?;
        let reviewers = req
            .reviewers
            .iter()
            .map(|r| user_id(&data, r))
            .collect::<Result<Vec<_>, _>>()?;
        let (id, pr) = {
            let view = data
                .view(idx)
                .ok_or_else(|| MutationError::NoSuchRepo(repo.slug.clone()))?;
            let to_branch = req
                .to_branch
                .clone()
                .unwrap_or_else(|| view.repo.default_branch.clone());
            let from_commit = view
                .branch_number(&req.from_branch)
                .and_then(|b| view.head(b))
                .ok_or_else(|| MutationError::NoSuchRevision(req.from_branch.clone()))?;
            let to_commit = view
                .branch_number(&to_branch)
                .and_then(|b| view.head(b))
                .ok_or_else(|| MutationError::NoSuchRevision(to_branch.clone()))?;
            let id = view.max_pull_request_id() + 1;
            let now = now_after(0);
            let pr = PullRequest {
                id,
                version: 0,
                title: req.title,
                description: req.description,
                state: PrState::Open,
                draft: false,
                created_ms: now,
                updated_ms: now,
                closed_ms: None,
                from_branch: req.from_branch,
                from_commit,
                to_branch,
                to_commit,
                author,
                reviewers: reviewers
                    .into_iter()
                    .filter(|&r| r != author)
                    .map(|user| Participant {
                        user,
                        role: Role::Reviewer,
                        status: ReviewStatus::Unapproved,
                        last_reviewed: None,
                    })
                    .collect(),
                participants: Vec::new(),
                activities: vec![Activity {
                    id: u64::from(view.repo.id) * 10_000_000 + id * 100,
                    created_ms: now,
                    user: author,
                    action: Action::Opened,
                }],
            };
            (id, pr)
        };
        let repo_id = data.world.repos.get(idx).map(|r| r.id).unwrap_or_default();
        data.overlays
            .entry(repo_id)
            .or_default()
            .pull_requests
            .insert(id, Some(pr.clone()));
        let jobs = pr_jobs(
            self,
            &data,
            idx,
            author,
            &pr,
            &[Event::new(payloads::PR_OPENED)],
        );
        drop(data);
        self.dispatch(jobs);
        Ok(id)
    }

    /// Approves as `user`; sends `pr:reviewer:approved`.
    pub fn approve_pull_request(
        &self,
        repo: &RepoRef,
        id: u64,
        user: &str,
    ) -> Result<PullRequest, MutationError> {
        modify(self, repo, id, user, |_, _, uid, pr| {
            require_open(pr)?;
            let previous = review(pr, uid, Action::Approved);
            Ok(vec![Event::reviewer(payloads::PR_APPROVED, previous)])
        })
    }

    /// Marks "needs work" as `user`; sends `pr:reviewer:needs_work`.
    pub fn needs_work_pull_request(
        &self,
        repo: &RepoRef,
        id: u64,
        user: &str,
    ) -> Result<PullRequest, MutationError> {
        modify(self, repo, id, user, |_, _, uid, pr| {
            require_open(pr)?;
            let previous = review(pr, uid, Action::Reviewed);
            Ok(vec![Event::reviewer(payloads::PR_NEEDS_WORK, previous)])
        })
    }

    /// Changes title and/or description; sends `pr:modified`.
    pub fn update_pull_request(
        &self,
        repo: &RepoRef,
        id: u64,
        user: &str,
        title: Option<String>,
        description: Option<String>,
    ) -> Result<PullRequest, MutationError> {
        modify(self, repo, id, user, |data, idx, _, pr| {
            // pr:modified carries what the title, description and target were before.
            let previous_target = data.view(idx).map(|view| {
                json!({
                    "id": format!("refs/heads/{}", pr.to_branch),
                    "displayId": pr.to_branch,
                    "type": "BRANCH",
                    "latestCommit": view.commit_id(pr.to_commit),
                    "latestChangeset": view.commit_id(pr.to_commit),
                })
            });
            let mut event = Event::new(payloads::PR_MODIFIED);
            event.extra = vec![
                ("previousTitle", json!(pr.title)),
                ("previousDescription", json!(pr.description)),
                ("previousTarget", previous_target.unwrap_or(Value::Null)),
            ];
            pr.title = title.unwrap_or_else(|| pr.title.clone());
            pr.description = description.unwrap_or_else(|| pr.description.clone());
            pr.version += 1;
            pr.updated_ms = now_after(pr.updated_ms);
            Ok(vec![event])
        })
    }

    /// Declines as `user`; sends `pr:declined`.
    pub fn decline_pull_request(
        &self,
        repo: &RepoRef,
        id: u64,
        user: &str,
    ) -> Result<PullRequest, MutationError> {
        modify(self, repo, id, user, |_, _, uid, pr| {
            require_open(pr)?;
            let now = push_activity(pr, uid, Action::Declined);
            pr.state = PrState::Declined;
            pr.closed_ms = Some(now);
            pr.version += 1;
            Ok(vec![Event::new(payloads::PR_DECLINED)])
        })
    }

    /// Merges as `user` with a merge commit on the target branch; sends `pr:merged` and then
    /// `repo:refs_changed` for the target branch.
    pub fn merge_pull_request(
        &self,
        repo: &RepoRef,
        id: u64,
        user: &str,
    ) -> Result<PullRequest, MutationError> {
        let mut change = None;
        let pr = modify(self, repo, id, user, |data, idx, uid, pr| {
            require_open(pr)?;
            let (to_branch, to_head, from_head, key) = {
                let view = data.view(idx).ok_or(MutationError::NoSuchPullRequest(id))?;
                let to_branch = view
                    .branch_number(&pr.to_branch)
                    .ok_or_else(|| MutationError::NoSuchRevision(pr.to_branch.clone()))?;
                let from_head = view
                    .branch_number(&pr.from_branch)
                    .and_then(|b| view.head(b))
                    .unwrap_or(pr.from_commit);
                let key = data
                    .world
                    .projects
                    .get(view.repo.project)
                    .map(|p| p.key.clone())
                    .unwrap_or_default();
                (to_branch, view.head(to_branch), from_head, key)
            };
            let message = format!(
                "Merge pull request #{id} in {key}/{} from {} to {}\n\n* commit '{}':\n  {}",
                repo.slug,
                pr.from_branch,
                pr.to_branch,
                data.view(idx)
                    .map(|v| v.commit_id(from_head))
                    .unwrap_or_default(),
                pr.title
            );
            let merge = append_commit(
                data,
                idx,
                to_branch,
                uid,
                message,
                Some(from_head),
                Vec::new(),
            )?;
            let now = push_activity(
                pr,
                uid,
                Action::Merged {
                    commit: Some(merge),
                },
            );
            pr.state = PrState::Merged;
            pr.closed_ms = Some(now);
            pr.version += 1;
            pr.from_commit = from_head;
            debug_assert_eq!(split(merge).0, to_branch);
            let git_ref = Ref {
                display_id: pr.to_branch.clone(),
                kind: RefKind::Branch,
                target: merge,
                tag_hash: None,
            };
            change = Some((
                uid,
                RefChange {
                    git_ref,
                    from: to_head,
                    to: merge,
                },
            ));
            Ok(vec![Event::new(payloads::PR_MERGED)])
        })?;
        if let Some((uid, c)) = change {
            let data = self.shared.read();
            let idx = repo_index(&data, repo)?;
            let jobs = refs_changed(self, &data, idx, uid, vec![c]);
            drop(data);
            self.dispatch(jobs);
        }
        Ok(pr)
    }

    /// Deletes a pull request; sends `pr:deleted`.
    pub fn delete_pull_request(
        &self,
        repo: &RepoRef,
        id: u64,
        user: &str,
    ) -> Result<(), MutationError> {
        let mut data = self.shared.write();
        let idx = repo_index(&data, repo)?;
        let uid = user_id(&data, user)?;
        let mut pr = data
            .view(idx)
            .and_then(|v| v.pull_request(id))
            .ok_or(MutationError::NoSuchPullRequest(id))?;
        pr.updated_ms = now_after(pr.updated_ms);
        let jobs = pr_jobs(
            self,
            &data,
            idx,
            uid,
            &pr,
            &[Event::new(payloads::PR_DELETED)],
        );
        let repo_id = data.world.repos.get(idx).map(|r| r.id).unwrap_or_default();
        data.overlays
            .entry(repo_id)
            .or_default()
            .pull_requests
            .insert(id, None);
        drop(data);
        self.dispatch(jobs);
        Ok(())
    }
}
