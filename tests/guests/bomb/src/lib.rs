//! Fixture: `up` creates a table, then allocates memory until something stops it.

use wasmig_sdk::{Db, Result, Revision, export_revision};

struct Bomb;

impl Revision for Bomb {
    fn up(db: &Db) -> Result<()> {
        db.execute_script("CREATE TABLE fixture_bomb (id INTEGER)")?;
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            hoard.push(std::hint::black_box(vec![1u8; 8 * 1024 * 1024]));
        }
    }

    fn down(_db: &Db) -> Result<()> {
        Ok(())
    }
}

export_revision!(Bomb);
