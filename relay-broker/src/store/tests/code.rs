//! Projects, repositories and code data: transactions, idempotence, cascades, repository reads.

use std::time::Instant;

use super::*;

fn full_update(repo: &RepoKey, head: &str, commits: Vec<CommitRecord>) -> CodeUpdate {
    CodeUpdate {
        new_commits: commits,
        releases: Some(vec![release("v1", "c1", Some(1))]),
        files: Some(vec![
            "README.md".into(),
            "src/main.rs".into(),
            "src/lib.rs".into(),
        ]),
        top_language: Some("Rust".into()),
        settings: Some(RepoSettings {
            required_approvals: Some(2),
            default_reviewers: serde_json::json!([{"name": "alice"}]),
            branch_restrictions: serde_json::json!([]),
        }),
        ..CodeUpdate::new(
            repo.clone(),
            Some("refs/heads/main".into()),
            Some(head.into()),
        )
    }
}

#[tokio::test]
async fn apply_code_writes_everything_a_code_sync_brings() {
    let (store, repo) = store_with_repo("t1").await;
    let commits = vec![
        commit("c1", Some("a@x.io"), 1),
        commit("c2", Some("b@x.io"), 2),
    ];
    store
        .apply_code(&full_update(&repo, "c2", commits))
        .await
        .unwrap();

    let state = store.repo_state(&repo).await.unwrap().unwrap();
    assert_eq!(state.head.as_deref(), Some("c2"));
    assert_eq!(state.commits, 2);
    assert!(state.code_synced_at.is_some());
    assert_eq!(
        state.settings.as_ref().and_then(|s| s.required_approvals),
        Some(2)
    );
    let summary = store.repo(&repo).await.unwrap().unwrap();
    assert_eq!(summary.file_count, Some(3));
    assert_eq!(summary.top_language.as_deref(), Some("Rust"));
    assert_eq!(summary.required_approvals, Some(2));
    assert_eq!(
        store.files(&repo).await.unwrap(),
        ["README.md", "src/lib.rs", "src/main.rs"]
    );
    assert_eq!(store.recent_releases(&repo, 5).await.unwrap().len(), 1);

    // A later update without files, releases or settings leaves them alone.
    let update = CodeUpdate {
        new_commits: vec![commit("c3", None, 3)],
        ..CodeUpdate::new(
            repo.clone(),
            Some("refs/heads/main".into()),
            Some("c3".into()),
        )
    };
    store.apply_code(&update).await.unwrap();
    let state = store.repo_state(&repo).await.unwrap().unwrap();
    assert_eq!((state.head.as_deref(), state.commits), (Some("c3"), 3));
    assert_eq!(
        store.repo(&repo).await.unwrap().unwrap().file_count,
        Some(3)
    );
    assert_eq!(store.recent_releases(&repo, 5).await.unwrap().len(), 1);
    assert!(state.settings.is_some());
}

#[tokio::test]
async fn apply_code_is_all_or_nothing() {
    let (store, repo) = store_with_repo("t1").await;
    store
        .apply_code(&full_update(&repo, "c1", vec![commit("c1", None, 1)]))
        .await
        .unwrap();

    // Commits and the head go in first; the duplicate release name then violates the releases
    // primary key, so the whole update must roll back.
    let mut update = full_update(
        &repo,
        "c3",
        vec![commit("c2", None, 2), commit("c3", None, 3)],
    );
    update.replace_history = true;
    update.files = Some(vec!["only.txt".into()]);
    update.releases = Some(vec![
        release("v2", "c3", Some(3)),
        release("v2", "c3", Some(3)),
    ]);
    let err = store.apply_code(&update).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Database {
                op: "apply_code",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("t1/main/PRJ/app"), "{err}");
    assert!(!err.is_retryable());

    let state = store.repo_state(&repo).await.unwrap().unwrap();
    assert_eq!(state.head.as_deref(), Some("c1"));
    assert_eq!(state.commits, 1);
    let ids: Vec<String> = store
        .recent_commits(&repo, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, ["c1"]);
    assert_eq!(store.files(&repo).await.unwrap().len(), 3);
    let releases = store.recent_releases(&repo, 5).await.unwrap();
    assert_eq!(
        releases.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        ["v1"]
    );
}

