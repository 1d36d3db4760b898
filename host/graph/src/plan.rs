//! Plans: the ordered `up`/`down` steps that take an applied set to a
//! target, and the [`PlanError`] when no such plan is allowed. Pure
//! computation; the executor, dry runs and offline SQL all consume the same
//! [`Plan`].

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;

use crate::applied::AppliedSet;
use crate::direction::Direction;
use crate::graph::{Graph, Ix};
use crate::id::RevisionId;
use crate::message::IdList;
use crate::resolve::{ResolveError, Resolved};
use crate::target::{Anchor, Target};

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub revision: RevisionId,
    pub direction: Direction,
}

/// The steps from an applied set to a target, and where they lead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub direction: Direction,
    pub target: Target,
    pub steps: Vec<Step>,
    applied_after: BTreeSet<RevisionId>,
    heads_after: Vec<RevisionId>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The applied set once every step has run.
    pub fn resulting_applied(&self) -> &BTreeSet<RevisionId> {
        &self.applied_after
    }

    /// The heads of [`Plan::resulting_applied`], by id.
    pub fn resulting_heads(&self) -> &[RevisionId] {
        &self.heads_after
    }
}

/// One merge revision that a downgrade would revert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
#[non_exhaustive]
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

impl Graph {
    /// Plans the steps from `applied` to `target`.
    ///
    /// Up: every ancestor of the target (through parents and depends_on) not
    /// yet applied, in Kahn order over those revisions with the smallest id
    /// first among ready ones. Down: the applied revisions that stand on the
    /// target's children through `parents`, with whatever needs them through
    /// `parents` or `depends_on` (all applied ones for `base`); with
    /// `branch@...` only those on the branch and what needs them; in the
    /// exact reverse of that order; refused if any of them is a merge revision.
    pub fn plan(&self, applied: &AppliedSet, target: &Target, direction: Direction) -> Result<Plan, PlanError> {
        let unknown = self.unknown_applied(applied);
        if !unknown.is_empty() {
            return Err(PlanError::UnknownApplied { ids: unknown });
        }
        check_direction(target, direction)?;
        let resolved = self.resolve_target(target, applied)?;
        let mut mask = self.mask_of(applied);
        let steps_ix = match direction {
            Direction::Up => self.upgrade_steps(&mask, &resolved, target)?,
            Direction::Down => self.downgrade_steps(&mask, &resolved, target)?,
        };
        let steps = steps_ix
            .iter()
            .map(|&ix| {
                mask[ix as usize] = direction == Direction::Up;
                Step { revision: self.rev(ix).id().clone(), direction }
            })
            .collect();
        let applied_after = (0..self.len()).filter(|&ix| mask[ix]).map(|ix| self.rev(ix as Ix).id().clone()).collect();
        let heads_after = self.ids(&self.heads_of_mask(&mask));
        Ok(Plan { direction, target: target.clone(), steps, applied_after, heads_after })
    }

    fn upgrade_steps(&self, applied: &[bool], resolved: &Resolved, target: &Target) -> Result<Vec<Ix>, PlanError> {
        let ids = match resolved {
            Resolved::Base => {
                return Err(PlanError::WrongDirection {
                    target: target.to_string(),
                    direction: Direction::Up,
                    hint: "`base` is below every revision; to revert everything, plan a downgrade to `base`".to_owned(),
                });
            }
            Resolved::Revisions(ids) => ids,
        };
        let start: Vec<Ix> = ids.iter().map(|id| self.ix(id.as_str()).expect("resolved ids exist")).collect();
        let mut missing = self.ancestor_mask(&start);
        missing.iter_mut().zip(applied).for_each(|(m, &a)| *m &= !a);
        Ok(self.kahn(&missing).expect("a validated graph has no cycle"))
    }

