//! Reading one statement for the lint with sqlparser: the tables it creates and alters, and the rule candidates its text shows (whether a candidate fires depends on what the step did before, which `step` knows).
//!
//! The text is one statement as the SQL guard split it, so it starts at its
//! first token: plain DML (`INSERT`, `SELECT`, ...) is recognised by that
//! word and never parsed. A statement sqlparser cannot read (a trigger
//! body, syntax newer than the parser) gives no candidate; on PostgreSQL
//! what it did is still observed (docs/LINT.md, "Limits").

use sqlparser::ast::{
    AlterColumnOperation, AlterTableOperation, ColumnDef, ColumnOption, Expr, FromTable, GeneratedExpressionMode,
    Ident, ObjectName, ObjectNamePart, ObjectType, RenameTableNameKind, Statement, TableConstraint, TableFactor,
    TableWithJoins,
};
use sqlparser::dialect::{Dialect as ParserDialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::parser::Parser;
use wasmig_graph::LintRule;

use crate::sql::Dialect;

/// A table as a statement names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TableName {
    /// The table's own name as the database stores it (unquoted names
    /// folded to lower case), for matching: the schema is left out.
    pub(crate) key: String,
    /// The name as written, schema included, for `to_regclass`.
    pub(crate) written: String,
}

/// A rule the statement's text breaks if its table existed before the step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Candidate {
    pub(crate) rule: LintRule,
    pub(crate) table: TableName,
    /// `SET NOT NULL`: the column, to look for a validated CHECK that proves it.
    pub(crate) column: Option<String>,
    /// What the statement does, in a few words.
    pub(crate) detail: String,
}

/// `ADD CONSTRAINT name CHECK (column IS NOT NULL)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NotNullCheck {
    pub(crate) table: String,
    pub(crate) constraint: String,
    pub(crate) column: String,
    pub(crate) validated: bool,
}

/// What the lint reads from one statement.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Analysis {
    /// It may take an ACCESS EXCLUSIVE lock on, or rewrite, a table that
    /// existed before: anything but plain DML and plain `CREATE`s of new
    /// objects (those lock only what they create, or take weaker locks).
    /// On PostgreSQL the host looks at the locks after such a statement.
    pub(crate) ddl: bool,
    /// `TRUNCATE`: it gives the table a new file, which is not a rewrite to report.
    pub(crate) truncates: bool,
    /// Tables it creates (keys).
    pub(crate) creates: Vec<String>,
    /// Tables it alters, drops or empties: what it may lock or rewrite.
    pub(crate) targets: Vec<TableName>,
    /// Tables an `ALTER TABLE` of it may rewrite without a text rule saying
    /// so (`SET UNLOGGED`, a default calling a function the lint does not
    /// know, a subcommand it does not know): their file is read before it
    /// runs, to see a rewrite.
    pub(crate) suspects: Vec<TableName>,
    pub(crate) candidates: Vec<Candidate>,
    pub(crate) not_null_checks: Vec<NotNullCheck>,
    /// `VALIDATE CONSTRAINT`: (table key, constraint).
    pub(crate) validates: Vec<(String, String)>,
}

/// Reads `text`, one statement (with the comments around it, for an
/// `execute`: the SQL guard's split then finds where it starts).
pub(crate) fn analyze(text: &str, dialect: Dialect) -> Analysis {
    let text = match text.starts_with(|c: char| c.is_ascii_alphabetic()) {
        true => text,
        false => wasmig_sqlguard::split_statements(text, dialect.guard_dialect())
            .ok()
            .and_then(|statements| statements.first().map(|statement| statement.text))
            .unwrap_or(text),
    };
    let first: String = text.chars().take_while(|c| c.is_ascii_alphabetic()).collect::<String>().to_ascii_uppercase();
    if matches!(first.as_str(), "SELECT" | "INSERT" | "VALUES" | "TABLE" | "SHOW" | "EXPLAIN" | "REPLACE" | "COPY") {
        return Analysis::default();
    }
    let dml = matches!(first.as_str(), "UPDATE" | "DELETE" | "WITH");
    let mut analysis = Analysis { ddl: !dml, ..Analysis::default() };
    let parser_dialect: &dyn ParserDialect = match dialect {
        Dialect::Sqlite => &SQLiteDialect {},
        Dialect::Postgres => &PostgreSqlDialect {},
    };
    let Ok(statements) = Parser::parse_sql(parser_dialect, text) else {
        return analysis;
    };
    analysis.ddl = !dml && !statements.iter().all(only_creates);
    for statement in &statements {
        Reader { dialect, analysis: &mut analysis }.statement(statement);
    }
    analysis
}

