//! Hostile revisions against the SQLite sandbox: other files (ATTACH, VACUUM INTO), settings (PRAGMA), wasmig's version tables (writes, triggers, temporary shadows, cascades), ending the host's transaction, a `verify` that writes, a runaway statement and an oversized result.
//!
//! Most tests drive real runs through the migrator (SQL revisions, and a
//! Python revision that catches its errors and carries on); a few call the
//! backend directly, as the runtime does, to check the SQLite layer on its
//! own (the text guard in front of it may refuse some of these first). Every
//! test checks the error the user sees and what the database file holds
//! afterwards.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use wasmig::backend::sqlite::SqliteBackend;
use wasmig::backend::{Backend, HookSession};
use wasmig::graph::Target;
use wasmig::sql::{DbError, Value};
use wasmig::{Error, NoProgress, RunOptions, RunReport};
use wasmig_tests::built::built_project;
use wasmig_tests::matrix::{Engine, TestDb, VersionRow, extend_manifest, migrator, write_revision_file};
use wasmig_tests::{add_sql_revision, write_sql_project};

const FIRST: &str = "first";
const FORGED_ROW: &str = "INSERT INTO wasmig_revisions (revision, checksum, module_hash, kind, state, execution_ms, \
                          tool_version) VALUES ('forged', 'x', 'x', 'sql', 'applied', 0, 'x')";

/// One tenant's database and project: revision `first` made `t_first` and put one row in it.
struct Tenant {
    db: TestDb,
    dir: tempfile::TempDir,
}

impl Tenant {
    fn new() -> Self {
        let tenant = Tenant { db: TestDb::fresh(Engine::Sqlite), dir: tempfile::tempdir().unwrap() };
        write_sql_project(
            tenant.path(),
            &[(
                FIRST,
                &[],
                "CREATE TABLE t_first (id INTEGER PRIMARY KEY, note TEXT);\nINSERT INTO t_first VALUES (1, 'before');\n",
                "DROP TABLE t_first;\n",
            )],
        );
        tenant.upgrade().unwrap();
        tenant
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn file(&self) -> &Path {
        self.db.sqlite_path().unwrap()
    }

    fn upgrade(&self) -> Result<RunReport, Error> {
        self.upgrade_with(RunOptions::default())
    }

    fn upgrade_with(&self, options: RunOptions) -> Result<RunReport, Error> {
        migrator(self.path()).upgrade(&mut self.db.connect(), &Target::Heads, &options, &mut NoProgress)
    }

    /// Schema and rows, but for wasmig's history (a failed step adds its
    /// `fail` event, and its statements to the journal as rolled back).
    fn state(&self) -> Vec<String> {
        let history = |line: &String| line.starts_with("row wasmig_events:") || line.starts_with("row wasmig_journal:");
        self.db.dump().into_iter().filter(|line| !history(line)).collect()
    }

    /// Adds revision `id` on `first` running `up`, upgrades, and checks that
    /// the step failed and changed nothing but for its `fail` event; then
    /// removes the revision. Returns the error's text.
    fn refused(&self, id: &str, up: &str) -> String {
        self.refused_on(id, FIRST, up)
    }

    fn refused_on(&self, id: &str, parent: &str, up: &str) -> String {
        let before = self.state();
        let recorded = self.db.recorded();
        let mut events = self.db.event_pairs();
        add_sql_revision(self.path(), id, &[parent], up, "SELECT 1;\n");
        let error = self.upgrade().expect_err(&format!("`{up}` must fail"));
        let text = error.to_string();
        assert!(text.contains(&format!("revision {id}")), "the error names the revision: {text}");
        assert!(error.committed().unwrap().steps.is_empty(), "{error:?}");
        assert_eq!(self.state(), before, "`{up}` changed the database: {text}");
        assert_eq!(self.db.recorded(), recorded);
        events.push(("fail".to_owned(), id.to_owned()));
        assert_eq!(self.db.event_pairs(), events);
        std::fs::remove_dir_all(self.path().join("migrations").join(id)).unwrap();
        text
    }
}

/// Whether `text` holds every one of `parts`, in any case.
fn mentions(text: &str, parts: &[&str]) -> bool {
    let text = text.to_lowercase();
    parts.iter().all(|part| text.contains(&part.to_lowercase()))
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|item| (*item).to_owned()).collect()
}

