//! Hostile revisions against the PostgreSQL backend: session state, time, the migration lock, non-transactional revisions, result memory and per-tenant roles, each checked by what the database holds afterwards and the error the user sees.
//!
//! Several attacks are spelled both as plain top-level SQL (which the text
//! guard may refuse up front, with its own message) and as dynamic SQL (a
//! `DO` block, `set_config` in a query), which only the backend's session
//! checks catch: assertions on the plain spellings hold either way (the
//! step fails, nothing is recorded, the state is intact), those on the
//! dynamic ones name the backend's check precisely.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use wasmig::backend::postgres::PostgresBackend;
use wasmig::backend::{Backend, HookSession};
use wasmig::graph::Target;
use wasmig::runtime::{Builtin, HookContext, HookError, SandboxLimits};
use wasmig::sql::{DbError, Value};
use wasmig::{Database, Error, NoProgress, RunOptions, RunReport};
use wasmig_tests::matrix::{create_table_revision, extend_manifest, migrator, shared_runtime, write_revision_file};
use wasmig_tests::postgres::{TestDatabase, server_url};
use wasmig_tests::{add_sql_revision, texts, write_sql_project};

// ---------------------------------------------------------------- helpers

fn text(value: &str) -> Value {
    Value::Text(value.to_owned())
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|item| (*item).to_owned()).collect()
}

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A database with two schemas, `ta` (where wasmig runs, `?schema=ta`) and
/// `tb` (where a hostile revision tries to send things), and a project.
struct Tenants {
    database: TestDatabase,
    dir: tempfile::TempDir,
}

