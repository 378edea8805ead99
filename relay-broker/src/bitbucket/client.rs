//! [`BitbucketClient`]: one account's typed client. Every request passes the same gate: a
//! concurrency permit, a token from the rate budget, a timeout, then retry on transient
//! failures (see `retry`). A 429 holds the whole account's budget until the retry is due. The call methods live in `client/code.rs` (projects, repositories,
//! refs, commits, files) and `client/reviews.rs` (pull requests, review policy, users,
//! groups, webhooks).

mod code;
mod reviews;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, StatusCode};
use relay_shared::backoff::Backoff;
use serde::de::DeserializeOwned;
use tokio::sync::Semaphore;
use tracing::{debug, warn};

use super::budget::RateBudget;
use super::endpoints::Endpoint;
use super::error::{ClientError, ErrorKind, excerpt};
use super::paging::Pages;
use super::retry::{RetryPolicy, retry_after};
use super::target::Target;
use super::transport::{Transport, TransportError, TransportResponse};

/// Largest JSON answer accepted (a page of 1000 pull requests with their repositories is
/// a few MiB).
pub const MAX_JSON_BODY: usize = 32 * 1024 * 1024;

/// Which account a client serves, for errors and logs: `tenant/alias`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AccountLabel {
    pub tenant: String,
    pub alias: String,
}

impl AccountLabel {
    pub fn new(tenant: impl Into<String>, alias: impl Into<String>) -> Self {
        AccountLabel {
            tenant: tenant.into(),
            alias: alias.into(),
        }
    }
}

impl fmt::Display for AccountLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.tenant, self.alias)
    }
}

/// Limits of one account's client.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientConfig {
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Budget refill: requests per second (Bitbucket's default limiter refills 5/s).
    pub rate_per_second: f64,
    /// Budget size: requests that may go at once after a quiet period.
    pub burst: u32,
    /// Longest wait for one complete answer (per attempt).
    pub timeout: Duration,
    /// Retries after the first attempt of a call.
    pub max_retries: u32,
    /// The page size asked for; the server caps it and the client follows what it gets.
    pub page_limit: u32,
    /// Delay bounds between retries (full jitter), never below the server's `Retry-After`.
    pub backoff: Backoff,
    /// The longest `Retry-After` waited for; longer ones fail the call (retryable later).
    pub max_retry_after: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        let retry = RetryPolicy::default();
        ClientConfig {
            concurrency: 4,
            rate_per_second: 5.0,
            burst: 20,
            timeout: Duration::from_secs(30),
            max_retries: retry.max_retries,
            page_limit: 1000,
            backoff: retry.backoff,
            max_retry_after: retry.max_retry_after,
        }
    }
}

#[derive(Debug)]
struct Inner {
    account: AccountLabel,
    label: String,
    transport: Arc<dyn Transport>,
    config: ClientConfig,
    retry: RetryPolicy,
    permits: Semaphore,
    budget: RateBudget,
    calls: AtomicU64,
    /// Set once `/default-branch` turned out not to exist (servers before 7.6).
    old_default_branch: AtomicBool,
}

/// A typed Bitbucket Server client for one account. Cheap to clone; clones share the
/// concurrency limit, the rate budget and the call counter.
#[derive(Debug, Clone)]
pub struct BitbucketClient {
    inner: Arc<Inner>,
}

/// How one request is sent and which non-success statuses the caller handles itself.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Send<'a> {
    pub method: &'a Method,
    pub max_body: usize,
    /// Statuses returned as `Ok` instead of becoming errors (e.g. 404 for "absent").
    pub accept: &'a [StatusCode],
}

impl Send<'static> {
    pub(crate) const GET: Send<'static> = Send {
        method: &Method::GET,
        max_body: MAX_JSON_BODY,
        accept: &[],
    };
}

impl BitbucketClient {
    pub fn new(account: AccountLabel, transport: Arc<dyn Transport>, config: ClientConfig) -> Self {
        let retry = RetryPolicy {
            max_retries: config.max_retries,
            backoff: config.backoff,
            max_retry_after: config.max_retry_after,
        };
        BitbucketClient {
            inner: Arc::new(Inner {
                label: account.to_string(),
                account,
                permits: Semaphore::new(config.concurrency.max(1)),
                budget: RateBudget::new(config.rate_per_second, config.burst),
                transport,
                retry,
                config,
                calls: AtomicU64::new(0),
                old_default_branch: AtomicBool::new(false),
            }),
        }
    }

    pub fn account(&self) -> &AccountLabel {
        &self.inner.account
    }

    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// `relay acme/dc` or `direct https://bb.example`.
    pub fn describe_transport(&self) -> String {
        self.inner.transport.describe()
    }

