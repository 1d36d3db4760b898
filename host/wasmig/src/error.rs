//! The crate's one error type: what went wrong ([`Failure`]), its [`ErrorKind`], and what had committed before it.
//!
//! Every public operation (open, connect, plan, status, upgrade, fleet
//! listing, ...) returns [`Error`], so `?` works across all of them. A caller
//! that must react (an exit code, a retry, a fleet dashboard) matches on
//! [`Error::kind`], never on message text or on the concrete source type.

use std::fmt;

use serde::Serialize;

use crate::backend::{ConnectError, LockError};
use crate::checksum::ChecksumError;
use crate::drift::Drift;
use crate::fleet::FleetError;
use crate::report::RunReport;
use crate::revisions::ModuleError;
use crate::runtime::{EngineError, HookError, LoadError};
use crate::sql::DbError;
use crate::status::Status;
use crate::versions::RowState;

/// What kind of thing went wrong: a stable classification for exit codes,
/// retries and reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// The request was wrong (a target, a URL, a plan through a merge
    /// revision, a tenant source): nothing was done; the caller must fix it.
    Usage,
    /// The project on disk is invalid (manifests, the graph, `wasmig.toml`).
    Project,
    /// The database could not be reached or opened.
    Connect,
    /// Another run holds the migration lock.
    Lock,
    /// A statement of the host's own (bookkeeping, transactions) failed.
    Database,
    /// A revision failed: its module, its files or one of its hooks.
    Revision,
    /// The database's recorded state needs an operator first (dirty,
    /// checksum drift, a revision that is not applied or not dirty).
    State,
    /// `ensure_ready` finished but the database is not at the project's heads.
    NotReady,
    /// The WebAssembly engine could not be set up.
    Engine,
    /// A bug in wasmig itself (a panic caught at a fleet tenant's boundary).
    Internal,
    /// A stop was requested ([`crate::interrupt`]: Ctrl-C, SIGTERM): the
    /// running step was rolled back; what committed before stays.
    Interrupted,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Usage => "usage",
            ErrorKind::Project => "project",
            ErrorKind::Connect => "connect",
            ErrorKind::Lock => "lock",
            ErrorKind::Database => "database",
            ErrorKind::Revision => "revision",
            ErrorKind::State => "state",
            ErrorKind::NotReady => "not-ready",
            ErrorKind::Engine => "engine",
            ErrorKind::Internal => "internal",
            ErrorKind::Interrupted => "interrupted",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an operation stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Failure {
    #[error(transparent)]
    Project(#[from] wasmig_graph::ProjectError),
    #[error(transparent)]
    Graph(#[from] wasmig_graph::GraphError),
    /// `[sandbox] role` gives no valid role for this tenant.
    #[error(transparent)]
    Role(#[from] wasmig_graph::RoleError),
    /// The login role can leave `[sandbox] role` (found before any step runs).
    #[error(
        "[sandbox] role `{role}` would not confine revisions on {database}: the login role `{login}` {}, and any \
         statement can `RESET ROLE` back to it. Set `login = true` under [sandbox] to connect as `{role}` itself \
         (a LOGIN role; its password from PGPASSWORD or ~/.pgpass), or log in as a role that owns nothing and is a \
         member of `{role}` only",
        reasons.join(", ")
    )]
    LoginEscapes { database: String, role: String, login: String, reasons: Vec<String> },
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
    Fleet(#[from] FleetError),
    #[error(transparent)]
    Coordinator(#[from] crate::fleet::CoordinatorError),
    #[error(transparent)]
    Checksum(#[from] ChecksumError),
    #[error(transparent)]
    Module(#[from] ModuleError),
    #[error(transparent)]
    Hook(#[from] HookError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("{database}: {action} failed: {source}")]
    Db { database: String, action: String, source: DbError },
    #[error(
        "revision {revision} is marked {} in {table}: a non-transactional step stopped halfway. Check the database by hand, \
         then record what is true with `wasmig resolve {revision} --as applied` or `wasmig resolve {revision} --as reverted`",
        state.as_str()
    )]
    Dirty { revision: String, state: RowState, table: String },
    #[error(
        "checksum drift: {} changed since {} applied:\n{}\nRestore the original files, or accept the change with `wasmig repair {}` (audited)",
        if drifts.len() == 1 { "an applied revision" } else { "applied revisions" },
        if drifts.len() == 1 { "it was" } else { "they were" },
        drifts.iter().map(|drift| format!("  {drift}")).collect::<Vec<_>>().join("\n"),
        drifts.first().map_or("REV", |drift| drift.revision.as_str())
    )]
    Drift { drifts: Vec<Drift> },
    #[error(
        "revision {revision} has `transactional = false` and cannot run inside `--transaction all`; \
         run the plan with the default per-revision transactions"
    )]
    NonTransactionalInAll { revision: String },
    /// An SQL revision's `up.sql` or `down.sql` holds no statement and no `-- wasmig: empty` marker.
    #[error(
        "revision {revision}: {file} holds no statement (only blanks and comments), so running it would record a \
         change that did not happen; nothing was run. Write its statements, or, if the revision really has nothing \
         to do in that direction, say so with a line `-- wasmig: empty` in the file"
    )]
    EmptySql { revision: String, file: String },
    #[error("revision {revision} is not applied, so there is nothing to {action}")]
    NotApplied { revision: String, action: &'static str },
    #[error("revision {revision} is not dirty (its state is {}); `wasmig resolve` is only for revisions a non-transactional step left dirty", state.as_str())]
    NotDirty { revision: String, state: RowState },
    #[error(
        "{} is not at the project's heads after upgrading (pending: [{}], unknown applied: [{}], dirty: [{}], drift: [{}]); run `wasmig status` there",
        status.database, status.pending.join(", "), status.unknown.join(", "), status.dirty.join(", "), status.drift.join(", ")
    )]
    NotReady { status: Box<Status> },
    /// A transaction kept failing on lock conflicts.
    #[error(
        "{last}\n(gave up after {attempts} attempts: another session kept the lock. Find it (`SELECT * FROM \
         pg_stat_activity`, or the process that has the SQLite file open), wait for it, or raise `lock_retries` / \
         `statement_lock_timeout_ms` in [database])"
    )]
    Retried { attempts: u32, last: Box<Failure> },
    /// A non-transactional step left invalid indexes (PostgreSQL: a
    /// concurrent build that failed or was interrupted).
    #[error(
        "{}revision {revision} left invalid index(es) {}: a concurrent index build failed or was interrupted, \
         and `CREATE INDEX CONCURRENTLY IF NOT EXISTS` would take them for done. The revision stays marked dirty. \
         Recover: `DROP INDEX CONCURRENTLY {}`, fix the cause, then `wasmig resolve {revision} --as reverted` and \
         upgrade again",
        cause.as_ref().map(|cause| format!("{cause}\n")).unwrap_or_default(),
        indexes.join(", "),
        indexes.join(", ")
    )]
    InvalidIndexes { revision: String, indexes: Vec<String>, cause: Option<Box<Failure>> },
    /// A non-transactional revision failed on a lock conflict: never run again automatically.
    #[error(
        "{source}\n(revision {revision} is `transactional = false`, so wasmig did not run it again: part of it may \
         have committed. It stays marked dirty: check the database, then `wasmig resolve {revision} --as applied` \
         or `--as reverted`)"
    )]
    NotRetried { revision: String, source: Box<Failure> },
    /// A non-transactional step failed midway: its dirty marker stays.
    #[error(
        "{source}\n(revision {revision} is `transactional = false`: part of it may have run, and it is left marked {} in \
         {table}. Check the database by hand, then record what is true with `wasmig resolve {revision} --as applied` \
         or `wasmig resolve {revision} --as reverted`)",
        state.as_str()
    )]
    LeftDirty { revision: String, state: RowState, table: String, source: Box<Failure> },
    /// A stop was requested between steps: `before` did not start.
    #[error("interrupted before revision {before} (a stop was requested); it did not start")]
    Interrupted { before: String },
}

