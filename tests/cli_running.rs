//! Watching and stopping a run through the `wasmig` binary: announce lines before each step, the compile and lock-wait notes, SIGINT and SIGTERM in the middle of a step, and the two time budgets (guest code, and the hook's SQL).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use wasmig_tests::matrix::{Engine, Finished, TestDb, extend_manifest, run, wasmig, write_chain_project, write_config};
use wasmig_tests::{add_sql_revision, on_every_engine, write_sql_project};

const DONE: Option<i32> = Some(0);
const RUN_FAILED: Option<i32> = Some(1);
const SIGINT_EXIT: Option<i32> = Some(130);
const SIGTERM_EXIT: Option<i32> = Some(143);

on_every_engine!(
    each_step_is_announced_before_it_runs_and_reported_after,
    sigint_in_the_middle_of_a_step_rolls_it_back_records_it_and_exits_130,
    sigterm_in_the_middle_of_a_step_exits_143,
    sql_past_sql_timeout_ms_fails_naming_the_setting,
    slow_sql_does_not_count_against_the_guest_code_budget,
);

/// A statement that runs for about a minute unless stopped.
fn slow_statement(engine: Engine) -> &'static str {
    match engine {
        Engine::Postgres => "SELECT pg_sleep(60)",
        Engine::Sqlite => {
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000000000) SELECT count(*) FROM n"
        }
    }
}

/// A statement that takes about `seconds`.
fn statement_taking(engine: Engine, seconds: f64) -> String {
    match engine {
        Engine::Postgres => format!("SELECT pg_sleep({seconds})"),
        // Roughly 10 million rows a second in a debug-built test's SQLite; what
        // matters is only that it takes longer than the guest budget below.
        Engine::Sqlite => format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {}) SELECT count(*) FROM n",
            (seconds * 10_000_000.0) as u64
        ),
    }
}

/// A project: `r1` creates `t_first`; `r2` creates `t_second`, then runs `slow`.
fn project_with_a_slow_second_step(dir: &Path, slow: &str) {
    write_sql_project(dir, &[]);
    add_sql_revision(dir, "r1", &[], "CREATE TABLE t_first (id INTEGER);\n", "DROP TABLE t_first;\n");
    add_sql_revision(
        dir,
        "r2",
        &["r1"],
        &format!("CREATE TABLE t_second (id INTEGER);\n{slow};\n"),
        "DROP TABLE t_second;\n",
    );
}

fn each_step_is_announced_before_it_runs_and_reported_after(engine: Engine) {
    let db = TestDb::fresh(engine);
    let dir = tempfile::tempdir().unwrap();
    write_chain_project(dir.path(), 3);
    let cache = tempfile::tempdir().unwrap();

    let first = run(wasmig(dir.path(), &db).env("WASMIG_CACHE_DIR", cache.path()).arg("upgrade"));
    assert_eq!(first.code, DONE, "{first}");
    let lines: Vec<&str> = first.stderr.lines().collect();
    let position = |wanted: &str| {
        lines.iter().position(|line| line.starts_with(wanted)).unwrap_or_else(|| panic!("no line `{wanted}`: {first}"))
    };
    // A fresh cache: the built-in SQL plugin is compiled once, and said so first.
    let compiling = position("compiling 1 component(s)");
    let header = position("upgrade to heads on ");
    assert!(lines[header].ends_with(": 3 step(s)"), "{first}");
    let mut previous = header;
    for id in ["r000", "r001", "r002"] {
        let announced = position(&format!("running upgrade {id}: revision {id}"));
        let applied = position(&format!("applied {id} ("));
        assert!(compiling < header && previous < announced && announced < applied, "out of order:\n{first}");
        previous = applied;
    }
    assert!(first.stdout.contains("upgrade to heads: 3 step(s)"), "the result on stdout: {first}");

    // Cached now: nothing is compiled, and nothing is said about it.
    let second = run(wasmig(dir.path(), &db).env("WASMIG_CACHE_DIR", cache.path()).args(["downgrade", "base"]));
    assert_eq!(second.code, DONE, "{second}");
    assert!(!second.stderr.contains("compiling"), "{second}");
    assert!(second.stderr.contains("running downgrade r002: revision r002"), "{second}");

    // -q and --format json: no progress at all.
    let quiet = run(wasmig(dir.path(), &db).args(["-q", "upgrade"]));
    assert_eq!(quiet.code, DONE, "{quiet}");
    assert_eq!(quiet.stderr, "", "{quiet}");
    let json = run(wasmig(dir.path(), &db).args(["--format", "json", "downgrade", "base"]));
    assert_eq!(json.code, DONE, "{json}");
    assert!(!json.stderr.contains("running"), "{json}");
}

/// Starts `wasmig upgrade` with its stderr read line by line, and returns once
/// it announced `r2` and `r2`'s slow statement is running.
fn upgrade_until_r2_runs(dir: &Path, db: &TestDb) -> (Child, std::sync::mpsc::Receiver<String>) {
    let mut child = wasmig(dir, db)
        .arg("upgrade")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start wasmig");
    let stderr = child.stderr.take().unwrap();
    let (lines, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let line = received.recv_timeout(deadline.saturating_duration_since(Instant::now())).expect("r2 announced");
        if line.starts_with("running upgrade r2") {
            break;
        }
    }
    if db.engine() == Engine::Postgres {
        wait_for(|| running_sleeps(db) == 1, "r2's statement runs on the server");
    } else {
        // Announced, then the hook starts its first statement within milliseconds.
        std::thread::sleep(Duration::from_millis(500));
    }
    (child, received)
}