#[test]
fn another_tenants_file_cannot_be_attached_in_any_spelling() {
    let tenant = Tenant::new();
    let other = Tenant::new();
    let other_file = other.file().to_path_buf();
    let other_bytes = std::fs::read(&other_file).unwrap();
    let other_dir = other_file.parent().unwrap().display().to_string();
    let path = other_file.display().to_string();
    let fresh = tenant.path().join("loot.db");
    let spellings = [
        format!("ATTACH '{path}' AS x;\nDELETE FROM x.t_first;\n"),
        format!("attach database '{path}' as \"x\";\nINSERT INTO x.t_first VALUES (2, 'planted');\n"),
        format!("/* harmless */ AtTaCh\n\t DATABASE   '{path}'\n   AS [x] ;\nDROP TABLE x.t_first;\n"),
        format!("-- a comment\nATTACH ('{other_dir}' || '/app.db') AS x;\nUPDATE x.t_first SET note = 'changed';\n"),
        format!("ATTACH 'file:{path}?mode=rw' AS x;\nDELETE FROM x.wasmig_revisions;\n"),
        format!("ATTACH '{}' AS x;\nCREATE TABLE x.loot AS SELECT * FROM main.t_first;\n", fresh.display()),
    ];
    for (index, sql) in spellings.iter().enumerate() {
        let text = tenant.refused(&format!("attach{index}"), sql);
        assert!(mentions(&text, &["attach", "refused"]), "{sql}: {text}");
    }
    assert!(std::fs::read(&other_file).unwrap() == other_bytes, "the other tenant's file changed");
    assert_eq!(other.db.recorded(), set(&[FIRST]));
    assert!(!fresh.exists(), "ATTACH created {}", fresh.display());
}

#[test]
fn vacuum_into_writes_no_file() {
    let tenant = Tenant::new();
    let copy = tenant.path().join("copy.db");
    // In the step's transaction SQLite refuses VACUUM itself.
    let text = tenant.refused("vacuum0", &format!("VACUUM INTO '{}';\n", copy.display()));
    assert!(mentions(&text, &["vacuum"]), "{text}");
    assert!(!copy.exists());

    // Outside one, VACUUM INTO attaches its target: refused with the ATTACH.
    for (id, sql) in [
        ("vacuum1", format!("VACUUM INTO '{}';\n", copy.display())),
        ("vacuum2", format!("vacuum main\n  into\n'{}'", copy.display())),
        ("vacuum3", "VACUUM;\n".to_owned()),
    ] {
        add_sql_revision(tenant.path(), id, &[FIRST], &sql, "SELECT 1;\n");
        extend_manifest(tenant.path(), id, "transactional = false");
        let before = tenant.db.dump().into_iter().filter(|line| !line.starts_with("row wasmig_")).collect::<Vec<_>>();
        let text = tenant.upgrade().unwrap_err().to_string();
        assert!(mentions(&text, &[id, "vacuum", "refused"]), "{sql}: {text}");
        assert!(!copy.exists(), "{sql} wrote {}", copy.display());
        let after = tenant.db.dump().into_iter().filter(|line| !line.starts_with("row wasmig_")).collect::<Vec<_>>();
        assert_eq!(after, before);
        // A non-transactional step that failed stays marked dirty, never applied.
        let row = tenant.db.version_rows().into_iter().find(|row| row.revision == id).unwrap();
        assert_eq!(row.state, "dirty-up", "{row:?}");
        assert_eq!(tenant.db.version_rows().iter().filter(|row| row.state == "applied").count(), 1);
        migrator(tenant.path()).resolve(&mut tenant.db.connect(), id, false).unwrap();
        std::fs::remove_dir_all(tenant.path().join("migrations").join(id)).unwrap();
    }
}

