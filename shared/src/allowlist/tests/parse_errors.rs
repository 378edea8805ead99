//! Broken files: every error is reported, each at the right `file:line:col`.

use crate::allowlist::template::Template;
use crate::allowlist::{AllowList, AllowListError};

fn errors(text: &str) -> Vec<String> {
    let err: AllowListError = AllowList::parse(text, "broken.toml").unwrap_err();
    let lines: Vec<String> = err.to_string().lines().map(str::to_owned).collect();
    assert_eq!(
        lines.len(),
        err.errors().len(),
        "Display lists every error once"
    );
    lines
}

fn assert_errors(text: &str, want: &[(&str, &str)]) {
    let got = errors(text);
    let ok = got.len() == want.len()
        && got.iter().zip(want).all(|(g, (pos, msg))| {
            g.starts_with(&format!("broken.toml:{pos}: ")) && g.contains(msg)
        });
    assert!(ok, "got:\n{}\nwant:\n{want:#?}", got.join("\n"));
}

#[test]
fn reports_a_toml_syntax_error_with_its_position() {
    assert_errors(
        "version = 1\n[[rule]\nid = \"x\"\n",
        &[("2:8", "invalid TOML")],
    );
    assert_errors("version = 1\npath = \"/a\n", &[("2:11", "invalid TOML")]);
}

#[test]
fn reports_every_semantic_error_together() {
    let text = r#"version = 1

[[rule]]
id = "ok"
methods = ["GET"]
path = "/a"
colour = "blue"

[[rule]]
id = "ok"
methods = ["GET", "get", "BREW"]
path = "/a/**/b"
query = "start"

[[rule]]
id = "Bad Id"
methods = []
path = "a/{b"

[[rule]]
id = "nopath"
methods = ["GET", "GET"]
query = ["start", "start", ""]

[rules]
x = 1
"#;
    assert_errors(
        text,
        &[
            ("7:1", "unknown key `colour` in [[rule]]"),
            ("10:6", "duplicate rule id \"ok\" (first defined on line 4)"),
            ("11:19", "methods are uppercase: GET"),
            ("11:26", "unsupported method \"BREW\""),
            ("12:12", "'**' is only allowed as the last segment"),
            ("13:9", "`query` must be an array of strings"),
            ("16:6", "invalid rule id \"Bad Id\""),
            ("17:11", "`methods` must list at least one method"),
            ("18:9", "must start with '/'"),
            ("20:1", "missing required key `path`"),
            ("22:19", "method GET is listed twice"),
            ("23:19", "query parameter \"start\" is listed twice"),
            ("23:28", "invalid query parameter name \"\""),
            ("25:2", "unknown top-level key `rules`"),
        ],
    );
}

#[test]
fn requires_a_supported_version() {
    let rule = "[[rule]]\nid = \"a\"\nmethods = [\"GET\"]\npath = \"/a\"\n";
    assert_errors(rule, &[("1:1", "missing `version = 1`")]);
    assert_errors(
        &format!("version = 2\n{rule}"),
        &[("1:11", "unsupported `version`")],
    );
    assert_errors(
        &format!("version = \"1\"\n{rule}"),
        &[("1:11", "unsupported `version`")],
    );
}

#[test]
fn rejects_wrongly_typed_values() {
    assert_errors(
        "version = 1\nrule = 3\n",
        &[("2:8", "`rule` must be an array of tables")],
    );
    assert_errors(
        "version = 1\n[[rule]]\nid = 7\nmethods = \"GET\"\npath = [\"/a\"]\ndescription = 1\n",
        &[
            ("3:6", "`id` must be a string"),
            ("4:11", "`methods` must be an array of strings"),
            ("5:8", "`path` must be a string"),
            ("6:15", "`description` must be a string"),
        ],
    );
}

#[test]
fn template_errors_point_into_the_template() {
    let cases = [
        ("a/b", 0, "must start with '/'"),
        ("/a//b", 3, "empty segment"),
        ("/a/", 3, "empty segment"),
        ("/", 1, "empty segment"),
        ("/a/**/b", 3, "'**' is only allowed as the last segment"),
        ("/a/b*", 4, "'*' must be a whole segment"),
        ("/a/{b", 3, "unbalanced brace"),
        ("/a/b}", 3, "unbalanced brace"),
        ("/a/x{b}", 3, "unbalanced brace"),
        ("/a/{1x}", 3, "bad parameter"),
        ("/a/{}", 3, "bad parameter"),
        ("/a/{x}/{x}", 7, "appears twice"),
        ("/a/%2e", 3, "'%' escapes are not allowed"),
        ("/a?x=1", 2, "`query` list"),
        ("/a/b c", 4, "whitespace"),
        ("/a\\b", 2, "'\\'"),
        ("/a#b", 2, "'#'"),
    ];
    for (text, offset, msg) in cases {
        let errs = Template::parse(text).unwrap_err();
        assert_eq!(errs[0].offset, offset, "{text}: {:?}", errs[0]);
        assert!(errs[0].message.contains(msg), "{text}: {:?}", errs[0]);
    }
    let all = Template::parse("/a//b/c*/**/{d").unwrap_err();
    assert_eq!(all.len(), 4, "{all:?}");
}

#[test]
fn load_reports_unreadable_files_and_parses_readable_ones() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.toml");
    let err = AllowList::load(&missing).unwrap_err();
    assert!(err.is_io());
    assert_eq!(err.errors().len(), 1);
    assert!(
        err.to_string().contains("missing.toml: cannot read"),
        "{err}"
    );
    assert!(std::error::Error::source(&err).is_some());

    let good = dir.path().join("good.toml");
    std::fs::write(&good, AllowList::DEFAULT_TOML).unwrap();
    let list = AllowList::load(&good).unwrap();
    assert_eq!(list.digest(), AllowList::builtin_default().digest());
    assert!(list.source().ends_with("good.toml"));

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "version = 1\n[[rule]]\nid = \"x\"\n").unwrap();
    let err = AllowList::load(&bad).unwrap_err();
    assert!(!err.is_io());
    assert!(err.errors()[0].file().ends_with("bad.toml"));
    assert_eq!(err.errors()[0].line(), Some(2));
}
