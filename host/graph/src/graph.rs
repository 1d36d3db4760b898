//! The validated revision graph: construction from a list of revisions, the
//! structural queries (heads, bases, ancestors, ...) and resolving
//! revision references and targets.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};

use crate::error::{GraphError, ResolveError};
use crate::id::{RevisionId, check_name};
use crate::plan::AppliedSet;
use crate::revision::{Revision, RevisionKind};
use crate::target::{Anchor, Target};

/// Ids and prefixes shorter than this never match by prefix (as in Alembic).
pub const MIN_PREFIX_LEN: usize = 4;

/// Index of a revision in [`Graph`]'s id-sorted storage; the index order is
/// the id order, which is the documented tie-break.
pub(crate) type Ix = u32;

/// What a target names once resolved against a graph and an applied set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// Nothing applied.
    Base,
    /// These revisions (and, for an upgrade, their ancestors). Empty only for
    /// `head`/`heads` of an empty project.
    Revisions(Vec<RevisionId>),
}

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
        for (ix, rev) in revisions.iter().enumerate() {
            let own = resolve_references(rev, rev.parents(), "parents", &by_id)?;
            let deps = resolve_references(rev, rev.depends_on(), "depends_on", &by_id)?;
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

    // ----- plain accessors -------------------------------------------------

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
        let reach = self.walk(&[start], |ix| &self.children[ix]);
        Some(self.where_ix(|ix| reach[ix] && self.children[ix].is_empty()))
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

    // ----- resolving references --------------------------------------------

    /// The revision a reference names: an exact id, a unique prefix of at
    /// least [`MIN_PREFIX_LEN`] characters, or a branch label (the revision
    /// that declares it). A prefix that is also a label is an error.
    pub fn resolve(&self, reference: &str) -> Result<&Revision, ResolveError> {
        self.resolve_ix(reference).map(|ix| self.rev(ix))
    }

    pub(crate) fn resolve_ix(&self, reference: &str) -> Result<Ix, ResolveError> {
        if let Some(ix) = self.ix(reference) {
            return Ok(ix);
        }
        let prefix_matches: Vec<Ix> =
            if reference.len() >= MIN_PREFIX_LEN { self.prefix_range(reference) } else { Vec::new() };
        let label = self.labels.get(reference).copied();
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
            Target::Base => Point::Base,
            Target::Revision(r) => Point::At(self.resolve_ix(r)?),
            Target::LabelHead(l) => Point::At(self.label_head_ix(l)?),
            Target::Relative { anchor, steps } => {
                let start = self.anchor_point(anchor, applied, &text)?;
                self.step(start, *steps, &text)?
            }
        };
        Ok(match point {
            Point::Base => Resolved::Base,
            Point::Nothing => Resolved::Revisions(Vec::new()),
            Point::At(ix) => Resolved::Revisions(vec![self.rev(ix).id().clone()]),
        })
    }

    fn single_head(&self) -> Result<Option<Ix>, ResolveError> {
        let heads: Vec<Ix> = (0..self.len()).filter(|&ix| self.children[ix].is_empty()).map(|ix| ix as Ix).collect();
        match heads.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(*one)),
            many => Err(ResolveError::SeveralHeads { heads: self.ids(many) }),
        }
    }

    fn label_head_ix(&self, label: &str) -> Result<Ix, ResolveError> {
        let heads = self.label_heads(label).ok_or_else(|| ResolveError::UnknownLabel { label: label.to_owned() })?;
        match heads.as_slice() {
            [one] => Ok(self.by_id[one.id()]),
            many => Err(ResolveError::LabelSeveralHeads {
                label: label.to_owned(),
                heads: many.iter().map(|r| r.id().clone()).collect(),
            }),
        }
    }

    fn anchor_point(&self, anchor: &Anchor, applied: &AppliedSet, text: &str) -> Result<Point, ResolveError> {
        Ok(match anchor {
            Anchor::Base => Point::Base,
            Anchor::Head => self.single_head()?.map(Point::At).unwrap_or(Point::Base),
            Anchor::Revision(r) => Point::At(self.resolve_ix(r)?),
            Anchor::LabelHead(l) => Point::At(self.label_head_ix(l)?),
            Anchor::Current => {
                let heads = self.applied_heads_ix(applied);
                match heads.as_slice() {
                    [] => Point::Base,
                    [one] => Point::At(*one),
                    many => {
                        return Err(ResolveError::SeveralCurrentHeads {
                            target: text.to_owned(),
                            heads: self.ids(many),
                        });
                    }
                }
            }
        })
    }

    /// Walks `steps` edges through parents (down) or children (up); a step
    /// with more than one way to go is refused rather than guessed.
    fn step(&self, start: Point, steps: i64, text: &str) -> Result<Point, ResolveError> {
        let up = steps > 0;
        let mut at = start;
        let mut left = steps.unsigned_abs();
        while left > 0 {
            let options: Vec<Ix> = match at {
                Point::Base if up => {
                    (0..self.len()).filter(|&ix| self.parents[ix].is_empty()).map(|ix| ix as Ix).collect()
                }
                Point::Base | Point::Nothing => {
                    return Err(ResolveError::PastBase { target: text.to_owned() });
                }
                Point::At(ix) if up => self.children[ix as usize].clone(),
                Point::At(ix) => self.parents[ix as usize].clone(),
            };
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

    // ----- crate-internal helpers used by planning --------------------------

    pub(crate) fn ix(&self, id: &str) -> Option<Ix> {
        self.by_id.get(id).copied()
    }

    pub(crate) fn rev(&self, ix: Ix) -> &Revision {
        &self.revisions[ix as usize]
    }

    pub(crate) fn parents_ix(&self, ix: Ix) -> &[Ix] {
        &self.parents[ix as usize]
    }

    pub(crate) fn ids(&self, ixs: &[Ix]) -> Vec<RevisionId> {
        ixs.iter().map(|&ix| self.rev(ix).id().clone()).collect()
    }

    /// Applied revisions with no applied child through parents, by id.
    pub(crate) fn applied_heads_ix(&self, applied: &AppliedSet) -> Vec<Ix> {
        let mask = self.mask_of(applied);
        self.heads_of_mask(&mask)
    }

    pub(crate) fn heads_of_mask(&self, mask: &[bool]) -> Vec<Ix> {
        (0..self.len())
            .filter(|&ix| mask[ix] && !self.children[ix].iter().any(|&c| mask[c as usize]))
            .map(|ix| ix as Ix)
            .collect()
    }

    pub(crate) fn mask_of(&self, applied: &AppliedSet) -> Vec<bool> {
        let mut mask = vec![false; self.len()];
        for id in applied.iter() {
            if let Some(ix) = self.ix(id) {
                mask[ix as usize] = true;
            }
        }
        mask
    }

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

    fn walk<'a>(&'a self, start: &[Ix], next: impl Fn(usize) -> &'a Vec<Ix>) -> Vec<bool> {
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

    pub(crate) fn in_topo_order(&self, mask: &[bool]) -> Vec<&Revision> {
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

    fn prefix_range(&self, prefix: &str) -> Vec<Ix> {
        let start = self.revisions.partition_point(|r| r.id().as_str() < prefix);
        self.revisions[start..]
            .iter()
            .take_while(|r| r.id().as_str().starts_with(prefix))
            .enumerate()
            .map(|(i, _)| (start + i) as Ix)
            .collect()
    }
}

#[derive(Debug, Clone, Copy)]
enum Point {
    Base,
    /// `head` of a project with no revisions.
    Nothing,
    At(Ix),
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
        let matches = name == id || (name.starts_with(id) && name.as_bytes().get(id.len()) == Some(&b'_'));
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

fn resolve_references(
    rev: &Revision,
    refs: &[RevisionId],
    field: &'static str,
    by_id: &HashMap<RevisionId, Ix>,
) -> Result<Vec<Ix>, GraphError> {
    let mut out: Vec<Ix> = Vec::with_capacity(refs.len());
    for other in refs {
        if other == rev.id() {
            return Err(GraphError::SelfReference { id: rev.id().clone(), field, path: rev.manifest_path.clone() });
        }
        let Some(&ix) = by_id.get(other) else {
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
            kind @ (RevisionKind::Sql | RevisionKind::Component) if count >= 2 => {
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
