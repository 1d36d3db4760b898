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
//!   ([`Binding`]): integers to int2/int4/int8/oid/bool(0 or 1)/float/numeric,
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

use std::borrow::Cow;
use std::collections::HashMap;
use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::hash::{BuildHasher, Hash, Hasher};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use sha2::{Digest, Sha256};
use tokio::runtime::Runtime;
use tokio::task::JoinHandle;
use tokio_postgres::types::{Format, IsNull, Kind, ToSql, Type};
use tokio_postgres::{Client, Config, NoTls, Statement};

use super::{Backend, ConnectError, LockError, LockGuard};
use crate::sql::{DbError, Dialect, Rows, Value};

/// How long a connection attempt may take when the URL sets no `connect_timeout`.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long closing a connection waits for the server to take the goodbye.
const CLOSE_WAIT: Duration = Duration::from_secs(1);

/// The pause between two attempts at the advisory lock, plus up to
/// [`LOCK_POLL_JITTER`] so that waiting runners do not poll in step.
const LOCK_POLL_INTERVAL: Duration = Duration::from_millis(50);
const LOCK_POLL_JITTER: Duration = Duration::from_millis(50);

/// A hook's `statement_timeout` is set again before a statement when the one
/// in force would let that statement run past the deadline by more than this.
const DEADLINE_SLACK: Duration = Duration::from_millis(100);

/// Prepared statements kept per connection; past this the cache starts over,
/// so a guest that builds unique SQL strings cannot grow it without bound.
const STATEMENT_CACHE_LIMIT: usize = 512;

/// Namespaces wasmig's advisory-lock ids away from other users of
/// `pg_advisory_lock` on the same database.
const LOCK_NAMESPACE: &[u8] = b"wasmig.lock.v1\0";

const SPAWN_BLOCKING_ADVICE: &str = "wasmig's PostgreSQL backend blocks its thread while it waits for the server, \
     which a thread driving async tasks must not do: call wasmig through `tokio::task::spawn_blocking` or from a plain thread";

/// A connection to a PostgreSQL database, optionally confined to one schema.
pub struct PostgresBackend {
    session: Session,
    /// The URL as given, password included: the lock opens a second
    /// connection with it. Never printed.
    config: Config,
    display: String,
    schema: Option<String>,
    statements: HashMap<String, Statement>,
    /// A transaction opened by [`Backend::begin`] is open.
    in_transaction: bool,
    /// The first statement that failed inside that transaction: PostgreSQL
    /// has aborted it (checked at commit). Kept to explain the "current
    /// transaction is aborted" errors of every later statement.
    first_failure: Option<String>,
    hook: Option<HookBudget>,
}

impl fmt::Debug for PostgresBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresBackend")
            .field("database", &self.display)
            .field("schema", &self.schema)
            .field("cached_statements", &self.statements.len())
            .field("in_transaction", &self.in_transaction)
            .finish_non_exhaustive()
    }
}

/// The deadline of the running hook and the `statement_timeout` that bounds it.
#[derive(Debug, Clone, Copy)]
struct HookBudget {
    deadline: Instant,
    scope: TimeoutScope,
    /// When the timeout in force was set, and to what: a statement started
    /// at `t` may run until `t + timeout`.
    timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TimeoutScope {
    /// `SET LOCAL`: ends with the transaction [`Backend::begin`] opened.
    Transaction,
    /// A session `SET` (autocommit hooks), reset by [`Backend::end_hook`].
    /// Inside a transaction opened by other means a rollback undoes it too.
    Session,
}

impl PostgresBackend {
    /// Connects with a libpq-style URL or key=value string. With `schema`,
    /// the schema must exist and becomes the session's `search_path`.
    /// `display` names the database in messages and must hold no password.
    pub fn connect(conninfo: &str, schema: Option<&str>, display: String) -> Result<Self, ConnectError> {
        let open_error = |source: DbError| ConnectError::Open { database: display.clone(), source };
        let mut config: Config = conninfo.parse().map_err(|error: tokio_postgres::Error| ConnectError::BadUrl {
            url: display.clone(),
            reason: error.to_string(),
        })?;
        if config.get_application_name().is_none() {
            config.application_name("wasmig");
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(DEFAULT_CONNECT_TIMEOUT);
        }
        let session = Session::open(&config).map_err(|error| match error {
            OpenError::InsideAsyncRuntime => ConnectError::InsideAsyncRuntime { database: display.clone() },
            OpenError::Db(source) => open_error(source),
        })?;
        // The transaction guard reads `'...\'...'` the way PostgreSQL does
        // with this setting on (the default since 9.1); make sure it is, for
        // this session only.
        session
            .block_on(session.client().batch_execute("SET standard_conforming_strings = on"))
            .map_err(db_error)
            .map_err(open_error)?;

        let schema = match schema {
            Some(schema) => {
                let exists = session
                    .block_on(
                        session
                            .client()
                            .query_one("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", &[&schema]),
                    )
                    .map_err(db_error)
                    .map_err(open_error)?
                    .get::<_, bool>(0);
                if !exists {
                    return Err(ConnectError::MissingSchema { schema: schema.to_owned(), database: display });
                }
                // Session-local: the role's and the database's settings are left alone.
                session
                    .block_on(
                        session.client().batch_execute(&format!("SET search_path TO {}", quote_identifier(schema))),
                    )
                    .map_err(db_error)
                    .map_err(open_error)?;
                Some(schema.to_owned())
            }
            None => session
                .block_on(session.client().query_one("SELECT current_schema()::text", &[]))
                .map_err(db_error)
                .map_err(open_error)?
                .get::<_, Option<String>>(0),
        };

        Ok(PostgresBackend {
            session,
            config,
            display,
            schema,
            statements: HashMap::new(),
            in_transaction: false,
            first_failure: None,
            hook: None,
        })
    }

