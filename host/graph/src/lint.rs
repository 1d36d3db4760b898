//! The run-time lint's settings: the rule ids, `[lint]` in `wasmig.toml` (each rule `deny`, `warn` or `off`) and a revision's `[lint.allow]` (a rule it may break, with the written reason). What each rule checks is wasmig's (docs/LINT.md).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A lint rule, by its id (`drop-column`). Exhaustive on purpose: wasmig's
/// catalogue (why, what instead) must say something about every rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LintRule {
    IndexNotConcurrent,
    ColumnTypeChange,
    VolatileDefault,
    SetNotNull,
    ConstraintNotValid,
    DropTable,
    DropColumn,
    Truncate,
    RenameTable,
    RenameColumn,
    UpdateWithoutWhere,
    DeleteWithoutWhere,
    LockHeld,
    TableRewrite,
}

impl LintRule {
    /// Every rule, in the order docs/LINT.md lists them.
    pub const ALL: [LintRule; 14] = [
        LintRule::IndexNotConcurrent,
        LintRule::ColumnTypeChange,
        LintRule::VolatileDefault,
        LintRule::SetNotNull,
        LintRule::ConstraintNotValid,
        LintRule::DropTable,
        LintRule::DropColumn,
        LintRule::Truncate,
        LintRule::RenameTable,
        LintRule::RenameColumn,
        LintRule::UpdateWithoutWhere,
        LintRule::DeleteWithoutWhere,
        LintRule::LockHeld,
        LintRule::TableRewrite,
    ];

    pub fn id(self) -> &'static str {
        match self {
            LintRule::IndexNotConcurrent => "index-not-concurrent",
            LintRule::ColumnTypeChange => "column-type-change",
            LintRule::VolatileDefault => "volatile-default",
            LintRule::SetNotNull => "set-not-null",
            LintRule::ConstraintNotValid => "constraint-not-valid",
            LintRule::DropTable => "drop-table",
            LintRule::DropColumn => "drop-column",
            LintRule::Truncate => "truncate",
            LintRule::RenameTable => "rename-table",
            LintRule::RenameColumn => "rename-column",
            LintRule::UpdateWithoutWhere => "update-without-where",
            LintRule::DeleteWithoutWhere => "delete-without-where",
            LintRule::LockHeld => "lock-held",
            LintRule::TableRewrite => "table-rewrite",
        }
    }

    pub fn parse(id: &str) -> Option<LintRule> {
        LintRule::ALL.into_iter().find(|rule| rule.id() == id)
    }
}

impl fmt::Display for LintRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// What a rule's finding does to a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum LintLevel {
    /// The revision is rolled back before it commits, with the finding as the error.
    Deny,
    /// Reported and journaled; the revision commits.
    #[default]
    Warn,
    /// Not checked.
    Off,
}

impl LintLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            LintLevel::Deny => "deny",
            LintLevel::Warn => "warn",
            LintLevel::Off => "off",
        }
    }
}

/// `[lint]`: `default = "warn"` and one key per rule id whose level differs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "BTreeMap<String, LintLevel>", into = "BTreeMap<String, LintLevel>")]
pub struct LintConfig {
    /// The level of every rule not named.
    pub default: LintLevel,
    pub rules: BTreeMap<LintRule, LintLevel>,
}

impl LintConfig {
    pub fn level(&self, rule: LintRule) -> LintLevel {
        self.rules.get(&rule).copied().unwrap_or(self.default)
    }
}

impl TryFrom<BTreeMap<String, LintLevel>> for LintConfig {
    type Error = String;

    fn try_from(keys: BTreeMap<String, LintLevel>) -> Result<Self, Self::Error> {
        let mut config = LintConfig::default();
        for (key, level) in keys {
            if key == "default" {
                config.default = level;
                continue;
            }
            let rule = LintRule::parse(&key).ok_or_else(|| {
                format!("[lint]: `{key}` is not a lint rule; the rules are `default` and {}", known_rules())
            })?;
            config.rules.insert(rule, level);
        }
        Ok(config)
    }
}

impl From<LintConfig> for BTreeMap<String, LintLevel> {
    fn from(config: LintConfig) -> Self {
        let mut keys: BTreeMap<String, LintLevel> =
            config.rules.into_iter().map(|(rule, level)| (rule.id().to_owned(), level)).collect();
        keys.insert("default".to_owned(), config.default);
        keys
    }
}

fn known_rules() -> String {
    LintRule::ALL.iter().map(|rule| format!("`{rule}`")).collect::<Vec<_>>().join(", ")
}

/// A revision's `[lint]` table in `revision.toml`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevisionLint {
    /// Rules this revision may break, each with the reason it is safe here
    /// (`drop-column = "nothing has read accounts.legacy since 4.2"`).
    #[serde(default)]
    pub allow: BTreeMap<LintRule, Reason>,
}

/// Why a revision may break a rule: never blank, since the journal records
/// it for whoever audits the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Reason(String);

impl Reason {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Reason {
    type Error = &'static str;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        if text.trim().is_empty() {
            return Err("an allowed lint rule needs a written reason: say why the rule does not apply here");
        }
        Ok(Reason(text.trim().to_owned()))
    }
}

impl From<Reason> for String {
    fn from(reason: Reason) -> Self {
        reason.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Wrapper {
        #[serde(default)]
        lint: LintConfig,
    }

    #[test]
    fn levels_default_to_warn_and_unknown_rules_are_named() {
        let config: Wrapper = toml::from_str("").unwrap();
        assert_eq!(config.lint.level(LintRule::DropTable), LintLevel::Warn);
        let config: Wrapper = toml::from_str("[lint]\ndefault = \"off\"\ndrop-table = \"deny\"\n").unwrap();
        assert_eq!(config.lint.level(LintRule::DropTable), LintLevel::Deny);
        assert_eq!(config.lint.level(LintRule::DropColumn), LintLevel::Off);
        let error = toml::from_str::<Wrapper>("[lint]\ndrop-tabel = \"deny\"\n").unwrap_err().to_string();
        assert!(error.contains("`drop-tabel` is not a lint rule") && error.contains("`drop-table`"), "{error}");
        assert!(toml::from_str::<Wrapper>("[lint]\ndrop-table = \"maybe\"\n").is_err());
        for rule in LintRule::ALL {
            assert_eq!(LintRule::parse(rule.id()), Some(rule));
        }
    }

    #[test]
    fn an_allowance_needs_a_reason() {
        let lint: RevisionLint = toml::from_str("[allow]\ndrop-column = \" unused since 4.2 \"\n").unwrap();
        assert_eq!(lint.allow[&LintRule::DropColumn].as_str(), "unused since 4.2");
        assert!(toml::from_str::<RevisionLint>("[allow]\ndrop-column = \"  \"\n").is_err());
        assert!(toml::from_str::<RevisionLint>("[allow]\ndrop-colum = \"x\"\n").is_err());
        assert!(toml::from_str::<RevisionLint>("allowed = {}\n").is_err());
    }
}
