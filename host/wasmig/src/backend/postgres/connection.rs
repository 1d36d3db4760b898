//! The backend's own connection and its state: the prepared-statement cache, the running hook's `statement_timeout` and the transaction `Backend::begin` opened.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tokio_postgres::Statement;

use super::bind::{Binding, bind, sql_params};
use super::decode::{check_columns, decode_rows};
use super::session::Session;
use crate::sql::{DbError, Rows, Value};

/// A hook's `statement_timeout` is set again before a statement when the one
/// in force would let that statement run past the deadline by more than this.
const DEADLINE_SLACK: Duration = Duration::from_millis(100);

/// Prepared statements kept per connection; past this the cache starts over,
/// so a guest that builds unique SQL strings cannot grow it without bound.
const STATEMENT_CACHE_LIMIT: usize = 512;

/// SQLSTATE `in_failed_sql_transaction`: a statement sent after one failed.
const IN_FAILED_TRANSACTION: &str = "25P02";

/// The connection statements run on, and what the backend keeps about it.
pub(super) struct Connection {
    session: Session,
    statements: HashMap<String, Statement>,
    /// A transaction opened by [`Connection::begin`] is open.
    in_transaction: bool,
    /// The first statement that failed inside that transaction: PostgreSQL
    /// has aborted it (checked at commit). Kept to explain the "current
    /// transaction is aborted" errors of every later statement.
    first_failure: Option<String>,
    hook: Option<HookBudget>,
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
    /// `SET LOCAL`: ends with the transaction [`Connection::begin`] opened.
    Transaction,
    /// A session `SET` (autocommit hooks), reset by [`Connection::end_hook`].
    /// Inside a transaction opened by other means a rollback undoes it too.
    Session,
}

impl Connection {
    pub(super) fn new(session: Session) -> Self {
        Connection { session, statements: HashMap::new(), in_transaction: false, first_failure: None, hook: None }
    }

    pub(super) fn cached_statements(&self) -> usize {
        self.statements.len()
    }

    pub(super) fn in_transaction(&self) -> bool {
        self.in_transaction
    }

    /// Runs one statement; returns the rows affected.
    pub(super) fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        let result = self.prepare_call(sql, params).and_then(|(statement, bindings)| {
            self.session.run(self.session.client().execute(&statement, &sql_params(&bindings)))
        });
        self.forget_statements_after(sql);
        self.track(result)
    }

    /// Runs one statement and returns all its rows.
    pub(super) fn query(&mut self, sql: &str, params: &[Value]) -> Result<Rows, DbError> {
        let result = self.prepare_call(sql, params).and_then(|(statement, bindings)| {
            let columns = statement.columns();
            // Refused before it runs: a query with side effects
            // (`INSERT ... RETURNING`) must not half happen.
            check_columns(columns)?;
            let rows = self.session.run(self.session.client().query(&statement, &sql_params(&bindings)))?;
            decode_rows(columns, &rows)
        });
        self.forget_statements_after(sql);
        self.track(result)
    }

    /// Runs several statements without parameters.
    pub(super) fn execute_script(&mut self, sql: &str) -> Result<(), DbError> {
        // The timeout travels in the same round trip as the script.
        let batch = match self.statement_timeout_update() {
            Some(update) => format!("{update};\n{sql}"),
            None => sql.to_owned(),
        };
        let result = self.session.run(self.session.client().batch_execute(&batch));
        self.forget_row_statements();
        self.track(result)
    }

    /// A hook starts: its statements must stop at `deadline`.
    pub(super) fn begin_hook(&mut self, deadline: Instant) {
        // The limit is sent with the hook's first statement (see
        // `statement_timeout_update`): a hook that runs none costs no round trip.
        let scope = if self.in_transaction { TimeoutScope::Transaction } else { TimeoutScope::Session };
        self.hook = Some(HookBudget { deadline, scope, timeout: Duration::MAX });
    }

    /// The hook ended: its session `statement_timeout`, if it set one, goes.
    pub(super) fn end_hook(&mut self) -> Result<(), DbError> {
        let Some(budget) = self.hook.take() else {
            return Ok(());
        };
        if budget.timeout == Duration::MAX {
            return Ok(());
        }
        // In a transaction the hook's `SET LOCAL` ends with it; the executor's
        // own few statements before COMMIT run under the remaining budget.
        // In autocommit the session setting must go.
        if budget.scope == TimeoutScope::Session {
            return self.session.run(self.session.client().batch_execute("RESET statement_timeout"));
        }
        Ok(())
    }

    /// Opens a transaction with `command` (`BEGIN`, `BEGIN READ ONLY`).
    pub(super) fn begin(&mut self, command: &str) -> Result<(), DbError> {
        self.session.run(self.session.client().batch_execute(command))?;
        self.in_transaction = true;
        self.first_failure = None;
        Ok(())
    }

    pub(super) fn commit(&mut self) -> Result<(), DbError> {
        // PostgreSQL answers COMMIT of an aborted transaction with a silent
        // ROLLBACK: check, so that a lost step is never reported as committed.
        let aborted = self.in_transaction
            && self.first_failure.is_some()
            && self.session.run(self.session.client().batch_execute("SELECT 1")).is_err();
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
        let result = self.session.run(self.session.client().batch_execute("COMMIT"));
        self.in_transaction = false;
        self.first_failure = None;
        result
    }

    pub(super) fn rollback(&mut self) -> Result<(), DbError> {
        // Sent even when `begin` opened nothing: a transaction opened by a
        // script must end too, and without one PostgreSQL only warns.
        let result = self.session.run(self.session.client().batch_execute("ROLLBACK"));
        self.in_transaction = false;
        self.first_failure = None;
        // Rolled-back DDL may have changed what cached statements return.
        self.forget_row_statements();
        result
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

    /// The prepared statement for `sql`, prepared once per connection.
    fn statement(&mut self, sql: &str) -> Result<Statement, DbError> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.session.run(self.session.client().prepare(sql))?;
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
        let result = self.session.run(self.session.client().batch_execute(&update));
        self.track(result)
    }
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
