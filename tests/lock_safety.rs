//! Lock-safe runs: a revision's statements wait a bounded time for a lock, readers are not held behind a waiting DDL, the whole revision is retried after a lock timeout, a deadlock or SQLite's busy, the blocking session is named, a statement that cannot run in a transaction block says how to fix it, and an invalid index from a failed concurrent build keeps its revision dirty until recovered.
//!
//! Every scenario asserts what the database holds afterwards and what the
//! events table recorded. Threads only orchestrate (a blocker that commits
//! later); no assertion is on wall time: the "readers are not held" check
//! is a reader with its own `lock_timeout`, which the server enforces.

use std::path::Path;
use std::process::Command;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use wasmig::backend::Backend;
use wasmig::graph::Target;
use wasmig::{Database, ErrorKind, NoProgress, RowState, RunOptions};
use wasmig_tests::matrix::{migrator, run, wasmig_binary, write_config};
use wasmig_tests::postgres::TestDatabase;
use wasmig_tests::{add_sql_revision, texts, write_sql_project};

const BLOCKER: &str = "wasmig-test-blocker";

fn project(config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_sql_project(dir.path(), &[]);
    write_config(dir.path(), config);
    dir
}

fn upgrade(dir: &Path, url: &str) -> Result<wasmig::RunReport, wasmig::Error> {
    let migrator = migrator(dir);
    let mut db = migrator.connect(url).unwrap();
    migrator.upgrade(&mut db, &Target::Heads, &RunOptions::default(), &mut NoProgress)
}

/// The `retry` events: (revision, error).
fn retries(db: &mut dyn Backend) -> Vec<(String, String)> {
    texts(db, "SELECT coalesce(revision, ''), coalesce(error, '') FROM wasmig_events WHERE event = 'retry' ORDER BY id")
        .into_iter()
        .map(|row| (row[0].clone(), row[1].clone()))
        .collect()
}

/// A session that holds a lock on `t` in an open transaction until told to commit.
struct Blocker {
    commit: mpsc::Sender<()>,
    done: thread::JoinHandle<()>,
}

impl Blocker {
    fn hold(database: &TestDatabase, sql: &'static str) -> Blocker {
        let mut session = database.connect();
        session.execute_script(&format!("SET application_name = '{BLOCKER}'")).unwrap();
        session.begin().unwrap();
        session.query(sql, &[]).unwrap();
        let (commit, told) = mpsc::channel::<()>();
        let done = thread::spawn(move || {
            let _ = told.recv();
            session.commit().unwrap();
        });
        Blocker { commit, done }
    }

    fn release(self) {
        self.commit.send(()).unwrap();
        self.done.join().unwrap();
    }
}

/// The number of sessions of this database waiting for a lock.
fn lock_waiters(database: &TestDatabase) -> usize {
    let mut db = database.connect();
    let rows = texts(
        &mut db,
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
    );
    rows[0][0].parse().unwrap()
}

fn wait_for_lock_waiter(database: &TestDatabase) {
    for _ in 0..600 {
        if lock_waiters(database) > 0 {
            return;
        }
        thread::sleep(Duration::from_millis(10));
    }
    panic!("no session started waiting for a lock");
}

#[test]
fn a_blocked_alter_waits_a_bounded_time_lets_readers_through_and_applies_after_retries() {
    let database = TestDatabase::create();
    database.connect().execute_script("CREATE TABLE t (id int); INSERT INTO t VALUES (1), (2)").unwrap();
    let dir = project("[database]\nstatement_lock_timeout_ms = 300\nlock_retries = 30\nlock_retry_backoff_ms = 100\n");
    add_sql_revision(dir.path(), "widen", &[], "ALTER TABLE t ADD COLUMN note text;\n", "");
    let blocker = Blocker::hold(&database, "SELECT * FROM t");

    let url = database.url().to_owned();
    let path = dir.path().to_owned();
    let run = thread::spawn(move || upgrade(&path, &url));
    wait_for_lock_waiter(&database);

    // A reader that comes after the waiting ALTER: it queues behind the ALTER
    // only while the ALTER waits (at most its 300 ms bound), so a reader that
    // waits at most 3 s for its own lock gets through long before the blocker
    // ends. Without the bound it would wait for the blocker and fail.
    for _ in 0..3 {
        let mut reader = database.connect();
        reader.execute_script("SET lock_timeout = '3s'").unwrap();
        assert_eq!(texts(&mut reader, "SELECT count(*) FROM t"), [["2"]]);
    }
    thread::sleep(Duration::from_millis(1_500));
    blocker.release();

    let report = run.join().unwrap().expect("the revision applies once the blocker commits");
    assert_eq!(report.steps.len(), 1);
    let mut db = database.connect();
    assert_eq!(
        texts(
            &mut db,
            "SELECT count(*) FROM information_schema.columns WHERE table_name = 't' AND column_name = 'note'"
        ),
        [["1"]]
    );
    let retries = retries(&mut db);
    assert!(!retries.is_empty(), "each retry is an event");
    let (revision, error) = &retries[0];
    assert_eq!(revision, "widen");
    assert!(error.contains("statement_lock_timeout_ms"), "{error}");
    assert!(error.contains(BLOCKER) && error.contains("waiting for a lock on t"), "the blocker is named: {error}");
    assert_eq!(texts(&mut db, "SELECT event FROM wasmig_events WHERE event <> 'retry'"), [["upgrade"]]);
}

