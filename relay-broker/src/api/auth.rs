//! Tenant authentication for the API: a bearer token names exactly one tenant.

use axum::extract::FromRequestParts;
use http::header::AUTHORIZATION;
use http::request::Parts;

use super::ApiState;
use super::error::ApiError;

/// The tenant the caller's API token belongs to.
#[derive(Debug, Clone)]
pub struct TenantAuth(pub String);

impl FromRequestParts<ApiState> for TenantAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or_else(ApiError::unauthorized)?;
        let directory = state.directory.load();
        let tenant = directory
            .tenant_for_token(token)
            .ok_or_else(ApiError::unauthorized)?;
        Ok(TenantAuth(tenant.id.clone()))
    }
}
