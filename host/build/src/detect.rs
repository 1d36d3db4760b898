//! Which language a revision's source is in, told by the file that starts it.

use std::path::Path;

use crate::error::BuildError;
use crate::language::Language;

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
