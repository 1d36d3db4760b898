//! docs/JSON.md against the binary: every `<!-- shape: NAME -->` example there is compared with what the command prints (keys, recursively, and value types), and the exit codes of the README's rule.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;
use wasmig_tests::matrix::{Engine, Finished, TestDb, component_cache_dir, run, wasmig, wasmig_binary, write_config};
use wasmig_tests::{add_sql_revision, workspace_root, write_sql_project};

/// The examples of docs/JSON.md, by the name in their `<!-- shape: NAME -->` marker.
fn documented_shapes() -> BTreeMap<String, Value> {
    let text = std::fs::read_to_string(workspace_root().join("docs/JSON.md")).unwrap();
    let mut shapes = BTreeMap::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("<!-- shape: ") {
        rest = &rest[at + "<!-- shape: ".len()..];
        let name = rest[..rest.find(" -->").expect("a closed marker")].trim().to_owned();
        let start = rest.find("```json\n").expect("a json block after the marker") + "```json\n".len();
        let end = start + rest[start..].find("```").expect("a closed json block");
        let example: Value = serde_json::from_str(&rest[start..end])
            .unwrap_or_else(|error| panic!("docs/JSON.md, shape {name}: not JSON: {error}"));
        assert!(shapes.insert(name.clone(), example).is_none(), "shape {name} documented twice");
        rest = &rest[end..];
    }
    shapes
}

/// Where `actual` differs in shape from `documented`: keys (both ways, at
/// every depth) and value types. `null` on either side stands for "may be
/// absent of value"; an empty list on either side says nothing about its elements.
fn shape_differences(documented: &Value, actual: &Value, path: &str, found: &mut Vec<String>) {
    match (documented, actual) {
        (Value::Null, _) | (_, Value::Null) => {}
        (Value::Object(doc), Value::Object(act)) => {
            for key in doc.keys().filter(|key| !act.contains_key(*key)) {
                found.push(format!("{path}.{key}: documented, not printed"));
            }
            for key in act.keys().filter(|key| !doc.contains_key(*key)) {
                found.push(format!("{path}.{key}: printed, not documented"));
            }
            for (key, value) in doc {
                if let Some(other) = act.get(key) {
                    shape_differences(value, other, &format!("{path}.{key}"), found);
                }
            }
        }
        (Value::Array(doc), Value::Array(act)) => {
            if let (Some(doc), Some(act)) = (doc.first(), act.first()) {
                for element in std::iter::once(act).chain(act_rest(actual)) {
                    shape_differences(doc, element, &format!("{path}[]"), found);
                }
            }
        }
        (doc, act) if std::mem::discriminant(doc) == std::mem::discriminant(act) => {}
        (doc, act) => found.push(format!("{path}: documented {}, printed {}", kind(doc), kind(act))),
    }
}

