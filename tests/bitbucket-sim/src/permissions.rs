//! Who may see and change what: project grants to users and groups, personal projects,
//! public repos, system admins.

use crate::auth::Caller;
use crate::generate::World;
use crate::model::{ProjectPermission, Repo};

/// The strongest project permission `user` holds on project `project` (an index).
pub fn project_permission(world: &World, user: u32, project: usize) -> Option<ProjectPermission> {
    let p = world.projects.get(project)?;
    let u = world.user(user)?;
    if u.admin || p.owner == Some(user) {
        return Some(ProjectPermission::Admin);
    }
    let direct = p
        .user_grants
        .iter()
        .filter(|(id, _)| *id == user)
        .map(|(_, perm)| *perm);
    let via_groups = p.group_grants.iter().filter_map(|(name, perm)| {
        world
            .groups
            .iter()
            .find(|g| &g.name == name)
            .filter(|g| g.members.contains(&user))
            .map(|_| *perm)
    });
    let implicit = (p.all_users_read || p.public).then_some(ProjectPermission::Read);
    direct.chain(via_groups).chain(implicit).max()
}

pub fn can_see_project(world: &World, caller: &Caller, project: usize) -> bool {
    match caller.user {
        Some(u) => project_permission(world, u, project).is_some(),
        None => false,
    }
}

pub fn can_see_repo(world: &World, caller: &Caller, repo: &Repo) -> bool {
    caller.user.is_some() && (repo.public || can_see_project(world, caller, repo.project))
}

/// May the caller change the repo (webhooks, pull requests)? Needs project write and a
/// token scope that allows writing.
pub fn can_write_repo(world: &World, caller: &Caller, repo: &Repo) -> bool {
    !caller.read_only()
        && caller
            .user
            .and_then(|u| project_permission(world, u, repo.project))
            .is_some_and(|p| p >= ProjectPermission::Write)
}
