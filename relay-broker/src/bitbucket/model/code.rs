//! Projects, repositories, refs, commits and the server's version.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Links, millis};

/// `GET /rest/api/1.0/application-properties`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ApplicationProperties {
    pub version: String,
    pub build_number: String,
    pub build_date: String,
    pub display_name: String,
}

impl ApplicationProperties {
    /// `(major, minor)` of `version` ("8.19.1" → (8, 19)); `None` if unparsable.
    pub fn major_minor(&self) -> Option<(u32, u32)> {
        let mut parts = self.version.split('.');
        let major = parts.next()?.trim().parse().ok()?;
        let minor = parts
            .next()
            .and_then(|m| m.trim().parse().ok())
            .unwrap_or(0);
        Some((major, minor))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Project {
    pub key: String,
    pub id: u64,
    pub name: String,
    pub description: Option<String>,
    pub public: bool,
    /// `NORMAL` or `PERSONAL` (a user's own repositories, key `~USER`).
    #[serde(rename = "type")]
    pub kind: String,
    pub links: Links,
}

impl Project {
    pub fn is_personal(&self) -> bool {
        self.kind == "PERSONAL" || self.key.starts_with('~')
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Repository {
    pub slug: String,
    pub id: u64,
    pub name: String,
    pub description: Option<String>,
    pub project: Project,
    /// Absent on servers before 8.0: not archived.
    pub archived: bool,
    pub public: bool,
    pub forkable: bool,
    /// `AVAILABLE`, `INITIALISING`, `INITIALISATION_FAILED`, ...
    pub state: String,
    pub scm_id: String,
    pub links: Links,
}

impl Repository {
    /// The repository's web page (`.../browse`).
    pub fn web_url(&self) -> Option<&str> {
        self.links.web()
    }

    /// The repository's web base, without the trailing `/browse`.
    pub fn web_base(&self) -> Option<&str> {
        let web = self.web_url()?;
        Some(web.strip_suffix("/browse").unwrap_or(web))
    }

    /// The web page of one commit.
    pub fn commit_url(&self, commit_id: &str) -> Option<String> {
        Some(format!("{}/commits/{commit_id}", self.web_base()?))
    }

    /// The web page of a tag (the file browser at that tag).
    pub fn tag_url(&self, tag: &str) -> Option<String> {
        Some(format!(
            "{}/browse?at=refs%2Ftags%2F{}",
            self.web_base()?,
            encode_query(tag)
        ))
    }
}

fn encode_query(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A branch (`/default-branch`, `/branches`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Branch {
    /// `refs/heads/main`.
    pub id: String,
    /// `main`.
    pub display_id: String,
    pub latest_commit: String,
    pub is_default: bool,
}

/// A tag; `hash` is the tag object of an annotated tag.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Tag {
    pub id: String,
    pub display_id: String,
    /// The commit the tag points at.
    pub latest_commit: String,
    pub hash: Option<String>,
}

/// An author or committer: a Bitbucket user (with `slug`, `id`...) or just a name and email.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Person {
    pub name: String,
    pub email_address: Option<String>,
    pub display_name: Option<String>,
    /// Present when the email belongs to a Bitbucket user.
    pub slug: Option<String>,
    pub id: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CommitRef {
    pub id: String,
    pub display_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Commit {
    pub id: String,
    pub display_id: String,
    pub author: Person,
    #[serde(with = "millis")]
    pub author_timestamp: DateTime<Utc>,
    pub committer: Person,
    #[serde(with = "millis")]
    pub committer_timestamp: DateTime<Utc>,
    pub message: String,
    pub parents: Vec<CommitRef>,
}

impl Default for Commit {
    fn default() -> Self {
        Commit {
            id: String::new(),
            display_id: String::new(),
            author: Person::default(),
            author_timestamp: millis::epoch(),
            committer: Person::default(),
            committer_timestamp: millis::epoch(),
            message: String::new(),
            parents: Vec::new(),
        }
    }
}

impl Commit {
    pub fn is_merge(&self) -> bool {
        self.parents.len() > 1
    }
}
