//! Fleets: one migrator run over many tenant databases or schemas, with bounded concurrency, isolated failures, a canary wave and a per-tenant report.
//!
//! Where each part lives: `source` lists the tenants (`@file`, a SQLite
//! glob, PostgreSQL schemas), `shard` splits them between workers, `run` schedules them, `report` says what
//! happened to each, typed (an [`ErrorKind`](crate::ErrorKind) beside the message).
//!
//! ```
//! # fn main() -> Result<(), wasmig::Error> {
//! # let dir = tempfile::tempdir().unwrap();
//! # let revision = dir.path().join("migrations/a1b2c3d4e5f6_create_notes");
//! # std::fs::create_dir_all(&revision).unwrap();
//! # std::fs::write(dir.path().join("wasmig.toml"), "").unwrap();
//! # std::fs::write(revision.join("revision.toml"), "id = \"a1b2c3d4e5f6\"\nmessage = \"notes\"\nparents = []\nkind = \"sql\"\n").unwrap();
//! # std::fs::write(revision.join("up.sql"), "CREATE TABLE notes (id INTEGER PRIMARY KEY);").unwrap();
//! # std::fs::write(revision.join("down.sql"), "DROP TABLE notes;").unwrap();
//! # for name in ["acme", "globex"] { std::fs::write(dir.path().join(format!("{name}.db")), "").unwrap(); }
//! # let project_dir = dir.path();
//! # let glob = format!("sqlite:{}/*.db", dir.path().display());
//! use wasmig::{Fleet, FleetAction, Migrator, NoFleetProgress, TenantSource, graph::Target};
//!
//! let tenants = TenantSource::parse(&glob)?.tenants()?; // every acme.db, globex.db, ...
//! let fleet = Fleet::new(Migrator::open(project_dir)?).jobs(2).canary(1);
//! let report = fleet.run(tenants, &FleetAction::Upgrade(Target::Heads), &NoFleetProgress);
//! assert!(report.all_ok(), "{:?}", report.failed().collect::<Vec<_>>());
//! # Ok(())
//! # }
//! ```
//!
//! Decisions (see docs/FLEET.md):
//! - One [`Migrator`], so one engine, one compiled module set and one
//!   `InstancePre` per module for every tenant. Before any worker starts,
//!   the fleet loads every module of the project once, on one thread:
//!   workers that asked the runtime for the same module at the same moment
//!   would each compile it.
//! - Concurrency is `jobs` scoped OS threads pulling tenants from one shared
//!   queue (the caller's iterator behind a mutex), so a stream of tenants is
//!   read only as fast as it is migrated.
//! - A tenant's run is exactly what `wasmig upgrade` does to one database:
//!   its own connection, its own lock (the PostgreSQL lock key carries the
//!   schema), per-revision transactions. A failure, or a panic, ends that
//!   tenant's run only; a rerun picks up from each tenant's applied set.
//! - `fail_fast` and the canary wave stop *scheduling*: runs already going
//!   finish, and every tenant not started is reported as skipped.
//! - Memory does not grow with the fleet: tenants are read (and their
//!   applied rows held) one chunk at a time as the queue reaches them, and
//!   with [`Fleet::keep_reports`]`(false)` (what the CLI does) each
//!   tenant's report goes to the listener and only counts stay.

mod coordinator;
mod report;
mod run;
mod shard;
mod source;
mod standing;
mod tally;

pub use coordinator::{Coordination, CoordinatorError, FailureBudget, RunSummary, RunTenant, run_tenants, runs};
pub use report::{FleetCounts, FleetEvent, FleetProgress, FleetReport, NoFleetProgress, TenantOutcome, TenantReport};
pub use run::{Fleet, FleetAction};
pub use shard::{Shard, ShardError};
pub use source::{FleetError, Tenant, TenantSource};
