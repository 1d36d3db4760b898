//! The run-time lint: rules checked on every statement a revision's `up` runs, whatever language wrote it, since every statement passes through the host (docs/LINT.md).
//!
//! `rules` is the catalogue (why, what instead, which engines); `parse`
//! reads a statement with sqlparser; `settings` gives a step its levels and
//! allowances; `observe` asks PostgreSQL what a statement did (locks,
//! rewrites); `step` runs all of that around each call of a hook;
//! `finding` is what comes out (reports, the journal's note, the error of
//! a `deny`). `wasmig lint` is the crate's `rehearsal` module (it runs
//! steps through the migrator, which this module must not depend on).
//!
//! Only `up` is linted: a `down` exists to undo, and dropping what `up`
//! made is its job.

mod finding;
mod observe;
mod parse;
mod rules;
mod settings;
mod step;

pub use finding::{Finding, LintDenied, Verdict};
pub use observe::{LockMode, LockSnapshot, LockTaken};
pub use rules::{RuleInfo, how_to_allow, info};
pub(crate) use settings::LintMode;
pub use settings::LintPolicy;
pub(crate) use step::{CallNotes, StepWatch};
