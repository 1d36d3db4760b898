//! The backend's own connection and its state: the prepared-statement cache, the transaction `Backend::begin` opened, and the running hook (its deadline, result budget, role and the session checks around its statements).
//!
//! Over 500 lines for now: the statement cache, the transaction state and
//! the hook's checks change together (each request carries all three);
//! splitting them along the hook's lifecycle is the next step (issue 11).
//!
//! A hook's statement never costs a round trip of its own for the host's
//! checks (see `pipeline` and `state`). Inside the host's transaction a
//! script travels as one simple query with the hook's settings before it
//! and a read of what decides how the next statement is read (and who it
//! runs as, in which transaction) after it; a prepared statement travels
//! pipelined with the same. The result reaches the guest only if that read
//! matches. Every other setting is asserted by the server in the request
//! that commits, after the revision's deferred triggers: on a difference
//! the COMMIT in the same request never runs. Under a role, or outside a
//! transaction, the end of the hook checks everything before the host's
//! own statements run.
//!
//! Time: `statement_timeout` is a first line the server enforces even if
//! this process dies, but a revision can change it, so the deadline itself
//! is kept here: past it the backend sends the server a cancel request,
//! and if the statement still runs (a revision can catch `query_canceled`)
//! it ends the statement's server process and opens a new connection.
//!
//! Autocommit hooks (`transactional = false`) send their statements one by
//! one, each outside any transaction block, so `CREATE INDEX CONCURRENTLY`
//! and `VACUUM` run, each checked in full before the next. Under a
//! per-tenant role each statement runs in a transaction of its own that
//! commits only after the check (a statement that cannot run in one runs
//! bare, as the role): a `DO` block that switched roles is rolled back.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::task::Poll;
use std::time::{Duration, Instant};

use futures_core::Stream;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Statement};

use super::bind::{Binding, bind, sql_params};
use super::blockers::blockers_of;
use super::decode::{ResultBudget, RowError, check_columns, empty_rows, push_row};
use super::error::{db_error, db_error_in};
use super::pipeline::{Around, Exchange, Script, cancel, exchange, in_order, script};
use super::position::{in_script, in_statement};
use super::session::{OpenError, SPAWN_BLOCKING_ADVICE, Session};
use super::state::{
    GUEST_RESETS, HOOK_RESETS, HOST_SETTINGS, Level, Scope, Snapshot, before_sql, breach_error, prelude_sql,
};
use super::target::Target;
use super::tls::Connector;
use crate::sql::{DbError, RowFailure, Rows, Value, quote_identifier, row_by_row};

/// Prepared statements kept per connection; past this the cache starts over,
/// so a guest that builds unique SQL strings cannot grow it without bound.
const STATEMENT_CACHE_LIMIT: usize = 512;

/// How long a statement may take to stop after the cancel request before
/// the backend ends its server process.
const CANCEL_GRACE: Duration = Duration::from_millis(400);
/// How long ending the server process (on a connection of its own) and the
/// statement's return after it may take.
const TERMINATE_WAIT: Duration = Duration::from_secs(2);
/// The time the host's own statements at the end of a hook (deferred
/// constraints, the check) get when the hook's deadline has already passed.
const END_GRACE: Duration = Duration::from_secs(1);

/// SQLSTATE `in_failed_sql_transaction`: a statement sent after one failed.
const IN_FAILED_TRANSACTION: &str = "25P02";
/// SQLSTATE `active_sql_transaction`: a statement that cannot run in a transaction block.
const ACTIVE_SQL_TRANSACTION: &str = "25001";
/// SQLSTATE `query_canceled`.
const QUERY_CANCELED: &str = "57014";

/// The connection statements run on, and what the backend keeps about it.
pub(super) struct Connection {
    session: Session,
    /// Password and TLS included: ending a runaway statement and reopening
    /// the session use a connection of their own.
    target: Target,
    /// The `?schema=` given, set as the `search_path` again on a reopened session.
    pinned_schema: Option<String>,
    /// The session state as the host set it at connect.
    base: Snapshot,
    /// The server process of this session, for `pg_terminate_backend`.
    pid: i32,
    statements: HashMap<String, Statement>,
    /// A transaction opened by [`Connection::begin`] is open.
    in_transaction: bool,
    /// The first statement that failed inside that transaction: PostgreSQL
    /// has aborted it (checked at commit). Kept to explain the "current
    /// transaction is aborted" errors of every later statement.
    first_failure: Option<String>,
    hook: Option<Hook>,
    /// The session cannot be used as it is (closed at a deadline, or found
    /// changed by a revision): the next host statement opens a new one.
    stale: Option<String>,
    /// The host's transaction was lost with a closed session: its
    /// statements fail until [`Connection::rollback`].
    lost: Option<String>,
    /// A hook ran in the open transaction without a role: its deferred
    /// triggers run at COMMIT, which is bounded and checked after.
    commit_check: Option<CommitCheck>,
    /// Who blocked the last guest statement that waited for a lock, seen
    /// while it waited (`blockers.rs`): added to its lock error.
    blocker: RefCell<Option<String>>,
}

/// What the COMMIT of a transaction in which hooks ran owes them.
#[derive(Debug, Clone)]
struct CommitCheck {
    /// The revisions' deferred triggers run just before COMMIT: they stop here.
    deadline: Instant,
    /// The session as the host set it at connect, in the hooks' transaction.
    expected: Snapshot,
}

/// How a hook's statements run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Inside the host's transaction.
    Transaction,
    /// Autocommit, each statement on its own.
    Autocommit,
    /// Autocommit under a role: each statement in a transaction of its own
    /// that commits only after the session check.
    Confined,
}

/// The running hook.
#[derive(Debug)]
struct Hook {
    deadline: Instant,
    /// The wall-clock budget, for messages.
    budget: Duration,
    /// The longest one statement waits for a lock (`lock_timeout`), in ms; at least 1 (0 is "forever").
    lock_wait_ms: u128,
    max_result_bytes: u64,
    /// The role, as given and quoted for SQL.
    role: Option<(String, String)>,
    mode: Mode,
    /// The session as the host set it for this hook, read before its first
    /// statement (in [`Mode::Confined`], before each statement).
    expected: Option<Snapshot>,
    /// How the session was found changed: every later statement is refused.
    breach: Option<String>,
    /// The last check could not be read: check again before anything else.
    unverified: bool,
    /// Autocommit: the hook set `statement_timeout` for the session.
    session_timeout: bool,
    /// At least one statement reached the server.
    ran: bool,
    /// The session was closed at the deadline.
    closed: Option<String>,
}

