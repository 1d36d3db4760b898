//! Table-driven plan cases with one-letter ids, in the spirit of Alembic's
//! `test_version_traversal.py`: (graph, applied set, target, direction) ->
//! (steps, resulting heads), or the refusal expected. Every accepted plan is
//! replayed step by step to check the heads it claims.

mod common;

use common::{applied, graph};
use wasmig_graph::{AppliedSet, Direction, PlanError, ResolveError, Target};

const LINEAR: &str = "a b:a c:b d:c";
const TWO_BRANCHES: &str = "a b:a c:b d:a e:d";
const MERGE: &str = "a b:a c:a d:b,c e:d";
const MERGE_OF_THREE: &str = "a b:a c:a d:a m:b,c,d";
const BRANCH_ABOVE_MERGE: &str = "a b:a c:a m:b,c x:m y:m";
const TWO_BASES: &str = "a b:a x y:x";
const DEPENDS_ACROSS: &str = "a b:a c:b x y:x>b z:y";
const LABELS: &str = "a b:a#feat c:b d:a#other e:d f:e";
const LABEL_FORKS: &str = "a b:a#feat c:b d:b";

/// What a case expects.
enum Expect {
    /// Steps as `+x` / `-x`, space separated; resulting heads, space separated.
    Plan(&'static str, &'static str),
    Refused(fn(&PlanError) -> bool),
}
use Expect::{Plan, Refused};

const UP: Direction = Direction::Up;
const DOWN: Direction = Direction::Down;

struct Case {
    graph: &'static str,
    applied: &'static str,
    target: &'static str,
    direction: Direction,
    expect: Expect,
}

const fn case(
    graph: &'static str,
    applied: &'static str,
    target: &'static str,
    direction: Direction,
    expect: Expect,
) -> Case {
    Case { graph, applied, target, direction, expect }
}

fn several_heads(e: &PlanError) -> bool {
    matches!(e, PlanError::Resolve(ResolveError::SeveralHeads { .. }))
}
fn past_head(e: &PlanError) -> bool {
    matches!(e, PlanError::Resolve(ResolveError::PastHead { .. }))
}
fn past_base(e: &PlanError) -> bool {
    matches!(e, PlanError::Resolve(ResolveError::PastBase { .. }))
}
fn ambiguous_step(e: &PlanError) -> bool {
    matches!(e, PlanError::Resolve(ResolveError::AmbiguousStep { .. }))
}
fn several_current(e: &PlanError) -> bool {
    matches!(e, PlanError::Resolve(ResolveError::SeveralCurrentHeads { .. }))
}
fn wrong_direction(e: &PlanError) -> bool {
    matches!(e, PlanError::WrongDirection { .. })
}
fn not_applied(e: &PlanError) -> bool {
    matches!(e, PlanError::DowngradeTargetNotApplied { .. })
}
fn reverts_merge(e: &PlanError) -> bool {
    matches!(e, PlanError::WouldRevertMerge { .. })
}
fn unknown_applied(e: &PlanError) -> bool {
    matches!(e, PlanError::UnknownApplied { .. })
}
fn unknown_target(e: &PlanError) -> bool {
    matches!(e, PlanError::Resolve(ResolveError::Unknown { .. }))
}
fn unknown_label(e: &PlanError) -> bool {
    matches!(e, PlanError::Resolve(ResolveError::UnknownLabel { .. }))
}
fn label_forks(e: &PlanError) -> bool {
    matches!(e, PlanError::Resolve(ResolveError::LabelSeveralHeads { .. }))
}

