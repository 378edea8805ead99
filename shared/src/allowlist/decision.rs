//! What `AllowList::check` answers: allow (with the exact target to forward) or deny (with a
//! stable reason code for the 403 body, the audit log and the metrics label).

use std::fmt;
use std::sync::Arc;

/// The verdict on one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Forward `target` (and nothing else) upstream; `rule_id` goes into the audit log.
    Allow {
        rule_id: Arc<str>,
        target: CanonicalTarget,
    },
    /// Refuse the request; never forward anything.
    Deny(Denial),
}

impl Decision {
    /// True for [`Decision::Allow`].
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allow { .. })
    }
}

/// The canonical origin-form target (`/path` or `/path?query`): the text that was matched and the
/// only text that may be sent upstream, byte for byte.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CanonicalTarget {
    text: String,
    path_len: usize,
}

impl CanonicalTarget {
    /// `text` must be `path` or `path?query` with `path_len` the length of the path part.
    pub(crate) fn new(text: String, path_len: usize) -> Self {
        debug_assert!(path_len <= text.len());
        Self { text, path_len }
    }

    /// The full origin-form to forward: path plus `?query` when there is a query.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The canonical path (always starts with `/`).
    pub fn path(&self) -> &str {
        self.text.get(..self.path_len).unwrap_or(&self.text)
    }

    /// The canonical query without the `?`, if any (never `Some("")`).
    pub fn query(&self) -> Option<&str> {
        self.text.get(self.path_len + 1..).filter(|q| !q.is_empty())
    }
}

impl fmt::Display for CanonicalTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Why a request was refused, plus a short human explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    pub reason: DenyReason,
    /// Human text for logs and the 403 body. Quotes at most [`MAX_EXCERPT`] bytes of the request,
    /// with control characters escaped, so it is safe to log.
    pub detail: String,
}

impl Denial {
    pub(crate) fn new(reason: DenyReason, detail: impl Into<String>) -> Self {
        Self {
            reason,
            detail: detail.into(),
        }
    }

    /// The HTTP status to answer with (see [`DenyReason::http_status`]).
    pub fn http_status(&self) -> u16 {
        self.reason.http_status()
    }
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.reason.code(), self.detail)
    }
}

/// Stable reason codes. The snake_case [`code`](DenyReason::code) is part of the public contract
/// (403 bodies, audit log, metrics); `docs/allowlist.md` documents each one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DenyReason {
    /// Empty target, authority-form (`host:443`) or asterisk-form (`*`).
    NotOriginForm,
    /// `scheme://...`: the client tried to name another origin.
    AbsoluteForm,
    /// A `#` anywhere; fragments are never sent on the wire.
    Fragment,
    /// Target over 8 KiB or a path segment over 1 KiB (raw bytes).
    TargetTooLong,
    /// A control character (C0, DEL or C1), raw or percent-decoded, in path or query.
    ControlCharacter,
    /// A raw `\`.
    Backslash,
    /// `%5C` (any case), in path or query.
    EncodedBackslash,
    /// `%2F` (any case) inside a path segment.
    EncodedSlash,
    /// A `.` or `..` path segment, plain or percent-encoded.
    DotSegment,
    /// After one decode the text still contains a `%XX` escape (`%252e`, `%25%32%65`).
    DoubleEncoding,
    /// A `%` not followed by two hex digits (`%zz`, `%2`, `%u002e`).
    BadPercentEncoding,
    /// An empty path segment: `//`, a trailing `/`, or the bare root `/`.
    EmptySegment,
    /// `;` in a path segment (raw or `%3B`): matrix / path parameters such as `;jsessionid=`.
    MatrixParameter,
    /// Decoded bytes that are not UTF-8 (including overlong forms such as `%C0%AE`).
    InvalidUtf8,
    /// An empty query parameter: `a=1&&b=2`, a trailing `&`, or a parameter with no name (`=x`).
    EmptyQueryParameter,
    /// No rule's path template matches the path.
    NoMatchingRule,
    /// A rule matches the path but none of those allows the method.
    MethodNotAllowed,
    /// Rules match path and method but each refuses a query parameter.
    QueryParameterNotAllowed,
}

impl DenyReason {
    /// Every reason, in documentation order (used by tests to keep the docs complete).
    pub const ALL: &'static [DenyReason] = &[
        DenyReason::NotOriginForm,
        DenyReason::AbsoluteForm,
        DenyReason::Fragment,
        DenyReason::TargetTooLong,
        DenyReason::ControlCharacter,
        DenyReason::Backslash,
        DenyReason::EncodedBackslash,
        DenyReason::EncodedSlash,
        DenyReason::DotSegment,
        DenyReason::DoubleEncoding,
        DenyReason::BadPercentEncoding,
        DenyReason::EmptySegment,
        DenyReason::MatrixParameter,
        DenyReason::InvalidUtf8,
        DenyReason::EmptyQueryParameter,
        DenyReason::NoMatchingRule,
        DenyReason::MethodNotAllowed,
        DenyReason::QueryParameterNotAllowed,
    ];

    /// The stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            DenyReason::NotOriginForm => "not_origin_form",
            DenyReason::AbsoluteForm => "absolute_form",
            DenyReason::Fragment => "fragment",
            DenyReason::TargetTooLong => "target_too_long",
            DenyReason::ControlCharacter => "control_character",
            DenyReason::Backslash => "backslash",
            DenyReason::EncodedBackslash => "encoded_backslash",
            DenyReason::EncodedSlash => "encoded_slash",
            DenyReason::DotSegment => "dot_segment",
            DenyReason::DoubleEncoding => "double_encoding",
            DenyReason::BadPercentEncoding => "bad_percent_encoding",
            DenyReason::EmptySegment => "empty_segment",
            DenyReason::MatrixParameter => "matrix_parameter",
            DenyReason::InvalidUtf8 => "invalid_utf8",
            DenyReason::EmptyQueryParameter => "empty_query_parameter",
            DenyReason::NoMatchingRule => "no_matching_rule",
            DenyReason::MethodNotAllowed => "method_not_allowed",
            DenyReason::QueryParameterNotAllowed => "query_parameter_not_allowed",
        }
    }

    /// Every refusal is a 403: the request was understood and is not permitted through this agent.
    /// (A 400 for malformed targets would tell a prober which of its spellings got parsed.)
    pub fn http_status(&self) -> u16 {
        403
    }

    /// True when the target itself was refused by the canonicaliser (as opposed to the rules).
    pub fn is_malformed_target(&self) -> bool {
        !matches!(
            self,
            DenyReason::NoMatchingRule
                | DenyReason::MethodNotAllowed
                | DenyReason::QueryParameterNotAllowed
        )
    }
}

impl fmt::Display for DenyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Upper bound on how much request text a [`Denial::detail`] quotes.
pub const MAX_EXCERPT: usize = 120;

/// Quote untrusted request text for a denial detail: at most [`MAX_EXCERPT`] bytes, cut on a char
/// boundary, control characters and quotes escaped (so a log line cannot be forged with `\n`).
pub(crate) fn excerpt(s: &str) -> String {
    let mut end = s.len().min(MAX_EXCERPT);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    let mut out: String = s.get(..end).unwrap_or_default().escape_debug().collect();
    if end < s.len() {
        out.push('…');
    }
    out
}
