//! Projects, personal projects, permission grants and repository descriptors.

use std::collections::HashSet;

use super::words::{NOUNS, TEAMS};
use crate::config::ProfileSizes;
use crate::model::{
    GENERATED_UNTIL_MS, Group, Project, ProjectPermission, Repo, SettingsShape, User,
};
use crate::seed::{SimRng, derive};

const DAY_MS: i64 = 24 * 3_600_000;

/// Generates the projects: team projects first, then personal projects of a few users.
///
/// Project 1 is granted to `alice`'s team group, project 2 is readable by all users, project 3
/// is restricted to its team (not `alice`'s); of the others about a third are readable by all
/// users and project 5 is public.
pub fn projects(seed: u64, sizes: &ProfileSizes, users: &[User], groups: &[Group]) -> Vec<Project> {
    let mut rng = SimRng::derived(seed, "projects", 0);
    let mut out = Vec::with_capacity(sizes.projects + 8);
    let team_groups: Vec<&Group> = groups.iter().skip(1).collect();
    for i in 0..sizes.projects {
        let team = TEAMS.get(i % TEAMS.len()).copied().unwrap_or("misc");
        let round = i / TEAMS.len();
        let key = if round == 0 {
            team.to_uppercase()
        } else {
            format!("{}{}", team.to_uppercase(), round + 1)
        };
        let mut group_grants = Vec::new();
        if let Some(g) = team_groups.get(i % team_groups.len().max(1)) {
            group_grants.push((g.name.clone(), ProjectPermission::Write));
        }
        // Project 3 stays restricted to its own team, so `alice` never sees it.
        if i > 2
            && rng.chance(0.3)
            && let Some(g) = rng.pick(&team_groups)
            && !group_grants.iter().any(|(n, _)| n == &g.name)
        {
            group_grants.push((g.name.clone(), ProjectPermission::Read));
        }
        let all_users_read = i == 1 || (i > 2 && rng.chance(0.3));
        let user_grants = match users.get(2 + rng.index(users.len().saturating_sub(2))) {
            Some(u) if rng.chance(0.5) => vec![(u.id, ProjectPermission::Admin)],
            _ => Vec::new(),
        };
        out.push(Project {
            id: i as u32 + 1,
            name: format!(
                "{} {}",
                capitalise(team),
                if round == 0 {
                    String::new()
                } else {
                    (round + 1).to_string()
                }
            )
            .trim_end()
            .to_owned(),
            description: if rng.chance(0.8) {
                Some(format!("Services and libraries owned by the {team} team."))
            } else {
                None
            },
            key,
            public: i == 4,
            owner: None,
            all_users_read,
            user_grants,
            group_grants,
        });
    }
    let personal = match sizes.projects {
        0..=3 => 2,
        4..=20 => 5,
        _ => 50,
    };
    for user in users.iter().skip(1).filter(|u| !u.service).take(personal) {
        out.push(Project {
            id: out.len() as u32 + 1,
            key: format!("~{}", user.name),
            name: user.display_name.clone(),
            description: None,
            public: false,
            owner: Some(user.id),
            all_users_read: false,
            user_grants: Vec::new(),
            group_grants: Vec::new(),
        });
    }
    out
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Generates the repository descriptors: `sizes.repos` spread (unevenly) over the team projects,
/// plus one or two in each personal project.
pub fn repos(seed: u64, sizes: &ProfileSizes, projects: &[Project]) -> Vec<Repo> {
    let mut rng = SimRng::derived(seed, "repos", 0);
    let team_projects: Vec<usize> = (0..projects.len())
        .filter(|&i| !projects[i].is_personal())
        .collect();
    let mut slugs: HashSet<(usize, String)> = HashSet::new();
    let mut out = Vec::with_capacity(sizes.repos + 100);
    for i in 0..sizes.repos {
        // Every project gets one repo first, then a skewed spread: a few projects are big.
        let project = if i < team_projects.len() {
            team_projects[i]
        } else {
            let u = rng.unit();
            team_projects[((u * u) * team_projects.len() as f64) as usize % team_projects.len()]
        };
        let slug = unique_slug(&mut rng, &mut slugs, project);
        out.push(descriptor(seed, sizes, out.len(), project, slug, &mut rng));
    }
    for (project, p) in projects.iter().enumerate().filter(|(_, p)| p.is_personal()) {
        for n in 0..1 + (p.id as usize % 2) {
            let slug = if n == 0 {
                "sandbox".to_owned()
            } else {
                "dotfiles".to_owned()
            };
            slugs.insert((project, slug.clone()));
            out.push(descriptor(seed, sizes, out.len(), project, slug, &mut rng));
        }
    }
    out
}

fn unique_slug(rng: &mut SimRng, taken: &mut HashSet<(usize, String)>, project: usize) -> String {
    loop {
        let base = format!("{}-{}", rng.word(TEAMS), rng.word(NOUNS));
        for n in 1..50 {
            let slug = if n == 1 {
                base.clone()
            } else {
                format!("{base}-{n}")
            };
            if taken.insert((project, slug.clone())) {
                return slug;
            }
        }
    }
}

fn descriptor(
    seed: u64,
    sizes: &ProfileSizes,
    index: usize,
    project: usize,
    slug: String,
    rng: &mut SimRng,
) -> Repo {
    let repo_seed = derive(seed, "repo", index as u64);
    let empty = index % 31 == 7;
    let u = rng.unit();
    let commits = if empty {
        0
    } else {
        1 + (u * u * sizes.max_commits as f64) as u64
    };
    let p = rng.unit();
    let pull_requests = if commits < 3 {
        0
    } else {
        (p * p * sizes.max_pull_requests as f64 * 1.5) as u64 % (sizes.max_pull_requests + 1)
    };
    let name = if rng.chance(0.25) {
        slug.split('-')
            .map(capitalise)
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        slug.clone()
    };
    let default_branch = match rng.below(20) {
        0..=13 => "main",
        14..=18 => "master",
        _ => "develop",
    };
    Repo {
        id: index as u32 + 1,
        project,
        description: if rng.chance(0.6) {
            Some(format!(
                "The {} {}.",
                slug.replace('-', " "),
                if rng.chance(0.5) {
                    "service"
                } else {
                    "library"
                }
            ))
        } else {
            None
        },
        slug,
        name,
        seed: repo_seed,
        commits,
        pull_requests,
        archived: index % 19 == 3,
        public: index % 23 == 5,
        forkable: !rng.chance(0.1),
        default_branch: default_branch.to_owned(),
        settings_shape: if rng.chance(0.2) {
            SettingsShape::Integer
        } else {
            SettingsShape::Object
        },
        created_ms: GENERATED_UNTIL_MS - DAY_MS * rng.between(60, 730) as i64,
    }
}
