//! The sync engine end to end: simulator ⇄ agent (default allow-list) ⇄ tunnel ⇄ broker ⇄ store,
//! checked through the broker's API and against the simulator's own data and counters.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::time::Duration;

use bitbucket_sim::{
    FileWrite, NewPullRequest, Profile, PushRequest, RateLimitConfig, RepoRef, SimConfig, Simulator,
};
use relay_e2e::harness::{
    ALIAS, AgentOptions, BitbucketTarget, Harness, OTHER_TOKEN, TENANT, TOKEN, TenantExtras,
};
use serde_json::Value;

struct Setup {
    h: Harness,
    sim: Simulator,
    agent: relay_e2e::harness::AgentUnderTest,
}

async fn start_sim(rate_limit: RateLimitConfig) -> (Simulator, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let sim = Simulator::new(SimConfig {
        profile: Profile::Tiny,
        base_url: url.clone(),
        rate_limit,
        ..SimConfig::default()
    });
    let serving = sim.clone();
    tokio::spawn(async move { serving.serve(listener, std::future::pending()).await });
    (sim, url)
}

fn generous() -> RateLimitConfig {
    RateLimitConfig {
        burst: 10_000,
        refill_per_second: 10_000.0,
        ..RateLimitConfig::default()
    }
}

/// Simulator, broker with one relay account for acme (`account` is extra TOML for it), and an
/// agent with the default allow-list logged in as `user`.
async fn setup(account: &str, user: (&str, &str), rate_limit: RateLimitConfig) -> Setup {
    let (sim, url) = start_sim(rate_limit).await;
    let acme = format!(
        "people = [{{ email = \"ADMIN@acme.example\", name = \"The Admin\" }}, {{ email = \"nobody@example.com\", name = \"Nobody\" }}]\n\
         [[tenants.accounts]]\nalias = \"{ALIAS}\"\nkind = \"server-relay\"\nlimits = {{ concurrency = 4, rate_per_second = 1000.0, burst = 1000 }}\n{account}\n"
    );
    let h = Harness::start_with(TenantExtras {
        acme,
        globex: String::new(),
    })
    .await;
    let target = BitbucketTarget {
        url,
        user: user.0.to_owned(),
        password: user.1.to_owned(),
    };
    let agent = h
        .start_agent(AgentOptions {
            bitbucket: Some(target),
            ..AgentOptions::new("dc-1")
        })
        .await;
    h.wait_connected(TENANT, ALIAS, 1).await;
    Setup { h, sim, agent }
}

impl Setup {
    async fn api(&self, path: &str) -> Value {
        let url = format!("http://{}{path}", self.h.broker.api_addr);
        let response = self
            .h
            .http
            .get(url)
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().await.unwrap()
    }

