//! Where a database stands against the project: `status` and `verify` reports.

use serde::Serialize;

use crate::drift::{Drift, InterpreterChange};
use crate::events::Event;
use crate::versions::AppliedRow;

/// What `status` found. Read without the lock and without creating tables.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Status {
    pub database: String,
    /// The verdict of [`Status::is_current`], for JSON readers.
    pub at_heads: bool,
    /// The project's heads.
    pub heads: Vec<String>,
    /// The heads of the database's applied set.
    pub current: Vec<String>,
    /// Revisions to apply to reach the project's heads, in plan order.
    pub pending: Vec<String>,
    /// Applied revisions this project does not know.
    pub unknown: Vec<String>,
    /// Revisions a non-transactional step left half done.
    pub dirty: Vec<String>,
    /// Applied revisions whose files changed since (empty with `checksum = "off"`).
    pub drift: Vec<String>,
    /// For each of them, the files that changed and both checksums.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub drifts: Vec<Drift>,
    /// Applied `python` / `js` revisions that ran on another interpreter
    /// plugin than this wasmig's: information, never drift.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub interpreter_changes: Vec<InterpreterChange>,
    /// Whether drift stops runs (`checksum = "error"`) or is only reported (`"warn"`).
    pub drift_blocks: bool,
    /// Who holds the migration lock: a run in progress (PostgreSQL).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_in_progress: Option<String>,
    /// The last run's failure when nothing succeeded since (see
    /// [`crate::Migrator::last_failure`]); not read for a fleet's tenants.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_failure: Option<Event>,
    /// Every version row; empty in a fleet report, which stays small.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub applied: Vec<AppliedRow>,
}

impl Status {
    /// At the project's heads, nothing dirty, nothing unknown, no drift
    /// (drift counts only when the project's checksum policy is `error`).
    pub fn is_current(&self) -> bool {
        self.at_heads
    }

    /// Where the database stands, in words: `behind`, `ahead`, `dirty`,
    /// `drift` (each that applies), or `at heads`.
    pub fn states(&self) -> Vec<&'static str> {
        let mut states: Vec<&'static str> = [
            (!self.pending.is_empty(), "behind"),
            (!self.unknown.is_empty(), "ahead"),
            (!self.dirty.is_empty(), "dirty"),
            (!self.drift.is_empty(), "drift"),
        ]
        .into_iter()
        .filter_map(|(found, state)| found.then_some(state))
        .collect();
        if states.is_empty() {
            states.push("at heads");
        }
        states
    }

    pub(crate) fn verdict(&self) -> bool {
        self.pending.is_empty()
            && self.unknown.is_empty()
            && self.dirty.is_empty()
            && (self.drift.is_empty() || !self.drift_blocks)
    }
}

/// What `verify` found for one revision.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VerifyReport {
    pub revision: String,
    pub applied: bool,
    pub verdict: Option<&'static str>,
    /// The verdict contradicts the applied set (applied but absent, or
    /// present but not applied).
    pub mismatch: bool,
}
