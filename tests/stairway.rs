//! `wasmig test` (the stairway) through the binary, on SQLite and PostgreSQL: a correct history passes; a `down` that forgets a column, an index or a table fails naming the revision and the object; merges and one-way revisions are applied, not reverted; the scratch PostgreSQL schema is gone afterwards, pass or fail.

use std::path::Path;

use serde_json::Value;
use wasmig_tests::matrix::{
    Engine, Finished, TestDb, add_component_revision, extend_manifest, run, wasmig, write_revision_file,
};
use wasmig_tests::{Fixture, add_sql_revision, on_every_engine, write_sql_project};

/// `users` with a unique email, an index, a foreign key, a view, a check,
/// a trigger (each `down` undoing its `up`), and a Rust component revision
/// with a verify hook.
fn correct_history(dir: &Path, engine: Engine) {
    write_sql_project(dir, &[]);
    add_sql_revision(
        dir,
        "a1",
        &[],
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT 'x', \
         email TEXT UNIQUE, age INTEGER CHECK (age >= 0));\n\
         CREATE INDEX users_name ON users (name);\n",
        "DROP TABLE users;\n",
    );
    write_revision_file(dir, "a1", "verify.sql", "SELECT count(*) + 1 FROM users;\n");
    add_sql_revision(
        dir,
        "b2",
        &["a1"],
        "CREATE TABLE posts (id INTEGER PRIMARY KEY, author INTEGER REFERENCES users (id) ON DELETE CASCADE, \
         title TEXT);\n\
         CREATE VIEW titles AS SELECT title FROM posts;\n\
         ALTER TABLE users ADD COLUMN nickname TEXT;\n",
        "DROP VIEW titles;\nDROP TABLE posts;\nALTER TABLE users DROP COLUMN nickname;\n",
    );
    let trigger = match engine {
        Engine::Sqlite => (
            "CREATE TRIGGER posts_title AFTER INSERT ON posts BEGIN UPDATE posts SET title = 'x' WHERE id = NEW.id; END;\n",
            "DROP TRIGGER posts_title;\n",
        ),
        Engine::Postgres => (
            "CREATE SEQUENCE post_numbers;\n\
             CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;\n\
             CREATE TRIGGER posts_title BEFORE INSERT ON posts FOR EACH ROW EXECUTE FUNCTION touch();\n",
            "DROP TRIGGER posts_title ON posts;\nDROP FUNCTION touch();\nDROP SEQUENCE post_numbers;\n",
        ),
    };
    add_sql_revision(dir, "c3", &["b2"], trigger.0, trigger.1);
    add_component_revision(dir, "d4", &["c3"], Fixture::Good, "");
}

fn test_json(project: &Path, db: &TestDb) -> (Finished, Value) {
    let finished = run(wasmig(project, db).args(["--format", "json", "test"]));
    let json = serde_json::from_str(&finished.stdout).unwrap_or_else(|error| panic!("not JSON ({error}): {finished}"));
    (finished, json)
}

fn stair<'a>(report: &'a Value, revision: &str) -> &'a Value {
    report["revisions"]
        .as_array()
        .and_then(|stairs| stairs.iter().find(|stair| stair["revision"] == revision))
        .unwrap_or_else(|| panic!("no revision {revision} in {report:#}"))
}

/// The scratch schemas `wasmig test` left in the test database (none, ever).
fn leftover_schemas(db: &TestDb) -> Vec<Vec<Option<String>>> {
    match db.engine() {
        Engine::Sqlite => Vec::new(),
        Engine::Postgres => db.texts("SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'wasmig\\_test\\_%'"),
    }
}

