//! Every error the graph crate returns: each names what is wrong, where, and
//! the command or edit that fixes it.

use std::fmt;
use std::path::PathBuf;

use crate::id::{IdError, RevisionId};
use crate::plan::Direction;

/// A list of ids for messages: `a, b, c`.
pub(crate) struct IdList<'a, T>(pub &'a [T]);

impl<T: fmt::Display> fmt::Display for IdList<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, id) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{id}")?;
        }
        Ok(())
    }
}

/// The command that merges the given heads, as printed in error messages.
pub fn merge_command<T: fmt::Display>(heads: &[T]) -> String {
    let ids: Vec<String> = heads.iter().map(ToString::to_string).collect();
    format!("wasmig merge -m \"merge heads\" {}", ids.join(" "))
}

fn show(path: &std::path::Path) -> std::path::Display<'_> {
    path.display()
}

/// The revisions, as given, do not form a valid graph.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    #[error(
        "duplicate revision id `{id}`: declared in {} and in {}; give one of them a new id (e.g. a fresh one from `wasmig new`)",
        show(first),
        show(second)
    )]
    DuplicateId { id: RevisionId, first: PathBuf, second: PathBuf },

    #[error(
        "revision ids `{id}` ({}) and `{other}` ({}) differ only in letter case, which case-insensitive file systems and readers confuse; rename one",
        show(path),
        show(other_path)
    )]
    AmbiguousId { id: RevisionId, path: PathBuf, other: RevisionId, other_path: PathBuf },

    #[error("revision `{id}` ({}) lists itself as its own {field}; remove `{id}` from `{field}`", show(path))]
    SelfReference { id: RevisionId, field: &'static str, path: PathBuf },

    #[error("revision `{id}` ({}) lists `{other}` twice in `{field}`; keep one", show(path))]
    RepeatedReference { id: RevisionId, other: RevisionId, field: &'static str, path: PathBuf },

    #[error(
        "revision `{id}` ({}) has parent `{parent}`, which is not in the project; restore that revision or fix `parents` (`wasmig heads` lists the current heads)",
        show(path)
    )]
    MissingParent { id: RevisionId, parent: RevisionId, path: PathBuf },

    #[error(
        "revision `{id}` ({}) depends on `{dependency}`, which is not in the project; restore that revision or remove it from `depends_on`",
        show(path)
    )]
    MissingDependency { id: RevisionId, dependency: RevisionId, path: PathBuf },

    #[error(
        "the revisions form a cycle: {}; a revision cannot descend from itself, remove one of these links from `parents` or `depends_on` (files: {})",
        cycle_text(cycle),
        paths_text(paths)
    )]
    Cycle { cycle: Vec<RevisionId>, paths: Vec<PathBuf> },

    #[error(
        "merge revision `{id}` ({}) has {count} parent(s); a merge joins at least two, so list them in `parents` or change `kind`",
        show(path)
    )]
    MergeTooFewParents { id: RevisionId, count: usize, path: PathBuf },

    #[error(
        "revision `{id}` ({}) has {count} parents but kind = \"{kind}\"; a revision with several parents must be kind = \"merge\" (merges carry no changes and are never reverted): set kind = \"merge\" and move the changes into a child revision",
        show(path)
    )]
    SeveralParentsNotMerge { id: RevisionId, count: usize, kind: &'static str, path: PathBuf },

    #[error(
        "branch label `{label}` is declared by `{first}` ({}) and by `{second}` ({}); a label names one branch, rename one",
        show(first_path),
        show(second_path)
    )]
    DuplicateLabel { label: String, first: RevisionId, first_path: PathBuf, second: RevisionId, second_path: PathBuf },

    #[error("branch label `{label}` of revision `{id}` ({}) is also a revision id; rename the label", show(path))]
    LabelIsAnId { label: String, id: RevisionId, path: PathBuf },

    #[error("branch label of revision `{id}` ({}) is invalid: {reason}", show(path))]
    InvalidLabel { id: RevisionId, reason: IdError, path: PathBuf },

    #[error(
        "directory {} holds revision `{id}`, but a revision's directory must be named `{id}` or `{id}_<slug>`; rename the directory or fix `id` in {}",
        show(dir),
        show(path)
    )]
    DirectoryMismatch { id: RevisionId, dir: PathBuf, path: PathBuf },

    #[error(
        "revisions `{first}` and `{second}` share the directory {}; each revision needs its own directory",
        show(dir)
    )]
    SharedDirectory { first: RevisionId, second: RevisionId, dir: PathBuf },
}

