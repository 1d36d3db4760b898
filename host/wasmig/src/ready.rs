//! The start-up gate: an application calls [`ensure_ready`] before it serves anything.

use std::path::Path;
use std::sync::Arc;

use wasmig_graph::Target;

use crate::apply::NoProgress;
use crate::database::Database;
use crate::migrator::{Migrator, RunOptions};
use crate::project::Project;
use crate::report::{RunError, RunFailure, RunReport};
use crate::runtime::{Runtime, RuntimeConfig, default_cache_dir};

/// Brings the database at `database_url` to the heads of the project in
/// `project_dir`, or fails before the caller has done anything else.
///
/// `Ok` means every revision of the project is applied (the report lists
/// what this call applied, often nothing). `Err` means the application must
/// not start: the error says what failed and carries what had committed.
/// Several instances of an application may call it at once: the migration
/// lock (PostgreSQL) or per-step write transactions (SQLite) make each
/// revision run exactly once.
///
/// It blocks. In an async application call it before starting the runtime,
/// or through `tokio::task::spawn_blocking`: the PostgreSQL backend drives its
/// own runtime and refuses, with a typed error, to run on an async worker.
pub fn ensure_ready(project_dir: impl AsRef<Path>, database_url: &str) -> Result<RunReport, RunError> {
    let project = Arc::new(Project::open(project_dir)?);
    let runtime = Arc::new(
        Runtime::new(RuntimeConfig { cache_dir: default_cache_dir() })
            .map_err(|error| RunFailure::Engine(error.to_string()))?,
    );
    let mut database = Database::connect_with(database_url, project.lock_timeout())?;
    let migrator = Migrator::new(project, runtime);
    let report = migrator.upgrade(database.backend(), &Target::Heads, &RunOptions::default(), &mut NoProgress)?;
    let status = migrator
        .status(database.backend().as_mut())
        .map_err(|failure| RunError { failure, committed: report.clone() })?;
    if !status.is_current() {
        return Err(RunError { failure: RunFailure::NotReady { status: Box::new(status) }, committed: report });
    }
    Ok(report)
}
