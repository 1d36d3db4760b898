//! The guard's typed errors: what the host reports back to a revision whose SQL it refuses.

use thiserror::Error;

/// Why the guard refused SQL. Positions are 1-based; columns count characters, not bytes.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
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
