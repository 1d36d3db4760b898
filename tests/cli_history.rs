//! The history a user reads, through the `wasmig` binary on SQLite files and the PostgreSQL server: `history` and `show` marked with what a database applied, `log` of the events table, `status` after a failed run, and the `tenants` report (each tenant once, a tenant behind called so, refusals exit 2).

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use wasmig::backend::Backend as _;
use wasmig_tests::matrix::{
    Engine, Finished, TestDb, component_cache_dir, run, wasmig, wasmig_binary, write_chain_project, write_revision_file,
};
use wasmig_tests::postgres::TestDatabase;
use wasmig_tests::{add_sql_revision, on_every_engine};

const DONE: Option<i32> = Some(0);
const RUN_FAILED: Option<i32> = Some(1);
const USAGE: Option<i32> = Some(2);
const CHECK_FAILED: Option<i32> = Some(3);

on_every_engine!(
    history_and_show_mark_what_the_database_applied,
    log_lists_events_newest_first_and_filters_them,
    status_reports_a_failed_last_run_until_a_rerun_succeeds,
    tenants_list_each_tenant_once_and_call_a_behind_tenant_behind,
    tenants_refuse_a_target_no_tenant_can_reach_with_exit_2,
);

fn wasmig_run(project: &Path, db: &TestDb, args: &[&str]) -> Finished {
    run(wasmig(project, db).args(args))
}

/// `wasmig` with no database at all unless `database` names one.
fn wasmig_at(project: &Path, database: Option<&str>, args: &[&str]) -> Finished {
    let mut command = Command::new(wasmig_binary());
    command
        .arg("-C")
        .arg(project)
        .env("WASMIG_CACHE_DIR", component_cache_dir())
        .env_remove("DATABASE_URL")
        .env_remove("RUST_LOG");
    if let Some(url) = database {
        command.args(["--database", url]);
    }
    run(command.args(args))
}

fn expect(finished: &Finished, code: Option<i32>, what: &str) {
    assert_eq!(finished.code, code, "{what}: {finished}");
}

fn json(finished: &Finished) -> Value {
    serde_json::from_str(&finished.stdout).unwrap_or_else(|error| panic!("not JSON ({error}): {finished}"))
}

/// The line of `text` that mentions `id` as a revision (`-> id`).
fn line_of<'a>(text: &'a str, id: &str) -> &'a str {
    let arrow = format!("-> {id}");
    text.lines().find(|line| line.contains(&arrow)).unwrap_or_else(|| panic!("no line for {id} in:\n{text}"))
}

/// Whether the database has anything at all: the SQLite file, or a table.
fn exists(db: &TestDb) -> bool {
    match db.sqlite_path() {
        Some(path) => path.exists(),
        None => !db.all_tables().is_empty(),
    }
}

/// The revision `bad`, whose `up` fails on an unknown table.
fn add_failing_revision(project: &Path, parent: &str) {
    add_sql_revision(
        project,
        "bad",
        &[parent],
        "CREATE TABLE t_bad (id INTEGER);\nINSERT INTO no_such_table VALUES (1);\n",
        "DROP TABLE t_bad;\n",
    );
}

