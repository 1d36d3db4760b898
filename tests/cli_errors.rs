//! The `wasmig` binary's errors that point (a failing statement's file, line, column and first line; advice for a schema made without wasmig) and its checksum rules (verify.sql is not drift, drift names the file and both checksums, SQL files without statements are refused unless marked), on SQLite files and the real PostgreSQL server.

use std::path::Path;
use std::process::Command;

use wasmig_tests::matrix::{
    Engine, Finished, TestDb, add_component_revision, run, wasmig, wasmig_binary, write_revision_file,
};
use wasmig_tests::{Fixture, add_sql_revision, on_every_engine, write_sql_project};

const DONE: Option<i32> = Some(0);
const RUN_FAILED: Option<i32> = Some(1);
const PROJECT_ERROR: Option<i32> = Some(2);

on_every_engine!(
    a_syntax_error_on_line_3_names_the_file_line_column_and_statement,
    a_missing_table_in_the_second_statement_names_its_line,
    a_constraint_broken_while_running_names_the_statement_not_an_identical_earlier_one,
    an_existing_object_on_a_first_run_advises_stamp_or_adopt,
    a_statement_sent_by_code_is_named_by_its_first_line,
    adding_verify_sql_to_an_applied_revision_is_not_drift,
    an_edited_up_sql_drifts_naming_the_file_and_both_checksums,
    an_sql_file_without_statements_is_refused_unless_marked,
);

fn wasmig_run(project: &Path, db: &TestDb, args: &[&str]) -> Finished {
    run(wasmig(project, db).args(args))
}

fn expect(finished: &Finished, code: Option<i32>, what: &str) {
    assert_eq!(finished.code, code, "{what}: {finished}");
}

/// A project with one SQL revision `rev` whose `up.sql` is `up`.
fn project_with(up: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_sql_project(dir.path(), &[("rev", &[], up, "DROP TABLE IF EXISTS t_one;\n")]);
    dir
}

fn a_syntax_error_on_line_3_names_the_file_line_column_and_statement(engine: Engine) {
    let db = TestDb::fresh(engine);
    let dir = project_with("-- the users\nCREATE TABLE t_one (id INTEGER);\nCREAT TABLE users (\n  id INTEGER\n);\n");
    let failed = wasmig_run(dir.path(), &db, &["upgrade"]);
    expect(&failed, RUN_FAILED, "a syntax error");
    let reason = match engine {
        Engine::Postgres => "syntax error at or near \"CREAT\" [42601]",
        Engine::Sqlite => "near \"CREAT\": syntax error [SQLITE_ERROR]",
    };
    assert!(
        failed.stderr.contains(&format!("revision rev: up.sql:3:1: {reason}\n  CREAT TABLE users ( ...")),
        "{failed}"
    );
    assert!(db.user_tables().is_empty(), "the step was rolled back: {:?}", db.user_tables());
}

fn a_missing_table_in_the_second_statement_names_its_line(engine: Engine) {
    let db = TestDb::fresh(engine);
    let dir = project_with("CREATE TABLE t_one (id INTEGER);\nINSERT INTO no_such_table VALUES (1);\n");
    let failed = wasmig_run(dir.path(), &db, &["upgrade"]);
    expect(&failed, RUN_FAILED, "a missing table");
    // PostgreSQL points at the table's name; SQLite gives no offset for an
    // unknown table, so the statement's start.
    let (column, reason) = match engine {
        Engine::Postgres => (13, "relation \"no_such_table\" does not exist [42P01]"),
        Engine::Sqlite => (1, "no such table: no_such_table [SQLITE_ERROR]"),
    };
    let expected = format!("revision rev: up.sql:2:{column}: {reason}\n  INSERT INTO no_such_table VALUES (1)\n");
    assert!(failed.stderr.contains(&expected), "expected {expected:?} in {failed}");
}

fn a_constraint_broken_while_running_names_the_statement_not_an_identical_earlier_one(engine: Engine) {
    let db = TestDb::fresh(engine);
    // Neither database gives a position for an error while a statement
    // runs: the host knows which statement of the script failed.
    let dir = project_with(
        "CREATE TABLE t_one (id INTEGER NOT NULL UNIQUE);\nINSERT INTO t_one VALUES (1);\n\n  INSERT INTO t_one VALUES (1);\n",
    );
    let failed = wasmig_run(dir.path(), &db, &["upgrade"]);
    expect(&failed, RUN_FAILED, "a unique violation");
    let code = match engine {
        Engine::Postgres => "[23505]",
        Engine::Sqlite => "[SQLITE_CONSTRAINT_UNIQUE]",
    };
    assert!(failed.stderr.contains("revision rev: up.sql:4:3: ") && failed.stderr.contains(code), "{failed}");
    assert!(failed.stderr.contains("\n  INSERT INTO t_one VALUES (1)"), "{failed}");
}

