//! The Bitbucket client against the simulator, in-process over `DirectTransport`: listings
//! equal the simulator's ground truth, paging across server caps, both `requiredApprovers`
//! shapes, 429 storms and 5xx bursts survived, credentials and permission errors reported
//! as such.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bitbucket_sim::credentials::{ADMIN_PASSWORD, ADMIN_USER, READ_TOKEN};
use bitbucket_sim::{Fault, PageCaps, Profile, RateLimitConfig, SimConfig, Simulator};
use bytes::Bytes;
use http::Method;
use relay_broker::bitbucket::{
    AccountLabel, BitbucketClient, ClientConfig, DirectOptions, DirectTransport, ErrorKind,
    NewWebhook, PrOrder, PrState, Transport, TransportError, TransportResponse,
};
use relay_shared::backoff::Backoff;
use relay_shared::credentials::AuthSettings;
use relay_shared::secret::SecretSource;
use tempfile::TempDir;

/// A simulator serving on an ephemeral port for the rest of the test.
struct Sim {
    sim: Simulator,
    url: String,
    dir: TempDir,
}

async fn start(config: SimConfig) -> Sim {
    let sim = Simulator::new(config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(sim.clone().serve(listener, std::future::pending()));
    Sim {
        sim,
        url,
        dir: tempfile::tempdir().unwrap(),
    }
}

impl Sim {
    fn secret(&self, name: &str, value: &str) -> SecretSource {
        let path = self.dir.path().join(name);
        std::fs::write(&path, value).unwrap();
        SecretSource::from_file(path)
    }

    fn basic(&self, user: &str, password: &str) -> AuthSettings {
        AuthSettings::Basic {
            username: user.to_owned(),
            password: self.secret(&format!("{user}.password"), password),
        }
    }

    fn admin(&self) -> AuthSettings {
        self.basic(ADMIN_USER, ADMIN_PASSWORD)
    }

    fn transport(&self, auth: &AuthSettings) -> DirectTransport {
        DirectTransport::new(&self.url, auth, DirectOptions::default()).unwrap()
    }

    fn client(&self, auth: &AuthSettings, config: ClientConfig) -> BitbucketClient {
        let transport: Arc<dyn Transport> = Arc::new(self.transport(auth));
        BitbucketClient::new(AccountLabel::new("acme", "dc"), transport, config)
    }
}

/// Fast retries, a budget that never slows the test down.
fn quick() -> ClientConfig {
    ClientConfig {
        rate_per_second: 10_000.0,
        burst: 10_000,
        backoff: Backoff::new(Duration::from_millis(10), Duration::from_millis(200)),
        timeout: Duration::from_secs(10),
        ..ClientConfig::default()
    }
}

fn unlimited() -> SimConfig {
    SimConfig::unlimited(Profile::Tiny)
}

/// Everything the engine reads about code, as comparable sets.
async fn code_snapshot(client: &BitbucketClient) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    for project in client.projects().await.unwrap() {
        for repo in client.repos(&project.key).await.unwrap() {
            let (p, r) = (project.key.as_str(), repo.slug.as_str());
            seen.insert(format!("repo {p}/{r}"));
            let Some(head) = client.default_branch(p, r).await.unwrap() else {
                continue;
            };
            let commits = client
                .commits(p, r, &head.latest_commit, None, None)
                .collect_all()
                .await
                .unwrap();
            seen.insert(format!("{p}/{r} commits {}", commits.len()));
            for tag in client.tags(p, r).await.unwrap() {
                seen.insert(format!("{p}/{r} tag {}", tag.display_id));
            }
        }
    }
    seen
}

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
async fn an_access_token_is_forbidden_on_admin_groups() {
    let env = start(unlimited()).await;
    let bearer = AuthSettings::Bearer {
        token: env.secret("token", READ_TOKEN),
    };
    let client = env.client(&bearer, quick());
    assert!(!client.users().await.unwrap().is_empty(), "reads work");
    let err = client.groups().await.unwrap_err();
    assert!(matches!(err.kind, ErrorKind::Forbidden { .. }), "{err}");
    assert!(!err.retryable);
    assert_eq!(err.endpoint, "GET /rest/api/1.0/admin/groups");
}

#[tokio::test]
async fn oauth2_refresh_tokens_work_for_admin_calls_and_rotate() {
    let env = start(unlimited()).await;
    let creds = env.sim.credentials().clone();
    let code = env.sim.issue_oauth_code(ADMIN_USER);
    let token_url = format!("{}/rest/oauth2/latest/token", env.url);
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("client_id", creds.oauth_client_id.as_str()),
        ("client_secret", creds.oauth_client_secret.as_str()),
        ("redirect_uri", creds.oauth_redirect_uri.as_str()),
    ];
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let tokens: serde_json::Value = http
        .post(&token_url)
        .form(&form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let state_file = env.dir.path().join("oauth-state.json");
    let auth = AuthSettings::Oauth2 {
        token_url,
        client_id: creds.oauth_client_id.clone(),
        client_secret: env.secret("client-secret", &creds.oauth_client_secret),
        refresh_token: env.secret("refresh", tokens["refresh_token"].as_str().unwrap()),
        state_file: state_file.clone(),
    };
    let client = env.client(&auth, quick());
    let groups = client.groups().await.unwrap();
    assert_eq!(
        groups.len(),
        env.sim.summary().groups,
        "OAuth 2.0 may call /admin"
    );
    assert!(
        state_file.exists(),
        "the rotated refresh token was persisted"
    );
}

