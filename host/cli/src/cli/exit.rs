//! Exit codes: the numbers a script or CI reads (which error means which code is `CliError::exit`).

use std::process::ExitCode;

/// The process exit status. The numbers are a promise to scripts and CI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Done.
    Success = 0,
    /// A run started and failed (a migration step, an I/O error while writing).
    RunFailed = 1,
    /// The command line or the project is wrong: nothing was done.
    Usage = 2,
    /// A check found the database behind, ahead or dirty, or several heads.
    CheckFailed = 3,
    /// Ctrl-C (SIGINT) stopped the run: the running step was rolled back (128 + 2, as shells report it).
    Interrupted = 130,
    /// SIGTERM stopped the run: the running step was rolled back (128 + 15).
    Terminated = 143,
}

impl Exit {
    pub fn code(self) -> u8 {
        self as u8
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit.code())
    }
}

/// A mistake in how a command was called that clap cannot see (e.g. a
/// format a command does not support, several heads where one is needed).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

impl UsageError {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}
