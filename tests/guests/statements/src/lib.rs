//! Fixture: `up` runs each non-empty line of its asset `statements.sql` through `execute`, one statement per call: SQL that code sends, as opposed to a script file (the lint's tests use it).

use wasmig_sdk::{Db, Result, Revision, export_revision, params};

struct Statements;

impl Revision for Statements {
    fn up(db: &Db) -> Result<()> {
        let statements = db.asset_text("statements.sql")?.unwrap_or_default();
        for line in statements.lines().map(str::trim).filter(|line| !line.is_empty()) {
            db.execute(line, params![])?;
        }
        Ok(())
    }

    fn down(_db: &Db) -> Result<()> {
        Ok(())
    }
}

export_revision!(Statements);