#[tokio::test]
async fn apply_code_for_an_unknown_repository_is_not_found() {
    let (store, repo) = store_with_repo("t1").await;
    let missing = repo.account().repo("PRJ", "nope");
    let err = store
        .apply_code(&full_update(&missing, "c1", vec![]))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    let err = store
        .append_commits(&missing, &[commit("c1", None, 1)])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Database { .. }), "{err:?}");
}

#[tokio::test]
async fn commit_appends_are_idempotent() {
    let (store, repo) = store_with_repo("t1").await;
    let first: Vec<CommitRecord> = (0..10).map(|i| commit(&format!("c{i}"), None, i)).collect();
    assert_eq!(store.append_commits(&repo, &first).await.unwrap(), 10);
    // A resumed sync re-sends the last page plus new commits: only the new ones count.
    let again: Vec<CommitRecord> = (5..15).map(|i| commit(&format!("c{i}"), None, i)).collect();
    assert_eq!(store.append_commits(&repo, &again).await.unwrap(), 5);
    assert_eq!(store.append_commits(&repo, &again).await.unwrap(), 0);
    let state = store.repo_state(&repo).await.unwrap().unwrap();
    assert_eq!((state.commits, state.head), (15, None));
    // apply_code's new commits are idempotent too.
    let update = CodeUpdate {
        new_commits: again,
        ..CodeUpdate::new(repo.clone(), None, Some("c14".into()))
    };
    store.apply_code(&update).await.unwrap();
    assert_eq!(store.counts("t1").await.unwrap().commits, 15);
}

#[tokio::test]
async fn replace_history_drops_the_rewritten_commits() {
    let (store, repo) = store_with_repo("t1").await;
    store
        .append_commits(&repo, &[commit("old1", None, 1), commit("old2", None, 2)])
        .await
        .unwrap();
    let update = CodeUpdate {
        new_commits: vec![commit("new1", None, 3)],
        replace_history: true,
        ..CodeUpdate::new(repo.clone(), None, Some("new1".into()))
    };
    store.apply_code(&update).await.unwrap();
    let ids: Vec<String> = store
        .recent_commits(&repo, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, ["new1"]);
}

#[tokio::test]
async fn long_messages_are_capped_at_a_character_boundary() {
    let (store, repo) = store_with_repo("t1").await;
    let mut long = commit("c1", None, 1);
    long.message = "é".repeat(MAX_MESSAGE_BYTES); // two bytes each
    store.append_commits(&repo, &[long]).await.unwrap();
    let stored = store.recent_commits(&repo, 1).await.unwrap().remove(0);
    assert_eq!(stored.message.len(), MAX_MESSAGE_BYTES);
    assert!(stored.message.chars().all(|c| c == 'é'));
}

#[tokio::test]
async fn replace_projects_removes_a_vanished_project_with_its_repositories() {
    let store = SqliteStore::in_memory().await.unwrap();
    let kept = seed_repo(&store, "t1", "KEEP", "app").await;
    let gone = seed_repo(&store, "t1", "GONE", "lib").await;
    for repo in [&kept, &gone] {
        store
            .apply_code(&full_update(repo, "c1", vec![commit("c1", None, 1)]))
            .await
            .unwrap();
        store
            .apply_pull_request(repo, &super::pulls::pr(1, 5), &[])
            .await
            .unwrap();
    }
    let mut renamed = project("KEEP");
    renamed.name = "Renamed".into();
    store
        .replace_projects(&account("t1"), &[renamed])
        .await
        .unwrap();

    let projects = store.projects("t1").await.unwrap();
    assert_eq!(projects.len(), 1);
    assert_eq!(projects[0].1.name, "Renamed");
    assert!(store.repo(&gone).await.unwrap().is_none());
    assert!(store.repo(&kept).await.unwrap().is_some());
    let counts = store.counts("t1").await.unwrap();
    assert_eq!((counts.repos, counts.commits, counts.releases), (1, 1, 1));
    assert_eq!((counts.files, counts.pull_requests), (3, 1));
}

#[tokio::test]
async fn retain_repos_deletes_the_missing_ones() {
    let store = SqliteStore::in_memory().await.unwrap();
    let a = seed_repo(&store, "t1", "PRJ", "a").await;
    let b = seed_repo(&store, "t1", "PRJ", "b").await;
    store
        .append_commits(&b, &[commit("c1", None, 1)])
        .await
        .unwrap();
    let removed = store.retain_repos(&account("t1"), &[a.id()]).await.unwrap();
    assert_eq!(removed, 1);
    assert!(store.repo(&b).await.unwrap().is_none());
    assert_eq!(store.counts("t1").await.unwrap().commits, 0);
    assert_eq!(
        store.retain_repos(&account("t1"), &[a.id()]).await.unwrap(),
        0
    );
}

