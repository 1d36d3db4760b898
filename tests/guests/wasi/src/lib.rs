//! Fixture: built for wasm32-wasip2, so std pulls in WASI imports (clocks, stdio) that a revision may not have.

use wasmig_sdk::{Db, Result, Revision, export_revision};

struct Wasi;

impl Revision for Wasi {
    fn up(db: &Db) -> Result<()> {
        let now = std::time::SystemTime::now();
        println!("the time is {now:?}");
        db.info(&format!("{now:?}"));
        Ok(())
    }

    fn down(_db: &Db) -> Result<()> {
        Ok(())
    }
}

export_revision!(Wasi);
