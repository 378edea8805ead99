//! The Bitbucket client against the simulator, in-process over `DirectTransport`: listings
//! equal the simulator's ground truth, paging across server caps, both `requiredApprovers`
//! shapes, credentials and permission errors (`auth`), 429 storms, 5xx bursts and resets
//! survived (`resilience`), HTTPS with a private CA (`tls`).
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

#[path = "bitbucket_client/auth.rs"]
mod auth;
#[path = "bitbucket_client/resilience.rs"]
mod resilience;
#[path = "bitbucket_client/support.rs"]
mod support;
#[path = "bitbucket_client/tls.rs"]
mod tls;

use std::collections::BTreeSet;

use bitbucket_sim::{PageCaps, Profile, SimConfig};
use http::Method;
use relay_broker::bitbucket::{ErrorKind, NewWebhook, PrOrder, PrState, Transport};
use support::{code_snapshot, quick, start, unlimited};

#[tokio::test]
async fn listings_equal_the_simulators_data() {
    let env = start(unlimited()).await;
    let client = env.client(&env.admin(), quick());
    let props = client.application_properties().await.unwrap();
    assert!(props.version.starts_with("9."), "{props:?}");

    let summary = env.sim.summary();
    let projects = client.projects().await.unwrap();
    assert_eq!(projects.len(), summary.projects);
    let mut listed = BTreeSet::new();
    for project in &projects {
        for repo in client.repos(&project.key).await.unwrap() {
            assert_eq!(repo.project.key, project.key);
            listed.insert((project.key.clone(), repo.slug.clone()));
        }
    }
    let expected: BTreeSet<_> = env
        .sim
        .repos()
        .into_iter()
        .filter(|r| !r.personal)
        .map(|r| (r.project_key, r.slug))
        .collect();
    assert_eq!(listed, expected);
    let everything: Vec<_> = client.all_repos().collect_all().await.unwrap();
    assert_eq!(everything.len(), summary.repos, "personal repos included");

    for info in env.sim.repos().into_iter().filter(|r| !r.personal) {
        let (p, r) = (info.project_key.as_str(), info.slug.as_str());
        let head = client.default_branch(p, r).await.unwrap();
        assert_eq!(head.as_ref().map(|b| b.latest_commit.clone()), info.head);
        let Some(head) = head else { continue };
        assert_eq!(head.display_id, info.default_branch);
        let commits = client
            .commits(p, r, &head.id, None, None)
            .collect_all()
            .await
            .unwrap();
        assert_eq!(commits.len() as u64, info.commits, "{p}/{r}");
        let ids: BTreeSet<_> = commits.iter().map(|c| c.id.clone()).collect();
        assert_eq!(ids.len(), commits.len(), "no duplicates");
        let tags: BTreeSet<_> = client
            .tags(p, r)
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.display_id)
            .collect();
        assert_eq!(tags, info.tags.iter().cloned().collect());
        let files: BTreeSet<_> = client
            .files(p, r, &head.latest_commit, None)
            .await
            .unwrap()
            .into_iter()
            .collect();
        assert_eq!(files, info.files.iter().cloned().collect());
    }
}

#[tokio::test]
async fn commits_stop_before_since_and_start_at_until() {
    let env = start(unlimited()).await;
    let client = env.client(&env.admin(), quick());
    let info = env
        .sim
        .repos()
        .into_iter()
        .filter(|r| !r.personal && r.commits >= 10)
        .max_by_key(|r| r.commits)
        .unwrap();
    let (p, r) = (info.project_key.as_str(), info.slug.as_str());
    let head = info.head.clone().unwrap();
    let all = client
        .commits(p, r, &head, None, None)
        .collect_all()
        .await
        .unwrap();
    assert_eq!(all[0].id, head, "newest first");
    let since = &all[5].id;
    let newer = client
        .commits(p, r, &head, Some(since), None)
        .collect_all()
        .await
        .unwrap();
    let newer_ids: BTreeSet<_> = newer.iter().map(|c| c.id.as_str()).collect();
    assert!(!newer_ids.contains(since.as_str()), "since is exclusive");
    assert!(newer.len() >= 5 && newer.len() < all.len());
    assert!(newer.iter().all(|c| all.iter().any(|a| a.id == c.id)));
    let from_middle = client
        .commits(p, r, &all[3].id, None, None)
        .collect_all()
        .await
        .unwrap();
    assert_eq!(from_middle[0].id, all[3].id);
    let one = client.commit(p, r, &all[3].id).await.unwrap();
    assert_eq!(one, all[3]);
}

