//! The canonicaliser: raw request-target in, decoded segments + canonical target out, or a refusal.
//!
//! "Canonicalise once, match that, forward exactly that." Every path segment and every query name
//! and value is percent-decoded exactly once and validated; the rules are matched against the
//! decoded text; the forwarded target is rebuilt from that decoded text with one fixed encoding.
//! Bitbucket decoding the forwarded target once therefore sees exactly what the rules saw: there is
//! no second interpretation left for a `%2e%2e` or a `%252f` to hide in. Anything ambiguous is
//! refused, never repaired (see `docs/allowlist.md` for the full policy).

use std::ops::Range;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_encode};

use super::decision::{CanonicalTarget, Denial, DenyReason, excerpt};

/// Longest raw request-target accepted, in bytes.
pub const MAX_TARGET_LEN: usize = 8 * 1024;
/// Longest raw path segment accepted, in bytes (Bitbucket file names are at most 255 bytes, i.e.
/// 765 bytes fully percent-encoded).
pub const MAX_SEGMENT_LEN: usize = 1024;

/// Path bytes forwarded as-is: RFC 3986 unreserved plus `! $ & ' ( ) * , = : @`. Everything else,
/// including `+` (so no server can read it as a space) and all non-ASCII, becomes uppercase `%XX`.
const PATH_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'!')
    .remove(b'$')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b',')
    .remove(b'=')
    .remove(b':')
    .remove(b'@');

/// Query names and values: like the path, but `&`, `=`, `+`, `/`, `?` and `;` are always encoded,
/// so parameter boundaries are unambiguous (`at=refs%2Fheads%2Fmain` stays as it is).
const QUERY_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'!')
    .remove(b'$')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b',')
    .remove(b':')
    .remove(b'@');

/// A request-target that passed canonicalisation: decoded path segments and query parameter names
/// (what the rules look at) plus the canonical target (what gets forwarded).
#[derive(Debug)]
pub struct Canonical {
    decoded: String,
    segments: Vec<Range<usize>>,
    names: String,
    params: Vec<Range<usize>>,
    target: String,
    path_len: usize,
}

impl Canonical {
    /// Decoded path segments, in order.
    pub fn segments(&self) -> impl ExactSizeIterator<Item = &str> + Clone {
        self.segments
            .iter()
            .map(|r| self.decoded.get(r.clone()).unwrap_or_default())
    }

    /// Decoded query parameter names, in order, duplicates included.
    pub fn param_names(&self) -> impl Iterator<Item = &str> {
        self.params
            .iter()
            .map(|r| self.names.get(r.clone()).unwrap_or_default())
    }

    /// The canonical path (for messages).
    pub fn path(&self) -> &str {
        self.target.get(..self.path_len).unwrap_or_default()
    }

    /// The canonical target to forward.
    pub fn into_target(self) -> CanonicalTarget {
        CanonicalTarget::new(self.target, self.path_len)
    }
}

/// Which component is being decoded; the rules differ slightly (see [`decode_component`]).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    PathSegment,
    Query,
}

/// Canonicalise a raw origin-form request-target (`/path?query`).
pub fn canonicalise(raw: &str) -> Result<Canonical, Denial> {
    check_form(raw)?;
    let (raw_path, raw_query) = match raw.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (raw, None),
    };
    let mut out = Canonical {
        decoded: String::with_capacity(raw_path.len()),
        segments: Vec::with_capacity(8),
        names: String::new(),
        params: Vec::new(),
        target: String::with_capacity(raw.len() + 16),
        path_len: 0,
    };
    let mut scratch = Vec::with_capacity(64);
    // check_form guarantees the leading '/'.
    let rest = raw_path.strip_prefix('/').unwrap_or(raw_path);
    for seg in rest.split('/') {
        push_segment(&mut out, seg, &mut scratch)?;
    }
    out.path_len = out.target.len();
    // An empty query (`/x?`) carries nothing; it is dropped rather than forwarded as a bare `?`.
    if let Some(query) = raw_query.filter(|q| !q.is_empty()) {
        out.target.push('?');
        for (i, pair) in query.split('&').enumerate() {
            if i > 0 {
                out.target.push('&');
            }
            push_param(&mut out, pair, &mut scratch)?;
        }
    }
    Ok(out)
}

/// Whole-target checks that need no decoding: length, form, fragment, raw control chars and `\`.
fn check_form(raw: &str) -> Result<(), Denial> {
    if raw.len() > MAX_TARGET_LEN {
        let msg = format!(
            "target is {} bytes; the limit is {MAX_TARGET_LEN}",
            raw.len()
        );
        return Err(Denial::new(DenyReason::TargetTooLong, msg));
    }
    if raw.contains('#') {
        let msg = format!("fragment in target {}", excerpt(raw));
        return Err(Denial::new(DenyReason::Fragment, msg));
    }
    if !raw.starts_with('/') {
        return Err(not_origin_form(raw));
    }
    if let Some(c) = raw.chars().find(|c| c.is_control()) {
        let msg = format!("raw control character {c:?} in target");
        return Err(Denial::new(DenyReason::ControlCharacter, msg));
    }
    if raw.contains('\\') {
        let msg = format!("raw backslash in target {}", excerpt(raw));
        return Err(Denial::new(DenyReason::Backslash, msg));
    }
    Ok(())
}

