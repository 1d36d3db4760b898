//! The lint of one step: each rule's level from `[lint]` in `wasmig.toml`, the revision's allowances from its `revision.toml`, and whether a `deny` finding stops the revision (a run) or is only reported (`wasmig lint`).

use std::collections::BTreeMap;

use wasmig_graph::{LintConfig, LintLevel, LintRule, Revision};

use super::finding::Finding;
use super::rules::info;
use crate::sql::Dialect;

/// How a run treats the lint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LintMode {
    /// A `deny` finding rolls the revision back (upgrades, downgrades, `wasmig test`).
    Enforce,
    /// Every finding is reported and nothing is stopped (`wasmig lint`'s rehearsal).
    Report,
    /// Not checked (history replayed before a rehearsal, offline SQL).
    Off,
}

/// The rules one step's `up` is checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LintPolicy {
    pub(crate) revision: String,
    pub(crate) dialect: Dialect,
    levels: BTreeMap<LintRule, LintLevel>,
    allowances: BTreeMap<LintRule, String>,
    /// A `deny` finding fails the hook (and so rolls the step back).
    pub(crate) enforce: bool,
}

impl LintPolicy {
    /// The policy of `revision`'s `up` on `dialect`; `None` when no rule
    /// that applies there is on (the lint then costs nothing).
    pub(crate) fn for_step(
        config: &LintConfig,
        revision: &Revision,
        dialect: Dialect,
        mode: LintMode,
    ) -> Option<LintPolicy> {
        let enforce = match mode {
            LintMode::Enforce => true,
            LintMode::Report => false,
            LintMode::Off => return None,
        };
        let levels: BTreeMap<LintRule, LintLevel> = LintRule::ALL
            .into_iter()
            .filter(|rule| info(*rule).applies_to(dialect))
            .map(|rule| (rule, config.level(rule)))
            .filter(|(_, level)| *level != LintLevel::Off)
            .collect();
        if levels.is_empty() {
            return None;
        }
        let allowances = levels
            .keys()
            .filter_map(|rule| revision.lint_allowance(*rule).map(|reason| (*rule, reason.to_owned())))
            .collect();
        Some(LintPolicy { revision: revision.id().to_string(), dialect, levels, allowances, enforce })
    }

    /// Whether `rule` is checked (not `off`, and it applies to the engine).
    pub(crate) fn checks(&self, rule: LintRule) -> bool {
        self.levels.contains_key(&rule)
    }

    /// The finding of `rule` on `statement`, or `None` when the rule is off here.
    pub(crate) fn judge(&self, rule: LintRule, statement: &str, detail: String) -> Option<Finding> {
        let level = *self.levels.get(&rule)?;
        let reason = self.allowances.get(&rule).map(String::as_str);
        Some(Finding::new(rule, level, reason, &self.revision, statement, detail))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint::finding::Verdict;

    #[test]
    fn levels_allowances_and_engines_decide_the_verdict() {
        let mut revision = Revision::in_memory("a1", &[]);
        revision.manifest.lint = Some(toml::from_str("[allow]\ndrop-table = \"empty since 2024\"\n").unwrap());
        let config: LintConfig = toml::from_str("drop-column = \"deny\"\ntruncate = \"off\"\n").unwrap();
        let policy = LintPolicy::for_step(&config, &revision, Dialect::Postgres, LintMode::Enforce).unwrap();
        assert_eq!(policy.judge(LintRule::DropColumn, "s", "d".into()).unwrap().verdict, Verdict::Deny);
        assert_eq!(policy.judge(LintRule::DropTable, "s", "d".into()).unwrap().verdict, Verdict::Allowed);
        assert_eq!(policy.judge(LintRule::RenameTable, "s", "d".into()).unwrap().verdict, Verdict::Warn);
        assert!(policy.judge(LintRule::Truncate, "s", "d".into()).is_none());
        let sqlite = LintPolicy::for_step(&config, &revision, Dialect::Sqlite, LintMode::Report).unwrap();
        assert!(!sqlite.checks(LintRule::IndexNotConcurrent) && !sqlite.enforce);
        let off = LintConfig { default: LintLevel::Off, ..LintConfig::default() };
        assert!(LintPolicy::for_step(&off, &revision, Dialect::Postgres, LintMode::Enforce).is_none());
        assert!(LintPolicy::for_step(&config, &revision, Dialect::Postgres, LintMode::Off).is_none());
    }
}
