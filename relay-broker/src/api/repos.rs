//! Projects and repositories: `GET /api/v1/projects`, `/api/v1/repos`,
//! `/api/v1/repos/{alias}/{project}/{slug}` (the repository page: top contributors, recent
//! commits and releases) and `/api/v1/repos/{alias}/{project}/{slug}/events` (every commit and
//! release, paged, newest first).

use axum::Json;
use axum::extract::{Path, Query, State};
use http::StatusCode;
use relay_shared::protocol::ErrorCode;
use serde::{Deserialize, Serialize};

use super::ApiState;
use super::auth::TenantAuth;
use super::error::ApiError;
use crate::store::{
    CommitRecord, Contributor, Event, Page, ProjectRecord, ReleaseRecord, RepoFilter, RepoKey,
    RepoSummary,
};

/// `?offset=&limit=` (limit capped at 1000).
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct Paging {
    pub offset: Option<u32>,
    pub limit: Option<u32>,
}

impl Paging {
    pub fn page(self) -> Page {
        Page::new(
            self.offset.unwrap_or(0),
            self.limit.unwrap_or(Page::DEFAULT_LIMIT).clamp(1, 1000),
        )
    }
}

#[derive(Debug, Serialize)]
pub struct ListedProject {
    pub alias: String,
    #[serde(flatten)]
    pub project: ProjectRecord,
}

pub async fn projects(
    State(state): State<ApiState>,
    TenantAuth(tenant): TenantAuth,
) -> Result<Json<Vec<ListedProject>>, ApiError> {
    let projects = state.store.projects(&tenant).await?;
    Ok(Json(
        projects
            .into_iter()
            .map(|(alias, project)| ListedProject { alias, project })
            .collect(),
    ))
}

#[derive(Debug, Deserialize)]
pub struct RepoQuery {
    pub alias: Option<String>,
    pub project: Option<String>,
    // Not `#[serde(flatten)] Paging`: flattened query fields arrive as strings and fail to
    // parse as numbers.
    pub offset: Option<u32>,
    pub limit: Option<u32>,
}

pub async fn repos(
    State(state): State<ApiState>,
    TenantAuth(tenant): TenantAuth,
    Query(query): Query<RepoQuery>,
) -> Result<Json<Vec<RepoSummary>>, ApiError> {
    let filter = RepoFilter {
        alias: query.alias,
        project: query.project,
        page: Paging {
            offset: query.offset,
            limit: query.limit,
        }
        .page(),
    };
    Ok(Json(state.store.repos(&tenant, &filter).await?))
}

/// The repository page.
#[derive(Debug, Serialize)]
pub struct RepoPage {
    #[serde(flatten)]
    pub repo: RepoSummary,
    pub top_contributors: Vec<Contributor>,
    pub recent_commits: Vec<CommitRecord>,
    pub recent_releases: Vec<ReleaseRecord>,
}

fn key(tenant: String, (alias, project, slug): (String, String, String)) -> RepoKey {
    RepoKey {
        tenant,
        alias,
        project,
        slug,
    }
}

fn not_found(key: &RepoKey) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        ErrorCode::BadRequest,
        format!(
            "no repository {}/{}/{} for this tenant",
            key.alias, key.project, key.slug
        ),
    )
}

pub async fn repo(
    State(state): State<ApiState>,
    TenantAuth(tenant): TenantAuth,
    Path(path): Path<(String, String, String)>,
) -> Result<Json<RepoPage>, ApiError> {
    let key = key(tenant, path);
    let repo = state
        .store
        .repo(&key)
        .await?
        .ok_or_else(|| not_found(&key))?;
    Ok(Json(RepoPage {
        repo,
        top_contributors: state.store.top_contributors(&key, 3).await?,
        recent_commits: state.store.recent_commits(&key, 10).await?,
        recent_releases: state.store.recent_releases(&key, 5).await?,
    }))
}

pub async fn events(
    State(state): State<ApiState>,
    TenantAuth(tenant): TenantAuth,
    Path(path): Path<(String, String, String)>,
    Query(paging): Query<Paging>,
) -> Result<Json<Vec<Event>>, ApiError> {
    let key = key(tenant, path);
    if state.store.repo(&key).await?.is_none() {
        return Err(not_found(&key));
    }
    Ok(Json(state.store.events(&key, paging.page()).await?))
}
