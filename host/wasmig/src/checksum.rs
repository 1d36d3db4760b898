//! Revision checksums: what an applied revision was, so that a later change to it is noticed.
//!
//! Pinned algorithms (see docs/DATABASE.md). Version 2, what new rows
//! record: SHA-256 over `wasmig-checksum-v2\n`, the manifest's canonical
//! form, then for each payload file in a fixed order its name, its length
//! in bytes and its bytes, followed by a short digest of the manifest and of
//! each payload file, so that a drift can name the file that changed. The
//! payload is what runs: `revision.wasm` for a component revision;
//! `up.sql`, `down.sql` (those that exist) for an SQL revision; the
//! revision's own source files for a `python` or `js` revision (the entry
//! file, then the other `*.py`, or `*.js` and `*.mjs`, of its directory by
//! name); nothing for a merge revision, whose plugin is part of wasmig
//! itself. A `python` or `js` checksum ends with the interpreter plugin's
//! identity, `interpreter=<hex>`, which is outside the digest: a wasmig
//! with another interpreter is not drift, and `status` says which
//! revisions ran with another one (docs/DATABASE.md, "Checksums"). `verify.sql`
//! only answers `verify` and `upgrade --adopt`: adding or editing it is not
//! drift. Version 1 (rows recorded before version 2) also covered
//! `verify.sql`; such a row still matches the same files, with or without
//! the `verify.sql` added since.

use std::borrow::Cow;
use std::path::Path;

use sha2::{Digest, Sha256};
use wasmig_graph::{Revision, RevisionKind};

/// The verify hook's file of an SQL revision: covered by version 1 only.
pub const VERIFY_FILE: &str = "verify.sql";
/// The file of a component revision.
pub const MODULE_FILE: &str = "revision.wasm";
/// The file a `kind = "python"` revision starts from.
pub const PYTHON_ENTRY: &str = "revision.py";
/// The file a `kind = "js"` revision starts from.
pub const JS_ENTRY: &str = "revision.js";
/// The field of a source revision's checksum that names the interpreter plugin it ran on.
pub const INTERPRETER_FIELD: &str = "interpreter";
/// The name a checksum gives the manifest's canonical form.
pub const MANIFEST_NAME: &str = "revision.toml";
/// Hex digits kept of each file's own digest: enough to tell which file
/// changed; the whole checksum decides whether anything did.
const FILE_DIGEST_HEX: usize = 16;
/// The largest `revision.wasm` read (an interpreter's component is about 40 MB).
pub const MAX_MODULE_BYTES: u64 = 256 * 1024 * 1024;
/// The largest SQL file of a revision read (the same cap as a guest's `asset`).
pub const MAX_SQL_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Reads a revision's file only if it is a regular file (a link to one is
/// fine) of at most `cap` bytes: a FIFO would hang the run and a link to
/// `/dev/zero` would grow memory without bound.
pub(crate) fn read_revision_file(path: &Path, cap: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(std::io::Error::other("not a regular file (a revision's files are plain files)"));
    }
    if meta.len() > cap {
        return Err(std::io::Error::other(format!("{} bytes, over the limit of {cap} bytes", meta.len())));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    std::fs::File::open(path)?.take(cap + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(std::io::Error::other(format!("over the limit of {cap} bytes")));
    }
    Ok(bytes)
}

/// A revision file could not be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read {path} of revision {revision}: {source}")]
pub struct ChecksumError {
    pub revision: String,
    pub path: String,
    pub source: std::io::Error,
}

/// What a revision's files are now: the checksum a new row records, and
/// the version-1 checksums a row recorded before version 2 may hold for
/// the same files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// The version-2 checksum: `sha256:<hex> v2 revision.toml=<hex> up.sql=<hex> down.sql=-`
    /// (`-` for a file that does not exist).
    pub checksum: String,
    /// Version 1 of the files as they are, then (an SQL revision with a
    /// `verify.sql`) version 1 without it.
    pub legacy: Vec<String>,
}

/// A revision's files as the checksums read them: the manifest, then each payload file (`None`: absent).
struct Files<'a> {
    manifest: String,
    payload: Vec<(&'a str, Option<Cow<'a, [u8]>>)>,
}

