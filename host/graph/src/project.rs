//! Loading a project from disk: `wasmig.toml`, then one `revision.toml` per
//! directory of the migrations directory, then [`Graph::new`]; and the
//! [`ProjectError`] for anything on that way. A [`ManifestCache`] (wasmig's
//! project cache) may stand in for reading a manifest whose file has not
//! changed. (Over 500 lines with its tests, which exercise the one reading path.)

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

    /// A settings file (`wasmig.toml`, `revision.toml`) that is not a regular file, or a
    /// symlink to something that is not: wasmig never reads a FIFO (it would wait forever)
    /// or a device (`/dev/zero` never ends).
    #[error(
        "{} is {kind}, not a regular file; wasmig reads settings only from regular files (a symlink must point to one)",
        show(path)
    )]
    NotAFile { path: PathBuf, kind: &'static str },

    /// A settings file larger than [`MAX_SETTINGS_FILE_BYTES`].
    #[error(
        "{} is larger than {} KiB, which no wasmig.toml or revision.toml needs; it is not read",
        show(path),
        MAX_SETTINGS_FILE_BYTES / 1024
    )]
    TooLarge { path: PathBuf },

    #[error("invalid project settings in {}: {source}", show(path))]
    Config { path: PathBuf, source: toml::de::Error },

    /// `table_prefix` fails [`valid_table_prefix`].
    #[error(
        "{}: table_prefix `{prefix}` must be lowercase letters, digits and `_`, not starting with a digit (it becomes part of the version tables' names)",
        show(path)
    )]
    BadTablePrefix { prefix: String, path: PathBuf },

    /// A key that moved elsewhere in `wasmig.toml`.
    #[error("{}: `{old}` is now `{new}`; rename it (same meaning, in milliseconds)", show(path))]
    MovedSetting { path: PathBuf, old: &'static str, new: &'static str },

    /// `[sandbox] login = true` names no role to log in as.
    #[error(
        "{}: [sandbox] login = true connects as [sandbox] role, but no role is set; add `role = \"tenant_{{tenant}}\"` (a login role per tenant) or remove `login`",
        show(path)
    )]
    LoginWithoutRole { path: PathBuf },

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

/// The largest `wasmig.toml` or `revision.toml` wasmig reads.
pub const MAX_SETTINGS_FILE_BYTES: u64 = 1024 * 1024;