#[test]
fn pragmas_that_change_settings_are_refused() {
    let tenant = Tenant::new();
    for (index, (sql, name)) in [
        (
            "PRAGMA writable_schema = 1;\nUPDATE sqlite_master SET sql = 'CREATE TABLE t_first (x)' WHERE name = 't_first';\n",
            "writable_schema",
        ),
        ("pragma main.writable_schema=ON;\n", "writable_schema"),
        ("PRAGMA journal_mode=OFF;\n", "journal_mode"),
        ("PRAGMA foreign_keys = OFF;\n", "foreign_keys"),
        ("PRAGMA schema_version = 1;\n", "schema_version"),
        ("PRAGMA\n\t/* hidden */ Cache_Size = -1000000;\n", "cache_size"),
        ("PRAGMA query_only = 0;\n", "query_only"),
        ("PRAGMA database_list;\n", "database_list"),
    ]
    .into_iter()
    .enumerate()
    {
        let text = tenant.refused(&format!("pragma{index}"), sql);
        assert!(mentions(&text, &["pragma", name, "refused"]), "{sql}: {text}");
    }
    let connection = rusqlite::Connection::open(tenant.file()).unwrap();
    let mode: String = connection.pragma_query_value(None, "journal_mode", |row| row.get(0)).unwrap();
    assert_eq!(mode, "delete", "the file's journal mode changed");

    // The read-only pragmas, and the two settings a revision may change, still work.
    add_sql_revision(
        tenant.path(),
        "inspect",
        &[FIRST],
        "CREATE TABLE probe AS SELECT name FROM pragma_table_info('t_first');\n\
         PRAGMA table_info(t_first);\nPRAGMA foreign_key_check;\nPRAGMA defer_foreign_keys = ON;\n\
         PRAGMA user_version = 7;\n",
        "DROP TABLE probe;\n",
    );
    tenant.upgrade().unwrap();
    assert_eq!(
        tenant.db.texts("SELECT name FROM probe ORDER BY name"),
        [[Some("id".to_owned())], [Some("note".to_owned())]]
    );
    assert_eq!(tenant.db.texts("PRAGMA user_version"), [[Some("7".to_owned())]]);
}

#[test]
fn the_version_tables_stay_wasmigs() {
    let tenant = Tenant::new();
    let spellings = [
        format!("{FORGED_ROW};\n"),
        "DELETE FROM main.wasmig_events;\n".to_owned(),
        "UPDATE \"WASMIG_REVISIONS\" SET state = 'dirty-up';\n".to_owned(),
        "REPLACE INTO wasmig_revisions SELECT * FROM wasmig_revisions;\n".to_owned(),
        "INSERT INTO t_first SELECT 2, revision FROM wasmig_revisions;\nDELETE FROM wasmig_revisions WHERE revision = 'first';\n"
            .to_owned(),
        "DROP TABLE wasmig_events;\n".to_owned(),
        "ALTER TABLE wasmig_revisions RENAME TO old_revisions;\n".to_owned(),
        "ALTER TABLE wasmig_events ADD COLUMN extra TEXT;\n".to_owned(),
        "CREATE TRIGGER spy AFTER INSERT ON wasmig_revisions BEGIN DELETE FROM wasmig_events; END;\n".to_owned(),
        "CREATE TEMP TRIGGER spy AFTER INSERT ON main.wasmig_revisions BEGIN SELECT 1; END;\n".to_owned(),
        "CREATE INDEX snoop ON wasmig_events (event);\n".to_owned(),
        "CREATE TEMP TABLE wasmig_revisions (revision TEXT);\n".to_owned(),
        "create temporary table \"Wasmig_Events\" (id INTEGER);\n".to_owned(),
        "CREATE TEMP VIEW wasmig_events AS SELECT 1 AS id;\n".to_owned(),
    ];
    for (index, sql) in spellings.iter().enumerate() {
        let text = tenant.refused(&format!("books{index}"), sql);
        assert!(mentions(&text, &["wasmig_", "refused"]), "{sql}: {text}");
    }
    // A temporary table renamed to a version table's name would hide it too.
    let text = tenant.refused(
        "books_rename",
        "CREATE TEMP TABLE decoy (revision TEXT);\nALTER TABLE temp.decoy RENAME TO wasmig_revisions;\n",
    );
    assert!(
        mentions(&text, &["refused"]) && (mentions(&text, &["temp"]) || mentions(&text, &["wasmig_revisions"])),
        "{text}"
    );

    // Reading them is fine.
    add_sql_revision(
        tenant.path(),
        "reads",
        &[FIRST],
        "CREATE TABLE seen AS SELECT revision FROM wasmig_revisions;\n",
        "",
    );
    tenant.upgrade().unwrap();
    assert_eq!(tenant.db.texts("SELECT revision FROM seen"), [[Some(FIRST.to_owned())]]);
    assert_eq!(tenant.db.recorded(), set(&[FIRST, "reads"]));
}

