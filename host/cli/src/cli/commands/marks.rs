//! What a database applied, as `history` and `show` mark it: each revision's row, the database's current heads, and the applied revisions the project does not know.
//!
//! Read only when a database is asked for (`--database`, `DATABASE_URL`, or
//! `-i` for the project's `[database] url`); otherwise these commands read
//! the project alone and open nothing.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use serde::Serialize;
use wasmig::graph::{AppliedSet, Project, Revision};
use wasmig::{AppliedRow, Migrator, RowState};

use super::connection::{migrator, read_applied};
use super::project::load;
use crate::cli::error::CliResult;

/// The project, and what the database applied when one was asked for.
pub enum Inspected {
    Project(&'static Project),
    Marked(Marks),
}

impl Inspected {
    /// `given`: `--database`/`DATABASE_URL`; `indicate_current`: `-i`, which
    /// falls back to the project's `[database] url`.
    pub fn open(dir: &Path, given: Option<&str>, indicate_current: bool) -> CliResult<Self> {
        if given.is_none() && !indicate_current {
            return Ok(Inspected::Project(load(dir)?));
        }
        let migrator = migrator(dir)?;
        let (database, rows) = read_applied(&migrator, given)?;
        let graph = migrator.graph();
        let known: AppliedSet =
            rows.iter().filter(|row| graph.contains(&row.revision)).map(|row| &row.revision).cloned().collect();
        let current = graph.applied_heads(&known).iter().map(ToString::to_string).collect();
        let unknown =
            rows.iter().filter(|row| !graph.contains(&row.revision)).map(|row| row.revision.clone()).collect();
        let rows = rows.into_iter().map(|row| (row.revision.clone(), row)).collect();
        Ok(Inspected::Marked(Marks { migrator, database, rows, current, unknown }))
    }

    pub fn project(&self) -> &Project {
        match self {
            Inspected::Project(project) => project,
            Inspected::Marked(marks) => marks.migrator.project(),
        }
    }

    pub fn marks(&self) -> Option<&Marks> {
        match self {
            Inspected::Project(_) => None,
            Inspected::Marked(marks) => Some(marks),
        }
    }
}

/// A database's applied rows, by revision.
pub struct Marks {
    migrator: Migrator,
    /// How to name the database (`app.db (not created yet)` for a missing SQLite file).
    pub database: String,
    rows: HashMap<String, AppliedRow>,
    /// The heads of its applied set.
    current: BTreeSet<String>,
    /// Applied revisions this project does not have.
    pub unknown: Vec<String>,
}

impl Marks {
    pub fn row(&self, id: &str) -> Option<&AppliedRow> {
        self.rows.get(id)
    }

    pub fn of(&self, id: &str) -> Mark<'_> {
        let row = self.row(id);
        Mark {
            applied: row.is_some_and(|row| row.state == RowState::Applied),
            state: row.map(|row| row.state),
            applied_at: row.map(|row| row.applied_at.as_str()),
            current: self.current.contains(id),
        }
    }

    /// Whether the revision's files still match the checksum recorded when it was applied.
    pub fn checksum(&self, revision: &Revision) -> CliResult<Checksum> {
        let Some(row) = self.row(revision.id().as_str()) else {
            return Ok(Checksum { state: ChecksumState::NotApplied, recorded: None, files: None });
        };
        let files = self.migrator.checksum(revision)?;
        let state = if files == row.checksum { ChecksumState::Matches } else { ChecksumState::Drifted };
        Ok(Checksum { state, recorded: Some(row.checksum.clone()), files: Some(files) })
    }
}

/// One revision as the database knows it (JSON: beside the revision's own fields).
#[derive(Debug, Serialize)]
pub struct Mark<'a> {
    /// Applied and committed (a dirty row is not).
    pub applied: bool,
    /// The row's state, if it has one: `applied`, `dirty-up`, `dirty-down`.
    pub state: Option<RowState>,
    pub applied_at: Option<&'a str>,
    /// A head of the database's applied set.
    pub current: bool,
}

impl Mark<'_> {
    /// The marker column of `history`: `applied`, `dirty-up`, `dirty-down` or `pending`.
    pub fn column(&self) -> &'static str {
        self.state.map_or("pending", RowState::as_str)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChecksumState {
    Matches,
    Drifted,
    NotApplied,
}

impl ChecksumState {
    pub fn as_str(self) -> &'static str {
        match self {
            ChecksumState::Matches => "matches",
            ChecksumState::Drifted => "drifted",
            ChecksumState::NotApplied => "not applied",
        }
    }
}

/// The recorded checksum of a revision against its files now.
#[derive(Debug, Serialize)]
pub struct Checksum {
    pub state: ChecksumState,
    pub recorded: Option<String>,
    pub files: Option<String>,
}
