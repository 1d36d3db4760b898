//! The on-disk cache of compiled components, keyed by module hash and engine settings.
//!
//! A cached file is native code that wasmtime maps and runs without checks of
//! its own, so: only the runner decides where the cache lives (never a path
//! from a project or a tenant), every file carries its key and the SHA-256 of
//! its payload, and a file that fails either check is compiled again, never
//! loaded.

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Bumped whenever the file layout or the meaning of a key changes.
const FORMAT: &[u8; 8] = b"WASMIGC1";
const DIGEST_LEN: usize = 32;
const HEADER_LEN: usize = FORMAT.len() + 2 * DIGEST_LEN;

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

/// Why a cached file was not used (it is then compiled again).
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
    #[error("{path} is corrupt (its payload does not match its checksum)")]
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

    /// The verified payload of a cached module: wasmtime's serialized component.
    pub fn read(&self, module: &ModuleHash) -> Result<Vec<u8>, CacheMiss> {
        let path = self.path(module);
        let mut bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Err(CacheMiss::Absent),
            Err(source) => return Err(CacheMiss::Unreadable { path, source }),
        };
        if bytes.len() < HEADER_LEN || &bytes[..FORMAT.len()] != FORMAT {
            return Err(CacheMiss::BadHeader { path });
        }
        let (key, digest) = bytes[FORMAT.len()..HEADER_LEN].split_at(DIGEST_LEN);
        if key != self.key(module) {
            return Err(CacheMiss::WrongKey { path });
        }
        if digest != Sha256::digest(&bytes[HEADER_LEN..]).as_slice() {
            return Err(CacheMiss::Corrupt { path });
        }
        bytes.drain(..HEADER_LEN);
        Ok(bytes)
    }

    /// Stores a compiled module. Written to a temporary file and renamed, so
    /// that a concurrent reader sees the old file, the new one, or none.
    pub fn write(&self, module: &ModuleHash, payload: &[u8]) -> std::io::Result<PathBuf> {
        let path = self.path(module);
        let folder = path.parent().expect("cache paths have a folder");
        std::fs::create_dir_all(folder)?;
        let mut file = tempfile::NamedTempFile::new_in(folder)?;
        file.write_all(FORMAT)?;
        file.write_all(&self.key(module))?;
        file.write_all(&Sha256::digest(payload))?;
        file.write_all(payload)?;
        file.as_file().sync_data()?;
        file.persist(&path).map_err(|error| error.error)?;
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
        assert_eq!(cache.read(&module).unwrap(), b"compiled");
    }

    #[test]
    fn a_flipped_payload_byte_is_refused() {
        let (_dir, cache) = cache();
        let module = module_hash(b"module");
        let path = cache.write(&module, b"compiled").unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        *bytes.last_mut().unwrap() ^= 1;
        std::fs::write(&path, bytes).unwrap();
        assert!(matches!(cache.read(&module), Err(CacheMiss::Corrupt { .. })));
    }

    #[test]
    fn a_file_renamed_to_another_module_is_refused() {
        let (_dir, cache) = cache();
        let first = module_hash(b"first");
        let second = module_hash(b"second");
        let path = cache.write(&first, b"compiled").unwrap();
        std::fs::create_dir_all(cache.path(&second).parent().unwrap()).unwrap();
        std::fs::copy(&path, cache.path(&second)).unwrap();
        assert!(matches!(cache.read(&second), Err(CacheMiss::WrongKey { .. })));
    }

    #[test]
    fn a_foreign_file_is_refused() {
        let (_dir, cache) = cache();
        let module = module_hash(b"module");
        std::fs::create_dir_all(cache.path(&module).parent().unwrap()).unwrap();
        std::fs::write(cache.path(&module), b"\x7fELF not ours").unwrap();
        assert!(matches!(cache.read(&module), Err(CacheMiss::BadHeader { .. })));
        assert!(matches!(cache.read(&module_hash(b"other")), Err(CacheMiss::Absent)));
    }
}