/// Puts a trigger into the schema through a revision; if the text guard
/// refuses that (it may read trigger bodies), through a plain connection, as
/// an older tool would have left it. Either way the firing is what is tested.
fn plant(tenant: &Tenant, id: &str, sql: &str) {
    add_sql_revision(tenant.path(), id, &[FIRST], sql, "SELECT 1;\n");
    if let Err(error) = tenant.upgrade() {
        assert!(mentions(&error.to_string(), &["wasmig_revisions"]), "{error}");
        tenant.db.execute(sql);
        add_sql_revision(tenant.path(), id, &[FIRST], "SELECT 1;\n", "SELECT 1;\n");
        tenant.upgrade().unwrap();
    }
    assert_eq!(tenant.db.recorded(), set(&[FIRST, id]));
}

#[test]
fn a_trigger_planted_in_one_revision_cannot_write_the_version_tables_in_a_later_one() {
    let tenant = Tenant::new();
    plant(
        &tenant,
        "plant",
        &format!(
            "CREATE TABLE audit (id INTEGER);\nCREATE TRIGGER forge AFTER INSERT ON audit BEGIN {FORGED_ROW}; END;\n"
        ),
    );
    let text = tenant.refused_on("fire", "plant", "INSERT INTO audit VALUES (1);\n");
    assert!(mentions(&text, &["wasmig_revisions", "forge", "refused"]), "{text}");
    assert!(tenant.db.texts("SELECT id FROM audit").is_empty());
    assert!(!tenant.db.recorded().contains("forged"));
}

#[test]
fn a_cascade_from_the_version_tables_cannot_fire_a_revisions_trigger() {
    let tenant = Tenant::new();
    plant(
        &tenant,
        "plant",
        &format!(
            "CREATE TABLE pinned (revision TEXT REFERENCES wasmig_revisions (revision) ON DELETE CASCADE);\n\
             INSERT INTO pinned VALUES ('first');\n\
             CREATE TRIGGER resurrect AFTER DELETE ON pinned BEGIN {FORGED_ROW}; END;\n"
        ),
    );
    let rows: Vec<VersionRow> = tenant.db.version_rows();
    // `stamp base` deletes the version rows itself, with no hook running:
    // the cascade reaches `pinned`, whose trigger would forge a row.
    let error = migrator(tenant.path()).stamp(&mut tenant.db.connect(), &Target::Base).unwrap_err();
    let text = error.to_string();
    assert!(mentions(&text, &["resurrect", "wasmig_revisions", "refused"]), "{text}");
    assert_eq!(tenant.db.version_rows(), rows, "the stamp is all or nothing");
    assert_eq!(tenant.db.texts("SELECT revision FROM pinned"), [[Some(FIRST.to_owned())]]);
}

#[test]
fn ending_the_hosts_transaction_in_sql_fails_the_step_and_records_nothing() {
    let tenant = Tenant::new();
    for (id, sql) in [
        (
            "rollback0",
            "CREATE TABLE ledger (id INTEGER PRIMARY KEY, note TEXT);\nINSERT INTO ledger VALUES (1, 'first');\n\
             INSERT OR ROLLBACK INTO ledger VALUES (1, 'duplicate');\nCREATE TABLE after_rollback (id INTEGER);\n",
        ),
        (
            "rollback1",
            "CREATE TABLE ledger (id INTEGER);\n\
             CREATE TRIGGER veto BEFORE INSERT ON ledger WHEN NEW.id = 99 BEGIN SELECT RAISE(ROLLBACK, 'vetoed'); END;\n\
             INSERT INTO ledger VALUES (1);\nINSERT INTO ledger VALUES (99);\nCREATE TABLE after_rollback (id INTEGER);\n",
        ),
        (
            "rollback2",
            "CREATE TABLE ledger (id INTEGER PRIMARY KEY);\nUPDATE t_first SET note = 'changed';\n\
             INSERT INTO ledger VALUES (1);\ninsert or rollback into ledger select 1;\n",
        ),
    ] {
        let text = tenant.refused(id, sql);
        assert!(mentions(&text, &["transaction ended", "rolled back"]), "{sql}: {text}");
    }
    assert!(!tenant.db.all_tables().contains("ledger") && !tenant.db.all_tables().contains("after_rollback"));
    assert_eq!(tenant.db.texts("SELECT note FROM t_first"), [[Some("before".to_owned())]]);
}