impl Hook {
    /// The hook's `statement_timeout`: what is left until the deadline,
    /// rounded up so that the server never cancels before the host would
    /// call it the deadline; 0 ("no limit") when the hook has none.
    fn remaining_ms(&self) -> u128 {
        let left = self.deadline.saturating_duration_since(Instant::now()).as_micros().div_ceil(1000);
        if left > i32::MAX as u128 {
            return 0;
        }
        // 0 would mean "no limit": a statement started at the deadline gets 1 ms.
        left.max(1)
    }

    fn role_name(&self) -> Option<&str> {
        self.role.as_ref().map(|(name, _)| name.as_str())
    }
}

/// What a guest asked for.
#[derive(Debug, Clone, Copy)]
enum Piece<'p> {
    /// One simple query (a script inside a transaction, or one statement of a script).
    Simple(&'p str),
    Execute(&'p Statement, &'p [Binding<'p>]),
    /// One statement per row of bindings, pipelined; the row that failed is
    /// written to the cell.
    ExecuteMany(&'p Statement, &'p [Vec<Binding<'p>>], &'p Cell<usize>),
    Query(&'p Statement, &'p [Binding<'p>], u64),
}

#[derive(Debug)]
enum Outcome {
    Count(u64),
    Rows(Rows),
    Done,
}

/// Why [`Connection::drive`] returned without the future's output.
#[derive(Debug)]
enum Stop {
    /// This thread drives async tasks and must not block.
    CannotBlock,
    /// The statement ran on past the deadline and its cancel request: the
    /// session was closed.
    Closed(String),
}

impl Stop {
    fn into_error(self) -> DbError {
        match self {
            Stop::CannotBlock => DbError::host(SPAWN_BLOCKING_ADVICE),
            Stop::Closed(message) => DbError::host(message),
        }
    }
}

/// What a new session gets before anything else runs on it.
struct Setup {
    base: Snapshot,
    pid: i32,
}

fn setup(session: &Session, schema: Option<&str>) -> Result<Setup, DbError> {
    if !session.can_block() {
        return Err(DbError::host(SPAWN_BLOCKING_ADVICE));
    }
    let settings = match schema {
        Some(schema) => format!("{HOST_SETTINGS}; SET search_path TO {}", quote_identifier(schema)),
        None => HOST_SETTINGS.to_owned(),
    };
    let client = session.client();
    session.run(client.batch_execute(&settings))?;
    let pid: i32 = session.run(client.query_one("SELECT pg_catalog.pg_backend_pid()", &[]))?.get(0);
    let base = session.block_on(Snapshot::query(client, Level::Full.sql(), Level::Full))?;
    Ok(Setup { base, pid })
}

fn open_error(error: OpenError) -> DbError {
    match error {
        OpenError::InsideAsyncRuntime => DbError::host(SPAWN_BLOCKING_ADVICE),
        OpenError::Db(error) => error,
    }
}

impl Connection {
    /// Takes over a session that `session::connect` opened: fixes the
    /// settings the host relies on and records them. `pinned_schema` is the
    /// `?schema=` given (already the session's `search_path`).
    pub(super) fn new(session: Session, target: Target, pinned_schema: Option<String>) -> Result<Self, DbError> {
        let Setup { base, pid } = setup(&session, pinned_schema.as_deref())?;
        Ok(Connection {
            session,
            target,
            pinned_schema,
            base,
            pid,
            statements: HashMap::new(),
            in_transaction: false,
            first_failure: None,
            hook: None,
            stale: None,
            lost: None,
            commit_check: None,
            blocker: RefCell::new(None),
        })
    }

    pub(super) fn cached_statements(&self) -> usize {
        self.statements.len()
    }

    pub(super) fn in_transaction(&self) -> bool {
        self.in_transaction
    }

    /// Runs one statement; returns the rows affected.
    pub(super) fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        let result = if self.hook.is_some() {
            self.guest_prepared(sql, params, false).map(|outcome| match outcome {
                Outcome::Count(count) => count,
                _ => 0,
            })
        } else {
            self.host_ready().and_then(|()| {
                let (statement, bindings) = self.prepare_call(sql, params)?;
                let params = sql_params(&bindings);
                self.drive(None, self.session.client().execute(&statement, &params))
                    .map_err(Stop::into_error)?
                    .map_err(db_error)
            })
        };
        self.forget_statements_after(sql);
        self.track(result)
    }

    /// Runs one statement once per row of `rows`. Inside the host's
    /// transaction the rows travel pipelined, in one exchange with one
    /// session check: a row that fails aborts the transaction, so no later
    /// row takes effect. Elsewhere (outside hooks, and a hook that runs
    /// outside a transaction) each row is a statement of its own.
    pub(super) fn execute_many(&mut self, sql: &str, rows: &[Vec<Value>]) -> Result<u64, RowFailure> {
        let pipelined = self.hook.as_ref().is_some_and(|hook| hook.mode == Mode::Transaction);
        if !pipelined || rows.len() < 2 {
            return row_by_row(rows, |params| self.execute(sql, params));
        }
        let failed_row = Cell::new(0);
        let result = self.guest_many(sql, rows, &failed_row);
        self.forget_statements_after(sql);
        self.track(result).map_err(|error| RowFailure { row: failed_row.get(), rows: rows.len(), error })
    }

    /// A guest's `execute-many` inside the host's transaction: prepared
    /// once, every row bound before any is sent, then one exchange.
    fn guest_many(&mut self, sql: &str, rows: &[Vec<Value>], failed_row: &Cell<usize>) -> Result<u64, DbError> {
        self.guest_allowed()?;
        let statement = self.statement(sql, self.hook_deadline())?;
        let mut bound = Vec::with_capacity(rows.len());
        for (row, params) in rows.iter().enumerate() {
            failed_row.set(row);
            bound.push(bind(params, statement.params())?);
        }
        failed_row.set(0);
        self.guest(Piece::ExecuteMany(&statement, &bound, failed_row)).map(|outcome| match outcome {
            Outcome::Count(count) => count,
            _ => 0,
        })
    }

    /// Runs one statement and returns all its rows (during a hook, as many
    /// as the hook's result budget holds).
    pub(super) fn query(&mut self, sql: &str, params: &[Value]) -> Result<Rows, DbError> {
        let result = if self.hook.is_some() {
            self.guest_prepared(sql, params, true).map(|outcome| match outcome {
                Outcome::Rows(rows) => rows,
                _ => Rows::default(),
            })
        } else {
            self.host_ready().and_then(|()| {
                let (statement, bindings) = self.prepare_call(sql, params)?;
                // Refused before it runs: a query with side effects
                // (`INSERT ... RETURNING`) must not half happen.
                check_columns(statement.columns())?;
                let tls = self.session.cancel_tls();
                self.drive(None, query_rows(self.session.client(), &statement, &bindings, u64::MAX, tls))
                    .map_err(Stop::into_error)?
            })
        };
        self.forget_statements_after(sql);
        self.track(result)
    }

    /// Runs several statements without parameters.
    pub(super) fn execute_script(&mut self, sql: &str) -> Result<(), DbError> {
        let result = match self.hook.as_ref().map(|hook| hook.mode) {
            None => self.host_ready().and_then(|()| {
                self.drive(None, self.session.client().batch_execute(sql)).map_err(Stop::into_error)?.map_err(db_error)
            }),
            // PostgreSQL parses a whole simple query before it runs any of
            // it, so the session cannot change under the rest of the script.
            Some(Mode::Transaction) => self.guest(Piece::Simple(sql)).map(drop),
            // A multi-statement simple query is an implicit transaction
            // block: statements go one by one, each checked before the next.
            Some(Mode::Autocommit | Mode::Confined) => self.guest_script(sql),
        };
        self.forget_row_statements();
        self.track(result)
    }

    /// A hook starts: its statements stop at `deadline`, a query result
    /// holds at most `max_result_bytes`, and with `role` they run as that role.
    pub(super) fn begin_hook(
        &mut self,
        deadline: Instant,
        lock_wait: Duration,
        max_result_bytes: u64,
        role: Option<&str>,
    ) -> Result<(), DbError> {
        if let Some(role) = role
            && (role.is_empty() || role.contains('\0'))
        {
            return Err(DbError::host(format!("`{}` is not a role name wasmig can set", role.escape_debug())));
        }
        if self.hook.is_none() {
            self.host_ready()?;
        }
        let mode = match (self.in_transaction, role) {
            (true, _) => Mode::Transaction,
            (false, None) => Mode::Autocommit,
            (false, Some(_)) => Mode::Confined,
        };
        // Nothing is sent yet: the first statement carries the hook's
        // settings, so a hook that runs none costs no round trip.
        self.hook = Some(Hook {
            deadline,
            budget: deadline.saturating_duration_since(Instant::now()),
            lock_wait_ms: lock_wait.as_millis().max(1),
            max_result_bytes,
            role: role.map(|role| (role.to_owned(), quote_identifier(role))),
            mode,
            expected: None,
            breach: None,
            unverified: false,
            session_timeout: false,
            ran: false,
            closed: None,
        });
        Ok(())
    }

    /// The hook ended: the settings a revision may change come back, and
    /// under a role deferred constraints run (still as the role, within the
    /// hook's time) before the host takes its own role back. Without a
    /// role, a transaction's COMMIT runs them, bounded by the hook's time
    /// and checked after. `Err` says how the revision changed the session
    /// (the step must fail); an autocommit session is then replaced by a new
    /// one at once, a transaction's at its rollback.
    pub(super) fn end_hook(&mut self) -> Result<(), String> {
        let Some(mut hook) = self.hook.take() else {
            return Ok(());
        };
        if let Some(closed) = hook.closed.take() {
            return Err(closed);
        }
        if hook.breach.is_none() && (hook.ran || hook.unverified) {
            hook.breach = self.final_check(&hook);
        }
        let Some(breach) = hook.breach else {
            return Ok(());
        };
        self.stale = Some(format!("the session was replaced after a revision changed it ({breach})"));
        if self.in_transaction {
            self.lost = Some(format!("a revision changed the session ({breach})"));
        } else {
            // Nothing leaks into later steps: a new session, set up afresh.
            if let Err(error) = self.reopen() {
                tracing::warn!("cannot open a new session after a revision changed it: {error}");
            }
        }
        Err(breach)
    }

    /// The end of a hook whose statements all passed their check; `Some` on a breach.
    fn final_check(&mut self, hook: &Hook) -> Option<String> {
        let deadline = hook.deadline.max(Instant::now()) + END_GRACE;
        if let (Mode::Transaction, None, false, Some(expected)) =
            (hook.mode, &hook.role, hook.unverified, &hook.expected)
        {
            // Nothing to send now: the full check runs on the server in the
            // COMMIT's request, after the revision's deferred triggers and
            // before the COMMIT itself (a rollback undoes every setting
            // changed in the transaction).
            let deadline = self.commit_check.as_ref().map_or(deadline, |check| check.deadline.max(deadline));
            self.commit_check = Some(CommitCheck { deadline, expected: self.base.in_transaction_of(expected) });
            return None;
        }
        let mut settle: Vec<&str> = Vec::new();
        let (expected, scope) = match (hook.mode, &hook.expected) {
            // Deferred triggers are the revision's code: they run now, as the
            // role and under the check, not at the host's COMMIT as the host.
            (Mode::Transaction, expected) => {
                settle.push("SET CONSTRAINTS ALL IMMEDIATE");
                if hook.role.is_some() {
                    settle.push("RESET ROLE");
                }
                match expected {
                    Some(expected) => (expected.clone(), Scope::AllButRole),
                    // Without a first statement that set the hook up, only
                    // what the host never changes can be compared.
                    None => (self.base.clone(), Scope::Unchanged),
                }
            }
            (Mode::Autocommit | Mode::Confined, _) => {
                if hook.session_timeout {
                    settle.push(HOOK_RESETS);
                }
                (self.base.clone(), Scope::Settings)
            }
        };
        settle.push(GUEST_RESETS);
        let settle = settle.join("; ");
        let around = Around { settle: (!settle.is_empty()).then_some(settle.as_str()), ..Around::default() };
        let client = self.session.client();
        let done = async { Ok::<(), DbError>(()) };
        let exchange = match self.drive(Some(deadline), exchange(client, Level::Full, around, done)) {
            Ok(exchange) => exchange,
            Err(stop) => return Some(self.stopped(stop).message),
        };
        match exchange.after {
            Ok(found) => found.difference(&expected, scope).map(|difference| difference.to_string()),
            // Inside a transaction block any error aborts the transaction
            // (a deferred constraint that failed, or the check cancelled at the
            // deadline), which undoes every setting changed in it; the host's
            // next statement says why.
            Err(error) if hook.mode == Mode::Transaction && error.code.is_some() => {
                if error.code.as_deref() != Some(IN_FAILED_TRANSACTION) {
                    let _ = self.track::<()>(Err(error));
                }
                None
            }
            Err(error) => Some(format!("cannot check the session after the hook: {error}")),
        }
    }

    /// Opens a transaction with `command` (`BEGIN`, `BEGIN READ ONLY`).
    pub(super) fn begin(&mut self, command: &str) -> Result<(), DbError> {
        self.lost = None;
        self.host_ready()?;
        self.drive(None, self.session.client().batch_execute(command)).map_err(Stop::into_error)?.map_err(db_error)?;
        self.in_transaction = true;
        self.first_failure = None;
        Ok(())
    }

    pub(super) fn commit(&mut self) -> Result<(), DbError> {
        if let Some(lost) = self.lost.clone() {
            return Err(DbError::host(format!("nothing was committed: {lost}")));
        }
        self.host_ready()?;
        // PostgreSQL answers COMMIT of an aborted transaction with a silent
        // ROLLBACK: check, so that a lost step is never reported as committed.
        let aborted = self.in_transaction
            && self.first_failure.is_some()
            && self.drive(None, self.session.client().batch_execute("SELECT 1")).map_or(true, |done| done.is_err());
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
                position: None,
            });
        }
        let Some(check) = self.commit_check.take() else {
            let result = self
                .drive(None, self.session.client().batch_execute("COMMIT"))
                .map_err(Stop::into_error)?
                .map_err(db_error);
            self.in_transaction = false;
            self.first_failure = None;
            return result;
        };
        // Hooks ran in this transaction: in one request, their deferred
        // triggers run (within their time), the server asserts that the
        // session is as the host left it, the settings a revision may change
        // are reset, and only then does the COMMIT run.
        let sql = format!(
            "SET CONSTRAINTS ALL IMMEDIATE; {}; {GUEST_RESETS}; COMMIT",
            check.expected.assertion_sql(Scope::Commit)
        );
        let done = self.drive(Some(check.deadline), self.session.client().batch_execute(&sql));
        let failed = match done {
            Ok(Ok(())) => {
                self.in_transaction = false;
                self.first_failure = None;
                return Ok(());
            }
            Ok(Err(error)) => {
                let error = db_error(error);
                match check.expected.assertion_failure(&error, Scope::Commit) {
                    Some(difference) => {
                        // Replaced at the rollback, with everything the revision did.
                        self.stale = Some(difference.to_string());
                        DbError::host(format!("nothing was committed: a revision changed the session: {difference}"))
                    }
                    None => DbError {
                        code: error.code,
                        message: format!("nothing was committed: {}", error.message),
                        position: None,
                    },
                }
            }
            Err(stop) => {
                let error = stop.into_error();
                self.stale = Some(error.message.clone());
                DbError::host(format!(
                    "nothing was committed: the revision's deferred triggers ran past its time budget at COMMIT; {}",
                    error.message
                ))
            }
        };
        if let Err(error) = self.rollback() {
            tracing::warn!("rolling back after a failed COMMIT failed too: {error}");
        }
        Err(failed)
    }

    pub(super) fn rollback(&mut self) -> Result<(), DbError> {
        self.in_transaction = false;
        self.first_failure = None;
        self.lost = None;
        // Settings changed in the transaction go with it.
        self.commit_check = None;
        if self.stale.is_some() {
            // Closing the session rolls its transaction back.
            return self.reopen();
        }
        // Sent even when `begin` opened nothing: a transaction opened by a
        // script must end too, and without one PostgreSQL only warns.
        let result = self
            .drive(None, self.session.client().batch_execute("ROLLBACK"))
            .map_err(Stop::into_error)
            .and_then(|done| done.map_err(db_error));
        // Rolled-back DDL may have changed what cached statements return.
        self.forget_row_statements();
        result
    }

    /// Before a host statement: a stale session is replaced, and a lost
    /// transaction refuses everything until it is rolled back.
    fn host_ready(&mut self) -> Result<(), DbError> {
        if let Some(lost) = &self.lost {
            return Err(DbError::host(format!("{lost}; the step's transaction is gone and must be rolled back")));
        }
        if self.stale.is_some() {
            self.reopen()?;
        }
        Ok(())
    }

    /// Replaces the session with a new one set up as at connect.
    fn reopen(&mut self) -> Result<(), DbError> {
        let session = Session::open(&self.target).map_err(open_error)?;
        let Setup { base, pid } = setup(&session, self.pinned_schema.as_deref())?;
        if let Some(difference) = base.difference(&self.base, Scope::Settings) {
            tracing::warn!("the new session differs from the first one: {difference}");
        }
        // The old session closes as it drops; its transaction, if any, rolls back.
        self.session = session;
        self.base = base;
        self.pid = pid;
        self.statements.clear();
        self.stale = None;
        Ok(())
    }

    /// Runs `future` (requests on this session) to completion. With a
    /// `deadline`: past it, a cancel request; if the statement still runs
    /// after [`CANCEL_GRACE`], its server process is ended and the session
    /// is closed ([`Stop::Closed`]).
    fn drive<F: Future>(&self, deadline: Option<Instant>, future: F) -> Result<F::Output, Stop> {
        if !self.session.can_block() {
            return Err(Stop::CannotBlock);
        }
        let mut future = pin!(future);
        let Some(deadline) = deadline else {
            return Ok(self.session.block_on(future));
        };
        // Halfway through a guest statement's lock bound, look at who blocks
        // it, from a connection of its own: once the bound ends the wait, the
        // server no longer says.
        let look_at =
            self.hook.as_ref().map(|hook| Instant::now() + Duration::from_millis((hook.lock_wait_ms / 2) as u64));
        self.blocker.replace(None);
        if let Some(look_at) = look_at.filter(|look_at| *look_at < deadline) {
            // Timers are made inside `block_on`, where the runtime's time driver is.
            if let Some(output) = self.session.block_on(until(look_at, future.as_mut())) {
                return Ok(output);
            }
            if !crate::interrupt::requested() {
                self.blocker.replace(blockers_of(&self.target, self.pid));
            }
        }
        if let Some(output) = self.session.block_on(until(deadline, future.as_mut())) {
            return Ok(output);
        }
        let interrupted = crate::interrupt::requested();
        let cancelled = self.session.block_on(cancel(self.session.client(), self.session.cancel_tls()));
        if let Ok(output) = self.session.block_on(async { tokio::time::timeout(CANCEL_GRACE, future.as_mut()).await }) {
            return Ok(output);
        }
        // The statement ignored the cancel (a revision can catch
        // `query_canceled`) or it never arrived: end the server process.
        let ended = self.terminate();
        let _ = self.session.block_on(async { tokio::time::timeout(TERMINATE_WAIT, future.as_mut()).await });
        Err(Stop::Closed(format!(
            "{}: wasmig ended its server process and closed the connection{}",
            match (interrupted, cancelled) {
                (true, true) => "a statement was interrupted (a stop was requested) and did not stop when cancelled",
                (true, false) =>
                    "a statement was interrupted (a stop was requested) and the cancel request could not be sent",
                (false, true) => "a statement ran past the deadline and did not stop when cancelled",
                (false, false) => "a statement ran past the deadline and the cancel request could not be sent",
            },
            match ended {
                Ok(()) => String::new(),
                Err(error) => format!(" (ending the server process failed: {error})"),
            }
        )))
    }

    /// `error`, naming who blocked the statement when it failed on a lock
    /// and the look while it waited saw them.
    pub(super) fn name_blockers(&self, mut error: DbError) -> DbError {
        if error.is_lock_conflict()
            && let Some(blocker) = self.blocker.take()
        {
            error.message = format!("{} ({blocker})", error.message);
        }
        error
    }

    /// Ends this session's server process from a connection of its own.
    fn terminate(&self) -> Result<(), DbError> {
        let killer = Session::open(&self.target).map_err(open_error)?;
        let ended = killer.block_on(async {
            let pid = [&self.pid as &(dyn tokio_postgres::types::ToSql + Sync)];
            let terminate = killer.client().query_one("SELECT pg_catalog.pg_terminate_backend($1)", &pid);
            tokio::time::timeout(TERMINATE_WAIT, terminate).await
        });
        match ended {
            Ok(Ok(row)) if row.try_get::<_, bool>(0).unwrap_or(false) => Ok(()),
            Ok(Ok(_)) => Err(DbError::host(format!("server process {} was not ended", self.pid))),
            Ok(Err(error)) => Err(db_error(error)),
            Err(_) => Err(DbError::host("no answer from the server")),
        }
    }

    /// A guest's `execute` or `query`: prepared (within the deadline), then one exchange.
    fn guest_prepared(&mut self, sql: &str, params: &[Value], rows: bool) -> Result<Outcome, DbError> {
        self.guest_allowed()?;
        let deadline = self.hook_deadline();
        let statement = self.statement(sql, deadline)?;
        let bindings = bind(params, statement.params())?;
        if rows {
            check_columns(statement.columns())?;
            let budget = self.hook.as_ref().map_or(u64::MAX, |hook| hook.max_result_bytes);
            self.guest(Piece::Query(&statement, &bindings, budget))
        } else {
            self.guest(Piece::Execute(&statement, &bindings))
        }
    }

    /// A guest's script outside a transaction: statement by statement.
    fn guest_script(&mut self, sql: &str) -> Result<(), DbError> {
        self.guest_allowed()?;
        let statements = wasmig_sqlguard::split_statements(sql, wasmig_sqlguard::Dialect::Postgres)
            .map_err(|error| DbError::host(error.to_string()))?;
        for statement in statements {
            self.guest(Piece::Simple(statement.text)).map_err(|error| in_statement(error, statement.offset))?;
        }
        Ok(())
    }

    fn hook_deadline(&self) -> Option<Instant> {
        self.hook.as_ref().map(|hook| hook.deadline)
    }

    /// Whether the running hook may send another statement.
    fn guest_allowed(&mut self) -> Result<(), DbError> {
        let Some(hook) = &self.hook else {
            return Ok(());
        };
        if let Some(breach) = &hook.breach {
            return Err(breach_error(breach));
        }
        if let Some(closed) = &hook.closed {
            return Err(DbError::host(closed.clone()));
        }
        if crate::interrupt::requested() {
            return Err(DbError {
                code: Some(QUERY_CANCELED.to_owned()),
                message: "a stop was requested: no further statements".to_owned(),
                position: None,
            });
        }
        if Instant::now() >= hook.deadline {
            return Err(DbError {
                code: Some(QUERY_CANCELED.to_owned()),
                message: format!("the hook's time budget of {:?} is spent: no further statements", hook.budget),
                position: None,
            });
        }
        if hook.unverified {
            self.check_now()?;
        }
        Ok(())
    }

    /// Reads the session state alone (after a check that could not be read).
    fn check_now(&mut self) -> Result<(), DbError> {
        let Some(hook) = &self.hook else {
            return Ok(());
        };
        let deadline = hook.deadline;
        let read = self.drive(Some(deadline), Snapshot::query(self.session.client(), Level::Full.sql(), Level::Full));
        let hook = self.hook.as_mut().expect("checked above");
        let expected = hook.expected.as_ref().unwrap_or(&self.base);
        let scope = if hook.mode == Mode::Transaction { Scope::All } else { Scope::Settings };
        match read {
            Ok(Ok(found)) => {
                hook.unverified = false;
                if let Some(difference) = found.difference(expected, scope) {
                    hook.breach = Some(difference.to_string());
                    return Err(breach_error(&difference.to_string()));
                }
                Ok(())
            }
            // An aborted transaction: it undoes every setting changed in it.
            Ok(Err(error)) if hook.mode == Mode::Transaction && error.code.is_some() => {
                hook.unverified = false;
                Err(error)
            }
            Ok(Err(error)) => Err(error),
            Err(stop) => Err(self.stopped(stop)),
        }
    }

    /// One guest statement, in one exchange (two under a role in autocommit:
    /// the statement's own transaction commits after the check).
    fn guest(&mut self, piece: Piece<'_>) -> Result<Outcome, DbError> {
        self.guest_allowed()?;
        let hook = self.hook.as_ref().expect("a guest statement runs inside a hook");
        let mode = hook.mode;
        if let (Mode::Transaction, Piece::Simple(sql)) = (mode, piece) {
            return self.guest_script_in_transaction(sql);
        }
        let first = hook.expected.is_none();
        let milliseconds = hook.remaining_ms();
        let lock_wait_ms = hook.lock_wait_ms;
        let role = hook.role_name();
        // The hook's settings travel with its first statement (with each
        // statement under a role in autocommit, in the statement's transaction).
        let prelude = match mode {
            Mode::Transaction if first => Some(prelude_sql(milliseconds, lock_wait_ms, role, true)),
            Mode::Autocommit if first => Some(prelude_sql(milliseconds, lock_wait_ms, None, false)),
            Mode::Confined => Some(format!("BEGIN; {}", prelude_sql(milliseconds, lock_wait_ms, role, true))),
            Mode::Transaction | Mode::Autocommit => None,
        };
        let around = Around {
            before: prelude.as_deref(),
            settle: (mode == Mode::Confined).then_some("SET CONSTRAINTS ALL IMMEDIATE"),
            postlude: None,
        };
        let outcome = self.send(piece, around, mode != Mode::Autocommit);
        if mode != Mode::Confined {
            return outcome;
        }
        // The statement's own transaction: committed only if the check passed.
        let passed = match &outcome {
            Ok(_) => self.hook.as_ref().is_some_and(|hook| hook.breach.is_none() && !hook.unverified),
            Err(_) => false,
        };
        let end = if passed { "COMMIT" } else { "ROLLBACK" };
        let deadline = self.hook_deadline().map(|deadline| deadline.max(Instant::now() + END_GRACE));
        let ended = self.drive(deadline, self.session.client().batch_execute(end));
        let ended = match ended {
            Ok(done) => done.map_err(db_error),
            Err(stop) => Err(self.stopped(stop)),
        };
        if let Some(hook) = self.hook.as_mut() {
            hook.expected = None;
        }
        match outcome {
            Ok(outcome) => ended.map(|()| outcome),
            Err(error) if error.code.as_deref() == Some(ACTIVE_SQL_TRANSACTION) && ended.is_ok() => {
                self.guest_bare(piece)
            }
            Err(error) => Err(error),
        }
    }

    /// A guest's script inside the host's transaction, in one simple query
    /// with the host's SQL around it: at the hook's first statement its
    /// settings and a read of them, then the script, then the session check.
    /// PostgreSQL parses the whole string before it runs any of it (as the
    /// transaction guard read the script, which it refuses unless complete),
    /// so nothing the script does changes how the check after it is read;
    /// an error anywhere aborts the transaction. One request, one answer.
    fn guest_script_in_transaction(&mut self, sql: &str) -> Result<Outcome, DbError> {
        let hook = self.hook.as_ref().expect("a guest statement runs inside a hook");
        let first = hook.expected.is_none();
        let mut text = String::with_capacity(sql.len() + 1_500);
        if first {
            text.push_str(&format!(
                "SET LOCAL statement_timeout = {}; SET LOCAL lock_timeout = {}; ",
                hook.remaining_ms(),
                hook.lock_wait_ms
            ));
            if let Some((_, quoted)) = &hook.role {
                text.push_str(&format!("SET LOCAL ROLE {quoted}; "));
            }
            text.push_str(before_sql());
            text.push_str(";\n");
        }
        let start = text.len();
        text.push_str(sql);
        text.push_str("\n;");
        text.push_str(Level::Statement.sql());
        let deadline = hook.deadline;
        let sent = self.drive(Some(deadline), script(self.session.client(), &text, first));
        let Script { first: before, last, result, completed } = match sent {
            Ok(sent) => sent,
            Err(stop) => return Err(self.stopped(stop)),
        };
        let base = &self.base;
        let hook = self.hook.as_mut().expect("a guest statement runs inside a hook");
        hook.ran = true;
        if first {
            let Some(before) = before else {
                let error = result.err().unwrap_or_else(|| DbError::host("no answer to the hook's settings"));
                // PostgreSQL parses the whole text before it runs any of it:
                // a syntax error in the script stops the host's settings too.
                let error = in_script(error, &text, start, sql.len(), completed);
                if error.position.is_some() {
                    return Err(error);
                }
                // The host's own settings failed, and with them the transaction.
                return Err(DbError {
                    code: error.code,
                    message: format!("wasmig could not set up the hook: {}", error.message),
                    position: None,
                });
            };
            let expected = base.with_host_changes(&before);
            let role_expected = match hook.role_name() {
                Some(role) => expected.get("current_user") == Some(role),
                None => expected.get("current_user") == base.get("current_user"),
            };
            if !role_expected {
                hook.breach = Some(format!(
                    "the hook's role was not set: `current_user` is `{}`",
                    expected.get("current_user").unwrap_or_default()
                ));
            }
            hook.expected = Some(expected);
            if let Some(breach) = &hook.breach {
                return Err(breach_error(breach));
            }
        }
        let found = match (result, last) {
            (Ok(()), Some(found)) => Snapshot::from_text(found, Level::Statement),
            (Ok(()), None) => {
                hook.unverified = true;
                return Err(DbError::host("wasmig could not check the session after this script"));
            }
            // The script (or the check after it) failed: the transaction is
            // aborted, which undoes every setting changed in it.
            (Err(error), _) => return Err(self.explain(in_script(error, &text, start, sql.len(), completed))),
        };
        if let Some(difference) = found.difference(hook.expected.as_ref().unwrap_or(base), Scope::All) {
            let breach = difference.to_string();
            hook.breach = Some(breach.clone());
            return Err(breach_error(&breach));
        }
        Ok(Outcome::Done)
    }

    /// Under a role in autocommit, a statement that refused to run in a
    /// transaction block (`CREATE INDEX CONCURRENTLY`, `VACUUM`): run as the
    /// role outside one. Such a statement runs no revision code that could
    /// switch roles (PostgreSQL refuses them inside functions and DO blocks).
    fn guest_bare(&mut self, piece: Piece<'_>) -> Result<Outcome, DbError> {
        let hook = self.hook.as_ref().expect("a guest statement runs inside a hook");
        let Some(role) = hook.role_name().map(str::to_owned) else {
            return Err(DbError::host("a bare statement needs the hook's role"));
        };
        let prelude = prelude_sql(hook.remaining_ms(), hook.lock_wait_ms, Some(&role), false);
        let deadline = hook.deadline;
        // Sent on its own: the statement must not run if the role could not be set.
        let before = match self.drive(Some(deadline), Snapshot::query(self.session.client(), &prelude, Level::Full)) {
            Ok(before) => before?,
            Err(stop) => return Err(self.stopped(stop)),
        };
        let base = &self.base;
        let hook = self.hook.as_mut().expect("a guest statement runs inside a hook");
        hook.ran = true;
        if let Err(error) = accept_before(hook, base, before) {
            // The role may be set for the session: it must not stay.
            let _ = self.drive(None, self.session.client().batch_execute(&format!("RESET ROLE; {HOOK_RESETS}")));
            return Err(error);
        }
        let postlude = format!("RESET ROLE; {HOOK_RESETS}");
        let around = Around { postlude: Some(&postlude), ..Around::default() };
        let outcome = self.send(piece, around, false);
        if let Some(hook) = self.hook.as_mut() {
            hook.expected = None;
        }
        outcome
    }

    /// Sends `piece` with the host's SQL `around` it and judges the session
    /// state that comes back. `in_transaction`: the statement runs inside a
    /// transaction block (the host's, or its own under a role), which must
    /// still be the same one afterwards.
    fn send(&mut self, piece: Piece<'_>, around: Around<'_>, in_transaction: bool) -> Result<Outcome, DbError> {
        let deadline = self.hook_deadline();
        let client = self.session.client();
        let tls = self.session.cancel_tls();
        // Inside a transaction the full check decides at its end, before
        // COMMIT; in autocommit each statement commits on its own, so it is
        // checked in full.
        let level = match self.hook.as_ref().map(|hook| hook.mode) {
            Some(Mode::Transaction) => Level::Statement,
            _ => Level::Full,
        };
        let sent = self.drive(deadline, exchange(client, level, around, run_piece(client, piece, tls)));
        let Exchange { before, statement, after } = match sent {
            Ok(exchange) => exchange,
            Err(stop) => return Err(self.stopped(stop)),
        };
        let base = &self.base;
        let hook = self.hook.as_mut().expect("a guest statement runs inside a hook");
        hook.ran = true;
        let before = match before {
            Ok(before) => before,
            Err(error) => {
                // Inside a transaction block the statement failed too; in
                // autocommit it may have run in a session the host did not set up.
                if hook.mode == Mode::Autocommit {
                    hook.breach =
                        Some(format!("wasmig could not set the hook's statement_timeout and lock_timeout: {error}"));
                }
                return Err(DbError {
                    code: error.code,
                    message: format!("wasmig could not set up the hook: {}", error.message),
                    position: None,
                });
            }
        };
        if hook.mode == Mode::Autocommit && around.before.is_some() {
            hook.session_timeout = true;
        }
        if let Some(before) = before {
            accept_before(hook, base, before)?;
        }
        let scope = if in_transaction { Scope::All } else { Scope::Settings };
        match after {
            Ok(found) => {
                let expected = hook.expected.as_ref().unwrap_or(base);
                if let Some(difference) = found.difference(expected, scope) {
                    let breach = difference.to_string();
                    hook.breach = Some(breach.clone());
                    // The statement's result (rows, even its error) stays with the host.
                    return Err(breach_error(&breach));
                }
            }
            // Inside a transaction block any error aborts the transaction,
            // which undoes every setting changed in it; nothing runs in it
            // until the rollback. A statement that succeeded fails with the
            // error (a deferred constraint, or the check cancelled at the deadline).
            Err(error) if in_transaction && error.code.is_some() => {
                if statement.is_ok() {
                    return Err(self.explain(error));
                }
            }
            Err(error) => {
                hook.unverified = true;
                return Err(match statement {
                    Err(statement_error) => statement_error,
                    Ok(_) => DbError::host(format!(
                        "wasmig could not check the session after this statement, so its result is withheld: {error}"
                    )),
                });
            }
        }
        statement.map_err(|error| self.explain(error))
    }

    /// A statement stopped by the deadline gets a message that says so.
    fn explain(&self, mut error: DbError) -> DbError {
        if let Some(hook) = &self.hook
            && error.code.as_deref() == Some(QUERY_CANCELED)
            && Instant::now() >= hook.deadline
        {
            error.message.push_str(&format!(
                " (the hook's time budget of {:?} ran out; wasmig cancelled the statement)",
                hook.budget
            ));
        }
        error
    }

    /// After [`Stop`]: the session is unusable; it is replaced before the
    /// next host statement, and a transaction of the host's is lost.
    fn stopped(&mut self, stop: Stop) -> DbError {
        let mut error = stop.into_error();
        if let Some(hook) = self.hook.as_mut() {
            error.message = format!("the hook's time budget of {:?} ran out; {}", hook.budget, error.message);
            hook.closed = Some(error.message.clone());
        }
        self.stale = Some(error.message.clone());
        if self.in_transaction {
            self.lost = Some(error.message.clone());
        }
        error
    }

    /// Notes a failure inside the transaction [`Connection::begin`] opened, and
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

    /// The prepared statement for `sql`, prepared once per session (within
    /// `deadline`: preparing takes locks on the tables it names).
    fn statement(&mut self, sql: &str, deadline: Option<Instant>) -> Result<Statement, DbError> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let prepared = self.drive(deadline, self.session.client().prepare(sql));
        let statement = match prepared {
            Ok(prepared) => prepared.map_err(|error| db_error_in(error, sql))?,
            Err(stop) => return Err(self.stopped(stop)),
        };
        if self.statements.len() >= STATEMENT_CACHE_LIMIT {
            self.statements.clear();
        }
        self.statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }

    /// Prepares a host statement and adapts `params` to the types of its placeholders.
    fn prepare_call<'v>(&mut self, sql: &str, params: &'v [Value]) -> Result<(Statement, Vec<Binding<'v>>), DbError> {
        let statement = self.statement(sql, None)?;
        let bindings = bind(params, statement.params())?;
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
}

