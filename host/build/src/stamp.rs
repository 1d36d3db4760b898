//! What a Python or JavaScript `revision.wasm` was built from: the digest of the author's source
//! files, kept in `revision.build.toml` beside it, since these builds are not byte-reproducible.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::embedded::{CONTRACT_WIT, reserved_names, sdk_files};
use crate::error::BuildError;
use crate::language::Language;
use crate::output::{MODULE_FILE, write_atomically};

/// Written beside `revision.wasm`; commit both.
pub const STAMP_FILE: &str = "revision.build.toml";

/// Folders that hold tools' output, never an author's source.
const SKIPPED_DIRS: [&str; 3] = ["__pycache__", "node_modules", "target"];

/// The author's source files of one revision, in a fixed order.
#[derive(Debug)]
pub(crate) struct Inputs {
    files: Vec<(String, Vec<u8>)>,
    digest: String,
    /// Digest of the guest SDK files and the contract the build adds.
    sdk_digest: String,
}

impl Inputs {
    /// Every `*.py` (Python) or `*.js`/`*.mjs` (JavaScript) file under `dir`,
    /// by path relative to it.
    pub(crate) fn collect(dir: &Path, language: Language) -> Result<Self, BuildError> {
        let extensions: &[&str] = match language {
            Language::Python => &["py"],
            Language::JavaScript => &["js", "mjs"],
            Language::C => &["c", "h"],
            Language::Rust => &[],
        };
        let mut files = Vec::new();
        walk(dir, dir, extensions, &mut files)?;
        files.sort();
        for reserved in reserved_names(language) {
            if files.iter().any(|(path, _)| path == reserved) {
                return Err(BuildError::ReservedName { path: dir.join(reserved) });
            }
        }
        let mut hasher = Sha256::new();
        hasher.update(format!("wasmig-build-sources-v1\n{}\n", language.as_str()));
        for (path, bytes) in &files {
            hasher.update(format!("{path}\n{}\n", bytes.len()));
            hasher.update(bytes);
        }
        let mut sdk = Sha256::new();
        sdk.update(CONTRACT_WIT.as_bytes());
        for (name, bytes) in sdk_files(language) {
            sdk.update(format!("\n{name}\n{}\n", bytes.len()));
            sdk.update(bytes);
        }
        Ok(Inputs {
            files,
            digest: format!("sha256:{}", hex::encode(hasher.finalize())),
            sdk_digest: format!("sha256:{}", hex::encode(sdk.finalize())),
        })
    }

    pub(crate) fn files(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.files.iter().map(|(path, bytes)| (path.as_str(), bytes.as_slice()))
    }

    pub(crate) fn digest(&self) -> &str {
        &self.digest
    }

    pub(crate) fn sdk_digest(&self) -> &str {
        &self.sdk_digest
    }

    /// Why `dir/revision.wasm` needs a build, or `None` when it matches these inputs. A build
    /// with another guest SDK counts only with `sdk_changes`: rebuilding changes the checksum
    /// of a revision that databases may have applied.
    pub(crate) fn staleness(&self, dir: &Path, sdk_changes: bool) -> Option<String> {
        let Ok(module) = std::fs::read(dir.join(MODULE_FILE)) else {
            return Some(format!("{MODULE_FILE} is missing"));
        };
        let stamp = match Stamp::read(dir) {
            Ok(Some(stamp)) => stamp,
            Ok(None) => return Some(format!("{STAMP_FILE} is missing")),
            Err(error) => return Some(error.to_string()),
        };
        if stamp.sources != self.digest {
            return Some("the source changed since the last build".to_owned());
        }
        if stamp.module != module_digest(&module) {
            return Some(format!("{MODULE_FILE} is not the one the last build wrote"));
        }
        if sdk_changes && stamp.sdk != self.sdk_digest {
            return Some("it was built with another version of the guest SDK".to_owned());
        }
        None
    }
}

fn walk(root: &Path, dir: &Path, extensions: &[&str], files: &mut Vec<(String, Vec<u8>)>) -> Result<(), BuildError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| BuildError::Io { path, source }
    };
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let kind = entry.file_type().map_err(io(&path))?;
        if kind.is_dir() {
            if !SKIPPED_DIRS.contains(&name.as_str()) {
                walk(root, &path, extensions, files)?;
            }
        } else if path.extension().and_then(|e| e.to_str()).is_some_and(|e| extensions.contains(&e)) {
            let bytes = std::fs::read(&path).map_err(io(&path))?;
            let relative = path.strip_prefix(root).expect("walked under root");
            let relative: Vec<String> =
                relative.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
            files.push((relative.join("/"), bytes));
        }
    }
    Ok(())
}

