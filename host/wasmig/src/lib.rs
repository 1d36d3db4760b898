//! wasmig: database migrations whose revisions are sandboxed WebAssembly components.
//!
//! The host owns the revision graph ([`wasmig_graph`]), the transactions, the
//! locks and the version tables; each revision is a WebAssembly component run
//! by the [`runtime`] against a [`backend`] through the contract in
//! `sdk/wit/wasmig.wit`.

// A failed run returns what had committed with the failure (RunError), so
// errors are large by design; they are also the cold path.
#![allow(clippy::result_large_err)]

mod apply;
pub mod backend;
pub mod checksum;
mod database;
pub mod fleet;
mod migrator;
pub mod offline;
mod project;
mod ready;
mod report;
pub mod runtime;
pub mod sql;
pub mod versions;

pub use apply::{NoProgress, Progress};
pub use database::{DEFAULT_LOCK_TIMEOUT, Database};
pub use fleet::{
    Fleet, FleetAction, FleetError, FleetEvent, FleetProgress, FleetReport, NoFleetProgress, Tenant, TenantOutcome,
    TenantReport, TenantSource,
};
pub use migrator::{Migrator, RunOptions, Status, TransactionMode, VerifyReport};
pub use project::{ModuleError, Project, ProjectError};
pub use ready::ensure_ready;
pub use report::{RunError, RunFailure, RunReport, StepOutcome, StepReport};
pub use wasmig_graph as graph;
