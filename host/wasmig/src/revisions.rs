//! The project's revisions as the runner sees them: the module, the checksum and the limits each one runs with.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wasmig_graph::{Graph, LockPolicy, Project, ProjectConfig, Revision, RevisionId, RevisionKind};

use crate::checksum::{self, ChecksumError, Fingerprint, MODULE_FILE};
use crate::project_cache::{self, CacheStats, ProjectCache};
use crate::runtime::{Builtin, LoadError, Module, ModuleHash, Runtime, SandboxLimits, module_hash};

/// Why a revision's module cannot be had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModuleError {
    #[error(
        "revision {revision} is a component revision but {path} does not exist: build it with `wasmig build {revision}`"
    )]
    Missing { revision: String, path: PathBuf },
    #[error("cannot read {path}: {source}")]
    Unreadable { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Load(#[from] LoadError),
}

/// A loaded, validated project and what was learned from its revisions' files.
///
/// A component revision's `revision.wasm` is read and hashed once per
/// project (and its clones): a fleet of a thousand tenants, or a Python
/// revision of 20 MB, does not read and hash it per tenant and per use. The
/// project is a snapshot: a `revision.wasm` replaced while the process runs
/// is seen by the next process.
#[derive(Debug)]
pub(crate) struct Revisions {
    inner: Project,
    components: Mutex<HashMap<RevisionId, ComponentFile>>,
    /// Manifests and checksums remembered between runs (see `project_cache.rs`).
    cache: Mutex<ProjectCache>,
}

/// What was learned from reading a component revision's `revision.wasm`.
#[derive(Debug, Clone)]
struct ComponentFile {
    module_hash: ModuleHash,
    fingerprint: Fingerprint,
}

impl Revisions {
    /// Loads `dir/wasmig.toml` and the revision manifests (those the project
    /// cache vouches for are not read), and validates the graph. Reads no
    /// module and no SQL file.
    pub(crate) fn open(dir: impl AsRef<Path>) -> Result<Self, wasmig_graph::ProjectError> {
        let (inner, cache) = project_cache::load(dir.as_ref())?;
        Ok(Revisions { inner, components: Mutex::new(HashMap::new()), cache: Mutex::new(cache) })
    }

    /// What the project cache answered so far.
    pub fn cache_stats(&self) -> CacheStats {
        self.cache.lock().expect("project cache poisoned").stats
    }

    /// Writes what was learned (checksums computed) to the project cache.
    pub fn save_cache(&self) {
        let mut cache = self.cache.lock().expect("project cache poisoned");
        tracing::debug!(
            "project cache: {} checksum(s) from the cache, {} computed",
            cache.stats.checksums_cached,
            cache.stats.checksums_computed
        );
        cache.save();
    }

    pub fn project(&self) -> &Project {
        &self.inner
    }

    pub fn graph(&self) -> &Graph {
        &self.inner.graph
    }

    pub fn config(&self) -> &ProjectConfig {
        &self.inner.config
    }

    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// How long a run waits for the migration lock (and SQLite's host statements for the write lock).
    pub fn migration_lock_timeout(&self) -> Duration {
        self.inner.config.database.migration_lock_timeout()
    }

    /// How a revision's steps wait for locks and retry.
    pub fn lock_policy_for(&self, revision: &Revision) -> LockPolicy {
        self.inner.config.database.lock_policy(revision.manifest.database.as_ref())
    }

    /// The project's limits, with the revision's own `[sandbox]` overrides.
    pub fn limits_for(&self, revision: &Revision) -> SandboxLimits {
        let project = &self.inner.config.sandbox;
        let own = revision.manifest.sandbox.clone().unwrap_or_default();
        let defaults = SandboxLimits::default();
        SandboxLimits {
            memory_bytes: own.memory_mb.unwrap_or(project.memory_mb).saturating_mul(1024 * 1024),
            timeout: Duration::from_millis(own.timeout_ms.unwrap_or(project.timeout_ms)),
            sql_timeout: own.sql_timeout_ms.or(project.sql_timeout_ms).map(Duration::from_millis),
            max_instances: project.max_instances.map_or(defaults.max_instances, |n| n.min(u32::MAX.into()) as u32),
            max_tables: project.max_tables.map_or(defaults.max_tables, |n| n.min(u32::MAX.into()) as u32),
            max_table_elements: defaults.max_table_elements,
            lock_wait: self.lock_policy_for(revision).statement_wait,
        }
    }

    /// The checksum a new row of `revision` records.
    pub fn checksum(&self, revision: &Revision) -> Result<String, ChecksumError> {
        Ok(self.fingerprint(revision)?.checksum)
    }

    /// What `revision`'s files are now, to record or to compare with a row:
    /// from the project cache while the files are unchanged. A `python` or
    /// `js` revision's checksum names the interpreter plugin of this wasmig.
    pub fn fingerprint(&self, revision: &Revision) -> Result<Fingerprint, ChecksumError> {
        let files = self.files_fingerprint(revision)?;
        Ok(match interpreter(revision.kind()) {
            Some(plugin) => checksum::with_interpreter(files, &hex::encode(plugin.hash())),
            None => files,
        })
    }

    fn files_fingerprint(&self, revision: &Revision) -> Result<Fingerprint, ChecksumError> {
        if let Some(known) = self.known_component(revision) {
            return Ok(known.fingerprint);
        }
        let mut cache = self.cache.lock().expect("project cache poisoned");
        if let Some(fingerprint) = cache.fingerprint(revision) {
            return Ok(fingerprint);
        }
        drop(cache);
        let names = checksum::payload_files(revision)?;
        // A source file added between the listing and the directory's stamp
        // would be missing from a checksum the stamp vouches for: listed again after.
        let stamps = self
            .cache
            .lock()
            .expect("project cache poisoned")
            .stamp_payload(revision, &names)
            .filter(|_| checksum::payload_files(revision).is_ok_and(|again| again == names));
        // Not held while a module of many megabytes is read and hashed.
        let fingerprint = if revision.kind() == RevisionKind::Component {
            let path = revision.dir.join(MODULE_FILE);
            let bytes = checksum::read_revision_file(&path, checksum::MAX_MODULE_BYTES)
                .map_err(|source| checksum::read_error(revision, &path, source))?;
            self.remember_component(revision, &bytes).fingerprint
        } else {
            checksum::fingerprint_of_files(revision, &names)?
        };
        if let Some(stamps) = stamps {
            self.cache.lock().expect("project cache poisoned").record_fingerprint(revision, stamps, &fingerprint);
        }
        Ok(fingerprint)
    }

    fn known_component(&self, revision: &Revision) -> Option<ComponentFile> {
        self.components.lock().expect("component map poisoned").get(revision.id()).cloned()
    }

    fn remember_component(&self, revision: &Revision, module: &[u8]) -> ComponentFile {
        // Two SHA-256 passes over the same bytes: for an interpreter's 20 MB
        // component each takes about 10 ms, so they run side by side.
        let file = std::thread::scope(|scope| {
            let hashing = scope.spawn(|| module_hash(module));
            let fingerprint = checksum::component_fingerprint(revision, module);
            ComponentFile { module_hash: hashing.join().expect("hashing a module does not panic"), fingerprint }
        });
        self.components.lock().expect("component map poisoned").insert(revision.id().clone(), file.clone());
        file
    }

    /// How many distinct components `revisions` run that `runtime` has
    /// neither loaded nor compiled into its disk cache: the ones compiled
    /// before the first step.
    pub fn uncompiled<'r>(
        &self,
        runtime: &Runtime,
        revisions: impl Iterator<Item = &'r Revision>,
    ) -> Result<usize, ModuleError> {
        let mut hashes = std::collections::HashSet::new();
        for revision in revisions {
            let hash = match revision.kind() {
                RevisionKind::Sql => Builtin::Sql.hash(),
                RevisionKind::Merge => Builtin::Merge.hash(),
                RevisionKind::Python => Builtin::Python.hash(),
                RevisionKind::Js => Builtin::Js.hash(),
                RevisionKind::Component => match self.known_component(revision) {
                    Some(known) => known.module_hash,
                    None => self.remember_component(revision, &read_module(revision)?.1).module_hash,
                },
            };
            if !runtime.is_compiled(&hash) {
                hashes.insert(hash);
            }
        }
        Ok(hashes.len())
    }

    /// The component a revision runs: a built-in plugin for SQL, merge,
    /// Python and JavaScript revisions, its own `revision.wasm` for component revisions.
    pub fn module(&self, runtime: &Runtime, revision: &Revision) -> Result<Arc<Module>, ModuleError> {
        match revision.kind() {
            RevisionKind::Sql => Ok(runtime.builtin(Builtin::Sql)?),
            RevisionKind::Merge => Ok(runtime.builtin(Builtin::Merge)?),
            RevisionKind::Python => Ok(runtime.builtin(Builtin::Python)?),
            RevisionKind::Js => Ok(runtime.builtin(Builtin::Js)?),
            RevisionKind::Component => {
                let path = revision.dir.join(MODULE_FILE);
                let relative = path.strip_prefix(self.root()).unwrap_or(&path);
                let name = format!("revision {} ({})", revision.id(), relative.display());
                // Hashed earlier in the run (its checksum, or counting what to
                // compile) and compiled before: neither read nor hashed again,
                // which for a 20 MB Python component is most of a warm run.
                if let Some(known) = self.known_component(revision)
                    && let Some(module) = runtime.load_compiled(known.module_hash, &name)
                {
                    return Ok(module?);
                }
                let (_, bytes) = read_module(revision)?;
                let known = self.remember_component(revision, &bytes);
                Ok(runtime.load_hashed(&bytes, known.module_hash, &name)?)
            }
        }
    }
}

/// The interpreter plugin that runs revisions of `kind`, for the source kinds.
pub(crate) fn interpreter(kind: RevisionKind) -> Option<Builtin> {
    match kind {
        RevisionKind::Python => Some(Builtin::Python),
        RevisionKind::Js => Some(Builtin::Js),
        RevisionKind::Sql | RevisionKind::Merge | RevisionKind::Component => None,
    }
}

/// A component revision's `revision.wasm`: its path and bytes.
fn read_module(revision: &Revision) -> Result<(PathBuf, Vec<u8>), ModuleError> {
    let path = revision.dir.join(MODULE_FILE);
    match checksum::read_revision_file(&path, checksum::MAX_MODULE_BYTES) {
        Ok(bytes) => Ok((path, bytes)),
        Err(source) if source.kind() == std::io::ErrorKind::NotFound => {
            Err(ModuleError::Missing { revision: revision.id().to_string(), path })
        }
        Err(source) => Err(ModuleError::Unreadable { path, source }),
    }
}
