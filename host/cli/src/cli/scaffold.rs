//! Writing a new revision's directory: the manifest plus the files its
//! template starts with. One enum variant per template; a new language is a
//! new variant and its files.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::cli::error::CliResult;
use anyhow::Context as _;
use wasmig::graph::{DirectoryNaming, MANIFEST_FILE, Manifest, RevisionKind};
use wasmig::sql::civil_from_days;

/// What a new revision starts as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    /// `up.sql` and `down.sql`, run by the built-in sql plugin.
    Sql,
    /// A merge: the manifest alone.
    Merge,
    /// `Cargo.toml` and `revision.rs` on the project's copy of the SDK, built into `revision.wasm`
    /// by `wasmig build`.
    Rust,
    /// `revision.py`, run from source by the built-in Python interpreter plugin.
    Python,
    /// `revision.js`, run from source by the built-in JavaScript interpreter plugin.
    JavaScript,
    /// `revision.c`, built into `revision.wasm` by `wasmig build`.
    C,
}

impl Template {
    pub fn kind(self) -> RevisionKind {
        match self {
            Template::Sql => RevisionKind::Sql,
            Template::Merge => RevisionKind::Merge,
            Template::Python => RevisionKind::Python,
            Template::JavaScript => RevisionKind::Js,
            Template::Rust | Template::C => RevisionKind::Component,
        }
    }

    /// The files besides `revision.toml`, as (name, contents); `relative_dir` is the revision's
    /// directory relative to the project root.
    fn files(self, manifest: &Manifest, relative_dir: &Path) -> Vec<(&'static str, String)> {
        match self {
            Template::Sql => {
                let header = |hook: &str| {
                    format!(
                        "-- {hook} of revision {id}: {message}\n-- Runs inside a transaction the host owns: no BEGIN/COMMIT here.\n",
                        id = manifest.id,
                        message = manifest.message.lines().next().unwrap_or_default(),
                    )
                };
                let empty_rule = "-- A file without statements is refused; if there is really nothing to do, \
                                  write a line `-- wasmig: empty`.\n";
                vec![
                    ("up.sql", header("upgrade") + empty_rule + "\n"),
                    ("down.sql", header("downgrade") + "-- Undo exactly what up.sql does.\n" + empty_rule + "\n"),
                ]
            }
            Template::Merge => Vec::new(),
            Template::Rust => wasmig_build::rust_template(manifest.id.as_str(), &manifest.message, relative_dir),
            Template::Python => vec![("revision.py", fill(wasmig_build::PYTHON_TEMPLATE, manifest))],
            Template::JavaScript => vec![("revision.js", fill(wasmig_build::JS_TEMPLATE, manifest))],
            Template::C => vec![("revision.c", fill(wasmig_build::C_TEMPLATE, manifest))],
        }
    }
}

/// A language template with the revision's id and message in place.
fn fill(template: &str, manifest: &Manifest) -> String {
    template
        .replace("{id}", manifest.id.as_str())
        .replace("{message}", manifest.message.lines().next().unwrap_or_default())
}

/// The name of a new revision's directory, as `[new] directory` says:
/// `<id>_<slug>`, or `<YYYYMMDD>_<HHMMSS>_<slug>` (UTC, at `now`) so that
/// listings follow creation order. The slug is the message's first words,
/// lowercase, with anything but letters and digits turned into `_`.
pub fn directory_name(manifest: &Manifest, naming: DirectoryNaming, now: SystemTime) -> String {
    let mut slug = String::new();
    for c in manifest.message.chars() {
        if slug.len() >= 40 {
            break;
        }
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('_') {
            slug.push('_');
        }
    }
    let slug = slug.trim_end_matches('_');
    let prefix = match naming {
        DirectoryNaming::Date => utc_stamp(now),
        _ => manifest.id.to_string(),
    };
    if slug.is_empty() { prefix } else { format!("{prefix}_{slug}") }
}

/// `YYYYMMDD_HHMMSS` in UTC.
fn utc_stamp(now: SystemTime) -> String {
    let seconds = now.duration_since(UNIX_EPOCH).map_or(0, |since| since.as_secs());
    let (year, month, day) = civil_from_days((seconds / 86_400) as i64);
    let time = seconds % 86_400;
    format!("{year:04}{month:02}{day:02}_{:02}{:02}{:02}", time / 3600, time / 60 % 60, time % 60)
}

/// Creates the revision directory `dir` (`relative_dir` from the project root) and writes its
/// files; returns the paths written. Leaves nothing behind on failure.
pub fn write_revision(
    dir: &Path,
    relative_dir: &Path,
    manifest: &Manifest,
    template: Template,
) -> CliResult<Vec<PathBuf>> {
    fs::create_dir(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut written = Vec::new();
    let result = (|| -> CliResult<()> {
        let mut files = vec![(MANIFEST_FILE, manifest.to_toml())];
        files.extend(template.files(manifest, relative_dir));
        for (name, contents) in files {
            let path = dir.join(name);
            fs::write(&path, contents).with_context(|| format!("cannot write {}", path.display()))?;
            written.push(path);
        }
        Ok(())
    })();
    if let Err(e) = result {
        let _ = fs::remove_dir_all(dir);
        return Err(e);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn directory_names_by_id_or_by_utc_date() {
        let manifest =
            Manifest::new(wasmig::graph::RevisionId::parse("a1b2c3").unwrap(), "Add users (v2)!", Vec::new());
        // 2026-12-05 22:15:00 UTC.
        let at = UNIX_EPOCH + Duration::from_secs(1_796_508_900);
        assert_eq!(directory_name(&manifest, DirectoryNaming::Id, at), "a1b2c3_add_users_v2");
        assert_eq!(directory_name(&manifest, DirectoryNaming::Date, at), "20261205_221500_add_users_v2");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_399); // 2000-02-28 23:59:59
        assert!(directory_name(&manifest, DirectoryNaming::Date, leap).starts_with("20000228_235959_"));
    }
}
