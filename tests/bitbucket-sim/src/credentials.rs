//! The documented accounts every simulator creates, whatever the seed and profile.

use serde::Serialize;

pub const ADMIN_USER: &str = "admin";
pub const ADMIN_PASSWORD: &str = "admin-secret";
pub const NORMAL_USER: &str = "alice";
pub const NORMAL_PASSWORD: &str = "alice-secret";
/// HTTP access token (Bearer) of `admin` with read scope (REPO_READ / PROJECT_READ).
pub const READ_TOKEN: &str = "BBDC-c2ltLXJlYWQtdG9rZW4tMDAwMDAwMDAwMDAwMDAwMDAw";
/// HTTP access token (Bearer) of `admin` with write scope (REPO_WRITE / PROJECT_WRITE).
pub const WRITE_TOKEN: &str = "BBDC-c2ltLXdyaXRlLXRva2VuLTAwMDAwMDAwMDAwMDAwMDAw";
pub const OAUTH_CLIENT_ID: &str = "sim-oauth-client";
pub const OAUTH_CLIENT_SECRET: &str = "sim-oauth-secret";
pub const OAUTH_REDIRECT_URI: &str = "http://localhost/oauth/callback";

/// Scope of an HTTP access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum TokenScope {
    Read,
    Write,
}

/// An HTTP access token: a Bearer secret acting as its owner with a limited scope.
#[derive(Debug, Clone, Serialize)]
pub struct AccessToken {
    pub owner: String,
    pub token: String,
    pub scope: TokenScope,
}

/// What a test or a person needs to log in.
#[derive(Debug, Clone, Serialize)]
pub struct Credentials {
    /// System administrator, basic auth.
    pub admin_user: String,
    pub admin_password: String,
    /// A normal user who sees only some projects, basic auth.
    pub user: String,
    pub user_password: String,
    pub read_token: AccessToken,
    pub write_token: AccessToken,
    pub oauth_client_id: String,
    pub oauth_client_secret: String,
    pub oauth_redirect_uri: String,
}

impl Credentials {
    pub fn documented() -> Credentials {
        Credentials {
            admin_user: ADMIN_USER.to_owned(),
            admin_password: ADMIN_PASSWORD.to_owned(),
            user: NORMAL_USER.to_owned(),
            user_password: NORMAL_PASSWORD.to_owned(),
            read_token: AccessToken {
                owner: ADMIN_USER.to_owned(),
                token: READ_TOKEN.to_owned(),
                scope: TokenScope::Read,
            },
            write_token: AccessToken {
                owner: ADMIN_USER.to_owned(),
                token: WRITE_TOKEN.to_owned(),
                scope: TokenScope::Write,
            },
            oauth_client_id: OAUTH_CLIENT_ID.to_owned(),
            oauth_client_secret: OAUTH_CLIENT_SECRET.to_owned(),
            oauth_redirect_uri: OAUTH_REDIRECT_URI.to_owned(),
        }
    }

    /// The `--help` text block describing these accounts.
    pub fn help_text() -> String {
        format!(
            "Accounts (the same for every seed and profile):\n\
             \x20 {ADMIN_USER} / {ADMIN_PASSWORD}     system admin, basic auth, sees everything\n\
             \x20 {NORMAL_USER} / {NORMAL_PASSWORD}     normal user, sees only some projects\n\
             \x20 every generated user's password is `<username>-secret`\n\
             HTTP access tokens of {ADMIN_USER} (Authorization: Bearer ...; refused on /rest/api/1.0/admin/*):\n\
             \x20 read : {READ_TOKEN}\n\
             \x20 write: {WRITE_TOKEN}\n\
             OAuth 2.0 client: id {OAUTH_CLIENT_ID}, secret {OAUTH_CLIENT_SECRET}, redirect {OAUTH_REDIRECT_URI}\n\
             \x20 get a code:  curl -XPOST localhost:7990/sim/oauth/codes -d '{{\"user\":\"alice\"}}' -H 'content-type: application/json'\n\
             \x20 exchange it: POST /rest/oauth2/latest/token grant_type=authorization_code&code=...&client_id=...&client_secret=...&redirect_uri=...\n\
             Example: curl -u {ADMIN_USER}:{ADMIN_PASSWORD} localhost:7990/rest/api/1.0/projects"
        )
    }
}
