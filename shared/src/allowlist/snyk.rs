//! Import of Snyk-Broker-style `accept.json` filters (Snyk Broker, Cortex Axon Relay) into the
//! native format, so an operator migrating keeps their filters.
//!
//! Only what can be expressed exactly, or more narrowly, is converted silently. Anything that would
//! come out broader than the source (`method: any`, dropped `valid` conditions, fully open paths)
//! is converted with a warning; anything inexpressible (globs inside a segment, `*` in the middle,
//! unknown origins) is skipped with a warning and listed at the end of the generated file.

use std::fmt::Write as _;

use serde_json::{Map, Value};

use super::AllowList;
use super::error::{AllowListError, Locator};
use super::rule::ALLOWED_METHODS;
use super::template::Template;

/// The outcome of [`import_snyk_accept`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportResult {
    /// A commented native allow-list; it parses with [`AllowList::parse`].
    pub toml: String,
    /// One line per thing the import could not carry over exactly.
    pub warnings: Vec<String>,
}

/// Origin variables and the path prefix they stand for. In Snyk's templates `BITBUCKET_API` is
/// `host/rest/api/1.0` and `BITBUCKET` is the host.
const ORIGINS: [(&str, &str); 4] = [
    ("${BITBUCKET_API}", "/rest/api/1.0"),
    ("$BITBUCKET_API", "/rest/api/1.0"),
    ("${BITBUCKET}", ""),
    ("$BITBUCKET", ""),
];

const KNOWN_KEYS: [&str; 6] = ["//", "method", "path", "origin", "auth", "valid"];

/// A rule ready to be written out.
struct Imported {
    id: String,
    methods: Vec<&'static str>,
    path: String,
    description: String,
    notes: Vec<String>,
}

/// Convert a Snyk-style accept file. `source` names it in messages and in the generated header.
/// Only a file that is not JSON, or not shaped like an accept file, is an error.
pub fn import_snyk_accept(json: &str, source: &str) -> Result<ImportResult, AllowListError> {
    let loc = Locator::new(source, json);
    let doc: Value = serde_json::from_str(json).map_err(|e| {
        let (line, col) = (e.line(), e.column());
        let offset = line_col_to_offset(json, line, col);
        AllowListError::new(vec![loc.at(offset, format!("invalid JSON: {e}"))])
    })?;
    let Some(top) = doc.as_object() else {
        return Err(shape_error(&loc, "the accept file must be a JSON object"));
    };
    let private = match top.get("private") {
        None => &Vec::new(),
        Some(Value::Array(a)) => a,
        Some(_) => {
            return Err(shape_error(
                &loc,
                "`private` must be an array of filter entries",
            ));
        }
    };
    let mut warnings = top_level_warnings(top);
    let mut rules = Vec::new();
    let mut skipped = Vec::new();
    for (i, entry) in private.iter().enumerate() {
        match convert_entry(i, entry) {
            Ok(imported) => {
                // Variants of one entry share its notes: report them once.
                if let Some(first) = imported.first() {
                    let what = describe(entry);
                    warnings.extend(
                        first
                            .notes
                            .iter()
                            .map(|n| format!("private[{i}] {what}: {n}")),
                    );
                }
                rules.extend(imported);
            }
            Err(why) => {
                let line = format!("private[{i}] {}: skipped: {why}", describe(entry));
                warnings.push(line.clone());
                skipped.push(line);
            }
        }
    }
    if rules.is_empty() {
        warnings.push("nothing was imported: the resulting allow-list denies every request".into());
    }
    let toml = render(source, private.len(), &rules, &skipped);
    // The generated file must be valid; if it is not, that is a bug worth an error, not a panic.
    let list = AllowList::parse(&toml, source)?;
    warnings.extend(list.lint().iter().map(|l| format!("after import: {l}")));
    Ok(ImportResult { toml, warnings })
}

fn shape_error(loc: &Locator<'_>, msg: &str) -> AllowListError {
    AllowListError::new(vec![loc.at(0, msg)])
}

fn line_col_to_offset(text: &str, line: usize, col: usize) -> usize {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    line_start + col.saturating_sub(1)
}

fn top_level_warnings(top: &Map<String, Value>) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(n) = top
        .get("public")
        .and_then(Value::as_array)
        .map(Vec::len)
        .filter(|n| *n > 0)
    {
        out.push(format!(
            "{n} `public` entries ignored: they filter traffic from Bitbucket to the broker (webhooks), which the agent does not proxy"
        ));
    }
    for key in top
        .keys()
        .filter(|k| !matches!(k.as_str(), "public" | "private"))
    {
        out.push(format!("top-level key `{key}` ignored"));
    }
    out
}

