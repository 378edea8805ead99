//! JSON shapes of every entity, as the recorded fixtures show them. REST and webhook payloads
//! both render through here, so a shape is written once.

use serde_json::{Map, Value, json};

use crate::generate::World;
use crate::generate::pull_requests::{
    Action, Activity, Participant, PrState, PullRequest, ReviewStatus, Role,
};
use crate::model::{Commit, Person, Project, Ref, RefKind, Repo, User};
use crate::repo_view::RepoView;
use crate::seed::derive;

/// What every renderer needs: the data and the base URL for links.
#[derive(Clone, Copy)]
pub struct Render<'a> {
    pub world: &'a World,
    pub base: &'a str,
}

fn self_link(href: String) -> Value {
    json!({"self": [{"href": href}]})
}

impl<'a> Render<'a> {
    pub fn user(&self, u: &User) -> Value {
        let mut v = json!({
            "name": u.name,
            "id": u.id,
            "displayName": u.display_name,
            "active": u.active,
            "slug": u.slug,
            "type": if u.service { "SERVICE" } else { "NORMAL" },
            "links": self_link(format!("{}/users/{}", self.base, u.slug)),
        });
        if let Some(email) = &u.email {
            v["emailAddress"] = json!(email);
        }
        v
    }

    pub fn user_by_id(&self, id: u32) -> Value {
        self.world
            .user(id)
            .map(|u| self.user(u))
            .unwrap_or(Value::Null)
    }

    /// `RestDetailedUser`, as `/admin` endpoints return it.
    pub fn detailed_user(&self, u: &User) -> Value {
        let mut v = self.user(u);
        v["directoryName"] = json!(u.directory);
        v["deletable"] = json!(u.directory != "Acme LDAP");
        v["mutableDetails"] = json!(u.directory != "Acme LDAP");
        v["mutableGroups"] = json!(u.directory != "Acme LDAP");
        if let Some(ts) = u.last_authentication_ms {
            v["lastAuthenticationTimestamp"] = json!(ts);
        }
        v
    }

    pub fn project(&self, p: &Project) -> Value {
        let mut v = json!({
            "key": p.key,
            "id": p.id,
            "name": p.name,
            "public": p.public,
            "type": if p.is_personal() { "PERSONAL" } else { "NORMAL" },
        });
        if let Some(d) = &p.description {
            v["description"] = json!(d);
        }
        match p.owner.and_then(|o| self.world.user(o)) {
            Some(owner) => {
                v["owner"] = self.user(owner);
                v["links"] = self_link(format!("{}/users/{}", self.base, owner.slug));
            }
            None => v["links"] = self_link(format!("{}/projects/{}", self.base, p.key)),
        }
        v
    }

    pub fn repo(&self, r: &Repo) -> Value {
        let project = self.world.projects.get(r.project);
        let key = project.map(|p| p.key.as_str()).unwrap_or_default();
        let scm = format!("{}/{}.git", key.to_lowercase(), r.slug);
        let host = self
            .base
            .split("://")
            .nth(1)
            .unwrap_or("localhost")
            .split(':')
            .next()
            .unwrap_or("localhost");
        let browse = match project
            .and_then(|p| p.owner)
            .and_then(|o| self.world.user(o))
        {
            Some(owner) => format!("{}/users/{}/repos/{}/browse", self.base, owner.slug, r.slug),
            None => format!("{}/projects/{}/repos/{}/browse", self.base, key, r.slug),
        };
        let mut v = json!({
            "slug": r.slug,
            "id": r.id,
            "name": r.name,
            "hierarchyId": format!("{:020x}", derive(r.seed, "hierarchy", 0) as u128 * 0x1_0000 % (1u128 << 80)),
            "scmId": "git",
            "state": "AVAILABLE",
            "statusMessage": "Available",
            "forkable": r.forkable,
            "project": project.map(|p| self.project(p)).unwrap_or(Value::Null),
            "public": r.public,
            "archived": r.archived,
            "links": {
                "clone": [
                    {"href": format!("{}/scm/{scm}", self.base), "name": "http"},
                    {"href": format!("ssh://git@{host}:7999/{scm}"), "name": "ssh"},
                ],
                "self": [{"href": browse}],
            },
        });
        if let Some(d) = &r.description {
            v["description"] = json!(d);
        }
        v
    }

    fn person(&self, p: &Person) -> Value {
        match p.user.and_then(|id| self.world.user(id)) {
            Some(u) => {
                let mut v = self.user(u);
                v["emailAddress"] = json!(p.email);
                v
            }
            None => json!({"name": p.name, "emailAddress": p.email}),
        }
    }

    pub fn commit(&self, view: &RepoView<'_>, c: &Commit) -> Value {
        json!({
            "id": c.id,
            "displayId": &c.id[..11.min(c.id.len())],
            "author": self.person(&c.author),
            "authorTimestamp": c.author_ms,
            "committer": self.person(&c.committer),
            "committerTimestamp": c.committer_ms,
            "message": c.message,
            "parents": c.parents.iter().map(|&p| {
                let id = view.commit_id(p);
                json!({"id": id, "displayId": &id[..11]})
            }).collect::<Vec<_>>(),
        })
    }

