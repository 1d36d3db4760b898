//! The on-disk cache of compiled components, keyed by module hash and engine settings.
//!
//! A cached file is native code that wasmtime maps and runs without checks of
//! its own, so: only the runner decides where the cache lives (never a path
//! from a project or a tenant), every entry carries its key and a digest of
//! its payload, and an entry that fails either check is compiled again, never
//! loaded.
//!
//! An entry is two files: `<module>.cwasm`, exactly what `Component::serialize`
//! wrote, so that wasmtime maps it instead of copying it (an interpreter's
//! component is 35 MB), and `<module>.sum` beside it: the format tag, the key
//! and the BLAKE3 digest of the `.cwasm` (a 35 MB digest costs a few
//! milliseconds, SHA-256 about 20).

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Bumped whenever the file layout or the meaning of a key changes.
const FORMAT: &[u8; 8] = b"WASMIGC2";
const DIGEST_LEN: usize = 32;
const SUM_LEN: usize = FORMAT.len() + 2 * DIGEST_LEN;

/// The SHA-256 of a module's bytes.
pub type ModuleHash = [u8; DIGEST_LEN];

pub fn module_hash(bytes: &[u8]) -> ModuleHash {
    Sha256::digest(bytes).into()
}

/// Feeds a `std::hash::Hash` value into SHA-256, so that wasmtime's engine
/// compatibility hash becomes a stable on-disk key.
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        unreachable!("only the SHA-256 digest is used")
    }
}

/// Everything of the engine that changes compiled code: wasmtime's
/// compatibility hash (version, target, settings) and this cache's format.
pub fn engine_key(engine: &wasmtime::Engine) -> [u8; DIGEST_LEN] {
    let mut hasher = Sha256Hasher(Sha256::new());
    hasher.write(FORMAT);
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hasher.0.finalize().into()
}

/// A directory of compiled components for one engine configuration.
#[derive(Debug, Clone)]
pub struct DiskCache {
    dir: PathBuf,
    engine_key: [u8; DIGEST_LEN],
}

/// Why a cached entry was not used (it is then compiled again).
#[derive(Debug, thiserror::Error)]
pub enum CacheMiss {
    #[error("not cached")]
    Absent,
    #[error("cannot read {path}: {source}")]
    Unreadable { path: PathBuf, source: std::io::Error },
    #[error("{path} is not a wasmig cache file of this version")]
    BadHeader { path: PathBuf },
    #[error("{path} was written for another module or engine")]
    WrongKey { path: PathBuf },
    #[error("{path} is corrupt (it does not match the digest beside it)")]
    Corrupt { path: PathBuf },
}

