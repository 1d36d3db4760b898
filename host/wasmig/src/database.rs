//! A connection to the database being migrated, whatever its backend.

use std::time::Duration;

use crate::backend::{Backend, ConnectError, DatabaseUrl, LockError, LockGuard};
use crate::sql::{DbError, Dialect, Rows, Value};

/// How long a step waits for another writer or the migration lock when the
/// caller does not say: the default of a project's `lock_timeout_ms`.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(60);

/// An open database: SQLite (`sqlite:app.db`, `sqlite::memory:`) or
/// PostgreSQL (`postgres://user@host/db[?schema=name]`).
///
/// Open it with [`Migrator::connect`](crate::Migrator::connect), which uses
/// the project's settings; [`Database::connect`] is for a database used
/// without a project (the defaults a fresh project has).
pub struct Database {
    backend: Box<dyn Backend>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Database").field(&self.backend.describe()).finish()
    }
}

/// Where a database URL points, without any password: for an application's logs.
pub fn redacted_url(url: &str) -> String {
    DatabaseUrl::parse(url).map_or_else(|_| "(not a database URL)".to_owned(), |url| url.redacted())
}

impl Database {
    /// Connects with [`DEFAULT_LOCK_TIMEOUT`], the default of a project's `lock_timeout_ms`.
    pub fn connect(url: &str) -> Result<Self, ConnectError> {
        Self::connect_with(url, DEFAULT_LOCK_TIMEOUT)
    }

    /// Connects; `lock_timeout` bounds how long a run waits for another writer or the migration lock.
    pub fn connect_with(url: &str, lock_timeout: Duration) -> Result<Self, ConnectError> {
        Ok(Database { backend: DatabaseUrl::parse(url)?.connect(lock_timeout)? })
    }

    /// Connects to a database that must already exist (no SQLite file is
    /// created): for commands that only read.
    pub fn connect_existing(url: &str, lock_timeout: Duration) -> Result<Self, ConnectError> {
        Ok(Database { backend: DatabaseUrl::parse(url)?.connect_existing(lock_timeout)? })
    }

    /// Where the database is, without any password.
    pub fn describe(&self) -> String {
        self.backend.describe()
    }

    pub fn dialect(&self) -> Dialect {
        self.backend.dialect()
    }

    /// Runs one statement of the application's own (outside any migration); returns the rows affected.
    pub fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        self.backend.execute(sql, params)
    }

    /// Runs one query of the application's own and returns its rows.
    pub fn query(&mut self, sql: &str, params: &[Value]) -> Result<Rows, DbError> {
        self.backend.query(sql, params)
    }

    /// Runs several statements of the application's own, without parameters.
    pub fn execute_script(&mut self, sql: &str) -> Result<(), DbError> {
        self.backend.execute_script(sql)
    }

    /// Wraps a backend opened some other way (a test double, the offline script writer).
    #[doc(hidden)]
    pub fn from_backend(backend: Box<dyn Backend>) -> Self {
        Database { backend }
    }

    /// The backend itself, for wasmig's own tests of the backends and the runtime.
    #[doc(hidden)]
    pub fn into_backend(self) -> Box<dyn Backend> {
        self.backend
    }

    /// A box because a running hook borrows the backend whole: the runtime
    /// lends it to the wasmtime store for the call and takes it back after.
    pub(crate) fn backend_mut(&mut self) -> &mut Box<dyn Backend> {
        &mut self.backend
    }

    pub(crate) fn schema(&self) -> Option<&str> {
        self.backend.schema()
    }

    pub(crate) fn lock(&mut self, key: &str, timeout: Duration) -> Result<Box<dyn LockGuard>, LockError> {
        self.backend.lock(key, timeout)
    }
}
