//! Fixture: `up` hides a ROLLBACK among harmless statements of a script.

use wasmig_sdk::{Db, Result, Revision, export_revision};

struct ScriptRollback;

impl Revision for ScriptRollback {
    fn up(db: &Db) -> Result<()> {
        db.execute_script(
            "CREATE TABLE fixture_script (note TEXT);\n\
             INSERT INTO fixture_script VALUES ('ROLLBACK is only text here'); -- and COMMIT in a comment\n\
             /* a comment */ rollback;\n\
             CREATE TABLE fixture_script_after (id INTEGER);",
        )?;
        Ok(())
    }

    fn down(_db: &Db) -> Result<()> {
        Ok(())
    }
}

export_revision!(ScriptRollback);
