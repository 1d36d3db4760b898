//! The built-in `sql` plugin: runs the revision's `up.sql`, `down.sql` and `verify.sql` assets.
//!
//! `verify.sql` is one query; the effect counts as present when it returns a
//! row whose first column is a non-zero integer (or `true`), absent otherwise.

use wasmig_sdk::{Db, Error, Result, Revision, Value, Verdict, export_revision};

struct SqlRevision;

fn run_script(db: &Db, name: &str, missing: &str) -> Result<()> {
    let script = db.asset_text(name)?.ok_or_else(|| {
        Error::msg(format!("{name} is missing in the directory of revision {}: {missing}", db.revision_id()))
    })?;
    db.execute_script(&script)?;
    Ok(())
}

impl Revision for SqlRevision {
    fn up(db: &Db) -> Result<()> {
        run_script(db, "up.sql", "write the statements that apply this revision there")
    }

    fn down(db: &Db) -> Result<()> {
        run_script(db, "down.sql", "this revision cannot be downgraded until it has one")
    }

    fn verify(db: &Db) -> Result<Verdict> {
        let Some(query) = db.asset_text("verify.sql")? else {
            return Ok(Verdict::Unknown);
        };
        let rows = db.query(query.trim().trim_end_matches(';'), &[])?;
        let present = match rows.first().and_then(|row| row.values().first().cloned()) {
            Some(Value::Integer(flag)) => flag != 0,
            Some(Value::Real(flag)) => flag != 0.0,
            Some(Value::Text(text)) => matches!(text.to_ascii_lowercase().as_str(), "t" | "true" | "1"),
            _ => false,
        };
        Ok(if present { Verdict::Present } else { Verdict::Absent })
    }
}

export_revision!(SqlRevision);
