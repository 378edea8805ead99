//! The identities pass: users with emails, then groups and their members. Groups need admin
//! access (`/admin/groups`); without it the pass keeps the previous groups, records a degraded
//! state with the reason, and still succeeds for users.

use serde_json::json;

use super::convert;
use super::engine::{AccountRuntime, PassResult, SyncError};
use crate::bitbucket::ErrorKind;
use crate::store::{GroupRecord, Store};

pub async fn pass(rt: &AccountRuntime, store: &dyn Store) -> Result<PassResult, SyncError> {
    let users: Vec<_> = rt.client.users().await?.iter().map(convert::user).collect();
    store.replace_users(&rt.key, &users).await?;
    let mut result = PassResult::default();
    let groups = match rt.client.groups().await {
        Ok(names) => {
            let mut groups = Vec::with_capacity(names.len());
            for name in names {
                let members = rt.client.group_members(&name).await?;
                groups.push(GroupRecord {
                    name,
                    members: members.iter().map(|u| u.slug.clone()).collect(),
                });
            }
            store.replace_groups(&rt.key, Some(&groups), None).await?;
            Some(groups.len())
        }
        Err(err)
            if matches!(
                err.kind,
                ErrorKind::Forbidden { .. } | ErrorKind::Unauthorized { .. }
            ) =>
        {
            let reason = format!(
                "groups unavailable: the account lacks admin access to /admin/groups ({}); use basic auth or OAuth 2.0 of an admin user, not an HTTP access token",
                err.kind
            );
            store.replace_groups(&rt.key, None, Some(&reason)).await?;
            result.errors.push(reason);
            None
        }
        Err(err) => return Err(err.into()),
    };
    result.detail = json!({ "users": users.len(), "groups": groups });
    Ok(result)
}
