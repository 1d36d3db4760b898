//! The `wasmig` binary against SQLite files and the real PostgreSQL server: exit codes of every command, eight concurrent runners, SIGKILL at random points, offline SQL replayed by `sqlite3`/`psql`, and failing components mid-plan.
//!
//! Each scenario is one function of the engine; `on_every_engine!` makes a
//! `#[test]` per engine. Processes share one component cache, so only the
//! first compiles the built-in plugins.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use wasmig_tests::matrix::{
    Engine, Finished, SeededRng, TestDb, add_component_revision, replay, run, table_of, wasmig, write_branched_project,
    write_chain_project, write_revision_file,
};
use wasmig_tests::{Fixture, add_sql_revision, on_every_engine, write_sql_project};

const DONE: Option<i32> = Some(0);
const RUN_FAILED: Option<i32> = Some(1);
const USAGE: Option<i32> = Some(2);
const CHECK_FAILED: Option<i32> = Some(3);

on_every_engine!(
    every_command_reports_through_its_exit_code,
    eight_concurrent_upgrades_apply_each_revision_exactly_once,
    sigkill_at_random_points_keeps_schema_and_applied_set_in_agreement,
    offline_sql_replayed_leaves_what_a_live_upgrade_leaves,
    a_trapping_component_mid_plan_exits_1_keeping_earlier_steps,
    a_looping_component_mid_plan_exits_1_keeping_earlier_steps,
);

fn wasmig_run(project: &Path, db: &TestDb, args: &[&str]) -> Finished {
    run(wasmig(project, db).args(args))
}

fn expect(finished: &Finished, code: Option<i32>, what: &str) {
    assert_eq!(finished.code, code, "{what}: {finished}");
}

fn set<S: AsRef<str>>(items: &[S]) -> BTreeSet<String> {
    items.iter().map(|item| item.as_ref().to_owned()).collect()
}

/// The tables that revisions `ids` create (the merge creates none).
fn tables_of<S: AsRef<str>>(ids: &[S], merge: Option<&str>) -> BTreeSet<String> {
    ids.iter().map(AsRef::as_ref).filter(|id| Some(*id) != merge).map(table_of).collect()
}