    /// Runs a future on this connection's runtime, or says why it cannot.
    fn run<T>(&self, future: impl Future<Output = Result<T, tokio_postgres::Error>>) -> Result<T, DbError> {
        if !self.session.can_block() {
            return Err(DbError::host(SPAWN_BLOCKING_ADVICE));
        }
        self.session.block_on(future).map_err(db_error)
    }

    /// Notes a failure inside the transaction [`Backend::begin`] opened, and
    /// names it in the errors it causes later: a revision that caught a
    /// database error and carried on otherwise fails at its bookkeeping with
    /// a message that names neither the statement nor the cause.
    fn track<T>(&mut self, result: Result<T, DbError>) -> Result<T, DbError> {
        match result {
            Err(mut error) if self.in_transaction => {
                match &self.first_failure {
                    Some(first) if error.code.as_deref() == Some(IN_FAILED_TRANSACTION) => {
                        error.message.push_str(&aborted_by(first));
                    }
                    Some(_) => {}
                    None => self.first_failure = Some(error.to_string()),
                }
                Err(error)
            }
            other => other,
        }
    }

    /// The prepared statement for `sql`, prepared once per connection.
    fn statement(&mut self, sql: &str) -> Result<Statement, DbError> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.run(self.session.client().prepare(sql))?;
        if self.statements.len() >= STATEMENT_CACHE_LIMIT {
            self.statements.clear();
        }
        self.statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }

