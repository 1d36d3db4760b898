//! The sandboxed runtime against real SQLite files: every way a module can fail gives its typed error and leaves the database as it was.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use wasmig::backend::Backend;
use wasmig::backend::sqlite::SqliteBackend;
use wasmig::runtime::{
    HookContext, HookError, InstancePool, LoadError, Module, Runtime, RuntimeConfig, SandboxLimits, Verdict,
};
use wasmig_tests::hooks::HookScene;
use wasmig_tests::{Fixture, sqlite_dump};

struct Scene {
    hooks: HookScene,
}

impl Scene {
    fn new() -> Self {
        let hooks = HookScene::new();
        let connection = rusqlite::Connection::open(hooks.dir.path().join("app.db")).unwrap();
        connection
            .execute_batch("CREATE TABLE keep (id INTEGER, note TEXT); INSERT INTO keep VALUES (1, 'before');")
            .unwrap();
        Scene { hooks }
    }

    fn database(&self) -> PathBuf {
        self.hooks.dir.path().join("app.db")
    }

    fn backend(&self) -> Box<dyn Backend> {
        Box::new(SqliteBackend::open(&self.database(), Duration::from_secs(5)).unwrap())
    }

    fn context(&self, limits: SandboxLimits) -> HookContext {
        self.hooks.context(limits)
    }

    fn load(&self, fixture: Fixture) -> Arc<Module> {
        self.hooks.load(fixture)
    }

    fn up_in_transaction(&self, module: &Module, limits: SandboxLimits) -> Result<Vec<String>, HookError> {
        self.hooks.up_in_transaction(&mut self.backend(), module, limits)
    }

    /// Runs `up` of a misbehaving fixture and checks the database file is
    /// byte for byte what it was before.
    fn failing_up(&self, fixture: Fixture, limits: SandboxLimits) -> HookError {
        let before = std::fs::read(self.database()).unwrap();
        let rows_before = sqlite_dump(&self.database());
        let module = self.load(fixture);
        let error = self.up_in_transaction(&module, limits).expect_err("the fixture must fail");
        assert_eq!(sqlite_dump(&self.database()), rows_before, "{fixture:?} left rows or schema behind");
        assert!(std::fs::read(self.database()).unwrap() == before, "{fixture:?} changed the database file");
        error
    }
}

fn limits() -> SandboxLimits {
    SandboxLimits::default()
}

#[test]
fn a_good_revision_reaches_every_import_and_reverts() {
    let scene = Scene::new();
    let module = scene.load(Fixture::Good);
    let logs = scene.up_in_transaction(&module, limits()).unwrap();
    assert_eq!(logs, ["fixture_good has 3 rows"]);

    let dump = sqlite_dump(&scene.database());
    assert!(
        dump.contains(&"row fixture_good: Integer(1), Text(\"a1b2c3d4e5f6\"), Real(1.5), Blob([1, 2, 3])".to_string()),
        "{dump:#?}"
    );
    assert!(dump.contains(&"row fixture_good: Integer(2), Text(\"acme\"), Null, Null".to_string()), "{dump:#?}");
    assert!(
        dump.contains(&"row fixture_good: Integer(3), Text(\"from an asset\"), Real(0.0), Null".to_string()),
        "{dump:#?}"
    );

    let mut db = scene.backend();
    let context = scene.context(limits());
    assert_eq!(scene.hooks.runtime.verify(&module, &context, &mut db).unwrap().value, Verdict::Present);
    scene.hooks.runtime.down(&module, &context, &mut db).unwrap();
    assert_eq!(scene.hooks.runtime.verify(&module, &context, &mut db).unwrap().value, Verdict::Absent);
}

#[test]
fn a_trap_carries_the_guest_panic_message() {
    let scene = Scene::new();
    match scene.failing_up(Fixture::Trap, limits()) {
        HookError::Trap { revision, guest_message, .. } => {
            assert_eq!(revision, "a1b2c3d4e5f6");
            let message = guest_message.expect("the SDK logs the panic before aborting");
            assert!(message.contains("fixture trap: index 12 of an empty list"), "{message}");
        }
        other => panic!("expected a trap, got {other:?}"),
    }
}

