//! ENDPOINTS against the agent's built-in allow-list, and against what the client really
//! sends: every read is allowed (in canonical form, so the audit log shows what we sent),
//! every write is refused, every rule is used, and each client method sends its sample.

use std::collections::BTreeSet;
use std::sync::Arc;

use http::Method;
use relay_shared::allowlist::{AllowList, Decision};

use super::scripted::{Script, client_with};
use crate::bitbucket::endpoints::ENDPOINTS;
use crate::bitbucket::model::{NewWebhook, PrOrder, PrState};

#[test]
fn endpoints_and_the_default_allow_list_agree() {
    let list = AllowList::builtin_default();
    let mut used = BTreeSet::new();
    for endpoint in ENDPOINTS {
        let method = Method::from_bytes(endpoint.method.as_bytes()).unwrap();
        match list.check(&method, endpoint.sample) {
            Decision::Allow { rule_id, target } => {
                assert!(
                    !endpoint.write,
                    "write {} is allowed by {rule_id}",
                    endpoint.id
                );
                assert_eq!(
                    target.as_str(),
                    endpoint.sample,
                    "{} is not canonical",
                    endpoint.id
                );
                used.insert(rule_id.to_string());
            }
            Decision::Deny(denial) => {
                assert!(endpoint.write, "{} is denied: {denial:?}", endpoint.id);
            }
        }
    }
    let unused: Vec<&str> = list
        .rules()
        .iter()
        .map(|r| r.id())
        .filter(|id| !used.contains(*id))
        .collect();
    assert!(
        unused.is_empty(),
        "default allow-list rules no endpoint uses: {unused:?}"
    );
}

#[test]
fn endpoint_ids_and_samples_are_unique() {
    let ids: BTreeSet<_> = ENDPOINTS.iter().map(|e| e.id).collect();
    let labels: BTreeSet<_> = ENDPOINTS.iter().map(|e| e.label()).collect();
    assert_eq!(ids.len(), ENDPOINTS.len());
    assert_eq!(labels.len(), ENDPOINTS.len());
}

/// Calls every client method once with the samples' arguments and compares the targets.
#[tokio::test(start_paused = true)]
async fn every_client_method_sends_its_sample() {
    let script = Arc::new(Script::answering(|_, target| {
        if target.ends_with("/default-branch") {
            // An old server without the endpoint: the client falls back to /branches/default.
            return Script::json(404, "{}");
        }
        if target.ends_with("/conditions") {
            return Script::json(200, "[]");
        }
        Script::json(200, r#"{"isLastPage": true, "values": [], "type": "FILE"}"#)
    }));
    let c = client_with(&script, Default::default());
    let (p, r) = ("PROJ", "my-repo");
    let sha = "4d2a5c1e9f0b7a3d6c8e1f2a4b5c6d7e8f9a0b1c";
    c.application_properties().await.unwrap();
    c.projects().await.unwrap();
    c.project(p).await.unwrap();
    c.repos(p).await.unwrap();
    c.all_repos().collect_all().await.unwrap();
    c.repo(p, r).await.unwrap();
    c.default_branch(p, r).await.unwrap();
    c.branches(p, r).await.unwrap();
    c.tags(p, r).await.unwrap();
    c.commits(p, r, "refs/heads/main", Some(sha), Some("services/api"))
        .collect_all()
        .await
        .unwrap();
    c.commit(p, r, sha).await.unwrap();
    c.files(p, r, "refs/heads/main", Some("services/api"))
        .await
        .unwrap();
    c.files(p, r, sha, None).await.unwrap();
    c.file_exists(p, r, "cortex.yaml", "refs/heads/main")
        .await
        .unwrap();
    c.raw(p, r, "services/api/package.json", sha, 1024)
        .await
        .unwrap();
    c.pull_requests_page(p, r, PrState::All, PrOrder::Newest, 0)
        .await
        .unwrap();
    c.pull_request(p, r, 42).await.unwrap();
    c.activities(p, r, 42).await.unwrap();
    c.participants(p, r, 42).await.unwrap();
    c.pull_request_settings(p, r).await.unwrap();
    c.default_reviewer_conditions(p, r).await.unwrap();
    c.branch_restrictions(p, r).await.unwrap();
    c.users().await.unwrap();
    c.user("jane.doe").await.unwrap();
    c.groups().await.unwrap();
    c.group_members("platform team").await.unwrap();
    c.webhooks(p, r).await.unwrap();
    c.create_webhook(p, r, &NewWebhook::default())
        .await
        .unwrap();

    let sent: BTreeSet<(String, String)> = script
        .requests()
        .into_iter()
        .map(|(m, t)| (m.to_string(), t))
        .collect();
    let samples: BTreeSet<(String, String)> = ENDPOINTS
        .iter()
        .map(|e| (e.method.to_owned(), e.sample.to_owned()))
        .collect();
    assert_eq!(sent, samples);
}
