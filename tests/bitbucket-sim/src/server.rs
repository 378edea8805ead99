//! [`Simulator`]: builds the shared state, the router (REST API + `/sim` control API), serves
//! it with graceful shutdown, and offers read-only access to the data for tests.

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use serde::Serialize;
use tokio::net::TcpListener;

use crate::config::{RateLimitConfig, SimConfig};
use crate::counters::Counters;
use crate::credentials::Credentials;
use crate::faults::Fault;
use crate::generate::commits::{MAIN, split};
use crate::generate::pull_requests::PrState;
use crate::model::{DataSummary, Group, User};
use crate::repo_view::RepoView;
use crate::state::{Data, Shared};
use crate::webhooks::Delivery;
use crate::{api, control};

/// The simulator: cheap to clone, all clones share one state.
#[derive(Debug, Clone)]
pub struct Simulator {
    pub(crate) shared: Arc<Shared>,
}

/// A read-only summary of one repository, for tests to spot-check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RepoInfo {
    pub id: u32,
    pub project_key: String,
    pub slug: String,
    pub name: String,
    pub default_branch: String,
    /// Head of the default branch (`None`: empty repository).
    pub head: Option<String>,
    /// Commits reachable from the default branch.
    pub commits: u64,
    pub branches: Vec<String>,
    pub tags: Vec<String>,
    /// Highest pull request id.
    pub pull_requests: u64,
    pub archived: bool,
    pub public: bool,
    pub personal: bool,
    /// Paths of the files at the head of the default branch.
    pub files: Vec<String>,
}

impl Simulator {
    /// Generates the data (lazily for repository contents) and sets up the state.
    pub fn new(config: SimConfig) -> Simulator {
        Simulator {
            shared: Arc::new(Shared::new(config)),
        }
    }

    pub fn config(&self) -> &SimConfig {
        &self.shared.config
    }

    /// The REST API and the `/sim` control API.
    pub fn router(&self) -> Router {
        api::router(Arc::clone(&self.shared)).merge(control::router(self.clone()))
    }

