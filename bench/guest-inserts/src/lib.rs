//! Benchmark guest: `up` runs `count` (an asset) INSERTs, through `execute` one host call each, or with the asset `batch` through `execute-many`, `batch` rows per call.

use wasmig_sdk::{Db, Dialect, Error, Result, Revision, Value, export_revision, params};

struct Inserts;

fn insert(db: &Db) -> &'static str {
    match db.dialect() {
        Dialect::Sqlite => "INSERT INTO bench (id, name) VALUES (?1, ?2)",
        Dialect::Postgres => "INSERT INTO bench (id, name) VALUES ($1, $2)",
    }
}

fn number(db: &Db, asset: &str) -> Result<Option<i64>> {
    match db.asset_text(asset)? {
        None => Ok(None),
        Some(text) => text.trim().parse().map(Some).map_err(|_| Error::msg(format!("{asset} is not a number"))),
    }
}

impl Revision for Inserts {
    fn up(db: &Db) -> Result<()> {
        let count = number(db, "count")?.ok_or_else(|| Error::msg("the count asset is missing"))?;
        let insert = insert(db);
        match number(db, "batch")? {
            None => {
                for id in 0..count {
                    db.execute(insert, params![id, "row"])?;
                }
            }
            Some(batch) => {
                let rows: Vec<Vec<Value>> = (0..count).map(|id| vec![Value::Integer(id), Value::from("row")]).collect();
                for chunk in rows.chunks(batch.max(1) as usize) {
                    db.execute_many(insert, chunk)?;
                }
            }
        }
        Ok(())
    }

    fn down(_db: &Db) -> Result<()> {
        Ok(())
    }
}

export_revision!(Inserts);
