//! Python and JavaScript revisions as source (`kind = "python"` / `"js"`) on wasmig's shared
//! interpreter plugins: in one history with SQL and Rust revisions on SQLite and PostgreSQL (up,
//! verify, down), errors naming the revision's own file and line, the sandbox's limits, no state
//! from one revision in the next, one compile per interpreter whatever the number of revisions,
//! an interpreter change that status reports without calling it drift, `execute-many` with every
//! kind of value and a failing row, and the committed plugins matching the sources they were
//! built from.

use std::path::Path;
use std::sync::Arc;

use wasmig::graph::Target;
use wasmig::runtime::Builtin;
use wasmig::sql::Value;
use wasmig::{Database, Migrator, NoProgress, RunOptions, Runtime, RuntimeConfig, StepOutcome};
use wasmig_tests::matrix::{Engine, TestDb, add_component_revision, run, shared_runtime, wasmig, wasmig_binary};
use wasmig_tests::{Fixture, add_sql_revision, on_every_engine, rows, step_ids, text, workspace_root};

/// Writes a `python` or `js` revision: its manifest (plus `extra` lines) and its source files.
fn add_source_revision(dir: &Path, id: &str, parents: &[&str], kind: &str, files: &[(&str, &str)], extra: &str) {
    let revision = dir.join("migrations").join(id);
    std::fs::create_dir_all(&revision).unwrap();
    let parents = parents.iter().map(|parent| format!("\"{parent}\"")).collect::<Vec<_>>().join(", ");
    std::fs::write(
        revision.join("revision.toml"),
        format!("id = \"{id}\"\nmessage = \"{kind} {id}\"\nparents = [{parents}]\nkind = \"{kind}\"\n{extra}\n"),
    )
    .unwrap();
    for (name, text) in files {
        std::fs::write(revision.join(name), text).unwrap();
    }
}

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("wasmig.toml"), "").unwrap();
    std::fs::create_dir(dir.path().join("migrations")).unwrap();
    dir
}

const PY_ITEMS: &str = r#"import json
import sys

import wasmig
from naming import title

SEEN_BY_THIS_MODULE = "p1"


def up():
    sys.wasmig_leak = "p1 was here"
    params = "?1, ?2" if wasmig.dialect() == "sqlite" else "$1, $2"
    for number, name in enumerate(json.loads(wasmig.asset_text("names.json")), start=1):
        wasmig.execute(f"INSERT INTO items (id, name) VALUES ({params})", number, title(name))
    print(f"inserted {len(wasmig.query('SELECT id FROM items'))} items")


def down():
    wasmig.execute("DELETE FROM items")


def verify():
    return wasmig.query_one("SELECT count(*) FROM items")[0] == 3
"#;

const PY_NAMING: &str = "def title(name):\n    return name.title()\n";

const JS_NOTES: &str = r#"import { dialect, execute, queryOne, info } from './wasmig.js';
import { noteFor } from './notes.js';

export function up() {
  globalThis.wasmigLeak = 'j1 was here';
  const param = (n) => (dialect() === 'sqlite' ? `?${n}` : `$${n}`);
  const { n } = queryOne('SELECT count(*) AS n FROM items');
  execute(`UPDATE items SET note = ${param(1)}`, noteFor(n));
  info(`noted ${n} items`);
}

export function down() {
  execute('UPDATE items SET note = NULL');
}

export function verify() {
  return queryOne('SELECT count(*) AS n FROM items WHERE note IS NULL').n === 0;
}
"#;

const JS_HELPER: &str = "export function noteFor(n) {\n  return `one of ${n}`;\n}\n";

/// A second revision of each language that fails if anything of the first is still there.
const PY_CLEAN: &str = r#"import sys
import builtins

import wasmig


def up():
    if hasattr(sys, "wasmig_leak") or "naming" in sys.modules or hasattr(builtins, "SEEN_BY_THIS_MODULE"):
        raise RuntimeError("state of an earlier revision leaked into this one")
    wasmig.execute("CREATE TABLE py_clean (id INTEGER)")


def down():
    wasmig.execute("DROP TABLE py_clean")
"#;

const JS_CLEAN: &str = r#"import { executeScript } from './wasmig.js';

export function up() {
  if (globalThis.wasmigLeak !== undefined) throw new Error('state of an earlier revision leaked into this one');
  executeScript('CREATE TABLE js_clean (id INTEGER)');
}

