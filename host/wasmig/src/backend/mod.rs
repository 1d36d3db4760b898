//! The database backends and the one trait through which the runtime and the executor use them.
//!
//! One trait, one apply loop: the executor drives every backend through
//! [`Backend`], and dialect differences live in the SQL it generates
//! (`versions.rs`), not in a second executor.

use std::fmt;
use std::time::Duration;

use crate::sql::{DbError, Dialect, RowFailure, Rows, Value};

pub mod hook;
pub mod postgres;
pub mod sqlite;
pub mod url;

pub use hook::{HookSession, LoginEscape, SessionBreach};
pub use url::DatabaseUrl;

/// A database connection as the runtime (for a guest's hooks) and the
/// executor (transactions, bookkeeping, locks) see it.
///
/// The runtime calls the guest-facing methods after its own checks (the
/// transaction guard); a backend runs exactly what it is given.
pub trait Backend: Send {
    fn dialect(&self) -> Dialect;

    /// Where this connection points, for messages: never includes a password.
    fn describe(&self) -> String;

    /// The schema the version tables and unqualified names live in
    /// (PostgreSQL), `None` for SQLite.
    fn schema(&self) -> Option<&str>;

    /// Runs one statement; returns the rows affected.
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError>;

    /// Runs one statement once per row of parameters, in order; returns the
    /// rows affected in all. The first row that fails stops it, and nothing
    /// after it runs. Row by row through [`Backend::execute`] unless the
    /// backend has a faster way (PostgreSQL pipelines the rows inside a transaction).
    fn execute_many(&mut self, sql: &str, rows: &[Vec<Value>]) -> Result<u64, RowFailure> {
        crate::sql::row_by_row(rows, |params| self.execute(sql, params))
    }

    /// Runs one statement and returns all its rows.
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Rows, DbError>;

    /// Runs several statements without parameters.
    fn execute_script(&mut self, sql: &str) -> Result<(), DbError>;

    /// A hook starts: until [`Backend::end_hook`], every statement is the
    /// guest's and runs under `session` (its deadline, result budget,
    /// protected tables; fuel and epochs do not count time spent in the
    /// database, so the backend bounds it).
    fn begin_hook(&mut self, session: &HookSession) -> Result<(), DbError>;

    /// The longest the next step's statements wait for a lock, `None` for the
    /// connection's own wait again. SQLite: the busy wait, which bounds the
    /// step's `BEGIN IMMEDIATE` (inside the step nothing waits: it holds the
    /// write lock); PostgreSQL takes it per hook ([`HookSession::lock_wait`]).
    fn set_lock_wait(&mut self, wait: Option<Duration>) -> Result<(), DbError> {
        let _ = wait;
        Ok(())
    }

    /// Who holds the migration lock for `key` right now (a run in progress),
    /// read without taking it. `None` when nobody does, or on SQLite (no lock).
    fn lock_holder(&mut self, key: &str) -> Result<Option<String>, DbError> {
        let _ = key;
        Ok(None)
    }

    /// PostgreSQL: the invalid indexes of the connection's schema (a
    /// concurrent build that failed or was interrupted leaves one), checked
    /// after every non-transactional step. Empty elsewhere.
    fn invalid_indexes(&mut self) -> Result<Vec<String>, DbError> {
        Ok(Vec::new())
    }

    /// PostgreSQL: what this session's login role holds beyond `role`, the
    /// role hooks run as; `None` when the login cannot leave it (it is
    /// `role`, or a role that owns nothing and reaches no other role). With
    /// `creates_roles` (the `roles` capability) `CREATEROLE` is allowed.
    fn login_escape(&mut self, role: &str, creates_roles: bool) -> Result<Option<LoginEscape>, DbError> {
        let _ = (role, creates_roles);
        Ok(None)
    }

    /// The hook ended, however it ended. `Err` when the guest's statements
    /// left the session otherwise than the host set it (its transaction
    /// ended, a guarded setting, the role or the search path changed): the
    /// step must fail and roll back.
    fn end_hook(&mut self) -> Result<(), SessionBreach>;

    /// Opens the transaction of one step (or of a whole plan). SQLite takes
    /// the write lock at once (`BEGIN IMMEDIATE`), so that the applied set
    /// read inside it cannot change before the step commits.
    fn begin(&mut self) -> Result<(), DbError>;

    /// Opens a transaction in which the database refuses writes, for hooks
    /// that must only look (`verify`). Always ended with [`Backend::rollback`].
    fn begin_read_only(&mut self) -> Result<(), DbError>;

    fn commit(&mut self) -> Result<(), DbError>;

    fn rollback(&mut self) -> Result<(), DbError>;

    /// Takes the migration lock for `key` (derived from the schema and the
    /// table prefix), waiting at most `timeout`. The lock is held until the
    /// returned guard is dropped, on every path. SQLite returns a guard that
    /// holds nothing: its steps serialise on `BEGIN IMMEDIATE`.
    /// Takes the migration lock for `key`, waiting at most `timeout`.
    fn lock(&mut self, key: &str, timeout: Duration) -> Result<Box<dyn LockGuard>, LockError> {
        self.lock_waiting(key, timeout, &mut |_| {})
    }