fn history_and_show_mark_what_the_database_applied(engine: Engine) {
    let db = TestDb::fresh(engine);
    let project = tempfile::tempdir().unwrap();
    let path = project.path();
    write_chain_project(path, 3);

    // Without a database: the graph alone, as before, and nothing is opened.
    let bare = wasmig_at(path, None, &["history"]);
    expect(&bare, DONE, "history without a database");
    assert!(line_of(&bare.stdout, "r001").starts_with("r000 -> r001"), "{bare}");
    assert!(!bare.stdout.contains("pending") && !bare.stdout.contains("applied"), "{bare}");
    let bare_json = json(&wasmig_at(path, None, &["--format", "json", "history"]));
    assert!(bare_json[0].get("applied").is_none(), "no database, no marks: {bare_json}");
    let no_url = wasmig_at(path, None, &["history", "-i"]);
    expect(&no_url, USAGE, "history -i without any database URL");
    assert!(no_url.stderr.contains("[database] url"), "{no_url}");

    // A database that does not exist yet: nothing applied, and it stays uncreated.
    let fresh = wasmig_run(path, &db, &["history"]);
    expect(&fresh, DONE, "history of a database not created yet");
    assert!(fresh.stdout.lines().all(|line| line.starts_with("pending")), "{fresh}");
    assert!(!exists(&db), "history created the database");
    let fresh_show = wasmig_run(path, &db, &["show", "r000"]);
    expect(&fresh_show, DONE, "show on a database not created yet");
    assert!(fresh_show.stdout.contains("Applied: no") && fresh_show.stdout.contains("Checksum: not applied"));
    assert!(!exists(&db), "show created the database");

    expect(&wasmig_run(path, &db, &["upgrade", "r001"]), DONE, "upgrade r001");
    let marked = wasmig_run(path, &db, &["history"]);
    expect(&marked, DONE, "history with a database");
    for (id, column, current) in [("r000", "applied", false), ("r001", "applied", true), ("r002", "pending", false)] {
        let line = line_of(&marked.stdout, id);
        assert!(line.starts_with(column), "{id} is {column}: {line}");
        assert_eq!(line.contains("(current)"), current, "{id} current: {line}");
    }
    let listed = json(&wasmig_run(path, &db, &["--format", "json", "history"]));
    let entry = |id: &str| listed.as_array().unwrap().iter().find(|entry| entry["id"] == id).cloned().unwrap();
    assert_eq!((entry("r001")["applied"].clone(), entry("r001")["current"].clone()), (true.into(), true.into()));
    assert!(entry("r001")["applied_at"].as_str().unwrap().ends_with('Z'), "{listed}");
    assert_eq!((entry("r000")["applied"].clone(), entry("r000")["current"].clone()), (true.into(), false.into()));
    assert_eq!(entry("r002")["applied"], false);
    assert!(entry("r002")["applied_at"].is_null() && entry("r002")["state"].is_null(), "{listed}");

    // `-i` takes the project's [database] url.
    std::fs::write(path.join("wasmig.toml"), format!("[database]\nurl = \"{}\"\n", db.url())).unwrap();
    let indicated = wasmig_at(path, None, &["history", "-i"]);
    expect(&indicated, DONE, "history -i with [database] url");
    assert!(line_of(&indicated.stdout, "r001").contains("(current)"), "{indicated}");

    let shown = wasmig_run(path, &db, &["show", "r001"]);
    expect(&shown, DONE, "show r001");
    for expected in ["Applied: yes, at ", "(current)", "Execution time: ", "Checksum: matches"] {
        assert!(shown.stdout.contains(expected), "`{expected}` in {shown}");
    }
    let pending = wasmig_run(path, &db, &["show", "r002"]);
    assert!(pending.stdout.contains("Applied: no") && pending.stdout.contains("Checksum: not applied"), "{pending}");
    let shown_json = json(&wasmig_run(path, &db, &["--format", "json", "show", "r001"]));
    let recorded = &shown_json["database"];
    assert_eq!(recorded["applied"], true, "{shown_json}");
    assert!(recorded["execution_ms"].is_i64() && recorded["applied_at"].is_string(), "{shown_json}");
    assert_eq!(recorded["checksum"]["state"], "matches", "{shown_json}");
    let not_applied = json(&wasmig_run(path, &db, &["--format", "json", "show", "r002"]));
    assert_eq!(not_applied["database"]["applied"], false);
    assert_eq!(not_applied["database"]["checksum"]["state"], "not-applied", "{not_applied}");

    write_revision_file(path, "r001", "up.sql", "-- edited\nCREATE TABLE t_r001 (id INTEGER);\n");
    let drifted = wasmig_run(path, &db, &["show", "r001"]);
    assert!(drifted.stdout.contains("Checksum: drifted") && drifted.stdout.contains("wasmig repair r001"), "{drifted}");
    let drifted_json = json(&wasmig_run(path, &db, &["--format", "json", "show", "r001"]));
    let checksum = &drifted_json["database"]["checksum"];
    assert_eq!(checksum["state"], "drifted", "{drifted_json}");
    assert_ne!(checksum["recorded"], checksum["files"], "{drifted_json}");
}

