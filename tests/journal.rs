//! The statement journal on SQLite files and the real PostgreSQL server: every statement of SQL and Rust revisions in order, parameter values never stored, rolled-back and autocommit statements kept and marked, `[journal] enabled = false`, and `wasmig journal`.

use std::path::Path;

use wasmig::graph::Target;
use wasmig::{
    Database, Error, JournalEntry, JournalFilter, JournalOutcome, NoProgress, RunOptions, RunReport, TransactionMode,
};
use wasmig_tests::matrix::{
    Engine, PREFIX, TestDb, add_component_revision, extend_manifest, migrator, run, wasmig, write_config,
    write_revision_file,
};
use wasmig_tests::{Fixture, add_sql_revision, on_every_engine, write_sql_project};

/// A value the `good` fixture binds as a parameter (read from its asset): it must never reach the journal.
const SECRET: &str = "p4ssw0rd-bound-never-journaled";

fn upgrade_with(dir: &Path, db: &mut Database, options: &RunOptions) -> Result<RunReport, Error> {
    migrator(dir).upgrade(db, &Target::Heads, options, &mut NoProgress)
}

fn journal(dir: &Path, db: &mut Database) -> Vec<JournalEntry> {
    migrator(dir).journal(db, &JournalFilter::default()).unwrap()
}

/// (revision, direction, sequence, via, statement, outcome, failed) of each row, in order.
fn summary(entries: &[JournalEntry]) -> Vec<(String, String, i64, String, String, JournalOutcome, bool)> {
    entries
        .iter()
        .map(|entry| {
            (
                entry.revision.clone(),
                entry.direction.clone(),
                entry.sequence,
                entry.via.clone(),
                entry.statement.clone(),
                entry.outcome,
                entry.error_code.is_some(),
            )
        })
        .collect()
}

fn row(
    revision: &str,
    direction: &str,
    sequence: i64,
    via: &str,
    statement: &str,
    outcome: JournalOutcome,
    failed: bool,
) -> (String, String, i64, String, String, JournalOutcome, bool) {
    (revision.into(), direction.into(), sequence, via.into(), statement.into(), outcome, failed)
}

/// a1: SQL, three statements; b2: the Rust `good` fixture (a script, one
/// insert three times with bound values, a query); c3: SQL whose second
/// statement fails, so its third never runs.
fn project(dir: &Path) {
    write_sql_project(dir, &[]);
    add_sql_revision(
        dir,
        "a1",
        &[],
        "CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT);\n\
         INSERT INTO accounts (id, name) VALUES (1, 'root');\n\
         CREATE INDEX accounts_name ON accounts (name);\n",
        "DROP TABLE accounts;\n",
    );
    add_component_revision(dir, "b2", &["a1"], Fixture::Good, "");
    write_revision_file(dir, "b2", "marker.txt", SECRET);
}

fn add_failing(dir: &Path) {
    add_sql_revision(
        dir,
        "c3",
        &["b2"],
        "CREATE TABLE c3_first (id INTEGER);\nINSERT INTO c3_missing VALUES (1);\nCREATE TABLE c3_never (id INTEGER);\n",
        "DROP TABLE c3_first;\n",
    );
}

const GOOD_INSERT_SQLITE: &str = "INSERT INTO fixture_good (id, name, score, data) VALUES (?1, ?2, ?3, ?4)";
const GOOD_INSERT_POSTGRES: &str = "INSERT INTO fixture_good (id, name, score, data) VALUES ($1, $2, $3, $4)";

fn journal_lists_every_statement_in_order(engine: Engine) {
    use JournalOutcome::{Committed, RolledBack};
    let db = TestDb::fresh(engine);
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    add_failing(dir.path());
    let mut database = db.connect();
    let failed = upgrade_with(dir.path(), &mut database, &RunOptions::default()).expect_err("c3 fails");
    assert!(failed.to_string().contains("c3_missing"), "{failed}");

    let entries = journal(dir.path(), &mut database);
    let (blob, insert) = match engine {
        Engine::Sqlite => ("BLOB", GOOD_INSERT_SQLITE),
        Engine::Postgres => ("BYTEA", GOOD_INSERT_POSTGRES),
    };
    let create_good =
        format!("CREATE TABLE fixture_good (id INTEGER PRIMARY KEY, name TEXT, score DOUBLE PRECISION, data {blob})");
    assert_eq!(
        summary(&entries),
        [
            row("a1", "up", 1, "script", "CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT)", Committed, false),
            row("a1", "up", 2, "script", "INSERT INTO accounts (id, name) VALUES (1, 'root')", Committed, false),
            row("a1", "up", 3, "script", "CREATE INDEX accounts_name ON accounts (name)", Committed, false),
            row("b2", "up", 1, "script", &create_good, Committed, false),
            row("b2", "up", 2, "execute", insert, Committed, false),
            row("b2", "up", 3, "query", "SELECT count(*) AS n FROM fixture_good", Committed, false),
            row("c3", "up", 1, "script", "CREATE TABLE c3_first (id INTEGER)", RolledBack, false),
            row("c3", "up", 2, "script", "INSERT INTO c3_missing VALUES (1)", RolledBack, true),
        ],
        "{entries:#?}"
    );
    let insert = &entries[4];
    assert_eq!((insert.executions, insert.row_count), (3, Some(3)), "three inserts back to back are one row");
    assert_eq!(entries[5].row_count, Some(1), "the count query returned one row");
    assert!(entries.iter().all(|entry| entry.run_id == entries[0].run_id), "one run");
    assert!(entries.iter().all(|entry| entry.statement_hash.len() == 64 && entry.attempt == 1));
    assert_ne!(entries[0].statement_hash, entries[1].statement_hash);
    let error = entries[7].error_code.as_deref().unwrap();
    assert!(matches!(error, "42P01" | "SQLITE_ERROR"), "{error}");

    // No parameter value anywhere in the journal: not in its rows, not in the table itself.
    let everything = serde_json::to_string(&entries).unwrap();
    assert!(!everything.contains(SECRET) && !everything.contains("1.5"), "{everything}");
    let raw = db.texts(&format!("SELECT statement FROM {PREFIX}journal"));
    assert!(raw.iter().flatten().flatten().all(|text| !text.contains(SECRET)));

    // A downgrade journals its direction; a second run has its own id.
    std::fs::remove_dir_all(dir.path().join("migrations/c3")).unwrap();
    migrator(dir.path())
        .downgrade(&mut database, &Target::parse("a1").unwrap(), &RunOptions::default(), &mut NoProgress)
        .unwrap();
    let entries = journal(dir.path(), &mut database);
    let last = entries.last().unwrap();
    assert_eq!((last.revision.as_str(), last.direction.as_str(), last.sequence), ("b2", "down", 1));
    assert_eq!(last.statement, "DROP TABLE fixture_good");
    assert_ne!(last.run_id, entries[0].run_id);
    let of_a1 = JournalFilter { revisions: vec!["a1".into()], limit: Some(2) };
    let newest = migrator(dir.path()).journal(&mut database, &of_a1).unwrap();
    assert_eq!(newest.iter().map(|entry| entry.sequence).collect::<Vec<_>>(), [2, 3], "the newest two, in order");
}

