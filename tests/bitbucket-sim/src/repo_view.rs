//! One repository as the API sees it: the generated history, tree and pull requests with the
//! overlay's mutations applied. Built per request, borrowed from the shared state.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};

use bytes::Bytes;

use crate::generate::World;
use crate::generate::commits::{self, CREATED_BASE, History, MAIN, index, split};
use crate::generate::descriptors::DescriptorContext;
use crate::generate::files::{self, FileEntry};
use crate::generate::pull_requests::{self, PrState, PullRequest};
use crate::model::{Commit, Ref, RefKind, Repo};
use crate::overlay::RepoOverlay;
use crate::seed::{derive, mix};

/// Where a file's bytes come from.
#[derive(Debug, Clone)]
pub enum FileSource {
    Generated(FileEntry),
    Written(Bytes),
}

pub struct RepoView<'a> {
    pub world: &'a World,
    pub repo: &'a Repo,
    pub overlay: Option<&'a RepoOverlay>,
    pub history: History<'a>,
    tree: Vec<FileEntry>,
}

impl<'a> RepoView<'a> {
    pub fn new(world: &'a World, repo: &'a Repo, overlay: Option<&'a RepoOverlay>) -> RepoView<'a> {
        // An empty repository has no generated files: only what gets pushed to it.
        let tree = if repo.is_empty() {
            Vec::new()
        } else {
            files::tree(repo, world.duplicate_candidate(repo))
        };
        let paths = tree.iter().map(|e| e.path.clone()).collect();
        let history = History::new(repo, world.authors(repo), paths);
        RepoView {
            world,
            repo,
            overlay,
            history,
            tree,
        }
    }

    /// A view without the file tree, for work that needs only refs and pull requests.
    pub fn without_tree(
        world: &'a World,
        repo: &'a Repo,
        overlay: Option<&'a RepoOverlay>,
    ) -> RepoView<'a> {
        let history = History::new(repo, world.authors(repo), Vec::new());
        RepoView {
            world,
            repo,
            overlay,
            history,
            tree: Vec::new(),
        }
    }

    /// Head of a branch by number, if the branch exists.
    pub fn head(&self, branch: u64) -> Option<u64> {
        if let Some(&h) = self.overlay.and_then(|o| o.heads.get(&branch)) {
            return Some(h);
        }
        match branch {
            MAIN => (self.repo.commits > 0).then(|| index(MAIN, self.repo.commits - 1)),
            b if b >= CREATED_BASE => None,
            b => self
                .history
                .branch_spec(b)
                .map(|s| index(b, s.len.saturating_sub(1))),
        }
    }

    pub fn default_head(&self) -> Option<u64> {
        self.head(MAIN)
    }

    /// All branches, default branch first then by name.
    pub fn branches(&self) -> Vec<Ref> {
        let mut named: BTreeMap<String, u64> = BTreeMap::new();
        for spec in self.history.extra_branches() {
            named.insert(spec.name, spec.number);
        }
        for id in 1..=self.repo.pull_requests {
            if let Some(pr) = self.pull_request(id).filter(|p| p.state == PrState::Open) {
                let (b, _) = split(pr.from_commit);
                named.insert(pr.from_branch, b);
            }
        }
        if let Some(o) = self.overlay {
            for (&number, name) in &o.created_branches {
                named.insert(name.clone(), number);
            }
        }
        let mut out = Vec::new();
        if let Some(h) = self.default_head() {
            out.push(branch_ref(&self.repo.default_branch, h));
        }
        for (name, number) in named {
            if name != self.repo.default_branch
                && let Some(h) = self.head(number)
            {
                out.push(branch_ref(&name, h));
            }
        }
        out
    }

    /// The branch number of a branch name.
    pub fn branch_number(&self, name: &str) -> Option<u64> {
        if name == self.repo.default_branch {
            return self.default_head().map(|_| MAIN);
        }
        self.branches()
            .into_iter()
            .find(|r| r.display_id == name)
            .map(|r| split(r.target).0)
    }

