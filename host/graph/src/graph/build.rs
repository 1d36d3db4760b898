//! Building a [`Graph`]: the validation checks, run in a fixed order, and
//! the [`GraphError`] each of them reports.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use super::{Graph, Ix};
use crate::id::{IdError, RevisionId, check_name};
use crate::message::show;
use crate::revision::{Revision, RevisionKind};

/// The revisions, as given, do not form a valid graph.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
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
        "directory {} holds revision `{id}`, but a revision's directory must be named `{id}`, `{id}_<slug>` or by date, `<YYYYMMDD>_<HHMMSS>_<slug>`; rename the directory or fix `id` in {}",
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

impl Graph {
    /// Validates `revisions` and builds the graph. Checks run in a fixed order
    /// (ids, directories, references, labels, kinds, cycles) and the first
    /// problem found is returned.
    pub fn new(mut revisions: Vec<Revision>) -> Result<Graph, GraphError> {
        revisions.sort_by(|a, b| a.id().cmp(b.id()));
        check_ids(&revisions)?;
        check_directories(&revisions)?;

        let mut by_id = HashMap::with_capacity(revisions.len());
        for (ix, rev) in revisions.iter().enumerate() {
            by_id.insert(rev.id().clone(), ix as Ix);
        }

        let n = revisions.len();
        let mut parents = Vec::with_capacity(n);
        let mut depends_on = Vec::with_capacity(n);
        let mut children = vec![Vec::new(); n];
        let mut dependents = vec![Vec::new(); n];
        // `depends_on` may name a branch label, as in Alembic (duplicate
        // labels are refused by `check_labels` below).
        let mut declared: HashMap<RevisionId, Ix> = HashMap::new();
        for (ix, rev) in revisions.iter().enumerate() {
            for label in rev.branch_labels() {
                if let Ok(label) = RevisionId::parse(label) {
                    declared.entry(label).or_insert(ix as Ix);
                }
            }
        }
        let no_labels = HashMap::new();
        for (ix, rev) in revisions.iter().enumerate() {
            let own = resolve_references(rev, rev.parents(), "parents", &by_id, &no_labels)?;
            let deps = resolve_references(rev, rev.depends_on(), "depends_on", &by_id, &declared)?;
            for &p in &own {
                children[p as usize].push(ix as Ix);
            }
            for &d in &deps {
                dependents[d as usize].push(ix as Ix);
            }
            parents.push(own);
            depends_on.push(deps);
        }

        let labels = check_labels(&revisions, &by_id)?;
        check_kinds(&revisions)?;

        let mut graph = Graph { revisions, by_id, parents, depends_on, children, dependents, topo: Vec::new(), labels };
        let all: Vec<bool> = vec![true; n];
        match graph.kahn(&all) {
            Ok(order) => graph.topo = order,
            Err(leftover) => return Err(graph.cycle_error(&leftover)),
        }
        Ok(graph)
    }

    /// Names one cycle among the revisions Kahn could not place: each of them
    /// waits on another unplaced one, so following those links must loop.
    fn cycle_error(&self, leftover: &[Ix]) -> GraphError {
        let mut stuck = vec![false; self.len()];
        leftover.iter().for_each(|&ix| stuck[ix as usize] = true);
        let mut position: HashMap<Ix, usize> = HashMap::new();
        let mut path: Vec<Ix> = Vec::new();
        let mut at = leftover[0];
        loop {
            if let Some(&start) = position.get(&at) {
                // `path[start..]` runs child -> parent; show it parent -> child.
                let mut cycle: Vec<Ix> = path[start..].to_vec();
                cycle.reverse();
                let ids = self.ids(&cycle);
                let paths = cycle.iter().map(|&ix| self.rev(ix).manifest_path.clone()).collect();
                return GraphError::Cycle { cycle: ids, paths };
            }
            position.insert(at, path.len());
            path.push(at);
            at = *self.parents[at as usize]
                .iter()
                .chain(&self.depends_on[at as usize])
                .find(|&&p| stuck[p as usize])
                .expect("an unplaced revision waits on another unplaced one");
        }
    }
}

fn check_ids(sorted: &[Revision]) -> Result<(), GraphError> {
    for pair in sorted.windows(2) {
        if pair[0].id() == pair[1].id() {
            return Err(GraphError::DuplicateId {
                id: pair[0].id().clone(),
                first: pair[0].manifest_path.clone(),
                second: pair[1].manifest_path.clone(),
            });
        }
    }
    let mut folded: HashMap<String, &Revision> = HashMap::with_capacity(sorted.len());
    for rev in sorted {
        if let Some(other) = folded.insert(rev.id().as_str().to_ascii_lowercase(), rev) {
            return Err(GraphError::AmbiguousId {
                id: other.id().clone(),
                path: other.manifest_path.clone(),
                other: rev.id().clone(),
                other_path: rev.manifest_path.clone(),
            });
        }
    }
    Ok(())
}

