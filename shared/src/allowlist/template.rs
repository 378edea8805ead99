//! Path templates: `/rest/api/1.0/projects/{project}/repos/*/browse/**`.
//!
//! A template is a list of segments, compiled once at load time and matched against the *decoded*
//! path segments produced by the canonicaliser:
//! - a literal matches exactly that decoded segment, case-sensitively;
//! - `{name}` and `*` match exactly one (non-empty) segment; the name only documents the rule;
//! - `**`, allowed only as the last segment, matches zero or more remaining segments.

use super::canonical::{MAX_SEGMENT_LEN, MAX_TARGET_LEN};

/// One compiled template segment.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Literal(Box<str>),
    Param,
    Any,
    Rest,
}

/// A compiled path template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    text: String,
    segs: Vec<Seg>,
    /// Number of segments before a trailing `**` (all of them when there is none).
    fixed: usize,
    rest: bool,
}

/// A problem in a template; `offset` is a byte offset into the template text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    pub offset: usize,
    pub message: String,
}

impl TemplateError {
    fn new(offset: usize, message: impl Into<String>) -> Self {
        Self {
            offset,
            message: message.into(),
        }
    }
}

impl Template {
    /// Compile a template, reporting every problem found (not just the first).
    pub fn parse(text: &str) -> Result<Template, Vec<TemplateError>> {
        let Some(body) = text.strip_prefix('/') else {
            return Err(vec![TemplateError::new(
                0,
                "path template must start with '/'",
            )]);
        };
        let mut errors = Vec::new();
        let mut segs = Vec::new();
        let mut names: Vec<&str> = Vec::new();
        let mut offset = 1;
        let count = body.split('/').count();
        for (i, raw) in body.split('/').enumerate() {
            match parse_segment(raw, offset) {
                Ok(Seg::Rest) if i + 1 != count => errors.push(TemplateError::new(
                    offset,
                    "'**' is only allowed as the last segment",
                )),
                Ok(seg) => {
                    if seg == Seg::Param {
                        let name = raw.trim_start_matches('{').trim_end_matches('}');
                        if names.contains(&name) {
                            let msg = format!("parameter {{{name}}} appears twice");
                            errors.push(TemplateError::new(offset, msg));
                        }
                        names.push(name);
                    }
                    segs.push(seg);
                }
                Err(e) => errors.push(e),
            }
            offset += raw.len() + 1;
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let rest = segs.last() == Some(&Seg::Rest);
        let fixed = segs.len() - usize::from(rest);
        Ok(Template {
            text: text.to_owned(),
            segs,
            fixed,
            rest,
        })
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Does the template match these decoded path segments?
    pub fn matches<'a>(&self, segments: impl ExactSizeIterator<Item = &'a str>) -> bool {
        let n = segments.len();
        if n < self.fixed || (!self.rest && n != self.fixed) {
            return false;
        }
        self.segs
            .iter()
            .zip(segments)
            .all(|(seg, actual)| match seg {
                Seg::Literal(lit) => **lit == *actual,
                Seg::Param | Seg::Any | Seg::Rest => true,
            })
    }

    /// Does every path this template matches also match `self`? (Used to find shadowed rules.)
    pub fn covers(&self, other: &Template) -> bool {
        covers(&self.segs, &other.segs)
    }

    /// Why no canonical path can ever match this template, if that is the case.
    pub fn never_matches(&self) -> Option<String> {
        let min_len: usize = self
            .segs
            .iter()
            .map(|s| match s {
                Seg::Literal(l) => l.len() + 1,
                Seg::Param | Seg::Any => 2,
                Seg::Rest => 0,
            })
            .sum();
        if min_len > MAX_TARGET_LEN {
            return Some(format!(
                "the shortest matching path is {min_len} bytes, over the {MAX_TARGET_LEN}-byte target limit"
            ));
        }
        self.segs.iter().find_map(|s| match s {
            Seg::Literal(l) if &**l == "." || &**l == ".." => Some(format!(
                "literal segment '{l}' is a dot segment, which is always refused"
            )),
            Seg::Literal(l) if l.contains(';') => Some(format!(
                "literal segment '{l}' contains ';', which is always refused in paths"
            )),
            Seg::Literal(l) if l.len() > MAX_SEGMENT_LEN => Some(format!(
                "a literal segment is longer than the {MAX_SEGMENT_LEN}-byte segment limit"
            )),
            _ => None,
        })
    }
}

fn covers(a: &[Seg], b: &[Seg]) -> bool {
    match (a.split_first(), b.split_first()) {
        (Some((Seg::Rest, _)), _) => true,
        (None, None) => true,
        (None, Some(_)) | (Some(_), None) | (Some(_), Some((Seg::Rest, _))) => false,
        (Some((Seg::Literal(x), a_rest)), Some((Seg::Literal(y), b_rest))) => {
            x == y && covers(a_rest, b_rest)
        }
        (Some((Seg::Literal(_), _)), Some(_)) => false,
        (Some((Seg::Param | Seg::Any, a_rest)), Some((_, b_rest))) => covers(a_rest, b_rest),
    }
}

fn parse_segment(raw: &str, offset: usize) -> Result<Seg, TemplateError> {
    match raw {
        "" => Err(TemplateError::new(
            offset,
            "empty segment ('//' or a trailing '/'): such paths are always refused",
        )),
        "*" => Ok(Seg::Any),
        "**" => Ok(Seg::Rest),
        _ if raw.starts_with('{') || raw.ends_with('}') => parse_param(raw, offset),
        _ => parse_literal(raw, offset).map(|()| Seg::Literal(raw.into())),
    }
}

fn parse_param(raw: &str, offset: usize) -> Result<Seg, TemplateError> {
    let inner = raw
        .strip_prefix('{')
        .and_then(|r| r.strip_suffix('}'))
        .ok_or_else(|| {
            TemplateError::new(offset, format!("unbalanced brace in segment '{raw}'"))
        })?;
    let valid = inner
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && inner
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if valid {
        Ok(Seg::Param)
    } else {
        let msg = format!(
            "bad parameter '{raw}': a parameter is a whole segment '{{name}}' with name [A-Za-z_][A-Za-z0-9_-]*"
        );
        Err(TemplateError::new(offset, msg))
    }
}

/// Literals are compared with decoded segments, so they are written decoded: no `%` escapes.
fn parse_literal(raw: &str, offset: usize) -> Result<(), TemplateError> {
    for (i, c) in raw.char_indices() {
        let problem = match c {
            '*' => {
                "'*' must be a whole segment ('*' or '**'); globs inside a segment are not supported"
            }
            '{' | '}' => "unbalanced brace: a parameter is a whole segment '{name}'",
            '%' => {
                "'%' escapes are not allowed: templates match decoded segments, write the character itself"
            }
            '?' => "'?' in a path template: allowed query parameters go in the rule's `query` list",
            '#' => "'#' is never allowed in a request target",
            '\\' => "'\\' is never allowed in a request target",
            _ if c.is_control() || c.is_whitespace() => {
                "control and whitespace characters are not allowed in templates"
            }
            '"' | '<' | '>' | '[' | ']' | '^' | '`' | '|' => {
                "character not allowed in a path template"
            }
            _ => continue,
        };
        return Err(TemplateError::new(
            offset + i,
            format!("{problem} (in segment '{}')", raw.escape_debug()),
        ));
    }
    Ok(())
}
