//! The transaction guard: splits revision SQL into statements and refuses transaction control.
//!
//! wasmig runs each revision inside a transaction that the host opens and closes, so a guest
//! must never run `BEGIN`, `COMMIT`, `ROLLBACK`, `SAVEPOINT`, `RELEASE`, `END`, `ABORT`,
//! `START TRANSACTION` or `PREPARE TRANSACTION`. The host calls [`check_statement`] before
//! each `execute` / `query` and [`check_script`] before each `execute-script`.
//!
//! Reading SQL the way the database does is the whole job: a `COMMIT` inside a string,
//! quoted identifier, comment or dollar-quoted body is harmless, and one after them is not.
//! Tokens come from sqlparser's tokenizer, corrected where it reads text differently from the
//! database (see the `lexer` module); statements are split the way `sqlite3_complete()` and
//! psql split them (see the `splitter` module). `docs/SQL-GUARD.md` lists the rules and limits.
//!
//! ```
//! use wasmig_sqlguard::{check_script, Dialect, GuardError};
//!
//! assert!(check_script("INSERT INTO t VALUES ('COMMIT'); -- COMMIT", Dialect::Sqlite).is_ok());
//! let refused = check_script("SELECT 1; /* done */ commit;", Dialect::Postgres).unwrap_err();
//! assert!(matches!(refused, GuardError::TransactionControl { keyword: "COMMIT", line: 1, column: 22, .. }));
//! ```

mod capability;
mod check;
mod dialect;
mod error;
mod guard;
mod lexer;
mod position;
mod splitter;

pub use capability::{Capabilities, Capability, UnknownCapability};
pub use check::{Statement, check_script, check_statement, split_statements};
pub use dialect::Dialect;
pub use error::GuardError;