/// A monorepo basepath: files below a directory (relative to it) and the commits touching it.
#[tokio::test]
async fn files_and_commits_below_a_directory() {
    let env = start(unlimited()).await;
    let client = env.client(&env.admin(), quick());
    let (info, dir) = env
        .sim
        .repos()
        .into_iter()
        .filter(|r| !r.personal)
        .find_map(|r| {
            let dir = r
                .files
                .iter()
                .find_map(|f| f.split_once('/').map(|(d, _)| d.to_owned()))?;
            Some((r, dir))
        })
        .expect("a repository with a directory");
    let (p, r) = (info.project_key.as_str(), info.slug.as_str());
    let head = info.head.clone().unwrap();
    let below: BTreeSet<String> = client
        .files(p, r, &head, Some(&format!("/{dir}/")))
        .await
        .unwrap()
        .into_iter()
        .collect();
    let prefix = format!("{dir}/");
    let expected: BTreeSet<String> = info
        .files
        .iter()
        .filter_map(|f| f.strip_prefix(&prefix).map(str::to_owned))
        .collect();
    assert_eq!(below, expected);
    let all = client
        .commits(p, r, &head, None, None)
        .collect_all()
        .await
        .unwrap();
    let touching = client
        .commits(p, r, &head, None, Some(&dir))
        .collect_all()
        .await
        .unwrap();
    assert!(!touching.is_empty() && touching.len() <= all.len());
    let missing = client
        .files(p, r, &head, Some("no-such-dir"))
        .await
        .unwrap_err();
    assert!(missing.is_not_found(), "{missing}");
}

#[tokio::test]
async fn pages_across_server_caps_return_every_item_once() {
    let caps = PageCaps {
        projects: 1,
        repos: 2,
        commits: 7,
        tags: 1,
        files: 3,
        pull_requests: 2,
        activities: 2,
        users: 3,
        ..PageCaps::default()
    };
    let capped = start(SimConfig {
        page_caps: caps,
        ..unlimited()
    })
    .await;
    let reference = start(unlimited()).await;
    let client = capped.client(&capped.admin(), quick());
    let uncapped = reference.client(&reference.admin(), quick());
    assert_eq!(code_snapshot(&client).await, code_snapshot(&uncapped).await);
    assert_eq!(
        client.users().await.unwrap(),
        uncapped.users().await.unwrap()
    );
    let repo = capped
        .sim
        .repos()
        .into_iter()
        .find(|r| !r.personal && r.pull_requests >= 3)
        .unwrap();
    let (p, r) = (repo.project_key.as_str(), repo.slug.as_str());
    let prs: Vec<_> = client
        .pull_requests(p, r, PrState::All, PrOrder::Newest)
        .collect_all()
        .await
        .unwrap();
    assert_eq!(prs.len() as u64, repo.pull_requests);
    let first = client
        .pull_requests_page(p, r, PrState::All, PrOrder::Newest, 0)
        .await
        .unwrap();
    assert_eq!((first.limit, first.values.len()), (2, 2), "capped at 2");
    assert_eq!(first.next_page_start, Some(2));
    for pr in &prs {
        let activities = client.activities(p, r, pr.id).await.unwrap();
        let reference_activities = uncapped.activities(p, r, pr.id).await.unwrap();
        assert_eq!(activities, reference_activities);
    }
    assert!(
        client.calls() > uncapped.calls(),
        "capped pages cost more calls"
    );
}

#[tokio::test]
async fn pull_requests_participants_and_review_policy() {
    let env = start(unlimited()).await;
    let client = env.client(&env.admin(), quick());
    let summary = env.sim.summary();
    let (mut open, mut merged, mut declined) = (0, 0, 0);
    for info in env.sim.repos().into_iter().filter(|r| !r.personal) {
        let (p, r) = (info.project_key.as_str(), info.slug.as_str());
        let page = client
            .pull_requests_page(p, r, PrState::All, PrOrder::Newest, 0)
            .await
            .unwrap();
        assert!(page.is_last_page, "tiny repos fit one page");
        let updated: Vec<_> = page.values.iter().map(|pr| pr.updated_date).collect();
        assert!(updated.windows(2).all(|w| w[0] >= w[1]), "newest first");
        for pr in &page.values {
            match pr.state.as_str() {
                "OPEN" => open += 1,
                "MERGED" => merged += 1,
                "DECLINED" => declined += 1,
                other => panic!("state {other}"),
            }
            assert_eq!(client.pull_request(p, r, pr.id).await.unwrap().id, pr.id);
            let activities = client.activities(p, r, pr.id).await.unwrap();
            assert!(activities.iter().any(|a| a.action.as_str() == "OPENED"));
            client.participants(p, r, pr.id).await.unwrap();
        }
        let settings = client.pull_request_settings(p, r).await.unwrap();
        assert!(matches!(settings.required_approvers, Some(1..=3)));
        client.default_reviewer_conditions(p, r).await.unwrap();
        client.branch_restrictions(p, r).await.unwrap();
    }
    assert_eq!(
        (open, merged, declined),
        (
            summary.pull_requests_open,
            summary.pull_requests_merged,
            summary.pull_requests_declined
        )
    );
}

