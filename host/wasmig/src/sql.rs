//! The SQL values, rows, errors and dialects that cross the contract, on the host side.

use std::fmt;

/// The SQL dialect of a backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgres",
        }
    }

    pub(crate) fn guard_dialect(self) -> wasmig_sqlguard::Dialect {
        match self {
            Dialect::Sqlite => wasmig_sqlguard::Dialect::Sqlite,
            Dialect::Postgres => wasmig_sqlguard::Dialect::Postgres,
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One SQL value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl Value {
    /// The value as text, `None` for NULL: numbers in decimal, a blob as
    /// UTF-8 (lossy). For queries that select text, as catalog and
    /// bookkeeping queries do, where only NULL needs telling apart.
    pub fn to_text(&self) -> Option<String> {
        match self {
            Value::Null => None,
            Value::Text(text) => Some(text.clone()),
            Value::Integer(number) => Some(number.to_string()),
            Value::Real(number) => Some(number.to_string()),
            Value::Blob(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
        }
    }
}

/// The rows a query returned: column names, then one list of values per row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rows {
    pub columns: Vec<String>,
    pub values: Vec<Vec<Value>>,
}

impl Rows {
    /// Every value as text ([`Value::to_text`]), row by row.
    pub fn texts(&self) -> Vec<Vec<Option<String>>> {
        self.values.iter().map(|row| row.iter().map(Value::to_text).collect()).collect()
    }
}

/// An error the guest sees from `execute`, `query` or `execute-script`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", code.as_deref().map(|code| format!("[{code}] ")).unwrap_or_default())]
pub struct DbError {
    /// SQLSTATE on PostgreSQL, the result code name on SQLite,
    /// [`DbError::HOST_CODE`] when the host refused the statement.
    pub code: Option<String>,
    pub message: String,
    /// Where in the SQL text of the failed call the error is, as a byte
    /// offset: the token the database pointed at (PostgreSQL's error
    /// position, SQLite's `sqlite3_error_offset`), else the start of the
    /// statement that failed; `None` when the database did not say.
    pub position: Option<usize>,
}

impl DbError {
    /// An error from the database with `code` (see [`DbError::code`]) and no known position.
    pub fn new(code: Option<String>, message: impl Into<String>) -> Self {
        DbError { code, message: message.into(), position: None }
    }

    /// The code of errors raised by the host's own checks rather than the database.
    pub const HOST_CODE: &'static str = "WASMIG";

    pub fn host(message: impl Into<String>) -> Self {
        DbError::new(Some(Self::HOST_CODE.to_owned()), message)
    }

    /// A conflict with another session that running the whole transaction
    /// again can resolve: PostgreSQL's lock timeout (55P03), deadlock
    /// (40P01) and serialization failure (40001); SQLite's busy and locked.
    pub fn is_lock_conflict(&self) -> bool {
        matches!(self.code.as_deref(), Some("55P03" | "40P01" | "40001" | "SQLITE_BUSY" | "SQLITE_LOCKED"))
    }

    /// PostgreSQL refused a statement inside a transaction block (25001:
    /// `CREATE INDEX CONCURRENTLY`, `VACUUM`, ...).
    pub fn needs_autocommit(&self) -> bool {
        self.code.as_deref() == Some("25001")
    }
}

/// Why an `execute-many` stopped: the error of the row it stopped at.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("row {} of {rows}: {error}", row + 1)]
pub struct RowFailure {
    /// The row that failed, counting from 0. An error of the statement as a
    /// whole (it cannot be prepared, the hook may send no more) stops it at
    /// its first row that did not run.
    pub row: usize,
    /// How many rows the call was given.
    pub rows: usize,
    pub error: DbError,
}

/// `execute` on each row of `rows` in order, stopping at the first that
/// fails: how `execute-many` runs where rows are not sent together.
pub(crate) fn row_by_row(
    rows: &[Vec<Value>],
    mut execute: impl FnMut(&[Value]) -> Result<u64, DbError>,
) -> Result<u64, RowFailure> {
    let mut changed = 0;
    for (row, params) in rows.iter().enumerate() {
        changed += execute(params).map_err(|error| RowFailure { row, rows: rows.len(), error })?;
    }
    Ok(changed)
}

impl RowFailure {
    /// The error as the guest sees it: the database's, its message prefixed
    /// with the row ("row 2 of 3: ...", counting from 1).
    pub fn into_db_error(self) -> DbError {
        let message = format!("row {} of {}: {}", self.row + 1, self.rows, self.error.message);
        DbError { message, ..self.error }
    }
}

/// `"name"` with embedded quotes doubled: an identifier for SQL text.
pub(crate) fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The proleptic Gregorian date of a day count since 1970-01-01
/// (Howard Hinnant's `civil_from_days`): for date values, and
/// wherever a UTC date is printed without a calendar crate.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
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
