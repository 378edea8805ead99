//! [`ENDPOINTS`]: every call [`super::BitbucketClient`] can make, with a realistic sample target
//! carrying exactly the query parameters the client sends.
//!
//! The agent's default allow-list must allow every read here and nothing else the engine does
//! not need; a test checks both directions (`tests.rs`). Writes (`write: true`) must be refused
//! by the default list: an operator enables them deliberately.

/// One call of the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    /// Stable name, used in logs.
    pub id: &'static str,
    pub method: &'static str,
    /// Path template, as shown in errors (`GET <template>`).
    pub template: &'static str,
    /// A target the client really sends (path and query).
    pub sample: &'static str,
    /// A write: refused by the agent's default allow-list.
    pub write: bool,
}

impl Endpoint {
    /// `GET /rest/api/1.0/projects/{project}/repos`.
    pub fn label(&self) -> String {
        format!("{} {}", self.method, self.template)
    }
}

macro_rules! endpoint {
    ($name:ident, $id:literal, $method:literal, $template:literal, $sample:literal) => {
        pub const $name: Endpoint = Endpoint {
            id: $id,
            method: $method,
            template: $template,
            sample: $sample,
            write: false,
        };
    };
}

endpoint!(
    APPLICATION_PROPERTIES,
    "application-properties",
    "GET",
    "/rest/api/1.0/application-properties",
    "/rest/api/1.0/application-properties"
);
endpoint!(
    PROJECTS,
    "projects",
    "GET",
    "/rest/api/1.0/projects",
    "/rest/api/1.0/projects?start=0&limit=1000"
);
endpoint!(
    PROJECT,
    "project",
    "GET",
    "/rest/api/1.0/projects/{project}",
    "/rest/api/1.0/projects/PROJ"
);
endpoint!(
    REPOS,
    "repos",
    "GET",
    "/rest/api/1.0/projects/{project}/repos",
    "/rest/api/1.0/projects/PROJ/repos?start=0&limit=1000"
);
endpoint!(
    ALL_REPOS,
    "all-repos",
    "GET",
    "/rest/api/1.0/repos",
    "/rest/api/1.0/repos?start=0&limit=1000"
);
endpoint!(
    REPO_GET,
    "repo",
    "GET",
    "/rest/api/1.0/projects/{project}/repos/{repo}",
    "/rest/api/1.0/projects/PROJ/repos/my-repo"
);
endpoint!(
    DEFAULT_BRANCH,
    "default-branch",
    "GET",
    "/rest/api/1.0/projects/{project}/repos/{repo}/default-branch",
    "/rest/api/1.0/projects/PROJ/repos/my-repo/default-branch"
);
endpoint!(
    DEFAULT_BRANCH_OLD,
    "default-branch-old",
    "GET",
    "/rest/api/1.0/projects/{project}/repos/{repo}/branches/default",
    "/rest/api/1.0/projects/PROJ/repos/my-repo/branches/default"
);
endpoint!(
    BRANCHES,
    "branches",
    "GET",
    "/rest/api/1.0/projects/{project}/repos/{repo}/branches",
    "/rest/api/1.0/projects/PROJ/repos/my-repo/branches?start=0&limit=1000"
);
endpoint!(
    TAGS,
    "tags",
    "GET",
    "/rest/api/1.0/projects/{project}/repos/{repo}/tags",
    "/rest/api/1.0/projects/PROJ/repos/my-repo/tags?start=0&limit=1000"
);
endpoint!(
    COMMITS,
    "commits",
    "GET",
    "/rest/api/1.0/projects/{project}/repos/{repo}/commits",
    "/rest/api/1.0/projects/PROJ/repos/my-repo/commits?until=refs%2Fheads%2Fmain&since=4d2a5c1e9f0b7a3d6c8e1f2a4b5c6d7e8f9a0b1c&path=services%2Fapi&start=0&limit=1000"
);
endpoint!(
    COMMIT,
    "commit",
    "GET",
    "/rest/api/1.0/projects/{project}/repos/{repo}/commits/{commit}",
    "/rest/api/1.0/projects/PROJ/repos/my-repo/commits/4d2a5c1e9f0b7a3d6c8e1f2a4b5c6d7e8f9a0b1c"
);
endpoint!(
    FILES,
    "files",
    "GET",
    "/rest/api/1.0/projects/{project}/repos/{repo}/files/{path}",
    "/rest/api/1.0/projects/PROJ/repos/my-repo/files/services/api?at=refs%2Fheads%2Fmain&start=0&limit=100000"
);
endpoint!(
    FILES_ROOT,
    "files-root",
    "GET",
    "/rest/api/1.0/projects/{project}/repos/{repo}/files",
    "/rest/api/1.0/projects/PROJ/repos/my-repo/files?at=4d2a5c1e9f0b7a3d6c8e1f2a4b5c6d7e8f9a0b1c&start=0&limit=100000"
);
endpoint!(
    BROWSE,
    "browse",
    "GET",
    "/rest/api/1.0/projects/{project}/repos/{repo}/browse/{path}",
    "/rest/api/1.0/projects/PROJ/repos/my-repo/browse/cortex.yaml?at=refs%2Fheads%2Fmain&type=true"
);
endpoint!(
    RAW,
    "raw",
    "GET",
    "/rest/api/1.0/projects/{project}/repos/{repo}/raw/{path}",
    "/rest/api/1.0/projects/PROJ/repos/my-repo/raw/services/api/package.json?at=4d2a5c1e9f0b7a3d6c8e1f2a4b5c6d7e8f9a0b1c"
);
endpoint!(
    PULL_REQUESTS,
    "pull-requests",
    "GET",
    "/rest/api/1.0/projects/{project}/repos/{repo}/pull-requests",
    "/rest/api/1.0/projects/PROJ/repos/my-repo/pull-requests?state=ALL&order=NEWEST&start=0&limit=1000"
);
endpoint!(
    PULL_REQUEST,
    "pull-request",
    "GET",
    "/rest/api/1.0/projects/{project}/repos/{repo}/pull-requests/{id}",
    "/rest/api/1.0/projects/PROJ/repos/my-repo/pull-requests/42"
);
endpoint!(
    ACTIVITIES,
    "pull-request-activities",
    "GET",
    "/rest/api/1.0/projects/{project}/repos/{repo}/pull-requests/{id}/activities",
    "/rest/api/1.0/projects/PROJ/repos/my-repo/pull-requests/42/activities?start=0&limit=1000"
);
endpoint!(
    PARTICIPANTS,
    "pull-request-participants",
    "GET",
    "/rest/api/1.0/projects/{project}/repos/{repo}/pull-requests/{id}/participants",
    "/rest/api/1.0/projects/PROJ/repos/my-repo/pull-requests/42/participants?start=0&limit=1000"
);
endpoint!(
    PULL_REQUEST_SETTINGS,
    "pull-request-settings",
    "GET",
    "/rest/api/1.0/projects/{project}/repos/{repo}/settings/pull-requests",
    "/rest/api/1.0/projects/PROJ/repos/my-repo/settings/pull-requests"
);
endpoint!(
    DEFAULT_REVIEWERS,
    "default-reviewer-conditions",
    "GET",
    "/rest/default-reviewers/1.0/projects/{project}/repos/{repo}/conditions",
    "/rest/default-reviewers/1.0/projects/PROJ/repos/my-repo/conditions"
);
endpoint!(
    BRANCH_RESTRICTIONS,
    "branch-restrictions",
    "GET",
    "/rest/branch-permissions/2.0/projects/{project}/repos/{repo}/restrictions",
    "/rest/branch-permissions/2.0/projects/PROJ/repos/my-repo/restrictions?start=0&limit=1000"
);
endpoint!(
    USERS,
    "users",
    "GET",
    "/rest/api/1.0/users",
    "/rest/api/1.0/users?start=0&limit=1000"
);
endpoint!(
    USER,
    "user",
    "GET",
    "/rest/api/1.0/users/{user}",
    "/rest/api/1.0/users/jane.doe"
);
endpoint!(
    GROUPS,
    "admin-groups",
    "GET",
    "/rest/api/1.0/admin/groups",
    "/rest/api/1.0/admin/groups?start=0&limit=1000"
);
endpoint!(
    GROUP_MEMBERS,
    "admin-group-members",
    "GET",
    "/rest/api/1.0/admin/groups/more-members",
    "/rest/api/1.0/admin/groups/more-members?context=platform%20team&start=0&limit=1000"
);
endpoint!(
    WEBHOOKS,
    "webhooks",
    "GET",
    "/rest/api/1.0/projects/{project}/repos/{repo}/webhooks",
    "/rest/api/1.0/projects/PROJ/repos/my-repo/webhooks?start=0&limit=1000"
);

/// The one write: registering the broker's webhook on a repository.
pub const CREATE_WEBHOOK: Endpoint = Endpoint {
    id: "create-webhook",
    method: "POST",
    template: "/rest/api/1.0/projects/{project}/repos/{repo}/webhooks",
    sample: "/rest/api/1.0/projects/PROJ/repos/my-repo/webhooks",
    write: true,
};

/// Every call the client can make.
pub const ENDPOINTS: &[Endpoint] = &[
    APPLICATION_PROPERTIES,
    PROJECTS,
    PROJECT,
    REPOS,
    ALL_REPOS,
    REPO_GET,
    DEFAULT_BRANCH,
    DEFAULT_BRANCH_OLD,
    BRANCHES,
    TAGS,
    COMMITS,
    COMMIT,
    FILES,
    FILES_ROOT,
    BROWSE,
    RAW,
    PULL_REQUESTS,
    PULL_REQUEST,
    ACTIVITIES,
    PARTICIPANTS,
    PULL_REQUEST_SETTINGS,
    DEFAULT_REVIEWERS,
    BRANCH_RESTRICTIONS,
    USERS,
    USER,
    GROUPS,
    GROUP_MEMBERS,
    WEBHOOKS,
    CREATE_WEBHOOK,
];