fn a_transaction_all_failure_keeps_every_step_rolled_back(engine: Engine) {
    let db = TestDb::fresh(engine);
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    add_failing(dir.path());
    let mut database = db.connect();
    let options = RunOptions { transaction: TransactionMode::All, ..RunOptions::default() };
    upgrade_with(dir.path(), &mut database, &options).expect_err("c3 fails");
    let entries = journal(dir.path(), &mut database);
    let revisions: Vec<&str> = entries.iter().map(|entry| entry.revision.as_str()).collect();
    assert_eq!(revisions, ["a1", "a1", "a1", "b2", "b2", "b2", "c3", "c3"]);
    assert!(entries.iter().all(|entry| entry.outcome == JournalOutcome::RolledBack), "{entries:#?}");
    assert!(db.user_tables().is_empty(), "nothing stayed");
}

fn an_autocommit_step_is_marked_so(engine: Engine) {
    let db = TestDb::fresh(engine);
    let dir = tempfile::tempdir().unwrap();
    write_sql_project(dir.path(), &[]);
    add_sql_revision(dir.path(), "a1", &[], "CREATE TABLE plain (id INTEGER);\n", "DROP TABLE plain;\n");
    extend_manifest(dir.path(), "a1", "transactional = false");
    let mut database = db.connect();
    upgrade_with(dir.path(), &mut database, &RunOptions::default()).unwrap();
    let entries = journal(dir.path(), &mut database);
    assert_eq!(entries.len(), 1, "{entries:#?}");
    assert_eq!(
        (entries[0].statement.as_str(), entries[0].outcome),
        ("CREATE TABLE plain (id INTEGER)", JournalOutcome::Autocommit)
    );
}

fn turned_off_it_writes_nothing_and_turned_on_later_it_starts(engine: Engine) {
    let db = TestDb::fresh(engine);
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    write_config(dir.path(), "[journal]\nenabled = false\n");
    let mut database = db.connect();
    let options = RunOptions::default();
    migrator(dir.path()).upgrade(&mut database, &Target::parse("a1").unwrap(), &options, &mut NoProgress).unwrap();
    assert!(!db.all_tables().contains(&format!("{PREFIX}journal")), "{:?}", db.all_tables());
    assert!(journal(dir.path(), &mut database).is_empty());
    // Version tables without a journal (as an older wasmig leaves them): the next run creates it.
    write_config(dir.path(), "");
    upgrade_with(dir.path(), &mut database, &options).unwrap();
    let revisions: Vec<String> = journal(dir.path(), &mut database).into_iter().map(|entry| entry.revision).collect();
    assert_eq!(revisions, ["b2", "b2", "b2"]);
}

fn the_command_prints_the_statements(engine: Engine) {
    let db = TestDb::fresh(engine);
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let upgraded = run(wasmig(dir.path(), &db).arg("upgrade"));
    assert_eq!(upgraded.code, Some(0), "{upgraded}");
    let printed = run(wasmig(dir.path(), &db).args(["journal", "b2"]));
    assert_eq!(printed.code, Some(0), "{printed}");
    assert!(printed.stdout.starts_with("b2 up  (run "), "{printed}");
    assert!(printed.stdout.contains("2. [execute, x3,"), "{printed}");
    assert!(!printed.stdout.contains("accounts") && !printed.stdout.contains(SECRET), "{printed}");
    let limited = run(wasmig(dir.path(), &db).args(["journal", "--limit", "1"]));
    assert!(limited.stdout.contains("SELECT count(*)") && !limited.stdout.contains("INSERT"), "{limited}");
    assert!(limited.stderr.contains("the newest 1 statements"), "{limited}");
}

on_every_engine!(
    journal_lists_every_statement_in_order,
    a_transaction_all_failure_keeps_every_step_rolled_back,
    an_autocommit_step_is_marked_so,
    turned_off_it_writes_nothing_and_turned_on_later_it_starts,
    the_command_prints_the_statements,
);