#[test]
fn an_infinite_loop_is_stopped_by_the_time_budget() {
    let scene = Scene::new();
    let limits = SandboxLimits { timeout: Duration::from_millis(200), ..limits() };
    match scene.failing_up(Fixture::Spin, limits) {
        HookError::Timeout { limit, .. } => assert_eq!(limit, Duration::from_millis(200)),
        other => panic!("expected a timeout, got {other:?}"),
    }
}

#[test]
fn a_statement_that_runs_past_the_budget_is_interrupted() {
    let scene = Scene::new();
    let limits = SandboxLimits { sql_timeout: Some(Duration::from_millis(200)), ..limits() };
    match scene.failing_up(Fixture::SlowSql, limits) {
        HookError::SqlTimeout { .. } => {}
        other => panic!("expected a timeout, got {other:?}"),
    }
}

#[test]
fn a_memory_bomb_hits_the_memory_limit() {
    let scene = Scene::new();
    let limits = SandboxLimits { memory_bytes: 64 * 1024 * 1024, ..limits() };
    match scene.failing_up(Fixture::Bomb, limits) {
        HookError::MemoryLimit { requested, limit, .. } => {
            assert_eq!(limit, 64 * 1024 * 1024);
            assert!(requested > limit);
        }
        other => panic!("expected the memory limit, got {other:?}"),
    }
}

#[test]
fn commit_through_execute_is_refused() {
    let scene = Scene::new();
    match scene.failing_up(Fixture::Commit, limits()) {
        HookError::TransactionControl { refusal, .. } => {
            assert!(refusal.to_uppercase().contains("COMMIT"), "{refusal}")
        }
        other => panic!("expected a transaction-control refusal, got {other:?}"),
    }
}

#[test]
fn rollback_hidden_in_a_script_is_refused() {
    let scene = Scene::new();
    match scene.failing_up(Fixture::ScriptRollback, limits()) {
        HookError::TransactionControl { refusal, .. } => {
            assert!(refusal.to_uppercase().contains("ROLLBACK"), "{refusal}")
        }
        other => panic!("expected a transaction-control refusal, got {other:?}"),
    }
}

#[test]
fn a_refusal_the_guest_ignores_still_fails_the_hook() {
    let scene = Scene::new();
    assert!(matches!(scene.failing_up(Fixture::Swallow, limits()), HookError::TransactionControl { .. }));
}

#[test]
fn the_guests_own_error_is_reported() {
    let scene = Scene::new();
    match scene.failing_up(Fixture::Fails, limits()) {
        HookError::Guest { message, .. } => {
            assert_eq!(message, "fixture refuses: the users table has duplicate e-mails")
        }
        other => panic!("expected the guest's error, got {other:?}"),
    }
}

#[test]
fn a_component_that_imports_wasi_is_refused_at_load() {
    let scene = Scene::new();
    match scene.hooks.runtime.load(&Fixture::Wasi.bytes(), "revision w (wasi)") {
        Err(LoadError::ForbiddenImport { import, module }) => {
            assert!(import.starts_with("wasi:"), "{import}");
            assert_eq!(module, "revision w (wasi)");
        }
        other => panic!("expected a forbidden import, got {other:?}"),
    }
}