impl Tenants {
    fn new() -> Self {
        let database = TestDatabase::create();
        database.connect().execute_script("CREATE SCHEMA ta; CREATE SCHEMA tb").unwrap();
        let dir = tempfile::tempdir().unwrap();
        write_sql_project(dir.path(), &[]);
        Tenants { database, dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn url(&self) -> String {
        format!("{}?schema=ta", self.database.url())
    }

    fn connect(&self) -> Database {
        Database::connect(&self.url()).unwrap()
    }

    fn upgrade(&self, conn: &mut Database) -> Result<RunReport, Error> {
        migrator(self.path()).upgrade(conn, &Target::Heads, &RunOptions::default(), &mut NoProgress)
    }

    fn texts(&self, sql: &str) -> Vec<Vec<String>> {
        texts(&mut self.database.connect(), sql)
    }

    /// The tables (and only tables) of `schema`.
    fn tables(&self, schema: &str) -> BTreeSet<String> {
        self.texts(&format!(
            "SELECT tablename::text FROM pg_catalog.pg_tables WHERE schemaname = '{schema}' ORDER BY 1"
        ))
        .into_iter()
        .map(|row| row[0].clone())
        .collect()
    }

    /// `(revision, state)` of `ta.wasmig_revisions`, sorted.
    fn versions(&self) -> Vec<(String, String)> {
        if !self.tables("ta").contains("wasmig_revisions") {
            return Vec::new();
        }
        self.texts("SELECT revision, state FROM ta.wasmig_revisions ORDER BY revision")
            .into_iter()
            .map(|row| (row[0].clone(), row[1].clone()))
            .collect()
    }

    /// `(event, revision, error)` of `ta.wasmig_events`, in order.
    fn events(&self) -> Vec<(String, String, String)> {
        if !self.tables("ta").contains("wasmig_events") {
            return Vec::new();
        }
        self.texts("SELECT event, coalesce(revision, ''), coalesce(error, '') FROM ta.wasmig_events ORDER BY id")
            .into_iter()
            .map(|row| (row[0].clone(), row[1].clone(), row[2].clone()))
            .collect()
    }
}

/// Restricts a `pg_locks l` query to the test's own database: other tests
/// (and other people's) hold advisory locks on the same server.
const THIS_DB: &str = "l.database = (SELECT oid FROM pg_database WHERE datname = current_database())";

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect()
}

/// Whether the plain spelling of an attack was refused by the text guard
/// (its own message) or caught by the backend (naming `setting`).
fn refused_or_caught(message: &str, setting: &str) -> bool {
    message.contains(setting) || message.contains("SET") || message.contains("RESET") || message.contains("refus")
}

/// The dynamic spellings get past any text check: the backend's message
/// names the setting, what the host set and what it found. A change to what
/// decides how the next statement is read, or who it runs as, is caught
/// after the statement (the hook fails); any other at the end of the
/// hook, at the latest in the request that would have committed it.
fn assert_breach(message: &str, setting: &str) {
    assert!(
        message.contains("changed what the host owns") || message.contains("a revision changed the session"),
        "not a session breach: {message}"
    );
    assert!(message.contains(&format!("`{setting}`")), "the breach names `{setting}`: {message}");
    assert!(message.contains("expected") && message.contains("found"), "both values: {message}");
}

// ------------------------------------------------ 1. session state outlives a revision

/// `first` (creates t_first), `hostile` (creates t_before, attacks, creates
/// t_after), `last` (creates t_last), in schema `ta`.
fn session_attack(attack: &str, transactional: bool) -> (Tenants, Database, Error) {
    let scene = Tenants::new();
    let path = scene.path();
    create_table_revision(path, "first", &[]);
    add_sql_revision(
        path,
        "hostile",
        &["first"],
        &format!("CREATE TABLE t_before (id int);\n{attack};\nCREATE TABLE t_after (id int);\n"),
        "",
    );
    if !transactional {
        extend_manifest(path, "hostile", "transactional = false");
    }
    create_table_revision(path, "last", &["hostile"]);
    let mut conn = scene.connect();
    let error = scene.upgrade(&mut conn).expect_err("the hostile revision must fail");
    (scene, conn, error)
}

/// What every transactional session attack must leave: `first` recorded,
/// nothing of `hostile` or `last`, nothing in `tb`, a `fail` event; and the
/// same connection, once the revision is fixed, puts everything in `ta`.
fn assert_contained(scene: &Tenants, conn: &mut Database, error: &Error, transactional: bool) {
    assert_eq!(error.committed_steps(), 1, "{error}");
    assert!(scene.tables("tb").is_empty(), "something landed in tb: {:?}", scene.tables("tb"));
    let tables = scene.tables("ta");
    assert!(!tables.contains("t_after") && !tables.contains("t_last"), "{tables:?}");
    if transactional {
        assert!(!tables.contains("t_before"), "the hostile step was rolled back: {tables:?}");
        assert_eq!(scene.versions(), pairs(&[("first", "applied")]));
    } else {
        assert_eq!(scene.versions(), pairs(&[("first", "applied"), ("hostile", "dirty-up")]));
        migrator(scene.path()).resolve(conn, "hostile", false).unwrap();
    }
    let events = scene.events();
    assert_eq!(events.first().map(|event| (event.0.as_str(), event.1.as_str())), Some(("upgrade", "first")));
    assert!(
        events.iter().any(|(event, revision, _)| event == "fail" && revision == "hostile"),
        "the failure is recorded: {events:?}"
    );

    // The same connection, the revision fixed: the version rows and the
    // tables of the later revisions land in `ta`, nowhere else.
    write_revision_file(scene.path(), "hostile", "up.sql", "CREATE TABLE IF NOT EXISTS t_before (id int);\n");
    let report = scene.upgrade(conn).unwrap();
    assert_eq!(report.steps.len(), 2, "{report:?}");
    assert!(scene.tables("tb").is_empty(), "{:?}", scene.tables("tb"));
    assert_eq!(
        scene.tables("ta"),
        set(&["t_before", "t_first", "t_last", "wasmig_events", "wasmig_journal", "wasmig_revisions"]),
        "everything in ta"
    );
    assert_eq!(scene.versions(), pairs(&[("first", "applied"), ("hostile", "applied"), ("last", "applied")]));
}

#[test]
fn search_path_changes_by_plain_set_fail_the_step_and_leak_nothing() {
    for attack in [
        "SET search_path TO tb",
        "set search_path = \"tb\"",
        "RESET ALL",
        "SELECT set_config('search_path', 'tb', false)",
        "SELECT pg_catalog.set_config('search_path', 'tb', false)",
    ] {
        let (scene, mut conn, error) = session_attack(attack, true);
        let message = error.to_string();
        assert!(refused_or_caught(&message, "search_path"), "{attack}: {message}");
        assert_contained(&scene, &mut conn, &error, true);
    }
}

#[test]
fn search_path_changes_by_dynamic_sql_are_caught_by_the_session_check() {
    for attack in [
        "DO $$BEGIN PERFORM set_config('search_path','tb',false); END$$",
        "DO $$BEGIN PERFORM pg_catalog.set_config('search_path', 'tb', false); END$$",
        "DO $$BEGIN EXECUTE 'SET search_path TO tb'; END$$",
        "DO $$BEGIN EXECUTE 'RESET ALL'; END$$",
        // A function of the revision's own, called later.
        "CREATE FUNCTION ta.away() RETURNS void LANGUAGE plpgsql AS $f$BEGIN PERFORM set_config('search_path', \
         'tb', false); END$f$;\nSELECT ta.away()",
    ] {
        let (scene, mut conn, error) = session_attack(attack, true);
        // RESET ALL also undoes the host's lock_timeout, which is read after every statement.
        let first_seen = if attack.contains("RESET ALL") { "lock_timeout" } else { "search_path" };
        assert_breach(&error.to_string(), first_seen);
        assert_contained(&scene, &mut conn, &error, true);
    }
}

#[test]
fn a_non_transactional_revision_that_changes_the_session_stops_there_and_the_session_is_restored() {
    let (scene, mut conn, error) =
        session_attack("DO $$BEGIN PERFORM set_config('search_path','tb',false); END$$", false);
    assert_breach(&error.to_string(), "search_path");
    // Autocommit: the statement before the attack stayed, the one after never ran.
    assert!(scene.tables("ta").contains("t_before"), "{:?}", scene.tables("ta"));
    assert_contained(&scene, &mut conn, &error, false);

    let (scene, mut conn, error) = session_attack("SET search_path TO tb", false);
    assert!(refused_or_caught(&error.to_string(), "search_path"), "{error}");
    assert_contained(&scene, &mut conn, &error, false);
}

#[test]
fn session_characteristics_read_only_fails_the_step() {
    let (scene, mut conn, error) = session_attack("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY", true);
    assert!(refused_or_caught(&error.to_string(), "default_transaction_read_only"), "{error}");
    assert_contained(&scene, &mut conn, &error, true);

    let (scene, mut conn, error) =
        session_attack("DO $$BEGIN EXECUTE 'SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY'; END$$", true);
    assert_breach(&error.to_string(), "default_transaction_read_only");
    assert_contained(&scene, &mut conn, &error, true);
}

#[test]
fn client_encoding_changes_fail_the_step() {
    let (scene, mut conn, error) = session_attack("SET client_encoding = 'SJIS'", true);
    assert!(refused_or_caught(&error.to_string(), "client_encoding"), "{error}");
    assert_contained(&scene, &mut conn, &error, true);

    let (scene, mut conn, error) =
        session_attack("DO $$BEGIN PERFORM set_config('client_encoding', 'SJIS', false); END$$", false);
    assert_breach(&error.to_string(), "client_encoding");
    assert_contained(&scene, &mut conn, &error, false);
}

/// With `standard_conforming_strings` off, `'x\''; COMMIT; --'` is a string
/// to the guard and a COMMIT to the server. The payload creates t_payload,
/// would commit it mid-step, then fails: if the COMMIT ran, t_payload stays.
const PAYLOAD: &str = "CREATE TABLE t_payload (id int);\nSELECT 'x\\''; COMMIT; --';\nSELECT 1/0;\n";

fn lexing_attack(off: &str, transactional: bool) {
    let scene = Tenants::new();
    let path = scene.path();
    create_table_revision(path, "first", &[]);
    add_sql_revision(path, "off", &["first"], &format!("{off};\n"), "");
    if !transactional {
        extend_manifest(path, "off", "transactional = false");
    }
    add_sql_revision(path, "payload", &["off"], PAYLOAD, "");
    let mut conn = scene.connect();
    let error = scene.upgrade(&mut conn).expect_err("the step that turns the setting off fails");
    let message = error.to_string();
    if off.starts_with("DO") {
        assert_breach(&message, "standard_conforming_strings");
    } else {
        assert!(refused_or_caught(&message, "standard_conforming_strings"), "{message}");
    }
    assert_eq!(error.committed_steps(), 1);
    assert!(!scene.tables("ta").contains("t_payload"), "the payload's COMMIT ran: {:?}", scene.tables("ta"));
    let recorded: Vec<String> = scene.versions().into_iter().map(|(revision, _)| revision).collect();
    assert!(!recorded.contains(&"payload".to_owned()), "{recorded:?}");

    // The same connection runs the payload later, with the setting on: it is
    // one harmless string, and the division by zero fails the step whole.
    write_revision_file(path, "off", "up.sql", "SELECT 1;\n");
    if !transactional {
        migrator(path).resolve(&mut conn, "off", false).unwrap();
    }
    let error = scene.upgrade(&mut conn).expect_err("the payload ends in a division by zero");
    assert!(error.to_string().contains("division by zero"), "{error}");
    assert!(!scene.tables("ta").contains("t_payload"), "nothing of the payload committed");
}

#[test]
fn standard_conforming_strings_off_in_one_revision_cannot_smuggle_a_commit_into_the_next() {
    lexing_attack("SET standard_conforming_strings = off", true);
    lexing_attack("DO $$BEGIN PERFORM set_config('standard_conforming_strings', 'off', false); END$$", true);
    lexing_attack("DO $$BEGIN PERFORM set_config('standard_conforming_strings', 'off', false); END$$", false);
}

#[test]
fn standard_conforming_strings_off_and_the_payload_in_one_script_commit_nothing() {
    for transactional in [true, false] {
        let scene = Tenants::new();
        let path = scene.path();
        add_sql_revision(
            path,
            "both",
            &[],
            &format!("DO $$BEGIN PERFORM set_config('standard_conforming_strings', 'off', false); END$$;\n{PAYLOAD}"),
            "",
        );
        if !transactional {
            extend_manifest(path, "both", "transactional = false");
        }
        let mut conn = scene.connect();
        let error = scene.upgrade(&mut conn).expect_err("fails");
        // In a transaction the server parses the whole script before the DO
        // block runs (the payload is a string and 1/0 fails it); outside one,
        // statements go one by one and the check stops the script at once.
        let message = error.to_string();
        assert!(message.contains("standard_conforming_strings") || message.contains("division by zero"), "{message}");
        if !transactional {
            assert_breach(&message, "standard_conforming_strings");
        }
        assert!(!scene.tables("ta").contains("t_payload"), "{:?}", scene.tables("ta"));
    }
}

#[test]
fn a_temp_table_named_like_the_version_tables_cannot_capture_the_host_rows() {
    let scene = Tenants::new();
    let path = scene.path();
    // pg_temp comes first in every search path for tables: an unqualified
    // INSERT INTO wasmig_revisions would land in the revision's TEMP table.
    add_sql_revision(
        path,
        "decoy",
        &[],
        // Named dynamically: the text guard refuses the plain spelling.
        "DO $$BEGIN EXECUTE 'CREATE TEMP TABLE wasmig_' || 'revisions (revision text, checksum text, \
         module_hash text, kind text, state text, applied_at timestamptz DEFAULT now(), execution_ms bigint, \
         tool_version text)'; EXECUTE 'CREATE TEMP TABLE wasmig_' || 'events (id bigint GENERATED ALWAYS AS \
         IDENTITY, event text, revision text, at timestamptz DEFAULT now(), duration_ms bigint, error text, \
         detail text, tool_version text)'; END$$;\n",
        "",
    );
    create_table_revision(path, "after", &["decoy"]);
    let mut conn = scene.connect();
    scene.upgrade(&mut conn).unwrap();
    assert_eq!(scene.versions(), pairs(&[("after", "applied"), ("decoy", "applied")]));
    // A fresh connection (no temp tables) agrees: nothing to do.
    assert!(scene.upgrade(&mut scene.connect()).unwrap().steps.is_empty());
    assert!(scene.tables("ta").contains("t_after"));
}

// ------------------------------------------------------------- 3. time

/// Runs a revision whose budget is `budget` and returns the error and how
/// long the run took. Afterwards no statement of it is left running.
fn timed_attack(attack: &str, transactional: bool, budget: Duration) -> (Error, Duration, Tenants) {
    let scene = Tenants::new();
    let path = scene.path();
    add_sql_revision(path, "slow", &[], &format!("CREATE TABLE t_slow (id int);\n{attack};\n"), "");
    extend_manifest(
        path,
        "slow",
        &format!(
            "{}[sandbox]\nsql_timeout_ms = {}",
            if transactional { "" } else { "transactional = false\n" },
            budget.as_millis()
        ),
    );
    let mut conn = scene.connect();
    // Connect, lock and create the version tables before the clock starts
    // as far as possible: the budget is the hook's.
    let started = Instant::now();
    let error = scene.upgrade(&mut conn).expect_err("the revision runs out of time");
    let took = started.elapsed();
    // Nothing of the revision still runs on the server.
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let running = scene.texts(
            "SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE query LIKE '%pg_sleep(30)%' \
             AND datname = pg_catalog.current_database() AND pid <> pg_catalog.pg_backend_pid() AND state = 'active'",
        );
        if running[0][0] == "0" {
            break;
        }
        assert!(Instant::now() < deadline, "the revision's statement still runs after the run ended");
        std::thread::sleep(Duration::from_millis(20));
    }
    (error, took, scene)
}