fn act_rest(array: &Value) -> impl Iterator<Item = &Value> {
    array.as_array().into_iter().flat_map(|items| items.iter().skip(1))
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Checks one command's output against the documented shape `name`; returns the document.
fn assert_shape(shapes: &BTreeMap<String, Value>, name: &str, finished: &Finished) -> Value {
    let documented = shapes.get(name).unwrap_or_else(|| panic!("docs/JSON.md documents no shape `{name}`"));
    let actual: Value = serde_json::from_str(&finished.stdout)
        .unwrap_or_else(|error| panic!("{name}: stdout is not one JSON document ({error}): {finished}"));
    let mut found = Vec::new();
    shape_differences(documented, &actual, name, &mut found);
    assert!(
        found.is_empty(),
        "docs/JSON.md, shape `{name}`, differs from the program:\n{}\n{finished}",
        found.join("\n")
    );
    actual
}

/// `wasmig -C project`, without a database.
fn project_command(project: &Path) -> Command {
    let mut command = Command::new(wasmig_binary());
    command.arg("-C").arg(project).env("WASMIG_CACHE_DIR", component_cache_dir()).env_remove("DATABASE_URL");
    command
}

fn json(project: &Path, db: &TestDb, args: &[&str]) -> Finished {
    run(wasmig(project, db).arg("--format").arg("json").args(args))
}

/// Two revisions: a1 creates `users`, b2 adds a column.
fn project(dir: &Path) {
    write_sql_project(dir, &[]);
    add_sql_revision(dir, "a1", &[], "CREATE TABLE users (id INTEGER);\n", "DROP TABLE users;\n");
    add_sql_revision(
        dir,
        "b2",
        &["a1"],
        "ALTER TABLE users ADD COLUMN email TEXT;\n",
        "ALTER TABLE users DROP COLUMN email;\n",
    );
}

#[test]
fn every_documented_shape_is_what_the_commands_print() {
    let shapes = documented_shapes();
    let db = TestDb::fresh(Engine::Sqlite);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    project(path);

    let mut checked = Vec::new();
    let mut check = |name: &str, finished: Finished| -> Value {
        checked.push(name.to_owned());
        assert_shape(&shapes, name, &finished)
    };

    let plan = check("plan", json(path, &db, &["plan", "heads"]));
    assert_eq!(plan["dry_run"], Value::Bool(false));
    let dry = check("plan", json(path, &db, &["upgrade", "--dry-run"]));
    assert_eq!(dry["dry_run"], Value::Bool(true));
    assert_eq!(dry["steps"], plan["steps"], "plan and --dry-run describe one plan alike");
    let upgrade = check("upgrade", json(path, &db, &["upgrade", "a1"]));
    assert_eq!(upgrade["steps"][0]["outcome"], "applied");
    check("current", json(path, &db, &["current"]));
    let history = check("history", json(path, &db, &["history"]));
    assert_eq!((history[1]["id"].clone(), history[1]["current"].clone()), ("a1".into(), Value::Bool(true)));
    let show = check("show", json(path, &db, &["show", "a1"]));
    assert_eq!(show["database"]["checksum"]["state"], "matches");
    check("log", json(path, &db, &["log"]));
    check("verify", json(path, &db, &["verify"]));
    check("repair", json(path, &db, &["repair", "a1"]));
    // Commands that open no database refuse a typed --database.
    let offline = |args: &[&str]| run(project_command(path).arg("--format").arg("json").args(args));
    check("heads", offline(&["heads"]));
    check("branches", offline(&["branches"]));
    check("upgrade", json(path, &db, &["stamp", "heads"]));
    check("build", offline(&["build"]));

    // A run that fails after a step committed: the error document says which.
    add_sql_revision(path, "c3", &["b2"], "CREATE TABLE c (id INTEGER);\n", "DROP TABLE c;\n");
    add_sql_revision(path, "d4", &["c3"], "CREATE TABLE broken (;\n", "");
    let failed = json(path, &db, &["upgrade"]);
    assert_eq!(failed.code, Some(1), "{failed}");
    let error = check("run-error", failed);
    assert_eq!(error["failed_step"], "d4");
    assert_eq!(error["committed"][0]["revision"], "c3");
    assert_eq!(error["left_dirty"], Value::Bool(false));
    let status = check("status", json(path, &db, &["status"]));
    assert_eq!(status["last_failure"]["revision"], "d4", "{status}");
    let log = check("log", json(path, &db, &["log", "--kind", "fail"]));
    assert_eq!(log["events"][0]["revision"], "d4");
    let journal = check("journal", json(path, &db, &["journal", "--limit", "1"]));
    assert_eq!(journal["statements"][0]["revision"], "d4", "{journal}");
    assert_eq!(journal["statements"][0]["outcome"], "rolled-back", "{journal}");
    let tenants = format!("sqlite:{}", db.sqlite_path().unwrap().display());
    let fleet = check(
        "tenants",
        run(project_command(path).args(["--format", "json", "tenants", "status", "--tenants", &tenants])),
    );
    assert_eq!(fleet["tenants"][0]["state"], serde_json::json!(["behind"]));
    let refused = json(path, &db, &["upgrade", "nosuchrevision"]);
    assert_eq!(refused.code, Some(2), "{refused}");
    let refused = check("run-error", refused);
    assert_eq!(refused["kind"], "usage");
    assert_eq!(refused["committed"], serde_json::json!([]), "nothing ran");
    let usage = json(path, &db, &["show", "nosuchrevision"]);
    assert_eq!(usage.code, Some(2), "{usage}");
    check("error", usage);

    // A coordinated run on PostgreSQL (two schema tenants), and the commands that show it.
    let pg = TestDb::fresh(Engine::Postgres);
    pg.execute("CREATE SCHEMA s_1; CREATE SCHEMA s_2;");
    let base = pg.url().split('?').next().unwrap().to_owned();
    let source = format!("{base}?schemas=s\\_%");
    let shared = run(project_command(path).args(["tenants", "upgrade", "b2", "--tenants", &source, "--run", "r"]));
    assert_eq!(shared.code, Some(0), "{shared}");
    let runs = check(
        "tenants-runs",
        run(project_command(path).args(["--format", "json", "tenants", "runs", "--coordinator", &base])),
    );
    assert_eq!(runs["runs"][0]["ok"], 2, "{runs}");
    let one = check(
        "tenants-run",
        run(project_command(path).args(["--format", "json", "tenants", "run", "r", "--coordinator", &base])),
    );
    assert_eq!(one["tenants"][1]["revisions"], serde_json::json!(["a1", "b2"]), "{one}");

    // Commands that write the project, in a project of their own.
    let fresh = tempfile::tempdir().unwrap();
    check("init", run(project_command(fresh.path()).args(["--format", "json", "init"])));
    check("new", run(project_command(fresh.path()).args(["--format", "json", "new", "-m", "first"])));

    // `wasmig test` on a scratch database: a `down` that forgets a column.
    let stairs = tempfile::tempdir().unwrap();
    write_sql_project(stairs.path(), &[]);
    add_sql_revision(stairs.path(), "a1", &[], "CREATE TABLE users (id INTEGER);\n", "DROP TABLE users;\n");
    add_sql_revision(stairs.path(), "b2", &["a1"], "ALTER TABLE users ADD COLUMN email TEXT;\n", "");
    let tested = json(stairs.path(), &db, &["test"]);
    assert_eq!(tested.code, Some(1), "{tested}");
    let tested = check("test", tested);
    assert_eq!(tested["failed"], serde_json::json!(["b2"]), "{tested}");
    assert_eq!(tested["revisions"][1]["differences"][0]["name"], "users.email", "{tested}");

    // `wasmig lint` on a scratch database: a revision that drops a column, denied.
    add_sql_revision(stairs.path(), "c3", &["b2"], "ALTER TABLE users DROP COLUMN email;\n", "");
    std::fs::write(stairs.path().join("wasmig.toml"), "[lint]\ndrop-column = \"deny\"\n").unwrap();
    let linted = json(stairs.path(), &db, &["lint", "c3"]);
    assert_eq!(linted.code, Some(3), "{linted}");
    let linted = check("lint", linted);
    assert_eq!(linted["revisions"][0]["findings"][0]["rule"], "drop-column", "{linted}");

    let untested: Vec<&String> = shapes.keys().filter(|name| !checked.contains(name)).collect();
    assert!(untested.is_empty(), "documented shapes no test compares: {untested:?}");
}

#[test]
fn a_shape_difference_is_found() {
    // The comparison itself can fail: a missing key, an extra key, a wrong type.
    let documented: Value = serde_json::json!({ "a": 1, "b": [{ "c": "x" }] });
    for (actual, expected) in [
        (serde_json::json!({ "a": 1 }), ".b: documented, not printed"),
        (serde_json::json!({ "a": 1, "b": [], "z": 0 }), ".z: printed, not documented"),
        (serde_json::json!({ "a": "1", "b": [] }), ".a: documented a number, printed a string"),
        (
            serde_json::json!({ "a": 1, "b": [{ "c": "x" }, { "c": 2 }] }),
            ".b[].c: documented a string, printed a number",
        ),
    ] {
        let mut found = Vec::new();
        shape_differences(&documented, &actual, "doc", &mut found);
        assert!(found.iter().any(|line| line.ends_with(expected)), "{actual}: {found:?}");
    }
}

#[test]
fn nothing_ran_means_exit_2() {
    let db = TestDb::fresh(Engine::Sqlite);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    project(path);
    // A component revision whose revision.wasm was never built.
    let revision = path.join("migrations/c3");
    std::fs::create_dir_all(&revision).unwrap();
    std::fs::write(
        revision.join("revision.toml"),
        "id = \"c3\"\nmessage = \"c\"\nparents = [\"b2\"]\nkind = \"component\"\n",
    )
    .unwrap();
    let missing = run(wasmig(path, &db).arg("upgrade"));
    assert_eq!(missing.code, Some(2), "a missing revision.wasm: {missing}");
    assert!(missing.stderr.contains("wasmig build c3"), "{missing}");
    assert!(db.all_tables().is_empty(), "nothing ran: {:?}", db.all_tables());

    // A PostgreSQL schema that does not exist.
    let pg = TestDb::fresh(Engine::Postgres);
    let url = format!("{}{}schema=nosuchschema", pg.url(), if pg.url().contains('?') { "&" } else { "?" });
    write_config(path, "");
    std::fs::remove_dir_all(&revision).unwrap();
    let finished = run(project_command(path).args(["--database", &url, "upgrade"]));
    assert_eq!(finished.code, Some(2), "a missing schema: {finished}");
    assert!(finished.stderr.contains("CREATE SCHEMA"), "{finished}");
}
