//! wasmig: database migrations whose revisions are sandboxed WebAssembly components.
//!
//! The host owns the revision graph ([`wasmig_graph`]), the transactions, the
//! locks and the version tables; each revision is a WebAssembly component run
//! by the [`runtime`] against a [`backend`] through the contract in
//! `sdk/wit/wasmig.wit`.

mod apply;
pub mod backend;
pub mod checksum;
mod database;
mod migrator;
pub mod offline;
mod project;
mod ready;
mod report;
pub mod runtime;
pub mod sql;
pub mod versions;

pub use apply::{NoProgress, Progress};
pub use database::{Database, DEFAULT_LOCK_TIMEOUT};
pub use ready::ensure_ready;
pub use migrator::{Migrator, RunOptions, Status, TransactionMode, VerifyReport};
pub use project::{ModuleError, Project, ProjectError};
pub use report::{RunError, RunFailure, RunReport, StepOutcome, StepReport};
pub use wasmig_graph as graph;
