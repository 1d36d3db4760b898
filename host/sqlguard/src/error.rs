//! The guard's typed errors: what the host reports back to a revision whose SQL it refuses.

use thiserror::Error;

use crate::class::StatementClass;

/// Why the guard refused SQL. Positions are 1-based; columns count characters, not bytes.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum GuardError {
    /// A statement that starts, ends or nests a transaction.
    #[error(
        "line {line}, column {column}: `{statement}` is transaction control ({keyword}); \
         wasmig runs each revision in its own transaction; remove the BEGIN/COMMIT — for a \
         statement that cannot run in a transaction set `transactional = false` in revision.toml"
    )]
    TransactionControl {
        /// The refused command, upper case: `COMMIT`, `START TRANSACTION`, `PREPARE TRANSACTION`, ...
        keyword: &'static str,
        /// Line of the statement's first token.
        line: usize,
        /// Column of the statement's first token.
        column: usize,
        /// The statement's first characters (about 60), on one line.
        statement: String,
    },

    /// A statement the policy refuses ([`crate::Policy`]): it belongs to `class`, and the
    /// project has not opted into the class's capability (or the class has none).
    #[error(
        "line {line}, column {column}: `{statement}` is refused: it {} (`{keyword}`{}); {}",
        class.description(),
        subject.as_deref().map(|subject| format!(" {subject}")).unwrap_or_default(),
        class.remedy()
    )]
    Refused {
        /// What the statement does.
        class: StatementClass,
        /// The command or function that puts it in the class, in canonical spelling:
        /// `SET`, `set_config`, `COPY ... PROGRAM`, `CREATE EXTENSION`, `ATTACH`, `PRAGMA`, ...
        keyword: &'static str,
        /// The name the statement gives it, lower case, when there is one: the setting of a
        /// `SET`, the extension of a `CREATE EXTENSION`, the language, the PRAGMA.
        subject: Option<String>,
        /// Line of the refused keyword or function.
        line: usize,
        /// Column of the refused keyword or function.
        column: usize,
        /// The statement's first characters (about 60), on one line.
        statement: String,
    },

    /// A statement that would write, alter, lock, reference or build a view on one of the
    /// host's own tables (the version tables); reading them in a query is fine.
    #[error(
        "line {line}, column {column}: `{statement}` is refused: `{table}` is wasmig's own \
         bookkeeping; a revision may read it in a query (SELECT ... FROM {table}) but not write, \
         alter, lock or reference it, or build a view or table named after it"
    )]
    ProtectedTable {
        /// The protected table, as the caller named it.
        table: String,
        /// Line of the table's name in the statement.
        line: usize,
        /// Column of the table's name in the statement.
        column: usize,
        /// The statement's first characters.
        statement: String,
    },

    /// `DROP SCHEMA` / `ALTER SCHEMA` of the schema that holds the host's tables.
    #[error(
        "line {line}, column {column}: `{statement}` is refused: schema `{schema}` holds wasmig's \
         own tables; a revision may not drop, rename or give it away"
    )]
    ProtectedSchema {
        /// The protected schema, as the caller named it.
        schema: String,
        /// Line of the schema's name in the statement.
        line: usize,
        /// Column of the schema's name in the statement.
        column: usize,
        /// The statement's first characters.
        statement: String,
    },

    /// `execute` / `query` got more than one statement: the backends run exactly one.
    #[error(
        "execute/query runs exactly one statement but got {count}; the second starts at line \
         {line}, column {column}: `{statement}`; use execute-script for several statements"
    )]
    SeveralStatements {
        /// How many non-empty statements the SQL holds.
        count: usize,
        /// Line of the second statement.
        line: usize,
        /// Column of the second statement.
        column: usize,
        /// The second statement's first characters.
        statement: String,
    },

    /// `execute` / `query` got only whitespace, comments or `;`.
    #[error("execute/query got no SQL statement (only whitespace, comments or `;`)")]
    NoStatement,

    /// The SQL could not be read as tokens the database would read the same way.
    #[error("cannot read the SQL at line {line}, column {column}: {message}")]
    Tokenize {
        /// Where the problem was found.
        line: usize,
        /// Where the problem was found.
        column: usize,
        /// What went wrong, in words.
        message: String,
    },
}
