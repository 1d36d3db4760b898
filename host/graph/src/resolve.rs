//! Resolving against a [`Graph`]: a revision reference (id, unique prefix
//! or branch label) to one revision, and a parsed [`Target`] plus the
//! applied set to the revisions it names ([`Resolved`]), or the
//! [`ResolveError`] saying why it names none.

use crate::applied::AppliedSet;
use crate::graph::{Graph, Ix};
use crate::id::RevisionId;
use crate::message::{IdList, merge_command};
use crate::revision::Revision;
use crate::target::{Anchor, Target};

/// Prefixes shorter than this never match (Alembic takes any unique prefix
/// of an id longer than 3 characters; wasmig asks for 3, so that a typo of one
/// or two characters is not read as a revision).
pub const MIN_PREFIX_LEN: usize = 3;

/// What a target names once resolved against a graph and an applied set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// Nothing applied.
    Base,
    /// These revisions (and, for an upgrade, their ancestors). Empty only for
    /// `head`/`heads` of an empty project.
    Revisions(Vec<RevisionId>),
}

/// A revision reference or target does not name what the user meant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
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
        "`{revision}` is not on branch `{branch}` (neither an ancestor nor a descendant of `{branch_revision}`); \
         `wasmig history` shows the branches"
    )]
    NotOnBranch { revision: RevisionId, branch: String, branch_revision: RevisionId },

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
        "`{target}` counts from the current head, but the applied set has several heads ({}); use `REV+N` or `REV-N` from one of them, or `BRANCH@+N` / `BRANCH@-N` to count on one branch",
        IdList(heads)
    )]
    SeveralCurrentHeads { target: String, heads: Vec<RevisionId> },
}

impl Graph {
    /// The revision a reference names: an exact id, a unique prefix of at
    /// least [`MIN_PREFIX_LEN`] characters, or a branch label (the revision
    /// that declares it). A prefix that is also a label is an error.
    pub fn resolve(&self, reference: &str) -> Result<&Revision, ResolveError> {
        self.resolve_ix(reference).map(|ix| self.rev(ix))
    }

    fn resolve_ix(&self, reference: &str) -> Result<Ix, ResolveError> {
        if let Some(ix) = self.ix(reference) {
            return Ok(ix);
        }
        let prefix_matches: Vec<Ix> =
            if reference.len() >= MIN_PREFIX_LEN { self.prefix_range(reference) } else { Vec::new() };
        let label = self.label_ix(reference);
        match (label, prefix_matches.as_slice()) {
            (Some(l), []) => Ok(l),
            (Some(l), matches) => Err(ResolveError::PrefixAlsoLabel {
                value: reference.to_owned(),
                label_revision: self.rev(l).id().clone(),
                prefix_matches: self.ids(matches),
            }),
            (None, [one]) => Ok(*one),
            (None, []) => {
                let hint = if reference.len() < MIN_PREFIX_LEN && !self.prefix_range(reference).is_empty() {
                    format!(" (prefixes need at least {MIN_PREFIX_LEN} characters)")
                } else {
                    String::new()
                };
                Err(ResolveError::Unknown { value: reference.to_owned(), hint })
            }
            (None, matches) => {
                Err(ResolveError::AmbiguousPrefix { value: reference.to_owned(), matches: self.ids(matches) })
            }
        }
    }

    /// Resolves a target to the revisions it names, given what is applied
    /// (needed only for `+N` / `-N`).
    pub fn resolve_target(&self, target: &Target, applied: &AppliedSet) -> Result<Resolved, ResolveError> {
        let text = target.to_string();
        let point = match target {
            Target::Head => self.single_head()?.map(Point::At).unwrap_or(Point::Nothing),
            Target::Heads => {
                return Ok(Resolved::Revisions(self.heads().into_iter().map(|r| r.id().clone()).collect()));
            }
            Target::BranchHeads(branch) => {
                let heads = self.heads_above(self.resolve_ix(branch)?);
                return Ok(Resolved::Revisions(self.ids(&heads)));
            }
            Target::Base | Target::BranchBase(_) => Point::Base,
            Target::Revision(r) => Point::At(self.resolve_ix(r)?),
            Target::BranchRevision { branch, revision } => Point::At(self.on_branch(branch, revision)?),
            Target::LabelHead(l) => Point::At(self.label_head_ix(l)?),
            Target::Relative { anchor, steps } => {
                let start = self.anchor_point(anchor, applied, &text)?;
                let within = target.branch().map(|branch| self.lineage_of(branch)).transpose()?;
                self.step(start, *steps, &text, within.as_deref())?
            }
        };
        Ok(match point {
            Point::Base => Resolved::Base,
            Point::Nothing => Resolved::Revisions(Vec::new()),
            Point::At(ix) => Resolved::Revisions(vec![self.rev(ix).id().clone()]),
        })
    }

    /// The revisions that share lineage with `branch` (a label or a
    /// revision): its ancestors, itself and its descendants, through parents.
    pub(crate) fn lineage_of(&self, branch: &str) -> Result<Vec<bool>, ResolveError> {
        Ok(self.lineage_mask(self.resolve_ix(branch)?))
    }

