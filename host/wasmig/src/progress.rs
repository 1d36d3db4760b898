//! Hearing about a run as it goes: a progress bar, log lines, a fleet's channel.

use wasmig_graph::Direction;

use crate::report::StepReport;

/// Hears about a run as it goes (a progress bar, log lines, a fleet's channel).
pub trait Progress {
    fn planned(&mut self, _steps: usize) {}
    fn step_started(&mut self, _revision: &str, _direction: Direction) {}
    fn step_finished(&mut self, _step: &StepReport) {}
    /// A transaction failed on a lock conflict (`reason`) and runs again
    /// after `pause`: this is attempt `attempt` of `attempts`. `revision` is
    /// `None` when the transaction holds the whole plan (`--transaction all`).
    fn step_retrying(
        &mut self,
        _revision: Option<&str>,
        _attempt: u32,
        _attempts: u32,
        _reason: &str,
        _pause: std::time::Duration,
    ) {
    }
}

/// Progress that nobody watches.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {}
