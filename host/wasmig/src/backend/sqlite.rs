//! The SQLite backend (rusqlite): the embedded default.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, ToSql};

use super::{Backend, HookSession, LockError, LockGuard, NoLock, SessionBreach};
use crate::sql::{DbError, Dialect, Rows, Value};

/// How many SQLite virtual-machine steps run between two deadline checks.
const PROGRESS_STEPS: i32 = 1_000;

/// A SQLite database file (or `:memory:`).
#[derive(Debug)]
pub struct SqliteBackend {
    connection: Connection,
    path: Option<PathBuf>,
}

impl SqliteBackend {
    /// Opens (or creates) a database file. `busy_timeout` is how long a step
    /// waits for another writer before it fails.
    pub fn open(path: &Path, busy_timeout: Duration) -> Result<Self, DbError> {
        let connection = Connection::open(path).map_err(db_error)?;
        // Session-local: wasmig never changes the file's persistent settings.
        connection.busy_timeout(busy_timeout).map_err(db_error)?;
        Ok(SqliteBackend { connection, path: Some(path.to_path_buf()) })
    }

    /// Opens a database file that must exist: for commands that only read,
    /// which must not leave an empty file behind.
    pub fn open_existing(path: &Path, busy_timeout: Duration) -> Result<Self, DbError> {
        use rusqlite::OpenFlags;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
        let connection = Connection::open_with_flags(path, flags).map_err(db_error)?;
        connection.busy_timeout(busy_timeout).map_err(db_error)?;
        Ok(SqliteBackend { connection, path: Some(path.to_path_buf()) })
    }

    pub fn open_in_memory() -> Result<Self, DbError> {
        let connection = Connection::open_in_memory().map_err(db_error)?;
        Ok(SqliteBackend { connection, path: None })
    }

    pub fn connection(&self) -> &Connection {
        &self.connection
    }
}

struct Param<'a>(&'a Value);

impl ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self.0 {
            Value::Null => ValueRef::Null,
            Value::Integer(number) => ValueRef::Integer(*number),
            Value::Real(number) => ValueRef::Real(*number),
            Value::Text(text) => ValueRef::Text(text.as_bytes()),
            Value::Blob(bytes) => ValueRef::Blob(bytes),
        }))
    }
}

fn column_value(value: ValueRef<'_>) -> Value {
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(number) => Value::Integer(number),
        ValueRef::Real(number) => Value::Real(number),
        ValueRef::Text(text) => Value::Text(String::from_utf8_lossy(text).into_owned()),
        ValueRef::Blob(bytes) => Value::Blob(bytes.to_vec()),
    }
}

impl Backend for SqliteBackend {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
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
        let mut statement = self.connection.prepare_cached(sql).map_err(db_error)?;
        let changed = statement.execute(rusqlite::params_from_iter(params.iter().map(Param))).map_err(db_error)?;
        Ok(changed as u64)
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Rows, DbError> {
        let mut statement = self.connection.prepare_cached(sql).map_err(db_error)?;
        let columns: Vec<String> = statement.column_names().map(str::to_owned).collect();
        let width = columns.len();
        let mut rows = statement.query(rusqlite::params_from_iter(params.iter().map(Param))).map_err(db_error)?;
        let mut values = Vec::new();
        while let Some(row) = rows.next().map_err(db_error)? {
            let mut record = Vec::with_capacity(width);
            for index in 0..width {
                record.push(column_value(row.get_ref(index).map_err(db_error)?));
            }
            values.push(record);
        }
        Ok(Rows { columns, values })
    }

    fn execute_script(&mut self, sql: &str) -> Result<(), DbError> {
        self.connection.execute_batch(sql).map_err(db_error)
    }

    fn begin_hook(&mut self, session: &HookSession) -> Result<(), DbError> {
        let deadline = session.deadline;
        self.connection.progress_handler(PROGRESS_STEPS, Some(move || Instant::now() >= deadline)).map_err(db_error)
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

    fn lock(&mut self, _key: &str, _timeout: Duration) -> Result<Box<dyn LockGuard>, LockError> {
        Ok(Box::new(NoLock))
    }

    fn end_hook(&mut self) -> Result<(), SessionBreach> {
        if let Err(error) = self.connection.progress_handler(PROGRESS_STEPS, None::<fn() -> bool>) {
            tracing::warn!("cannot remove the SQLite deadline handler: {error}");
        }
        Ok(())
    }
}

/// Turns a rusqlite error into the contract's error, with SQLite's code name.
pub(crate) fn db_error(error: rusqlite::Error) -> DbError {
    match &error {
        rusqlite::Error::SqliteFailure(failure, message) => DbError {
            code: Some(result_code_name(failure.extended_code)),
            message: message.clone().unwrap_or_else(|| failure.to_string()),
        },
        _ => DbError { code: None, message: error.to_string() },
    }
}

/// SQLite's own name for a result code, e.g. `SQLITE_CONSTRAINT_UNIQUE`.
fn result_code_name(extended: i32) -> String {
    use rusqlite::ffi;
    let name = match extended {
        ffi::SQLITE_CONSTRAINT_UNIQUE => "SQLITE_CONSTRAINT_UNIQUE",
        ffi::SQLITE_CONSTRAINT_PRIMARYKEY => "SQLITE_CONSTRAINT_PRIMARYKEY",
        ffi::SQLITE_CONSTRAINT_NOTNULL => "SQLITE_CONSTRAINT_NOTNULL",
        ffi::SQLITE_CONSTRAINT_FOREIGNKEY => "SQLITE_CONSTRAINT_FOREIGNKEY",
        ffi::SQLITE_CONSTRAINT_CHECK => "SQLITE_CONSTRAINT_CHECK",
        _ => match extended & 0xff {
            ffi::SQLITE_ERROR => "SQLITE_ERROR",
            ffi::SQLITE_INTERNAL => "SQLITE_INTERNAL",
            ffi::SQLITE_PERM => "SQLITE_PERM",
            ffi::SQLITE_ABORT => "SQLITE_ABORT",
            ffi::SQLITE_BUSY => "SQLITE_BUSY",
            ffi::SQLITE_LOCKED => "SQLITE_LOCKED",
            ffi::SQLITE_NOMEM => "SQLITE_NOMEM",
            ffi::SQLITE_READONLY => "SQLITE_READONLY",
            ffi::SQLITE_INTERRUPT => "SQLITE_INTERRUPT",
            ffi::SQLITE_IOERR => "SQLITE_IOERR",
            ffi::SQLITE_CORRUPT => "SQLITE_CORRUPT",
            ffi::SQLITE_FULL => "SQLITE_FULL",
            ffi::SQLITE_CANTOPEN => "SQLITE_CANTOPEN",
            ffi::SQLITE_SCHEMA => "SQLITE_SCHEMA",
            ffi::SQLITE_TOOBIG => "SQLITE_TOOBIG",
            ffi::SQLITE_CONSTRAINT => "SQLITE_CONSTRAINT",
            ffi::SQLITE_MISMATCH => "SQLITE_MISMATCH",
            ffi::SQLITE_MISUSE => "SQLITE_MISUSE",
            ffi::SQLITE_RANGE => "SQLITE_RANGE",
            ffi::SQLITE_NOTADB => "SQLITE_NOTADB",
            _ => return format!("SQLITE_{extended}"),
        },
    };
    name.to_owned()
}
