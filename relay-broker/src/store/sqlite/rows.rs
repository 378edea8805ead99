//! Between SQL rows and records: timestamps as epoch milliseconds, counts as `INTEGER`, JSON as
//! text, and the error mapping every query uses.

use std::fmt::Display;

use chrono::{DateTime, Utc};

use crate::store::{
    CommitRecord, MAX_MESSAGE_BYTES, ProjectRecord, ReleaseRecord, RepoSummary, StoreError,
    UserRecord,
};

/// Rows per multi-row `INSERT`: well under SQLite's 32,766 and PostgreSQL's 65,535 bind
/// parameters at a dozen columns, and large enough that the statement count stays small.
pub(super) const BATCH_ROWS: usize = 500;

/// Maps a database error to [`StoreError::Database`] naming the operation and key.
pub(super) fn db<'k, K: Display + ?Sized>(
    op: &'static str,
    key: &'k K,
) -> impl FnOnce(sqlx::Error) -> StoreError + 'k {
    move |source| StoreError::Database {
        op,
        key: key.to_string(),
        source,
    }
}

/// Maps a conversion failure to [`StoreError::Corrupt`].
pub(super) fn corrupt<'k, K: Display + ?Sized>(
    op: &'static str,
    key: &'k K,
) -> impl FnOnce(String) -> StoreError + 'k {
    move |reason| StoreError::Corrupt {
        op,
        key: key.to_string(),
        reason,
    }
}

pub(super) fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

pub(super) fn ms(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

pub(super) fn at(ms: i64) -> Result<DateTime<Utc>, String> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| format!("timestamp {ms} ms out of range"))
}

pub(super) fn at_opt(ms: Option<i64>) -> Result<Option<DateTime<Utc>>, String> {
    ms.map(at).transpose()
}

pub(super) fn count(n: i64) -> Result<u64, String> {
    u64::try_from(n).map_err(|_| format!("negative count {n}"))
}

pub(super) fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The message as stored: at most [`MAX_MESSAGE_BYTES`], cut at a character boundary.
pub(super) fn capped(message: &str) -> &str {
    &message[..message.floor_char_boundary(MAX_MESSAGE_BYTES)]
}

/// Lower-cased, trimmed email; `None` when absent or blank.
pub(super) fn email_key(email: Option<&str>) -> Option<String> {
    email
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(str::to_lowercase)
}

/// How contributors are grouped: the email key, else the lower-cased name.
pub(super) fn author_key(commit: &CommitRecord) -> String {
    email_key(commit.author_email.as_deref())
        .unwrap_or_else(|| commit.author_name.trim().to_lowercase())
}

pub(super) fn json_text(value: &serde_json::Value) -> String {
    value.to_string()
}

pub(super) fn json_value(text: Option<&str>) -> Result<serde_json::Value, String> {
    match text {
        None => Ok(serde_json::Value::Null),
        Some(text) => serde_json::from_str(text).map_err(|e| format!("bad JSON: {e}")),
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct ProjectRow {
    pub alias: String,
    pub key: String,
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    pub public: bool,
    pub personal: bool,
    pub link: Option<String>,
}

impl ProjectRow {
    pub fn into_record(self) -> (String, ProjectRecord) {
        let record = ProjectRecord {
            key: self.key,
            id: self.id,
            name: self.name,
            description: self.description,
            public: self.public,
            personal: self.personal,
            link: self.link,
        };
        (self.alias, record)
    }
}

/// The columns of [`RepoRow`], for `SELECT` (a macro so queries stay `&'static str`).
macro_rules! repo_columns {
    () => {
        "alias, project, slug, id, name, link, public, archived, default_branch, head, \
         top_language, file_count, required_approvals, code_synced_at"
    };
}
pub(super) use repo_columns;

#[derive(sqlx::FromRow)]
pub(super) struct RepoRow {
    pub alias: String,
    pub project: String,
    pub slug: String,
    pub id: i64,
    pub name: String,
    pub link: Option<String>,
    pub public: bool,
    pub archived: bool,
    pub default_branch: Option<String>,
    pub head: Option<String>,
    pub top_language: Option<String>,
    pub file_count: Option<i64>,
    pub required_approvals: Option<i64>,
    pub code_synced_at: Option<i64>,
}

impl RepoRow {
    pub fn into_summary(self) -> Result<RepoSummary, String> {
        let required_approvals = self
            .required_approvals
            .map(|n| u32::try_from(n).map_err(|_| format!("required approvals {n}")))
            .transpose()?;
        Ok(RepoSummary {
            alias: self.alias,
            project: self.project,
            slug: self.slug,
            id: self.id,
            name: self.name,
            link: self.link,
            public: self.public,
            archived: self.archived,
            default_branch: self.default_branch,
            head: self.head,
            top_language: self.top_language,
            file_count: self.file_count.map(count).transpose()?,
            required_approvals,
            code_synced_at: at_opt(self.code_synced_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct CommitRow {
    pub id: String,
    pub author_name: String,
    pub author_email: Option<String>,
    pub author_at: i64,
    pub committer_at: i64,
    pub message: String,
    pub link: Option<String>,
}

impl CommitRow {
    pub fn into_record(self) -> Result<CommitRecord, String> {
        Ok(CommitRecord {
            id: self.id,
            author_name: self.author_name,
            author_email: self.author_email,
            author_at: at(self.author_at)?,
            committer_at: at(self.committer_at)?,
            message: self.message,
            link: self.link,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct ReleaseRow {
    pub name: String,
    pub commit_id: String,
    pub commit_at: Option<i64>,
    pub link: Option<String>,
}

impl ReleaseRow {
    pub fn into_record(self) -> Result<ReleaseRecord, String> {
        Ok(ReleaseRecord {
            name: self.name,
            commit_id: self.commit_id,
            commit_at: at_opt(self.commit_at)?,
            link: self.link,
        })
    }
}

/// The columns of [`UserRow`], for `SELECT` from `users u`.
macro_rules! user_columns {
    () => {
        "u.alias, u.slug, u.id, u.name, u.display_name, u.email, u.active"
    };
}
pub(super) use user_columns;

#[derive(sqlx::FromRow)]
pub(super) struct UserRow {
    pub alias: String,
    pub slug: String,
    pub id: i64,
    pub name: String,
    pub display_name: String,
    pub email: Option<String>,
    pub active: bool,
}

impl UserRow {
    pub fn into_record(self) -> (String, UserRecord) {
        let user = UserRecord {
            id: self.id,
            slug: self.slug,
            name: self.name,
            display_name: self.display_name,
            email: self.email,
            active: self.active,
        };
        (self.alias, user)
    }
}