/// `(kind, revision)` of each event of a `log --format json`, in its order.
fn logged(finished: &Finished) -> Vec<(String, String)> {
    json(finished)["events"]
        .as_array()
        .unwrap_or_else(|| panic!("no events array: {finished}"))
        .iter()
        .map(|event| (event["kind"].as_str().unwrap().to_owned(), event["revision"].as_str().unwrap_or("-").to_owned()))
        .collect()
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items.iter().map(|(kind, revision)| (kind.to_string(), revision.to_string())).collect()
}

fn log_lists_events_newest_first_and_filters_them(engine: Engine) {
    let db = TestDb::fresh(engine);
    let project = tempfile::tempdir().unwrap();
    let path = project.path();
    write_chain_project(path, 2);

    let nothing = wasmig_run(path, &db, &["--format", "json", "log"]);
    expect(&nothing, DONE, "log of a database not created yet");
    assert_eq!(logged(&nothing), Vec::new());
    assert!(!exists(&db), "log created the database");

    add_failing_revision(path, "r001");
    expect(&wasmig_run(path, &db, &["upgrade"]), RUN_FAILED, "upgrade through a failing revision");
    expect(&wasmig_run(path, &db, &["stamp", "r000"]), DONE, "stamp r000 (unstamps r001)");
    // What the stamp says is now true: r001's table goes, so r001 can run again.
    db.execute("DROP TABLE t_r001");
    expect(&wasmig_run(path, &db, &["upgrade", "r001"]), DONE, "upgrade r001");
    expect(&wasmig_run(path, &db, &["downgrade", "r000"]), DONE, "downgrade r000");

    let all = wasmig_run(path, &db, &["--format", "json", "log"]);
    expect(&all, DONE, "log");
    assert_eq!(
        logged(&all),
        pairs(&[
            ("downgrade", "r001"),
            ("upgrade", "r001"),
            ("stamp", "r001"),
            ("fail", "bad"),
            ("upgrade", "r001"),
            ("upgrade", "r000"),
        ]),
        "newest first: {all}"
    );
    let events = json(&all)["events"].clone();
    let ids: Vec<i64> = events.as_array().unwrap().iter().map(|event| event["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|pair| pair[0] > pair[1]), "ids descend: {ids:?}");
    assert!(events[3]["error"].as_str().unwrap().contains("no_such_table"), "{events}");
    assert!(events[0]["at"].as_str().unwrap().ends_with('Z'), "{events}");

    let text = wasmig_run(path, &db, &["log"]);
    expect(&text, DONE, "log as text");
    let first = text.stdout.lines().next().unwrap_or_default();
    assert!(first.contains("downgrade") && first.contains("r001"), "{text}");
    assert!(text.stdout.contains("no_such_table"), "a failure's error is printed: {text}");

    let failures = wasmig_run(path, &db, &["--format", "json", "log", "--kind", "fail"]);
    assert_eq!(logged(&failures), pairs(&[("fail", "bad")]));
    let runs = wasmig_run(path, &db, &["--format", "json", "log", "--kind", "upgrade", "--kind", "downgrade"]);
    assert_eq!(
        logged(&runs),
        pairs(&[("downgrade", "r001"), ("upgrade", "r001"), ("upgrade", "r001"), ("upgrade", "r000")])
    );
    let of_r001 = wasmig_run(path, &db, &["--format", "json", "log", "--revision", "r001", "--kind", "upgrade"]);
    assert_eq!(logged(&of_r001), pairs(&[("upgrade", "r001"), ("upgrade", "r001")]));
    let newest = wasmig_run(path, &db, &["--format", "json", "log", "--limit", "2"]);
    assert_eq!(logged(&newest), pairs(&[("downgrade", "r001"), ("upgrade", "r001")]));
    let ambiguous = wasmig_run(path, &db, &["log", "--revision", "r00"]);
    expect(&ambiguous, USAGE, "an ambiguous prefix");

    // A revision the project no longer has is found by its exact id.
    std::fs::remove_dir_all(path.join("migrations/bad")).unwrap();
    let gone = wasmig_run(path, &db, &["--format", "json", "log", "--revision", "bad"]);
    expect(&gone, DONE, "log of a revision no longer in the project");
    assert_eq!(logged(&gone), pairs(&[("fail", "bad")]));
}

fn status_reports_a_failed_last_run_until_a_rerun_succeeds(engine: Engine) {
    let db = TestDb::fresh(engine);
    let project = tempfile::tempdir().unwrap();
    let path = project.path();
    write_chain_project(path, 2);
    add_failing_revision(path, "r001");

    let fresh = json(&wasmig_run(path, &db, &["--format", "json", "status"]));
    assert!(fresh["last_failure"].is_null(), "{fresh}");
    assert_eq!(fresh["at_heads"], false, "{fresh}");

    expect(&wasmig_run(path, &db, &["upgrade"]), RUN_FAILED, "upgrade through a failing revision");
    let failed = wasmig_run(path, &db, &["status"]);
    expect(&failed, CHECK_FAILED, "status after a failed run");
    let line = failed.stdout.lines().find(|line| line.starts_with("last run:")).unwrap_or_default();
    assert!(
        line.contains("failed at") && line.contains("on bad") && failed.stdout.contains("no_such_table"),
        "{failed}"
    );
    let failed_json = json(&wasmig_run(path, &db, &["--format", "json", "status"]));
    assert_eq!(failed_json["last_failure"]["kind"], "fail", "{failed_json}");
    assert_eq!(failed_json["last_failure"]["revision"], "bad", "{failed_json}");
    assert_eq!(failed_json["at_heads"], false);
    assert_eq!(failed_json["current"], serde_json::json!(["r001"]), "`current` is the applied heads: {failed_json}");

    write_revision_file(path, "bad", "up.sql", "CREATE TABLE t_bad (id INTEGER);\n");
    expect(&wasmig_run(path, &db, &["upgrade"]), DONE, "the rerun");
    let fixed = wasmig_run(path, &db, &["status"]);
    expect(&fixed, DONE, "status after a successful rerun");
    assert!(!fixed.stdout.contains("last run"), "{fixed}");
    let fixed_json = json(&wasmig_run(path, &db, &["--format", "json", "status"]));
    assert!(fixed_json["last_failure"].is_null(), "{fixed_json}");
    assert_eq!(fixed_json["at_heads"], true);
    assert_eq!(fixed_json["current"], serde_json::json!(["bad"]));
}

/// Three tenants `shop_a`, `shop_b`, `shop_c` and the `--tenants` source naming them.
struct Shops {
    source: String,
    urls: Vec<String>,
    _place: ShopPlace,
}

enum ShopPlace {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres(#[allow(dead_code)] TestDatabase),
}

const SHOPS: [&str; 3] = ["shop_a", "shop_b", "shop_c"];

impl Shops {
    fn create(engine: Engine) -> Self {
        match engine {
            Engine::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let urls = SHOPS.iter().map(|shop| format!("sqlite:{}/{shop}.db", dir.path().display())).collect();
                for shop in SHOPS {
                    std::fs::write(dir.path().join(format!("{shop}.db")), "").unwrap();
                }
                Shops { source: format!("sqlite:{}/*.db", dir.path().display()), urls, _place: ShopPlace::Sqlite(dir) }
            }
            Engine::Postgres => {
                let database = TestDatabase::create();
                let script: String = SHOPS.iter().map(|shop| format!("CREATE SCHEMA {shop};")).collect();
                database.connect().execute_script(&script).expect("create the tenant schemas");
                let urls = SHOPS.iter().map(|shop| database.url_with(&format!("schema={shop}"))).collect();
                Shops { source: database.url_with("schemas=shop\\_%"), urls, _place: ShopPlace::Postgres(database) }
            }
        }
    }
}

/// How many lines of stdout and stderr together name `tenant`.
fn mentions(finished: &Finished, tenant: &str) -> usize {
    finished.stdout.lines().chain(finished.stderr.lines()).filter(|line| line.contains(tenant)).count()
}

fn tenants_list_each_tenant_once_and_call_a_behind_tenant_behind(engine: Engine) {
    let project = tempfile::tempdir().unwrap();
    let path = project.path();
    write_chain_project(path, 3);
    let shops = Shops::create(engine);
    expect(&wasmig_at(path, Some(&shops.urls[0]), &["upgrade"]), DONE, "shop_a to heads");
    expect(&wasmig_at(path, Some(&shops.urls[1]), &["upgrade", "r001"]), DONE, "shop_b to r001");
    expect(&wasmig_at(path, Some(&shops.urls[2]), &["upgrade"]), DONE, "shop_c to heads");

    let status = wasmig_at(path, None, &["tenants", "status", "--tenants", &shops.source]);
    expect(&status, CHECK_FAILED, "tenants status with a tenant behind");
    for shop in SHOPS {
        assert_eq!(mentions(&status, shop), 1, "{shop} is listed once: {status}");
    }
    let behind = status.stdout.lines().find(|line| line.contains("shop_b")).unwrap().trim();
    assert!(behind.starts_with("behind") && behind.contains("1 pending"), "{behind}");
    let at_heads = status.stdout.lines().find(|line| line.contains("shop_a")).unwrap().trim();
    assert!(at_heads.starts_with("ok") && at_heads.contains("at heads"), "{at_heads}");
    assert!(status.stdout.contains("2 at heads, 1 not at heads"), "{status}");
    let status_json = wasmig_at(path, None, &["--format", "json", "tenants", "status", "--tenants", &shops.source]);
    // Listed in the order they ended.
    let mut states: Vec<(String, Value)> = json(&status_json)["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["tenant"].as_str().unwrap().to_owned(), t["state"].clone()))
        .collect();
    states.sort_by(|a, b| a.0.cmp(&b.0));
    let states: Vec<Value> = states.into_iter().map(|(_, state)| state).collect();
    assert_eq!(
        states,
        [serde_json::json!(["at heads"]), serde_json::json!(["behind"]), serde_json::json!(["at heads"])]
    );

    let upgrade = wasmig_at(path, None, &["tenants", "upgrade", "--tenants", &shops.source]);
    expect(&upgrade, DONE, "tenants upgrade");
    for shop in SHOPS {
        assert_eq!(mentions(&upgrade, shop), 1, "{shop} is listed once: {upgrade}");
    }
    // -v asks for a line per tenant as it finishes, on stderr.
    let verbose = wasmig_at(path, None, &["-v", "tenants", "status", "--tenants", &shops.source]);
    expect(&verbose, DONE, "tenants status at heads");
    assert!(SHOPS.iter().all(|shop| verbose.stderr.contains(shop)), "{verbose}");
}

fn tenants_refuse_a_target_no_tenant_can_reach_with_exit_2(engine: Engine) {
    let project = tempfile::tempdir().unwrap();
    let path = project.path();
    write_chain_project(path, 2);
    let shops = Shops::create(engine);
    let history = |url: &str| json(&wasmig_at(path, Some(url), &["--format", "json", "log"]))["events"].clone();

    let unknown = wasmig_at(path, None, &["tenants", "upgrade", "nosuchrev", "--tenants", &shops.source]);
    expect(&unknown, USAGE, "tenants upgrade to an unknown revision");
    assert!(unknown.stderr.contains("nosuchrev"), "{unknown}");

    add_sql_revision(path, "left", &["r001"], "CREATE TABLE t_left (id INTEGER);", "DROP TABLE t_left;");
    add_sql_revision(path, "right", &["r001"], "CREATE TABLE t_right (id INTEGER);", "DROP TABLE t_right;");
    let several = wasmig_at(path, None, &["tenants", "upgrade", "head", "--tenants", &shops.source]);
    expect(&several, USAGE, "tenants upgrade head with two heads");
    assert!(several.stderr.contains("wasmig merge"), "{several}");
    let json_refusal =
        wasmig_at(path, None, &["--format", "json", "tenants", "downgrade", "nosuchrev", "--tenants", &shops.source]);
    expect(&json_refusal, USAGE, "tenants downgrade to an unknown revision");
    assert_eq!(json(&json_refusal)["exit_code"], 2);
    for url in &shops.urls {
        assert_eq!(history(url), serde_json::json!([]), "a refused fleet run touched {url}");
    }
}
