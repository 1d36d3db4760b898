//! Fixture: `up` creates a table, then tries to COMMIT it through `execute`.

use wasmig_sdk::{Db, Result, Revision, export_revision, params};

struct Commit;

impl Revision for Commit {
    fn up(db: &Db) -> Result<()> {
        db.execute_script("CREATE TABLE fixture_commit (id INTEGER)")?;
        db.execute("  /* done */ CoMmIt", params![])?;
        Ok(())
    }

    fn down(_db: &Db) -> Result<()> {
        Ok(())
    }
}

export_revision!(Commit);