/// Reads `dir/wasmig.toml` and checks the settings serde cannot: the
/// `table_prefix` must pass [`valid_table_prefix`], and `[sandbox] login` needs a `role`. (Capability names and the
/// role template are checked while the file is parsed.)
pub fn load_config(dir: &Path) -> Result<ProjectConfig, ProjectError> {
    let path = dir.join(CONFIG_FILE);
    let mut buffer = Vec::new();
    match read_settings_file(&path, &mut buffer) {
        Ok(_) => {}
        Err(ReadError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ProjectError::NoProject { dir: dir.to_path_buf() });
        }
        Err(error) => return Err(error.into_project_error(path)),
    }
    let text = utf8(&buffer, &path)?;
    let config = match ProjectConfig::from_toml(text) {
        Ok(config) => config,
        Err(source) => return Err(ProjectError::Config { path, source }),
    };
    if !valid_table_prefix(&config.table_prefix) {
        return Err(ProjectError::BadTablePrefix { prefix: config.table_prefix, path });
    }
    if config.sandbox.lock_timeout_ms.is_some() {
        return Err(ProjectError::MovedSetting {
            path,
            old: "[sandbox] lock_timeout_ms",
            new: "[database] migration_lock_timeout_ms",
        });
    }
    if config.sandbox.login && config.sandbox.role.is_none() {
        return Err(ProjectError::LoginWithoutRole { path });
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

/// Manifests a loader may use instead of reading files: it answers only
/// for a file whose metadata (taken just now, before any read) shows it
/// unchanged since its manifest was recorded. Only ever a shortcut: what it
/// returns is in [`Manifest::to_cached`]'s form, decoded and validated
/// again like a file read from disk.
pub trait ManifestCache: Sync {
    /// The manifest `path` held, in [`Manifest::to_cached`]'s form, if
    /// `metadata` (the file's, now) says it still holds it. Asked from
    /// several threads at once.
    fn manifest(&self, path: &Path, metadata: &std::fs::Metadata) -> Option<&str>;
    /// `path` held `manifest` when read; `metadata` was taken before the read.
    fn record(&mut self, path: &Path, metadata: &std::fs::Metadata, manifest: &Manifest);
}

/// [`load`], taking manifests from `cache` where it vouches for them and
/// telling it what was read.
pub fn load_with(dir: impl AsRef<Path>, cache: &mut dyn ManifestCache) -> Result<Project, ProjectError> {
    let root = dir.as_ref().to_path_buf();
    let config = load_config(&root)?;
    let dirs = revision_dirs(&root.join(&config.migrations_dir))?;
    let manifest_paths: Vec<PathBuf> = dirs.iter().map(|dir| dir.join(MANIFEST_FILE)).collect();
    // Stat'ing, asking the cache and decoding are most of the time: one pass across the cores.
    // A file that cannot be stat'ed, or is not one, goes the reading way, which names the problem.
    let shared: &dyn ManifestCache = cache;
    let found = map_in_parallel(&manifest_paths, |path| {
        let metadata = std::fs::metadata(path).ok().filter(std::fs::Metadata::is_file)?;
        let manifest = shared.manifest(path, &metadata).and_then(|text| Manifest::from_cached(text).ok());
        Some((metadata, manifest))
    });
    let mut revisions: Vec<Option<Revision>> = Vec::with_capacity(dirs.len());
    let mut missed = Vec::new();
    for ((dir, manifest_path), found) in dirs.into_iter().zip(manifest_paths).zip(found) {
        match found {
            Some((_, Some(manifest))) => revisions.push(Some(Revision { manifest, dir, manifest_path })),
            found => {
                // The metadata taken before the read: a write since then is seen next time.
                missed.push(((revisions.len(), found.map(|(metadata, _)| metadata)), dir));
                revisions.push(None);
            }
        }
    }
    let (slots, dirs): (Vec<_>, Vec<PathBuf>) = missed.into_iter().unzip();
    for ((slot, metadata), revision) in slots.into_iter().zip(read_in_parallel(dirs)?) {
        if let Some(metadata) = &metadata {
            cache.record(&revision.manifest_path, metadata, &revision.manifest);
        }
        revisions[slot] = Some(revision);
    }
    let graph = Graph::new(revisions.into_iter().map(|revision| revision.expect("every slot filled")).collect())?;
    Ok(Project { config, root, graph })
}

/// Below this many revisions a second thread costs more than it saves.
const PARALLEL_THRESHOLD: usize = 512;

/// Every revision under `migrations_dir`, ordered by directory name.
/// Hidden entries (`.git`, `.DS_Store`, ...) and plain files are skipped; any
/// other directory must hold a manifest. When several manifests are broken,
/// the error is about the first by directory name.
pub fn read_revisions(migrations_dir: &Path) -> Result<Vec<Revision>, ProjectError> {
    read_in_parallel(revision_dirs(migrations_dir)?)
}

/// The revision directories of `migrations_dir`, by name.
fn revision_dirs(migrations_dir: &Path) -> Result<Vec<PathBuf>, ProjectError> {
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
    Ok(dirs.into_iter().map(|(_, path)| path).collect())
}

/// How many threads share `items` items of manifest work: one below
/// [`PARALLEL_THRESHOLD`], else one per core, at most 4.
fn threads_for(items: usize) -> usize {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(4);
    if items < PARALLEL_THRESHOLD { 1 } else { threads }
}

/// `work` on consecutive chunks of `items`, one chunk per [`threads_for`]
/// thread (the whole slice on the caller's thread below the threshold): one
/// output per chunk, in order.
fn in_chunks<T: Sync, U: Send>(items: &[T], work: impl Fn(&[T]) -> U + Sync) -> Vec<U> {
    let threads = threads_for(items.len());
    if threads < 2 {
        return vec![work(items)];
    }
    let work = &work;
    std::thread::scope(|scope| {
        let handles: Vec<_> =
            items.chunks(items.len().div_ceil(threads)).map(|chunk| scope.spawn(move || work(chunk))).collect();
        handles.into_iter().map(|handle| handle.join().expect("manifest worker panicked")).collect()
    })
}

/// `work` on each of `items`, in order, split across [`threads_for`] threads.
fn map_in_parallel<T: Sync, U: Send>(items: &[T], work: impl Fn(&T) -> U + Sync) -> Vec<U> {
    in_chunks(items, |chunk| chunk.iter().map(&work).collect::<Vec<U>>()).into_iter().flatten().collect()
}

/// Reads the manifests of `dirs`, in order.
/// Reading is mostly system time spent opening files; with thousands of
/// revisions, splitting the list across the cores pays off.
fn read_in_parallel(dirs: Vec<PathBuf>) -> Result<Vec<Revision>, ProjectError> {
    let mut revisions = Vec::with_capacity(dirs.len());
    // Chunks in order, each stopping at its first error: the first error is the first by name.
    for chunk in in_chunks(&dirs, read_manifests) {
        revisions.extend(chunk?);
    }
    Ok(revisions)
}

/// Reads and parses the manifests of `dirs`, in order.
fn read_manifests(dirs: &[PathBuf]) -> Result<Vec<Revision>, ProjectError> {
    let mut revisions = Vec::with_capacity(dirs.len());
    let mut buffer = Vec::with_capacity(4096);
    for dir in dirs {
        let dir = dir.clone();
        let manifest_path = dir.join(MANIFEST_FILE);
        buffer.clear();
        match read_settings_file(&manifest_path, &mut buffer) {
            Ok(()) => {}
            Err(ReadError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ProjectError::MissingManifest { dir });
            }
            Err(error) => return Err(error.into_project_error(manifest_path)),
        }
        let text = utf8(&buffer, &manifest_path)?;
        let manifest = Manifest::from_toml(text)
            .map_err(|source| ProjectError::Manifest { path: manifest_path.clone(), source })?;
        revisions.push(Revision { manifest, dir, manifest_path });
    }
    Ok(revisions)
}

