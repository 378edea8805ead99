//! The native file format (TOML) compiled into rules, collecting every error with its position.
//!
//! The document is walked as a spanned tree (`toml::de::DeTable`) rather than deserialised with
//! serde, because serde stops at the first error and an operator fixing a file wants them all.
//! Unknown keys are errors, as `deny_unknown_fields` would make them.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use http::Method;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::error::{AllowListError, Located, Locator};
use super::rule::{ALLOWED_METHODS, QueryPolicy, Rule, method_bit};
use super::template::Template;

type Value<'i> = Spanned<DeValue<'i>>;

/// The only file format version this code understands.
pub const FORMAT_VERSION: i64 = 1;

const RULE_KEYS: &str = "id, methods, path, query, description";

/// Parse and compile a whole file.
pub(crate) fn parse_rules(text: &str, file: &str) -> Result<Vec<Rule>, AllowListError> {
    let loc = Locator::new(file, text);
    let (doc, syntax) = DeTable::parse_recoverable(text);
    if !syntax.is_empty() {
        let errs = syntax
            .iter()
            .map(|e| {
                let at = e.span().map_or(0, |s| s.start);
                loc.at(at, format!("invalid TOML: {}", e.message().trim_end()))
            })
            .collect();
        return Err(AllowListError::new(errs));
    }
    let mut errs = Vec::new();
    let (mut version, mut rules) = (None, None);
    for (key, value) in doc.get_ref() {
        match &**key.get_ref() {
            "version" => version = Some(value),
            "rule" => rules = Some(value),
            other => errs.push(loc.at(
                key.span().start,
                format!(
                    "unknown top-level key `{other}`; a file has `version = 1` and [[rule]] tables"
                ),
            )),
        }
    }
    check_version(version, &loc, &mut errs);
    let compiled = rules.map_or_else(Vec::new, |r| compile_rules(r, &loc, &mut errs));
    if errs.is_empty() {
        Ok(compiled)
    } else {
        Err(AllowListError::new(errs))
    }
}

fn check_version(version: Option<&Value<'_>>, loc: &Locator<'_>, errs: &mut Vec<Located>) {
    let Some(v) = version else {
        errs.push(loc.at(0, "missing `version = 1` at the top of the file"));
        return;
    };
    let n = match v.get_ref() {
        DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix()).ok(),
        _ => None,
    };
    if n != Some(FORMAT_VERSION) {
        let msg = format!("unsupported `version`: this agent understands version {FORMAT_VERSION}");
        errs.push(loc.at(v.span().start, msg));
    }
}

fn compile_rules(rules: &Value<'_>, loc: &Locator<'_>, errs: &mut Vec<Located>) -> Vec<Rule> {
    let DeValue::Array(items) = rules.get_ref() else {
        errs.push(loc.at(
            rules.span().start,
            "`rule` must be an array of tables: write [[rule]]",
        ));
        return Vec::new();
    };
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::with_capacity(items.len());
    for item in items.iter() {
        let DeValue::Table(table) = item.get_ref() else {
            errs.push(loc.at(
                item.span().start,
                "each `rule` must be a table: write [[rule]]",
            ));
            continue;
        };
        if let Some(rule) = compile_rule(table, item.span(), loc, errs, &mut seen) {
            out.push(rule);
        }
    }
    out
}

#[derive(Default)]
struct Fields<'a, 'i> {
    id: Option<&'a Value<'i>>,
    methods: Option<&'a Value<'i>>,
    path: Option<&'a Value<'i>>,
    query: Option<&'a Value<'i>>,
    description: Option<&'a Value<'i>>,
}

fn compile_rule(
    table: &DeTable<'_>,
    span: Range<usize>,
    loc: &Locator<'_>,
    errs: &mut Vec<Located>,
    seen: &mut HashMap<String, usize>,
) -> Option<Rule> {
    let mut f = Fields::default();
    for (key, value) in table {
        let slot = match &**key.get_ref() {
            "id" => &mut f.id,
            "methods" => &mut f.methods,
            "path" => &mut f.path,
            "query" => &mut f.query,
            "description" => &mut f.description,
            other => {
                let msg = format!("unknown key `{other}` in [[rule]]; expected one of {RULE_KEYS}");
                errs.push(loc.at(key.span().start, msg));
                continue;
            }
        };
        *slot = Some(value);
    }
    let mut required = |v: Option<&Value<'_>>, name: &str| {
        if v.is_none() {
            errs.push(loc.at(
                span.start,
                format!("[[rule]] is missing required key `{name}`"),
            ));
        }
    };
    required(f.id, "id");
    required(f.methods, "methods");
    required(f.path, "path");
    let id = f.id.and_then(|v| parse_id(v, loc, errs, seen));
    let methods = f.methods.and_then(|v| parse_methods(v, loc, errs));
    let template = f.path.and_then(|v| parse_template(v, loc, errs));
    let query = match f.query {
        None => Some(QueryPolicy::Any),
        Some(v) => parse_query(v, loc, errs).map(QueryPolicy::Only),
    };
    let description = match f.description {
        None => Some(None),
        Some(v) => string(v, "description", loc, errs).map(|s| Some(s.to_owned())),
    };
    let (id, (methods, method_mask), template) = (id?, methods?, template?);
    Some(Rule {
        id,
        methods,
        method_mask,
        template,
        query: query?,
        description: description?,
        line: loc.position(span.start).0,
    })
}

