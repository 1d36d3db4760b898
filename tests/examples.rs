//! The examples: the demo's committed Rust revisions are what their sources build to, and the demo project runs up, down to above its merge, and up again on SQLite and PostgreSQL.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use wasmig::graph::{RevisionKind, Target};
use wasmig::runtime::{Runtime, RuntimeConfig};
use wasmig::sql::Value;
use wasmig::{Database, Migrator, NoProgress, RunOptions, StepOutcome};
use wasmig_tests::postgres::TestDatabase;
use wasmig_tests::{build_guests, rows, step_ids, text, workspace_root};

/// The demo's revisions in plan order (the graph's rule: among the revisions
/// ready at once, the smallest id first).
const PLAN_ORDER: [&str; 9] = [
    "36bc00e9b869", // create accounts
    "329ec3722515", // add account handle (branch `profiles`)
    "390c4b56195f", // create notes, a Rust component (branch `notes`)
    "48ceb8a4e9eb", // seed welcome notes
    "689f069cf588", // backfill account handles, a Rust component
    "7ebe75e55420", // index account handles
    "00fee23194f5", // merge profiles and notes
    "acea9d3dbb7c", // create note feed
    "f20dcc0022b0", // add note pinned
];
const MERGE: &str = "00fee23194f5";
const ABOVE_MERGE: &str = "acea9d3dbb7c";
const HEAD: &str = "f20dcc0022b0";

fn demo_dir() -> PathBuf {
    workspace_root().join("examples/demo")
}

/// The `[package] name` of a guest crate.
fn package_name(manifest: &Path) -> String {
    let text = std::fs::read_to_string(manifest).unwrap_or_else(|error| panic!("{}: {error}", manifest.display()));
    let parsed: toml::Table = toml::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", manifest.display()));
    parsed["package"]["name"].as_str().unwrap_or_else(|| panic!("{}: no package name", manifest.display())).to_owned()
}

#[test]
fn the_committed_demo_revisions_are_what_their_sources_build_to() {
    let project = wasmig::graph::load(demo_dir()).unwrap();
    let components: Vec<(PathBuf, String)> = project
        .graph
        .topological_order()
        .filter(|revision| revision.kind() == RevisionKind::Component)
        .map(|revision| (revision.dir.clone(), package_name(&revision.dir.join("Cargo.toml"))))
        .collect();
    assert!(components.len() >= 2, "the demo shows at least two Rust revisions: {components:?}");

    let target = tempfile::tempdir().unwrap();
    let packages: Vec<String> = components.iter().map(|(_, package)| package.clone()).collect();
    build_guests(&packages, "wasm32-unknown-unknown", target.path());
    for (dir, package) in &components {
        let rebuilt_path =
            target.path().join("wasm32-unknown-unknown/guest").join(format!("{}.wasm", package.replace('-', "_")));
        let rebuilt =
            std::fs::read(&rebuilt_path).unwrap_or_else(|error| panic!("{}: {error}", rebuilt_path.display()));
        let committed = std::fs::read(dir.join("revision.wasm"))
            .unwrap_or_else(|error| panic!("{}/revision.wasm: {error}", dir.display()));
        assert!(
            rebuilt == committed,
            "{}/revision.wasm differs from a fresh build of its source ({} vs {} bytes): \
             run `bash scripts/build-examples.sh` and commit the result",
            dir.display(),
            committed.len(),
            rebuilt.len()
        );
    }
}

#[test]
fn the_demo_upgrades_downgrades_above_its_merge_and_upgrades_again_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let database = Database::connect(&format!("sqlite:{}", dir.path().join("demo.db").display())).unwrap();
    exercise_the_demo(database);
}

#[test]
fn the_demo_upgrades_downgrades_above_its_merge_and_upgrades_again_on_postgres() {
    let server = TestDatabase::create();
    let database = Database::connect(server.url()).unwrap();
    exercise_the_demo(database);
}

