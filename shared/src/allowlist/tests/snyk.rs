//! Import of Snyk-style accept files.

use http::Method;

use crate::allowlist::{AllowList, import_snyk_accept};

const SNYK: &str = include_str!("../testdata/snyk-bitbucket-server-accept.json");
const AXON: &str = include_str!("../testdata/axon-bitbucket-accept.json");
const AXON_BASIC: &str = include_str!("../testdata/axon-bitbucket-basic-accept.json");

fn rule_id(list: &AllowList, method: Method, target: &str) -> Option<String> {
    match list.check(&method, target) {
        crate::allowlist::Decision::Allow { rule_id, .. } => Some(rule_id.to_string()),
        crate::allowlist::Decision::Deny(_) => None,
    }
}

#[test]
fn shipped_snyk_file_converts_and_parses_back() {
    let result = import_snyk_accept(SNYK, "accept.json").unwrap();
    let list = AllowList::parse(&result.toml, "imported.toml").unwrap();
    assert!(
        result
            .toml
            .starts_with("# Allow-list imported from the Snyk-style accept file accept.json")
    );
    // Exact conversions, with the origin prefix applied.
    assert_eq!(
        rule_id(&list, Method::GET, "/rest/api/1.0/projects"),
        Some("snyk.000".into())
    );
    assert_eq!(
        rule_id(&list, Method::GET, "/rest/api/1.0/projects/P/repos/r"),
        Some("snyk.003".into())
    );
    assert_eq!(
        rule_id(
            &list,
            Method::POST,
            "/rest/api/1.0/projects/P/repos/r/webhooks"
        ),
        Some("snyk.080".into())
    );
    assert_eq!(
        rule_id(&list, Method::GET, "/rest/capabilities"),
        Some("snyk.079".into())
    );
    // `files/:searchPath?` becomes two rules: with and without the optional segment.
    let files = "/rest/api/1.0/projects/P/repos/r/files";
    assert_eq!(
        rule_id(&list, Method::GET, files),
        Some("snyk.004.a".into())
    );
    assert_eq!(
        rule_id(&list, Method::GET, &format!("{files}/src")),
        Some("snyk.004.b".into())
    );
    // `branches:filterText?` is narrowed to `branches`.
    let branches = "/rest/api/1.0/projects/P/repos/r/branches?filterText=x";
    assert!(rule_id(&list, Method::GET, branches).is_some());
    // The description names the source entry.
    let r0 = &list.rules()[0];
    assert_eq!(
        r0.description(),
        Some("Snyk private[0]: list the user's projects")
    );
    // Nothing that was not in the file.
    assert_eq!(
        rule_id(&list, Method::DELETE, "/rest/api/1.0/projects"),
        None
    );
    assert_eq!(
        rule_id(&list, Method::GET, "/rest/api/1.0/admin/groups"),
        None
    );
}

#[test]
fn shipped_snyk_file_warns_about_what_it_cannot_express() {
    let result = import_snyk_accept(SNYK, "accept.json").unwrap();
    let w = |needle: &str| {
        result
            .warnings
            .iter()
            .filter(|w| w.contains(needle))
            .count()
    };
    // The 74 `browse*...` manifest globs and the git-client passthrough are skipped.
    assert_eq!(w("glob inside a segment"), 74, "{:#?}", result.warnings);
    assert_eq!(
        w("private[103]"),
        1,
        "skipped for its foreign origin: {:#?}",
        result.warnings
    );
    assert_eq!(w("is not a Bitbucket origin"), 1);
    assert_eq!(w("`public` entries ignored"), 1);
    assert_eq!(w("imported as just \"branches\""), 1);
    // Entries 3 and 104 are the same call once the origin prefix is applied.
    assert!(
        result
            .warnings
            .iter()
            .any(|w| w.contains("after import") && w.contains("snyk.104"))
    );
    assert!(result.toml.contains("# --- Not imported"));
    assert!(
        result.toml.contains(
            "# private[5] GET /projects/:project/repos/:repo/browse*/package.json: skipped"
        )
    );
}

