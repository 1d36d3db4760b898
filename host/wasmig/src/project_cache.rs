//! The project cache: manifests and checksums remembered between runs, used for a file only while its stamp is unchanged.
//!
//! Why: at 10,000 revisions, opening every `revision.toml` (and, for
//! `status`, every `up.sql`/`down.sql`) is most of a read-only command's
//! time; a `stat` is a fraction of an `open` + `read` + `close`.
//!
//! One file per project under `projects/` of the user's wasmig cache (beside
//! the component cache: `$WASMIG_CACHE_DIR/projects`, else
//! `~/.cache/wasmig/projects`), named by a digest of the project's canonical
//! path. An entry is a revision directory (by its path relative to the
//! project root): its manifest, parsed (in [`Manifest::to_cached`]'s JSON,
//! which reads back several times faster than TOML), and, once a command
//! computed it, its checksums. Each file that decides an entry is stamped (size, mtime and
//! ctime in nanoseconds, inode, device); any difference and the entry is
//! built again from the files. The directory's own stamp stands for the
//! files that are absent (creating, removing or renaming one changes it), so
//! no absent file is probed. An entry whose ctime is within [`SETTLE`] of the
//! moment it was stamped is not kept: a second change inside the file
//! system's timestamp granularity could otherwise leave the same stamp.
//!
//! Never trusted for anything but speed: an unreadable, corrupt, foreign
//! (another format, wasmig version or project) cache is ignored and
//! rewritten; a cache that cannot be written is skipped. The file is written
//! whole to a temporary name and renamed. `WASMIG_PROJECT_CACHE=off` turns it
//! off. Projects of fewer than [`MIN_REVISIONS`] revisions are not cached:
//! reading them is already about as cheap as reading a cache.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

use sha2::{Digest, Sha256};
use wasmig_graph::{Manifest, ManifestCache, Project, ProjectError, Revision};

use crate::checksum::Fingerprint;

/// Below this many revisions the cache is neither read into use nor written.
pub const MIN_REVISIONS: usize = 100;
/// How old (by the clock, in nanoseconds) a file's ctime must be for its stamp
/// to be kept: above the timestamp granularity of the usual file systems
/// (a clock tick on ext4 and XFS, 1 s on some, 2 s on FAT).
const SETTLE: i128 = 2_000_000_000;
/// The first bytes of a cache file, then the format's version.
const MAGIC: &[u8] = b"wasmig project cache\n";
const FORMAT: u32 = 2;

/// What decides whether a file is unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    size: u64,
    /// Nanoseconds since the epoch.
    mtime: i128,
    ctime: i128,
}

impl Stamp {
    #[cfg(unix)]
    fn of(metadata: &std::fs::Metadata) -> Option<Stamp> {
        use std::os::unix::fs::MetadataExt;
        let nanos = |seconds: i64, nanos: i64| i128::from(seconds) * 1_000_000_000 + i128::from(nanos);
        Some(Stamp {
            dev: metadata.dev(),
            ino: metadata.ino(),
            size: metadata.size(),
            mtime: nanos(metadata.mtime(), metadata.mtime_nsec()),
            ctime: nanos(metadata.ctime(), metadata.ctime_nsec()),
        })
    }

    /// Without a change time and an inode, no stamp proves a file unchanged.
    #[cfg(not(unix))]
    fn of(_: &std::fs::Metadata) -> Option<Stamp> {
        None
    }

    fn of_path(path: &Path) -> Option<Stamp> {
        std::fs::metadata(path).ok().as_ref().and_then(Stamp::of)
    }

    /// Whether a later change is sure to give another ctime: this one is older
    /// than the file system's granularity, measured from `before` (taken before the stat).
    fn settled(&self, before: i128) -> bool {
        self.ctime < before - SETTLE
    }
}

fn now() -> i128 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |since| since.as_nanos() as i128)
}

