//! What a run did, and why it stopped: every error carries the report of the steps that already committed.

use std::fmt;

use serde::Serialize;
use wasmig_graph::Direction;

use crate::backend::{ConnectError, LockError};
use crate::checksum::ChecksumError;
use crate::project::{ModuleError, ProjectError};
use crate::runtime::{GuestLog, HookError};
use crate::sql::DbError;
use crate::versions::RowState;

/// What happened to one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepOutcome {
    /// `up` ran and committed.
    Applied,
    /// `down` ran and committed.
    Reverted,
    /// `verify` found the effect present; recorded without running `up`.
    Adopted,
    /// Recorded (or removed) without running anything.
    Stamped,
    /// Another runner had already done this step; nothing was done here.
    AlreadyDone,
}

/// One step that committed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepReport {
    pub revision: String,
    pub direction: Direction,
    pub outcome: StepOutcome,
    pub duration_ms: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub logs: Vec<String>,
}

impl StepReport {
    pub(crate) fn new(
        revision: &str,
        direction: Direction,
        outcome: StepOutcome,
        duration_ms: u64,
        logs: &[GuestLog],
    ) -> Self {
        StepReport {
            revision: revision.to_owned(),
            direction,
            outcome,
            duration_ms,
            logs: logs.iter().map(|log| format!("{}: {}", log.level, log.message)).collect(),
        }
    }
}

/// The steps of a run that committed, in order.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RunReport {
    pub database: String,
    pub steps: Vec<StepReport>,
}

impl RunReport {
    /// The steps that changed the database (not those another runner did).
    pub fn changed(&self) -> impl Iterator<Item = &StepReport> {
        self.steps.iter().filter(|step| step.outcome != StepOutcome::AlreadyDone)
    }
}

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunFailure {
    #[error(transparent)]
    Project(#[from] ProjectError),
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error(transparent)]
    Plan(#[from] wasmig_graph::PlanError),
    #[error(transparent)]
    Resolve(#[from] wasmig_graph::ResolveError),
    #[error(transparent)]
    Target(#[from] wasmig_graph::TargetError),
    #[error(transparent)]
    Checksum(#[from] ChecksumError),
    #[error(transparent)]
    Module(#[from] ModuleError),
    #[error(transparent)]
    Hook(#[from] HookError),
    #[error("{database}: {action} failed: {source}")]
    Db { database: String, action: String, source: DbError },
    #[error(
        "revision {revision} is marked {} in {table}: a non-transactional step stopped halfway. Check the database by hand, \
         then record what is true with `wasmig resolve {revision} --as applied` or `wasmig resolve {revision} --as reverted`",
        state.as_str()
    )]
    Dirty { revision: String, state: RowState, table: String },
    #[error(
        "checksum drift: {} changed since {}: {}. Restore the original files, or accept the change with `wasmig repair {}` (audited)",
        if revisions.len() == 1 { "applied revision" } else { "applied revisions" },
        if revisions.len() == 1 { "it was applied" } else { "they were applied" },
        revisions.join(", "),
        revisions.first().map(String::as_str).unwrap_or("REV")
    )]
    Drift { revisions: Vec<String> },
    #[error(
        "revision {revision} has `transactional = false` and cannot run inside `--transaction all`; \
         run the plan with the default per-revision transactions"
    )]
    NonTransactionalInAll { revision: String },
    #[error("revision {revision} is not applied, so there is nothing to {action}")]
    NotApplied { revision: String, action: &'static str },
    #[error("revision {revision} is not dirty (its state is {}); `wasmig resolve` is only for revisions a non-transactional step left dirty", state.as_str())]
    NotDirty { revision: String, state: RowState },
    #[error("cannot set up the WebAssembly engine: {0}")]
    Engine(String),
    #[error(
        "{} is not at the project's heads after upgrading (pending: [{}], unknown applied: [{}], dirty: [{}], drift: [{}]); run `wasmig status` there",
        status.database, status.pending.join(", "), status.unknown.join(", "), status.dirty.join(", "), status.drift.join(", ")
    )]
    NotReady { status: Box<crate::migrator::Status> },
}

impl RunFailure {
    pub(crate) fn db(database: &str, action: impl Into<String>) -> impl FnOnce(DbError) -> RunFailure {
        let database = database.to_owned();
        let action = action.into();
        move |source| RunFailure::Db { database, action, source }
    }
}

/// A run that stopped, with what it had committed before it stopped.
#[derive(Debug)]
pub struct RunError {
    pub failure: RunFailure,
    pub committed: RunReport,
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.failure)?;
        let changed: Vec<&str> = self.committed.changed().map(|step| step.revision.as_str()).collect();
        if !changed.is_empty() {
            write!(f, "\n(committed before the failure: {} step(s): {})", changed.len(), changed.join(", "))?;
        }
        Ok(())
    }
}

impl std::error::Error for RunError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.failure)
    }
}

impl<T: Into<RunFailure>> From<T> for RunError {
    fn from(failure: T) -> Self {
        RunError { failure: failure.into(), committed: RunReport::default() }
    }
}