/// Hook calls on a pool with room for one call, from four threads at once,
/// and on fresh mappings: every call runs, each sees only its own database,
/// and none sees what the call before it left in the slot's memory (the
/// fixture logs how many rows it made, counted from an empty table).
#[test]
fn hooks_share_a_pool_of_one_slot_and_run_without_one() {
    for pool in [InstancePool::Pooled { hooks: 1 }, InstancePool::OnDemand] {
        let runtime = Runtime::new(RuntimeConfig { instance_pool: pool, ..RuntimeConfig::default() }).unwrap();
        let module = runtime.load(&Fixture::Good.bytes(), "good").unwrap();
        let scene = HookScene::new();
        let context = scene.context(limits());
        std::thread::scope(|threads| {
            for _ in 0..4 {
                threads.spawn(|| {
                    for _ in 0..5 {
                        let mut db: Box<dyn Backend> = Box::new(SqliteBackend::open_in_memory().unwrap());
                        db.begin().unwrap();
                        let outcome = runtime.up(&module, &context, &mut db).expect("the hook runs");
                        let logs: Vec<String> = outcome.logs.into_iter().map(|log| log.message).collect();
                        assert_eq!(logs, ["fixture_good has 3 rows"], "{pool:?}");
                        db.rollback().unwrap();
                    }
                });
            }
        });
    }
}

/// `bytes` with every `wasmig:revision` version string replaced by `version`
/// (same length): the component as an SDK of that contract would have built it.
fn built_for_contract(bytes: &[u8], version: &str) -> Vec<u8> {
    let (from, to) = (b"wasmig:revision@0.1.1".as_slice(), format!("wasmig:revision@{version}"));
    let (from_slash, to_slash) = (b"@0.1.1".as_slice(), format!("@{version}"));
    assert_eq!((from.len(), from_slash.len()), (to.len(), to_slash.len()), "a same-length version");
    let mut out = bytes.to_vec();
    let mut replaced = 0;
    let mut at = 0;
    while at + from_slash.len() <= out.len() {
        let package = out[..at].ends_with(b"wasmig:revision")
            || out[..at].ends_with(b"/db")
            || out[..at].ends_with(b"/types")
            || out[..at].ends_with(b"/context");
        if package && out[at..].starts_with(from_slash) {
            out[at..at + from_slash.len()].copy_from_slice(to_slash.as_bytes());
            replaced += 1;
        }
        at += 1;
    }
    assert!(replaced > 0, "the fixture names its contract version");
    out
}

#[test]
fn a_component_built_for_the_earlier_contract_runs_and_a_later_one_is_refused() {
    let scene = Scene::new();
    let runtime = &scene.hooks.runtime;
    let older = built_for_contract(&Fixture::Good.bytes(), "0.1.0");
    let module = runtime.load(&older, "revision o (0.1.0)").expect("0.1.1 only adds to 0.1.0");
    let mut db = scene.backend();
    db.begin().unwrap();
    runtime.up(&module, &scene.context(limits()), &mut db).expect("its hooks run");
    db.rollback().unwrap();
    match runtime.load(&built_for_contract(&Fixture::Good.bytes(), "0.2.0"), "revision n (0.2.0)") {
        Err(LoadError::ContractVersion { import, expected, .. }) => {
            assert!(import.ends_with("@0.2.0"), "{import}");
            assert_eq!(expected, "0.1.1");
        }
        other => panic!("expected the contract version refused, got {other:?}"),
    }
}

#[test]
fn bytes_that_are_not_a_component_are_refused_at_load() {
    let scene = Scene::new();
    let runtime = &scene.hooks.runtime;
    assert!(matches!(runtime.load(b"CREATE TABLE t (x);", "text"), Err(LoadError::NotWasm { .. })));
    // The smallest valid core module: magic and version 1.
    assert!(matches!(runtime.load(b"\0asm\x01\0\0\0", "core"), Err(LoadError::CoreModule { .. })));
    let good = Fixture::Good.bytes();
    let truncated = &good[..good.len() / 2];
    assert!(matches!(runtime.load(truncated, "truncated"), Err(LoadError::Invalid { .. })));
}

#[test]
fn the_runtime_stays_usable_after_a_trap() {
    let scene = Scene::new();
    let trap = scene.load(Fixture::Trap);
    for _ in 0..2 {
        assert!(matches!(scene.up_in_transaction(&trap, limits()), Err(HookError::Trap { .. })));
    }
    let good = scene.load(Fixture::Good);
    scene.up_in_transaction(&good, limits()).unwrap();
}

