//! The validated revision graph: the [`Graph`] type, its id-sorted storage
//! and the lookups by id and by index that everything above it uses.
//!
//! Split by concern: `build` constructs and validates a graph (and owns
//! [`GraphError`]), `traverse` holds the index-level walks and Kahn's
//! order, `query` the public structural queries. Resolving targets
//! (`crate::resolve`) and planning (`crate::plan`) build on this module;
//! it knows neither.

mod build;
mod query;
mod traverse;

use std::collections::{BTreeMap, HashMap};

use crate::id::RevisionId;
use crate::revision::Revision;

pub use build::GraphError;

/// Index of a revision in [`Graph`]'s id-sorted storage; the index order is
/// the id order, which is the documented tie-break.
pub(crate) type Ix = u32;

/// A validated revision graph: no duplicates, no dangling references, no
/// cycles. Immutable once built.
#[derive(Debug, Clone)]
pub struct Graph {
    /// Sorted by id, so an index doubles as the tie-break rank.
    revisions: Vec<Revision>,
    by_id: HashMap<RevisionId, Ix>,
    parents: Vec<Vec<Ix>>,
    depends_on: Vec<Vec<Ix>>,
    children: Vec<Vec<Ix>>,
    dependents: Vec<Vec<Ix>>,
    /// Kahn order over parents and depends_on, smallest id first among ready ones.
    topo: Vec<Ix>,
    labels: BTreeMap<String, Ix>,
}

impl Graph {
    pub fn len(&self) -> usize {
        self.revisions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.revisions.is_empty()
    }

    /// The revision with exactly this id.
    pub fn get(&self, id: &str) -> Option<&Revision> {
        self.ix(id).map(|ix| self.rev(ix))
    }

    pub fn contains(&self, id: &str) -> bool {
        self.by_id.contains_key(id)
    }

    /// Every revision, ordered by id.
    pub fn revisions(&self) -> impl ExactSizeIterator<Item = &Revision> {
        self.revisions.iter()
    }

    // ----- index-level lookups for resolution and planning -----------------

    pub(crate) fn ix(&self, id: &str) -> Option<Ix> {
        self.by_id.get(id).copied()
    }

    pub(crate) fn rev(&self, ix: Ix) -> &Revision {
        &self.revisions[ix as usize]
    }

    pub(crate) fn ids(&self, ixs: &[Ix]) -> Vec<RevisionId> {
        ixs.iter().map(|&ix| self.rev(ix).id().clone()).collect()
    }

    pub(crate) fn parents_ix(&self, ix: Ix) -> &[Ix] {
        &self.parents[ix as usize]
    }

    pub(crate) fn children_ix(&self, ix: Ix) -> &[Ix] {
        &self.children[ix as usize]
    }

    /// The revision declaring `label`.
    pub(crate) fn label_ix(&self, label: &str) -> Option<Ix> {
        self.labels.get(label).copied()
    }

    /// The revisions whose id starts with `prefix`, by id.
    pub(crate) fn prefix_range(&self, prefix: &str) -> Vec<Ix> {
        let start = self.revisions.partition_point(|r| r.id().as_str() < prefix);
        self.revisions[start..]
            .iter()
            .take_while(|r| r.id().as_str().starts_with(prefix))
            .enumerate()
            .map(|(i, _)| (start + i) as Ix)
            .collect()
    }
}
