//! Calls about code: the server, projects, repositories, refs, commits and files.

use bytes::Bytes;
use http::StatusCode;
use serde::Deserialize;

use super::super::endpoints::{self as ep, Endpoint};
use super::super::error::{ClientError, ErrorKind, exception_names};
use super::super::model::{ApplicationProperties, Branch, Commit, Project, Repository, Tag};
use super::super::paging::Pages;
use super::super::target::Target;
use super::{BitbucketClient, Send};

/// The file list is one of the few listings with a large server cap
/// (`page.max.directory.recursive.children`, 100,000 by default): ask for all of it at once.
pub const FILES_PAGE_LIMIT: u32 = 100_000;

const API: [&str; 3] = ["rest", "api", "1.0"];

/// `/rest/api/1.0/projects/{project}/repos/{repo}`.
pub(crate) fn repo_target(project: &str, slug: &str) -> Target {
    Target::new(&API)
        .segment("projects")
        .segment(project)
        .segment("repos")
        .segment(slug)
}

/// What `/default-branch` (or `/branches/default`) said.
enum DefaultAnswer {
    Branch(Branch),
    /// An empty repository: no default branch yet.
    Empty,
    /// The endpoint itself does not exist (a server older than 7.6).
    NoEndpoint,
}

#[derive(Deserialize)]
struct BrowseType {
    #[serde(default, rename = "type")]
    kind: String,
}

impl BitbucketClient {
    /// The server's version (needs no authentication; the connectivity check).
    pub async fn application_properties(&self) -> Result<ApplicationProperties, ClientError> {
        let target = Target::new(&API).segment("application-properties").render();
        self.get_json(&ep::APPLICATION_PROPERTIES, &target).await
    }

    /// Every project the account can see (personal projects are not listed by the server).
    pub async fn projects(&self) -> Result<Vec<Project>, ClientError> {
        self.pages(&ep::PROJECTS, Target::new(&API).segment("projects"))
            .collect_all()
            .await
    }

    pub async fn project(&self, key: &str) -> Result<Project, ClientError> {
        let target = Target::new(&API).segment("projects").segment(key).render();
        self.get_json(&ep::PROJECT, &target).await
    }

    /// Every repository of one project.
    pub async fn repos(&self, project: &str) -> Result<Vec<Repository>, ClientError> {
        let target = Target::new(&API)
            .segment("projects")
            .segment(project)
            .segment("repos");
        self.pages(&ep::REPOS, target).collect_all().await
    }

    /// Every repository the account can see, across projects (personal ones included),
    /// page by page: the cheapest full listing on a large server.
    pub fn all_repos(&self) -> Pages<Repository> {
        self.pages(&ep::ALL_REPOS, Target::new(&API).segment("repos"))
    }

    pub async fn repo(&self, project: &str, slug: &str) -> Result<Repository, ClientError> {
        let target = repo_target(project, slug).render();
        self.get_json(&ep::REPO_GET, &target).await
    }

    /// The default branch and its head, `None` for an empty repository.
    ///
    /// Uses `/default-branch` (7.6+). Bitbucket answers 404 both for an empty repository
    /// (`NoDefaultBranchException`) and, on servers before 7.6, for the missing endpoint: a 404
    /// without a repository/project exception means the latter, and the client asks
    /// `/branches/default` instead (204 or 404 for an empty repository). Once that answered
    /// with a branch, the client uses it for good; if neither endpoint exists the call fails
    /// (never "empty", which would wipe a repository's history).
    pub async fn default_branch(
        &self,
        project: &str,
        slug: &str,
    ) -> Result<Option<Branch>, ClientError> {
        if !self.uses_old_default_branch() {
            let target = repo_target(project, slug).segment("default-branch");
            match self.fetch_default(&ep::DEFAULT_BRANCH, &target).await? {
                DefaultAnswer::Branch(b) => return Ok(Some(b)),
                DefaultAnswer::Empty => return Ok(None),
                DefaultAnswer::NoEndpoint => {}
            }
        }
        let target = repo_target(project, slug)
            .segment("branches")
            .segment("default");
        match self.fetch_default(&ep::DEFAULT_BRANCH_OLD, &target).await? {
            DefaultAnswer::Branch(b) => {
                self.set_old_default_branch();
                Ok(Some(b))
            }
            DefaultAnswer::Empty => Ok(None),
            DefaultAnswer::NoEndpoint => {
                let message = "neither /default-branch nor /branches/default answered".into();
                Err(self.error(&ep::DEFAULT_BRANCH, ErrorKind::NotFound { message }, 2))
            }
        }
    }

