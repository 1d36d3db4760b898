//! Fixture: `up` runs COMMIT, ignores the host's refusal, and returns Ok.

use wasmig_sdk::{Db, Result, Revision, export_revision, params};

struct Swallow;

impl Revision for Swallow {
    fn up(db: &Db) -> Result<()> {
        db.execute_script("CREATE TABLE fixture_swallow (id INTEGER)")?;
        if let Err(refusal) = db.execute("COMMIT", params![]) {
            db.warn(&format!("ignoring: {refusal}"));
        }
        Ok(())
    }

    fn down(_db: &Db) -> Result<()> {
        Ok(())
    }
}

export_revision!(Swallow);
