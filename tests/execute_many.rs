//! `execute-many` on SQLite files and the real PostgreSQL server: typed rows arrive as written, a failing row is named and nothing of its step stays, an empty call runs nothing, the journal keeps one entry without values, and every refused statement stays refused when sent this way.

use std::path::Path;

use wasmig::graph::Target;
use wasmig::sql::Value;
use wasmig::{Database, Error, Failure, HookError, JournalEntry, JournalFilter, NoProgress, RunOptions, RunReport};
use wasmig_tests::matrix::{Engine, TestDb, add_component_revision, migrator, write_revision_file};
use wasmig_tests::{Fixture, add_sql_revision, on_every_engine, write_sql_project};

const INSERTED: &str = "INSERT INTO many_values VALUES";

/// A project of `a0` (a table of its own) and `c1`, the fixture, told `mode`.
fn project(dir: &Path, mode: &str) {
    write_sql_project(dir, &[]);
    add_sql_revision(dir, "a0", &[], "CREATE TABLE kept (id INTEGER);", "DROP TABLE kept;");
    add_component_revision(dir, "c1", &["a0"], Fixture::Many, "");
    write_revision_file(dir, "c1", "mode", mode);
}

/// A fresh database of `engine`, the project told `mode`, and a connection.
fn scene(engine: Engine, mode: &str) -> (TestDb, tempfile::TempDir, Database) {
    let db = TestDb::fresh(engine);
    let dir = tempfile::tempdir().unwrap();
    project(dir.path(), mode);
    let database = db.connect();
    (db, dir, database)
}

fn upgrade(dir: &Path, db: &mut Database) -> Result<RunReport, Error> {
    migrator(dir).upgrade(db, &Target::Heads, &RunOptions::default(), &mut NoProgress)
}

fn journal(dir: &Path, db: &mut Database) -> Vec<JournalEntry> {
    let filter = JournalFilter { revisions: vec!["c1".to_owned()], limit: None };
    migrator(dir).journal(db, &filter).unwrap()
}

fn applied(db: &TestDb) -> Vec<Vec<Option<String>>> {
    db.texts("SELECT revision FROM wasmig_revisions ORDER BY revision")
}

fn many_values_exists(db: &TestDb) -> bool {
    db.connect().query("SELECT count(*) FROM many_values", &[]).is_ok()
}

fn typed_rows_arrive_as_written(engine: Engine) {
    let (_db, dir, mut database) = scene(engine, "count");
    upgrade(dir.path(), &mut database).expect("the rows are written");
    let rows = database.query("SELECT id, r, t, b, n FROM many_values ORDER BY id", &[]).unwrap();
    assert_eq!(
        rows.values,
        [
            vec![
                Value::Integer(1),
                Value::Real(1.5),
                Value::Text("one".into()),
                Value::Blob(vec![0, 1, 255]),
                Value::Null
            ],
            vec![
                Value::Integer(2),
                Value::Real(-2.25),
                Value::Text("twee ✓".into()),
                Value::Blob(vec![]),
                Value::Integer(7)
            ],
            vec![Value::Integer(3), Value::Real(1e300), Value::Text(String::new()), Value::Blob(vec![42]), Value::Null],
        ]
    );
    let entries = journal(dir.path(), &mut database);
    let many: Vec<_> = entries.iter().filter(|entry| entry.via == "execute-many").collect();
    assert_eq!(many.len(), 1, "one entry for the call: {entries:#?}");
    assert!(many[0].statement.starts_with(INSERTED), "{:?}", many[0].statement);
    assert_eq!((many[0].executions, many[0].row_count, many[0].error_code.as_deref()), (3, Some(3), None));
    for entry in &entries {
        assert!(
            !entry.statement.contains("twee") && !entry.statement.contains("one"),
            "no value is journaled: {entry:?}"
        );
    }
}

fn a_failing_row_is_named_and_nothing_of_the_step_stays(engine: Engine) {
    let (db, dir, mut database) = scene(engine, "duplicate");
    let error = upgrade(dir.path(), &mut database).expect_err("row 2 repeats row 1's key");
    assert!(
        matches!(error.failure(), Failure::Hook(HookError::Statement { .. })),
        "the statement is pointed at: {error:?}"
    );
    assert!(error.to_string().contains("row 2 of 3:"), "the row is named: {error}");
    assert!(!many_values_exists(&db), "the step's table is rolled back with its rows");
    assert_eq!(applied(&db), [[Some("a0".to_owned())]], "c1 is not recorded");
    let entries = journal(dir.path(), &mut database);
    let failed = entries.iter().find(|entry| entry.via == "execute-many").expect("the failed call is journaled");
    let code = match engine {
        Engine::Sqlite => "SQLITE_CONSTRAINT_PRIMARYKEY",
        Engine::Postgres => "23505",
    };
    assert_eq!((failed.executions, failed.error_code.as_deref()), (2, Some(code)), "rows 1 and 2 ran: {failed:?}");
}

fn an_empty_call_runs_nothing(engine: Engine) {
    let (db, dir, mut database) = scene(engine, "empty");
    upgrade(dir.path(), &mut database).expect("nothing to write is no error");
    assert_eq!(db.texts("SELECT count(*) FROM many_values"), [[Some("0".to_owned())]]);
    let entries = journal(dir.path(), &mut database);
    assert!(entries.iter().all(|entry| entry.via != "execute-many"), "an empty call sent nothing: {entries:#?}");
}

/// Transaction control and writes to the host's tables, in several
/// spellings, sent through `execute-many` by a revision that ignores the
/// refusal: the step fails, nothing of it stays, the version table is whole.
fn refused_statements_stay_refused(engine: Engine) {
    let spellings = [
        "COMMIT",
        "  /* done */ commit work",
        "END",
        "RoLLBack",
        "SAVEPOINT s1",
        "RELEASE SAVEPOINT s1",
        "BEGIN",
        "DELETE FROM wasmig_revisions",
        "UPDATE wasmig_revisions SET revision = 'x'",
    ];
    for sql in spellings {
        let (db, dir, mut database) = scene(engine, &format!("refuse:{sql}"));
        let error = upgrade(dir.path(), &mut database).expect_err(sql);
        assert!(
            matches!(
                error.failure(),
                Failure::Hook(
                    HookError::TransactionControl { .. } | HookError::Guest { .. } | HookError::SessionBreach { .. }
                )
            ),
            "{sql}: {error:?}"
        );
        assert!(!many_values_exists(&db), "{sql}: nothing of the step stays");
        assert_eq!(applied(&db), [[Some("a0".to_owned())]], "{sql}: the version table is whole");
        let refused = journal(dir.path(), &mut database);
        assert!(
            refused.iter().any(|entry| entry.via == "execute-many" && entry.error_code.as_deref() == Some("WASMIG")),
            "{sql}: the attempt is journaled as refused: {refused:#?}"
        );
    }
}

on_every_engine!(
    typed_rows_arrive_as_written,
    a_failing_row_is_named_and_nothing_of_the_step_stays,
    an_empty_call_runs_nothing,
    refused_statements_stay_refused,
);
