//! Tolerant serde models of Bitbucket Server's JSON.
//!
//! Tolerant means: unknown fields are ignored, fields that some server versions leave out
//! default (`archived` is absent before 8.0; people without a Bitbucket account carry only a
//! name and an email), and enumerations that grow between versions (`state`, activity
//! `action`) keep values they do not know instead of failing the page. Field names follow the
//! REST API (`rename_all = "camelCase"`); timestamps arrive as epoch milliseconds and are
//! [`chrono::DateTime<Utc>`](chrono::DateTime) here.
//!
//! - `code`: projects, repositories, refs, commits, application properties.
//! - `people`: users and groups.
//! - `pull_requests`: pull requests, participants, activities.
//! - `settings`: pull-request settings, default reviewers, branch restrictions, webhooks.
//! - `millis`: the epoch-millisecond (de)serialisers.

mod code;
pub mod millis;
mod people;
mod pull_requests;
mod settings;

pub use code::*;
pub use people::*;
pub use pull_requests::*;
pub use settings::*;

use serde::{Deserialize, Serialize};

/// The paged envelope `{size, limit, isLastPage, start, nextPageStart, values}`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    #[serde(default)]
    pub size: u64,
    #[serde(default)]
    pub limit: u64,
    /// Absent counts as the last page: a server that forgets it must not make us loop.
    #[serde(default = "yes")]
    pub is_last_page: bool,
    #[serde(default)]
    pub start: u64,
    #[serde(default)]
    pub next_page_start: Option<u64>,
    #[serde(default = "Vec::new")]
    pub values: Vec<T>,
}

fn yes() -> bool {
    true
}

/// A link: `{"href": ...}` (clone links also carry a `name`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct Link {
    pub href: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// `links`: `self` (the web page) and, for repositories, `clone`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct Links {
    #[serde(rename = "self")]
    pub self_: Vec<Link>,
    pub clone: Vec<Link>,
}

impl Links {
    /// The web page (`links.self[0].href`).
    pub fn web(&self) -> Option<&str> {
        self.self_.first().map(|l| l.href.as_str())
    }
}