fn every_command_reports_through_its_exit_code(engine: Engine) {
    let db = TestDb::fresh(engine);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    let ids = write_chain_project(path, 4);

    let status = wasmig_run(path, &db, &["status"]);
    expect(&status, CHECK_FAILED, "status of an empty database (behind)");
    assert!(db.all_tables().is_empty(), "status created tables: {:?}", db.all_tables());

    expect(&wasmig_run(path, &db, &["upgrade", "r001"]), DONE, "upgrade r001");
    assert_eq!(db.recorded(), set(&["r000", "r001"]));
    let current = wasmig_run(path, &db, &["current"]);
    expect(&current, DONE, "current");
    assert!(current.stdout.contains("r001"), "{current}");

    let dry = wasmig_run(path, &db, &["upgrade", "--dry-run"]);
    expect(&dry, DONE, "upgrade --dry-run");
    assert!(dry.stdout.contains("r002") && dry.stdout.contains("r003"), "the plan is printed: {dry}");
    assert_eq!(db.recorded(), set(&["r000", "r001"]), "--dry-run changed the applied set");

    expect(&wasmig_run(path, &db, &["upgrade"]), DONE, "upgrade");
    expect(&wasmig_run(path, &db, &["status"]), DONE, "status at heads");
    let json = wasmig_run(path, &db, &["--format", "json", "status"]);
    expect(&json, DONE, "status --format json");
    assert!(json.stdout.trim_start().starts_with('{') && json.stdout.contains("r003"), "{json}");

    expect(&wasmig_run(path, &db, &["downgrade", "r001"]), DONE, "downgrade r001");
    assert_eq!(db.recorded(), set(&["r000", "r001"]));
    assert_eq!(db.user_tables(), tables_of(&["r000", "r001"], None));
    expect(&wasmig_run(path, &db, &["status"]), CHECK_FAILED, "status behind");

    expect(&wasmig_run(path, &db, &["stamp", "heads"]), DONE, "stamp heads");
    assert_eq!(db.recorded(), set(&ids));
    assert_eq!(db.user_tables(), tables_of(&["r000", "r001"], None), "stamp ran a hook");
    expect(&wasmig_run(path, &db, &["stamp", "r001"]), DONE, "stamp r001");
    assert_eq!(db.recorded(), set(&["r000", "r001"]));

    // Checksum drift: the run stops naming `repair`; repair lets it go on.
    write_revision_file(path, "r001", "up.sql", "-- edited\nCREATE TABLE t_r001 (id INTEGER);\n");
    let before = db.dump();
    let drift = wasmig_run(path, &db, &["upgrade"]);
    assert!(drift.code != DONE && drift.stderr.contains("wasmig repair r001"), "{drift}");
    assert_eq!(db.dump(), before, "a drifted run changed the database");
    expect(&wasmig_run(path, &db, &["status"]), CHECK_FAILED, "status with drift");
    expect(&wasmig_run(path, &db, &["repair", "r001"]), DONE, "repair r001");
    let again = wasmig_run(path, &db, &["repair", "r001"]);
    expect(&again, DONE, "repair r001 again");
    assert!(again.stdout.contains("nothing to repair, nothing recorded"), "{again}");
    expect(&wasmig_run(path, &db, &["upgrade"]), DONE, "upgrade after repair");
    expect(&wasmig_run(path, &db, &["verify"]), DONE, "verify (no verify hooks: nothing contradicts)");

    // A dirty marker blocks runs until resolved.
    add_sql_revision(
        path,
        "manual",
        &["r003"],
        "CREATE TABLE t_manual (id INTEGER);\nINSERT INTO no_such_table VALUES (1);\n",
        "",
    );
    let manifest = path.join("migrations/manual/revision.toml");
    let text = std::fs::read_to_string(&manifest).unwrap() + "transactional = false\n";
    std::fs::write(&manifest, text).unwrap();
    expect(&wasmig_run(path, &db, &["upgrade"]), RUN_FAILED, "a failing non-transactional revision");
    expect(&wasmig_run(path, &db, &["status"]), CHECK_FAILED, "status with a dirty revision");
    let blocked = wasmig_run(path, &db, &["upgrade"]);
    assert!(blocked.code != DONE && blocked.stderr.contains("wasmig resolve manual --as"), "{blocked}");
    expect(&wasmig_run(path, &db, &["resolve", "manual", "--as", "reverted"]), DONE, "resolve --as reverted");
    write_revision_file(path, "manual", "up.sql", "CREATE TABLE IF NOT EXISTS t_manual (id INTEGER);\n");
    expect(&wasmig_run(path, &db, &["upgrade"]), DONE, "upgrade after resolve");

    // Several heads: `upgrade head` is refused naming them; nothing is applied.
    add_sql_revision(path, "left", &["manual"], "CREATE TABLE t_left (id INTEGER);", "");
    add_sql_revision(path, "right", &["manual"], "CREATE TABLE t_right (id INTEGER);", "");
    let heads = wasmig_run(path, &db, &["upgrade", "head"]);
    expect(&heads, USAGE, "upgrade head with two heads");
    assert!(
        heads.stderr.contains("left") && heads.stderr.contains("right") && heads.stderr.contains("wasmig merge"),
        "{heads}"
    );
    assert!(!db.recorded().contains("left") && !db.recorded().contains("right"));
    expect(&wasmig_run(path, &db, &["status"]), CHECK_FAILED, "status behind two heads");
}

/// One `wasmig upgrade` on a scratch database, so that the component cache is
/// warm before the measured or concurrent runs start.
fn warm_up(project: &Path, engine: Engine) {
    let scratch = TestDb::fresh(engine);
    expect(&wasmig_run(project, &scratch, &["upgrade"]), DONE, "warm-up upgrade");
}

fn spawn(command: &mut Command) -> Child {
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("start wasmig")
}

fn eight_concurrent_upgrades_apply_each_revision_exactly_once(engine: Engine) {
    const RUNNERS: usize = 8;
    const REPETITIONS: usize = 20;
    let dir = tempfile::tempdir().unwrap();
    let (ids, merge) = write_branched_project(dir.path());
    warm_up(dir.path(), engine);
    let once: BTreeMap<String, usize> = ids.iter().map(|id| (id.clone(), 1)).collect();

    for repetition in 0..REPETITIONS {
        let db = TestDb::fresh(engine);
        let runners: Vec<Child> = (0..RUNNERS).map(|_| spawn(wasmig(dir.path(), &db).arg("upgrade"))).collect();
        for (index, runner) in runners.into_iter().enumerate() {
            let finished = Finished::of(runner.wait_with_output().unwrap());
            expect(&finished, DONE, &format!("repetition {repetition}, runner {index}"));
        }
        assert_eq!(db.event_counts("upgrade"), once, "repetition {repetition}: upgrade events per revision");
        assert!(db.event_counts("fail").is_empty(), "repetition {repetition}: {:?}", db.events());
        let rows = db.version_rows();
        assert_eq!(
            rows.iter().map(|row| row.revision.clone()).collect::<BTreeSet<_>>(),
            set(&ids),
            "repetition {repetition}"
        );
        assert!(rows.iter().all(|row| row.state == "applied"), "repetition {repetition}: {rows:?}");
        assert_eq!(db.user_tables(), tables_of(&ids, Some(&merge)), "repetition {repetition}: schema");
    }
}