    fn downgrade_steps(&self, applied: &[bool], resolved: &Resolved, target: &Target) -> Result<Vec<Ix>, PlanError> {
        let within = target.branch().map(|branch| self.lineage_of(branch)).transpose()?;
        let mut revert = match resolved {
            Resolved::Base => applied.to_vec(),
            Resolved::Revisions(ids) => {
                let [id] = ids.as_slice() else {
                    return Err(PlanError::WrongDirection {
                        target: target.to_string(),
                        direction: Direction::Down,
                        hint: "a downgrade needs one revision to keep (or `base`)".to_owned(),
                    });
                };
                let ix = self.ix(id.as_str()).expect("resolved ids exist");
                if !applied[ix as usize] {
                    return Err(PlanError::DowngradeTargetNotApplied { target: id.clone() });
                }
                // What stands on the target through `parents`, and whatever
                // needs that. A revision that only depends on the target stays
                // with it (Alembic's `test_downgrade_over_crisscross`).
                self.descendant_mask(self.children_ix(ix))
            }
        };
        revert.iter_mut().zip(applied).for_each(|(r, &a)| *r &= a);
        if let Some(lineage) = within {
            // `branch@...`: only what is on the branch, and whatever applied
            // revision needs that (it cannot stay without it).
            revert.iter_mut().zip(&lineage).for_each(|(r, &l)| *r &= l);
            let members: Vec<Ix> = (0..self.len()).filter(|&ix| revert[ix]).map(|ix| ix as Ix).collect();
            revert = self.descendant_mask(&members);
            revert.iter_mut().zip(applied).for_each(|(r, &a)| *r &= a);
        }

        let merges: Vec<Ix> = (0..self.len())
            .filter(|&ix| revert[ix] && self.parents_ix(ix as Ix).len() >= 2)
            .map(|ix| ix as Ix)
            .collect();
        if !merges.is_empty() {
            return Err(self.merge_refusal(target, &merges, &revert));
        }
        let mut order = self.kahn(&revert).expect("a validated graph has no cycle");
        order.reverse();
        Ok(order)
    }

    /// The closest allowed targets are the merges with no other reverted
    /// merge above them: downgrading to one of those reverts only what sits
    /// above it, which holds no merge.
    fn merge_refusal(&self, target: &Target, merges: &[Ix], revert: &[bool]) -> PlanError {
        let is_merge = |ix: usize| revert[ix] && self.parents_ix(ix as Ix).len() >= 2;
        let allowed: Vec<Ix> = merges
            .iter()
            .copied()
            .filter(|&m| {
                let above = self.descendant_mask(&[m]);
                !(0..self.len()).any(|ix| ix != m as usize && above[ix] && is_merge(ix))
            })
            .collect();
        PlanError::WouldRevertMerge {
            target: target.to_string(),
            merges: merges
                .iter()
                .map(|&m| BlockingMerge { id: self.rev(m).id().clone(), parents: self.rev(m).parents().to_vec() })
                .collect(),
            allowed: self.ids(&allowed),
        }
    }
}

/// `+N` only upgrades and `-N` only downgrades; `heads` only upgrades.
fn check_direction(target: &Target, direction: Direction) -> Result<(), PlanError> {
    let hint = match (target, direction) {
        (Target::Relative { anchor: Anchor::Current | Anchor::BranchCurrent(_), steps }, Direction::Down)
            if *steps > 0 =>
        {
            "`+N` counts up from the current head; downgrade with `-N`"
        }
        (Target::Relative { anchor: Anchor::Current | Anchor::BranchCurrent(_), steps }, Direction::Up)
            if *steps < 0 =>
        {
            "`-N` counts down from the current head; plan it as a downgrade"
        }
        (Target::Heads | Target::BranchHeads(_), Direction::Down) => {
            "`heads` is an upgrade target; a downgrade keeps one revision (or `base`)"
        }
        _ => return Ok(()),
    };
    Err(PlanError::WrongDirection { target: target.to_string(), direction, hint: hint.to_owned() })
}
