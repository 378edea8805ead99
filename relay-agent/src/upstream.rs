//! The HTTP client towards Bitbucket.
//!
//! It forwards exactly the canonical target the allow-list approved: the URL is built by
//! appending that target to the configured base URL, and if the URL library would change a
//! single byte of it (normalising dot segments, re-encoding), the call is refused instead.
//! Redirects are never followed (a 3xx goes back to the broker as it is), environment proxies
//! are ignored (Bitbucket is on the local network; `HTTPS_PROXY` is for the broker link).

use std::time::Duration;

use http::{HeaderMap, Method};
use relay_shared::tls;

use crate::config::BitbucketSettings;

#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("building the Bitbucket HTTP client: {0}")]
    Build(String),
    #[error(
        "the URL library would alter the approved target {target:?} (got {got:?}); refusing to forward"
    )]
    Altered { target: String, got: String },
    #[error("Bitbucket did not answer within {0:?}")]
    Timeout(Duration),
    #[error("cannot reach Bitbucket: {0}")]
    Connect(String),
}

/// Client and base URL for Bitbucket.
#[derive(Debug, Clone)]
pub struct Upstream {
    client: reqwest::Client,
    base: String,
    base_path: String,
    read_timeout: Duration,
}

impl Upstream {
    pub fn new(settings: &BitbucketSettings) -> Result<Upstream, UpstreamError> {
        let build = |e: String| UpstreamError::Build(e);
        let extra_cas = match &settings.ca_file {
            Some(path) => tls::load_certs(path).map_err(|e| build(e.to_string()))?,
            None => Vec::new(),
        };
        let client_auth = match (&settings.client_cert_file, &settings.client_key) {
            (Some(cert), Some(key)) => {
                let chain = tls::load_certs(cert).map_err(|e| build(e.to_string()))?;
                let pem = key.read_bytes().map_err(|e| build(e.to_string()))?;
                let key = tls::private_key_from_pem(&pem, &key.describe())
                    .map_err(|e| build(e.to_string()))?;
                Some((chain, key))
            }
            _ => None,
        };
        let tls =
            tls::https_client_config(&extra_cas, client_auth).map_err(|e| build(e.to_string()))?;
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .connect_timeout(settings.connect_timeout)
            .read_timeout(settings.read_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .tcp_nodelay(true)
            .pool_max_idle_per_host(512)
            .http1_only()
            .build()
            .map_err(|e| build(e.to_string()))?;
        let base = settings.url.trim_end_matches('/').to_owned();
        let base_path = reqwest::Url::parse(&base)
            .map_err(|e| build(format!("{base}: {e}")))?
            .path()
            .trim_end_matches('/')
            .to_owned();
        Ok(Upstream {
            client,
            base,
            base_path,
            read_timeout: settings.read_timeout,
        })
    }

    /// The underlying client (shared with the OAuth token refresher).
    pub fn client(&self) -> reqwest::Client {
        self.client.clone()
    }

    /// Sends `method target` with `headers` and `body`; `target` is the canonical origin-form.
    pub async fn send(
        &self,
        method: Method,
        target: &str,
        headers: HeaderMap,
        body: reqwest::Body,
    ) -> Result<reqwest::Response, UpstreamError> {
        let url = self.url_for(target)?;
        self.client
            .request(method, url)
            .headers(headers)
            .body(body)
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    UpstreamError::Timeout(self.read_timeout)
                } else {
                    UpstreamError::Connect(error_chain(&e))
                }
            })
    }

    /// Base URL + target, verified to be byte-identical to what was approved.
    fn url_for(&self, target: &str) -> Result<reqwest::Url, UpstreamError> {
        let text = format!("{}{target}", self.base);
        let url = reqwest::Url::parse(&text).map_err(|e| UpstreamError::Altered {
            target: target.to_owned(),
            got: e.to_string(),
        })?;
        let mut got = url.path().to_owned();
        if let Some(query) = url.query() {
            got.push('?');
            got.push_str(query);
        }
        let expected = format!("{}{target}", self.base_path);
        if got != expected {
            return Err(UpstreamError::Altered {
                target: target.to_owned(),
                got,
            });
        }
        Ok(url)
    }
}

fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
