//! `wasmig log`: the database's events table, newest first, filtered by revision and kind (read-only).

use std::path::Path;

use serde_json::json;
use wasmig::{Event, EventFilter};

use super::connection::migrator;
use super::records::{RowNames, read_newest, revision_ids};
use crate::cli::error::CliResult;
use crate::cli::exit::Exit;
use crate::cli::output::Output;
use crate::cli::settings::LogRequest;

pub fn log(dir: &Path, database: Option<&str>, out: Output, request: LogRequest) -> CliResult<Exit> {
    let migrator = migrator(dir)?;
    let filter = EventFilter {
        revisions: revision_ids(migrator.graph(), &request.revisions)?,
        kinds: request.kinds,
        limit: request.limit,
    };
    let names = RowNames { plural: "events", none: "no events", none_matching: "no matching events" };
    let filtered = filter != EventFilter::default();
    let (database, events) =
        read_newest(&migrator, database, out, names, filtered, filter.limit, |db| migrator.events(db, &filter))?;
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
