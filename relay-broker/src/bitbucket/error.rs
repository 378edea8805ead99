//! [`ClientError`]: what a Bitbucket call failed with, for which account and endpoint, and
//! whether trying again later can help.
//!
//! Bitbucket answers both "bad credentials" and "authenticated but not allowed" with 401; the
//! error envelope's `exceptionName` tells them apart (`...AuthorisationException` is a missing
//! permission), so callers can mark an account "degraded" (no admin access for groups) rather
//! than "broken" (wrong password).

use std::fmt;
use std::time::Duration;

use http::StatusCode;
use serde::Deserialize;

/// What went wrong. Statuses not listed get [`ErrorKind::Status`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// Another status (5xx, 400, 409...) with the message of Bitbucket's error envelope.
    Status { status: u16, message: String },
    /// 404: the thing does not exist, or the account may not see it.
    NotFound { message: String },
    /// 401 for the credentials themselves: wrong password, expired or revoked token.
    Unauthorized { message: String },
    /// 403, or 401 with an `AuthorisationException`: the account lacks a permission
    /// (e.g. an access token on `/admin`, or a user without admin rights).
    Forbidden { message: String },
    /// 429: the server's rate limit.
    RateLimited { retry_after: Option<Duration> },
    /// No complete answer within the client's timeout.
    Timeout(Duration),
    /// The transport failed: connection, TLS, tunnel, no agent connected.
    Transport(String),
    /// The request could not be sent as asked (unreadable credentials, an invalid target).
    Request(String),
    /// The answer was not the JSON expected.
    Decode(String),
    /// The body was larger than allowed for this call.
    BodyTooLarge { limit: usize },
    /// A paged listing did not advance (a `nextPageStart` not beyond `start`).
    NoProgress { start: u64 },
}

impl ErrorKind {
    /// Whether the same call may succeed later (server trouble, limits, network).
    pub fn is_transient(&self) -> bool {
        match self {
            ErrorKind::Status { status, .. } => *status >= 500,
            ErrorKind::RateLimited { .. } | ErrorKind::Timeout(_) | ErrorKind::Transport(_) => true,
            ErrorKind::NotFound { .. }
            | ErrorKind::Unauthorized { .. }
            | ErrorKind::Forbidden { .. }
            | ErrorKind::Request(_)
            | ErrorKind::Decode(_)
            | ErrorKind::BodyTooLarge { .. }
            | ErrorKind::NoProgress { .. } => false,
        }
    }

    /// The kind for a non-success status and its body.
    pub fn from_status(
        status: StatusCode,
        body: &[u8],
        retry_after: Option<Duration>,
    ) -> ErrorKind {
        let envelope = ErrorEnvelope::parse(body);
        let message = envelope.message(status);
        match status.as_u16() {
            401 if envelope.is_authorisation() => ErrorKind::Forbidden { message },
            401 => ErrorKind::Unauthorized { message },
            403 => ErrorKind::Forbidden { message },
            404 => ErrorKind::NotFound { message },
            429 => ErrorKind::RateLimited { retry_after },
            code => ErrorKind::Status {
                status: code,
                message,
            },
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Status { status, message } => write!(f, "{status}: {message}"),
            ErrorKind::NotFound { message } => write!(f, "404 not found: {message}"),
            ErrorKind::Unauthorized { message } => write!(
                f,
                "401 credentials refused: {message} (check the account's credentials)"
            ),
            ErrorKind::Forbidden { message } => write!(f, "permission denied: {message}"),
            ErrorKind::RateLimited {
                retry_after: Some(after),
            } => write!(f, "429 rate limited (Retry-After {}s)", after.as_secs()),
            ErrorKind::RateLimited { retry_after: None } => write!(f, "429 rate limited"),
            ErrorKind::Timeout(after) => write!(f, "no complete answer within {after:?}"),
            ErrorKind::Transport(message) => write!(f, "transport failed: {message}"),
            ErrorKind::Request(message) => write!(f, "could not send the request: {message}"),
            ErrorKind::Decode(message) => write!(f, "unexpected response: {message}"),
            ErrorKind::BodyTooLarge { limit } => {
                write!(f, "response body larger than {limit} bytes")
            }
            ErrorKind::NoProgress { start } => {
                write!(f, "paging did not advance beyond start {start}")
            }
        }
    }
}

/// A failed Bitbucket call, after the client's own retries.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ClientError {
    /// `tenant/alias` of the account.
    pub account: String,
    /// Method and template, e.g. `GET /rest/api/1.0/projects/{project}/repos`.
    pub endpoint: String,
    pub kind: ErrorKind,
    /// Whether the failure is transient: a later attempt (the next sync) may succeed.
    pub retryable: bool,
    /// Requests made for this call, retries included.
    pub attempts: u32,
}

impl ClientError {
    pub fn new(account: &str, endpoint: &str, kind: ErrorKind, attempts: u32) -> ClientError {
        ClientError {
            account: account.to_owned(),
            endpoint: endpoint.to_owned(),
            retryable: kind.is_transient(),
            kind,
            attempts,
        }
    }

    /// True for 401/403 answers of either kind (credentials or permission).
    pub fn is_access_denied(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::Unauthorized { .. } | ErrorKind::Forbidden { .. }
        )
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self.kind, ErrorKind::NotFound { .. })
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "account {}: {}: {}",
            self.account, self.endpoint, self.kind
        )?;
        match (self.retryable, self.attempts) {
            (true, n) if n > 1 => write!(f, " (gave up after {n} attempts; retryable later)"),
            (true, _) => write!(f, " (retryable later)"),
            (false, _) => write!(f, " (not retried)"),
        }
    }
}

/// Bitbucket's `{"errors": [{"context", "message", "exceptionName"}]}`.
#[derive(Debug, Default, Deserialize)]
struct ErrorEnvelope {
    #[serde(default)]
    errors: Vec<ErrorEntry>,
    /// The relay agent (and some proxies) answer `{"message": ...}` instead; the agent adds
    /// the allow-list's `reason` code to a denial.
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorEntry {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    exception_name: Option<String>,
}

/// Longest message kept from an error body that is not an envelope.
const MAX_RAW_MESSAGE: usize = 200;

impl ErrorEnvelope {
    fn parse(body: &[u8]) -> ErrorEnvelope {
        serde_json::from_slice(body).unwrap_or_default()
    }

    fn is_authorisation(&self) -> bool {
        self.errors.iter().any(|e| {
            e.exception_name
                .as_deref()
                .is_some_and(|n| n.ends_with("AuthorisationException"))
        })
    }

    fn message(&self, status: StatusCode) -> String {
        let joined: Vec<&str> = self
            .errors
            .iter()
            .filter_map(|e| e.message.as_deref())
            .collect();
        if !joined.is_empty() {
            return joined.join("; ");
        }
        if let Some(message) = &self.message {
            return match &self.reason {
                Some(reason) => format!("{message} (reason {reason})"),
                None => message.clone(),
            };
        }
        status.canonical_reason().unwrap_or("error").to_owned()
    }
}

/// The `exceptionName`s of an error envelope (empty if the body is not one).
pub(crate) fn exception_names(body: &[u8]) -> Vec<String> {
    ErrorEnvelope::parse(body)
        .errors
        .into_iter()
        .filter_map(|e| e.exception_name)
        .collect()
}

/// A short printable excerpt of a body that did not decode (never the whole body).
pub(crate) fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out: String = text.chars().take(MAX_RAW_MESSAGE).collect();
    if text.chars().count() > MAX_RAW_MESSAGE {
        out.push('…');
    }
    out
}
