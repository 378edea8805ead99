//! The built-in list: parses, read-only, clean, and its digest behaves.

use crate::allowlist::{AllowList, QueryPolicy};

fn default_list() -> AllowList {
    AllowList::parse(AllowList::DEFAULT_TOML, "default.toml").unwrap()
}

#[test]
fn default_list_parses_and_equals_builtin() {
    let parsed = default_list();
    let builtin = AllowList::builtin_default();
    assert_eq!(parsed.digest(), builtin.digest());
    assert_eq!(builtin.rules().len(), 27);
}

#[test]
fn default_list_is_read_only_and_scoped_to_rest() {
    for rule in default_list().rules() {
        assert_eq!(rule.methods(), &[http::Method::GET], "{}", rule.id());
        assert!(rule.path().starts_with("/rest/"), "{}", rule.id());
        assert!(!rule.path().contains("/latest/"), "{}", rule.id());
        assert!(
            matches!(rule.query(), QueryPolicy::Only(_)),
            "{}: query must be listed",
            rule.id()
        );
    }
}

#[test]
fn default_list_has_no_lint_findings() {
    assert_eq!(default_list().lint(), vec![]);
}

#[test]
fn default_list_has_the_expected_rule_ids() {
    let list = AllowList::builtin_default();
    let ids: Vec<&str> = list.rules().iter().map(|r| r.id()).collect();
    let want = [
        "application-properties",
        "projects.list",
        "projects.get",
        "projects.repos",
        "repos.list",
        "repos.get",
        "repos.default-branch",
        "repos.branches.default",
        "repos.branches",
        "repos.tags",
        "repos.commits",
        "repos.commit",
        "repos.files",
        "repos.browse",
        "repos.raw",
        "repos.settings.pull-requests",
        "repos.webhooks",
        "pull-requests.list",
        "pull-requests.get",
        "pull-requests.activities",
        "pull-requests.participants",
        "default-reviewers.conditions",
        "branch-permissions.restrictions",
        "users.list",
        "users.get",
        "admin.groups",
        "admin.groups.more-members",
    ];
    assert_eq!(ids, want);
}

#[test]
fn digest_ignores_comments_whitespace_and_descriptions() {
    let original = default_list();
    assert!(original.digest().starts_with("sha256:"));
    assert_eq!(original.digest().len(), "sha256:".len() + 64);
    let stripped: String = AllowList::DEFAULT_TOML
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && !l.trim_start().starts_with("description"))
        .map(|l| format!("  {}\n\n", l.replace(" = ", "=")))
        .collect();
    let reparsed = AllowList::parse(&stripped, "stripped.toml").unwrap();
    assert_eq!(reparsed.rules().len(), original.rules().len());
    assert_eq!(reparsed.digest(), original.digest());
}

#[test]
fn digest_changes_when_a_rule_changes() {
    let base = default_list().digest().to_owned();
    let edits = [
        (r#"query = ["start", "limit"]"#, r#"query = ["limit"]"#),
        (r#"methods = ["GET"]"#, r#"methods = ["GET", "HEAD"]"#),
        (r#"id = "projects.get""#, r#"id = "projects.one""#),
        ("/rest/api/1.0/users/{user}", "/rest/api/1.0/users/*"),
        ("query = []", "# query = []"),
    ];
    for (from, to) in edits {
        assert!(AllowList::DEFAULT_TOML.contains(from), "{from}");
        let edited = AllowList::DEFAULT_TOML.replacen(from, to, 1);
        let list = AllowList::parse(&edited, "edited.toml").unwrap();
        assert_ne!(list.digest(), base, "{from} -> {to}");
    }
}

#[test]
fn digest_does_not_depend_on_list_order_inside_a_rule() {
    let a = "version = 1\n[[rule]]\nid = \"a\"\nmethods = [\"GET\", \"HEAD\"]\npath = \"/a\"\nquery = [\"x\", \"y\"]\n";
    let b = "version = 1\n[[rule]]\npath = \"/a\"\nquery = [\"y\", \"x\"]\nmethods = [\"HEAD\", \"GET\"]\nid = \"a\"\n";
    let (a, b) = (
        AllowList::parse(a, "a").unwrap(),
        AllowList::parse(b, "b").unwrap(),
    );
    assert_eq!(a.digest(), b.digest());
}