#[test]
fn axon_files_convert_with_loud_warnings() {
    for file in [AXON, AXON_BASIC] {
        let result = import_snyk_accept(file, "axon.json").unwrap();
        let list = AllowList::parse(&result.toml, "axon.toml").unwrap();
        assert_eq!(list.rules().len(), 1);
        assert_eq!(list.rules()[0].path(), "/rest/api/1.0/**");
        assert_eq!(list.rules()[0].methods().len(), 7);
        assert!(
            result
                .warnings
                .iter()
                .any(|w| w.contains("WARNING: fully permissive")),
            "{:#?}",
            result.warnings
        );
        assert!(result.warnings.iter().any(|w| w.contains("`method: any`")));
        assert!(result.toml.contains("# WARNING: fully permissive"));
        // Even a fully open list keeps the canonicaliser in front of it.
        assert!(
            list.check(&Method::DELETE, "/rest/api/1.0/projects/P")
                .is_allowed()
        );
        assert!(
            !list
                .check(&Method::GET, "/rest/api/1.0/projects/%2e%2e/x")
                .is_allowed()
        );
        assert!(
            !list
                .check(&Method::GET, "/rest/api/1.0/../admin")
                .is_allowed()
        );
    }
}

#[test]
fn conditions_and_odd_entries_are_reported() {
    let json = r#"{
      "private": [
        {"method": "GET", "path": "/repos/:repo/:repo", "origin": "https://${BITBUCKET_API}",
         "valid": [{"queryParam": "q", "values": ["x"]}]},
        {"method": "BREW", "path": "/x", "origin": "${BITBUCKET}"},
        {"method": "GET", "path": "/a/*/b", "origin": "${BITBUCKET}"},
        {"method": "get", "url": "/x"},
        {"method": "GET", "path": "/x", "origin": "https://bitbucket.example.com"},
        {"method": "GET", "path": "/say \"hi\"\n", "origin": "${BITBUCKET}", "//": "line\nbreak"},
        "not an object"
      ],
      "extra": 1
    }"#;
    let result = import_snyk_accept(json, "odd.json").unwrap();
    let list = AllowList::parse(&result.toml, "odd.toml").unwrap();
    assert_eq!(list.rules()[0].path(), "/rest/api/1.0/repos/{repo}/{repo2}");
    let all = result.warnings.join("\n");
    for needle in [
        "private[0] GET /repos/:repo/:repo: WARNING: `valid` conditions",
        "private[1] BREW /x: skipped: method \"BREW\"",
        "private[2] GET /a/*/b: skipped: '*' in the middle",
        "private[3] get ?: skipped: no `origin`",
        "private[4] GET /x: skipped: origin \"https://bitbucket.example.com\"",
        "private[5]",
        "private[6] ? ?: skipped: entry is not a JSON object",
        "top-level key `extra` ignored",
    ] {
        assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
    }
}

#[test]
fn invalid_json_is_an_error_with_a_position() {
    let err = import_snyk_accept("{\n  \"private\": [\n    {,\n  ]\n}", "bad.json").unwrap_err();
    assert!(
        err.to_string().starts_with("bad.json:3:6: invalid JSON"),
        "{err}"
    );
    let err = import_snyk_accept("[]", "list.json").unwrap_err();
    assert!(err.to_string().contains("must be a JSON object"), "{err}");
    let err = import_snyk_accept(r#"{"private": {}}"#, "p.json").unwrap_err();
    assert!(
        err.to_string().contains("`private` must be an array"),
        "{err}"
    );
}

#[test]
fn an_empty_file_imports_as_deny_all() {
    let result = import_snyk_accept("{}", "empty.json").unwrap();
    let list = AllowList::parse(&result.toml, "empty.toml").unwrap();
    assert!(list.rules().is_empty());
    assert!(
        result
            .warnings
            .iter()
            .any(|w| w.contains("denies every request"))
    );
}
