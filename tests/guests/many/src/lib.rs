//! Fixture: `up` creates `many_values` and writes three typed rows with one `execute-many`; its asset `mode` varies that.
//!
//! `mode` is empty (the three rows), `duplicate` (row 2 repeats row 1's key),
//! `empty` (no rows), `count` (also checks the rows-affected count), or
//! `refuse:<SQL>`: first sends `<SQL>` through `execute-many` and ignores
//! the error, as a revision that tries to get around the host would.

use wasmig_sdk::{Db, Dialect, Error, Result, Revision, Value, export_revision};

struct Many;

fn rows() -> Vec<Vec<Value>> {
    vec![
        vec![Value::Integer(1), Value::Real(1.5), Value::Text("one".into()), Value::Blob(vec![0, 1, 255]), Value::Null],
        vec![
            Value::Integer(2),
            Value::Real(-2.25),
            Value::Text("twee ✓".into()),
            Value::Blob(vec![]),
            Value::Integer(7),
        ],
        vec![Value::Integer(3), Value::Real(1e300), Value::Text(String::new()), Value::Blob(vec![42]), Value::Null],
    ]
}

impl Revision for Many {
    fn up(db: &Db) -> Result<()> {
        let mode = db.asset_text("mode")?.unwrap_or_default();
        let mode = mode.trim();
        let (types, insert) = match db.dialect() {
            Dialect::Sqlite => (
                "id INTEGER PRIMARY KEY, r REAL, t TEXT, b BLOB, n INTEGER",
                "INSERT INTO many_values VALUES (?1, ?2, ?3, ?4, ?5)",
            ),
            Dialect::Postgres => (
                "id BIGINT PRIMARY KEY, r DOUBLE PRECISION, t TEXT, b BYTEA, n BIGINT",
                "INSERT INTO many_values VALUES ($1, $2, $3, $4, $5)",
            ),
        };
        db.execute_script(&format!("CREATE TABLE many_values ({types})"))?;
        if let Some(sql) = mode.strip_prefix("refuse:")
            && let Err(refusal) = db.execute_many(sql, &[vec![], vec![]])
        {
            db.warn(&format!("ignoring: {refusal}"));
        }
        let mut rows = rows();
        match mode {
            "duplicate" => rows[1][0] = Value::Integer(1),
            "empty" => rows.clear(),
            _ => {}
        }
        let changed = db.execute_many(insert, &rows)?;
        if changed != rows.len() as u64 {
            return Err(Error::msg(format!("execute-many changed {changed} rows, not {}", rows.len())));
        }
        Ok(())
    }

    fn down(db: &Db) -> Result<()> {
        Ok(db.execute_script("DROP TABLE many_values")?)
    }
}

export_revision!(Many);
