//! Pull requests: `GET /api/v1/pull-requests?alias=&project=&repo=&state=&author=&reviewer=`.

use axum::Json;
use axum::extract::{Query, State};
use http::StatusCode;
use relay_shared::protocol::ErrorCode;
use serde::Deserialize;

use super::ApiState;
use super::auth::TenantAuth;
use super::error::ApiError;
use super::repos::Paging;
use crate::store::{ListedPullRequest, PrFilter, PrState};

#[derive(Debug, Deserialize)]
pub struct PrQuery {
    pub alias: Option<String>,
    pub project: Option<String>,
    pub repo: Option<String>,
    pub state: Option<String>,
    pub author: Option<String>,
    pub reviewer: Option<String>,
    pub offset: Option<u32>,
    pub limit: Option<u32>,
}

pub async fn list(
    State(state): State<ApiState>,
    TenantAuth(tenant): TenantAuth,
    Query(query): Query<PrQuery>,
) -> Result<Json<Vec<ListedPullRequest>>, ApiError> {
    let pr_state = match query.state.as_deref() {
        None | Some("ALL") | Some("all") => None,
        Some(text) => Some(PrState::parse(text).ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::BadRequest,
                format!("state {text:?}: use OPEN, MERGED, DECLINED or ALL"),
            )
        })?),
    };
    let filter = PrFilter {
        alias: query.alias,
        project: query.project,
        repo: query.repo,
        state: pr_state,
        author: query.author,
        reviewer: query.reviewer,
        page: Paging {
            offset: query.offset,
            limit: query.limit,
        }
        .page(),
    };
    Ok(Json(state.store.pull_requests(&tenant, &filter).await?))
}