fn correct_history_passes(engine: Engine) {
    let db = TestDb::fresh(engine);
    let dir = tempfile::tempdir().unwrap();
    correct_history(dir.path(), engine);
    let (finished, report) = test_json(dir.path(), &db);
    assert_eq!(finished.code, Some(0), "{finished}");
    assert_eq!(report["passed"], Value::Bool(true), "{report:#}");
    assert_eq!(report["revisions"].as_array().unwrap().len(), 4);
    for revision in ["a1", "b2", "c3", "d4"] {
        let stair = stair(&report, revision);
        assert_eq!(stair["outcome"], "passed", "{stair:#}");
        assert!(stair["down_ms"].is_u64() && stair["up_again_ms"].is_u64(), "{stair:#}");
    }
    assert_eq!(stair(&report, "a1")["verify"], "present");
    assert_eq!(stair(&report, "d4")["verify"], "present", "the component's own verify hook");
    assert_eq!(stair(&report, "b2")["verify"], "unknown", "no verify.sql");
    // Text, and nothing written where the URL points: the scratch is elsewhere.
    let text = run(wasmig(dir.path(), &db).arg("test"));
    assert_eq!(text.code, Some(0), "{text}");
    assert!(text.stdout.contains("passed: 4 revision(s)"), "{text}");
    assert!(db.user_tables().is_empty(), "the database given is untouched: {:?}", db.user_tables());
    assert!(leftover_schemas(&db).is_empty(), "{:?}", leftover_schemas(&db));
}

/// A project whose `b2` does `up` and has a `down` that does nothing.
fn forgetful(dir: &Path, up: &str) {
    write_sql_project(dir, &[]);
    add_sql_revision(
        dir,
        "a1",
        &[],
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);\n",
        "DROP TABLE users;\n",
    );
    add_sql_revision(dir, "b2", &["a1"], up, "");
    add_sql_revision(dir, "c3", &["b2"], "CREATE TABLE later (id INTEGER);\n", "DROP TABLE later;\n");
}

fn assert_forgot(engine: Engine, up: &str, object: &str, name: &str) {
    let db = TestDb::fresh(engine);
    let dir = tempfile::tempdir().unwrap();
    forgetful(dir.path(), up);
    let (finished, report) = test_json(dir.path(), &db);
    assert_eq!(finished.code, Some(1), "{finished}");
    assert_eq!(report["passed"], Value::Bool(false));
    assert_eq!(report["failed"], serde_json::json!(["b2"]), "{report:#}");
    assert_eq!(stair(&report, "a1")["outcome"], "passed");
    let b2 = stair(&report, "b2");
    assert_eq!(b2["outcome"], "failed");
    let differences = b2["differences"].as_array().unwrap();
    assert!(
        differences.iter().any(|d| d["object"] == object && d["name"] == name && d["before"].is_null()),
        "{object} {name} not reported left behind: {b2:#}"
    );
    // Its `up` again then fails (the object is there already): the walk stops.
    assert_eq!(stair(&report, "c3")["outcome"], "not-run", "{report:#}");
    let text = run(wasmig(dir.path(), &db).arg("test"));
    assert_eq!(text.code, Some(1), "{text}");
    let expected = format!("revision b2: `down` did not undo {object} `{name}`");
    assert!(text.stdout.contains(&expected), "expected `{expected}` in:\n{text}");
    assert!(text.stdout.contains("FAILED: 1 of 3 revision(s): b2"), "{text}");
    assert!(
        leftover_schemas(&db).is_empty(),
        "the scratch schema is dropped after a failure: {:?}",
        leftover_schemas(&db)
    );
}

fn down_forgets_a_column(engine: Engine) {
    assert_forgot(engine, "ALTER TABLE users ADD COLUMN email TEXT;\n", "column", "users.email");
}

fn down_forgets_an_index(engine: Engine) {
    assert_forgot(engine, "CREATE INDEX users_name ON users (name);\n", "index", "users_name");
}

fn down_forgets_a_table(engine: Engine) {
    assert_forgot(engine, "CREATE TABLE audit (id INTEGER);\n", "table", "audit");
}

/// A `down` that drops more than its `up` made, or changes a column back
/// wrongly, is named too (something that existed before `up` is gone).
fn down_drops_too_much(engine: Engine) {
    let db = TestDb::fresh(engine);
    let dir = tempfile::tempdir().unwrap();
    write_sql_project(dir.path(), &[]);
    add_sql_revision(dir.path(), "a1", &[], "CREATE TABLE users (id INTEGER, name TEXT);\n", "DROP TABLE users;\n");
    add_sql_revision(
        dir.path(),
        "b2",
        &["a1"],
        "CREATE INDEX users_name ON users (name);\n",
        "DROP INDEX users_name;\nALTER TABLE users DROP COLUMN name;\n",
    );
    let (finished, report) = test_json(dir.path(), &db);
    assert_eq!(finished.code, Some(1), "{finished}");
    let b2 = stair(&report, "b2");
    let differences = b2["differences"].as_array().unwrap();
    assert!(
        differences.iter().any(|d| d["object"] == "column" && d["name"] == "users.name" && d["after"].is_null()),
        "{b2:#}"
    );
    assert!(report["problems"][0].as_str().unwrap().contains("existed before `up` and is gone after `down`"));
}