/// Takes the session state read after the host set a hook up as what the
/// hook's statements must leave: it must be the host's (as at connect, but
/// for the hook's own settings) and run as the hook's role.
fn accept_before(hook: &mut Hook, base: &Snapshot, before: Snapshot) -> Result<(), DbError> {
    let role_expected = match hook.role_name() {
        Some(role) => before.get("current_user") == Some(role),
        None => before.get("current_user") == base.get("current_user"),
    };
    if let Some(difference) = before.difference(base, Scope::Unchanged) {
        hook.breach = Some(format!("before the hook's statement, {difference}"));
    } else if !role_expected {
        hook.breach = Some(format!(
            "the hook's role was not set: `current_user` is `{}`",
            before.get("current_user").unwrap_or_default()
        ));
    }
    hook.expected = Some(before);
    match &hook.breach {
        Some(breach) => Err(breach_error(breach)),
        None => Ok(()),
    }
}

/// The request `piece` stands for.
async fn run_piece(client: &Client, piece: Piece<'_>, tls: Connector) -> Result<Outcome, DbError> {
    match piece {
        Piece::Simple(sql) => {
            client.batch_execute(sql).await.map(|()| Outcome::Done).map_err(|error| db_error_in(error, sql))
        }
        Piece::Execute(statement, bindings) => {
            let params = sql_params(bindings);
            client.execute(statement, &params).await.map(Outcome::Count).map_err(db_error)
        }
        Piece::ExecuteMany(statement, rows, failed_row) => {
            let params: Vec<_> = rows.iter().map(|bindings| sql_params(bindings)).collect();
            let outcomes = in_order(params.iter().map(|params| client.execute(statement, params))).await;
            let mut changed = 0;
            for (row, outcome) in outcomes.into_iter().enumerate() {
                match outcome {
                    Ok(count) => changed += count,
                    Err(error) => {
                        failed_row.set(row);
                        return Err(db_error(error));
                    }
                }
            }
            Ok(Outcome::Count(changed))
        }
        Piece::Query(statement, bindings, limit) => {
            query_rows(client, statement, bindings, limit, tls).await.map(Outcome::Rows)
        }
    }
}