    /// All tags, oldest first.
    pub fn tags(&self) -> Vec<Ref> {
        let mut out = Vec::new();
        let commits = self.repo.commits;
        if commits >= 10 {
            let count = derive(self.repo.seed, "tags", 0) % 9;
            for k in 0..count {
                let pos = (k + 1) * commits / (count + 1);
                let annotated = mix(self.repo.seed ^ k).is_multiple_of(2);
                out.push(Ref {
                    display_id: format!("v{}.{}.0", 1 + k / 4, k % 4),
                    kind: RefKind::Tag,
                    target: index(MAIN, pos),
                    tag_hash: annotated
                        .then(|| commits::commit_id(self.repo.seed ^ 0x7A6, index(MAIN, pos))),
                });
            }
        }
        if let Some(o) = self.overlay {
            out.extend(o.tags.iter().cloned());
        }
        out
    }

    /// Resolves a revision: a branch or tag name (short or `refs/...`) or a full commit id.
    pub fn resolve(&self, rev: &str) -> Option<u64> {
        if let Some(name) = rev.strip_prefix("refs/heads/") {
            return self.branch_number(name).and_then(|b| self.head(b));
        }
        if let Some(name) = rev.strip_prefix("refs/tags/") {
            return self
                .tags()
                .into_iter()
                .find(|t| t.display_id == name)
                .map(|t| t.target);
        }
        if rev.len() == 40
            && let Some(i) =
                commits::decode_commit_id(self.repo.seed, rev).filter(|&i| self.exists(i))
        {
            return Some(i);
        }
        if let Some(b) = self.branch_number(rev) {
            return self.head(b);
        }
        self.tags()
            .into_iter()
            .find(|t| t.display_id == rev)
            .map(|t| t.target)
    }

    pub fn exists(&self, index: u64) -> bool {
        self.overlay.is_some_and(|o| o.commits.contains_key(&index)) || self.history.exists(index)
    }

    pub fn commit(&self, index: u64) -> Option<Commit> {
        if let Some(p) = self.overlay.and_then(|o| o.commits.get(&index)) {
            return Some(p.commit.clone());
        }
        self.history
            .exists(index)
            .then(|| self.history.commit(index))
    }

    pub fn commit_id(&self, index: u64) -> String {
        commits::commit_id(self.repo.seed, index)
    }

    /// Whether a commit touched `path` (a file, or any file under a directory).
    pub fn touches(&self, index: u64, path: &str) -> bool {
        let hit = |t: &String| {
            t == path
                || t.strip_prefix(path)
                    .is_some_and(|rest| rest.starts_with('/'))
        };
        match self.overlay.and_then(|o| o.commits.get(&index)) {
            Some(p) => p.commit.touched.iter().any(hit),
            None => {
                let (branch, pos) = split(index);
                if branch == MAIN && pos == 0 {
                    // The initial commit added the whole tree: no need to clone it.
                    self.history.files.iter().any(hit)
                } else {
                    self.history.touched(index).iter().any(hit)
                }
            }
        }
    }

    pub fn parents(&self, index: u64) -> Vec<u64> {
        match self.overlay.and_then(|o| o.commits.get(&index)) {
            Some(p) => p.commit.parents.clone(),
            None => self.history.parents(index),
        }
    }

    fn timestamp(&self, index: u64) -> i64 {
        match self.overlay.and_then(|o| o.commits.get(&index)) {
            Some(p) => p.commit.committer_ms,
            None => self.history.timestamp(index),
        }
    }

    /// Commits reachable from `until` and not from `since`, newest first (git's `since..until`).
    pub fn log(&self, until: u64, since: Option<u64>) -> Log<'_, 'a> {
        let mut log = Log {
            view: self,
            heap: BinaryHeap::new(),
            state: HashMap::new(),
            included: 0,
        };
        log.push(until, false);
        if let Some(s) = since {
            log.push(s, true);
        }
        log
    }

    /// Whether `ancestor` is `commit` or one of its ancestors.
    pub fn is_ancestor(&self, ancestor: u64, commit: u64) -> bool {
        let floor = self.timestamp(ancestor);
        let mut log = self.log(commit, None);
        while let Some(c) = log.next_with_floor(floor) {
            if c == ancestor {
                return true;
            }
        }
        false
    }

