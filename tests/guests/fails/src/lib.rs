//! Fixture: `up` creates a table, then returns its own error.

use wasmig_sdk::{Db, Error, Result, Revision, export_revision};

struct Fails;

impl Revision for Fails {
    fn up(db: &Db) -> Result<()> {
        db.execute_script("CREATE TABLE fixture_fails (id INTEGER)")?;
        Err(Error::msg("fixture refuses: the users table has duplicate e-mails"))
    }

    fn down(_db: &Db) -> Result<()> {
        Ok(())
    }
}

export_revision!(Fails);
