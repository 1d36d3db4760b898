//! Rust revisions outside this repository: the guest SDK and the contract written into the
//! project (`.wasmig/rust-sdk`), the `wasmig new --rust` template that depends on it by path, and
//! the one cargo target directory such revisions share (`.wasmig/target`).
//!
//! The copy is written once and then left alone, so that a revision builds to the same bytes with
//! any later wasmig: a newer wasmig whose SDK differs says so, and only `wasmig build
//! --sdk-changes` replaces the copy (which changes the checksum of the revisions rebuilt with it).

use std::path::{Component, Path, PathBuf};

use crate::embedded::{RUST_MANIFEST_TEMPLATE, RUST_SDK, RUST_SOURCE_TEMPLATE};
use crate::error::BuildError;
use crate::language::Language;
use crate::output::write_atomically;

/// wasmig's folder in a project, for what it writes there.
pub const PROJECT_DIR: &str = ".wasmig";
/// The SDK copy, relative to the project root; commit it.
pub const RUST_SDK_DIR: &str = ".wasmig/rust-sdk";
/// Where template-made Rust revisions build, relative to the project root; git-ignored.
const SHARED_TARGET_DIR: &str = ".wasmig/target";

/// What [`ensure_rust_sdk`] found or did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SdkCopy {
    /// There was none: it was written.
    Written,
    /// It is what this wasmig carries.
    Current,
    /// It differed and was replaced (`refresh`).
    Refreshed,
    /// It differs from what this wasmig carries and was left as it is.
    Differs,
}

/// Makes sure the project at `root` has the Rust SDK: writes it when missing, and replaces it
/// when it differs from this wasmig's and `refresh` is set.
pub fn ensure_rust_sdk(root: &Path, refresh: bool) -> Result<SdkCopy, BuildError> {
    let dir = root.join(RUST_SDK_DIR);
    let state = if !dir.exists() {
        SdkCopy::Written
    } else if RUST_SDK.iter().all(|(path, text)| std::fs::read(dir.join(path)).ok().as_deref() == Some(text.as_bytes()))
    {
        return Ok(SdkCopy::Current);
    } else if refresh {
        std::fs::remove_dir_all(&dir).map_err(|source| BuildError::Io { path: dir.clone(), source })?;
        SdkCopy::Refreshed
    } else {
        return Ok(SdkCopy::Differs);
    };
    for (path, text) in RUST_SDK {
        let file = dir.join(path);
        let parent = file.parent().expect("SDK files are inside the SDK folder");
        std::fs::create_dir_all(parent).map_err(|source| BuildError::Io { path: parent.to_owned(), source })?;
        write_atomically(&file, text.as_bytes())?;
    }
    let ignore = root.join(PROJECT_DIR).join(".gitignore");
    if !ignore.exists() {
        write_atomically(&ignore, b"# Build output of the project's Rust revisions (wasmig build).\n/target/\n")?;
    }
    Ok(state)
}

/// The files of a new Rust revision in `revision_dir` (relative to the project root, where
/// the SDK copy is): (path inside the revision, contents).
pub fn rust_template(id: &str, message: &str, revision_dir: &Path) -> Vec<(&'static str, String)> {
    let mut sdk_path = String::new();
    for component in revision_dir.components() {
        match component {
            Component::Normal(_) => sdk_path.push_str("../"),
            Component::ParentDir => sdk_path.truncate(sdk_path.len().saturating_sub(3)),
            _ => {}
        }
    }
    sdk_path.push_str(RUST_SDK_DIR);
    let package: String = format!("revision-{id}")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' { c.to_ascii_lowercase() } else { '-' })
        .collect();
    let fill = |template: &str| {
        template
            .replace("{id}", id)
            .replace("{message}", message.lines().next().unwrap_or_default())
            .replace("{package}", &package)
            .replace("{sdk_path}", &sdk_path)
    };
    vec![("Cargo.toml", fill(RUST_MANIFEST_TEMPLATE)), ("revision.rs", fill(RUST_SOURCE_TEMPLATE))]
}

/// Whether the Rust revision in `dir` is a workspace of its own (as the template writes it),
/// rather than a member of an enclosing cargo workspace with its own target directory.
pub fn is_standalone(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join(Language::Rust.marker()))
        .ok()
        .and_then(|text| text.parse::<toml::Table>().ok())
        .is_some_and(|manifest| manifest.contains_key("workspace"))
}

/// The cargo target directory standalone Rust revisions of the project at `root` build into:
/// `CARGO_TARGET_DIR` when set (cargo's own rule), else `.wasmig/target`.
pub fn shared_target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .filter(|dir| !dir.is_empty())
        .map_or_else(|| root.join(SHARED_TARGET_DIR), PathBuf::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_finds_the_sdk_from_its_folder() {
        let files = rust_template("a1", "Add users\nmore", Path::new("db/migrations/a1_add_users"));
        let manifest = &files[0].1;
        assert!(manifest.contains(r#"wasmig-sdk = { path = "../../../.wasmig/rust-sdk" }"#), "{manifest}");
        assert!(manifest.contains(r#"name = "revision-a1""#) && manifest.contains("# Revision a1: Add users\n"));
        assert!(is_manifest_standalone(manifest));
        assert!(files[1].1.contains("Revision a1: Add users"));
    }

    fn is_manifest_standalone(text: &str) -> bool {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Cargo.toml"), text).unwrap();
        is_standalone(dir.path())
    }

    #[test]
    fn the_copy_is_written_once_and_replaced_only_when_asked() {
        let root = tempfile::tempdir().unwrap();
        assert_eq!(ensure_rust_sdk(root.path(), false).unwrap(), SdkCopy::Written);
        assert_eq!(ensure_rust_sdk(root.path(), false).unwrap(), SdkCopy::Current);
        let lib = root.path().join(RUST_SDK_DIR).join("src/lib.rs");
        std::fs::write(&lib, "// an older SDK\n").unwrap();
        assert_eq!(ensure_rust_sdk(root.path(), false).unwrap(), SdkCopy::Differs);
        assert_eq!(std::fs::read_to_string(&lib).unwrap(), "// an older SDK\n");
        assert_eq!(ensure_rust_sdk(root.path(), true).unwrap(), SdkCopy::Refreshed);
        assert_eq!(ensure_rust_sdk(root.path(), false).unwrap(), SdkCopy::Current);
        assert!(root.path().join(".wasmig/.gitignore").is_file());
    }
}