/// The files the checksums of a revision of `kind` read, in order: the
/// payload of version 2, and `verify.sql`, which version 1 also covered.
/// A `python` or `js` revision reads its entry file and the helpers beside
/// it ([`payload_files`]); this is the entry file alone.
pub fn files_read(kind: RevisionKind) -> &'static [&'static str] {
    match kind {
        RevisionKind::Sql => &["up.sql", "down.sql", VERIFY_FILE],
        RevisionKind::Component => &[MODULE_FILE],
        RevisionKind::Python => &[PYTHON_ENTRY],
        RevisionKind::Js => &[JS_ENTRY],
        RevisionKind::Merge => &[],
    }
}

/// The files a revision's checksum reads, in order: [`files_read`], and for
/// a `python` or `js` revision the other source files of its directory
/// (`*.py`; `*.js`, `*.mjs`) by name, which its entry file may import.
pub fn payload_files(revision: &Revision) -> Result<Vec<String>, ChecksumError> {
    let mut names: Vec<String> = files_read(revision.kind()).iter().map(|name| (*name).to_owned()).collect();
    let extensions: &[&str] = match revision.kind() {
        RevisionKind::Python => &["py"],
        RevisionKind::Js => &["js", "mjs"],
        _ => return Ok(names),
    };
    let listing = std::fs::read_dir(&revision.dir).map_err(|source| read_error(revision, &revision.dir, source))?;
    let mut helpers = Vec::new();
    for entry in listing {
        let entry = entry.map_err(|source| read_error(revision, &revision.dir, source))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let source = Path::new(&name).extension().is_some_and(|ext| extensions.iter().any(|e| ext == *e));
        if source && !names.contains(&name) {
            helpers.push(name);
        }
    }
    helpers.sort();
    names.extend(helpers);
    Ok(names)
}

/// The fingerprint of a revision as it is on disk.
#[cfg(test)]
pub fn fingerprint(revision: &Revision) -> Result<Fingerprint, ChecksumError> {
    fingerprint_of_files(revision, &payload_files(revision)?)
}

/// The fingerprint of `revision` over the payload files `names` ([`payload_files`]).
pub fn fingerprint_of_files(revision: &Revision, names: &[String]) -> Result<Fingerprint, ChecksumError> {
    let mut payload = Vec::with_capacity(names.len());
    for name in names {
        let path = revision.dir.join(name);
        let cap = if name == MODULE_FILE { MAX_MODULE_BYTES } else { MAX_SQL_FILE_BYTES };
        match read_revision_file(&path, cap) {
            Ok(bytes) => payload.push((name.as_str(), Some(Cow::Owned(bytes)))),
            // A missing optional file (down.sql, verify.sql) is part of what the revision is.
            Err(error) if error.kind() == std::io::ErrorKind::NotFound && revision.kind() == RevisionKind::Sql => {
                payload.push((name.as_str(), None));
            }
            Err(source) => return Err(read_error(revision, &path, source)),
        }
    }
    Ok(fingerprint_of(&Files { manifest: revision.canonical_manifest(), payload }))
}

/// `fingerprint` with the interpreter plugin a source revision runs on
/// (`interpreter` = the plugin's module hash, in hex): named at the end of
/// the checksum, outside its digest.
pub fn with_interpreter(mut fingerprint: Fingerprint, interpreter: &str) -> Fingerprint {
    let short = &interpreter[..interpreter.len().min(FILE_DIGEST_HEX)];
    fingerprint.checksum.push_str(&format!(" {INTERPRETER_FIELD}={short}"));
    fingerprint
}

/// The interpreter a checksum names ([`with_interpreter`]), if any.
pub fn interpreter_of(checksum: &str) -> Option<&str> {
    checksum.split(' ').find_map(|field| field.strip_prefix(INTERPRETER_FIELD)?.strip_prefix('='))
}

/// The fingerprint of a component revision whose `revision.wasm` holds
/// `module`: the same value as [`fingerprint`], for a caller that has read the module already.
pub fn component_fingerprint(revision: &Revision, module: &[u8]) -> Fingerprint {
    fingerprint_of(&Files {
        manifest: revision.canonical_manifest(),
        payload: vec![(MODULE_FILE, Some(Cow::Borrowed(module)))],
    })
}