fn running_sleeps(db: &TestDb) -> usize {
    let rows = db.texts(
        "SELECT count(*)::text FROM pg_catalog.pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' \
         AND datname = pg_catalog.current_database() AND pid <> pg_catalog.pg_backend_pid() AND state = 'active'",
    );
    rows[0][0].as_deref().unwrap_or("0").parse().unwrap()
}

fn wait_for(mut condition: impl FnMut() -> bool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill").arg(format!("-{name}")).arg(child.id().to_string()).status().unwrap();
    assert!(status.success(), "kill -{name}");
}

/// Waits for the process; its stderr is what `lines` still holds.
fn finish(mut child: Child, lines: std::sync::mpsc::Receiver<String>) -> Finished {
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "wasmig did not stop after the signal");
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stdout = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut stdout).unwrap();
    // The reader thread ends with the process's stderr.
    let stderr: Vec<String> = lines.iter().collect();
    Finished { code: status.code(), stdout, stderr: stderr.join("\n") }
}

fn interrupted_run(engine: Engine, signal_name: &str) -> (Finished, TestDb) {
    let db = TestDb::fresh(engine);
    let dir = tempfile::tempdir().unwrap();
    project_with_a_slow_second_step(dir.path(), slow_statement(engine));
    let (child, lines) = upgrade_until_r2_runs(dir.path(), &db);
    signal(&child, signal_name);
    let finished = finish(child, lines);
    (finished, db)
}

/// What every interrupted run leaves: r1 committed, r2 rolled back and
/// recorded as a failure that says it was interrupted, nothing still running,
/// and the migration lock free.
fn assert_stopped_cleanly(finished: &Finished, db: &TestDb) {
    assert!(finished.stderr.contains("interrupted during r2: 1 step(s) committed (r1); r2 rolled back"), "{finished}");
    assert_eq!(db.recorded(), ["r1".to_owned()].into_iter().collect(), "{finished}");
    assert!(db.user_tables().contains("t_first"), "{finished}");
    assert!(!db.user_tables().contains("t_second"), "r2 was rolled back: {finished}");
    let fail = db.events().into_iter().find(|event| event.event == "fail").expect("a fail event");
    assert_eq!(fail.revision.as_deref(), Some("r2"));
    assert!(fail.error.as_deref().unwrap_or_default().contains("interrupted"), "{fail:?}");
    if db.engine() == Engine::Postgres {
        assert_eq!(running_sleeps(db), 0, "the statement still runs on the server: {finished}");
        let locks = db.texts(
            "SELECT count(*)::text FROM pg_catalog.pg_locks WHERE locktype = 'advisory' \
             AND database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())",
        );
        assert_eq!(locks[0][0].as_deref(), Some("0"), "the migration lock is still held: {finished}");
    }
}

fn sigint_in_the_middle_of_a_step_rolls_it_back_records_it_and_exits_130(engine: Engine) {
    let (finished, db) = interrupted_run(engine, "INT");
    assert_eq!(finished.code, SIGINT_EXIT, "{finished}");
    assert!(finished.stderr.contains("stopping: cancelling the running statement"), "{finished}");
    assert_stopped_cleanly(&finished, &db);

    // The next run is not held up by anything the interrupted one left.
    let dir = tempfile::tempdir().unwrap();
    project_with_a_slow_second_step(dir.path(), "SELECT 1");
    let rerun = run(wasmig(dir.path(), &db).arg("upgrade"));
    assert_eq!(rerun.code, DONE, "{rerun}");
    assert!(db.user_tables().contains("t_second"), "{rerun}");
}

fn sigterm_in_the_middle_of_a_step_exits_143(engine: Engine) {
    let (finished, db) = interrupted_run(engine, "TERM");
    assert_eq!(finished.code, SIGTERM_EXIT, "{finished}");
    assert_stopped_cleanly(&finished, &db);
}

fn sql_past_sql_timeout_ms_fails_naming_the_setting(engine: Engine) {
    let db = TestDb::fresh(engine);
    let dir = tempfile::tempdir().unwrap();
    project_with_a_slow_second_step(dir.path(), slow_statement(engine));
    extend_manifest(dir.path(), "r2", "[sandbox]\nsql_timeout_ms = 700");
    let failed = run(wasmig(dir.path(), &db).arg("upgrade"));
    assert_eq!(failed.code, RUN_FAILED, "{failed}");
    assert!(failed.stderr.contains("revision r2"), "{failed}");
    assert!(failed.stderr.contains("`sql_timeout_ms`"), "the message names the setting: {failed}");
    assert!(!failed.stderr.contains("57014"), "the server's own words are not the reason: {failed}");
    assert_eq!(db.recorded(), ["r1".to_owned()].into_iter().collect());
    assert!(!db.user_tables().contains("t_second"));

    // The project's setting applies to every revision the same way.
    let dir = tempfile::tempdir().unwrap();
    project_with_a_slow_second_step(dir.path(), slow_statement(engine));
    write_config(dir.path(), "[sandbox]\nsql_timeout_ms = 700\n");
    let failed = run(wasmig(dir.path(), &db).arg("upgrade"));
    assert_eq!(failed.code, RUN_FAILED, "{failed}");
    assert!(failed.stderr.contains("`sql_timeout_ms`"), "{failed}");
}

fn slow_sql_does_not_count_against_the_guest_code_budget(engine: Engine) {
    let db = TestDb::fresh(engine);
    let dir = tempfile::tempdir().unwrap();
    // 1.5 s of SQL against 300 ms for the revision's own code: the SQL is not the code's time.
    project_with_a_slow_second_step(dir.path(), &statement_taking(engine, 1.5));
    extend_manifest(dir.path(), "r2", "[sandbox]\ntimeout_ms = 300");
    let done = run(wasmig(dir.path(), &db).arg("upgrade"));
    assert_eq!(done.code, DONE, "{done}");
    assert!(db.user_tables().contains("t_second"), "{done}");
}