fn assert_stopped_in_time(attack: &str, error: &Error, took: Duration, budget: Duration) {
    eprintln!(
        "{attack}: budget {budget:?}, the run took {took:?} (overshoot at most {:?})",
        took.saturating_sub(budget)
    );
    // The run includes connecting, the lock and the version tables (~0.1 s).
    assert!(took < budget + Duration::from_millis(1_500), "{attack}: took {took:?} for a budget of {budget:?}");
    let message = error.to_string();
    assert!(
        message.contains("time budget") || message.contains("SET") || message.contains("statement_timeout"),
        "{attack}: {message}"
    );
}

#[test]
fn statement_timeout_zero_does_not_lift_the_deadline() {
    let budget = Duration::from_secs(2);
    for attack in [
        "SET statement_timeout = 0;\nSELECT pg_sleep(30)",
        "SET LOCAL statement_timeout = 0;\nSELECT pg_sleep(30)",
        "DO $$BEGIN PERFORM set_config('statement_timeout', '0', true); PERFORM pg_sleep(30); END$$",
        "DO $$BEGIN SET LOCAL statement_timeout = 0; PERFORM pg_sleep(30); END$$",
    ] {
        let (error, took, scene) = timed_attack(attack, true, budget);
        assert_stopped_in_time(attack, &error, took, budget);
        assert!(!scene.tables("ta").contains("t_slow"), "rolled back");
        assert!(scene.versions().is_empty());
    }
}