    /// Prepares `sql` and adapts `params` to the types of its placeholders.
    fn prepare_call<'v>(&mut self, sql: &str, params: &'v [Value]) -> Result<(Statement, Vec<Binding<'v>>), DbError> {
        self.refresh_statement_timeout()?;
        let statement = self.statement(sql)?;
        let declared = statement.params();
        if declared.len() != params.len() {
            return Err(DbError {
                code: Some("08P01".to_owned()),
                message: format!(
                    "the statement has {} placeholder(s) but {} parameter(s) were given",
                    declared.len(),
                    params.len()
                ),
            });
        }
        let bindings = params
            .iter()
            .zip(declared)
            .enumerate()
            .map(|(index, (value, ty))| Binding::new(value, ty, index + 1))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((statement, bindings))
    }

    /// After a statement that may have changed the schema (DDL, a script, a
    /// rollback), forgets the prepared statements: PostgreSQL refuses to run
    /// a prepared statement whose result columns changed ("cached plan must
    /// not change result type").
    fn forget_statements_after(&mut self, sql: &str) {
        if !is_plain_dml(sql) {
            self.forget_row_statements();
        }
    }

    /// Forgets the prepared statements that return rows: only their result
    /// type can go stale. Those without result columns (the bookkeeping
    /// INSERTs among them) stay prepared; PostgreSQL re-plans them itself.
    fn forget_row_statements(&mut self) {
        self.statements.retain(|_, statement| statement.columns().is_empty());
    }

    /// The `SET` that shortens the hook's `statement_timeout` when the one in
    /// force would let the next statement run past the deadline; `None` when
    /// the one in force is short enough. Records the new value as in force.
    fn statement_timeout_update(&mut self) -> Option<String> {
        let budget = self.hook.as_mut()?;
        let remaining = budget.deadline.saturating_duration_since(Instant::now());
        if budget.timeout <= remaining + DEADLINE_SLACK {
            return None;
        }
        // 0 would mean "no limit": a statement started at the deadline gets 1 ms.
        let milliseconds = remaining.as_millis().max(1);
        budget.timeout = Duration::from_millis(milliseconds as u64);
        Some(match budget.scope {
            TimeoutScope::Transaction => format!("SET LOCAL statement_timeout = {milliseconds}"),
            TimeoutScope::Session => format!("SET statement_timeout = {milliseconds}"),
        })
    }

    /// Shortens the hook's `statement_timeout` when the one in force would
    /// let the next statement run past the deadline.
    fn refresh_statement_timeout(&mut self) -> Result<(), DbError> {
        let Some(update) = self.statement_timeout_update() else {
            return Ok(());
        };
        let result = self.run(self.session.client().batch_execute(&update));
        self.track(result)
    }

    fn lock_error(&self, key: &str, source: DbError) -> LockError {
        LockError::Db { key: key.to_owned(), database: self.display.clone(), source }
    }

    /// Who holds the advisory lock `lock_id`, for the timeout message.
    fn lock_holder(session: &Session, lock_id: i64) -> Option<String> {
        let (class_id, object_id) = advisory_lock_parts(lock_id);
        // Integers wasmig computed itself: safe to inline.
        let sql = format!(
            "SELECT a.pid, coalesce(a.application_name, ''), coalesce(a.backend_start::text, ''), coalesce(host(a.client_addr), 'local') \
             FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
             WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 \
               AND l.classid = {class_id}::oid AND l.objid = {object_id}::oid \
               AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
             LIMIT 1"
        );
        let row = session.block_on(session.client().query_opt(&sql, &[])).ok()??;
        let pid: i32 = row.get(0);
        let application: String = row.get(1);
        let since: String = row.get(2);
        let client: String = row.get(3);
        let application = if application.is_empty() {
            "no application_name".to_owned()
        } else {
            format!("application `{application}`")
        };
        Some(format!("held by server process {pid}, {application}, client {client}, connected since {since}"))
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
        let result = self.prepare_call(sql, params).and_then(|(statement, bindings)| {
            let refs: Vec<&(dyn ToSql + Sync)> =
                bindings.iter().map(|binding| binding as &(dyn ToSql + Sync)).collect();
            self.run(self.session.client().execute(&statement, &refs))
        });
        self.forget_statements_after(sql);
        self.track(result)
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Rows, DbError> {
        let result = self.prepare_call(sql, params).and_then(|(statement, bindings)| {
            let columns = statement.columns();
            // Refused before it runs: a query with side effects
            // (`INSERT ... RETURNING`) must not half happen.
            for column in columns {
                check_column_type(column.name(), column.type_())?;
            }
            let refs: Vec<&(dyn ToSql + Sync)> =
                bindings.iter().map(|binding| binding as &(dyn ToSql + Sync)).collect();
            let rows = self.run(self.session.client().query(&statement, &refs))?;
            let mut values = Vec::with_capacity(rows.len());
            for row in &rows {
                let mut record = Vec::with_capacity(columns.len());
                for (index, column) in columns.iter().enumerate() {
                    let cell: Cell = row.try_get(index).map_err(|error| DbError {
                        code: Some(DbError::HOST_CODE.to_owned()),
                        message: format!("cannot read column `{}`: {}", column.name(), error_chain(&error)),
                    })?;
                    record.push(cell.0);
                }
                values.push(record);
            }
            Ok(Rows { columns: columns.iter().map(|column| column.name().to_owned()).collect(), values })
        });
        self.forget_statements_after(sql);
        self.track(result)
    }

    fn execute_script(&mut self, sql: &str) -> Result<(), DbError> {
        // The timeout travels in the same round trip as the script.
        let batch = match self.statement_timeout_update() {
            Some(update) => format!("{update};\n{sql}"),
            None => sql.to_owned(),
        };
        let result = self.run(self.session.client().batch_execute(&batch));
        self.forget_row_statements();
        self.track(result)
    }

    fn begin_hook(&mut self, deadline: Instant) -> Result<(), DbError> {
        // The limit is sent with the hook's first statement (see
        // `statement_timeout_update`): a hook that runs none costs no round trip.
        let scope = if self.in_transaction { TimeoutScope::Transaction } else { TimeoutScope::Session };
        self.hook = Some(HookBudget { deadline, scope, timeout: Duration::MAX });
        Ok(())
    }

    fn end_hook(&mut self) {
        let Some(budget) = self.hook.take() else {
            return;
        };
        if budget.timeout == Duration::MAX {
            return;
        }
        // In a transaction the hook's `SET LOCAL` ends with it; the executor's
        // own few statements before COMMIT run under the remaining budget.
        // In autocommit the session setting must go.
        if budget.scope == TimeoutScope::Session
            && let Err(error) = self.run(self.session.client().batch_execute("RESET statement_timeout"))
        {
            tracing::debug!(database = %self.display, "cannot reset the hook's statement_timeout: {error}");
        }
    }

    fn begin(&mut self) -> Result<(), DbError> {
        self.run(self.session.client().batch_execute("BEGIN"))?;
        self.in_transaction = true;
        self.first_failure = None;
        Ok(())
    }

    fn begin_read_only(&mut self) -> Result<(), DbError> {
        self.run(self.session.client().batch_execute("BEGIN READ ONLY"))?;
        self.in_transaction = true;
        self.first_failure = None;
        Ok(())
    }

    fn commit(&mut self) -> Result<(), DbError> {
        // PostgreSQL answers COMMIT of an aborted transaction with a silent
        // ROLLBACK: check, so that a lost step is never reported as committed.
        let aborted = self.in_transaction
            && self.first_failure.is_some()
            && self.run(self.session.client().batch_execute("SELECT 1")).is_err();
        if aborted {
            let first = self.first_failure.clone().unwrap_or_default();
            let rolled_back = self.rollback();
            return Err(DbError {
                code: Some(IN_FAILED_TRANSACTION.to_owned()),
                message: format!(
                    "nothing was committed{}{}",
                    aborted_by(&first),
                    match rolled_back {
                        Ok(()) => " (it has been rolled back)".to_owned(),
                        Err(rollback) => format!("; rolling it back failed too: {rollback}"),
                    }
                ),
            });
        }
        let result = self.run(self.session.client().batch_execute("COMMIT"));
        self.in_transaction = false;
        self.first_failure = None;
        result
    }

    fn rollback(&mut self) -> Result<(), DbError> {
        // Sent even when `begin` opened nothing: a transaction opened by a
        // script must end too, and without one PostgreSQL only warns.
        let result = self.run(self.session.client().batch_execute("ROLLBACK"));
        self.in_transaction = false;
        self.first_failure = None;
        // Rolled-back DDL may have changed what cached statements return.
        self.forget_row_statements();
        result
    }

    fn lock(&mut self, key: &str, timeout: Duration) -> Result<Box<dyn LockGuard>, LockError> {
        let lock_id = advisory_lock_id(key);
        let session = Session::open(&self.config).map_err(|error| match error {
            OpenError::InsideAsyncRuntime => self.lock_error(key, DbError::host(SPAWN_BLOCKING_ADVICE)),
            OpenError::Db(source) => self.lock_error(key, source),
        })?;
        let started = Instant::now();
        let deadline = started + timeout;
        let attempt = session
            .block_on(session.client().prepare("SELECT pg_try_advisory_lock($1)"))
            .map_err(|error| self.lock_error(key, db_error(error)))?;
        loop {
            let taken: bool = session
                .block_on(session.client().query_one(&attempt, &[&lock_id]))
                .map_err(|error| self.lock_error(key, db_error(error)))?
                .get(0);
            if taken {
                return Ok(Box::new(PostgresLock {
                    session,
                    lock_id,
                    key: key.to_owned(),
                    database: self.display.clone(),
                }));
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(LockError::Timeout {
                    key: key.to_owned(),
                    database: self.display.clone(),
                    waited: now - started,
                    holder: Self::lock_holder(&session, lock_id),
                });
            }
            let pause = (LOCK_POLL_INTERVAL + jitter(LOCK_POLL_JITTER)).min(deadline - now);
            std::thread::sleep(pause);
        }
    }
}

