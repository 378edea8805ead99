//! Pull requests: upserts replace reviewers and activities, the high-water mark, listings.

use super::*;

fn person(slug: &str, status: &str) -> ReviewerRecord {
    ReviewerRecord {
        slug: slug.into(),
        name: format!("User {slug}"),
        email: Some(format!("{slug}@example.com")),
        status: status.into(),
        approved: status == "APPROVED",
    }
}

/// Pull request `id` by `alice`, reviewed by `bob`, last updated at minute `updated`.
pub(super) fn pr(id: i64, updated: i64) -> PullRequestRecord {
    PullRequestRecord {
        id,
        version: 0,
        title: format!("PR {id}"),
        description: None,
        state: PrState::Open,
        author: PrUser {
            slug: "alice".into(),
            display_name: "Alice".into(),
            email: Some("alice@example.com".into()),
        },
        created_at: t(0),
        updated_at: t(updated),
        closed_at: None,
        from_branch: format!("refs/heads/feature-{id}"),
        to_branch: "refs/heads/main".into(),
        link: Some(format!("https://bb.example/pull-requests/{id}")),
        reviewers: vec![person("bob", "UNAPPROVED")],
        participants: vec![],
    }
}

fn activity(id: i64, action: &str, user: &str, minutes: i64) -> ActivityRecord {
    ActivityRecord {
        id,
        action: action.into(),
        user_slug: Some(user.into()),
        at: t(minutes),
    }
}

#[tokio::test]
async fn upserting_a_pull_request_replaces_its_reviewers_and_activities() {
    let (store, repo) = store_with_repo("t1").await;
    let opened = [
        activity(1, "OPENED", "alice", 0),
        activity(2, "COMMENTED", "bob", 1),
    ];
    store
        .apply_pull_request(&repo, &pr(1, 1), &opened)
        .await
        .unwrap();

    let mut merged = pr(1, 9);
    merged.version = 3;
    merged.state = PrState::Merged;
    merged.closed_at = Some(t(9));
    merged.reviewers = vec![person("bob", "APPROVED"), person("carol", "NEEDS_WORK")];
    merged.participants = vec![person("dave", "UNAPPROVED")];
    let later = [
        activity(1, "OPENED", "alice", 0),
        activity(3, "APPROVED", "bob", 5),
        activity(4, "MERGED", "alice", 9),
    ];
    store
        .apply_pull_request(&repo, &merged, &later)
        .await
        .unwrap();

    let listed = store
        .pull_requests("t1", &PrFilter::default())
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].alias.as_str(), listed[0].project.as_str()),
        ("main", "PRJ")
    );
    assert_eq!(listed[0].slug, "app");
    assert_eq!(listed[0].pr, merged);
    let actions: Vec<String> = store
        .activities(&repo, 1)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.action)
        .collect();
    assert_eq!(actions, ["OPENED", "APPROVED", "MERGED"]);
    let counts = store.counts("t1").await.unwrap();
    assert_eq!(counts.pull_requests_by_state.get("MERGED"), Some(&1));
    assert_eq!((counts.pull_requests, counts.activities), (1, 3));
}

#[tokio::test]
async fn the_high_water_mark_is_the_newest_update() {
    let (store, repo) = store_with_repo("t1").await;
    assert_eq!(
        store
            .repo_state(&repo)
            .await
            .unwrap()
            .unwrap()
            .pr_high_water,
        None
    );
    for (id, updated) in [(1, 30), (2, 90), (3, 60)] {
        store
            .apply_pull_request(&repo, &pr(id, updated), &[])
            .await
            .unwrap();
    }
    assert_eq!(
        store
            .repo_state(&repo)
            .await
            .unwrap()
            .unwrap()
            .pr_high_water,
        Some(t(90))
    );
    store.delete_pull_request(&repo, 2).await.unwrap();
    assert_eq!(
        store
            .repo_state(&repo)
            .await
            .unwrap()
            .unwrap()
            .pr_high_water,
        Some(t(60))
    );
    assert_eq!(store.counts("t1").await.unwrap().pull_requests, 2);
}

#[tokio::test]
async fn deleting_a_pull_request_deletes_its_reviewers_and_activities() {
    let (store, repo) = store_with_repo("t1").await;
    store
        .apply_pull_request(&repo, &pr(1, 1), &[activity(1, "OPENED", "alice", 0)])
        .await
        .unwrap();
    store.delete_pull_request(&repo, 1).await.unwrap();
    let counts = store.counts("t1").await.unwrap();
    assert_eq!((counts.pull_requests, counts.activities), (0, 0));
    let people: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pr_people")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(people, 0);
}

#[tokio::test]
async fn pull_requests_filter_by_state_author_reviewer_and_repository() {
    let store = SqliteStore::in_memory().await.unwrap();
    let app = seed_repo(&store, "t1", "PRJ", "app").await;
    let lib = seed_repo(&store, "t1", "PRJ", "lib").await;
    store
        .apply_pull_request(&app, &pr(1, 10), &[])
        .await
        .unwrap();
    let mut by_carol = pr(2, 20);
    by_carol.author.slug = "carol".into();
    by_carol.reviewers = vec![person("erin", "UNAPPROVED")];
    by_carol.participants = vec![person("bob", "UNAPPROVED")];
    store
        .apply_pull_request(&app, &by_carol, &[])
        .await
        .unwrap();
    let mut declined = pr(1, 30);
    declined.state = PrState::Declined;
    store
        .apply_pull_request(&lib, &declined, &[])
        .await
        .unwrap();

    let ids = |filter: PrFilter| {
        let store = store.clone();
        async move {
            let listed = store.pull_requests("t1", &filter).await.unwrap();
            listed
                .into_iter()
                .map(|l| format!("{}#{}", l.slug, l.pr.id))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(ids(PrFilter::default()).await, ["lib#1", "app#2", "app#1"]);
    let open = PrFilter {
        state: Some(PrState::Open),
        ..Default::default()
    };
    assert_eq!(ids(open).await, ["app#2", "app#1"]);
    let carol = PrFilter {
        author: Some("carol".into()),
        ..Default::default()
    };
    assert_eq!(ids(carol).await, ["app#2"]);
    // bob reviews #1 in both repositories; on #2 he is only a participant.
    let bob = PrFilter {
        reviewer: Some("bob".into()),
        ..Default::default()
    };
    assert_eq!(ids(bob).await, ["lib#1", "app#1"]);
    let in_app = PrFilter {
        repo: Some("app".into()),
        page: Page::new(1, 1),
        ..Default::default()
    };
    assert_eq!(ids(in_app).await, ["app#1"]);
}

#[tokio::test]
async fn a_long_listing_carries_every_reviewer() {
    let (store, repo) = store_with_repo("t1").await;
    for id in 1..=1200 {
        store
            .apply_pull_request(&repo, &pr(id, id), &[])
            .await
            .unwrap();
    }
    let filter = PrFilter {
        page: Page::new(0, 5000),
        ..Default::default()
    };
    let listed = store.pull_requests("t1", &filter).await.unwrap();
    assert_eq!(listed.len(), 1200);
    assert!(
        listed
            .iter()
            .all(|l| l.pr.reviewers.len() == 1 && l.pr.reviewers[0].slug == "bob")
    );
    assert_eq!(listed[0].pr.id, 1200, "most recently updated first");
}
