//! "Test all configurations": per account, is it usable, and if not, what to fix.
//!
//! Checks, in order: an agent is connected (relay accounts), Bitbucket answers and which
//! version, the credentials are accepted, projects are visible (and the project filter names
//! existing projects), and admin access for group sync. Each check is pass / warn / fail with
//! a fix; the account's verdict is its worst check.

use serde::Serialize;

use crate::accounts::AccountKind;
use crate::bitbucket::ErrorKind;
use crate::sessions::Sessions;
use crate::sync::AccountRuntime;

/// Outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Warn,
    Fail,
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub status: Status,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

/// One account's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct AccountVerdict {
    pub alias: String,
    pub kind: &'static str,
    pub verdict: Status,
    pub checks: Vec<Check>,
}

fn check(
    name: &'static str,
    status: Status,
    detail: impl Into<String>,
    fix: Option<&str>,
) -> Check {
    Check {
        name,
        status,
        detail: detail.into(),
        fix: fix.map(str::to_owned),
    }
}

/// Runs every check for one account.
pub async fn test_account(rt: &AccountRuntime, sessions: &Sessions) -> AccountVerdict {
    let mut checks = Vec::new();
    let account = &rt.account;
    if account.kind == AccountKind::ServerRelay {
        let connected = sessions.connected(&account.tenant, &account.alias);
        checks.push(if connected > 0 {
            check("agent", Status::Pass, format!("{connected} agent(s) connected"), None)
        } else {
            check("agent", Status::Fail, "no agent is connected for this alias",
                Some("start relay-agent with a certificate registered for this tenant and alias (relay-broker pki issue-agent), and check its logs (relay-agent doctor)"))
        });
    }
    if checks.iter().all(|c| c.status != Status::Fail) {
        bitbucket_checks(rt, &mut checks).await;
    }
    let verdict = checks
        .iter()
        .map(|c| c.status)
        .max()
        .unwrap_or(Status::Pass);
    AccountVerdict {
        alias: account.alias.clone(),
        kind: account.kind.as_str(),
        verdict,
        checks,
    }
}

async fn bitbucket_checks(rt: &AccountRuntime, checks: &mut Vec<Check>) {
    match rt.client.application_properties().await {
        Ok(props) => checks.push(check(
            "reachable",
            Status::Pass,
            format!("Bitbucket {} {}", props.display_name, props.version),
            None,
        )),
        Err(err) => {
            checks.push(check(
                "reachable",
                Status::Fail,
                err.to_string(),
                Some("check the Bitbucket URL (agent or account config) and the network path"),
            ));
            return;
        }
    }
    match rt.client.users().await {
        Ok(users) => checks.push(check(
            "credentials",
            Status::Pass,
            format!("accepted; {} users visible", users.len()),
            None,
        )),
        Err(err) => {
            let fix = match err.kind {
                ErrorKind::Unauthorized { .. } => {
                    "the credentials were refused: renew the password/token (or OAuth refresh token) where they are configured"
                }
                _ => "see the error; retry once Bitbucket answers",
            };
            checks.push(check(
                "credentials",
                Status::Fail,
                err.to_string(),
                Some(fix),
            ));
            return;
        }
    }
    match rt.client.projects().await {
        Ok(projects) => {
            let visible: Vec<&str> = projects.iter().map(|p| p.key.as_str()).collect();
            let missing: Vec<&String> = rt
                .account
                .projects
                .iter()
                .flatten()
                .filter(|k| !visible.iter().any(|v| v.eq_ignore_ascii_case(k)))
                .collect();
            let included = projects
                .iter()
                .filter(|p| rt.includes_project(&p.key))
                .count();
            checks.push(match (included, missing.is_empty()) {
                (0, _) => check("projects", Status::Warn, "no project visible after the project filter", Some("grant the account read access to the projects, or fix the `projects` filter")),
                (n, false) => check("projects", Status::Warn, format!("{n} projects; filter names unknown projects {missing:?}"), Some("fix the `projects` filter or grant access")),
                (n, true) => check("projects", Status::Pass, format!("{n} projects visible"), None),
            });
        }
        Err(err) => checks.push(check("projects", Status::Fail, err.to_string(), None)),
    }
    match rt.client.groups().await {
        Ok(groups) => checks.push(check("groups", Status::Pass, format!("admin access: {} groups", groups.len()), None)),
        Err(err) if matches!(err.kind, ErrorKind::Forbidden { .. } | ErrorKind::Unauthorized { .. }) => checks.push(check(
            "groups",
            Status::Warn,
            format!("no admin access to groups: {}", err.kind),
            Some("group-based ownership needs an admin user's basic auth or OAuth 2.0 (HTTP access tokens are refused on /admin)"),
        )),
        Err(err) => checks.push(check("groups", Status::Warn, err.to_string(), None)),
    }
}