fn string<'v>(
    v: &'v Value<'_>,
    what: &str,
    loc: &Locator<'_>,
    errs: &mut Vec<Located>,
) -> Option<&'v str> {
    match v.get_ref() {
        DeValue::String(s) => Some(s),
        other => {
            let msg = format!("`{what}` must be a string, found {}", other.type_str());
            errs.push(loc.at(v.span().start, msg));
            None
        }
    }
}

/// Strings of an array; `None` (with errors recorded) if it is not an array of strings.
fn strings<'v>(
    v: &'v Value<'_>,
    what: &str,
    loc: &Locator<'_>,
    errs: &mut Vec<Located>,
) -> Option<Vec<(&'v str, usize)>> {
    let DeValue::Array(items) = v.get_ref() else {
        let msg = format!(
            "`{what}` must be an array of strings, found {}",
            v.get_ref().type_str()
        );
        errs.push(loc.at(v.span().start, msg));
        return None;
    };
    let before = errs.len();
    let out: Vec<_> = items
        .iter()
        .filter_map(|item| string(item, what, loc, errs).map(|s| (s, item.span().start)))
        .collect();
    (errs.len() == before).then_some(out)
}

fn parse_id(
    v: &Value<'_>,
    loc: &Locator<'_>,
    errs: &mut Vec<Located>,
    seen: &mut HashMap<String, usize>,
) -> Option<Arc<str>> {
    let id = string(v, "id", loc, errs)?;
    let at = v.span().start;
    let valid = !id.is_empty()
        && id.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        });
    if !valid {
        let msg =
            format!("invalid rule id {id:?}: use lowercase letters, digits, '.', '_' and '-'");
        errs.push(loc.at(at, msg));
        return None;
    }
    let line = loc.position(at).0;
    if let Some(first) = seen.get(id) {
        errs.push(loc.at(
            at,
            format!("duplicate rule id {id:?} (first defined on line {first})"),
        ));
        return None;
    }
    seen.insert(id.to_owned(), line);
    Some(id.into())
}

fn parse_methods(
    v: &Value<'_>,
    loc: &Locator<'_>,
    errs: &mut Vec<Located>,
) -> Option<(Vec<Method>, u8)> {
    let names = strings(v, "methods", loc, errs)?;
    if names.is_empty() {
        errs.push(loc.at(v.span().start, "`methods` must list at least one method"));
        return None;
    }
    let mut mask = 0u8;
    let before = errs.len();
    for (name, at) in names {
        match method_bit(name) {
            Some(bit) if mask & bit != 0 => {
                errs.push(loc.at(at, format!("method {name} is listed twice")));
            }
            Some(bit) => mask |= bit,
            None => {
                let hint = method_bit(&name.to_ascii_uppercase())
                    .map(|_| format!(" (methods are uppercase: {})", name.to_ascii_uppercase()))
                    .unwrap_or_default();
                let msg = format!(
                    "unsupported method {name:?}{hint}; allowed: {}",
                    ALLOWED_METHODS.join(", ")
                );
                errs.push(loc.at(at, msg));
            }
        }
    }
    if errs.len() != before {
        return None;
    }
    // Canonical order, so the digest does not depend on how the list was written.
    let methods = ALLOWED_METHODS
        .iter()
        .filter(|m| method_bit(m).is_some_and(|bit| mask & bit != 0))
        .filter_map(|m| Method::from_bytes(m.as_bytes()).ok())
        .collect();
    Some((methods, mask))
}

fn parse_template(v: &Value<'_>, loc: &Locator<'_>, errs: &mut Vec<Located>) -> Option<Template> {
    let text = string(v, "path", loc, errs)?;
    match Template::parse(text) {
        Ok(t) => Some(t),
        Err(problems) => {
            let base = string_content_offset(loc, v.span(), text);
            for p in problems {
                let at = base.map_or(v.span().start, |b| b + p.offset);
                errs.push(loc.at(at, format!("bad path template: {}", p.message)));
            }
            None
        }
    }
}

/// Where the string's content starts in the source, when it is written without escapes (so
/// template offsets map to exact columns); `None` otherwise (then the string start is reported).
fn string_content_offset(loc: &Locator<'_>, span: Range<usize>, value: &str) -> Option<usize> {
    let start = span.start + 1;
    let inner = loc.text().get(start..span.end.checked_sub(1)?)?;
    (inner == value).then_some(start)
}

fn parse_query(v: &Value<'_>, loc: &Locator<'_>, errs: &mut Vec<Located>) -> Option<Vec<String>> {
    let names = strings(v, "query", loc, errs)?;
    let before = errs.len();
    let mut out: Vec<String> = Vec::with_capacity(names.len());
    for (name, at) in names {
        if name.is_empty() || name.chars().any(|c| c.is_control() || c.is_whitespace()) {
            let msg = format!(
                "invalid query parameter name {name:?} (empty, or has spaces or control characters)"
            );
            errs.push(loc.at(at, msg));
        } else if out.iter().any(|n| n == name) {
            errs.push(loc.at(at, format!("query parameter {name:?} is listed twice")));
        } else {
            out.push(name.to_owned());
        }
    }
    (errs.len() == before).then_some(out)
}