fn an_existing_object_on_a_first_run_advises_stamp_or_adopt(engine: Engine) {
    let db = TestDb::fresh(engine);
    db.execute("CREATE TABLE users (id INTEGER)");
    let dir = tempfile::tempdir().unwrap();
    write_sql_project(
        dir.path(),
        &[
            ("first", &[], "CREATE TABLE users (id INTEGER);\n", "DROP TABLE users;\n"),
            ("second", &["first"], "CREATE TABLE t_second (id INTEGER);\nCREATE TABLE users (id INTEGER);\n", ""),
        ],
    );
    let failed = wasmig_run(dir.path(), &db, &["upgrade"]);
    expect(&failed, RUN_FAILED, "users exists already");
    assert!(
        failed.stderr.contains("revision first: up.sql:1:") && failed.stderr.contains("already exists"),
        "{failed}"
    );
    for advice in ["made without wasmig", "`wasmig stamp REV`", "`wasmig upgrade --adopt`"] {
        assert!(failed.stderr.contains(advice), "{advice:?} missing: {failed}");
    }

    // Once wasmig has recorded a revision, the same error is the revision's own problem: no advice.
    expect(&wasmig_run(dir.path(), &db, &["stamp", "first"]), DONE, "stamp first");
    let failed = wasmig_run(dir.path(), &db, &["upgrade"]);
    expect(&failed, RUN_FAILED, "second creates users again");
    assert!(failed.stderr.contains("revision second: up.sql:2:"), "{failed}");
    assert!(!failed.stderr.contains("made without wasmig"), "{failed}");
}

fn a_statement_sent_by_code_is_named_by_its_first_line(engine: Engine) {
    let db = TestDb::fresh(engine);
    db.execute("CREATE TABLE fixture_good (id INTEGER)");
    let dir = tempfile::tempdir().unwrap();
    write_sql_project(dir.path(), &[]);
    add_component_revision(dir.path(), "code", &[], Fixture::Good, "");
    let failed = wasmig_run(dir.path(), &db, &["upgrade"]);
    expect(&failed, RUN_FAILED, "fixture_good exists already");
    assert!(failed.stderr.contains("revision code: `up` failed: "), "{failed}");
    assert!(
        failed.stderr.contains("\n  in the statement: CREATE TABLE fixture_good (id INTEGER PRIMARY KEY"),
        "{failed}"
    );
    assert!(failed.stderr.contains("`wasmig upgrade --adopt`"), "a first run: {failed}");
}

fn adding_verify_sql_to_an_applied_revision_is_not_drift(engine: Engine) {
    let db = TestDb::fresh(engine);
    let dir = project_with("CREATE TABLE t_one (id INTEGER);\n");
    expect(&wasmig_run(dir.path(), &db, &["upgrade"]), DONE, "upgrade");
    write_revision_file(dir.path(), "rev", "verify.sql", "SELECT count(*) FROM t_one WHERE 1 = 0\n");
    let status = wasmig_run(dir.path(), &db, &["status"]);
    expect(&status, DONE, "status after adding verify.sql");
    assert!(!status.stdout.contains("drift"), "{status}");
    // Editing it is not drift either; the run goes on.
    write_revision_file(dir.path(), "rev", "verify.sql", "SELECT 1\n");
    expect(&wasmig_run(dir.path(), &db, &["status"]), DONE, "status after editing verify.sql");
    expect(&wasmig_run(dir.path(), &db, &["upgrade"]), DONE, "upgrade after editing verify.sql");
    let verify = wasmig_run(dir.path(), &db, &["verify"]);
    expect(&verify, DONE, "verify uses the new verify.sql");
    assert!(verify.stdout.contains("rev applied     verify: present"), "{verify}");
}

