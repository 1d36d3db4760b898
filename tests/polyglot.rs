//! Revisions in Python and JavaScript: the polyglot example (source revisions on the built-in
//! interpreters) runs up, down past its Python and JavaScript revisions and up again on SQLite and
//! PostgreSQL; component revisions built by `wasmig build`: a raising or throwing guest's message
//! reaches the user and its step rolls back; the `wasmig new` templates, made component revisions,
//! build and run; `wasmig build` tells stale from fresh and names a missing toolchain.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use wasmig::graph::Target;
use wasmig::sql::Value;
use wasmig::{Database, Migrator, NoProgress, RunOptions, StepOutcome};
use wasmig_tests::built::{built_in_place, built_project, mirror, wasmig_build};
use wasmig_tests::matrix::{Engine, TestDb, run, shared_runtime, wasmig, wasmig_binary};
use wasmig_tests::{on_every_engine, rows, step_ids, text, workspace_root};

const CUSTOMERS: &str = "dd2a7b3d8889";
const PROFILES: &str = "825ecc605b5f"; // SQL, branch `profiles`
const ORDERS: &str = "aeeaa0abd9de"; // Rust, branch `orders`
const MERGE: &str = "15492a1fd871";
const PYTHON_BACKFILL: &str = "1776944d2ae1";
const JS_BACKFILL: &str = "34549f16f6b5";

/// The example, whose Python and JavaScript revisions run from source. Its Rust revision's
/// committed `revision.wasm` must be what its source builds to (Rust builds are reproducible).
fn polyglot() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = workspace_root().join("examples/polyglot");
        let check = run(wasmig_build(&dir).args(["--check", ORDERS]));
        assert_eq!(
            check.code,
            Some(0),
            "the committed revision.wasm of {ORDERS} is not what its source builds to: run \
             `wasmig -C examples/polyglot build {ORDERS}` and commit it\n{check}"
        );
        built_in_place(&dir)
    })
}

fn failing_guests() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| built_in_place(&workspace_root().join("tests/fixtures/failing-guests")))
}

fn backfilled(database: &mut Database) -> (Vec<Vec<Value>>, Vec<Vec<Value>>) {
    (
        rows(database, "SELECT id, full_name, email_domain FROM customers ORDER BY id"),
        rows(database, "SELECT id, total_cents FROM orders ORDER BY id"),
    )
}

fn assert_backfilled(database: &mut Database) {
    let (customers, orders) = backfilled(database);
    let customer = |id, name: &str, domain: &str| vec![Value::Integer(id), text(name), text(domain)];
    assert_eq!(
        customers,
        [
            customer(1, "Ada Lovelace", "analytical.example"),
            customer(2, "Grace Hopper", "navy.example"),
            customer(3, "Alan", "bletchley.example"),
            customer(4, "Émilie Du Châtelet", "cirey.example"),
            customer(5, "Katherine Johnson", "nasa.example"),
        ]
    );
    let totals: Vec<Vec<Value>> = [(1, 2500), (2, 9900), (3, 1990), (4, 13_500), (5, 120_000), (6, 1400)]
        .into_iter()
        .map(|(id, total)| vec![Value::Integer(id), Value::Integer(total)])
        .collect();
    assert_eq!(orders, totals);
}

fn assert_not_backfilled(database: &mut Database) {
    let (customers, orders) = backfilled(database);
    assert_eq!(customers.len(), 5);
    assert!(customers.iter().all(|row| row[1] == Value::Null && row[2] == Value::Null), "{customers:?}");
    assert_eq!(orders.len(), 6);
    assert!(orders.iter().all(|row| row[1] == Value::Null), "{orders:?}");
}

