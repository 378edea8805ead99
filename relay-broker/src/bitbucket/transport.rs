//! How a request reaches Bitbucket: the [`Transport`] trait, [`RelayTransport`] (through the
//! account's agents, which add the credentials) and [`DirectTransport`] (HTTPS from the broker
//! with the account's own credentials).
//!
//! A transport sends one request and reads the whole body, refusing more than `max_body` bytes
//! so a misbehaving server cannot balloon the broker. Retries, budgets and timeouts live in the
//! client above; a transport never retries.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode, header};
use http_body::Body;
use http_body_util::{BodyExt, Empty, Full};
use relay_shared::credentials::{AuthSettings, CredentialError, Credentials};
use relay_shared::tls;

use crate::relay::{Relay, RelayError};
use crate::sessions::RelayBody;

/// One answer, with its body read fully.
#[derive(Debug, Clone)]
pub struct TransportResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// Why no answer (or no complete one) came back.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error(transparent)]
    Relay(#[from] RelayError),
    #[error("connecting to {url}: {message}")]
    Connect { url: String, message: String },
    #[error("TLS with {url} failed: {message} (check the server certificate and `ca_file`)")]
    Tls { url: String, message: String },
    #[error("no answer from {url} within {timeout:?}")]
    Timeout { url: String, timeout: Duration },
    #[error("reading the response body: {0}")]
    Body(String),
    #[error("response body larger than {limit} bytes")]
    BodyTooLarge { limit: usize },
    #[error("preparing the account's credentials: {0}")]
    Credentials(#[from] CredentialError),
    #[error("the request target {0:?} is not a valid origin-form path")]
    BadTarget(String),
    #[error("building the HTTPS client: {0}")]
    Build(String),
}

impl TransportError {
    /// Whether the same request may succeed if sent again.
    pub fn is_retryable(&self) -> bool {
        match self {
            TransportError::Relay(err) => err.is_retryable(),
            TransportError::Connect { .. }
            | TransportError::Timeout { .. }
            | TransportError::Body(_) => true,
            TransportError::BodyTooLarge { .. }
            | TransportError::Tls { .. }
            | TransportError::Credentials(_)
            | TransportError::BadTarget(_)
            | TransportError::Build(_) => false,
        }
    }
}

/// Sends requests to one Bitbucket server.
#[async_trait::async_trait]
pub trait Transport: Send + Sync + fmt::Debug {
    /// Sends one request (origin-form target: path and query) and returns status, headers and
    /// the body, read fully but never more than `max_body` bytes (an error if larger).
    async fn send(
        &self,
        method: Method,
        target: &str,
        body: Option<Bytes>,
        max_body: usize,
    ) -> Result<TransportResponse, TransportError>;

    /// For messages: `relay acme/dc` or `direct https://bb.example`.
    fn describe(&self) -> String;
}

/// Reads a body up to `limit` bytes.
async fn read_limited<B>(mut body: B, limit: usize) -> Result<Bytes, TransportError>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: fmt::Display,
{
    let mut out = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| TransportError::Body(e.to_string()))?;
        if let Ok(data) = frame.into_data() {
            if out.len().saturating_add(data.len()) > limit {
                return Err(TransportError::BodyTooLarge { limit });
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(out.freeze())
}

fn declared_too_large(headers: &HeaderMap, limit: usize) -> bool {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|len| len > limit as u64)
}

/// Through the relay: the agent serving `tenant`/`alias` adds credentials and applies its
/// allow-list (a denied call comes back as the agent's 403).
#[derive(Debug, Clone)]
pub struct RelayTransport {
    relay: Relay,
    tenant: String,
    alias: String,
}

impl RelayTransport {
    pub fn new(relay: Relay, tenant: impl Into<String>, alias: impl Into<String>) -> Self {
        RelayTransport {
            relay,
            tenant: tenant.into(),
            alias: alias.into(),
        }
    }
}

fn relay_body(body: Option<Bytes>) -> RelayBody {
    match body {
        Some(bytes) => Full::new(bytes)
            .map_err(|never| match never {})
            .boxed_unsync(),
        None => Empty::new().map_err(|never| match never {}).boxed_unsync(),
    }
}

#[async_trait::async_trait]
impl Transport for RelayTransport {
    async fn send(
        &self,
        method: Method,
        target: &str,
        body: Option<Bytes>,
        max_body: usize,
    ) -> Result<TransportResponse, TransportError> {
        let mut builder = Request::builder()
            .method(method)
            .uri(target)
            .header(header::ACCEPT, "application/json");
        if body.is_some() {
            builder = builder.header(header::CONTENT_TYPE, "application/json");
        }
        let request = builder
            .body(relay_body(body))
            .map_err(|_| TransportError::BadTarget(target.to_owned()))?;
        let response = self.relay.send(&self.tenant, &self.alias, request).await?;
        let (parts, body) = response.into_parts();
        if declared_too_large(&parts.headers, max_body) {
            return Err(TransportError::BodyTooLarge { limit: max_body });
        }
        let body = read_limited(body, max_body).await?;
        Ok(TransportResponse {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }

    fn describe(&self) -> String {
        format!("relay {}/{}", self.tenant, self.alias)
    }
}

/// Options of a [`DirectTransport`].
#[derive(Debug, Clone)]
pub struct DirectOptions {
    /// Extra CA certificates (PEM) trusted for the server, on top of the system roots.
    pub ca_file: Option<PathBuf>,
    pub connect_timeout: Duration,
    /// Longest pause while reading a response.
    pub read_timeout: Duration,
}

impl Default for DirectOptions {
    fn default() -> Self {
        DirectOptions {
            ca_file: None,
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
        }
    }
}

/// HTTPS (or HTTP, for tests) straight to Bitbucket, with basic, bearer or OAuth 2.0
/// credentials. Redirects are not followed: a redirect would leak credentials cross-origin.
pub struct DirectTransport {
    http: reqwest::Client,
    base: String,
    credentials: Credentials,
    read_timeout: Duration,
}

impl fmt::Debug for DirectTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DirectTransport")
            .field("base", &self.base)
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

impl DirectTransport {
    /// `base_url` is the server's base (`https://bb.example` or `https://host/bitbucket`).
    /// Installs the ring crypto provider if none is installed yet.
    pub fn new(
        base_url: &str,
        auth: &AuthSettings,
        options: DirectOptions,
    ) -> Result<Self, TransportError> {
        tls::install_crypto_provider();
        let build = |e: String| TransportError::Build(e);
        reqwest::Url::parse(base_url).map_err(|e| build(format!("{base_url}: {e}")))?;
        let extra_cas = match &options.ca_file {
            Some(path) => tls::load_certs(path).map_err(|e| build(e.to_string()))?,
            None => Vec::new(),
        };
        let tls = tls::https_client_config(&extra_cas, None).map_err(|e| build(e.to_string()))?;
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .connect_timeout(options.connect_timeout)
            .read_timeout(options.read_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .http1_only()
            .build()
            .map_err(|e| build(e.to_string()))?;
        let credentials = Credentials::load(auth, http.clone())?;
        Ok(DirectTransport {
            http,
            base: base_url.trim_end_matches('/').to_owned(),
            credentials,
            read_timeout: options.read_timeout,
        })
    }

    fn map_send_error(&self, err: &reqwest::Error) -> TransportError {
        if err.is_timeout() {
            return TransportError::Timeout {
                url: self.base.clone(),
                timeout: self.read_timeout,
            };
        }
        let mut message = err.to_string();
        let mut tls = false;
        let mut source = std::error::Error::source(err);
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            tls |= is_tls_error(cause);
            source = cause.source();
        }
        let url = self.base.clone();
        if tls {
            // An untrusted or mismatched certificate does not heal by retrying.
            TransportError::Tls { url, message }
        } else {
            TransportError::Connect { url, message }
        }
    }
}

/// Whether `err` is a rustls error, directly or wrapped in (nested) `io::Error`s, which
/// `io::Error::source` skips over.
fn is_tls_error(mut err: &(dyn std::error::Error + 'static)) -> bool {
    loop {
        if err.downcast_ref::<rustls::Error>().is_some() {
            return true;
        }
        match err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => err = inner,
            None => return false,
        }
    }
}

#[async_trait::async_trait]
impl Transport for DirectTransport {
    async fn send(
        &self,
        method: Method,
        target: &str,
        body: Option<Bytes>,
        max_body: usize,
    ) -> Result<TransportResponse, TransportError> {
        if !target.starts_with('/') {
            return Err(TransportError::BadTarget(target.to_owned()));
        }
        let url = format!("{}{target}", self.base);
        let authorization = self.credentials.authorization().await?;
        let mut request = self
            .http
            .request(method, &url)
            .header(header::AUTHORIZATION, authorization)
            .header(header::ACCEPT, HeaderValue::from_static("application/json"));
        if let Some(body) = body {
            request = request
                .header(header::CONTENT_TYPE, "application/json")
                .body(body);
        }
        let mut response = request.send().await.map_err(|e| self.map_send_error(&e))?;
        let status = response.status();
        let headers = response.headers().clone();
        if declared_too_large(&headers, max_body) {
            return Err(TransportError::BodyTooLarge { limit: max_body });
        }
        let mut out = BytesMut::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| TransportError::Body(self.map_send_error(&e).to_string()))?
        {
            if out.len().saturating_add(chunk.len()) > max_body {
                return Err(TransportError::BodyTooLarge { limit: max_body });
            }
            out.extend_from_slice(&chunk);
        }
        Ok(TransportResponse {
            status,
            headers,
            body: out.freeze(),
        })
    }

    fn describe(&self) -> String {
        format!("direct {}", self.base)
    }
}