/// A revision directory's cached knowledge.
#[derive(Debug)]
struct Entry {
    manifest: Stamp,
    /// The manifest in [`Manifest::to_cached`]'s form.
    parsed: String,
    checksums: Option<Checksums>,
    /// The load saw its directory (not written: the others are gone). Atomic:
    /// the loader asks for manifests from several threads.
    seen: AtomicBool,
}

/// The entries by directory (relative to the project root). FNV: ten thousand
/// short keys hashed per command, where SipHash's resistance to chosen keys
/// buys nothing (the keys are the project's own directory names).
type Entries = HashMap<String, Entry, fnv::FnvBuildHasher>;

/// A revision's fingerprint and the stamps it was computed under.
#[derive(Debug, Clone)]
struct Checksums {
    /// The directory: stands for the payload files that were absent.
    dir: Stamp,
    /// The payload files that were present.
    files: Vec<(String, Stamp)>,
    checksum: String,
    legacy: Vec<String>,
}

/// How many manifests and checksums came from the cache, for tests and `RUST_LOG=wasmig=debug`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub manifests_cached: usize,
    pub manifests_read: usize,
    pub checksums_cached: usize,
    pub checksums_computed: usize,
}

/// One project's cache, loaded with the project.
#[derive(Debug)]
pub(crate) struct ProjectCache {
    /// Where it is written; `None`: off, or nowhere to write.
    file: Option<PathBuf>,
    root: PathBuf,
    canonical: String,
    entries: Entries,
    /// Taken before the load's first stat.
    opened: i128,
    changed: bool,
    pub stats: CacheStats,
}

/// Loads the project in `dir`, with its cache.
pub(crate) fn load(dir: &Path) -> Result<(Project, ProjectCache), ProjectError> {
    let mut cache = ProjectCache::open(dir);
    if cache.file.is_none() {
        // Off, or nowhere to keep it: the plain loader (one stat per manifest, not two).
        return Ok((wasmig_graph::load(dir)?, cache));
    }
    let project = wasmig_graph::load_with(dir, &mut cache)?;
    cache.after_load(project.graph.len());
    tracing::debug!(
        "project cache: {} manifest(s) from the cache, {} read",
        cache.stats.manifests_cached,
        cache.stats.manifests_read
    );
    cache.save();
    Ok((project, cache))
}

/// Loads the project in `dir` as [`wasmig_graph::load`] does, reading only the
/// manifests the project cache cannot vouch for (and updating it).
pub fn load_project(dir: impl AsRef<Path>) -> Result<Project, ProjectError> {
    Ok(load(dir.as_ref())?.0)
}

/// `projects/` beside the component cache (see [`crate::default_cache_dir`]).
fn cache_dir() -> Option<PathBuf> {
    if std::env::var_os("WASMIG_PROJECT_CACHE").is_some_and(|value| value == "off") {
        return None;
    }
    let components = crate::default_cache_dir()?;
    if std::env::var_os("WASMIG_CACHE_DIR").is_some_and(|dir| !dir.is_empty()) {
        return Some(components.join("projects"));
    }
    Some(components.parent()?.join("projects"))
}

impl ProjectCache {
    fn open(root: &Path) -> ProjectCache {
        let opened = now();
        let canonical = std::fs::canonicalize(root).map(|path| path.to_string_lossy().into_owned()).ok();
        let file = canonical.as_ref().and_then(|canonical| {
            let digest = hex::encode(Sha256::digest(canonical.as_bytes()));
            Some(cache_dir()?.join(format!("{}.cache", &digest[..32])))
        });
        let canonical = canonical.unwrap_or_default();
        let entries = file
            .as_ref()
            .and_then(|file| std::fs::read(file).ok())
            .and_then(|bytes| decode(&bytes, &canonical))
            .unwrap_or_default();
        ProjectCache {
            file,
            root: root.to_path_buf(),
            canonical,
            entries,
            opened,
            changed: false,
            stats: CacheStats::default(),
        }
    }

