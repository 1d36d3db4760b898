//! Hearing about a run as it goes: a progress bar, log lines, a fleet's channel.

use wasmig_graph::Direction;

use crate::report::StepReport;

/// Hears about a run as it goes (a progress bar, log lines, a fleet's channel).
pub trait Progress {
    fn planned(&mut self, _steps: usize) {}
    fn step_started(&mut self, _revision: &str, _direction: Direction) {}
    fn step_finished(&mut self, _step: &StepReport) {}
}

/// Progress that nobody watches.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {}
