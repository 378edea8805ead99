//! Allowed requests: the forwarded target is the canonical form of what was matched.

use http::Method;

use super::{open_list, outcome};
use crate::allowlist::{AllowList, Decision};

#[test]
fn forwards_the_canonical_form() {
    let list = open_list();
    let cases: &[(&str, &str)] = &[
        // Already canonical: unchanged.
        ("/rest/api/1.0/projects", "/rest/api/1.0/projects"),
        ("/rest/api/1.0/users/~alice", "/rest/api/1.0/users/~alice"),
        ("/x/a@b:c!$&'()*,=", "/x/a@b:c!$&'()*,="),
        // Unreserved characters are decoded; hex digits come out uppercase.
        ("/rest/api/1.0/users/%7ealice", "/rest/api/1.0/users/~alice"),
        ("/x/%41%62%2D%5F%2E", "/x/Ab-_."),
        ("/x/d%c3%a9j%c3%a0.txt", "/x/d%C3%A9j%C3%A0.txt"),
        // Raw non-ASCII and other characters outside the safe set are encoded.
        ("/x/déjà", "/x/d%C3%A9j%C3%A0"),
        ("/x/\u{ff0e}\u{ff0e}", "/x/%EF%BC%8E%EF%BC%8E"),
        ("/x/a b", "/x/a%20b"),
        ("/x/{a}|\"<>^`[]", "/x/%7Ba%7D%7C%22%3C%3E%5E%60%5B%5D"),
        ("/x/a%20b", "/x/a%20b"),
        // '+' is literal in a path and always forwarded encoded.
        ("/x/a+b", "/x/a%2Bb"),
        ("/x/a%2bb", "/x/a%2Bb"),
        // Not dot segments, and a literal '%' that is not an escape.
        ("/x/...", "/x/..."),
        ("/x/.hidden/..a/a..", "/x/.hidden/..a/a.."),
        ("/x/%25zz", "/x/%25zz"),
        ("/x/100%25", "/x/100%25"),
        // Query: order and duplicates kept, encoded '/' kept, '+' is a space.
        (
            "/x?at=refs%2Fheads%2Fmain&limit=5",
            "/x?at=refs%2Fheads%2Fmain&limit=5",
        ),
        ("/x?at=refs/heads/main", "/x?at=refs%2Fheads%2Fmain"),
        ("/x?b=1&a=2&b=3", "/x?b=1&a=2&b=3"),
        ("/x?filterText=a+b", "/x?filterText=a%20b"),
        ("/x?filterText=a%2Bb", "/x?filterText=a%2Bb"),
        ("/x?filterText=a%2bb&x=%7e", "/x?filterText=a%2Bb&x=~"),
        ("/x?q=a=b", "/x?q=a%3Db"),
        ("/x?q=%26", "/x?q=%26"),
        ("/x?q=a?b", "/x?q=a%3Fb"),
        ("/x?q=a;b", "/x?q=a%3Bb"),
        ("/x?q=%C3%A9t%C3%A9", "/x?q=%C3%A9t%C3%A9"),
        // Flags and empty values stay distinct; an empty query is dropped.
        ("/x?withCounts", "/x?withCounts"),
        ("/x?filter=", "/x?filter="),
        ("/x?", "/x"),
    ];
    for (raw, want) in cases {
        let got = outcome(&list, &Method::GET, raw);
        assert_eq!(got, Ok(("open".to_owned(), (*want).to_owned())), "{raw:?}");
    }
}

#[test]
fn canonical_target_exposes_path_and_query() {
    let list = open_list();
    let Decision::Allow { target, .. } = list.check(&Method::GET, "/a/%7e?x=1&y") else {
        panic!("denied");
    };
    assert_eq!(target.as_str(), "/a/~?x=1&y");
    assert_eq!(target.path(), "/a/~");
    assert_eq!(target.query(), Some("x=1&y"));
    let Decision::Allow { target, .. } = list.check(&Method::GET, "/a?") else {
        panic!("denied");
    };
    assert_eq!((target.path(), target.query()), ("/a", None));
}

