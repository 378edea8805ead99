//! The data model: users, groups, projects, compact repository descriptors and permissions.
//!
//! Repositories are descriptors, not contents: commits, file trees and pull requests are
//! derived on demand from `Repo::seed` (see `generate`), and only mutations are stored
//! (see `overlay`). Ids are 1-based and equal to the vector index plus one.

use serde::{Deserialize, Serialize};

/// Generated data ends here (2026-11-01T00:00:00Z, epoch ms): "now" for the generator, so the
/// data does not depend on the wall clock.
pub const GENERATED_UNTIL_MS: i64 = 1_793_491_200_000;

/// A Bitbucket user account.
#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: u32,
    /// The login name (`name` in the REST API).
    pub name: String,
    pub slug: String,
    pub display_name: String,
    pub email: Option<String>,
    pub active: bool,
    /// `SERVICE` accounts exist on real servers for bots.
    pub service: bool,
    /// System administrator: sees everything and may call `/admin`.
    pub admin: bool,
    /// Password for basic auth (`None`: cannot log in with a password).
    #[serde(skip)]
    pub password: Option<String>,
    pub directory: &'static str,
    pub last_authentication_ms: Option<i64>,
}

/// A group of users (a Crowd / LDAP / internal group on real servers).
#[derive(Debug, Clone, Serialize)]
pub struct Group {
    pub name: String,
    /// Member user ids.
    pub members: Vec<u32>,
}

/// Project-level permission, ordered from weakest to strongest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ProjectPermission {
    #[serde(rename = "PROJECT_READ")]
    Read,
    #[serde(rename = "PROJECT_WRITE")]
    Write,
    #[serde(rename = "PROJECT_ADMIN")]
    Admin,
}

impl ProjectPermission {
    pub fn as_str(self) -> &'static str {
        match self {
            ProjectPermission::Read => "PROJECT_READ",
            ProjectPermission::Write => "PROJECT_WRITE",
            ProjectPermission::Admin => "PROJECT_ADMIN",
        }
    }
}

/// A project, or a personal project (`~username`).
#[derive(Debug, Clone, Serialize)]
pub struct Project {
    pub id: u32,
    pub key: String,
    pub name: String,
    pub description: Option<String>,
    pub public: bool,
    /// The owner's user id for a personal project.
    pub owner: Option<u32>,
    /// Every licensed user may read (the "all users" default permission).
    pub all_users_read: bool,
    pub user_grants: Vec<(u32, ProjectPermission)>,
    pub group_grants: Vec<(String, ProjectPermission)>,
}

impl Project {
    pub fn is_personal(&self) -> bool {
        self.owner.is_some()
    }
}

/// Which shape `requiredApprovers` takes in the pull-request settings of a repo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum SettingsShape {
    /// 9.x: `{"enabled": true, "count": "2"}`.
    Object,
    /// Older servers: a plain integer.
    Integer,
}

/// A repository descriptor: enough to derive everything else from `seed`.
#[derive(Debug, Clone, Serialize)]
pub struct Repo {
    pub id: u32,
    /// Index into the project list.
    pub project: usize,
    pub slug: String,
    pub name: String,
    pub description: Option<String>,
    pub seed: u64,
    /// Generated commits on the default branch (0: an empty repository).
    pub commits: u64,
    /// Generated pull requests (ids `1..=pull_requests`).
    pub pull_requests: u64,
    pub archived: bool,
    pub public: bool,
    pub forkable: bool,
    pub default_branch: String,
    pub settings_shape: SettingsShape,
    /// When the first commit was made (epoch ms).
    pub created_ms: i64,
}

impl Repo {
    pub fn is_empty(&self) -> bool {
        self.commits == 0
    }
}

/// A commit author or committer as git records it (may not be a Bitbucket user).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Person {
    pub name: String,
    pub email: String,
    /// The Bitbucket user this identity belongs to, if any.
    pub user: Option<u32>,
}

/// A fully derived commit.
#[derive(Debug, Clone, Serialize)]
pub struct Commit {
    /// The compact index this commit was derived from (see `generate::commits`).
    pub index: u64,
    pub id: String,
    pub author: Person,
    pub author_ms: i64,
    pub committer: Person,
    pub committer_ms: i64,
    pub message: String,
    pub parents: Vec<u64>,
    /// Paths this commit added, modified or deleted.
    pub touched: Vec<String>,
}

/// A branch or tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ref {
    pub display_id: String,
    pub kind: RefKind,
    /// Commit index the ref points at.
    pub target: u64,
    /// Annotated tags have their own object id.
    pub tag_hash: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RefKind {
    Branch,
    Tag,
}

impl Ref {
    pub fn id(&self) -> String {
        match self.kind {
            RefKind::Branch => format!("refs/heads/{}", self.display_id),
            RefKind::Tag => format!("refs/tags/{}", self.display_id),
        }
    }

    pub fn type_name(&self) -> &'static str {
        match self.kind {
            RefKind::Branch => "BRANCH",
            RefKind::Tag => "TAG",
        }
    }
}

/// Counts a sync test compares against: the ground truth of what the simulator serves.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DataSummary {
    pub projects: usize,
    pub personal_projects: usize,
    pub repos: usize,
    pub empty_repos: usize,
    pub archived_repos: usize,
    /// Commits reachable from the default branches.
    pub commits: u64,
    pub tags: u64,
    pub pull_requests_open: u64,
    pub pull_requests_merged: u64,
    pub pull_requests_declined: u64,
    pub users: usize,
    pub groups: usize,
}