/// A project whose Python revision `p1` catches the error of an `INSERT OR
/// ROLLBACK` and goes on writing, built once per test process.
fn catching_project() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let source = tempfile::tempdir().unwrap();
        let root = source.path();
        write_sql_project(
            root,
            &[("a1", &[], "CREATE TABLE ledger (id INTEGER PRIMARY KEY, note TEXT NOT NULL);\n", "DROP TABLE ledger;\n")],
        );
        std::fs::write(root.join("wasmig.toml"), "[sandbox]\ntimeout_ms = 20000\n").unwrap();
        let revision = root.join("migrations/p1");
        std::fs::create_dir_all(&revision).unwrap();
        std::fs::write(
            revision.join("revision.toml"),
            "id = \"p1\"\nmessage = \"catches the rollback and carries on\"\nparents = [\"a1\"]\nkind = \"component\"\n",
        )
        .unwrap();
        std::fs::write(
            revision.join("revision.py"),
            r#"# Ends the host's transaction with INSERT OR ROLLBACK, catches the error, and keeps writing.
import wasmig


def attempt(run):
    try:
        run()
        wasmig.warn("went through")
    except wasmig.DatabaseError as error:
        wasmig.warn(f"refused: {error}")


def up():
    wasmig.execute("INSERT INTO ledger (id, note) VALUES (1, 'first')")
    attempt(lambda: wasmig.execute("INSERT OR ROLLBACK INTO ledger (id, note) VALUES (1, 'duplicate')"))
    attempt(lambda: wasmig.execute("CREATE TABLE after_rollback (id INTEGER)"))
    attempt(lambda: wasmig.execute("INSERT INTO ledger (id, note) VALUES (2, 'after the rollback')"))
    attempt(lambda: wasmig.execute_script("CREATE TABLE after_script (id INTEGER); INSERT INTO ledger VALUES (3, 'x')"))
    attempt(lambda: wasmig.query("SELECT count(*) FROM ledger"))


def down():
    pass
"#,
        )
        .unwrap();
        built_project("hostile-sqlite-catches", root)
    })
}

#[test]
fn a_revision_that_catches_the_rollback_cannot_write_after_it() {
    let project = catching_project();
    let db = TestDb::fresh(Engine::Sqlite);
    let error = migrator(project)
        .upgrade(&mut db.connect(), &Target::Heads, &RunOptions::default(), &mut NoProgress)
        .unwrap_err();
    let text = error.to_string();
    assert!(mentions(&text, &["revision p1", "transaction ended", "rolled back"]), "{text}");
    assert_eq!(db.recorded(), set(&["a1"]));
    assert_eq!(db.user_tables(), set(&["ledger"]), "a statement after the rollback autocommitted");
    assert!(db.texts("SELECT id FROM ledger").is_empty(), "{:?}", db.dump());
    assert_eq!(db.event_pairs(), [("upgrade".to_owned(), "a1".to_owned()), ("fail".to_owned(), "p1".to_owned())]);
}

