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
//! - Connections are made as libpq makes them (docs/DATABASE.md, "Connecting"):
//!   the URL, then the `PG*` environment and `~/.pgpass` for what it leaves
//!   out; TLS by rustls as `sslmode`/`sslrootcert`/`sslcert` say. The lock's
//!   connection and cancel requests use the same resolved [`target::Target`].
//! - The host owns the session: at connect it sets what it relies on
//!   (`standard_conforming_strings`, `client_encoding`, a writable default,
//!   the search path) and records the state; during a hook every statement
//!   travels with a read-back of what decides how the next one is read and
//!   who it runs as, and the rest is checked before anything commits (a
//!   revision's `DO` block can run `SET`): a change refuses the hook's
//!   further statements and fails the step; the session is then replaced.
//! - A hook's deadline holds whatever a revision sets: `statement_timeout`
//!   first, then a cancel request at the deadline, then ending the server
//!   process. A query result is decoded as it streams in, up to the hook's
//!   memory budget. With a role, statements run as it (`SET LOCAL ROLE`).
//! - Commits check that the migration lock taken through this backend is
//!   still held (one round trip on the lock's connection).
//!
//! Layout, each file using only those before it: `error`, `bind` and
//! `decode` (conversions), `environment` (the settings libpq would use),
//! `tls` (rustls as `sslmode` asks), `target` (hosts, attempts and TLS
//! fallbacks), `session` (opening one blocking connection), `state` (the
//! session state the host relies on), `pipeline` (requests sent together),
//! `connection` (the backend's statement cache, hook and transaction),
//! `lock` (the migration lock on a connection of its own).

mod bind;
mod blockers;
mod connection;
mod decode;
pub(super) mod environment;
mod error;
mod lock;
mod login;
pub(super) mod params;
mod pgpass;
mod pipeline;
mod position;
mod session;
mod settings;
mod settings_error;
mod ssl_settings;
mod state;
mod target;
mod tls;

use std::fmt;
use std::time::Duration;

use self::connection::Connection;
use self::lock::LockWatch;
pub use self::lock::{PostgresLock, advisory_lock_id};
use self::target::Target;
use super::hook::LoginEscape;
use super::{Backend, ConnectError, HookSession, LockError, LockGuard, SessionBreach};
use crate::sql::{DbError, Dialect, RowFailure, Rows, Value};

/// A connection to a PostgreSQL database, optionally confined to one schema.
pub struct PostgresBackend {
    connection: Connection,
    /// The resolved settings, password and TLS included: the lock opens a
    /// second connection with them. Never printed.
    config: Target,
    display: String,
    schema: Option<String>,
    /// The migration lock taken through this backend, checked at each commit while its guard lives.
    lock: Option<LockWatch>,
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
        let pinned = schema.map(str::to_owned);
        let (session, config, schema) = session::connect(conninfo, schema, &display)?;
        let connection = Connection::new(session, config.clone(), pinned)
            .map_err(|source| ConnectError::Open { database: display.clone(), source })?;
        Ok(PostgresBackend { connection, config, display, schema, lock: None })
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
        self.connection.execute(sql, params).map_err(|error| self.connection.name_blockers(error))
    }

    fn execute_many(&mut self, sql: &str, rows: &[Vec<Value>]) -> Result<u64, RowFailure> {
        self.connection
            .execute_many(sql, rows)
            .map_err(|failure| RowFailure { error: self.connection.name_blockers(failure.error), ..failure })
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Rows, DbError> {
        self.connection.query(sql, params).map_err(|error| self.connection.name_blockers(error))
    }

    fn execute_script(&mut self, sql: &str) -> Result<(), DbError> {
        self.connection.execute_script(sql).map_err(|error| self.connection.name_blockers(error))
    }

    fn begin_hook(&mut self, session: &HookSession) -> Result<(), DbError> {
        self.connection.begin_hook(
            session.deadline,
            session.lock_wait,
            session.max_result_bytes,
            session.role.as_deref(),
        )
    }

    fn lock_holder(&mut self, key: &str) -> Result<Option<String>, DbError> {
        let rows = self.connection.query(&lock::holder_sql(lock::advisory_lock_id(key)), &[])?;
        let Some(row) = rows.values.into_iter().next() else { return Ok(None) };
        let text = |index: usize| match row.get(index) {
            Some(Value::Text(text)) => text.clone(),
            _ => String::new(),
        };
        let pid = match row.first() {
            Some(Value::Integer(pid)) => *pid as i32,
            _ => 0,
        };
        Ok(Some(lock::describe_holder(pid, &text(1), &text(2), &text(3))))
    }

    fn invalid_indexes(&mut self) -> Result<Vec<String>, DbError> {
        let schema = Value::Text(self.schema.clone().unwrap_or_default());
        let rows = self.connection.query(
            "SELECT c.oid::pg_catalog.regclass::pg_catalog.text FROM pg_catalog.pg_index i \
             JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE NOT i.indisvalid AND n.nspname = $1 ORDER BY 1",
            &[schema],
        )?;
        Ok(rows
            .values
            .into_iter()
            .filter_map(|row| match row.into_iter().next() {
                Some(Value::Text(name)) => Some(name),
                _ => None,
            })
            .collect())
    }

    fn login_escape(&mut self, role: &str, creates_roles: bool) -> Result<Option<LoginEscape>, DbError> {
        let rows = self.connection.query(login::LOGIN_SQL, &[Value::Text(role.to_owned())])?;
        login::escape_from(&rows, role, creates_roles)
    }

    fn end_hook(&mut self) -> Result<(), SessionBreach> {
        self.connection.end_hook().map_err(|breach| {
            tracing::warn!(database = %self.display, "a revision changed the session: {breach}");
            SessionBreach(breach)
        })
    }

    fn begin(&mut self) -> Result<(), DbError> {
        self.connection.begin("BEGIN")
    }

    fn begin_read_only(&mut self) -> Result<(), DbError> {
        self.connection.begin("BEGIN READ ONLY")
    }

    fn commit(&mut self) -> Result<(), DbError> {
        // Nothing commits without the lock: a revision (or anyone) that ended
        // the lock's connection may have let another runner in.
        if let Some(lock) = &self.lock {
            if let Err(lost) = lock.check() {
                let message = lost.to_string();
                if let Err(error) = self.connection.rollback() {
                    tracing::warn!(database = %self.display, "rolling back after losing the lock failed: {error}");
                }
                return Err(DbError::host(format!("nothing was committed: {message}")));
            }
            if !lock.is_live() {
                self.lock = None;
            }
        }
        self.connection.commit()
    }

    fn rollback(&mut self) -> Result<(), DbError> {
        self.connection.rollback()
    }

    fn lock_waiting(
        &mut self,
        key: &str,
        timeout: Duration,
        waiting: &mut dyn FnMut(Option<&str>),
    ) -> Result<Box<dyn LockGuard>, LockError> {
        let lock = lock::acquire(&self.config, key, timeout, &self.display, waiting)?;
        self.lock = Some(lock.watch());
        Ok(Box::new(lock))
    }
}
