//! Revision {id}: {message}
//!
//! `wasmig build` turns this crate into revision.wasm; commit both. `up` applies
//! the revision and `down` reverts it, each inside the transaction wasmig opened
//! for the step: no BEGIN or COMMIT here. To fail, return an `Err` (any message,
//! or a `DbError` passed up with `?`): the step is rolled back and wasmig shows
//! the message. A panic fails the step too, with the panic's message.
//!
//! Placeholders are the dialect's own: ?1, ?2 on SQLite, $1, $2 on PostgreSQL.
//! Values: `Option<T>` (None is NULL), `bool`, integers, `f64`, `&str`/`String`, `&[u8]`/`Vec<u8>`.
//!
//! ```ignore
//! db.execute_script("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, handle TEXT)")?;
//!
//! // A backfill: read the rows, write each one back.
//! let update = match db.dialect() {
//!     Dialect::Sqlite => "UPDATE users SET handle = ?1 WHERE id = ?2",
//!     Dialect::Postgres => "UPDATE users SET handle = $1 WHERE id = $2",
//! };
//! for row in db.query("SELECT id, name FROM users WHERE handle IS NULL", params![])?.iter() {
//!     let (id, name): (i64, String) = (row.get("id")?, row.get("name")?);
//!     db.execute(update, params![name.to_lowercase(), id])?;
//! }
//! let seed: Option<String> = db.asset_text("seed.sql")?;   // a file beside revision.toml
//! ```

use wasmig_sdk::{Db, Result, Revision, export_revision};

struct ThisRevision;

impl Revision for ThisRevision {
    fn up(db: &Db) -> Result<()> {
        db.info(&format!("nothing to apply yet in revision {} ({:?})", db.revision_id(), db.dialect()));
        Ok(())
    }

    fn down(db: &Db) -> Result<()> {
        // Undo exactly what `up` does.
        db.info(&format!("nothing to revert yet in revision {}", db.revision_id()));
        Ok(())
    }

    // Optional: is this revision's effect already in the database? Used by
    // `wasmig upgrade --adopt`; without it wasmig assumes `Verdict::Unknown`.
    //
    // fn verify(db: &Db) -> Result<wasmig_sdk::Verdict> { ... }
}

export_revision!(ThisRevision);
