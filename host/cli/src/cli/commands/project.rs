//! What the commands share: the project loader and the JSON view of a revision.

use std::path::{Path, PathBuf};

use serde::Serialize;
use wasmig::graph::{Graph, Project, Revision, RevisionId};

use crate::cli::error::CliResult;

/// The project, its unchanged manifests taken from the project cache.
///
/// Leaked: the process ends soon after the command, and the operating
/// system takes the memory back in one go where dropping the graph frees
/// every revision's strings one by one (a few percent of `heads` at 10,000
/// revisions). Holds no file, connection or lock that wants closing.
pub(super) fn load(dir: &Path) -> CliResult<&'static Project> {
    Ok(Box::leak(Box::new(wasmig::load_project(dir)?)))
}

/// Everything about one revision, for JSON output.
#[derive(Debug, Serialize)]
pub struct RevisionView<'a> {
    pub id: &'a RevisionId,
    pub message: &'a str,
    pub kind: &'static str,
    pub parents: &'a [RevisionId],
    pub children: Vec<&'a RevisionId>,
    pub depends_on: &'a [RevisionId],
    pub dependents: Vec<&'a RevisionId>,
    pub branch_labels: &'a [String],
    pub transactional: bool,
    pub is_head: bool,
    pub is_base: bool,
    pub is_merge: bool,
    pub is_branch_point: bool,
    pub dir: &'a PathBuf,
}

impl<'a> RevisionView<'a> {
    pub fn new(graph: &'a Graph, rev: &'a Revision) -> Self {
        let ids = |revs: Option<Vec<&'a Revision>>| {
            revs.unwrap_or_default().into_iter().map(Revision::id).collect::<Vec<_>>()
        };
        let children = ids(graph.children(rev.id().as_str()));
        Self {
            id: rev.id(),
            message: rev.message(),
            kind: rev.kind().as_str(),
            parents: rev.parents(),
            is_head: children.is_empty(),
            is_branch_point: children.len() >= 2,
            children,
            depends_on: rev.depends_on(),
            dependents: ids(graph.dependents(rev.id().as_str())),
            branch_labels: rev.branch_labels(),
            transactional: rev.transactional(),
            is_base: rev.parents().is_empty(),
            is_merge: rev.is_merge(),
            dir: &rev.dir,
        }
    }

    /// ` (head) (merge) (branch point) (label)` for text output (written
    /// straight into the line: `history` writes 10,000 of them).
    pub fn markers(&self) -> impl std::fmt::Display + '_ {
        Markers(self)
    }
}

struct Markers<'v, 'a>(&'v RevisionView<'a>);

impl std::fmt::Display for Markers<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let view = self.0;
        for (on, word) in [(view.is_head, "head"), (view.is_merge, "merge"), (view.is_branch_point, "branch point")] {
            if on {
                write!(f, " ({word})")?;
            }
        }
        view.branch_labels.iter().try_for_each(|label| write!(f, " ({label})"))
    }
}

/// `a, b` or `<base>` for an empty list.
pub(super) fn id_list(ids: &[&RevisionId]) -> String {
    if ids.is_empty() { "<base>".to_owned() } else { ids.iter().map(|id| id.as_str()).collect::<Vec<_>>().join(", ") }
}
