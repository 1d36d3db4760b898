//! One hook's session on a SQLite connection: what `begin_hook` sets up, the checks around each guest statement, and how `end_hook` puts the connection back and judges it.
//!
//! Set up, in this order, and undone in reverse: `PRAGMA query_only` for a
//! read-only hook (with the authorizer refusing writes too, so a `verify`
//! only reads even when the host opened no read-only transaction);
//! `SQLITE_LIMIT_ATTACHED = 0` unless the project allows `server-files`;
//! `SQLITE_LIMIT_LENGTH` down to the hook's memory budget (one value, e.g.
//! a `randomblob`, `printf` or sort record, is built by one instruction that
//! no interrupt stops: the limit bounds its time as well as its memory);
//! the guest's authorizer; the deadline watchdog.
//!
//! The step's transaction is the host's. If it was open when the hook began
//! and a guest statement ends it (`INSERT OR ROLLBACK`, `RAISE(ROLLBACK)`,
//! an interrupted write, some I/O errors: SQLite rolls back the whole
//! transaction), every later statement of the hook is refused before it
//! runs, so none can autocommit, and `end_hook` reports the breach: the step
//! fails and nothing is recorded.

use std::time::Instant;

use rusqlite::limits::Limit;
use rusqlite::{Connection, InterruptHandle};
use wasmig_sqlguard::Capability;

use super::authorizer::{self, GuestRules, Refusals};
use super::error::db_error;
use super::run::Checks;
use super::watchdog::{self, Ticket};
use crate::backend::{HookSession, SessionBreach};
use crate::sql::DbError;

/// The least a hook's value-size limit is lowered to, whatever its memory
/// budget: SQLite reads the schema's SQL under the same limit.
const MIN_VALUE_BYTES: u64 = 16 * 1024 * 1024;

/// A hook running on the connection.
#[derive(Debug)]
pub(super) struct Session {
    deadline: Instant,
    budget: u64,
    /// The host had a transaction open when the hook began.
    host_transaction: bool,
    /// Why the session can no longer be trusted, once it cannot.
    breach: Option<String>,
    restore: Restore,
    watchdog: Option<Ticket>,
}

/// What `begin_hook` changed, to put back.
#[derive(Debug, Default)]
struct Restore {
    /// `query_only` was off and the hook turned it on.
    query_only: bool,
    /// The attached-databases limit before the hook lowered it.
    attached: Option<i32>,
    /// The value-size limit before the hook lowered it, and what it lowered it to.
    length: Option<(i32, i32)>,
    /// The guest's authorizer is installed.
    authorizer: bool,
}

impl Session {
    pub(super) fn begin(
        connection: &mut Connection,
        interrupt: InterruptHandle,
        hook: &HookSession,
        refusals: &Refusals,
    ) -> Result<Session, DbError> {
        let mut session = Session {
            deadline: hook.deadline,
            budget: hook.max_result_bytes,
            host_transaction: !connection.is_autocommit(),
            breach: None,
            restore: Restore::default(),
            watchdog: None,
        };
        if let Err(error) = session.set_up(connection, hook, refusals) {
            session.put_back(connection, refusals);
            return Err(error);
        }
        session.watchdog = Some(watchdog::arm(hook.deadline, interrupt));
        Ok(session)
    }

    fn set_up(&mut self, connection: &mut Connection, hook: &HookSession, refusals: &Refusals) -> Result<(), DbError> {
        let server_files = hook.capabilities.allows(Capability::ServerFiles);
        if hook.read_only {
            let on: bool = connection.pragma_query_value(None, "query_only", |row| row.get(0)).map_err(db_error)?;
            if !on {
                connection.execute_batch("PRAGMA query_only = ON").map_err(db_error)?;
                self.restore.query_only = true;
            }
        }
        if !server_files {
            self.restore.attached = Some(connection.set_limit(Limit::SQLITE_LIMIT_ATTACHED, 0).map_err(db_error)?);
        }
        let length = connection.limit(Limit::SQLITE_LIMIT_LENGTH).map_err(db_error)?;
        let cap = hook.max_result_bytes.max(MIN_VALUE_BYTES).min(length as u64) as i32;
        if cap < length {
            connection.set_limit(Limit::SQLITE_LIMIT_LENGTH, cap).map_err(db_error)?;
            self.restore.length = Some((length, cap));
        }
        refusals.take();
        let rules = GuestRules {
            protected: hook.protected_tables.iter().map(|name| name.as_str().into()).collect(),
            read_only: hook.read_only,
            server_files,
        };
        authorizer::install_guest(connection, rules, refusals).map_err(db_error)?;
        self.restore.authorizer = true;
        Ok(())
    }