#[test]
fn without_retries_the_run_fails_naming_the_blocking_session() {
    let database = TestDatabase::create();
    database.connect().execute_script("CREATE TABLE t (id int)").unwrap();
    let dir = project("[database]\nstatement_lock_timeout_ms = 300\nlock_retries = 0\n");
    add_sql_revision(dir.path(), "widen", &[], "ALTER TABLE t ADD COLUMN note text;\n", "");
    let blocker = Blocker::hold(&database, "SELECT * FROM t");
    let error = upgrade(dir.path(), database.url()).unwrap_err();
    blocker.release();
    let message = error.to_string();
    assert_eq!(error.kind(), ErrorKind::Lock, "{message}");
    assert!(message.contains("revision widen"), "{message}");
    assert!(message.contains("waited longer than statement_lock_timeout_ms"), "{message}");
    assert!(message.contains(BLOCKER) && message.contains("idle in transaction"), "{message}");
    let mut db = database.connect();
    assert_eq!(texts(&mut db, "SELECT count(*) FROM information_schema.columns WHERE table_name = 't'"), [["1"]]);
    assert!(retries(&mut db).is_empty());
    assert_eq!(texts(&mut db, "SELECT count(*) FROM wasmig_revisions"), [["0"]]);
}

#[test]
fn a_revision_that_loses_a_deadlock_is_run_again() {
    let database = TestDatabase::create();
    database
        .connect()
        .execute_script(
            "CREATE TABLE a (v int); CREATE TABLE b (v int); INSERT INTO a VALUES (0); INSERT INTO b VALUES (0)",
        )
        .unwrap();
    // The revision's lock bound is longer than the server's deadlock_timeout
    // (1 s), so the deadlock check fires first, in the revision's session.
    let dir = project("[database]\nstatement_lock_timeout_ms = 20000\nlock_retry_backoff_ms = 100\n");
    add_sql_revision(dir.path(), "both", &[], "UPDATE a SET v = v + 1;\nUPDATE b SET v = v + 1;\n", "");

    let mut outsider = database.connect();
    outsider.begin().unwrap();
    // The outsider waits long before checking for deadlocks: the revision is the one to lose.
    outsider.execute("SET LOCAL deadlock_timeout = '20s'", &[]).unwrap();
    outsider.execute("UPDATE b SET v = v + 10", &[]).unwrap();
    let url = database.url().to_owned();
    let path = dir.path().to_owned();
    let run = thread::spawn(move || upgrade(&path, &url));
    wait_for_lock_waiter(&database);
    // The revision holds a and waits for b; the outsider now waits for a.
    let outside = thread::spawn(move || {
        outsider.execute("UPDATE a SET v = v + 10", &[]).unwrap();
        outsider.commit().unwrap();
    });
    outside.join().unwrap();
    run.join().unwrap().expect("the revision applies on its second attempt");

    let mut db = database.connect();
    assert_eq!(texts(&mut db, "SELECT (SELECT v FROM a)::text, (SELECT v FROM b)::text"), [["11", "11"]]);
    let retries = retries(&mut db);
    assert_eq!(retries.len(), 1, "{retries:?}");
    assert!(retries[0].1.contains("deadlock"), "{retries:?}");
}