    pub fn git_ref(&self, view: &RepoView<'_>, r: &Ref, default_branch: bool) -> Value {
        let commit = view.commit_id(r.target);
        let mut v = json!({
            "id": r.id(),
            "displayId": r.display_id,
            "type": r.type_name(),
            "latestCommit": commit,
            "latestChangeset": commit,
        });
        match r.kind {
            RefKind::Branch => v["isDefault"] = json!(default_branch),
            RefKind::Tag => {
                if let Some(hash) = &r.tag_hash {
                    v["hash"] = json!(hash);
                }
            }
        }
        v
    }

    pub fn participant(&self, view: &RepoView<'_>, p: &Participant) -> Value {
        let mut v = json!({
            "user": self.user_by_id(p.user),
            "role": match p.role { Role::Author => "AUTHOR", Role::Reviewer => "REVIEWER", Role::Participant => "PARTICIPANT" },
            "approved": p.status == ReviewStatus::Approved,
            "status": p.status.as_str(),
        });
        if let Some(c) = p.last_reviewed {
            v["lastReviewedCommit"] = json!(view.commit_id(c));
        }
        v
    }

    pub fn pull_request(&self, view: &RepoView<'_>, pr: &PullRequest) -> Value {
        let repo = self.repo(view.repo);
        let pr_ref = |branch: &str, commit: u64| {
            json!({
                "id": format!("refs/heads/{branch}"),
                "displayId": branch,
                "latestCommit": view.commit_id(commit),
                "type": "BRANCH",
                "repository": repo,
            })
        };
        let author = Participant {
            user: pr.author,
            role: Role::Author,
            status: ReviewStatus::Unapproved,
            last_reviewed: None,
        };
        let key = self
            .world
            .projects
            .get(view.repo.project)
            .map(|p| p.key.as_str())
            .unwrap_or_default();
        let mut properties = json!({"resolvedTaskCount": 0, "openTaskCount": 0, "commentCount": pr.activities.iter().filter(|a| matches!(a.action, Action::Commented { .. })).count()});
        if let Some(mc) = pr.merge_commit() {
            let id = view.commit_id(mc);
            properties["mergeCommit"] = json!({"id": id, "displayId": &id[..11]});
        } else if pr.state == PrState::Open {
            properties["mergeResult"] = json!({"outcome": "CLEAN", "current": true});
        }
        let mut v = json!({
            "id": pr.id,
            "version": pr.version,
            "title": pr.title,
            "description": pr.description,
            "state": pr.state.as_str(),
            "open": pr.state == PrState::Open,
            "closed": pr.state != PrState::Open,
            "draft": pr.draft,
            "createdDate": pr.created_ms,
            "updatedDate": pr.updated_ms,
            "fromRef": pr_ref(&pr.from_branch, pr.from_commit),
            "toRef": pr_ref(&pr.to_branch, pr.to_commit),
            "locked": false,
            "author": self.participant(view, &author),
            "reviewers": pr.reviewers.iter().map(|p| self.participant(view, p)).collect::<Vec<_>>(),
            "participants": pr.participants.iter().map(|p| self.participant(view, p)).collect::<Vec<_>>(),
            "properties": properties,
            "links": self_link(format!("{}/projects/{key}/repos/{}/pull-requests/{}", self.base, view.repo.slug, pr.id)),
        });
        if let Some(closed) = pr.closed_ms {
            v["closedDate"] = json!(closed);
        }
        v
    }

    pub fn activity(&self, view: &RepoView<'_>, a: &Activity) -> Value {
        let mut v =
            json!({"id": a.id, "createdDate": a.created_ms, "user": self.user_by_id(a.user)});
        let obj: &mut Map<String, Value> = match v.as_object_mut() {
            Some(o) => o,
            None => return v,
        };
        let action = match &a.action {
            Action::Opened => "OPENED",
            Action::Approved => "APPROVED",
            Action::Unapproved => "UNAPPROVED",
            Action::Reviewed => "REVIEWED",
            Action::Declined => "DECLINED",
            Action::Reopened => "REOPENED",
            Action::Commented { comment_id, text } => {
                obj.insert("commentAction".into(), json!("ADDED"));
                obj.insert(
                    "comment".into(),
                    json!({
                        "properties": {"repositoryId": view.repo.id},
                        "id": comment_id,
                        "version": 0,
                        "text": text,
                        "author": self.user_by_id(a.user),
                        "createdDate": a.created_ms,
                        "updatedDate": a.created_ms,
                        "comments": [],
                        "tasks": [],
                        "permittedOperations": {"editable": false, "deletable": false},
                    }),
                );
                "COMMENTED"
            }
            Action::Rescoped {
                previous_from,
                from,
            } => {
                obj.insert("fromHash".into(), json!(view.commit_id(*from)));
                obj.insert(
                    "previousFromHash".into(),
                    json!(view.commit_id(*previous_from)),
                );
                obj.insert(
                    "added".into(),
                    json!({"commits": [], "total": u64::from(from != previous_from)}),
                );
                obj.insert("removed".into(), json!({"commits": [], "total": 0}));
                "RESCOPED"
            }
            Action::Merged { commit } => {
                if let Some(c) = commit.and_then(|c| view.commit(c)) {
                    obj.insert("commit".into(), self.commit(view, &c));
                }
                "MERGED"
            }
        };
        obj.insert("action".into(), json!(action));
        v
    }
}