    /// Undoes what `set_up` did, as far as it got. Failures are logged: the
    /// connection is then stricter than the host needs, never looser.
    fn put_back(&mut self, connection: &mut Connection, refusals: &Refusals) {
        if std::mem::take(&mut self.restore.authorizer)
            && let Err(error) = authorizer::install_host(connection, refusals)
        {
            tracing::warn!("cannot remove the SQLite authorizer of a hook: {error}");
        }
        if let Some(attached) = self.restore.attached.take()
            && let Err(error) = connection.set_limit(Limit::SQLITE_LIMIT_ATTACHED, attached)
        {
            tracing::warn!("cannot restore SQLite's attached-database limit: {error}");
        }
        if let Some((length, _)) = self.restore.length.take()
            && let Err(error) = connection.set_limit(Limit::SQLITE_LIMIT_LENGTH, length)
        {
            tracing::warn!("cannot restore SQLite's value-size limit: {error}");
        }
        if std::mem::take(&mut self.restore.query_only)
            && let Err(error) = connection.execute_batch("PRAGMA query_only = OFF")
        {
            tracing::warn!("cannot turn SQLite's query_only off after a read-only hook: {error}");
        }
        refusals.take();
    }

    /// The most bytes of rows a query of this hook may hold.
    pub(super) fn budget(&self) -> u64 {
        self.budget
    }

    /// The hook is over: the connection is as the host left it, or the step must fail.
    pub(super) fn end(mut self, connection: &mut Connection, refusals: &Refusals) -> Result<(), SessionBreach> {
        // First, so that no interrupt can reach the host's next statement.
        if let Some(ticket) = self.watchdog.take() {
            ticket.disarm();
        }
        self.put_back(connection, refusals);
        if self.breach.is_none() {
            self.notice_breach(connection);
        }
        if !self.host_transaction && !connection.is_autocommit() {
            // Nothing of the host's is open: whatever is, is the guest's.
            let rolled_back = connection
                .execute_batch("ROLLBACK")
                .err()
                .map(|error| format!(" (and rolling it back failed: {error})"));
            self.breach.get_or_insert_with(|| {
                format!(
                    "the hook left a transaction open on a step that runs outside one{}; it was rolled back",
                    rolled_back.unwrap_or_default()
                )
            });
        }
        match self.breach {
            Some(breach) => Err(SessionBreach(breach)),
            None => Ok(()),
        }
    }

    /// Records a breach if the host's transaction is gone; returns what the
    /// statement that ended it reports, when it is new.
    fn notice_breach(&mut self, connection: &Connection) -> Option<String> {
        if self.breach.is_some() || !self.host_transaction || !connection.is_autocommit() {
            return None;
        }
        let cause = if Instant::now() >= self.deadline {
            "SQLite rolled it back when the hook's deadline (its `sql_timeout_ms`) or a stop request interrupted a statement that was writing"
        } else {
            "a statement of the revision ended it (SQLite rolls the whole transaction back for INSERT OR ROLLBACK, \
             RAISE(ROLLBACK) in a trigger and some I/O errors)"
        };
        self.breach = Some(format!(
            "the step's transaction ended inside the hook: {cause}; wasmig refused every statement of the hook after it"
        ));
        Some(format!(
            "the step's transaction ended: {cause}. The step will be rolled back and nothing it did is recorded; \
             wasmig refuses the hook's further statements"
        ))
    }
}

impl Checks for Session {
    fn before(&mut self) -> Result<(), DbError> {
        if self.breach.is_some() {
            return Err(DbError::host(
                "statement not run: the step's transaction ended earlier in this hook, so the step will be rolled \
                 back and nothing it did is recorded",
            ));
        }
        if crate::interrupt::requested() {
            return Err(DbError::host("statement not run: a stop was requested"));
        }
        if Instant::now() >= self.deadline {
            return Err(DbError::host(
                "statement not run: the hook is past its deadline (the revision's `sql_timeout_ms`)",
            ));
        }
        Ok(())
    }

    fn after<T>(&mut self, connection: &Connection, outcome: Result<T, DbError>) -> Result<T, DbError> {
        let outcome = outcome.map_err(|mut error| {
            if let (Some("SQLITE_TOOBIG"), Some((_, cap))) = (error.code.as_deref(), self.restore.length) {
                error.message = format!(
                    "{} (in a hook one value may hold at most {cap} bytes: the revision's memory budget, `memory_mb`)",
                    error.message
                );
            }
            error
        });
        let Some(breach) = self.notice_breach(connection) else {
            return outcome;
        };
        Err(match outcome {
            Ok(_) => DbError::host(breach),
            Err(mut error) => {
                error.message = format!("{}; and {breach}", error.message);
                error
            }
        })
    }
}
