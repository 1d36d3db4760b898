//! One revision: its `revision.toml` manifest, where it lives, and the
//! manifest's canonical form that checksums hash.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::id::RevisionId;
use crate::lint::RevisionLint;
use crate::locks::RevisionLocks;

/// The manifest's file name inside a revision directory.
pub const MANIFEST_FILE: &str = "revision.toml";

/// What runs a revision's hooks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RevisionKind {
    /// `up.sql` / `down.sql` run by the built-in sql plugin.
    #[default]
    Sql,
    /// A WebAssembly component, `revision.wasm`.
    Component,
    /// `revision.py` (and `.py` helpers beside it) run by wasmig's shared Python interpreter plugin.
    Python,
    /// `revision.js` (and `.js`/`.mjs` helpers beside it) run by wasmig's shared JavaScript interpreter plugin.
    Js,
    /// Joins two or more parents; does nothing and is never reverted.
    Merge,
}

impl RevisionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RevisionKind::Sql => "sql",
            RevisionKind::Component => "component",
            RevisionKind::Python => "python",
            RevisionKind::Js => "js",
            RevisionKind::Merge => "merge",
        }
    }
}

/// Per-revision sandbox overrides of the project's `[sandbox]` limits.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevisionSandbox {
    pub memory_mb: Option<u64>,
    pub timeout_ms: Option<u64>,
    /// Not in the checksum (like `[database]`): raising a budget for one slow database
    /// changes how long the revision may take, not what it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sql_timeout_ms: Option<u64>,
}

/// `revision.toml`, as written by users and by `wasmig new` / `wasmig merge`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub id: RevisionId,
    pub message: String,
    pub parents: Vec<RevisionId>,
    #[serde(default)]
    pub kind: RevisionKind,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub branch_labels: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<RevisionId>,
    #[serde(default = "default_transactional")]
    pub transactional: bool,
    /// `reversible = false` declares the revision one-way: `wasmig test`
    /// applies it and does not try its `down` (which may refuse, or be a
    /// best effort that cannot restore the schema). Not in the checksum:
    /// it changes what the test expects, never what runs against a
    /// database (`downgrade` runs the revision's `down` all the same).
    #[serde(default = "default_reversible", skip_serializing_if = "is_reversible")]
    pub reversible: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<RevisionSandbox>,
    /// Overrides of the project's lock waits and retries (not checksummed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<RevisionLocks>,
    /// Lint rules this revision may break, each with its written reason
    /// (`[lint.allow]`). Not in the checksum, like `reversible`: an
    /// allowance changes what the lint reports, never what runs against a
    /// database; the journal records it with the statements it covered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lint: Option<RevisionLint>,
}

fn default_transactional() -> bool {
    true
}

fn default_reversible() -> bool {
    true
}

fn is_reversible(reversible: &bool) -> bool {
    *reversible
}

impl Manifest {
    pub fn new(id: RevisionId, message: impl Into<String>, parents: Vec<RevisionId>) -> Self {
        Self {
            id,
            message: message.into(),
            parents,
            kind: RevisionKind::Sql,
            branch_labels: Vec::new(),
            depends_on: Vec::new(),
            transactional: true,
            reversible: true,
            sandbox: None,
            database: None,
            lint: None,
        }
    }

    pub fn from_toml(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }

    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a manifest always serializes to TOML")
    }

    /// The form a cache keeps a parsed manifest in: JSON, which reads back
    /// several times faster than the TOML it came from (the TOML parser was
    /// a quarter of a cached `heads` at 10,000 revisions).
    pub fn to_cached(&self) -> String {
        serde_json::to_string(self).expect("a manifest always serializes to JSON")
    }

    /// A manifest from [`Self::to_cached`]'s form, validated as on the way from TOML.
    pub fn from_cached(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}

/// A revision of the graph: its manifest plus where it was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    pub manifest: Manifest,
    /// The revision's directory: where `up.sql`, `revision.py`, `revision.js` or `revision.wasm` live.
    pub dir: PathBuf,
    /// The `revision.toml` path, for error messages.
    pub manifest_path: PathBuf,
}

impl Revision {
    pub fn new(manifest: Manifest, dir: impl Into<PathBuf>) -> Self {
        let dir = dir.into();
        let manifest_path = dir.join(MANIFEST_FILE);
        Self { manifest, dir, manifest_path }
    }