#[tokio::test]
async fn bad_credentials_are_not_retried_and_say_so() {
    let env = start(unlimited()).await;
    let client = env.client(&env.basic(ADMIN_USER, "wrong"), quick());
    let err = client.projects().await.unwrap_err();
    assert!(matches!(err.kind, ErrorKind::Unauthorized { .. }), "{err}");
    assert_eq!(client.calls(), 1);
    let text = err.to_string();
    assert!(
        text.starts_with("account acme/dc: GET /rest/api/1.0/projects: 401"),
        "{text}"
    );
    assert!(text.ends_with("(not retried)"), "{text}");
    assert_eq!(env.sim.counters().total, 1);
}

/// A 429 storm: the server's bucket is much smaller than the client's budget, so the client
/// keeps being refused and must back off; nothing may be lost.
async fn survive_a_429_storm(retry_after_header: bool) {
    let reference = start(unlimited()).await;
    let expected = code_snapshot(&reference.client(&reference.admin(), quick())).await;
    let env = start(unlimited()).await;
    env.sim.set_rate_limit(RateLimitConfig {
        enabled: true,
        burst: 4,
        refill_per_second: 40.0,
        retry_after_header,
    });
    let config = ClientConfig {
        max_retries: 30,
        ..quick()
    };
    let client = env.client(&env.admin(), config);
    assert_eq!(code_snapshot(&client).await, expected);
    let needed = reference.sim.counters().total;
    assert!(
        client.calls() > needed,
        "the storm caused retries ({} calls for {needed} answers)",
        client.calls()
    );
}

#[tokio::test]
async fn survives_a_429_storm_honouring_retry_after() {
    survive_a_429_storm(true).await;
}

#[tokio::test]
async fn survives_a_429_storm_without_retry_after() {
    survive_a_429_storm(false).await;
}

/// A budget below the server's own limit means no 429 at all, even with parallel callers.
#[tokio::test]
async fn a_budget_below_the_servers_limit_never_meets_a_429() {
    let env = start(unlimited()).await;
    env.sim.set_rate_limit(RateLimitConfig {
        enabled: true,
        burst: 10,
        refill_per_second: 50.0,
        retry_after_header: true,
    });
    let config = ClientConfig {
        rate_per_second: 40.0,
        burst: 8,
        max_retries: 0,
        ..quick()
    };
    let client = env.client(&env.admin(), config);
    let tasks: Vec<_> = (0..80)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { c.application_properties().await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(client.calls(), 80);
    assert_eq!(env.sim.counters().total, 80);
}

/// Wraps a transport and clears the simulator's faults after `n` requests.
#[derive(Debug)]
struct RecoverAfter {
    inner: DirectTransport,
    sim: Simulator,
    n: usize,
    seen: AtomicUsize,
}

#[async_trait::async_trait]
impl Transport for RecoverAfter {
    async fn send(
        &self,
        method: Method,
        target: &str,
        body: Option<Bytes>,
        max_body: usize,
    ) -> Result<TransportResponse, TransportError> {
        let response = self.inner.send(method, target, body, max_body).await;
        if self.seen.fetch_add(1, Ordering::SeqCst) + 1 == self.n {
            self.sim.clear_faults();
        }
        response
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }
}

#[tokio::test]
async fn a_5xx_burst_is_survived_and_a_longer_one_reported() {
    let env = start(unlimited()).await;
    let fault = Fault {
        error_status: Some(503),
        error_rate: 1.0,
        ..Fault::default()
    };
    env.sim.set_fault(
        "GET /rest/api/1.0/projects/{key}/repos",
        Some(fault.clone()),
    );
    let transport: Arc<dyn Transport> = Arc::new(RecoverAfter {
        inner: env.transport(&env.admin()),
        sim: env.sim.clone(),
        n: 2,
        seen: AtomicUsize::new(0),
    });
    let client = BitbucketClient::new(AccountLabel::new("acme", "dc"), transport, quick());
    let project = env.sim.repos().into_iter().find(|r| !r.personal).unwrap();
    let repos = client.repos(&project.project_key).await.unwrap();
    assert!(!repos.is_empty());
    assert_eq!(client.calls(), 3, "two 503s, then the answer");

    env.sim.set_fault("*", Some(fault));
    let config = ClientConfig {
        max_retries: 2,
        ..quick()
    };
    let client = env.client(&env.admin(), config);
    let err = client.repos(&project.project_key).await.unwrap_err();
    assert!(
        matches!(err.kind, ErrorKind::Status { status: 503, .. }),
        "{err}"
    );
    assert!(err.retryable);
    assert_eq!(client.calls(), 3);
    assert!(
        err.to_string().contains("gave up after 3 attempts"),
        "{err}"
    );
}

#[tokio::test]
async fn connection_resets_are_retried() {
    let env = start(unlimited()).await;
    env.sim.set_fault(
        "GET /rest/api/1.0/projects",
        Some(Fault {
            reset_rate: 0.5,
            ..Fault::default()
        }),
    );
    let config = ClientConfig {
        max_retries: 20,
        ..quick()
    };
    let client = env.client(&env.admin(), config);
    for _ in 0..5 {
        assert_eq!(
            client.projects().await.unwrap().len(),
            env.sim.summary().projects
        );
    }
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