fn fingerprint_of(files: &Files<'_>) -> Fingerprint {
    let present = |with_verify: bool| {
        files
            .payload
            .iter()
            .filter(move |(name, _)| with_verify || *name != VERIFY_FILE)
            .filter_map(|(name, bytes)| bytes.as_deref().map(|bytes| (*name, bytes)))
    };
    let mut checksum = format!(
        "{} v2 {MANIFEST_NAME}={}",
        digest(b"wasmig-checksum-v2\n", &files.manifest, present(false)),
        short(files.manifest.as_bytes())
    );
    for (name, bytes) in files.payload.iter().filter(|(name, _)| *name != VERIFY_FILE) {
        let file = bytes.as_deref().map_or_else(|| "-".to_owned(), short);
        checksum.push_str(&format!(" {name}={file}"));
    }
    let mut legacy = vec![digest(b"wasmig-checksum-v1\n", &files.manifest, present(true))];
    if files.payload.iter().any(|(name, bytes)| *name == VERIFY_FILE && bytes.is_some()) {
        legacy.push(digest(b"wasmig-checksum-v1\n", &files.manifest, present(false)));
    }
    Fingerprint { checksum, legacy }
}

fn digest<'a>(tag: &[u8], manifest: &str, payload: impl Iterator<Item = (&'a str, &'a [u8])>) -> String {
    let mut hasher = Sha256::new();
    hasher.update(tag);
    hasher.update(manifest.as_bytes());
    for (name, bytes) in payload {
        hasher.update(format!("\n{name}\n{}\n", bytes.len()).as_bytes());
        hasher.update(bytes);
    }
    format!("sha256:{}", hex::encode(hasher.finalize()))
}

/// One file's own digest, shortened.
fn short(bytes: &[u8]) -> String {
    let mut text = hex::encode(Sha256::digest(bytes));
    text.truncate(FILE_DIGEST_HEX);
    text
}

