//! Bitbucket models into store records. Pure functions; the only place that knows both shapes.

use crate::bitbucket::model::{
    Activity, Commit, Participant, Project, PullRequest, Repository, Tag, User,
};
use crate::store::{
    ActivityRecord, CommitRecord, MAX_MESSAGE_BYTES, PrState, PrUser, ProjectRecord,
    PullRequestRecord, ReleaseRecord, RepoRecord, ReviewerRecord, UserRecord,
};

fn id(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

pub fn project(p: &Project) -> ProjectRecord {
    ProjectRecord {
        key: p.key.clone(),
        id: id(p.id),
        name: p.name.clone(),
        description: p.description.clone(),
        public: p.public,
        personal: p.kind.eq_ignore_ascii_case("PERSONAL"),
        link: p.links.web().map(str::to_owned),
    }
}

pub fn repo(r: &Repository, default_branch: Option<String>) -> RepoRecord {
    RepoRecord {
        project: r.project.key.clone(),
        slug: r.slug.clone(),
        id: id(r.id),
        name: r.name.clone(),
        archived: r.archived,
        public: r.public,
        link: r.links.web().map(str::to_owned),
        default_branch,
    }
}

/// `repo_link` is the repository's web page (`.../browse`); commit pages sit beside it.
pub fn commit(c: &Commit, repo_link: Option<&str>) -> CommitRecord {
    let mut message = c.message.clone();
    if message.len() > MAX_MESSAGE_BYTES {
        let mut end = MAX_MESSAGE_BYTES;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
    }
    CommitRecord {
        id: c.id.clone(),
        author_name: c
            .author
            .display_name
            .clone()
            .unwrap_or_else(|| c.author.name.clone()),
        author_email: c.author.email_address.clone(),
        author_at: c.author_timestamp,
        committer_at: c.committer_timestamp,
        message,
        link: repo_link.map(|link| format!("{}/commits/{}", repo_base(link), c.id)),
    }
}

/// `https://bb/projects/P/repos/r/browse` → `https://bb/projects/P/repos/r`.
fn repo_base(link: &str) -> &str {
    link.strip_suffix("/browse").unwrap_or(link)
}

pub fn release(
    tag: &Tag,
    commit_at: Option<chrono::DateTime<chrono::Utc>>,
    repo_link: Option<&str>,
) -> ReleaseRecord {
    let commit_id = if tag.latest_commit.is_empty() {
        tag.hash.clone().unwrap_or_default()
    } else {
        tag.latest_commit.clone()
    };
    ReleaseRecord {
        name: tag.display_id.clone(),
        commit_at,
        link: repo_link
            .map(|link| format!("{}/browse?at={}", repo_base(link), percent_encode(&tag.id))),
        commit_id,
    }
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn pr_user(user: &User) -> PrUser {
    PrUser {
        slug: user.slug.clone(),
        display_name: user.display_name.clone(),
        email: user.email_address.clone(),
    }
}

fn reviewer(p: &Participant) -> ReviewerRecord {
    ReviewerRecord {
        slug: p.user.slug.clone(),
        name: p.user.display_name.clone(),
        email: p.user.email_address.clone(),
        status: p.status.clone(),
        approved: p.approved,
    }
}

pub fn pull_request(pr: &PullRequest) -> Option<PullRequestRecord> {
    let state = PrState::parse(&pr.state)?;
    Some(PullRequestRecord {
        id: id(pr.id),
        version: pr.version,
        title: pr.title.clone(),
        description: pr.description.clone(),
        state,
        author: pr_user(&pr.author.user),
        created_at: pr.created_date,
        updated_at: pr.updated_date,
        closed_at: pr.closed_date,
        from_branch: pr.from_ref.display_id.clone(),
        to_branch: pr.to_ref.display_id.clone(),
        link: pr.links.web().map(str::to_owned),
        reviewers: pr.reviewers.iter().map(reviewer).collect(),
        participants: pr.participants.iter().map(reviewer).collect(),
    })
}

pub fn activity(a: &Activity) -> ActivityRecord {
    ActivityRecord {
        id: id(a.id),
        action: a.action.as_str().to_owned(),
        user_slug: (!a.user.slug.is_empty()).then(|| a.user.slug.clone()),
        at: a.created_date,
    }
}

pub fn user(u: &User) -> UserRecord {
    UserRecord {
        id: id(u.id),
        slug: u.slug.clone(),
        name: u.name.clone(),
        display_name: u.display_name.clone(),
        email: u.email_address.clone().filter(|e| !e.is_empty()),
        active: u.active,
    }
}