fn module_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// The contents of `revision.build.toml`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stamp {
    pub language: Language,
    /// The toolchain that built it, with its version.
    pub toolchain: String,
    /// Digest of the author's source files.
    pub sources: String,
    /// SHA-256 of the `revision.wasm` this build wrote.
    pub module: String,
    /// Digest of the guest SDK files and the contract it was built with.
    pub sdk: String,
}

impl Stamp {
    pub(crate) fn new(language: Language, toolchain: &str, inputs: &Inputs, module: &[u8]) -> Self {
        Stamp {
            language,
            toolchain: toolchain.to_owned(),
            sources: inputs.digest().to_owned(),
            module: module_digest(module),
            sdk: inputs.sdk_digest().to_owned(),
        }
    }

    fn path(dir: &Path) -> PathBuf {
        dir.join(STAMP_FILE)
    }

    pub fn read(dir: &Path) -> Result<Option<Self>, BuildError> {
        let path = Self::path(dir);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(BuildError::Io { path, source }),
        };
        toml::from_str(&text)
            .map(Some)
            .map_err(|error| BuildError::BadStamp { path, reason: error.message().to_owned() })
    }

    pub(crate) fn write(&self, dir: &Path) -> Result<(), BuildError> {
        let text = format!(
            "# Written by `wasmig build`: what {MODULE_FILE} was built from. Commit it with {MODULE_FILE}.\n{}",
            toml::to_string(self).expect("a stamp always serializes")
        );
        write_atomically(&Self::path(dir), text.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn python_revision() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("revision.py"), "def up(): pass\n").unwrap();
        std::fs::create_dir(dir.path().join("__pycache__")).unwrap();
        std::fs::write(dir.path().join("__pycache__/revision.cpython.pyc"), "x").unwrap();
        std::fs::write(dir.path().join("up.sql"), "select 1").unwrap();
        dir
    }

    #[test]
    fn only_the_languages_sources_count() {
        let dir = python_revision();
        let inputs = Inputs::collect(dir.path(), Language::Python).unwrap();
        assert_eq!(inputs.files().map(|(path, _)| path).collect::<Vec<_>>(), ["revision.py"]);
        std::fs::write(dir.path().join("notes.sql"), "changed").unwrap();
        assert_eq!(Inputs::collect(dir.path(), Language::Python).unwrap().digest(), inputs.digest());
        std::fs::create_dir(dir.path().join("helpers")).unwrap();
        std::fs::write(dir.path().join("helpers/names.py"), "").unwrap();
        assert_ne!(Inputs::collect(dir.path(), Language::Python).unwrap().digest(), inputs.digest());
    }

    #[test]
    fn a_stamp_tells_stale_from_up_to_date() {
        let dir = python_revision();
        let inputs = Inputs::collect(dir.path(), Language::Python).unwrap();
        assert!(inputs.staleness(dir.path(), false).unwrap().contains("revision.wasm is missing"));
        std::fs::write(dir.path().join(MODULE_FILE), b"component").unwrap();
        assert!(inputs.staleness(dir.path(), false).unwrap().contains(STAMP_FILE));
        Stamp::new(Language::Python, "componentize-py 0.25.1", &inputs, b"component").write(dir.path()).unwrap();
        assert_eq!(inputs.staleness(dir.path(), false), None);
        assert_eq!(inputs.staleness(dir.path(), true), None);
        let text = std::fs::read_to_string(dir.path().join(STAMP_FILE)).unwrap();
        let older_sdk = text.replace(inputs.sdk_digest(), "sha256:00");
        std::fs::write(dir.path().join(STAMP_FILE), older_sdk).unwrap();
        assert_eq!(inputs.staleness(dir.path(), false), None, "an SDK change alone is not a reason by default");
        assert!(inputs.staleness(dir.path(), true).unwrap().contains("another version of the guest SDK"));

        std::fs::write(dir.path().join(MODULE_FILE), b"replaced by hand").unwrap();
        assert!(inputs.staleness(dir.path(), false).unwrap().contains("not the one the last build wrote"));
        std::fs::write(dir.path().join(MODULE_FILE), b"component").unwrap();
        std::fs::write(dir.path().join("revision.py"), "def up(): return\n").unwrap();
        let changed = Inputs::collect(dir.path(), Language::Python).unwrap();
        assert!(changed.staleness(dir.path(), false).unwrap().contains("source changed"));
    }

    #[test]
    fn an_sdk_name_is_refused() {
        let dir = python_revision();
        std::fs::write(dir.path().join("wasmig.py"), "").unwrap();
        let error = Inputs::collect(dir.path(), Language::Python).unwrap_err().to_string();
        assert!(error.contains("wasmig.py"), "{error}");
    }
}
