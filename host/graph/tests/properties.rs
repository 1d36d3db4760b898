//! Property tests on random DAGs of up to a few hundred revisions, with branch labels and cross-branch `depends_on`: upgrade and downgrade plans keep their promises (parents and dependencies first, children reverted first, merges never), branch downgrades revert only the branch and what needs it, heads are normalized through `depends_on`, plans are deterministic, and every injected cycle is refused.

use std::collections::BTreeSet;

use proptest::prelude::*;
use wasmig_graph::{AppliedSet, Direction, Graph, GraphError, PlanError, Revision, RevisionKind, Target};

/// A random DAG: node `i` may only point at nodes `< i`, so it is acyclic by
/// construction. Ids are scrambled so that id order (the tie-break) differs
/// from creation order.
#[derive(Debug, Clone)]
struct Dag {
    ids: Vec<String>,
    parents: Vec<Vec<usize>>,
    depends_on: Vec<Vec<usize>>,
}

impl Dag {
    fn revisions(&self) -> Vec<Revision> {
        (0..self.ids.len()).map(|i| self.revision(i)).collect()
    }

    fn revision(&self, i: usize) -> Revision {
        let parents: Vec<&str> = self.parents[i].iter().map(|&p| self.ids[p].as_str()).collect();
        let deps: Vec<&str> = self.depends_on[i].iter().map(|&d| self.ids[d].as_str()).collect();
        let revision = Revision::in_memory(&self.ids[i], &parents).with_depends_on(&deps);
        match self.label(i) {
            Some(label) => revision.with_labels(&[label.as_str()]),
            None => revision,
        }
    }

    /// Every fifth revision carries a branch label.
    fn label(&self, i: usize) -> Option<String> {
        i.is_multiple_of(5).then(|| format!("lab_{}", self.ids[i]))
    }

    fn needs(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        self.parents[i].iter().chain(&self.depends_on[i]).copied()
    }

    /// `start` and everything it needs.
    fn closure(&self, start: impl IntoIterator<Item = usize>) -> BTreeSet<usize> {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<usize> = start.into_iter().collect();
        while let Some(i) = stack.pop() {
            if seen.insert(i) {
                stack.extend(self.needs(i));
            }
        }
        seen
    }

    /// `b`, its ancestors and its descendants through parents only: the
    /// revisions on branch `b` in `b@...` targets.
    fn lineage(&self, b: usize) -> BTreeSet<usize> {
        let up_from = |i: usize| {
            let mut seen = BTreeSet::new();
            let mut stack = vec![i];
            while let Some(x) = stack.pop() {
                if seen.insert(x) {
                    stack.extend(self.parents[x].iter().copied());
                }
            }
            seen
        };
        let mut lineage = up_from(b);
        lineage.extend((0..self.ids.len()).filter(|&j| up_from(j).contains(&b)));
        lineage
    }

    fn index(&self, id: &str) -> usize {
        self.ids.iter().position(|x| x == id).expect("known id")
    }

    fn names(&self, set: &BTreeSet<usize>) -> AppliedSet {
        AppliedSet::new(set.iter().map(|&i| self.ids[i].clone()))
    }
}

fn dag(max_nodes: usize) -> impl Strategy<Value = Dag> {
    (1..=max_nodes)
        .prop_flat_map(|n| proptest::collection::vec((0u32..100, any::<u64>(), any::<u64>(), any::<u64>()), n))
        .prop_map(|nodes| {
            let n = nodes.len();
            let ids = (0..n).map(|i| format!("r{:05}", (i * 7919) % 10007)).collect();
            let mut parents = Vec::with_capacity(n);
            let mut depends_on = Vec::with_capacity(n);
            for (i, (roll, s1, s2, s3)) in nodes.into_iter().enumerate() {
                let mut own: Vec<usize> = Vec::new();
                if i > 0 {
                    // Mostly chains hanging off recent revisions, some merges, a few new bases.
                    let want = match roll {
                        0..=4 => 0,
                        5..=79 => 1,
                        80..=94 => 2,
                        _ => 3,
                    };
                    for seed in [s1, s2, s3].into_iter().take(want) {
                        let recent = (i as u64).min(12);
                        let p = i - 1 - (seed % recent) as usize;
                        if !own.contains(&p) {
                            own.push(p);
                        }
                    }
                }
                let mut deps = Vec::new();
                if i > 1 && s3 % 9 == 0 {
                    let d = (s2 % i as u64) as usize;
                    if !own.contains(&d) {
                        deps.push(d);
                    }
                }
                parents.push(own);
                depends_on.push(deps);
            }
            Dag { ids, parents, depends_on }
        })
}

fn graph_of(d: &Dag) -> Graph {
    Graph::new(d.revisions()).expect("generated DAGs are valid")
}

/// An ancestor-closed applied set chosen by `picks`.
fn applied_from(d: &Dag, picks: &[u64]) -> BTreeSet<usize> {
    let n = d.ids.len();
    d.closure(picks.iter().map(|&p| (p % n as u64) as usize))
}