#[test]
fn a_concurrent_index_in_a_transactional_revision_says_to_mark_it_non_transactional() {
    let database = TestDatabase::create();
    database.connect().execute_script("CREATE TABLE t (id int)").unwrap();
    let dir = project("");
    add_sql_revision(dir.path(), "index", &[], "CREATE INDEX CONCURRENTLY t_id ON t (id);\n", "");
    let error = upgrade(dir.path(), database.url()).unwrap_err();
    let message = error.to_string();
    assert!(message.contains("revision index"), "{message}");
    assert!(message.contains("CREATE INDEX CONCURRENTLY cannot run inside a transaction block"), "{message}");
    assert!(message.contains("set `transactional = false` in its revision.toml"), "{message}");
    let mut db = database.connect();
    assert_eq!(texts(&mut db, "SELECT count(*) FROM pg_indexes WHERE indexname = 't_id'"), [["0"]]);
    assert_eq!(texts(&mut db, "SELECT count(*) FROM wasmig_revisions"), [["0"]]);
}

#[test]
fn a_failed_concurrent_index_build_keeps_the_revision_dirty_until_recovered() {
    let database = TestDatabase::create();
    database.connect().execute_script("CREATE TABLE d (v int); INSERT INTO d VALUES (1), (1), (2)").unwrap();
    let dir = project("");
    add_sql_revision(dir.path(), "unique", &[], "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS d_v ON d (v);\n", "");
    wasmig_tests::matrix::extend_manifest(dir.path(), "unique", "transactional = false\n");
    let migrator = migrator(dir.path());
    let mut db = migrator.connect(database.url()).unwrap();
    let run = |db: &mut Database| migrator.upgrade(db, &Target::Heads, &RunOptions::default(), &mut NoProgress);

    let message = run(&mut db).unwrap_err().to_string();
    assert!(message.contains("could not create unique index"), "the build's own error first: {message}");
    assert!(message.contains("left invalid index(es) d_v"), "{message}");
    assert!(message.contains("DROP INDEX CONCURRENTLY d_v"), "the recovery is named: {message}");
    let dirty = |migrator: &wasmig::Migrator, db: &mut Database| {
        migrator.applied_rows(db).unwrap().into_iter().map(|row| (row.revision, row.state)).collect::<Vec<_>>()
    };
    assert_eq!(dirty(&migrator, &mut db), [("unique".to_owned(), RowState::DirtyUp)]);

    // Resolved and run again without dropping the index: `IF NOT EXISTS`
    // skips the invalid index, and the host still refuses to call it done.
    migrator.resolve(&mut db, "unique", false).unwrap();
    let message = run(&mut db).unwrap_err().to_string();
    assert!(message.contains("left invalid index(es) d_v"), "{message}");
    assert_eq!(dirty(&migrator, &mut db), [("unique".to_owned(), RowState::DirtyUp)]);

    // The documented recovery.
    let mut admin = database.connect();
    admin.execute_script("DROP INDEX CONCURRENTLY d_v").unwrap();
    admin.execute_script("DELETE FROM d WHERE ctid NOT IN (SELECT min(ctid) FROM d GROUP BY v)").unwrap();
    migrator.resolve(&mut db, "unique", false).unwrap();
    run(&mut db).unwrap();
    assert_eq!(dirty(&migrator, &mut db), [("unique".to_owned(), RowState::Applied)]);
    let valid = texts(
        &mut admin,
        "SELECT i.indisvalid::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'd_v'",
    );
    assert_eq!(valid, [["true"]]);
}

#[test]
fn sqlite_a_writer_holding_the_file_makes_the_step_wait_and_retry() {
    let dir = project("[database]\nstatement_lock_timeout_ms = 200\nlock_retries = 30\nlock_retry_backoff_ms = 100\n");
    add_sql_revision(dir.path(), "first", &[], "CREATE TABLE one (id INTEGER);\n", "");
    let files = tempfile::tempdir().unwrap();
    let file = files.path().join("app.db");
    let url = format!("sqlite:{}", file.display());
    upgrade(dir.path(), &url).unwrap();
    add_sql_revision(dir.path(), "second", &["first"], "CREATE TABLE two (id INTEGER);\n", "");

    // Another process's writer: a write transaction held for a while.
    let holder = rusqlite::Connection::open(&file).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE; INSERT INTO one VALUES (1)").unwrap();
    let (release, told) = mpsc::channel::<()>();
    let held = thread::spawn(move || {
        let _ = told.recv();
        holder.execute_batch("COMMIT").unwrap();
    });

    let no_retries = project("[database]\nstatement_lock_timeout_ms = 200\nlock_retries = 0\n");
    add_sql_revision(no_retries.path(), "first", &[], "CREATE TABLE one (id INTEGER);\n", "");
    add_sql_revision(no_retries.path(), "second", &["first"], "CREATE TABLE two (id INTEGER);\n", "");
    let error = upgrade(no_retries.path(), &url).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Lock, "{error}");
    assert!(error.to_string().contains("database is locked"), "{error}");

    let path = dir.path().to_owned();
    let run_url = url.clone();
    let run = thread::spawn(move || upgrade(&path, &run_url));
    thread::sleep(Duration::from_millis(800));
    release.send(()).unwrap();
    held.join().unwrap();
    run.join().unwrap().expect("the step applies once the writer commits");

    let mut db = Database::connect(&url).unwrap().into_backend();
    assert_eq!(texts(db.as_mut(), "SELECT count(*) FROM two"), [["0"]]);
    assert_eq!(texts(db.as_mut(), "SELECT count(*) FROM one"), [["1"]], "the writer's row committed too");
    let retries = retries(db.as_mut());
    assert!(!retries.is_empty(), "the wait was retried");
    assert!(retries.iter().all(|(revision, error)| revision == "second" && error.contains("locked")), "{retries:?}");
}