#[test]
fn a_statement_that_swallows_its_cancel_is_ended_at_the_deadline() {
    let budget = Duration::from_secs(2);
    let attack =
        "DO $$BEGIN LOOP BEGIN PERFORM pg_sleep(30); EXCEPTION WHEN query_canceled THEN NULL; END; END LOOP; END$$";
    let (error, took, scene) = timed_attack(attack, true, budget);
    assert_stopped_in_time(attack, &error, took, budget);
    // The runner reports it as the timeout it is; the backend's own message
    // is checked in `a_statement_that_ignores_its_cancel_is_ended`.
    assert!(!scene.tables("ta").contains("t_slow"));
    assert!(scene.versions().is_empty());
    // The run's lock went with it: another runner gets it at once.
    let mut other = scene.connect().into_backend();
    let key = "wasmig:ta:wasmig_";
    assert!(other.lock(key, Duration::from_millis(200)).is_ok());
}

#[test]
fn a_non_transactional_revision_is_stopped_at_the_deadline() {
    let budget = Duration::from_secs(2);
    for attack in [
        "SET statement_timeout = 0;\nSELECT pg_sleep(30)",
        "DO $$BEGIN PERFORM set_config('statement_timeout', '0', false); PERFORM pg_sleep(30); END$$",
        "SELECT pg_sleep(30)",
    ] {
        let (error, took, scene) = timed_attack(attack, false, budget);
        assert_stopped_in_time(attack, &error, took, budget);
        assert_eq!(scene.versions(), pairs(&[("slow", "dirty-up")]));
        // The session the run used is back to the host's settings.
        let settings = scene.texts("SELECT current_setting('statement_timeout')");
        assert_eq!(settings[0][0], "0");
    }
}

#[test]
fn the_deadline_holds_for_a_hook_driven_directly_and_the_overshoot_is_small() {
    // Measured at the backend: budget 2 s, `SET statement_timeout = 0` then
    // `pg_sleep(30)`, inside a transaction and in autocommit.
    let database = TestDatabase::create();
    for transactional in [true, false] {
        for sql in
            ["SET statement_timeout = 0", "DO $$BEGIN PERFORM set_config('statement_timeout', '0', false); END$$"]
        {
            let mut db = database.connect();
            if transactional {
                db.begin().unwrap();
            }
            let budget = Duration::from_secs(2);
            let started = Instant::now();
            db.begin_hook(&hook_session(started + budget, u64::MAX)).unwrap();
            let first = db.execute_script(sql);
            let slept = db.query("SELECT pg_sleep(30)::text", &[]);
            let took = started.elapsed();
            // In a transaction the change is refused at the end of the
            // hook at the latest, in the request that would have committed it.
            let breach = match db.end_hook() {
                Ok(()) if transactional => db.commit().map_err(|error| wasmig::backend::SessionBreach(error.message)),
                other => other,
            };
            eprintln!(
                "transactional={transactional} `{sql}`: first {:?}, sleep {:?} after {took:?} (overshoot {:?})",
                first.as_ref().err().map(|error| error.message.chars().take(60).collect::<String>()),
                slept.as_ref().err().map(|error| error.code.clone()),
                took.saturating_sub(budget)
            );
            assert!(slept.is_err());
            assert!(took < budget + Duration::from_secs(1), "took {took:?}");
            let breach = breach.expect_err("a changed statement_timeout is a breach");
            assert!(breach.0.contains("statement_timeout") || breach.0.contains("time budget"), "{breach}");
            if transactional {
                db.rollback().unwrap();
            }
            assert_eq!(one(&mut db, "SELECT current_setting('statement_timeout')"), text("0"));
        }
    }
}

#[test]
fn a_statement_that_ignores_its_cancel_is_ended() {
    let database = TestDatabase::create();
    let mut db = database.connect();
    db.execute_script("CREATE TABLE kept (id int)").unwrap();
    db.begin().unwrap();
    let budget = Duration::from_millis(1_500);
    let started = Instant::now();
    db.begin_hook(&hook_session(started + budget, u64::MAX)).unwrap();
    db.execute_script("INSERT INTO kept VALUES (1)").unwrap();
    let error = db
        .execute_script(
            "DO $$BEGIN LOOP BEGIN PERFORM pg_sleep(30); EXCEPTION WHEN query_canceled THEN NULL; END; END LOOP; END$$",
        )
        .unwrap_err();
    let took = started.elapsed();
    eprintln!("a statement that catches its cancel: ended after {took:?} (overshoot {:?})", took - budget);
    assert!(took < budget + Duration::from_secs(1), "{took:?}");
    assert!(error.message.contains("did not stop when cancelled"), "{error}");
    assert!(error.message.contains("time budget"), "{error}");
    // Nothing more runs in the hook, the step cannot commit, and the
    // backend is usable again after the rollback, on a new session.
    assert!(db.execute_script("SELECT 1").is_err());
    let breach = db.end_hook().unwrap_err();
    assert!(breach.0.contains("closed the connection"), "{breach}");
    assert!(db.commit().is_err(), "the transaction is gone");
    db.rollback().unwrap();
    assert_eq!(one(&mut db, "SELECT count(*) FROM kept"), Value::Integer(0));
    assert_eq!(one(&mut db, "SELECT current_setting('standard_conforming_strings')"), text("on"));
}

/// A deferred constraint trigger is the revision's code that runs at the
/// host's COMMIT, after the hook's last check: it is bounded by the hook's
/// time there, and a session it changes is replaced before the next step.
#[test]
fn deferred_triggers_run_within_the_hook_budget_and_cannot_leak_settings() {
    let database = TestDatabase::create();
    let mut db = database.connect();
    let setup = "CREATE TABLE d (id int); \
        CREATE FUNCTION away() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN \
          PERFORM set_config('search_path', 'pg_temp', false); RETURN NULL; END$$; \
        CREATE CONSTRAINT TRIGGER d_away AFTER INSERT ON d DEFERRABLE INITIALLY DEFERRED \
          FOR EACH ROW EXECUTE FUNCTION away()";
    db.execute_script(setup).unwrap();
    db.begin().unwrap();
    db.begin_hook(&hook_session(Instant::now() + Duration::from_secs(30), u64::MAX)).unwrap();
    db.execute("INSERT INTO d VALUES (1)", &[]).unwrap();
    db.end_hook().unwrap();
    let error = db.commit().unwrap_err();
    assert!(error.message.contains("nothing was committed") && error.message.contains("`search_path`"), "{error}");
    db.rollback().unwrap();
    // Nothing committed, and the session is the host's again.
    assert_eq!(one(&mut db, "SELECT current_setting('search_path')"), text("\"$user\", public"));
    assert_eq!(one(&mut db, "SELECT count(*) FROM d"), Value::Integer(0));
    db.execute_script("DROP TRIGGER d_away ON d").unwrap();

    // A deferred trigger that sleeps: the COMMIT stops at the hook's deadline.
    db.execute_script(
        "CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN \
           PERFORM set_config('statement_timeout', '0', true); PERFORM pg_sleep(30); RETURN NULL; END$$; \
         CREATE CONSTRAINT TRIGGER d_slow AFTER INSERT ON d DEFERRABLE INITIALLY DEFERRED \
           FOR EACH ROW EXECUTE FUNCTION slow()",
    )
    .unwrap();
    db.begin().unwrap();
    let started = Instant::now();
    db.begin_hook(&hook_session(started + Duration::from_secs(1), u64::MAX)).unwrap();
    db.execute("INSERT INTO d VALUES (2)", &[]).unwrap();
    db.end_hook().unwrap();
    let error = db.commit().unwrap_err();
    let took = started.elapsed();
    eprintln!("a deferred trigger sleeping at COMMIT: stopped after {took:?} ({error})");
    assert!(took < Duration::from_secs(4), "{took:?}");
    db.rollback().unwrap();
    assert_eq!(one(&mut db, "SELECT count(*) FROM d"), Value::Integer(0), "nothing of the second step committed");
}

