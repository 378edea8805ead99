//! The deterministic generator: from `(seed, profile)` to a [`World`] of users, groups,
//! projects and repository descriptors. Repository contents are derived lazily by the
//! submodules, never stored.

pub mod commits;
pub mod descriptors;
pub mod files;
pub mod org;
pub mod packages;
pub mod pull_requests;
pub mod users;
mod words;

use std::collections::HashMap;

use crate::config::Profile;
use crate::model::{Group, Person, Project, Repo, User};
use crate::seed::SimRng;
use descriptors::DescriptorContext;

/// People who commit without a Bitbucket account.
const EXTERNAL_AUTHORS: &[(&str, &str)] = &[
    (
        "dependabot[bot]",
        "49699333+dependabot[bot]@users.noreply.github.com",
    ),
    ("Priya Raman", "priya.raman@contractor.example"),
    ("Marc Dupont", "marc@freelance.example"),
    ("build-agent", "build@ci.acme.example"),
];

/// Users, groups, projects and repository descriptors, with lookup indexes.
#[derive(Debug, Clone)]
pub struct World {
    pub seed: u64,
    pub users: Vec<User>,
    pub groups: Vec<Group>,
    pub projects: Vec<Project>,
    pub repos: Vec<Repo>,
    users_by_name: HashMap<String, usize>,
    projects_by_key: HashMap<String, usize>,
    repos_by_slug: HashMap<(usize, String), usize>,
}

impl World {
    pub fn generate(seed: u64, profile: Profile) -> World {
        let sizes = profile.sizes();
        let users = users::users(seed, sizes.users);
        let groups = users::groups(seed, sizes.groups, &users);
        let projects = org::projects(seed, &sizes, &users, &groups);
        let repos = org::repos(seed, &sizes, &projects);
        let mut world = World {
            seed,
            users,
            groups,
            projects,
            repos,
            users_by_name: HashMap::new(),
            projects_by_key: HashMap::new(),
            repos_by_slug: HashMap::new(),
        };
        world.reindex();
        world
    }

    /// Rebuilds the lookup maps after users, projects or repos were added.
    pub fn reindex(&mut self) {
        self.users_by_name = self
            .users
            .iter()
            .enumerate()
            .map(|(i, u)| (u.slug.to_lowercase(), i))
            .collect();
        self.projects_by_key = self
            .projects
            .iter()
            .enumerate()
            .map(|(i, p)| (p.key.to_lowercase(), i))
            .collect();
        self.repos_by_slug = self
            .repos
            .iter()
            .enumerate()
            .map(|(i, r)| ((r.project, r.slug.to_lowercase()), i))
            .collect();
    }

    pub fn user_index(&self, name_or_slug: &str) -> Option<usize> {
        self.users_by_name
            .get(&name_or_slug.to_lowercase())
            .copied()
    }

    pub fn user(&self, id: u32) -> Option<&User> {
        self.users.get((id as usize).checked_sub(1)?)
    }

    pub fn project_index(&self, key: &str) -> Option<usize> {
        self.projects_by_key.get(&key.to_lowercase()).copied()
    }

    pub fn repo_index(&self, project: usize, slug: &str) -> Option<usize> {
        self.repos_by_slug
            .get(&(project, slug.to_lowercase()))
            .copied()
    }

    pub fn group_index(&self, name: &str) -> Option<usize> {
        self.groups
            .iter()
            .position(|g| g.name.eq_ignore_ascii_case(name))
    }

    /// The user ids who work on a repository: the personal owner, or a few active users.
    pub fn people(&self, repo: &Repo) -> Vec<u32> {
        if let Some(owner) = self.projects.get(repo.project).and_then(|p| p.owner) {
            return vec![owner];
        }
        let active: Vec<u32> = self
            .users
            .iter()
            .filter(|u| u.active && !u.service)
            .map(|u| u.id)
            .collect();
        let mut rng = SimRng::derived(repo.seed, "people", 0);
        let mut out: Vec<u32> = (0..rng.between(3, 8))
            .filter_map(|_| rng.pick(&active).copied())
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Commit identities of a repository: its people as git knows them, and some outsiders.
    pub fn authors(&self, repo: &Repo) -> Vec<Person> {
        let mut out: Vec<Person> = self
            .people(repo)
            .into_iter()
            .filter_map(|id| self.user(id))
            .map(|u| Person {
                name: u.display_name.clone(),
                email: u
                    .email
                    .clone()
                    .unwrap_or_else(|| format!("{}@users.noreply.acme.example", u.name)),
                user: Some(u.id),
            })
            .collect();
        let mut rng = SimRng::derived(repo.seed, "externals", 0);
        for _ in 0..rng.below(3) {
            if let Some((name, email)) = rng.pick(EXTERNAL_AUTHORS) {
                let p = Person {
                    name: (*name).to_owned(),
                    email: (*email).to_owned(),
                    user: None,
                };
                if !out.contains(&p) {
                    out.push(p);
                }
            }
        }
        out
    }

    /// What a repository's descriptors say about it.
    pub fn descriptor_context(&self, repo: &Repo) -> DescriptorContext {
        let project = self.projects.get(repo.project);
        let mut rng = SimRng::derived(repo.seed, "owners", 0);
        let owner_group = project
            .and_then(|p| p.group_grants.first())
            .map(|(g, _)| g.clone())
            .filter(|_| rng.chance(0.85));
        let owner_email = self
            .people(repo)
            .first()
            .and_then(|&id| self.user(id))
            .and_then(|u| u.email.clone())
            .filter(|_| rng.chance(0.6));
        DescriptorContext {
            project_key: project.map(|p| p.key.clone()).unwrap_or_default(),
            repo_slug: repo.slug.clone(),
            owner_group,
            owner_email,
        }
    }

    /// The slug of the previous repository: the tag a "duplicate tag" descriptor reuses.
    pub fn duplicate_candidate(&self, repo: &Repo) -> Option<&str> {
        let prev = (repo.id as usize).checked_sub(2)?;
        self.repos.get(prev).map(|r| r.slug.as_str())
    }
}
