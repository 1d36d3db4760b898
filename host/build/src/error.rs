//! Why a build failed, each with what to do about it.

use std::path::PathBuf;

use crate::tool::Tool;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    #[error(
        "{dir} has several source markers ({}): a revision is written in one language; remove all but one",
        markers.join(", ")
    )]
    AmbiguousSource { dir: PathBuf, markers: Vec<&'static str> },
    #[error("{path} has the name of a wasmig guest SDK module and would hide it: rename it")]
    ReservedName { path: PathBuf },
    #[error("{tool} was not found (looked in {}); {hint}", looked.join(" and "))]
    ToolMissing { tool: Tool, looked: Vec<String>, hint: String },
    #[error(
        "the Rust target {target} is not installed: run `rustup target add {target}` (Rust revisions build for it)"
    )]
    RustTargetMissing { target: String },
    #[error("no folder for wasmig's toolchains: set WASMIG_TOOLS_DIR (or HOME)")]
    NoToolsDir,
    #[error("cannot run {tool} ({path}): {source}")]
    Spawn { tool: Tool, path: PathBuf, source: std::io::Error },
    #[error("{tool} failed{} ({status}):\n{stderr}", if revision.is_empty() { String::new() } else { format!(" to build revision {revision}") })]
    ToolFailed { revision: String, tool: Tool, status: String, stderr: String },
    #[error(
        "cargo built revision {revision} but reported no .wasm file: is {manifest} a `crate-type = [\"cdylib\"]` library?"
    )]
    NoArtifact { revision: String, manifest: PathBuf },
    #[error("installing a toolchain failed ({status}): {command}\n{stderr}")]
    Install { command: String, status: String, stderr: String },
    #[error("{path} is not a build stamp wasmig understands ({reason}): delete it and run `wasmig build`")]
    BadStamp { path: PathBuf, reason: String },
    #[error(
        "revision {revision} imports {}, outside the contract: a revision may use only wasmig:revision/*. \
         {hint}",
        imports.join(", ")
    )]
    ForbiddenImport { revision: String, imports: Vec<String>, hint: String },
    #[error("wasmig could not make revision {revision} into a component ({stage}): {reason}")]
    Componentize { revision: String, stage: &'static str, reason: String },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

impl BuildError {
    /// Something the user must set up or fix before a build can run (a
    /// missing tool or target, an ambiguous source), as opposed to a build
    /// that ran and failed.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            BuildError::ToolMissing { .. }
                | BuildError::RustTargetMissing { .. }
                | BuildError::AmbiguousSource { .. }
                | BuildError::ReservedName { .. }
        )
    }
}