#[test]
fn settings_a_revision_may_change_are_reset_after_its_hook() {
    let scene = Tenants::new();
    let path = scene.path();
    add_sql_revision(
        path,
        "tuned",
        &[],
        "SET client_min_messages = warning;\nSET LOCAL check_function_bodies = off;\nCREATE TABLE t_tuned (id int);\n",
        "",
    );
    let mut conn = scene.connect();
    scene.upgrade(&mut conn).unwrap();
    assert_eq!(scene.versions(), pairs(&[("tuned", "applied")]));
    let settings = conn
        .query(
            "SELECT current_setting('lock_timeout'), current_setting('check_function_bodies'), \
             current_setting('client_min_messages')",
            &[],
        )
        .unwrap();
    assert_eq!(
        settings.values,
        vec![vec![text("0"), text("on"), text("notice")]],
        "the host's lock_timeout is gone too"
    );
}

/// `lock_timeout` is the host's bound on lock waits (`statement_lock_timeout_ms`):
/// refused as text, and caught when a `DO` block changes it.
#[test]
fn a_revision_cannot_lift_the_lock_wait_bound() {
    for (id, attack) in [
        ("plain", "SET lock_timeout = 0;\nCREATE TABLE t_waits (id int);\n"),
        ("local", "SET LOCAL lock_timeout TO '1h';\nCREATE TABLE t_waits (id int);\n"),
        ("reset", "RESET lock_timeout;\nCREATE TABLE t_waits (id int);\n"),
        (
            "dynamic",
            "DO $$ BEGIN PERFORM set_config('lock_timeout', '0', true); END $$;\nCREATE TABLE t_waits (id int);\n",
        ),
        ("session", "DO $$ BEGIN EXECUTE 'SET lock_timeout = 0'; END $$;\nCREATE TABLE t_waits (id int);\n"),
    ] {
        let scene = Tenants::new();
        add_sql_revision(scene.path(), id, &[], attack, "");
        let mut conn = scene.connect();
        let error = scene.upgrade(&mut conn).expect_err(attack);
        let message = error.to_string();
        assert!(message.contains("lock_timeout"), "{attack}: {message}");
        assert_eq!(scene.versions(), pairs(&[]), "{attack}");
        let tables = conn.query("SELECT count(*) FROM pg_tables WHERE tablename = 't_waits'", &[]).unwrap();
        assert_eq!(tables.values, vec![vec![Value::Integer(0)]], "{attack}");
    }
}

fn hook_session(deadline: Instant, max_result_bytes: u64) -> HookSession {
    HookSession {
        deadline,
        lock_wait: Duration::from_secs(2),
        protected_tables: Vec::new(),
        max_result_bytes,
        read_only: false,
        role: None,
        capabilities: Default::default(),
    }
}

fn one(db: &mut dyn Backend, sql: &str) -> Value {
    db.query(sql, &[]).unwrap_or_else(|error| panic!("{sql}: {error}")).values.remove(0).remove(0)
}

// ------------------------------------------------ 6. the lock connection

/// A DO block that ends the lock's connection, with the function's name
/// built at run time: no text check can see it.
const KILL_THE_LOCK: &str = "DO $$DECLARE holder int; BEGIN \
     SELECT l.pid INTO holder FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted \
     AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
     AND l.pid <> pg_backend_pid(); \
     EXECUTE 'SELECT pg_' || 'terminate_backend(' || holder || ')'; END$$";

/// `precise`: the spelling gets past the text guard, so the lock is lost
/// and the commit check is what stops the run.
fn lock_attack(kill: &str, precise: bool) {
    let scene = Tenants::new();
    let path = scene.path();
    create_table_revision(path, "first", &[]);
    add_sql_revision(path, "killer", &["first"], &format!("CREATE TABLE t_killer (id int);\n{kill};\n"), "");
    create_table_revision(path, "last", &["killer"]);
    let mut conn = scene.connect();
    let error = scene.upgrade(&mut conn).expect_err("the run must not go on without its lock");
    let message = error.to_string();
    if precise {
        assert!(message.contains("lock was lost") && message.contains("nothing was committed"), "{message}");
    } else {
        assert!(message.contains("lock was lost") || message.contains("pg_terminate_backend"), "{message}");
    }
    assert_eq!(error.committed_steps(), 1, "{message}");
    assert_eq!(scene.versions(), pairs(&[("first", "applied")]));
    let tables = scene.tables("ta");
    assert!(!tables.contains("t_killer") && !tables.contains("t_last"), "{tables:?}");
    // The next run takes the lock again and finishes.
    write_revision_file(path, "killer", "up.sql", "CREATE TABLE t_killer (id int);\n");
    scene.upgrade(&mut conn).unwrap();
    assert_eq!(scene.versions(), pairs(&[("first", "applied"), ("killer", "applied"), ("last", "applied")]));
}

#[test]
fn a_revision_that_ends_the_lock_connection_commits_nothing() {
    lock_attack(
        "SELECT pg_terminate_backend(a.pid) FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid \
         WHERE l.locktype = 'advisory' AND a.datname = current_database() AND a.pid <> pg_backend_pid()",
        false,
    );
    lock_attack(
        "DO $$BEGIN PERFORM pg_terminate_backend(l.pid) FROM pg_locks l WHERE l.locktype = 'advisory' \
         AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
         AND l.pid <> pg_backend_pid(); END$$",
        false,
    );
    lock_attack(KILL_THE_LOCK, true);
}

