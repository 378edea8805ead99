//! Rule evaluation: first rule that allows method, path and query wins; otherwise the most specific
//! refusal is reported.
//!
//! Rules are tried in file order. A cheap segment-count check rejects most rules before any string
//! comparison; literal segments then fail fast on the first difference. For the few dozen rules an
//! allow-list has, that beats building an index and keeps "first match wins" obvious.

use http::Method;

use super::canonical::Canonical;
use super::decision::{Decision, Denial, DenyReason, excerpt};
use super::rule::Rule;

/// How far the best non-allowing rule got, for the denial reason.
enum Nearest {
    NoPath,
    PathOnly,
    /// Index of the first refused parameter of the first rule that got this far.
    Query {
        param: usize,
    },
}

pub(crate) fn decide(rules: &[Rule], method: &Method, canon: Canonical) -> Decision {
    let mut nearest = Nearest::NoPath;
    for rule in rules {
        if !rule.template().matches(canon.segments()) {
            continue;
        }
        if !rule.allows_method(method) {
            if matches!(nearest, Nearest::NoPath) {
                nearest = Nearest::PathOnly;
            }
            continue;
        }
        let refused = canon
            .param_names()
            .position(|name| !rule.query().allows(name));
        match refused {
            None => {
                return Decision::Allow {
                    rule_id: rule.id_arc().clone(),
                    target: canon.into_target(),
                };
            }
            Some(param) => {
                if !matches!(nearest, Nearest::Query { .. }) {
                    nearest = Nearest::Query { param };
                }
            }
        }
    }
    Decision::Deny(denial(nearest, method, &canon))
}

fn denial(nearest: Nearest, method: &Method, canon: &Canonical) -> Denial {
    let path = excerpt(canon.path());
    match nearest {
        Nearest::NoPath => Denial::new(
            DenyReason::NoMatchingRule,
            format!("no rule matches path {path}"),
        ),
        Nearest::PathOnly => Denial::new(
            DenyReason::MethodNotAllowed,
            format!(
                "method {} is not allowed for {path}",
                excerpt(method.as_str())
            ),
        ),
        Nearest::Query { param } => Denial::new(
            DenyReason::QueryParameterNotAllowed,
            format!(
                "query parameter {:?} is not allowed for {} {path}",
                excerpt(canon.param_names().nth(param).unwrap_or_default()),
                excerpt(method.as_str())
            ),
        ),
    }
}
