//! Users, groups, memberships and project grants.

use serde::Deserialize;

use super::{MutationError, user_id};
use crate::Simulator;
use crate::model::{GENERATED_UNTIL_MS, Group, ProjectPermission, User};

/// A user to add.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub name: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    /// `<name>-secret` when absent.
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub admin: bool,
}

/// Who a project grant is for.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PermissionTarget {
    User(String),
    Group(String),
}

impl Simulator {
    /// Adds a user; returns its id.
    pub fn add_user(&self, new: NewUser) -> Result<u32, MutationError> {
        let mut data = self.shared.write();
        if new.name.is_empty() || new.name.contains(['/', ' ']) {
            return Err(MutationError::Invalid(format!(
                "bad username {:?}",
                new.name
            )));
        }
        if data.world.user_index(&new.name).is_some() {
            return Err(MutationError::Conflict(format!("user {} exists", new.name)));
        }
        let id = data.world.users.len() as u32 + 1;
        data.world.users.push(User {
            id,
            slug: new.name.to_lowercase(),
            display_name: new.display_name.unwrap_or_else(|| new.name.clone()),
            email: new.email,
            active: true,
            service: false,
            admin: new.admin,
            password: Some(
                new.password
                    .unwrap_or_else(|| format!("{}-secret", new.name)),
            ),
            directory: "Bitbucket Internal Directory",
            last_authentication_ms: Some(GENERATED_UNTIL_MS),
            name: new.name,
        });
        data.world.reindex();
        Ok(id)
    }

    pub fn add_group(&self, name: &str) -> Result<(), MutationError> {
        let mut data = self.shared.write();
        if data.world.group_index(name).is_some() {
            return Err(MutationError::Conflict(format!("group {name} exists")));
        }
        data.world.groups.push(Group {
            name: name.to_owned(),
            members: Vec::new(),
        });
        Ok(())
    }

    pub fn add_group_member(&self, group: &str, user: &str) -> Result<(), MutationError> {
        let mut data = self.shared.write();
        let uid = user_id(&data, user)?;
        let g = data
            .world
            .group_index(group)
            .ok_or_else(|| MutationError::NoSuchGroup(group.to_owned()))?;
        if let Some(g) = data.world.groups.get_mut(g)
            && !g.members.contains(&uid)
        {
            g.members.push(uid);
            g.members.sort_unstable();
        }
        Ok(())
    }

    /// Grants (or raises) a project permission to a user or group.
    pub fn grant_project(
        &self,
        key: &str,
        target: PermissionTarget,
        permission: ProjectPermission,
    ) -> Result<(), MutationError> {
        let mut data = self.shared.write();
        let p = data
            .world
            .project_index(key)
            .ok_or_else(|| MutationError::NoSuchProject(key.to_owned()))?;
        match target {
            PermissionTarget::User(name) => {
                let uid = user_id(&data, &name)?;
                if let Some(project) = data.world.projects.get_mut(p) {
                    project.user_grants.retain(|(u, _)| *u != uid);
                    project.user_grants.push((uid, permission));
                }
            }
            PermissionTarget::Group(name) => {
                let g = data
                    .world
                    .group_index(&name)
                    .ok_or_else(|| MutationError::NoSuchGroup(name.clone()))?;
                let group_name = data
                    .world
                    .groups
                    .get(g)
                    .map(|g| g.name.clone())
                    .unwrap_or(name);
                if let Some(project) = data.world.projects.get_mut(p) {
                    project.group_grants.retain(|(n, _)| *n != group_name);
                    project.group_grants.push((group_name, permission));
                }
            }
        }
        Ok(())
    }
}
