//! Serving one HTTP/2 stream from the broker: decide, forward, stream back, audit.
//!
//! For every call: take the rules in force once, run the raw target through the allow-list
//! (canonicalise, match), and on a denial answer 403 with the reason code without touching
//! Bitbucket. On an allow, drop every header the broker must not set, add our own
//! `Authorization`, forward the *canonical* target, and stream the answer back without
//! `Set-Cookie` or hop-by-hop headers. Every outcome, including a call the broker cancelled,
//! leaves one audit line. If the broker resets the stream, hyper drops this future or the
//! response body, which drops the upstream request and closes its connection.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header};
use http_body::{Body, Frame, SizeHint};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use relay_shared::allowlist::Decision;
use relay_shared::headers::{sanitize_request_headers, sanitize_response_headers};
use relay_shared::protocol::{
    AGENT_INTERNAL_AUTHORITY, AgentStatus, ErrorBody, ErrorCode, REQUEST_ID_HEADER, RULE_ID_HEADER,
    SOFTWARE_VERSION, new_request_id,
};
use tracing::{Instrument, debug, info_span, warn};

use crate::audit::{AuditLog, AuditRecord, truncate};
use crate::credentials::Credentials;
use crate::metrics::{AgentMetrics, ReasonLabel};
use crate::rules::Rules;
use crate::upstream::{Upstream, UpstreamError};

type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// Body of every response the agent sends into the tunnel.
pub type ProxyBody = http_body_util::combinators::UnsyncBoxBody<Bytes, BoxError>;

/// What serving a call needs; one per agent, shared by all tunnels.
#[derive(Debug)]
pub struct ProxyState {
    pub rules: Arc<Rules>,
    pub upstream: Upstream,
    pub credentials: Credentials,
    pub audit: AuditLog,
    pub metrics: AgentMetrics,
    pub max_request_body: u64,
    pub max_response_body: Option<u64>,
}