/// The demo profile has repositories with each shape (9.x object, older integer).
#[tokio::test]
async fn required_approvers_decode_in_both_server_shapes() {
    let env = start(SimConfig::unlimited(Profile::Demo)).await;
    let client = env.client(&env.admin(), quick());
    let transport = env.transport(&env.admin());
    let mut shapes = BTreeSet::new();
    for info in env.sim.repos() {
        let (p, r) = (info.project_key.as_str(), info.slug.as_str());
        let settings = client.pull_request_settings(p, r).await.unwrap();
        let target = format!("/rest/api/1.0/projects/{p}/repos/{r}/settings/pull-requests");
        let raw = transport
            .send(Method::GET, &target, None, 1 << 20)
            .await
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&raw.body).unwrap();
        let required = &json["requiredApprovers"];
        let expected = match required.as_u64() {
            Some(n) => n,
            None => required["count"].as_str().unwrap().parse().unwrap(),
        };
        shapes.insert(required.is_object());
        assert_eq!(
            settings.required_approvers,
            Some(expected as u32),
            "{p}/{r}"
        );
    }
    assert_eq!(shapes.len(), 2, "both shapes seen");
}

#[tokio::test]
async fn empty_repositories_have_no_default_branch() {
    let env = start(unlimited()).await;
    let client = env.client(&env.admin(), quick());
    let empty = env
        .sim
        .repos()
        .into_iter()
        .find(|r| r.head.is_none())
        .expect("the tiny profile has an empty repository");
    let branch = client
        .default_branch(&empty.project_key, &empty.slug)
        .await
        .unwrap();
    assert_eq!(branch, None);
    let missing = client
        .default_branch(&empty.project_key, "no-such-repo")
        .await;
    assert!(missing.unwrap_err().is_not_found());
    let raw = client
        .raw(&empty.project_key, &empty.slug, "README.md", "main", 1024)
        .await
        .unwrap();
    assert_eq!(raw, None);
}

#[tokio::test]
async fn raw_files_are_read_within_their_limit() {
    let env = start(unlimited()).await;
    let client = env.client(&env.admin(), quick());
    let info = env
        .sim
        .repos()
        .into_iter()
        .find(|r| !r.personal && !r.files.is_empty())
        .unwrap();
    let (p, r) = (info.project_key.as_str(), info.slug.as_str());
    let head = info.head.unwrap();
    let path = &info.files[0];
    let content = client
        .raw(p, r, path, &head, 1 << 20)
        .await
        .unwrap()
        .unwrap();
    assert!(!content.is_empty());
    assert!(client.file_exists(p, r, path, &head).await.unwrap());
    assert!(
        !client
            .file_exists(p, r, "no/such/file", &head)
            .await
            .unwrap()
    );
    let err = client.raw(p, r, path, &head, 1).await.unwrap_err();
    assert!(
        matches!(err.kind, ErrorKind::BodyTooLarge { limit: 1 }),
        "{err}"
    );
}

#[tokio::test]
async fn users_groups_and_members_with_admin_basic_auth() {
    let env = start(unlimited()).await;
    let client = env.client(&env.admin(), quick());
    let users = client.users().await.unwrap();
    assert_eq!(users.len(), env.sim.summary().users);
    assert!(users.iter().any(|u| u.email_address.is_some()));
    let groups = client.groups().await.unwrap();
    let expected: BTreeSet<_> = env.sim.groups().into_iter().map(|g| g.name).collect();
    assert_eq!(groups.iter().cloned().collect::<BTreeSet<_>>(), expected);
    for group in env.sim.groups() {
        let members = client.group_members(&group.name).await.unwrap();
        let ids: BTreeSet<u64> = members.iter().map(|u| u.id).collect();
        let want: BTreeSet<u64> = group.members.iter().map(|&id| u64::from(id)).collect();
        assert_eq!(ids, want, "group {}", group.name);
    }
    let someone = &users[0];
    assert_eq!(client.user(&someone.slug).await.unwrap().id, someone.id);
}

#[tokio::test]
async fn creates_and_lists_a_webhook() {
    let env = start(unlimited()).await;
    let client = env.client(&env.admin(), quick());
    let info = env.sim.repos().into_iter().find(|r| !r.personal).unwrap();
    let (p, r) = (info.project_key.as_str(), info.slug.as_str());
    let hook = NewWebhook {
        name: "relay".into(),
        url: "http://127.0.0.1:9/hook".into(),
        events: vec!["repo:refs_changed".into(), "pr:opened".into()],
        active: true,
        configuration: [("secret".to_owned(), "s3cret".to_owned())].into(),
    };
    let created = client.create_webhook(p, r, &hook).await.unwrap();
    assert_eq!(created.name, "relay");
    let listed = client.webhooks(p, r).await.unwrap();
    assert!(
        listed
            .iter()
            .any(|h| h.id == created.id && h.events == hook.events)
    );
}
