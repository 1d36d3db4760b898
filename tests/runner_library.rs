//! The migration runner as a library (`Migrator`, `Database`) on SQLite files and on the real PostgreSQL server: commands, host-owned transactions, dirty markers, checksums, adoption and refusals.
//!
//! Each scenario is one function of the engine; `on_every_engine!` makes a
//! `#[test]` per engine. Every failure scenario checks both the error and
//! what the database holds afterwards (tables, version rows, events).

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use wasmig::graph::Target;
use wasmig::{Database, Error, Failure, NoProgress, RunOptions, RunReport, StepOutcome, TransactionMode};
use wasmig_tests::matrix::{
    Engine, PREFIX, TestDb, add_component_revision, extend_manifest, migrator, table_of, write_config,
    write_revision_file,
};
use wasmig_tests::{Fixture, add_sql_revision, on_every_engine, write_sql_project};

fn target(text: &str) -> Target {
    Target::parse(text).unwrap()
}

fn upgrade(dir: &Path, db: &mut Database, to: &str) -> Result<RunReport, Error> {
    migrator(dir).upgrade(db, &target(to), &RunOptions::default(), &mut NoProgress)
}

fn upgrade_with(dir: &Path, db: &mut Database, options: RunOptions) -> Result<RunReport, Error> {
    migrator(dir).upgrade(db, &Target::Heads, &options, &mut NoProgress)
}

fn downgrade(dir: &Path, db: &mut Database, to: &str) -> Result<RunReport, Error> {
    migrator(dir).downgrade(db, &target(to), &RunOptions::default(), &mut NoProgress)
}

fn revisions(report: &RunReport) -> Vec<&str> {
    report.steps.iter().map(|step| step.revision.as_str()).collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|item| (*item).to_owned()).collect()
}

fn tables(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|id| table_of(id)).collect()
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items.iter().map(|(event, revision)| ((*event).to_owned(), (*revision).to_owned())).collect()
}

/// A revision creating its table `t_<id>`.
fn creates(dir: &Path, id: &str, parents: &[&str]) {
    add_sql_revision(
        dir,
        id,
        parents,
        &format!("CREATE TABLE {} (id INTEGER);\n", table_of(id)),
        &format!("DROP TABLE {};\n", table_of(id)),
    );
}

/// A revision whose first statement works and whose second fails.
fn fails_halfway(dir: &Path, id: &str, parents: &[&str]) {
    add_sql_revision(
        dir,
        id,
        parents,
        &format!("CREATE TABLE {} (id INTEGER);\nINSERT INTO no_such_table VALUES (1);\n", table_of(id)),
        &format!("DROP TABLE {};\n", table_of(id)),
    );
}

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_sql_project(dir.path(), &[]);
    dir
}

on_every_engine!(
    upgrade_downgrade_stamp_and_status_follow_the_graph,
    a_revision_failing_halfway_leaves_only_its_fail_event,
    a_trapping_component_mid_plan_leaves_only_its_fail_event,
    a_looping_component_mid_plan_leaves_only_its_fail_event,
    transaction_all_rolls_back_the_whole_plan,
    a_non_transactional_failure_blocks_runs_until_resolved,
    checksum_drift_stops_the_run_until_repaired,
    checksum_policies_warn_and_off_let_the_run_go_on,
    an_applied_revision_the_project_does_not_know_is_an_error,
    upgrade_head_with_several_heads_is_refused_naming_them,
    adopt_records_what_verify_finds_and_runs_the_rest,
    verify_reports_each_revision_against_the_applied_set,
    verify_runs_read_only,
    status_takes_no_lock_and_creates_no_table,
    branch_targets_move_one_branch_as_in_alembic,
);

