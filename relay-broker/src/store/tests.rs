//! Store tests against [`SqliteStore`]: in memory, or on a temp file where the file matters.
//! Fixtures live here; the tests are split by concern like the implementation.

mod code;
mod identity;
mod isolation;
mod pulls;
mod status;

use chrono::{DateTime, TimeZone, Utc};

use super::*;

/// A time `minutes` after a fixed epoch, so orderings are exact.
fn t(minutes: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + minutes * 60, 0)
        .single()
        .unwrap()
}

fn account(tenant: &str) -> AccountKey {
    AccountKey::new(tenant, "main")
}

fn project(key: &str) -> ProjectRecord {
    ProjectRecord {
        key: key.into(),
        id: key.len() as i64,
        name: format!("Project {key}"),
        description: Some(format!("about {key}")),
        public: false,
        personal: false,
        link: Some(format!("https://bb.example/projects/{key}")),
    }
}

fn repo_record(project: &str, slug: &str) -> RepoRecord {
    RepoRecord {
        project: project.into(),
        slug: slug.into(),
        id: 7,
        name: slug.to_uppercase(),
        archived: false,
        public: false,
        link: Some(format!(
            "https://bb.example/projects/{project}/repos/{slug}"
        )),
        default_branch: Some("refs/heads/main".into()),
    }
}

fn commit(id: &str, email: Option<&str>, minutes: i64) -> CommitRecord {
    CommitRecord {
        id: id.into(),
        author_name: format!("Author of {id}"),
        author_email: email.map(Into::into),
        author_at: t(minutes),
        committer_at: t(minutes),
        message: format!("Commit {id}\n\nBody of {id}"),
        link: Some(format!("https://bb.example/commits/{id}")),
    }
}

fn release(name: &str, commit_id: &str, minutes: Option<i64>) -> ReleaseRecord {
    ReleaseRecord {
        name: name.into(),
        commit_id: commit_id.into(),
        commit_at: minutes.map(t),
        link: Some(format!("https://bb.example/tags/{name}")),
    }
}

/// A store with tenant `tenant`'s account `main`, project `PRJ` and repository `PRJ/app`.
async fn store_with_repo(tenant: &str) -> (SqliteStore, RepoKey) {
    let store = SqliteStore::in_memory().await.unwrap();
    let key = seed_repo(&store, tenant, "PRJ", "app").await;
    (store, key)
}

async fn seed_repo(store: &SqliteStore, tenant: &str, project_key: &str, slug: &str) -> RepoKey {
    let account = account(tenant);
    let mut projects: Vec<ProjectRecord> = store
        .projects(tenant)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    if !projects.iter().any(|p| p.key == project_key) {
        projects.push(project(project_key));
        store.replace_projects(&account, &projects).await.unwrap();
    }
    store
        .upsert_repo(&account, &repo_record(project_key, slug))
        .await
        .unwrap();
    account.repo(project_key, slug)
}

#[test]
fn busy_and_locked_codes_are_retryable() {
    for code in ["5", "6", "261", "517", "262", "40001", "40P01"] {
        assert!(super::is_busy_code(code), "{code}");
    }
    for code in ["19", "1555", "2067", "23505", "1"] {
        assert!(!super::is_busy_code(code), "{code}");
    }
}