/// Every recorded revision is applied and has its table; every table belongs
/// to a recorded revision.
fn assert_schema_agrees_with_applied_set(db: &TestDb, context: &str) {
    let rows = db.version_rows();
    assert!(rows.iter().all(|row| row.state == "applied"), "{context}: {rows:?}");
    let recorded: BTreeSet<String> = rows.into_iter().map(|row| row.revision).collect();
    let expected: BTreeSet<String> = recorded.iter().map(|id| table_of(id)).collect();
    assert_eq!(db.user_tables(), expected, "{context}: tables versus recorded revisions {recorded:?}");
}

fn sigkill_at_random_points_keeps_schema_and_applied_set_in_agreement(engine: Engine) {
    const REVISIONS: usize = 200;
    const KILLS: usize = 20;
    let dir = tempfile::tempdir().unwrap();
    let ids = write_chain_project(dir.path(), REVISIONS);
    warm_up(dir.path(), engine);
    let mut rng = SeededRng::from_env_or_clock(&format!("sigkill on {engine:?}"));

    // How long a whole run takes here, only to spread the kills over it.
    let calibration = TestDb::fresh(engine);
    let started = Instant::now();
    expect(&wasmig_run(dir.path(), &calibration, &["upgrade"]), DONE, "calibration run");
    let whole_run = started.elapsed().as_micros().max(1) as u64;
    drop(calibration);

    let mut killed_midway = 0;
    for kill in 0..KILLS {
        let db = TestDb::fresh(engine);
        let delay = Duration::from_micros(rng.below(whole_run));
        let mut runner = wasmig(dir.path(), &db)
            .arg("upgrade")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        runner.kill().unwrap();
        runner.wait().unwrap();
        let context = format!("{engine:?} kill {kill} after {delay:?}");
        assert_schema_agrees_with_applied_set(&db, &context);
        let applied = db.recorded().len();
        if applied > 0 && applied < REVISIONS {
            killed_midway += 1;
        }
        eprintln!("{context}: {applied} of {REVISIONS} applied");

        expect(&wasmig_run(dir.path(), &db, &["upgrade"]), DONE, &format!("{context}: rerun"));
        assert_schema_agrees_with_applied_set(&db, &format!("{context}, after the rerun"));
        assert_eq!(db.recorded(), set(&ids), "{context}: the rerun reached the head");
        assert!(db.event_counts("upgrade").values().all(|count| *count == 1), "{context}: a revision ran twice");
    }
    // Otherwise the kills all landed before start-up or after the end, and the test proved nothing.
    assert!(killed_midway > 0, "no kill landed in the middle of a run");
}

/// What a database holds, timestamps and durations aside: its schema (rows
/// of SQL or column descriptions), its version rows, and its events
/// (kind, revision).
type Holdings = (Vec<Vec<Option<String>>>, Vec<wasmig_tests::matrix::VersionRow>, Vec<(String, String)>);

/// The tables (with their SQL or columns) and version rows a database holds,
/// ignoring timestamps and durations.
fn schema_and_versions(db: &TestDb) -> Holdings {
    let schema = match db.engine() {
        Engine::Sqlite => db.texts("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name"),
        Engine::Postgres => db.texts(
            "SELECT table_name::text, column_name::text, data_type::text, is_nullable::text, column_default::text, is_identity::text \
             FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position",
        ),
    };
    (schema, db.version_rows(), db.event_pairs())
}

