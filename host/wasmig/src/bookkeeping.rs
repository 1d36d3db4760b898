//! The host's own writes: the version tables of one connection, inside transaction envelopes that roll back on any failure.
//!
//! Every command that writes (the apply loop, stamp, repair, resolve, the
//! creation of the tables) goes through [`Bookkeeper`]: one place owns
//! BEGIN / COMMIT / ROLLBACK and turns the backend's errors into typed
//! [`Failure`]s that name the database and the action.

use crate::backend::Backend;
use crate::error::Failure;
use crate::events::{self, Event, EventFilter};
use crate::journal::{self, JournalEntry, JournalFilter};
use crate::sql::{DbError, Dialect};
use crate::versions::{AppliedRow, EventKind, NewEvent, RowState, VersionTables};

/// One connection and its version tables, as the host's bookkeeping uses them.
///
/// Holds the backend as a `Box` because a running hook borrows it whole
/// (the runtime lends the box to the wasmtime store for the call).
pub(crate) struct Bookkeeper<'a> {
    pub(crate) db: &'a mut Box<dyn Backend>,
    pub(crate) tables: VersionTables,
    pub(crate) database: String,
    /// Whether runs write the statement journal (`[journal] enabled`).
    pub(crate) journal: bool,
    /// Whether the journal records each statement's strongest lock (`[journal] locks`).
    pub(crate) journal_locks: bool,
}

impl<'a> Bookkeeper<'a> {
    pub(crate) fn new(db: &'a mut Box<dyn Backend>, table_prefix: &str) -> Self {
        let tables = VersionTables::new(table_prefix, db.dialect());
        let database = db.describe();
        Bookkeeper { db, tables, database, journal: true, journal_locks: false }
    }

    /// Maps a backend error of `action` to a failure naming this database.
    pub(crate) fn failed(&self, action: impl Into<String>) -> impl FnOnce(DbError) -> Failure {
        Failure::db(&self.database, action)
    }

    /// The applied rows, or none when the tables do not exist yet.
    pub(crate) fn applied_rows(&mut self) -> Result<Vec<AppliedRow>, Failure> {
        if !self.tables.exists(self.db.as_mut()).map_err(self.failed("looking for the version tables"))? {
            return Ok(Vec::new());
        }
        self.read_rows()
    }

    pub(crate) fn read_rows(&mut self) -> Result<Vec<AppliedRow>, Failure> {
        let action = format!(
            "reading the applied set from {} (a table of wasmig's own: if its columns were changed by hand, restore \
             them as docs/DATABASE.md lists them)",
            self.tables.revisions_table()
        );
        self.tables.read(self.db.as_mut()).map_err(self.failed(action))
    }

    /// Creates the version tables if they are missing, in their own transaction.
    pub(crate) fn ensure_tables(&mut self) -> Result<(), Failure> {
        if self.tables.exists(self.db.as_mut()).map_err(self.failed("looking for the version tables"))? {
            return Ok(());
        }
        self.in_transaction(|books| {
            books.tables.create(books.db.as_mut()).map_err(books.failed("creating the version tables"))
        })
    }

    /// Creates the statement journal if it is missing (a database whose
    /// version tables an older wasmig created has none), in its own transaction.
    /// A journal an older wasmig created without the columns added since
    /// gets them, in a transaction of its own too.
    pub(crate) fn ensure_journal(&mut self) -> Result<(), Failure> {
        let table = self.tables.journal_table().to_owned();
        let columns =
            journal::columns(&self.tables, self.db.as_mut()).map_err(self.failed("looking for the journal"))?;
        let (sql, action) = match columns.is_empty() {
            true => (journal::create_sql(&self.tables, self.db.as_ref()), "creating"),
            false => match journal::upgrade_sql(&self.tables, self.db.as_ref(), &columns) {
                Some(sql) => (sql, "adding the lock columns to"),
                None => return Ok(()),
            },
        };
        self.in_transaction(|books| {
            books.db.execute_script(&sql).map_err(books.failed(format!("{action} the statement journal {table}")))
        })
    }