const CASES: &[Case] = &[
    // Linear.
    case(LINEAR, "", "head", UP, Plan("+a +b +c +d", "d")),
    case(LINEAR, "a b", "head", UP, Plan("+c +d", "d")),
    case(LINEAR, "a b", "heads", UP, Plan("+c +d", "d")),
    case(LINEAR, "", "b", UP, Plan("+a +b", "b")),
    case(LINEAR, "a b c", "b", UP, Plan("", "c")),
    case(LINEAR, "a b c d", "base", DOWN, Plan("-d -c -b -a", "")),
    case(LINEAR, "a b c d", "b", DOWN, Plan("-d -c", "b")),
    case(LINEAR, "a b c d", "head", DOWN, Plan("", "d")),
    case(LINEAR, "", "base", DOWN, Plan("", "")),
    case(LINEAR, "a", "d", DOWN, Refused(not_applied)),
    case(LINEAR, "", "base", UP, Refused(wrong_direction)),
    case(LINEAR, "a b", "zz", UP, Refused(unknown_target)),
    case(LINEAR, "a q", "head", UP, Refused(unknown_applied)),
    case(LINEAR, "a q", "base", DOWN, Refused(unknown_applied)),
    // Relative targets.
    case(LINEAR, "", "+1", UP, Plan("+a", "a")),
    case(LINEAR, "a b", "+1", UP, Plan("+c", "c")),
    case(LINEAR, "a b", "+2", UP, Plan("+c +d", "d")),
    case(LINEAR, "a b", "+3", UP, Refused(past_head)),
    case(LINEAR, "a b c", "-1", DOWN, Plan("-c", "b")),
    case(LINEAR, "a", "-1", DOWN, Plan("-a", "")),
    case(LINEAR, "a", "-2", DOWN, Refused(past_base)),
    case(LINEAR, "", "-1", DOWN, Refused(past_base)),
    case(LINEAR, "a b", "-1", UP, Refused(wrong_direction)),
    case(LINEAR, "a b", "+1", DOWN, Refused(wrong_direction)),
    case(LINEAR, "a", "b+1", UP, Plan("+b +c", "c")),
    case(LINEAR, "", "c+2", UP, Refused(past_head)),
    case(LINEAR, "a b c d", "d-2", DOWN, Plan("-d -c", "b")),
    case(LINEAR, "a b c d", "b-2", DOWN, Plan("-d -c -b -a", "")),
    case(LINEAR, "a b c d", "b-3", DOWN, Refused(past_base)),
    case(LINEAR, "a b c d", "head-1", DOWN, Plan("-d", "c")),
    case(LINEAR, "", "base+2", UP, Plan("+a +b", "b")),
    // Two branches from one base.
    case(TWO_BRANCHES, "", "head", UP, Refused(several_heads)),
    case(TWO_BRANCHES, "", "heads", UP, Plan("+a +b +c +d +e", "c e")),
    case(TWO_BRANCHES, "", "e", UP, Plan("+a +d +e", "e")),
    case(TWO_BRANCHES, "a b c", "e", UP, Plan("+d +e", "c e")),
    case(TWO_BRANCHES, "a b c d e", "b", DOWN, Plan("-c", "b e")),
    case(TWO_BRANCHES, "a b c d e", "a", DOWN, Plan("-e -d -c -b", "a")),
    case(TWO_BRANCHES, "a b c d e", "base", DOWN, Plan("-e -d -c -b -a", "")),
    case(TWO_BRANCHES, "a b c d e", "c-1", DOWN, Plan("-c", "b e")),
    case(TWO_BRANCHES, "a", "+1", UP, Refused(ambiguous_step)),
    case(TWO_BRANCHES, "a b c", "a+1", UP, Refused(ambiguous_step)),
    case(TWO_BRANCHES, "a b c d e", "-1", DOWN, Refused(several_current)),
    case(TWO_BRANCHES, "a b c d e", "+1", UP, Refused(several_current)),
    case(TWO_BRANCHES, "a b c d e", "heads", DOWN, Refused(wrong_direction)),
    // A merge.
    case(MERGE, "", "head", UP, Plan("+a +b +c +d +e", "e")),
    case(MERGE, "a b", "head", UP, Plan("+c +d +e", "e")),
    case(MERGE, "a b", "c", UP, Plan("+c", "b c")),
    case(MERGE, "a b c d e", "d", DOWN, Plan("-e", "d")),
    case(MERGE, "a b c d e", "-1", DOWN, Plan("-e", "d")),
    case(MERGE, "a b c d", "e-1", DOWN, Plan("", "d")),
    case(MERGE, "a b c d e", "b", DOWN, Refused(reverts_merge)),
    case(MERGE, "a b c d e", "base", DOWN, Refused(reverts_merge)),
    case(MERGE, "a b c d e", "-2", DOWN, Refused(ambiguous_step)),
    case(MERGE, "a b c", "-1", DOWN, Refused(several_current)),
    // A merge of three.
    case(MERGE_OF_THREE, "", "head", UP, Plan("+a +b +c +d +m", "m")),
    case(MERGE_OF_THREE, "a b", "m", UP, Plan("+c +d +m", "m")),
    case(MERGE_OF_THREE, "a b c d", "a", DOWN, Plan("-d -c -b", "a")),
    case(MERGE_OF_THREE, "a b c d m", "m", DOWN, Plan("", "m")),
    case(MERGE_OF_THREE, "a b c d m", "a", DOWN, Refused(reverts_merge)),
    // A branch point above a merge.
    case(BRANCH_ABOVE_MERGE, "", "head", UP, Refused(several_heads)),
    case(BRANCH_ABOVE_MERGE, "", "x", UP, Plan("+a +b +c +m +x", "x")),
    case(BRANCH_ABOVE_MERGE, "a b c m x", "y", UP, Plan("+y", "x y")),
    case(BRANCH_ABOVE_MERGE, "a b c m x y", "m", DOWN, Plan("-y -x", "m")),
    case(BRANCH_ABOVE_MERGE, "a b c m x y", "x", DOWN, Plan("", "x y")),
    case(BRANCH_ABOVE_MERGE, "a b c m x", "m+1", UP, Refused(ambiguous_step)),
    case(BRANCH_ABOVE_MERGE, "a b c m x y", "base", DOWN, Refused(reverts_merge)),
    case(BRANCH_ABOVE_MERGE, "a b c m x", "b", DOWN, Refused(reverts_merge)),
    // Two bases.
    case(TWO_BASES, "", "heads", UP, Plan("+a +b +x +y", "b y")),
    case(TWO_BASES, "", "head", UP, Refused(several_heads)),
    case(TWO_BASES, "a b", "y", UP, Plan("+x +y", "b y")),
    case(TWO_BASES, "a b x y", "a", DOWN, Plan("-b", "a y")),
    case(TWO_BASES, "a b x y", "base", DOWN, Plan("-y -x -b -a", "")),
    case(TWO_BASES, "", "base+1", UP, Refused(ambiguous_step)),
    // depends_on across branches: y (on x's branch) needs b.
    // Heads of an applied set follow depends_on as Alembic's version table
    // does: `b` is implied by `y`, which depends on it.
    case(DEPENDS_ACROSS, "", "z", UP, Plan("+a +b +x +y +z", "z")),
    case(DEPENDS_ACROSS, "a x", "y", UP, Plan("+b +y", "y")),
    case(DEPENDS_ACROSS, "", "head", UP, Refused(several_heads)),
    // Down to b keeps b, so y (which only depends on b) stays.
    case(DEPENDS_ACROSS, "a b c x y z", "b", DOWN, Plan("-c", "z")),
    case(DEPENDS_ACROSS, "a b c x y z", "x", DOWN, Plan("-z -y", "c x")),
    case(DEPENDS_ACROSS, "a b c x y z", "a", DOWN, Plan("-z -y -c -b", "a x")),
    // Branch labels.
    case(LABELS, "", "feat@head", UP, Plan("+a +b +c", "c")),
    case(LABELS, "", "other@head", UP, Plan("+a +d +e +f", "f")),
    case(LABELS, "", "feat", UP, Plan("+a +b", "b")),
    case(LABELS, "", "other@head-1", UP, Plan("+a +d +e", "e")),
    case(LABELS, "a b c d e f", "feat", DOWN, Plan("-c", "b f")),
    case(LABELS, "a b c d e f", "other@head-2", DOWN, Plan("-f -e", "c d")),
    case(LABELS, "", "nolabel@head", UP, Refused(unknown_label)),
    case(LABEL_FORKS, "", "feat@head", UP, Refused(label_forks)),
];

