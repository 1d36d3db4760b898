//! Fixture: `up` creates a table, runs one statement that would take minutes, and swallows the error that stops it: the hook still ends in a timeout.

use wasmig_sdk::{Db, Result, Revision, export_revision, params};

struct SlowSql;

impl Revision for SlowSql {
    fn up(db: &Db) -> Result<()> {
        db.execute_script("CREATE TABLE fixture_slow (id INTEGER)")?;
        let slow = db.query(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000000000) SELECT max(i) FROM n",
            params![],
        );
        if let Err(stopped) = slow {
            db.warn(&format!("ignoring: {stopped}"));
        }
        Ok(())
    }

    fn down(_db: &Db) -> Result<()> {
        Ok(())
    }
}

export_revision!(SlowSql);
