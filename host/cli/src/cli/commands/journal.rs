//! `wasmig journal`: the statement journal, the newest rows in the order they ran, filtered by revision (read-only).

use std::path::Path;

use serde_json::json;
use wasmig::{JournalEntry, JournalFilter, JournalOutcome};

use super::connection::migrator;
use super::records::{RowNames, read_newest, revision_ids};
use crate::cli::error::CliResult;
use crate::cli::exit::Exit;
use crate::cli::output::Output;
use crate::cli::settings::JournalRequest;

pub fn journal(dir: &Path, database: Option<&str>, out: Output, request: JournalRequest) -> CliResult<Exit> {
    let migrator = migrator(dir)?;
    let filter = JournalFilter { revisions: revision_ids(migrator.graph(), &request.revisions)?, limit: request.limit };
    let names =
        RowNames { plural: "statements", none: "no journaled statements", none_matching: "no matching statements" };
    let filtered = filter != JournalFilter::default();
    let (database, statements) =
        read_newest(&migrator, database, out, names, filtered, filter.limit, |db| migrator.journal(db, &filter))?;
    out.emit(
        || json!({ "database": database, "statements": statements }),
        |text| {
            let mut step = None;
            for entry in &statements {
                let this = (&entry.run_id, &entry.revision, &entry.direction, entry.attempt);
                if step != Some(this) {
                    text.push_str(&step_line(entry));
                    step = Some(this);
                }
                text.push_str(&statement_lines(entry));
            }
        },
    )?;
    Ok(Exit::Success)
}

/// `a1b2c3d4e5f6 up  (run 9f…, tenant acme, attempt 2)  2026-12-05T21:03:11.412Z`
fn step_line(entry: &JournalEntry) -> String {
    let mut about = vec![format!("run {}", entry.run_id)];
    if let Some(tenant) = &entry.tenant {
        about.push(format!("tenant {tenant}"));
    }
    if entry.attempt > 1 {
        about.push(format!("attempt {}", entry.attempt));
    }
    format!("{} {}  ({})  {}\n", entry.revision, entry.direction, about.join(", "), entry.at)
}

/// `  3. [script 1.2 ms] CREATE TABLE ...`, continuation lines indented, what went wrong after it.
fn statement_lines(entry: &JournalEntry) -> String {
    let mut facts = vec![entry.via.clone()];
    if entry.executions > 1 {
        facts.push(format!("x{}", entry.executions));
    }
    if let Some(us) = entry.duration_us {
        facts.push(format!("{:.1} ms", us as f64 / 1000.0));
    }
    if let Some(rows) = entry.row_count {
        facts.push(format!("{rows} row(s)"));
    }
    if let Some(code) = &entry.error_code {
        facts.push(format!("error {code}"));
    }
    if let (Some(mode), Some(relation)) = (&entry.lock_mode, &entry.lock_relation) {
        facts.push(format!("{mode} on {relation}"));
    }
    if entry.outcome != JournalOutcome::Committed {
        facts.push(entry.outcome.as_str().replace('-', " "));
    }
    let mut lines = entry.statement.lines();
    let mut text = format!("  {:>3}. [{}] {}\n", entry.sequence, facts.join(", "), lines.next().unwrap_or_default());
    for line in lines {
        text.push_str(&format!("        {line}\n"));
    }
    if let Some(note) = &entry.note {
        text.push_str(&format!("        note: {note}\n"));
    }
    text
}
