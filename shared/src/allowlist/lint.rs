//! Findings for `relay-agent doctor`: rules that can never allow anything.

use std::fmt;
use std::sync::Arc;

use super::rule::Rule;

/// What kind of problem a [`Lint`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LintKind {
    /// No canonical request can ever match the rule's path template.
    NeverMatches,
    /// Everything the rule allows is already allowed by an earlier rule, so it never decides.
    Shadowed,
}

/// One finding about one rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lint {
    pub rule_id: Arc<str>,
    pub kind: LintKind,
    pub message: String,
}

impl fmt::Display for Lint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rule {:?}: {}", self.rule_id, self.message)
    }
}

pub(crate) fn lint(rules: &[Rule]) -> Vec<Lint> {
    let mut out = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        if let Some(why) = rule.template().never_matches() {
            out.push(Lint {
                rule_id: rule.id_arc().clone(),
                kind: LintKind::NeverMatches,
                message: format!("can never match: {why}"),
            });
            continue;
        }
        let earlier = rules.iter().take(i);
        if let Some(by) = earlier
            .filter(|e| e.template().never_matches().is_none())
            .find(|e| shadows(e, rule))
        {
            out.push(Lint {
                rule_id: rule.id_arc().clone(),
                kind: LintKind::Shadowed,
                message: format!(
                    "fully shadowed by earlier rule {:?} (line {}): every request it allows is already allowed there",
                    by.id(),
                    by.line()
                ),
            });
        }
    }
    out
}

/// Does `earlier` allow every request that `later` allows?
fn shadows(earlier: &Rule, later: &Rule) -> bool {
    later.methods().iter().all(|m| earlier.allows_method(m))
        && earlier.template().covers(later.template())
        && earlier.query().covers(later.query())
}