/// A statement that makes a new object and takes no strong lock on an
/// existing one: a plain table (not a partition or child of one), an
/// index (a SHARE lock), a view that replaces none, a sequence or a schema.
fn only_creates(statement: &Statement) -> bool {
    match statement {
        Statement::CreateTable(create) => create.partition_of.is_none() && create.inherits.is_none(),
        Statement::CreateIndex(_) | Statement::CreateSequence { .. } | Statement::CreateSchema { .. } => true,
        Statement::CreateView(view) => !view.or_replace,
        _ => false,
    }
}

struct Reader<'a> {
    dialect: Dialect,
    analysis: &'a mut Analysis,
}

impl Reader<'_> {
    fn statement(&mut self, statement: &Statement) {
        match statement {
            Statement::CreateTable(create) => {
                let name = self.name(&create.name);
                self.analysis.creates.push(name.key);
            }
            Statement::CreateView(view) if view.materialized => {
                let name = self.name(&view.name);
                self.analysis.creates.push(name.key);
            }
            Statement::CreateIndex(index) if !index.concurrently => {
                let table = self.name(&index.table_name);
                let detail = format!("CREATE INDEX on {} without CONCURRENTLY", table.written);
                self.candidate(LintRule::IndexNotConcurrent, table, None, detail);
            }
            Statement::AlterTable(alter) if alter.table_type.is_none() => {
                let table = self.name(&alter.name);
                self.analysis.targets.push(table.clone());
                if alter.operations.iter().any(may_rewrite_unnamed) {
                    self.analysis.suspects.push(table.clone());
                }
                for operation in &alter.operations {
                    self.alter(&table, operation);
                }
            }
            Statement::Drop { object_type: ObjectType::Table, names, .. } => {
                for name in names {
                    let table = self.name(name);
                    self.analysis.targets.push(table.clone());
                    let detail = format!("DROP TABLE {}", table.written);
                    self.candidate(LintRule::DropTable, table, None, detail);
                }
            }
            Statement::Truncate(truncate) => {
                self.analysis.truncates = true;
                for target in &truncate.table_names {
                    let table = self.name(&target.name);
                    self.analysis.targets.push(table.clone());
                    let detail = format!("TRUNCATE {}", table.written);
                    self.candidate(LintRule::Truncate, table, None, detail);
                }
            }
            Statement::Update(update) if update.selection.is_none() => {
                if let Some(table) = self.joined(&update.table) {
                    let detail = format!("UPDATE {} without WHERE", table.written);
                    self.candidate(LintRule::UpdateWithoutWhere, table, None, detail);
                }
            }
            Statement::Delete(delete) if delete.selection.is_none() => {
                let (FromTable::WithFromKeyword(from) | FromTable::WithoutKeyword(from)) = &delete.from;
                let tables: Vec<TableName> = from.iter().filter_map(|joined| self.joined(joined)).collect();
                for table in tables {
                    let detail = format!("DELETE FROM {} without WHERE", table.written);
                    self.candidate(LintRule::DeleteWithoutWhere, table, None, detail);
                }
            }
            _ => {}
        }
    }

    fn alter(&mut self, table: &TableName, operation: &AlterTableOperation) {
        let on = &table.written;
        match operation {
            AlterTableOperation::AlterColumn {
                column_name,
                op: AlterColumnOperation::SetDataType { data_type, .. },
            } => {
                let detail = format!("ALTER COLUMN {column_name} TYPE {data_type} on {on}");
                self.candidate(LintRule::ColumnTypeChange, table.clone(), None, detail);
            }
            AlterTableOperation::AlterColumn { column_name, op: AlterColumnOperation::SetNotNull } => {
                let column = self.ident(column_name);
                let detail = format!("ALTER COLUMN {column_name} SET NOT NULL on {on}");
                self.candidate(LintRule::SetNotNull, table.clone(), Some(column), detail);
            }
            AlterTableOperation::AddColumn { column_def, .. } => {
                if let Some(why) = rewriting_default(column_def) {
                    let detail = format!("ADD COLUMN {} on {on} with {why}", column_def.name);
                    self.candidate(LintRule::VolatileDefault, table.clone(), None, detail);
                }
            }
            AlterTableOperation::AddConstraint { constraint, not_valid } => {
                let (kind, name) = match constraint {
                    TableConstraint::ForeignKey(foreign) => ("FOREIGN KEY", foreign.name.as_ref()),
                    TableConstraint::Check(check) => {
                        if let (Some(name), Some(column)) = (&check.name, not_null_column(&check.expr)) {
                            self.analysis.not_null_checks.push(NotNullCheck {
                                table: table.key.clone(),
                                constraint: self.ident(name),
                                column: self.ident(column),
                                validated: !not_valid,
                            });
                        }
                        ("CHECK", check.name.as_ref())
                    }
                    _ => return,
                };
                if !not_valid {
                    let named = name.map(|name| format!(" {name}")).unwrap_or_default();
                    let detail = format!("ADD CONSTRAINT{named} {kind} on {on} without NOT VALID");
                    self.candidate(LintRule::ConstraintNotValid, table.clone(), None, detail);
                }
            }
            AlterTableOperation::ValidateConstraint { name } => {
                let constraint = self.ident(name);
                self.analysis.validates.push((table.key.clone(), constraint));
            }
            AlterTableOperation::DropColumn { column_names, .. } => {
                let columns = column_names.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
                let detail = format!("DROP COLUMN {columns} on {on}");
                self.candidate(LintRule::DropColumn, table.clone(), None, detail);
            }
            AlterTableOperation::RenameColumn { old_column_name, new_column_name } => {
                let detail = format!("RENAME COLUMN {old_column_name} TO {new_column_name} on {on}");
                self.candidate(LintRule::RenameColumn, table.clone(), None, detail);
            }
            AlterTableOperation::RenameTable {
                table_name: RenameTableNameKind::As(new) | RenameTableNameKind::To(new),
            } => {
                let detail = format!("RENAME {on} TO {new}");
                self.candidate(LintRule::RenameTable, table.clone(), None, detail);
            }
            _ => {}
        }
    }

    fn candidate(&mut self, rule: LintRule, table: TableName, column: Option<String>, detail: String) {
        self.analysis.candidates.push(Candidate { rule, table, column, detail });
    }

    /// The table an `UPDATE` or `DELETE` writes (not the ones it joins).
    fn joined(&self, joined: &TableWithJoins) -> Option<TableName> {
        match &joined.relation {
            TableFactor::Table { name, .. } => Some(self.name(name)),
            _ => None,
        }
    }

    fn name(&self, name: &ObjectName) -> TableName {
        let last = name.0.last().and_then(ObjectNamePart::as_ident);
        TableName { key: last.map(|ident| self.ident(ident)).unwrap_or_default(), written: name.to_string() }
    }

    /// An identifier as the database stores it: PostgreSQL folds unquoted
    /// names to lower case; SQLite compares every name without case.
    fn ident(&self, ident: &Ident) -> String {
        match (self.dialect, ident.quote_style) {
            (Dialect::Postgres, Some(_)) => ident.value.clone(),
            _ => ident.value.to_lowercase(),
        }
    }
}

