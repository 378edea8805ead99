//! Mutations on top of the generated data: pushed commits and the files they change, moved
//! and created branches, created tags, and pull requests that were opened or changed.
//! Only what changed is stored, which keeps the large profile's memory bounded.

use std::collections::BTreeMap;

use bytes::Bytes;

use crate::generate::pull_requests::PullRequest;
use crate::model::{Commit, Ref};

/// One file written or deleted by a pushed commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    pub path: String,
    /// `None` deletes the file.
    pub content: Option<Bytes>,
}

/// A commit pushed through the control API.
#[derive(Debug, Clone)]
pub struct PushedCommit {
    pub commit: Commit,
    pub changes: Vec<FileChange>,
}

/// Everything that changed in one repository.
#[derive(Debug, Clone, Default)]
pub struct RepoOverlay {
    /// Pushed commits by index.
    pub commits: BTreeMap<u64, PushedCommit>,
    /// Branch heads that moved (by branch number), including created branches.
    pub heads: BTreeMap<u64, u64>,
    /// Names of branches created through the control API, by branch number.
    pub created_branches: BTreeMap<u64, String>,
    pub tags: Vec<Ref>,
    /// Pull requests that were opened or changed; `None` marks a deleted one.
    pub pull_requests: BTreeMap<u64, Option<PullRequest>>,
}

impl RepoOverlay {
    /// Whether any pushed commit changed files (the tree then depends on the revision).
    pub fn changes_files(&self) -> bool {
        self.commits.values().any(|c| !c.changes.is_empty())
    }
}
