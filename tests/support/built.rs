//! Projects whose component revisions `wasmig build` builds from source (Python, JavaScript, Rust).
//!
//! The repository's own projects are built where they are: a Rust revision is a member of the
//! workspace and builds only there, and the outputs are git-ignored (docs/BUILDING.md). Projects
//! a test writes are copied under the target directory first. Either way a rerun with unchanged
//! sources builds nothing.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::matrix::{component_cache_dir, run, wasmig_binary};
use crate::target_dir;

/// What `wasmig build` writes; kept when the source tree is mirrored again.
const BUILD_OUTPUTS: [&str; 2] = ["revision.wasm", "revision.build.toml"];

/// The repository's project in `dir`, with every component revision built by `wasmig build`.
/// Panics with the build's output when it fails.
pub fn built_in_place(dir: &Path) -> PathBuf {
    let finished = run(&mut wasmig_build(dir));
    assert_eq!(finished.code, Some(0), "wasmig build of {} failed:\n{finished}", dir.display());
    dir.to_path_buf()
}

/// A copy of the project in `source`, under `<target>/wasmig-built/<name>`, with every component
/// revision built by `wasmig build`. Panics with the build's output when it fails.
pub fn built_project(name: &str, source: &Path) -> PathBuf {
    let dir = target_dir().join("wasmig-built").join(name);
    mirror(source, &dir);
    built_in_place(&dir)
}

/// The cargo target directory that Rust revisions of the projects tests write build into, kept
/// between test runs: the guest SDK and wit-bindgen compile once, not once per test.
pub fn shared_guest_target() -> PathBuf {
    target_dir().join("wasmig-rust-revisions")
}

/// `wasmig -C <project> build --sdk-changes`, with the tests' component cache: a fixture built
/// with an older guest SDK is built again, so that the tests run the SDK as it is.
pub fn wasmig_build(project: &Path) -> Command {
    let mut command = Command::new(wasmig_binary());
    command
        .arg("-C")
        .arg(project)
        .args(["build", "--sdk-changes"])
        .env("WASMIG_CACHE_DIR", component_cache_dir())
        .env_remove("RUST_LOG");
    command
}

/// Makes `dst` hold the files of `src`: copies what differs, removes what `src` no longer has,
/// and keeps the build outputs that `src` does not carry.
pub fn mirror(src: &Path, dst: &Path) {
    let mut wanted = BTreeSet::new();
    copy_tree(src, dst, src, &mut wanted);
    remove_unwanted(dst, dst, &wanted);
}

fn copy_tree(root: &Path, dst_root: &Path, dir: &Path, wanted: &mut BTreeSet<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|error| panic!("{}: {error}", dir.display())) {
        let path = entry.unwrap().path();
        let relative = path.strip_prefix(root).unwrap().to_path_buf();
        let target = dst_root.join(&relative);
        if path.is_dir() {
            if path.file_name().is_some_and(|name| name == "target" || name == "node_modules") {
                continue;
            }
            std::fs::create_dir_all(&target).unwrap();
            wanted.insert(relative);
            copy_tree(root, dst_root, &path, wanted);
        } else {
            let bytes = std::fs::read(&path).unwrap();
            if std::fs::read(&target).ok().as_deref() != Some(bytes.as_slice()) {
                std::fs::create_dir_all(target.parent().unwrap()).unwrap();
                std::fs::write(&target, bytes).unwrap();
            }
            wanted.insert(relative);
        }
    }
}

fn remove_unwanted(root: &Path, dir: &Path, wanted: &BTreeSet<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let relative = path.strip_prefix(root).unwrap().to_path_buf();
        let is_output = path.file_name().is_some_and(|name| BUILD_OUTPUTS.iter().any(|output| name == *output));
        if wanted.contains(&relative) {
            if path.is_dir() {
                remove_unwanted(root, &path, wanted);
            }
        } else if path.is_dir() {
            std::fs::remove_dir_all(&path).unwrap();
        } else if !is_output {
            std::fs::remove_file(&path).unwrap();
        }
    }
}
