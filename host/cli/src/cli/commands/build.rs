//! `wasmig build`: turns component revisions' sources into `revision.wasm`, checks each against
//! the contract (which also fills the compiled-component cache), and reports per revision.

use std::path::Path;

use serde::Serialize;
use serde_json::json;
use wasmig::graph::{Revision, RevisionKind};
use wasmig::runtime::Runtime;
use wasmig_build::{BuildOptions, BuildOutcome, Language, SdkCopy, Toolchains, default_tools_dir};

use super::project::load;
use crate::cli::error::CliResult;
use crate::cli::exit::{Exit, UsageError};
use crate::cli::output::Output;
use crate::cli::settings::BuildRequest;

/// What happened to one revision, as reported.
#[derive(Debug, Serialize)]
struct Built<'a> {
    id: &'a str,
    language: Option<Language>,
    status: Status,
    /// The toolchain (built) or the reason (stale).
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seconds: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
enum Status {
    Built,
    UpToDate,
    Stale,
    /// No source to build from: a `revision.wasm` built elsewhere.
    Prebuilt,
}

impl<'a> Built<'a> {
    fn new(id: &'a str, language: Option<Language>, status: Status) -> Self {
        Built { id, language, status, detail: None, bytes: None, seconds: None }
    }
}

pub fn build(dir: &Path, out: Output, request: BuildRequest) -> CliResult<Exit> {
    let project = load(dir)?;
    let graph = &project.graph;
    let selected: Vec<&Revision> = if request.revisions.is_empty() {
        graph.revisions().filter(|revision| revision.kind() == RevisionKind::Component).collect()
    } else {
        let mut chosen = Vec::new();
        for reference in &request.revisions {
            let revision = graph.resolve(reference)?;
            if matches!(revision.kind(), RevisionKind::Python | RevisionKind::Js) {
                return Err(UsageError::new(format!(
                    "revision {} is a {} revision: it runs from its source on wasmig's built-in interpreter and \
                     has nothing to build (to give it a component of its own, with packages beyond the standard \
                     library, set `kind = \"component\"` in its revision.toml)",
                    revision.id(),
                    revision.kind().as_str()
                ))
                .into());
            }
            if revision.kind() != RevisionKind::Component {
                return Err(UsageError::new(format!(
                    "revision {} is a {} revision: only component revisions are built",
                    revision.id(),
                    revision.kind().as_str()
                ))
                .into());
            }
            chosen.push(revision);
        }
        chosen
    };
    let mut languages = Vec::with_capacity(selected.len());
    for revision in &selected {
        let language = wasmig_build::detect(&revision.dir)?;
        if language.is_none() && !request.revisions.is_empty() {
            return Err(UsageError::new(format!(
                "revision {} has no source to build in {}: expected {} (Rust), {} (Python), {} (JavaScript) or {} (C)",
                revision.id(),
                revision.dir.display(),
                Language::Rust.marker(),
                Language::Python.marker(),
                Language::JavaScript.marker(),
                Language::C.marker(),
            ))
            .into());
        }
        languages.push(language);
    }

    let tools = Toolchains::new(default_tools_dir());
    if request.install_tools {
        for language in [Language::Python, Language::JavaScript] {
            if languages.contains(&Some(language)) {
                out.note(format_args!("installing the pinned {language} toolchain into {}", tools_dir(&tools)));
                if !tools.install(language)? {
                    out.note(format_args!("the pinned {language} toolchain is already installed"));
                }
            }
        }
    }
    let standalone_rust = selected
        .iter()
        .zip(&languages)
        .any(|(revision, language)| *language == Some(Language::Rust) && wasmig_build::is_standalone(&revision.dir));
    if standalone_rust {
        let sdk = project.root.join(wasmig_build::RUST_SDK_DIR);
        match wasmig_build::ensure_rust_sdk(&project.root, request.sdk_changes && !request.check)? {
            SdkCopy::Written => {
                out.note(format_args!("wrote wasmig's Rust guest SDK into {} (commit it)", sdk.display()))
            }
            SdkCopy::Refreshed => {
                out.note(format_args!("replaced the Rust guest SDK in {} with this wasmig's", sdk.display()))
            }
            SdkCopy::Differs => out.note(format_args!(
                "the Rust guest SDK in {} differs from this wasmig's; Rust revisions build with the project's copy \
                 (`wasmig build --sdk-changes` replaces it, and changes the checksum of the revisions it rebuilds)",
                sdk.display()
            )),
            SdkCopy::Current => {}
        }
    }
    let options = BuildOptions {
        force: request.force,
        check_only: request.check,
        sdk_changes: request.sdk_changes,
        cargo_profile: project.config.build.cargo_profile.clone(),
        shared_target_dir: wasmig_build::shared_target_dir(&project.root),
    };
    // Checking a fresh component against the contract compiles it, and the
    // compiled code goes to the cache the runner reads: the first upgrade
    // after a build does not pay for the compile.
    let runtime = if request.check { None } else { Some(Runtime::new(super::connection::runtime_config()?)?) };

    let mut results = Vec::with_capacity(selected.len());
    for (revision, language) in selected.iter().zip(&languages) {
        let id = revision.id().as_str();
        let Some(language) = *language else {
            results.push(Built::new(id, None, Status::Prebuilt));
            continue;
        };
        if !request.check {
            out.note(format_args!("building revision {id} ({language})"));
        }
        let outcome = wasmig_build::build(&revision.dir, id, language, &tools, &options)?;
        if let (Some(runtime), BuildOutcome::Built { .. } | BuildOutcome::UpToDate) = (&runtime, &outcome) {
            // Also for an up-to-date revision: one a teammate built is compiled
            // here once, now, instead of at the first upgrade.
            let module = std::fs::read(revision.dir.join(wasmig_build::MODULE_FILE))?;
            let relative = revision.dir.strip_prefix(&project.root).unwrap_or(&revision.dir);
            runtime.load(&module, &format!("revision {id} ({})", relative.display()))?;
        }
        let result = match outcome {
            BuildOutcome::Built { bytes, toolchain, duration } => Built {
                detail: Some(toolchain),
                bytes: Some(bytes),
                seconds: Some(duration.as_secs_f64()),
                ..Built::new(id, Some(language), Status::Built)
            },
            BuildOutcome::UpToDate => Built::new(id, Some(language), Status::UpToDate),
            BuildOutcome::Stale { reason } => {
                Built { detail: Some(reason), ..Built::new(id, Some(language), Status::Stale) }
            }
        };
        results.push(result);
    }

    let stale = results.iter().filter(|result| result.status == Status::Stale).count();
    out.emit(
        || json!({ "revisions": &results, "stale": stale }),
        |text| {
            for result in &results {
                let language = result.language.map(|l| l.to_string()).unwrap_or_else(|| "no source".to_owned());
                let line = match result.status {
                    Status::Built => format!(
                        "built {} ({language}, {}): {} in {:.1} s",
                        result.id,
                        result.detail.as_deref().unwrap_or_default(),
                        size(result.bytes.unwrap_or_default()),
                        result.seconds.unwrap_or_default()
                    ),
                    Status::UpToDate => format!("{} is up to date ({language})", result.id),
                    Status::Stale => format!(
                        "{} is stale ({language}): {}; run `wasmig build {}`",
                        result.id,
                        result.detail.as_deref().unwrap_or_default(),
                        result.id
                    ),
                    Status::Prebuilt => format!("{} has no source (a prebuilt revision.wasm): skipped", result.id),
                };
                text.push_str(&line);
                text.push('\n');
            }
            if results.is_empty() {
                text.push_str("no component revisions to build\n");
            }
        },
    )?;
    Ok(if stale > 0 { Exit::CheckFailed } else { Exit::Success })
}

/// `19.3 MB` or `41 KB`.
fn size(bytes: u64) -> String {
    if bytes >= 1_000_000 { format!("{:.1} MB", bytes as f64 / 1e6) } else { format!("{} KB", bytes.div_ceil(1000)) }
}

fn tools_dir(tools: &Toolchains) -> String {
    tools.tools_dir().map(|dir| dir.display().to_string()).unwrap_or_default()
}