fn upgrade_downgrade_stamp_and_status_follow_the_graph(engine: Engine) {
    let db = TestDb::fresh(engine);
    let dir = project();
    let path = dir.path();
    creates(path, "root", &[]);
    creates(path, "left", &["root"]);
    creates(path, "right", &["root"]);
    add_sql_revision(path, "join", &["left", "right"], "", "");
    creates(path, "tail", &["join"]);
    let mut conn = db.connect();

    let status = migrator(path).status(&mut conn).unwrap();
    assert_eq!(status.pending, ["root", "left", "right", "join", "tail"]);
    assert!(status.current.is_empty() && !status.is_current(), "{status:?}");

    let report = upgrade(path, &mut conn, "left").unwrap();
    assert_eq!(revisions(&report), ["root", "left"]);
    assert!(report.steps.iter().all(|step| step.outcome == StepOutcome::Applied), "{report:?}");
    assert_eq!(db.recorded(), set(&["root", "left"]));
    assert_eq!(db.user_tables(), tables(&["root", "left"]));
    let status = migrator(path).status(&mut conn).unwrap();
    assert_eq!(status.current, ["left"]);
    assert_eq!(status.pending, ["right", "join", "tail"]);

    let report = upgrade(path, &mut conn, "heads").unwrap();
    assert_eq!(revisions(&report), ["right", "join", "tail"]);
    let status = migrator(path).status(&mut conn).unwrap();
    assert!(status.is_current(), "{status:?}");
    assert_eq!(status.current, ["tail"]);
    let rows = db.version_rows();
    assert!(rows.iter().all(|row| row.state == "applied" && row.checksum.starts_with("sha256:")), "{rows:?}");
    assert_eq!(rows.iter().find(|row| row.revision == "join").unwrap().kind, "merge");
    assert_eq!(
        db.event_pairs(),
        pairs(&[
            ("upgrade", "root"),
            ("upgrade", "left"),
            ("upgrade", "right"),
            ("upgrade", "join"),
            ("upgrade", "tail")
        ])
    );
    assert!(upgrade(path, &mut conn, "heads").unwrap().steps.is_empty(), "a second upgrade has nothing to do");

    let report = downgrade(path, &mut conn, "join").unwrap();
    assert_eq!(revisions(&report), ["tail"]);
    assert_eq!(report.steps[0].outcome, StepOutcome::Reverted);
    assert_eq!(db.recorded(), set(&["root", "left", "right", "join"]));
    assert_eq!(db.user_tables(), tables(&["root", "left", "right"]));
    assert_eq!(db.event_pairs().last().unwrap(), &("downgrade".to_owned(), "tail".to_owned()));

    // Through the merge: refused before any step, the database untouched.
    let before = db.dump();
    let error = downgrade(path, &mut conn, "left").unwrap_err();
    let message = error.to_string();
    assert!(message.contains("join") && message.contains("merge"), "{message}");
    assert!(error.committed().unwrap().steps.is_empty(), "{error:?}");
    assert_eq!(db.dump(), before, "a refused downgrade changed the database");

    // Stamp records without running anything: tables stay as they are.
    let report = migrator(path).stamp(&mut conn, &target("base")).unwrap();
    assert!(report.steps.iter().all(|step| step.outcome == StepOutcome::Stamped), "{report:?}");
    assert!(db.recorded().is_empty());
    assert_eq!(db.user_tables(), tables(&["root", "left", "right"]));
    migrator(path).stamp(&mut conn, &target("left")).unwrap();
    assert_eq!(db.recorded(), set(&["root", "left"]));
    migrator(path).stamp(&mut conn, &target("heads")).unwrap();
    assert_eq!(db.recorded(), set(&["root", "left", "right", "join", "tail"]));
    assert_eq!(db.user_tables(), tables(&["root", "left", "right"]), "stamp ran a hook");
    let stamps = db.events().into_iter().filter(|event| event.event == "stamp").count();
    assert_eq!(stamps, 4 + 2 + 3, "one stamp event per recorded or removed revision");
    assert!(migrator(path).status(&mut conn).unwrap().is_current());
}