#[tokio::test]
async fn upsert_repo_keeps_the_default_branch_when_the_listing_lacks_it() {
    let (store, repo) = store_with_repo("t1").await;
    let mut listed = repo_record("PRJ", "app");
    listed.default_branch = None;
    listed.archived = true;
    store.upsert_repo(&account("t1"), &listed).await.unwrap();
    let summary = store.repo(&repo).await.unwrap().unwrap();
    assert_eq!(summary.default_branch.as_deref(), Some("refs/heads/main"));
    assert!(summary.archived);
}

#[tokio::test]
async fn repos_are_filtered_and_paged() {
    let store = SqliteStore::in_memory().await.unwrap();
    for slug in ["a", "b", "c"] {
        seed_repo(&store, "t1", "ONE", slug).await;
    }
    seed_repo(&store, "t1", "TWO", "z").await;
    let slugs = |r: Vec<RepoSummary>| r.into_iter().map(|r| r.slug).collect::<Vec<_>>();
    let all = store.repos("t1", &RepoFilter::default()).await.unwrap();
    assert_eq!(slugs(all), ["a", "b", "c", "z"]);
    let filter = RepoFilter {
        project: Some("ONE".into()),
        page: Page::new(1, 5),
        ..Default::default()
    };
    assert_eq!(slugs(store.repos("t1", &filter).await.unwrap()), ["b", "c"]);
    let filter = RepoFilter {
        alias: Some("other".into()),
        ..Default::default()
    };
    assert!(store.repos("t1", &filter).await.unwrap().is_empty());
}

#[tokio::test]
async fn top_contributors_group_by_case_insensitive_email() {
    let (store, repo) = store_with_repo("t1").await;
    let mut commits = vec![
        commit("c1", Some("Alice@Example.com"), 1),
        commit("c2", Some("alice@example.com"), 2),
        commit("c3", Some(" ALICE@example.COM "), 3),
        commit("c4", Some("bob@example.com"), 4),
        commit("c5", Some("bob@example.com"), 5),
        commit("c6", None, 6),
        commit("c7", Some("carol@example.com"), 7),
    ];
    commits[2].author_name = "Alice Newest".into();
    commits[5].author_name = "No Email".into();
    store.append_commits(&repo, &commits).await.unwrap();

    let top = store.top_contributors(&repo, 3).await.unwrap();
    let got: Vec<(&str, u64)> = top.iter().map(|c| (c.name.as_str(), c.commits)).collect();
    assert_eq!(got[0], ("Alice Newest", 3));
    assert_eq!(got[1], ("Author of c5", 2));
    assert_eq!(got.len(), 3);
    assert_eq!(top[0].email.as_deref(), Some(" ALICE@example.COM "));
}

#[tokio::test]
async fn recent_commits_and_releases_are_newest_first() {
    let (store, repo) = store_with_repo("t1").await;
    let commits: Vec<CommitRecord> = (0..15)
        .map(|i| commit(&format!("c{i:02}"), None, i))
        .collect();
    let update = CodeUpdate {
        new_commits: commits,
        releases: Some(vec![
            release("v1", "c01", Some(1)),
            release("untimed", "c02", None),
            release("v3", "c10", Some(10)),
            release("v2", "c05", Some(5)),
        ]),
        ..CodeUpdate::new(repo.clone(), None, Some("c14".into()))
    };
    store.apply_code(&update).await.unwrap();
    let recent = store.recent_commits(&repo, 10).await.unwrap();
    assert_eq!(recent.len(), 10);
    assert_eq!(recent[0].id, "c14");
    assert_eq!(recent[9].id, "c05");
    assert_eq!(recent[0].title(), "Commit c14");
    let names: Vec<String> = store
        .recent_releases(&repo, 5)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(names, ["v3", "v2", "v1", "untimed"]);
}

