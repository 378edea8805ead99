//! The allow-list: which Bitbucket Server API calls the agent will forward, and in what exact form.
//!
//! Deny by default. A request is allowed only if its raw target survives canonicalisation and a
//! rule matches its method, its decoded path and its query parameter names; the target forwarded
//! upstream is then the canonical one, byte for byte what was matched (`docs/allowlist.md`).
//!
//! - `canonical`: raw request-target → decoded segments + canonical target, or a refusal
//! - `template`: path templates (`{name}`, `*`, `**`), compiled and matched against decoded segments
//! - `rule`: a compiled rule (id, methods, template, query policy)
//! - `matcher`: first-allowing-rule-wins evaluation and the most specific refusal
//! - `decision`: `Decision`, `CanonicalTarget`, `Denial` and the stable `DenyReason` codes
//! - `file`: the TOML file format compiled into rules, collecting every error with file:line:col
//! - `error`: `AllowListError` and `Located`
//! - `lint`: rules that can never match or are shadowed by an earlier rule (`relay-agent doctor`)
//! - `snyk`: import of Snyk-Broker-style `accept.json` filters into the native format
//! - `default.toml`: the least-privilege built-in list (read-only calls of the sync engine)

mod canonical;
mod decision;
mod error;
mod file;
mod lint;
mod matcher;
mod rule;
mod snyk;
mod template;

#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::Arc;

use ring::digest;

pub use canonical::{MAX_SEGMENT_LEN, MAX_TARGET_LEN};
pub use decision::{CanonicalTarget, Decision, Denial, DenyReason, MAX_EXCERPT};
pub use error::{AllowListError, Located};
pub use file::FORMAT_VERSION;
pub use lint::{Lint, LintKind};
pub use rule::{ALLOWED_METHODS, QueryPolicy, Rule};
pub use snyk::{ImportResult, import_snyk_accept};

/// A compiled, immutable allow-list. Cheap to share as `Arc<AllowList>`; reloading builds a new one.
#[derive(Debug, Clone)]
pub struct AllowList {
    rules: Vec<Rule>,
    digest: String,
    source: Arc<str>,
}

impl AllowList {
    /// The built-in default list, as shipped (`shared/src/allowlist/default.toml`).
    pub const DEFAULT_TOML: &'static str = include_str!("allowlist/default.toml");

    /// Name used for the built-in list in messages.
    pub const DEFAULT_SOURCE: &'static str = "<built-in default.toml>";

    /// Parse and compile an allow-list. `source` names the file in error messages.
    /// Every problem is reported, each as `source:line:col: message`.
    pub fn parse(text: &str, source: &str) -> Result<AllowList, AllowListError> {
        let rules = file::parse_rules(text, source)?;
        let digest = compute_digest(&rules);
        Ok(AllowList {
            rules,
            digest,
            source: source.into(),
        })
    }

    /// Read and parse a file; an unreadable file is an error too.
    pub fn load(path: &Path) -> Result<AllowList, AllowListError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| AllowListError::io(&name, e))?;
        Self::parse(&text, &name)
    }

    /// The built-in least-privilege list. A unit test proves it parses; should it ever not, this
    /// fails closed (an empty list denies everything) rather than panicking.
    pub fn builtin_default() -> AllowList {
        Self::parse(Self::DEFAULT_TOML, Self::DEFAULT_SOURCE).unwrap_or_else(|err| {
            tracing::error!(%err, "built-in allow-list does not parse; denying everything");
            AllowList {
                rules: Vec::new(),
                digest: compute_digest(&[]),
                source: Self::DEFAULT_SOURCE.into(),
            }
        })
    }

    /// `sha256:<hex>` over a canonical serialisation of the compiled rules: unaffected by comments,
    /// whitespace, key order, descriptions or the order of `methods`/`query` entries; changed by any
    /// change to what the rules allow (including their order, since the first match names the rule).
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// The rules, in file order (which is evaluation order).
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The file name this list was parsed from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Decide on one request. `raw_target` is the request-target exactly as received (origin-form
    /// `/path?query`). On `Allow`, forward `target` and nothing else.
    pub fn check(&self, method: &http::Method, raw_target: &str) -> Decision {
        match canonical::canonicalise(raw_target) {
            Ok(canon) => matcher::decide(&self.rules, method, canon),
            Err(denial) => Decision::Deny(denial),
        }
    }

    /// Problems worth telling an operator about (rules that can never match, rules shadowed by an
    /// earlier rule). Never fatal: the list works as written.
    pub fn lint(&self) -> Vec<Lint> {
        lint::lint(&self.rules)
    }
}

/// The digest input: NUL/newline-separated fields. Ids, templates, method names and query names
/// cannot contain control characters (the parser refuses them), so the encoding is unambiguous.
fn compute_digest(rules: &[Rule]) -> String {
    let mut text = format!("bitbucket-relay allow-list v{}\n", file::FORMAT_VERSION);
    for rule in rules {
        text.push_str(rule.id());
        text.push('\0');
        for m in rule.methods() {
            text.push_str(m.as_str());
            text.push(',');
        }
        text.push('\0');
        text.push_str(rule.path());
        text.push('\0');
        match rule.query() {
            QueryPolicy::Any => text.push_str("any"),
            QueryPolicy::Only(names) => {
                let mut names: Vec<&str> = names.iter().map(String::as_str).collect();
                names.sort_unstable();
                text.push_str("only");
                for n in names {
                    text.push('\0');
                    text.push_str(n);
                }
            }
        }
        text.push('\n');
    }
    let hash = digest::digest(&digest::SHA256, text.as_bytes());
    format!("sha256:{}", hex::encode(hash.as_ref()))
}
