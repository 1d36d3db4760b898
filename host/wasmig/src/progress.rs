//! Hearing about a run as it goes: a progress bar, log lines, a fleet's channel.

use wasmig_graph::Direction;

use crate::report::StepReport;

/// Hears about a run as it goes (a progress bar, log lines, a fleet's channel).
pub trait Progress {
    /// The run will wait for the migration lock another run holds (`holder`
    /// describes its session when the database says), for at most `timeout`.
    fn waiting_for_lock(&mut self, _holder: Option<&str>, _timeout: std::time::Duration) {}
    /// `components` revisions' components are compiled before the first step
    /// (once per machine and wasmig version; cached after that).
    fn compiling(&mut self, _components: usize) {}
    fn planned(&mut self, _steps: usize) {}
    /// A step starts: `message` is the first line of the revision's message.
    fn step_started(&mut self, _revision: &str, _message: &str, _direction: Direction) {}
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