fn an_edited_up_sql_drifts_naming_the_file_and_both_checksums(engine: Engine) {
    let db = TestDb::fresh(engine);
    let dir = project_with("CREATE TABLE t_one (id INTEGER);\n");
    expect(&wasmig_run(dir.path(), &db, &["upgrade"]), DONE, "upgrade");
    let recorded = db.version_rows()[0].checksum.split(' ').next().unwrap().to_owned();
    write_revision_file(dir.path(), "rev", "up.sql", "CREATE TABLE t_one (id BIGINT);\n");

    let drift = wasmig_run(dir.path(), &db, &["upgrade"]);
    assert_ne!(drift.code, DONE, "{drift}");
    let line = drift.stderr.lines().find(|line| line.contains("rev: ")).unwrap_or_else(|| panic!("{drift}"));
    assert!(line.contains(&format!("rev: up.sql changed (recorded {recorded}, now sha256:")), "{drift}");
    let now = line.rsplit("now ").next().unwrap().trim_end_matches(')');
    assert!(now.len() == 7 + 64 && now != recorded, "{line}");
    assert!(!line.contains("down.sql") && !line.contains("revision.toml"), "only up.sql changed: {line}");
    assert!(drift.stderr.contains("wasmig repair rev"), "{drift}");

    let status = wasmig_run(dir.path(), &db, &["status"]);
    assert!(status.stdout.contains(&format!("up.sql changed (recorded {recorded}, now {now})")), "{status}");
    let json = wasmig_run(dir.path(), &db, &["--format", "json", "status"]);
    let parsed: serde_json::Value =
        serde_json::from_str(&json.stdout).unwrap_or_else(|error| panic!("{error}: {json}"));
    let drifts = &parsed["status"]["drifts"];
    assert_eq!(drifts[0]["revision"], "rev", "{json}");
    assert_eq!(drifts[0]["changed"], serde_json::json!(["up.sql"]), "{json}");
    assert_eq!((drifts[0]["recorded"].as_str(), drifts[0]["current"].as_str()), (Some(recorded.as_str()), Some(now)));
}

fn an_sql_file_without_statements_is_refused_unless_marked(engine: Engine) {
    let db = TestDb::fresh(engine);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    std::fs::write(path.join("wasmig.toml"), "").unwrap();
    std::fs::create_dir(path.join("migrations")).unwrap();
    // `wasmig new` writes templates that state the rule; unedited, its up.sql is refused.
    let new =
        run(Command::new(wasmig_binary()).arg("-C").arg(path).args(["new", "--id", "tmpl", "-m", "from the template"]));
    expect(&new, DONE, "new");
    let revision = std::fs::read_dir(path.join("migrations")).unwrap().next().unwrap().unwrap().path();
    let template = std::fs::read_to_string(revision.join("down.sql")).unwrap();
    assert!(template.contains("-- wasmig: empty"), "{template}");
    let refused = wasmig_run(path, &db, &["upgrade"]);
    expect(&refused, PROJECT_ERROR, "an unedited up.sql");
    assert!(
        refused.stderr.contains("up.sql holds no statement") && refused.stderr.contains("-- wasmig: empty"),
        "{refused}"
    );
    assert!(db.all_tables().is_empty(), "nothing was done, not even the version tables: {:?}", db.all_tables());

    // A down.sql of comments only: the upgrade runs, the downgrade is refused and changes nothing.
    std::fs::remove_dir_all(&revision).unwrap();
    add_sql_revision(path, "rev", &[], "CREATE TABLE t_one (id INTEGER);\n", "DROP TABLE t_one;\n");
    write_revision_file(path, "rev", "down.sql", "-- downgrade of rev\n\n-- Undo exactly what up.sql does.\n");
    expect(&wasmig_run(path, &db, &["upgrade"]), DONE, "upgrade");
    let before = db.dump();
    let refused = wasmig_run(path, &db, &["downgrade", "base"]);
    expect(&refused, PROJECT_ERROR, "a down.sql without statements");
    assert!(refused.stderr.contains("revision rev: migrations/rev/down.sql holds no statement"), "{refused}");
    assert_eq!(db.dump(), before, "the refused downgrade changed the database");

    // The marker says it is empty on purpose: the downgrade runs and records it.
    write_revision_file(path, "rev", "down.sql", "-- nothing to undo here\n-- wasmig: empty\n");
    expect(&wasmig_run(path, &db, &["repair", "rev"]), DONE, "repair (down.sql changed)");
    expect(&wasmig_run(path, &db, &["downgrade", "base"]), DONE, "a marked down.sql");
    assert!(db.recorded().is_empty(), "{:?}", db.recorded());
    assert!(db.user_tables().contains("t_one"), "the marked down.sql did nothing, as it says");
}
