//! Alembic parity: the plan cases of Alembic's own `tests/test_version_traversal.py` and the resolution and iteration cases of `tests/test_revision.py` (1.19), same graphs, same targets, checked for the same steps and the same resulting heads, or for wasmig's documented, deliberate refusal.
//!
//! Alembic starts from version-table rows (heads); wasmig from the whole
//! applied set, so each case's start is the closure of Alembic's heads.
//! Alembic orders independent steps by the order its test created the
//! revisions, which wasmig does not have (it orders by id); so steps are
//! compared as sets, and every plan is replayed to check that each step is
//! possible where it stands. Deliberate differences (docs/GRAPH.md, "Where
//! wasmig differs from Alembic") are cases of their own: wasmig must refuse.

mod common;

use std::collections::BTreeSet;

use common::graph;
use wasmig_graph::{AppliedSet, Direction, Graph, PlanError, ResolveError, Target};

const UP: Direction = Direction::Up;
const DOWN: Direction = Direction::Down;

/// RevisionPathTest, with Alembic's own ids.
const REVISION_PATH: &str = "e6239818bb3a 548bbb905360:e6239818bb3a b7ea43dc85e4:548bbb905360 \
                             1bbe33445780:b7ea43dc85e4 3975fb1a0125:1bbe33445780";
const BRANCHED_PATH: &str = "a b:a c1:b#c1branch d1:c1 c2:b#c2branch d2:c2";
const BRANCH_FROM_MERGEPOINT: &str = "a1 b1:a1 c1:b1 a2 b2:a2 c2:b2 d1:c1,c2 d2:c2";
const BRANCH_FROM_3WAY_MERGEPOINT: &str = "a1 b1:a1 c1:b1 a2 b2:a2 c2:b2 a3 b3:a3 c3:b3 d1:c1,c2,c3 d2:c2 d3:c3";
const TWIN_MERGE: &str = "a b1:a b2:a b3:a c1:b1,b2,b3 c2:b1,b2,b3 d1:c1 d2:c2";
const NOT_QUITE_TWIN_MERGE: &str = "a b1:a b2:a b3:a c1:b1,b2 c2:b2,b3 d1:c1 d2:c2";
/// test_revision.py's MultipleBaseCrossDependencyTestOne/Two/Three.
const CROSS_ONE: &str = "base1#b_1 a1a:base1 a1b:base1 b1a:a1a b1b:a1b>a3 base2#b_2 a2:base2 b2:a2 c2:b2>a3 d2:c2 \
                         base3#b_3 a3:base3 b3:a3";
const CROSS_TWO: &str = "base1#b_1 a1:base1 b1:a1 c1:b1 base2>b_1#b_2 a2:base2 b2:a2 c2:b2 d2:c2 base3#b_3 a3:base3 \
                         b3:a3 c3:b3>b2 d3:c3";
const CROSS_THREE: &str = "base1 a1:base1 b1:a1 c2>a1 c3:c2";
/// test_revision.py's MultipleBranchEffectiveHead.
const EFFECTIVE_HEAD: &str = "y1#y x1#x y2:y1>x1 x2:x1";
const DEPENDS_ON_BRANCH_TWO: &str = "a1 a2 a3 amerge:a1,a2,a3 b1 b2 bmerge:b1,b2 c1 c2 c3 cmerge:c1,c2,c3 d1>a3,b2,c1";
const DEPENDS_ON_BRANCH_THREE: &str = "a1 a2:a1 b1 b2:b1>a2 b3:b2 a3:a2>b1";
const DEPENDS_ON_OWN_DOWNREV: &str = "a1 a2:a1>a1";
const DEPENDS_ON_BRANCH_FOUR: &str = "a1 a2:a1 a3:a2 b1 b2:b1>a3 b3:b2 b4:b3>a3";
const DEPENDS_ON_BRANCH_FIVE: &str = "a1 b1>a1 bmerge:a1,b1";
const DEPENDS_ON_BRANCH_LABEL: &str = "a1#lib1 b1:a1 c1:b1#c1lib a2 b2:a2 c2:b2>c1lib d1:c1 e1:d1 f1:e1";
const FOREST: &str = "a1 b1:a1 a2 b2:a2";
const MERGED_PATH: &str = "a b:a c1:b d1:c1 c2:b#c2branch d2:c2 e:d1,d2 f:e";
const CROSS_DEPENDENCIES: &str = "a b:a c1:b#c1branch d1:c1 c2:b#c2branch d2:c2>c1";

