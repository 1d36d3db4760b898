//! The start-up gate: an application calls [`ensure_ready`] before it serves anything.

use std::path::Path;

use wasmig_graph::Target;

use crate::database::Database;
use crate::error::{Error, Failure};
use crate::migrator::Migrator;
use crate::options::RunOptions;
use crate::progress::NoProgress;
use crate::report::RunReport;

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
pub fn ensure_ready(project_dir: impl AsRef<Path>, database_url: &str) -> Result<RunReport, Error> {
    let migrator = Migrator::open(project_dir)?;
    let mut database = migrator.connect(database_url)?;
    migrator.ensure_ready(&mut database)
}

impl Migrator {
    /// [`ensure_ready`] on a database the caller opened, with this migrator.
    pub fn ensure_ready(&self, database: &mut Database) -> Result<RunReport, Error> {
        let report = self.upgrade(database, &Target::Heads, &RunOptions::default(), &mut NoProgress)?;
        let status = self.status(database).map_err(|error| Error::after(error.into_failure(), report.clone()))?;
        if !status.is_current() {
            return Err(Error::after(Failure::NotReady { status: Box::new(status) }, report));
        }
        Ok(report)
    }
}