/// What the whole demo leaves behind, as rows: the same on both dialects.
fn assert_at_heads(database: &mut Database) {
    assert_eq!(
        rows(database, "SELECT id, handle FROM accounts ORDER BY id"),
        [
            vec![Value::Integer(1), text("ada-lovelace")],
            vec![Value::Integer(2), text("grace-hopper")],
            vec![Value::Integer(3), text("alan-turing")],
            // Same display name as account 1: the backfill numbers the duplicate.
            vec![Value::Integer(4), text("ada-lovelace-2")],
        ]
    );
    assert_eq!(
        rows(database, "SELECT author, title FROM note_feed ORDER BY author"),
        [
            vec![text("ada-lovelace"), text("Welcome")],
            vec![text("ada-lovelace-2"), text("Welcome")],
            vec![text("alan-turing"), text("Welcome")],
            vec![text("grace-hopper"), text("Welcome")],
        ]
    );
    assert_eq!(rows(database, "SELECT count(*) FROM notes WHERE pinned = 0"), [vec![Value::Integer(4)]]);
}

fn exercise_the_demo(mut database: Database) {
    let runtime = Arc::new(Runtime::new(RuntimeConfig::default()).unwrap());
    let migrator = Migrator::open_with(demo_dir(), runtime).unwrap();
    let options = RunOptions::default();
    let heads: Vec<String> = migrator.graph().heads().iter().map(|revision| revision.id().to_string()).collect();
    assert_eq!(heads, [HEAD]);

    let up = migrator.upgrade(&mut database, &Target::Heads, &options, &mut NoProgress).unwrap();
    assert_eq!(step_ids(&up), PLAN_ORDER);
    assert!(up.steps.iter().all(|step| step.outcome == StepOutcome::Applied), "{up:?}");
    let backfill = up.steps.iter().find(|step| step.revision == "689f069cf588").unwrap();
    assert!(
        backfill.logs.iter().any(|line| line.contains("backfilled the handles of 4 accounts")),
        "{:?}",
        backfill.logs
    );
    assert_at_heads(&mut database);
    let status = migrator.status(&mut database).unwrap();
    assert!(status.is_current(), "{status:?}");
    assert_eq!(status.current, [HEAD]);

    // Every verify hook agrees with the applied set: the two components'
    // own hooks, the seed's verify.sql, and "unknown" for SQL revisions
    // without one.
    let verdicts = migrator.verify(&mut database, None, &options).unwrap();
    assert!(verdicts.iter().all(|report| report.applied && !report.mismatch), "{verdicts:?}");
    for (revision, verdict) in [
        ("390c4b56195f", "present"),
        ("689f069cf588", "present"),
        ("48ceb8a4e9eb", "present"),
        ("36bc00e9b869", "unknown"),
    ] {
        let report = verdicts.iter().find(|report| report.revision == revision).unwrap();
        assert_eq!(report.verdict, Some(verdict), "{report:?}");
    }

    // Below the merge is refused before any step: merges are never reverted.
    let below = migrator
        .downgrade(&mut database, &Target::parse("329ec3722515").unwrap(), &options, &mut NoProgress)
        .unwrap_err();
    assert!(below.to_string().contains(MERGE), "{below}");
    assert!(below.committed().unwrap().steps.is_empty(), "{below}");
    assert_at_heads(&mut database);

    let down =
        migrator.downgrade(&mut database, &Target::parse(ABOVE_MERGE).unwrap(), &options, &mut NoProgress).unwrap();
    assert_eq!(step_ids(&down), [HEAD]);
    assert!(down.steps.iter().all(|step| step.outcome == StepOutcome::Reverted), "{down:?}");
    assert!(database.query("SELECT pinned FROM notes", &[]).is_err(), "notes.pinned survived its revision's downgrade");
    let status = migrator.status(&mut database).unwrap();
    assert_eq!(
        (status.current.as_slice(), status.pending.as_slice()),
        ([ABOVE_MERGE.to_owned()].as_slice(), [HEAD.to_owned()].as_slice())
    );

    let again = migrator.upgrade(&mut database, &Target::Heads, &options, &mut NoProgress).unwrap();
    assert_eq!(step_ids(&again), [HEAD]);
    assert_at_heads(&mut database);
    assert!(migrator.status(&mut database).unwrap().is_current());
}
