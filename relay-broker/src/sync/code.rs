//! One repository's code data, incrementally.
//!
//! - Head unchanged (and settings fresh): exactly one call (`default-branch`), nothing written.
//! - Head moved: the commits between the stored head and the new one (`since`/`until`), the
//!   tags (releases, with their commit time), the file list at the new head (file count, top
//!   language) and the pull-request settings, written in one `apply_code` transaction.
//! - First sync (or a changed default branch): the whole history is streamed page by page into
//!   the store, with a checkpoint (`until@offset`) after every page. A killed sync resumes the
//!   same walk from the checkpoint (appends ignore ids already stored: no duplicates; the offset
//!   only advances after a page is stored: no gaps), then catches up from that head to the new
//!   one. The head is written last, so a crash before it just means "not synced yet".

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::convert;
use super::engine::{AccountRuntime, SyncError};
use super::language;
use crate::bitbucket::model::{Repository, Tag};
use crate::store::{CodeUpdate, CommitRecord, RepoKey, RepoSettings, RepoState, Store};

/// Settings are re-read with every head move, and at least this often otherwise.
const SETTINGS_MAX_AGE_DAYS: i64 = 7;
const HISTORY_SCOPE: &str = "history";

/// What one code sync did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeOutcome {
    Unchanged,
    Empty,
    Updated { commits: u64 },
}

/// Syncs `repo`'s code data; see the module docs.
pub async fn sync_repo(
    rt: &AccountRuntime,
    store: &dyn Store,
    repo: &Repository,
) -> Result<CodeOutcome, SyncError> {
    let (project, slug) = (repo.project.key.as_str(), repo.slug.as_str());
    let key = rt.key.repo(project, slug);
    let state = store.repo_state(&key).await?;
    let branch = rt.client.default_branch(project, slug).await?;
    let record = convert::repo(repo, branch.as_ref().map(|b| b.display_id.clone()));
    if state
        .as_ref()
        .is_none_or(|s| s.archived != record.archived || s.default_branch != record.default_branch)
    {
        store.upsert_repo(&rt.key, &record).await?;
    }
    let Some(branch) = branch else {
        return empty_repo(store, key, state.as_ref()).await;
    };
    let head = branch.latest_commit.clone();
    let same_branch = state
        .as_ref()
        .is_some_and(|s| s.default_branch.as_deref() == Some(branch.display_id.as_str()));
    let head_moved =
        !(same_branch && state.as_ref().and_then(|s| s.head.as_deref()) == Some(head.as_str()));
    let settings_fresh = state.as_ref().is_some_and(|s| {
        s.settings.is_some()
            && s.code_synced_at
                .is_some_and(|t| Utc::now() - t < chrono::Duration::days(SETTINGS_MAX_AGE_DAYS))
    });
    if !head_moved && settings_fresh {
        return Ok(CodeOutcome::Unchanged);
    }
    let mut update = CodeUpdate::new(
        key.clone(),
        Some(branch.display_id.clone()),
        Some(head.clone()),
    );
    let mut added = 0;
    if head_moved {
        let link = repo.links.web();
        let tags = rt.client.tags(project, slug).await?;
        let mut times = known_release_times(store, &key).await?;
        let wanted: HashSet<String> = tags
            .iter()
            .map(|t| t.latest_commit.clone())
            .filter(|id| !times.contains_key(id))
            .collect();
        let since = if same_branch {
            state.as_ref().and_then(|s| s.head.clone())
        } else {
            None
        };
        added = commits(
            rt,
            store,
            &key,
            &head,
            since,
            state.as_ref(),
            link,
            &wanted,
            &mut times,
            &mut update,
        )
        .await?;
        update.releases = Some(releases(rt, &key, &tags, &mut times, link).await?);
        let files = rt.client.files(project, slug, &head, None).await?;
        update.top_language =
            language::top_language(files.iter().map(String::as_str)).map(str::to_owned);
        update.files = Some(files);
    }
    update.settings = Some(settings(rt, project, slug).await?);
    store.apply_code(&update).await?;
    store
        .clear_checkpoint(&rt.key, HISTORY_SCOPE, &repo_path(&key))
        .await?;
    Ok(CodeOutcome::Updated { commits: added })
}

fn repo_path(key: &RepoKey) -> String {
    format!("{}/{}", key.project, key.slug)
}

async fn empty_repo(
    store: &dyn Store,
    key: RepoKey,
    state: Option<&RepoState>,
) -> Result<CodeOutcome, SyncError> {
    if state.is_some_and(|s| s.head.is_none() && s.code_synced_at.is_some() && s.commits == 0) {
        return Ok(CodeOutcome::Empty);
    }
    let mut update = CodeUpdate::new(key, None, None);
    update.replace_history = true;
    update.releases = Some(Vec::new());
    update.files = Some(Vec::new());
    store.apply_code(&update).await?;
    Ok(CodeOutcome::Empty)
}

/// Commit times of releases already stored, by commit id.
async fn known_release_times(
    store: &dyn Store,
    key: &RepoKey,
) -> Result<HashMap<String, DateTime<Utc>>, SyncError> {
    Ok(store
        .recent_releases(key, u32::MAX)
        .await?
        .into_iter()
        .filter_map(|r| r.commit_at.map(|at| (r.commit_id, at)))
        .collect())
}