    /// `revision`, which must share lineage with `branch`. A prefix that
    /// matches several revisions but only one on the branch names that one
    /// (as in Alembic: `ebranch@some`).
    fn on_branch(&self, branch: &str, revision: &str) -> Result<Ix, ResolveError> {
        let lineage = self.lineage_of(branch)?;
        let at = match self.resolve_ix(revision) {
            Err(ResolveError::AmbiguousPrefix { value, matches }) => {
                let on_branch: Vec<&RevisionId> =
                    matches.iter().filter(|id| self.ix(id.as_str()).is_some_and(|ix| lineage[ix as usize])).collect();
                match on_branch.as_slice() {
                    [one] => self.ix(one.as_str()).expect("a match is in the graph"),
                    _ => return Err(ResolveError::AmbiguousPrefix { value, matches }),
                }
            }
            other => other?,
        };
        if lineage[at as usize] {
            return Ok(at);
        }
        Err(ResolveError::NotOnBranch {
            revision: self.rev(at).id().clone(),
            branch: branch.to_owned(),
            branch_revision: self.rev(self.resolve_ix(branch)?).id().clone(),
        })
    }

    fn single_head(&self) -> Result<Option<Ix>, ResolveError> {
        let heads: Vec<Ix> = (0..self.len() as Ix).filter(|&ix| self.children_ix(ix).is_empty()).collect();
        match heads.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(*one)),
            many => Err(ResolveError::SeveralHeads { heads: self.ids(many) }),
        }
    }

    /// The single head above `branch` (a label, or a revision for `REV@head`).
    fn label_head_ix(&self, branch: &str) -> Result<Ix, ResolveError> {
        let start = match self.resolve_ix(branch) {
            Ok(ix) => ix,
            Err(ResolveError::Unknown { .. }) => return Err(ResolveError::UnknownLabel { label: branch.to_owned() }),
            Err(other) => return Err(other),
        };
        let heads = self.heads_above(start);
        match heads.as_slice() {
            [one] => Ok(*one),
            many => Err(ResolveError::LabelSeveralHeads { label: branch.to_owned(), heads: self.ids(many) }),
        }
    }

    fn anchor_point(&self, anchor: &Anchor, applied: &AppliedSet, text: &str) -> Result<Point, ResolveError> {
        Ok(match anchor {
            Anchor::Base => Point::Base,
            Anchor::Head => self.single_head()?.map(Point::At).unwrap_or(Point::Base),
            Anchor::Revision(r) => Point::At(self.resolve_ix(r)?),
            Anchor::LabelHead(l) => Point::At(self.label_head_ix(l)?),
            Anchor::BranchBase(_) => Point::Base,
            Anchor::BranchRevision { branch, revision } => Point::At(self.on_branch(branch, revision)?),
            Anchor::BranchCurrent(branch) => {
                // The applied head on the branch; else where the applied set
                // leaves the branch (the tips of its applied part); else base.
                let lineage = self.lineage_of(branch)?;
                let heads: Vec<Ix> =
                    self.applied_heads_ix(applied).into_iter().filter(|&ix| lineage[ix as usize]).collect();
                let starts = if heads.is_empty() {
                    let mut on_branch = self.mask_of(applied);
                    on_branch.iter_mut().zip(&lineage).for_each(|(a, &l)| *a &= l);
                    self.heads_of_mask(&on_branch)
                } else {
                    heads
                };
                self.single_start(&starts, text)?
            }
            Anchor::Current => self.single_start(&self.applied_heads_ix(applied), text)?,
        })
    }

    /// The one revision a count from the applied set starts at (base when
    /// nothing is applied); several are refused, naming them.
    fn single_start(&self, starts: &[Ix], text: &str) -> Result<Point, ResolveError> {
        match starts {
            [] => Ok(Point::Base),
            [one] => Ok(Point::At(*one)),
            many => Err(ResolveError::SeveralCurrentHeads { target: text.to_owned(), heads: self.ids(many) }),
        }
    }

    /// Walks `steps` edges through parents (down) or children (up); a step
    /// with more than one way to go is refused rather than guessed.
    /// `within`: only revisions on a branch (`branch@...`) are ways to go.
    fn step(&self, start: Point, steps: i64, text: &str, within: Option<&[bool]>) -> Result<Point, ResolveError> {
        let up = steps > 0;
        let mut at = start;
        let mut left = steps.unsigned_abs();
        let allowed = |ix: &Ix| within.is_none_or(|lineage| lineage[*ix as usize]);
        while left > 0 {
            let options: Vec<Ix> = match at {
                Point::Base if up => (0..self.len() as Ix).filter(|&ix| self.parents_ix(ix).is_empty()).collect(),
                Point::Base | Point::Nothing => {
                    return Err(ResolveError::PastBase { target: text.to_owned() });
                }
                Point::At(ix) if up => self.children_ix(ix).to_vec(),
                Point::At(ix) => self.parents_ix(ix).to_vec(),
            };
            let options: Vec<Ix> = options.into_iter().filter(allowed).collect();
            let here = match at {
                Point::At(ix) => Some(self.rev(ix).id().clone()),
                _ => None,
            };
            at = match options.as_slice() {
                [] if up => {
                    return Err(match here {
                        Some(reached) => ResolveError::PastHead { target: text.to_owned(), reached, steps_left: left },
                        None => ResolveError::Unknown {
                            value: text.to_owned(),
                            hint: " (the project has no revisions)".to_owned(),
                        },
                    });
                }
                [] => Point::Base,
                [one] => Point::At(*one),
                many => {
                    return Err(ResolveError::AmbiguousStep {
                        target: text.to_owned(),
                        at: here,
                        up,
                        options: self.ids(many),
                    });
                }
            };
            left -= 1;
        }
        Ok(at)
    }
}

/// Where a walk through the graph stands while a target is resolved.
#[derive(Debug, Clone, Copy)]
enum Point {
    Base,
    /// `head` of a project with no revisions.
    Nothing,
    At(Ix),
}