enum Expect {
    /// Alembic's steps (`+x` / `-x`) and resulting heads; wasmig agrees.
    Same(&'static str, &'static str),
    /// Alembic refuses too (with its own words).
    BothRefuse(fn(&PlanError) -> bool),
    /// Alembic plans it; wasmig refuses on purpose, for the reason given.
    WasmigRefuses(fn(&PlanError) -> bool, &'static str),
}
use Expect::{BothRefuse, Same, WasmigRefuses};

struct Case {
    alembic_test: &'static str,
    graph: &'static str,
    /// Alembic's starting version-table rows.
    heads: &'static str,
    target: &'static str,
    direction: Direction,
    expect: Expect,
}

const fn case(
    alembic_test: &'static str,
    graph: &'static str,
    heads: &'static str,
    target: &'static str,
    direction: Direction,
    expect: Expect,
) -> Case {
    Case { alembic_test, graph, heads, target, direction, expect }
}

fn any_refusal(_: &PlanError) -> bool {
    true
}
fn past_head(e: &PlanError) -> bool {
    matches!(e, PlanError::Resolve(ResolveError::PastHead { .. }))
}
fn past_base(e: &PlanError) -> bool {
    matches!(e, PlanError::Resolve(ResolveError::PastBase { .. }))
}
fn wrong_direction(e: &PlanError) -> bool {
    matches!(e, PlanError::WrongDirection { .. })
}
fn not_applied(e: &PlanError) -> bool {
    matches!(e, PlanError::DowngradeTargetNotApplied { .. })
}
fn several_current(e: &PlanError) -> bool {
    matches!(e, PlanError::Resolve(ResolveError::SeveralCurrentHeads { .. }))
}
fn reverts_merge(e: &PlanError) -> bool {
    matches!(e, PlanError::WouldRevertMerge { .. })
}

const MERGES_STAY: &str = "a merge revision is never reverted (docs/GRAPH.md)";
const ONE_CURRENT_HEAD: &str = "`-N` from several applied heads is ambiguous (Alembic warns and picks the first listed); wasmig asks for `BRANCH@-N`";

const CASES: &[Case] = &[
    // RevisionPathTest
    case("test_downgrade_base_no_version", REVISION_PATH, "", "base", DOWN, Same("", "")),
    case("test_downgrade_to_existing", REVISION_PATH, "e6239818bb3a", "e6239818bb3a", DOWN, Same("", "e6239818bb3a")),
    case(
        "test_downgrade_to_existing_head",
        REVISION_PATH,
        "3975fb1a0125",
        "3975fb1a0125",
        DOWN,
        Same("", "3975fb1a0125"),
    ),
    case(
        "test_upgrade_path",
        REVISION_PATH,
        "b7ea43dc85e4",
        "3975fb1a0125",
        UP,
        Same("+1bbe33445780 +3975fb1a0125", "3975fb1a0125"),
    ),
    case(
        "test_upgrade_path",
        REVISION_PATH,
        "",
        "b7ea43dc85e4",
        UP,
        Same("+e6239818bb3a +548bbb905360 +b7ea43dc85e4", "b7ea43dc85e4"),
    ),
    case(
        "test_relative_upgrade_path",
        REVISION_PATH,
        "e6239818bb3a",
        "+2",
        UP,
        Same("+548bbb905360 +b7ea43dc85e4", "b7ea43dc85e4"),
    ),
    case("test_relative_upgrade_path", REVISION_PATH, "e6239818bb3a", "+1", UP, Same("+548bbb905360", "548bbb905360")),
    case(
        "test_relative_upgrade_path",
        REVISION_PATH,
        "548bbb905360",
        "+3",
        UP,
        Same("+b7ea43dc85e4 +1bbe33445780 +3975fb1a0125", "3975fb1a0125"),
    ),
    case(
        "test_relative_upgrade_path",
        REVISION_PATH,
        "e6239818bb3a",
        "548bbb905360+2",
        UP,
        Same("+548bbb905360 +b7ea43dc85e4 +1bbe33445780", "1bbe33445780"),
    ),
    case(
        "test_relative_upgrade_path",
        REVISION_PATH,
        "e6239818bb3a",
        "1bbe33445780-2",
        UP,
        Same("+548bbb905360", "548bbb905360"),
    ),
    case("test_invalid_relative_upgrade_path", REVISION_PATH, "548bbb905360", "-2", UP, BothRefuse(wrong_direction)),
    case("test_invalid_relative_upgrade_path", REVISION_PATH, "548bbb905360", "+5", UP, BothRefuse(past_head)),
    case(
        "test_downgrade_path",
        REVISION_PATH,
        "3975fb1a0125",
        "b7ea43dc85e4",
        DOWN,
        Same("-3975fb1a0125 -1bbe33445780", "b7ea43dc85e4"),
    ),
    case(
        "test_downgrade_path",
        REVISION_PATH,
        "b7ea43dc85e4",
        "base",
        DOWN,
        Same("-b7ea43dc85e4 -548bbb905360 -e6239818bb3a", ""),
    ),
    case(
        "test_relative_downgrade_path",
        REVISION_PATH,
        "b7ea43dc85e4",
        "-1",
        DOWN,
        Same("-b7ea43dc85e4", "548bbb905360"),
    ),
    case(
        "test_relative_downgrade_path",
        REVISION_PATH,
        "3975fb1a0125",
        "-3",
        DOWN,
        Same("-3975fb1a0125 -1bbe33445780 -b7ea43dc85e4", "548bbb905360"),
    ),
    case(
        "test_relative_downgrade_path",
        REVISION_PATH,
        "1bbe33445780",
        "e6239818bb3a+2",
        DOWN,
        Same("-1bbe33445780", "b7ea43dc85e4"),
    ),
    case(
        "test_relative_downgrade_path",
        REVISION_PATH,
        "1bbe33445780",
        "b7ea43dc85e4-2",
        DOWN,
        Same("-1bbe33445780 -b7ea43dc85e4 -548bbb905360", "e6239818bb3a"),
    ),
    case("test_invalid_relative_downgrade_path", REVISION_PATH, "548bbb905360", "-5", DOWN, BothRefuse(past_base)),
    case(
        "test_invalid_relative_downgrade_path",
        REVISION_PATH,
        "548bbb905360",
        "+2",
        DOWN,
        BothRefuse(wrong_direction),
    ),
    case("test_invalid_move_rev_to_none", REVISION_PATH, "", "548", DOWN, BothRefuse(not_applied)),
    case("test_invalid_move_higher_to_lower", REVISION_PATH, "548bbb905360", "b7ea", DOWN, BothRefuse(not_applied)),
    // BranchedPathTest
    case("test_upgrade_single_branch", BRANCHED_PATH, "b", "d1", UP, Same("+c1 +d1", "d1")),
    case("test_downgrade_multiple_branch", BRANCHED_PATH, "d1 d2", "a", DOWN, Same("-d1 -c1 -d2 -c2 -b", "a")),
    case("test_relative_upgrade", BRANCHED_PATH, "b", "c2branch@head-1", UP, Same("+c2", "c2")),
    case("test_relative_downgrade_baseplus2", BRANCHED_PATH, "d2 d1", "base+2", DOWN, Same("-d1 -c1 -d2 -c2", "b")),
    case("test_relative_downgrade_branchplus2", BRANCHED_PATH, "d2 d1", "c2branch@base+2", DOWN, Same("-d2 -c2", "d1")),
    case("test_relative_downgrade_branchplus3", BRANCHED_PATH, "d2 d1", "c2", DOWN, Same("-d2", "d1 c2")),
    case("test_relative_downgrade_branchplus3", BRANCHED_PATH, "d2 d1", "c2branch@base+3", DOWN, Same("-d2", "d1 c2")),
    case(
        "test_downgrade_once_order_right",
        BRANCHED_PATH,
        "d2 d1",
        "-1",
        DOWN,
        WasmigRefuses(several_current, ONE_CURRENT_HEAD),
    ),
    case(
        "test_downgrade_once_order_left_unbalanced_labelled",
        BRANCHED_PATH,
        "d1 d2",
        "c1branch@-1",
        DOWN,
        Same("-d1", "c1 d2"),
    ),
    case("test_downgrade_relative_order_right", BRANCHED_PATH, "d2 c1", "d2-1", DOWN, Same("-d2", "c1 c2")),
    case("test_downgrade_relative_order_left", BRANCHED_PATH, "c1 d2", "d2-1", DOWN, Same("-d2", "c1 c2")),
    case("test_downgrade_single_branch_c1branch", BRANCHED_PATH, "c1 d2", "c1branch@b", DOWN, Same("-c1", "d2")),
    case(
        "test_downgrade_single_branch_c1branch_from_d1_head",
        BRANCHED_PATH,
        "c1 d2",
        "c2branch@b",
        DOWN,
        Same("-d2 -c2", "c1"),
    ),
    case("test_downgrade_single_branch_c2", BRANCHED_PATH, "d1 d2", "c2@b", DOWN, Same("-d2 -c2", "d1")),
    case("test_downgrade_single_branch_d1", BRANCHED_PATH, "d1 d2", "d1@b", DOWN, Same("-d1 -c1", "d2")),
    case(
        "test_downgrade_relative_to_branch_head",
        BRANCHED_PATH,
        "d1 d2",
        "c1branch@head-1",
        DOWN,
        Same("-d1", "c1 d2"),
    ),
    case("test_upgrade_other_branch_from_mergepoint", BRANCHED_PATH, "c1", "c2branch@+1", UP, Same("+c2", "c1 c2")),
    case("test_upgrade_one_branch_of_heads", BRANCHED_PATH, "c1 c2", "c2branch@+1", UP, Same("+d2", "c1 d2")),
    case("test_ambiguous_upgrade", BRANCHED_PATH, "c1 c2", "+1", UP, BothRefuse(several_current)),
    case("test_upgrade_from_base", BRANCHED_PATH, "", "base+1", UP, Same("+a", "a")),
    case("test_upgrade_from_base_implicit", BRANCHED_PATH, "", "+1", UP, Same("+a", "a")),
    case("test_downgrade_minus1_to_base", BRANCHED_PATH, "a", "-1", DOWN, Same("-a", "")),
    case("test_downgrade_minus1_from_base", BRANCHED_PATH, "", "-1", DOWN, BothRefuse(past_base)),
    case("test_downgrade_no_effect_branched", BRANCHED_PATH, "d1 c2", "c2", DOWN, Same("", "d1 c2")),
    case("test_downgrade_no_effect_branched", BRANCHED_PATH, "d1 c2", "d1", DOWN, Same("", "d1 c2")),
    // BranchFromMergepointTest
    case(
        "test_mergepoint_to_only_one_side_upgrade",
        BRANCH_FROM_MERGEPOINT,
        "d2 b1",
        "d1",
        UP,
        Same("+c1 +d1", "d2 d1"),
    ),
    case(
        "test_mergepoint_to_only_one_side_downgrade",
        BRANCH_FROM_MERGEPOINT,
        "d2 d1",
        "b1",
        DOWN,
        WasmigRefuses(reverts_merge, MERGES_STAY),
    ),
    // BranchFrom3WayMergepointTest
    case(
        "test_mergepoint_to_only_one_side_upgrade",
        BRANCH_FROM_3WAY_MERGEPOINT,
        "d3 d2 b1",
        "d1",
        UP,
        Same("+c1 +d1", "d3 d2 d1"),
    ),
    case(
        "test_mergepoint_to_only_one_side_downgrade",
        BRANCH_FROM_3WAY_MERGEPOINT,
        "d3 d2 d1",
        "b1",
        DOWN,
        WasmigRefuses(reverts_merge, MERGES_STAY),
    ),
    case(
        "test_mergepoint_to_two_sides_upgrade",
        BRANCH_FROM_3WAY_MERGEPOINT,
        "d3 b2 b1",
        "d1",
        UP,
        Same("+c2 +c1 +d1", "d3 d1"),
    ),
    case(
        "test_mergepoint_to_two_sides_upgrade",
        BRANCH_FROM_3WAY_MERGEPOINT,
        "d3 d1",
        "d2",
        UP,
        Same("+d2", "d3 d2 d1"),
    ),
    // TwinMergeTest (#297): Alembic checks the heads after each step; here
    // each step is an upgrade to that revision from the heads before it.
    case("test_upgrade b3", TWIN_MERGE, "a", "b3", UP, Same("+b3", "b3")),
    case("test_upgrade b1", TWIN_MERGE, "b3", "b1", UP, Same("+b1", "b1 b3")),
    case("test_upgrade b2", TWIN_MERGE, "b1 b3", "b2", UP, Same("+b2", "b1 b2 b3")),
    case("test_upgrade c2", TWIN_MERGE, "b1 b2 b3", "c2", UP, Same("+c2", "c2")),
    case("test_upgrade d2", TWIN_MERGE, "c2", "d2", UP, Same("+d2", "d2")),
    case("test_upgrade c1", TWIN_MERGE, "d2", "c1", UP, Same("+c1", "c1 d2")),
    case("test_upgrade d1", TWIN_MERGE, "c1 d2", "d1", UP, Same("+d1", "d1 d2")),
    // NotQuiteTwinMergeTest
    case("test_upgrade b2", NOT_QUITE_TWIN_MERGE, "a", "b2", UP, Same("+b2", "b2")),
    case("test_upgrade b3", NOT_QUITE_TWIN_MERGE, "b2", "b3", UP, Same("+b3", "b2 b3")),
    case("test_upgrade c2", NOT_QUITE_TWIN_MERGE, "b2 b3", "c2", UP, Same("+c2", "c2")),
    case("test_upgrade d2", NOT_QUITE_TWIN_MERGE, "c2", "d2", UP, Same("+d2", "d2")),
    case("test_upgrade b1", NOT_QUITE_TWIN_MERGE, "d2", "b1", UP, Same("+b1", "b1 d2")),
    case("test_upgrade c1", NOT_QUITE_TWIN_MERGE, "b1 d2", "c1", UP, Same("+c1", "c1 d2")),
    case("test_upgrade d1", NOT_QUITE_TWIN_MERGE, "c1 d2", "d1", UP, Same("+d1", "d1 d2")),
    // test_revision.py MultipleBranchEffectiveHead: `x@-1` counts on branch x,
    // from the applied set's effective heads (x1 is implied by y2).
    case("MultipleBranchEffectiveHead (x2, y2)", EFFECTIVE_HEAD, "x2 y2", "x@-1", DOWN, Same("-x2", "y2")),
    case("MultipleBranchEffectiveHead (x1, y2)", EFFECTIVE_HEAD, "x1 y2", "x@-1", DOWN, Same("-y2 -x1", "y1")),
    case("MultipleBranchEffectiveHead y2", EFFECTIVE_HEAD, "y2", "x@-1", DOWN, Same("-y2 -x1", "y1")),
    // test_revision.py MultipleBaseCrossDependencyTestOne: branches of
    // their own bases, tied by depends_on.
    case("test_we_need_head2_upgrade", CROSS_ONE, "", "b_2@head", UP, Same("+d2 +c2 +b2 +a2 +base2 +a3 +base3", "d2")),
    case("test_we_need_head2_downgrade", CROSS_ONE, "d2", "b_2@base", DOWN, Same("-d2 -c2 -b2 -a2 -base2", "a3")),
    case("test_we_need_head3_upgrade", CROSS_ONE, "", "b_3@head", UP, Same("+b3 +a3 +base3", "b3")),
    case("test_we_need_head3_downgrade", CROSS_ONE, "b3", "base", DOWN, Same("-b3 -a3 -base3", "")),
    case("test_we_need_head1_upgrade", CROSS_ONE, "", "b1b@head", UP, Same("+b1b +a1b +base1 +a3 +base3", "b1b")),
    case("test_we_need_head1_downgrade", CROSS_ONE, "b1b", "b1b@base", DOWN, Same("-b1b -a1b -base1", "a3")),
    case(
        "test_we_need_base2_downgrade",
        CROSS_ONE,
        "b1a b1b d2 b3",
        "b_2@base",
        DOWN,
        Same("-d2 -c2 -b2 -a2 -base2", "b1a b1b b3"),
    ),
    case(
        "test_we_need_base3_downgrade",
        CROSS_ONE,
        "b1a b1b d2 b3",
        "b_3@base",
        DOWN,
        Same("-b1b -d2 -c2 -b3 -a3 -base3", "b1a a1b b2"),
    ),
    // MultipleBaseCrossDependencyTestTwo (base2 depends on the label b_1)
    case("test_we_need_head2", CROSS_TWO, "", "b_2@head", UP, Same("+d2 +c2 +b2 +a2 +base2 +base1", "d2")),
    case(
        "test_we_need_head3",
        CROSS_TWO,
        "",
        "b_3@head",
        UP,
        Same("+d3 +c3 +b3 +a3 +base3 +b2 +a2 +base2 +base1", "d3"),
    ),
    case("test_we_need_head1", CROSS_TWO, "", "b_1@head", UP, Same("+c1 +b1 +a1 +base1", "c1")),
    // MultipleBaseCrossDependencyTestThree
    case("test_traverse_no_parent_but_a_dep", CROSS_THREE, "", "heads", UP, Same("+b1 +c3 +c2 +a1 +base1", "b1 c3")),
    // DependsOnBranchTestTwo (test_kaboom)
    case(
        "test_kaboom (1)",
        DEPENDS_ON_BRANCH_TWO,
        "amerge bmerge cmerge d1",
        "b2",
        DOWN,
        WasmigRefuses(reverts_merge, MERGES_STAY),
    ),
    case(
        "test_kaboom (2)",
        DEPENDS_ON_BRANCH_TWO,
        "amerge d1 b1 cmerge",
        "d1@base",
        DOWN,
        Same("-d1", "amerge b1 b2 cmerge"),
    ),
    case(
        "test_kaboom (3)",
        DEPENDS_ON_BRANCH_TWO,
        "amerge b1 b2 cmerge",
        "base",
        DOWN,
        WasmigRefuses(reverts_merge, MERGES_STAY),
    ),
    // DependsOnBranchTestThree
    case("test_downgrade_over_crisscross", DEPENDS_ON_BRANCH_THREE, "a3 b2", "b1", DOWN, Same("-b2", "a3")),
    // DependsOnOwnDownrevTest
    case("test_traverse", DEPENDS_ON_OWN_DOWNREV, "", "a2", UP, Same("+a1 +a2", "a2")),
    case("test_traverse_down", DEPENDS_ON_OWN_DOWNREV, "a2", "a1", DOWN, Same("-a2", "a1")),
    // DependsOnBranchTestFour
    case("test_dependencies_are_normalized", DEPENDS_ON_BRANCH_FOUR, "b4", "b3", DOWN, Same("-b4", "b3")),
    // DependsOnBranchTestFive
    case("test_downgrade_to_depends_on (1)", DEPENDS_ON_BRANCH_FIVE, "a1", "b1", UP, Same("+b1", "b1")),
    case("test_downgrade_to_depends_on (2)", DEPENDS_ON_BRANCH_FIVE, "b1", "bmerge", UP, Same("+bmerge", "bmerge")),
    case(
        "test_downgrade_to_depends_on (3)",
        DEPENDS_ON_BRANCH_FIVE,
        "bmerge",
        "a1",
        DOWN,
        WasmigRefuses(reverts_merge, MERGES_STAY),
    ),
    case(
        "test_downgrade_to_depends_on (4)",
        DEPENDS_ON_BRANCH_FIVE,
        "bmerge",
        "b1",
        DOWN,
        WasmigRefuses(reverts_merge, MERGES_STAY),
    ),
    // DependsOnBranchLabelTest: `depends_on` names a branch label.
    case("test_upgrade_path", DEPENDS_ON_BRANCH_LABEL, "a2", "c2", UP, Same("+a1 +b1 +c1 +b2 +c2", "c2")),
    // ForestTest
    case("test_base_to_heads", FOREST, "", "heads", UP, Same("+a2 +b2 +a1 +b1", "b1 b2")),
    // MergedPathTest
    case("test_upgrade_across_merge_point", MERGED_PATH, "b", "f", UP, Same("+c2 +d2 +c1 +d1 +e +f", "f")),
    case("test_downgrade_across_merge_point", MERGED_PATH, "f", "b", DOWN, WasmigRefuses(reverts_merge, MERGES_STAY)),
    // BranchedPathTestCrossDependencies
    case("test_downgrade_independent_branch", CROSS_DEPENDENCIES, "d1 d2", "c2branch@b", DOWN, Same("-d2 -c2", "d1")),
    case(
        "test_downgrade_branch_dependency",
        CROSS_DEPENDENCIES,
        "d1 d2",
        "c1branch@b",
        DOWN,
        Same("-d1 -d2 -c1", "c2"),
    ),
];

/// Alembic's version-table rows as wasmig's applied set: each row and
/// everything it needs.
fn applied_from_heads(g: &Graph, heads: &str) -> AppliedSet {
    let mut ids: BTreeSet<String> = BTreeSet::new();
    for head in heads.split_whitespace() {
        ids.insert(head.to_owned());
        ids.extend(
            g.ancestors(head).unwrap_or_else(|| panic!("{head} is in the graph")).iter().map(|r| r.id().to_string()),
        );
    }
    AppliedSet::new(ids.iter().map(String::as_str))
}

fn set(text: &str) -> BTreeSet<String> {
    text.split_whitespace().map(str::to_owned).collect()
}

#[test]
fn wasmig_plans_what_alembic_plans() {
    let mut failures = Vec::new();
    for c in CASES {
        let g = graph(c.graph);
        let start = applied_from_heads(&g, c.heads);
        let label = format!("{} ({:?} to `{}` from `{}`)", c.alembic_test, c.direction, c.target, c.heads);
        let target = match Target::parse(c.target) {
            Ok(target) => target,
            Err(error) => {
                failures.push(format!("{label}: the target does not parse: {error}"));
                continue;
            }
        };
        match (g.plan(&start, &target, c.direction), &c.expect) {
            (Ok(plan), Same(steps, heads)) => {
                let planned: BTreeSet<String> = plan
                    .steps
                    .iter()
                    .map(|s| format!("{}{}", if s.direction == Direction::Up { '+' } else { '-' }, s.revision))
                    .collect();
                if planned != set(steps) {
                    failures.push(format!("{label}: steps {planned:?}, Alembic {:?}", set(steps)));
                }
                // Every step is possible where it stands, in wasmig's order.
                let mut now = start.clone();
                for step in &plan.steps {
                    let id = step.revision.as_str();
                    let fine = match step.direction {
                        Direction::Up => {
                            g.ancestors(id).unwrap().iter().all(|r| now.contains(r.id().as_str())) && now.insert(id)
                        }
                        Direction::Down => {
                            g.descendants(id).unwrap().iter().all(|r| !now.contains(r.id().as_str())) && now.remove(id)
                        }
                    };
                    if !fine {
                        failures.push(format!("{label}: step {id} is not possible where the plan puts it"));
                    }
                }
                let resulting: BTreeSet<String> = g.applied_heads(&now).iter().map(ToString::to_string).collect();
                if resulting != set(heads) {
                    failures.push(format!("{label}: heads {resulting:?}, Alembic {:?}", set(heads)));
                }
            }
            (Err(error), BothRefuse(check) | WasmigRefuses(check, _)) => {
                if !check(&error) {
                    failures.push(format!("{label}: refused, but not as expected: {error:?}"));
                }
            }
            (Ok(plan), BothRefuse(_) | WasmigRefuses(..)) => {
                failures.push(format!("{label}: expected a refusal, got {:?}", plan.steps))
            }
            (Err(error), Same(..)) => failures.push(format!("{label}: refused: {error}")),
        }
    }
    assert!(failures.is_empty(), "{} of {} cases disagree:\n{}", failures.len(), CASES.len(), failures.join("\n"));
}

#[test]
fn deliberate_differences_say_why_in_their_error() {
    for c in CASES {
        let WasmigRefuses(_, why) = c.expect else { continue };
        let g = graph(c.graph);
        let error =
            g.plan(&applied_from_heads(&g, c.heads), &Target::parse(c.target).unwrap(), c.direction).unwrap_err();
        let message = error.to_string();
        let points_at_fix = message.contains("wasmig") || message.contains("@-N") || message.contains("merge");
        assert!(points_at_fix, "{}: `{message}` should say what to do ({why})", c.alembic_test);
    }
    let _ = any_refusal;
}

/// test_revision.py's LabeledBranchTest: what `get_revision` resolves each
/// spelling to (no applied set involved).
const LABELED_BRANCH: &str =
    "a#abranch b:a somelongername:b c:somelongername d e:d#ebranch someothername:e f:someothername";

#[test]
fn targets_resolve_as_in_alembics_labeled_branch_test() {
    use wasmig_graph::Resolved;
    let g = graph(LABELED_BRANCH);
    let resolve = |text: &str| g.resolve_target(&Target::parse(text).unwrap(), &AppliedSet::empty());
    let one = |text: &str| match resolve(text) {
        Ok(Resolved::Revisions(ids)) if ids.len() == 1 => ids[0].to_string(),
        other => panic!("{text}: {other:?}"),
    };
    for (text, expected) in [
        ("ebranch@some", "someothername"),
        ("abranch@some", "somelongername"),
        ("abranch@heads", "c"),
        ("abranch@head", "c"),
        ("ebranch@head", "f"),
        ("ebranch@d", "d"),
        ("ebranch@ebranch", "e"),
        ("abranch", "a"),
        ("ebranch", "e"),
        ("e", "e"),
        ("e@d", "d"),
        ("someoth@d", "d"),
    ] {
        assert_eq!(one(text), expected, "{text}");
    }
    assert_eq!(resolve("abranch@base"), Ok(Resolved::Base));
    assert!(matches!(resolve("ebranch@b"), Err(ResolveError::NotOnBranch { .. })));
    let message = resolve("abranch@d").unwrap_err().to_string();
    assert!(message.contains("`d` is not on branch `abranch`"), "{message}");
    assert!(matches!(resolve("abranch@qprstuv"), Err(ResolveError::Unknown { .. })));
    assert!(matches!(resolve("ebranch@sos"), Err(ResolveError::Unknown { .. })));
    assert!(matches!(resolve("x@d"), Err(ResolveError::Unknown { .. })));

    // The iterate_revisions cases of the same class, as downgrades from every head.
    let all = AppliedSet::new(g.topological_order().map(|r| r.id().as_str()));
    for (text, reverted) in [
        ("ebranch@base", "f someothername e d"),
        ("abranch@base", "c somelongername b a"),
        ("e@base", "f someothername e d"),
        ("c@base", "c somelongername b a"),
        ("ebranch@-2", "f someothername"),
    ] {
        let plan = g.plan(&all, &Target::parse(text).unwrap(), DOWN).unwrap_or_else(|e| panic!("{text}: {e}"));
        let steps: BTreeSet<String> = plan.steps.iter().map(|s| s.revision.to_string()).collect();
        assert_eq!(steps, set(reverted), "{text}");
    }
    let plan = g.plan(&AppliedSet::empty(), &Target::parse("ebranch@+2").unwrap(), UP).unwrap();
    assert_eq!(plan.steps.iter().map(|s| s.revision.as_str()).collect::<Vec<_>>(), ["d", "e"]);
}

/// test_revision.py's `iterate_revisions(upper, lower)` cases: with
/// `implicit_base=False` they are wasmig's history between two bounds (both
/// included); with `implicit_base=True` an upgrade from `lower` applied.
#[test]
fn iterate_revisions_cases_agree_with_history_and_upgrade_plans() {
    const DIAMOND: &str = "a b1:a b2:a c:b1,b2 d:c";
    const LONG_SHORT: &str = "a b1:a b2:a c1:b1 d11:c1 d12:c1";
    const MULTIPLE_BRANCH: &str = "a b1:a b2:a cb1:b1 cb2:b2 d1cb1:cb1 d2cb1:cb1 d1cb2:cb2 d2cb2:cb2 d3cb2:cb2 \
                                   d1d2cb2:d1cb2,d2cb2";
    const BRANCH_TRAVELLING: &str = "a1 a2:a1 a3:a2 b1:a3 b2:a3 cb1:b1 cb2:b2 db1:cb1 db2:cb2 e1b1:db1 fe1b1:e1b1 \
                                     e2b1:db1 e2b2:db2 merge:e2b1,e2b2";
    const MULTIPLE_BASE: &str = "base1 base2 base3 a1a:base1 a1b:base1 a2:base2 a3:base3 b1a:a1a b1b:a1b b2:a2 \
                                 b3:a3 c2:b2 d2:c2 mergeb3d2:b3,d2";
    let ids = |text: &str| -> Vec<wasmig_graph::RevisionId> {
        text.split_whitespace().map(|id| wasmig_graph::RevisionId::parse(id).unwrap()).collect()
    };
    for (alembic_test, spec, lower, upper, expected) in [
        ("DiamondTest.test_iterate_simple_diamond", DIAMOND, "a", "d", "d c b1 b2 a"),
        ("LongShortBranchTest.test_iterate_full", LONG_SHORT, "", "", "b2 d11 d12 c1 b1 a"),
        (
            "MultipleBranchTest.test_iterate_from_merge_point",
            MULTIPLE_BRANCH,
            "a",
            "d1d2cb2",
            "d1d2cb2 d1cb2 d2cb2 cb2 b2 a",
        ),
        ("MultipleBranchTest.test_iterate_multiple_heads", MULTIPLE_BRANCH, "a", "d2cb2 d3cb2", "d2cb2 d3cb2 cb2 b2 a"),
        ("MultipleBranchTest.test_iterate_single_branch", MULTIPLE_BRANCH, "a", "d3cb2", "d3cb2 cb2 b2 a"),
        ("MultipleBranchTest.test_iterate_single_branch_to_base", MULTIPLE_BRANCH, "", "d3cb2", "d3cb2 cb2 b2 a"),
        (
            "MultipleBranchTest.test_iterate_multiple_branch_to_base",
            MULTIPLE_BRANCH,
            "",
            "d3cb2 cb1",
            "cb1 b1 d3cb2 cb2 b2 a",
        ),
        (
            "MultipleBranchTest.test_iterate_multiple_heads_single_base",
            MULTIPLE_BRANCH,
            "b2",
            "d1cb1 d2cb2 d3cb2",
            "d2cb2 d3cb2 cb2 b2",
        ),
        (
            "MultipleBaseTest.test_heads_to_base",
            MULTIPLE_BASE,
            "",
            "",
            "b1a a1a b1b a1b base1 mergeb3d2 b3 a3 base3 d2 c2 b2 a2 base2",
        ),
        (
            "MultipleBaseTest.test_heads_to_revs_base_exclusive (c2 included here)",
            MULTIPLE_BASE,
            "c2",
            "",
            "mergeb3d2 d2 c2",
        ),
        ("MultipleBaseTest.test_specific_path_one", MULTIPLE_BASE, "base3", "b3", "b3 a3 base3"),
        (
            "BranchTravellingTest.test_three_branches_end_in_single_branch",
            BRANCH_TRAVELLING,
            "a3",
            "merge fe1b1",
            "fe1b1 e1b1 merge e2b1 db1 cb1 b1 e2b2 db2 cb2 b2 a3",
        ),
        (
            "BranchTravellingTest.test_two_branches_to_root",
            BRANCH_TRAVELLING,
            "a1",
            "merge",
            "merge e2b1 db1 cb1 b1 e2b2 db2 cb2 b2 a3 a2 a1",
        ),
        (
            "BranchTravellingTest.test_two_branches_end_in_branch",
            BRANCH_TRAVELLING,
            "b1",
            "merge",
            "merge e2b1 db1 cb1 b1",
        ),
        (
            "BranchTravellingTest.test_two_branches_end_behind_branch",
            BRANCH_TRAVELLING,
            "a2",
            "merge",
            "merge e2b1 db1 cb1 b1 e2b2 db2 cb2 b2 a3 a2",
        ),
        (
            "BranchTravellingTest.test_three_branches_to_root",
            BRANCH_TRAVELLING,
            "a1",
            "merge fe1b1",
            "fe1b1 e1b1 merge e2b1 db1 cb1 b1 e2b2 db2 cb2 b2 a3 a2 a1",
        ),
        (
            "BranchTravellingTest.test_iterate_to_symbolic_base (fe1b1 included here)",
            BRANCH_TRAVELLING,
            "",
            "fe1b1",
            "fe1b1 e1b1 db1 cb1 b1 a3 a2 a1",
        ),
    ] {
        let g = graph(spec);
        let history: BTreeSet<String> =
            g.history(&ids(lower), &ids(upper)).iter().map(|r| r.id().to_string()).collect();
        assert_eq!(history, set(expected), "{alembic_test}");
    }

    // implicit_base=True: an upgrade from `lower` (applied with its ancestors).
    let g = graph(MULTIPLE_BASE);
    let start = applied_from_heads(&g, "c2");
    let plan = g.plan(&start, &Target::Heads, UP).unwrap();
    let steps: BTreeSet<String> = plan.steps.iter().map(|s| s.revision.to_string()).collect();
    assert_eq!(
        steps,
        set("b1a a1a b1b a1b base1 mergeb3d2 b3 a3 base3 d2"),
        "test_heads_to_revs_plus_implicit_base_exclusive"
    );
    let travelling = graph(BRANCH_TRAVELLING);
    let plan = travelling.plan(&applied_from_heads(&travelling, "db1"), &Target::parse("merge").unwrap(), UP).unwrap();
    let steps: BTreeSet<String> = plan.steps.iter().map(|s| s.revision.to_string()).collect();
    assert_eq!(steps, set("merge e2b1 e2b2 db2 cb2 b2"), "test_iterate_one_branch_both_to_merge (db1 already applied)");
    let start = applied_from_heads(&g, "base3");
    let plan = g.plan(&start, &Target::parse("b3").unwrap(), UP).unwrap();
    let steps: BTreeSet<String> = plan.steps.iter().map(|s| s.revision.to_string()).collect();
    assert_eq!(steps, set("a3 b3"), "test_specific_path_two_implicit_base, the b3 half");
}

/// `depends_on` never makes a child: the project's heads are Alembic's.
#[test]
fn project_heads_ignore_depends_on_as_in_alembic() {
    for (alembic_test, spec, heads) in [
        ("MultipleBaseCrossDependencyTestOne.test_what_are_the_heads", CROSS_ONE, "b1a b1b d2 b3"),
        ("MultipleBaseCrossDependencyTestTwo.test_what_are_the_heads", CROSS_TWO, "c1 d2 d3"),
    ] {
        let g = graph(spec);
        let found: BTreeSet<String> = g.heads().iter().map(|r| r.id().to_string()).collect();
        assert_eq!(found, set(heads), "{alembic_test}");
    }
}