/// A short, single-line description of an entry for messages.
fn describe(entry: &Value) -> String {
    let field = |k: &str| entry.get(k).and_then(Value::as_str).unwrap_or("?");
    one_line(&format!("{} {}", field("method"), field("path")))
}

/// Convert one `private` entry into one rule (two when the path ends in an optional parameter).
fn convert_entry(index: usize, entry: &Value) -> Result<Vec<Imported>, String> {
    let obj = entry.as_object().ok_or("entry is not a JSON object")?;
    let mut notes = Vec::new();
    for key in obj.keys().filter(|k| !KNOWN_KEYS.contains(&k.as_str())) {
        notes.push(format!("key `{key}` ignored"));
    }
    let methods = convert_method(obj.get("method"), &mut notes)?;
    let prefix = convert_origin(obj.get("origin"))?;
    let path = obj
        .get("path")
        .and_then(Value::as_str)
        .ok_or("no `path` (entries with `url` are not supported)")?;
    let variants = convert_path(prefix, path, &mut notes)?;
    if obj.contains_key("valid") {
        notes.push(
            "WARNING: `valid` conditions (body/query/header filters) cannot be expressed; the rule was imported without them and allows more than the Snyk entry did".into(),
        );
    }
    if path.trim_end_matches('/') == "/*" {
        let what = if methods.len() == ALLOWED_METHODS.len() {
            "every method"
        } else {
            "these methods"
        };
        let under = if prefix.is_empty() { "/" } else { prefix };
        notes.push(format!(
            "WARNING: fully permissive: {what} on every path under {under}; replace it with the calls you need (the built-in list is a good start)"
        ));
    }
    let comment = obj.get("//").and_then(Value::as_str).map(one_line);
    let description = match comment {
        Some(c) => format!("Snyk private[{index}]: {c}"),
        None => format!("Snyk private[{index}]"),
    };
    let suffixes: &[&str] = if variants.len() > 1 {
        &[".a", ".b"]
    } else {
        &[""]
    };
    Ok(variants
        .into_iter()
        .zip(suffixes)
        .map(|(path, suffix)| Imported {
            id: format!("snyk.{index:03}{suffix}"),
            methods: methods.clone(),
            path,
            description: description.clone(),
            notes: notes.clone(),
        })
        .collect())
}

fn convert_method(
    method: Option<&Value>,
    notes: &mut Vec<String>,
) -> Result<Vec<&'static str>, String> {
    let m = method.and_then(Value::as_str).ok_or("no `method`")?;
    if m.eq_ignore_ascii_case("any") || m == "*" {
        notes.push(format!(
            "WARNING: `method: {m}` imported as every method ({}); narrow it if you can",
            ALLOWED_METHODS.join(", ")
        ));
        return Ok(ALLOWED_METHODS.to_vec());
    }
    let upper = m.to_ascii_uppercase();
    ALLOWED_METHODS
        .iter()
        .find(|a| **a == upper)
        .map(|a| vec![*a])
        .ok_or_else(|| format!("method {m:?} is not one of {}", ALLOWED_METHODS.join(", ")))
}

/// The path prefix an origin stands for (see [`ORIGINS`]).
fn convert_origin(origin: Option<&Value>) -> Result<&'static str, String> {
    let o = origin.and_then(Value::as_str).ok_or("no `origin`")?;
    let bare = o
        .strip_prefix("https://")
        .or_else(|| o.strip_prefix("http://"))
        .unwrap_or(o)
        .trim_end_matches('/');
    ORIGINS
        .iter()
        .find(|(var, _)| *var == bare)
        .map(|(_, prefix)| *prefix)
        .ok_or_else(|| {
            format!(
                "origin {:?} is not a Bitbucket origin (${{BITBUCKET}} or ${{BITBUCKET_API}})",
                one_line(o)
            )
        })
}

/// Convert a path-to-regexp style path into one or two templates.
fn convert_path(prefix: &str, path: &str, notes: &mut Vec<String>) -> Result<Vec<String>, String> {
    let body = path
        .strip_prefix('/')
        .ok_or("path does not start with '/'")?;
    // path-to-regexp tolerates one trailing '/', which the canonicaliser refuses anyway.
    let body = body.strip_suffix('/').unwrap_or(body);
    let raw: Vec<&str> = body.split('/').collect();
    let mut segs: Vec<String> = Vec::with_capacity(raw.len());
    let mut optional_last = false;
    for (k, seg) in raw.iter().enumerate() {
        let last = k + 1 == raw.len();
        let converted = convert_segment(seg, last, notes)?;
        optional_last = last && seg.starts_with(':') && seg.ends_with('?');
        segs.push(converted);
    }
    dedupe_param_names(&mut segs);
    let full = |segs: &[String]| format!("{prefix}/{}", segs.join("/"));
    let mut out = Vec::new();
    if let Some((_, without_last)) = segs
        .split_last()
        .filter(|(_, rest)| optional_last && !rest.is_empty())
    {
        out.push(full(without_last));
    }
    out.push(full(&segs));
    for t in &out {
        Template::parse(t).map_err(|errs| {
            let msgs: Vec<_> = errs.into_iter().map(|e| e.message).collect();
            format!("cannot be written as a template: {}", msgs.join("; "))
        })?;
    }
    Ok(out)
}

