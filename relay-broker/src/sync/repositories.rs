//! The repositories pass: projects (after the account's project filter), their repositories
//! (without a filter: one listing of every visible repository, personal ones included), then
//! each repository's code data (see [`super::code`]), a few at a time.
//!
//! Repositories and projects that vanished from Bitbucket (or from the filter) are removed with
//! their data. A repository whose code sync fails is reported and the pass goes on.

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use serde_json::json;

use super::code::{self, CodeOutcome};
use super::convert;
use super::engine::{AccountRuntime, PassResult, SyncError};
use crate::store::{ProjectRecord, RepoId, Store};

pub async fn pass(rt: &AccountRuntime, store: &dyn Store) -> Result<PassResult, SyncError> {
    let mut projects: Vec<ProjectRecord> = rt
        .client
        .projects()
        .await?
        .iter()
        .filter(|p| rt.includes_project(&p.key))
        .map(convert::project)
        .collect();
    let repos = if rt.account.projects.is_none() {
        // One listing of every visible repository: fewer calls than per project, and the only
        // way to see personal (`~user`) repositories, whose projects `/projects` leaves out.
        let all = rt.client.all_repos().collect_all().await?;
        for repo in &all {
            if !projects.iter().any(|p| p.key == repo.project.key) {
                projects.push(convert::project(&repo.project));
            }
        }
        all
    } else {
        let mut repos = Vec::new();
        for project in &projects {
            repos.extend(rt.client.repos(&project.key).await?);
        }
        repos
    };
    store.replace_projects(&rt.key, &projects).await?;
    let present: Vec<RepoId> = repos
        .iter()
        .map(|r| RepoId::new(r.project.key.clone(), r.slug.clone()))
        .collect();
    let removed = store.retain_repos(&rt.key, &present).await?;

    let concurrency = rt.account.limits.concurrency.max(1);
    let mut queue = repos.iter();
    let mut pending = FuturesUnordered::new();
    let mut outcomes = Vec::with_capacity(repos.len());
    loop {
        while pending.len() < concurrency {
            let Some(repo) = queue.next() else { break };
            pending.push(sync_one(rt, store, repo));
        }
        match pending.next().await {
            Some(outcome) => outcomes.push(outcome),
            None => break,
        }
    }

    let mut result = PassResult::default();
    let (mut unchanged, mut changed, mut empty, mut new_commits) = (0u64, 0u64, 0u64, 0u64);
    for (repo, outcome) in outcomes {
        match outcome {
            Ok(CodeOutcome::Unchanged) => unchanged += 1,
            Ok(CodeOutcome::Empty) => empty += 1,
            Ok(CodeOutcome::Updated { commits }) => {
                changed += 1;
                new_commits += commits;
            }
            Err(err) => result
                .errors
                .push(format!("{}/{}: {err}", repo.project.key, repo.slug)),
        }
    }
    result.detail = json!({
        "projects": projects.len(),
        "repos": repos.len(),
        "removed": removed,
        "unchanged": unchanged,
        "updated": changed,
        "empty": empty,
        "new_commits": new_commits,
    });
    Ok(result)
}

async fn sync_one<'a>(
    rt: &AccountRuntime,
    store: &dyn Store,
    repo: &'a crate::bitbucket::model::Repository,
) -> (
    &'a crate::bitbucket::model::Repository,
    Result<CodeOutcome, SyncError>,
) {
    (repo, code::sync_repo(rt, store, repo).await)
}
