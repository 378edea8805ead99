//! REST behaviour through the router: envelopes, caps, permissions, refs, commits, files.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod common;

use bitbucket_sim::{PageCaps, Profile, SimConfig, Simulator};
use common::{Auth, admin, alice, all_pages, get, tiny};
use http::StatusCode;
use serde_json::Value;

fn first_repo_with(
    sim: &Simulator,
    pred: impl Fn(&bitbucket_sim::RepoInfo) -> bool,
) -> bitbucket_sim::RepoInfo {
    sim.repos()
        .into_iter()
        .find(|r| pred(r))
        .expect("a repo matching the predicate")
}

#[tokio::test]
async fn application_properties_need_no_auth() {
    let sim = tiny();
    let r = get(
        &sim.router(),
        "/rest/api/1.0/application-properties",
        &Auth::None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.json()["version"].as_str().unwrap().starts_with("9."));
}

#[tokio::test]
async fn unauthenticated_requests_get_401_in_the_error_envelope() {
    let sim = tiny();
    let r = get(&sim.router(), "/rest/api/1.0/projects", &Auth::None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let e = &r.json()["errors"][0];
    assert!(e["context"].is_null());
    assert!(e["message"].is_string());
    assert!(
        e["exceptionName"]
            .as_str()
            .unwrap()
            .starts_with("com.atlassian.bitbucket")
    );
    let bad = get(
        &sim.router(),
        "/rest/api/1.0/projects",
        &Auth::Basic("admin".into(), "wrong".into()),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn latest_is_an_alias_of_1_0_and_other_versions_are_404() {
    let sim = tiny();
    let router = sim.router();
    let a = get(&router, "/rest/api/1.0/projects", &admin(&sim)).await;
    let b = get(&router, "/rest/api/latest/projects", &admin(&sim)).await;
    assert_eq!(a.body, b.body);
    assert_eq!(
        get(&router, "/rest/api/2.0/projects", &admin(&sim))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // Both count under one template.
    assert_eq!(sim.counters().get("GET /rest/api/1.0/projects"), 3);
}

#[tokio::test]
async fn limit_is_capped_per_endpoint_and_last_page_has_no_next_start() {
    let caps = PageCaps {
        repos: 3,
        ..PageCaps::default()
    };
    let sim = Simulator::new(SimConfig {
        page_caps: caps,
        ..SimConfig::unlimited(Profile::Tiny)
    });
    let router = sim.router();
    let page = get(&router, "/rest/api/1.0/repos?limit=1000", &admin(&sim))
        .await
        .json();
    assert_eq!(page["limit"], 3);
    assert_eq!(page["size"], 3);
    assert_eq!(page["isLastPage"], false);
    assert_eq!(page["nextPageStart"], 3);
    let all = all_pages(&router, "/rest/api/1.0/repos", &admin(&sim)).await;
    assert_eq!(all.len(), sim.summary().repos);
}

#[tokio::test]
async fn recorded_caps_apply_to_pull_requests_and_activities() {
    let caps = PageCaps::default();
    assert_eq!((caps.pull_requests, caps.activities), (100, 500));
    let sim = tiny();
    let repo = first_repo_with(&sim, |r| r.pull_requests > 0);
    let uri = format!(
        "/rest/api/1.0/projects/{}/repos/{}/pull-requests?state=ALL&limit=200",
        repo.project_key, repo.slug
    );
    assert_eq!(
        get(&sim.router(), &uri, &admin(&sim)).await.json()["limit"],
        100
    );
}

#[tokio::test]
async fn normal_user_sees_a_filtered_list_and_404_on_hidden_projects() {
    let sim = tiny();
    let router = sim.router();
    let all: Vec<String> = all_pages(&router, "/rest/api/1.0/projects", &admin(&sim))
        .await
        .iter()
        .map(|p| p["key"].as_str().unwrap().to_owned())
        .collect();
    let mine: Vec<String> = all_pages(&router, "/rest/api/1.0/projects", &alice(&sim))
        .await
        .iter()
        .map(|p| p["key"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        !mine.is_empty() && mine.len() < all.len(),
        "alice sees {mine:?} of {all:?}"
    );
    let hidden = all.iter().find(|k| !mine.contains(k)).unwrap();
    let r = get(
        &router,
        &format!("/rest/api/1.0/projects/{hidden}"),
        &alice(&sim),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        r.json()["errors"][0]["exceptionName"],
        "com.atlassian.bitbucket.project.NoSuchProjectException"
    );
    let hidden_repo = sim
        .repos()
        .into_iter()
        .find(|r| &r.project_key == hidden)
        .unwrap();
    let r = get(
        &router,
        &format!("/rest/api/1.0/projects/{hidden}/repos/{}", hidden_repo.slug),
        &alice(&sim),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // Only public repos of a hidden project show up (as on real servers).
    let repos = all_pages(&router, "/rest/api/1.0/repos", &alice(&sim)).await;
    assert!(
        repos
            .iter()
            .all(|r| r["project"]["key"] != hidden.as_str() || r["public"] == true)
    );
    let admin_count = all_pages(&router, "/rest/api/1.0/repos", &admin(&sim))
        .await
        .len();
    assert!(repos.len() < admin_count);
}

#[tokio::test]
async fn personal_projects_use_tilde_keys_and_are_owner_only() {
    let sim = tiny();
    let router = sim.router();
    let r = get(&router, "/rest/api/1.0/projects/~alice", &alice(&sim))
        .await
        .json();
    assert_eq!(r["type"], "PERSONAL");
    assert_eq!(r["owner"]["name"], "alice");
    let repos = get(&router, "/rest/api/1.0/projects/~alice/repos", &alice(&sim))
        .await
        .json();
    assert!(repos["size"].as_u64().unwrap() >= 1);
    let other = sim
        .repos()
        .into_iter()
        .find(|r| r.personal && r.project_key != "~alice")
        .unwrap();
    let r = get(
        &router,
        &format!("/rest/api/1.0/projects/{}", other.project_key),
        &alice(&sim),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn empty_repos_have_no_default_branch_and_no_commits() {
    let sim = tiny();
    let repo = first_repo_with(&sim, |r| r.head.is_none());
    let base = format!(
        "/rest/api/1.0/projects/{}/repos/{}",
        repo.project_key, repo.slug
    );
    let router = sim.router();
    for path in ["default-branch", "branches/default"] {
        assert_eq!(
            get(&router, &format!("{base}/{path}"), &admin(&sim))
                .await
                .status,
            StatusCode::NOT_FOUND
        );
    }
    let commits = get(&router, &format!("{base}/commits"), &admin(&sim))
        .await
        .json();
    assert_eq!(commits["size"], 0);
    assert_eq!(commits["isLastPage"], true);
}

fn ids(values: &[Value]) -> Vec<String> {
    values
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn commits_walk_newest_first_with_since_until_and_paging() {
    let sim = tiny();
    let repo = first_repo_with(&sim, |r| r.commits > 20);
    let base = format!(
        "/rest/api/1.0/projects/{}/repos/{}/commits",
        repo.project_key, repo.slug
    );
    let router = sim.router();
    let all = ids(&all_pages(&router, &base, &admin(&sim)).await);
    assert_eq!(all.len() as u64, repo.commits);
    assert_eq!(all[0], repo.head.clone().unwrap());
    let mut dedup = all.clone();
    dedup.sort();
    dedup.dedup();
    assert_eq!(dedup.len(), all.len(), "no commit twice");
    // until = a commit: history from there; since = exclusive lower bound.
    let until = &all[3];
    let since = &all[10];
    let window = ids(&all_pages(
        &router,
        &format!("{base}?until={until}&since={since}"),
        &admin(&sim),
    )
    .await);
    assert_eq!(window, all[3..10].to_vec());
    // A deep page equals the slice of the full walk.
    let page = get(&router, &format!("{base}?start=5&limit=4"), &admin(&sim))
        .await
        .json();
    assert_eq!(ids(page["values"].as_array().unwrap()), all[5..9].to_vec());
    // Timestamps never increase along the walk.
    let commits = all_pages(&router, &base, &admin(&sim)).await;
    let ts: Vec<i64> = commits
        .iter()
        .map(|c| c["committerTimestamp"].as_i64().unwrap())
        .collect();
    assert!(ts.windows(2).all(|w| w[0] >= w[1]));
}

#[tokio::test]
async fn commits_filter_by_path_and_merges() {
    let sim = tiny();
    let repo = first_repo_with(&sim, |r| {
        r.commits > 20 && r.files.iter().any(|f| f.ends_with("cortex.yaml"))
    });
    let base = format!(
        "/rest/api/1.0/projects/{}/repos/{}/commits",
        repo.project_key, repo.slug
    );
    let router = sim.router();
    let descriptor = repo
        .files
        .iter()
        .find(|f| f.ends_with("cortex.yaml"))
        .unwrap();
    let touching = all_pages(&router, &format!("{base}?path={descriptor}"), &admin(&sim)).await;
    assert!(!touching.is_empty(), "at least the initial commit adds it");
    assert!(touching.len() < repo.commits as usize);
    let merges = all_pages(&router, &format!("{base}?merges=only"), &admin(&sim)).await;
    assert!(
        merges
            .iter()
            .all(|c| c["parents"].as_array().unwrap().len() == 2)
    );
    let no_merges = all_pages(&router, &format!("{base}?merges=exclude"), &admin(&sim)).await;
    assert!(
        no_merges.iter().all(
            |c| c["parents"].as_array().unwrap().len() == 1 || c["message"] == "Initial commit"
        )
    );
    let counted = get(
        &router,
        &format!("{base}?withCounts=true&limit=1"),
        &admin(&sim),
    )
    .await
    .json();
    assert_eq!(counted["totalCount"].as_u64(), Some(repo.commits));
}

#[tokio::test]
async fn unknown_commit_is_a_404_no_such_commit() {
    let sim = tiny();
    let repo = first_repo_with(&sim, |r| r.head.is_some());
    let uri = format!(
        "/rest/api/1.0/projects/{}/repos/{}/commits/{}",
        repo.project_key,
        repo.slug,
        "ab".repeat(20)
    );
    let r = get(&sim.router(), &uri, &admin(&sim)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        r.json()["errors"][0]["exceptionName"],
        "com.atlassian.bitbucket.commit.NoSuchCommitException"
    );
}

#[tokio::test]
async fn branches_and_tags_order_and_default_flag() {
    let sim = tiny();
    let repo = first_repo_with(&sim, |r| r.branches.len() > 1 && !r.tags.is_empty());
    let base = format!(
        "/rest/api/1.0/projects/{}/repos/{}",
        repo.project_key, repo.slug
    );
    let router = sim.router();
    let branches = get(&router, &format!("{base}/branches"), &admin(&sim))
        .await
        .json();
    let values = branches["values"].as_array().unwrap();
    assert_eq!(values[0]["displayId"], repo.default_branch.as_str());
    assert_eq!(values.iter().filter(|b| b["isDefault"] == true).count(), 1);
    let default = get(&router, &format!("{base}/default-branch"), &admin(&sim))
        .await
        .json();
    assert_eq!(default["latestCommit"], repo.head.clone().unwrap().as_str());
    let tags = get(
        &router,
        &format!("{base}/tags?orderBy=ALPHABETICAL"),
        &admin(&sim),
    )
    .await
    .json();
    let names: Vec<&str> = tags["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["displayId"].as_str().unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted);
}

#[tokio::test]
async fn files_browse_and_raw_agree() {
    let sim = tiny();
    let repo = first_repo_with(&sim, |r| r.files.iter().any(|f| f.contains('/')));
    let base = format!(
        "/rest/api/1.0/projects/{}/repos/{}",
        repo.project_key, repo.slug
    );
    let router = sim.router();
    let files: Vec<String> = all_pages(&router, &format!("{base}/files"), &admin(&sim))
        .await
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(files, repo.files);
    let nested = files.iter().find(|f| f.contains('/')).unwrap();
    let dir = nested.rsplit_once('/').unwrap().0;
    let under: Vec<Value> = all_pages(&router, &format!("{base}/files/{dir}"), &admin(&sim)).await;
    assert!(
        under.iter().all(|v| !v.as_str().unwrap().starts_with(dir)),
        "relative to the directory"
    );
    let listing = get(&router, &format!("{base}/browse/{dir}"), &admin(&sim))
        .await
        .json();
    assert_eq!(listing["path"]["toString"], dir);
    assert!(
        listing["children"]["values"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["type"] == "FILE" || c["type"] == "DIRECTORY")
    );
    let raw = get(
        &router,
        &format!("{base}/raw/{nested}?at={}", repo.head.clone().unwrap()),
        &admin(&sim),
    )
    .await;
    assert_eq!(raw.status, StatusCode::OK);
    let lines = get(
        &router,
        &format!("{base}/browse/{nested}?limit=5000"),
        &admin(&sim),
    )
    .await
    .json();
    let text: Vec<&str> = lines["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["text"].as_str().unwrap())
        .collect();
    assert_eq!(text.join("\n"), raw.text().trim_end_matches('\n'));
    let probe = get(
        &router,
        &format!("{base}/browse/{nested}?type=true"),
        &admin(&sim),
    )
    .await
    .json();
    assert_eq!(probe["type"], "FILE");
    let missing = get(&router, &format!("{base}/raw/no/such/file"), &admin(&sim)).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn file_line_pages_follow_next_page_start_to_the_whole_file() {
    let sim = tiny();
    let repo = first_repo_with(&sim, |r| r.files.iter().any(|f| f == "README.md"));
    let base = format!(
        "/rest/api/1.0/projects/{}/repos/{}",
        repo.project_key, repo.slug
    );
    let router = sim.router();
    let raw = get(&router, &format!("{base}/raw/README.md"), &admin(&sim))
        .await
        .text();
    let mut lines = Vec::new();
    let mut start = 0;
    loop {
        let page = get(
            &router,
            &format!("{base}/browse/README.md?start={start}&limit=2"),
            &admin(&sim),
        )
        .await
        .json();
        lines.extend(
            page["lines"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["text"].as_str().unwrap().to_owned()),
        );
        if page["isLastPage"] == true {
            break;
        }
        let next = page["nextPageStart"].as_u64().unwrap();
        assert!(next > start, "pages move forward");
        start = next;
    }
    assert_eq!(lines.join("\n"), raw.trim_end_matches('\n'));
}

#[tokio::test]
async fn pull_requests_filter_by_state_and_participant() {
    let sim = Simulator::new(SimConfig::unlimited(Profile::Demo));
    let repo = first_repo_with(&sim, |r| r.pull_requests >= 10);
    let base = format!(
        "/rest/api/1.0/projects/{}/repos/{}/pull-requests",
        repo.project_key, repo.slug
    );
    let router = sim.router();
    let all = all_pages(&router, &format!("{base}?state=ALL"), &admin(&sim)).await;
    assert_eq!(all.len() as u64, repo.pull_requests);
    let open = all_pages(&router, &base, &admin(&sim)).await;
    assert!(open.iter().all(|p| p["state"] == "OPEN"));
    let oldest = all_pages(
        &router,
        &format!("{base}?state=ALL&order=OLDEST"),
        &admin(&sim),
    )
    .await;
    assert_eq!(oldest.first().unwrap()["id"], 1);
    let author = all[0]["author"]["user"]["name"].as_str().unwrap();
    let authored = all_pages(
        &router,
        &format!("{base}?state=ALL&role.1=AUTHOR&username.1={author}"),
        &admin(&sim),
    )
    .await;
    assert!(!authored.is_empty());
    assert!(
        authored
            .iter()
            .all(|p| p["author"]["user"]["name"] == author)
    );
    let pr = &all[0];
    let acts = get(
        &router,
        &format!("{base}/{}/activities", pr["id"]),
        &admin(&sim),
    )
    .await
    .json();
    let created: Vec<i64> = acts["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["createdDate"].as_i64().unwrap())
        .collect();
    assert!(created.windows(2).all(|w| w[0] >= w[1]), "newest first");
    assert_eq!(
        acts["values"].as_array().unwrap().last().unwrap()["action"],
        "OPENED"
    );
}

#[tokio::test]
async fn users_and_admin_groups() {
    let sim = tiny();
    let router = sim.router();
    let users = all_pages(&router, "/rest/api/1.0/users", &alice(&sim)).await;
    assert_eq!(users.len(), sim.summary().users);
    let filtered = get(&router, "/rest/api/1.0/users?filter=alice", &alice(&sim))
        .await
        .json();
    assert_eq!(filtered["values"][0]["slug"], "alice");
    assert_eq!(
        get(&router, "/rest/api/1.0/users/nobody-here", &alice(&sim))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let groups = all_pages(&router, "/rest/api/1.0/admin/groups", &admin(&sim)).await;
    assert_eq!(groups.len(), sim.summary().groups);
    let g = groups[1]["name"].as_str().unwrap();
    let members = all_pages(
        &router,
        &format!("/rest/api/1.0/admin/groups/more-members?context={g}"),
        &admin(&sim),
    )
    .await;
    assert!(members.iter().all(|m| m["directoryName"].is_string()));
    let of_alice = all_pages(
        &router,
        "/rest/api/1.0/admin/users/more-members?context=alice",
        &admin(&sim),
    )
    .await;
    assert!(!of_alice.is_empty());
    // A normal user may not call /admin.
    assert_eq!(
        get(&router, "/rest/api/1.0/admin/groups", &alice(&sim))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn settings_endpoints_use_both_required_approver_shapes() {
    let sim = Simulator::new(SimConfig::unlimited(Profile::Demo));
    let router = sim.router();
    let mut shapes = std::collections::BTreeSet::new();
    for repo in sim.repos().iter().take(30) {
        let base = format!(
            "/rest/api/1.0/projects/{}/repos/{}",
            repo.project_key, repo.slug
        );
        let s = get(
            &router,
            &format!("{base}/settings/pull-requests"),
            &admin(&sim),
        )
        .await
        .json();
        shapes.insert(if s["requiredApprovers"].is_object() {
            "object"
        } else {
            "integer"
        });
        let conditions = get(
            &router,
            &format!(
                "/rest/default-reviewers/1.0/projects/{}/repos/{}/conditions",
                repo.project_key, repo.slug
            ),
            &admin(&sim),
        )
        .await
        .json();
        assert!(conditions.is_array(), "a bare array");
        let restrictions = get(
            &router,
            &format!(
                "/rest/branch-permissions/2.0/projects/{}/repos/{}/restrictions",
                repo.project_key, repo.slug
            ),
            &admin(&sim),
        )
        .await
        .json();
        assert!(restrictions["values"].is_array());
    }
    assert_eq!(shapes.len(), 2, "{shapes:?}");
}

#[tokio::test]
async fn counters_count_per_template_and_reset() {
    let sim = tiny();
    let router = sim.router();
    let repo = first_repo_with(&sim, |r| r.head.is_some());
    for _ in 0..3 {
        get(
            &router,
            &format!("/rest/api/1.0/projects/{}/repos", repo.project_key),
            &admin(&sim),
        )
        .await;
    }
    let c = sim.counters();
    assert_eq!(c.get("GET /rest/api/1.0/projects/{key}/repos"), 3);
    assert_eq!(c.total, 3);
    let served = get(&router, "/sim/counters", &Auth::None).await.json();
    assert_eq!(
        served["by_endpoint"]["GET /rest/api/1.0/projects/{key}/repos"],
        3
    );
    sim.reset_counters();
    assert_eq!(sim.counters().total, 0);
}