/// Fetches the commits the store lacks. Incremental ones go into `update`; a whole history is
/// streamed into the store page by page with a resume checkpoint. Returns how many were new.
#[allow(clippy::too_many_arguments)]
async fn commits(
    rt: &AccountRuntime,
    store: &dyn Store,
    key: &RepoKey,
    head: &str,
    since: Option<String>,
    state: Option<&RepoState>,
    link: Option<&str>,
    wanted: &HashSet<String>,
    times: &mut HashMap<String, DateTime<Utc>>,
    update: &mut CodeUpdate,
) -> Result<u64, SyncError> {
    let mut note = |batch: &[CommitRecord]| {
        for c in batch.iter().filter(|c| wanted.contains(&c.id)) {
            times.insert(c.id.clone(), c.committer_at);
        }
    };
    let path = repo_path(key);
    let resume = store
        .checkpoint(&rt.key, HISTORY_SCOPE, &path)
        .await?
        .and_then(|v| {
            v.rsplit_once('@')
                .and_then(|(h, o)| Some((h.to_owned(), o.parse::<u64>().ok()?)))
        });
    let mut streamed = 0;
    let since = match (since, resume) {
        (Some(since), _) => Some(since),
        (None, Some((until, offset))) => {
            // A killed walk of `until`'s history: finish it, then catch up from `until`.
            streamed = stream_history(rt, store, key, &until, offset, link, &mut note).await?;
            Some(until)
        }
        (None, None) => {
            if state.is_some_and(|s| s.commits > 0) {
                // The default branch changed or was rewritten: start over, head unset meanwhile.
                let mut reset = CodeUpdate::new(key.clone(), update.default_branch.clone(), None);
                reset.replace_history = true;
                store.apply_code(&reset).await?;
            }
            streamed = stream_history(rt, store, key, head, 0, link, &mut note).await?;
            None
        }
    };
    if let Some(since) = since.filter(|s| s != head) {
        let mut pages = rt
            .client
            .commits(&key.project, &key.slug, head, Some(&since), None);
        while let Some(page) = pages.next_page().await? {
            let batch: Vec<CommitRecord> = page.iter().map(|c| convert::commit(c, link)).collect();
            note(&batch);
            update.new_commits.extend(batch);
        }
    }
    Ok(streamed + update.new_commits.len() as u64)
}

/// Walks `until`'s history from `offset`, appending each page and checkpointing after it.
async fn stream_history(
    rt: &AccountRuntime,
    store: &dyn Store,
    key: &RepoKey,
    until: &str,
    offset: u64,
    link: Option<&str>,
    note: &mut impl FnMut(&[CommitRecord]),
) -> Result<u64, SyncError> {
    let path = repo_path(key);
    let mut pages = rt
        .client
        .commits(&key.project, &key.slug, until, None, None)
        .starting_at(offset);
    let (mut position, mut added) = (offset, 0);
    while let Some(page) = pages.next_page().await? {
        let batch: Vec<CommitRecord> = page.iter().map(|c| convert::commit(c, link)).collect();
        note(&batch);
        added += store.append_commits(key, &batch).await?;
        position += batch.len() as u64;
        store
            .set_checkpoint(
                &rt.key,
                HISTORY_SCOPE,
                &path,
                &format!("{until}@{position}"),
            )
            .await?;
    }
    Ok(added)
}

/// Tags as releases; commit times come from stored releases, the commits just read, or (for
/// tags off the default branch) one call per unknown commit.
async fn releases(
    rt: &AccountRuntime,
    key: &RepoKey,
    tags: &[Tag],
    times: &mut HashMap<String, DateTime<Utc>>,
    link: Option<&str>,
) -> Result<Vec<crate::store::ReleaseRecord>, SyncError> {
    let mut out = Vec::with_capacity(tags.len());
    for tag in tags {
        let at = match times.get(&tag.latest_commit) {
            Some(at) => Some(*at),
            None if !tag.latest_commit.is_empty() => {
                let commit = rt
                    .client
                    .commit(&key.project, &key.slug, &tag.latest_commit)
                    .await?;
                times.insert(tag.latest_commit.clone(), commit.committer_timestamp);
                Some(commit.committer_timestamp)
            }
            None => None,
        };
        out.push(convert::release(tag, at, link));
    }
    Ok(out)
}

/// Required approvals (pull-request settings), default reviewers and branch restrictions.
async fn settings(
    rt: &AccountRuntime,
    project: &str,
    slug: &str,
) -> Result<RepoSettings, SyncError> {
    let pr = rt.client.pull_request_settings(project, slug).await?;
    let reviewers = rt.client.default_reviewer_conditions(project, slug).await?;
    let restrictions = rt.client.branch_restrictions(project, slug).await?;
    Ok(RepoSettings {
        required_approvals: pr.required_approvers,
        default_reviewers: serde_json::to_value(&reviewers).unwrap_or_default(),
        branch_restrictions: serde_json::to_value(&restrictions).unwrap_or_default(),
    })
}
