//! The `/sim` control API and the typed control methods change what the REST API serves.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod common;

use bitbucket_sim::{FileWrite, PushRequest, RepoRef};
use common::{Auth, admin, alice, all_pages, get, post_json, tiny};
use http::StatusCode;
use serde_json::json;

#[tokio::test]
async fn pushed_descriptor_is_served_at_the_new_head_only() {
    let sim = tiny();
    let router = sim.router();
    let info = sim
        .repos()
        .into_iter()
        .find(|r| r.commits > 3 && !r.personal)
        .unwrap();
    let old_head = info.head.clone().unwrap();
    let base = format!(
        "/rest/api/1.0/projects/{}/repos/{}",
        info.project_key, info.slug
    );
    let yaml = "openapi: 3.0.1\ninfo:\n  title: Pushed\n  x-cortex-tag: pushed-service\n";
    let r = post_json(
        &router,
        &format!("/sim/repos/{}/{}/push", info.project_key, info.slug),
        &Auth::None,
        json!({"author": "alice", "message": "Add descriptor", "files": [{"path": "cortex.yaml", "content": yaml}]}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let new_head = r.json()["commits"][0].as_str().unwrap().to_owned();
    let raw = get(&router, &format!("{base}/raw/cortex.yaml"), &admin(&sim)).await;
    assert_eq!(raw.text(), yaml);
    let old = get(
        &router,
        &format!("{base}/raw/cortex.yaml?at={old_head}"),
        &admin(&sim),
    )
    .await;
    assert_ne!(old.text(), yaml);
    let commits = get(
        &router,
        &format!("{base}/commits?path=cortex.yaml&limit=1"),
        &admin(&sim),
    )
    .await
    .json();
    assert_eq!(commits["values"][0]["id"], new_head.as_str());
    assert_eq!(commits["values"][0]["parents"][0]["id"], old_head.as_str());
    assert_eq!(commits["values"][0]["author"]["name"], "alice");
    let since = get(
        &router,
        &format!("{base}/commits?since={old_head}"),
        &admin(&sim),
    )
    .await
    .json();
    assert_eq!(since["size"], 1);
    assert_eq!(
        sim.repo(&info.project_key, &info.slug).unwrap().commits,
        info.commits + 1
    );
}

#[tokio::test]
async fn deleting_a_file_removes_it_from_files_and_browse() {
    let sim = tiny();
    let info = sim
        .repos()
        .into_iter()
        .find(|r| r.files.iter().any(|f| f == ".gitignore"))
        .unwrap();
    let repo = RepoRef::new(&info.project_key, &info.slug);
    sim.push(
        &repo,
        PushRequest {
            files: vec![FileWrite::delete(".gitignore")],
            ..PushRequest::default()
        },
    )
    .unwrap();
    let after = sim.repo(&info.project_key, &info.slug).unwrap();
    assert!(!after.files.iter().any(|f| f == ".gitignore"));
    let base = format!(
        "/rest/api/1.0/projects/{}/repos/{}",
        info.project_key, info.slug
    );
    let probe = get(
        &sim.router(),
        &format!("{base}/browse/.gitignore?type=true"),
        &admin(&sim),
    )
    .await;
    assert_eq!(probe.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn pushing_to_an_empty_repo_creates_its_default_branch() {
    let sim = tiny();
    let info = sim.repos().into_iter().find(|r| r.head.is_none()).unwrap();
    let repo = RepoRef::new(&info.project_key, &info.slug);
    let ids = sim
        .push(
            &repo,
            PushRequest {
                files: vec![FileWrite::write("README.md", "# hi\n")],
                ..PushRequest::default()
            },
        )
        .unwrap();
    let base = format!(
        "/rest/api/1.0/projects/{}/repos/{}",
        info.project_key, info.slug
    );
    let branch = get(
        &sim.router(),
        &format!("{base}/default-branch"),
        &admin(&sim),
    )
    .await
    .json();
    assert_eq!(branch["latestCommit"], ids[0].as_str());
    assert_eq!(
        sim.repo(&info.project_key, &info.slug).unwrap().files,
        vec!["README.md".to_owned()]
    );
}

#[tokio::test]
async fn tags_and_branches_created_through_control_are_listed() {
    let sim = tiny();
    let router = sim.router();
    let info = sim.repos().into_iter().find(|r| r.commits > 3).unwrap();
    let ctl = format!("/sim/repos/{}/{}", info.project_key, info.slug);
    assert_eq!(
        post_json(
            &router,
            &format!("{ctl}/tags"),
            &Auth::None,
            json!({"name": "v9.9.9", "annotated": true})
        )
        .await
        .status,
        StatusCode::OK
    );
    assert_eq!(
        post_json(
            &router,
            &format!("{ctl}/branches"),
            &Auth::None,
            json!({"name": "release/9.x"})
        )
        .await
        .status,
        StatusCode::OK
    );
    let dup = post_json(
        &router,
        &format!("{ctl}/branches"),
        &Auth::None,
        json!({"name": "release/9.x"}),
    )
    .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    let after = sim.repo(&info.project_key, &info.slug).unwrap();
    assert!(after.tags.contains(&"v9.9.9".to_owned()));
    assert!(after.branches.contains(&"release/9.x".to_owned()));
}

#[tokio::test]
async fn pull_request_lifecycle_through_http_control() {
    let sim = tiny();
    let router = sim.router();
    let info = sim
        .repos()
        .into_iter()
        .find(|r| r.commits > 3 && !r.personal)
        .unwrap();
    let ctl = format!("/sim/repos/{}/{}", info.project_key, info.slug);
    post_json(
        &router,
        &format!("{ctl}/branches"),
        &Auth::None,
        json!({"name": "feature/x"}),
    )
    .await;
    post_json(
        &router,
        &format!("{ctl}/push"),
        &Auth::None,
        json!({"branch": "feature/x", "count": 2}),
    )
    .await;
    let opened = post_json(
        &router,
        &format!("{ctl}/pull-requests"),
        &Auth::None,
        json!({"from_branch": "feature/x", "title": "X", "author": "alice", "reviewers": ["admin"]}),
    )
    .await;
    assert_eq!(opened.status, StatusCode::OK, "{}", opened.text());
    let id = opened.json()["id"].as_u64().unwrap();
    for action in ["approve", "merge"] {
        let r = post_json(
            &router,
            &format!("{ctl}/pull-requests/{id}/{action}"),
            &Auth::None,
            json!({"user": "admin"}),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{action}: {}", r.text());
    }
    let again = post_json(
        &router,
        &format!("{ctl}/pull-requests/{id}/decline"),
        &Auth::None,
        json!({"user": "admin"}),
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let base = format!(
        "/rest/api/1.0/projects/{}/repos/{}",
        info.project_key, info.slug
    );
    let pr = get(&router, &format!("{base}/pull-requests/{id}"), &admin(&sim))
        .await
        .json();
    assert_eq!(pr["state"], "MERGED");
    assert_eq!(pr["reviewers"][0]["status"], "APPROVED");
    let actions: Vec<String> = all_pages(
        &router,
        &format!("{base}/pull-requests/{id}/activities"),
        &admin(&sim),
    )
    .await
    .iter()
    .map(|a| a["action"].as_str().unwrap().to_owned())
    .collect();
    assert_eq!(actions, ["MERGED", "APPROVED", "OPENED"]);
    // The merge commit is the new head, with the source branch as second parent.
    let head = get(&router, &format!("{base}/commits?limit=1"), &admin(&sim))
        .await
        .json();
    assert_eq!(head["values"][0]["parents"].as_array().unwrap().len(), 2);
    assert_eq!(
        pr["properties"]["mergeCommit"]["id"],
        head["values"][0]["id"]
    );
}

#[tokio::test]
async fn users_groups_and_grants_added_through_control() {
    let sim = tiny();
    let router = sim.router();
    let r = post_json(
        &router,
        "/sim/users",
        &Auth::None,
        json!({"name": "zed", "email": "Zed@acme.example"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let zed = Auth::Basic("zed".into(), "zed-secret".into());
    assert_eq!(
        get(&router, "/rest/api/1.0/projects", &zed).await.json()["size"],
        1,
        "only the all-users project"
    );
    post_json(
        &router,
        "/sim/groups",
        &Auth::None,
        json!({"name": "zed-team"}),
    )
    .await;
    post_json(
        &router,
        "/sim/groups/zed-team/members",
        &Auth::None,
        json!({"user": "zed"}),
    )
    .await;
    let hidden = sim
        .repos()
        .into_iter()
        .find(|r| r.project_key == "CHECKOUT")
        .unwrap()
        .project_key;
    assert_eq!(
        get(
            &router,
            &format!("/rest/api/1.0/projects/{hidden}"),
            &alice(&sim)
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    let g = post_json(
        &router,
        &format!("/sim/projects/{hidden}/grants"),
        &Auth::None,
        json!({"group": "zed-team", "permission": "PROJECT_READ"}),
    )
    .await;
    assert_eq!(g.status, StatusCode::NO_CONTENT, "{}", g.text());
    assert_eq!(
        get(&router, &format!("/rest/api/1.0/projects/{hidden}"), &zed)
            .await
            .status,
        StatusCode::OK
    );
    let members = get(
        &router,
        "/rest/api/1.0/admin/groups/more-members?context=zed-team",
        &admin(&sim),
    )
    .await
    .json();
    assert_eq!(members["values"][0]["name"], "zed");
    assert_eq!(sim.summary().users, sim.users().len());
}
