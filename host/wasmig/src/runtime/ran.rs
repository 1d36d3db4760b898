//! What a hook ran: each statement that reached the host, in order, as the statement journal records it.
//!
//! Kept in the hook's store while it runs and handed to the caller however
//! the hook ended, so that the statements of a failed hook are journaled too
//! (docs/JOURNAL.md). Parameter values never enter here: only the text.

use std::time::Duration;

use crate::lint::{CallNotes, LockTaken};
use crate::sql::{DbError, Dialect};

/// How the guest sent a statement. New calls come with new contract
/// versions (`execute-many` came with 0.1.1), so a match needs a catch-all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Call {
    Execute,
    /// One statement run once per row of parameters (`execute-many`).
    ExecuteMany,
    Query,
    /// One statement of an `execute-script`.
    Script,
}

impl Call {
    pub fn as_str(self) -> &'static str {
        match self {
            Call::Execute => "execute",
            Call::ExecuteMany => "execute-many",
            Call::Query => "query",
            Call::Script => "script",
        }
    }
}

/// One statement, or a run of identical ones sent one after the other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RanStatement {
    pub text: String,
    pub call: Call,
    /// How many times it ran back to back: a backfill loop that sends the
    /// same statement with new parameters is one entry, not one per row.
    pub executions: u64,
    /// Time in the database. A script is one round trip: its statements
    /// have no time of their own, and the script's is on its last one.
    pub duration: Option<Duration>,
    /// Rows changed (`execute`) or returned (`query`); `None` for a script's statements.
    pub rows: Option<u64>,
    /// The database's error code (`WASMIG` when the host refused it).
    pub error_code: Option<String>,
    /// The lint's findings on it, and a revision's allowances (docs/LINT.md).
    pub note: Option<String>,
    /// PostgreSQL with `[journal] locks = true`: the strongest lock it took.
    /// A script is one round trip: its lock is on its last statement.
    pub lock: Option<LockTaken>,
}

/// The statements of a hook, as they come.
#[derive(Debug, Default)]
pub(crate) struct Ran {
    pub(crate) statements: Vec<RanStatement>,
}

impl Ran {
    /// One `execute` or `query`, with its outcome and what the lint noted.
    pub(crate) fn statement(
        &mut self,
        text: &str,
        call: Call,
        duration: Duration,
        outcome: Result<u64, &DbError>,
        notes: CallNotes,
    ) {
        let (rows, error_code) = match outcome {
            Ok(rows) => (Some(rows), None),
            Err(error) => (None, Some(code(error))),
        };
        let note = notes.notes.into_iter().next().flatten();
        if error_code.is_none()
            && let Some(last) = self.statements.last_mut()
            && last.call == call
            && last.error_code.is_none()
            && last.text == text
            && (note.is_none() || note == last.note)
        {
            last.executions += 1;
            last.duration = Some(last.duration.unwrap_or_default() + duration);
            last.rows = Some(last.rows.unwrap_or_default() + rows.unwrap_or_default());
            if notes.lock.as_ref().map(|lock| lock.mode) > last.lock.as_ref().map(|lock| lock.mode) {
                last.lock = notes.lock;
            }
            return;
        }
        self.statements.push(RanStatement {
            text: text.to_owned(),
            call,
            executions: 1,
            duration: Some(duration),
            rows,
            error_code,
            note,
            lock: notes.lock,
        });
    }

    /// One `execute-many` that ran its statement `executions` times (every
    /// row, or up to the one that failed): one entry, as a loop of `execute` is.
    pub(crate) fn many(
        &mut self,
        text: &str,
        executions: u64,
        duration: Duration,
        outcome: Result<u64, &DbError>,
        notes: CallNotes,
    ) {
        self.statement(text, Call::ExecuteMany, duration, outcome, notes);
        if let Some(last) = self.statements.last_mut() {
            last.executions += executions.saturating_sub(1);
        }
    }