    /// A revision with no files behind it, for tests and tools that build
    /// graphs in memory: its directory is `migrations/<id>`.
    pub fn in_memory(id: &str, parents: &[&str]) -> Self {
        let id = RevisionId::parse(id).expect("valid id");
        let parents: Vec<RevisionId> = parents.iter().map(|p| RevisionId::parse(p).expect("valid id")).collect();
        let dir = Path::new("migrations").join(id.as_str());
        let kind = if parents.len() >= 2 { RevisionKind::Merge } else { RevisionKind::Sql };
        let mut manifest = Manifest::new(id.clone(), format!("revision {id}"), parents);
        manifest.kind = kind;
        Self::new(manifest, dir)
    }

    pub fn with_depends_on(mut self, deps: &[&str]) -> Self {
        self.manifest.depends_on = deps.iter().map(|d| RevisionId::parse(d).expect("valid id")).collect();
        self
    }

    pub fn with_labels(mut self, labels: &[&str]) -> Self {
        self.manifest.branch_labels = labels.iter().map(|l| (*l).to_owned()).collect();
        self
    }

    pub fn with_kind(mut self, kind: RevisionKind) -> Self {
        self.manifest.kind = kind;
        self
    }

    pub fn id(&self) -> &RevisionId {
        &self.manifest.id
    }
    pub fn message(&self) -> &str {
        &self.manifest.message
    }
    pub fn parents(&self) -> &[RevisionId] {
        &self.manifest.parents
    }
    pub fn depends_on(&self) -> &[RevisionId] {
        &self.manifest.depends_on
    }
    pub fn branch_labels(&self) -> &[String] {
        &self.manifest.branch_labels
    }
    pub fn kind(&self) -> RevisionKind {
        self.manifest.kind
    }
    pub fn transactional(&self) -> bool {
        self.manifest.transactional
    }
    /// False for a revision its manifest declares one-way (`reversible = false`).
    pub fn reversible(&self) -> bool {
        self.manifest.reversible
    }
    /// The reason this revision gives for breaking `rule`, if it allows it.
    pub fn lint_allowance(&self, rule: crate::lint::LintRule) -> Option<&str> {
        self.manifest.lint.as_ref().and_then(|lint| lint.allow.get(&rule)).map(crate::lint::Reason::as_str)
    }

    pub fn is_merge(&self) -> bool {
        self.manifest.parents.len() >= 2
    }