    async fn sync(&self, kind: &str) -> Vec<Value> {
        let url = format!(
            "http://{}/api/v1/accounts/{ALIAS}/sync?kind={kind}&wait=true",
            self.h.broker.api_addr
        );
        let response = self
            .h
            .http
            .post(url)
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    async fn counts(&self) -> relay_broker::store::Counts {
        self.h.broker.store.counts(TENANT).await.unwrap()
    }

    fn denials(&self) -> usize {
        self.agent
            .audit()
            .iter()
            .filter(|r| r["outcome"] == "denied")
            .count()
    }
}

const ADMIN: (&str, &str) = (
    bitbucket_sim::credentials::ADMIN_USER,
    bitbucket_sim::credentials::ADMIN_PASSWORD,
);

#[tokio::test]
async fn a_full_sync_through_the_default_allow_list_equals_the_simulators_data() {
    let s = setup("", ADMIN, generous()).await;
    let reports = s.sync("all").await;
    assert!(reports.iter().all(|r| r["status"] == "ok"), "{reports:#?}");
    assert_eq!(
        s.denials(),
        0,
        "the default allow-list covers every call the engine makes"
    );

    let truth = s.sim.summary();
    let c = s.counts().await;
    assert_eq!(
        c.projects as usize,
        truth.projects + truth.personal_projects
    );
    assert_eq!(c.repos as usize, truth.repos);
    assert_eq!(c.commits, truth.commits);
    assert_eq!(
        c.releases,
        s.sim
            .repos()
            .iter()
            .map(|r| r.tags.len() as u64)
            .sum::<u64>()
    );
    assert_eq!(
        c.pull_requests_by_state.get("OPEN").copied().unwrap_or(0),
        truth.pull_requests_open
    );
    assert_eq!(
        c.pull_requests_by_state.get("MERGED").copied().unwrap_or(0),
        truth.pull_requests_merged
    );
    assert_eq!(
        c.pull_requests_by_state
            .get("DECLINED")
            .copied()
            .unwrap_or(0),
        truth.pull_requests_declined
    );
    assert_eq!(c.users as usize, truth.users);
    assert_eq!(c.groups as usize, truth.groups);

    // The calls the engine counted are the requests the simulator served.
    let calls: u64 = reports.iter().map(|r| r["calls"].as_u64().unwrap()).sum();
    assert_eq!(calls, s.sim.counters().total);

    // Spot checks through the API: a repository page against the simulator's repository.
    let repo = s
        .sim
        .repos()
        .into_iter()
        .find(|r| r.head.is_some() && !r.tags.is_empty())
        .unwrap();
    let page = s
        .api(&format!(
            "/api/v1/repos/{ALIAS}/{}/{}",
            repo.project_key, repo.slug
        ))
        .await;
    assert_eq!(page["head"], repo.head.clone().unwrap());
    assert_eq!(page["default_branch"], repo.default_branch);
    assert!(page["top_contributors"].as_array().unwrap().len() <= 3);
    let recent = page["recent_commits"].as_array().unwrap();
    assert_eq!(recent.len() as u64, repo.commits.min(10));
    assert_eq!(recent[0]["id"], repo.head.clone().unwrap());
    assert!(
        recent[0]["link"]
            .as_str()
            .unwrap()
            .contains(&format!("/commits/{}", repo.head.clone().unwrap()))
    );
    assert_eq!(
        page["recent_releases"].as_array().unwrap().len(),
        repo.tags.len().min(5)
    );
    let events = s
        .api(&format!(
            "/api/v1/repos/{ALIAS}/{}/{}/events?limit=1000",
            repo.project_key, repo.slug
        ))
        .await;
    assert_eq!(
        events.as_array().unwrap().len() as u64,
        repo.commits + repo.tags.len() as u64
    );

    // Identity mapping: case-insensitive email, unmapped on both sides.
    let identity = s.api("/api/v1/identity").await;
    let mapped = identity["mapped"].as_array().unwrap();
    assert!(
        mapped
            .iter()
            .any(|m| m["person"]["email"] == "ADMIN@acme.example" && m["user"]["slug"] == "admin"),
        "{identity}"
    );
    assert!(
        identity["unmapped_people"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["email"] == "nobody@example.com")
    );
    assert!(!identity["unmapped_users"].as_array().unwrap().is_empty());

    // Sync status through the accounts API.
    let accounts = s.api("/api/v1/accounts").await;
    let runs = accounts[0]["last_runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3, "{accounts}");
    assert!(
        runs.iter()
            .all(|r| r["status"] == "ok" && r["calls"].as_u64().unwrap() > 0)
    );
}

#[tokio::test]
async fn an_unchanged_repository_costs_one_call_and_changes_appear_after_an_incremental_sync() {
    let s = setup("", ADMIN, generous()).await;
    s.sync("all").await;
    let before = s.counts().await;

    // Nothing changed: one call per repository plus the listings.
    s.sim.reset_counters();
    let reports = s.sync("repositories").await;
    let counters = s.sim.counters();
    let repos = s.sim.repos().len() as u64;
    let listings =
        counters.get("GET /rest/api/1.0/projects") + counters.get("GET /rest/api/1.0/repos");
    assert_eq!(counters.total, repos + listings, "{counters:#?}");
    assert_eq!(
        reports[0]["detail"]["unchanged"].as_u64().unwrap()
            + reports[0]["detail"]["empty"].as_u64().unwrap(),
        repos
    );
    s.sim.reset_counters();
    s.sync("pull_requests").await;
    let with_branch = s.sim.repos().iter().filter(|r| r.head.is_some()).count() as u64;
    assert_eq!(
        s.sim.counters().total,
        with_branch,
        "one listing call per repository, nothing re-read"
    );

    // Push, open, approve and merge.
    let repo = s
        .sim
        .repos()
        .into_iter()
        .find(|r| r.head.is_some() && r.branches.len() > 1)
        .unwrap();
    let at = RepoRef::new(&repo.project_key, &repo.slug);
    let pushed = s
        .sim
        .push(
            &at,
            PushRequest {
                count: Some(3),
                files: vec![FileWrite::write("docs/NEW.md", "# new\n")],
                ..Default::default()
            },
        )
        .unwrap();
    let feature = repo
        .branches
        .iter()
        .find(|b| **b != repo.default_branch)
        .unwrap()
        .clone();
    let id = s
        .sim
        .open_pull_request(
            &at,
            NewPullRequest {
                from_branch: feature,
                to_branch: None,
                title: "Add the new thing".into(),
                description: String::new(),
                author: bitbucket_sim::credentials::NORMAL_USER.into(),
                reviewers: vec![bitbucket_sim::credentials::ADMIN_USER.into()],
            },
        )
        .unwrap();
    s.sim
        .approve_pull_request(&at, id, bitbucket_sim::credentials::ADMIN_USER)
        .unwrap();
    s.sim
        .merge_pull_request(&at, id, bitbucket_sim::credentials::ADMIN_USER)
        .unwrap();

    s.sync("repositories").await;
    s.sync("pull_requests").await;
    let after = s.counts().await;
    // Three pushed commits, the merge commit, and the feature branch's commits it brought in.
    let grown = s.sim.repo(&repo.project_key, &repo.slug).unwrap().commits - repo.commits;
    assert!(grown >= 4, "{grown}");
    assert_eq!(after.commits, before.commits + grown);
    assert_eq!(
        after.commits,
        s.sim.repos().iter().map(|r| r.commits).sum::<u64>()
    );
    assert_eq!(after.pull_requests, before.pull_requests + 1);
    let page = s
        .api(&format!(
            "/api/v1/repos/{ALIAS}/{}/{}",
            repo.project_key, repo.slug
        ))
        .await;
    let head = s
        .sim
        .repo(&repo.project_key, &repo.slug)
        .unwrap()
        .head
        .unwrap();
    assert_eq!(
        page["head"],
        head.as_str(),
        "the merge commit on top of the pushed ones"
    );
    let recent = page["recent_commits"].as_array().unwrap();
    assert!(
        pushed
            .iter()
            .all(|id| recent.iter().any(|c| c["id"] == id.as_str()))
    );
    let prs = s
        .api(&format!(
            "/api/v1/pull-requests?repo={}&state=MERGED&limit=1000",
            repo.slug
        ))
        .await;
    let merged = prs
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id)
        .expect("the merged PR is stored");
    assert_eq!(merged["title"], "Add the new thing");
    let activities =
        s.h.broker
            .store
            .activities(
                &relay_broker::store::RepoKey {
                    tenant: TENANT.into(),
                    alias: ALIAS.into(),
                    project: repo.project_key.clone(),
                    slug: repo.slug.clone(),
                },
                id as i64,
            )
            .await
            .unwrap();
    let actions: Vec<&str> = activities.iter().map(|a| a.action.as_str()).collect();
    assert!(
        actions.contains(&"OPENED") && actions.contains(&"APPROVED") && actions.contains(&"MERGED"),
        "{actions:?}"
    );

    // An old pull request (the lowest id) changes: the newest-first walk (by last update) finds it.
    s.sim
        .update_pull_request(
            &at,
            1,
            bitbucket_sim::credentials::ADMIN_USER,
            Some("an old one, renamed".into()),
            None,
        )
        .unwrap();
    s.sim.reset_counters();
    s.sync("pull_requests").await;
    let prs = s
        .api(&format!(
            "/api/v1/pull-requests?repo={}&limit=1000",
            repo.slug
        ))
        .await;
    let old = prs
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == 1 && p["project"] == repo.project_key.as_str())
        .unwrap();
    assert_eq!(old["title"], "an old one, renamed");
    let activity_calls = s
        .sim
        .counters()
        .get("GET /rest/api/1.0/projects/{key}/repos/{slug}/pull-requests/{id}/activities");
    // The changed one, plus the merged one the simulator dated a few seconds ahead of the clock
    // (it bumps each mutation's time past the previous one): the engine re-reads pull requests
    // dated after its previous pass started rather than risk missing an update.
    assert!(
        (1..=2).contains(&activity_calls),
        "{activity_calls} pull requests re-read"
    );
    assert_eq!(s.denials(), 0);
}

