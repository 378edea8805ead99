//! Every recorded response relevant to the client decodes into its model, with the values
//! the engine relies on. The files are copies of the shared reference fixtures
//! (`relay-broker/tests/fixtures/bitbucket/README.md` says where each comes from).

use serde::de::DeserializeOwned;

use crate::bitbucket::error::ErrorKind;
use crate::bitbucket::model::*;

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/bitbucket/",
            $name
        ))
    };
}

fn decode<T: DeserializeOwned>(text: &str) -> T {
    serde_json::from_str(text).unwrap()
}

#[test]
fn decodes_server_version() {
    let props: ApplicationProperties = decode(fixture!(
        "sourcegraph-public-snapshot--vcr-GetVersion.body.json"
    ));
    assert_eq!(props.version, "7.11.2");
    assert_eq!(props.build_number, "7011002");
    assert_eq!(props.display_name, "Bitbucket");
    assert_eq!(props.major_minor(), Some((7, 11)));
}

#[test]
fn decodes_projects_and_repositories() {
    let project: Project = decode(fixture!(
        "jenkinsci-bitbucket-branch-source-plugin--project.json"
    ));
    assert_eq!(project.key, "amuniz");
    assert!(!project.is_personal());
    let page: Page<Repository> = decode(fixture!(
        "jenkinsci-bitbucket-branch-source-plugin--repos-page.json"
    ));
    assert_eq!(page.values.len(), 3);
    assert!(page.is_last_page);
    let repo: Repository = decode(fixture!(
        "jenkinsci-bitbucket-branch-source-plugin--repo.json"
    ));
    assert_eq!(repo.slug, "test-repos");
    assert!(!repo.archived, "absent before 8.0: not archived");
    assert_eq!(
        repo.web_url(),
        Some("http://localhost:7990/projects/AMUNIZ/repos/test-repos/browse")
    );
    assert_eq!(
        repo.commit_url("abc").as_deref(),
        Some("http://localhost:7990/projects/AMUNIZ/repos/test-repos/commits/abc")
    );
    assert_eq!(repo.links.clone.len(), 2);
}

#[test]
fn decodes_refs() {
    let page: Page<Branch> = decode(fixture!(
        "jenkinsci-bitbucket-branch-source-plugin--branches-page.json"
    ));
    assert_eq!(page.values.iter().filter(|b| b.is_default).count(), 1);
    let default: Branch = decode(fixture!("drone-go-scm--default-branch.json"));
    assert_eq!(default.display_id, "feature_branch");
    assert_eq!(
        default.latest_commit,
        "c567b3f4a2980299e2a1148360f23ffb0f4c9764"
    );
    let tags: Page<Tag> = decode(fixture!(
        "jenkinsci-bitbucket-branch-source-plugin--tags-page.json"
    ));
    assert_eq!(tags.values.len(), 2);
    assert!(
        tags.values.iter().all(|t| t.hash.is_some()),
        "annotated tags"
    );
    assert!(tags.values.iter().all(|t| !t.latest_commit.is_empty()));
}

#[test]
fn decodes_commits_with_epoch_millisecond_times() {
    let page: Page<Commit> = decode(fixture!(
        "jenkinsci-bitbucket-branch-source-plugin--commits-page-since-until.json"
    ));
    assert_eq!(page.next_page_start, None, "null nextPageStart");
    let first = &page.values[0];
    assert_eq!(
        first.author.email_address.as_deref(),
        Some("amuniz@acme.com")
    );
    assert_eq!(first.author_timestamp.timestamp_millis(), 1745661059000);
    assert_eq!(
        first.parents[0].id,
        "2674e72983786424571e0c8fc5ac8eca17e0583f"
    );
    assert!(!first.is_merge());
}

#[test]
fn decodes_files_and_browse_probe() {
    let page: Page<String> = decode(fixture!("drone-go-scm--files-page.json"));
    assert_eq!(page.next_page_start, Some(25));
    assert!(!page.is_last_page);
    assert!(page.values.contains(&"testdata/branch.json".to_owned()));
    let probe: serde_json::Value = decode(fixture!(
        "jenkinsci-bitbucket-branch-source-plugin--browse-type-true.json"
    ));
    assert_eq!(probe["type"], "FILE");
}

#[test]
fn decodes_pull_requests_with_author_and_fork_refs() {
    let page: Page<PullRequest> = decode(fixture!(
        "jenkinsci-bitbucket-branch-source-plugin--pull-requests-page.json"
    ));
    let fork = page.values.iter().find(|p| p.id == 2).unwrap();
    assert_eq!(fork.author.user.name, "admin");
    assert_eq!(fork.author.role, "AUTHOR");
    assert_eq!(fork.from_ref.repository.slug, "test-repos-fork");
    assert_eq!(fork.to_ref.repository.slug, "test-repos");
    assert_eq!(fork.created_date.timestamp_millis(), 1541687143031);
    assert!(fork.open && fork.closed_date.is_none());
}