#[test]
fn a_verify_that_writes_is_refused() {
    let tenant = Tenant::new();
    write_std_config(&tenant);
    for sql in [
        "INSERT INTO t_first (id, note) VALUES (2, 'from verify') RETURNING 1",
        "UPDATE t_first SET note = 'from verify' RETURNING 1",
        "WITH gone AS (SELECT 1) DELETE FROM t_first RETURNING 1",
    ] {
        write_revision_file(tenant.path(), FIRST, "verify.sql", sql);
        let before = tenant.db.dump();
        let error =
            migrator(tenant.path()).verify(&mut tenant.db.connect(), Some(FIRST), &RunOptions::default()).unwrap_err();
        let text = error.to_string();
        assert!(mentions(&text, &["verify", "t_first"]) || mentions(&text, &["verify", "readonly"]), "{sql}: {text}");
        assert_eq!(tenant.db.dump(), before, "{sql} wrote");
    }
    // `upgrade --adopt` asks verify inside the step: the same rule.
    add_sql_revision(tenant.path(), "second", &[FIRST], "CREATE TABLE t_second (id INTEGER);\n", "");
    write_revision_file(tenant.path(), "second", "verify.sql", "UPDATE t_first SET note = 'adopted' RETURNING 1");
    let before = tenant.state();
    let error = tenant.upgrade_with(RunOptions { adopt: true, ..RunOptions::default() }).unwrap_err();
    assert!(mentions(&error.to_string(), &["second"]), "{error}");
    assert_eq!(tenant.state(), before);
    assert_eq!(tenant.db.recorded(), set(&[FIRST]));

    // A verify that only reads answers.
    write_revision_file(tenant.path(), FIRST, "verify.sql", "SELECT count(*) FROM pragma_table_info('t_first')");
    let reports =
        migrator(tenant.path()).verify(&mut tenant.db.connect(), Some(FIRST), &RunOptions::default()).unwrap();
    assert_eq!(reports[0].verdict, Some("present"));
}

/// Edited revisions keep running: the tests change `verify.sql` of an applied revision.
fn write_std_config(tenant: &Tenant) {
    std::fs::write(tenant.path().join("wasmig.toml"), "checksum = \"off\"\n").unwrap();
}

#[test]
fn a_runaway_statement_stops_at_the_deadline() {
    let tenant = Tenant::new();
    // Each sort record is 50 MB: the progress handler used before, every
    // 1,000 instructions, let this run seconds past a 300 ms budget.
    let sort = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)\n\
                SELECT length(b) FROM (SELECT zeroblob(50000000) || i AS b FROM n ORDER BY b) LIMIT 1;\n";
    add_sql_revision(tenant.path(), "sort", &[FIRST], &format!("CREATE TABLE t_sort (id INTEGER);\n{sort}"), "");
    extend_manifest(tenant.path(), "sort", "[sandbox]\nsql_timeout_ms = 300");
    let before = tenant.state();
    let text = tenant.upgrade().unwrap_err().to_string();
    assert!(mentions(&text, &["revision sort", "time budget"]), "{text}");
    assert_eq!(tenant.state(), before);
    std::fs::remove_dir_all(tenant.path().join("migrations/sort")).unwrap();

    // A writing statement stopped at the deadline takes the transaction
    // with it: the step fails, and nothing after it ran or was recorded.
    add_sql_revision(
        tenant.path(),
        "fill",
        &[FIRST],
        "CREATE TABLE t_fill (id INTEGER, b BLOB);\n\
         INSERT INTO t_fill SELECT i, zeroblob(1000) FROM (WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT i FROM n);\n\
         CREATE TABLE t_after (id INTEGER);\n",
        "",
    );
    extend_manifest(tenant.path(), "fill", "[sandbox]\nsql_timeout_ms = 300");
    let text = tenant.upgrade().unwrap_err().to_string();
    assert!(
        mentions(&text, &["revision fill"]) && (mentions(&text, &["deadline"]) || mentions(&text, &["time budget"])),
        "{text}"
    );
    assert_eq!(tenant.state(), before);
    assert_eq!(tenant.db.recorded(), set(&[FIRST]));
}

#[test]
fn a_result_over_the_memory_budget_stops_the_query() {
    let tenant = Tenant::new();
    write_std_config(&tenant);
    // 100 rows of 1 MB against a budget of 32 MiB.
    write_revision_file(
        tenant.path(),
        FIRST,
        "verify.sql",
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100) SELECT randomblob(1000000) FROM n",
    );
    extend_manifest(tenant.path(), FIRST, "[sandbox]\nmemory_mb = 32");
    let before = tenant.db.dump();
    let error =
        migrator(tenant.path()).verify(&mut tenant.db.connect(), Some(FIRST), &RunOptions::default()).unwrap_err();
    let text = error.to_string();
    assert!(mentions(&text, &["memory budget", "33554432"]), "{text}");
    assert_eq!(tenant.db.dump(), before);
}