    /// The tree at a commit: generated files plus pushed changes that are its ancestors.
    pub fn tree_at(&self, at: u64) -> BTreeMap<String, FileSource> {
        let mut out: BTreeMap<String, FileSource> = self
            .tree
            .iter()
            .map(|e| (e.path.clone(), FileSource::Generated(e.clone())))
            .collect();
        let Some(o) = self.overlay.filter(|o| o.changes_files()) else {
            return out;
        };
        let mut applied: Vec<&crate::overlay::PushedCommit> = o
            .commits
            .values()
            .filter(|p| !p.changes.is_empty() && self.is_ancestor(p.commit.index, at))
            .collect();
        applied.sort_by_key(|p| (p.commit.committer_ms, p.commit.index));
        for p in applied {
            for change in &p.changes {
                match &change.content {
                    Some(bytes) => {
                        out.insert(change.path.clone(), FileSource::Written(bytes.clone()))
                    }
                    None => out.remove(&change.path),
                };
            }
        }
        out
    }

    pub fn descriptor_context(&self) -> DescriptorContext {
        self.world.descriptor_context(self.repo)
    }

    pub fn file_bytes(&self, source: &FileSource) -> Bytes {
        match source {
            FileSource::Written(b) => b.clone(),
            FileSource::Generated(entry) => {
                Bytes::from(files::content(self.repo, &self.descriptor_context(), entry))
            }
        }
    }

    /// Highest pull request id (generated or opened through the control API).
    pub fn max_pull_request_id(&self) -> u64 {
        let overlay_max = self
            .overlay
            .and_then(|o| o.pull_requests.keys().next_back().copied());
        overlay_max.unwrap_or(0).max(self.repo.pull_requests)
    }

    pub fn pull_request(&self, id: u64) -> Option<PullRequest> {
        if let Some(stored) = self.overlay.and_then(|o| o.pull_requests.get(&id)) {
            return stored.clone();
        }
        (id >= 1 && id <= self.repo.pull_requests)
            .then(|| pull_requests::generate(&self.history, &self.world.people(self.repo), id))
    }
}

fn branch_ref(name: &str, target: u64) -> Ref {
    Ref {
        display_id: name.to_owned(),
        kind: RefKind::Branch,
        target,
        tag_hash: None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mark {
    Included,
    /// Reachable from `since`.
    Excluded,
    Done,
}

/// A revision walk in git's default order (newest commit date first), with `since` exclusion.
pub struct Log<'v, 'a> {
    view: &'v RepoView<'a>,
    heap: BinaryHeap<(i64, Reverse<u64>)>,
    /// Per seen commit: queued (included or excluded) or done.
    state: HashMap<u64, Mark>,
    /// Commits in the heap still marked included: the walk ends when none are left.
    included: usize,
}

impl Log<'_, '_> {
    fn push(&mut self, commit: u64, excluded: bool) {
        match self.state.get(&commit) {
            // Reached again from `since` while still queued: exclusion wins. (A popped commit
            // cannot be reached again: children are always newer than their parents.)
            Some(Mark::Included) if excluded => {
                self.state.insert(commit, Mark::Excluded);
                self.included -= 1;
            }
            Some(_) => {}
            None => {
                self.state.insert(
                    commit,
                    if excluded {
                        Mark::Excluded
                    } else {
                        Mark::Included
                    },
                );
                self.included += usize::from(!excluded);
                self.heap
                    .push((self.view.timestamp(commit), Reverse(commit)));
            }
        }
    }

    fn next_with_floor(&mut self, floor: i64) -> Option<u64> {
        while self.included > 0 {
            let (ts, Reverse(commit)) = self.heap.pop()?;
            let excluded = self.state.insert(commit, Mark::Done) != Some(Mark::Included);
            if !excluded {
                self.included -= 1;
            }
            if ts < floor {
                return None;
            }
            for p in self.view.parents(commit) {
                self.push(p, excluded);
            }
            if !excluded {
                return Some(commit);
            }
        }
        None
    }
}

impl Iterator for Log<'_, '_> {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        self.next_with_floor(i64::MIN)
    }
}
