//! Unit tests of the SQLite sandbox that need what integration tests cannot build: a project's capabilities, and SQLite limits without the authorizer.

use std::time::{Duration, Instant};

use rusqlite::limits::Limit;
use wasmig_sqlguard::{Capabilities, Capability};

use super::SqliteBackend;
use crate::backend::{Backend, HookSession};

fn hook(capabilities: Capabilities) -> HookSession {
    HookSession {
        deadline: Instant::now() + Duration::from_secs(30),
        lock_wait: Duration::from_secs(2),
        protected_tables: vec!["wasmig_revisions".into(), "wasmig_events".into()],
        max_result_bytes: 1 << 20,
        read_only: false,
        role: None,
        capabilities,
    }
}

#[test]
fn the_attached_limit_alone_stops_vacuum_into() {
    // No authorizer here: SQLITE_LIMIT_ATTACHED = 0 by itself refuses the
    // database VACUUM INTO attaches for its target.
    let dir = tempfile::tempdir().unwrap();
    let connection = rusqlite::Connection::open(dir.path().join("app.db")).unwrap();
    connection.execute_batch("CREATE TABLE t (id INTEGER); INSERT INTO t VALUES (1);").unwrap();
    connection.set_limit(Limit::SQLITE_LIMIT_ATTACHED, 0).unwrap();
    let target = dir.path().join("copy.db");
    let error = connection.execute_batch(&format!("VACUUM INTO '{}'", target.display())).unwrap_err();
    assert!(error.to_string().contains("too many attached databases - max 0"), "{error}");
    assert!(!target.exists(), "VACUUM INTO wrote {}", target.display());
}

#[test]
fn server_files_lets_a_hook_attach_and_nothing_else_changes() {
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other.db");
    rusqlite::Connection::open(&other).unwrap().execute_batch("CREATE TABLE shared (id INTEGER)").unwrap();
    let attach = format!("ATTACH '{}' AS other", other.display());

    let mut db = SqliteBackend::open(&dir.path().join("app.db"), Duration::from_secs(5)).unwrap();
    db.begin_hook(&hook(Capabilities::none())).unwrap();
    let refused = db.execute(&attach, &[]).unwrap_err();
    assert!(refused.message.contains("server-files"), "{refused:?}");
    db.end_hook().unwrap();

    let trusted: Capabilities = [Capability::ServerFiles].into_iter().collect();
    db.begin_hook(&hook(trusted)).unwrap();
    db.execute(&attach, &[]).unwrap();
    db.execute("INSERT INTO other.shared VALUES (1)", &[]).unwrap();
    // The version tables stay the host's, in the attached file too.
    let error = db.execute("CREATE TABLE other.wasmig_revisions (revision TEXT)", &[]).unwrap_err();
    assert!(error.message.contains("wasmig_revisions"), "{error:?}");
    db.execute("DETACH other", &[]).unwrap();
    db.end_hook().unwrap();
    assert_eq!(db.connection().limit(Limit::SQLITE_LIMIT_ATTACHED).unwrap(), 10, "the limit is back");
}