fn steps_text(plan: &wasmig_graph::Plan) -> String {
    plan.steps
        .iter()
        .map(|s| format!("{}{}", if s.direction == Direction::Up { '+' } else { '-' }, s.revision))
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn traversal_table() {
    let mut failures = Vec::new();
    for (n, c) in CASES.iter().enumerate() {
        let g = graph(c.graph);
        let start = applied(c.applied);
        let label =
            format!("case {n}: graph `{}`, applied `{}`, {:?} to `{}`", c.graph, c.applied, c.direction, c.target);
        let target = Target::parse(c.target).unwrap_or_else(|e| panic!("{label}: {e}"));
        match (g.plan(&start, &target, c.direction), &c.expect) {
            (Ok(plan), Plan(steps, heads)) => {
                if steps_text(&plan) != *steps {
                    failures.push(format!("{label}: steps `{}`, expected `{steps}`", steps_text(&plan)));
                    continue;
                }
                let replayed = replay(&start, &plan);
                let replayed_heads =
                    g.applied_heads(&replayed).iter().map(ToString::to_string).collect::<Vec<_>>().join(" ");
                let claimed = plan.resulting_heads().iter().map(ToString::to_string).collect::<Vec<_>>().join(" ");
                if replayed_heads != *heads || claimed != *heads {
                    failures.push(format!(
                        "{label}: heads after replay `{replayed_heads}`, claimed `{claimed}`, expected `{heads}`"
                    ));
                }
                let claimed_applied: Vec<&str> = plan.resulting_applied().iter().map(|id| id.as_str()).collect();
                if claimed_applied != replayed.iter().collect::<Vec<_>>() {
                    failures.push(format!("{label}: resulting applied set differs from the replay"));
                }
            }
            (Ok(plan), Refused(_)) => {
                failures.push(format!("{label}: expected a refusal, got `{}`", steps_text(&plan)))
            }
            (Err(e), Plan(..)) => failures.push(format!("{label}: refused: {e}")),
            (Err(e), Refused(check)) => {
                if !check(&e) {
                    failures.push(format!("{label}: refused with the wrong error: {e:?}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), CASES.len(), failures.join("\n"));
}

/// Runs the steps against a set, checking each one is possible.
fn replay(start: &AppliedSet, plan: &wasmig_graph::Plan) -> AppliedSet {
    let mut set = start.clone();
    for step in &plan.steps {
        match step.direction {
            Direction::Up => assert!(set.insert(step.revision.as_str()), "{} applied twice", step.revision),
            Direction::Down => {
                assert!(set.remove(step.revision.as_str()), "{} reverted but not applied", step.revision)
            }
        }
    }
    set
}

#[test]
fn refusals_name_what_to_do() {
    let g = graph(TWO_BRANCHES);
    let err = g.plan(&AppliedSet::empty(), &Target::Head, UP).unwrap_err().to_string();
    assert!(err.contains("c, e"), "{err}");
    assert!(err.contains("wasmig merge -m \"merge heads\" c e"), "{err}");

    let g = graph(BRANCH_ABOVE_MERGE);
    let err = g.plan(&applied("a b c m x y"), &Target::Base, DOWN).unwrap_err();
    let PlanError::WouldRevertMerge { merges, allowed, .. } = &err else { panic!("{err:?}") };
    assert_eq!(merges.len(), 1);
    assert_eq!(merges[0].id.as_str(), "m");
    assert_eq!(merges[0].parents.iter().map(|p| p.as_str()).collect::<Vec<_>>(), ["b", "c"]);
    assert_eq!(allowed.iter().map(|p| p.as_str()).collect::<Vec<_>>(), ["m"]);
    let text = err.to_string();
    assert!(text.contains("`m` (merge of b, c)") && text.contains("refused before any step"), "{text}");

    // Two merges stacked: only the upper one reverts nothing that is a merge.
    let g = graph("a b:a c:a m:b,c d:m e:m n:d,e f:n");
    let err = g.plan(&applied("a b c m d e n f"), &Target::parse("b").unwrap(), DOWN).unwrap_err();
    let PlanError::WouldRevertMerge { merges, allowed, .. } = &err else { panic!("{err:?}") };
    assert_eq!(merges.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(), ["m", "n"]);
    assert_eq!(allowed.iter().map(|p| p.as_str()).collect::<Vec<_>>(), ["n"]);

    let g = graph(LINEAR);
    let err = g.plan(&applied("a zz9 q"), &Target::Head, UP).unwrap_err();
    assert_eq!(err, PlanError::UnknownApplied { ids: vec!["q".into(), "zz9".into()] });
    assert_eq!(g.unknown_applied(&applied("a q")), ["q"]);
}

#[test]
fn resolving_prefixes_and_labels() {
    let g = graph("abcd1 abcd2:abcd1 abce9:abcd2 bcdef:abce9#abce");
    assert_eq!(g.resolve("abcd2").unwrap().id().as_str(), "abcd2");
    assert_eq!(g.resolve("abce9").unwrap().id().as_str(), "abce9");
    assert_eq!(g.resolve("bcde").unwrap().id().as_str(), "bcdef");
    assert!(matches!(g.resolve("abcd"), Err(ResolveError::AmbiguousPrefix { matches, .. }) if matches.len() == 2));
    let err = g.resolve("abce").unwrap_err();
    assert!(matches!(&err, ResolveError::PrefixAlsoLabel { label_revision, prefix_matches, .. }
        if label_revision.as_str() == "bcdef" && prefix_matches.len() == 1));
    assert!(err.to_string().contains("bcdef") && err.to_string().contains("abce9"), "{err}");
    // A unique prefix of three characters resolves (as in Alembic); shorter
    // ones never match, and the error says why.
    assert!(matches!(g.resolve("abc"), Err(ResolveError::AmbiguousPrefix { matches, .. }) if matches.len() == 3));
    assert_eq!(g.resolve("bcd").unwrap().id().as_str(), "bcdef");
    let err = g.resolve("bc").unwrap_err();
    assert!(err.to_string().contains("at least 3"), "{err}");
    assert!(matches!(g.resolve("zzzz"), Err(ResolveError::Unknown { .. })));

    // An exact one-letter id wins over anything else.
    let g = graph("a ab:a abcd:ab");
    assert_eq!(g.resolve("a").unwrap().id().as_str(), "a");
    assert_eq!(g.resolve("ab").unwrap().id().as_str(), "ab");
}

#[test]
fn queries() {
    let g = graph(BRANCH_ABOVE_MERGE);
    let ids =
        |revs: Vec<&wasmig_graph::Revision>| revs.iter().map(|r| r.id().to_string()).collect::<Vec<_>>().join(" ");
    assert_eq!(ids(g.heads()), "x y");
    assert_eq!(ids(g.bases()), "a");
    assert_eq!(ids(g.branch_points()), "a m");
    assert_eq!(ids(g.merge_points()), "m");
    assert_eq!(ids(g.ancestors("x").unwrap()), "a b c m");
    assert_eq!(ids(g.descendants("b").unwrap()), "m x y");
    assert_eq!(ids(g.children("m").unwrap()), "x y");
    assert!(g.get("nope").is_none() && g.ancestors("nope").is_none());
    assert_eq!(ids(g.topological_order().collect()), "a b c m x y");
    assert_eq!(ids(g.history(&[], &[])), "y x m c b a");
    let id = |s: &str| wasmig_graph::RevisionId::parse(s).unwrap();
    assert_eq!(ids(g.history(&[id("b")], &[id("x")])), "x m b");

    let g = graph(DEPENDS_ACROSS);
    assert_eq!(ids(g.heads()), "c z", "depends_on does not make a child");
    assert_eq!(ids(g.ancestors("y").unwrap()), "a b x");
    assert_eq!(ids(g.dependents("b").unwrap()), "y");
    assert_eq!(ids(g.descendants("b").unwrap()), "c y z");

    let g = graph(LABELS);
    assert_eq!(g.label("feat").unwrap().id().as_str(), "b");
    assert_eq!(ids(g.label_heads("other").unwrap()), "f");
    assert_eq!(g.branch_labels().map(|(l, r)| format!("{l}={}", r.id())).collect::<Vec<_>>(), ["feat=b", "other=d"]);
}

#[test]
fn kahn_tie_break_is_by_id_not_by_listing_order() {
    // The same graph listed in two orders plans identically.
    let forward = graph("a b:a c:a d:b e:c");
    let backward = graph("e:c d:b c:a b:a a");
    let steps = |g: &wasmig_graph::Graph| steps_text(&g.plan(&AppliedSet::empty(), &Target::Heads, UP).unwrap());
    assert_eq!(steps(&forward), "+a +b +c +d +e");
    assert_eq!(steps(&forward), steps(&backward));
}
