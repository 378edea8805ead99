//! `GET /api/v1/agents`: the agents connected for the caller's tenant.

use axum::Json;
use axum::extract::State;

use super::ApiState;
use super::auth::TenantAuth;
use crate::sessions::SessionInfo;

pub async fn list(
    State(state): State<ApiState>,
    TenantAuth(tenant): TenantAuth,
) -> Json<Vec<SessionInfo>> {
    Json(state.relay.sessions().list(Some(&tenant)))
}
