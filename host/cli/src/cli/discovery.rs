//! Finding the project without `-C`: the nearest directory at or above the current one that holds `wasmig.toml`, as git and cargo find theirs.

use std::path::{Path, PathBuf};

use wasmig::graph::CONFIG_FILE;

use super::exit::UsageError;

/// The project root for a command started in `start` (an absolute path).
pub fn find_project(start: &Path) -> Result<PathBuf, UsageError> {
    start.ancestors().find(|dir| dir.join(CONFIG_FILE).is_file()).map(Path::to_path_buf).ok_or_else(|| {
        UsageError::new(format!(
            "no {CONFIG_FILE} in {} or any directory above it: run `wasmig init` to start a project there, \
             or point at one with `-C DIR`",
            start.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearest_project_above_wins() {
        let root = tempfile::tempdir().unwrap();
        let outer = root.path().join("outer");
        let inner = outer.join("a").join("inner");
        let deep = inner.join("b").join("c");
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::write(outer.join(CONFIG_FILE), "").unwrap();
        assert_eq!(find_project(&deep).unwrap(), outer);
        std::fs::write(inner.join(CONFIG_FILE), "").unwrap();
        assert_eq!(find_project(&deep).unwrap(), inner);
        assert_eq!(find_project(&inner).unwrap(), inner);
        // A directory called wasmig.toml is not a project.
        let lone = root.path().join("lone");
        std::fs::create_dir_all(lone.join(CONFIG_FILE)).unwrap();
        let error = find_project(&lone).unwrap_err().to_string();
        assert!(error.contains(&lone.display().to_string()) && error.contains("wasmig init"), "{error}");
    }
}
