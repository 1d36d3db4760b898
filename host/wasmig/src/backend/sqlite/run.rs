//! Running statements: parameters in, rows out within a byte budget, and scripts one statement at a time.

use rusqlite::fallible_iterator::FallibleIterator;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Batch, Connection, ToSql};

use super::authorizer::Refusals;
use super::error::db_error_in;
use crate::sql::{DbError, RowFailure, Rows, Value};

/// What one value costs the host beyond its text or blob bytes.
const VALUE_OVERHEAD: u64 = std::mem::size_of::<Value>() as u64;
/// What one row costs beyond its values.
const ROW_OVERHEAD: u64 = std::mem::size_of::<Vec<Value>>() as u64;

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

/// What a failed statement of `sent` tells its caller: the authorizer's
/// reason when it refused the statement (SQLite itself only says "not
/// authorized"), else SQLite's error with where in `sent` it is (`at`: where
/// the statement that failed begins, when the caller knows it).
pub(super) fn failure(error: rusqlite::Error, refusals: &Refusals, sent: &str, at: Option<usize>) -> DbError {
    match refusals.take() {
        Some(reason) => DbError { position: at, ..DbError::host(reason) },
        None => db_error_in(error, sent, at),
    }
}

/// Runs one statement; returns the rows changed.
pub(super) fn execute(connection: &Connection, sql: &str, params: &[Value]) -> rusqlite::Result<u64> {
    let mut statement = connection.prepare_cached(sql)?;
    let changed = statement.execute(rusqlite::params_from_iter(params.iter().map(Param)))?;
    Ok(changed as u64)
}

/// Runs one statement once per row of `rows`, prepared once, each row
/// between `checks.before` and `checks.after`; the first failure stops it.
pub(super) fn execute_many(
    connection: &Connection,
    sql: &str,
    rows: &[Vec<Value>],
    refusals: &Refusals,
    checks: &mut impl Checks,
) -> Result<u64, RowFailure> {
    let at = |row: usize| move |error: DbError| RowFailure { row, rows: rows.len(), error };
    checks.before().map_err(at(0))?;
    let prepared = connection.prepare_cached(sql).map_err(|error| failure(error, refusals, sql, Some(0)));
    let mut statement = checks.after(connection, prepared).map_err(at(0))?;
    let mut changed = 0;
    for (row, params) in rows.iter().enumerate() {
        if row > 0 {
            checks.before().map_err(at(row))?;
        }
        let outcome = statement
            .execute(rusqlite::params_from_iter(params.iter().map(Param)))
            .map(|count| count as u64)
            .map_err(|error| failure(error, refusals, sql, Some(0)));
        changed += checks.after(connection, outcome).map_err(at(row))?;
    }
    Ok(changed)
}

/// Why [`query`] stopped.
#[derive(Debug)]
pub(super) enum QueryError {
    Sqlite(rusqlite::Error),
    /// The rows passed this many bytes.
    OverBudget(u64),
}

impl From<rusqlite::Error> for QueryError {
    fn from(error: rusqlite::Error) -> Self {
        QueryError::Sqlite(error)
    }
}

/// Runs one statement and returns its rows, stopping (without holding
/// more) as soon as they would take more than `budget` bytes of host memory.
pub(super) fn query(connection: &Connection, sql: &str, params: &[Value], budget: u64) -> Result<Rows, QueryError> {
    let mut statement = connection.prepare_cached(sql)?;
    let columns: Vec<String> = statement.column_names().map(str::to_owned).collect();
    let width = columns.len();
    let mut used: u64 = columns.iter().map(|name| name.len() as u64 + VALUE_OVERHEAD).sum();
    let mut rows = statement.query(rusqlite::params_from_iter(params.iter().map(Param)))?;
    let mut values = Vec::new();
    while let Some(row) = rows.next()? {
        used += ROW_OVERHEAD;
        let mut record = Vec::with_capacity(width);
        for index in 0..width {
            let value = row.get_ref(index)?;
            used += VALUE_OVERHEAD
                + match value {
                    ValueRef::Text(bytes) | ValueRef::Blob(bytes) => bytes.len() as u64,
                    _ => 0,
                };
            if used > budget {
                return Err(QueryError::OverBudget(budget));
            }
            record.push(column_value(value));
        }
        values.push(record);
    }
    Ok(Rows { columns, values })
}

/// The error of a query over its budget.
pub(super) fn over_budget(budget: u64) -> DbError {
    DbError::host(format!(
        "the statement returned more than the hook's memory budget of {budget} bytes (the revision's `memory_mb`), \
         and wasmig stopped reading its rows there. Fetch fewer rows at a time (LIMIT with a key range), or let the \
         database do the work in SQL"
    ))
}

/// What the caller checks around each statement: a hook's deadline and
/// transaction ([`super::session::Session`]), or nothing for the host.
pub(super) trait Checks {
    /// Before a statement runs: an error means it does not.
    fn before(&mut self) -> Result<(), DbError>;
    /// After a statement ran, with its outcome: returns what the caller
    /// sees. Never turns an error into success.
    fn after<T>(&mut self, connection: &Connection, outcome: Result<T, DbError>) -> Result<T, DbError>;
}

/// The host's own statements: nothing to check.
#[derive(Debug)]
pub(super) struct Unchecked;

impl Checks for Unchecked {
    fn before(&mut self) -> Result<(), DbError> {
        Ok(())
    }

    fn after<T>(&mut self, _: &Connection, outcome: Result<T, DbError>) -> Result<T, DbError> {
        outcome
    }
}

/// Runs the statements of `sql` in order, like `sqlite3_exec`, each
/// between `checks.before` and `checks.after`; the first error stops it.
pub(super) fn script(
    connection: &Connection,
    sql: &str,
    refusals: &Refusals,
    checks: &mut impl Checks,
) -> Result<(), DbError> {
    let mut batch = Batch::new(connection, sql);
    // Where the text of the next statement is searched for: the end of the
    // last one, so that an error names the statement that failed even when
    // an identical one ran before it.
    let mut cursor = 0;
    loop {
        let (outcome, at) = match batch.next() {
            Ok(None) => return Ok(()),
            Ok(Some(mut statement)) => {
                let at = statement.expanded_sql().and_then(|text| {
                    let start = cursor + sql.get(cursor..)?.find(text.as_str())?;
                    cursor = start + text.len();
                    Some(start)
                });
                checks.before()?;
                // One step, as `sqlite3_exec` without a callback: a
                // statement that returns rows runs up to its first.
                (statement.raw_query().next().map(|_| ()), at)
            }
            // Preparing failed: the statement begins after the last one.
            Err(error) => (Err(error), Some(cursor)),
        };
        checks.after(connection, outcome.map_err(|error| failure(error, refusals, sql, at)))?;
    }
}
