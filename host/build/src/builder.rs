//! Running the build of one revision: Rust through cargo, Python and JavaScript through their
//! componentizer, C through clang (`crate::c`), writing `revision.wasm` (and, for all but Rust,
//! its build stamp) when it is stale.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::c;
use crate::embedded::{self, CONTRACT_WIT};
use crate::error::BuildError;
use crate::language::{self, Language};
use crate::output::{MODULE_FILE, write_atomically};
use crate::rust_sdk;
use crate::stamp::{self, Stamp};
use crate::tool::{Tool, tail};
use crate::toolchain::Toolchains;

/// What to build and how.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// Rebuild even when `revision.wasm` is up to date.
    pub force: bool,
    /// Only say whether `revision.wasm` is up to date; write nothing.
    pub check_only: bool,
    /// Also rebuild Python and JavaScript revisions built with another guest SDK.
    pub sdk_changes: bool,
    /// The cargo profile Rust revisions build with (`[build] cargo_profile`).
    pub cargo_profile: String,
    /// Where standalone Rust revisions (`crate::rust_sdk::is_standalone`) build: one target
    /// directory for the project, so the SDK is compiled once ([`crate::shared_target_dir`]).
    pub shared_target_dir: PathBuf,
}

/// What happened to one revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildOutcome {
    /// `revision.wasm` was (re)written.
    Built { bytes: u64, toolchain: String, duration: Duration },
    /// `revision.wasm` already matches its source.
    UpToDate,
    /// With `check_only`: `revision.wasm` is missing or does not match its source.
    Stale { reason: String },
}

/// Builds the revision in `dir` (id `revision`, for messages) written in `language`.
pub fn build(
    dir: &Path,
    revision: &str,
    language: Language,
    tools: &Toolchains,
    options: &BuildOptions,
) -> Result<BuildOutcome, BuildError> {
    let started = Instant::now();
    let module_path = dir.join(MODULE_FILE);
    match language {
        Language::Rust => {
            let (bytes, toolchain) = build_rust(dir, revision, tools, options)?;
            let current = std::fs::read(&module_path).ok();
            if current.as_deref() == Some(bytes.as_slice()) && !options.force {
                return Ok(BuildOutcome::UpToDate);
            }
            if options.check_only {
                let reason = if current.is_some() { "differs from a build of its source" } else { "is missing" };
                return Ok(BuildOutcome::Stale { reason: format!("{MODULE_FILE} {reason}") });
            }
            write_atomically(&module_path, &bytes)?;
            Ok(BuildOutcome::Built { bytes: bytes.len() as u64, toolchain, duration: started.elapsed() })
        }
        Language::Python | Language::JavaScript | Language::C => {
            let inputs = stamp::Inputs::collect(dir, language)?;
            let stale = if options.force {
                Some("a rebuild was asked for".to_owned())
            } else {
                inputs.staleness(dir, options.sdk_changes)
            };
            let Some(reason) = stale else { return Ok(BuildOutcome::UpToDate) };
            if options.check_only {
                return Ok(BuildOutcome::Stale { reason });
            }
            let (bytes, version) = if language == Language::C {
                c::compile(dir, revision, &inputs, tools)?
            } else {
                let (tool, version) = tools.componentizer(language)?;
                (componentize(dir, revision, language, &inputs, &tool)?, version)
            };
            write_atomically(&module_path, &bytes)?;
            let stamp = Stamp::new(language, &version, &inputs, &bytes);
            stamp.write(dir)?;
            Ok(BuildOutcome::Built { bytes: bytes.len() as u64, toolchain: version, duration: started.elapsed() })
        }
    }
}