#[test]
fn decodes_activities_keeping_every_action() {
    let page: Page<Activity> = decode(fixture!(
        "sourcegraph-public-snapshot--vcr-PullRequestActivities.body.json"
    ));
    assert_eq!(page.limit, 500, "the server capped a request for 1000");
    let actions: Vec<&str> = page.values.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "MERGED",
            "COMMENTED",
            "REOPENED",
            "DECLINED",
            "UNAPPROVED",
            "APPROVED",
            "REVIEWED",
            "UPDATED",
            "OPENED"
        ]
    );
    assert!(
        page.values
            .iter()
            .all(|a| !matches!(a.action, ActivityAction::Other(_)))
    );
    assert!(
        page.values[0].commit.is_some(),
        "MERGED carries the merge commit"
    );
    let commented = &page.values[1];
    assert!(
        commented
            .comment
            .as_ref()
            .is_some_and(|c| !c.text.is_empty())
    );

    let page: Page<Activity> = decode(fixture!(
        "cdancy-bitbucket-rest--pull-request-activities.json"
    ));
    assert_eq!(page.values.len(), 3);
    let unknown: Activity =
        decode(r#"{"id": 1, "createdDate": 5, "action": "AUTO_MERGE_REQUESTED"}"#);
    assert_eq!(
        unknown.action,
        ActivityAction::Other("AUTO_MERGE_REQUESTED".into())
    );
}

#[test]
fn decodes_participants_and_people() {
    let page: Page<Participant> = decode(fixture!(
        "cdancy-bitbucket-rest--pull-request-participants.json"
    ));
    assert_eq!(page.values[0].status, "UNAPPROVED");
    assert_eq!(page.values[0].role, "PARTICIPANT");
    let user: User = decode(fixture!("drone-go-scm--user.json"));
    assert!(user.email_address.is_some());
    assert!(!user.slug.is_empty());
    let members: Page<User> = decode(fixture!(
        "cdancy-bitbucket-rest--admin-list-user-by-group.json"
    ));
    assert_eq!(members.next_page_start, Some(2));
    assert!(members.values.iter().all(|u| u.directory_name.is_some()));
    assert!(members.values[0].last_authentication_timestamp.is_some());
    let reviewers: Vec<User> = decode(fixture!(
        "sourcegraph-public-snapshot--vcr-FetchDefaultReviewers-success.body.json"
    ));
    assert_eq!(reviewers.len(), 2);
}

#[test]
fn decodes_required_approvers_in_both_shapes() {
    let old: PullRequestSettings = decode(fixture!(
        "cdancy-bitbucket-rest--pull-request-settings.json"
    ));
    assert_eq!(old.required_approvers, Some(2));
    assert_eq!(old.required_successful_builds, Some(1));
    let shapes = [
        (
            r#"{"requiredApprovers": {"enabled": true, "count": "3"}}"#,
            Some(3),
        ),
        (
            r#"{"requiredApprovers": {"enabled": false, "count": "3"}}"#,
            None,
        ),
        (
            r#"{"requiredApprovers": {"enabled": true, "count": 4}}"#,
            Some(4),
        ),
        (r#"{"requiredApprovers": 0}"#, Some(0)),
        (r#"{"requiredApprovers": null}"#, None),
        (r#"{}"#, None),
    ];
    for (json, expected) in shapes {
        let settings: PullRequestSettings = decode(json);
        assert_eq!(settings.required_approvers, expected, "{json}");
    }
    assert!(serde_json::from_str::<PullRequestSettings>(r#"{"requiredApprovers": [1]}"#).is_err());
}

#[test]
fn decodes_review_policy_and_webhooks() {
    let conditions: Vec<DefaultReviewerCondition> = decode(fixture!(
        "cdancy-bitbucket-rest--default-reviwers-list.json"
    ));
    assert_eq!(conditions.len(), 3);
    assert_eq!(conditions[0].required_approvals, 1);
    assert_eq!(conditions[0].reviewers[0].name, "root");
    assert_eq!(conditions[1].scope.kind, "PROJECT");
    let restrictions: Page<BranchRestriction> = decode(fixture!(
        "cdancy-bitbucket-rest--branch-permission-list.json"
    ));
    let r = &restrictions.values[0];
    assert_eq!(
        (r.kind.as_str(), r.groups.as_slice()),
        ("fast-forward-only", ["GROUPS1".to_owned()].as_slice())
    );
    assert_eq!(r.matcher.kind.id, "MODEL_BRANCH");
    let hooks: Page<Webhook> = decode(fixture!(
        "jenkinsci-bitbucket-branch-source-plugin--webhooks-config-page.json"
    ));
    assert_eq!(hooks.values[0].events, ["repo:refs_changed"]);
    assert!(hooks.values[0].created_date.is_some());
}

#[test]
fn error_envelope_gives_kind_and_message() {
    let body = fixture!("drone-go-scm--error-no-such-project.json");
    let kind = ErrorKind::from_status(http::StatusCode::NOT_FOUND, body.as_bytes(), None);
    let ErrorKind::NotFound { message } = kind else {
        panic!("{kind:?}");
    };
    assert!(message.contains("does not exist"), "{message}");
    let authz = br#"{"errors":[{"context":null,"message":"no admin","exceptionName":"com.atlassian.bitbucket.AuthorisationException"}]}"#;
    assert!(matches!(
        ErrorKind::from_status(http::StatusCode::UNAUTHORIZED, authz, None),
        ErrorKind::Forbidden { .. }
    ));
    assert!(matches!(
        ErrorKind::from_status(http::StatusCode::UNAUTHORIZED, b"<html>", None),
        ErrorKind::Unauthorized { .. }
    ));
}