    async fn fetch_default(
        &self,
        endpoint: &Endpoint,
        target: &Target,
    ) -> Result<DefaultAnswer, ClientError> {
        let opts = Send {
            accept: &[StatusCode::NOT_FOUND, StatusCode::NO_CONTENT],
            ..Send::GET
        };
        let response = self.send(endpoint, opts, &target.render(), None).await?;
        match response.status {
            StatusCode::NO_CONTENT => Ok(DefaultAnswer::Empty),
            StatusCode::NOT_FOUND => {
                let names = exception_names(&response.body);
                let missing = |what: &str| names.iter().any(|n| n.contains(what));
                if missing("NoDefaultBranch") {
                    Ok(DefaultAnswer::Empty)
                } else if missing("NoSuchRepository") || missing("NoSuchProject") {
                    let kind = ErrorKind::from_status(response.status, &response.body, None);
                    Err(self.error(endpoint, kind, 1))
                } else {
                    Ok(DefaultAnswer::NoEndpoint)
                }
            }
            _ => self
                .decode(endpoint, &response.body)
                .map(DefaultAnswer::Branch),
        }
    }

    /// Every branch (default first).
    pub async fn branches(&self, project: &str, slug: &str) -> Result<Vec<Branch>, ClientError> {
        let target = repo_target(project, slug).segment("branches");
        self.pages(&ep::BRANCHES, target).collect_all().await
    }

    /// Every tag (newest first).
    pub async fn tags(&self, project: &str, slug: &str) -> Result<Vec<Tag>, ClientError> {
        let target = repo_target(project, slug).segment("tags");
        self.pages(&ep::TAGS, target).collect_all().await
    }

    /// Commits reachable from `until` (a commit id or ref), newest first, stopping before
    /// `since` (exclusive) when given, optionally only those touching `path`.
    ///
    /// Returns a [`Pages`]: call `next_page().await` to get each page's commits and write
    /// them to the store as they come (`collect_all()` for small histories).
    pub fn commits(
        &self,
        project: &str,
        slug: &str,
        until: &str,
        since: Option<&str>,
        path: Option<&str>,
    ) -> Pages<Commit> {
        let target = repo_target(project, slug)
            .segment("commits")
            .query("until", until)
            .query_opt("since", since)
            .query_opt("path", path);
        self.pages(&ep::COMMITS, target)
    }

    pub async fn commit(&self, project: &str, slug: &str, id: &str) -> Result<Commit, ClientError> {
        let target = repo_target(project, slug).segment("commits").segment(id);
        self.get_json(&ep::COMMIT, &target.render()).await
    }

    /// Every file path at `at` (a commit id or ref), below `path` when given (paths are then
    /// relative to it, as the server answers).
    pub async fn files(
        &self,
        project: &str,
        slug: &str,
        at: &str,
        path: Option<&str>,
    ) -> Result<Vec<String>, ClientError> {
        let mut target = repo_target(project, slug).segment("files");
        let endpoint = match path.filter(|p| !p.trim_matches('/').is_empty()) {
            Some(p) => {
                target = target.file_path(p);
                &ep::FILES
            }
            None => &ep::FILES_ROOT,
        };
        let pages = Pages::new(
            self.clone(),
            endpoint,
            target.query("at", at),
            FILES_PAGE_LIMIT,
        );
        pages.collect_all().await
    }

    /// Whether `path` is a file at `at`: one cheap probe (`browse?type=true`).
    pub async fn file_exists(
        &self,
        project: &str,
        slug: &str,
        path: &str,
        at: &str,
    ) -> Result<bool, ClientError> {
        let target = repo_target(project, slug)
            .segment("browse")
            .file_path(path)
            .query("at", at)
            .query("type", "true");
        let opts = Send {
            accept: &[StatusCode::NOT_FOUND],
            ..Send::GET
        };
        let response = self.send(&ep::BROWSE, opts, &target.render(), None).await?;
        if response.status == StatusCode::NOT_FOUND {
            return Ok(false);
        }
        let kind: BrowseType = self.decode(&ep::BROWSE, &response.body)?;
        Ok(kind.kind == "FILE")
    }

    /// The raw content of a file at `at`; `None` when it does not exist. Larger than
    /// `max_bytes` is an error ([`ErrorKind::BodyTooLarge`]).
    pub async fn raw(
        &self,
        project: &str,
        slug: &str,
        path: &str,
        at: &str,
        max_bytes: usize,
    ) -> Result<Option<Bytes>, ClientError> {
        let target = repo_target(project, slug)
            .segment("raw")
            .file_path(path)
            .query("at", at);
        let opts = Send {
            max_body: max_bytes,
            accept: &[StatusCode::NOT_FOUND],
            ..Send::GET
        };
        let response = self.send(&ep::RAW, opts, &target.render(), None).await?;
        Ok((response.status != StatusCode::NOT_FOUND).then_some(response.body))
    }
}