    /// The entry's key: the revision directory relative to the project root.
    fn key(&self, dir: &Path) -> String {
        key_of(&self.root, dir).into_owned()
    }

    /// Forgets the directories that are gone; turns itself off for a small project.
    fn after_load(&mut self, revisions: usize) {
        let before = self.entries.len();
        self.entries.retain(|_, entry| *entry.seen.get_mut());
        // Every manifest the load did not read (and record) came from the cache.
        self.stats.manifests_cached = revisions.saturating_sub(self.stats.manifests_read);
        self.changed |= self.entries.len() != before;
        if revisions < MIN_REVISIONS {
            self.file = None;
        }
    }

    /// The fingerprint recorded for `revision`, if its directory and payload files are unchanged.
    pub(crate) fn fingerprint(&mut self, revision: &Revision) -> Option<Fingerprint> {
        self.file.as_ref()?;
        let checksums = self.entries.get(&self.key(&revision.dir))?.checksums.as_ref()?;
        if Stamp::of_path(&revision.dir) != Some(checksums.dir) {
            return None;
        }
        for (name, stamp) in &checksums.files {
            if Stamp::of_path(&revision.dir.join(name)) != Some(*stamp) {
                return None;
            }
        }
        self.stats.checksums_cached += 1;
        Some(Fingerprint { checksum: checksums.checksum.clone(), legacy: checksums.legacy.clone() })
    }

    /// Stamps `revision`'s directory and the payload files `names` that are
    /// present, before they are read: hand the result to [`Self::record_fingerprint`].
    pub(crate) fn stamp_payload(&self, revision: &Revision, names: &[String]) -> Option<PayloadStamps> {
        self.file.as_ref()?;
        let before = now();
        let dir = Stamp::of_path(&revision.dir)?;
        let mut files = Vec::with_capacity(names.len());
        for name in names {
            match std::fs::metadata(revision.dir.join(name)) {
                Ok(metadata) => files.push((name.clone(), Stamp::of(&metadata)?)),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(_) => return None,
            }
        }
        Some(PayloadStamps { before, dir, files })
    }

    /// Keeps `fingerprint`, computed from files read after `stamps` were taken.
    pub(crate) fn record_fingerprint(&mut self, revision: &Revision, stamps: PayloadStamps, fingerprint: &Fingerprint) {
        self.stats.checksums_computed += 1;
        let settled =
            stamps.dir.settled(stamps.before) && stamps.files.iter().all(|(_, stamp)| stamp.settled(stamps.before));
        let key = self.key(&revision.dir);
        let Some(entry) = self.entries.get_mut(&key) else { return };
        entry.checksums = settled.then(|| Checksums {
            dir: stamps.dir,
            files: stamps.files,
            checksum: fingerprint.checksum.clone(),
            legacy: fingerprint.legacy.clone(),
        });
        self.changed = true;
    }

    /// Writes the cache if anything changed; a failure only costs speed next time.
    pub(crate) fn save(&mut self) {
        let Some(file) = self.file.as_ref().filter(|_| self.changed) else { return };
        match write_atomically(file, &encode(&self.entries, &self.canonical)) {
            Ok(()) => self.changed = false,
            Err(error) => tracing::debug!("project cache {} not written: {error}", file.display()),
        }
    }
}

/// The stamps a fingerprint is computed under.
#[derive(Debug)]
pub(crate) struct PayloadStamps {
    before: i128,
    dir: Stamp,
    files: Vec<(String, Stamp)>,
}

impl ManifestCache for ProjectCache {
    fn manifest(&self, path: &Path, metadata: &std::fs::Metadata) -> Option<&str> {
        // Called for every revision of the project: no key is allocated to look one up.
        let entry = self.entries.get(key_of(&self.root, path.parent()?).as_ref())?;
        entry.seen.store(true, Ordering::Relaxed);
        (Some(entry.manifest) == Stamp::of(metadata)).then_some(entry.parsed.as_str())
    }