/// Runs a query and decodes its rows as they arrive, holding at most
/// `limit` bytes of values: past it the server is asked to cancel the query
/// and the rest of the result is read and dropped, never held.
async fn query_rows(
    client: &Client,
    statement: &Statement,
    bindings: &[Binding<'_>],
    limit: u64,
    tls: Connector,
) -> Result<Rows, DbError> {
    let params = bindings.iter().map(|binding| binding as &(dyn ToSql + Sync));
    let stream = client.query_raw(statement, params).await.map_err(db_error)?;
    let mut stream = pin!(stream);
    let columns = statement.columns();
    let mut budget = ResultBudget::new(limit);
    let mut rows = match empty_rows(columns, &mut budget) {
        Ok(rows) => rows,
        Err(_) => return Err(over_budget(limit, 0)),
    };
    loop {
        let Some(row) = poll_fn(|cx| stream.as_mut().poll_next(cx)).await else {
            return Ok(rows);
        };
        let row = row.map_err(db_error)?;
        let error = match push_row(columns, &row, &mut rows, &mut budget) {
            Ok(()) => continue,
            Err(RowError::OverBudget) => over_budget(limit, rows.values.len()),
            Err(RowError::Decode(error)) => error,
        };
        cancel(client, tls).await;
        // Read the query to its end (its last rows, or the cancel's error),
        // holding nothing: a cancel still on its way when the next statement
        // starts would cancel that one instead.
        while let Some(Ok(_)) = poll_fn(|cx| stream.as_mut().poll_next(cx)).await {}
        return Err(error);
    }
}

/// `future`'s output, or `None` once `deadline` passes or a stop is requested
/// ([`crate::interrupt`]): then the statement is cancelled.
async fn until<F: Future + Unpin>(deadline: Instant, mut future: F) -> Option<F::Output> {
    let mut sleep = pin!(tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)));
    let mut stop = pin!(crate::interrupt::requested_async());
    poll_fn(|cx| {
        if let Poll::Ready(output) = Pin::new(&mut future).poll(cx) {
            return Poll::Ready(Some(output));
        }
        if sleep.as_mut().poll(cx).is_ready() || stop.as_mut().poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        Poll::Pending
    })
    .await
}

fn over_budget(limit: u64, rows: usize) -> DbError {
    DbError::host(format!(
        "the result of this query is over the hook's memory budget of {limit} bytes (stopped after {rows} row(s); \
         the rest was not read into memory): select fewer rows or columns, or read the table in pages \
         (WHERE key > last ORDER BY key LIMIT n)"
    ))
}

fn aborted_by(first: &str) -> String {
    format!(
        ": the transaction was aborted by an earlier statement that failed ({first}). On PostgreSQL a failed \
         statement ends the transaction even when the revision catches the error: let it fail the step, or avoid \
         the failure (for example INSERT ... ON CONFLICT DO NOTHING)"
    )
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_dml_keeps_the_statement_cache() {
        assert!(is_plain_dml("  -- note\n /* x */ select 1"));
        assert!(!is_plain_dml("ALTER TABLE t ADD c int"));
    }
}