    /// Requests sent so far, retries included.
    pub fn calls(&self) -> u64 {
        self.inner.calls.load(Ordering::Relaxed)
    }

    pub(crate) fn error(&self, endpoint: &Endpoint, kind: ErrorKind, attempts: u32) -> ClientError {
        ClientError::new(&self.inner.label, &endpoint.label(), kind, attempts)
    }

    /// One attempt: permit, budget token, timeout.
    async fn attempt(
        &self,
        opts: Send<'_>,
        target: &str,
        body: Option<Bytes>,
    ) -> Result<TransportResponse, ErrorKind> {
        let inner = &self.inner;
        let _permit = inner
            .permits
            .acquire()
            .await
            .map_err(|_| ErrorKind::Transport("the client is shut down".into()))?;
        inner.budget.acquire().await;
        inner.calls.fetch_add(1, Ordering::Relaxed);
        let send = inner
            .transport
            .send(opts.method.clone(), target, body, opts.max_body);
        match tokio::time::timeout(inner.config.timeout, send).await {
            Err(_) => Err(ErrorKind::Timeout(inner.config.timeout)),
            Ok(Err(TransportError::BodyTooLarge { limit })) => {
                Err(ErrorKind::BodyTooLarge { limit })
            }
            Ok(Err(err)) if !err.is_retryable() => Err(ErrorKind::Request(err.to_string())),
            Ok(Err(err)) => Err(ErrorKind::Transport(err.to_string())),
            Ok(Ok(response)) => Ok(response),
        }
    }

    /// Sends a request, retrying transient failures. Success statuses (and `opts.accept`)
    /// come back as the response; everything else as a [`ClientError`].
    pub(crate) async fn send(
        &self,
        endpoint: &Endpoint,
        opts: Send<'_>,
        target: &str,
        body: Option<Bytes>,
    ) -> Result<TransportResponse, ClientError> {
        let idempotent = *opts.method == Method::GET || *opts.method == Method::HEAD;
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let (kind, server_delay) = match self.attempt(opts, target, body.clone()).await {
                Ok(r) if r.status.is_success() || opts.accept.contains(&r.status) => return Ok(r),
                Ok(r) => {
                    let after = retry_after(&r.headers, chrono::Utc::now());
                    (ErrorKind::from_status(r.status, &r.body, after), after)
                }
                Err(kind) => (kind, None),
            };
            let retry = attempts - 1;
            match self
                .inner
                .retry
                .decide(retry, &kind, idempotent, server_delay)
            {
                Some(delay) => {
                    let delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
                    // 429s are expected under a tight server limit: not worth a warning each.
                    if matches!(kind, ErrorKind::RateLimited { .. }) {
                        self.inner.budget.hold(delay);
                        debug!(account = %self.inner.label, endpoint = %endpoint.label(), attempt = attempts,
                            delay_ms, error = %kind, "Bitbucket rate limit; will retry");
                    } else {
                        warn!(account = %self.inner.label, endpoint = %endpoint.label(), attempt = attempts,
                            delay_ms, error = %kind, "Bitbucket call failed; will retry");
                    }
                    tokio::time::sleep(delay).await;
                }
                None => {
                    debug!(account = %self.inner.label, endpoint = %endpoint.label(), attempts, error = %kind, "Bitbucket call failed");
                    return Err(self.error(endpoint, kind, attempts));
                }
            }
        }
    }

    /// GETs and decodes one JSON document.
    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        endpoint: &Endpoint,
        target: &str,
    ) -> Result<T, ClientError> {
        let response = self.send(endpoint, Send::GET, target, None).await?;
        self.decode(endpoint, &response.body)
    }

    pub(crate) fn decode<T: DeserializeOwned>(
        &self,
        endpoint: &Endpoint,
        body: &[u8],
    ) -> Result<T, ClientError> {
        serde_json::from_slice(body).map_err(|err| {
            let kind = ErrorKind::Decode(format!("{err}; body starts {:?}", excerpt(body)));
            self.error(endpoint, kind, 1)
        })
    }

    /// A paged listing of `target`, asking for the configured page size.
    pub(crate) fn pages<T: DeserializeOwned>(
        &self,
        endpoint: &'static Endpoint,
        target: Target,
    ) -> Pages<T> {
        Pages::new(self.clone(), endpoint, target, self.inner.config.page_limit)
    }

    pub(crate) fn uses_old_default_branch(&self) -> bool {
        self.inner.old_default_branch.load(Ordering::Relaxed)
    }

    pub(crate) fn set_old_default_branch(&self) {
        self.inner.old_default_branch.store(true, Ordering::Relaxed);
    }
}