fn utf8<'b>(bytes: &'b [u8], path: &Path) -> Result<&'b str, ProjectError> {
    std::str::from_utf8(bytes).map_err(|e| ProjectError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, format!("not UTF-8: {e}")),
    })
}

/// Why a settings file was not read.
#[derive(Debug)]
enum ReadError {
    Io(std::io::Error),
    NotAFile(&'static str),
    TooLarge,
}

impl ReadError {
    fn into_project_error(self, path: PathBuf) -> ProjectError {
        match self {
            ReadError::Io(source) => ProjectError::Io { path, source },
            ReadError::NotAFile(kind) => ProjectError::NotAFile { path, kind },
            ReadError::TooLarge => ProjectError::TooLarge { path },
        }
    }
}

/// Reads a settings file into `buffer`: only a regular file (a symlink is followed, and what
/// it points to must be one), at most [`MAX_SETTINGS_FILE_BYTES`]. The type is checked before
/// opening, since opening a FIFO already blocks; the read is capped as well, in case the file
/// grows or is swapped after the check.
///
/// stat + open + read until a short read + close: `fs::read` would also seek, and reading
/// until a zero-byte read would add a `read` per manifest (10,000 on a 10,000-revision project).
fn read_settings_file(path: &Path, buffer: &mut Vec<u8>) -> Result<(), ReadError> {
    use std::io::Read;
    let metadata = std::fs::metadata(path).map_err(ReadError::Io)?;
    if !metadata.is_file() {
        return Err(ReadError::NotAFile(describe(&metadata.file_type())));
    }
    if metadata.len() > MAX_SETTINGS_FILE_BYTES {
        return Err(ReadError::TooLarge);
    }
    let mut file = std::fs::File::open(path).map_err(ReadError::Io)?.take(MAX_SETTINGS_FILE_BYTES + 1);
    let mut chunk = [0u8; 8192];
    loop {
        match file.read(&mut chunk) {
            Ok(0) => break,
            // A regular file returns less than asked only at its end (or at the cap).
            Ok(n) if n < chunk.len() => {
                buffer.extend_from_slice(&chunk[..n]);
                break;
            }
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ReadError::Io(e)),
        }
    }
    if buffer.len() as u64 > MAX_SETTINGS_FILE_BYTES {
        return Err(ReadError::TooLarge);
    }
    Ok(())
}

