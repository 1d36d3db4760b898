//! Hostile revisions against what the runner itself bounds, on both engines: adoption's `verify` may only read, a revision cannot flood the log, a module that fails to load leaves no database file behind, and errors give the reason before any wasm backtrace.
//!
//! Each scenario asserts what the database holds afterwards and what the user sees.

use std::path::Path;

use wasmig::graph::Target;
use wasmig::{NoProgress, RunOptions};
use wasmig_tests::matrix::{Engine, TestDb, add_component_revision, migrator, run, wasmig, write_revision_file};
use wasmig_tests::{Fixture, add_sql_revision, on_every_engine, write_sql_project};

on_every_engine!(adopt_runs_verify_read_only, a_flooding_revision_is_cut_to_the_log_caps,);

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_sql_project(dir.path(), &[]);
    dir
}

/// A `verify.sql` that writes while it answers "present": `upgrade --adopt`
/// must not commit its write (the same rule as `wasmig verify`).
fn adopt_runs_verify_read_only(engine: Engine) {
    let db = TestDb::fresh(engine);
    let dir = project();
    let path = dir.path();
    db.execute("CREATE TABLE marker (id INTEGER); CREATE TABLE existing (id INTEGER);");
    add_sql_revision(path, "existing", &[], "CREATE TABLE existing (id INTEGER);", "DROP TABLE existing;");
    let writing_verify = match engine {
        Engine::Sqlite => "INSERT INTO marker VALUES (1) RETURNING 1",
        Engine::Postgres => "WITH written AS (INSERT INTO marker VALUES (1) RETURNING 1) SELECT 1 FROM written",
    };
    write_revision_file(path, "existing", "verify.sql", writing_verify);

    let mut conn = db.connect();
    let adopt = RunOptions { adopt: true, ..RunOptions::default() };
    let error = migrator(path).upgrade(&mut conn, &Target::Heads, &adopt, &mut NoProgress).unwrap_err();
    let message = error.to_string();
    assert!(message.contains("existing"), "the error names the revision: {message}");
    let lower = message.to_lowercase();
    assert!(
        ["read-only", "readonly", "only read"].iter().any(|said| lower.contains(said)),
        "the error says verify may only read: {message}"
    );
    assert_eq!(db.texts("SELECT count(*) FROM marker"), [[Some("0".to_owned())]], "verify's write was committed");
    assert!(db.recorded().is_empty(), "nothing is recorded: {:?}", db.version_rows());
}

/// 20,000 lines of 2 KiB and one of 1 MiB: the run keeps at most the cap,
/// says how many lines it dropped, and stderr stays small.
fn a_flooding_revision_is_cut_to_the_log_caps(engine: Engine) {
    let db = TestDb::fresh(engine);
    let dir = project();
    let path = dir.path();
    add_component_revision(path, "flood", &[], Fixture::Flood, "");

    let mut conn = db.connect();
    let report = migrator(path).upgrade(&mut conn, &Target::Heads, &RunOptions::default(), &mut NoProgress).unwrap();
    let logs = &report.steps[0].logs;
    assert!(logs.len() <= 1_001, "{} log lines kept", logs.len());
    let kept: usize = logs.iter().map(String::len).sum();
    assert!(kept < 300 * 1024, "{kept} bytes of log kept");
    let note = logs.last().unwrap();
    assert!(note.contains("dropped"), "the last line says lines were dropped: {note}");
    assert_eq!(db.user_tables().into_iter().collect::<Vec<_>>(), ["fixture_flood"], "the revision still did its work");

    // Through the binary: the revision's lines reach stderr, but only up to
    // the caps (41 MB uncapped; the CLI's step lines repeat the kept 256 KiB once).
    let again = TestDb::fresh(engine);
    let finished = run(wasmig(path, &again).arg("upgrade"));
    assert_eq!(finished.code, Some(0), "{finished}");
    assert!(finished.stderr.len() < 640 * 1024, "stderr carried {} bytes", finished.stderr.len());
    assert!(finished.stderr.contains("dropped"), "stderr says lines were dropped");
}

/// A revision whose module does not load stops the run before the database
/// is touched: no SQLite file is left behind.
#[test]
fn a_module_that_fails_to_load_leaves_no_sqlite_file() {
    let dir = project();
    let path = dir.path();
    add_sql_revision(path, "first", &[], "CREATE TABLE first (id INTEGER);", "DROP TABLE first;");
    let broken = path.join("migrations/broken");
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::write(
        broken.join("revision.toml"),
        "id = \"broken\"\nmessage = \"not a component\"\nparents = [\"first\"]\nkind = \"component\"\n",
    )
    .unwrap();
    std::fs::write(broken.join("revision.wasm"), b"\0asm but not really").unwrap();

    let file = path.join("fresh.db");
    let finished = run(std::process::Command::new(wasmig_tests::matrix::wasmig_binary())
        .arg("-C")
        .arg(path)
        .arg("--database")
        .arg(format!("sqlite:{}", file.display()))
        .arg("upgrade")
        .env("WASMIG_CACHE_DIR", wasmig_tests::matrix::component_cache_dir())
        .env_remove("DATABASE_URL"));
    assert_ne!(finished.code, Some(0), "{finished}");
    assert!(finished.stderr.contains("broken"), "the error names the revision: {finished}");
    assert!(!file.exists(), "a run that failed before touching the database left {}", file.display());
}