/// Whether `operation` may rewrite its table without a text rule naming it:
/// anything but the subcommands known never to rewrite (or named by
/// `column-type-change` and `volatile-default` when they do).
fn may_rewrite_unnamed(operation: &AlterTableOperation) -> bool {
    match operation {
        AlterTableOperation::AddColumn { column_def, .. } => {
            rewriting_default(column_def).is_none()
                && column_def.options.iter().any(|option| match &option.option {
                    ColumnOption::Default(expr) => expr.to_string().contains('('),
                    _ => false,
                })
        }
        AlterTableOperation::AlterColumn { op, .. } => !matches!(
            op,
            AlterColumnOperation::SetNotNull
                | AlterColumnOperation::DropNotNull
                | AlterColumnOperation::SetDefault { .. }
                | AlterColumnOperation::DropDefault
                | AlterColumnOperation::SetDataType { .. }
        ),
        AlterTableOperation::AddConstraint { .. }
        | AlterTableOperation::DropConstraint { .. }
        | AlterTableOperation::ValidateConstraint { .. }
        | AlterTableOperation::DropColumn { .. }
        | AlterTableOperation::RenameColumn { .. }
        | AlterTableOperation::RenameTable { .. }
        | AlterTableOperation::RenameConstraint { .. }
        | AlterTableOperation::EnableTrigger { .. }
        | AlterTableOperation::DisableTrigger { .. }
        | AlterTableOperation::OwnerTo { .. } => false,
        _ => true,
    }
}

