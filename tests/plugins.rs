//! The built-in plugins: the sql plugin runs a revision's SQL assets, the merge plugin refuses downgrade, and the shipped bytes are what their sources build to.

use wasmig::backend::Backend;
use wasmig::backend::sqlite::SqliteBackend;
use wasmig::runtime::{Builtin, HookContext, HookError, Runtime, RuntimeConfig, SandboxLimits, Verdict};
use wasmig_tests::{build_guests, workspace_root};

fn context(dir: &std::path::Path) -> HookContext {
    HookContext {
        revision_id: "0a1b2c3d4e5f".into(),
        tenant: None,
        assets_dir: Some(dir.to_path_buf()),
        limits: SandboxLimits::default(),
        protected_tables: Vec::new(),
        role: None,
        capabilities: Default::default(),
    }
}

#[test]
fn the_sql_plugin_runs_up_verify_and_down_from_the_revision_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("up.sql"),
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);\nINSERT INTO users (name) VALUES ('a; b');\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("down.sql"), "DROP TABLE users;").unwrap();
    std::fs::write(dir.path().join("verify.sql"), "SELECT count(*) FROM sqlite_master WHERE name = 'users';\n")
        .unwrap();
    let runtime = Runtime::new(RuntimeConfig::default()).unwrap();
    let sql = runtime.builtin(Builtin::Sql).unwrap();
    let mut db: Box<dyn Backend> =
        Box::new(SqliteBackend::open(&dir.path().join("app.db"), std::time::Duration::from_secs(5)).unwrap());
    let context = context(dir.path());

    assert_eq!(runtime.verify(&sql, &context, &mut db).unwrap().value, Verdict::Absent);
    runtime.up(&sql, &context, &mut db).unwrap();
    let rows = db.query("SELECT name FROM users", &[]).unwrap();
    assert_eq!(rows.values, vec![vec![wasmig::sql::Value::Text("a; b".into())]]);
    assert_eq!(runtime.verify(&sql, &context, &mut db).unwrap().value, Verdict::Present);
    runtime.down(&sql, &context, &mut db).unwrap();
    assert_eq!(runtime.verify(&sql, &context, &mut db).unwrap().value, Verdict::Absent);
}

#[test]
fn the_sql_plugin_names_a_missing_script_and_has_no_verdict_without_verify_sql() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("up.sql"), "CREATE TABLE t (x INTEGER);").unwrap();
    let runtime = Runtime::new(RuntimeConfig::default()).unwrap();
    let sql = runtime.builtin(Builtin::Sql).unwrap();
    let mut db: Box<dyn Backend> =
        Box::new(SqliteBackend::open(&dir.path().join("app.db"), std::time::Duration::from_secs(5)).unwrap());
    let context = context(dir.path());
    assert_eq!(runtime.verify(&sql, &context, &mut db).unwrap().value, Verdict::Unknown);
    match runtime.down(&sql, &context, &mut db) {
        Err(HookError::Guest { message, .. }) => {
            assert!(message.contains("down.sql is missing in the directory of revision 0a1b2c3d4e5f"), "{message}");
        }
        other => panic!("expected the plugin's error, got {other:?}"),
    }
}

#[test]
fn the_sql_plugin_refuses_transaction_control_in_up_sql() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("up.sql"), "BEGIN;\nCREATE TABLE t (x INTEGER);\nCOMMIT;\n").unwrap();
    let runtime = Runtime::new(RuntimeConfig::default()).unwrap();
    let sql = runtime.builtin(Builtin::Sql).unwrap();
    let mut db: Box<dyn Backend> =
        Box::new(SqliteBackend::open(&dir.path().join("app.db"), std::time::Duration::from_secs(5)).unwrap());
    assert!(matches!(runtime.up(&sql, &context(dir.path()), &mut db), Err(HookError::TransactionControl { .. })));
    assert!(db.query("SELECT name FROM sqlite_master WHERE name = 't'", &[]).unwrap().values.is_empty());
}

#[test]
fn the_merge_plugin_does_nothing_up_and_refuses_down() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = Runtime::new(RuntimeConfig::default()).unwrap();
    let merge = runtime.builtin(Builtin::Merge).unwrap();
    let mut db: Box<dyn Backend> =
        Box::new(SqliteBackend::open(&dir.path().join("app.db"), std::time::Duration::from_secs(5)).unwrap());
    let context = context(dir.path());
    runtime.up(&merge, &context, &mut db).unwrap();
    assert_eq!(runtime.verify(&merge, &context, &mut db).unwrap().value, Verdict::Present);
    match runtime.down(&merge, &context, &mut db) {
        Err(HookError::Guest { message, .. }) => {
            assert!(message.contains("merge revision 0a1b2c3d4e5f cannot be downgraded"), "{message}");
        }
        other => panic!("expected the merge plugin's refusal, got {other:?}"),
    }
}

#[test]
fn the_shipped_plugins_are_what_their_sources_build_to() {
    let target = tempfile::tempdir().unwrap();
    build_guests(&["wasmig-plugin-sql".into(), "wasmig-plugin-merge".into()], "wasm32-unknown-unknown", target.path());
    for (builtin, file, source) in [
        (Builtin::Sql, "wasmig_plugin_sql.wasm", "plugins/sql/revision.wasm"),
        (Builtin::Merge, "wasmig_plugin_merge.wasm", "plugins/merge/revision.wasm"),
    ] {
        let rebuilt = std::fs::read(target.path().join("wasm32-unknown-unknown/guest").join(file)).unwrap();
        assert!(
            rebuilt == builtin.bytes(),
            "{source} differs from a fresh build of its source: run `bash scripts/build-plugins.sh` and commit the result"
        );
        assert_eq!(std::fs::read(workspace_root().join(source)).unwrap(), builtin.bytes());
    }
}
