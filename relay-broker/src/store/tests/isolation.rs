//! Two tenants with the same alias, project and repository keys: every read of one returns
//! only its own rows. Each tenant's values carry its name, so a leak shows in the JSON.

use super::*;

/// Writes one of everything for `tenant`, every text value marked with the tenant's name.
async fn seed_tenant(store: &SqliteStore, tenant: &str) -> RepoKey {
    let account = account(tenant);
    let repo = seed_repo(store, tenant, "PRJ", "app").await;
    let mark = |s: &str| format!("{tenant}-{s}");
    let mut c = commit(&mark("c1"), Some(&format!("{tenant}@example.com")), 1);
    c.author_name = mark("author");
    let update = CodeUpdate {
        new_commits: vec![c],
        releases: Some(vec![release(&mark("v1"), &mark("c1"), Some(2))]),
        files: Some(vec![mark("README.md")]),
        top_language: Some(mark("lang")),
        ..CodeUpdate::new(repo.clone(), Some(mark("main")), Some(mark("c1")))
    };
    store.apply_code(&update).await.unwrap();
    let mut pr = super::pulls::pr(1, 5);
    pr.title = mark("pr");
    pr.author.slug = mark("alice");
    pr.reviewers[0].slug = mark("bob");
    let activity = ActivityRecord {
        id: 1,
        action: mark("OPENED"),
        user_slug: Some(mark("alice")),
        at: t(1),
    };
    store
        .apply_pull_request(&repo, &pr, &[activity])
        .await
        .unwrap();
    let user = UserRecord {
        id: 1,
        slug: mark("alice"),
        name: mark("alice"),
        display_name: mark("Alice"),
        email: Some("shared@example.com".into()),
        active: true,
    };
    let other = UserRecord {
        slug: mark("nomail"),
        email: None,
        ..user.clone()
    };
    store.replace_users(&account, &[user, other]).await.unwrap();
    let group = GroupRecord {
        name: mark("devs"),
        members: vec![mark("alice")],
    };
    store
        .replace_groups(&account, Some(&[group]), Some(&mark("degraded")))
        .await
        .unwrap();
    let people = [
        PersonRecord {
            email: "SHARED@example.com".into(),
            name: mark("person"),
        },
        PersonRecord {
            email: format!("{tenant}-only@example.com"),
            name: mark("lonely"),
        },
    ];
    store.replace_people(tenant, &people).await.unwrap();
    let run = store
        .begin_run(&account, SyncKind::Repositories)
        .await
        .unwrap();
    let outcome = RunOutcome {
        status: RunStatus::Ok,
        calls: 1,
        errors: vec![mark("error")],
        detail: serde_json::json!({ "tenant": tenant }),
    };
    store.finish_run(run, &outcome).await.unwrap();
    store
        .set_checkpoint(&account, "scope", "key", &mark("checkpoint"))
        .await
        .unwrap();
    repo
}

/// The JSON of `value` mentions `own` and never `foreign`.
fn assert_only(what: &str, value: impl serde::Serialize, own: &str, foreign: &str) {
    let json = serde_json::to_string(&value).unwrap();
    assert!(json.contains(own), "{what}: {own} missing from {json}");
    assert!(
        !json.contains(foreign),
        "{what}: {foreign} leaked into {json}"
    );
}

#[tokio::test]
async fn every_read_is_isolated_by_tenant() {
    let store = SqliteStore::in_memory().await.unwrap();
    let r1 = seed_tenant(&store, "t1").await;
    let r2 = seed_tenant(&store, "t2").await;
    for (repo, foreign) in [(&r1, "t2-"), (&r2, "t1-")] {
        assert_repo_reads_isolated(&store, repo, foreign).await;
        assert_account_reads_isolated(&store, repo, foreign).await;
    }
    // Writes are isolated too: replacing one tenant's projects leaves the other's alone.
    store.replace_projects(&account("t1"), &[]).await.unwrap();
    store.replace_people("t1", &[]).await.unwrap();
    assert_eq!(store.counts("t1").await.unwrap().repos, 0);
    let t2 = store.counts("t2").await.unwrap();
    assert_eq!((t2.repos, t2.commits, t2.people), (1, 1, 2));
    assert!(store.repo(&r2).await.unwrap().is_some());
}