/// Alembic's BranchedPathTest graph through the migrator: `branch@+N`,
/// `branch@REV`, `branch@base` and a stamp of one branch leave the other.
fn branch_targets_move_one_branch_as_in_alembic(engine: Engine) {
    let db = TestDb::fresh(engine);
    let dir = project();
    let path = dir.path();
    creates(path, "a", &[]);
    creates(path, "b", &["a"]);
    creates(path, "c1", &["b"]);
    extend_manifest(path, "c1", "branch_labels = [\"lib1\"]\n");
    creates(path, "d1", &["c1"]);
    creates(path, "c2", &["b"]);
    extend_manifest(path, "c2", "branch_labels = [\"lib2\"]\n");
    creates(path, "d2", &["c2"]);
    let mut conn = db.connect();

    assert_eq!(revisions(&upgrade(path, &mut conn, "lib1@head").unwrap()), ["a", "b", "c1", "d1"]);
    assert_eq!(revisions(&upgrade(path, &mut conn, "lib2@+1").unwrap()), ["c2"]);
    assert_eq!(revisions(&upgrade(path, &mut conn, "lib2@+1").unwrap()), ["d2"]);
    assert_eq!(migrator(path).status(&mut conn).unwrap().current, ["d1", "d2"]);
    // `-1` from two heads is ambiguous; on one branch it is not.
    let error = downgrade(path, &mut conn, "-1").unwrap_err();
    assert!(error.to_string().contains("BRANCH@-N"), "{error}");
    assert_eq!(revisions(&downgrade(path, &mut conn, "lib1@-1").unwrap()), ["d1"]);
    assert_eq!(revisions(&downgrade(path, &mut conn, "lib2@b").unwrap()), ["d2", "c2"]);
    assert_eq!(db.recorded(), set(&["a", "b", "c1"]));
    assert_eq!(db.user_tables(), tables(&["a", "b", "c1"]));
    let error = upgrade(path, &mut conn, "lib1@d2").unwrap_err();
    assert!(error.to_string().contains("not on branch `lib1`"), "{error}");

    upgrade(path, &mut conn, "heads").unwrap();
    // A stamp of one branch leaves the other as it is.
    migrator(path).stamp(&mut conn, &target("lib1@base")).unwrap();
    assert_eq!(db.recorded(), set(&["a", "b", "c2", "d2"]));
    migrator(path).stamp(&mut conn, &target("lib1@head")).unwrap();
    assert_eq!(db.recorded(), set(&["a", "b", "c1", "d1", "c2", "d2"]));
    // One base under both branches: reverting lib2 down to base takes lib1 with it, as in Alembic.
    assert_eq!(revisions(&downgrade(path, &mut conn, "lib2@base").unwrap()), ["d2", "d1", "c2", "c1", "b", "a"]);
}

fn a_revision_failing_halfway_leaves_only_its_fail_event(engine: Engine) {
    let db = TestDb::fresh(engine);
    let dir = project();
    let path = dir.path();
    creates(path, "first", &[]);
    fails_halfway(path, "broken", &["first"]);
    creates(path, "after", &["broken"]);
    let mut conn = db.connect();

    let error = upgrade(path, &mut conn, "heads").unwrap_err();
    assert!(error.failure().to_string().contains("broken"), "the error names the revision: {error}");
    assert_eq!(revisions(error.committed().unwrap()), ["first"], "the error carries what committed");
    assert_eq!(db.recorded(), set(&["first"]));
    assert_eq!(db.user_tables(), tables(&["first"]), "the failed revision's first statement was rolled back");
    assert_eq!(db.event_pairs(), pairs(&[("upgrade", "first"), ("fail", "broken")]));
    let fail = db.events().pop().unwrap();
    assert!(fail.error.as_deref().is_some_and(|text| text.contains("no_such_table")), "{fail:?}");

    // Not dirty: a fixed revision runs on the next attempt.
    // Its fixed up runs; its down drops its table, then fails (checked below).
    let table = table_of("broken");
    add_sql_revision(
        path,
        "broken",
        &["first"],
        &format!("CREATE TABLE {table} (id INTEGER);\n"),
        &format!("DROP TABLE {table};\nINSERT INTO no_such_table VALUES (1);\n"),
    );
    assert_eq!(revisions(&upgrade(path, &mut conn, "heads").unwrap()), ["broken", "after"]);

    // The same on the way down.
    let error = downgrade(path, &mut conn, "first").unwrap_err();
    let message = error.failure().to_string();
    assert!(message.contains("broken") && message.contains("no_such_table"), "{error}");
    assert_eq!(revisions(error.committed().unwrap()), ["after"]);
    assert_eq!(db.recorded(), set(&["first", "broken"]));
    assert_eq!(db.user_tables(), tables(&["first", "broken"]), "the failed down's DROP was rolled back");
    let events = db.event_pairs();
    assert_eq!(&events[events.len() - 2..], pairs(&[("downgrade", "after"), ("fail", "broken")]));
}

