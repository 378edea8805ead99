//! The broker's internal call API: send an `http::Request` to account alias X of tenant T and
//! get a streaming response back through one of that alias's agents.
//!
//! This is the seam the sync engine (and the operator endpoint `/relay/{alias}/...`) build on.
//! The request target (path and query) goes to the agent untouched; the agent's allow-list is
//! the authority on what is forwarded. Dropping the returned future or response body cancels
//! the HTTP/2 stream, which the agent turns into an aborted upstream request.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, Uri};
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use relay_shared::headers::sanitize_request_headers;
use relay_shared::protocol::{BITBUCKET_AUTHORITY, ErrorCode, REQUEST_ID_HEADER, new_request_id};
use tracing::{debug, warn};

use crate::metrics::BrokerMetrics;
use crate::sessions::{InFlight, RelayBody, Sessions};

/// Why a relayed call failed (before Bitbucket's own answer; Bitbucket's errors pass through).
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error(
        "no agent is connected for alias {alias:?} of tenant {tenant:?}; check that an agent registered for it is running and can reach the broker"
    )]
    NoAgent { tenant: String, alias: String },
    #[error("the tunnel to agent {agent_id} failed during the call: {source}")]
    Tunnel {
        agent_id: String,
        source: hyper::Error,
    },
    #[error("agent {agent_id} sent no response headers within {timeout:?}")]
    Timeout { agent_id: String, timeout: Duration },
    #[error("the request target {target:?} is not a valid origin-form path")]
    BadTarget { target: String },
}

impl RelayError {
    pub fn code(&self) -> ErrorCode {
        match self {
            RelayError::NoAgent { .. } => ErrorCode::NoAgentConnected,
            RelayError::Tunnel { .. } => ErrorCode::TunnelFailed,
            RelayError::Timeout { .. } => ErrorCode::UpstreamTimeout,
            RelayError::BadTarget { .. } => ErrorCode::BadRequest,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            RelayError::NoAgent { .. } => StatusCode::SERVICE_UNAVAILABLE,
            RelayError::Tunnel { .. } => StatusCode::BAD_GATEWAY,
            RelayError::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            RelayError::BadTarget { .. } => StatusCode::BAD_REQUEST,
        }
    }

    /// Whether trying again later can help (the caller's request itself was fine).
    pub fn is_retryable(&self) -> bool {
        !matches!(self, RelayError::BadTarget { .. })
    }

    fn outcome(&self) -> &'static str {
        match self {
            RelayError::NoAgent { .. } => "no_agent",
            RelayError::Tunnel { .. } => "tunnel_error",
            RelayError::Timeout { .. } => "timeout",
            RelayError::BadTarget { .. } => "bad_target",
        }
    }
}

/// The response body of a relayed call: streams from the tunnel and keeps the call counted in
/// flight on its session until it ends or is dropped.
#[derive(Debug)]
pub struct RelayResponseBody {
    inner: Incoming,
    _in_flight: InFlight,
}

impl Body for RelayResponseBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Sends calls to agents.
#[derive(Debug, Clone)]
pub struct Relay {
    sessions: Arc<Sessions>,
    metrics: BrokerMetrics,
    call_timeout: Duration,
}

impl Relay {
    pub fn new(sessions: Arc<Sessions>, metrics: BrokerMetrics, call_timeout: Duration) -> Self {
        Relay {
            sessions,
            metrics,
            call_timeout,
        }
    }

    pub fn sessions(&self) -> &Arc<Sessions> {
        &self.sessions
    }

    /// Sends `request` (origin-form URI: path and query) to an agent serving `tenant`/`alias`.
    ///
    /// Credentials and hop-by-hop headers are stripped here already; the agent strips them
    /// again and adds its own. An `x-request-id` is added if absent. If a session turns out to
    /// be closed before the request left, the next least-loaded session is tried.
    pub async fn send(
        &self,
        tenant: &str,
        alias: &str,
        request: Request<RelayBody>,
    ) -> Result<Response<RelayResponseBody>, RelayError> {
        let started = Instant::now();
        let result = self.send_inner(tenant, alias, request).await;
        match &result {
            Ok(_) => {
                self.metrics
                    .call_seconds
                    .observe(started.elapsed().as_secs_f64());
                self.metrics.call(tenant, alias, "ok");
            }
            Err(err) => self.metrics.call(tenant, alias, err.outcome()),
        }
        result
    }

    async fn send_inner(
        &self,
        tenant: &str,
        alias: &str,
        request: Request<RelayBody>,
    ) -> Result<Response<RelayResponseBody>, RelayError> {
        let mut request = prepare(request)?;
        let mut tried = Vec::new();
        loop {
            let Some(session) = self.sessions.pick(tenant, alias, &tried) else {
                return Err(RelayError::NoAgent {
                    tenant: tenant.to_owned(),
                    alias: alias.to_owned(),
                });
            };
            tried.push(session.id.clone());
            let (mut sender, in_flight) = session.begin_call();
            let sent =
                tokio::time::timeout(self.call_timeout, sender.try_send_request(request)).await;
            match sent {
                Ok(Ok(response)) => {
                    return Ok(response.map(|inner| RelayResponseBody {
                        inner,
                        _in_flight: in_flight,
                    }));
                }
                Ok(Err(mut err)) => match err.take_message() {
                    // The request never left: this session is closing. Try another one.
                    Some(unsent) => {
                        debug!(agent_id = %session.agent_id, "session closed before the call left; failing over");
                        request = unsent;
                    }
                    None => {
                        warn!(agent_id = %session.agent_id, error = %err.error(), "tunnel failed during a call");
                        return Err(RelayError::Tunnel {
                            agent_id: session.agent_id.clone(),
                            source: err.into_error(),
                        });
                    }
                },
                Err(_) => {
                    return Err(RelayError::Timeout {
                        agent_id: session.agent_id.clone(),
                        timeout: self.call_timeout,
                    });
                }
            }
        }
    }
}

/// Gives the request the URI form HTTP/2 needs, strips headers that must not cross, and adds
/// a request id.
fn prepare(request: Request<RelayBody>) -> Result<Request<RelayBody>, RelayError> {
    let (mut parts, body) = request.into_parts();
    let target = parts
        .uri
        .path_and_query()
        .map(|pq| pq.as_str())
        .unwrap_or("/")
        .to_owned();
    parts.uri = Uri::builder()
        .scheme("https")
        .authority(BITBUCKET_AUTHORITY)
        .path_and_query(target.as_str())
        .build()
        .map_err(|_| RelayError::BadTarget { target })?;
    parts.version = http::Version::HTTP_2;
    sanitize_request_headers(&mut parts.headers);
    if !parts.headers.contains_key(REQUEST_ID_HEADER)
        && let Ok(id) = HeaderValue::from_str(&new_request_id())
    {
        parts.headers.insert(REQUEST_ID_HEADER, id);
    }
    Ok(Request::from_parts(parts, body))
}
