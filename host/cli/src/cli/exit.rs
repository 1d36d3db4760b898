//! Exit codes, and which errors map to which code.

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
}

impl Exit {
    pub fn code(self) -> u8 {
        self as u8
    }

    /// Project, graph, target and plan errors (and [`UsageError`]) mean the
    /// user has something to fix before anything can run: exit 2. Anything
    /// else went wrong while doing the work: exit 1.
    pub fn classify(error: &anyhow::Error) -> Exit {
        if let Some(run) = error.downcast_ref::<wasmig::RunError>() {
            return Self::of_failure(&run.failure);
        }
        if let Some(failure) = error.downcast_ref::<wasmig::RunFailure>() {
            return Self::of_failure(failure);
        }
        let usage = error.chain().any(|cause| {
            matches!(
                cause.downcast_ref::<wasmig::backend::ConnectError>(),
                Some(wasmig::backend::ConnectError::BadUrl { .. })
            ) || cause.is::<wasmig::ProjectError>()
                || cause.is::<UsageError>()
                || cause.is::<wasmig_graph::ProjectError>()
                || cause.is::<wasmig_graph::GraphError>()
                || cause.is::<wasmig_graph::ResolveError>()
                || cause.is::<wasmig_graph::PlanError>()
                || cause.is::<wasmig_graph::TargetError>()
                || cause.is::<wasmig_graph::IdError>()
                || matches!(
                    cause.downcast_ref::<wasmig_build::BuildError>(),
                    Some(
                        wasmig_build::BuildError::ToolMissing { .. }
                            | wasmig_build::BuildError::RustTargetMissing { .. }
                            | wasmig_build::BuildError::AmbiguousSource { .. }
                            | wasmig_build::BuildError::ReservedName { .. }
                    )
                )
        });
        if usage { Exit::Usage } else { Exit::RunFailed }
    }
}

impl Exit {
    /// A run stopped before any step for something the user must fix in the
    /// project or the command (exit 2), or failed while working (exit 1).
    fn of_failure(failure: &wasmig::RunFailure) -> Exit {
        use wasmig::RunFailure as F;
        match failure {
            F::Project(_) | F::Plan(_) | F::Resolve(_) | F::Target(_) | F::NonTransactionalInAll { .. } => Exit::Usage,
            _ => Exit::RunFailed,
        }
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
