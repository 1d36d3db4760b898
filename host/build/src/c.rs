//! Building a C revision: bindings for the world `revision` from wit-bindgen's C generator, clang
//! for wasm32 against wasi-libc with wasmig's C runtime (`sdk/c`), and the core module made into a
//! component in process by wit-component, refused first if it imports anything but the contract.
//!
//! No WASI adapter is applied, ever: the C runtime defines the few WASI functions that wasi-libc's
//! stdio reaches (so `snprintf` and `printf` work, the latter into the log), and any other one is a
//! build error naming the function, instead of a component the host would refuse at load.

use std::path::Path;
use std::process::Command;

use wit_bindgen_core::wit_parser::Resolve;

use crate::embedded::{self, CONTRACT_WIT, WIT_BINDGEN_C_PIN};
use crate::error::BuildError;
use crate::language::Language;
use crate::stamp::Inputs;
use crate::tool::{Tool, tail};
use crate::toolchain::{Toolchains, version_line};

/// The only import namespace a revision may use.
const CONTRACT_PREFIX: &str = "wasmig:revision/";

/// Compiles the revision in `dir` into a component; returns it with the toolchain's name.
pub(crate) fn compile(
    dir: &Path,
    revision: &str,
    inputs: &Inputs,
    tools: &Toolchains,
) -> Result<(Vec<u8>, String), BuildError> {
    let clang = tools.find(Tool::Clang)?;
    let version = version_line(&clang, Tool::Clang)?;
    let stage = tempfile::Builder::new()
        .prefix("wasmig-build-")
        .tempdir()
        .map_err(|source| BuildError::Io { path: std::env::temp_dir(), source })?;
    let src = stage.path().join("src");
    let sdk = stage.path().join("wasmig");
    let authored = inputs.files().map(|(name, bytes)| (src.join(name), bytes.to_vec()));
    let runtime = embedded::sdk_files(Language::C).map(|(name, bytes)| (sdk.join(name), bytes.to_vec()));
    let bindings = bindings(revision)?.into_iter().map(|(name, bytes)| (sdk.join(name), bytes));
    for (path, contents) in authored.chain(runtime).chain(bindings) {
        let parent = path.parent().expect("staged files are in a folder");
        std::fs::create_dir_all(parent).map_err(|source| BuildError::Io { path: parent.to_owned(), source })?;
        std::fs::write(&path, contents).map_err(|source| BuildError::Io { path, source })?;
    }

    let core = stage.path().join("core.wasm");
    let mut command = Command::new(&clang);
    command
        .args(["--target=wasm32-wasi", "-Os", "-Wall"])
        // Messages and __FILE__ name the author's files, not the staging folder.
        .arg(format!("-ffile-prefix-map={}={}", src.display(), dir.display()))
        .arg("-I")
        .arg(&src)
        .arg("-I")
        .arg(&sdk)
        // A library of exports (no `main`), without the WASI start files.
        .args(["-nostartfiles", "-Wl,--no-entry", "-Wl,--strip-debug", "-o"])
        .arg(&core);
    command.args(inputs.files().filter(|(name, _)| name.ends_with(".c")).map(|(name, _)| src.join(name)));
    command.arg(sdk.join("revision.c")).arg(sdk.join("wasmig_rt.c")).arg(sdk.join("revision_component_type.o"));
    let output = command
        .current_dir(stage.path())
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|source| BuildError::Spawn { tool: Tool::Clang, path: clang.clone(), source })?;
    if !output.status.success() {
        let log =
            String::from_utf8_lossy(&output.stderr).replace(&src.display().to_string(), &dir.display().to_string());
        return Err(BuildError::ToolFailed {
            revision: revision.to_owned(),
            tool: Tool::Clang,
            status: output.status.to_string(),
            stderr: tail(&log),
        });
    }
    let module = std::fs::read(&core).map_err(|source| BuildError::Io { path: core.clone(), source })?;
    refuse_foreign_imports(revision, &module)?;
    let component = wit_component::ComponentEncoder::default()
        .module(&module)
        .map_err(|error| componentize_error(revision, "reading the module", &error))?
        .validate(true)
        .encode()
        .map_err(|error| componentize_error(revision, "encoding the component", &error))?;
    Ok((component, format!("{version} + wit-bindgen-c {WIT_BINDGEN_C_PIN}")))
}

/// `revision.h`, `revision.c` and `revision_component_type.o` for the world `revision`.
fn bindings(revision: &str) -> Result<Vec<(String, Vec<u8>)>, BuildError> {
    let failed = |error: &dyn std::fmt::Display| componentize_error(revision, "generating the C bindings", error);
    let mut resolve = Resolve::default();
    let package = resolve.push_str("wasmig.wit", CONTRACT_WIT).map_err(|error| failed(&error))?;
    let world = resolve.select_world(&[package], Some("revision")).map_err(|error| failed(&error))?;
    let mut files = wit_bindgen_core::Files::default();
    wit_bindgen_c::Opts::default().build().generate(&mut resolve, world, &mut files).map_err(|error| failed(&error))?;
    Ok(files.iter().map(|(name, bytes)| (name.to_owned(), bytes.to_vec())).collect())
}

/// Fails with the imports outside the contract, each as `module.name`.
fn refuse_foreign_imports(revision: &str, module: &[u8]) -> Result<(), BuildError> {
    let mut foreign = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(module) {
        let payload = payload.map_err(|error| componentize_error(revision, "reading the module", &error))?;
        if let wasmparser::Payload::ImportSection(reader) = payload {
            for import in reader.into_imports() {
                let import = import.map_err(|error| componentize_error(revision, "reading the module", &error))?;
                if !import.module.starts_with(CONTRACT_PREFIX) {
                    foreign.push(format!("`{}` from `{}`", import.name, import.module));
                }
            }
        }
    }
    if foreign.is_empty() {
        return Ok(());
    }
    let wasi = foreign.iter().any(|import| import.contains("wasi_snapshot_preview1"));
    let hint = if wasi {
        "A libc function that needs the outside world pulls in WASI (time() and clock() the clock, fopen() \
         the filesystem, getenv() the environment, ...): a revision has none of these. Remove the call; \
         printf(), snprintf(), malloc() and the string functions work."
    } else {
        "Declare nothing with import_module/import_name: talk to the host through revision.h."
    };
    Err(BuildError::ForbiddenImport { revision: revision.to_owned(), imports: foreign, hint: hint.to_owned() })
}

fn componentize_error(revision: &str, stage: &'static str, error: &dyn std::fmt::Display) -> BuildError {
    BuildError::Componentize { revision: revision.to_owned(), stage, reason: format!("{error:#}") }
}