#[tokio::test]
async fn the_project_filter_limits_what_is_synced() {
    let (probe, _) = start_sim(generous()).await;
    let project = probe
        .repos()
        .into_iter()
        .find(|r| !r.project_key.starts_with('~'))
        .unwrap()
        .project_key;
    drop(probe);
    let s = setup(&format!("projects = [\"{project}\"]"), ADMIN, generous()).await;
    s.sync("repositories").await;
    let projects = s.api("/api/v1/projects").await;
    let keys: Vec<&str> = projects
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, [project.as_str()]);
    let repos = s.api("/api/v1/repos?limit=1000").await;
    let expected = s
        .sim
        .repos()
        .iter()
        .filter(|r| r.project_key == project)
        .count();
    assert_eq!(repos.as_array().unwrap().len(), expected);
    assert!(
        repos
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["project"] == project.as_str())
    );
}

#[tokio::test]
async fn a_user_without_admin_rights_syncs_what_it_sees_and_groups_are_degraded() {
    let user = (
        bitbucket_sim::credentials::NORMAL_USER,
        bitbucket_sim::credentials::NORMAL_PASSWORD,
    );
    let s = setup("", user, generous()).await;
    let reports = s.sync("all").await;
    let identities = reports.iter().find(|r| r["kind"] == "identities").unwrap();
    assert_eq!(identities["status"], "partial", "{identities}");
    let groups = s.api("/api/v1/groups").await;
    let degraded = groups["degraded"].as_array().unwrap();
    assert_eq!(degraded.len(), 1);
    assert!(
        degraded[0]["reason"].as_str().unwrap().contains("admin"),
        "{groups}"
    );
    assert!(s.counts().await.users > 0);
    let c = s.counts().await;
    assert!(
        (c.repos as usize) < s.sim.summary().repos,
        "restricted projects stay invisible"
    );
    assert_eq!(s.denials(), 0);
}