#[test]
fn the_cli_shows_each_retry_and_status_shows_a_run_in_progress() {
    let database = TestDatabase::create();
    database.connect().execute_script("CREATE TABLE t (id int)").unwrap();
    let dir = project("[database]\nstatement_lock_timeout_ms = 200\nlock_retries = 1\nlock_retry_backoff_ms = 50\n");
    add_sql_revision(dir.path(), "widen", &[], "ALTER TABLE t ADD COLUMN note text;\n", "");
    let blocker = Blocker::hold(&database, "SELECT * FROM t");
    let wasmig = |args: &[&str]| {
        run(Command::new(wasmig_binary()).args(["--database", database.url()]).args(args).current_dir(dir.path()))
    };
    let finished = wasmig(&["upgrade"]);
    blocker.release();
    assert_eq!(finished.code, Some(1), "{finished:?}");
    assert!(
        finished.stderr.contains("waiting for a lock, revision widen runs again: attempt 2 of 2"),
        "{}",
        finished.stderr
    );
    assert!(finished.stderr.contains("waiting for a lock on t held by server process"), "{}", finished.stderr);
    assert!(finished.stderr.contains("gave up after 2 attempts"), "{}", finished.stderr);

    // A run in progress: another process holds the migration lock.
    let mut holder = database.connect();
    let key = format!("wasmig:{}:wasmig_", holder.schema().unwrap_or_default());
    let guard = holder.lock(&key, Duration::from_secs(5)).unwrap();
    let finished = wasmig(&["status"]);
    assert!(
        finished.stdout.contains("running:  a run holds the migration lock, held by server process"),
        "{finished:?}"
    );
    let finished = wasmig(&["--format", "json", "status"]);
    let json: serde_json::Value = serde_json::from_str(&finished.stdout).unwrap();
    assert!(json["status"]["run_in_progress"].as_str().unwrap_or_default().contains("server process"), "{json}");
    drop(guard);
    let finished = wasmig(&["status"]);
    assert!(!finished.stdout.contains("running:"), "{finished:?}");
}

#[test]
fn a_non_transactional_revision_that_hits_the_bound_is_not_retried_and_stays_dirty() {
    let database = TestDatabase::create();
    database.connect().execute_script("CREATE TABLE t (id int)").unwrap();
    let dir = project("[database]\nstatement_lock_timeout_ms = 200\nlock_retries = 5\n");
    add_sql_revision(dir.path(), "widen", &[], "ALTER TABLE t ADD COLUMN note text;\n", "");
    wasmig_tests::matrix::extend_manifest(dir.path(), "widen", "transactional = false\n");
    let blocker = Blocker::hold(&database, "SELECT * FROM t");
    let error = upgrade(dir.path(), database.url()).unwrap_err();
    blocker.release();
    let message = error.to_string();
    assert_eq!(error.kind(), ErrorKind::Lock, "{message}");
    assert!(message.contains("waited longer than statement_lock_timeout_ms"), "{message}");
    assert!(message.contains("so wasmig did not run it again"), "{message}");
    assert!(message.contains("wasmig resolve widen --as applied"), "{message}");
    let migrator = migrator(dir.path());
    let mut db = migrator.connect(database.url()).unwrap();
    let rows = migrator.applied_rows(&mut db).unwrap();
    assert_eq!(
        rows.iter().map(|row| (row.revision.as_str(), row.state)).collect::<Vec<_>>(),
        [("widen", RowState::DirtyUp)]
    );
    let mut admin = database.connect();
    assert!(retries(&mut admin).is_empty());
    assert_eq!(texts(&mut admin, "SELECT count(*) FROM information_schema.columns WHERE table_name = 't'"), [["1"]]);
}