    fn record(&mut self, path: &Path, metadata: &std::fs::Metadata, manifest: &Manifest) {
        self.stats.manifests_read += 1;
        let Some(dir) = path.parent() else { return };
        let key = self.key(dir);
        self.changed = true;
        match Stamp::of(metadata).filter(|stamp| stamp.settled(self.opened)) {
            Some(stamp) => {
                let parsed = manifest.to_cached();
                self.entries
                    .insert(key, Entry { manifest: stamp, parsed, checksums: None, seen: AtomicBool::new(true) });
            }
            None => {
                self.entries.remove(&key);
            }
        }
    }
}

/// `dir` relative to `root`, as text: borrowed unless the path is not UTF-8.
fn key_of<'p>(root: &Path, dir: &'p Path) -> Cow<'p, str> {
    dir.strip_prefix(root).unwrap_or(dir).to_string_lossy()
}

fn write_atomically(file: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = file.parent().expect("cache files have a folder");
    std::fs::create_dir_all(dir)?;
    let mut temp = tempfile::NamedTempFile::new_in(dir)?;
    temp.write_all(bytes)?;
    temp.persist(file).map_err(|error| error.error)?;
    Ok(())
}

// The file: MAGIC, FORMAT, wasmig's version, the canonical root, the entries,
// then a BLAKE3 digest of everything before it. Integers little-endian;
// strings as a u32 length and UTF-8 bytes.

fn encode(entries: &Entries, canonical: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + entries.len() * 400);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT.to_le_bytes());
    put_str(&mut out, env!("CARGO_PKG_VERSION"));
    put_str(&mut out, canonical);
    out.extend_from_slice(&(entries.len() as u32).to_le_bytes());
    for (key, entry) in entries {
        put_str(&mut out, key);
        put_stamp(&mut out, &entry.manifest);
        put_str(&mut out, &entry.parsed);
        match &entry.checksums {
            None => out.push(0),
            Some(checksums) => {
                out.push(1);
                put_stamp(&mut out, &checksums.dir);
                out.extend_from_slice(&(checksums.files.len() as u32).to_le_bytes());
                for (name, stamp) in &checksums.files {
                    put_str(&mut out, name);
                    put_stamp(&mut out, stamp);
                }
                put_str(&mut out, &checksums.checksum);
                out.extend_from_slice(&(checksums.legacy.len() as u32).to_le_bytes());
                for legacy in &checksums.legacy {
                    put_str(&mut out, legacy);
                }
            }
        }
    }
    let digest = blake3::hash(&out);
    out.extend_from_slice(digest.as_bytes());
    out
}

fn put_str(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(&(text.len() as u32).to_le_bytes());
    out.extend_from_slice(text.as_bytes());
}

fn put_stamp(out: &mut Vec<u8>, stamp: &Stamp) {
    for value in [stamp.dev, stamp.ino, stamp.size] {
        out.extend_from_slice(&value.to_le_bytes());
    }
    out.extend_from_slice(&stamp.mtime.to_le_bytes());
    out.extend_from_slice(&stamp.ctime.to_le_bytes());
}

