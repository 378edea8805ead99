//! Commit history, derived on demand from a repository's seed.
//!
//! A commit is named by a compact *index*: `branch << 40 | position`. Branch 0 is the default
//! branch (a linear history, positions `0..repo.commits`, with a merge commit every few
//! commits whose second parent is a one-commit side branch, [`SIDE`]); branches `1..` are the
//! other generated branches; [`PR_BASE`]`+ id` is the source branch of pull request `id`.
//! The 40-hex commit id encodes the index reversibly (see [`commit_id`]), so looking a commit up
//! by id, and walking history from any commit, never needs the whole history in memory.

use ring::digest;

use super::words::{BRANCH_PREFIXES, COMPONENTS, JIRA_KEYS, NOUNS, VERBS};
use crate::model::{Commit, GENERATED_UNTIL_MS, Person, Repo};
use crate::seed::{SimRng, derive, mix};

pub const MAIN: u64 = 0;
/// Source branches of pull requests: `PR_BASE + pull request id`.
pub const PR_BASE: u64 = 0x10_0000;
/// Branches created through the control API: `CREATED_BASE + n`.
pub const CREATED_BASE: u64 = 0x80_0000;
/// One-commit side branches merged into the default branch.
pub const SIDE: u64 = 0xFF_FFFF;
const POS_BITS: u32 = 40;
const POS_MASK: u64 = (1 << POS_BITS) - 1;

pub fn index(branch: u64, pos: u64) -> u64 {
    (branch << POS_BITS) | (pos & POS_MASK)
}

pub fn split(index: u64) -> (u64, u64) {
    (index >> POS_BITS, index & POS_MASK)
}

/// The 40-hex id of commit `index` in the repository with `seed`.
///
/// The first 12 bytes are a SHA-1 of `(seed, index)`; the last 8 are the index masked with a
/// hash of the first ones, so [`decode_commit_id`] can invert it and then verify it.
pub fn commit_id(seed: u64, index: u64) -> String {
    let head = head_bytes(seed, index);
    let mut bytes = [0u8; 20];
    bytes[..12].copy_from_slice(&head);
    bytes[12..].copy_from_slice(&(index ^ mask(seed, &head)).to_be_bytes());
    hex::encode(bytes)
}

/// The index a commit id encodes for this repository, if it is one of its commit ids.
pub fn decode_commit_id(seed: u64, id: &str) -> Option<u64> {
    if id.len() != 40 {
        return None;
    }
    let bytes = hex::decode(id.to_ascii_lowercase()).ok()?;
    let head: [u8; 12] = bytes.get(..12)?.try_into().ok()?;
    let tail: [u8; 8] = bytes.get(12..)?.try_into().ok()?;
    let index = u64::from_be_bytes(tail) ^ mask(seed, &head);
    (head_bytes(seed, index) == head).then_some(index)
}

fn head_bytes(seed: u64, index: u64) -> [u8; 12] {
    let mut input = [0u8; 16];
    input[..8].copy_from_slice(&seed.to_be_bytes());
    input[8..].copy_from_slice(&index.to_be_bytes());
    let d = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, &input);
    let mut head = [0u8; 12];
    head.copy_from_slice(&d.as_ref()[..12]);
    head
}

fn mask(seed: u64, head: &[u8; 12]) -> u64 {
    let mut first = [0u8; 8];
    first.copy_from_slice(&head[..8]);
    mix(seed ^ u64::from_be_bytes(first))
}

/// A generated branch other than the default one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BranchSpec {
    pub number: u64,
    pub name: String,
    /// Position on the default branch it forked from.
    pub fork: u64,
    /// Number of commits on it.
    pub len: u64,
}

/// The generated history of one repository (without overlays).
#[derive(Debug, Clone)]
pub struct History<'a> {
    pub repo: &'a Repo,
    /// Who commits here: users of the server and a few outsiders.
    pub authors: Vec<Person>,
    /// Paths of the generated tree, for "which files did this commit touch".
    pub files: Vec<String>,
    start_work: i64,
    step: f64,
}

const WORK_DAY_S: i64 = 9 * 3600;
const WORK_WEEK_S: i64 = 5 * WORK_DAY_S;
/// 1970-01-05, a Monday.
const MONDAY_S: i64 = 4 * 86_400;

/// Seconds of "working time" (Mon-Fri 09:00-18:00 UTC) elapsed at wall time `t`.
fn to_work(t: i64) -> i64 {
    let since = t - MONDAY_S;
    let days = since.div_euclid(86_400);
    let (week, dow) = (days.div_euclid(7), days.rem_euclid(7));
    let sod = since.rem_euclid(86_400);
    let in_day = if dow < 5 {
        (sod - 9 * 3600).clamp(0, WORK_DAY_S)
    } else {
        0
    };
    week * WORK_WEEK_S + dow.min(5) * WORK_DAY_S + in_day
}