impl DiskCache {
    pub fn new(dir: PathBuf, engine: &wasmtime::Engine) -> Self {
        DiskCache { dir, engine_key: engine_key(engine) }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn key(&self, module: &ModuleHash) -> [u8; DIGEST_LEN] {
        let mut hasher = Sha256::new();
        hasher.update(self.engine_key);
        hasher.update(module);
        hasher.finalize().into()
    }

    /// Where a module's compiled code lives: one folder per engine
    /// configuration, so that stale entries are easy to see and remove.
    pub fn path(&self, module: &ModuleHash) -> PathBuf {
        self.dir.join(hex::encode(&self.engine_key[..8])).join(format!("{}.cwasm", hex::encode(module)))
    }

    fn sum_path(&self, module: &ModuleHash) -> PathBuf {
        self.path(module).with_extension("sum")
    }

    /// The path of a module's compiled code, once its key and digest are checked.
    pub fn verified(&self, module: &ModuleHash) -> Result<PathBuf, CacheMiss> {
        let sum_path = self.sum_path(module);
        let sum = match std::fs::read(&sum_path) {
            Ok(sum) => sum,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Err(CacheMiss::Absent),
            Err(source) => return Err(CacheMiss::Unreadable { path: sum_path, source }),
        };
        if sum.len() != SUM_LEN || &sum[..FORMAT.len()] != FORMAT {
            return Err(CacheMiss::BadHeader { path: sum_path });
        }
        let (key, digest) = sum[FORMAT.len()..].split_at(DIGEST_LEN);
        if key != self.key(module) {
            return Err(CacheMiss::WrongKey { path: sum_path });
        }
        let path = self.path(module);
        let mut hasher = blake3::Hasher::new();
        let hashed = std::fs::File::open(&path).and_then(|mut file| std::io::copy(&mut file, &mut hasher));
        match hashed {
            Ok(_) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Err(CacheMiss::Absent),
            Err(source) => return Err(CacheMiss::Unreadable { path, source }),
        }
        if hasher.finalize().as_bytes() != digest {
            return Err(CacheMiss::Corrupt { path });
        }
        Ok(path)
    }

    /// Stores a compiled module. Each file is written to a temporary name and
    /// renamed, the digest last: a reader sees a whole entry, or none, or one
    /// whose digest does not match (and compiles again).
    pub fn write(&self, module: &ModuleHash, payload: &[u8]) -> std::io::Result<PathBuf> {
        let path = self.path(module);
        let folder = path.parent().expect("cache paths have a folder");
        std::fs::create_dir_all(folder)?;
        let mut sum = Vec::with_capacity(SUM_LEN);
        sum.extend_from_slice(FORMAT);
        sum.extend_from_slice(&self.key(module));
        sum.extend_from_slice(blake3::hash(payload).as_bytes());
        for (target, bytes) in [(&path, payload), (&self.sum_path(module), sum.as_slice())] {
            let mut file = tempfile::NamedTempFile::new_in(folder)?;
            file.write_all(bytes)?;
            file.as_file().sync_data()?;
            file.persist(target).map_err(|error| error.error)?;
        }
        Ok(path)
    }
}

/// The runner's cache directory: `$WASMIG_CACHE_DIR`, else the user's cache
/// folder (`$XDG_CACHE_HOME` or `~/.cache`) + `wasmig/components`.
pub fn default_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("WASMIG_CACHE_DIR").filter(|dir| !dir.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))?;
    Some(base.join("wasmig").join("components"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache() -> (tempfile::TempDir, DiskCache) {
        let dir = tempfile::tempdir().unwrap();
        let engine = wasmtime::Engine::default();
        let cache = DiskCache::new(dir.path().to_path_buf(), &engine);
        (dir, cache)
    }

    #[test]
    fn a_written_entry_reads_back() {
        let (_dir, cache) = cache();
        let module = module_hash(b"module");
        cache.write(&module, b"compiled").unwrap();
        let path = cache.verified(&module).unwrap();
        assert_eq!(std::fs::read(path).unwrap(), b"compiled", "the payload is stored as is, for wasmtime to map");
    }

    #[test]
    fn a_flipped_payload_byte_is_refused() {
        let (_dir, cache) = cache();
        let module = module_hash(b"module");
        let path = cache.write(&module, b"compiled").unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        *bytes.last_mut().unwrap() ^= 1;
        std::fs::write(&path, bytes).unwrap();
        assert!(matches!(cache.verified(&module), Err(CacheMiss::Corrupt { .. })));
    }

    #[test]
    fn an_entry_renamed_to_another_module_is_refused() {
        let (_dir, cache) = cache();
        let first = module_hash(b"first");
        let second = module_hash(b"second");
        let path = cache.write(&first, b"compiled").unwrap();
        std::fs::copy(&path, cache.path(&second)).unwrap();
        std::fs::copy(cache.sum_path(&first), cache.sum_path(&second)).unwrap();
        assert!(matches!(cache.verified(&second), Err(CacheMiss::WrongKey { .. })));
    }

    #[test]
    fn a_foreign_or_half_written_entry_is_refused() {
        let (_dir, cache) = cache();
        let module = module_hash(b"module");
        std::fs::create_dir_all(cache.path(&module).parent().unwrap()).unwrap();
        std::fs::write(cache.path(&module), b"\x7fELF not ours").unwrap();
        assert!(matches!(cache.verified(&module), Err(CacheMiss::Absent)), "a payload without its digest");
        std::fs::write(cache.sum_path(&module), b"WASMIGC1 of an older wasmig").unwrap();
        assert!(matches!(cache.verified(&module), Err(CacheMiss::BadHeader { .. })));
        assert!(matches!(cache.verified(&module_hash(b"other")), Err(CacheMiss::Absent)));
    }
}