fn component_failure_mid_plan(engine: Engine, fixture: Fixture, leftover: &str, extra_manifest: &str) {
    let db = TestDb::fresh(engine);
    let dir = project();
    let path = dir.path();
    creates(path, "first", &[]);
    add_component_revision(path, "guest", &["first"], fixture, extra_manifest);
    creates(path, "after", &["guest"]);
    let mut conn = db.connect();

    let error = upgrade(path, &mut conn, "heads").unwrap_err();
    assert!(error.to_string().contains("guest"), "the error names the revision: {error}");
    assert_eq!(revisions(error.committed().unwrap()), ["first"]);
    assert_eq!(db.recorded(), set(&["first"]));
    let left = db.user_tables();
    assert!(!left.contains(leftover), "{fixture:?} left {leftover} behind");
    assert_eq!(left, tables(&["first"]));
    assert_eq!(db.event_pairs(), pairs(&[("upgrade", "first"), ("fail", "guest")]));
}

fn a_trapping_component_mid_plan_leaves_only_its_fail_event(engine: Engine) {
    component_failure_mid_plan(engine, Fixture::Trap, "fixture_trap", "");
}

fn a_looping_component_mid_plan_leaves_only_its_fail_event(engine: Engine) {
    component_failure_mid_plan(engine, Fixture::Spin, "fixture_spin", "[sandbox]\ntimeout_ms = 300\n");
}

fn transaction_all_rolls_back_the_whole_plan(engine: Engine) {
    let db = TestDb::fresh(engine);
    let dir = project();
    let path = dir.path();
    creates(path, "first", &[]);
    creates(path, "second", &["first"]);
    fails_halfway(path, "third", &["second"]);
    let mut conn = db.connect();
    let all = || RunOptions { transaction: TransactionMode::All, ..RunOptions::default() };

    let error = upgrade_with(path, &mut conn, all()).unwrap_err();
    assert!(error.to_string().contains("third"), "{error}");
    assert!(error.committed().unwrap().steps.is_empty(), "nothing commits in --transaction all: {error:?}");
    assert!(db.recorded().is_empty());
    assert!(db.user_tables().is_empty(), "{:?}", db.user_tables());
    assert_eq!(db.event_pairs(), pairs(&[("fail", "third")]));

    add_sql_revision(path, "third", &["second"], &format!("CREATE TABLE {} (id INTEGER);\n", table_of("third")), "");
    let report = upgrade_with(path, &mut conn, all()).unwrap();
    assert_eq!(revisions(&report), ["first", "second", "third"]);
    assert_eq!(db.user_tables(), tables(&["first", "second", "third"]));
}

fn a_non_transactional_failure_blocks_runs_until_resolved(engine: Engine) {
    let db = TestDb::fresh(engine);
    let dir = project();
    let path = dir.path();
    creates(path, "first", &[]);
    fails_halfway(path, "manual", &["first"]);
    extend_manifest(path, "manual", "transactional = false");
    creates(path, "after", &["manual"]);
    let mut conn = db.connect();

    let error = upgrade(path, &mut conn, "heads").unwrap_err();
    assert_eq!(revisions(error.committed().unwrap()), ["first"]);
    let states: Vec<(String, String)> = db.version_rows().into_iter().map(|row| (row.revision, row.state)).collect();
    assert_eq!(states, pairs(&[("first", "applied"), ("manual", "dirty-up")]));
    let status = migrator(path).status(&mut conn).unwrap();
    assert_eq!(status.dirty, ["manual"]);
    assert!(!status.is_current());

    // The marker blocks the next run before anything runs.
    let before = db.dump();
    let blocked = upgrade(path, &mut conn, "heads").unwrap_err();
    assert!(matches!(blocked.failure(), Failure::Dirty { revision, .. } if revision == "manual"), "{blocked:?}");
    let message = blocked.to_string();
    for command in ["wasmig resolve manual --as applied", "wasmig resolve manual --as reverted"] {
        assert!(message.contains(command), "the message gives `{command}`: {message}");
    }
    assert_eq!(db.dump(), before, "a blocked run changed the database");

    let not_dirty = migrator(path).resolve(&mut conn, "first", true).unwrap_err();
    assert!(matches!(not_dirty.failure(), Failure::NotDirty { .. }), "{not_dirty:?}");

    migrator(path).resolve(&mut conn, "manual", false).unwrap();
    assert_eq!(db.recorded(), set(&["first"]));
    assert_eq!(db.event_pairs().last().unwrap(), &("resolve".to_owned(), "manual".to_owned()));

    // Fixed (idempotent, since autocommit may have kept its first statement), it runs.
    write_revision_file(
        path,
        "manual",
        "up.sql",
        &format!("CREATE TABLE IF NOT EXISTS {} (id INTEGER);\n", table_of("manual")),
    );
    let report = upgrade(path, &mut conn, "heads").unwrap();
    assert_eq!(revisions(&report), ["manual", "after"]);
    let manual = db
        .events()
        .into_iter()
        .find(|event| event.event == "upgrade" && event.revision.as_deref() == Some("manual"))
        .unwrap();
    assert_eq!(manual.detail.as_deref(), Some("transactional = false"));

    // `--as applied`: the operator finished the work by hand.
    fails_halfway(path, "second_manual", &["after"]);
    extend_manifest(path, "second_manual", "transactional = false");
    upgrade(path, &mut conn, "heads").unwrap_err();
    assert_eq!(db.version_rows().iter().find(|row| row.revision == "second_manual").unwrap().state, "dirty-up");
    migrator(path).resolve(&mut conn, "second_manual", true).unwrap();
    assert_eq!(db.version_rows().iter().find(|row| row.revision == "second_manual").unwrap().state, "applied");
    assert!(upgrade(path, &mut conn, "heads").unwrap().steps.is_empty());
    assert!(migrator(path).status(&mut conn).unwrap().is_current());
}

