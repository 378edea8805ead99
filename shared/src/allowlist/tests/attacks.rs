//! Hostile request-targets: each is refused with the right reason, by the canonicaliser alone
//! (checked against a list that allows everything) and by the built-in list.

use http::Method;

use super::{open_list, outcome};
use crate::allowlist::{AllowList, Decision, DenyReason, DenyReason::*, MAX_EXCERPT};

const P: &str = "/rest/api/1.0/projects";

fn attacks() -> Vec<(String, DenyReason)> {
    let table: &[(&str, DenyReason)] = &[
        // Traversal, every spelling of '.' and '..'.
        ("/rest/api/1.0/projects/%2e%2e/admin", DotSegment),
        ("/rest/api/1.0/projects/%2E%2E/admin", DotSegment),
        ("/rest/api/1.0/projects/%2E%2e/admin", DotSegment),
        ("/rest/api/1.0/projects/.%2e/admin", DotSegment),
        ("/rest/api/1.0/projects/%2e./admin", DotSegment),
        ("/rest/api/1.0/projects/.%2E/admin", DotSegment),
        ("/rest/api/1.0/projects/../admin", DotSegment),
        ("/rest/api/1.0/projects/..", DotSegment),
        ("/rest/api/1.0/projects/./x", DotSegment),
        ("/rest/api/1.0/projects/.", DotSegment),
        ("/rest/api/1.0/projects/%2e", DotSegment),
        ("/rest/api/1.0/projects/%2E/x", DotSegment),
        ("/../rest/api/1.0/projects", DotSegment),
        // Encoded separators.
        ("/rest/api/1.0/projects/..%2fadmin", EncodedSlash),
        ("/rest/api/1.0/projects/..%2Fadmin", EncodedSlash),
        ("/rest/api/1.0/projects/%2e%2e%2fadmin", EncodedSlash),
        ("/rest/api/1.0/projects/x%2Fy", EncodedSlash),
        ("/rest/api/1.0/projects/%2f", EncodedSlash),
        ("/rest/api/1.0/projects/..%5cadmin", EncodedBackslash),
        ("/rest/api/1.0/projects/x%5Cy", EncodedBackslash),
        ("/rest/api/1.0/projects?at=%5C", EncodedBackslash),
        ("/\\admin", Backslash),
        ("/rest/api/1.0/projects\\..\\admin", Backslash),
        ("/rest/api/1.0/projects?x=a\\b", Backslash),
        // Double encoding, also assembled from single escapes.
        ("/rest/api/1.0/projects/%252e%252e/admin", DoubleEncoding),
        ("/rest/api/1.0/projects/x%252fy", DoubleEncoding),
        ("/rest/api/1.0/projects/%252F", DoubleEncoding),
        ("/rest/api/1.0/projects/%25%32%65%25%32%65", DoubleEncoding),
        ("/rest/api/1.0/projects/%25%32e", DoubleEncoding),
        ("/rest/api/1.0/projects/%2525", DoubleEncoding),
        ("/rest/api/1.0/projects?at=%255C", DoubleEncoding),
        // Not UTF-8, including overlong encodings of '.' and '/' and a surrogate.
        ("/rest/api/1.0/projects/%c0%ae%c0%ae/admin", InvalidUtf8),
        ("/rest/api/1.0/projects/%C0%AE", InvalidUtf8),
        ("/rest/api/1.0/projects/%c0%af", InvalidUtf8),
        ("/rest/api/1.0/projects/%e0%80%ae", InvalidUtf8),
        ("/rest/api/1.0/projects/%ed%a0%80", InvalidUtf8),
        ("/rest/api/1.0/projects/%ff", InvalidUtf8),
        ("/rest/api/1.0/projects?at=%ff", InvalidUtf8),
        // Matrix / path parameters.
        ("/rest/api/1.0/projects/..;/admin", MatrixParameter),
        ("/rest/api/1.0/projects;jsessionid=x", MatrixParameter),
        ("/rest/api/1.0/projects/x%3By", MatrixParameter),
        ("/rest/api/1.0/projects/x%3b", MatrixParameter),
        // Empty segments.
        ("/rest/api/1.0//admin", EmptySegment),
        ("//admin", EmptySegment),
        ("//evil.com/x", EmptySegment),
        ("/rest/api/1.0/projects/", EmptySegment),
        ("/rest/api/1.0/projects/?limit=1", EmptySegment),
        ("/", EmptySegment),
        // Control characters, raw and decoded, in path and query.
        ("/rest/api/1.0/projects/%00", ControlCharacter),
        ("/rest/api/1.0/projects/x%00.json", ControlCharacter),
        ("/rest/api/1.0/projects/x%0a", ControlCharacter),
        (
            "/rest/api/1.0/projects/x%0D%0AHost:%20evil",
            ControlCharacter,
        ),
        ("/rest/api/1.0/projects/a\tb", ControlCharacter),
        ("/rest/api/1.0/projects/a\u{7f}b", ControlCharacter),
        ("/rest/api/1.0/projects/a\0b", ControlCharacter),
        ("/rest/api/1.0/projects/a\u{85}b", ControlCharacter),
        ("/rest/api/1.0/projects/%7F", ControlCharacter),
        ("/rest/api/1.0/projects/%C2%85", ControlCharacter),
        ("/rest/api/1.0/projects?x=%00", ControlCharacter),
        ("/rest/api/1.0/projects?x=a%0Ab", ControlCharacter),
        ("/rest/api/1.0/projects?x=a\rb", ControlCharacter),
        // Not origin-form.
        ("http://evil/rest/api/1.0/projects", AbsoluteForm),
        ("HTTPS://evil.example/rest", AbsoluteForm),
        (
            "https://bitbucket.internal/rest/api/1.0/projects",
            AbsoluteForm,
        ),
        ("*", NotOriginForm),
        ("evil.com:443", NotOriginForm),
        ("", NotOriginForm),
        ("rest/api/1.0/projects", NotOriginForm),
        (" /rest/api/1.0/projects", NotOriginForm),
        // Fragments.
        ("/rest/api/1.0/projects#frag", Fragment),
        ("/rest/api/1.0/projects?limit=1#frag", Fragment),
        ("/rest/api/1.0/projects/%2e%2e#", Fragment),
        // Malformed escapes.
        ("/rest/api/1.0/projects/%zz", BadPercentEncoding),
        ("/rest/api/1.0/projects/%", BadPercentEncoding),
        ("/rest/api/1.0/projects/%2", BadPercentEncoding),
        ("/rest/api/1.0/projects/%u002e%u002e", BadPercentEncoding),
        ("/rest/api/1.0/projects/%%32%65", BadPercentEncoding),
        ("/rest/api/1.0/projects?at=%zz", BadPercentEncoding),
        ("/rest/api/1.0/projects?at%=1", BadPercentEncoding),
        // Empty query parameters.
        ("/rest/api/1.0/projects?a=1&&b=2", EmptyQueryParameter),
        ("/rest/api/1.0/projects?a=1&", EmptyQueryParameter),
        ("/rest/api/1.0/projects?&a=1", EmptyQueryParameter),
        ("/rest/api/1.0/projects?=x", EmptyQueryParameter),
    ];
    let mut all: Vec<(String, DenyReason)> =
        table.iter().map(|(t, r)| ((*t).to_owned(), *r)).collect();
    // Over-long: the whole target, and a single segment.
    all.push((format!("{P}/{}", "a".repeat(9000)), TargetTooLong));
    all.push((format!("{P}?filter={}", "a".repeat(9000)), TargetTooLong));
    all.push((format!("{P}/{}", "%2e".repeat(400)), TargetTooLong));
    all
}

