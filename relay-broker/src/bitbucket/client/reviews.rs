//! Calls about pull requests, review policy, people and webhooks.

use bytes::Bytes;
use http::Method;

use super::super::endpoints as ep;
use super::super::error::{ClientError, ErrorKind};
use super::super::model::{
    Activity, BranchRestriction, DefaultReviewerCondition, Group, NewWebhook, Page, Participant,
    PrOrder, PrState, PullRequest, PullRequestSettings, User, Webhook,
};
use super::super::paging::Pages;
use super::super::target::Target;
use super::code::repo_target;
use super::{BitbucketClient, Send};

const API: [&str; 3] = ["rest", "api", "1.0"];

/// The review-policy plugins answer on their own REST roots.
fn plugin_repo_target(root: &str, version: &str, project: &str, slug: &str) -> Target {
    Target::new(&["rest", root, version])
        .segment("projects")
        .segment(project)
        .segment("repos")
        .segment(slug)
}

impl BitbucketClient {
    /// One page of pull requests at offset `start` (pages are capped at 100 by the server).
    /// The engine pages newest first (`PrOrder::Newest`, by last update) down to its
    /// high-water mark and stops there; `next_page_start` of the answer is the next offset.
    pub async fn pull_requests_page(
        &self,
        project: &str,
        slug: &str,
        state: PrState,
        order: PrOrder,
        start: u64,
    ) -> Result<Page<PullRequest>, ClientError> {
        self.pull_requests(project, slug, state, order)
            .fetch(start)
            .await
    }

    /// Pull requests as a [`Pages`] listing (for walking all of them).
    pub fn pull_requests(
        &self,
        project: &str,
        slug: &str,
        state: PrState,
        order: PrOrder,
    ) -> Pages<PullRequest> {
        let target = repo_target(project, slug)
            .segment("pull-requests")
            .query("state", state.as_query())
            .query("order", order.as_query());
        self.pages(&ep::PULL_REQUESTS, target)
    }

    pub async fn pull_request(
        &self,
        project: &str,
        slug: &str,
        id: u64,
    ) -> Result<PullRequest, ClientError> {
        let target = repo_target(project, slug)
            .segment("pull-requests")
            .segment(&id.to_string());
        self.get_json(&ep::PULL_REQUEST, &target.render()).await
    }

    /// Every activity of a pull request, newest first.
    pub async fn activities(
        &self,
        project: &str,
        slug: &str,
        id: u64,
    ) -> Result<Vec<Activity>, ClientError> {
        let target = repo_target(project, slug)
            .segment("pull-requests")
            .segment(&id.to_string())
            .segment("activities");
        self.pages(&ep::ACTIVITIES, target).collect_all().await
    }

    pub async fn participants(
        &self,
        project: &str,
        slug: &str,
        id: u64,
    ) -> Result<Vec<Participant>, ClientError> {
        let target = repo_target(project, slug)
            .segment("pull-requests")
            .segment(&id.to_string())
            .segment("participants");
        self.pages(&ep::PARTICIPANTS, target).collect_all().await
    }

    /// Merge checks, including the required approvals (both server shapes).
    pub async fn pull_request_settings(
        &self,
        project: &str,
        slug: &str,
    ) -> Result<PullRequestSettings, ClientError> {
        let target = repo_target(project, slug)
            .segment("settings")
            .segment("pull-requests");
        self.get_json(&ep::PULL_REQUEST_SETTINGS, &target.render())
            .await
    }

    /// Default-reviewer conditions of a repository (inherited project ones included).
    pub async fn default_reviewer_conditions(
        &self,
        project: &str,
        slug: &str,
    ) -> Result<Vec<DefaultReviewerCondition>, ClientError> {
        let target =
            plugin_repo_target("default-reviewers", "1.0", project, slug).segment("conditions");
        self.get_json(&ep::DEFAULT_REVIEWERS, &target.render())
            .await
    }

    pub async fn branch_restrictions(
        &self,
        project: &str,
        slug: &str,
    ) -> Result<Vec<BranchRestriction>, ClientError> {
        let target =
            plugin_repo_target("branch-permissions", "2.0", project, slug).segment("restrictions");
        self.pages(&ep::BRANCH_RESTRICTIONS, target)
            .collect_all()
            .await
    }

    /// Every user the account can see, with emails.
    pub async fn users(&self) -> Result<Vec<User>, ClientError> {
        self.pages(&ep::USERS, Target::new(&API).segment("users"))
            .collect_all()
            .await
    }

    pub async fn user(&self, slug: &str) -> Result<User, ClientError> {
        let target = Target::new(&API).segment("users").segment(slug);
        self.get_json(&ep::USER, &target.render()).await
    }

    /// Every group's name. Needs admin rights and basic auth or OAuth 2.0 (HTTP access tokens
    /// are refused on `/admin`): without them the error's kind is
    /// [`ErrorKind::Forbidden`], the account's "degraded"
    /// state.
    pub async fn groups(&self) -> Result<Vec<String>, ClientError> {
        let target = Target::new(&API).segment("admin").segment("groups");
        let groups: Vec<Group> = self.pages(&ep::GROUPS, target).collect_all().await?;
        Ok(groups.into_iter().map(|g| g.name).collect())
    }

    /// The members of one group (admin, like [`BitbucketClient::groups`]).
    pub async fn group_members(&self, group: &str) -> Result<Vec<User>, ClientError> {
        let target = Target::new(&API)
            .segment("admin")
            .segment("groups")
            .segment("more-members")
            .query("context", group);
        self.pages(&ep::GROUP_MEMBERS, target).collect_all().await
    }

    pub async fn webhooks(&self, project: &str, slug: &str) -> Result<Vec<Webhook>, ClientError> {
        let target = repo_target(project, slug).segment("webhooks");
        self.pages(&ep::WEBHOOKS, target).collect_all().await
    }

    /// Registers a webhook: the client's only write. The agent's default allow-list refuses
    /// it (the answer is then a [`ErrorKind::Forbidden`]) until an operator enables
    /// `repos.webhooks.create`. Retried on 429 only: a lost answer may mean it was created.
    pub async fn create_webhook(
        &self,
        project: &str,
        slug: &str,
        hook: &NewWebhook,
    ) -> Result<Webhook, ClientError> {
        let endpoint = &ep::CREATE_WEBHOOK;
        let body = serde_json::to_vec(hook).map_err(|e| {
            self.error(
                endpoint,
                ErrorKind::Request(format!("encoding the webhook: {e}")),
                0,
            )
        })?;
        let target = repo_target(project, slug).segment("webhooks").render();
        let opts = Send {
            method: &Method::POST,
            ..Send::GET
        };
        let response = self
            .send(endpoint, opts, &target, Some(Bytes::from(body)))
            .await?;
        self.decode(endpoint, &response.body)
    }
}
