//! The handle a hook receives: SQL through the host, and what the revision may know of its context.

use crate::Dialect;
use crate::bindings::wasmig::revision::{context, db, types};
use crate::error::{DbError, Result};
use crate::value::{Rows, Value};

/// The database inside the host's transaction, and the revision's context.
///
/// Placeholders are the dialect's own: `?1` on SQLite, `$1` on PostgreSQL.
/// Transaction control statements are refused by the host.
#[derive(Debug)]
pub struct Db {
    _private: (),
}

impl Db {
    pub(crate) fn new() -> Self {
        Db { _private: () }
    }

    /// Runs one statement; returns the number of rows it changed.
    pub fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        db::execute(sql, params).map_err(DbError::from)
    }

    /// Runs one statement once per row of parameters, prepared once, in one
    /// call to the host; returns the number of rows it changed in all. The
    /// way to write many rows: one call instead of one per row (on
    /// PostgreSQL the rows travel in one round trip).
    ///
    /// The first row that fails stops it, and no later row runs; the error's
    /// message begins with `row N of M: ` (N counts from 1). `rows` may be
    /// built with [`params!`](crate::params): `&[params![1, "a"].to_vec(), params![2, "b"].to_vec()]`.
    pub fn execute_many(&self, sql: &str, rows: &[Vec<Value>]) -> Result<u64, DbError> {
        db::execute_many(sql, rows).map_err(DbError::from)
    }

    /// Runs one statement and returns all its rows.
    pub fn query(&self, sql: &str, params: &[Value]) -> Result<Rows, DbError> {
        let rows = db::query(sql, params).map_err(DbError::from)?;
        Ok(Rows::new(rows.columns, rows.values))
    }

    /// Runs several `;`-separated statements that take no parameters.
    pub fn execute_script(&self, sql: &str) -> Result<(), DbError> {
        db::execute_script(sql).map_err(DbError::from)
    }

    /// The database's SQL dialect.
    pub fn dialect(&self) -> Dialect {
        db::dialect()
    }

    /// This revision's id.
    pub fn revision_id(&self) -> String {
        context::revision_id()
    }

    /// The tenant being migrated, when the host runs a fleet.
    pub fn tenant(&self) -> Option<String> {
        context::tenant()
    }

    /// A file of the revision's own directory, as bytes.
    pub fn asset(&self, name: &str) -> Option<Vec<u8>> {
        context::asset(name)
    }

    /// A file of the revision's own directory, as UTF-8 text.
    pub fn asset_text(&self, name: &str) -> Result<Option<String>> {
        match self.asset(name) {
            None => Ok(None),
            Some(bytes) => String::from_utf8(bytes)
                .map(Some)
                .map_err(|_| crate::Error::msg(format!("asset {name} is not valid UTF-8"))),
        }
    }

    pub fn debug(&self, message: &str) {
        context::log(types::LogLevel::Debug, message);
    }

    pub fn info(&self, message: &str) {
        context::log(types::LogLevel::Info, message);
    }

    pub fn warn(&self, message: &str) {
        context::log(types::LogLevel::Warn, message);
    }

    pub fn error(&self, message: &str) {
        context::log(types::LogLevel::Error, message);
    }
}

impl From<types::DbError> for DbError {
    fn from(error: types::DbError) -> Self {
        DbError { code: error.code, message: error.message }
    }
}