impl Failure {
    /// A conflict with another session (a lock wait past the bound, a
    /// deadlock, a serialization failure, SQLite's busy): running the whole
    /// transaction again can succeed. The reason, for progress and events.
    pub fn lock_conflict(&self) -> Option<String> {
        match self {
            Failure::Hook(error @ HookError::LockConflict { .. }) => Some(error.to_string()),
            Failure::Db { source, .. } if source.is_lock_conflict() => Some(self.to_string()),
            _ => None,
        }
    }

    /// The classification callers act on.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Failure::Project(_)
            | Failure::Graph(_)
            | Failure::Role(_)
            | Failure::LoginEscapes { .. }
            | Failure::EmptySql { .. } => ErrorKind::Project,
            // Nothing ran: the caller must create the schema or fix the URL first.
            Failure::Connect(ConnectError::BadUrl { .. } | ConnectError::MissingSchema { .. }) => ErrorKind::Usage,
            Failure::Connect(_) => ErrorKind::Connect,
            // The project is incomplete: `wasmig build` makes the file.
            Failure::Module(ModuleError::Missing { .. }) => ErrorKind::Project,
            Failure::LeftDirty { source, .. } => source.kind(),
            Failure::Interrupted { .. }
            | Failure::Hook(HookError::Interrupted { .. })
            | Failure::Lock(LockError::Interrupted { .. }) => ErrorKind::Interrupted,
            Failure::Lock(LockError::Timeout { .. }) => ErrorKind::Lock,
            Failure::Lock(_) => ErrorKind::Database,
            Failure::Plan(_) | Failure::Resolve(_) | Failure::Target(_) | Failure::NonTransactionalInAll { .. } => {
                ErrorKind::Usage
            }
            Failure::Fleet(error) => error.kind(),
            Failure::Coordinator(error) => match error {
                crate::fleet::CoordinatorError::Connect(ConnectError::BadUrl { .. })
                | crate::fleet::CoordinatorError::NotPostgres { .. }
                | crate::fleet::CoordinatorError::OtherAction { .. }
                | crate::fleet::CoordinatorError::UnknownRun { .. } => ErrorKind::Usage,
                crate::fleet::CoordinatorError::Connect(_) => ErrorKind::Connect,
                _ => ErrorKind::Database,
            },
            Failure::Hook(HookError::LockConflict { .. }) | Failure::Retried { .. } | Failure::NotRetried { .. } => {
                ErrorKind::Lock
            }
            Failure::InvalidIndexes { .. } => ErrorKind::Revision,
            Failure::Checksum(_) | Failure::Module(_) | Failure::Hook(_) => ErrorKind::Revision,
            Failure::Engine(_) => ErrorKind::Engine,
            Failure::Db { source, .. } if source.is_lock_conflict() => ErrorKind::Lock,
            Failure::Db { .. } => ErrorKind::Database,
            Failure::Dirty { .. } | Failure::Drift { .. } | Failure::NotApplied { .. } | Failure::NotDirty { .. } => {
                ErrorKind::State
            }
            Failure::NotReady { .. } => ErrorKind::NotReady,
        }
    }

    /// Maps a host statement's error to a failure naming the database and the action.
    pub(crate) fn db(database: &str, action: impl Into<String>) -> impl FnOnce(DbError) -> Failure {
        let database = database.to_owned();
        let action = action.into();
        move |source| Failure::Db { database, action, source }
    }
}

