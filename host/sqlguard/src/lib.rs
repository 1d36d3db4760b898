//! The transaction guard and statement policy: splits revision SQL into statements, refuses
//! transaction control, and refuses what a sandboxed revision may not do.
//!
//! wasmig runs each revision inside a transaction that the host opens and closes, so a guest
//! must never run `BEGIN`, `COMMIT`, `ROLLBACK`, `SAVEPOINT`, `RELEASE`, `END`, `ABORT`,
//! `START TRANSACTION` or `PREPARE TRANSACTION`. Revision authors are untrusted, so the
//! [`Policy`] also refuses statements that change the session the host owns (`SET ROLE`,
//! `SET search_path`, `set_config`, ...), reach server files, programs or other databases,
//! manage roles, extensions or the server, or write the host's own tables; some classes are
//! allowed when the project opts into a [`Capability`], and each such use is reported in the
//! [`Approval`]. The host calls [`Policy::check_statement`] before each `execute` / `query` and
//! [`Policy::check_script`] before each `execute-script`.
//!
//! Reading SQL the way the database does is the whole job: a `COMMIT` inside a string,
//! quoted identifier, comment or dollar-quoted body is harmless, and one after them is not.
//! Tokens come from sqlparser's tokenizer, corrected where it reads text differently from the
//! database (see the `lexer` module); statements are split the way `sqlite3_complete()` and
//! psql split them (see the `splitter` module); the policy reads the same tokens (`commands`
//! for what a statement starts with, `scan` for functions and tables anywhere in it).
//! Text cannot see dynamic SQL (`EXECUTE` in a `DO` block or a function body): the
//! engine-side checks cover that. `docs/SQL-GUARD.md` lists the rules and limits.
//!
//! ```
//! use wasmig_sqlguard::{check_script, Dialect, GuardError, Policy, StatementClass};
//!
//! assert!(check_script("INSERT INTO t VALUES ('COMMIT'); -- COMMIT", Dialect::Sqlite).is_ok());
//! let refused = check_script("SELECT 1; /* done */ commit;", Dialect::Postgres).unwrap_err();
//! assert!(matches!(refused, GuardError::TransactionControl { keyword: "COMMIT", line: 1, column: 22, .. }));
//!
//! let refused = Policy::new(Dialect::Postgres).check_script("SET LOCAL role = postgres").unwrap_err();
//! assert!(matches!(refused, GuardError::Refused { class: StatementClass::SessionSetting, .. }));
//! ```

mod capability;
mod check;
mod class;
mod commands;
mod dialect;
mod error;
mod finding;
mod guard;
mod lexer;
mod lists;
mod policy;
mod position;
mod scan;
mod splitter;
mod tokens;

pub use capability::{Capabilities, Capability, UnknownCapability};
pub use check::{Statement, check_script, check_statement, split_statements};
pub use class::StatementClass;
pub use dialect::Dialect;
pub use error::GuardError;
pub use lists::{SETTABLE_SETTINGS, SQLITE_READ_PRAGMAS, SQLITE_SETTABLE_PRAGMAS, TRUSTED_LANGUAGES};
pub use policy::{Approval, CapabilityUse, Policy};
pub use position::line_column;
