//! Users and groups.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Links, millis};

/// A Bitbucket user (`RestApplicationUser`; the `/admin` endpoints add directory details).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct User {
    /// The username (login).
    pub name: String,
    /// Hidden from callers without permission on some servers.
    pub email_address: Option<String>,
    pub id: u64,
    pub display_name: String,
    pub active: bool,
    pub slug: String,
    /// `NORMAL` or `SERVICE`.
    #[serde(rename = "type")]
    pub kind: String,
    pub directory_name: Option<String>,
    #[serde(with = "millis::option")]
    pub last_authentication_timestamp: Option<DateTime<Utc>>,
    pub links: Links,
}

/// `RestDetailedGroup` of `/admin/groups`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct Group {
    pub name: String,
    pub deletable: bool,
}