impl From<LoadError> for Failure {
    fn from(error: LoadError) -> Self {
        Failure::Module(ModuleError::Load(error))
    }
}

// Beside `Failure::kind` rather than in `fleet::source`, so that the tenant
// listing does not depend on the crate's error type.
impl FleetError {
    /// A source that is wrong is the caller's to fix (usage); a server or a
    /// file system that failed while listing is not.
    pub fn kind(&self) -> ErrorKind {
        match self {
            FleetError::Connect(ConnectError::BadUrl { .. } | ConnectError::MissingSchema { .. }) => ErrorKind::Usage,
            FleetError::Connect(_) => ErrorKind::Connect,
            FleetError::ListSchemas { .. } => ErrorKind::Database,
            FleetError::GlobRead { .. } => ErrorKind::Connect,
            FleetError::BadSource { .. }
            | FleetError::ReadList { .. }
            | FleetError::BadLine { .. }
            | FleetError::Glob { .. }
            | FleetError::Empty { .. }
            | FleetError::DuplicateTenant { .. } => ErrorKind::Usage,
        }
    }
}

/// An operation that stopped: why, and for the commands that commit step by
/// step (upgrade, downgrade, stamp), the report of what had committed.
///
/// One pointer wide: `Result<T, Error>` stays as cheap as `T` on the success path.
#[derive(Debug)]
pub struct Error(Box<Stopped>);