fn full(bytes: impl Into<Bytes>) -> ProxyBody {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

fn error_response(status: StatusCode, body: ErrorBody) -> Response<ProxyBody> {
    body.into_response::<Vec<u8>>(status).map(full)
}

/// One call in progress: writes its audit line exactly once, on finish or when dropped
/// (a drop before finishing means the broker cancelled it).
struct CallGuard {
    state: Arc<ProxyState>,
    record: Option<AuditRecord>,
    started: Instant,
}

impl CallGuard {
    fn new(
        state: Arc<ProxyState>,
        request_id: &str,
        method: &str,
        target: String,
        bytes_in: u64,
    ) -> Self {
        state.metrics.in_flight.inc();
        let record = AuditRecord {
            time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            request_id: request_id.to_owned(),
            method: method.to_owned(),
            target,
            outcome: "cancelled",
            rule_id: None,
            reason: None,
            status: 499,
            bytes_in,
            bytes_out: 0,
            duration_ms: 0.0,
        };
        CallGuard {
            state,
            record: Some(record),
            started: Instant::now(),
        }
    }

    fn set(&mut self, update: impl FnOnce(&mut AuditRecord)) {
        if let Some(record) = self.record.as_mut() {
            update(record);
        }
    }

    fn finish(&mut self) {
        if let Some(mut record) = self.record.take() {
            record.duration_ms =
                (self.started.elapsed().as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0;
            let rule = record.rule_id.as_deref().unwrap_or("none");
            self.state.metrics.call(rule, record.outcome);
            self.state.audit.record(&record);
            self.state.metrics.in_flight.dec();
        }
    }
}

impl Drop for CallGuard {
    fn drop(&mut self) {
        self.finish();
    }
}

/// Entry point for each HTTP/2 stream.
pub async fn serve(state: Arc<ProxyState>, request: Request<Incoming>) -> Response<ProxyBody> {
    if request
        .uri()
        .authority()
        .is_some_and(|a| a.as_str() == AGENT_INTERNAL_AUTHORITY)
    {
        return status(&state);
    }
    let request_id = request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .unwrap_or_else(new_request_id);
    let span = info_span!("call", request_id = %request_id, method = %request.method());
    handle(state, request, request_id).instrument(span).await
}

fn status(state: &ProxyState) -> Response<ProxyBody> {
    let rules = state.rules.current();
    let body = AgentStatus {
        agent_version: SOFTWARE_VERSION.to_owned(),
        allowlist_digest: rules.digest().to_owned(),
        allowlist_rules: rules.rules().len(),
        in_flight: usize::try_from(state.metrics.in_flight.get()).unwrap_or(0),
    };
    let mut response = Response::new(full(serde_json::to_vec(&body).unwrap_or_default()));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

async fn handle(
    state: Arc<ProxyState>,
    request: Request<Incoming>,
    request_id: String,
) -> Response<ProxyBody> {
    let (mut parts, body) = request.into_parts();
    let raw_target = parts
        .uri
        .path_and_query()
        .map(|pq| pq.as_str())
        .unwrap_or("");
    let bytes_in = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse().ok())
        .unwrap_or(0);
    let rules = state.rules.current();
    let decision = rules.check(&parts.method, raw_target);
    let (rule_id, target) = match decision {
        Decision::Allow { rule_id, target } => (rule_id, target),
        Decision::Deny(denial) => {
            let code = denial.reason.code();
            let mut guard = CallGuard::new(
                Arc::clone(&state),
                &request_id,
                parts.method.as_str(),
                truncate(raw_target, 512),
                bytes_in,
            );
            state
                .metrics
                .denials
                .get_or_create(&ReasonLabel {
                    reason: code.to_owned(),
                })
                .inc();
            guard.set(|r| {
                r.outcome = "denied";
                r.reason = Some(code.to_owned());
                r.status = 403;
            });
            guard.finish();
            debug!(reason = code, "denied by the allow-list");
            let message = format!(
                "the agent's allow-list refused {} {}: {}",
                parts.method,
                truncate(raw_target, 200),
                denial.detail
            );
            return error_response(
                StatusCode::FORBIDDEN,
                ErrorBody::new(ErrorCode::Forbidden, message)
                    .with_reason(code)
                    .with_request_id(Some(&request_id)),
            );
        }
    };
    let mut guard = CallGuard::new(
        Arc::clone(&state),
        &request_id,
        parts.method.as_str(),
        target.as_str().to_owned(),
        bytes_in,
    );
    guard.set(|r| r.rule_id = Some(rule_id.to_string()));

    sanitize_request_headers(&mut parts.headers);
    let authorization = match state.credentials.authorization().await {
        Ok(value) => value,
        Err(err) => {
            warn!(error = %err, "no credentials for Bitbucket");
            guard.set(|r| {
                r.outcome = "upstream_error";
                r.status = 502;
            });
            return error_response(
                StatusCode::BAD_GATEWAY,
                ErrorBody::new(
                    ErrorCode::UpstreamUnreachable,
                    format!("the agent has no usable Bitbucket credentials: {err}"),
                )
                .with_request_id(Some(&request_id)),
            );
        }
    };
    parts.headers.insert(header::AUTHORIZATION, authorization);
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        parts.headers.insert(REQUEST_ID_HEADER, value);
    }
    let upstream_body = if body.is_end_stream() {
        reqwest::Body::default()
    } else {
        reqwest::Body::wrap(Limited::new(
            body,
            usize::try_from(state.max_request_body).unwrap_or(usize::MAX),
        ))
    };

    let sent_at = Instant::now();
    let response = state
        .upstream
        .send(
            parts.method.clone(),
            target.as_str(),
            parts.headers,
            upstream_body,
        )
        .await;
    let response = match response {
        Ok(response) => response,
        Err(err) => return upstream_failure(&mut guard, err, &request_id),
    };
    state
        .metrics
        .upstream_seconds
        .observe(sent_at.elapsed().as_secs_f64());
    let status = response.status();
    guard.set(|r| {
        r.outcome = "allowed";
        r.status = status.as_u16();
    });
    // Keep reqwest's own body (not a stream of chunks): it carries the size hint and
    // end-of-stream, so END_STREAM rides on the last DATA frame. A chunk stream sends an extra
    // empty frame after the broker may already have dropped the stream, which h2 counts as a
    // reset and, under load, ends the tunnel with ENHANCE_YOUR_CALM.
    let (parts, body) = http::Response::from(response).into_parts();
    let mut headers = parts.headers;
    sanitize_response_headers(&mut headers);
    if let Ok(value) = HeaderValue::from_str(&rule_id) {
        headers.insert(RULE_ID_HEADER, value);
    }
    let body = AuditedBody {
        inner: body.map_err(|e| -> BoxError { Box::new(e) }).boxed_unsync(),
        guard,
        limit: state.max_response_body,
        sent: 0,
    };
    let mut out = Response::new(body.boxed_unsync());
    *out.status_mut() = status;
    *out.headers_mut() = headers;
    out
}

fn upstream_failure(
    guard: &mut CallGuard,
    err: UpstreamError,
    request_id: &str,
) -> Response<ProxyBody> {
    let (status, code) = match err {
        UpstreamError::Timeout(_) => (StatusCode::GATEWAY_TIMEOUT, ErrorCode::UpstreamTimeout),
        UpstreamError::Altered { .. } => (StatusCode::FORBIDDEN, ErrorCode::Forbidden),
        _ => (StatusCode::BAD_GATEWAY, ErrorCode::UpstreamUnreachable),
    };
    warn!(error = %err, "forwarding to Bitbucket failed");
    guard.set(|r| {
        r.outcome = "upstream_error";
        r.status = status.as_u16();
    });
    error_response(
        status,
        ErrorBody::new(code, err.to_string()).with_request_id(Some(request_id)),
    )
}

/// The response body on its way back: counts bytes, enforces the size limit, and completes
/// the audit record when the body ends (or is dropped by a cancelled call).
struct AuditedBody {
    inner: ProxyBody,
    guard: CallGuard,
    limit: Option<u64>,
    sent: u64,
}

impl Drop for AuditedBody {
    fn drop(&mut self) {
        // Dropped before the end: the broker reset the stream (or the tunnel died). The guard,
        // dropped right after this, writes the record. (A body known to be complete is not
        // polled again by hyper, so it may be dropped without ever yielding `None`.)
        if !self.inner.is_end_stream() {
            self.guard.set(|r| r.outcome = "cancelled");
        }
    }
}

impl Body for AuditedBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.sent += data.len() as u64;
                    let sent = this.sent;
                    this.guard.set(|r| r.bytes_out = sent);
                    if this.limit.is_some_and(|limit| sent > limit) {
                        this.guard.set(|r| r.outcome = "upstream_error");
                        this.guard.finish();
                        return Poll::Ready(Some(Err(
                            "response body exceeds bitbucket.max_response_body".into(),
                        )));
                    }
                }
                if this.inner.is_end_stream() {
                    this.guard.finish();
                }
            }
            Poll::Ready(None) => this.guard.finish(),
            Poll::Ready(Some(Err(_))) => {
                this.guard.set(|r| r.outcome = "upstream_error");
                this.guard.finish();
            }
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