/// Functions PostgreSQL marks volatile that columns commonly default to:
/// adding a column with one of them fills every row, a rewrite.
const VOLATILE_FUNCTIONS: [&str; 9] = [
    "random",
    "clock_timestamp",
    "timeofday",
    "gen_random_uuid",
    "uuid_generate_v1",
    "uuid_generate_v1mc",
    "uuid_generate_v4",
    "uuidv7",
    "nextval",
];

/// Why adding `column` rewrites the table, if its definition says so.
fn rewriting_default(column: &ColumnDef) -> Option<String> {
    let data_type = column.data_type.to_string().to_ascii_lowercase();
    if matches!(data_type.as_str(), "serial" | "serial2" | "serial4" | "serial8" | "smallserial" | "bigserial") {
        return Some(format!("type {data_type}, whose default is nextval()"));
    }
    for option in &column.options {
        match &option.option {
            ColumnOption::Default(expr) => {
                if let Some(function) = volatile_call(expr) {
                    return Some(format!("DEFAULT {expr}, which calls the volatile {function}()"));
                }
            }
            ColumnOption::Generated { generation_expr: Some(_), generation_expr_mode, .. }
                if generation_expr_mode.as_ref() != Some(&GeneratedExpressionMode::Virtual) =>
            {
                return Some("a stored generated expression".to_owned());
            }
            ColumnOption::Generated { generation_expr: None, .. } | ColumnOption::Identity(_) => {
                return Some("an identity".to_owned());
            }
            _ => {}
        }
    }
    None
}

/// The volatile function `expr` calls, if it calls one of [`VOLATILE_FUNCTIONS`].
/// Read from the parsed expression as sqlparser prints it back (normalised:
/// no comments, one space), a call being the name followed by `(`.
fn volatile_call(expr: &Expr) -> Option<&'static str> {
    let printed = expr.to_string().to_ascii_lowercase();
    VOLATILE_FUNCTIONS.into_iter().find(|function| {
        printed.match_indices(function).any(|(at, _)| {
            let before = printed[..at].chars().next_back();
            let after = printed[at + function.len()..].trim_start().chars().next();
            !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') && after == Some('(')
        })
    })
}

/// The column of a `CHECK (column IS NOT NULL)`.
fn not_null_column(expr: &Expr) -> Option<&Ident> {
    match unnested(expr) {
        Expr::IsNotNull(inner) => match unnested(inner) {
            Expr::Identifier(ident) => Some(ident),
            _ => None,
        },
        _ => None,
    }
}