/// The migration lock: a session advisory lock held by its own connection.
/// Dropping it unlocks and closes that connection; if the process dies the
/// server releases the lock with the connection.
pub struct PostgresLock {
    session: Session,
    lock_id: i64,
    key: String,
    database: String,
}

impl fmt::Debug for PostgresLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresLock")
            .field("key", &self.key)
            .field("database", &self.database)
            .field("lock_id", &self.lock_id)
            .finish_non_exhaustive()
    }
}

impl LockGuard for PostgresLock {}

impl Drop for PostgresLock {
    fn drop(&mut self) {
        if !self.session.can_block() {
            // Closing the connection (Session's drop) releases it all the same.
            return;
        }
        let unlocked =
            self.session.block_on(self.session.client().query_one("SELECT pg_advisory_unlock($1)", &[&self.lock_id]));
        match unlocked {
            Ok(row) if row.get::<_, bool>(0) => {}
            Ok(_) => {
                tracing::warn!(key = %self.key, database = %self.database, "the migration lock was not held at release")
            }
            Err(error) => {
                tracing::warn!(key = %self.key, database = %self.database, "cannot release the migration lock, closing its connection instead: {error}");
            }
        }
    }
}

/// One connection and the runtime that drives it.
struct Session {
    /// `Option` only so that `Drop` can take them by value.
    runtime: Option<Runtime>,
    client: Option<Client>,
    connection: Option<JoinHandle<()>>,
}

enum OpenError {
    InsideAsyncRuntime,
    Db(DbError),
}

impl Session {
    fn open(config: &Config) -> Result<Self, OpenError> {
        let runtime =
            tokio::runtime::Builder::new_current_thread().enable_io().enable_time().build().map_err(|error| {
                OpenError::Db(DbError { code: None, message: format!("cannot start the I/O runtime: {error}") })
            })?;
        if !blocking_allowed(&runtime) {
            runtime.shutdown_background();
            return Err(OpenError::InsideAsyncRuntime);
        }
        let (client, connection) =
            runtime.block_on(config.connect(NoTls)).map_err(|error| OpenError::Db(db_error(error)))?;
        // The connection makes progress whenever this runtime's `block_on` runs.
        let connection = runtime.spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!("PostgreSQL connection ended: {error}");
            }
        });
        Ok(Session { runtime: Some(runtime), client: Some(client), connection: Some(connection) })
    }

    fn client(&self) -> &Client {
        self.client.as_ref().expect("the client lives until the session drops")
    }

    fn runtime(&self) -> &Runtime {
        self.runtime.as_ref().expect("the runtime lives until the session drops")
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime().block_on(future)
    }

    fn can_block(&self) -> bool {
        blocking_allowed(self.runtime())
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // Without its client the connection task says goodbye and ends.
        drop(self.client.take());
        let (Some(runtime), Some(connection)) = (self.runtime.take(), self.connection.take()) else {
            return;
        };
        if !std::thread::panicking() && blocking_allowed(&runtime) {
            let _closed = runtime.block_on(async { tokio::time::timeout(CLOSE_WAIT, connection).await });
        }
        // Never blocks, so dropping a session cannot panic in async code;
        // the socket closes with the dropped task.
        runtime.shutdown_background();
    }
}

