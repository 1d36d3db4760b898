//! The database backends and the one trait through which the runtime and the executor use them.

use std::time::Instant;

use crate::sql::{DbError, Dialect, Rows, Value};

pub mod sqlite;

/// A database as the runtime and the executor see it, implemented once per backend.
///
/// The runtime calls these on behalf of the guest after its own checks (the
/// transaction guard); a backend runs exactly what it is given.
pub trait Backend: Send {
    fn dialect(&self) -> Dialect;

    /// Runs one statement; returns the rows affected.
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError>;

    /// Runs one statement and returns all its rows.
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Rows, DbError>;

    /// Runs several statements without parameters.
    fn execute_script(&mut self, sql: &str) -> Result<(), DbError>;

    /// A hook starts: statements must stop at `deadline` (CPU budgets do
    /// not count time spent in the database, so the backend bounds it).
    fn begin_hook(&mut self, deadline: Instant) -> Result<(), DbError>;

    /// The hook ended, however it ended.
    fn end_hook(&mut self);
}

/// Stands in for the backend while the real one is lent to a running hook.
#[derive(Debug)]
pub(crate) struct Lent;

impl Backend for Lent {
    fn dialect(&self) -> Dialect {
        unreachable!("the backend is lent to a running hook")
    }
    fn execute(&mut self, _: &str, _: &[Value]) -> Result<u64, DbError> {
        Err(DbError::host("the backend is lent to a running hook"))
    }
    fn query(&mut self, _: &str, _: &[Value]) -> Result<Rows, DbError> {
        Err(DbError::host("the backend is lent to a running hook"))
    }
    fn execute_script(&mut self, _: &str) -> Result<(), DbError> {
        Err(DbError::host("the backend is lent to a running hook"))
    }
    fn begin_hook(&mut self, _: Instant) -> Result<(), DbError> {
        Err(DbError::host("the backend is lent to a running hook"))
    }
    fn end_hook(&mut self) {}
}
