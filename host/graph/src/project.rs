//! Loading a project from disk: `wasmig.toml`, then one `revision.toml` per
//! directory of the migrations directory, then [`Graph::new`]; and the
//! [`ProjectError`] for anything on that way.

use std::path::{Path, PathBuf};

use crate::config::{CONFIG_FILE, ProjectConfig, valid_table_prefix};
use crate::graph::{Graph, GraphError};
use crate::message::show;
use crate::revision::{MANIFEST_FILE, Manifest, Revision};

/// A project could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProjectError {
    #[error("no {} in {}; run `wasmig init` there, or point at the project with `-C DIR`", CONFIG_FILE, show(dir))]
    NoProject { dir: PathBuf },

    #[error("cannot read {}: {source}", show(path))]
    Io { path: PathBuf, source: std::io::Error },

    #[error("invalid project settings in {}: {source}", show(path))]
    Config { path: PathBuf, source: toml::de::Error },

    /// `table_prefix` fails [`valid_table_prefix`].
    #[error(
        "{}: table_prefix `{prefix}` must be lowercase letters, digits and `_`, not starting with a digit (it becomes part of the version tables' names)",
        show(path)
    )]
    BadTablePrefix { prefix: String, path: PathBuf },

    #[error(
        "the migrations directory {} does not exist; create it (`wasmig init` does) or fix `migrations_dir` in wasmig.toml",
        show(path)
    )]
    NoMigrationsDir { path: PathBuf },

    #[error("invalid revision manifest {}: {source}", show(path))]
    Manifest { path: PathBuf, source: toml::de::Error },

    #[error(
        "directory {} in the migrations directory has no {}; every directory there is a revision: add its manifest or move the directory out",
        show(dir),
        MANIFEST_FILE
    )]
    MissingManifest { dir: PathBuf },

    #[error(transparent)]
    Graph(#[from] GraphError),
}

/// A loaded project: its settings, where it lives, and its validated graph.
#[derive(Debug, Clone)]
pub struct Project {
    pub config: ProjectConfig,
    pub root: PathBuf,
    pub graph: Graph,
}

impl Project {
    /// The migrations directory, resolved against the project root.
    pub fn migrations_dir(&self) -> PathBuf {
        self.root.join(&self.config.migrations_dir)
    }
}

/// Reads `dir/wasmig.toml` and checks the settings serde cannot: the
/// `table_prefix` must pass [`valid_table_prefix`].
pub fn load_config(dir: &Path) -> Result<ProjectConfig, ProjectError> {
    let path = dir.join(CONFIG_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ProjectError::NoProject { dir: dir.to_path_buf() });
        }
        Err(source) => return Err(ProjectError::Io { path, source }),
    };
    let config = match ProjectConfig::from_toml(&text) {
        Ok(config) => config,
        Err(source) => return Err(ProjectError::Config { path, source }),
    };
    if !valid_table_prefix(&config.table_prefix) {
        return Err(ProjectError::BadTablePrefix { prefix: config.table_prefix, path });
    }
    Ok(config)
}

/// Loads the project rooted at `dir`. Reads only `wasmig.toml` and the
/// `revision.toml` files: never a module or SQL file.
pub fn load(dir: impl AsRef<Path>) -> Result<Project, ProjectError> {
    let root = dir.as_ref().to_path_buf();
    let config = load_config(&root)?;
    let revisions = read_revisions(&root.join(&config.migrations_dir))?;
    let graph = Graph::new(revisions)?;
    Ok(Project { config, root, graph })
}

/// Below this many revisions a second thread costs more than it saves.
const PARALLEL_THRESHOLD: usize = 512;

