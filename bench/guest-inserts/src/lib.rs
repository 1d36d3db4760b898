//! Benchmark guest: `up` runs `count` (an asset) INSERTs through `execute`, one host call each.

use wasmig_sdk::{Db, Error, Result, Revision, export_revision, params};

struct Inserts;

impl Revision for Inserts {
    fn up(db: &Db) -> Result<()> {
        let count: i64 = db
            .asset_text("count")?
            .ok_or_else(|| Error::msg("the count asset is missing"))?
            .trim()
            .parse()
            .map_err(|_| Error::msg("count is not a number"))?;
        for id in 0..count {
            db.execute("INSERT INTO bench (id, name) VALUES (?1, ?2)", params![id, "row"])?;
        }
        Ok(())
    }

    fn down(_db: &Db) -> Result<()> {
        Ok(())
    }
}

export_revision!(Inserts);