#[derive(Debug)]
struct Stopped {
    failure: Failure,
    committed: Option<RunReport>,
    failed_step: Option<String>,
}

impl Error {
    pub(crate) fn after(failure: impl Into<Failure>, committed: RunReport) -> Self {
        Error(Box::new(Stopped { failure: failure.into(), committed: Some(committed), failed_step: None }))
    }

    /// [`Error::after`] a step that failed: `revision` was rolled back
    /// (or, `transactional = false`, left dirty: [`Failure::LeftDirty`]).
    pub(crate) fn in_step(failure: impl Into<Failure>, committed: RunReport, revision: Option<String>) -> Self {
        Error(Box::new(Stopped { failure: failure.into(), committed: Some(committed), failed_step: revision }))
    }

    /// The revision whose step was running when the run stopped; its
    /// transaction was rolled back (with `--transaction all`, the whole
    /// plan's). `None` when the run stopped between steps or before the first.
    pub fn failed_step(&self) -> Option<&str> {
        self.0.failed_step.as_deref()
    }

    /// Whether the failed step was left dirty (a non-transactional step
    /// that stopped midway) rather than rolled back.
    pub fn left_dirty(&self) -> bool {
        matches!(
            self.0.failure,
            Failure::LeftDirty { .. } | Failure::NotRetried { .. } | Failure::InvalidIndexes { .. }
        )
    }

    pub fn kind(&self) -> ErrorKind {
        self.0.failure.kind()
    }

    pub fn failure(&self) -> &Failure {
        &self.0.failure
    }

    pub(crate) fn failure_mut(&mut self) -> &mut Failure {
        &mut self.0.failure
    }

    pub fn into_failure(self) -> Failure {
        self.0.failure
    }

    /// What had committed before the failure: `Some` (possibly with no step)
    /// for the commands that commit, `None` for those that never do (open,
    /// connect, plan, status, verify, repair, resolve).
    pub fn committed(&self) -> Option<&RunReport> {
        self.0.committed.as_ref()
    }

    /// The steps that changed the database before the failure.
    pub fn committed_steps(&self) -> usize {
        self.committed().map_or(0, |report| report.changed().count())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.failure)?;
        if let Some(committed) = &self.0.committed {
            let changed: Vec<&str> = committed.changed().map(|step| step.revision.as_str()).collect();
            if !changed.is_empty() {
                write!(f, "\n(committed before the failure: {} step(s): {})", changed.len(), changed.join(", "))?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0.failure)
    }
}

impl<T: Into<Failure>> From<T> for Error {
    fn from(failure: T) -> Self {
        Error(Box::new(Stopped { failure: failure.into(), committed: None, failed_step: None }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_classify_without_downcasting() {
        let bad_url = Error::from(ConnectError::BadUrl { url: "x".into(), reason: "y".into() });
        assert_eq!(bad_url.kind(), ErrorKind::Usage);
        let dirty = Error::after(
            Failure::Dirty { revision: "a".into(), state: RowState::DirtyUp, table: "t".into() },
            RunReport::default(),
        );
        assert_eq!(dirty.kind(), ErrorKind::State);
        assert!(dirty.committed().is_some());
        let plan = Error::from(wasmig_graph::TargetError::Empty);
        assert_eq!(plan.kind(), ErrorKind::Usage);
        assert!(plan.committed().is_none());
    }
}