/// Whether this thread may block on `runtime`. A thread driving async tasks
/// may not; a `spawn_blocking` thread is inside a runtime's context too but
/// may. tokio offers no query for the difference, so inside a runtime's
/// context this tries an empty `block_on`, which panics exactly where a real
/// one would (the panic message is printed, then caught).
fn blocking_allowed(runtime: &Runtime) -> bool {
    if tokio::runtime::Handle::try_current().is_err() {
        return true;
    }
    if std::thread::panicking() {
        // A second panic while unwinding would abort the process.
        return false;
    }
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| runtime.block_on(async {}))).is_ok()
}

/// A parameter adapted to the type the server declared for its placeholder.
#[derive(Debug)]
enum Binding<'v> {
    Null,
    Bool(bool),
    Int2(i16),
    Int4(i32),
    Int8(i64),
    Oid(u32),
    Float4(f32),
    Float8(f64),
    Bytes(&'v [u8]),
    /// Sent in the text format: the server parses it with the type's input function.
    Text(Cow<'v, str>),
}

impl<'v> Binding<'v> {
    /// `number` is the placeholder's `$n`, for messages.
    fn new(value: &'v Value, declared: &Type, number: usize) -> Result<Self, DbError> {
        let ty = base_type(declared);
        let mismatch = |kind: &str, cast: &str| DbError {
            code: Some("42804".to_owned()),
            message: format!(
                "parameter ${number} is `{}` in this statement and {kind} cannot be bound to it: \
                 pass a value of the matching kind or cast the placeholder (`${number}::{cast}`)",
                declared.name()
            ),
        };
        let out_of_range = |number_value: &dyn fmt::Display| DbError {
            code: Some("22003".to_owned()),
            message: format!("parameter ${number}: {number_value} is out of range for type `{}`", declared.name()),
        };
        Ok(match value {
            Value::Null => Binding::Null,
            Value::Integer(integer) => match *ty {
                Type::INT2 => Binding::Int2(i16::try_from(*integer).map_err(|_| out_of_range(integer))?),
                Type::INT4 => Binding::Int4(i32::try_from(*integer).map_err(|_| out_of_range(integer))?),
                Type::INT8 => Binding::Int8(*integer),
                Type::OID => Binding::Oid(u32::try_from(*integer).map_err(|_| out_of_range(integer))?),
                Type::BOOL => match integer {
                    0 => Binding::Bool(false),
                    1 => Binding::Bool(true),
                    _ => return Err(out_of_range(integer)),
                },
                Type::FLOAT4 => Binding::Float4(*integer as f32),
                Type::FLOAT8 => Binding::Float8(*integer as f64),
                Type::NUMERIC => Binding::Text(Cow::Owned(integer.to_string())),
                _ => return Err(mismatch("an integer", "bigint")),
            },
            Value::Real(real) => match *ty {
                Type::FLOAT4 => Binding::Float4(*real as f32),
                Type::FLOAT8 => Binding::Float8(*real),
                Type::NUMERIC => Binding::Text(Cow::Owned(numeric_text(*real))),
                _ => return Err(mismatch("a real number", "float8")),
            },
            Value::Blob(bytes) => match *ty {
                Type::BYTEA => Binding::Bytes(bytes),
                _ => return Err(mismatch("a blob", "bytea")),
            },
            Value::Text(text) => Binding::Text(Cow::Borrowed(text)),
        })
    }
}

impl ToSql for Binding<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        // The binding was made for this very type (`Binding::new`).
        match self {
            Binding::Null => Ok(IsNull::Yes),
            Binding::Bool(value) => value.to_sql(ty, out),
            Binding::Int2(value) => value.to_sql(ty, out),
            Binding::Int4(value) => value.to_sql(ty, out),
            Binding::Int8(value) => value.to_sql(ty, out),
            Binding::Oid(value) => value.to_sql(ty, out),
            Binding::Float4(value) => value.to_sql(ty, out),
            Binding::Float8(value) => value.to_sql(ty, out),
            Binding::Bytes(value) => value.to_sql(ty, out),
            Binding::Text(text) => {
                out.extend_from_slice(text.as_bytes());
                Ok(IsNull::No)
            }
        }
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }

    fn encode_format(&self, _ty: &Type) -> Format {
        match self {
            Binding::Text(_) => Format::Text,
            _ => Format::Binary,
        }
    }

    tokio_postgres::types::to_sql_checked!();
}

/// How numeric's input function spells a float.
fn numeric_text(real: f64) -> String {
    if real.is_nan() {
        "NaN".to_owned()
    } else if real.is_infinite() {
        if real > 0.0 { "Infinity" } else { "-Infinity" }.to_owned()
    } else {
        real.to_string()
    }
}