/// Every revision under `migrations_dir`, ordered by directory name.
/// Hidden entries (`.git`, `.DS_Store`, ...) and plain files are skipped; any
/// other directory must hold a manifest. When several manifests are broken,
/// the error is about the first by directory name.
pub fn read_revisions(migrations_dir: &Path) -> Result<Vec<Revision>, ProjectError> {
    let entries = match std::fs::read_dir(migrations_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ProjectError::NoMigrationsDir { path: migrations_dir.to_path_buf() });
        }
        Err(source) => {
            return Err(ProjectError::Io { path: migrations_dir.to_path_buf(), source });
        }
    };
    let mut dirs = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| ProjectError::Io { path: migrations_dir.to_path_buf(), source })?;
        if entry.file_name().as_encoded_bytes().first() == Some(&b'.') {
            continue;
        }
        let path = entry.path();
        // The type usually comes with the listing itself (no stat per entry);
        // a symlink to a directory needs the stat.
        let file_type = entry.file_type().map_err(|source| ProjectError::Io { path: path.clone(), source })?;
        if file_type.is_dir() || (file_type.is_symlink() && path.is_dir()) {
            dirs.push((entry.file_name(), path));
        }
    }
    // By name, not by path: comparing paths walks their components.
    dirs.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let dirs: Vec<PathBuf> = dirs.into_iter().map(|(_, path)| path).collect();

    // Reading is mostly system time spent opening files; with thousands of
    // revisions, splitting the list across the cores pays off.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(4);
    if threads < 2 || dirs.len() < PARALLEL_THRESHOLD {
        return read_manifests(dirs);
    }
    let chunk = dirs.len().div_ceil(threads);
    let mut chunks: Vec<Vec<PathBuf>> = Vec::new();
    let mut rest = dirs;
    while rest.len() > chunk {
        let tail = rest.split_off(chunk);
        chunks.push(std::mem::replace(&mut rest, tail));
    }
    chunks.push(rest);
    let results: Vec<Result<Vec<Revision>, ProjectError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = chunks.into_iter().map(|c| scope.spawn(move || read_manifests(c))).collect();
        handles.into_iter().map(|h| h.join().expect("manifest reader panicked")).collect()
    });
    let mut revisions = Vec::new();
    for result in results {
        revisions.extend(result?);
    }
    Ok(revisions)
}

/// Reads and parses the manifests of `dirs`, in order.
fn read_manifests(dirs: Vec<PathBuf>) -> Result<Vec<Revision>, ProjectError> {
    let mut revisions = Vec::with_capacity(dirs.len());
    let mut buffer = Vec::with_capacity(4096);
    for dir in dirs {
        let manifest_path = dir.join(MANIFEST_FILE);
        buffer.clear();
        match read_small_file(&manifest_path, &mut buffer) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ProjectError::MissingManifest { dir });
            }
            Err(source) => {
                return Err(ProjectError::Io { path: manifest_path, source });
            }
        }
        let text = std::str::from_utf8(&buffer).map_err(|e| ProjectError::Io {
            path: manifest_path.clone(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, format!("not UTF-8: {e}")),
        })?;
        let manifest = Manifest::from_toml(text)
            .map_err(|source| ProjectError::Manifest { path: manifest_path.clone(), source })?;
        revisions.push(Revision { manifest, dir, manifest_path });
    }
    Ok(revisions)
}

/// open + read until EOF + close: `fs::read` would also stat and seek, which
/// is a third of the system calls for a file this small.
fn read_small_file(path: &Path, buffer: &mut Vec<u8>) -> std::io::Result<()> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut chunk = [0u8; 8192];
    loop {
        match file.read(&mut chunk) {
            Ok(0) => return Ok(()),
            // A regular file returns less than asked only at its end: one
            // `read` per manifest instead of two (10,000 fewer system calls
            // on a 10,000-revision project).
            Ok(n) if n < chunk.len() => {
                buffer.extend_from_slice(&chunk[..n]);
                return Ok(());
            }
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project_with(config: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(CONFIG_FILE), config).unwrap();
        std::fs::create_dir(dir.path().join("migrations")).unwrap();
        dir
    }

    #[test]
    fn a_bad_table_prefix_is_refused_on_load() {
        let dir = project_with("table_prefix = \"Bad-Prefix\"\n");
        let err = load(dir.path()).unwrap_err();
        let ProjectError::BadTablePrefix { prefix, path } = &err else { panic!("{err:?}") };
        assert_eq!(prefix, "Bad-Prefix");
        assert_eq!(path, &dir.path().join(CONFIG_FILE));
        assert_eq!(
            err.to_string(),
            format!(
                "{}: table_prefix `Bad-Prefix` must be lowercase letters, digits and `_`, not starting with a digit (it becomes part of the version tables' names)",
                path.display()
            )
        );
        assert!(matches!(load_config(dir.path()), Err(ProjectError::BadTablePrefix { .. })));
    }

    #[test]
    fn a_good_table_prefix_loads() {
        let dir = project_with("table_prefix = \"app_v2_\"\n");
        assert_eq!(load(dir.path()).unwrap().config.table_prefix, "app_v2_");
        let dir = project_with("");
        assert_eq!(load(dir.path()).unwrap().config.table_prefix, "wasmig_");
    }
}
