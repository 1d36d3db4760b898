//! `status`, `current` and `verify`: reading where a database stands, changing nothing.

use std::path::Path;

use serde_json::json;
use wasmig::graph::AppliedSet;
use wasmig::{Event, RunOptions};

use super::connection::{connect_existing, migrator, read_status};
use crate::cli::error::CliResult;
use crate::cli::exit::Exit;
use crate::cli::output::Output;

pub fn status(dir: &Path, database: Option<&str>, out: Output) -> CliResult<Exit> {
    let migrator = migrator(dir)?;
    // A database that does not exist yet is simply behind by everything.
    let status = read_status(&migrator, database)?;
    let states = status.states();
    out.emit(
        || {
            json!({
                "state": states,
                "at_heads": status.is_current(),
                "current": status.current,
                "last_failure": status.last_failure,
                "status": status,
            })
        },
        |text| {
            text.push_str(&format!("database: {}\n", status.database));
            text.push_str(&format!("state:    {}\n", states.join(", ")));
            text.push_str(&format!("heads:    {}\n", list(&status.heads)));
            text.push_str(&format!("current:  {}\n", list(&status.current)));
            if let Some(failure) = &status.last_failure {
                text.push_str(&format!("last run: {}\n", failure_text(failure)));
            }
            if let Some(holder) = &status.run_in_progress {
                text.push_str(&format!("running:  a run holds the migration lock, {holder}\n"));
            }
            if !status.pending.is_empty() {
                text.push_str(&format!(
                    "pending:  {} revision(s): {} (run `wasmig upgrade`)\n",
                    status.pending.len(),
                    status.pending.join(", ")
                ));
            }
            if !status.unknown.is_empty() {
                text.push_str(&format!(
                    "unknown:  applied but not in this project: {} (is this checkout older than the database?)\n",
                    status.unknown.join(", ")
                ));
            }
            for revision in &status.dirty {
                text.push_str(&format!(
                    "dirty:    {revision} (check it, then `wasmig resolve {revision} --as applied|reverted`)\n"
                ));
            }
            for drift in &status.drifts {
                text.push_str(&format!("drift:    {drift} (restore it, or `wasmig repair {}`)\n", drift.revision));
            }
            for change in &status.interpreter_changes {
                text.push_str(&format!("note:     {change}\n"));
            }
        },
    )?;
    Ok(if status.is_current() { Exit::Success } else { Exit::CheckFailed })
}

/// `failed at <time> on <rev>: <error>`, the error's further lines indented
/// under the `status` labels.
fn failure_text(failure: &Event) -> String {
    let on = failure.revision.as_deref().map(|revision| format!(" on {revision}")).unwrap_or_default();
    let error = failure.error.as_deref().unwrap_or("no error recorded").replace('\n', "\n          ");
    format!("failed at {}{on}: {error} (`wasmig log` shows the history)", failure.at)
}

fn list(ids: &[String]) -> String {
    if ids.is_empty() { "base (nothing)".to_owned() } else { ids.join(", ") }
}

pub fn current(dir: &Path, database: Option<&str>, out: Output) -> CliResult<Exit> {
    let migrator = migrator(dir)?;
    let mut db = connect_existing(&migrator, database)?;
    // The applied rows against the graph: no checksum, so no revision file is read.
    let rows = migrator.applied_rows(&mut db)?;
    let graph = migrator.graph();
    let (known, unknown): (Vec<_>, Vec<_>) = rows.into_iter().partition(|row| graph.contains(&row.revision));
    let known: AppliedSet = known.into_iter().map(|row| row.revision).collect();
    let status = Current {
        database: db.describe(),
        current: graph.applied_heads(&known).iter().map(ToString::to_string).collect(),
        unknown: unknown.into_iter().map(|row| row.revision).collect(),
    };
    out.emit(
        || json!({ "database": status.database, "current": status.current, "unknown": status.unknown }),
        |text| {
            if status.current.is_empty() && status.unknown.is_empty() {
                text.push_str("base (nothing applied)\n");
            }
            for head in &status.current {
                text.push_str(&format!("{head}\n"));
            }
            for unknown in &status.unknown {
                text.push_str(&format!("{unknown} (not in this project)\n"));
            }
        },
    )?;
    Ok(Exit::Success)
}

/// What `current` prints.
struct Current {
    database: String,
    current: Vec<String>,
    unknown: Vec<String>,
}

pub fn verify(dir: &Path, database: Option<&str>, out: Output, revision: Option<&str>) -> CliResult<Exit> {
    let migrator = migrator(dir)?;
    let mut db = connect_existing(&migrator, database)?;
    let reports = migrator.verify(&mut db, revision, &RunOptions::default())?;
    let mismatches = reports.iter().filter(|report| report.mismatch).count();
    out.emit(
        || json!({ "revisions": reports, "mismatches": mismatches }),
        |text| {
            for report in &reports {
                text.push_str(&format!(
                    "{} {:<11} verify: {}{}\n",
                    report.revision,
                    if report.applied { "applied" } else { "not applied" },
                    report.verdict.unwrap_or("-"),
                    if report.mismatch { "  <- mismatch" } else { "" }
                ));
            }
        },
    )?;
    Ok(if mismatches > 0 { Exit::CheckFailed } else { Exit::Success })
}
