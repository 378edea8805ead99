//! The sync engine: pulls each account's Bitbucket data into the store, incrementally.
//!
//! Module map:
//! - [`engine`]: [`SyncEngine`]: accounts and their clients, one sync per account at a time,
//!   runs recorded in the store with calls, duration and errors.
//! - [`repositories`]: the repositories pass: projects (after the project filter), repos, then
//!   each repo's code data.
//! - [`code`]: one repository's code data: default branch, new commits, tags as releases, the
//!   file list, top language and pull-request settings. Unchanged head: exactly one call.
//! - [`pulls`]: the pull-request pass: repos most likely to have changed first, newest first
//!   down to each repo's high-water mark, within the account's request budget.
//! - [`identities`]: users, groups and members (degraded without admin access), people.
//! - [`convert`]: Bitbucket models into store records.
//! - [`language`]: top language from file names (the extension table).
//! - [`scheduler`]: cron schedules (UTC) that trigger the passes.

pub mod code;
pub mod convert;
pub mod engine;
pub mod identities;
pub mod language;
pub mod pulls;
pub mod repositories;
pub mod scheduler;

pub use engine::{AccountRuntime, SyncEngine, SyncError, SyncReport};