/// A domain's base type; other types as they are.
fn base_type(ty: &Type) -> &Type {
    match ty.kind() {
        Kind::Domain(base) => base_type(base),
        _ => ty,
    }
}

/// How a result column of type `ty` reaches the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ColumnKind {
    Bool,
    Int2,
    Int4,
    Int8,
    Oid,
    Float4,
    Float8,
    Bytes,
    /// Binary format is the UTF-8 text itself.
    Text,
    /// A version byte, then the JSON text.
    Jsonb,
    /// PostgreSQL's one-byte `"char"` (catalog columns such as `relkind`).
    Char,
    Numeric,
    Date,
    Time,
    Timestamp,
    TimestampTz,
    Uuid,
}

fn column_kind(ty: &Type) -> Option<ColumnKind> {
    let ty = base_type(ty);
    Some(match *ty {
        Type::BOOL => ColumnKind::Bool,
        Type::INT2 => ColumnKind::Int2,
        Type::INT4 => ColumnKind::Int4,
        Type::INT8 => ColumnKind::Int8,
        Type::OID => ColumnKind::Oid,
        Type::FLOAT4 => ColumnKind::Float4,
        Type::FLOAT8 => ColumnKind::Float8,
        Type::BYTEA => ColumnKind::Bytes,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN | Type::JSON => ColumnKind::Text,
        Type::JSONB => ColumnKind::Jsonb,
        Type::CHAR => ColumnKind::Char,
        Type::NUMERIC => ColumnKind::Numeric,
        Type::DATE => ColumnKind::Date,
        Type::TIME => ColumnKind::Time,
        Type::TIMESTAMP => ColumnKind::Timestamp,
        Type::TIMESTAMPTZ => ColumnKind::TimestampTz,
        Type::UUID => ColumnKind::Uuid,
        _ if matches!(ty.kind(), Kind::Enum(_)) || ty.name() == "citext" => ColumnKind::Text,
        _ => return None,
    })
}

fn check_column_type(name: &str, ty: &Type) -> Result<(), DbError> {
    match column_kind(ty) {
        Some(_) => Ok(()),
        None => Err(DbError::host(format!(
            "column `{name}` has type `{}`, which wasmig does not pass to revisions as a value: \
             cast it in the query, e.g. `{name}::text`",
            ty.name()
        ))),
    }
}

/// One result value, read from the binary format.
struct Cell(Value);

type DecodeError = Box<dyn StdError + Sync + Send>;

impl<'a> tokio_postgres::types::FromSql<'a> for Cell {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, DecodeError> {
        let kind = column_kind(ty).ok_or_else(|| format!("type `{}` is not supported", ty.name()))?;
        Ok(Cell(match kind {
            ColumnKind::Bool => Value::Integer(i64::from(bool::from_sql(ty, raw)?)),
            ColumnKind::Int2 => Value::Integer(i64::from(i16::from_sql(ty, raw)?)),
            ColumnKind::Int4 => Value::Integer(i64::from(i32::from_sql(ty, raw)?)),
            ColumnKind::Int8 => Value::Integer(i64::from_sql(ty, raw)?),
            ColumnKind::Oid => Value::Integer(i64::from(u32::from_sql(ty, raw)?)),
            ColumnKind::Float4 => Value::Real(f64::from(f32::from_sql(ty, raw)?)),
            ColumnKind::Float8 => Value::Real(f64::from_sql(ty, raw)?),
            ColumnKind::Bytes => Value::Blob(raw.to_vec()),
            ColumnKind::Text => Value::Text(std::str::from_utf8(raw)?.to_owned()),
            ColumnKind::Jsonb => match raw.split_first() {
                Some((1, json)) => Value::Text(std::str::from_utf8(json)?.to_owned()),
                _ => return Err("unsupported jsonb version".into()),
            },
            ColumnKind::Char => Value::Text(char::from(fixed::<1>(raw)?[0]).to_string()),
            ColumnKind::Numeric => Value::Text(numeric_to_text(raw)?),
            ColumnKind::Date => Value::Text(date_to_text(i32::from_be_bytes(fixed(raw)?))),
            ColumnKind::Time => Value::Text(time_of_day(i64::from_be_bytes(fixed(raw)?))),
            ColumnKind::Timestamp => Value::Text(timestamp_to_text(i64::from_be_bytes(fixed(raw)?), "")),
            ColumnKind::TimestampTz => Value::Text(timestamp_to_text(i64::from_be_bytes(fixed(raw)?), "+00")),
            ColumnKind::Uuid => Value::Text(uuid_to_text(&fixed::<16>(raw)?)),
        }))
    }

    fn from_sql_null(_ty: &Type) -> Result<Self, DecodeError> {
        Ok(Cell(Value::Null))
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }
}

fn fixed<const N: usize>(raw: &[u8]) -> Result<[u8; N], DecodeError> {
    raw.try_into().map_err(|_| format!("expected {N} bytes, the server sent {}", raw.len()).into())
}

