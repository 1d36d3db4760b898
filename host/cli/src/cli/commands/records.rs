//! What `wasmig log` and `wasmig journal` share: the revisions named on the command line, and the newest rows of one of the database's record tables (none when the database does not exist yet), with a note when none or only some were shown.

use wasmig::graph::{Graph, ResolveError};
use wasmig::{Database, Error, Migrator};

use super::connection::{Existing, open_existing};
use crate::cli::error::CliResult;
use crate::cli::output::Output;

/// How a listing names its rows in its notes: `events` / `no events` / `no matching events`.
pub(super) struct RowNames {
    pub plural: &'static str,
    pub none: &'static str,
    pub none_matching: &'static str,
}

/// The ids `--revision` names: each resolved through the graph (prefix,
/// label), or taken as the exact id of a revision the project no longer has.
pub(super) fn revision_ids(graph: &Graph, references: &[String]) -> CliResult<Vec<String>> {
    references.iter().map(|reference| revision_id(graph, reference)).collect()
}

fn revision_id(graph: &Graph, reference: &str) -> CliResult<String> {
    match graph.resolve(reference) {
        Ok(revision) => Ok(revision.id().to_string()),
        Err(ResolveError::Unknown { .. }) => Ok(reference.to_owned()),
        Err(error) => Err(error.into()),
    }
}

/// Reads the rows with `read` and says so when there are none, or when
/// `limit` cut them short. Returns how to name the database, and the rows.
pub(super) fn read_newest<T>(
    migrator: &Migrator,
    database: Option<&str>,
    out: Output,
    names: RowNames,
    filtered: bool,
    limit: Option<usize>,
    read: impl FnOnce(&mut Database) -> Result<Vec<T>, Error>,
) -> CliResult<(String, Vec<T>)> {
    let (database, rows) = match open_existing(migrator, database)? {
        Existing::Open(mut db) => {
            let rows = read(&mut db)?;
            (db.describe(), rows)
        }
        Existing::Missing(database) => (database, Vec::new()),
    };
    if rows.is_empty() {
        let which = if filtered { names.none_matching } else { names.none };
        out.note(format!("{which} in {database}"));
    } else if limit == Some(rows.len()) {
        out.note(format!("the newest {} {}; `--limit N` or `--all` for more", rows.len(), names.plural));
    }
    Ok((database, rows))
}