fn the_polyglot_example_goes_down_past_python_and_javascript_and_up_again(engine: Engine) {
    let migrator = Migrator::open_with(polyglot(), shared_runtime()).unwrap();
    let db = TestDb::fresh(engine);
    let mut database = Database::connect(db.url()).unwrap();
    let options = RunOptions::default();

    let up = migrator.upgrade(&mut database, &Target::Heads, &options, &mut NoProgress).unwrap();
    assert_eq!(step_ids(&up), [CUSTOMERS, PROFILES, ORDERS, MERGE, PYTHON_BACKFILL, JS_BACKFILL]);
    assert!(up.steps.iter().all(|step| step.outcome == StepOutcome::Applied), "{up:?}");
    let logs = |revision: &str| up.steps.iter().find(|step| step.revision == revision).unwrap().logs.join("\n");
    assert!(logs(PYTHON_BACKFILL).contains("filled full_name for 5 customers"), "{}", logs(PYTHON_BACKFILL));
    assert!(
        logs(JS_BACKFILL).contains("filled email_domain for 5 customers and total_cents for 6 orders"),
        "{}",
        logs(JS_BACKFILL)
    );
    assert_backfilled(&mut database);

    // The Python and JavaScript verify hooks see their own backfills.
    let verdicts = migrator.verify(&mut database, None, &options).unwrap();
    for revision in [PYTHON_BACKFILL, JS_BACKFILL] {
        let report = verdicts.iter().find(|report| report.revision == revision).unwrap();
        assert_eq!(report.verdict, Some("present"), "{report:?}");
    }

    // Below the merge is refused before any step.
    let refused = migrator.downgrade(&mut database, &Target::Base, &options, &mut NoProgress).unwrap_err();
    assert!(refused.to_string().contains(MERGE), "{refused}");
    assert!(refused.committed().unwrap().steps.is_empty());
    assert_backfilled(&mut database);

    let down = migrator.downgrade(&mut database, &Target::parse(MERGE).unwrap(), &options, &mut NoProgress).unwrap();
    assert_eq!(step_ids(&down), [JS_BACKFILL, PYTHON_BACKFILL]);
    assert!(down.steps.iter().all(|step| step.outcome == StepOutcome::Reverted), "{down:?}");
    assert_not_backfilled(&mut database);
    let verdicts = migrator.verify(&mut database, None, &options).unwrap();
    let python = verdicts.iter().find(|report| report.revision == PYTHON_BACKFILL).unwrap();
    assert_eq!(python.verdict, Some("absent"), "{python:?}");

    let again = migrator.upgrade(&mut database, &Target::Heads, &options, &mut NoProgress).unwrap();
    assert_eq!(step_ids(&again), [PYTHON_BACKFILL, JS_BACKFILL]);
    assert_backfilled(&mut database);
    assert!(migrator.status(&mut database).unwrap().is_current());
}

/// A guest that writes a row and then fails: its own words reach the user through the CLI, the
/// row is gone, and the revision is not recorded.
fn a_raising_python_and_a_throwing_javascript_revision_roll_back(engine: Engine) {
    let project = failing_guests();
    for (revision, language, expected) in [
        ("p1", "Python", "ValueError: the ledger holds 1 row(s); the import needs 2"),
        ("j1", "JavaScript", "ImportRefused: the ledger holds 1 row(s); the import needs 2"),
    ] {
        let db = TestDb::fresh(engine);
        let finished = run(wasmig(project, &db).args(["upgrade", revision]));
        assert_eq!(finished.code, Some(1), "{language}: {finished}");
        assert!(finished.stderr.contains(expected), "{language}: the guest's message is missing:\n{finished}");
        assert!(finished.stderr.contains(revision), "{language}: the revision is not named:\n{finished}");
        assert_eq!(db.texts("SELECT note FROM ledger"), Vec::<Vec<Option<String>>>::new(), "{language}");
        assert_eq!(db.recorded().into_iter().collect::<Vec<_>>(), ["a1"], "{language}");
    }
    // Each says where it was raised: the line of the `raise`/`throw`, in the function that ran it.
    let python = run(wasmig(project, &TestDb::fresh(engine)).args(["upgrade", "p1"]));
    assert!(python.stderr.contains("(at revision.py:7 in check)"), "{python}");
    let javascript = run(wasmig(project, &TestDb::fresh(engine)).args(["upgrade", "j1"]));
    assert!(javascript.stderr.contains("(at revision.js:14 in up)"), "{javascript}");
}

/// A guest that catches a failed statement and carries on: fine on SQLite; on PostgreSQL the
/// transaction is aborted, and the error names the statement that aborted it.
fn a_caught_database_error_is_survivable_on_sqlite_and_explained_on_postgres(engine: Engine) {
    let db = TestDb::fresh(engine);
    let finished = run(wasmig(failing_guests(), &db).args(["-v", "upgrade", "p2"]));
    match engine {
        Engine::Sqlite => {
            assert_eq!(finished.code, Some(0), "{finished}");
            assert!(finished.stderr.contains("kept the first row (SQLITE_CONSTRAINT_PRIMARYKEY)"), "{finished}");
            let notes = db.texts("SELECT note FROM ledger ORDER BY id");
            assert_eq!(notes, [[Some("first".to_owned())], [Some("after the caught error".to_owned())]]);
        }
        Engine::Postgres => {
            assert_eq!(finished.code, Some(1), "{finished}");
            for expected in ["aborted by an earlier statement that failed", "[23505]", "duplicate key value"] {
                assert!(finished.stderr.contains(expected), "missing {expected:?}:\n{finished}");
            }
            assert_eq!(db.texts("SELECT note FROM ledger"), Vec::<Vec<Option<String>>>::new());
            assert_eq!(db.recorded().into_iter().collect::<Vec<_>>(), ["a1"]);
        }
    }
}