/// Branches joined by a merge revision, and a one-way revision whose `down`
/// cannot restore what `up` dropped: both applied, reported not reverted.
fn merges_and_one_way_revisions_are_not_reverted(engine: Engine) {
    let db = TestDb::fresh(engine);
    let dir = tempfile::tempdir().unwrap();
    write_sql_project(dir.path(), &[]);
    add_sql_revision(dir.path(), "a1", &[], "CREATE TABLE users (id INTEGER, legacy TEXT);\n", "DROP TABLE users;\n");
    add_sql_revision(dir.path(), "b2", &["a1"], "CREATE TABLE b (id INTEGER);\n", "DROP TABLE b;\n");
    add_sql_revision(dir.path(), "c3", &["a1"], "CREATE TABLE c (id INTEGER);\n", "DROP TABLE c;\n");
    add_sql_revision(dir.path(), "m4", &["b2", "c3"], "", "");
    add_sql_revision(dir.path(), "e5", &["m4"], "ALTER TABLE users DROP COLUMN legacy;\n", "");
    extend_manifest(dir.path(), "e5", "reversible = false");
    let (finished, report) = test_json(dir.path(), &db);
    assert_eq!(finished.code, Some(0), "{finished}");
    let merge = stair(&report, "m4");
    assert_eq!(
        (&merge["kind"], &merge["not_reverted"], &merge["outcome"]),
        (&"merge".into(), &"merge".into(), &"passed".into())
    );
    assert!(merge["up_ms"].is_u64() && merge["down_ms"].is_null(), "{merge:#}");
    let one_way = stair(&report, "e5");
    assert_eq!((&one_way["not_reverted"], &one_way["outcome"]), (&"one-way".into(), &"passed".into()), "{one_way:#}");
    assert!(one_way["down_ms"].is_null());
    let text = run(wasmig(dir.path(), &db).arg("test"));
    assert!(text.stdout.contains("m4 (merge)") && text.stdout.contains("a merge: applied, not reverted"), "{text}");
    assert!(text.stdout.contains("one-way (reversible = false): applied, not reverted"), "{text}");

    // Without the declaration, the same revision fails: its `down` restores nothing.
    let manifest = dir.path().join("migrations/e5/revision.toml");
    let text = std::fs::read_to_string(&manifest).unwrap().replace("reversible = false\n", "");
    std::fs::write(&manifest, text).unwrap();
    let (finished, report) = test_json(dir.path(), &db);
    assert_eq!(finished.code, Some(1), "{finished}");
    assert_eq!(report["failed"], serde_json::json!(["e5"]), "{report:#}");
    assert!(leftover_schemas(&db).is_empty());
}

on_every_engine!(
    correct_history_passes,
    down_forgets_a_column,
    down_forgets_an_index,
    down_forgets_a_table,
    down_drops_too_much,
    merges_and_one_way_revisions_are_not_reverted,
);

/// A revision that fails on its way up: exit 1, the revision and its error
/// named, and (PostgreSQL) the scratch schema dropped all the same.
#[test]
fn a_failing_up_is_reported_and_the_scratch_schema_dropped() {
    let db = TestDb::fresh(Engine::Postgres);
    let dir = tempfile::tempdir().unwrap();
    write_sql_project(dir.path(), &[]);
    add_sql_revision(dir.path(), "a1", &[], "CREATE TABLE users (id INTEGER);\n", "DROP TABLE users;\n");
    add_sql_revision(dir.path(), "b2", &["a1"], "ALTER TABLE nosuch ADD COLUMN x INTEGER;\n", "SELECT 1;\n");
    let (finished, report) = test_json(dir.path(), &db);
    assert_eq!(finished.code, Some(1), "{finished}");
    let b2 = stair(&report, "b2");
    assert_eq!(b2["error"]["step"], "up", "{b2:#}");
    assert!(b2["error"]["message"].as_str().unwrap().contains("nosuch"), "{b2:#}");
    assert!(leftover_schemas(&db).is_empty(), "{:?}", leftover_schemas(&db));
}
