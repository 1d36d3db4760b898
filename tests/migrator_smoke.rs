//! A first end-to-end pass of the migrator on a SQLite file: upgrade, status, downgrade.

use std::sync::Arc;

use wasmig::graph::Target;
use wasmig::runtime::{Runtime, RuntimeConfig};
use wasmig::{Database, Migrator, NoProgress, RunOptions, StepOutcome};
use wasmig_tests::write_sql_project;

#[test]
fn upgrade_status_downgrade_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    write_sql_project(
        dir.path(),
        &[
            ("a", &[], "CREATE TABLE a (x INTEGER);", "DROP TABLE a;"),
            ("b", &["a"], "CREATE TABLE b (x INTEGER);", "DROP TABLE b;"),
            ("c", &["a"], "CREATE TABLE c (x INTEGER);", "DROP TABLE c;"),
            ("m", &["b", "c"], "", ""),
        ],
    );

    let runtime = Arc::new(Runtime::new(RuntimeConfig::default()).unwrap());
    let migrator = Migrator::open_with(dir.path(), runtime).unwrap();
    let url = format!("sqlite:{}", dir.path().join("app.db").display());
    let mut db = Database::connect(&url).unwrap();

    let report = migrator.upgrade(&mut db, &Target::Heads, &RunOptions::default(), &mut NoProgress).unwrap();
    let order: Vec<&str> = report.steps.iter().map(|step| step.revision.as_str()).collect();
    assert_eq!(order, ["a", "b", "c", "m"]);
    assert!(report.steps.iter().all(|step| step.outcome == StepOutcome::Applied));
    let status = migrator.status(&mut db).unwrap();
    assert!(status.is_current(), "{status:?}");
    assert_eq!(status.current, ["m"]);

    let error =
        migrator.downgrade(&mut db, &Target::parse("a").unwrap(), &RunOptions::default(), &mut NoProgress).unwrap_err();
    assert!(error.to_string().contains("merge"), "{error}");

    let again = migrator.upgrade(&mut db, &Target::Heads, &RunOptions::default(), &mut NoProgress).unwrap();
    assert!(again.steps.is_empty());
}
