//! A connection to the database being migrated, whatever its backend.

use std::path::PathBuf;
use std::time::Duration;

use crate::backend::{Backend, ConnectError, DatabaseUrl, LockError, LockGuard, Unavailable};
use crate::sql::{DbError, Dialect, Rows, Value};

/// How long a step waits for another writer or the migration lock when the
/// caller does not say: the default of a project's `[database] migration_lock_timeout_ms`.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(60);

/// An open database: SQLite (`sqlite:app.db`, `sqlite::memory:`) or
/// PostgreSQL (`postgres://user@host/db[?schema=name]`).
///
/// Open it with [`Migrator::connect`](crate::Migrator::connect), which uses
/// the project's settings; [`Database::connect`] is for a database used
/// without a project (the defaults a fresh project has).
pub struct Database {
    backend: Box<dyn Backend>,
    /// The SQLite file this connection created (it did not exist before):
    /// a run that fails before writing anything removes it again.
    created_file: Option<FreshFile>,
    /// A file removed that way is opened (and so created) again only when
    /// this `Database` is used again.
    reopen: Option<FreshFile>,
}

/// A SQLite file a connection created, and how to open it again.
#[derive(Debug, Clone)]
struct FreshFile {
    url: DatabaseUrl,
    path: PathBuf,
    lock_timeout: Duration,
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
    /// Connects with [`DEFAULT_LOCK_TIMEOUT`], the default of a project's `[database] migration_lock_timeout_ms`.
    pub fn connect(url: &str) -> Result<Self, ConnectError> {
        Self::connect_with(url, DEFAULT_LOCK_TIMEOUT)
    }

    /// Connects; `lock_timeout` bounds how long a run waits for another writer or the migration lock.
    pub fn connect_with(url: &str, lock_timeout: Duration) -> Result<Self, ConnectError> {
        let url = DatabaseUrl::parse(url)?;
        let created_file = match &url {
            DatabaseUrl::SqliteFile(path) if !path.exists() => {
                Some(FreshFile { url: url.clone(), path: path.clone(), lock_timeout })
            }
            _ => None,
        };
        Ok(Database { backend: url.connect(lock_timeout)?, created_file, reopen: None })
    }

    /// Connects to a database that must already exist (no SQLite file is
    /// created): for commands that only read.
    pub fn connect_existing(url: &str, lock_timeout: Duration) -> Result<Self, ConnectError> {
        let backend = DatabaseUrl::parse(url)?.connect_existing(lock_timeout)?;
        Ok(Database { backend, created_file: None, reopen: None })
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
        self.backend_mut().execute(sql, params)
    }

    /// Runs one query of the application's own and returns its rows.
    pub fn query(&mut self, sql: &str, params: &[Value]) -> Result<Rows, DbError> {
        self.backend_mut().query(sql, params)
    }

    /// Runs several statements of the application's own, without parameters.
    pub fn execute_script(&mut self, sql: &str) -> Result<(), DbError> {
        self.backend_mut().execute_script(sql)
    }

    /// Wraps a backend opened some other way (a test double, the offline script writer).
    #[doc(hidden)]
    pub fn from_backend(backend: Box<dyn Backend>) -> Self {
        Database { backend, created_file: None, reopen: None }
    }

    /// The backend itself, for wasmig's own tests of the backends and the runtime.
    #[doc(hidden)]
    pub fn into_backend(self) -> Box<dyn Backend> {
        self.backend
    }

    /// A box because a running hook borrows the backend whole: the runtime
    /// lends it to the wasmtime store for the call and takes it back after.
    pub(crate) fn backend_mut(&mut self) -> &mut Box<dyn Backend> {
        if let Some(fresh) = self.reopen.take() {
            self.backend = match fresh.url.connect(fresh.lock_timeout) {
                Ok(backend) => {
                    self.created_file = Some(fresh);
                    backend
                }
                Err(error) => Box::new(Unavailable::failed(self.backend.dialect(), self.backend.describe(), error)),
            };
        }
        &mut self.backend
    }

    /// After a run that failed before writing anything: removes the SQLite
    /// file this connection created, if it is still empty. The connection is
    /// closed; using this `Database` again opens (and creates) the file anew.
    pub(crate) fn remove_if_untouched(&mut self) {
        let Some(fresh) = self.created_file.take() else {
            return;
        };
        if std::fs::metadata(&fresh.path).is_ok_and(|meta| meta.len() == 0) && std::fs::remove_file(&fresh.path).is_ok()
        {
            let dialect = self.backend.dialect();
            self.backend = Box::new(Unavailable::removed(dialect, self.backend.describe()));
            self.reopen = Some(fresh);
        }
    }

    pub(crate) fn schema(&self) -> Option<&str> {
        self.backend.schema()
    }

    pub(crate) fn lock(
        &mut self,
        key: &str,
        timeout: Duration,
        waiting: &mut dyn FnMut(Option<&str>),
    ) -> Result<Box<dyn LockGuard>, LockError> {
        self.backend_mut().lock_waiting(key, timeout, waiting)
    }
}
