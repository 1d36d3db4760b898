//! `wasmig log`: the database's events table, newest first, filtered by revision and kind (read-only).

use std::path::Path;

use serde_json::json;
use wasmig::graph::{Graph, ResolveError};
use wasmig::{Event, EventFilter};

use super::connection::{Existing, migrator, open_existing};
use crate::cli::error::CliResult;
use crate::cli::exit::Exit;
use crate::cli::output::Output;
use crate::cli::settings::LogRequest;

pub fn log(dir: &Path, database: Option<&str>, out: Output, request: LogRequest) -> CliResult<Exit> {
    let migrator = migrator(dir)?;
    let filter = EventFilter {
        revisions: request
            .revisions
            .iter()
            .map(|reference| revision_id(migrator.graph(), reference))
            .collect::<CliResult<_>>()?,
        kinds: request.kinds,
        limit: request.limit,
    };
    let (database, events) = match open_existing(&migrator, database)? {
        Existing::Open(mut db) => {
            let events = migrator.events(&mut db, &filter)?;
            (db.describe(), events)
        }
        Existing::Missing(database) => (database, Vec::new()),
    };
    if events.is_empty() {
        let which = if filter == EventFilter::default() { "no events" } else { "no matching events" };
        out.note(format!("{which} in {database}"));
    } else if filter.limit == Some(events.len()) {
        out.note(format!("the newest {} events; `--limit N` or `--all` for more", events.len()));
    }
    out.emit(
        || json!({ "database": database, "events": events }),
        |text| {
            for event in &events {
                text.push_str(&event_line(event));
            }
        },
    )?;
    Ok(Exit::Success)
}

/// The id a `--revision` names: resolved through the graph (prefix, label),
/// or taken as the exact id of a revision the project no longer has.
pub(super) fn revision_id(graph: &Graph, reference: &str) -> CliResult<String> {
    match graph.resolve(reference) {
        Ok(revision) => Ok(revision.id().to_string()),
        Err(ResolveError::Unknown { .. }) => Ok(reference.to_owned()),
        Err(error) => Err(error.into()),
    }
}

/// `2026-12-05T21:03:11.412Z  upgrade    a1b2c3d4e5f6  12 ms  detail`, the error indented below.
fn event_line(event: &Event) -> String {
    let mut line = format!("{}  {:<9}  {}", event.at, event.kind.as_str(), event.revision.as_deref().unwrap_or("-"));
    if let Some(ms) = event.duration_ms {
        line.push_str(&format!("  {ms} ms"));
    }
    if let Some(detail) = &event.detail {
        line.push_str(&format!("  {detail}"));
    }
    line.push('\n');
    if let Some(error) = &event.error {
        for error_line in error.lines() {
            line.push_str(&format!("    {error_line}\n"));
        }
    }
    line
}
