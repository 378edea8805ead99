//! Webhook signatures and deliveries to a real receiver on an ephemeral port.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod common;

use bitbucket_sim::webhooks::signature;
use bitbucket_sim::{NewPullRequest, Outcome, PushRequest, RepoRef, Simulator};
use common::{Received, admin, post_json, receiver, tiny};
use http::StatusCode;
use serde_json::{Value, json};

#[test]
fn signature_matches_the_recorded_test_vector() {
    let body = include_bytes!("fixtures/cloud-webhook-signed-payload.json");
    assert_eq!(
        signature("Gkvl$k$wyNpQAF42", body),
        "sha256=f205c729821c6954aff2afe72b965c34015b4baf96ea8ddc2cc44999c014a035"
    );
}

const SECRET: &str = "it's a secret";

async fn register(sim: &Simulator, repo: &RepoRef, url: &str, events: &[&str]) {
    let uri = format!(
        "/rest/api/1.0/projects/{}/repos/{}/webhooks",
        repo.project, repo.slug
    );
    let body =
        json!({"name": "test", "url": url, "events": events, "configuration": {"secret": SECRET}});
    let r = post_json(&sim.router(), &uri, &admin(sim), body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
}

/// Checks the headers and signature of a delivery and returns its payload.
fn verified(got: &Received, event_key: &str) -> Value {
    assert_eq!(got.headers["x-event-key"], event_key);
    let request_id = got.headers["x-request-id"].to_str().unwrap();
    assert_eq!(request_id.len(), 36, "uuid-like: {request_id}");
    assert_eq!(
        got.headers["x-hub-signature"].to_str().unwrap(),
        signature(SECRET, &got.body)
    );
    let payload: Value = serde_json::from_slice(&got.body).unwrap();
    if event_key != "diagnostics:ping" {
        assert_eq!(payload["eventKey"], event_key);
        let date = payload["date"].as_str().unwrap();
        assert!(date.ends_with("+0000") && date.len() == 24, "{date}");
        assert!(payload["actor"]["name"].is_string());
    }
    payload
}

fn a_repo(sim: &Simulator) -> RepoRef {
    let r = sim
        .repos()
        .into_iter()
        .find(|r| r.commits > 5 && !r.personal)
        .unwrap();
    RepoRef::new(&r.project_key, &r.slug)
}

#[tokio::test]
async fn push_sends_a_signed_refs_changed() {
    let sim = tiny();
    let repo = a_repo(&sim);
    let before = sim.repo(&repo.project, &repo.slug).unwrap().head.unwrap();
    let (url, mut rx) = receiver().await;
    register(&sim, &repo, &url, &["repo:refs_changed"]).await;
    let ids = sim.push(&repo, PushRequest::default()).unwrap();
    let got = rx.recv().await.unwrap();
    let payload = verified(&got, "repo:refs_changed");
    let change = &payload["changes"][0];
    assert_eq!(change["type"], "UPDATE");
    assert_eq!(change["fromHash"], before.as_str());
    assert_eq!(change["toHash"], ids[0].as_str());
    assert_eq!(payload["repository"]["slug"], repo.slug.as_str());
    sim.wait_for_deliveries(1).await;
    assert_eq!(sim.webhook_deliveries()[0].outcome, Outcome::Delivered);
}

#[tokio::test]
async fn pull_request_lifecycle_sends_each_event_only_to_subscribers() {
    let sim = tiny();
    let repo = a_repo(&sim);
    let (url, mut rx) = receiver().await;
    let events = [
        "pr:opened",
        "pr:reviewer:approved",
        "pr:reviewer:needs_work",
        "pr:modified",
        "pr:merged",
        "pr:declined",
        "pr:deleted",
    ];
    register(&sim, &repo, &url, &events).await;
    sim.create_branch(&repo, "feature/webhooks", None).unwrap();
    sim.push(
        &repo,
        PushRequest {
            branch: Some("feature/webhooks".into()),
            ..PushRequest::default()
        },
    )
    .unwrap();
    let new = |title: &str| NewPullRequest {
        from_branch: "feature/webhooks".into(),
        to_branch: None,
        title: title.into(),
        description: "Adds webhooks".into(),
        author: "alice".into(),
        reviewers: vec!["admin".into()],
    };
    let id = sim.open_pull_request(&repo, new("First")).unwrap();
    assert_eq!(
        verified(&rx.recv().await.unwrap(), "pr:opened")["pullRequest"]["id"],
        id
    );
    sim.needs_work_pull_request(&repo, id, "admin").unwrap();
    let nw = verified(&rx.recv().await.unwrap(), "pr:reviewer:needs_work");
    assert_eq!(nw["participant"]["status"], "NEEDS_WORK");
    assert_eq!(nw["previousStatus"], "UNAPPROVED");
    sim.approve_pull_request(&repo, id, "admin").unwrap();
    let ap = verified(&rx.recv().await.unwrap(), "pr:reviewer:approved");
    assert_eq!(ap["previousStatus"], "NEEDS_WORK");
    sim.update_pull_request(&repo, id, "alice", Some("Renamed".into()), None)
        .unwrap();
    assert_eq!(
        verified(&rx.recv().await.unwrap(), "pr:modified")["pullRequest"]["title"],
        "Renamed"
    );
    sim.merge_pull_request(&repo, id, "admin").unwrap();
    let merged = verified(&rx.recv().await.unwrap(), "pr:merged");
    assert_eq!(merged["pullRequest"]["state"], "MERGED");
    assert!(merged["pullRequest"]["closedDate"].is_i64());
    assert!(merged["pullRequest"]["properties"]["mergeCommit"]["id"].is_string());
    // repo:refs_changed is not subscribed: nothing else arrives for the merge.
    let second = sim.open_pull_request(&repo, new("Second")).unwrap();
    verified(&rx.recv().await.unwrap(), "pr:opened");
    sim.decline_pull_request(&repo, second, "alice").unwrap();
    assert_eq!(
        verified(&rx.recv().await.unwrap(), "pr:declined")["pullRequest"]["state"],
        "DECLINED"
    );
    sim.delete_pull_request(&repo, second, "alice").unwrap();
    verified(&rx.recv().await.unwrap(), "pr:deleted");
    sim.wait_for_deliveries(8).await;
    assert!(
        sim.webhook_deliveries()
            .iter()
            .all(|d| d.outcome == Outcome::Delivered)
    );
    assert!(
        sim.webhook_deliveries()
            .iter()
            .all(|d| d.event_key != "repo:refs_changed")
    );
}

#[tokio::test]
async fn ping_is_sent_whatever_the_subscription() {
    let sim = tiny();
    let repo = a_repo(&sim);
    let (url, mut rx) = receiver().await;
    register(&sim, &repo, &url, &["pr:opened"]).await;
    let r = post_json(
        &sim.router(),
        "/sim/webhooks/1/ping",
        &common::Auth::None,
        json!(null),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
    let payload = verified(&rx.recv().await.unwrap(), "diagnostics:ping");
    assert_eq!(payload, json!({"test": true}));
}

#[tokio::test]
async fn failed_deliveries_are_recorded_not_retried() {
    let sim = tiny();
    let repo = a_repo(&sim);
    // A port nothing listens on any more.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", closed.local_addr().unwrap());
    drop(closed);
    register(&sim, &repo, &url, &["repo:refs_changed"]).await;
    sim.push(&repo, PushRequest::default()).unwrap();
    sim.wait_for_deliveries(1).await;
    let deliveries = sim.webhook_deliveries();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].outcome, Outcome::Failed);
    assert!(deliveries[0].error.is_some());
    let served = common::get(
        &sim.router(),
        "/sim/webhooks/deliveries",
        &common::Auth::None,
    )
    .await
    .json();
    assert_eq!(served[0]["outcome"], "failed");
}