/// What a file that is not a regular file is, for the error message.
fn describe(file_type: &std::fs::FileType) -> &'static str {
    if file_type.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a FIFO";
        }
        if file_type.is_char_device() || file_type.is_block_device() {
            return "a device";
        }
        if file_type.is_socket() {
            return "a socket";
        }
    }
    "a special file"
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

    /// A cache that answers every manifest with `answer`, or with what it was told.
    struct FakeCache {
        answer: Option<String>,
        told: std::collections::HashMap<PathBuf, String>,
    }

    impl ManifestCache for FakeCache {
        fn manifest(&self, path: &Path, _: &std::fs::Metadata) -> Option<&str> {
            self.answer.as_deref().or_else(|| self.told.get(path).map(String::as_str))
        }

        fn record(&mut self, path: &Path, _: &std::fs::Metadata, manifest: &Manifest) {
            self.told.insert(path.to_path_buf(), manifest.to_cached());
        }
    }

    #[test]
    fn a_cache_answer_is_decoded_again_and_a_bad_one_sends_the_loader_to_the_file() {
        // Above the threshold, so the answers are asked for from several threads.
        let dir = project_with("");
        for i in 0..PARALLEL_THRESHOLD + 3 {
            let revision = dir.path().join(format!("migrations/r{i:04}"));
            std::fs::create_dir(&revision).unwrap();
            let parents = if i == 0 { String::new() } else { format!("\"r{:04}\"", i - 1) };
            let manifest = format!("id = \"r{i:04}\"\nmessage = \"m {i}\"\nparents = [{parents}]\n");
            std::fs::write(revision.join(MANIFEST_FILE), manifest).unwrap();
        }
        let plain = load(dir.path()).unwrap();
        let mut cache = FakeCache { answer: None, told: Default::default() };
        let first = load_with(dir.path(), &mut cache).unwrap();
        assert_eq!(cache.told.len(), plain.graph.len(), "every manifest read and recorded");
        let told = cache.told.clone();
        let second = load_with(dir.path(), &mut cache).unwrap();
        assert_eq!(cache.told, told, "every manifest answered by the cache: nothing read again");
        for loaded in [&first, &second] {
            let manifests =
                |project: &Project| project.graph.topological_order().map(|r| r.manifest.clone()).collect::<Vec<_>>();
            assert_eq!(manifests(loaded), manifests(&plain));
        }
        for answer in ["not json", r#"{"id":"bad-id","message":"m","parents":[]}"#] {
            let mut cache = FakeCache { answer: Some(answer.to_owned()), told: Default::default() };
            let loaded = load_with(dir.path(), &mut cache).unwrap();
            assert_eq!(cache.told.len(), plain.graph.len(), "{answer}: every manifest read from its file");
            assert_eq!(loaded.graph.len(), plain.graph.len());
        }
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
    fn the_old_lock_timeout_key_is_refused_naming_the_new_one() {
        let dir = project_with("[sandbox]\nlock_timeout_ms = 5000\n");
        let err = load(dir.path()).unwrap_err();
        assert!(matches!(err, ProjectError::MovedSetting { .. }), "{err:?}");
        assert!(err.to_string().contains("[database] migration_lock_timeout_ms"), "{err}");
    }

    #[test]
    fn login_needs_a_role() {
        let dir = project_with("[sandbox]\nlogin = true\n");
        let err = load(dir.path()).unwrap_err();
        assert!(matches!(err, ProjectError::LoginWithoutRole { .. }), "{err:?}");
        assert!(err.to_string().contains("add `role = \"tenant_{tenant}\"`"), "{err}");
        let dir = project_with("[sandbox]\nlogin = true\nrole = \"tenant_{tenant}\"\n");
        assert!(load(dir.path()).is_ok());
    }

    /// A project whose only revision's manifest is `manifest` (created by `make`).
    fn project_with_manifest(make: impl FnOnce(&Path)) -> tempfile::TempDir {
        let dir = project_with("");
        let revision = dir.path().join("migrations/0001_first");
        std::fs::create_dir(&revision).unwrap();
        make(&revision.join(MANIFEST_FILE));
        dir
    }

    /// `load`, on a thread: a read that blocks fails the test instead of hanging it.
    fn load_within_seconds(dir: &Path) -> Result<Project, ProjectError> {
        let dir = dir.to_path_buf();
        let (send, receive) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = send.send(load(&dir));
        });
        receive.recv_timeout(std::time::Duration::from_secs(10)).expect("loading the project blocked")
    }

    #[cfg(unix)]
    fn mkfifo(path: &Path) {
        let status = std::process::Command::new("mkfifo").arg(path).status().expect("mkfifo runs");
        assert!(status.success());
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_manifest_or_config_is_refused_without_blocking() {
        let dir = project_with_manifest(mkfifo);
        let err = load_within_seconds(dir.path()).unwrap_err();
        let ProjectError::NotAFile { path, kind } = &err else { panic!("{err:?}") };
        assert_eq!((path.file_name().unwrap(), *kind), (std::ffi::OsStr::new(MANIFEST_FILE), "a FIFO"));
        assert!(err.to_string().contains("revision.toml is a FIFO, not a regular file"), "{err}");

        let dir = tempfile::tempdir().unwrap();
        mkfifo(&dir.path().join(CONFIG_FILE));
        let err = load_within_seconds(dir.path()).unwrap_err();
        assert!(matches!(err, ProjectError::NotAFile { kind: "a FIFO", .. }), "{err:?}");
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_to_a_device_is_refused_and_one_to_a_file_is_read() {
        let dir = project_with_manifest(|path| std::os::unix::fs::symlink("/dev/zero", path).unwrap());
        let err = load_within_seconds(dir.path()).unwrap_err();
        assert!(matches!(err, ProjectError::NotAFile { kind: "a device", .. }), "{err:?}");

        let dir = project_with_manifest(|path| {
            let real = path.with_file_name("real.toml");
            std::fs::write(&real, "id = \"0001\"\nmessage = \"first\"\nparents = []\n").unwrap();
            std::os::unix::fs::symlink(&real, path).unwrap();
        });
        assert_eq!(load_within_seconds(dir.path()).unwrap().graph.len(), 1);
    }

    #[test]
    fn a_directory_or_an_oversized_file_is_refused_naming_it() {
        let dir = project_with_manifest(|path| std::fs::create_dir(path).unwrap());
        let err = load(dir.path()).unwrap_err();
        assert!(matches!(err, ProjectError::NotAFile { kind: "a directory", .. }), "{err:?}");

        let dir = project_with_manifest(|path| {
            let padding = "#".repeat(MAX_SETTINGS_FILE_BYTES as usize);
            std::fs::write(path, format!("id = \"0001\"\nmessage = \"x\"\nparents = []\n{padding}")).unwrap();
        });
        let err = load(dir.path()).unwrap_err();
        let ProjectError::TooLarge { path } = &err else { panic!("{err:?}") };
        assert!(path.ends_with("0001_first/revision.toml"), "{path:?}");
        assert!(err.to_string().contains("is larger than 1024 KiB"), "{err}");

        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(CONFIG_FILE), " ".repeat(MAX_SETTINGS_FILE_BYTES as usize + 1)).unwrap();
        assert!(matches!(load(dir.path()), Err(ProjectError::TooLarge { .. })));
        // Exactly at the cap is fine.
        std::fs::write(dir.path().join(CONFIG_FILE), " ".repeat(MAX_SETTINGS_FILE_BYTES as usize)).unwrap();
        assert!(load_config(dir.path()).is_ok());
    }

    #[test]
    fn an_unknown_capability_is_refused_on_load_naming_the_file() {
        let dir = project_with("[sandbox]\ncapabilities = [\"server-files\", \"root\"]\n");
        let err = load(dir.path()).unwrap_err();
        assert!(matches!(err, ProjectError::Config { .. }), "{err:?}");
        let message = err.to_string();
        assert!(message.contains(CONFIG_FILE) && message.contains("`root` is not a capability"), "{message}");
        let dir = project_with("[sandbox]\nrole = \"tenant-{tenant}\"\n");
        assert!(load(dir.path()).unwrap_err().to_string().contains("[sandbox] role `tenant-{tenant}`"));
    }

    #[test]
    fn a_good_table_prefix_loads() {
        let dir = project_with("table_prefix = \"app_v2_\"\n");
        assert_eq!(load(dir.path()).unwrap().config.table_prefix, "app_v2_");
        let dir = project_with("");
        assert_eq!(load(dir.path()).unwrap().config.table_prefix, "wasmig_");
    }
}
