//! A database's schema as a typed value (tables, columns, indexes, constraints, views, triggers, sequences, functions), read from the engine's own catalogs.
//!
//! The snapshot is what `wasmig test` compares before `up` and after
//! `down`; [`diff`] lists the differences object by object. Each engine's
//! catalog queries live in their own file (`sqlite.rs`, `postgres.rs`);
//! this file owns the shape both fill in.
//!
//! What is deliberately left out: column order (PostgreSQL cannot add a
//! column at a position, so a faithful `down` of a `DROP COLUMN` cannot
//! restore it), rows, statistics, sequences' current values, ownership and
//! grants. wasmig's own version tables (and what belongs to them) are
//! excluded by name.

mod diff;
mod model;
mod postgres;
mod sqlite;

use crate::backend::Backend;
use crate::sql::{DbError, Dialect};

pub use diff::{Difference, diff};
pub use model::{Column, Constraint, Index, Sequence, Snapshot, Table, Trigger, View};

/// Reads the schema `db` works in, leaving out the tables named in
/// `excluded` (wasmig's version tables) and what belongs to them.
pub fn snapshot(db: &mut dyn Backend, excluded: &[String]) -> Result<Snapshot, DbError> {
    let mut snapshot = match db.dialect() {
        Dialect::Sqlite => sqlite::read(db)?,
        Dialect::Postgres => postgres::read(db)?,
    };
    snapshot.exclude(excluded);
    Ok(snapshot)
}
