//! Review policy (pull-request settings, default reviewers, branch restrictions) and webhooks.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

use super::{User, millis};

/// `GET .../settings/pull-requests` (merge checks). Only the parts the engine uses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PullRequestSettings {
    /// Minimum approvals: `{enabled, count: "3"}` on 9.x, a plain integer on older servers.
    /// `None` when the check is disabled or absent.
    #[serde(deserialize_with = "count_setting")]
    pub required_approvers: Option<u32>,
    pub required_all_approvers: bool,
    pub required_all_tasks_complete: bool,
    /// Minimum successful builds, in the same two shapes.
    #[serde(deserialize_with = "count_setting")]
    pub required_successful_builds: Option<u32>,
    pub unapprove_on_update: bool,
}

impl PullRequestSettings {
    /// The approvals a merge needs from this setting (0 when none).
    pub fn required_approvals(&self) -> u32 {
        self.required_approvers.unwrap_or(0)
    }
}

/// A count as an integer, a numeric string, or `{enabled, count}` with either.
#[derive(Deserialize)]
#[serde(untagged)]
enum CountShape {
    Number(u64),
    Text(String),
    Object {
        #[serde(default = "enabled_default")]
        enabled: bool,
        #[serde(default)]
        count: Option<Box<CountShape>>,
    },
}

fn enabled_default() -> bool {
    true
}

impl CountShape {
    fn value(&self) -> Option<u32> {
        match self {
            CountShape::Number(n) => u32::try_from(*n).ok(),
            CountShape::Text(text) => text.trim().parse().ok(),
            CountShape::Object { enabled: false, .. } => None,
            CountShape::Object { count, .. } => count.as_deref().and_then(CountShape::value),
        }
    }
}

fn count_setting<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    let shape = Option::<CountShape>::deserialize(d).map_err(|_| {
        serde::de::Error::custom("expected an integer, a numeric string or {enabled, count}")
    })?;
    Ok(shape.as_ref().and_then(CountShape::value))
}

/// `{id, name}` of a matcher type (`BRANCH`, `PATTERN`, `MODEL_BRANCH`, `ANY_REF`...).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct MatcherType {
    pub id: String,
    pub name: String,
}

/// Which refs a rule applies to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RefMatcher {
    pub id: String,
    pub display_id: String,
    pub active: bool,
    #[serde(rename = "type")]
    pub kind: MatcherType,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ConditionScope {
    /// `REPOSITORY` or `PROJECT`.
    #[serde(rename = "type")]
    pub kind: String,
    pub resource_id: u64,
}

/// A default-reviewers condition (a bare JSON array on the server, not paged).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DefaultReviewerCondition {
    pub id: u64,
    pub scope: ConditionScope,
    pub source_ref_matcher: RefMatcher,
    pub target_ref_matcher: RefMatcher,
    pub reviewers: Vec<User>,
    pub required_approvals: u32,
}

/// A branch restriction (`read-only`, `no-deletes`, `fast-forward-only`, `pull-request-only`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct BranchRestriction {
    pub id: u64,
    #[serde(rename = "type")]
    pub kind: String,
    pub matcher: RefMatcher,
    /// Users exempt from the restriction.
    pub users: Vec<User>,
    /// Groups exempt from the restriction.
    pub groups: Vec<String>,
}

/// A repository webhook. `configuration` holds e.g. `secret` (write-only on real servers).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Webhook {
    pub id: u64,
    pub name: String,
    #[serde(with = "millis::option")]
    pub created_date: Option<DateTime<Utc>>,
    #[serde(with = "millis::option")]
    pub updated_date: Option<DateTime<Utc>>,
    pub events: Vec<String>,
    pub configuration: BTreeMap<String, serde_json::Value>,
    pub url: String,
    pub active: bool,
    pub scope_type: Option<String>,
    pub ssl_verification_required: bool,
}

/// The body of `POST .../webhooks`. `Debug` shows `configuration`'s keys only (the secret).
#[derive(Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewWebhook {
    pub name: String,
    pub url: String,
    /// Event keys, e.g. `repo:refs_changed`, `pr:opened`.
    pub events: Vec<String>,
    pub active: bool,
    /// `{"secret": ...}` makes Bitbucket sign deliveries (`X-Hub-Signature`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub configuration: BTreeMap<String, String>,
}

impl std::fmt::Debug for NewWebhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewWebhook")
            .field("name", &self.name)
            .field("url", &self.url)
            .field("events", &self.events)
            .field("active", &self.active)
            .field(
                "configuration",
                &self.configuration.keys().collect::<Vec<_>>(),
            )
            .finish()
    }
}