#[tokio::test]
async fn project_webhooks_hear_events_of_every_repo_in_the_project() {
    let sim = tiny();
    let repo = a_repo(&sim);
    let (url, mut rx) = receiver().await;
    let uri = format!("/rest/api/1.0/projects/{}/webhooks", repo.project);
    let body = json!({"name": "p", "url": url, "events": ["repo:refs_changed"], "configuration": {"secret": SECRET}});
    let created = post_json(&sim.router(), &uri, &admin(&sim), body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    assert_eq!(created.json()["scopeType"], "project");
    sim.create_tag(&repo, "v42.0.0", None, false).unwrap();
    let payload = verified(&rx.recv().await.unwrap(), "repo:refs_changed");
    assert_eq!(payload["changes"][0]["ref"]["type"], "TAG");
    assert_eq!(payload["changes"][0]["type"], "ADD");
    assert_eq!(payload["changes"][0]["fromHash"], "0".repeat(40));
    // alice may read the project but not administer its webhooks.
    let refused = post_json(
        &sim.router(),
        &uri,
        &common::alice(&sim),
        json!({"name": "x", "url": "http://127.0.0.1:9/"}),
    )
    .await;
    assert!(
        matches!(
            refused.status,
            StatusCode::UNAUTHORIZED | StatusCode::NOT_FOUND
        ),
        "{}",
        refused.status
    );
}
