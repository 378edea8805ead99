//! Bitbucket credentials: basic, bearer (HTTP access token) or OAuth 2.0.
//!
//! Used by the agent (the credentials never leave it) and by the broker's direct accounts
//! (`server-direct`), so the logic lives here once.
//!
//! The agent sets `Authorization` itself on every forwarded call; whatever the broker sent is
//! dropped first. OAuth 2.0 (Bitbucket Data Center offers authorization code + refresh tokens,
//! not client credentials) refreshes shortly before expiry; Bitbucket rotates the refresh token
//! on every use, so the new one is persisted atomically (mode 0600) before the access token is
//! used: a crash never leaves the agent holding only a spent refresh token.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::config::{ConfigErrors, resolve_path};
use crate::secret::{Secret, SecretError, SecretSource};
use base64::Engine;
use http::HeaderValue;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;
use tracing::info;

/// Refresh when less than this is left on the access token.
const REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// `auth = { kind = "basic" | "bearer" | "oauth2", ... }` as written in config.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "lowercase")]
pub enum RawAuth {
    /// Username plus password or personal access token.
    Basic {
        username: String,
        password: SecretSource,
    },
    /// HTTP access token (project/repo/personal) sent as `Authorization: Bearer`.
    Bearer { token: SecretSource },
    /// OAuth 2.0 with a refresh token (Bitbucket DC rotates refresh tokens on every use).
    Oauth2 {
        token_url: String,
        client_id: String,
        client_secret: SecretSource,
        /// The initial refresh token; used only until `state_file` holds a newer one.
        refresh_token: SecretSource,
        /// Where the rotated refresh token is persisted (atomically, mode 0600).
        state_file: PathBuf,
    },
}

/// How to authenticate to Bitbucket (validated).
#[derive(Debug, Clone)]
pub enum AuthSettings {
    Basic {
        username: String,
        password: SecretSource,
    },
    Bearer {
        token: SecretSource,
    },
    Oauth2 {
        token_url: String,
        client_id: String,
        client_secret: SecretSource,
        refresh_token: SecretSource,
        state_file: PathBuf,
    },
}