fn check_directories(revisions: &[Revision]) -> Result<(), GraphError> {
    // Keyed by the raw path: hashing a `Path` walks its components.
    let mut owners: HashMap<&std::ffi::OsStr, &Revision> = HashMap::with_capacity(revisions.len());
    for rev in revisions {
        if let Some(first) = owners.insert(rev.dir.as_os_str(), rev) {
            return Err(GraphError::SharedDirectory {
                first: first.id().clone(),
                second: rev.id().clone(),
                dir: rev.dir.clone(),
            });
        }
        let name = rev.dir.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let id = rev.id().as_str();
        let matches =
            name == id || (name.starts_with(id) && name.as_bytes().get(id.len()) == Some(&b'_')) || date_named(name);
        if !matches {
            return Err(GraphError::DirectoryMismatch {
                id: rev.id().clone(),
                dir: rev.dir.clone(),
                path: rev.manifest_path.clone(),
            });
        }
    }
    Ok(())
}

/// `<YYYYMMDD>_<HHMMSS>` or `<YYYYMMDD>_<HHMMSS>_<slug>`: the layout of
/// `[new] directory = "date"`, which says nothing about the id (the manifest
/// does), so any id may live there.
fn date_named(name: &str) -> bool {
    let bytes = name.as_bytes();
    let digits =
        |range: std::ops::Range<usize>| bytes.get(range).is_some_and(|part| part.iter().all(u8::is_ascii_digit));
    digits(0..8) && bytes.get(8) == Some(&b'_') && digits(9..15) && matches!(bytes.get(15), None | Some(b'_'))
}

fn resolve_references(
    rev: &Revision,
    refs: &[RevisionId],
    field: &'static str,
    by_id: &HashMap<RevisionId, Ix>,
    labels: &HashMap<RevisionId, Ix>,
) -> Result<Vec<Ix>, GraphError> {
    let mut out: Vec<Ix> = Vec::with_capacity(refs.len());
    for other in refs {
        if other == rev.id() {
            return Err(GraphError::SelfReference { id: rev.id().clone(), field, path: rev.manifest_path.clone() });
        }
        let Some(&ix) = by_id.get(other).or_else(|| labels.get(other)) else {
            let (id, path) = (rev.id().clone(), rev.manifest_path.clone());
            return Err(if field == "parents" {
                GraphError::MissingParent { id, parent: other.clone(), path }
            } else {
                GraphError::MissingDependency { id, dependency: other.clone(), path }
            });
        };
        if out.contains(&ix) {
            return Err(GraphError::RepeatedReference {
                id: rev.id().clone(),
                other: other.clone(),
                field,
                path: rev.manifest_path.clone(),
            });
        }
        out.push(ix);
    }
    Ok(out)
}

fn check_labels(revisions: &[Revision], by_id: &HashMap<RevisionId, Ix>) -> Result<BTreeMap<String, Ix>, GraphError> {
    let mut labels: BTreeMap<String, Ix> = BTreeMap::new();
    for (ix, rev) in revisions.iter().enumerate() {
        for label in rev.branch_labels() {
            check_name(label).map_err(|reason| GraphError::InvalidLabel {
                id: rev.id().clone(),
                reason,
                path: rev.manifest_path.clone(),
            })?;
            if by_id.contains_key(label.as_str()) {
                return Err(GraphError::LabelIsAnId {
                    label: label.clone(),
                    id: rev.id().clone(),
                    path: rev.manifest_path.clone(),
                });
            }
            if let Some(&first) = labels.get(label) {
                let first = &revisions[first as usize];
                return Err(GraphError::DuplicateLabel {
                    label: label.clone(),
                    first: first.id().clone(),
                    first_path: first.manifest_path.clone(),
                    second: rev.id().clone(),
                    second_path: rev.manifest_path.clone(),
                });
            }
            labels.insert(label.clone(), ix as Ix);
        }
    }
    Ok(labels)
}

fn check_kinds(revisions: &[Revision]) -> Result<(), GraphError> {
    for rev in revisions {
        let count = rev.parents().len();
        match rev.kind() {
            RevisionKind::Merge if count < 2 => {
                return Err(GraphError::MergeTooFewParents {
                    id: rev.id().clone(),
                    count,
                    path: rev.manifest_path.clone(),
                });
            }
            kind @ (RevisionKind::Sql | RevisionKind::Component | RevisionKind::Python | RevisionKind::Js)
                if count >= 2 =>
            {
                return Err(GraphError::SeveralParentsNotMerge {
                    id: rev.id().clone(),
                    count,
                    kind: kind.as_str(),
                    path: rev.manifest_path.clone(),
                });
            }
            _ => {}
        }
    }
    Ok(())
}