/// Wall time of working-time second `w`.
fn from_work(w: i64) -> i64 {
    let (week, r) = (w.div_euclid(WORK_WEEK_S), w.rem_euclid(WORK_WEEK_S));
    let (day, s) = (r / WORK_DAY_S, r % WORK_DAY_S);
    MONDAY_S + week * 7 * 86_400 + day * 86_400 + 9 * 3600 + s
}

impl<'a> History<'a> {
    pub fn new(repo: &'a Repo, authors: Vec<Person>, files: Vec<String>) -> History<'a> {
        let start_work = to_work(repo.created_ms / 1000);
        let end_work = to_work(GENERATED_UNTIL_MS / 1000 - 7 * 86_400);
        let step = (end_work - start_work).max(1) as f64 / repo.commits.max(1) as f64;
        History {
            repo,
            authors,
            files,
            start_work,
            step,
        }
    }

    fn rng(&self, what: &str, index: u64) -> SimRng {
        SimRng::derived(self.repo.seed, what, index)
    }

    /// Whether default-branch position `pos` is a merge commit.
    pub fn is_merge(&self, pos: u64) -> bool {
        pos >= 2 && derive(self.repo.seed, "merge", pos).is_multiple_of(7)
    }

    /// Generated branches besides the default branch and pull-request branches.
    pub fn extra_branches(&self) -> Vec<BranchSpec> {
        if self.repo.commits < 5 {
            return Vec::new();
        }
        let mut rng = self.rng("branches", 0);
        let count = rng.below(4);
        (1..=count)
            .map(|n| {
                let name = match n {
                    1 if self.repo.default_branch != "develop" => "develop".to_owned(),
                    2 => format!("release/{}.x", rng.between(1, 4)),
                    _ => format!(
                        "{}/{}-{}",
                        rng.word(BRANCH_PREFIXES),
                        rng.word(JIRA_KEYS).to_lowercase(),
                        rng.between(10, 999)
                    ),
                };
                let fork = rng.between(self.repo.commits / 2, self.repo.commits - 1);
                BranchSpec {
                    number: n,
                    name,
                    fork,
                    len: rng.between(1, 6),
                }
            })
            .collect()
    }

    /// The source branch of generated pull request `id` (1-based).
    pub fn pr_branch(&self, id: u64) -> BranchSpec {
        let mut rng = self.rng("pr-branch", id);
        let total = self.repo.pull_requests.max(1);
        let last = self.repo.commits.saturating_sub(1);
        let centre = (id.saturating_sub(1) * last) / total;
        let fork = centre.min(last);
        let name = format!(
            "{}/{}-{}-{}",
            rng.word(BRANCH_PREFIXES),
            rng.word(JIRA_KEYS),
            100 + id,
            rng.word(NOUNS)
        );
        BranchSpec {
            number: PR_BASE + id,
            name,
            fork,
            len: rng.between(1, 5),
        }
    }

    /// The spec of any generated non-default branch number.
    pub fn branch_spec(&self, branch: u64) -> Option<BranchSpec> {
        if branch > PR_BASE && branch < CREATED_BASE {
            let id = branch - PR_BASE;
            (id <= self.repo.pull_requests).then(|| self.pr_branch(id))
        } else {
            self.extra_branches()
                .into_iter()
                .find(|b| b.number == branch)
        }
    }

    /// Whether `index` names a commit of the generated history.
    pub fn exists(&self, idx: u64) -> bool {
        let (branch, pos) = split(idx);
        match branch {
            MAIN => pos < self.repo.commits,
            SIDE => pos < self.repo.commits && self.is_merge(pos),
            b => self.branch_spec(b).is_some_and(|s| pos < s.len),
        }
    }

    /// Commit time (epoch ms) of a generated commit; strictly greater than its parents'.
    pub fn timestamp(&self, idx: u64) -> i64 {
        let (branch, pos) = split(idx);
        match branch {
            MAIN => self.main_time(pos),
            SIDE => {
                let (a, b) = (self.main_time(pos.saturating_sub(1)), self.main_time(pos));
                a + (b - a) / 2
            }
            b => match self.branch_spec(b) {
                Some(spec) => {
                    let gap = 1_800_000 + (derive(self.repo.seed, "gap", b) % 5_400_000) as i64;
                    (self.main_time(spec.fork) + gap * (pos as i64 + 1))
                        .min(GENERATED_UNTIL_MS - 1000)
                }
                None => 0,
            },
        }
    }

    fn main_time(&self, pos: u64) -> i64 {
        // Two seconds per position keep children strictly newer than parents even when the
        // working-time step is tiny; the jitter stays under 80% of a step.
        let jitter = (derive(self.repo.seed, "jitter", pos) % 800) as f64 / 1000.0;
        let w = self.start_work + ((pos as f64 + jitter) * self.step) as i64;
        (from_work(w) + 2 * pos as i64) * 1000
    }

    /// Parents of a generated commit (first parent first).
    pub fn parents(&self, idx: u64) -> Vec<u64> {
        let (branch, pos) = split(idx);
        match branch {
            MAIN if pos == 0 => Vec::new(),
            MAIN if self.is_merge(pos) => vec![index(MAIN, pos - 1), index(SIDE, pos)],
            MAIN | SIDE => vec![index(MAIN, pos.saturating_sub(1))],
            b if pos > 0 => vec![index(b, pos - 1)],
            b => self
                .branch_spec(b)
                .map(|s| vec![index(MAIN, s.fork)])
                .unwrap_or_default(),
        }
    }

    /// Derives the full commit.
    pub fn commit(&self, idx: u64) -> Commit {
        let mut rng = self.rng("commit", idx);
        let (branch, pos) = split(idx);
        let author = rng.pick(&self.authors).cloned().unwrap_or_else(|| Person {
            name: "Unknown".to_owned(),
            email: "unknown@acme.example".to_owned(),
            user: None,
        });
        let ts = self.timestamp(idx);
        let message = if branch == MAIN && pos == 0 {
            "Initial commit".to_owned()
        } else if branch == MAIN && self.is_merge(pos) {
            let side = self.commit_message(&mut self.rng("commit", index(SIDE, pos)));
            let name = format!("{}/{}", rng.word(BRANCH_PREFIXES), slugify(&side));
            format!("Merge branch '{name}' into {}", self.repo.default_branch)
        } else {
            self.commit_message(&mut rng)
        };
        // Authors sometimes wrote the change well before it was committed (rebases, amends).
        let author_ms = if rng.chance(0.15) {
            ts - rng.below(3 * 86_400_000) as i64
        } else {
            ts
        };
        Commit {
            index: idx,
            id: commit_id(self.repo.seed, idx),
            committer: author.clone(),
            author,
            author_ms,
            committer_ms: ts,
            message,
            parents: self.parents(idx),
            touched: self.touched(idx),
        }
    }

    fn commit_message(&self, rng: &mut SimRng) -> String {
        let subject = match rng.below(10) {
            0 => format!(
                "Bump {} from {}.{}.{} to {}.{}.{}",
                rng.word(&[
                    "lodash",
                    "express",
                    "requests",
                    "jackson-databind",
                    "golang.org/x/net",
                    "Newtonsoft.Json"
                ]),
                rng.below(5),
                rng.below(20),
                rng.below(10),
                rng.below(5) + 1,
                rng.below(20),
                rng.below(10)
            ),
            1 | 2 => format!(
                "{}-{}: {} {}",
                rng.word(JIRA_KEYS),
                rng.between(10, 4999),
                rng.word(VERBS),
                rng.word(COMPONENTS)
            ),
            _ => format!("{} {}", rng.word(VERBS), rng.word(COMPONENTS)),
        };
        if rng.chance(0.3) {
            format!(
                "{subject}\n\nThe previous {} did not cope with {}.\nSee the linked ticket for details.",
                rng.word(COMPONENTS),
                rng.word(&[
                    "empty input",
                    "timeouts",
                    "large pages",
                    "unicode names",
                    "retries"
                ])
            )
        } else {
            subject
        }
    }

    /// Paths a generated commit touched: everything for the initial commit, nothing for a
    /// merge, one to four files otherwise. Derived on its own so path filters stay cheap.
    pub fn touched(&self, idx: u64) -> Vec<String> {
        let (branch, pos) = split(idx);
        if branch == MAIN && pos == 0 {
            return self.files.clone();
        }
        if branch == MAIN && self.is_merge(pos) {
            return Vec::new();
        }
        let mut rng = self.rng("touched", idx);
        let n = rng.between(1, 4) as usize;
        let mut out: Vec<String> = (0..n)
            .filter_map(|_| rng.pick(&self.files).cloned())
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

fn slugify(message: &str) -> String {
    let first = message.lines().next().unwrap_or("change");
    let s: String = first
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    s.split('-')
        .filter(|p| !p.is_empty())
        .take(4)
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_ids_round_trip_and_reject_other_repos() {
        for idx in [0, 1, 999, index(SIDE, 12), index(PR_BASE + 7, 3)] {
            let id = commit_id(99, idx);
            assert_eq!(id.len(), 40);
            assert_eq!(decode_commit_id(99, &id), Some(idx));
            assert_eq!(decode_commit_id(98, &id), None);
        }
        assert_eq!(decode_commit_id(99, "not-a-commit"), None);
    }

    #[test]
    fn working_time_round_trips() {
        for w in [0, 1, 3600, WORK_DAY_S - 1, WORK_DAY_S, WORK_WEEK_S * 3 + 17] {
            assert_eq!(to_work(from_work(w)), w);
        }
    }
}