impl AuthSettings {
    /// Validates `raw`, resolving file paths against `base`; errors go under `field` (e.g.
    /// `bitbucket.auth`).
    pub fn from_raw(
        raw: &RawAuth,
        base: &Path,
        errors: &mut ConfigErrors,
        field: &str,
    ) -> AuthSettings {
        let mut secret = |name: &str, source: &SecretSource| {
            if let Err(err) = source.validate() {
                errors.push(format!("{field}.{name}"), err);
            }
            source.relative_to(base)
        };
        match raw {
            RawAuth::Basic { username, password } => {
                let password = secret("password", password);
                if username.is_empty() {
                    errors.push(format!("{field}.username"), "must not be empty");
                }
                AuthSettings::Basic {
                    username: username.clone(),
                    password,
                }
            }
            RawAuth::Bearer { token } => AuthSettings::Bearer {
                token: secret("token", token),
            },
            RawAuth::Oauth2 {
                token_url,
                client_id,
                client_secret,
                refresh_token,
                state_file,
            } => {
                let client_secret = secret("client_secret", client_secret);
                let refresh_token = secret("refresh_token", refresh_token);
                if reqwest::Url::parse(token_url).map(|u| u.scheme().starts_with("http"))
                    != Ok(true)
                {
                    errors.push(
                        format!("{field}.token_url"),
                        format!("{token_url:?} is not an http(s) URL"),
                    );
                }
                AuthSettings::Oauth2 {
                    token_url: token_url.clone(),
                    client_id: client_id.clone(),
                    client_secret,
                    refresh_token,
                    state_file: resolve_path(base, state_file),
                }
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error("reading {what}: {source}")]
    Secret {
        what: &'static str,
        source: SecretError,
    },
    #[error("the credential contains characters not allowed in an HTTP header")]
    NotHeaderSafe,
    #[error("OAuth token refresh at {url} failed: {message}")]
    Refresh { url: String, message: String },
    #[error("persisting the rotated refresh token to {path}: {source}")]
    Persist {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// On-disk state of the OAuth flow (the latest refresh token).
#[derive(Serialize, Deserialize)]
struct OAuthState {
    refresh_token: String,
    updated_at: String,
}

struct OAuthTokens {
    access: Option<(Secret, Instant)>,
    refresh: Secret,
}

struct OAuth {
    token_url: String,
    client_id: String,
    client_secret: Secret,
    state_file: PathBuf,
    tokens: Mutex<OAuthTokens>,
    http: reqwest::Client,
}

enum Kind {
    Static(HeaderValue),
    OAuth(Box<OAuth>),
}

/// Produces the `Authorization` header for Bitbucket. `Debug` shows only the kind.
pub struct Credentials {
    kind: Kind,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.kind {
            Kind::Static(_) => "static",
            Kind::OAuth(_) => "oauth2",
        };
        f.debug_struct("Credentials")
            .field("kind", &kind)
            .finish_non_exhaustive()
    }
}

fn read(what: &'static str, source: &SecretSource) -> Result<Secret, CredentialError> {
    source
        .read()
        .map_err(|source| CredentialError::Secret { what, source })
}

fn sensitive(value: String) -> Result<HeaderValue, CredentialError> {
    let mut header = HeaderValue::try_from(value).map_err(|_| CredentialError::NotHeaderSafe)?;
    header.set_sensitive(true);
    Ok(header)
}

impl Credentials {
    /// Reads the configured secrets. `http` is used for OAuth token refreshes.
    pub fn load(
        settings: &AuthSettings,
        http: reqwest::Client,
    ) -> Result<Credentials, CredentialError> {
        let kind = match settings {
            AuthSettings::Basic { username, password } => {
                let password = read("the Bitbucket password", password)?;
                let raw = format!("{username}:{}", password.expose());
                let encoded = base64::engine::general_purpose::STANDARD.encode(raw);
                Kind::Static(sensitive(format!("Basic {encoded}"))?)
            }
            AuthSettings::Bearer { token } => {
                let token = read("the Bitbucket access token", token)?;
                Kind::Static(sensitive(format!("Bearer {}", token.expose()))?)
            }
            AuthSettings::Oauth2 {
                token_url,
                client_id,
                client_secret,
                refresh_token,
                state_file,
            } => {
                let persisted = std::fs::read(state_file)
                    .ok()
                    .and_then(|bytes| serde_json::from_slice::<OAuthState>(&bytes).ok())
                    .map(|state| Secret::new(state.refresh_token));
                let refresh = match persisted {
                    Some(token) => token,
                    None => read("the OAuth refresh token", refresh_token)?,
                };
                Kind::OAuth(Box::new(OAuth {
                    token_url: token_url.clone(),
                    client_id: client_id.clone(),
                    client_secret: read("the OAuth client secret", client_secret)?,
                    state_file: state_file.clone(),
                    tokens: Mutex::new(OAuthTokens {
                        access: None,
                        refresh,
                    }),
                    http,
                }))
            }
        };
        Ok(Credentials { kind })
    }

    /// The `Authorization` header value for the next call (refreshing OAuth tokens if due).
    pub async fn authorization(&self) -> Result<HeaderValue, CredentialError> {
        match &self.kind {
            Kind::Static(value) => Ok(value.clone()),
            Kind::OAuth(oauth) => oauth.authorization().await,
        }
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    refresh_token: Option<String>,
}

impl OAuth {
    async fn authorization(&self) -> Result<HeaderValue, CredentialError> {
        // One refresh at a time: concurrent callers wait and reuse the result.
        let mut tokens = self.tokens.lock().await;
        if let Some((access, expires)) = &tokens.access
            && expires.saturating_duration_since(Instant::now()) > REFRESH_MARGIN
        {
            return sensitive(format!("Bearer {}", access.expose()));
        }
        let response = self.refresh(&tokens.refresh).await?;
        if let Some(new_refresh) = response.refresh_token {
            let state = OAuthState {
                refresh_token: new_refresh.clone(),
                updated_at: chrono::Utc::now().to_rfc3339(),
            };
            let bytes = serde_json::to_vec(&state).unwrap_or_default();
            crate::atomic_file::write_private(&self.state_file, &bytes).map_err(|source| {
                CredentialError::Persist {
                    path: self.state_file.clone(),
                    source,
                }
            })?;
            tokens.refresh = Secret::new(new_refresh);
        }
        let lifetime = Duration::from_secs(response.expires_in.unwrap_or(3600));
        info!(
            expires_in_s = lifetime.as_secs(),
            "OAuth access token refreshed"
        );
        let header = sensitive(format!("Bearer {}", response.access_token))?;
        tokens.access = Some((
            Secret::new(response.access_token),
            Instant::now() + lifetime,
        ));
        Ok(header)
    }

    async fn refresh(&self, refresh: &Secret) -> Result<TokenResponse, CredentialError> {
        let fail = |message: String| CredentialError::Refresh {
            url: self.token_url.clone(),
            message,
        };
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.expose()),
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.client_secret.expose()),
        ];
        let response = self
            .http
            .post(&self.token_url)
            .form(&form)
            .send()
            .await
            .map_err(|e| fail(format!("request failed: {}", e.without_url())))?;
        let status = response.status();
        if !status.is_success() {
            // The body of a token error names the OAuth error code; it holds no secret.
            let body = response.text().await.unwrap_or_default();
            let excerpt: String = body.chars().take(200).collect();
            return Err(fail(format!("HTTP {status}: {excerpt}")));
        }
        response
            .json::<TokenResponse>()
            .await
            .map_err(|e| fail(format!("unexpected answer: {}", e.without_url())))
    }
}