    /// [`Backend::lock`]; when another session holds the lock, `waiting`
    /// hears who (as far as the database says) before the wait begins.
    fn lock_waiting(
        &mut self,
        key: &str,
        timeout: Duration,
        waiting: &mut dyn FnMut(Option<&str>),
    ) -> Result<Box<dyn LockGuard>, LockError>;
}

/// Holds a migration lock; dropping it releases the lock.
pub trait LockGuard: Send + fmt::Debug {
    /// Whether this guard excludes other runners. When it does not, the
    /// executor re-checks each step inside the step's own transaction.
    fn holds_lock(&self) -> bool {
        true
    }
}

/// A lock that holds nothing, for backends whose transactions serialise runners.
#[derive(Debug)]
pub struct NoLock;

impl LockGuard for NoLock {
    fn holds_lock(&self) -> bool {
        false
    }
}

/// Why the migration lock could not be taken.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LockError {
    #[error(
        "another wasmig run holds the migration lock `{key}` on {database}{}; waited {waited:?}. \
         Wait for it to finish, or raise `[database] migration_lock_timeout_ms` in wasmig.toml",
        holder.as_deref().map(|holder| format!(" ({holder})")).unwrap_or_default()
    )]
    Timeout { key: String, database: String, waited: Duration, holder: Option<String> },
    #[error("cannot take the migration lock `{key}` on {database}: {source}")]
    Db { key: String, database: String, source: DbError },
    #[error("stopped waiting for the migration lock `{key}` on {database}: a stop was requested")]
    Interrupted { key: String, database: String },
}

/// Why a database could not be reached.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    #[error(
        "`{url}` is not a database URL wasmig knows: {reason}. Use sqlite:path/to/file.db, sqlite::memory: or postgres://user@host/db[?schema=name]"
    )]
    BadUrl { url: String, reason: String },
    #[error("cannot open {database}: {source}")]
    Open { database: String, source: DbError },
    #[error("{database} does not exist yet: `wasmig upgrade` creates it")]
    MissingDatabase { database: String },
    #[error("schema `{schema}` does not exist on {database}: create it first (CREATE SCHEMA \"{schema}\")")]
    MissingSchema { schema: String, database: String },
    /// The PostgreSQL backend blocks its thread, which a thread driving async
    /// tasks must not do (tokio would panic).
    #[error(
        "cannot open {database} from inside an async task: wasmig's PostgreSQL backend blocks its thread \
         while it waits for the server. Call wasmig through `tokio::task::spawn_blocking` or from a plain thread"
    )]
    InsideAsyncRuntime { database: String },
}

/// Stands in for a backend that cannot be used: lent to a running hook, or
/// closed after a failed run removed the database file it had just created.
#[derive(Debug)]
pub(crate) struct Unavailable {
    why: String,
    dialect: Dialect,
    database: String,
}

impl Unavailable {
    /// The real backend is lent to the store of a running hook.
    pub(crate) fn lent(dialect: Dialect) -> Self {
        Unavailable { why: "the backend is lent to a running hook".to_owned(), dialect, database: String::new() }
    }

    /// The run failed before writing anything, and the SQLite file this
    /// connection had created was removed (the `Database` opens it again on
    /// its next use).
    pub(crate) fn removed(dialect: Dialect, database: String) -> Self {
        let why = "the run failed before writing anything and removed the file it had created".to_owned();
        Unavailable { why, dialect, database }
    }

    /// Opening the database again failed.
    pub(crate) fn failed(dialect: Dialect, database: String, error: ConnectError) -> Self {
        Unavailable { why: format!("cannot open the database again: {error}"), dialect, database }
    }

    fn error(&self) -> DbError {
        DbError::host(self.why.clone())
    }
}

impl Backend for Unavailable {
    fn dialect(&self) -> Dialect {
        self.dialect
    }
    fn describe(&self) -> String {
        if self.database.is_empty() { self.why.to_owned() } else { self.database.clone() }
    }
    fn schema(&self) -> Option<&str> {
        None
    }
    fn execute(&mut self, _: &str, _: &[Value]) -> Result<u64, DbError> {
        Err(self.error())
    }
    fn query(&mut self, _: &str, _: &[Value]) -> Result<Rows, DbError> {
        Err(self.error())
    }
    fn execute_script(&mut self, _: &str) -> Result<(), DbError> {
        Err(self.error())
    }
    fn begin_hook(&mut self, _: &HookSession) -> Result<(), DbError> {
        Err(self.error())
    }
    fn end_hook(&mut self) -> Result<(), SessionBreach> {
        Ok(())
    }
    fn begin(&mut self) -> Result<(), DbError> {
        Err(self.error())
    }
    fn begin_read_only(&mut self) -> Result<(), DbError> {
        Err(self.error())
    }
    fn commit(&mut self) -> Result<(), DbError> {
        Err(self.error())
    }
    fn rollback(&mut self) -> Result<(), DbError> {
        Err(self.error())
    }
    fn lock_waiting(
        &mut self,
        key: &str,
        _: Duration,
        _: &mut dyn FnMut(Option<&str>),
    ) -> Result<Box<dyn LockGuard>, LockError> {
        Err(LockError::Db { key: key.to_owned(), database: self.describe(), source: self.error() })
    }
}