fn cycle_text(cycle: &[RevisionId]) -> String {
    let mut parts: Vec<String> = cycle.iter().map(ToString::to_string).collect();
    if let Some(first) = cycle.first() {
        parts.push(first.to_string());
    }
    parts.join(" -> ")
}

fn paths_text(paths: &[PathBuf]) -> String {
    paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
}

/// A project could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    #[error(
        "no {} in {}; run `wasmig init` there, or point at the project with `-C DIR`",
        crate::config::CONFIG_FILE,
        show(dir)
    )]
    NoProject { dir: PathBuf },

    #[error("cannot read {}: {source}", show(path))]
    Io { path: PathBuf, source: std::io::Error },

    #[error("invalid project settings in {}: {source}", show(path))]
    Config { path: PathBuf, source: toml::de::Error },

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
        crate::revision::MANIFEST_FILE
    )]
    MissingManifest { dir: PathBuf },

    #[error(transparent)]
    Graph(#[from] GraphError),
}

/// A revision reference or target does not name what the user meant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("no revision or branch label matches `{value}`{hint}; `wasmig history` lists the revisions")]
    Unknown { value: String, hint: String },

    #[error("`{value}` is a prefix of several revisions: {}; type more characters", IdList(matches))]
    AmbiguousPrefix { value: String, matches: Vec<RevisionId> },

    #[error(
        "`{value}` is both the branch label of `{label_revision}` and a prefix of revision(s) {}; use `{label_revision}` or the full id you mean",
        IdList(prefix_matches)
    )]
    PrefixAlsoLabel { value: String, label_revision: RevisionId, prefix_matches: Vec<RevisionId> },

    #[error("no branch label `{label}`; `wasmig branches` lists the labels")]
    UnknownLabel { label: String },

    #[error(
        "branch `{label}` has several heads: {}; name one of them, or merge them with `{}`",
        IdList(heads),
        merge_command(heads)
    )]
    LabelSeveralHeads { label: String, heads: Vec<RevisionId> },

    #[error("`head` is ambiguous: the project has {} heads ({}); target one of them, use `heads` for all, or merge them with `{}`", heads.len(), IdList(heads), merge_command(heads))]
    SeveralHeads { heads: Vec<RevisionId> },

    #[error(
        "`{target}` moves past a head: `{reached}` has no child{}; use `head` or a smaller step",
        if *steps_left == 1 { String::new() } else { format!(" and {steps_left} steps remain") }
    )]
    PastHead { target: String, reached: RevisionId, steps_left: u64 },

    #[error("`{target}` moves below base; use `base` or a smaller step")]
    PastBase { target: String },

    #[error(
        "`{target}` is ambiguous: from {} the next step {} could be any of {}; name the revision instead",
        at.as_ref().map_or("base".to_owned(), |a| format!("`{a}`")),
        if *up { "up" } else { "down" },
        IdList(options)
    )]
    AmbiguousStep { target: String, at: Option<RevisionId>, up: bool, options: Vec<RevisionId> },

    #[error(
        "`{target}` counts from the current head, but the applied set has several heads ({}); use `REV+N` or `REV-N` from one of them",
        IdList(heads)
    )]
    SeveralCurrentHeads { target: String, heads: Vec<RevisionId> },
}

/// One merge revision that a downgrade would revert.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BlockingMerge {
    pub id: RevisionId,
    pub parents: Vec<RevisionId>,
}

impl fmt::Display for BlockingMerge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` (merge of {})", self.id, IdList(&self.parents))
    }
}

/// A plan cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Resolve(#[from] ResolveError),

    #[error(
        "the applied set records revision(s) this project does not know: {}; the database is ahead of this checkout (update the code) or those revisions were deleted (restore them)",
        IdList(ids)
    )]
    UnknownApplied { ids: Vec<String> },

    #[error("cannot {}grade to `{target}`: {hint}", direction.as_str())]
    WrongDirection { target: String, direction: Direction, hint: String },

    #[error(
        "cannot downgrade to `{target}`: it is not applied, so nothing above it is either; `wasmig plan {target}` shows how to upgrade to it"
    )]
    DowngradeTargetNotApplied { target: RevisionId },

    #[error(
        "downgrade to `{target}` refused before any step: it would revert {}, and merge revisions are never reverted; allowed targets that revert the most: {}",
        IdList(merges),
        IdList(allowed)
    )]
    WouldRevertMerge { target: String, merges: Vec<BlockingMerge>, allowed: Vec<RevisionId> },
}
