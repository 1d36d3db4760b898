//! Which language a revision's source is in, told by the file that starts it.

use std::path::Path;

use crate::BuildError;

/// The target Rust revisions build for; rustup's `wasm-component-ld` links the component.
pub(crate) const RUST_TARGET: &str = "wasm32-unknown-unknown";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Rust,
    Python,
    #[serde(rename = "javascript")]
    JavaScript,
}

impl Language {
    pub const ALL: [Language; 3] = [Language::Rust, Language::Python, Language::JavaScript];

    /// The file whose presence says a revision is written in this language.
    pub fn marker(self) -> &'static str {
        match self {
            Language::Rust => "Cargo.toml",
            Language::Python => "revision.py",
            Language::JavaScript => "revision.js",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Language::Rust => "rust",
            Language::Python => "python",
            Language::JavaScript => "javascript",
        }
    }
}

impl std::fmt::Display for Language {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Language::Rust => "Rust",
            Language::Python => "Python",
            Language::JavaScript => "JavaScript",
        })
    }
}

/// The language of the revision in `dir`, or `None` when it has no source
/// (a `revision.wasm` built elsewhere).
pub fn detect(dir: &Path) -> Result<Option<Language>, BuildError> {
    let found: Vec<Language> =
        Language::ALL.into_iter().filter(|language| dir.join(language.marker()).is_file()).collect();
    match found.as_slice() {
        [] => Ok(None),
        [language] => Ok(Some(*language)),
        _ => Err(BuildError::AmbiguousSource {
            dir: dir.to_owned(),
            markers: found.iter().map(|language| language.marker()).collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_file_tells_the_language() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(detect(dir.path()).unwrap(), None);
        std::fs::write(dir.path().join("revision.py"), "").unwrap();
        assert_eq!(detect(dir.path()).unwrap(), Some(Language::Python));
        std::fs::write(dir.path().join("revision.js"), "").unwrap();
        let error = detect(dir.path()).unwrap_err().to_string();
        assert!(error.contains("revision.py") && error.contains("revision.js"), "{error}");
    }
}