#[test]
fn a_second_runtime_over_the_same_cache_compiles_nothing() {
    let cache = tempfile::tempdir().unwrap();
    let fixtures = [Fixture::Good, Fixture::Trap, Fixture::Fails];
    let first = Runtime::new(RuntimeConfig { cache_dir: Some(cache.path().to_path_buf()), ..RuntimeConfig::default() })
        .unwrap();
    for fixture in fixtures {
        first.load(&fixture.bytes(), fixture.dir_name()).unwrap();
        // A second load in the same runtime is served from memory.
        first.load(&fixture.bytes(), fixture.dir_name()).unwrap();
    }
    assert_eq!(first.stats().compiled, 3);

    let second =
        Runtime::new(RuntimeConfig { cache_dir: Some(cache.path().to_path_buf()), ..RuntimeConfig::default() })
            .unwrap();
    let module = second.load(&Fixture::Good.bytes(), "good").unwrap();
    second.load(&Fixture::Trap.bytes(), "trap").unwrap();
    second.load(&Fixture::Fails.bytes(), "fails").unwrap();
    assert_eq!(second.stats().compiled, 0);
    assert_eq!(second.stats().loaded_from_disk, 3);

    // What the cache gave back runs.
    let database = cache.path().join("run.db");
    let mut db: Box<dyn Backend> = Box::new(SqliteBackend::open(&database, Duration::from_secs(5)).unwrap());
    let context = HookContext {
        revision_id: "r".into(),
        tenant: None,
        assets_dir: None,
        limits: limits(),
        protected_tables: Vec::new(),
        role: None,
        capabilities: Default::default(),
    };
    second.up(&module, &context, &mut db).unwrap();
}

#[test]
fn a_tampered_cache_file_is_compiled_again_not_loaded() {
    let cache = tempfile::tempdir().unwrap();
    let bytes = Fixture::Good.bytes();
    let first = Runtime::new(RuntimeConfig { cache_dir: Some(cache.path().to_path_buf()), ..RuntimeConfig::default() })
        .unwrap();
    let module = first.load(&bytes, "good").unwrap();
    let path = first.disk_cache().unwrap().path(module.hash());
    let mut compiled = std::fs::read(&path).unwrap();
    let middle = compiled.len() / 2;
    compiled[middle] ^= 0xff;
    std::fs::write(&path, compiled).unwrap();

    let second =
        Runtime::new(RuntimeConfig { cache_dir: Some(cache.path().to_path_buf()), ..RuntimeConfig::default() })
            .unwrap();
    second.load(&bytes, "good").unwrap();
    assert_eq!(second.stats().cache_rejected, 1);
    assert_eq!(second.stats().compiled, 1);
    assert_eq!(second.stats().loaded_from_disk, 0);

    // The rewritten entry is good again.
    let third = Runtime::new(RuntimeConfig { cache_dir: Some(cache.path().to_path_buf()), ..RuntimeConfig::default() })
        .unwrap();
    third.load(&bytes, "good").unwrap();
    assert_eq!(third.stats().loaded_from_disk, 1);
}

#[test]
fn the_backend_is_handed_back_after_every_outcome() {
    let scene = Scene::new();
    let mut db = scene.backend();
    let context = scene.context(SandboxLimits { timeout: Duration::from_millis(100), ..limits() });
    for fixture in [Fixture::Trap, Fixture::Spin, Fixture::Fails, Fixture::Commit] {
        let module = scene.load(fixture);
        db.execute_script("BEGIN IMMEDIATE").unwrap();
        assert!(scene.hooks.runtime.up(&module, &context, &mut db).is_err());
        db.execute_script("ROLLBACK").unwrap();
        assert_eq!(db.query("SELECT note FROM keep", &[]).unwrap().values.len(), 1, "after {fixture:?}");
    }
}