#[test]
fn a_lock_lost_between_steps_stops_the_commit() {
    let database = TestDatabase::create();
    let mut db = database.connect();
    let _guard = db.lock("wasmig:public:wasmig_", Duration::from_secs(2)).unwrap();
    database
        .connect()
        .execute_script(&format!(
            "SELECT pg_terminate_backend(l.pid) FROM pg_locks l WHERE l.locktype = 'advisory' AND {THIS_DB} \
             AND l.pid <> pg_backend_pid()"
        ))
        .unwrap();
    db.begin().unwrap();
    db.execute_script("CREATE TABLE after_the_lock (id int)").unwrap();
    let error = db.commit().unwrap_err();
    assert!(error.message.contains("nothing was committed") && error.message.contains("lock was lost"), "{error}");
    assert_eq!(db.query("SELECT * FROM after_the_lock", &[]).unwrap_err().code.as_deref(), Some("42P01"));
}

// ------------------------------------------------ 4. transactional = false

#[test]
fn non_transactional_revisions_run_concurrent_index_vacuum_and_enum_values() {
    let scene = Tenants::new();
    let path = scene.path();
    add_sql_revision(
        path,
        "table",
        &[],
        "CREATE TYPE mood AS ENUM ('ok');\nCREATE TABLE t (id int, m mood);\n\
         INSERT INTO t SELECT g, 'ok' FROM generate_series(1, 100) g;\n",
        "",
    );
    add_sql_revision(
        path,
        "online",
        &["table"],
        "CREATE INDEX CONCURRENTLY t_id ON t (id);\nVACUUM t;\nALTER TYPE mood ADD VALUE 'meh';\n\
         INSERT INTO t VALUES (101, 'meh');\n",
        "",
    );
    extend_manifest(path, "online", "transactional = false");
    let mut conn = scene.connect();
    scene.upgrade(&mut conn).unwrap();
    assert_eq!(scene.versions(), pairs(&[("online", "applied"), ("table", "applied")]));
    assert_eq!(
        scene.texts(
            "SELECT i.indisvalid::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 't_id'"
        ),
        [["true"]]
    );
    assert_eq!(scene.texts("SELECT count(*) FROM ta.t WHERE m = 'meh'"), [["1"]]);
    let online = scene.events().into_iter().find(|event| event.1 == "online").unwrap();
    assert_eq!(online.0, "upgrade");
    assert_eq!(
        scene.texts("SELECT coalesce(detail, '') FROM ta.wasmig_events WHERE revision = 'online'"),
        [["transactional = false"]]
    );

    // A failure half-way leaves a clear dirty row, and resolve works.
    add_sql_revision(
        path,
        "twice",
        &["online"],
        "CREATE INDEX CONCURRENTLY t_id2 ON t (id);\nCREATE INDEX CONCURRENTLY t_id2 ON t (id);\n",
        "",
    );
    extend_manifest(path, "twice", "transactional = false");
    let error = scene.upgrade(&mut conn).unwrap_err();
    let message = error.to_string();
    assert!(message.contains("already exists"), "{message}");
    assert_eq!(scene.versions(), pairs(&[("online", "applied"), ("table", "applied"), ("twice", "dirty-up")]));
    let blocked = scene.upgrade(&mut conn).unwrap_err();
    assert!(blocked.to_string().contains("wasmig resolve twice"), "{blocked}");
    migrator(path).resolve(&mut conn, "twice", true).unwrap();
    assert_eq!(scene.versions(), pairs(&[("online", "applied"), ("table", "applied"), ("twice", "applied")]));
    assert!(migrator(path).status(&mut conn).unwrap().is_current());
}

// ------------------------------------------------ 5. result memory

fn vm_hwm_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn a_result_over_the_budget_stops_before_it_is_held() {
    let database = TestDatabase::create();
    let mut db = database.connect();
    db.begin_hook(&hook_session(Instant::now() + Duration::from_secs(30), 10_000)).unwrap();
    let error = db.query("SELECT repeat('x', 1000) AS big FROM generate_series(1, 1000)", &[]).unwrap_err();
    assert_eq!(error.code.as_deref(), Some(DbError::HOST_CODE));
    assert!(error.message.contains("memory budget of 10000 bytes"), "{error}");
    assert!(error.message.contains("stopped after"), "{error}");
    // Within the budget, the rows come back; the session is fine.
    let rows = db.query("SELECT repeat('x', 10) FROM generate_series(1, 5)", &[]).unwrap();
    assert_eq!(rows.values.len(), 5);
    db.end_hook().unwrap();
    assert_eq!(one(&mut db, "SELECT 1"), Value::Integer(1));
}

#[test]
fn a_verify_returning_hundreds_of_megabytes_stops_at_the_hook_budget() {
    // 40 rows of 20 MiB (800 MiB) under a 64 MiB budget, through the SQL plugin's verify.
    let database = TestDatabase::create();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("verify.sql"), "SELECT repeat('x', 20971520) FROM generate_series(1, 40)").unwrap();
    let runtime = shared_runtime();
    let module = runtime.builtin(Builtin::Sql).unwrap();
    let limits = SandboxLimits { memory_bytes: 64 * 1024 * 1024, ..SandboxLimits::default() };
    let context = context(dir.path(), limits, None);
    let mut db: Box<dyn Backend> = Box::new(database.connect());
    let before = vm_hwm_kib();
    db.begin_read_only().unwrap();
    let error = runtime.verify(&module, &context, &mut db).unwrap_err();
    db.rollback().unwrap();
    let grown_mib = vm_hwm_kib().saturating_sub(before) / 1024;
    eprintln!("verify of 800 MiB under a 64 MiB budget: peak RSS grew by {grown_mib} MiB ({error})");
    assert!(error.to_string().contains("memory budget"), "{error}");
    // Held at most: the budget, one row in flight and its copy in the decoder.
    assert!(grown_mib < 400, "peak RSS grew by {grown_mib} MiB");
}

// ------------------------------------------------ 7. per-tenant roles

fn context(assets: &Path, limits: SandboxLimits, role: Option<&str>) -> HookContext {
    HookContext {
        revision_id: "hostile".into(),
        tenant: Some("a".into()),
        assets_dir: Some(assets.to_path_buf()),
        limits,
        protected_tables: vec!["wasmig_revisions".into(), "wasmig_events".into()],
        role: role.map(str::to_owned),
        capabilities: Default::default(),
    }
}

/// Two tenant schemas, each owned by its own NOLOGIN role, and a login role
/// (not a superuser) that is a member of both, as a platform's runner is.
/// The roles are the cluster's: dropped after the database.
struct RoleScene {
    database: TestDatabase,
    roles: Roles,
    assets: tempfile::TempDir,
}