/// numeric's binary form: digit count, weight, sign, display scale, then
/// base-10000 digits, the first worth 10000^weight.
fn numeric_to_text(raw: &[u8]) -> Result<String, DecodeError> {
    let header: [u8; 8] = raw.get(..8).ok_or("numeric value too short")?.try_into()?;
    let count = usize::from(u16::from_be_bytes([header[0], header[1]]));
    let weight = i64::from(i16::from_be_bytes([header[2], header[3]]));
    let sign = u16::from_be_bytes([header[4], header[5]]);
    let scale = usize::from(u16::from_be_bytes([header[6], header[7]]));
    match sign {
        0x0000 | 0x4000 => {}
        0xC000 => return Ok("NaN".to_owned()),
        0xD000 => return Ok("Infinity".to_owned()),
        0xF000 => return Ok("-Infinity".to_owned()),
        _ => return Err(format!("unknown numeric sign {sign:#x}").into()),
    }
    let body = raw.get(8..8 + 2 * count).ok_or("numeric value shorter than its digit count")?;
    let digits: Vec<i64> = body.chunks_exact(2).map(|pair| i64::from(i16::from_be_bytes([pair[0], pair[1]]))).collect();
    let digit_at = |exponent: i64| -> i64 {
        let index = weight - exponent;
        if index < 0 {
            0
        } else {
            usize::try_from(index).ok().and_then(|index| digits.get(index)).copied().unwrap_or(0)
        }
    };
    let mut text = String::new();
    if sign == 0x4000 {
        text.push('-');
    }
    if weight < 0 {
        text.push('0');
    } else {
        text.push_str(&digit_at(weight).to_string());
        for exponent in (0..weight).rev() {
            text.push_str(&format!("{:04}", digit_at(exponent)));
        }
    }
    if scale > 0 {
        let mut fraction = String::with_capacity(scale + 4);
        let mut exponent = -1;
        while fraction.len() < scale {
            fraction.push_str(&format!("{:04}", digit_at(exponent)));
            exponent -= 1;
        }
        fraction.truncate(scale);
        text.push('.');
        text.push_str(&fraction);
    }
    Ok(text)
}

/// Days since 1970-01-01 of 2000-01-01, PostgreSQL's epoch.
const POSTGRES_EPOCH_DAYS: i64 = 10_957;
const MICROS_PER_DAY: i64 = 86_400_000_000;

/// The proleptic Gregorian date of a day count since 1970-01-01
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `YYYY-MM-DD` as PostgreSQL prints it (ISO style), with its BC suffix
/// returned separately because a time goes between them.
fn date_parts(days_since_2000: i64) -> (String, &'static str) {
    let (year, month, day) = civil_from_days(days_since_2000 + POSTGRES_EPOCH_DAYS);
    if year <= 0 {
        (format!("{:04}-{month:02}-{day:02}", 1 - year), " BC")
    } else {
        (format!("{year:04}-{month:02}-{day:02}"), "")
    }
}

fn date_to_text(days: i32) -> String {
    match days {
        i32::MAX => "infinity".to_owned(),
        i32::MIN => "-infinity".to_owned(),
        days => {
            let (date, era) = date_parts(i64::from(days));
            format!("{date}{era}")
        }
    }
}

/// `HH:MM:SS[.ffffff]`, trailing zeros of the fraction dropped as PostgreSQL does.
fn time_of_day(micros: i64) -> String {
    let seconds = micros / 1_000_000;
    let fraction = micros % 1_000_000;
    let mut text = format!("{:02}:{:02}:{:02}", seconds / 3600, seconds / 60 % 60, seconds % 60);
    if fraction != 0 {
        let digits = format!("{fraction:06}");
        text.push('.');
        text.push_str(digits.trim_end_matches('0'));
    }
    text
}

/// A timestamp (microseconds since 2000-01-01) as PostgreSQL prints it;
/// `zone` is `+00` for timestamptz, which is rendered in UTC.
fn timestamp_to_text(micros: i64, zone: &str) -> String {
    match micros {
        i64::MAX => "infinity".to_owned(),
        i64::MIN => "-infinity".to_owned(),
        micros => {
            let (date, era) = date_parts(micros.div_euclid(MICROS_PER_DAY));
            format!("{date} {}{zone}{era}", time_of_day(micros.rem_euclid(MICROS_PER_DAY)))
        }
    }
}

