//! The CLI's one error type: every way a command can fail, and the exit code each means.

use wasmig::ErrorKind;

use super::exit::{Exit, UsageError};

/// A failed command. The exit code is a `match`, never a guess from the text.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The command line is wrong in a way clap cannot see.
    #[error(transparent)]
    Usage(#[from] UsageError),
    /// The library failed; its [`ErrorKind`] decides the exit code.
    #[error(transparent)]
    Wasmig(#[from] wasmig::Error),
    /// `wasmig build` failed.
    #[error(transparent)]
    Build(#[from] wasmig_build::BuildError),
    /// Anything else went wrong while working: a file, the terminal, JSON.
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

pub type CliResult<T> = Result<T, CliError>;

impl CliError {
    /// Exit 2 for what the user must fix before anything can run (the
    /// command, the project, the plan they asked for); exit 1 for what went
    /// wrong while doing the work.
    pub fn exit(&self) -> Exit {
        match self {
            CliError::Usage(_) => Exit::Usage,
            CliError::Wasmig(error) => match error.kind() {
                ErrorKind::Usage | ErrorKind::Project => Exit::Usage,
                _ => Exit::RunFailed,
            },
            CliError::Build(error) if error.is_usage() => Exit::Usage,
            CliError::Build(_) | CliError::Other(_) => Exit::RunFailed,
        }
    }
}

/// Library errors that reach the CLI without passing through `wasmig::Error` first.
macro_rules! through_wasmig {
    ($($error:ty),* $(,)?) => {$(
        impl From<$error> for CliError {
            fn from(error: $error) -> Self {
                CliError::Wasmig(wasmig::Error::from(error))
            }
        }
    )*};
}

through_wasmig!(
    wasmig::Failure,
    wasmig::ConnectError,
    wasmig::FleetError,
    wasmig::EngineError,
    wasmig::LoadError,
    wasmig::graph::ProjectError,
    wasmig::graph::GraphError,
    wasmig::graph::ResolveError,
    wasmig::graph::PlanError,
    wasmig::graph::TargetError,
);

impl From<std::io::Error> for CliError {
    fn from(error: std::io::Error) -> Self {
        CliError::Other(error.into())
    }
}

impl From<serde_json::Error> for CliError {
    fn from(error: serde_json::Error) -> Self {
        CliError::Other(error.into())
    }
}

impl From<wasmig::graph::IdError> for CliError {
    fn from(error: wasmig::graph::IdError) -> Self {
        CliError::Usage(UsageError::new(error.to_string()))
    }
}
