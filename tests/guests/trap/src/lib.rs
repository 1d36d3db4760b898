//! Fixture: `up` creates a table, then panics (a trap, with the panic message logged first).

use wasmig_sdk::{Db, Result, Revision, export_revision};

struct Trap;

impl Revision for Trap {
    fn up(db: &Db) -> Result<()> {
        db.execute_script("CREATE TABLE fixture_trap (id INTEGER)")?;
        let empty: Vec<i64> = Vec::new();
        let index = db.revision_id().len();
        panic!("fixture trap: index {index} of an empty list ({})", empty.len());
    }

    fn down(_db: &Db) -> Result<()> {
        Ok(())
    }
}

export_revision!(Trap);