#[test]
fn built_in_list_allows_the_sync_engine_calls() {
    let list = AllowList::builtin_default();
    let repo = "/rest/api/1.0/projects/PRJ/repos/my-repo";
    let cases: Vec<(String, &str, String)> = vec![
        (
            "/rest/api/1.0/application-properties".into(),
            "application-properties",
            String::new(),
        ),
        (
            "/rest/api/1.0/projects?start=25&limit=100".into(),
            "projects.list",
            String::new(),
        ),
        (
            "/rest/api/1.0/projects/~ALICE".into(),
            "projects.get",
            String::new(),
        ),
        (
            "/rest/api/1.0/repos?projectname=x&name=y".into(),
            "repos.list",
            String::new(),
        ),
        (repo.into(), "repos.get", String::new()),
        (
            format!("{repo}/default-branch"),
            "repos.default-branch",
            String::new(),
        ),
        (
            format!("{repo}/branches/default"),
            "repos.branches.default",
            String::new(),
        ),
        (
            format!("{repo}/commits?until=refs%2Fheads%2Fmain&limit=100"),
            "repos.commits",
            String::new(),
        ),
        (
            format!("{repo}/commits/0a1b2c"),
            "repos.commit",
            String::new(),
        ),
        (
            format!("{repo}/files?at=refs%2Fheads%2Fmain"),
            "repos.files",
            String::new(),
        ),
        (
            format!("{repo}/files/services/api?at=abc"),
            "repos.files",
            String::new(),
        ),
        (
            format!("{repo}/browse/package.json?at=main"),
            "repos.browse",
            String::new(),
        ),
        (format!("{repo}/browse"), "repos.browse", String::new()),
        (
            format!("{repo}/raw/a/b/cortex.yaml?at=main"),
            "repos.raw",
            String::new(),
        ),
        (
            format!("{repo}/pull-requests?state=ALL&order=NEWEST&start=0"),
            "pull-requests.list",
            String::new(),
        ),
        (
            format!("{repo}/pull-requests?username.1=bob&role.1=REVIEWER"),
            "pull-requests.list",
            String::new(),
        ),
        (
            format!("{repo}/pull-requests/42"),
            "pull-requests.get",
            String::new(),
        ),
        (
            format!("{repo}/pull-requests/42/activities?start=0&limit=500"),
            "pull-requests.activities",
            String::new(),
        ),
        (
            format!("{repo}/pull-requests/42/participants"),
            "pull-requests.participants",
            String::new(),
        ),
        (
            format!("{repo}/settings/pull-requests"),
            "repos.settings.pull-requests",
            String::new(),
        ),
        (format!("{repo}/webhooks"), "repos.webhooks", String::new()),
        (
            "/rest/default-reviewers/1.0/projects/P/repos/r/conditions".into(),
            "default-reviewers.conditions",
            String::new(),
        ),
        (
            "/rest/branch-permissions/2.0/projects/P/repos/r/restrictions?limit=1".into(),
            "branch-permissions.restrictions",
            String::new(),
        ),
        (
            "/rest/api/1.0/users?filter=a+b&start=0".into(),
            "users.list",
            "/rest/api/1.0/users?filter=a%20b&start=0".into(),
        ),
        (
            "/rest/api/1.0/users/alice".into(),
            "users.get",
            String::new(),
        ),
        (
            "/rest/api/1.0/admin/groups?filter=dev".into(),
            "admin.groups",
            String::new(),
        ),
        (
            "/rest/api/1.0/admin/groups/more-members?context=devs".into(),
            "admin.groups.more-members",
            String::new(),
        ),
    ];
    for (target, rule, canonical) in cases {
        let want = if canonical.is_empty() {
            target.clone()
        } else {
            canonical
        };
        let got = outcome(&list, &Method::GET, &target);
        assert_eq!(got, Ok((rule.to_owned(), want)), "{target}");
    }
}

#[test]
fn head_is_not_implied_by_get() {
    let text = r#"
version = 1
[[rule]]
id = "get"
methods = ["GET"]
path = "/a"
[[rule]]
id = "head"
methods = ["HEAD"]
path = "/b"
"#;
    let list = AllowList::parse(text, "t.toml").unwrap();
    assert!(list.check(&Method::GET, "/a").is_allowed());
    assert!(!list.check(&Method::HEAD, "/a").is_allowed());
    assert!(list.check(&Method::HEAD, "/b").is_allowed());
    assert!(!list.check(&Method::GET, "/b").is_allowed());
}

#[test]
fn first_allowing_rule_wins_and_later_rules_can_widen_the_query() {
    let text = r#"
version = 1
[[rule]]
id = "narrow"
methods = ["GET"]
path = "/p/{x}/q"
query = ["limit"]
[[rule]]
id = "wide"
methods = ["GET"]
path = "/p/*/q"
query = ["limit", "start"]
[[rule]]
id = "tail"
methods = ["GET", "POST"]
path = "/p/**"
query = []
"#;
    let list = AllowList::parse(text, "t.toml").unwrap();
    let id = |m: Method, t: &str| outcome(&list, &m, t).map(|(id, _)| id);
    assert_eq!(id(Method::GET, "/p/1/q?limit=1"), Ok("narrow".into()));
    assert_eq!(id(Method::GET, "/p/1/q?start=1"), Ok("wide".into()));
    assert_eq!(id(Method::POST, "/p/1/q"), Ok("tail".into()));
    assert_eq!(id(Method::GET, "/p"), Ok("tail".into()));
    assert_eq!(id(Method::GET, "/p/1/2/3"), Ok("tail".into()));
    assert_eq!(
        id(Method::GET, "/p/1/q?foo=1"),
        Err(crate::allowlist::DenyReason::QueryParameterNotAllowed)
    );
}

#[test]
fn many_checks_run_through_without_trouble() {
    // Exercises the hot path; timing lives in the benchmarks, not in assertions.
    let list = AllowList::builtin_default();
    let targets = [
        "/rest/api/1.0/projects/PRJ/repos/r/pull-requests/7/activities?start=0&limit=500",
        "/rest/api/1.0/projects/PRJ/repos/r/browse/src/main/pom.xml?at=refs%2Fheads%2Fmain",
        "/rest/api/1.0/admin/users",
        "/rest/api/1.0/projects/%2e%2e/x",
    ];
    let mut allowed = 0;
    for i in 0..20_000 {
        if list
            .check(&Method::GET, targets[i % targets.len()])
            .is_allowed()
        {
            allowed += 1;
        }
    }
    assert_eq!(allowed, 10_000);
}
