//! What the lint found: one finding per rule a statement broke, its level once the project's settings and the revision's allowances are applied, the journal's note for it, and the error a `deny` finding fails its revision with.

use serde::Serialize;
use wasmig_graph::{LintLevel, LintRule};

use super::rules::{how_to_allow, info};

/// How many characters of a statement a message quotes.
const EXCERPT_CHARS: usize = 120;

/// What a finding does to the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Verdict {
    /// The rule is `deny`: the revision is rolled back (reported only, in `wasmig lint`).
    Deny,
    /// The rule is `warn`: reported and journaled.
    Warn,
    /// The revision allows the rule, with a reason: journaled.
    Allowed,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Deny => "deny",
            Verdict::Warn => "warn",
            Verdict::Allowed => "allowed",
        }
    }
}

/// One rule a statement broke.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The rule's id.
    pub rule: LintRule,
    pub verdict: Verdict,
    pub revision: String,
    /// The statement, as the revision sent it.
    pub statement: String,
    /// What the statement does, in a few words (`DROP COLUMN legacy on accounts`).
    pub detail: String,
    /// Why the rule exists.
    pub why: &'static str,
    /// What to write instead.
    pub alternative: &'static str,
    /// The revision's written reason, when it allows the rule.
    pub reason: Option<String>,
}

impl Finding {
    /// A finding of `rule` at `level` (never `off`), allowed when `reason` is given.
    pub(crate) fn new(
        rule: LintRule,
        level: LintLevel,
        reason: Option<&str>,
        revision: &str,
        statement: &str,
        detail: String,
    ) -> Self {
        let verdict = match (reason, level) {
            (Some(_), _) => Verdict::Allowed,
            (None, LintLevel::Deny) => Verdict::Deny,
            (None, _) => Verdict::Warn,
        };
        let info = info(rule);
        Finding {
            rule,
            verdict,
            revision: revision.to_owned(),
            statement: statement.to_owned(),
            detail,
            why: info.why,
            alternative: info.alternative,
            reason: reason.map(str::to_owned),
        }
    }

    /// The journal's note: `warn drop-column: DROP COLUMN a on t`, or for
    /// an allowance `allowed drop-column (reason: ...): DROP COLUMN a on t`.
    pub fn note(&self) -> String {
        match &self.reason {
            Some(reason) => format!("allowed {} (reason: {reason}): {}", self.rule, self.detail),
            None => format!("{} {}: {}", self.verdict.as_str(), self.rule, self.detail),
        }
    }

    /// One line for a warning: the rule, what the statement does, why, and what instead.
    pub fn warning(&self) -> String {
        format!(
            "revision {}: lint {} ({}): {}; {}. Instead: {}",
            self.revision,
            self.rule,
            self.verdict.as_str(),
            self.detail,
            self.why,
            self.alternative
        )
    }
}

/// The notes of `findings`, for one journal row.
pub(crate) fn note(findings: &[Finding]) -> Option<String> {
    (!findings.is_empty()).then(|| findings.iter().map(Finding::note).collect::<Vec<_>>().join("; "))
}

/// A `deny` rule fired: the revision was rolled back before it committed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "revision {}: lint rule `{}` is deny, and {} (statement: `{}`): {}. The revision was rolled back. Instead: {}. \
     Or, {}",
    finding.revision,
    finding.rule,
    finding.detail,
    excerpt(&finding.statement),
    finding.why,
    finding.alternative,
    how_to_allow(finding.rule)
)]
pub struct LintDenied {
    pub finding: Box<Finding>,
}

/// The statement on one line, cut at [`EXCERPT_CHARS`] characters.
fn excerpt(statement: &str) -> String {
    let line = statement.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(EXCERPT_CHARS) {
        Some((cut, _)) => format!("{}...", &line[..cut]),
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_denied_finding_names_everything_needed_to_fix_or_allow_it() {
        let finding =
            Finding::new(LintRule::DropColumn, LintLevel::Deny, None, "a1", "ALTER TABLE t\n DROP legacy", "x".into());
        assert_eq!(finding.verdict, Verdict::Deny);
        let message = LintDenied { finding: Box::new(finding.clone()) }.to_string();
        for needed in ["revision a1", "`drop-column`", "ALTER TABLE t DROP legacy", finding.why, finding.alternative] {
            assert!(message.contains(needed), "{needed} in {message}");
        }
        assert!(message.contains("[lint.allow]\n  drop-column = "), "{message}");
        let allowed = Finding::new(LintRule::DropColumn, LintLevel::Deny, Some("unused"), "a1", "s", "x".into());
        assert_eq!(allowed.verdict, Verdict::Allowed);
        assert_eq!(note(&[finding, allowed]).unwrap(), "deny drop-column: x; allowed drop-column (reason: unused): x");
    }
}
