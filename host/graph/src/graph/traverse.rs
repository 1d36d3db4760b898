//! Index-level walks over a [`Graph`]: masks of ancestors and descendants,
//! the heads of a mask, and Kahn's order with its smallest-id tie-break.
//! Construction, the queries, resolution and planning all build on these.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::{Graph, Ix};

impl Graph {
    /// The given revisions and everything they need.
    pub(crate) fn ancestor_mask(&self, start: &[Ix]) -> Vec<bool> {
        self.walk2(start, &self.parents, &self.depends_on)
    }

    /// The given revisions and everything that needs them.
    pub(crate) fn descendant_mask(&self, start: &[Ix]) -> Vec<bool> {
        self.walk2(start, &self.children, &self.dependents)
    }

    fn walk2(&self, start: &[Ix], first: &[Vec<Ix>], second: &[Vec<Ix>]) -> Vec<bool> {
        let mut seen = vec![false; self.len()];
        let mut stack: Vec<Ix> = start.to_vec();
        while let Some(ix) = stack.pop() {
            if std::mem::replace(&mut seen[ix as usize], true) {
                continue;
            }
            stack.extend(first[ix as usize].iter().chain(&second[ix as usize]).filter(|&&n| !seen[n as usize]));
        }
        seen
    }

    pub(super) fn walk<'a>(&'a self, start: &[Ix], next: impl Fn(usize) -> &'a Vec<Ix>) -> Vec<bool> {
        let mut seen = vec![false; self.len()];
        let mut stack: Vec<Ix> = start.to_vec();
        while let Some(ix) = stack.pop() {
            if std::mem::replace(&mut seen[ix as usize], true) {
                continue;
            }
            stack.extend(next(ix as usize).iter().filter(|&&n| !seen[n as usize]));
        }
        seen
    }

    /// Kahn's algorithm over the revisions in `members`, counting only edges
    /// between members; among ready revisions the smallest id goes first.
    /// On a cycle, returns the members that could not be placed.
    pub(crate) fn kahn(&self, members: &[bool]) -> Result<Vec<Ix>, Vec<Ix>> {
        let n = self.len();
        let mut waiting = vec![0u32; n];
        let mut ready = BinaryHeap::new();
        let mut count = 0usize;
        for ix in 0..n {
            if !members[ix] {
                continue;
            }
            count += 1;
            waiting[ix] =
                self.parents[ix].iter().chain(&self.depends_on[ix]).filter(|&&p| members[p as usize]).count() as u32;
            if waiting[ix] == 0 {
                ready.push(Reverse(ix as Ix));
            }
        }
        let mut order = Vec::with_capacity(count);
        while let Some(Reverse(ix)) = ready.pop() {
            order.push(ix);
            for &next in self.children[ix as usize].iter().chain(&self.dependents[ix as usize]) {
                if members[next as usize] {
                    waiting[next as usize] -= 1;
                    if waiting[next as usize] == 0 {
                        ready.push(Reverse(next));
                    }
                }
            }
        }
        if order.len() == count {
            Ok(order)
        } else {
            let mut placed = vec![false; n];
            order.iter().for_each(|&ix| placed[ix as usize] = true);
            Err((0..n).filter(|&ix| members[ix] && !placed[ix]).map(|ix| ix as Ix).collect())
        }
    }

    /// The members of `mask` that no other member needs, through parents
    /// or `depends_on` (as Alembic keeps its version table: a revision another
    /// applied revision depends on is implied by it), by id.
    pub(crate) fn heads_of_mask(&self, mask: &[bool]) -> Vec<Ix> {
        (0..self.len())
            .filter(|&ix| mask[ix] && !self.children[ix].iter().chain(&self.dependents[ix]).any(|&c| mask[c as usize]))
            .map(|ix| ix as Ix)
            .collect()
    }

    /// `ix`, its ancestors and its descendants, through parents only.
    pub(crate) fn lineage_mask(&self, ix: Ix) -> Vec<bool> {
        let mut lineage = self.walk(&[ix], |at| &self.parents[at]);
        let below = self.walk(&[ix], |at| &self.children[at]);
        lineage.iter_mut().zip(below).for_each(|(l, b)| *l |= b);
        lineage
    }

    /// The heads at or above `ix` through children.
    pub(crate) fn heads_above(&self, ix: Ix) -> Vec<Ix> {
        let above = self.walk(&[ix], |at| &self.children[at]);
        (0..self.len()).filter(|&at| above[at] && self.children[at].is_empty()).map(|at| at as Ix).collect()
    }
}
