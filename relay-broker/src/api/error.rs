//! The one place where failures become HTTP responses: a JSON [`ErrorBody`] with a stable code.

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use relay_shared::protocol::{ErrorBody, ErrorCode};

use crate::relay::RelayError;

/// An API failure.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: ErrorBody,
}

impl ApiError {
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            body: ErrorBody::new(code, message),
        }
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthorized,
            "missing or invalid API token (send Authorization: Bearer <tenant API token>)",
        )
    }

    pub fn with_request_id(mut self, request_id: Option<&str>) -> Self {
        self.body = self.body.with_request_id(request_id);
        self
    }
}

impl From<RelayError> for ApiError {
    fn from(err: RelayError) -> Self {
        ApiError::new(err.status(), err.code(), err.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.body.into_response::<axum::body::Body>(self.status)
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(err: crate::store::StoreError) -> Self {
        tracing::error!(error = %err, "store failure in an API call");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            "the store failed; see the broker log",
        )
    }
}