struct Roles {
    tenant_a: String,
    tenant_b: String,
    runner: String,
}

impl Drop for Roles {
    fn drop(&mut self) {
        let mut admin = PostgresBackend::connect(&server_url(), None, "the test server".into()).unwrap();
        for role in [&self.runner, &self.tenant_a, &self.tenant_b] {
            if let Err(error) = admin.execute_script(&format!("DROP ROLE IF EXISTS {}", quoted(role))) {
                eprintln!("cannot drop role {role}: {error}");
            }
        }
    }
}

impl RoleScene {
    fn new() -> Self {
        let database = TestDatabase::create();
        let suffix = &database.name()["wasmig_t_".len()..];
        // A name that needs quoting: the host must quote it.
        let roles = Roles {
            tenant_a: format!("Tenant \"A\" {suffix}"),
            tenant_b: format!("tenant_b_{suffix}"),
            runner: format!("runner_{suffix}"),
        };
        let (a, b, runner) = (quoted(&roles.tenant_a), quoted(&roles.tenant_b), quoted(&roles.runner));
        database
            .connect()
            .execute_script(&format!(
                "CREATE ROLE {a} NOLOGIN; CREATE ROLE {b} NOLOGIN; CREATE ROLE {runner} LOGIN NOSUPERUSER; \
                 GRANT {a}, {b} TO {runner}; \
                 CREATE SCHEMA tenant_a AUTHORIZATION {a}; CREATE SCHEMA tenant_b AUTHORIZATION {b}; \
                 CREATE TABLE tenant_a.notes (id int); ALTER TABLE tenant_a.notes OWNER TO {a}; \
                 INSERT INTO tenant_a.notes VALUES (1); \
                 CREATE TABLE tenant_b.secrets (id int, secret text); ALTER TABLE tenant_b.secrets OWNER TO {b}; \
                 INSERT INTO tenant_b.secrets VALUES (1, 'b-secret'), (2, 'b-secret-2')"
            ))
            .unwrap();
        RoleScene { database, roles, assets: tempfile::tempdir().unwrap() }
    }

    /// The runner's connection, confined to tenant A's schema.
    fn runner(&self) -> Box<dyn Backend> {
        let url = self.database.url().replacen("postgres@", &format!("{}@", self.roles.runner), 1);
        Box::new(PostgresBackend::connect(&url, Some("tenant_a"), "the runner".into()).unwrap())
    }

    /// Runs `up_sql` as tenant A's `up`, inside a transaction or in autocommit.
    fn up(&self, db: &mut Box<dyn Backend>, up_sql: &str, transactional: bool) -> Result<(), HookError> {
        std::fs::write(self.assets.path().join("up.sql"), up_sql).unwrap();
        let runtime = shared_runtime();
        let module = runtime.builtin(Builtin::Sql).unwrap();
        let context = context(self.assets.path(), SandboxLimits::default(), Some(&self.roles.tenant_a));
        if transactional {
            db.begin().unwrap();
        }
        let result = runtime.up(&module, &context, db).map(drop);
        if transactional {
            match &result {
                Ok(()) => db.commit().unwrap(),
                Err(_) => db.rollback().unwrap(),
            }
        }
        result
    }

    fn texts(&self, sql: &str) -> Vec<Vec<String>> {
        texts(&mut self.database.connect(), sql)
    }

    /// Tenant B's schema and rows, as the setup left them.
    fn assert_b_intact(&self, attack: &str) {
        assert_eq!(
            self.texts("SELECT id::text, secret FROM tenant_b.secrets ORDER BY id"),
            [["1", "b-secret"], ["2", "b-secret-2"]],
            "{attack}"
        );
        assert_eq!(
            self.texts("SELECT tablename::text FROM pg_tables WHERE schemaname = 'tenant_b'"),
            [["secrets"]],
            "{attack}"
        );
    }

    /// The runner's connection after a hook: its own role again, host settings.
    fn assert_host_session(&self, db: &mut Box<dyn Backend>) {
        assert_eq!(one(db.as_mut(), "SELECT current_user::text"), text(&self.roles.runner));
        assert_eq!(one(db.as_mut(), "SELECT current_setting('search_path')"), text("tenant_a"));
        assert_eq!(one(db.as_mut(), "SELECT current_setting('statement_timeout')"), text("0"));
    }
}

#[test]
fn a_tenant_role_runs_the_revision_and_cannot_reach_the_other_tenant() {
    let scene = RoleScene::new();
    let b = quoted(&scene.roles.tenant_b);
    let mut db = scene.runner();

    // The legitimate revision runs as the tenant's role.
    scene.up(&mut db, "CREATE TABLE notes2 (id int);\nINSERT INTO notes VALUES (2);\n", true).unwrap();
    assert_eq!(
        scene.texts("SELECT tableowner::text FROM pg_tables WHERE schemaname = 'tenant_a' AND tablename = 'notes2'"),
        [[scene.roles.tenant_a.clone()]]
    );
    scene.assert_host_session(&mut db);

    // PostgreSQL itself refuses: the role owns nothing of tenant B.
    for attack in [
        "DROP SCHEMA tenant_b CASCADE",
        "DROP TABLE tenant_b.secrets",
        "SELECT * FROM tenant_b.secrets",
        "DELETE FROM tenant_b.secrets",
    ] {
        let error = scene.up(&mut db, attack, true).expect_err(attack);
        let message = error.to_string();
        assert!(
            message.contains("42501") || message.contains("permission denied") || message.contains("must be owner"),
            "{attack}: {message}"
        );
        scene.assert_b_intact(attack);
        scene.assert_host_session(&mut db);
    }

    // Changing the role: the guard refuses the plain spellings, or the
    // check catches the change and the step rolls back.
    for attack in [
        "RESET ROLE;\nDROP SCHEMA tenant_b CASCADE".to_owned(),
        format!("SET ROLE {b};\nDROP TABLE tenant_b.secrets"),
        format!("SET ROLE {b};\nDELETE FROM tenant_b.secrets"),
        format!("SELECT set_config('role', '{}', false)", scene.roles.tenant_b),
    ] {
        let error = scene.up(&mut db, &attack, true).expect_err(&attack);
        let message = error.to_string();
        assert!(refused_or_caught(&message, "current_user"), "{attack}: {message}");
        scene.assert_b_intact(&attack);
        scene.assert_host_session(&mut db);
    }

    // Dynamic SQL: only the backend's check sees it.
    for attack in [
        "DO $$ BEGIN EXECUTE 'RESET ROLE'; END $$".to_owned(),
        "DO $$ BEGIN EXECUTE 'RESET ROLE'; EXECUTE 'DROP SCHEMA tenant_b CASCADE'; END $$".to_owned(),
        format!("DO $$ BEGIN PERFORM set_config('role', '{}', false); END $$", scene.roles.tenant_b),
        format!("DO $$ BEGIN EXECUTE 'SET ROLE {b}'; EXECUTE 'DELETE FROM tenant_b.secrets'; END $$"),
    ] {
        let error = scene.up(&mut db, &attack, true).expect_err(&attack);
        match &error {
            HookError::SessionBreach { reason, .. } => {
                assert!(reason.contains("current_user"), "{attack}: {reason}")
            }
            other => panic!("{attack}: expected a session breach, got {other}"),
        }
        scene.assert_b_intact(&attack);
        scene.assert_host_session(&mut db);
    }

    // Not a superuser: no SESSION AUTHORIZATION either.
    let attack = format!("DO $$ BEGIN EXECUTE 'SET SESSION AUTHORIZATION {b}'; END $$");
    let error = scene.up(&mut db, &attack, true).expect_err(&attack);
    assert!(error.to_string().contains("permission denied"), "{error}");
    scene.assert_b_intact(&attack);
}