/// `cargo build --target wasm32-unknown-unknown` of the revision's crate; the
/// component is the `.wasm` artifact cargo reports.
fn build_rust(
    dir: &Path,
    revision: &str,
    tools: &Toolchains,
    options: &BuildOptions,
) -> Result<(Vec<u8>, String), BuildError> {
    let cargo = tools.cargo()?;
    tools.require_rust_target(language::RUST_TARGET)?;
    let manifest = dir.join("Cargo.toml");
    let mut command = Command::new(&cargo);
    command
        .args(["build", "--target", language::RUST_TARGET, "--profile", &options.cargo_profile])
        .arg("--message-format=json-render-diagnostics")
        .arg("--manifest-path")
        .arg(&manifest)
        // rustup's wasm-component-ld links the core module into a component that imports only
        // what the world imports; cargo reads `.cargo/config.toml` from the current directory
        // up, which a project outside this repository does not have, so it is said here.
        .args(["--config", &format!("target.{}.linker=\"wasm-component-ld\"", language::RUST_TARGET)]);
    if rust_sdk::is_standalone(dir) {
        command.arg("--target-dir").arg(&options.shared_target_dir);
    }
    let output = command.stderr(std::process::Stdio::piped()).output().map_err(|source| BuildError::Spawn {
        tool: Tool::Cargo,
        path: cargo.clone(),
        source,
    })?;
    if !output.status.success() {
        return Err(BuildError::ToolFailed {
            revision: revision.to_owned(),
            tool: Tool::Cargo,
            status: output.status.to_string(),
            stderr: tail(&String::from_utf8_lossy(&output.stderr)),
        });
    }
    let artifact = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["reason"] == "compiler-artifact")
        .filter(|message| {
            message["target"]["crate_types"].as_array().is_some_and(|types| types.iter().any(|t| t == "cdylib"))
        })
        .filter_map(|message| {
            message["filenames"]
                .as_array()?
                .iter()
                .filter_map(|f| f.as_str())
                .find(|f| f.ends_with(".wasm"))
                .map(PathBuf::from)
        })
        .next_back()
        .ok_or_else(|| BuildError::NoArtifact { revision: revision.to_owned(), manifest: manifest.clone() })?;
    let bytes = std::fs::read(&artifact).map_err(|source| BuildError::Io { path: artifact.clone(), source })?;
    Ok((bytes, tools.rustc_version()))
}

/// Stages the author's files with the guest SDK and the contract, runs
/// componentize-py or componentize-js, and returns the component.
fn componentize(
    dir: &Path,
    revision: &str,
    language: Language,
    inputs: &stamp::Inputs,
    tool: &Path,
) -> Result<Vec<u8>, BuildError> {
    let stage = tempfile::Builder::new()
        .prefix("wasmig-build-")
        .tempdir()
        .map_err(|source| BuildError::Io { path: std::env::temp_dir(), source })?;
    let src = stage.path().join("src");
    let wit = stage.path().join("wit");
    let out = stage.path().join(MODULE_FILE);
    let sdk = embedded::sdk_files(language).map(|(name, text)| (name.to_owned(), text));
    let authored = inputs.files().map(|(name, text)| (name.to_owned(), text));
    for (relative, contents) in authored.chain(sdk) {
        let path = src.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| BuildError::Io { path: parent.to_owned(), source })?;
        }
        std::fs::write(&path, contents).map_err(|source| BuildError::Io { path: path.clone(), source })?;
    }
    std::fs::create_dir_all(&wit).map_err(|source| BuildError::Io { path: wit.clone(), source })?;
    let wit_file = wit.join("wasmig.wit");
    std::fs::write(&wit_file, CONTRACT_WIT).map_err(|source| BuildError::Io { path: wit_file, source })?;

    let mut command = Command::new(tool);
    match language {
        Language::Python => {
            command
                .arg("-d")
                .arg(&wit)
                .args(["-w", "revision", "componentize", "--stub-wasi", "-p"])
                .arg(&src)
                .arg(embedded::PYTHON_ENTRY_MODULE)
                .arg("-o")
                .arg(&out);
        }
        Language::JavaScript => {
            command
                .arg(src.join(embedded::JS_ENTRY_FILE))
                .arg("--wit")
                .arg(&wit)
                .args(["-n", "revision", "-d", "stdio", "random", "clocks", "http", "fetch-event", "-o"])
                .arg(&out);
        }
        Language::Rust | Language::C => unreachable!("Rust revisions build with cargo, C ones with clang"),
    }
    let tool_kind = Tool::componentizer(language);
    let output = command
        .current_dir(stage.path())
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|source| BuildError::Spawn { tool: tool_kind, path: tool.to_owned(), source })?;
    if !output.status.success() || !out.exists() {
        let mut log = String::from_utf8_lossy(&output.stderr).into_owned();
        log.push_str(&String::from_utf8_lossy(&output.stdout));
        return Err(BuildError::ToolFailed {
            revision: revision.to_owned(),
            tool: tool_kind,
            status: output.status.to_string(),
            stderr: tail(&log.replace(&src.display().to_string(), &dir.display().to_string())),
        });
    }
    std::fs::read(&out).map_err(|source| BuildError::Io { path: out, source })
}