#[tokio::test]
async fn events_merge_commits_and_releases_newest_first_and_page_without_overlap() {
    let (store, repo) = store_with_repo("t1").await;
    let commits: Vec<CommitRecord> = (0..7)
        .map(|i| commit(&format!("c{i}"), None, i * 10))
        .collect();
    let update = CodeUpdate {
        new_commits: commits,
        releases: Some(vec![
            release("v0.1", "c1", Some(10)), // same time as its commit: commit sorts first
            release("v0.2", "c4", Some(45)),
            release("nightly", "c6", None),
        ]),
        ..CodeUpdate::new(repo.clone(), None, Some("c6".into()))
    };
    store.apply_code(&update).await.unwrap();

    let all = store.events(&repo, Page::new(0, 100)).await.unwrap();
    let order: Vec<&str> = all.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(
        order,
        [
            "c6", "c5", "v0.2", "c4", "c3", "c2", "c1", "v0.1", "c0", "nightly"
        ]
    );
    assert_eq!(all[0].kind, EventKind::Commit);
    assert_eq!(all[0].title, "Commit c6");
    assert_eq!(all[2].kind, EventKind::Release);
    assert!(
        all[2]
            .link
            .as_deref()
            .is_some_and(|l| l.ends_with("/tags/v0.2"))
    );
    assert_eq!(all[9].at, None);

    let mut paged = Vec::new();
    for offset in (0..12).step_by(3) {
        paged.extend(store.events(&repo, Page::new(offset, 3)).await.unwrap());
    }
    assert_eq!(paged, all);
}

/// Prints the figure for `docs/store.md`; asserts only the count (no timing assertion).
#[tokio::test]
async fn appending_ten_thousand_commits_in_one_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("bench.sqlite"))
        .await
        .unwrap();
    let repo = seed_repo(&store, "t1", "PRJ", "big").await;
    let commits: Vec<CommitRecord> = (0..10_000)
        .map(|i| {
            let mut c = commit(
                &format!("{i:040x}"),
                Some(&format!("dev{}@example.com", i % 50)),
                i,
            );
            c.message = format!("Change {i}: a commit message of a realistic length\n\nDetails.");
            c
        })
        .collect();
    let started = Instant::now();
    let inserted = store.append_commits(&repo, &commits).await.unwrap();
    let elapsed = started.elapsed();
    println!(
        "store: appended {inserted} commits in {} ms (file-backed, WAL)",
        elapsed.as_millis()
    );
    assert_eq!(inserted, 10_000);
    let started = Instant::now();
    assert_eq!(store.append_commits(&repo, &commits).await.unwrap(), 0);
    println!(
        "store: re-appended 10000 duplicate commits in {} ms",
        started.elapsed().as_millis()
    );
}

#[tokio::test]
async fn repo_states_in_bulk_agree_with_repo_state() {
    let store = SqliteStore::in_memory().await.unwrap();
    let empty = seed_repo(&store, "t1", "PRJ", "empty").await;
    let busy = seed_repo(&store, "t1", "PRJ", "busy").await;
    let other = seed_repo(&store, "t1", "ZZZ", "other").await;
    store
        .apply_code(&full_update(
            &busy,
            "c2",
            vec![commit("c1", None, 1), commit("c2", None, 7)],
        ))
        .await
        .unwrap();
    store
        .apply_pull_request(&busy, &super::pulls::pr(1, 30), &[])
        .await
        .unwrap();
    store
        .append_commits(&other, &[commit("x", None, 3)])
        .await
        .unwrap();

    let states = store.repo_states(&account("t1")).await.unwrap();
    let ids: Vec<String> = states
        .iter()
        .map(|(id, _)| format!("{}/{}", id.project, id.slug))
        .collect();
    assert_eq!(ids, ["PRJ/busy", "PRJ/empty", "ZZZ/other"]);
    for (key, (_, bulk)) in [&busy, &empty, &other].into_iter().zip(&states) {
        assert_eq!(store.repo_state(key).await.unwrap().as_ref(), Some(bulk));
    }
    let busy_state = &states[0].1;
    assert_eq!(
        (busy_state.commits, busy_state.last_commit_at),
        (2, Some(t(7)))
    );
    assert_eq!(busy_state.pr_high_water, Some(t(30)));
    assert_eq!((states[1].1.commits, states[1].1.last_commit_at), (0, None));
    assert!(
        store
            .repo_states(&AccountKey::new("t1", "other"))
            .await
            .unwrap()
            .is_empty()
    );
}