    /// The journal's rows `filter` selects, oldest first (none without the journal).
    pub(crate) fn journal(&mut self, filter: &JournalFilter) -> Result<Vec<JournalEntry>, Failure> {
        journal::read(&self.tables, self.db.as_mut(), filter).map_err(self.failed("reading the statement journal"))
    }

    /// The recorded state of one revision, read inside the current transaction.
    pub(crate) fn state_of(&mut self, revision: &str) -> Result<Option<RowState>, Failure> {
        self.tables
            .state_of(self.db.as_mut(), revision)
            .map_err(self.failed(format!("re-reading the state of {revision}")))
    }

    /// Inside the step's transaction, a scope in which the database refuses
    /// writes: `upgrade --adopt` runs a revision's `verify` there, under the
    /// same rule as `wasmig verify`. A savepoint makes it undoable whatever
    /// the hook did; [`Bookkeeper::leave_read_only`] rolls back to it.
    pub(crate) fn enter_read_only(&mut self) -> Result<(), Failure> {
        let sql = match self.db.dialect() {
            Dialect::Sqlite => "SAVEPOINT wasmig_read_only; PRAGMA query_only = ON",
            // Going from read-write to read-only is allowed at any point of
            // a transaction; the savepoint's rollback restores the setting.
            Dialect::Postgres => "SAVEPOINT wasmig_read_only; SET LOCAL transaction_read_only = on",
        };
        self.db.execute_script(sql).map_err(self.failed("entering a read-only scope for verify"))
    }

    pub(crate) fn leave_read_only(&mut self) -> Result<(), Failure> {
        let sql = match self.db.dialect() {
            Dialect::Sqlite => "PRAGMA query_only = OFF; ROLLBACK TO wasmig_read_only; RELEASE wasmig_read_only",
            Dialect::Postgres => "ROLLBACK TO SAVEPOINT wasmig_read_only; RELEASE SAVEPOINT wasmig_read_only",
        };
        self.db.execute_script(sql).map_err(self.failed("leaving the read-only scope of verify"))
    }

    /// The events `filter` selects, newest first (none without the tables).
    pub(crate) fn events(&mut self, filter: &EventFilter) -> Result<Vec<Event>, Failure> {
        events::read(&self.tables, self.db.as_mut(), filter).map_err(self.failed("reading the events"))
    }

    /// The last run's failure, if nothing succeeded since.
    pub(crate) fn last_failure(&mut self) -> Result<Option<Event>, Failure> {
        events::last_failure(&self.tables, self.db.as_mut()).map_err(self.failed("reading the last run's outcome"))
    }

    /// Appends one event to the events table.
    pub(crate) fn record(&mut self, event: &NewEvent<'_>) -> Result<(), Failure> {
        let action = match event.kind {
            EventKind::Fail => "recording the failure",
            _ => "recording an event",
        };
        self.tables.record(self.db.as_mut(), event).map_err(self.failed(action))
    }
}

impl<'a> Envelope<'a> for Bookkeeper<'a> {
    fn books(&mut self) -> &mut Bookkeeper<'a> {
        self
    }
}

/// Whatever holds a [`Bookkeeper`] can run a body inside one transaction of its connection.
pub(crate) trait Envelope<'a>: Sized {
    fn books(&mut self) -> &mut Bookkeeper<'a>;

    /// BEGIN, `body`, COMMIT; ROLLBACK on any error, and the first error wins.
    fn in_transaction<T>(&mut self, body: impl FnOnce(&mut Self) -> Result<T, Failure>) -> Result<T, Failure> {
        let books = self.books();
        books.db.begin().map_err(books.failed("beginning a transaction"))?;
        let result = body(self).and_then(|value| {
            let books = self.books();
            books.db.commit().map_err(books.failed("committing"))?;
            Ok(value)
        });
        let books = self.books();
        if result.is_err()
            && let Err(error) = books.db.rollback()
        {
            tracing::error!(database = %books.database, "rolling back after a failure also failed: {error}");
        }
        result
    }
}
