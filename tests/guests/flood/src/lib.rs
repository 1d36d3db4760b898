//! Fixture: a revision that floods the host's log (20,000 lines of 2 KiB and one of 1 MiB), then does its work.

use wasmig_sdk::{Db, Result, Revision, export_revision};

struct Flood;

impl Revision for Flood {
    fn up(db: &Db) -> Result<()> {
        let line = "x".repeat(2048);
        for _ in 0..20_000 {
            db.warn(&line);
        }
        db.warn(&"y".repeat(1024 * 1024));
        db.execute_script("CREATE TABLE fixture_flood (id INTEGER)")?;
        Ok(())
    }

    fn down(db: &Db) -> Result<()> {
        db.execute_script("DROP TABLE fixture_flood")?;
        Ok(())
    }
}

export_revision!(Flood);
