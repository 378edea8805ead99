//! One compiled rule: id, methods, path template, query policy.

use std::sync::Arc;

use http::Method;

use super::template::Template;

/// The methods a rule may name, in canonical order (also the order used by the digest).
pub const ALLOWED_METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// Bit of `method` in a rule's method mask; `None` for methods no rule can allow.
pub(crate) fn method_bit(method: &str) -> Option<u8> {
    ALLOWED_METHODS
        .iter()
        .position(|m| *m == method)
        .map(|i| 1u8 << i)
}

/// Which query parameters a rule lets through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryPolicy {
    /// `query` omitted: any parameters (names still go through canonicalisation).
    Any,
    /// `query = [...]`: only these names (decoded, case-sensitive); `[]` = no query at all.
    Only(Vec<String>),
}

impl QueryPolicy {
    /// Is a parameter with this decoded name allowed?
    pub fn allows(&self, name: &str) -> bool {
        match self {
            QueryPolicy::Any => true,
            QueryPolicy::Only(names) => names.iter().any(|n| n == name),
        }
    }

    /// Does this policy allow everything `other` allows?
    pub fn covers(&self, other: &QueryPolicy) -> bool {
        match (self, other) {
            (QueryPolicy::Any, _) => true,
            (QueryPolicy::Only(_), QueryPolicy::Any) => false,
            (QueryPolicy::Only(mine), QueryPolicy::Only(theirs)) => {
                theirs.iter().all(|n| mine.contains(n))
            }
        }
    }
}

/// A compiled allow-list rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub(crate) id: Arc<str>,
    pub(crate) methods: Vec<Method>,
    pub(crate) method_mask: u8,
    pub(crate) template: Template,
    pub(crate) query: QueryPolicy,
    pub(crate) description: Option<String>,
    pub(crate) line: usize,
}

impl Rule {
    /// The rule id (unique in its file; appears in every audit log line it decides).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The id as a shared string, as carried by [`super::Decision::Allow`].
    pub fn id_arc(&self) -> &Arc<str> {
        &self.id
    }

    /// Allowed methods, in canonical order (GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS).
    pub fn methods(&self) -> &[Method] {
        &self.methods
    }

    /// Does the rule allow this method? (HEAD is not implied by GET.)
    pub fn allows_method(&self, method: &Method) -> bool {
        method_bit(method.as_str()).is_some_and(|bit| self.method_mask & bit != 0)
    }

    /// The path template as written in the file.
    pub fn path(&self) -> &str {
        self.template.as_str()
    }

    /// The query policy.
    pub fn query(&self) -> &QueryPolicy {
        &self.query
    }

    /// The optional free-text description.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// 1-based line of the rule's `[[rule]]` table in its file (0 if unknown).
    pub fn line(&self) -> usize {
        self.line
    }

    pub(crate) fn template(&self) -> &Template {
        &self.template
    }
}
