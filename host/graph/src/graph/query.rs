//! The public structural queries of a [`Graph`]: topological order,
//! heads, bases, branch and merge points, children and dependents,
//! ancestors and descendants, branch labels, history, and the heads of an
//! applied set.

use super::{Graph, Ix};
use crate::applied::AppliedSet;
use crate::id::RevisionId;
use crate::revision::Revision;

impl Graph {
    /// Every revision, parents and dependencies first; among revisions that
    /// are ready at the same time, the smallest id comes first.
    pub fn topological_order(&self) -> impl ExactSizeIterator<Item = &Revision> + DoubleEndedIterator {
        self.topo.iter().map(|&ix| self.rev(ix))
    }

    /// Revisions without children through `parents` (`depends_on` does not
    /// make a child, as in Alembic), by id.
    pub fn heads(&self) -> Vec<&Revision> {
        self.where_ix(|ix| self.children[ix].is_empty())
    }

    /// Revisions without parents, by id.
    pub fn bases(&self) -> Vec<&Revision> {
        self.where_ix(|ix| self.parents[ix].is_empty())
    }

    /// Revisions with two or more children, by id.
    pub fn branch_points(&self) -> Vec<&Revision> {
        self.where_ix(|ix| self.children[ix].len() >= 2)
    }

    /// Revisions with two or more parents (always `kind = "merge"`), by id.
    pub fn merge_points(&self) -> Vec<&Revision> {
        self.where_ix(|ix| self.parents[ix].len() >= 2)
    }

    /// Children through `parents`, by id.
    pub fn children(&self, id: &str) -> Option<Vec<&Revision>> {
        self.ix(id).map(|ix| self.revs(&self.children[ix as usize]))
    }

    /// Revisions that list `id` in `depends_on`, by id.
    pub fn dependents(&self, id: &str) -> Option<Vec<&Revision>> {
        self.ix(id).map(|ix| self.revs(&self.dependents[ix as usize]))
    }

    /// Every revision `id` needs (through parents and depends_on), itself
    /// excluded, in topological order.
    pub fn ancestors(&self, id: &str) -> Option<Vec<&Revision>> {
        let ix = self.ix(id)?;
        let mut set = self.ancestor_mask(&[ix]);
        set[ix as usize] = false;
        Some(self.in_topo_order(&set))
    }

    /// Every revision that needs `id` (through parents and depends_on),
    /// itself excluded, in topological order.
    pub fn descendants(&self, id: &str) -> Option<Vec<&Revision>> {
        let ix = self.ix(id)?;
        let mut set = self.descendant_mask(&[ix]);
        set[ix as usize] = false;
        Some(self.in_topo_order(&set))
    }

    /// Branch labels and the revision declaring each, by label.
    pub fn branch_labels(&self) -> impl Iterator<Item = (&str, &Revision)> {
        self.labels.iter().map(|(label, &ix)| (label.as_str(), self.rev(ix)))
    }

    /// The revision declaring `label`.
    pub fn label(&self, label: &str) -> Option<&Revision> {
        self.labels.get(label).map(|&ix| self.rev(ix))
    }

    /// Heads reachable from the revision declaring `label` through children.
    pub fn label_heads(&self, label: &str) -> Option<Vec<&Revision>> {
        let &start = self.labels.get(label)?;
        Some(self.revs(&self.heads_above(start)))
    }

    /// The revisions on `branch` (a label or a revision, as in `branch@...`
    /// targets): its ancestors, itself and its descendants through parents,
    /// in topological order.
    pub fn branch_lineage(&self, branch: &str) -> Result<Vec<&Revision>, crate::resolve::ResolveError> {
        Ok(self.in_topo_order(&self.lineage_of(branch)?))
    }

    /// History from newest to oldest: the revisions that descend from (or
    /// are) every revision in `lower` and are ancestors of (or are) some
    /// revision in `upper`. An empty `lower` means base; an empty `upper`
    /// means every head.
    pub fn history(&self, lower: &[RevisionId], upper: &[RevisionId]) -> Vec<&Revision> {
        let n = self.len();
        let up: Vec<Ix> = upper.iter().filter_map(|id| self.ix(id.as_str())).collect();
        let above_upper = if upper.is_empty() { vec![true; n] } else { self.ancestor_mask(&up) };
        let mut keep = above_upper;
        for id in lower {
            if let Some(ix) = self.ix(id.as_str()) {
                let desc = self.descendant_mask(&[ix]);
                keep.iter_mut().zip(desc).for_each(|(k, d)| *k &= d);
            }
        }
        let mut out = self.in_topo_order(&keep);
        out.reverse();
        out
    }

    // ----- over an applied set ----------------------------------------------

    /// Applied ids this project has no revision for, in byte order.
    pub fn unknown_applied(&self, applied: &AppliedSet) -> Vec<String> {
        applied.iter().filter(|id| !self.contains(id)).map(str::to_owned).collect()
    }

    /// The heads of an applied set: the applied revisions no other applied
    /// revision needs (through parents or `depends_on`).
    pub fn applied_heads(&self, applied: &AppliedSet) -> Vec<RevisionId> {
        self.ids(&self.applied_heads_ix(applied))
    }

    /// Applied revisions no other applied revision needs, by id.
    pub(crate) fn applied_heads_ix(&self, applied: &AppliedSet) -> Vec<Ix> {
        let mask = self.mask_of(applied);
        self.heads_of_mask(&mask)
    }

    /// Which revisions `applied` holds, by index; ids the graph does not know
    /// are left out.
    pub(crate) fn mask_of(&self, applied: &AppliedSet) -> Vec<bool> {
        let mut mask = vec![false; self.len()];
        for id in applied.iter() {
            if let Some(ix) = self.ix(id) {
                mask[ix as usize] = true;
            }
        }
        mask
    }

    // ----- helpers ----------------------------------------------------------

    fn in_topo_order(&self, mask: &[bool]) -> Vec<&Revision> {
        self.topo.iter().filter(|&&ix| mask[ix as usize]).map(|&ix| self.rev(ix)).collect()
    }

    fn where_ix(&self, keep: impl Fn(usize) -> bool) -> Vec<&Revision> {
        (0..self.len()).filter(|&ix| keep(ix)).map(|ix| &self.revisions[ix]).collect()
    }

    fn revs(&self, ixs: &[Ix]) -> Vec<&Revision> {
        let mut out: Vec<&Revision> = ixs.iter().map(|&ix| self.rev(ix)).collect();
        out.sort_by(|a, b| a.id().cmp(b.id()));
        out
    }
}
