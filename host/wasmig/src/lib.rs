//! wasmig: database migrations whose revisions are sandboxed WebAssembly components.
//!
//! The host owns the revision graph ([`graph`]), the transactions, the locks
//! and the version tables; each revision is a WebAssembly component run in a
//! sandbox against the database through the contract in `sdk/wit/wasmig.wit`.
//!
//! An embedder needs three lines: open the project, connect with the
//! project's settings, run.
//!
//! ```
//! # fn main() -> Result<(), wasmig::Error> {
//! # let dir = tempfile::tempdir().unwrap();
//! # let revision = dir.path().join("migrations/a1b2c3d4e5f6_create_users");
//! # std::fs::create_dir_all(&revision).unwrap();
//! # std::fs::write(dir.path().join("wasmig.toml"), "").unwrap();
//! # std::fs::write(revision.join("revision.toml"), "id = \"a1b2c3d4e5f6\"\nmessage = \"create users\"\nparents = []\nkind = \"sql\"\n").unwrap();
//! # std::fs::write(revision.join("up.sql"), "CREATE TABLE users (id INTEGER PRIMARY KEY);").unwrap();
//! # std::fs::write(revision.join("down.sql"), "DROP TABLE users;").unwrap();
//! # let project_dir = dir.path();
//! # let url = "sqlite::memory:";
//! use wasmig::{Migrator, NoProgress, RunOptions, graph::Target};
//!
//! let migrator = Migrator::open(project_dir)?; // the project, and a runtime with the default cache
//! let mut db = migrator.connect(url)?; // with the project's settings
//! let report = migrator.upgrade(&mut db, &Target::Heads, &RunOptions::default(), &mut NoProgress)?;
//! assert_eq!(report.steps.len(), 1);
//! # Ok(())
//! # }
//! ```
//!
//! Every operation returns [`Error`]: [`Error::kind`] classifies it (usage,
//! project, connect, lock, database, revision, ...) and
//! [`Error::committed`] says what had committed before a run stopped.
//!
//! Layers, bottom-up: [`sql`] (values and errors), `backend` (SQLite,
//! PostgreSQL), `runtime` (wasmtime), `versions` and `bookkeeping` (the
//! version tables and transaction envelopes), `apply` (the one apply loop),
//! [`Migrator`] (plan, then execute), `admin` (stamp, repair, resolve),
//! [`fleet`] (many tenants), [`ensure_ready`] (the start-up gate), [`schema`]
//! and `stairway` (`wasmig test`: schema snapshots, and every revision up,
//! down and up again on a [`Scratch`] database), [`lint`] (rules checked on
//! every statement a revision runs, and `wasmig lint`).

// Inside the crate, functions return the unboxed `Failure`, large by design
// (it names the revision, the statement, the database); it is the cold path,
// and the public `Error` boxes it.
#![allow(clippy::result_large_err)]

mod admin;
mod advice;
mod apply;
mod bookkeeping;
mod database;
mod drift;
mod emptiness;
mod error;
mod events;
mod journal;
pub mod lint;
mod migrator;
mod options;
mod progress;
mod project_cache;
mod ready;
mod rehearsal;
mod report;
mod revisions;
mod scratch;
mod stairway;
mod status;

pub mod fleet;
pub mod interrupt;
pub mod schema;
pub mod sql;

mod checksum;
mod offline;
mod versions;

// Internals: public for wasmig's own backend and runtime tests and its
// benchmarks, outside the semver promise of this crate.
#[doc(hidden)]
pub mod backend;
#[doc(hidden)]
pub mod runtime;

pub use backend::{ConnectError, LockError};
pub use checksum::ChecksumError;
pub use database::{DEFAULT_LOCK_TIMEOUT, Database, redacted_url};
pub use drift::{Drift, InterpreterChange};
pub use error::{Error, ErrorKind, Failure};
pub use events::{Event, EventFilter};
pub use fleet::{
    Fleet, FleetAction, FleetCounts, FleetError, FleetEvent, FleetProgress, FleetReport, NoFleetProgress, Shard,
    ShardError, Tenant, TenantOutcome, TenantReport, TenantSource,
};
pub use journal::{JournalEntry, JournalFilter, JournalOutcome};
pub use lint::{Finding, LintDenied, Verdict as LintVerdict};
pub use migrator::Migrator;
pub use options::{RunOptions, TransactionMode};
pub use progress::{NoProgress, Progress};
pub use project_cache::{CacheStats, MIN_REVISIONS as PROJECT_CACHE_MIN_REVISIONS, load_project};
pub use ready::ensure_ready;
pub use rehearsal::{LintReport, LintedRevision};
pub use report::{RunReport, StepOutcome, StepReport};
pub use revisions::ModuleError;
pub use runtime::{EngineError, FailedSql, HookError, LoadError, Runtime, RuntimeConfig, default_cache_dir};
pub use scratch::{SCRATCH_SCHEMA_PREFIX, Scratch};
pub use stairway::{Stair, StairError, StairOutcome, StairwayReport};
pub use status::{Status, VerifyReport};
pub use versions::{AppliedRow, EventKind, RowState};
/// The revision graph: manifests, targets and plans (the `wasmig-graph` crate).
pub use wasmig_graph as graph;
