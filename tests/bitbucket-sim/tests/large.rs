//! The large profile: 10,000 repos built from descriptors, contents generated on demand.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod common;

use bitbucket_sim::{Profile, SimConfig, Simulator};
use common::{admin, get};
use http::StatusCode;

#[tokio::test]
async fn large_profile_serves_deep_pages_without_generating_everything() {
    let sim = Simulator::new(SimConfig::unlimited(Profile::Large));
    let names = sim.repo_names();
    assert!(names.len() >= 10_000, "{} repos", names.len());
    let router = sim.router();

    // A deep page of the cross-project repository list.
    let page = get(
        &router,
        "/rest/api/1.0/repos?start=9000&limit=100",
        &admin(&sim),
    )
    .await
    .json();
    assert_eq!(page["size"], 100);
    assert_eq!(page["start"], 9000);

    // The oldest commits of a big repository, reached through `start`.
    let big = names
        .iter()
        .filter_map(|(k, s)| sim.repo(k, s))
        .find(|r| r.commits > 250)
        .expect("a repository with a long history");
    let base = format!(
        "/rest/api/1.0/projects/{}/repos/{}/commits",
        big.project_key, big.slug
    );
    let deep = get(
        &router,
        &format!("{base}?start={}&limit=25", big.commits - 10),
        &admin(&sim),
    )
    .await;
    assert_eq!(deep.status, StatusCode::OK);
    let deep = deep.json();
    assert_eq!(deep["size"], 10);
    assert_eq!(deep["isLastPage"], true);
    assert_eq!(deep["values"][9]["message"], "Initial commit");
    // Looking a deep commit up by id needs no walk at all.
    let id = deep["values"][0]["id"].as_str().unwrap();
    let one = get(&router, &format!("{base}/{id}"), &admin(&sim)).await;
    assert_eq!(one.status, StatusCode::OK);
}
