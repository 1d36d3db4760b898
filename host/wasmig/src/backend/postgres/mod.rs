//! The PostgreSQL backend (tokio-postgres): connections, value conversion, statement caching, hook deadlines and the advisory migration lock.
//!
//! Decisions:
//! - The host is synchronous (one OS thread per concurrent migration), so a
//!   backend owns a tokio current-thread runtime and drives its connection
//!   with `block_on`, as the `postgres` crate does. That panics on a thread
//!   that is driving async tasks, so [`PostgresBackend::connect`] refuses
//!   with [`ConnectError::InsideAsyncRuntime`] there (and every call returns
//!   an error instead of panicking); `spawn_blocking` threads are fine.
//! - Parameters adapt to the type the server declared for each placeholder
//!   (`bind::Binding`): integers to int2/int4/int8/oid/bool(0 or 1)/float/numeric,
//!   reals to float4/float8/numeric, blobs to bytea, and text to *any* type
//!   in the text format, so the server parses `'2024-01-31'` into a `date`.
//!   A mismatch is refused before the statement runs, with the SQLSTATE the
//!   server itself uses for it (42804 wrong type, 22003 out of range).
//! - Results: bool, int2/4/8 and oid are integers; float4/8 reals; bytea a
//!   blob; text-like types, json/jsonb, enums and `"char"` text; numeric,
//!   date, time, timestamp, timestamptz (in UTC) and uuid are rendered as
//!   the text PostgreSQL prints for them. Other types are refused before
//!   the query runs, naming the column and suggesting a `::text` cast.
//! - [`Backend::schema`] is the `?schema=` given, else the server's
//!   `current_schema()` at connect: where unqualified names are created.
//! - The migration lock is a session advisory lock on a second connection,
//!   keyed by the first 8 bytes of SHA-256("wasmig.lock.v1\0" + key). The
//!   server scopes advisory locks to the database; the executor's key
//!   carries the schema and the table prefix.
//! - TLS is not configured: connections use `NoTls` (`sslmode=require` fails).
//!
//! Layout, each file using only those before it: `error`, `bind` and
//! `decode` (conversions), `session` (opening one blocking connection),
//! `connection` (the backend's statement cache, hook deadline and
//! transaction), `lock` (the migration lock on a connection of its own).

mod bind;
mod connection;
mod decode;
mod error;
mod lock;
mod session;

use std::fmt;
use std::time::Duration;

use tokio_postgres::Config;

use self::connection::Connection;
pub use self::lock::{PostgresLock, advisory_lock_id};
use super::{Backend, ConnectError, HookSession, LockError, LockGuard, SessionBreach};
use crate::sql::{DbError, Dialect, Rows, Value};

/// A connection to a PostgreSQL database, optionally confined to one schema.
pub struct PostgresBackend {
    connection: Connection,
    /// The URL as given, password included: the lock opens a second
    /// connection with it. Never printed.
    config: Config,
    display: String,
    schema: Option<String>,
}

impl fmt::Debug for PostgresBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresBackend")
            .field("database", &self.display)
            .field("schema", &self.schema)
            .field("cached_statements", &self.connection.cached_statements())
            .field("in_transaction", &self.connection.in_transaction())
            .finish_non_exhaustive()
    }
}

impl PostgresBackend {
    /// Connects with a libpq-style URL or key=value string. With `schema`,
    /// the schema must exist and becomes the session's `search_path`.
    /// `display` names the database in messages and must hold no password.
    pub fn connect(conninfo: &str, schema: Option<&str>, display: String) -> Result<Self, ConnectError> {
        let (session, config, schema) = session::connect(conninfo, schema, &display)?;
        Ok(PostgresBackend { connection: Connection::new(session), config, display, schema })
    }
}

impl Backend for PostgresBackend {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn describe(&self) -> String {
        self.display.clone()
    }

    fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        self.connection.execute(sql, params)
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Rows, DbError> {
        self.connection.query(sql, params)
    }

    fn execute_script(&mut self, sql: &str) -> Result<(), DbError> {
        self.connection.execute_script(sql)
    }

    fn begin_hook(&mut self, session: &HookSession) -> Result<(), DbError> {
        self.connection.begin_hook(session.deadline);
        Ok(())
    }

    fn end_hook(&mut self) -> Result<(), SessionBreach> {
        if let Err(error) = self.connection.end_hook() {
            tracing::debug!(database = %self.display, "cannot reset the hook's statement_timeout: {error}");
        }
        Ok(())
    }

    fn begin(&mut self) -> Result<(), DbError> {
        self.connection.begin("BEGIN")
    }

    fn begin_read_only(&mut self) -> Result<(), DbError> {
        self.connection.begin("BEGIN READ ONLY")
    }

    fn commit(&mut self) -> Result<(), DbError> {
        self.connection.commit()
    }

    fn rollback(&mut self) -> Result<(), DbError> {
        self.connection.rollback()
    }

    fn lock(&mut self, key: &str, timeout: Duration) -> Result<Box<dyn LockGuard>, LockError> {
        Ok(Box::new(lock::acquire(&self.config, key, timeout, &self.display)?))
    }
}