pub(crate) fn read_error(revision: &Revision, path: &Path, source: std::io::Error) -> ChecksumError {
    ChecksumError { revision: revision.id().to_string(), path: path.display().to_string(), source }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmig_graph::{Manifest, RevisionId};

    fn sql_revision(dir: &Path) -> Revision {
        let manifest = Manifest::new(RevisionId::parse("a1").unwrap(), "add users", vec![]);
        Revision::new(manifest, dir)
    }

    fn revision_checksum(revision: &Revision) -> Result<String, ChecksumError> {
        fingerprint(revision).map(|fingerprint| fingerprint.checksum)
    }

    #[test]
    fn the_checksum_covers_manifest_and_sql_assets() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("up.sql"), "CREATE TABLE users (id INTEGER);").unwrap();
        let revision = sql_revision(dir.path());
        let first = revision_checksum(&revision).unwrap();
        let fields: Vec<&str> = first.split(' ').collect();
        assert!(fields[0].starts_with("sha256:") && fields[0].len() == 7 + 64, "{first}");
        assert_eq!(fields[1..3], ["v2", fields[2]]);
        assert!(fields[2].starts_with("revision.toml=") && fields[3].starts_with("up.sql="), "{first}");
        assert_eq!(fields[4], "down.sql=-", "an absent file");
        assert_eq!(revision_checksum(&revision).unwrap(), first, "stable");

        std::fs::write(dir.path().join("down.sql"), "DROP TABLE users;").unwrap();
        let with_down = revision_checksum(&revision).unwrap();
        assert_ne!(with_down, first, "adding down.sql changes it");

        std::fs::write(dir.path().join("up.sql"), "CREATE TABLE users (id BIGINT);").unwrap();
        assert_ne!(revision_checksum(&revision).unwrap(), with_down, "editing up.sql changes it");

        let mut renamed = revision.clone();
        renamed.manifest.message = "add people".into();
        assert_ne!(revision_checksum(&renamed).unwrap(), revision_checksum(&revision).unwrap(), "the manifest counts");
    }

    #[test]
    fn verify_sql_is_not_part_of_the_checksum_but_version_one_rows_still_match() {
        let dir = tempfile::tempdir().unwrap();
        let revision = sql_revision(dir.path());
        std::fs::write(dir.path().join("up.sql"), "CREATE TABLE users (id INTEGER);").unwrap();
        let before = fingerprint(&revision).unwrap();
        assert_eq!(before.legacy.len(), 1, "no verify.sql: one version-1 value");
        std::fs::write(dir.path().join(VERIFY_FILE), "SELECT 1").unwrap();
        let after = fingerprint(&revision).unwrap();
        assert_eq!(after.checksum, before.checksum, "adding verify.sql changes nothing");
        assert!(after.legacy.contains(&before.legacy[0]), "a row recorded before verify.sql was added matches");
        std::fs::write(dir.path().join(VERIFY_FILE), "SELECT 2").unwrap();
        let edited = fingerprint(&revision).unwrap();
        assert_eq!(edited.checksum, before.checksum, "editing it neither");
        assert!(!edited.legacy.contains(&after.legacy[0]), "version 1 covered it");
        // Version 1 is the formula it always was.
        let mut hasher = Sha256::new();
        hasher.update(b"wasmig-checksum-v1\n");
        hasher.update(revision.canonical_manifest().as_bytes());
        hasher.update(b"\nup.sql\n32\nCREATE TABLE users (id INTEGER);");
        assert_eq!(before.legacy[0], format!("sha256:{}", hex::encode(hasher.finalize())));
    }

    #[test]
    fn a_component_checksum_from_bytes_equals_the_one_read_from_disk() {
        let dir = tempfile::tempdir().unwrap();
        let mut manifest = Manifest::new(RevisionId::parse("c1").unwrap(), "backfill", vec![]);
        manifest.kind = RevisionKind::Component;
        let revision = Revision::new(manifest, dir.path());
        std::fs::write(dir.path().join(MODULE_FILE), b"\0asm component").unwrap();
        assert_eq!(fingerprint(&revision).unwrap(), component_fingerprint(&revision, b"\0asm component"));
        assert_ne!(fingerprint(&revision).unwrap(), component_fingerprint(&revision, b"\0asm other"));
    }

    #[test]
    fn a_source_checksum_covers_every_source_file_and_names_the_interpreter_outside_its_digest() {
        let dir = tempfile::tempdir().unwrap();
        let mut manifest = Manifest::new(RevisionId::parse("p1").unwrap(), "backfill", vec![]);
        manifest.kind = RevisionKind::Python;
        let revision = Revision::new(manifest, dir.path());
        assert!(fingerprint(&revision).unwrap_err().to_string().contains("revision.py"), "the entry file is required");
        std::fs::write(dir.path().join(PYTHON_ENTRY), "def up(): pass\n").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not source").unwrap();
        let alone = fingerprint(&revision).unwrap();
        assert_eq!(payload_files(&revision).unwrap(), ["revision.py"]);
        std::fs::write(dir.path().join("a_helper.py"), "X = 1\n").unwrap();
        assert_eq!(payload_files(&revision).unwrap(), ["revision.py", "a_helper.py"], "the entry file first");
        let with_helper = fingerprint(&revision).unwrap();
        assert_ne!(with_helper.checksum, alone.checksum, "a helper module is part of the revision");
        assert!(with_helper.checksum.contains(" a_helper.py="), "{}", with_helper.checksum);

        let one = with_interpreter(with_helper.clone(), &"ab".repeat(32));
        let other = with_interpreter(with_helper.clone(), &"cd".repeat(32));
        assert_eq!(interpreter_of(&one.checksum), Some("abababababababab"));
        assert_eq!(interpreter_of(&with_helper.checksum), None);
        assert_eq!(one.checksum.split(' ').next(), other.checksum.split(' ').next(), "the digest leaves it out");
    }

    #[cfg(unix)]
    #[test]
    fn only_regular_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/dev/zero", dir.path().join("up.sql")).unwrap();
        let error = revision_checksum(&sql_revision(dir.path())).unwrap_err();
        assert!(error.to_string().contains("not a regular file"), "{error}");
        let fifo = dir.path().join("fifo");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        let error = read_revision_file(&fifo, 10).unwrap_err();
        assert!(error.to_string().contains("not a regular file"), "{error}");
        std::fs::write(dir.path().join("big"), vec![b'x'; 11]).unwrap();
        assert!(read_revision_file(&dir.path().join("big"), 10).unwrap_err().to_string().contains("limit"));
    }

    #[test]
    fn moving_bytes_between_files_changes_the_checksum() {
        let dir = tempfile::tempdir().unwrap();
        let revision = sql_revision(dir.path());
        std::fs::write(dir.path().join("up.sql"), "A;B;").unwrap();
        std::fs::write(dir.path().join("down.sql"), "").unwrap();
        let first = revision_checksum(&revision).unwrap();
        std::fs::write(dir.path().join("up.sql"), "A;").unwrap();
        std::fs::write(dir.path().join("down.sql"), "B;").unwrap();
        assert_ne!(revision_checksum(&revision).unwrap(), first);
    }
}