fn uuid_to_text(bytes: &[u8; 16]) -> String {
    let hex = hex::encode(bytes);
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

/// Turns a tokio-postgres error into the contract's error: the SQLSTATE and
/// the server's message with its detail and hint, or (no server involved,
/// such as a refused connection) no code and the whole cause chain.
/// SQLSTATE `in_failed_sql_transaction`: a statement sent after one failed.
const IN_FAILED_TRANSACTION: &str = "25P02";

fn aborted_by(first: &str) -> String {
    format!(
        ": the transaction was aborted by an earlier statement that failed ({first}). On PostgreSQL a failed \
         statement ends the transaction even when the revision catches the error: let it fail the step, or avoid \
         the failure (for example INSERT ... ON CONFLICT DO NOTHING)"
    )
}

fn db_error(error: tokio_postgres::Error) -> DbError {
    match error.as_db_error() {
        Some(server) => {
            let mut message = server.message().to_owned();
            if let Some(detail) = server.detail() {
                message.push_str("\nDETAIL: ");
                message.push_str(detail);
            }
            if let Some(hint) = server.hint() {
                message.push_str("\nHINT: ");
                message.push_str(hint);
            }
            DbError { code: Some(server.code().code().to_owned()), message }
        }
        None => DbError { code: None, message: error_chain(&error) },
    }
}

fn error_chain(error: &dyn StdError) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

/// `"name"` with embedded quotes doubled, for SQL text.
pub(crate) fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Whether `sql` starts with a keyword that cannot change table definitions,
/// so that the statement cache may be kept after it.
fn is_plain_dml(sql: &str) -> bool {
    let mut rest = sql;
    loop {
        rest = rest.trim_start();
        if let Some(comment) = rest.strip_prefix("--") {
            rest = comment.split_once('\n').map_or("", |(_, after)| after);
        } else if let Some(comment) = rest.strip_prefix("/*") {
            rest = comment.split_once("*/").map_or("", |(_, after)| after);
        } else {
            break;
        }
    }
    let keyword: String = rest.chars().take_while(char::is_ascii_alphabetic).collect::<String>().to_ascii_uppercase();
    matches!(keyword.as_str(), "SELECT" | "INSERT" | "UPDATE" | "DELETE" | "WITH" | "VALUES" | "TABLE" | "SHOW")
}

/// The advisory-lock id of a migration-lock key: the first 8 bytes of
/// SHA-256 over a wasmig namespace and the key. Stable across versions and
/// machines (an operator can compute it to look the lock up in `pg_locks`).
pub fn advisory_lock_id(key: &str) -> i64 {
    let mut hasher = Sha256::new();
    hasher.update(LOCK_NAMESPACE);
    hasher.update(key.as_bytes());
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(first)
}

/// How `pg_locks` shows a bigint advisory key: high half in `classid`, low
/// half in `objid`.
fn advisory_lock_parts(lock_id: i64) -> (u32, u32) {
    let bits = lock_id as u64;
    ((bits >> 32) as u32, bits as u32)
}

/// A pause of up to `max`, different for each caller.
fn jitter(max: Duration) -> Duration {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    Instant::now().hash(&mut hasher);
    std::thread::current().id().hash(&mut hasher);
    let max_micros = max.as_micros().max(1) as u64;
    Duration::from_micros(hasher.finish() % max_micros)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times_print_as_postgres_does() {
        assert_eq!(date_to_text(0), "2000-01-01");
        assert_eq!(date_to_text(-1), "1999-12-31");
        assert_eq!(date_to_text(8825), "2024-02-29");
        assert_eq!(date_to_text(-730_119), "0001-01-01");
        assert_eq!(date_to_text(-730_120), "0001-12-31 BC");
        assert_eq!(timestamp_to_text(MICROS_PER_DAY + 3_723_500_000, ""), "2000-01-02 01:02:03.5");
        assert_eq!(timestamp_to_text(-1, "+00"), "1999-12-31 23:59:59.999999+00");
        assert_eq!(time_of_day(0), "00:00:00");
    }

    #[test]
    fn numerics_print_with_their_scale() {
        fn numeric(weight: i16, sign: u16, scale: u16, digits: &[i16]) -> Vec<u8> {
            let mut raw = Vec::new();
            raw.extend_from_slice(&(digits.len() as u16).to_be_bytes());
            raw.extend_from_slice(&weight.to_be_bytes());
            raw.extend_from_slice(&sign.to_be_bytes());
            raw.extend_from_slice(&scale.to_be_bytes());
            for digit in digits {
                raw.extend_from_slice(&digit.to_be_bytes());
            }
            raw
        }
        assert_eq!(numeric_to_text(&numeric(0, 0, 0, &[])).unwrap(), "0");
        assert_eq!(numeric_to_text(&numeric(1, 0x4000, 4, &[12, 3456, 7800])).unwrap(), "-123456.7800");
        assert_eq!(numeric_to_text(&numeric(-1, 0, 6, &[12])).unwrap(), "0.001200");
        assert_eq!(numeric_to_text(&numeric(2, 0, 0, &[1])).unwrap(), "100000000");
        assert_eq!(numeric_to_text(&numeric(0, 0xC000, 0, &[])).unwrap(), "NaN");
    }

    #[test]
    fn lock_ids_are_stable_and_identifiers_quoted() {
        assert_eq!(advisory_lock_id("public.wasmig_"), advisory_lock_id("public.wasmig_"));
        assert_ne!(advisory_lock_id("a.wasmig_"), advisory_lock_id("b.wasmig_"));
        assert_eq!(advisory_lock_parts(-1), (u32::MAX, u32::MAX));
        assert_eq!(quote_identifier("we\"ird"), "\"we\"\"ird\"");
        assert!(is_plain_dml("  -- note\n /* x */ select 1"));
        assert!(!is_plain_dml("ALTER TABLE t ADD c int"));
    }
}
