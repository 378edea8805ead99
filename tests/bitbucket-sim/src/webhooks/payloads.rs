//! Webhook payloads shaped like the recorded ones: `{eventKey, date, actor, ...}` with the
//! `date` as `2024-11-27T01:34:45+0000`.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::api::render::Render;
use crate::generate::pull_requests::{PullRequest, ReviewStatus};
use crate::model::Ref;
use crate::repo_view::RepoView;

pub const REFS_CHANGED: &str = "repo:refs_changed";
pub const PR_OPENED: &str = "pr:opened";
pub const PR_MODIFIED: &str = "pr:modified";
pub const PR_APPROVED: &str = "pr:reviewer:approved";
pub const PR_NEEDS_WORK: &str = "pr:reviewer:needs_work";
pub const PR_MERGED: &str = "pr:merged";
pub const PR_DECLINED: &str = "pr:declined";
pub const PR_DELETED: &str = "pr:deleted";
pub const PING: &str = "diagnostics:ping";

/// Every event key a webhook may subscribe to.
pub const ALL_EVENTS: &[&str] = &[
    REFS_CHANGED,
    PR_OPENED,
    PR_MODIFIED,
    PR_APPROVED,
    PR_NEEDS_WORK,
    PR_MERGED,
    PR_DECLINED,
    PR_DELETED,
    PING,
];

/// `2024-11-27T01:34:45+0000`.
pub fn format_date(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%z")
        .to_string()
}

fn envelope(event_key: &str, date_ms: i64, actor: Value) -> Value {
    json!({"eventKey": event_key, "date": format_date(date_ms), "actor": actor})
}

/// How a ref moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefChange {
    pub git_ref: Ref,
    /// `None`: the ref was created.
    pub from: Option<u64>,
    pub to: u64,
}

pub fn refs_changed(
    r: &Render<'_>,
    view: &RepoView<'_>,
    actor: Value,
    date_ms: i64,
    changes: &[RefChange],
) -> Value {
    let mut v = envelope(REFS_CHANGED, date_ms, actor);
    v["repository"] = r.repo(view.repo);
    v["changes"] = changes
        .iter()
        .map(|c| {
            json!({
                "ref": {"id": c.git_ref.id(), "displayId": c.git_ref.display_id, "type": c.git_ref.type_name()},
                "refId": c.git_ref.id(),
                "fromHash": c.from.map(|f| view.commit_id(f)).unwrap_or_else(|| "0".repeat(40)),
                "toHash": view.commit_id(c.to),
                "type": if c.from.is_some() { "UPDATE" } else { "ADD" },
            })
        })
        .collect();
    v
}

/// `pr:opened`, `pr:merged`, `pr:declined`, `pr:deleted`, `pr:modified` (add `previous*` fields
/// through `extra`).
pub fn pull_request(
    r: &Render<'_>,
    view: &RepoView<'_>,
    event_key: &str,
    actor: Value,
    date_ms: i64,
    pr: &PullRequest,
) -> Value {
    let mut v = envelope(event_key, date_ms, actor);
    v["pullRequest"] = r.pull_request(view, pr);
    v
}

/// `pr:reviewer:approved` / `pr:reviewer:needs_work`, with the participant and its previous status.
pub fn reviewer(
    r: &Render<'_>,
    view: &RepoView<'_>,
    event_key: &str,
    date_ms: i64,
    pr: &PullRequest,
    user: u32,
    previous: ReviewStatus,
) -> Value {
    let mut v = pull_request(r, view, event_key, r.user_by_id(user), date_ms, pr);
    if let Some(p) = pr
        .reviewers
        .iter()
        .chain(pr.participants.iter())
        .find(|p| p.user == user)
    {
        v["participant"] = r.participant(view, p);
    }
    v["previousStatus"] = json!(previous.as_str());
    v
}

pub fn ping() -> Value {
    json!({"test": true})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_look_like_bitbucket() {
        assert_eq!(format_date(1_732_671_285_000), "2024-11-27T01:34:45+0000");
    }
}
