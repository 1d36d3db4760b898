//! The PostgreSQL backend against the real server: values, errors, schemas, transactions, the advisory lock and hook deadlines, each test in its own database.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmig::backend::postgres::PostgresBackend;
use wasmig::backend::{Backend, ConnectError, DatabaseUrl, LockError};
use wasmig::runtime::{HookContext, HookError, Module, SandboxLimits, Verdict};
use wasmig::sql::{DbError, Value};
use wasmig_tests::Fixture;
use wasmig_tests::hooks::HookScene;
use wasmig_tests::postgres::TestDatabase;

fn text(value: &str) -> Value {
    Value::Text(value.to_owned())
}

fn one_value(db: &mut dyn Backend, sql: &str) -> Value {
    let rows = db.query(sql, &[]).unwrap();
    assert_eq!(rows.values.len(), 1, "{sql}");
    rows.values[0][0].clone()
}

#[test]
fn every_value_kind_round_trips_through_typed_columns() {
    let database = TestDatabase::create();
    let mut db = database.connect();
    db.execute_script(
        "CREATE TABLE kinds (id int4 PRIMARY KEY, small int2, big int8, flag bool, single float4, double float8, \
         note text, label varchar(20), padded char(4), data bytea, doc json, bin jsonb, amount numeric(10, 3), id_ oid)",
    )
    .unwrap();
    let insert = "INSERT INTO kinds VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";
    let full = vec![
        Value::Integer(1),
        Value::Integer(-32768),
        Value::Integer(i64::MAX),
        Value::Integer(1),
        Value::Real(1.5),
        Value::Real(-2.25e300),
        text("héllo 'quoted'"),
        text("label"),
        text("ab"),
        Value::Blob(vec![0, 1, 2, 255]),
        text(r#"{"a": [1, 2]}"#),
        text(r#"{"b": true}"#),
        Value::Integer(42),
        Value::Integer(4_000_000_000),
    ];
    assert_eq!(db.execute(insert, &full).unwrap(), 1);
    let mut nulls = vec![Value::Null; 14];
    nulls[0] = Value::Integer(2);
    assert_eq!(db.execute(insert, &nulls).unwrap(), 1);
    // Reals into numeric, zero into bool.
    db.execute(
        "INSERT INTO kinds (id, amount, flag) VALUES ($1, $2, $3)",
        &[Value::Integer(3), Value::Real(-0.125), Value::Integer(0)],
    )
    .unwrap();

    let rows = db.query("SELECT * FROM kinds ORDER BY id", &[]).unwrap();
    assert_eq!(
        rows.columns,
        [
            "id", "small", "big", "flag", "single", "double", "note", "label", "padded", "data", "doc", "bin",
            "amount", "id_"
        ]
    );
    let expected_full = vec![
        Value::Integer(1),
        Value::Integer(-32768),
        Value::Integer(i64::MAX),
        Value::Integer(1),
        Value::Real(1.5),
        Value::Real(-2.25e300),
        text("héllo 'quoted'"),
        text("label"),
        text("ab  "),
        Value::Blob(vec![0, 1, 2, 255]),
        text(r#"{"a": [1, 2]}"#),
        text(r#"{"b": true}"#),
        text("42.000"),
        Value::Integer(4_000_000_000),
    ];
    assert_eq!(rows.values[0], expected_full);
    assert_eq!(rows.values[1], nulls);
    assert_eq!(rows.values[2][3], Value::Integer(0));
    assert_eq!(rows.values[2][12], text("-0.125"));

    // Parameters in WHERE clauses adapt too, and a repeated statement is served from the cache.
    for _ in 0..3 {
        let found = db
            .query(
                "SELECT note FROM kinds WHERE big = $1 AND flag = $2",
                &[Value::Integer(i64::MAX), Value::Integer(1)],
            )
            .unwrap();
        assert_eq!(found.values, vec![vec![text("héllo 'quoted'")]]);
    }
    assert_eq!(
        one_value(
            &mut db,
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE 'SELECT note FROM kinds%'"
        ),
        Value::Integer(1),
        "prepared once"
    );
}

#[test]
fn text_parameters_reach_any_type_and_common_types_come_back_as_text() {
    let database = TestDatabase::create();
    let mut db = database.connect();
    db.execute_script(
        "CREATE TYPE mood AS ENUM ('ok', 'sad'); \
         CREATE TABLE typed (day date, at timestamp, at_tz timestamptz, clock time, id uuid, amount numeric, feeling mood, span interval)",
    )
    .unwrap();
    db.execute(
        "INSERT INTO typed VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            text("2024-02-29"),
            text("2024-02-29 13:14:15.5"),
            text("2024-02-29 13:14:15+02"),
            text("23:59:59.25"),
            text("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"),
            text("-123456789.000100"),
            text("sad"),
            text("1 day 2 hours"),
        ],
    )
    .unwrap();
    let rows = db.query("SELECT day, at, at_tz, clock, id, amount, feeling FROM typed", &[]).unwrap();
    assert_eq!(
        rows.values[0],
        vec![
            text("2024-02-29"),
            text("2024-02-29 13:14:15.5"),
            text("2024-02-29 11:14:15+00"),
            text("23:59:59.25"),
            text("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
            text("-123456789.000100"),
            text("sad"),
        ]
    );
    // The rendering matches the server's own text output (session time zone UTC).
    db.execute_script("SET TIME ZONE 'UTC'").unwrap();
    let server_text = db
        .query("SELECT day::text, at::text, at_tz::text, clock::text, id::text, amount::text FROM typed", &[])
        .unwrap();
    assert_eq!(server_text.values[0][..], rows.values[0][..6]);

    // Edge values render as the server prints them.
    for (sql_type, literals) in [
        (
            "numeric",
            &[
                "0",
                "0.0001",
                "1e-20",
                "12345678901234567890.123",
                "-1",
                "10000",
                "100000000",
                "'NaN'",
                "-0.5000",
                "'Infinity'",
            ][..],
        ),
        ("date", &["'0001-01-01'", "'0044-03-15 BC'", "'infinity'", "'-infinity'", "'1999-12-31'", "'2100-03-01'"][..]),
        (
            "timestamp",
            &["'1999-12-31 23:59:59.999999'", "'0001-01-01 00:00:00 BC'", "'infinity'", "'2000-01-01 00:00:00.01'"][..],
        ),
        ("timestamptz", &["'1970-01-01 00:00:00+00'", "'2024-06-30 23:00:00-05'", "'-infinity'"][..]),
        ("time", &["'00:00:00'", "'12:34:56.789'", "'24:00:00'"][..]),
    ] {
        for literal in literals {
            let sql = format!("SELECT ({literal})::{sql_type}, ({literal})::{sql_type}::text");
            let row = db.query(&sql, &[]).unwrap().values.remove(0);
            assert_eq!(row[0], row[1], "{sql}");
        }
    }

    // A type wasmig does not render is refused before the query runs, with the column, its type and the cast.
    let error = db.query("SELECT span FROM typed", &[]).unwrap_err();
    assert_eq!(error.code.as_deref(), Some(DbError::HOST_CODE));
    assert!(
        error.message.contains("`span`") && error.message.contains("interval") && error.message.contains("span::text"),
        "{error}"
    );
    assert_eq!(db.query("SELECT span::text FROM typed", &[]).unwrap().values, vec![vec![text("1 day 02:00:00")]]);
    let error = db.query("SELECT ARRAY[1, 2] AS pair", &[]).unwrap_err();
    assert!(error.message.contains("`pair`") && error.message.contains("_int4"), "{error}");
}

#[test]
fn parameters_of_the_wrong_kind_or_range_are_clear_errors() {
    let database = TestDatabase::create();
    let mut db = database.connect();
    db.execute_script("CREATE TABLE t (small int2, flag bool, note text, data bytea, n int4)").unwrap();

    let error = db.execute("INSERT INTO t (small) VALUES ($1)", &[Value::Integer(40_000)]).unwrap_err();
    assert_eq!(error.code.as_deref(), Some("22003"), "{error}");
    assert!(
        error.message.contains("$1") && error.message.contains("40000") && error.message.contains("int2"),
        "{error}"
    );

    let error = db.execute("INSERT INTO t (flag) VALUES ($1)", &[Value::Integer(2)]).unwrap_err();
    assert_eq!(error.code.as_deref(), Some("22003"), "{error}");

    let error = db.execute("INSERT INTO t (note, data) VALUES ($1, $2)", &[text("x"), Value::Integer(7)]).unwrap_err();
    assert_eq!(error.code.as_deref(), Some("42804"), "{error}");
    assert!(
        error.message.contains("$2") && error.message.contains("bytea") && error.message.contains("$2::bigint"),
        "{error}"
    );

    let error = db.execute("INSERT INTO t (n) VALUES ($1)", &[Value::Real(1.5)]).unwrap_err();
    assert_eq!(error.code.as_deref(), Some("42804"), "{error}");

    let error = db.execute("INSERT INTO t (n) VALUES ($1)", &[Value::Blob(vec![1])]).unwrap_err();
    assert_eq!(error.code.as_deref(), Some("42804"), "{error}");

    // Text goes to the server's parser, which has the last word.
    db.execute("INSERT INTO t (n) VALUES ($1)", &[text("12")]).unwrap();
    let error = db.execute("INSERT INTO t (n) VALUES ($1)", &[text("twelve")]).unwrap_err();
    assert_eq!(error.code.as_deref(), Some("22P02"), "{error}");

    let error = db.execute("INSERT INTO t (n) VALUES ($1)", &[]).unwrap_err();
    assert!(error.message.contains("1 placeholder"), "{error}");

    // A cast placeholder takes what the cast takes.
    db.execute("INSERT INTO t (note) VALUES ($1::bigint::text)", &[Value::Integer(5)]).unwrap();
    assert_eq!(db.query("SELECT n FROM t WHERE n IS NOT NULL", &[]).unwrap().values, vec![vec![Value::Integer(12)]]);
    assert_eq!(db.query("SELECT note FROM t WHERE note IS NOT NULL", &[]).unwrap().values, vec![vec![text("5")]]);
}

#[test]
fn server_errors_carry_their_sqlstate_and_detail() {
    let database = TestDatabase::create();
    let mut db = database.connect();
    db.execute_script("CREATE TABLE twice (id int PRIMARY KEY)").unwrap();
    let error = db.execute_script("CREATE TABLE twice (id int)").unwrap_err();
    assert_eq!(error.code.as_deref(), Some("42P07"), "{error}");
    assert!(error.message.contains("\"twice\" already exists"), "{error}");

    let error = db.execute("SELEC 1", &[]).unwrap_err();
    assert_eq!(error.code.as_deref(), Some("42601"), "{error}");

    db.execute("INSERT INTO twice VALUES ($1)", &[Value::Integer(1)]).unwrap();
    let error = db.execute("INSERT INTO twice VALUES ($1)", &[Value::Integer(1)]).unwrap_err();
    assert_eq!(error.code.as_deref(), Some("23505"), "{error}");
    assert!(error.message.contains("DETAIL: Key (id)=(1) already exists."), "{error}");

    // No server, no SQLSTATE.
    match PostgresBackend::connect("postgres://postgres@127.0.0.1:1/test", None, "postgres://127.0.0.1:1/test".into()) {
        Err(ConnectError::Open { source, database }) => {
            assert_eq!(source.code, None, "{source}");
            assert_eq!(database, "postgres://127.0.0.1:1/test");
        }
        other => panic!("expected a connection error, got {other:?}"),
    }
}

#[test]
fn a_schema_is_checked_and_becomes_the_search_path() {
    let database = TestDatabase::create();
    let mut admin = database.connect();
    assert_eq!(admin.schema(), Some("public"), "without ?schema= the server's current_schema()");
    admin
        .execute_script(r#"CREATE SCHEMA tenant_a; CREATE SCHEMA "we""ird"; CREATE TABLE public.shared (id int)"#)
        .unwrap();

    let mut tenant = database.connect_schema("tenant_a");
    assert_eq!(tenant.schema(), Some("tenant_a"));
    tenant.execute_script("CREATE TABLE accounts (id int)").unwrap();
    assert_eq!(
        one_value(&mut admin, "SELECT table_schema::text FROM information_schema.tables WHERE table_name = 'accounts'"),
        text("tenant_a")
    );
    assert_eq!(one_value(&mut tenant, "SELECT current_schema()::text"), text("tenant_a"));
    // Only that schema: the public table is not visible unqualified.
    assert_eq!(tenant.query("SELECT * FROM shared", &[]).unwrap_err().code.as_deref(), Some("42P01"));

    let mut weird = database.connect_schema("we\"ird");
    weird.execute_script("CREATE TABLE inside (id int)").unwrap();
    assert_eq!(one_value(&mut weird, "SELECT current_schema()::text"), text("we\"ird"));

    // Through a URL, as users give it.
    let url = DatabaseUrl::parse(&format!("{}?schema=tenant_a", database.url())).unwrap();
    let mut from_url = url.connect(Duration::from_secs(5)).unwrap();
    assert_eq!(from_url.schema(), Some("tenant_a"));
    assert_eq!(one_value(from_url.as_mut(), "SELECT count(*) FROM accounts"), Value::Integer(0));

    match PostgresBackend::connect(database.url(), Some("nowhere"), "the test database".into()) {
        Err(ConnectError::MissingSchema { schema, database }) => {
            assert_eq!(schema, "nowhere");
            assert_eq!(database, "the test database");
        }
        other => panic!("expected a missing schema, got {other:?}"),
    }
}

#[test]
fn describe_never_shows_the_password() {
    let database = TestDatabase::create();
    let with_password = database.url().replacen("postgres@", "postgres:s3cret@", 1);
    assert!(with_password.contains("s3cret"), "{with_password}");
    let db = DatabaseUrl::parse(&with_password).unwrap().connect(Duration::from_secs(5)).unwrap();
    assert!(!db.describe().contains("s3cret"), "{}", db.describe());
    assert!(db.describe().contains(database.name()), "{}", db.describe());
    let direct = PostgresBackend::connect(&with_password, None, "redacted elsewhere".into()).unwrap();
    assert!(!format!("{direct:?}").contains("s3cret"), "{direct:?}");
}

#[test]
fn rollback_undoes_ddl_and_commit_keeps_it() {
    let database = TestDatabase::create();
    let mut db = database.connect();
    db.begin().unwrap();
    db.execute_script("CREATE TABLE gone (id int)").unwrap();
    db.execute("INSERT INTO gone VALUES ($1)", &[Value::Integer(1)]).unwrap();
    db.rollback().unwrap();
    assert_eq!(db.query("SELECT * FROM gone", &[]).unwrap_err().code.as_deref(), Some("42P01"));

    db.begin().unwrap();
    db.execute_script("CREATE TABLE kept (id int)").unwrap();
    db.commit().unwrap();
    assert_eq!(one_value(&mut db, "SELECT count(*) FROM kept"), Value::Integer(0));

    // Rolling back with no transaction open is fine.
    db.rollback().unwrap();
    db.rollback().unwrap();
}

#[test]
fn commit_after_a_failed_statement_says_nothing_was_committed() {
    let database = TestDatabase::create();
    let mut db = database.connect();
    db.begin().unwrap();
    db.execute_script("CREATE TABLE half (id int)").unwrap();
    assert!(db.execute_script("CREATE TABLE half (id int)").is_err());
    // Every later statement's error names the one that aborted the transaction.
    let later = db.execute("INSERT INTO half (id) VALUES (1)", &[]).unwrap_err();
    assert_eq!(later.code.as_deref(), Some("25P02"), "{later}");
    for expected in ["aborted by an earlier statement that failed", "[42P07]", "relation \"half\" already exists"] {
        assert!(later.message.contains(expected), "missing {expected:?}: {later}");
    }
    let error = db.commit().unwrap_err();
    assert_eq!(error.code.as_deref(), Some("25P02"), "{error}");
    assert!(error.message.contains("nothing was committed"), "{error}");
    assert!(error.message.contains("[42P07]"), "{error}");
    assert_eq!(db.query("SELECT * FROM half", &[]).unwrap_err().code.as_deref(), Some("42P01"));

    // A guest that recovered with a savepoint still commits.
    db.begin().unwrap();
    db.execute_script("CREATE TABLE whole (id int); SAVEPOINT s").unwrap();
    assert!(db.execute_script("CREATE TABLE whole (id int)").is_err());
    db.execute_script("ROLLBACK TO SAVEPOINT s").unwrap();
    db.commit().unwrap();
    assert_eq!(one_value(&mut db, "SELECT count(*) FROM whole"), Value::Integer(0));
}

#[test]
fn cached_statements_survive_schema_changes() {
    let database = TestDatabase::create();
    let mut db = database.connect();
    db.execute_script("CREATE TABLE grows (a int); INSERT INTO grows VALUES (1)").unwrap();
    assert_eq!(db.query("SELECT * FROM grows", &[]).unwrap().columns, ["a"]);
    db.execute("ALTER TABLE grows ADD COLUMN b int", &[]).unwrap();
    assert_eq!(db.query("SELECT * FROM grows", &[]).unwrap().columns, ["a", "b"]);
    db.execute_script("ALTER TABLE grows ADD COLUMN c text").unwrap();
    assert_eq!(db.query("SELECT * FROM grows", &[]).unwrap().columns, ["a", "b", "c"]);
}

fn lock_key(database: &TestDatabase) -> String {
    format!("{}.public.wasmig_", database.name())
}

#[test]
fn the_advisory_lock_excludes_a_second_runner_until_its_guard_drops() {
    let database = TestDatabase::create();
    let mut first = database.connect();
    let mut second = database.connect();
    let key = lock_key(&database);

    let guard = first.lock(&key, Duration::from_secs(5)).unwrap();
    let started = Instant::now();
    match second.lock(&key, Duration::from_millis(300)) {
        Err(LockError::Timeout { key: reported, waited, holder, .. }) => {
            assert_eq!(reported, key);
            assert!(waited >= Duration::from_millis(300), "{waited:?}");
            let holder = holder.expect("the holder is named");
            assert!(holder.contains("application `wasmig`") && holder.contains("server process"), "{holder}");
        }
        other => panic!("expected a lock timeout, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    // Another key is another lock.
    drop(second.lock(&format!("{key}other"), Duration::from_millis(300)).unwrap());
    // The lock lives on its own connection: the first backend keeps working.
    assert_eq!(one_value(&mut first, "SELECT 1"), Value::Integer(1));

    drop(guard);
    let started = Instant::now();
    let again = second.lock(&key, Duration::from_secs(5)).unwrap();
    assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
    assert!(format!("{again:?}").contains(&key));
}

#[test]
fn a_guard_dropped_on_an_early_return_releases_the_lock() {
    fn step_that_fails(db: &mut dyn Backend, key: &str) -> Result<(), DbError> {
        let _guard = db.lock(key, Duration::from_secs(5)).map_err(|error| DbError::host(error.to_string()))?;
        db.execute_script("SELECT * FROM missing_table")?;
        unreachable!("the statement fails");
    }
    let database = TestDatabase::create();
    let mut first = database.connect();
    let mut second = database.connect();
    let key = lock_key(&database);
    assert_eq!(step_that_fails(&mut first, &key).unwrap_err().code.as_deref(), Some("42P01"));
    let taken = second.lock(&key, Duration::from_millis(500));
    assert!(taken.is_ok(), "{taken:?}");
}

#[test]
fn a_lock_holder_that_disconnects_releases_the_lock() {
    let database = TestDatabase::create();
    let mut first = database.connect();
    let mut second = database.connect();
    let key = lock_key(&database);
    let guard = first.lock(&key, Duration::from_secs(5)).unwrap();
    // What the server does when a runner dies: end its lock connection (only
    // this test database's: other tests' runners hold locks on the same server).
    second
        .execute_script(
            "SELECT pg_terminate_backend(pid) FROM pg_locks \
             WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid() \
               AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        )
        .unwrap();
    assert!(second.lock(&key, Duration::from_secs(2)).is_ok());
    drop(guard);
}

#[test]
fn connecting_inside_an_async_task_is_a_typed_error_and_spawn_blocking_works() {
    let database = TestDatabase::create();
    let url = database.url().to_owned();
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let inside = runtime.block_on(async { PostgresBackend::connect(&url, None, "the test database".into()) });
    match inside {
        Err(error @ ConnectError::InsideAsyncRuntime { .. }) => {
            assert!(error.to_string().contains("spawn_blocking"), "{error}");
        }
        other => panic!("expected the async-runtime error, got {other:?}"),
    }

    let url = database.url().to_owned();
    let value = runtime
        .block_on(async move {
            tokio::task::spawn_blocking(move || {
                let mut db = PostgresBackend::connect(&url, None, "the test database".into()).unwrap();
                let value = db.query("SELECT 7", &[]).unwrap().values[0][0].clone();
                drop(db.lock("spawn_blocking", Duration::from_secs(1)).unwrap());
                value
            })
            .await
        })
        .unwrap();
    assert_eq!(value, Value::Integer(7));
}

/// The sandboxed runtime over a PostgreSQL test database.
struct Scene {
    hooks: HookScene,
    database: TestDatabase,
}

impl Scene {
    fn new() -> Self {
        let database = TestDatabase::create();
        database
            .connect()
            .execute_script("CREATE TABLE keep (id int, note text); INSERT INTO keep VALUES (1, 'before')")
            .unwrap();
        Scene { hooks: HookScene::new(), database }
    }

    fn backend(&self) -> Box<dyn Backend> {
        Box::new(self.database.connect())
    }

    fn context(&self, limits: SandboxLimits) -> HookContext {
        self.hooks.context(limits)
    }

    fn load(&self, fixture: Fixture) -> Arc<Module> {
        self.hooks.load(fixture)
    }

    fn up_in_transaction(
        &self,
        db: &mut Box<dyn Backend>,
        module: &Module,
        limits: SandboxLimits,
    ) -> Result<Vec<String>, HookError> {
        self.hooks.up_in_transaction(db, module, limits)
    }

    /// Runs `up` of a failing fixture in a transaction and checks that the
    /// database is as it was.
    fn failing_up(&self, fixture: Fixture, limits: SandboxLimits) -> HookError {
        let before = self.database.dump();
        let module = self.load(fixture);
        let mut db = self.backend();
        let error = self.up_in_transaction(&mut db, &module, limits).expect_err("the fixture must fail");
        assert_eq!(self.database.dump(), before, "{fixture:?} left rows or schema behind");
        // The connection is still good, and the hook's timeout is gone.
        assert_eq!(one_value(db.as_mut(), "SHOW statement_timeout"), text("0"));
        error
    }
}

#[test]
fn a_good_revision_runs_up_verify_and_down_on_postgres() {
    let scene = Scene::new();
    let module = scene.load(Fixture::Good);
    let mut db = scene.backend();
    let logs = scene.up_in_transaction(&mut db, &module, SandboxLimits::default()).unwrap();
    assert_eq!(logs, ["fixture_good has 3 rows"]);
    let rows = db.query("SELECT id, name, score, data FROM fixture_good ORDER BY id", &[]).unwrap();
    assert_eq!(
        rows.values,
        vec![
            vec![Value::Integer(1), text("a1b2c3d4e5f6"), Value::Real(1.5), Value::Blob(vec![1, 2, 3])],
            vec![Value::Integer(2), text("acme"), Value::Null, Value::Null],
            vec![Value::Integer(3), text("from an asset"), Value::Real(0.0), Value::Null],
        ]
    );
    let context = scene.context(SandboxLimits::default());
    assert_eq!(scene.hooks.runtime.verify(&module, &context, &mut db).unwrap().value, Verdict::Present);
    scene.hooks.runtime.down(&module, &context, &mut db).unwrap();
    assert_eq!(scene.hooks.runtime.verify(&module, &context, &mut db).unwrap().value, Verdict::Absent);
    assert_eq!(one_value(db.as_mut(), "SHOW statement_timeout"), text("0"), "autocommit hooks reset their timeout");
}

#[test]
fn commit_through_execute_is_refused_on_postgres() {
    let scene = Scene::new();
    match scene.failing_up(Fixture::Commit, SandboxLimits::default()) {
        HookError::TransactionControl { refusal, .. } => {
            assert!(refusal.to_uppercase().contains("COMMIT"), "{refusal}")
        }
        other => panic!("expected a transaction-control refusal, got {other:?}"),
    }
}

#[test]
fn a_slow_statement_is_stopped_by_the_hook_deadline() {
    let scene = Scene::new();
    let limits = SandboxLimits { sql_timeout: Some(Duration::from_millis(300)), ..SandboxLimits::default() };
    let started = Instant::now();
    match scene.failing_up(Fixture::SlowSql, limits) {
        HookError::SqlTimeout { limit, .. } => assert_eq!(limit, Duration::from_millis(300)),
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(10), "the statement ran on: {:?}", started.elapsed());
}

#[test]
fn a_slow_statement_in_autocommit_is_stopped_and_the_session_limit_reset() {
    let scene = Scene::new();
    let module = scene.load(Fixture::SlowSql);
    let mut db = scene.backend();
    let limits = SandboxLimits { sql_timeout: Some(Duration::from_millis(300)), ..SandboxLimits::default() };
    let started = Instant::now();
    let error = scene.hooks.runtime.up(&module, &scene.context(limits), &mut db).unwrap_err();
    assert!(matches!(error, HookError::SqlTimeout { .. }), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    // Autocommit: the table the hook created before the slow statement stays (what `transactional = false` means).
    assert_eq!(one_value(db.as_mut(), "SELECT count(*) FROM fixture_slow"), Value::Integer(0));
    assert_eq!(one_value(db.as_mut(), "SHOW statement_timeout"), text("0"));
}
