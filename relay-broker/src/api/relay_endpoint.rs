//! `ANY /relay/{alias}/{bitbucket path...}`: forwards the raw path and query, unchanged, to an
//! agent of the caller's tenant serving `alias`.
//!
//! The target is cut out of the raw request URI (never from a decoded path parameter), so what
//! the agent's allow-list judges is byte for byte what the caller sent.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http_body_util::BodyExt;
use relay_shared::protocol::{ErrorCode, REQUEST_ID_HEADER};

use super::ApiState;
use super::auth::TenantAuth;
use super::error::ApiError;

pub async fn relay(
    State(state): State<ApiState>,
    TenantAuth(tenant): TenantAuth,
    request: Request,
) -> Response {
    let request_id = request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    match forward(&state, &tenant, request).await {
        Ok(response) => response,
        Err(err) => err.with_request_id(request_id.as_deref()).into_response(),
    }
}

async fn forward(state: &ApiState, tenant: &str, request: Request) -> Result<Response, ApiError> {
    let (mut parts, body) = request.into_parts();
    if parts.uri.scheme().is_some() || parts.uri.authority().is_some() {
        // Absolute-form targets are for proxies; the relay endpoint takes origin-form only.
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadRequest,
            "absolute-form request targets are not accepted; send /relay/{alias}/{path}",
        ));
    }
    let raw = parts
        .uri
        .path_and_query()
        .map(|pq| pq.as_str())
        .unwrap_or("/");
    let (alias, target) = split_target(raw).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadRequest,
            "expected /relay/{alias}/{path}",
        )
    })?;
    let (alias, target) = (alias.to_owned(), target.to_owned());
    if !state.directory.load().alias_exists(tenant, &alias) {
        // Same answer whether the alias belongs to another tenant or to nobody.
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::UnknownAlias,
            format!("no account alias {alias:?} for this tenant"),
        ));
    }
    parts.uri = target.parse().map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadRequest,
            "the target is not a valid path",
        )
    })?;
    let body = body
        .map_err(|e| -> crate::sessions::BoxError { Box::new(e) })
        .boxed_unsync();
    let response = state
        .relay
        .send(tenant, &alias, http::Request::from_parts(parts, body))
        .await?;
    Ok(response.map(Body::new))
}

/// `/relay/{alias}/rest/...?q` → (`{alias}`, `/rest/...?q`), on the raw bytes.
fn split_target(raw: &str) -> Option<(&str, &str)> {
    let rest = raw.strip_prefix("/relay/")?;
    let slash = rest.find('/')?;
    Some((&rest[..slash], &rest[slash..]))
}

#[cfg(test)]
mod tests {
    use super::split_target;

    #[test]
    fn keeps_the_target_byte_for_byte() {
        assert_eq!(
            split_target("/relay/dc/rest/api/1.0/projects%2F..?a=b%2F"),
            Some(("dc", "/rest/api/1.0/projects%2F..?a=b%2F"))
        );
        assert_eq!(split_target("/relay/dc"), None);
    }
}