fn checksum_drift_stops_the_run_until_repaired(engine: Engine) {
    let db = TestDb::fresh(engine);
    let dir = project();
    let path = dir.path();
    creates(path, "first", &[]);
    creates(path, "edited", &["first"]);
    let mut conn = db.connect();
    upgrade(path, &mut conn, "heads").unwrap();
    let old = db.version_rows()[0].checksum.clone();

    write_revision_file(
        path,
        "edited",
        "up.sql",
        &format!("-- reformatted\nCREATE TABLE {} (id INTEGER);\n", table_of("edited")),
    );
    creates(path, "later", &["edited"]);
    let before = db.dump();
    let error = upgrade(path, &mut conn, "heads").unwrap_err();
    assert!(
        matches!(error.failure(), Failure::Drift { drifts }
            if drifts.len() == 1 && drifts[0].revision == "edited" && drifts[0].changed == ["up.sql"]),
        "{error:?}"
    );
    assert!(error.to_string().contains("wasmig repair edited"), "{error}");
    assert_eq!(db.dump(), before, "a drifted run changed the database");
    assert_eq!(migrator(path).status(&mut conn).unwrap().drift, ["edited"]);

    migrator(path).repair(&mut conn, "edited").unwrap();
    let repaired = db.version_rows().into_iter().find(|row| row.revision == "edited").unwrap();
    let project = migrator(path);
    let expected = project.checksum(project.graph().get("edited").unwrap()).unwrap();
    assert_eq!(repaired.checksum, expected);
    assert_ne!(repaired.checksum, old);
    let repair = db.events().pop().unwrap();
    assert_eq!((repair.event.as_str(), repair.revision.as_deref()), ("repair", Some("edited")));
    assert!(repair.detail.as_deref().is_some_and(|detail| detail.contains(&expected)), "{repair:?}");

    // Repairing what matches its record changes nothing and audits nothing.
    let events = db.events().len();
    let again = migrator(path).repair(&mut conn, "edited").unwrap();
    assert!(again.steps.is_empty(), "{again:?}");
    assert_eq!(db.events().len(), events, "a repair of unchanged files was recorded");

    assert_eq!(revisions(&upgrade(path, &mut conn, "heads").unwrap()), ["later"]);
}

fn checksum_policies_warn_and_off_let_the_run_go_on(engine: Engine) {
    for policy in ["warn", "off"] {
        let db = TestDb::fresh(engine);
        let dir = project();
        let path = dir.path();
        creates(path, "first", &[]);
        creates(path, "edited", &["first"]);
        let mut conn = db.connect();
        upgrade(path, &mut conn, "heads").unwrap();
        let recorded = db.version_rows();

        write_revision_file(
            path,
            "edited",
            "up.sql",
            &format!("-- reformatted\nCREATE TABLE {} (id INTEGER);\n", table_of("edited")),
        );
        creates(path, "later", &["edited"]);
        write_config(path, &format!("checksum = \"{policy}\"\n"));
        let report = upgrade(path, &mut conn, "heads").unwrap_or_else(|error| panic!("checksum = {policy}: {error}"));
        assert_eq!(revisions(&report), ["later"], "checksum = {policy}");
        let edited = db.version_rows().into_iter().find(|row| row.revision == "edited").unwrap();
        assert_eq!(edited, recorded.into_iter().find(|row| row.revision == "edited").unwrap(), "a policy is no repair");
        assert!(migrator(path).status(&mut conn).unwrap().is_current(), "checksum = {policy}");
    }
}