export function down() {
  executeScript('DROP TABLE js_clean');
}
"#;

/// s1 (SQL) -> r1 (Rust) -> p1 (Python) -> j1 (JavaScript) -> p2 (Python) -> j2 (JavaScript).
fn mixed_history() -> tempfile::TempDir {
    let dir = project();
    add_sql_revision(
        dir.path(),
        "s1",
        &[],
        "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, note TEXT);",
        "DROP TABLE items;",
    );
    add_component_revision(dir.path(), "r1", &["s1"], Fixture::Good, "");
    add_source_revision(
        dir.path(),
        "p1",
        &["r1"],
        "python",
        &[("revision.py", PY_ITEMS), ("naming.py", PY_NAMING), ("names.json", r#"["ada", "grace", "alan"]"#)],
        "",
    );
    add_source_revision(dir.path(), "j1", &["p1"], "js", &[("revision.js", JS_NOTES), ("notes.js", JS_HELPER)], "");
    add_source_revision(dir.path(), "p2", &["j1"], "python", &[("revision.py", PY_CLEAN)], "");
    add_source_revision(dir.path(), "j2", &["p2"], "js", &[("revision.js", JS_CLEAN)], "");
    dir
}

fn items(database: &mut Database) -> Vec<Vec<Value>> {
    rows(database, "SELECT name, note FROM items ORDER BY id")
}

fn python_and_javascript_source_revisions_run_up_verify_and_down_among_sql_and_rust(engine: Engine) {
    let dir = mixed_history();
    let migrator = Migrator::open_with(dir.path(), shared_runtime()).unwrap();
    let db = TestDb::fresh(engine);
    let mut database = Database::connect(db.url()).unwrap();
    let options = RunOptions::default();

    let up = migrator.upgrade(&mut database, &Target::Heads, &options, &mut NoProgress).unwrap();
    assert_eq!(step_ids(&up), ["s1", "r1", "p1", "j1", "p2", "j2"]);
    assert!(up.steps.iter().all(|step| step.outcome == StepOutcome::Applied), "{up:?}");
    let logs = |revision: &str| up.steps.iter().find(|step| step.revision == revision).unwrap().logs.join("\n");
    assert!(logs("p1").contains("inserted 3 items"), "{}", logs("p1"));
    assert!(logs("j1").contains("noted 3 items"), "{}", logs("j1"));
    let note = text("one of 3");
    assert_eq!(
        items(&mut database),
        [vec![text("Ada"), note.clone()], vec![text("Grace"), note.clone()], vec![text("Alan"), note.clone()]]
    );

    // The rows record the interpreter each ran on, and the checksums cover the helper files.
    let recorded = db.version_rows();
    let row = |id: &str| recorded.iter().find(|row| row.revision == id).unwrap().clone();
    assert_eq!((row("p1").kind.as_str(), row("j1").kind.as_str()), ("python", "js"));
    assert_eq!(row("p1").module_hash, hex(&Builtin::Python.hash()));
    assert_eq!(row("j1").module_hash, hex(&Builtin::Js.hash()));
    assert!(
        row("p1").checksum.contains(" naming.py=") && row("p1").checksum.contains(" interpreter="),
        "{:?}",
        row("p1")
    );
    assert!(row("j1").checksum.contains(" notes.js="), "{:?}", row("j1"));
    let event = db.events().into_iter().find(|event| event.revision.as_deref() == Some("p1")).unwrap();
    assert_eq!(event.detail, Some(format!("interpreter {}", &hex(&Builtin::Python.hash())[..16])));

    let verdicts = migrator.verify(&mut database, None, &options).unwrap();
    for revision in ["p1", "j1"] {
        let report = verdicts.iter().find(|report| report.revision == revision).unwrap();
        assert_eq!(report.verdict, Some("present"), "{report:?}");
    }
    assert!(migrator.status(&mut database).unwrap().is_current());

    let down = migrator.downgrade(&mut database, &Target::parse("r1").unwrap(), &options, &mut NoProgress).unwrap();
    assert_eq!(step_ids(&down), ["j2", "p2", "j1", "p1"]);
    assert!(items(&mut database).is_empty());
    let verdicts = migrator.verify(&mut database, Some("p1"), &options).unwrap();
    assert_eq!(verdicts[0].verdict, Some("absent"), "{verdicts:?}");

    let down = migrator.downgrade(&mut database, &Target::Base, &options, &mut NoProgress).unwrap();
    assert_eq!(step_ids(&down), ["r1", "s1"]);
    assert!(db.user_tables().is_empty(), "{:?}", db.user_tables());
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Each revision's error names its own file and line (a helper's, when the helper raised),
/// through the CLI, and the step is rolled back.
fn errors_name_the_revisions_own_file_and_line(engine: Engine) {
    let dir = project();
    add_sql_revision(dir.path(), "s1", &[], "CREATE TABLE ledger (note TEXT);", "DROP TABLE ledger;");
    let py = "import wasmig\nimport checks\n\n\ndef up():\n    wasmig.execute(\"INSERT INTO ledger VALUES ('x')\")\n    checks.need(2)\n\n\ndef down():\n    pass\n";
    let checks = "def need(n):\n    raise ValueError(f\"the ledger needs {n} rows\")\n";
    add_source_revision(dir.path(), "p1", &["s1"], "python", &[("revision.py", py), ("checks.py", checks)], "");
    let js = "import { execute } from './wasmig.js';\n\nexport function up() {\n  execute(\"INSERT INTO ledger VALUES ('y')\");\n  const missing = null;\n  return missing.field;\n}\n\nexport function down() {}\n";
    add_source_revision(dir.path(), "j1", &["s1"], "js", &[("revision.js", js)], "");
    let syntax = "import wasmig\n\ndef up(:\n    pass\n";
    add_source_revision(dir.path(), "p2", &["s1"], "python", &[("revision.py", syntax)], "");
    let imports = "import { nothing } from 'left-pad';\nexport function up() {}\nexport function down() {}\n";
    add_source_revision(dir.path(), "j2", &["s1"], "js", &[("revision.js", imports)], "");
    let numpy = "import wasmig\nimport numpy\n\ndef up():\n    pass\n";
    add_source_revision(dir.path(), "p3", &["s1"], "python", &[("revision.py", numpy)], "");

    for (revision, expected) in [
        ("p1", "ValueError: the ledger needs 2 rows (at checks.py:2 in need)"),
        ("j1", "TypeError: can't access property \"field\", missing is null (at revision.js:6 in up)"),
        ("p2", "(at revision.py:3)"),
        ("j2", "cannot import 'left-pad'"),
        ("p3", "ImportError: no module named 'numpy' in wasmig's Python interpreter"),
    ] {
        let db = TestDb::fresh(engine);
        let finished = run(wasmig(dir.path(), &db).args(["upgrade", revision]));
        assert_eq!(finished.code, Some(1), "{revision}: {finished}");
        assert!(finished.stderr.contains(expected), "{revision}: expected {expected:?}:\n{finished}");
        assert_eq!(db.texts("SELECT note FROM ledger"), Vec::<Vec<Option<String>>>::new(), "{revision}");
        assert_eq!(db.recorded().into_iter().collect::<Vec<_>>(), ["s1"], "{revision}");
    }
    let db = TestDb::fresh(engine);
    let finished = run(wasmig(dir.path(), &db).args(["upgrade", "j2"]));
    assert!(finished.stderr.contains("(at revision.js:1)"), "{finished}");
}

/// A loop and a memory bomb in each language meet the revision's `[sandbox]` limits.
fn the_sandbox_limits_still_hold(engine: Engine) {
    let dir = project();
    let limits = "[sandbox]\ntimeout_ms = 500\nmemory_mb = 128\n";
    let py = |body: &str| format!("def up():\n    {body}\n\n\ndef down():\n    pass\n");
    let js = |body: &str| format!("export function up() {{\n  {body}\n}}\nexport function down() {{}}\n");
    add_source_revision(dir.path(), "pl", &[], "python", &[("revision.py", &py("while True: pass"))], limits);
    add_source_revision(
        dir.path(),
        "pm",
        &[],
        "python",
        &[("revision.py", &py("chunks = []\n    while True: chunks.append(bytearray(16 * 1024 * 1024))"))],
        limits,
    );
    add_source_revision(dir.path(), "jl", &[], "js", &[("revision.js", &js("for (;;) {}"))], limits);
    add_source_revision(
        dir.path(),
        "jm",
        &[],
        "js",
        &[("revision.js", &js("const chunks = []; for (;;) chunks.push(new Uint8Array(16 * 1024 * 1024));"))],
        limits,
    );
    for (revision, expected) in [
        ("pl", "ran out of its time budget of 500ms"),
        ("jl", "ran out of its time budget of 500ms"),
        ("pm", "over its limit of 134217728 bytes"),
        ("jm", "over its limit of 134217728 bytes"),
    ] {
        let db = TestDb::fresh(engine);
        let finished = run(wasmig(dir.path(), &db).args(["upgrade", revision]));
        assert_eq!(finished.code, Some(1), "{revision}: {finished}");
        assert!(finished.stderr.contains(expected), "{revision}: expected {expected:?}:\n{finished}");
        assert!(db.recorded().is_empty(), "{revision}");
    }
}

/// Python's half of the typed rows: integers past 32 bits, a real, text, a blob and nulls
/// through `execute_many`, whose count is checked here and logged; an empty batch runs nothing.
const PY_MANY: &str = r#"import wasmig


def up():
    p = "?" if wasmig.dialect() == "sqlite" else "$"
    insert = f"INSERT INTO typed (id, amount, ratio, label, data, source) VALUES ({p}1, {p}2, {p}3, {p}4, {p}5, 'p1')"
    if wasmig.execute_many(insert, []) != 0:
        raise RuntimeError("an empty batch wrote rows")
    written = wasmig.execute_many(
        insert,
        [
            (1, 2**40, 1.5, "zo\u00eb", b"\x00\xffpy"),
            (2, -(2**62), -0.25, "two", bytearray(b"\x01")),
            (3, None, None, None, None),
        ],
    )
    print(f"execute_many wrote {written} rows")


def down():
    wasmig.execute("DELETE FROM typed WHERE source = 'p1'")
"#;

/// JavaScript's half; it reads the dialect through the contract's raw interface under its 0.1.0
/// name, which revisions written before 0.1.1 import.
const JS_MANY: &str = r#"import { execute, executeMany, info } from './wasmig.js';
import { dialect } from 'wasmig:revision/db@0.1.0';

export function up() {
  const p = dialect() === 'sqlite' ? '?' : '$';
  const insert = `INSERT INTO typed (id, amount, ratio, label, data, source) VALUES (${p}1, ${p}2, ${p}3, ${p}4, ${p}5, 'j1')`;
  const written = executeMany(insert, [
    [4, 2 ** 40, 1.5, 'caf\u00e9', new Uint8Array([0, 255, 106, 115])],
    [5, -(2n ** 62n), -0.25, 'five', new Uint8Array([1])],
    [6, null, undefined, null, null],
  ]);
  info(`executeMany wrote ${written} rows`);
}

export function down() {
  execute("DELETE FROM typed WHERE source = 'j1'");
}
"#;

/// A revision of each language that writes a row, then sends three rows whose second repeats a
/// label: the whole step must roll back. As p2 / j2 they let the SDK's error escape (the host then
/// reports the database's error); as p3 / j3 they catch it and report what the SDK gave them.
const PY_MANY_FAILS: &str = r#"import wasmig


def up():
    p = "?" if wasmig.dialect() == "sqlite" else "$"
    wasmig.execute(f"INSERT INTO typed (id, label, source) VALUES ({p}1, {p}2, 'p2')", 20, "before")
    try:
        wasmig.execute_many(
            f"INSERT INTO typed (id, label, source) VALUES ({p}1, {p}2, 'p2')",
            [(21, "fresh"), (22, "two"), (23, "never")],
        )
    except wasmig.DatabaseError as error:
        if wasmig.revision_id() == "p3":
            raise RuntimeError(f"caught code={error.code} head={error.message[:12]!r}") from None
        raise


def down():
    pass
"#;

const JS_MANY_FAILS: &str = r#"import { DatabaseError, dialect, execute, executeMany, revisionId } from './wasmig.js';

export function up() {
  const p = dialect() === 'sqlite' ? '?' : '$';
  execute(`INSERT INTO typed (id, label, source) VALUES (${p}1, ${p}2, 'j2')`, 30, 'before');
  try {
    executeMany(`INSERT INTO typed (id, label, source) VALUES (${p}1, ${p}2, 'j2')`, [
      [31, 'fresh'],
      [32, 'five'],
      [33, 'never'],
    ]);
  } catch (error) {
    if (revisionId() !== 'j3') throw error;
    const what = error instanceof DatabaseError ? 'DatabaseError' : typeof error;
    throw new Error(`caught ${what} code=${error.code} head='${error.dbMessage.slice(0, 12)}'`);
  }
}

export function down() {}
"#;

/// `execute-many` from a Python and a JavaScript source revision: every kind of value lands in
/// the table as sent, with its type; a failing row is named as "row 2 of 3", to the user and in
/// the SDK's error with the database's code, and nothing of that step stays.
fn execute_many_sends_typed_rows_and_a_failing_row_rolls_the_step_back(engine: Engine) {
    let dir = project();
    let (real, blob) = match engine {
        Engine::Sqlite => ("REAL", "BLOB"),
        Engine::Postgres => ("DOUBLE PRECISION", "BYTEA"),
    };
    add_sql_revision(
        dir.path(),
        "s1",
        &[],
        &format!(
            "CREATE TABLE typed (id INTEGER PRIMARY KEY, amount BIGINT, ratio {real}, label TEXT UNIQUE, data {blob}, source TEXT NOT NULL);"
        ),
        "DROP TABLE typed;",
    );
    add_source_revision(dir.path(), "p1", &["s1"], "python", &[("revision.py", PY_MANY)], "");
    add_source_revision(dir.path(), "j1", &["p1"], "js", &[("revision.js", JS_MANY)], "");
    for (id, kind, file, source) in [
        ("p2", "python", "revision.py", PY_MANY_FAILS),
        ("p3", "python", "revision.py", PY_MANY_FAILS),
        ("j2", "js", "revision.js", JS_MANY_FAILS),
        ("j3", "js", "revision.js", JS_MANY_FAILS),
    ] {
        add_source_revision(dir.path(), id, &["j1"], kind, &[(file, source)], "");
    }
    let migrator = Migrator::open_with(dir.path(), shared_runtime()).unwrap();
    let db = TestDb::fresh(engine);
    let mut database = Database::connect(db.url()).unwrap();
    let options = RunOptions::default();

    let up = migrator.upgrade(&mut database, &Target::parse("j1").unwrap(), &options, &mut NoProgress).unwrap();
    assert_eq!(step_ids(&up), ["s1", "p1", "j1"]);
    let logs = |revision: &str| up.steps.iter().find(|step| step.revision == revision).unwrap().logs.join("\n");
    assert!(logs("p1").contains("execute_many wrote 3 rows"), "{}", logs("p1"));
    assert!(logs("j1").contains("executeMany wrote 3 rows"), "{}", logs("j1"));
    let typed_rows = |database: &mut Database| {
        rows(database, "SELECT id, amount, ratio, label, data, source FROM typed ORDER BY id")
    };
    let row = |id: i64, amount: Value, ratio: Value, label: Value, data: Value, source: &str| {
        vec![Value::Integer(id), amount, ratio, label, data, text(source)]
    };
    let expected_rows = vec![
        row(1, Value::Integer(1 << 40), Value::Real(1.5), text("zoë"), Value::Blob(b"\x00\xffpy".to_vec()), "p1"),
        row(2, Value::Integer(-(1 << 62)), Value::Real(-0.25), text("two"), Value::Blob(vec![1]), "p1"),
        row(3, Value::Null, Value::Null, Value::Null, Value::Null, "p1"),
        row(4, Value::Integer(1 << 40), Value::Real(1.5), text("café"), Value::Blob(vec![0, 255, 106, 115]), "j1"),
        row(5, Value::Integer(-(1 << 62)), Value::Real(-0.25), text("five"), Value::Blob(vec![1]), "j1"),
        row(6, Value::Null, Value::Null, Value::Null, Value::Null, "j1"),
    ];
    assert_eq!(typed_rows(&mut database), expected_rows);

    let code = match engine {
        Engine::Sqlite => "SQLITE_CONSTRAINT_UNIQUE",
        Engine::Postgres => "23505",
    };
    for (revision, expected) in [
        ("p2", vec!["`up` failed: row 2 of 3: ".to_owned(), format!("[{code}]")]),
        ("j2", vec!["`up` failed: row 2 of 3: ".to_owned(), format!("[{code}]")]),
        ("p3", vec![format!("RuntimeError: caught code={code} head='row 2 of 3: '")]),
        ("j3", vec![format!("Error: caught DatabaseError code={code} head='row 2 of 3: '")]),
    ] {
        let failed = run(wasmig(dir.path(), &db).args(["upgrade", revision]));
        assert_eq!(failed.code, Some(1), "{revision}: {failed}");
        for expected in expected {
            assert!(failed.stderr.contains(&expected), "{revision}: expected {expected:?}:\n{failed}");
        }
        assert_eq!(typed_rows(&mut database), expected_rows, "{revision}: nothing of the failed step stays");
        assert_eq!(db.recorded().into_iter().collect::<Vec<_>>(), ["j1", "p1", "s1"], "{revision}");
    }

    let down = migrator.downgrade(&mut database, &Target::parse("s1").unwrap(), &options, &mut NoProgress).unwrap();
    assert_eq!(step_ids(&down), ["j1", "p1"]);
    assert!(typed_rows(&mut database).is_empty());
}

on_every_engine!(
    python_and_javascript_source_revisions_run_up_verify_and_down_among_sql_and_rust,
    errors_name_the_revisions_own_file_and_line,
    the_sandbox_limits_still_hold,
    execute_many_sends_typed_rows_and_a_failing_row_rolls_the_step_back,
);

/// Ten revisions of each language on an empty cache: one compile per interpreter; a second
/// runtime over that cache compiles nothing.
#[test]
fn a_fresh_cache_compiles_each_interpreter_once_whatever_the_number_of_revisions() {
    let dir = project();
    let mut parent: Option<String> = None;
    for n in 0..10 {
        for (kind, file, source) in [
            (
                "python",
                "revision.py",
                format!(
                    "import wasmig\n\ndef up():\n    wasmig.execute('CREATE TABLE p{n} (id INTEGER)')\n\ndef down():\n    wasmig.execute('DROP TABLE p{n}')\n"
                ),
            ),
            (
                "js",
                "revision.js",
                format!(
                    "import {{ execute }} from './wasmig.js';\nexport function up() {{ execute('CREATE TABLE j{n} (id INTEGER)'); }}\nexport function down() {{ execute('DROP TABLE j{n}'); }}\n"
                ),
            ),
        ] {
            let id = format!("{}{n}", &kind[..1]);
            let parents: Vec<&str> = parent.iter().map(String::as_str).collect();
            add_source_revision(dir.path(), &id, &parents, kind, &[(file, &source)], "");
            parent = Some(id);
        }
    }
    let cache = tempfile::tempdir().unwrap();
    let runtime = || {
        Arc::new(
            Runtime::new(RuntimeConfig { cache_dir: Some(cache.path().to_owned()), ..RuntimeConfig::default() })
                .unwrap(),
        )
    };

    let first = Migrator::open_with(dir.path(), runtime()).unwrap();
    let db = TestDb::fresh(Engine::Sqlite);
    let report = first.upgrade(&mut db.connect(), &Target::Heads, &RunOptions::default(), &mut NoProgress).unwrap();
    assert_eq!(report.steps.len(), 20);
    let stats = first.runtime_stats();
    assert_eq!((stats.compiled, stats.loaded_from_disk), (2, 0), "one compile per interpreter: {stats:?}");

    let second = Migrator::open_with(dir.path(), runtime()).unwrap();
    let target = Target::Base;
    let report = second.downgrade(&mut db.connect(), &target, &RunOptions::default(), &mut NoProgress).unwrap();
    assert_eq!(report.steps.len(), 20);
    let stats = second.runtime_stats();
    assert_eq!((stats.compiled, stats.loaded_from_disk), (0, 2), "the second run compiles nothing: {stats:?}");
}

/// A row recorded by a wasmig with another interpreter (its checksum names another one): not
/// drift, nothing to repair, and `status` says so.
#[test]
fn another_interpreter_is_reported_by_status_and_is_not_drift() {
    let dir = project();
    add_source_revision(
        dir.path(),
        "p1",
        &[],
        "python",
        &[("revision.py", "def up():\n    pass\n\ndef down():\n    pass\n")],
        "",
    );
    std::fs::write(dir.path().join("wasmig.toml"), "checksum = \"error\"\n").unwrap();
    let db = TestDb::fresh(Engine::Sqlite);
    assert_eq!(run(wasmig(dir.path(), &db).arg("upgrade")).code, Some(0));
    let recorded = db.version_rows()[0].checksum.clone();
    let (files, current) = recorded.rsplit_once(" interpreter=").expect("the checksum names the interpreter");
    db.execute(&format!("UPDATE wasmig_revisions SET checksum = '{files} interpreter=0123456789abcdef'"));

    let status = run(wasmig(dir.path(), &db).arg("status"));
    assert_eq!(status.code, Some(0), "not drift: {status}");
    assert!(
        status.stdout.contains(&format!("p1 was applied on interpreter 0123456789abcdef; this wasmig runs {current}")),
        "{status}"
    );
    let json = run(wasmig(dir.path(), &db).args(["status", "--format", "json"]));
    assert!(json.stdout.contains("\"interpreter_changes\""), "{json}");

    // An edit of the source is drift all the same.
    let source = dir.path().join("migrations/p1/revision.py");
    std::fs::write(&source, "def up():\n    pass\n\ndef down():\n    return None\n").unwrap();
    let status = run(wasmig(dir.path(), &db).arg("status"));
    assert_eq!(status.code, Some(3), "{status}");
    assert!(status.stdout.contains("p1: revision.py changed"), "{status}");
}

/// `wasmig new --python/--js` write source revisions that run from the binary alone: no
/// toolchain on PATH, nothing built.
#[test]
fn new_python_and_js_revisions_run_without_any_toolchain() {
    let scratch = tempfile::tempdir().unwrap();
    let source = scratch.path().join("project");
    let empty = scratch.path().join("no-tools");
    std::fs::create_dir(&empty).unwrap();
    let wasmig_in = |args: &[&str]| {
        let mut command = std::process::Command::new(wasmig_binary());
        command.arg("-C").arg(&source).args(args).env("PATH", &empty).env("WASMIG_TOOLS_DIR", &empty);
        let finished = run(&mut command);
        assert_eq!(finished.code, Some(0), "wasmig {args:?}: {finished}");
        finished
    };
    wasmig_in(&["init"]);
    wasmig_in(&["new", "--python", "--id", "py1", "-m", "from the python template"]);
    wasmig_in(&["new", "--js", "--id", "js1", "-m", "from the js template"]);
    let revision = source.join("migrations/py1_from_the_python_template");
    assert!(std::fs::read_to_string(revision.join("revision.toml")).unwrap().contains("kind = \"python\""));
    assert!(!revision.join("revision.wasm").exists());
    let db = TestDb::fresh(Engine::Sqlite);
    let url = db.url().to_owned();
    let finished = wasmig_in(&["-v", "--database", &url, "upgrade"]);
    for revision in ["py1", "js1"] {
        assert!(finished.stderr.contains(&format!("nothing to apply yet in revision {revision}")), "{finished}");
    }
    wasmig_in(&["--database", &url, "downgrade", "base"]);
    let built = run(std::process::Command::new(wasmig_binary()).arg("-C").arg(&source).args(["build", "py1"]));
    assert!(built.stderr.contains("has nothing to build"), "{built}");
}

/// The committed interpreter plugins are what their sources were when built: a changed plugin,
/// SDK file, contract or toolchain pin, or a component that is not the one built, fails until
/// `bash scripts/build-interpreters.sh` runs again (the builds are not byte-reproducible, so the
/// sources are what is compared).
#[test]
fn the_committed_interpreters_were_built_from_the_sources_in_the_tree() {
    let root = workspace_root();
    for (language, builtin) in [("python", Builtin::Python), ("js", Builtin::Js)] {
        let sums = std::fs::read_to_string(root.join(format!("plugins/{language}/revision.sha256sums"))).unwrap();
        let mut files = 0;
        for line in sums.lines() {
            let (expected, path) = line.split_once("  ").expect("sha256sum's format");
            let actual = hex(&wasmig::runtime::module_hash(&std::fs::read(root.join(path)).unwrap()));
            assert_eq!(
                actual, expected,
                "{path} changed since plugins/{language}/revision.wasm was built: run \
                 `bash scripts/build-interpreters.sh {language}` and commit the result"
            );
            files += 1;
        }
        assert!(files >= 5, "{sums}");
        assert!(sums.contains(&format!("{}  plugins/{language}/revision.wasm", hex(&builtin.hash()))), "embedded");
    }
}
