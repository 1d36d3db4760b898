//! A connection to the database being migrated, whatever its backend.

use std::time::Duration;

use crate::backend::{Backend, ConnectError, DatabaseUrl};

/// How long a SQLite step waits for another writer when the caller does
/// not say (the project's `lock_timeout_ms` default).
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(60);

/// An open database: SQLite (`sqlite:app.db`, `sqlite::memory:`) or
/// PostgreSQL (`postgres://user@host/db[?schema=name]`).
pub struct Database {
    backend: Box<dyn Backend>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Database").field(&self.backend.describe()).finish()
    }
}

impl Database {
    pub fn connect(url: &str) -> Result<Self, ConnectError> {
        Self::connect_with(url, DEFAULT_LOCK_TIMEOUT)
    }

    /// Connects; `lock_timeout` bounds how long SQLite waits for another writer.
    pub fn connect_with(url: &str, lock_timeout: Duration) -> Result<Self, ConnectError> {
        Ok(Database { backend: DatabaseUrl::parse(url)?.connect(lock_timeout)? })
    }

    /// Connects to a database that must already exist (no SQLite file is
    /// created): for commands that only read.
    pub fn connect_existing(url: &str, lock_timeout: Duration) -> Result<Self, ConnectError> {
        Ok(Database { backend: DatabaseUrl::parse(url)?.connect_existing(lock_timeout)? })
    }

    /// Wraps a backend opened some other way (a tenant schema, a test double).
    pub fn from_backend(backend: Box<dyn Backend>) -> Self {
        Database { backend }
    }

    /// Where the database is, without any password.
    pub fn describe(&self) -> String {
        self.backend.describe()
    }

    pub fn backend(&mut self) -> &mut Box<dyn Backend> {
        &mut self.backend
    }

    pub fn into_backend(self) -> Box<dyn Backend> {
        self.backend
    }
}
