//! Writing a new revision's directory: the manifest plus the files its
//! template starts with. One enum variant per template; a new language is a
//! new variant and its files.

use std::fs;
use std::path::{Path, PathBuf};

use crate::cli::error::CliResult;
use anyhow::Context as _;
use wasmig::graph::{MANIFEST_FILE, Manifest, RevisionKind};

/// What a new revision starts as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    /// `up.sql` and `down.sql`, run by the built-in sql plugin.
    Sql,
    /// A merge: the manifest alone.
    Merge,
    /// `revision.py`, built into `revision.wasm` by `wasmig build`.
    Python,
    /// `revision.js`, built into `revision.wasm` by `wasmig build`.
    JavaScript,
}

impl Template {
    pub fn kind(self) -> RevisionKind {
        match self {
            Template::Sql => RevisionKind::Sql,
            Template::Merge => RevisionKind::Merge,
            Template::Python | Template::JavaScript => RevisionKind::Component,
        }
    }

    /// The files besides `revision.toml`, as (name, contents).
    fn files(self, manifest: &Manifest) -> Vec<(&'static str, String)> {
        match self {
            Template::Sql => {
                let header = |hook: &str| {
                    format!(
                        "-- {hook} of revision {id}: {message}\n-- Runs inside a transaction the host owns: no BEGIN/COMMIT here.\n",
                        id = manifest.id,
                        message = manifest.message.lines().next().unwrap_or_default(),
                    )
                };
                vec![
                    ("up.sql", header("upgrade") + "\n"),
                    ("down.sql", header("downgrade") + "-- Undo exactly what up.sql does.\n\n"),
                ]
            }
            Template::Merge => Vec::new(),
            Template::Python => vec![("revision.py", fill(wasmig_build::PYTHON_TEMPLATE, manifest))],
            Template::JavaScript => vec![("revision.js", fill(wasmig_build::JS_TEMPLATE, manifest))],
        }
    }
}

/// A language template with the revision's id and message in place.
fn fill(template: &str, manifest: &Manifest) -> String {
    template
        .replace("{id}", manifest.id.as_str())
        .replace("{message}", manifest.message.lines().next().unwrap_or_default())
}

/// `<id>_<slug>`: the slug is the message's first words, lowercase, with
/// anything but letters and digits turned into `_`.
pub fn directory_name(manifest: &Manifest) -> String {
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
    if slug.is_empty() { manifest.id.to_string() } else { format!("{}_{slug}", manifest.id) }
}

/// Creates the revision directory under `migrations_dir` and writes its
/// files; returns the paths written. Leaves nothing behind on failure.
pub fn write_revision(
    migrations_dir: &Path,
    manifest: &Manifest,
    template: Template,
) -> CliResult<(PathBuf, Vec<PathBuf>)> {
    let dir = migrations_dir.join(directory_name(manifest));
    fs::create_dir(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut written = Vec::new();
    let result = (|| -> CliResult<()> {
        let mut files = vec![(MANIFEST_FILE, manifest.to_toml())];
        files.extend(template.files(manifest));
        for (name, contents) in files {
            let path = dir.join(name);
            fs::write(&path, contents).with_context(|| format!("cannot write {}", path.display()))?;
            written.push(path);
        }
        Ok(())
    })();
    if let Err(e) = result {
        let _ = fs::remove_dir_all(&dir);
        return Err(e);
    }
    Ok((dir, written))
}
