//! The one place API errors become responses, in Bitbucket's error envelope:
//! `{"errors": [{"context": null, "message": "...", "exceptionName": "..."}]}`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error the simulated server answers with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status}: {message}")]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    pub exception: &'static str,
    /// Seconds for `Retry-After` (429 only).
    pub retry_after: Option<u64>,
}

const AUTHORISATION: &str = "com.atlassian.bitbucket.AuthorisationException";

impl ApiError {
    pub fn new(
        status: StatusCode,
        message: impl Into<String>,
        exception: &'static str,
    ) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            exception,
            retry_after: None,
        }
    }

    pub fn unauthenticated() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "Authentication failed. Please check your credentials and try again.",
            "com.atlassian.bitbucket.auth.IncorrectPasswordAuthenticationException",
        )
    }

    pub fn anonymous() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "You are not permitted to access this resource",
            AUTHORISATION,
        )
    }

    /// An authenticated caller lacking a permission (real servers say 401 here too).
    pub fn not_permitted(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, message, AUTHORISATION)
    }

    pub fn no_such_project(key: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            format!("Project {key} does not exist."),
            "com.atlassian.bitbucket.project.NoSuchProjectException",
        )
    }

    pub fn no_such_repo(slug: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            format!("Repository {slug} does not exist."),
            "com.atlassian.bitbucket.repository.NoSuchRepositoryException",
        )
    }

    pub fn no_such_commit(rev: &str, slug: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            format!("Commit '{rev}' does not exist in repository '{slug}'."),
            "com.atlassian.bitbucket.commit.NoSuchCommitException",
        )
    }

    pub fn no_such_path(path: &str, rev: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            format!("The path \"{path}\" does not exist at revision \"{rev}\""),
            "com.atlassian.bitbucket.content.NoSuchPathException",
        )
    }

    pub fn no_default_branch(slug: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            format!("Repository {slug} has no default branch: it is empty."),
            "com.atlassian.bitbucket.repository.NoDefaultBranchException",
        )
    }

    pub fn no_such_pull_request(id: u64) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            format!("No pull request exists with ID {id} for this repository."),
            "com.atlassian.bitbucket.pull.NoSuchPullRequestException",
        )
    }

    pub fn no_such_user(slug: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            format!("User {slug} does not exist."),
            "com.atlassian.bitbucket.user.NoSuchUserException",
        )
    }

    pub fn no_such_group(name: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            format!("Group {name} does not exist."),
            "com.atlassian.bitbucket.user.NoSuchGroupException",
        )
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            message,
            "com.atlassian.bitbucket.validation.ArgumentValidationException",
        )
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            message,
            "com.atlassian.bitbucket.NoSuchEntityException",
        )
    }

    pub fn rate_limited(retry_after: Option<u64>) -> ApiError {
        ApiError {
            retry_after,
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "You have been rate limited. Please wait before sending more requests.",
                "com.atlassian.bitbucket.throttle.ThrottledException",
            )
        }
    }

    pub fn injected(status: StatusCode) -> ApiError {
        ApiError::new(
            status,
            "Injected fault",
            "com.atlassian.bitbucket.sim.InjectedFaultException",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"errors": [{"context": null, "message": self.message, "exceptionName": self.exception}]});
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"Atlassian Bitbucket\""),
            );
        }
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}