#[tokio::test]
async fn rate_limit_storms_and_server_errors_are_survived_without_losing_data() {
    // A tight limit with Retry-After, and bursts of 503 on the commit listing.
    let limit = RateLimitConfig {
        enabled: true,
        burst: 20,
        refill_per_second: 50.0,
        retry_after_header: true,
    };
    let s = setup("", ADMIN, limit).await;
    s.sim.set_fault(
        "GET /rest/api/1.0/projects/{key}/repos/{slug}/commits",
        Some(bitbucket_sim::Fault {
            error_status: Some(503),
            error_rate: 0.3,
            ..Default::default()
        }),
    );
    let reports = s.sync("all").await;
    assert!(reports.iter().all(|r| r["status"] == "ok"), "{reports:#?}");
    let truth = s.sim.summary();
    let c = s.counts().await;
    assert_eq!(c.commits, truth.commits);
    assert_eq!(c.repos as usize, truth.repos);
    let counters = s.sim.counters();
    assert!(
        counters.total
            > reports
                .iter()
                .map(|r| r["calls"].as_u64().unwrap())
                .sum::<u64>()
                / 2
    );
}

#[tokio::test]
async fn a_sync_killed_mid_history_resumes_without_duplicates_or_gaps() {
    let s = setup("", ADMIN, generous()).await;
    // Slow the commit pages down so the kill lands in the middle of the histories.
    s.sim.set_fault(
        "GET /rest/api/1.0/projects/{key}/repos/{slug}/commits",
        Some(bitbucket_sim::Fault {
            latency_ms: 40,
            ..Default::default()
        }),
    );
    s.sync("identities").await;
    let engine = std::sync::Arc::clone(&s.h.broker.engine);
    let run = tokio::spawn(async move {
        engine
            .run(TENANT, ALIAS, relay_broker::store::SyncKind::Repositories)
            .await
    });
    relay_e2e::harness::wait_until(Duration::from_secs(30), || {
        s.sim
            .counters()
            .get("GET /rest/api/1.0/projects/{key}/repos/{slug}/commits")
            >= 3
    })
    .await
    .unwrap();
    run.abort();
    let _ = run.await;
    let partial = s.counts().await.commits;
    assert!(
        partial < s.sim.summary().commits,
        "the kill landed mid-way ({partial} commits stored)"
    );

    s.sim.clear_faults();
    let reports = s.sync("repositories").await;
    assert_eq!(reports[0]["status"], "ok", "{reports:#?}");
    assert_eq!(
        s.counts().await.commits,
        s.sim.summary().commits,
        "no duplicates, no gaps"
    );
}