/// Projects, repositories, code and pull requests.
async fn assert_repo_reads_isolated(s: &SqliteStore, repo: &RepoKey, foreign: &str) {
    let tenant = repo.tenant.as_str();
    let own = &format!("{tenant}-");
    macro_rules! only {
        ($what:literal, $read:expr) => {
            assert_only($what, $read.await.unwrap(), own, foreign)
        };
    }
    // Project and repository records carry no marked text: count them instead.
    assert_eq!(s.projects(tenant).await.unwrap().len(), 1);
    assert_eq!(
        s.repos(tenant, &RepoFilter::default()).await.unwrap().len(),
        1
    );
    only!("repo_state", s.repo_state(repo));
    only!("repo_states", s.repo_states(&repo.account()));
    only!("repo", s.repo(repo));
    only!("files", s.files(repo));
    only!("contributors", s.top_contributors(repo, 3));
    only!("commits", s.recent_commits(repo, 10));
    only!("releases", s.recent_releases(repo, 5));
    only!("events", s.events(repo, Page::default()));
    only!(
        "pull_requests",
        s.pull_requests(tenant, &PrFilter::default())
    );
    only!("activities", s.activities(repo, 1));
    let reviewer = |slug: String| PrFilter {
        reviewer: Some(slug),
        ..Default::default()
    };
    let mine = s
        .pull_requests(tenant, &reviewer(format!("{own}bob")))
        .await
        .unwrap();
    assert_eq!(mine.len(), 1);
    let theirs = s
        .pull_requests(tenant, &reviewer(format!("{foreign}bob")))
        .await
        .unwrap();
    assert!(theirs.is_empty());
}

/// Runs, checkpoints, identities and counts.
async fn assert_account_reads_isolated(s: &SqliteStore, repo: &RepoKey, foreign: &str) {
    let (tenant, account) = (repo.tenant.as_str(), repo.account());
    let own = &format!("{tenant}-");
    macro_rules! only {
        ($what:literal, $read:expr) => {
            assert_only($what, $read.await.unwrap(), own, foreign)
        };
    }
    only!("last_runs", s.last_runs(tenant));
    only!("checkpoint", s.checkpoint(&account, "scope", "key"));
    only!("users", s.users(tenant, None));
    only!("groups", s.groups(tenant, None));
    only!("groups_state", s.groups_state(&account));
    // Both tenants' people share an email: each maps only to its own tenant's user.
    let mapping = s.identity_mapping(tenant).await.unwrap();
    let sizes = (mapping.mapped.len(), mapping.unmapped_users.len());
    assert_eq!((sizes.0, sizes.1, mapping.unmapped_people.len()), (1, 1, 1));
    assert_only("identity_mapping", mapping, own, foreign);
    let c = s.counts(tenant).await.unwrap();
    assert_eq!(
        (c.projects, c.repos, c.commits, c.releases, c.files),
        (1, 1, 1, 1, 1)
    );
    assert_eq!(
        (c.pull_requests, c.activities, c.users, c.groups),
        (1, 1, 2, 1)
    );
    assert_eq!((c.group_members, c.people), (1, 2));
}

#[tokio::test]
async fn purging_an_account_leaves_the_other_accounts_and_tenants() {
    let store = SqliteStore::in_memory().await.unwrap();
    let r1 = seed_tenant(&store, "t1").await;
    seed_tenant(&store, "t2").await;
    let dc = AccountKey::new("t1", "dc");
    store.replace_projects(&dc, &[project("DC")]).await.unwrap();
    store
        .upsert_repo(&dc, &repo_record("DC", "svc"))
        .await
        .unwrap();
    let dc_repo = dc.repo("DC", "svc");
    store
        .append_commits(&dc_repo, &[commit("c1", None, 1)])
        .await
        .unwrap();

    store.purge_account(&r1.account()).await.unwrap();
    let t1 = store.counts("t1").await.unwrap();
    let expected = Counts {
        projects: 1,
        repos: 1,
        commits: 1,
        people: 2,
        ..Counts::default()
    };
    assert_eq!(
        t1, expected,
        "only the dc account and the tenant's people remain"
    );
    assert!(store.repo(&dc_repo).await.unwrap().is_some());
    assert!(store.last_runs("t1").await.unwrap().is_empty());
    assert_eq!(store.groups_state(&r1.account()).await.unwrap(), None);
    assert_eq!(
        store
            .checkpoint(&r1.account(), "scope", "key")
            .await
            .unwrap(),
        None
    );
    let t2 = store.counts("t2").await.unwrap();
    assert_eq!((t2.repos, t2.commits, t2.users, t2.groups), (1, 1, 2, 1));
    assert_eq!(store.last_runs("t2").await.unwrap().len(), 1);
}