// The SQLite layer on its own, as the runtime drives it.

fn hook(read_only: bool) -> HookSession {
    HookSession {
        deadline: Instant::now() + Duration::from_secs(30),
        lock_wait: Duration::from_secs(2),
        protected_tables: vec!["wasmig_revisions".into(), "wasmig_events".into()],
        max_result_bytes: 64 * 1024,
        read_only,
        role: None,
        capabilities: Default::default(),
    }
}

fn backend() -> (tempfile::TempDir, PathBuf, SqliteBackend) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    let mut db = SqliteBackend::open(&path, Duration::from_secs(5)).unwrap();
    db.execute_script(
        "CREATE TABLE wasmig_revisions (revision TEXT PRIMARY KEY) WITHOUT ROWID;\n\
         CREATE TABLE t (id INTEGER PRIMARY KEY, note TEXT);\nINSERT INTO t VALUES (1, 'before');",
    )
    .unwrap();
    (dir, path, db)
}

fn refused(result: Result<impl std::fmt::Debug, DbError>, parts: &[&str]) {
    let error = result.expect_err("must be refused");
    assert_eq!(error.code.as_deref(), Some(DbError::HOST_CODE), "{error:?}");
    assert!(mentions(&error.message, parts), "{parts:?}: {error:?}");
}

#[test]
fn the_backend_refuses_what_the_text_guard_might_miss() {
    let (_dir, path, mut db) = backend();
    let dump = wasmig_tests::sqlite_dump(&path);
    db.begin().unwrap();
    db.begin_hook(&hook(false)).unwrap();
    refused(db.execute("COMMIT", &[]), &["COMMIT is refused"]);
    refused(db.execute("ROLLBACK", &[]), &["ROLLBACK is refused"]);
    refused(db.execute_script("SAVEPOINT s; RELEASE s;"), &["SAVEPOINT s is refused"]);
    refused(db.query("SELECT load_extension('/tmp/evil.so')", &[]), &["load_extension() is refused"]);
    refused(db.query("SELECT fts3_tokenizer('simple')", &[]), &["fts3_tokenizer() is refused"]);
    refused(db.execute("ATTACH ('/tmp/' || 'x.db') AS x", &[]), &["ATTACH of a computed file name is refused"]);
    db.execute("CREATE TEMP TABLE decoy (revision TEXT)", &[]).unwrap();
    refused(db.execute("ALTER TABLE temp.decoy RENAME TO wasmig_revisions", &[]), &["ALTER TABLE temp.`decoy`"]);
    refused(db.execute("PRAGMA writable_schema = ON", &[]), &["PRAGMA writable_schema = ON is refused"]);
    refused(
        db.execute("INSERT INTO wasmig_revisions VALUES ('forged')", &[]),
        &["INSERT into `wasmig_revisions` is refused"],
    );
    assert!(!db.connection().is_autocommit(), "the host's transaction is still open");
    db.end_hook().unwrap();
    db.rollback().unwrap();
    assert_eq!(wasmig_tests::sqlite_dump(&path), dump);
}

#[test]
fn a_statement_cached_under_other_rules_is_asked_again() {
    let (_dir, path, mut db) = backend();
    // The host writes its table with this text, and the statement is cached.
    let forge = "INSERT INTO wasmig_revisions (revision) VALUES (?1)";
    db.execute(forge, &[Value::Text("by the host".into())]).unwrap();
    let dump = wasmig_tests::sqlite_dump(&path);
    db.begin_hook(&hook(false)).unwrap();
    refused(db.execute(forge, &[Value::Text("forged".into())]), &["INSERT into `wasmig_revisions` is refused"]);
    // A write the `up` hook may do, cached there, is asked again in `verify`.
    db.execute("UPDATE t SET note = ?1", &[Value::Text("in up".into())]).unwrap();
    db.end_hook().unwrap();
    db.begin_hook(&hook(true)).unwrap();
    refused(db.execute("UPDATE t SET note = ?1", &[Value::Text("in verify".into())]), &["`verify` may only read"]);
    db.end_hook().unwrap();
    assert_eq!(db.query("SELECT note FROM t", &[]).unwrap().values, [[Value::Text("in up".into())]]);
    db.execute("UPDATE t SET note = 'before'", &[]).unwrap();
    assert_eq!(wasmig_tests::sqlite_dump(&path), dump);
}