#[tokio::test]
async fn two_tenants_cannot_see_each_others_data() {
    let s = setup("", ADMIN, generous()).await;
    s.sync("repositories").await;
    for path in [
        "/api/v1/projects",
        "/api/v1/repos",
        "/api/v1/pull-requests",
        "/api/v1/users",
        "/api/v1/accounts",
    ] {
        let url = format!("http://{}{path}", s.h.broker.api_addr);
        let response =
            s.h.http
                .get(url)
                .bearer_auth(OTHER_TOKEN)
                .send()
                .await
                .unwrap();
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body.as_array().map(Vec::len),
            Some(0),
            "{path} leaked {body}"
        );
    }
    let repo = s.sim.repos().into_iter().next().unwrap();
    let url = format!(
        "http://{}/api/v1/repos/{ALIAS}/{}/{}",
        s.h.broker.api_addr, repo.project_key, repo.slug
    );
    let response =
        s.h.http
            .get(url)
            .bearer_auth(OTHER_TOKEN)
            .send()
            .await
            .unwrap();
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn testing_all_configurations_says_what_works_and_what_to_fix() {
    let user = (
        bitbucket_sim::credentials::NORMAL_USER,
        bitbucket_sim::credentials::NORMAL_PASSWORD,
    );
    let s = setup("projects = [\"NOPE\"]", user, generous()).await;
    let url = format!("http://{}/api/v1/accounts/test", s.h.broker.api_addr);
    let verdicts: Value =
        s.h.http
            .post(&url)
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    let account = &verdicts[0];
    let status = |name: &str| {
        account["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .map(|c| c["status"].as_str().unwrap().to_owned())
    };
    assert_eq!(status("agent").as_deref(), Some("pass"), "{verdicts}");
    assert_eq!(status("reachable").as_deref(), Some("pass"));
    assert_eq!(status("credentials").as_deref(), Some("pass"));
    assert_eq!(
        status("projects").as_deref(),
        Some("warn"),
        "the filter names an unknown project"
    );
    assert_eq!(
        status("groups").as_deref(),
        Some("warn"),
        "a normal user has no admin access"
    );
    assert_eq!(account["verdict"], "warn");
    let version = account["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "reachable")
        .unwrap()["detail"]
        .clone();
    assert!(version.as_str().unwrap().contains("Bitbucket"), "{version}");

    // Without an agent, the verdict fails and says what to do.
    s.agent.stop().await;
    s.h.wait_connected(TENANT, ALIAS, 0).await;
    let verdicts: Value =
        s.h.http
            .post(&url)
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(verdicts[0]["verdict"], "fail");
    assert!(
        verdicts[0]["checks"][0]["fix"]
            .as_str()
            .unwrap()
            .contains("relay-agent")
    );
}

#[tokio::test]
async fn scheduled_pull_request_passes_keep_to_their_budget_and_reach_every_repository() {
    use relay_broker::sync::pulls::Coverage;
    let s = setup("", ADMIN, generous()).await;
    s.sync("all").await;
    let with_branch = s
        .sim
        .repos()
        .into_iter()
        .filter(|r| r.head.is_some())
        .collect::<Vec<_>>();
    // A pull request changes in the last repository of the rotation.
    let repo = with_branch
        .iter()
        .rev()
        .find(|r| r.pull_requests > 0)
        .unwrap();
    let at = RepoRef::new(&repo.project_key, &repo.slug);
    let open = s
        .api(&format!(
            "/api/v1/pull-requests?repo={}&state=OPEN&limit=1000",
            repo.slug
        ))
        .await;
    let pr = open
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["project"] == repo.project_key.as_str())
        .map(|p| p["id"].as_u64().unwrap());
    let id = match pr {
        Some(id) => id,
        None => {
            let feature = repo
                .branches
                .iter()
                .find(|b| **b != repo.default_branch)
                .unwrap()
                .clone();
            let new = NewPullRequest {
                from_branch: feature,
                to_branch: None,
                title: "late change".into(),
                description: String::new(),
                author: bitbucket_sim::credentials::NORMAL_USER.into(),
                reviewers: vec![],
            };
            s.sim.open_pull_request(&at, new).unwrap()
        }
    };
    s.sim
        .update_pull_request(
            &at,
            id,
            bitbucket_sim::credentials::ADMIN_USER,
            Some("renamed in the rotation".into()),
            None,
        )
        .unwrap();

    // Passes of 3 calls each (1000/s × 3.75 ms × 0.8).
    let budget = Duration::from_micros(3750);
    let passes = with_branch.len().div_ceil(3) + 1;
    let mut seen = false;
    for _ in 0..passes {
        s.sim.reset_counters();
        let report =
            s.h.broker
                .engine
                .run_pulls(TENANT, ALIAS, Coverage::Window(budget))
                .await
                .unwrap();
        assert_eq!(report.detail["budget_calls"], 3);
        assert!(
            report.calls <= 5,
            "a pass spends its budget (plus the changed repository's full page and activities): {report:?}"
        );
        let prs = s
            .api(&format!(
                "/api/v1/pull-requests?repo={}&limit=1000",
                repo.slug
            ))
            .await;
        if prs
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["id"] == id && p["title"] == "renamed in the rotation")
        {
            seen = true;
            break;
        }
    }
    assert!(
        seen,
        "the rotation reached the changed repository within {passes} passes"
    );
}