fn an_applied_revision_the_project_does_not_know_is_an_error(engine: Engine) {
    let db = TestDb::fresh(engine);
    let dir = project();
    let path = dir.path();
    creates(path, "first", &[]);
    creates(path, "vanished", &["first"]);
    let mut conn = db.connect();
    upgrade(path, &mut conn, "heads").unwrap();

    std::fs::remove_dir_all(path.join("migrations").join("vanished")).unwrap();
    creates(path, "other", &["first"]);
    let status = migrator(path).status(&mut conn).unwrap();
    assert_eq!(status.unknown, ["vanished"]);
    assert!(!status.is_current());

    let before = db.dump();
    let error = upgrade(path, &mut conn, "heads").unwrap_err();
    assert!(error.to_string().contains("vanished"), "{error}");
    assert!(error.committed().unwrap().steps.is_empty());
    assert_eq!(db.dump(), before, "the run went ahead over an unknown revision");
}

fn upgrade_head_with_several_heads_is_refused_naming_them(engine: Engine) {
    let db = TestDb::fresh(engine);
    let dir = project();
    let path = dir.path();
    creates(path, "first", &[]);
    creates(path, "left", &["first"]);
    creates(path, "right", &["first"]);
    let mut conn = db.connect();

    let error = upgrade(path, &mut conn, "head").unwrap_err();
    let message = error.to_string();
    for part in ["left", "right", "wasmig merge"] {
        assert!(message.contains(part), "the error gives `{part}`: {message}");
    }
    assert!(db.all_tables().is_empty(), "a refused plan writes nothing, not even the version tables: {:?}", db.dump());

    assert_eq!(revisions(&upgrade(path, &mut conn, "heads").unwrap()), ["first", "left", "right"]);
}

fn adopt_records_what_verify_finds_and_runs_the_rest(engine: Engine) {
    let db = TestDb::fresh(engine);
    let dir = project();
    let path = dir.path();
    creates(path, "present", &[]);
    write_revision_file(path, "present", "verify.sql", &db.table_exists_sql(&table_of("present")));
    creates(path, "absent", &["present"]);
    write_revision_file(path, "absent", "verify.sql", &db.table_exists_sql(&table_of("absent")));
    creates(path, "unverified", &["absent"]);
    // The existing schema: `present` is there, and so is `unverified`'s table,
    // but `unverified` has no verify hook to say so.
    db.execute(&format!(
        "CREATE TABLE {} (id INTEGER); CREATE TABLE {} (id INTEGER);",
        table_of("present"),
        table_of("unverified")
    ));
    let mut conn = db.connect();

    // Without --adopt, "already exists" is an error like any other.
    let error = upgrade(path, &mut conn, "heads").unwrap_err();
    assert!(error.to_string().contains("present"), "{error}");
    assert!(db.recorded().is_empty());

    let adopt = RunOptions { adopt: true, ..RunOptions::default() };
    let error = upgrade_with(path, &mut conn, adopt).unwrap_err();
    let outcomes: Vec<(&str, StepOutcome)> =
        error.committed().unwrap().steps.iter().map(|step| (step.revision.as_str(), step.outcome)).collect();
    assert_eq!(outcomes, [("present", StepOutcome::Adopted), ("absent", StepOutcome::Applied)]);
    assert!(error.to_string().contains("unverified"), "{error}");
    assert_eq!(db.recorded(), set(&["present", "absent"]), "an `already exists` error was taken for success");
    let events = db.event_pairs();
    assert_eq!(
        &events[events.len() - 3..],
        pairs(&[("adopt", "present"), ("upgrade", "absent"), ("fail", "unverified")])
    );
    assert_eq!(db.user_tables(), tables(&["present", "absent", "unverified"]));
}

