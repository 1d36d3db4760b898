//! `upgrade`, `downgrade`, `stamp`, `resolve` and `repair`: the commands that change a database.

use std::path::Path;

use serde_json::json;
use wasmig::backend::DatabaseUrl;
use wasmig::graph::{AppliedSet, Direction, Target};
use wasmig::sql::Dialect;
use wasmig::{Migrator, RunOptions, RunReport};

use super::connection::{connect, connect_tenant, migrator, read_applied};
use super::plan::{PlannedFrom, print_plan};
use crate::cli::error::CliResult;
use crate::cli::exit::Exit;
use crate::cli::output::Output;
use crate::cli::progress::{RunProgress, direction_word, step_line};
use crate::cli::settings::{RunMode, RunRequest};

pub fn run(dir: &Path, database: Option<&str>, out: Output, request: RunRequest) -> CliResult<Exit> {
    let migrator = migrator(dir)?;
    let options = RunOptions { transaction: request.transaction, adopt: request.adopt, tenant: request.tenant.clone() };
    match &request.mode {
        RunMode::Sql { from } => return offline_sql(&migrator, database, out, &request, from, &options),
        RunMode::DryRun => return dry_run(&migrator, database, out, &request),
        RunMode::Execute => {}
    }
    let mut db = connect_tenant(&migrator, database, request.tenant.as_deref())?;
    let verb = direction_word(request.direction);
    let mut progress = RunProgress::new(out, format!("{verb} to {} on {}", request.target, db.describe()));
    let result = match request.direction {
        Direction::Up => migrator.upgrade(&mut db, &request.target, &options, &mut progress),
        Direction::Down => migrator.downgrade(&mut db, &request.target, &options, &mut progress),
    };
    progress.finish();
    let report = match result {
        Ok(report) => report,
        Err(error) => {
            if error.kind() == wasmig::ErrorKind::Interrupted {
                out.note(stopped_line(&error));
            }
            return Err(error.into());
        }
    };
    print_report(out, &report, request.direction, &request.target)?;
    Ok(Exit::Success)
}

/// "interrupted during 3f2a1c: 2 step(s) committed (a1, b2); 3f2a1c rolled back".
fn stopped_line(error: &wasmig::Error) -> String {
    let committed: Vec<&str> = error
        .committed()
        .map(|report| report.changed().map(|step| step.revision.as_str()).collect())
        .unwrap_or_default();
    let committed = match committed.len() {
        0 => "nothing committed".to_owned(),
        n => format!("{n} step(s) committed ({})", committed.join(", ")),
    };
    match error.failed_step() {
        Some(step) if error.left_dirty() => {
            format!("interrupted during {step}: {committed}; {step} is left dirty (see above)")
        }
        Some(step) => format!("interrupted during {step}: {committed}; {step} rolled back"),
        None => format!("interrupted: {committed}; no step was running"),
    }
}

fn print_report(out: Output, report: &RunReport, direction: Direction, target: &Target) -> CliResult<()> {
    let verb = direction_word(direction);
    out.emit(
        || json!({ "command": verb, "target": target.to_string(), "database": report.database, "steps": report.steps }),
        |text| {
            let changed = report.changed().count();
            if report.steps.is_empty() {
                text.push_str(&format!("{}: nothing to do, already at {target}\n", report.database));
            } else {
                text.push_str(&format!("{}: {verb} to {target}: {changed} step(s)\n", report.database));
            }
        },
    )
}

fn dry_run(migrator: &Migrator, database: Option<&str>, out: Output, request: &RunRequest) -> CliResult<Exit> {
    let (database, rows) = read_applied(migrator, database)?;
    let applied: AppliedSet = rows.into_iter().map(|row| row.revision).collect();
    let graph = migrator.graph();
    let plan = graph.plan(&applied, &request.target, request.direction)?;
    print_plan(out, graph, &plan, &applied, request.direction, PlannedFrom::DryRun { database: &database })?;
    Ok(Exit::Success)
}

fn offline_sql(
    migrator: &Migrator,
    database: Option<&str>,
    out: Output,
    request: &RunRequest,
    from: &[String],
    options: &RunOptions,
) -> CliResult<Exit> {
    // The dialect and the schema come from the URL a run would use; no URL means SQLite.
    let url = database.map(str::to_owned).or_else(|| migrator.project().config.database.url.clone());
    let (dialect, schema) = match url.as_deref().map(DatabaseUrl::parse).transpose()? {
        Some(DatabaseUrl::Postgres { schema, .. }) => (Dialect::Postgres, schema),
        Some(_) | None => (Dialect::Sqlite, None),
    };
    let applied = super::plan::applied_from_heads_of(migrator.graph(), from)?;
    let script =
        migrator.offline_sql(&applied, &request.target, request.direction, dialect, schema.as_deref(), options)?;
    out.emit(|| json!({ "dialect": dialect.name(), "sql": script }), |text| text.push_str(&script))?;
    Ok(Exit::Success)
}

pub fn stamp(dir: &Path, database: Option<&str>, out: Output, target: &Target) -> CliResult<Exit> {
    let migrator = migrator(dir)?;
    let mut db = connect(&migrator, database)?;
    let report = migrator.stamp(&mut db, target)?;
    out.emit(
        || json!({ "command": "stamp", "target": target.to_string(), "database": report.database, "steps": report.steps }),
        |text| {
            for step in &report.steps {
                text.push_str(&format!("{}\n", step_line(step)));
            }
            text.push_str(&format!("{}: stamped {target} ({} change(s), no revision ran)\n", report.database, report.steps.len()));
        },
    )?;
    Ok(Exit::Success)
}

pub fn resolve(dir: &Path, database: Option<&str>, out: Output, revision: &str, as_applied: bool) -> CliResult<Exit> {
    let migrator = migrator(dir)?;
    let mut db = connect(&migrator, database)?;
    migrator.resolve(&mut db, revision, as_applied)?;
    let outcome = if as_applied { "applied" } else { "reverted" };
    out.emit(
        || json!({ "command": "resolve", "revision": revision, "as": outcome }),
        |text| text.push_str(&format!("{revision} resolved as {outcome} (recorded in the events table)\n")),
    )?;
    Ok(Exit::Success)
}

pub fn repair(dir: &Path, database: Option<&str>, out: Output, revision: &str) -> CliResult<Exit> {
    let migrator = migrator(dir)?;
    let mut db = connect(&migrator, database)?;
    let changed = !migrator.repair(&mut db, revision)?.steps.is_empty();
    out.emit(
        || json!({ "command": "repair", "revision": revision, "changed": changed }),
        |text| {
            text.push_str(&if changed {
                format!("{revision}: recorded the checksum of its current files (audited as a repair event)\n")
            } else {
                format!("{revision}: its files match the recorded checksum; nothing to repair, nothing recorded\n")
            })
        },
    )?;
    Ok(Exit::Success)
}
