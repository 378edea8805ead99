//! Unit tests of the allow-list, table-driven where the subject is a pure function.

mod allowed;
mod attacks;
mod default_list;
mod lint;
mod parse_errors;
mod props;
mod snyk;

use http::Method;

use super::{AllowList, Decision, DenyReason};

/// A list that allows every method on every path with any query: whatever it denies was refused
/// by the canonicaliser, not by a rule.
const OPEN: &str = r#"
version = 1
[[rule]]
id = "open"
methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
path = "/**"
"#;

fn open_list() -> AllowList {
    AllowList::parse(OPEN, "open.toml").unwrap()
}

/// The canonical target of an allowed request, or the reason code of a denied one.
fn outcome(
    list: &AllowList,
    method: &Method,
    target: &str,
) -> Result<(String, String), DenyReason> {
    match list.check(method, target) {
        Decision::Allow { rule_id, target } => {
            Ok((rule_id.to_string(), target.as_str().to_owned()))
        }
        Decision::Deny(d) => Err(d.reason),
    }
}

#[test]
fn compiled_list_can_be_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<AllowList>();
    assert_send_sync::<Decision>();
    assert_send_sync::<crate::allowlist::AllowListError>();
}