fn verify_reports_each_revision_against_the_applied_set(engine: Engine) {
    let db = TestDb::fresh(engine);
    let dir = project();
    let path = dir.path();
    creates(path, "first", &[]);
    write_revision_file(path, "first", "verify.sql", &db.table_exists_sql(&table_of("first")));
    creates(path, "second", &["first"]);
    write_revision_file(path, "second", "verify.sql", &db.table_exists_sql(&table_of("second")));
    creates(path, "silent", &["second"]);
    creates(path, "side", &["first"]);
    // A merge the database has not reached: nothing to verify, never a mismatch.
    add_sql_revision(path, "joined", &["silent", "side"], "", "");
    let mut conn = db.connect();
    upgrade(path, &mut conn, "first").unwrap();
    let before = db.dump();

    let reports = migrator(path).verify(&mut conn, None, &RunOptions::default()).unwrap();
    let seen: Vec<(&str, bool, Option<&str>, bool)> = reports
        .iter()
        .map(|report| (report.revision.as_str(), report.applied, report.verdict, report.mismatch))
        .collect();
    assert_eq!(
        seen,
        [
            ("first", true, Some("present"), false),
            ("second", false, Some("absent"), false),
            ("side", false, Some("unknown"), false),
            ("silent", false, Some("unknown"), false),
            ("joined", false, Some("merge"), false),
        ]
    );

    db.execute(&format!("DROP TABLE {}", table_of("first")));
    let only = migrator(path).verify(&mut conn, Some("first"), &RunOptions::default()).unwrap();
    assert_eq!(only.len(), 1);
    assert!(only[0].applied && only[0].verdict == Some("absent") && only[0].mismatch, "{only:?}");
    db.execute(&format!("CREATE TABLE {} (id INTEGER)", table_of("first")));
    assert_eq!(db.dump(), before, "verify wrote to the database");
}

fn verify_runs_read_only(engine: Engine) {
    let db = TestDb::fresh(engine);
    let dir = project();
    let path = dir.path();
    creates(path, "first", &[]);
    let mut conn = db.connect();
    upgrade(path, &mut conn, "first").unwrap();
    // A verify.sql that would write: the read-only transaction refuses it.
    let table = table_of("first");
    write_revision_file(path, "first", "verify.sql", &format!("INSERT INTO {table} (id) VALUES (1) RETURNING 1"));
    write_config(path, "checksum = \"off\"\n");
    let before = db.dump();
    let error = migrator(path).verify(&mut conn, Some("first"), &RunOptions::default()).unwrap_err();
    assert!(error.to_string().contains("first"), "{error}");
    assert_eq!(db.dump(), before, "verify wrote to the database");
    // The connection is usable for writes again afterwards.
    upgrade(path, &mut conn, "heads").unwrap();
}

fn status_takes_no_lock_and_creates_no_table(engine: Engine) {
    let db = TestDb::fresh(engine);
    let dir = project();
    let path = dir.path();
    write_config(path, "[database]\nmigration_lock_timeout_ms = 300\n");
    creates(path, "first", &[]);
    creates(path, "second", &["first"]);

    let status = migrator(path).status(&mut db.connect()).unwrap();
    assert_eq!(status.pending, ["first", "second"]);
    assert!(db.all_tables().is_empty(), "status created {:?}", db.all_tables());

    // Another runner holds the migration lock: status still answers; a run waits and gives up.
    let holder = hold_migration_lock(&db);
    let short = Duration::from_millis(300);
    let mut conn = Database::connect_with(db.url(), short).unwrap();
    let status = migrator(path).status(&mut conn).unwrap();
    assert_eq!(status.pending, ["first", "second"]);
    let blocked = upgrade(path, &mut conn, "heads").unwrap_err();
    assert!(blocked.committed().unwrap().steps.is_empty(), "{blocked:?}");
    drop(holder);
    assert!(db.recorded().is_empty() && db.user_tables().is_empty());

    assert_eq!(revisions(&upgrade(path, &mut conn, "heads").unwrap()), ["first", "second"]);
}

/// Holds what serialises runners on `db` until dropped: PostgreSQL's
/// advisory lock under the key the migrator uses, SQLite's write lock.
fn hold_migration_lock(db: &TestDb) -> Box<dyn std::any::Any> {
    match db.engine() {
        Engine::Postgres => {
            let mut holder = db.connect().into_backend();
            let key = format!("wasmig:{}:{PREFIX}", holder.schema().unwrap_or(""));
            let guard = holder.lock(&key, Duration::from_secs(5)).unwrap();
            Box::new((guard, holder))
        }
        Engine::Sqlite => {
            let connection = rusqlite::Connection::open(db.sqlite_path().unwrap()).unwrap();
            connection.execute_batch("BEGIN IMMEDIATE").unwrap();
            Box::new(connection)
        }
    }
}
