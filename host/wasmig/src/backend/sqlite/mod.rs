//! The SQLite backend (rusqlite): the embedded default, and the sandbox SQLite itself enforces around a hook's statements.
//!
//! Every connection is opened with `SQLITE_DBCONFIG_DEFENSIVE` (no
//! `writable_schema` edits, no writes to shadow tables or `sqlite_dbpage`,
//! no `journal_mode = OFF`: ordinary SQL cannot corrupt the file) and an
//! authorizer. Outside hooks the host's statements run as they are, except
//! that a trigger they fire may not write (authorizer.rs). Between
//! `begin_hook` and `end_hook` (session.rs): the guest's authorizer, the
//! attached-database limit at 0, `query_only` for `verify`, the deadline
//! watchdog (watchdog.rs), query results within the memory budget (run.rs),
//! and the host's transaction watched after every statement.

mod authorizer;
mod error;
mod run;
mod session;
#[cfg(test)]
mod tests;
mod watchdog;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags};

use super::{Backend, HookSession, LockError, LockGuard, NoLock, SessionBreach};
use crate::sql::{DbError, Dialect, RowFailure, Rows, Value};
use authorizer::Refusals;
use error::db_error;
use run::{Checks, QueryError, Unchecked};
use session::Session;

/// A SQLite database file (or `:memory:`).
#[derive(Debug)]
pub struct SqliteBackend {
    connection: Connection,
    path: Option<PathBuf>,
    /// The reason of the last statement the authorizer refused.
    refusals: Refusals,
    /// The running hook, between `begin_hook` and `end_hook`.
    hook: Option<Session>,
    /// The connection's own busy wait, restored after a step that set its own.
    busy_timeout: Duration,
}

impl SqliteBackend {
    /// Opens (or creates) a database file. `busy_timeout` is how long a step
    /// waits for another writer before it fails.
    pub fn open(path: &Path, busy_timeout: Duration) -> Result<Self, DbError> {
        let connection = Connection::open(path).map_err(db_error)?;
        Self::set_up(connection, Some(path), Some(busy_timeout))
    }

    /// Opens a database file that must exist: for commands that only read,
    /// which must not leave an empty file behind.
    pub fn open_existing(path: &Path, busy_timeout: Duration) -> Result<Self, DbError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
        let connection = Connection::open_with_flags(path, flags).map_err(db_error)?;
        Self::set_up(connection, Some(path), Some(busy_timeout))
    }

    pub fn open_in_memory() -> Result<Self, DbError> {
        let connection = Connection::open_in_memory().map_err(db_error)?;
        Self::set_up(connection, None, None)
    }

    /// Session-local settings only: wasmig never changes the file's persistent ones.
    fn set_up(
        mut connection: Connection,
        path: Option<&Path>,
        busy_timeout: Option<Duration>,
    ) -> Result<Self, DbError> {
        // rusqlite's own default for a connection without one.
        let busy_timeout = busy_timeout.unwrap_or(Duration::from_secs(5));
        connection.busy_timeout(busy_timeout).map_err(db_error)?;
        connection.set_db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true).map_err(db_error)?;
        let refusals = Refusals::default();
        authorizer::install_host(&mut connection, &refusals).map_err(db_error)?;
        Ok(SqliteBackend { connection, path: path.map(Path::to_path_buf), refusals, hook: None, busy_timeout })
    }

    pub fn connection(&self) -> &Connection {
        &self.connection
    }

    /// Runs `statement` between the running hook's checks (none outside hooks).
    fn checked<T>(
        &mut self,
        statement: impl FnOnce(&Connection, &Refusals, u64) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        match &mut self.hook {
            None => statement(&self.connection, &self.refusals, u64::MAX),
            Some(session) => {
                session.before()?;
                let outcome = statement(&self.connection, &self.refusals, session.budget());
                session.after(&self.connection, outcome)
            }
        }
    }
}

impl Backend for SqliteBackend {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn set_lock_wait(&mut self, wait: Option<Duration>) -> Result<(), DbError> {
        self.connection.busy_timeout(wait.unwrap_or(self.busy_timeout)).map_err(db_error)
    }

    fn describe(&self) -> String {
        match &self.path {
            Some(path) => format!("sqlite:{}", path.display()),
            None => "sqlite::memory:".to_owned(),
        }
    }

    fn schema(&self) -> Option<&str> {
        None
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        self.checked(|connection, refusals, _| {
            run::execute(connection, sql, params).map_err(|error| run::failure(error, refusals, sql, Some(0)))
        })
    }

    fn execute_many(&mut self, sql: &str, rows: &[Vec<Value>]) -> Result<u64, RowFailure> {
        match &mut self.hook {
            None => run::execute_many(&self.connection, sql, rows, &self.refusals, &mut Unchecked),
            Some(session) => run::execute_many(&self.connection, sql, rows, &self.refusals, session),
        }
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Rows, DbError> {
        self.checked(|connection, refusals, budget| {
            run::query(connection, sql, params, budget).map_err(|error| match error {
                QueryError::Sqlite(error) => run::failure(error, refusals, sql, Some(0)),
                QueryError::OverBudget(budget) => run::over_budget(budget),
            })
        })
    }

    fn execute_script(&mut self, sql: &str) -> Result<(), DbError> {
        match &mut self.hook {
            None => run::script(&self.connection, sql, &self.refusals, &mut Unchecked),
            Some(session) => run::script(&self.connection, sql, &self.refusals, session),
        }
    }

    fn begin_hook(&mut self, session: &HookSession) -> Result<(), DbError> {
        if self.hook.is_some() {
            return Err(DbError::host("a hook is already running on this connection"));
        }
        let interrupt = self.connection.get_interrupt_handle();
        self.hook = Some(Session::begin(&mut self.connection, interrupt, session, &self.refusals)?);
        Ok(())
    }

    fn end_hook(&mut self) -> Result<(), SessionBreach> {
        match self.hook.take() {
            Some(session) => session.end(&mut self.connection, &self.refusals),
            None => Ok(()),
        }
    }

    fn begin(&mut self) -> Result<(), DbError> {
        self.connection.execute_batch("BEGIN IMMEDIATE").map_err(db_error)
    }

    fn begin_read_only(&mut self) -> Result<(), DbError> {
        // A deferred transaction takes no write lock; `query_only` (session
        // setting, reset on rollback) makes SQLite refuse any write in it.
        self.connection.execute_batch("PRAGMA query_only = ON; BEGIN DEFERRED").map_err(db_error)
    }

    fn commit(&mut self) -> Result<(), DbError> {
        self.connection.execute_batch("COMMIT").map_err(db_error)
    }

    fn rollback(&mut self) -> Result<(), DbError> {
        let rolled_back = if self.connection.is_autocommit() {
            // SQLite already rolled back (some errors end the transaction).
            Ok(())
        } else {
            self.connection.execute_batch("ROLLBACK").map_err(db_error)
        };
        self.connection.execute_batch("PRAGMA query_only = OFF").map_err(db_error)?;
        rolled_back
    }

    fn lock_waiting(
        &mut self,
        _key: &str,
        _timeout: Duration,
        _: &mut dyn FnMut(Option<&str>),
    ) -> Result<Box<dyn LockGuard>, LockError> {
        Ok(Box::new(NoLock))
    }
}