/// The entries of a cache file, or `None` for anything but a whole file of
/// this format and version written for the project at `canonical`.
fn decode(bytes: &[u8], canonical: &str) -> Option<Entries> {
    let (body, digest) = bytes.split_at_checked(bytes.len().checked_sub(32)?)?;
    if blake3::hash(body).as_bytes() != digest {
        return None;
    }
    let mut input = Reader(body);
    if input.take(MAGIC.len())? != MAGIC || input.u32()? != FORMAT {
        return None;
    }
    if input.str()? != env!("CARGO_PKG_VERSION") || input.str()? != canonical {
        return None;
    }
    let count = input.u32()? as usize;
    let mut entries = Entries::with_capacity_and_hasher(count.min(body.len()), Default::default());
    for _ in 0..count {
        let key = input.str()?.to_owned();
        let manifest = input.stamp()?;
        let parsed = input.str()?.to_owned();
        let checksums = match input.take(1)?[0] {
            0 => None,
            1 => {
                let dir = input.stamp()?;
                let files = (0..input.u32()?)
                    .map(|_| Some((input.str()?.to_owned(), input.stamp()?)))
                    .collect::<Option<Vec<_>>>()?;
                let checksum = input.str()?.to_owned();
                let legacy = (0..input.u32()?).map(|_| input.str().map(str::to_owned)).collect::<Option<Vec<_>>>()?;
                Some(Checksums { dir, files, checksum, legacy })
            }
            _ => return None,
        };
        entries.insert(key, Entry { manifest, parsed, checksums, seen: AtomicBool::new(false) });
    }
    input.0.is_empty().then_some(entries)
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, tail) = self.0.split_at_checked(n)?;
        self.0 = tail;
        Some(head)
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    fn i128(&mut self) -> Option<i128> {
        Some(i128::from_le_bytes(self.take(16)?.try_into().ok()?))
    }

    fn str(&mut self) -> Option<&'a str> {
        let len = self.u32()? as usize;
        std::str::from_utf8(self.take(len)?).ok()
    }

    fn stamp(&mut self) -> Option<Stamp> {
        Some(Stamp { dev: self.u64()?, ino: self.u64()?, size: self.u64()?, mtime: self.i128()?, ctime: self.i128()? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(checksums: bool) -> Entry {
        let stamp = Stamp { dev: 1, ino: 2, size: 3, mtime: 4, ctime: -5 };
        Entry {
            manifest: stamp,
            parsed: r#"{"id":"a1"}"#.into(),
            checksums: checksums.then(|| Checksums {
                dir: stamp,
                files: vec![("up.sql".into(), stamp)],
                checksum: "sha256:x v2".into(),
                legacy: vec!["sha256:y".into()],
            }),
            seen: AtomicBool::new(false),
        }
    }

    #[test]
    fn a_cache_file_reads_back_and_anything_else_is_refused() {
        let entries: Entries =
            [("migrations/a".to_owned(), entry(true)), ("migrations/b".to_owned(), entry(false))].into_iter().collect();
        let bytes = encode(&entries, "/project");
        let back = decode(&bytes, "/project").expect("reads back");
        assert_eq!(back.len(), 2);
        assert_eq!(back["migrations/a"].checksums.as_ref().unwrap().files[0].0, "up.sql");
        assert_eq!(back["migrations/b"].parsed, r#"{"id":"a1"}"#);
        assert!(decode(&bytes, "/other").is_none(), "another project's");
        for at in [0, MAGIC.len(), bytes.len() / 2, bytes.len() - 1] {
            let mut flipped = bytes.clone();
            flipped[at] ^= 1;
            assert!(decode(&flipped, "/project").is_none(), "a flipped byte at {at}");
        }
        assert!(decode(&bytes[..bytes.len() - 1], "/project").is_none(), "truncated");
        assert!(decode(b"", "/project").is_none());
        let mut foreign = bytes.clone();
        foreign[MAGIC.len()] = 9;
        let body = foreign.len() - 32;
        let digest = blake3::hash(&foreign[..body]);
        foreign[body..].copy_from_slice(digest.as_bytes());
        assert!(decode(&foreign, "/project").is_none(), "another format version, digest and all");
    }

    #[test]
    fn a_stamp_is_settled_only_past_the_granularity() {
        let stamp = Stamp { dev: 0, ino: 0, size: 0, mtime: 0, ctime: 10 * SETTLE };
        assert!(!stamp.settled(10 * SETTLE));
        assert!(!stamp.settled(11 * SETTLE));
        assert!(stamp.settled(11 * SETTLE + 1));
    }
}