/// `expr` without the parentheses around it.
fn unnested(mut expr: &Expr) -> &Expr {
    while let Expr::Nested(inner) = expr {
        expr = inner.as_ref();
    }
    expr
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(text: &str, dialect: Dialect) -> Vec<LintRule> {
        analyze(text, dialect).candidates.iter().map(|candidate| candidate.rule).collect()
    }

    #[test]
    fn each_rule_is_read_from_its_statement_and_not_from_its_safe_form() {
        use LintRule as R;
        let pg = Dialect::Postgres;
        for (bad, good, rule) in [
            ("CREATE INDEX i ON t (a)", "CREATE INDEX CONCURRENTLY i ON t (a)", R::IndexNotConcurrent),
            (
                "ALTER TABLE t ALTER COLUMN a TYPE bigint",
                "ALTER TABLE t ALTER COLUMN a SET DEFAULT 0",
                R::ColumnTypeChange,
            ),
            (
                "ALTER TABLE t ADD COLUMN b uuid DEFAULT gen_random_uuid()",
                "ALTER TABLE t ADD COLUMN b int DEFAULT 0",
                R::VolatileDefault,
            ),
            (
                "ALTER TABLE t ADD COLUMN b bigserial",
                "ALTER TABLE t ADD COLUMN b timestamptz DEFAULT now()",
                R::VolatileDefault,
            ),
            ("ALTER TABLE t ALTER COLUMN a SET NOT NULL", "ALTER TABLE t ALTER COLUMN a DROP NOT NULL", R::SetNotNull),
            (
                "ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES u (id)",
                "ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES u (id) NOT VALID",
                R::ConstraintNotValid,
            ),
            (
                "ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0)",
                "ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0) NOT VALID",
                R::ConstraintNotValid,
            ),
            ("DROP TABLE t", "DROP VIEW v", R::DropTable),
            ("ALTER TABLE t DROP COLUMN a", "ALTER TABLE t ADD COLUMN a int", R::DropColumn),
            ("TRUNCATE t", "DELETE FROM t WHERE id < 100", R::Truncate),
            ("ALTER TABLE t RENAME TO u", "ALTER TABLE t ADD COLUMN u int", R::RenameTable),
            ("ALTER TABLE t RENAME COLUMN a TO b", "ALTER TABLE t ADD COLUMN b int", R::RenameColumn),
            ("UPDATE t SET a = 1", "UPDATE t SET a = 1 WHERE id < 100", R::UpdateWithoutWhere),
            ("DELETE FROM t", "DELETE FROM t WHERE true", R::DeleteWithoutWhere),
        ] {
            assert_eq!(rules(bad, pg), [rule], "{bad}");
            assert!(rules(good, pg).is_empty(), "{good}: {:?}", rules(good, pg));
        }
        for (sqlite, rule) in [
            ("DROP TABLE t", R::DropTable),
            ("ALTER TABLE t DROP COLUMN a", R::DropColumn),
            ("ALTER TABLE t RENAME TO u", R::RenameTable),
            ("ALTER TABLE t RENAME COLUMN a TO b", R::RenameColumn),
            ("UPDATE t SET a = 1", R::UpdateWithoutWhere),
            ("DELETE FROM t", R::DeleteWithoutWhere),
        ] {
            assert_eq!(rules(sqlite, Dialect::Sqlite), [rule], "{sqlite}");
        }
    }

    #[test]
    fn names_fold_as_the_database_folds_them_and_dml_is_not_parsed() {
        let created = analyze("CREATE TABLE Accounts (id int)", Dialect::Postgres);
        assert_eq!((created.creates, created.ddl), (vec!["accounts".to_owned()], false), "it locks only itself");
        assert!(analyze("CREATE TABLE p1 PARTITION OF p FOR VALUES IN (1)", Dialect::Postgres).ddl);
        assert!(analyze("ALTER TABLE t ADD COLUMN c int", Dialect::Postgres).ddl);
        let unlogged = analyze("ALTER TABLE t SET UNLOGGED", Dialect::Postgres);
        assert_eq!((unlogged.suspects.len(), unlogged.candidates.len()), (1, 0), "observed, not read");
        for never in ["ADD COLUMN c int", "ADD COLUMN c int DEFAULT 0", "DROP COLUMN c", "ALTER COLUMN c TYPE text"] {
            assert!(analyze(&format!("ALTER TABLE t {never}"), Dialect::Postgres).suspects.is_empty(), "{never}");
        }
        assert_eq!(analyze("ALTER TABLE t ADD COLUMN c int DEFAULT f()", Dialect::Postgres).suspects.len(), 1);
        let quoted = analyze("CREATE TABLE s.\"Accounts\" (id int)", Dialect::Postgres);
        assert_eq!(quoted.creates, ["Accounts"]);
        assert_eq!(
            analyze("ALTER TABLE s.\"Accounts\" DROP COLUMN a", Dialect::Postgres).targets[0].written,
            "s.\"Accounts\""
        );
        assert_eq!(analyze("INSERT INTO t VALUES (1)", Dialect::Postgres), Analysis::default());
        assert_eq!(analyze("-- why\n DROP TABLE t;", Dialect::Sqlite).candidates[0].rule, LintRule::DropTable);
        assert!(!analyze("UPDATE t SET a = 1 WHERE id = 2", Dialect::Postgres).ddl);
        assert!(analyze("DO $$ BEGIN EXECUTE 'ALTER TABLE t DROP COLUMN a'; END $$", Dialect::Postgres).ddl);
        let check = analyze("ALTER TABLE t ADD CONSTRAINT c CHECK (a IS NOT NULL) NOT VALID", Dialect::Postgres);
        assert_eq!(
            check.not_null_checks,
            [NotNullCheck { table: "t".into(), constraint: "c".into(), column: "a".into(), validated: false }]
        );
        assert_eq!(
            analyze("ALTER TABLE t VALIDATE CONSTRAINT c", Dialect::Postgres).validates,
            [("t".into(), "c".into())]
        );
    }
}
