//! Fixture: `up` creates a table, then loops forever.

use wasmig_sdk::{Db, Result, Revision, export_revision};

struct Spin;

impl Revision for Spin {
    fn up(db: &Db) -> Result<()> {
        db.execute_script("CREATE TABLE fixture_spin (id INTEGER)")?;
        let mut counter: u64 = 0;
        loop {
            counter = std::hint::black_box(counter.wrapping_add(1));
        }
    }

    fn down(_db: &Db) -> Result<()> {
        Ok(())
    }
}

export_revision!(Spin);