fn replay(d: &Dag, start: &BTreeSet<usize>, steps: &[wasmig_graph::Step]) -> BTreeSet<usize> {
    let mut set = start.clone();
    for step in steps {
        let i = d.index(step.revision.as_str());
        match step.direction {
            Direction::Up => {
                for need in d.needs(i) {
                    assert!(set.contains(&need), "{} applied before what it needs, {}", step.revision, d.ids[need]);
                }
                assert!(set.insert(i), "{} applied twice", step.revision);
            }
            Direction::Down => {
                assert!(set.remove(&i), "{} reverted but not applied", step.revision);
                for (j, _) in d.ids.iter().enumerate() {
                    if set.contains(&j) {
                        assert!(
                            !d.needs(j).any(|x| x == i),
                            "{} reverted while {} still needs it",
                            step.revision,
                            d.ids[j]
                        );
                    }
                }
            }
        }
    }
    set
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn upgrade_reaches_exactly_the_targets_ancestors(d in dag(300), picks in proptest::collection::vec(any::<u64>(), 0..4), target in any::<u64>()) {
        let g = graph_of(&d);
        let start = applied_from(&d, &picks);
        let t = (target % d.ids.len() as u64) as usize;
        let plan = g.plan(&d.names(&start), &Target::Revision(d.ids[t].clone()), Direction::Up).unwrap();
        let end = replay(&d, &start, &plan.steps);
        let expected: BTreeSet<usize> = start.union(&d.closure([t])).copied().collect();
        prop_assert_eq!(&end, &expected);
        let claimed: BTreeSet<usize> = plan.resulting_applied().iter().map(|id| d.index(id.as_str())).collect();
        prop_assert_eq!(claimed, end);

        // `heads` applies everything.
        let all = g.plan(&d.names(&start), &Target::Heads, Direction::Up).unwrap();
        prop_assert_eq!(replay(&d, &start, &all.steps).len(), d.ids.len());
    }

    #[test]
    fn downgrades_never_revert_a_merge_and_stay_closed(d in dag(300), picks in proptest::collection::vec(any::<u64>(), 1..4), target in any::<u64>()) {
        let g = graph_of(&d);
        let start = applied_from(&d, &picks);
        let members: Vec<usize> = start.iter().copied().collect();
        let choice = (target % (members.len() as u64 + 1)) as usize;
        let (t, target) = match members.get(choice) {
            Some(&t) => (Some(t), Target::Revision(d.ids[t].clone())),
            None => (None, Target::Base),
        };
        // What must be reverted: applied revisions that (transitively) need a
        // child of t through parents. t stays, so what only depends on t stays.
        let doomed: BTreeSet<usize> = match t {
            None => start.clone(),
            Some(t) => {
                let children: Vec<usize> = (0..d.ids.len()).filter(|&c| d.parents[c].contains(&t)).collect();
                start.iter().copied().filter(|&j| children.iter().any(|c| d.closure([j]).contains(c))).collect()
            }
        };
        let merge_doomed = doomed.iter().any(|&j| d.parents[j].len() >= 2);
        match g.plan(&d.names(&start), &target, Direction::Down) {
            Ok(plan) => {
                prop_assert!(!merge_doomed, "a plan reverts a merge");
                for step in &plan.steps {
                    prop_assert!(d.parents[d.index(step.revision.as_str())].len() < 2, "merge {} reverted", step.revision);
                }
                let end = replay(&d, &start, &plan.steps);
                for &j in &end {
                    prop_assert!(d.needs(j).all(|x| end.contains(&x)), "applied set not closed at {}", d.ids[j]);
                }
                let expected: BTreeSet<usize> = start.difference(&doomed).copied().collect();
                prop_assert_eq!(end, expected);
            }
            Err(PlanError::WouldRevertMerge { merges, allowed, .. }) => {
                prop_assert!(merge_doomed);
                prop_assert!(!merges.is_empty() && !allowed.is_empty());
                // Every suggested target is itself an allowed downgrade.
                for ok in allowed {
                    let plan = g.plan(&d.names(&start), &Target::Revision(ok.to_string()), Direction::Down);
                    prop_assert!(plan.is_ok(), "suggested target {} refused: {:?}", ok, plan.err());
                }
            }
            Err(e) => prop_assert!(false, "unexpected refusal: {e}"),
        }
    }

    #[test]
    fn plans_are_deterministic(d in dag(200), picks in proptest::collection::vec(any::<u64>(), 0..3), seed in any::<u64>()) {
        let g = graph_of(&d);
        let start = d.names(&applied_from(&d, &picks));
        let mut shuffled = d.revisions();
        // A cheap deterministic shuffle: rotate and reverse by the seed.
        let len = shuffled.len();
        shuffled.rotate_left((seed % len as u64) as usize);
        if seed % 2 == 0 {
            shuffled.reverse();
        }
        let g2 = Graph::new(shuffled).unwrap();
        for dir in [Direction::Up, Direction::Down] {
            let target = if dir == Direction::Up { Target::Heads } else { Target::Base };
            let a = g.plan(&start, &target, dir);
            let b = g.plan(&start, &target, dir);
            let c = g2.plan(&start, &target, dir);
            prop_assert_eq!(&a, &b);
            prop_assert_eq!(&a, &c);
        }
        let order1: Vec<_> = g.topological_order().map(|r| r.id().clone()).collect();
        let order2: Vec<_> = g2.topological_order().map(|r| r.id().clone()).collect();
        prop_assert_eq!(order1, order2);
    }

    #[test]
    fn every_injected_cycle_is_refused(d in dag(200), lower in any::<u64>(), upper in any::<u64>(), as_parent in any::<bool>()) {
        let n = d.ids.len();
        prop_assume!(n >= 2);
        // Pick v needing u (possibly indirectly), then make u need v.
        let v = 1 + (upper % (n as u64 - 1)) as usize;
        let below: Vec<usize> = d.closure([v]).into_iter().filter(|&x| x != v).collect();
        prop_assume!(!below.is_empty());
        let u = below[(lower % below.len() as u64) as usize];
        let mut revs = d.revisions();
        let v_id = wasmig_graph::RevisionId::parse(&d.ids[v]).unwrap();
        let manifest = &mut revs[u].manifest;
        if as_parent {
            manifest.parents.push(v_id);
            if manifest.parents.len() >= 2 {
                manifest.kind = RevisionKind::Merge;
            }
        } else {
            manifest.depends_on.push(v_id);
        }
        match Graph::new(revs) {
            Err(GraphError::Cycle { cycle, .. }) => {
                // Each named revision needs the next one... in reverse: the
                // cycle is listed parent -> child, so each needs the previous.
                let mut edges: Vec<(usize, usize)> = Vec::new();
                for (k, id) in cycle.iter().enumerate() {
                    let child = d.index(cycle[(k + 1) % cycle.len()].as_str());
                    edges.push((d.index(id.as_str()), child));
                }
                for (parent, child) in edges {
                    let direct = d.needs(child).any(|x| x == parent) || (child == u && parent == v);
                    prop_assert!(direct, "{} -> {} is not an edge", d.ids[parent], d.ids[child]);
                }
            }
            other => prop_assert!(false, "cycle through {} and {} accepted: {:?}", d.ids[u], d.ids[v], other.map(|g| g.len())),
        }
    }

    #[test]
    fn applied_heads_imply_exactly_the_applied_set(d in dag(300), picks in proptest::collection::vec(any::<u64>(), 0..5), target in any::<u64>()) {
        let g = graph_of(&d);
        let start = applied_from(&d, &picks);
        // The heads a plan claims are those of the set it leaves, normalized too.
        let t = (target % d.ids.len() as u64) as usize;
        let plan = g.plan(&d.names(&start), &Target::Revision(d.ids[t].clone()), Direction::Up).unwrap();
        let end = replay(&d, &start, &plan.steps);
        let claimed: Vec<usize> = plan.resulting_heads().iter().map(|id| d.index(id.as_str())).collect();
        prop_assert_eq!(d.closure(claimed.iter().copied()), end.clone());
        prop_assert!(claimed.iter().all(|&h| !claimed.iter().any(|&o| o != h && d.closure([o]).contains(&h))));
        let heads: Vec<usize> = g.applied_heads(&d.names(&start)).iter().map(|id| d.index(id.as_str())).collect();
        prop_assert_eq!(d.closure(heads.iter().copied()), start);
        for &h in &heads {
            for &other in &heads {
                prop_assert!(h == other || !d.closure([other]).contains(&h), "{} implied by {}", d.ids[h], d.ids[other]);
            }
        }
    }

    #[test]
    fn branch_downgrades_revert_the_branch_and_what_needs_it(d in dag(200), picks in proptest::collection::vec(any::<u64>(), 1..4), b in any::<u64>()) {
        let g = graph_of(&d);
        let start = applied_from(&d, &picks);
        let branch = (b % d.ids.len() as u64) as usize;
        let on_branch: BTreeSet<usize> = d.lineage(branch).intersection(&start).copied().collect();
        let doomed: BTreeSet<usize> =
            start.iter().copied().filter(|&j| d.closure([j]).iter().any(|x| on_branch.contains(x))).collect();
        let name = d.label(branch).unwrap_or_else(|| d.ids[branch].clone());
        let target = Target::parse(&format!("{name}@base")).unwrap();
        match g.plan(&d.names(&start), &target, Direction::Down) {
            Ok(plan) => {
                prop_assert!(!doomed.iter().any(|&j| d.parents[j].len() >= 2), "a plan reverts a merge");
                let end = replay(&d, &start, &plan.steps);
                let expected: BTreeSet<usize> = start.difference(&doomed).copied().collect();
                prop_assert_eq!(end, expected);
            }
            Err(PlanError::WouldRevertMerge { .. }) => {
                prop_assert!(doomed.iter().any(|&j| d.parents[j].len() >= 2));
            }
            Err(e) => prop_assert!(false, "unexpected refusal: {e}"),
        }
    }
}
