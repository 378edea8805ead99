//! Pull requests, their participants and their activities.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{Commit, Links, Repository, User, millis};

/// `state` of the pull-request listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrState {
    All,
    Open,
    Merged,
    Declined,
}

impl PrState {
    pub fn as_query(self) -> &'static str {
        match self {
            PrState::All => "ALL",
            PrState::Open => "OPEN",
            PrState::Merged => "MERGED",
            PrState::Declined => "DECLINED",
        }
    }
}

/// `order` of the pull-request listing (by last update).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrOrder {
    Newest,
    Oldest,
}

impl PrOrder {
    pub fn as_query(self) -> &'static str {
        match self {
            PrOrder::Newest => "NEWEST",
            PrOrder::Oldest => "OLDEST",
        }
    }
}

/// A ref of a pull request, with the repository it lives in (forks differ from the target).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PullRequestRef {
    pub id: String,
    pub display_id: String,
    pub latest_commit: String,
    pub repository: Repository,
}

/// A user's part in a pull request. `status` is `UNAPPROVED`, `NEEDS_WORK` or `APPROVED`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Participant {
    pub user: User,
    /// `AUTHOR`, `REVIEWER` or `PARTICIPANT`.
    pub role: String,
    pub approved: bool,
    pub status: String,
    pub last_reviewed_commit: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PullRequest {
    pub id: u64,
    pub version: i64,
    pub title: String,
    pub description: Option<String>,
    /// `OPEN`, `MERGED` or `DECLINED`.
    pub state: String,
    pub open: bool,
    pub closed: bool,
    pub draft: bool,
    #[serde(with = "millis")]
    pub created_date: DateTime<Utc>,
    #[serde(with = "millis")]
    pub updated_date: DateTime<Utc>,
    #[serde(with = "millis::option")]
    pub closed_date: Option<DateTime<Utc>>,
    pub from_ref: PullRequestRef,
    pub to_ref: PullRequestRef,
    pub author: Participant,
    pub reviewers: Vec<Participant>,
    pub participants: Vec<Participant>,
    pub links: Links,
}

impl Default for PullRequest {
    fn default() -> Self {
        PullRequest {
            id: 0,
            version: 0,
            title: String::new(),
            description: None,
            state: String::new(),
            open: false,
            closed: false,
            draft: false,
            created_date: millis::epoch(),
            updated_date: millis::epoch(),
            closed_date: None,
            from_ref: PullRequestRef::default(),
            to_ref: PullRequestRef::default(),
            author: Participant::default(),
            reviewers: Vec::new(),
            participants: Vec::new(),
            links: Links::default(),
        }
    }
}

impl PullRequest {
    pub fn web_url(&self) -> Option<&str> {
        self.links.web()
    }
}

/// What an activity records. Unknown actions are kept as [`ActivityAction::Other`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum ActivityAction {
    #[default]
    Opened,
    Commented,
    Approved,
    Unapproved,
    /// A reviewer set "needs work" (or cleared it) without approving.
    Reviewed,
    Merged,
    Declined,
    Rescoped,
    Updated,
    Reopened,
    Deleted,
    Other(String),
}

impl ActivityAction {
    pub fn as_str(&self) -> &str {
        match self {
            ActivityAction::Opened => "OPENED",
            ActivityAction::Commented => "COMMENTED",
            ActivityAction::Approved => "APPROVED",
            ActivityAction::Unapproved => "UNAPPROVED",
            ActivityAction::Reviewed => "REVIEWED",
            ActivityAction::Merged => "MERGED",
            ActivityAction::Declined => "DECLINED",
            ActivityAction::Rescoped => "RESCOPED",
            ActivityAction::Updated => "UPDATED",
            ActivityAction::Reopened => "REOPENED",
            ActivityAction::Deleted => "DELETED",
            ActivityAction::Other(other) => other,
        }
    }

    pub fn parse(text: &str) -> ActivityAction {
        match text {
            "OPENED" => ActivityAction::Opened,
            "COMMENTED" => ActivityAction::Commented,
            "APPROVED" => ActivityAction::Approved,
            "UNAPPROVED" => ActivityAction::Unapproved,
            "REVIEWED" => ActivityAction::Reviewed,
            "MERGED" => ActivityAction::Merged,
            "DECLINED" => ActivityAction::Declined,
            "RESCOPED" => ActivityAction::Rescoped,
            "UPDATED" => ActivityAction::Updated,
            "REOPENED" => ActivityAction::Reopened,
            "DELETED" => ActivityAction::Deleted,
            other => ActivityAction::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for ActivityAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ActivityAction {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ActivityAction {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(ActivityAction::parse(&String::deserialize(d)?))
    }
}

/// A comment of a `COMMENTED` activity (replies and tasks are not kept).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Comment {
    pub id: u64,
    pub version: i64,
    pub text: String,
    pub author: User,
    #[serde(with = "millis")]
    pub created_date: DateTime<Utc>,
    #[serde(with = "millis")]
    pub updated_date: DateTime<Utc>,
}

impl Default for Comment {
    fn default() -> Self {
        Comment {
            id: 0,
            version: 0,
            text: String::new(),
            author: User::default(),
            created_date: millis::epoch(),
            updated_date: millis::epoch(),
        }
    }
}

/// One entry of a pull request's activity stream (newest first).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Activity {
    pub id: u64,
    #[serde(with = "millis")]
    pub created_date: DateTime<Utc>,
    pub user: User,
    pub action: ActivityAction,
    /// `ADDED`, `EDITED`, `DELETED`, `REPLIED` for `COMMENTED`.
    pub comment_action: Option<String>,
    pub comment: Option<Comment>,
    /// The merge commit of `MERGED`.
    pub commit: Option<Commit>,
    /// The new head of the source branch of `RESCOPED`.
    pub from_hash: Option<String>,
    pub previous_from_hash: Option<String>,
    pub added_reviewers: Vec<User>,
    pub removed_reviewers: Vec<User>,
}

impl Default for Activity {
    fn default() -> Self {
        Activity {
            id: 0,
            created_date: millis::epoch(),
            user: User::default(),
            action: ActivityAction::default(),
            comment_action: None,
            comment: None,
            commit: None,
            from_hash: None,
            previous_from_hash: None,
            added_reviewers: Vec::new(),
            removed_reviewers: Vec::new(),
        }
    }
}