fn offline_sql_replayed_leaves_what_a_live_upgrade_leaves(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    write_sql_project(path, &[]);
    // 20 revisions: a trunk, two branches, a merge, and SQL whose literals need quoting.
    let mut parent = String::new();
    for index in 0..8 {
        let id = format!("trunk{index}");
        let parents: Vec<&str> = if parent.is_empty() { vec![] } else { vec![parent.as_str()] };
        add_sql_revision(
            path,
            &id,
            &parents,
            &format!("CREATE TABLE {} (id INTEGER, note TEXT);\n", table_of(&id)),
            "",
        );
        parent = id;
    }
    for branch in ["left", "right"] {
        let mut previous = parent.clone();
        for index in 0..4 {
            let id = format!("{branch}{index}");
            let up = format!(
                "CREATE TABLE {table} (id INTEGER, note TEXT);\nINSERT INTO {table} VALUES ({index}, 'it''s {branch}; -- not a comment');\n",
                table = table_of(&id)
            );
            add_sql_revision(path, &id, &[previous.as_str()], &up, "");
            previous = id;
        }
    }
    add_sql_revision(path, "merge0", &["left3", "right3"], "", "");
    for index in 0..3 {
        let id = format!("top{index}");
        let parent = if index == 0 { "merge0".to_owned() } else { format!("top{}", index - 1) };
        add_sql_revision(path, &id, &[parent.as_str()], &format!("CREATE TABLE {} (id INTEGER);\n", table_of(&id)), "");
    }

    let live = TestDb::fresh(engine);
    expect(&wasmig_run(path, &live, &["upgrade"]), DONE, "live upgrade");
    assert_eq!(live.recorded().len(), 20);

    let offline = TestDb::fresh(engine);
    let printed = wasmig_run(path, &offline, &["upgrade", "--sql"]);
    expect(&printed, DONE, "upgrade --sql");
    assert!(offline.all_tables().is_empty(), "--sql wrote to the database: {:?}", offline.all_tables());
    let replayed = replay(&offline, &printed.stdout);
    expect(&replayed, DONE, "replaying the offline SQL");

    let (live_schema, live_rows, live_events) = schema_and_versions(&live);
    let (offline_schema, offline_rows, offline_events) = schema_and_versions(&offline);
    assert_eq!(offline_schema, live_schema, "schema");
    assert_eq!(offline_rows, live_rows, "version rows (revision, checksum, module hash, kind, state)");
    assert_eq!(offline_events, live_events, "events");
    let notes = |db: &TestDb| db.texts(&format!("SELECT note FROM {} ORDER BY id", table_of("left2")));
    assert_eq!(notes(&offline), notes(&live));
    assert_eq!(notes(&live), [[Some("it's left; -- not a comment".to_owned())]]);
    // The replayed database is one wasmig accepts as at its heads.
    expect(&wasmig_run(path, &offline, &["status"]), DONE, "status of the replayed database");
}

fn component_mid_plan_through_the_cli(engine: Engine, fixture: Fixture, leftover: &str, extra_manifest: &str) {
    let db = TestDb::fresh(engine);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    write_sql_project(path, &[]);
    add_sql_revision(path, "first", &[], "CREATE TABLE t_first (id INTEGER);", "");
    add_sql_revision(path, "second", &["first"], "CREATE TABLE t_second (id INTEGER);", "");
    add_component_revision(path, "guest", &["second"], fixture, extra_manifest);
    add_sql_revision(path, "after", &["guest"], "CREATE TABLE t_after (id INTEGER);", "");

    let failed = wasmig_run(path, &db, &["upgrade"]);
    expect(&failed, RUN_FAILED, &format!("{fixture:?} mid-plan"));
    assert!(failed.stderr.contains("guest"), "the error names the revision: {failed}");
    assert_eq!(db.recorded(), set(&["first", "second"]));
    let tables = db.user_tables();
    assert!(!tables.contains(leftover), "{fixture:?} left {leftover}");
    assert_eq!(tables, set(&["t_first", "t_second"]));
    let events: Vec<(String, String)> = db.event_pairs();
    let expected: Vec<(String, String)> = [("upgrade", "first"), ("upgrade", "second"), ("fail", "guest")]
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect();
    assert_eq!(events, expected);
    expect(&wasmig_run(path, &db, &["status"]), CHECK_FAILED, "status after the failure");
}

fn a_trapping_component_mid_plan_exits_1_keeping_earlier_steps(engine: Engine) {
    component_mid_plan_through_the_cli(engine, Fixture::Trap, "fixture_trap", "");
}

fn a_looping_component_mid_plan_exits_1_keeping_earlier_steps(engine: Engine) {
    component_mid_plan_through_the_cli(engine, Fixture::Spin, "fixture_spin", "[sandbox]\ntimeout_ms = 300\n");
}