#[test]
fn after_the_transaction_ends_no_statement_of_the_hook_runs() {
    let (_dir, path, mut db) = backend();
    let dump = wasmig_tests::sqlite_dump(&path);
    db.begin().unwrap();
    db.begin_hook(&hook(false)).unwrap();
    db.execute("INSERT INTO t VALUES (2, 'in the step')", &[]).unwrap();
    let error = db.execute("INSERT OR ROLLBACK INTO t VALUES (2, 'again')", &[]).unwrap_err();
    assert_eq!(error.code.as_deref(), Some("SQLITE_CONSTRAINT_PRIMARYKEY"), "{error:?}");
    assert!(mentions(&error.message, &["transaction ended", "will be rolled back"]), "{error:?}");
    refused(db.execute("INSERT INTO t VALUES (3, 'after')", &[]), &["statement not run", "transaction ended"]);
    refused(db.execute_script("CREATE TABLE after_rollback (id INTEGER)"), &["statement not run"]);
    refused(db.query("SELECT count(*) FROM t", &[]), &["statement not run"]);
    let breach = db.end_hook().unwrap_err();
    assert!(mentions(&breach.0, &["transaction ended", "INSERT OR ROLLBACK"]), "{breach}");
    db.rollback().unwrap();
    assert_eq!(wasmig_tests::sqlite_dump(&path), dump, "a statement after the rollback autocommitted");
}

#[test]
fn a_read_only_hook_only_reads_even_outside_a_read_only_transaction() {
    let (_dir, path, mut db) = backend();
    let dump = wasmig_tests::sqlite_dump(&path);
    db.begin_hook(&hook(true)).unwrap();
    assert_eq!(db.query("SELECT note FROM t", &[]).unwrap().values, [[Value::Text("before".into())]]);
    db.query("SELECT name FROM pragma_table_info('t')", &[]).unwrap();
    refused(db.execute("INSERT INTO t VALUES (2, 'x')", &[]), &["`verify` may only read"]);
    refused(db.execute_script("CREATE TEMP TABLE scratch (id INTEGER)"), &["`verify` may only read"]);
    refused(db.execute("PRAGMA query_only = OFF", &[]), &["PRAGMA query_only = OFF is refused"]);
    refused(db.execute("PRAGMA defer_foreign_keys = ON", &[]), &["refused"]);
    db.end_hook().unwrap();
    assert_eq!(wasmig_tests::sqlite_dump(&path), dump);
    // The connection writes again once the hook is over.
    db.execute("INSERT INTO t VALUES (2, 'by the host')", &[]).unwrap();
}

#[test]
fn a_query_stops_at_its_byte_budget_before_stepping_further() {
    let (_dir, _path, mut db) = backend();
    db.begin_hook(&hook(false)).unwrap();
    // Rows past the 1,000th would fail with an integer overflow: the budget
    // (64 KiB, about 60 rows) must stop the query long before.
    let error = db
        .query(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000) \
             SELECT CASE WHEN i < 1000 THEN randomblob(1000) ELSE abs(-9223372036854775807 - 1) END FROM n",
            &[],
        )
        .unwrap_err();
    assert_eq!(error.code.as_deref(), Some(DbError::HOST_CODE), "{error:?}");
    assert!(mentions(&error.message, &["memory budget", "65536 bytes"]), "{error:?}");
    db.query("SELECT randomblob(1000) FROM t", &[]).unwrap();
    db.end_hook().unwrap();
}

#[test]
fn defensive_mode_guards_the_file_outside_hooks_too() {
    let (_dir, path, mut db) = backend();
    let dump = wasmig_tests::sqlite_dump(&path);
    let error = db
        .execute_script(
            "PRAGMA writable_schema = ON; UPDATE sqlite_master SET sql = 'CREATE TABLE t (x)' WHERE name = 't';",
        )
        .unwrap_err();
    assert!(error.message.contains("sqlite_master"), "{error:?}");
    assert_eq!(wasmig_tests::sqlite_dump(&path), dump);
}