#[test]
fn denies_every_attack_with_its_reason_even_when_all_paths_are_allowed() {
    let list = open_list();
    let mut failures = Vec::new();
    let table = attacks();
    assert!(table.len() >= 40, "the table has {} attacks", table.len());
    for (target, want) in &table {
        let got = outcome(&list, &Method::GET, target);
        if got != Err(*want) {
            failures.push(format!(
                "{:?}: want {want}, got {got:?}",
                super::super::decision::excerpt(target)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn built_in_list_denies_every_attack() {
    let list = AllowList::builtin_default();
    for (target, _) in attacks() {
        assert!(
            !list.check(&Method::GET, &target).is_allowed(),
            "{target:?}"
        );
    }
}

#[test]
fn denial_details_quote_little_and_escape_controls() {
    let list = open_list();
    let long = format!("{P}/a%0A{}", "b".repeat(1000));
    for target in [
        long.as_str(),
        "/x\r\nInjected: yes",
        "/x/%0d%0aSet-Cookie:%20a",
    ] {
        let Decision::Deny(d) = list.check(&Method::GET, target) else {
            panic!("{target:?} allowed");
        };
        assert!(d.detail.len() <= 2 * MAX_EXCERPT + 100, "{}", d.detail);
        assert!(!d.detail.contains(['\r', '\n']), "{:?}", d.detail);
        assert_eq!(d.http_status(), 403);
    }
}

#[test]
fn rule_level_refusals_name_the_nearest_miss() {
    let list = AllowList::builtin_default();
    let cases: &[(Method, &str, DenyReason)] = &[
        (Method::DELETE, "/rest/api/1.0/projects", MethodNotAllowed),
        (Method::HEAD, "/rest/api/1.0/projects", MethodNotAllowed),
        (
            Method::POST,
            "/rest/api/1.0/projects/P/repos/r/webhooks",
            MethodNotAllowed,
        ),
        (
            Method::PUT,
            "/rest/api/1.0/projects/P/repos/r/browse/README.md",
            MethodNotAllowed,
        ),
        (Method::CONNECT, "/rest/api/1.0/projects", MethodNotAllowed),
        (Method::TRACE, "/rest/api/1.0/projects", MethodNotAllowed),
        (Method::GET, "/rest/api/1.0/admin/users", NoMatchingRule),
        (Method::GET, "/rest/api/latest/projects", NoMatchingRule),
        (Method::GET, "/rest/api/1.0/Projects", NoMatchingRule),
        (
            Method::GET,
            "/rest/api/1.0/projects/P/repos/r/archive",
            NoMatchingRule,
        ),
        (
            Method::GET,
            "/plugins/servlet/applinks/whoami",
            NoMatchingRule,
        ),
        (
            Method::GET,
            "/rest/api/1.0/projects?evil=1",
            QueryParameterNotAllowed,
        ),
        (
            Method::GET,
            "/rest/api/1.0/projects?limit=1&Limit=2",
            QueryParameterNotAllowed,
        ),
        (
            Method::GET,
            "/rest/api/1.0/application-properties?x",
            QueryParameterNotAllowed,
        ),
    ];
    for (method, target, want) in cases {
        assert_eq!(
            outcome(&list, method, target),
            Err(*want),
            "{method} {target}"
        );
    }
    let Decision::Deny(d) = list.check(&Method::GET, "/rest/api/1.0/projects?start=0&evil%21=1")
    else {
        panic!("allowed");
    };
    assert!(d.detail.contains("evil!"), "{}", d.detail);
}

#[test]
fn every_reason_code_is_unique_and_documented() {
    let docs = include_str!("../../../../docs/allowlist.md");
    let mut seen = std::collections::HashSet::new();
    for reason in DenyReason::ALL {
        assert!(
            seen.insert(reason.code()),
            "duplicate code {}",
            reason.code()
        );
        assert!(
            docs.contains(&format!("| `{}` |", reason.code())),
            "{} is not documented",
            reason.code()
        );
        assert_eq!(reason.http_status(), 403);
        assert_eq!(reason.to_string(), reason.code());
    }
}