#[tokio::test]
async fn accounts_added_through_the_admin_api_sync_survive_a_restart_and_can_be_removed() {
    let mut s = setup("", ADMIN, generous()).await;
    let password = s.h.path("direct-password");
    std::fs::write(&password, bitbucket_sim::credentials::ADMIN_PASSWORD).unwrap();
    let sim_url = s.sim.config().base_url.clone();
    let body = serde_json::json!({
        "alias": "direct",
        "kind": "server-direct",
        "url": sim_url,
        "auth": { "kind": "basic", "username": "admin", "password": { "file": password } },
        "limits": { "concurrency": 4, "rate_per_second": 1000.0, "burst": 1000 },
    });
    let base = format!("http://{}", s.h.broker.api_addr);
    let created =
        s.h.http
            .post(format!("{base}/api/v1/accounts"))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap();
    assert_eq!(created.status(), 201, "{}", created.text().await.unwrap());
    // The same alias twice, and a relative secret path, are refused with reasons.
    let again =
        s.h.http
            .post(format!("{base}/api/v1/accounts"))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap();
    assert_eq!(again.status(), 409);
    let mut relative = body.clone();
    relative["alias"] = "other".into();
    relative["auth"]["password"]["file"] = "relative/path".into();
    let refused =
        s.h.http
            .post(format!("{base}/api/v1/accounts"))
            .bearer_auth(TOKEN)
            .json(&relative)
            .send()
            .await
            .unwrap();
    assert_eq!(refused.status(), 400);
    assert!(refused.text().await.unwrap().contains("absolute"));

    let sync =
        s.h.http
            .post(format!(
                "{base}/api/v1/accounts/direct/sync?kind=repositories&wait=true"
            ))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
    assert_eq!(sync.status(), 200);
    let repos = s.api("/api/v1/repos?alias=direct&limit=1000").await;
    assert_eq!(repos.as_array().unwrap().len(), s.sim.repos().len());

    // A restart on the same store brings the account back.
    assert!(s.h.broker.shutdown().await);
    let (broker, shutdown) = s.h.start_broker(None).await;
    s.h.broker = broker;
    s.h.broker_shutdown = shutdown;
    let accounts = s.api("/api/v1/accounts").await;
    let aliases: Vec<&str> = accounts
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["alias"].as_str().unwrap())
        .collect();
    assert_eq!(aliases, [ALIAS, "direct"]);

    // Removing it drops its data; a config-file account cannot be removed through the API.
    let base = format!("http://{}", s.h.broker.api_addr);
    let removed =
        s.h.http
            .delete(format!("{base}/api/v1/accounts/direct"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
    assert_eq!(removed.status(), 204);
    assert!(
        s.api("/api/v1/repos?alias=direct")
            .await
            .as_array()
            .unwrap()
            .is_empty()
    );
    let config_owned =
        s.h.http
            .delete(format!("{base}/api/v1/accounts/{ALIAS}"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
    assert_eq!(config_owned.status(), 409);
}