fn not_origin_form(raw: &str) -> Denial {
    // `scheme://...` is absolute-form; everything else (`*`, `host:443`, `x/y`, "") is simply not
    // origin-form. Neither is ever forwarded: the agent alone decides which origin it talks to.
    let scheme_len = raw
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        .count();
    let absolute = scheme_len > 0
        && raw.as_bytes().first().is_some_and(u8::is_ascii_alphabetic)
        && raw.get(scheme_len..).is_some_and(|r| r.starts_with("://"));
    if absolute {
        let msg = format!("absolute-form target {}", excerpt(raw));
        Denial::new(DenyReason::AbsoluteForm, msg)
    } else {
        let msg = format!("target {:?} does not start with '/'", excerpt(raw));
        Denial::new(DenyReason::NotOriginForm, msg)
    }
}

fn push_segment(out: &mut Canonical, seg: &str, scratch: &mut Vec<u8>) -> Result<(), Denial> {
    if seg.len() > MAX_SEGMENT_LEN {
        let msg = format!(
            "path segment is {} bytes; the limit is {MAX_SEGMENT_LEN}",
            seg.len()
        );
        return Err(Denial::new(DenyReason::TargetTooLong, msg));
    }
    if seg.is_empty() {
        let msg = "empty path segment ('//', a trailing '/' or the bare root)";
        return Err(Denial::new(DenyReason::EmptySegment, msg));
    }
    let text = decode_component(seg, Part::PathSegment, scratch)
        .map_err(|r| Denial::new(r, format!("in path segment {}", excerpt(seg))))?;
    let start = out.decoded.len();
    out.decoded.push_str(text);
    out.segments.push(start..out.decoded.len());
    out.target.push('/');
    out.target
        .extend(percent_encode(text.as_bytes(), PATH_ENCODE));
    Ok(())
}

fn push_param(out: &mut Canonical, pair: &str, scratch: &mut Vec<u8>) -> Result<(), Denial> {
    let (name, value) = match pair.split_once('=') {
        Some((n, v)) => (n, Some(v)),
        None => (pair, None),
    };
    if name.is_empty() {
        let msg = if pair.is_empty() {
            "empty query parameter ('&&', a leading or a trailing '&')".to_owned()
        } else {
            format!("query parameter without a name: {}", excerpt(pair))
        };
        return Err(Denial::new(DenyReason::EmptyQueryParameter, msg));
    }
    let context = |r| Denial::new(r, format!("in query parameter {}", excerpt(pair)));
    let text = decode_component(name, Part::Query, scratch).map_err(context)?;
    let start = out.names.len();
    out.names.push_str(text);
    out.params.push(start..out.names.len());
    out.target
        .extend(percent_encode(text.as_bytes(), QUERY_ENCODE));
    if let Some(value) = value {
        let text = decode_component(value, Part::Query, scratch).map_err(context)?;
        out.target.push('=');
        out.target
            .extend(percent_encode(text.as_bytes(), QUERY_ENCODE));
    }
    Ok(())
}

/// Percent-decode one component exactly once into `scratch` and validate the result.
///
/// In the query, `+` means a space (application/x-www-form-urlencoded, which is how Bitbucket's
/// servlet container reads it); in the path it is a literal `+`. The canonical encoding never emits
/// a raw `+`, so the forwarded target means the same under either reading.
fn decode_component<'s>(
    raw: &str,
    part: Part,
    scratch: &'s mut Vec<u8>,
) -> Result<&'s str, DenyReason> {
    scratch.clear();
    let bytes = raw.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'%' => {
                let hi = bytes.get(i + 1).copied().and_then(hex_value);
                let lo = bytes.get(i + 2).copied().and_then(hex_value);
                let (Some(hi), Some(lo)) = (hi, lo) else {
                    return Err(DenyReason::BadPercentEncoding);
                };
                scratch.push((hi << 4) | lo);
                i += 3;
            }
            b'+' if part == Part::Query => {
                scratch.push(b' ');
                i += 1;
            }
            _ => {
                scratch.push(b);
                i += 1;
            }
        }
    }
    validate_decoded(scratch, part)
}

/// The checks that must run on decoded bytes, so that no spelling of a forbidden character
/// survives: `/ \ ;` inside a segment, control bytes, a second layer of escapes, non-UTF-8, dots.
fn validate_decoded(decoded: &[u8], part: Part) -> Result<&str, DenyReason> {
    for (i, &b) in decoded.iter().enumerate() {
        match b {
            b'/' if part == Part::PathSegment => return Err(DenyReason::EncodedSlash),
            b'\\' => return Err(DenyReason::EncodedBackslash),
            b';' if part == Part::PathSegment => return Err(DenyReason::MatrixParameter),
            0..=0x1f | 0x7f => return Err(DenyReason::ControlCharacter),
            b'%' if is_escape_at(decoded, i + 1) => return Err(DenyReason::DoubleEncoding),
            _ => {}
        }
    }
    let text = std::str::from_utf8(decoded).map_err(|_| DenyReason::InvalidUtf8)?;
    // C1 controls (U+0080..U+009F) only show up once the UTF-8 is decoded.
    if text.chars().any(char::is_control) {
        return Err(DenyReason::ControlCharacter);
    }
    if part == Part::PathSegment && (text == "." || text == "..") {
        return Err(DenyReason::DotSegment);
    }
    Ok(text)
}

/// Two hex digits at `at`: together with a preceding `%`, an escape that a second decode would act on.
fn is_escape_at(bytes: &[u8], at: usize) -> bool {
    let hex = |i: usize| bytes.get(i).copied().and_then(hex_value).is_some();
    hex(at) && hex(at + 1)
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}