/// An asset a revision may not read: the reason comes first, and no wasm
/// backtrace reaches the user without `-v`.
#[test]
fn an_asset_refusal_gives_the_reason_without_a_backtrace() {
    let db = TestDb::fresh(Engine::Sqlite);
    let dir = project();
    let path = dir.path();
    // The SQL plugin reads `up.sql` as an asset; a link out of the revision's
    // directory is refused as an escape.
    add_sql_revision(path, "escape", &[], "", "");
    let revision = path.join("migrations/escape");
    std::fs::remove_file(revision.join("up.sql")).unwrap();
    let outside = path.join("outside.sql");
    std::fs::write(&outside, "CREATE TABLE escaped (id INTEGER);").unwrap();
    symlink(&outside, &revision.join("up.sql"));

    let finished = run(wasmig(path, &db).arg("upgrade"));
    assert_eq!(finished.code, Some(1), "{finished}");
    let error = finished.stderr.lines().find(|line| line.starts_with("error:")).unwrap_or_default();
    assert!(error.contains("outside the revision's directory"), "the reason is in the error line: {finished}");
    assert!(!finished.stderr.contains("wasm backtrace"), "a wasm backtrace reached the user: {finished}");
    assert!(!db.user_tables().contains("escaped"));
}

#[cfg(unix)]
fn symlink(target: &Path, link: &Path) {
    std::os::unix::fs::symlink(target, link).unwrap();
}

/// Schema names that look like connection parameters stay schema names: each
/// tenant is migrated in its own schema on the same server, and the server's
/// own schemas are never tenants, whatever the pattern.
#[test]
fn tenant_schemas_cannot_change_connection_parameters() {
    use wasmig::{Fleet, FleetAction, NoFleetProgress, TenantSource};
    use wasmig_tests::postgres::TestDatabase;

    let database = TestDatabase::create();
    let hostile = ["tenant_h&hostaddr=127.0.0.2", "tenant_d&dbname=postgres", "tenant_s&schema=tenant_ok", "tenant_ok"];
    let mut admin = database.connect();
    for schema in hostile {
        wasmig::backend::Backend::execute_script(&mut admin, &format!("CREATE SCHEMA \"{schema}\"")).unwrap();
    }
    let dir = project();
    add_sql_revision(dir.path(), "notes", &[], "CREATE TABLE notes (id INTEGER);", "DROP TABLE notes;");

    let everything = TenantSource::parse(&format!("{}?schemas=%", database.url())).unwrap().tenants().unwrap();
    let names: Vec<&str> = everything.iter().map(|tenant| tenant.name.as_str()).collect();
    assert!(
        names.iter().all(|name| !name.starts_with("pg_") && *name != "information_schema"),
        "system schemas listed as tenants: {names:?}"
    );

    let source = TenantSource::parse(&format!("{}?schemas=tenant\\_%", database.url())).unwrap();
    let tenants = source.tenants().unwrap();
    assert_eq!(tenants.len(), hostile.len(), "{tenants:?}");
    let report =
        Fleet::new(migrator(dir.path())).jobs(2).run(tenants, &FleetAction::Upgrade(Target::Heads), &NoFleetProgress);
    assert!(report.all_ok(), "{:?}", report.failed().collect::<Vec<_>>());
    for schema in hostile {
        let rows = wasmig::backend::Backend::query(
            &mut admin,
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1 AND table_name IN ('notes', 'wasmig_revisions')",
            &[wasmig::sql::Value::Text(schema.to_owned())],
        )
        .unwrap();
        assert_eq!(rows.values, [[wasmig::sql::Value::Integer(2)]], "schema {schema} holds its own tables");
    }
    let public = wasmig::backend::Backend::query(
        &mut admin,
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
        &[],
    )
    .unwrap();
    assert_eq!(public.values, [[wasmig::sql::Value::Integer(0)]], "nothing landed in public");
}

/// `[sandbox] capabilities` lets a trusted revision use a refused statement
/// class, and every use is recorded in the events table; without it the
/// statement is refused, naming the capability.
#[test]
fn a_capability_lets_a_trusted_revision_through_and_is_recorded() {
    let db = TestDb::fresh(Engine::Sqlite);
    let dir = project();
    let path = dir.path();
    let source = path.join("source.db");
    let seed = rusqlite::Connection::open(&source).unwrap();
    seed.execute_batch("CREATE TABLE src (id INTEGER); INSERT INTO src VALUES (7);").unwrap();
    drop(seed);
    add_sql_revision(
        path,
        "import",
        &[],
        &format!(
            "ATTACH DATABASE '{}' AS source;\nCREATE TABLE copied AS SELECT * FROM source.src;\nDETACH DATABASE source;\n",
            source.display()
        ),
        "DROP TABLE copied;",
    );
    wasmig_tests::matrix::extend_manifest(path, "import", "transactional = false");

    let refused = migrator(path)
        .upgrade(&mut db.connect(), &Target::Heads, &RunOptions::default(), &mut NoProgress)
        .unwrap_err()
        .to_string();
    assert!(refused.contains("server-files"), "the refusal names the capability to enable: {refused}");
    assert!(!db.user_tables().contains("copied"));
    // The refused step is dirty (it is non-transactional); nothing ran, so it is reverted.
    migrator(path).resolve(&mut db.connect(), "import", false).unwrap();

    wasmig_tests::matrix::write_config(path, "[sandbox]\ncapabilities = [\"server-files\"]\n");
    migrator(path).upgrade(&mut db.connect(), &Target::Heads, &RunOptions::default(), &mut NoProgress).unwrap();
    assert_eq!(db.texts("SELECT id FROM copied"), [[Some("7".to_owned())]]);
    let upgrade = db.events().into_iter().rev().find(|event| event.event == "upgrade").unwrap();
    let detail = upgrade.detail.unwrap_or_default();
    assert!(detail.contains("capabilities used: server-files"), "the use is recorded: {detail}");
}
