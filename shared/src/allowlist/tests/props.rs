//! Properties of the canonicaliser, over arbitrary and deliberately hostile input.

use http::Method;
use percent_encoding::{NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use proptest::prelude::*;

use super::open_list;
use crate::allowlist::{AllowList, Decision};

/// Characters that matter to URL parsers, plus hex digits so escapes form often.
const HOSTILE: &[char] = &[
    '%', '%', '%', '.', '.', '.', '/', '/', '/', '\\', ';', '?', '#', '&', '=', '+', '2', '5', 'e',
    'E', 'f', 'F', 'c', 'C', '0', 'a', 'A', '~', ' ', '\u{0}', '\u{7f}', 'é', '\u{ff0e}', ':', '@',
];

fn hostile_target() -> impl Strategy<Value = String> {
    let body = prop::collection::vec(prop::sample::select(HOSTILE), 0..48);
    (any::<bool>(), body).prop_map(|(slash, chars)| {
        let mut s = String::from(if slash { "/" } else { "" });
        s.extend(chars);
        s
    })
}

/// Decode a path the way a server does: split on '/', percent-decode each segment once.
fn server_segments(path: &str) -> Vec<Vec<u8>> {
    path.strip_prefix('/')
        .unwrap_or(path)
        .split('/')
        .map(|s| percent_decode_str(s).collect())
        .collect()
}

fn allowed_target(list: &AllowList, target: &str) -> Option<(String, String)> {
    match list.check(&Method::GET, target) {
        Decision::Allow { rule_id, target } => {
            Some((rule_id.to_string(), target.as_str().to_owned()))
        }
        Decision::Deny(_) => None,
    }
}

/// A decoded segment a client may legitimately want to reach: no '/', '\', ';', controls or
/// escapes-after-decoding, not a dot segment, not empty.
fn safe_segment() -> impl Strategy<Value = String> {
    let chars = prop::sample::select(
        &[
            'a',
            'Z',
            '0',
            '-',
            '.',
            '_',
            '~',
            '!',
            '$',
            '&',
            '\'',
            '(',
            ')',
            '*',
            '+',
            ',',
            '=',
            ':',
            '@',
            ' ',
            '%',
            '?',
            '#',
            '"',
            '{',
            'é',
            '☃',
            '\u{ff0e}',
            '\u{10348}',
        ][..],
    );
    prop::collection::vec(chars, 1..12)
        .prop_map(|c| c.into_iter().collect::<String>())
        .prop_filter("not a dot segment", |s| s != "." && s != "..")
        .prop_filter("no escape left after decoding", |s| {
            !has_escape(s.as_bytes())
        })
}

fn has_escape(b: &[u8]) -> bool {
    b.windows(3)
        .any(|w| w[0] == b'%' && w[1].is_ascii_hexdigit() && w[2].is_ascii_hexdigit())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn check_never_panics_on_arbitrary_strings(s in any::<String>()) {
        let list = AllowList::builtin_default();
        let _ = list.check(&Method::GET, &s);
        let _ = list.check(&Method::GET, &format!("/{s}"));
        let _ = open_list().check(&Method::POST, &format!("/rest/{s}?{s}"));
    }

    #[test]
    fn check_never_panics_on_arbitrary_bytes(b in prop::collection::vec(any::<u8>(), 0..64)) {
        let s = String::from_utf8_lossy(&b);
        let _ = open_list().check(&Method::GET, &s);
        let _ = open_list().check(&Method::GET, &format!("/{s}"));
    }

    #[test]
    fn canonical_form_is_a_fixed_point(t in hostile_target()) {
        let list = open_list();
        if let Some((rule, canonical)) = allowed_target(&list, &t) {
            prop_assert_eq!(allowed_target(&list, &canonical), Some((rule, canonical.clone())));
        }
    }

    #[test]
    fn canonical_path_decodes_to_nothing_dangerous(t in hostile_target()) {
        let Some((_, canonical)) = allowed_target(&open_list(), &t) else { return Ok(()) };
        let path = canonical.split('?').next().unwrap_or_default();
        for seg in server_segments(path) {
            prop_assert!(seg != b"." && seg != b"..", "dot segment from {:?}", canonical);
            prop_assert!(!seg.is_empty(), "empty segment from {:?}", canonical);
            prop_assert!(!seg.iter().any(|&b| b == b'/' || b == b'\\' || b == b';'), "{:?}", canonical);
            prop_assert!(!seg.iter().any(|&b| b < 0x20 || b == 0x7f), "{:?}", canonical);
            prop_assert!(!has_escape(&seg), "a second decode would change {:?}", canonical);
            prop_assert!(std::str::from_utf8(&seg).is_ok(), "{:?}", canonical);
        }
        // The query splits into exactly the parameters the rules saw.
        if let Some(q) = canonical.split_once('?').map(|(_, q)| q) {
            prop_assert!(!q.is_empty() && !q.contains(['+', '#', '?', '/', '\\']), "{:?}", canonical);
        }
    }

    #[test]
    fn safe_segments_round_trip(segs in prop::collection::vec(safe_segment(), 1..6)) {
        let list = open_list();
        // The same segments, sent fully encoded and minimally encoded, forward the same target.
        let full: String = segs.iter().map(|s| format!("/{}", utf8_percent_encode(s, NON_ALPHANUMERIC))).collect();
        let minimal: String = segs
            .iter()
            .map(|s| format!("/{}", s.replace('%', "%25").replace('?', "%3F").replace('#', "%23")))
            .collect();
        let (_, a) = allowed_target(&list, &full).expect("fully encoded segments are allowed");
        let (_, b) = allowed_target(&list, &minimal).expect("minimally encoded segments are allowed");
        prop_assert_eq!(&a, &b);
        let decoded: Vec<String> = server_segments(&a)
            .into_iter()
            .map(|s| String::from_utf8(s).unwrap())
            .collect();
        prop_assert_eq!(decoded, segs);
    }

    #[test]
    fn query_values_round_trip(values in prop::collection::vec(safe_segment(), 1..4)) {
        let list = open_list();
        let query: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("p{i}={}", utf8_percent_encode(v, NON_ALPHANUMERIC)))
            .collect();
        let (_, c) = allowed_target(&list, &format!("/x?{}", query.join("&"))).unwrap();
        let q = c.split_once('?').map(|(_, q)| q).unwrap();
        let got: Vec<String> = q
            .split('&')
            .map(|p| percent_decode_str(p.split_once('=').unwrap().1).decode_utf8().unwrap().into_owned())
            .collect();
        prop_assert_eq!(got, values);
    }
}
