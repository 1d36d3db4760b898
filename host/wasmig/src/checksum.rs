//! Revision checksums: what an applied revision was, so that a later change to it is noticed.
//!
//! Pinned algorithm, version 1 (see docs/DATABASE.md): SHA-256 over
//! `wasmig-checksum-v1\n`, then the manifest's canonical form, then for each
//! payload file in a fixed order its name, its length in bytes and its bytes.
//! The payload is `revision.wasm` for a component revision; `up.sql`,
//! `down.sql`, `verify.sql` (those that exist) for an SQL revision; nothing
//! for a merge revision, whose plugin is part of wasmig itself.

use std::path::Path;

use sha2::{Digest, Sha256};
use wasmig_graph::{Revision, RevisionKind};

/// The files of an SQL revision that its checksum covers, in order.
pub const SQL_ASSETS: [&str; 3] = ["up.sql", "down.sql", "verify.sql"];
/// The file of a component revision.
pub const MODULE_FILE: &str = "revision.wasm";
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

/// The version-1 checksum of a revision as it is on disk, as `sha256:<hex>`.
pub fn revision_checksum(revision: &Revision) -> Result<String, ChecksumError> {
    let files: &[&str] = match revision.kind() {
        RevisionKind::Sql => &SQL_ASSETS,
        RevisionKind::Component => &[MODULE_FILE],
        RevisionKind::Merge => &[],
    };
    let mut payload = Vec::with_capacity(files.len());
    for name in files {
        let path = revision.dir.join(name);
        let cap = if *name == MODULE_FILE { MAX_MODULE_BYTES } else { MAX_SQL_FILE_BYTES };
        match read_revision_file(&path, cap) {
            Ok(bytes) => payload.push((*name, bytes)),
            // A missing optional file (down.sql, verify.sql) is part of what the revision is.
            Err(error) if error.kind() == std::io::ErrorKind::NotFound && revision.kind() == RevisionKind::Sql => {}
            Err(source) => return Err(read_error(revision, &path, source)),
        }
    }
    Ok(checksum_of(revision, payload.iter().map(|(name, bytes)| (*name, bytes.as_slice()))))
}

/// The version-1 checksum of a component revision whose `revision.wasm` holds `module`: the
/// same value as [`revision_checksum`], for a caller that has read the module already.
pub fn component_checksum(revision: &Revision, module: &[u8]) -> String {
    checksum_of(revision, [(MODULE_FILE, module)].into_iter())
}

fn checksum_of<'a>(revision: &Revision, payload: impl Iterator<Item = (&'a str, &'a [u8])>) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"wasmig-checksum-v1\n");
    hasher.update(revision.canonical_manifest().as_bytes());
    for (name, bytes) in payload {
        hasher.update(format!("\n{name}\n{}\n", bytes.len()).as_bytes());
        hasher.update(bytes);
    }
    format!("sha256:{}", hex::encode(hasher.finalize()))
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

    #[test]
    fn the_checksum_covers_manifest_and_sql_assets() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("up.sql"), "CREATE TABLE users (id INTEGER);").unwrap();
        let revision = sql_revision(dir.path());
        let first = revision_checksum(&revision).unwrap();
        assert!(first.starts_with("sha256:") && first.len() == 7 + 64, "{first}");
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
    fn a_component_checksum_from_bytes_equals_the_one_read_from_disk() {
        let dir = tempfile::tempdir().unwrap();
        let mut manifest = Manifest::new(RevisionId::parse("c1").unwrap(), "backfill", vec![]);
        manifest.kind = RevisionKind::Component;
        let revision = Revision::new(manifest, dir.path());
        std::fs::write(dir.path().join(MODULE_FILE), b"\0asm component").unwrap();
        assert_eq!(revision_checksum(&revision).unwrap(), component_checksum(&revision, b"\0asm component"));
        assert_ne!(revision_checksum(&revision).unwrap(), component_checksum(&revision, b"\0asm other"));
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
