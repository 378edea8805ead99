//! `lint` and the template coverage relation behind it.

use crate::allowlist::template::Template;
use crate::allowlist::{AllowList, LintKind};

#[test]
fn lint_finds_shadowed_and_never_matching_rules() {
    let text = r#"
version = 1
[[rule]]
id = "all-repos"
methods = ["GET"]
path = "/r/{p}/**"
[[rule]]
id = "one"
methods = ["GET"]
path = "/r/x/y"
query = ["a"]
[[rule]]
id = "post-too"
methods = ["GET", "POST"]
path = "/r/x/y"
[[rule]]
id = "dots"
methods = ["GET"]
path = "/s/../x"
[[rule]]
id = "semi"
methods = ["GET"]
path = "/s;x"
[[rule]]
id = "q"
methods = ["GET"]
path = "/s"
query = ["a", "b"]
[[rule]]
id = "q-narrower"
methods = ["GET"]
path = "/s"
query = ["b"]
[[rule]]
id = "q-any"
methods = ["GET"]
path = "/s"
"#;
    let lints = AllowList::parse(text, "t.toml").unwrap().lint();
    let got: Vec<(&str, LintKind)> = lints.iter().map(|l| (&*l.rule_id, l.kind)).collect();
    assert_eq!(
        got,
        vec![
            ("one", LintKind::Shadowed),
            ("dots", LintKind::NeverMatches),
            ("semi", LintKind::NeverMatches),
            ("q-narrower", LintKind::Shadowed),
        ]
    );
    assert!(
        lints[0].message.contains("all-repos"),
        "{}",
        lints[0].message
    );
    assert!(lints[0].to_string().contains("\"one\""));
}

#[test]
fn template_coverage_table() {
    let cases = [
        ("/a/**", "/a", true),
        ("/a/**", "/a/b/c", true),
        ("/a/**", "/a/**", true),
        ("/a/**", "/a/*/**", true),
        ("/**", "/x/{y}", true),
        ("/a/*", "/a/b", true),
        ("/a/{x}", "/a/*", true),
        ("/a/*/c", "/a/b/c", true),
        ("/a/b", "/a/b", true),
        ("/a/b", "/a/*", false),
        ("/a/*", "/a/**", false),
        ("/a/*", "/a/b/c", false),
        ("/a/*/**", "/a", false),
        ("/a/b", "/a/c", false),
        ("/a", "/a/b", false),
        ("/a/b/c", "/a/b", false),
    ];
    for (a, b, want) in cases {
        let (ta, tb) = (Template::parse(a).unwrap(), Template::parse(b).unwrap());
        assert_eq!(ta.covers(&tb), want, "{a} covers {b}");
    }
}

#[test]
fn template_matching_table() {
    let cases: &[(&str, &[&str], bool)] = &[
        ("/a/{x}/c", &["a", "b", "c"], true),
        ("/a/{x}/c", &["a", "b", "C"], false),
        ("/a/*", &["a"], false),
        ("/a/*", &["a", "b", "c"], false),
        ("/a/**", &["a"], true),
        ("/a/**", &["a", "b", "c"], true),
        ("/a/**", &["b"], false),
        ("/**", &["anything"], true),
        ("/A", &["a"], false),
        ("/a.b", &["a.b"], true),
    ];
    for (t, segs, want) in cases {
        let t = Template::parse(t).unwrap();
        assert_eq!(
            t.matches(segs.iter().copied()),
            *want,
            "{} vs {segs:?}",
            t.as_str()
        );
    }
}
