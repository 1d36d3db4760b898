//! What a run did: the steps that committed, in order.

use serde::Serialize;
use wasmig_graph::Direction;

use crate::lint::Finding;
use crate::runtime::GuestLog;

/// What happened to one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
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

impl StepOutcome {
    /// How a line of output says it: `applied`, `unstamped`, ...
    pub fn verb(self, direction: Direction) -> &'static str {
        match (self, direction) {
            (StepOutcome::Applied, _) => "applied",
            (StepOutcome::Reverted, _) => "reverted",
            (StepOutcome::Adopted, _) => "adopted",
            (StepOutcome::Stamped, Direction::Up) => "stamped",
            (StepOutcome::Stamped, Direction::Down) => "unstamped",
            (StepOutcome::AlreadyDone, _) => "already done by another run:",
        }
    }
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
    /// What the run-time lint found in the step's statements (docs/LINT.md).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lint: Vec<Finding>,
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
            lint: Vec::new(),
        }
    }

    pub(crate) fn with_lint(mut self, findings: Vec<Finding>) -> Self {
        self.lint = findings;
        self
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