fn convert_segment(seg: &str, last: bool, notes: &mut Vec<String>) -> Result<String, String> {
    if seg.is_empty() {
        return Err("empty segment ('//')".into());
    }
    if seg == "*" {
        return if last {
            Ok("**".into())
        } else {
            Err(
                "'*' in the middle of a path matches any number of segments; a template cannot"
                    .into(),
            )
        };
    }
    if let Some(name) = seg.strip_prefix(':') {
        let name = name.strip_suffix('?').filter(|_| last).unwrap_or(name);
        return if is_param_name(name) {
            Ok(format!("{{{name}}}"))
        } else {
            Err(format!("parameter {seg:?} is not a plain `:name`"))
        };
    }
    if seg.contains('*') {
        return Err(format!(
            "glob inside a segment ({seg:?}) cannot be expressed; `**` covers it but would allow far more"
        ));
    }
    if seg.contains('%') {
        return Err(format!(
            "percent-escape in {seg:?}: templates match decoded segments"
        ));
    }
    if let Some((lit, param)) = seg.split_once(':') {
        let optional = param.strip_suffix('?').is_some_and(is_param_name);
        if last && optional && !lit.is_empty() {
            notes.push(format!(
                "segment {seg:?} (a literal glued to an optional parameter) imported as just {lit:?}, which is narrower"
            ));
            return Ok(lit.to_owned());
        }
        return Err(format!("parameter glued to a literal in {seg:?}"));
    }
    Ok(seg.to_owned())
}

fn is_param_name(name: &str) -> bool {
    name.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Templates refuse a repeated `{name}`; path-to-regexp does not care. Number the repeats.
fn dedupe_param_names(segs: &mut [String]) {
    let mut seen: Vec<String> = Vec::new();
    for seg in segs.iter_mut() {
        if !(seg.starts_with('{') && seg.ends_with('}')) {
            continue;
        }
        let base = seg.trim_start_matches('{').trim_end_matches('}').to_owned();
        let mut name = base.clone();
        let mut n = 2;
        while seen.contains(&name) {
            name = format!("{base}{n}");
            n += 1;
        }
        *seg = format!("{{{name}}}");
        seen.push(name);
    }
}

fn render(source: &str, entries: usize, rules: &[Imported], skipped: &[String]) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "# Allow-list imported from the Snyk-style accept file {src}\n\
         # by `relay-agent allowlist import`. REVIEW IT BEFORE USE: the broker can make exactly\n\
         # the calls listed here, and nothing else (deny by default).\n\
         #\n\
         # Mapping: origin ${{BITBUCKET_API}} -> path prefix /rest/api/1.0, ${{BITBUCKET}} -> the\n\
         # server root; `:name` -> {{name}}; a trailing `*` -> `**`; `method: any` -> every method.\n\
         # Snyk filters do not restrict query parameters, so no rule has a `query` list (any\n\
         # parameter is allowed); add `query = [...]` to tighten. Credentials (`auth`) are not\n\
         # imported: the agent injects its own.\n\
         #\n\
         # {entries} private entries: {converted} converted into {imported} rules, {skipped_n} skipped (listed at the end).\n\
         \n\
         version = 1\n",
        src = one_line(source),
        converted = entries.saturating_sub(skipped.len()),
        imported = rules.len(),
        skipped_n = skipped.len(),
    );
    for rule in rules {
        out.push_str("\n[[rule]]\n");
        for note in &rule.notes {
            let _ = writeln!(out, "# {}", one_line(note));
        }
        let methods: Vec<String> = rule.methods.iter().map(|m| toml_string(m)).collect();
        let _ = writeln!(out, "id = {}", toml_string(&rule.id));
        let _ = writeln!(out, "methods = [{}]", methods.join(", "));
        let _ = writeln!(out, "path = {}", toml_string(&rule.path));
        let _ = writeln!(out, "description = {}", toml_string(&rule.description));
    }
    if !skipped.is_empty() {
        out.push_str(
            "\n# --- Not imported ----------------------------------------------------------\n",
        );
        for line in skipped {
            let _ = writeln!(out, "# {}", one_line(line));
        }
    }
    out
}

/// A TOML basic string.
fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Text made safe for a single comment line.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}