    /// The manifest's canonical form, version 1: what checksums hash, so a
    /// reformatted `revision.toml` (comments, key order, quoting) keeps its
    /// checksum while any change of meaning alters it.
    ///
    /// One `key=value` line per field, each ending in `\n`, in this order:
    /// `wasmig-manifest=1`, `id`, `message`, `kind`, `parents`, `depends_on`,
    /// `branch_labels`, `transactional`, `sandbox.memory_mb`,
    /// `sandbox.timeout_ms`. The message is a JSON string literal (so
    /// newlines and quotes are escaped); lists are comma-separated in the
    /// order written (parent order is kept: it is what the author wrote);
    /// absent numbers are empty; booleans are `true`/`false`. Defaults are
    /// written out, so omitting `kind = "sql"` and writing it hash alike.
    pub fn canonical_manifest(&self) -> String {
        let m = &self.manifest;
        let join = |items: &mut dyn Iterator<Item = &str>| items.collect::<Vec<_>>().join(",");
        let number = |n: Option<u64>| n.map(|n| n.to_string()).unwrap_or_default();
        let sandbox = m.sandbox.clone().unwrap_or_default();
        let mut out = String::with_capacity(256);
        // Writing to a String cannot fail.
        let _ = write!(
            out,
            "wasmig-manifest=1\nid={}\nmessage={}\nkind={}\nparents={}\ndepends_on={}\nbranch_labels={}\ntransactional={}\nsandbox.memory_mb={}\nsandbox.timeout_ms={}\n",
            m.id,
            serde_json::to_string(&m.message).expect("strings serialize"),
            m.kind.as_str(),
            join(&mut m.parents.iter().map(RevisionId::as_str)),
            join(&mut m.depends_on.iter().map(RevisionId::as_str)),
            join(&mut m.branch_labels.iter().map(String::as_str)),
            m.transactional,
            number(sandbox.memory_mb),
            number(sandbox.timeout_ms),
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_defaults_and_round_trip() {
        let m = Manifest::from_toml("id = \"a1\"\nmessage = \"first\"\nparents = []\n").unwrap();
        assert_eq!(m.kind, RevisionKind::Sql);
        assert!(m.transactional);
        assert_eq!(Manifest::from_toml(&m.to_toml()).unwrap(), m);
    }

    #[test]
    fn the_cached_form_reads_back_every_field_and_is_validated_again() {
        let full = Manifest::from_toml(
            "id = \"m1\"\nmessage = \"say \\\"hi\\\"\\nthere ✓\"\nparents = [\"a\", \"b\"]\nkind = \"merge\"\n\
             branch_labels = [\"billing\"]\ndepends_on = [\"c\"]\ntransactional = false\nreversible = false\n\
             [sandbox]\nmemory_mb = 64\ntimeout_ms = 900\nsql_timeout_ms = 5000\n\
             [database]\nstatement_lock_timeout_ms = 250\nlock_retries = 7\nlock_retry_backoff_ms = 40\n\
             [lint.allow]\ndrop-column = \"  nothing reads it  \"\n",
        )
        .unwrap();
        let plain = Manifest::from_toml("id = \"a1\"\nmessage = \"first\"\nparents = []\n").unwrap();
        for manifest in [full, plain] {
            assert_eq!(Manifest::from_cached(&manifest.to_cached()).unwrap(), manifest);
        }
        // A cached form is checked as a file is: a bad id or an unknown field is refused.
        assert!(Manifest::from_cached(r#"{"id":"a-b","message":"m","parents":[]}"#).is_err());
        assert!(Manifest::from_cached(r#"{"id":"a","message":"m","parents":[],"down_revision":"x"}"#).is_err());
    }

    #[test]
    fn manifest_refuses_unknown_and_missing_fields() {
        assert!(Manifest::from_toml("id = \"a\"\nmessage = \"m\"\nparents = []\ndown_revision = \"x\"\n").is_err());
        assert!(Manifest::from_toml("id = \"a\"\nparents = []\n").is_err());
        assert!(Manifest::from_toml("id = \"a\"\nmessage = \"m\"\n").is_err());
        assert!(Manifest::from_toml("id = \"a-b\"\nmessage = \"m\"\nparents = []\n").is_err());
        assert!(Manifest::from_toml("id = \"a\"\nmessage = \"m\"\nparents = []\n[sandbox]\nfuel = 1\n").is_err());
    }

    #[test]
    fn canonical_form_ignores_formatting_but_not_meaning() {
        let plain =
            Manifest::from_toml("id = \"a\"\nmessage = \"say \\\"hi\\\"\\nthere\"\nparents = [\"p\"]\n").unwrap();
        let verbose = Manifest::from_toml(
            "# comment\nparents = [ 'p' ]\nkind = \"sql\"\ntransactional = true\nmessage = 'say \"hi\"\nthere'\nid = 'a'\n",
        );
        // The literal-string form cannot hold a newline; use a multi-line string instead.
        assert!(verbose.is_err());
        let verbose = Manifest::from_toml(
            "# comment\nparents = [ 'p' ]\nkind = \"sql\"\ntransactional = true\nmessage = \"\"\"say \"hi\"\nthere\"\"\"\nid = 'a'\n",
        )
        .unwrap();
        let a = Revision::new(plain, "m/a").canonical_manifest();
        let b = Revision::new(verbose.clone(), "elsewhere/a").canonical_manifest();
        assert_eq!(a, b);
        assert_eq!(
            a,
            "wasmig-manifest=1\nid=a\nmessage=\"say \\\"hi\\\"\\nthere\"\nkind=sql\nparents=p\ndepends_on=\nbranch_labels=\ntransactional=true\nsandbox.memory_mb=\nsandbox.timeout_ms=\n"
        );
        let mut one_way = verbose.clone();
        one_way.reversible = false;
        assert_eq!(Revision::new(one_way, "m/a").canonical_manifest(), a, "reversible is not checksummed");
        let allowed = Manifest::from_toml(
            "id = \"a\"\nmessage = \"say \\\"hi\\\"\\nthere\"\nparents = [\"p\"]\n[lint.allow]\ndrop-table = \"unused\"\n",
        )
        .unwrap();
        let allowed = Revision::new(allowed, "m/a");
        assert_eq!(allowed.lint_allowance(crate::lint::LintRule::DropTable), Some("unused"));
        assert_eq!(allowed.canonical_manifest(), a, "a lint allowance is not checksummed");
        let mut changed = verbose;
        changed.transactional = false;
        assert_ne!(Revision::new(changed, "m/a").canonical_manifest(), a);
    }
}