    /// Serves on an already-bound listener until `shutdown` completes, then drains in-flight
    /// requests and (for up to five seconds) queued webhook deliveries.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let served = axum::serve(listener, self.router())
            .with_graceful_shutdown(shutdown)
            .await;
        self.shared
            .hooks
            .drain(std::time::Duration::from_secs(5))
            .await;
        served
    }

    /// Number of repositories (cheap, unlike [`Simulator::repos`]).
    pub fn repos_len(&self) -> usize {
        self.shared.read().world.repos.len()
    }

    pub fn credentials(&self) -> &Credentials {
        &self.shared.credentials
    }

    pub fn counters(&self) -> Counters {
        self.shared.counters.snapshot()
    }

    pub fn reset_counters(&self) {
        self.shared.counters.reset();
    }

    /// Sets (or clears with `None`) the fault of an endpoint template such as
    /// `GET /rest/api/1.0/projects/{key}/repos`, or `*` for every endpoint.
    pub fn set_fault(&self, template: &str, fault: Option<Fault>) {
        self.shared.faults.set(template, fault);
    }

    pub fn clear_faults(&self) {
        self.shared.faults.clear();
    }

    pub fn set_rate_limit(&self, config: RateLimitConfig) {
        self.shared.limiter.set_config(config);
    }

    /// A one-time OAuth 2.0 authorisation code for `user`.
    pub fn issue_oauth_code(&self, user: &str) -> String {
        self.shared.oauth.issue_code(user)
    }

    pub fn expire_oauth_access_tokens(&self) {
        self.shared.oauth.expire_access_tokens();
    }

    pub fn webhook_deliveries(&self) -> Vec<Delivery> {
        self.shared.hooks.deliveries()
    }

    /// Waits until `n` webhook deliveries have been recorded (delivered, failed or dropped).
    pub async fn wait_for_deliveries(&self, n: usize) {
        self.shared.hooks.wait_for(n).await;
    }

    pub fn users(&self) -> Vec<User> {
        self.shared.read().world.users.clone()
    }

    pub fn groups(&self) -> Vec<Group> {
        self.shared.read().world.groups.clone()
    }

    /// `(project key, slug)` of every repository, in id order (cheap, unlike [`Simulator::repos`]).
    pub fn repo_names(&self) -> Vec<(String, String)> {
        let data = self.shared.read();
        let world = &data.world;
        world
            .repos
            .iter()
            .map(|r| {
                (
                    world
                        .projects
                        .get(r.project)
                        .map(|p| p.key.clone())
                        .unwrap_or_default(),
                    r.slug.clone(),
                )
            })
            .collect()
    }

    /// Every repository, in id order.
    pub fn repos(&self) -> Vec<RepoInfo> {
        let data = self.shared.read();
        (0..data.world.repos.len())
            .filter_map(|i| repo_info(&data, i))
            .collect()
    }

    pub fn repo(&self, project_key: &str, slug: &str) -> Option<RepoInfo> {
        let data = self.shared.read();
        let p = data.world.project_index(project_key)?;
        let r = data.world.repo_index(p, slug)?;
        repo_info(&data, r)
    }

    /// The ground truth a sync test compares against.
    pub fn summary(&self) -> DataSummary {
        let data = self.shared.read();
        let world = &data.world;
        let mut s = DataSummary {
            projects: world.projects.iter().filter(|p| !p.is_personal()).count(),
            personal_projects: world.projects.iter().filter(|p| p.is_personal()).count(),
            repos: world.repos.len(),
            users: world.users.len(),
            groups: world.groups.len(),
            ..DataSummary::default()
        };
        for repo in &world.repos {
            let overlay = data.overlays.get(&repo.id);
            let view = RepoView::without_tree(world, repo, overlay);
            s.empty_repos += usize::from(view.default_head().is_none());
            s.archived_repos += usize::from(repo.archived);
            s.commits += default_branch_commits(&view);
            s.tags += view.tags().len() as u64;
            for id in 1..=view.max_pull_request_id() {
                match view.pull_request(id).map(|p| p.state) {
                    Some(PrState::Open) => s.pull_requests_open += 1,
                    Some(PrState::Merged) => s.pull_requests_merged += 1,
                    Some(PrState::Declined) => s.pull_requests_declined += 1,
                    None => {}
                }
            }
        }
        s
    }
}

/// Commits reachable from the default branch. Untouched generated histories are counted
/// without walking them: `commits` plus one side commit per merge.
fn default_branch_commits(view: &RepoView<'_>) -> u64 {
    let Some(head) = view.default_head() else {
        return 0;
    };
    if view.overlay.is_none_or(|o| o.commits.is_empty()) {
        let n = view.repo.commits;
        let merges = (2..n).filter(|&p| view.history.is_merge(p)).count() as u64;
        return n + merges;
    }
    debug_assert_eq!(split(head).0, MAIN);
    view.log(head, None).count() as u64
}

fn repo_info(data: &Data, idx: usize) -> Option<RepoInfo> {
    let view = data.view(idx)?;
    let project = data.world.projects.get(view.repo.project)?;
    let head = view.default_head();
    Some(RepoInfo {
        id: view.repo.id,
        project_key: project.key.clone(),
        slug: view.repo.slug.clone(),
        name: view.repo.name.clone(),
        default_branch: view.repo.default_branch.clone(),
        head: head.map(|h| view.commit_id(h)),
        commits: default_branch_commits(&view),
        branches: view.branches().into_iter().map(|b| b.display_id).collect(),
        tags: view.tags().into_iter().map(|t| t.display_id).collect(),
        pull_requests: view.max_pull_request_id(),
        archived: view.repo.archived,
        public: view.repo.public,
        personal: project.is_personal(),
        files: head
            .map(|h| view.tree_at(h).into_keys().collect())
            .unwrap_or_default(),
    })
}
