//! Opening and migrating, sync runs, checkpoints.

use super::*;

#[tokio::test]
async fn migrations_on_a_fresh_file_enable_wal_and_foreign_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested-name.sqlite");
    let store = SqliteStore::open(&path).await.unwrap();
    assert!(path.exists());
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(fk, 1);
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name NOT LIKE '_sqlx%' ORDER BY name",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    for table in [
        "commits",
        "people",
        "pull_requests",
        "repos",
        "sync_runs",
        "users",
    ] {
        assert!(
            tables.iter().any(|t| t == table),
            "{table} missing from {tables:?}"
        );
    }
    // Data survives a reopen; migrations already applied are skipped.
    let key = seed_repo(&store, "t1", "PRJ", "app").await;
    store.close().await;
    let store = SqliteStore::open(&path).await.unwrap();
    assert!(store.repo(&key).await.unwrap().is_some());
}

#[tokio::test]
async fn open_names_the_path_when_it_cannot_be_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing-dir").join("store.sqlite");
    let err = SqliteStore::open(&path).await.unwrap_err();
    assert!(matches!(err, StoreError::Open { .. }), "{err:?}");
    assert!(err.to_string().contains("missing-dir"), "{err}");
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn runs_report_the_latest_per_alias_and_kind() {
    let store = SqliteStore::in_memory().await.unwrap();
    let main = AccountKey::new("t1", "main");
    let other = AccountKey::new("t1", "other");
    let first = store
        .begin_run(&main, SyncKind::Repositories)
        .await
        .unwrap();
    let outcome = RunOutcome {
        status: RunStatus::Failed,
        calls: 3,
        errors: vec!["boom".into()],
        detail: serde_json::json!({}),
    };
    store.finish_run(first, &outcome).await.unwrap();
    let second = store
        .begin_run(&main, SyncKind::Repositories)
        .await
        .unwrap();
    let outcome = RunOutcome {
        status: RunStatus::Ok,
        calls: 42,
        errors: vec![],
        detail: serde_json::json!({"repos": 2}),
    };
    store.finish_run(second, &outcome).await.unwrap();
    let running = store
        .begin_run(&other, SyncKind::PullRequests)
        .await
        .unwrap();

    let runs = store.last_runs("t1").await.unwrap();
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert_eq!((runs[0].alias.as_str(), runs[0].id), ("main", second));
    assert_eq!(runs[0].status, RunStatus::Ok);
    assert_eq!(runs[0].calls, 42);
    assert_eq!(runs[0].detail, serde_json::json!({"repos": 2}));
    assert!(runs[0].duration_ms.is_some_and(|d| d >= 0));
    assert_eq!((runs[1].id, runs[1].status), (running, RunStatus::Running));
    assert_eq!(runs[1].finished_at, None);

    // After a restart, the run that was still going is marked interrupted.
    assert_eq!(store.interrupt_unfinished_runs().await.unwrap(), 1);
    let runs = store.last_runs("t1").await.unwrap();
    assert_eq!(runs[1].status, RunStatus::Interrupted);
    assert!(runs[1].finished_at.is_some());

    let err = store.finish_run(9999, &outcome).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
}

#[tokio::test]
async fn checkpoints_are_set_replaced_and_cleared() {
    let store = SqliteStore::in_memory().await.unwrap();
    let a = account("t1");
    assert_eq!(
        store.checkpoint(&a, "commits", "PRJ/app").await.unwrap(),
        None
    );
    store
        .set_checkpoint(&a, "commits", "PRJ/app", "page:25")
        .await
        .unwrap();
    store
        .set_checkpoint(&a, "commits", "PRJ/app", "page:50")
        .await
        .unwrap();
    store
        .set_checkpoint(&a, "prs", "PRJ/app", "x")
        .await
        .unwrap();
    assert_eq!(
        store
            .checkpoint(&a, "commits", "PRJ/app")
            .await
            .unwrap()
            .as_deref(),
        Some("page:50")
    );
    store
        .clear_checkpoint(&a, "commits", "PRJ/app")
        .await
        .unwrap();
    assert_eq!(
        store.checkpoint(&a, "commits", "PRJ/app").await.unwrap(),
        None
    );
    assert_eq!(
        store
            .checkpoint(&a, "prs", "PRJ/app")
            .await
            .unwrap()
            .as_deref(),
        Some("x")
    );
}

#[tokio::test]
async fn webhook_deliveries_are_recorded_once() {
    let store = SqliteStore::in_memory().await.unwrap();
    let main = account("t1");
    assert!(store.record_delivery(&main, "req-1").await.unwrap());
    assert!(!store.record_delivery(&main, "req-1").await.unwrap());
    // Another account or tenant with the same request id is a different delivery.
    assert!(
        store
            .record_delivery(&AccountKey::new("t1", "dc"), "req-1")
            .await
            .unwrap()
    );
    assert!(
        store
            .record_delivery(&account("t2"), "req-1")
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn pruning_keeps_the_latest_run_of_each_kind_and_running_ones() {
    let store = SqliteStore::in_memory().await.unwrap();
    let main = account("t1");
    let done = RunOutcome {
        status: RunStatus::Ok,
        calls: 0,
        errors: vec![],
        detail: serde_json::Value::Null,
    };
    let mut ids = Vec::new();
    for _ in 0..3 {
        let id = store
            .begin_run(&main, SyncKind::PullRequests)
            .await
            .unwrap();
        store.finish_run(id, &done).await.unwrap();
        ids.push(id);
    }
    let running = store.begin_run(&main, SyncKind::Identities).await.unwrap();
    let lone = store
        .begin_run(&main, SyncKind::Repositories)
        .await
        .unwrap();
    store.finish_run(lone, &done).await.unwrap();
    store.record_delivery(&main, "old").await.unwrap();

    let deleted = store
        .prune_history(Utc::now() + chrono::Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(deleted, 2 + 1, "two older PR runs and one delivery");
    let mut kept: Vec<i64> = sqlx::query_scalar("SELECT id FROM sync_runs")
        .fetch_all(store.pool())
        .await
        .unwrap();
    kept.sort_unstable();
    assert_eq!(kept, [ids[2], running, lone]);
    assert!(
        store.record_delivery(&main, "old").await.unwrap(),
        "pruned, so new again"
    );
    assert_eq!(store.prune_history(t(0)).await.unwrap(), 0);
}

#[tokio::test]
async fn api_account_specs_are_saved_replaced_listed_and_deleted() {
    let store = SqliteStore::in_memory().await.unwrap();
    let a = AccountKey::new("t1", "dc");
    let b = AccountKey::new("t2", "dc");
    store
        .save_account(&a, &serde_json::json!({"kind": "server-direct"}))
        .await
        .unwrap();
    store
        .save_account(&a, &serde_json::json!({"kind": "server-relay"}))
        .await
        .unwrap();
    store
        .save_account(&b, &serde_json::json!({"kind": "server-direct"}))
        .await
        .unwrap();
    let specs = store.account_specs().await.unwrap();
    assert_eq!(specs.len(), 2);
    let (key, spec) = specs.iter().find(|(k, _)| k.tenant == "t1").unwrap();
    assert_eq!(
        (key, spec),
        (&a, &serde_json::json!({"kind": "server-relay"}))
    );
    assert!(store.delete_account_spec(&a).await.unwrap());
    assert!(!store.delete_account_spec(&a).await.unwrap());
    assert_eq!(
        store.account_specs().await.unwrap(),
        [(b, serde_json::json!({"kind": "server-direct"}))]
    );
}
