//! Doctor checks towards Bitbucket, through the agent's own client (same CA, client certificate,
//! timeouts, no proxy): reachable and its version, credentials accepted, permissions, clock.

use http::{HeaderMap, HeaderValue, Method};
use relay_shared::allowlist::AllowList;

use super::{Check, Report, clock_skew};
use crate::config::{AuthSettings, BitbucketSettings};
use crate::credentials::Credentials;
use crate::upstream::Upstream;

/// Answers without authentication; the connectivity and version check.
const PROPERTIES: &str = "/rest/api/1.0/application-properties";
/// Needs a licensed user: proves the credentials.
const WHOAMI: &str = "/rest/api/1.0/users?limit=1";
/// What the sync engine reads; an empty answer means the account sees nothing.
const REPOS: &str = "/rest/api/1.0/repos?limit=1";
/// Needs ADMIN (and basic or OAuth 2.0 auth): group sync.
const ADMIN_GROUPS: &str = "/rest/api/1.0/admin/groups?limit=1";

/// Runs the Bitbucket checks; stops when Bitbucket cannot be reached.
pub async fn check(settings: &BitbucketSettings, rules: &AllowList, report: &mut Report) {
    let upstream = match Upstream::new(settings) {
        Ok(upstream) => upstream,
        Err(err) => {
            report.add(Check::fail(
                "Bitbucket reachable",
                err.to_string(),
                "fix [bitbucket] ca_file / client_cert_file / client_key",
            ));
            return;
        }
    };
    if !reachable(&upstream, &settings.url, report).await {
        return;
    }
    if let AuthSettings::Oauth2 { .. } = settings.auth {
        report.add(Check::pass(
            "Bitbucket credentials",
            "OAuth 2.0: secrets readable; not exercised, because Bitbucket rotates the refresh token on use and a running agent would be left with a spent one",
        ));
        return;
    }
    let authorization = match Credentials::load(&settings.auth, upstream.client()) {
        Ok(credentials) => credentials.authorization().await,
        Err(err) => Err(err),
    };
    let authorization = match authorization {
        Ok(value) => value,
        Err(err) => {
            report.add(Check::fail(
                "Bitbucket credentials",
                err.to_string(),
                "fix the [bitbucket.auth] secret named above",
            ));
            return;
        }
    };
    if !credentials_accepted(&upstream, &authorization, report).await {
        return;
    }
    permissions(&upstream, &authorization, rules, report).await;
}

async fn get(
    upstream: &Upstream,
    target: &str,
    authorization: Option<&HeaderValue>,
) -> Result<reqwest::Response, String> {
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::ACCEPT,
        HeaderValue::from_static("application/json"),
    );
    if let Some(value) = authorization {
        headers.insert(http::header::AUTHORIZATION, value.clone());
    }
    upstream
        .send(Method::GET, target, headers, reqwest::Body::from(""))
        .await
        .map_err(|e| e.to_string())
}