    /// One `execute-script` (split as [`split_script`] splits it): each of
    /// its statements, up to the one that failed when the error says where
    /// (the rest never ran).
    pub(crate) fn script(
        &mut self,
        statements: &[(usize, &str)],
        duration: Duration,
        outcome: Result<(), &DbError>,
        notes: CallNotes,
    ) {
        let failed_at = outcome.err().and_then(|error| error.position);
        let mut entries: Vec<RanStatement> = Vec::new();
        let mut statement_notes = notes.notes.into_iter();
        for (offset, text) in statements {
            entries.push(RanStatement {
                text: (*text).to_owned(),
                call: Call::Script,
                executions: 1,
                duration: None,
                rows: None,
                error_code: None,
                note: statement_notes.next().flatten(),
                lock: None,
            });
            // The failing statement is the first that ends after the error's
            // position: SQLite points a statement that did not prepare at
            // the end of the one before it.
            if failed_at.is_some_and(|at| at < offset + text.len()) {
                break;
            }
        }
        let Some(last) = entries.last_mut() else { return };
        last.duration = Some(duration);
        last.error_code = outcome.err().map(code);
        last.lock = notes.lock;
        self.statements.extend(entries);
    }

    /// A statement the host refused before it reached the database (the
    /// SQL guard, or a lint rule set to `deny`, whose finding is `note`).
    pub(crate) fn refused(&mut self, text: &str, call: Call, note: Option<String>) {
        let refused = DbError::host("");
        let notes = CallNotes { notes: vec![note], lock: None };
        self.statement(text, call, Duration::ZERO, Err(&refused), notes);
    }
}

/// The statements of a script as the SQL guard splits them, with their
/// byte offsets; a script the guard passed always splits, and one that
/// does not is one statement.
pub(crate) fn split_script(script: &str, dialect: Dialect) -> Vec<(usize, &str)> {
    match wasmig_sqlguard::split_statements(script, dialect.guard_dialect()) {
        Ok(statements) => statements.into_iter().map(|statement| (statement.offset, statement.text)).collect(),
        Err(_) => vec![(0, script.trim())],
    }
}

fn code(error: &DbError) -> String {
    error.code.clone().unwrap_or_else(|| DbError::HOST_CODE.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_statements_collapse_and_a_failed_script_stops_at_the_failure() {
        let mut ran = Ran::default();
        let tick = Duration::from_millis(1);
        ran.statement("INSERT INTO t VALUES (?1)", Call::Execute, tick, Ok(1), CallNotes::default());
        ran.statement("INSERT INTO t VALUES (?1)", Call::Execute, tick, Ok(1), CallNotes::default());
        ran.statement("SELECT 1", Call::Query, tick, Ok(1), CallNotes::default());
        assert_eq!(ran.statements.len(), 2);
        assert_eq!((ran.statements[0].executions, ran.statements[0].rows), (2, Some(2)));
        let mut many = Ran::default();
        many.many("INSERT INTO t VALUES (?1)", 3, tick, Ok(3), CallNotes::default());
        many.many("INSERT INTO t VALUES (?1)", 2, tick, Ok(2), CallNotes::default());
        let failed = DbError::new(Some("23505".into()), "duplicate");
        many.many("INSERT INTO t VALUES (?1)", 2, tick, Err(&failed), CallNotes::default());
        let counts: Vec<_> = many.statements.iter().map(|entry| (entry.executions, entry.rows)).collect();
        assert_eq!(counts, [(5, Some(5)), (2, None)], "calls merge by rows run; a failed one stands alone");
        let script = "CREATE TABLE a (id int);\nCREATE TABLE a (id int);\nCREATE TABLE b (id int);";
        let error = DbError { position: Some(30), ..DbError::new(Some("42P07".into()), "exists") };
        ran.script(&split_script(script, Dialect::Postgres), tick, Err(&error), CallNotes::default());
        let texts: Vec<&str> = ran.statements[2..].iter().map(|entry| entry.text.as_str()).collect();
        assert_eq!(texts, ["CREATE TABLE a (id int)", "CREATE TABLE a (id int)"], "b never ran");
        assert_eq!(ran.statements[3].error_code.as_deref(), Some("42P07"));
        assert_eq!((ran.statements[2].error_code.as_ref(), ran.statements[2].duration), (None, None));
        // Pointed at the end of the statement before it (SQLite, for one that did not prepare).
        let mut ran = Ran::default();
        let error = DbError { position: Some(23), ..DbError::new(Some("SQLITE_ERROR".into()), "no such table") };
        ran.script(&split_script(script, Dialect::Sqlite), tick, Err(&error), CallNotes::default());
        assert_eq!(ran.statements.len(), 2);
        assert_eq!(ran.statements[1].error_code.as_deref(), Some("SQLITE_ERROR"));
    }
}
