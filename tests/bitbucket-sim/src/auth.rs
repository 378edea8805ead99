//! Authentication: basic (password or token as password), HTTP access tokens as Bearer, and
//! OAuth 2.0 access tokens; plus the OAuth store (codes, expiring access tokens, rotating
//! refresh tokens).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::HeaderMap;
use serde::Serialize;
use tokio::time::Instant;

use crate::api::errors::ApiError;
use crate::credentials::{Credentials, TokenScope};
use crate::generate::World;
use crate::seed::derive;

/// How the caller authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum AuthMethod {
    Anonymous,
    Basic,
    /// An HTTP access token sent as `Authorization: Bearer`.
    AccessToken(TokenScope),
    OAuth,
}

/// Who is calling, attached to each request by the gate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// User id; `None` for anonymous callers.
    pub user: Option<u32>,
    pub username: Option<String>,
    pub admin: bool,
    pub method: AuthMethod,
}

impl Caller {
    pub fn anonymous() -> Caller {
        Caller {
            user: None,
            username: None,
            admin: false,
            method: AuthMethod::Anonymous,
        }
    }

    /// The user id, or 401 for anonymous callers.
    pub fn require(&self) -> Result<u32, ApiError> {
        self.user.ok_or_else(ApiError::anonymous)
    }

    /// The caller may only read (a read-scoped access token).
    pub fn read_only(&self) -> bool {
        self.method == AuthMethod::AccessToken(TokenScope::Read)
    }
}

/// Resolves the `Authorization` header to a caller; bad credentials are a 401.
pub fn authenticate(
    headers: &HeaderMap,
    world: &World,
    credentials: &Credentials,
    oauth: &OAuthStore,
) -> Result<Caller, ApiError> {
    let Some(value) = headers.get(http::header::AUTHORIZATION) else {
        return Ok(Caller::anonymous());
    };
    let value = value.to_str().map_err(|_| ApiError::unauthenticated())?;
    let (scheme, rest) = value
        .split_once(' ')
        .ok_or_else(ApiError::unauthenticated)?;
    let caller = |name: &str, method: AuthMethod| -> Result<Caller, ApiError> {
        let user = world
            .user_index(name)
            .and_then(|i| world.users.get(i))
            .filter(|u| u.active)
            .ok_or_else(ApiError::unauthenticated)?;
        Ok(Caller {
            user: Some(user.id),
            username: Some(user.name.clone()),
            admin: user.admin,
            method,
        })
    };
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = STANDARD
            .decode(rest.trim())
            .map_err(|_| ApiError::unauthenticated())?;
        let text = String::from_utf8(decoded).map_err(|_| ApiError::unauthenticated())?;
        let (name, secret) = text.split_once(':').ok_or_else(ApiError::unauthenticated)?;
        // Bitbucket accepts an HTTP access token in place of the password.
        for token in [&credentials.read_token, &credentials.write_token] {
            if token.token == secret && token.owner.eq_ignore_ascii_case(name) {
                return caller(name, AuthMethod::AccessToken(token.scope));
            }
        }
        let user = world.user_index(name).and_then(|i| world.users.get(i));
        return match user {
            Some(u) if u.password.as_deref() == Some(secret) => caller(name, AuthMethod::Basic),
            _ => Err(ApiError::unauthenticated()),
        };
    }
    if scheme.eq_ignore_ascii_case("bearer") {
        let token = rest.trim();
        for t in [&credentials.read_token, &credentials.write_token] {
            if t.token == token {
                return caller(&t.owner, AuthMethod::AccessToken(t.scope));
            }
        }
        if let Some(user) = oauth.user_of_access_token(token) {
            return caller(&user, AuthMethod::OAuth);
        }
    }
    Err(ApiError::unauthenticated())
}

#[derive(Debug, Clone)]
struct AccessGrant {
    user: String,
    expires: Instant,
}

#[derive(Debug, Default)]
struct OAuthState {
    counter: u64,
    codes: HashMap<String, String>,
    access: HashMap<String, AccessGrant>,
    refresh: HashMap<String, String>,
}

/// A token response of `POST /rest/oauth2/latest/token`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    pub refresh_token: String,
    pub scope: &'static str,
}

/// OAuth 2.0 authorisation codes and tokens.
#[derive(Debug)]
pub struct OAuthStore {
    seed: u64,
    ttl: Duration,
    state: Mutex<OAuthState>,
}

impl OAuthStore {
    pub fn new(seed: u64, ttl: Duration) -> OAuthStore {
        OAuthStore {
            seed,
            ttl,
            state: Mutex::new(OAuthState::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, OAuthState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn mint(&self, state: &mut OAuthState, prefix: &str) -> String {
        state.counter += 1;
        let a = derive(self.seed, prefix, state.counter);
        let b = derive(a, prefix, state.counter);
        format!("{prefix}{a:016x}{b:016x}")
    }

    /// Issues a one-time authorisation code for `user` (what the consent screen would do).
    pub fn issue_code(&self, user: &str) -> String {
        let mut s = self.lock();
        let code = self.mint(&mut s, "code-");
        s.codes.insert(code.clone(), user.to_owned());
        code
    }

    fn issue_tokens(&self, s: &mut OAuthState, user: String) -> TokenResponse {
        let access = self.mint(s, "oat-");
        let refresh = self.mint(s, "ort-");
        s.access.insert(
            access.clone(),
            AccessGrant {
                user: user.clone(),
                expires: Instant::now() + self.ttl,
            },
        );
        s.refresh.insert(refresh.clone(), user);
        TokenResponse {
            access_token: access,
            token_type: "bearer",
            expires_in: self.ttl.as_secs(),
            refresh_token: refresh,
            scope: "REPO_READ PUBLIC_REPOS",
        }
    }

    /// Exchanges a code (once) for tokens.
    pub fn exchange_code(&self, code: &str) -> Option<TokenResponse> {
        let mut s = self.lock();
        let user = s.codes.remove(code)?;
        Some(self.issue_tokens(&mut s, user))
    }

    /// Exchanges a refresh token for new tokens. The refresh token rotates: the old one stops
    /// working, as on real servers.
    pub fn refresh(&self, refresh_token: &str) -> Option<TokenResponse> {
        let mut s = self.lock();
        let user = s.refresh.remove(refresh_token)?;
        Some(self.issue_tokens(&mut s, user))
    }

    fn user_of_access_token(&self, token: &str) -> Option<String> {
        let s = self.lock();
        s.access
            .get(token)
            .filter(|g| g.expires > Instant::now())
            .map(|g| g.user.clone())
    }

    /// Expires every access token now (tests use this instead of waiting).
    pub fn expire_access_tokens(&self) {
        let now = Instant::now();
        for grant in self.lock().access.values_mut() {
            grant.expires = now;
        }
    }
}
