//! Fixture: a well-behaved revision that uses every import of the contract.

use wasmig_sdk::{Db, Dialect, Result, Revision, Verdict, export_revision, params};

struct Good;

fn placeholder(db: &Db, index: usize) -> String {
    match db.dialect() {
        Dialect::Sqlite => format!("?{index}"),
        Dialect::Postgres => format!("${index}"),
    }
}

impl Revision for Good {
    fn up(db: &Db) -> Result<()> {
        let blob = match db.dialect() {
            Dialect::Sqlite => "BLOB",
            Dialect::Postgres => "BYTEA",
        };
        db.execute_script(&format!(
            "CREATE TABLE fixture_good (id INTEGER PRIMARY KEY, name TEXT, score DOUBLE PRECISION, data {blob})"
        ))?;
        let insert = format!(
            "INSERT INTO fixture_good (id, name, score, data) VALUES ({}, {}, {}, {})",
            placeholder(db, 1),
            placeholder(db, 2),
            placeholder(db, 3),
            placeholder(db, 4)
        );
        let revision = db.revision_id();
        let tenant = db.tenant().unwrap_or_else(|| "none".into());
        db.execute(&insert, params![1, revision, 1.5, vec![1u8, 2, 3]])?;
        db.execute(&insert, params![2, tenant, None::<f64>, None::<Vec<u8>>])?;
        let marker = db.asset_text("marker.txt")?.unwrap_or_default();
        db.execute(&insert, params![3, marker.trim(), 0.0, None::<Vec<u8>>])?;
        let rows = db.query("SELECT count(*) AS n FROM fixture_good", params![])?;
        let count: i64 = rows.first().expect("count returns a row").get("n")?;
        db.info(&format!("fixture_good has {count} rows"));
        Ok(())
    }

    fn down(db: &Db) -> Result<()> {
        db.execute_script("DROP TABLE fixture_good")?;
        Ok(())
    }

    fn verify(db: &Db) -> Result<Verdict> {
        let sql = match db.dialect() {
            Dialect::Sqlite => "SELECT count(*) FROM sqlite_master WHERE name = 'fixture_good'",
            Dialect::Postgres => "SELECT count(*) FROM information_schema.tables WHERE table_name = 'fixture_good'",
        };
        let present: i64 = db.query(sql, params![])?.first().expect("one row").get(0)?;
        Ok(if present > 0 { Verdict::Present } else { Verdict::Absent })
    }
}

export_revision!(Good);
