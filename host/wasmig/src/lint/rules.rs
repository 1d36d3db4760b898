//! The rule catalogue: for each lint rule, why it matters, the safe alternative, and the engines it applies to (docs/LINT.md is the same list for readers).

use wasmig_graph::LintRule;

use crate::sql::Dialect;

/// What a rule is about, for messages and `wasmig lint`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleInfo {
    pub rule: LintRule,
    /// Why the pattern hurts a live database, one line.
    pub why: &'static str,
    /// What to write instead.
    pub alternative: &'static str,
    /// Whether the rule applies on SQLite too (every rule applies on PostgreSQL).
    pub sqlite: bool,
    /// Whether the host observes it (PostgreSQL's lock table and catalogs)
    /// rather than reading it from the statement's text.
    pub observed: bool,
}

/// The catalogue entry of `rule`.
pub fn info(rule: LintRule) -> RuleInfo {
    let (why, alternative, sqlite, observed) = match rule {
        LintRule::IndexNotConcurrent => (
            "CREATE INDEX without CONCURRENTLY blocks every write to the table until the index is built",
            "CREATE INDEX CONCURRENTLY in a revision of its own with `transactional = false` in its revision.toml",
            false,
            false,
        ),
        LintRule::ColumnTypeChange => (
            "changing a column's type holds an ACCESS EXCLUSIVE lock and, unless the types are binary-compatible, \
             rewrites the table and its indexes; the running application may not read the new type",
            "add a column of the new type, backfill it in batches, switch the application, then drop the old column",
            false,
            false,
        ),
        LintRule::VolatileDefault => (
            "a column added with a volatile default (random(), clock_timestamp(), gen_random_uuid(), a serial or \
             identity, a stored generated column) rewrites the whole table under an ACCESS EXCLUSIVE lock \
             (a constant or stable default does not, since PostgreSQL 11)",
            "add the column without a default (or with a constant one), set the default for new rows, and backfill \
             existing rows in batches",
            false,
            false,
        ),
        LintRule::SetNotNull => (
            "SET NOT NULL scans the whole table under an ACCESS EXCLUSIVE lock unless a validated CHECK (col IS NOT \
             NULL) already proves it",
            "ADD CONSTRAINT c CHECK (col IS NOT NULL) NOT VALID, then VALIDATE CONSTRAINT c (it takes a weaker lock), \
             then SET NOT NULL, which uses the constraint and skips the scan",
            false,
            false,
        ),
        LintRule::ConstraintNotValid => (
            "adding a FOREIGN KEY or CHECK constraint without NOT VALID checks every row while holding a lock that \
             blocks writes",
            "ADD CONSTRAINT ... NOT VALID (only new rows are checked), then VALIDATE CONSTRAINT in a later statement \
             or revision, which does not block writes",
            false,
            false,
        ),
        LintRule::DropTable => (
            "the application version still running reads and writes the table it drops",
            "stop using the table in a release first, then drop it in a later revision (and allow the rule there \
             with the reason)",
            true,
            false,
        ),
        LintRule::DropColumn => (
            "the application version still running reads and writes the column it drops",
            "stop using the column in a release first, then drop it in a later revision (and allow the rule there \
             with the reason)",
            true,
            false,
        ),
        LintRule::Truncate => (
            "TRUNCATE empties a table the running application uses, under an ACCESS EXCLUSIVE lock",
            "DELETE with a WHERE clause, in batches; or drop a table nothing uses any more",
            false,
            false,
        ),
        LintRule::RenameTable => (
            "the application version still running uses the old name",
            "create the new table (or a view under the new name), write to both, switch the application, then drop \
             the old one",
            true,
            false,
        ),
        LintRule::RenameColumn => (
            "the application version still running uses the old name",
            "add the new column, write to both, backfill, switch the application, then drop the old column",
            true,
            false,
        ),
        LintRule::UpdateWithoutWhere => (
            "an UPDATE without WHERE rewrites every row of a table that existed before, in one long transaction that \
             holds the row locks",
            "update in batches with a WHERE clause (a key range), or say `WHERE true` if every row is meant",
            true,
            false,
        ),
        LintRule::DeleteWithoutWhere => (
            "a DELETE without WHERE removes every row of a table that existed before",
            "delete in batches with a WHERE clause, or say `WHERE true` if every row is meant",
            true,
            false,
        ),
        LintRule::LockHeld => (
            "an ACCESS EXCLUSIVE lock on a table that existed before stays held while the revision runs further \
             statements, blocking every read and write of it until the revision commits",
            "put the statement that takes it last in its revision, or in a revision of its own, so the lock is held \
             as briefly as possible",
            false,
            true,
        ),
        LintRule::TableRewrite => (
            "PostgreSQL rewrote a table that existed before (its file changed), holding an ACCESS EXCLUSIVE lock for \
             as long as the copy took",
            "find the statement's rewrite-free form (docs/LINT.md lists them) or copy the data in batches into a new \
             table or column",
            false,
            true,
        ),
    };
    RuleInfo { rule, why, alternative, sqlite, observed }
}

impl RuleInfo {
    pub fn applies_to(&self, dialect: Dialect) -> bool {
        dialect == Dialect::Postgres || self.sqlite
    }
}

/// How a revision allows `rule`, for messages.
pub fn how_to_allow(rule: LintRule) -> String {
    format!(
        "if it is safe here, allow it in the revision's revision.toml:\n  [lint.allow]\n  {rule} = \"<why it is \
         safe here>\"\nor set `{rule} = \"warn\"` under [lint] in wasmig.toml"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_says_why_and_what_instead() {
        for rule in LintRule::ALL {
            let info = info(rule);
            assert!(!info.why.is_empty() && !info.alternative.is_empty(), "{rule}");
            assert!(info.applies_to(Dialect::Postgres));
        }
        assert!(info(LintRule::DropTable).applies_to(Dialect::Sqlite));
        assert!(!info(LintRule::IndexNotConcurrent).applies_to(Dialect::Sqlite));
    }
}