#[test]
fn a_tenant_role_cannot_end_the_lock_connection() {
    let scene = RoleScene::new();
    let mut db = scene.runner();
    let _lock = db.lock("wasmig:tenant_a:wasmig_", Duration::from_secs(2)).unwrap();
    // Past the text guard (the name is built at run time): PostgreSQL
    // refuses, the tenant role is not a member of the runner's.
    let error =
        scene.up(&mut db, KILL_THE_LOCK, true).expect_err("the tenant role may not signal the runner's backends");
    // "must be a member of the role whose process is being terminated"
    assert!(error.to_string().contains("42501"), "{error}");
    assert_eq!(
        scene.texts(&format!(
            "SELECT count(*) FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted AND {THIS_DB}"
        )),
        [["1"]]
    );
    // The lock is still there for the commit check.
    db.begin().unwrap();
    db.commit().unwrap();
}

#[test]
fn under_a_tenant_role_a_non_transactional_revision_is_confined_statement_by_statement() {
    let scene = RoleScene::new();
    let mut db = scene.runner();
    // Statements that cannot run in a transaction block run bare, as the role.
    scene
        .up(
            &mut db,
            "CREATE TABLE notes3 (id int);\nCREATE INDEX CONCURRENTLY notes3_id ON notes3 (id);\nVACUUM notes3;\n",
            false,
        )
        .unwrap();
    assert_eq!(
        scene.texts("SELECT tableowner::text FROM pg_tables WHERE tablename = 'notes3'"),
        [[scene.roles.tenant_a.clone()]]
    );
    assert_eq!(scene.texts("SELECT count(*) FROM pg_indexes WHERE indexname = 'notes3_id'"), [["1"]]);
    scene.assert_host_session(&mut db);

    // A DO block that leaves the role and drops tenant B's table is rolled
    // back before it commits; the statement before it stays (autocommit),
    // the one after never runs.
    let attack = "CREATE TABLE notes4 (id int);\n\
                  DO $$ BEGIN EXECUTE 'RESET ROLE'; EXECUTE 'DROP TABLE tenant_b.secrets'; END $$;\n\
                  CREATE TABLE notes5 (id int);\n";
    let error = scene.up(&mut db, attack, false).expect_err("breach");
    assert!(matches!(&error, HookError::SessionBreach { reason, .. } if reason.contains("current_user")), "{error}");
    scene.assert_b_intact(attack);
    assert_eq!(
        scene.texts("SELECT tablename::text FROM pg_tables WHERE tablename IN ('notes4', 'notes5')"),
        [["notes4"]]
    );
    scene.assert_host_session(&mut db);
}

/// The host executes its statements by name; a revision's dynamic SQL can
/// DEALLOCATE one and PREPARE the name again. Under a role that would make
/// the host run the revision's SQL with the login role's privileges (here:
/// delete tenant B's rows). The end of the hook sees it, and the host's
/// statement never runs.
#[test]
fn under_a_tenant_role_a_revision_cannot_take_over_a_host_statement() {
    let scene = RoleScene::new();
    let mut db = scene.runner();
    // A statement of the host's, prepared and cached by name; the tenant's
    // role may not touch its table (nor tenant B's).
    scene.database.connect().execute_script("CREATE TABLE public.host_log (note text)").unwrap();
    scene
        .database
        .connect()
        .execute_script(&format!("GRANT INSERT ON public.host_log TO {}", quoted(&scene.roles.runner)))
        .unwrap();
    let log = "INSERT INTO public.host_log VALUES ($1)";
    db.execute(log, &[text("before")]).unwrap();
    // PREPARE resolves names as the tenant, so the damage goes through a
    // function of the revision's own, which runs as whoever executes it.
    let takeover = "CREATE FUNCTION tenant_a.evil(text) RETURNS void LANGUAGE plpgsql AS $f$BEGIN\n\
           EXECUTE 'DELETE FROM tenant_b.secrets';\n\
         END$f$;\n\
         DO $$DECLARE r record; BEGIN\n\
           FOR r IN SELECT name FROM pg_prepared_statements WHERE NOT from_sql AND statement LIKE '%host_log%' LOOP\n\
             EXECUTE 'DEALLOCATE ' || r.name;\n\
             EXECUTE 'PREPARE ' || r.name || '(text) AS SELECT tenant_a.evil($1)';\n\
           END LOOP;\n\
         END$$;\n";
    db.begin().unwrap();
    let error = {
        std::fs::write(scene.assets.path().join("up.sql"), takeover).unwrap();
        let runtime = shared_runtime();
        let module = runtime.builtin(Builtin::Sql).unwrap();
        let context = context(scene.assets.path(), SandboxLimits::default(), Some(&scene.roles.tenant_a));
        runtime.up(&module, &context, &mut db).expect_err("the takeover is a breach")
    };
    assert!(error.to_string().contains("took over the host's prepared statement"), "{error}");
    // The host's statement does not run on that session.
    assert!(db.execute(log, &[text("after")]).is_err());
    db.rollback().unwrap();
    scene.assert_b_intact("a host statement taken over");
    db.execute(log, &[text("after")]).unwrap();
    scene.assert_b_intact("a host statement taken over, after the rollback");
    assert_eq!(scene.texts("SELECT count(*) FROM public.host_log"), [["2"]]);
}