async fn reachable(upstream: &Upstream, base: &str, report: &mut Report) -> bool {
    let response = match get(upstream, PROPERTIES, None).await {
        Ok(response) => response,
        Err(err) => {
            report.add(Check::fail(
                "Bitbucket reachable",
                format!("{base}{PROPERTIES}: {err}"),
                "check [bitbucket] url (context path included), DNS, firewalls, and [bitbucket] ca_file for a private CA",
            ));
            return false;
        }
    };
    let status = response.status();
    let date = response
        .headers()
        .get(http::header::DATE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    if !status.is_success() {
        report.add(Check::fail(
            "Bitbucket reachable",
            format!("{base}{PROPERTIES} answered {status}"),
            "[bitbucket] url must be Bitbucket's base URL including any context path (e.g. https://host/bitbucket)",
        ));
        return false;
    }
    report.add(Check::pass(
        "Bitbucket reachable",
        format!("{base} answered {status}"),
    ));
    report.add(version(&body));
    report.add(clock_skew(
        "Bitbucket clock",
        "Bitbucket",
        date.as_deref(),
        chrono::Utc::now(),
    ));
    true
}

fn version(body: &serde_json::Value) -> Check {
    match body.get("version").and_then(|v| v.as_str()) {
        Some(version) => {
            let name = body
                .get("displayName")
                .and_then(|v| v.as_str())
                .unwrap_or("Bitbucket");
            let major = version
                .split('.')
                .next()
                .and_then(|m| m.parse::<u32>().ok())
                .unwrap_or(0);
            if major >= 7 {
                Check::pass("Bitbucket version", format!("{name} {version}"))
            } else {
                Check::warn(
                    "Bitbucket version",
                    format!(
                        "{name} {version} is older than 7.0; some API calls of the default allow-list may not exist"
                    ),
                    "upgrade Bitbucket Data Center, or remove the missing calls from the allow-list",
                )
            }
        }
        None => Check::warn(
            "Bitbucket version",
            "application-properties did not name a version: is [bitbucket] url really Bitbucket?",
            "point [bitbucket] url at Bitbucket's base URL",
        ),
    }
}

async fn credentials_accepted(
    upstream: &Upstream,
    authorization: &HeaderValue,
    report: &mut Report,
) -> bool {
    let check = match get(upstream, WHOAMI, Some(authorization)).await {
        Ok(r) if r.status().is_success() => Check::pass(
            "Bitbucket credentials",
            format!("accepted (GET {WHOAMI} answered {})", r.status()),
        ),
        Ok(r) => Check::fail(
            "Bitbucket credentials",
            format!("rejected: GET {WHOAMI} answered {}", r.status()),
            "the [bitbucket.auth] user or token is wrong, expired or lacks the LICENSED_USER permission; test it with curl from this host",
        ),
        Err(err) => Check::fail(
            "Bitbucket credentials",
            format!("GET {WHOAMI}: {err}"),
            "check Bitbucket's availability and retry",
        ),
    };
    report.add(check)
}

async fn permissions(
    upstream: &Upstream,
    authorization: &HeaderValue,
    rules: &AllowList,
    report: &mut Report,
) {
    let repos = match get(upstream, REPOS, Some(authorization)).await {
        Ok(r) if r.status().is_success() => {
            let body: serde_json::Value = r.json().await.unwrap_or_default();
            match body.get("size").and_then(|v| v.as_u64()) {
                Some(0) => Check::warn(
                    "permission: repositories",
                    "the account sees no repository",
                    "grant the account REPO_READ (or PROJECT_READ) on the projects to sync",
                ),
                _ => Check::pass(
                    "permission: repositories",
                    "the account can list repositories",
                ),
            }
        }
        Ok(r) => Check::warn(
            "permission: repositories",
            format!("GET {REPOS} answered {}", r.status()),
            "grant the account REPO_READ (or PROJECT_READ) on the projects to sync",
        ),
        Err(err) => Check::warn(
            "permission: repositories",
            err,
            "retry when Bitbucket answers",
        ),
    };
    report.add(repos);
    if !rules.check(&Method::GET, ADMIN_GROUPS).is_allowed() {
        return;
    }
    let groups = match get(upstream, ADMIN_GROUPS, Some(authorization)).await {
        Ok(r) if r.status().is_success() => Check::pass(
            "permission: admin groups",
            "group listing allowed (group sync works)",
        ),
        Ok(r) => Check::warn(
            "permission: admin groups",
            format!(
                "GET {ADMIN_GROUPS} answered {}: group sync will be degraded",
                r.status()
            ),
            "give the account the ADMIN global permission and use basic or OAuth 2.0 auth (HTTP access tokens cannot call /rest/api/1.0/admin/*), or remove the admin.* rules from the allow-list",
        ),
        Err(err) => Check::warn(
            "permission: admin groups",
            err,
            "retry when Bitbucket answers",
        ),
    };
    report.add(groups);
}