on_every_engine!(
    the_polyglot_example_goes_down_past_python_and_javascript_and_up_again,
    a_raising_python_and_a_throwing_javascript_revision_roll_back,
    a_caught_database_error_is_survivable_on_sqlite_and_explained_on_postgres,
);

/// The `wasmig new --python/--js` templates are source revisions (tests/interpreted.rs runs them
/// so); the same files, made `kind = "component"`, build into components of their own and run.
#[test]
fn the_python_and_javascript_templates_also_build_into_components_and_run() {
    let scratch = tempfile::tempdir().unwrap();
    let source = scratch.path().join("project");
    let wasmig_in = |dir: &Path, args: &[&str]| {
        let finished = run(std::process::Command::new(wasmig_binary()).arg("-C").arg(dir).args(args));
        assert_eq!(finished.code, Some(0), "wasmig {args:?}: {finished}");
        finished
    };
    wasmig_in(&source, &["init"]);
    wasmig_in(&source, &["new", "--python", "--id", "py1", "-m", "from the python template"]);
    wasmig_in(&source, &["new", "--js", "--id", "js1", "-m", "from the js template"]);
    let revision_py =
        std::fs::read_to_string(source.join("migrations/py1_from_the_python_template/revision.py")).unwrap();
    assert!(revision_py.contains("Revision py1: from the python template"), "{revision_py}");
    for (dir, kind) in [("py1_from_the_python_template", "python"), ("js1_from_the_js_template", "js")] {
        let manifest = source.join("migrations").join(dir).join("revision.toml");
        let text = std::fs::read_to_string(&manifest).unwrap();
        assert!(text.contains(&format!("kind = \"{kind}\"")), "{text}");
        std::fs::write(&manifest, text.replace(&format!("kind = \"{kind}\""), "kind = \"component\"")).unwrap();
    }

    let project = built_project("templates", &source);
    for engine in Engine::ALL {
        let db = TestDb::fresh(engine);
        let finished = run(wasmig(&project, &db).args(["-v", "upgrade"]));
        assert_eq!(finished.code, Some(0), "{engine:?}: {finished}");
        for revision in ["py1", "js1"] {
            assert!(
                finished.stderr.contains(&format!("nothing to apply yet in revision {revision}")),
                "{engine:?}: {finished}"
            );
        }
        let finished = run(wasmig(&project, &db).args(["downgrade", "base"]));
        assert_eq!(finished.code, Some(0), "{engine:?}: {finished}");
    }
}

#[test]
fn build_check_tells_a_changed_source_and_a_missing_toolchain_is_named() {
    let scratch = tempfile::tempdir().unwrap();
    let project = scratch.path().join("failing-guests");
    mirror(failing_guests(), &project);

    let fresh = run(wasmig_build(&project).arg("--check"));
    assert_eq!(fresh.code, Some(0), "{fresh}");
    assert!(fresh.stdout.contains("p1 is up to date (Python)"), "{fresh}");

    let source = project.join("migrations/p1_python_raises/revision.py");
    let edited = std::fs::read_to_string(&source).unwrap().replace("needs 2", "needs two");
    std::fs::write(&source, edited).unwrap();
    let stale = run(wasmig_build(&project).arg("--check"));
    assert_eq!(stale.code, Some(3), "{stale}");
    assert!(stale.stdout.contains("p1 is stale (Python): the source changed since the last build"), "{stale}");
    assert!(stale.stdout.contains("j1 is up to date (JavaScript)"), "{stale}");

    let no_tools = scratch.path().join("no-tools");
    std::fs::create_dir(&no_tools).unwrap();
    let missing = run(wasmig_build(&project).arg("p1").env("WASMIG_TOOLS_DIR", &no_tools).env("PATH", &no_tools));
    assert_eq!(missing.code, Some(2), "{missing}");
    for expected in ["componentize-py was not found", "--install-tools", "componentize-py==0.25.1"] {
        assert!(missing.stderr.contains(expected), "missing {expected:?}:\n{missing}");
    }
}
