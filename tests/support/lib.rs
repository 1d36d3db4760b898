//! Test support: builds the guest fixtures from source once per test process, and small database helpers.

pub mod built;
pub mod matrix;
pub mod postgres;

pub mod hooks;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The workspace root (this crate lives in `<root>/tests`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

/// The cargo target directory the tests were built into.
fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    // <target>/debug/deps/<test binary>
    let exe = std::env::current_exe().expect("test binary path");
    exe.ancestors().nth(3).expect("target dir above the test binary").to_path_buf()
}

/// A guest fixture of `tests/guests/`, built for its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fixture {
    Good,
    Trap,
    Spin,
    Bomb,
    Commit,
    ScriptRollback,
    Swallow,
    Fails,
    SlowSql,
    /// Logs 20,000 long lines and one of 1 MiB, then creates `fixture_flood`.
    Flood,
    /// Built for wasm32-wasip2: imports WASI.
    Wasi,
    /// Runs each line of its asset `statements.sql` through `execute`.
    Statements,
    /// Writes typed rows with one `execute-many`, as its asset `mode` says.
    Many,
}

impl Fixture {
    pub const ALL: [Fixture; 13] = [
        Fixture::Good,
        Fixture::Trap,
        Fixture::Spin,
        Fixture::Bomb,
        Fixture::Commit,
        Fixture::ScriptRollback,
        Fixture::Swallow,
        Fixture::Fails,
        Fixture::SlowSql,
        Fixture::Flood,
        Fixture::Wasi,
        Fixture::Statements,
        Fixture::Many,
    ];

    pub fn dir_name(self) -> &'static str {
        match self {
            Fixture::Good => "good",
            Fixture::Trap => "trap",
            Fixture::Spin => "spin",
            Fixture::Bomb => "bomb",
            Fixture::Commit => "commit",
            Fixture::ScriptRollback => "script-rollback",
            Fixture::Swallow => "swallow",
            Fixture::Fails => "fails",
            Fixture::SlowSql => "slow-sql",
            Fixture::Flood => "flood",
            Fixture::Wasi => "wasi",
            Fixture::Statements => "statements",
            Fixture::Many => "many",
        }
    }

    fn target(self) -> &'static str {
        match self {
            Fixture::Wasi => "wasm32-wasip2",
            _ => "wasm32-unknown-unknown",
        }
    }

    fn package(self) -> String {
        format!("fixture-{}", self.dir_name())
    }

    /// The component's bytes, building every fixture on first use.
    pub fn bytes(self) -> Vec<u8> {
        let path = built_fixtures()
            .join(self.target())
            .join("guest")
            .join(format!("{}.wasm", self.package().replace('-', "_")));
        std::fs::read(&path).unwrap_or_else(|error| panic!("reading fixture {}: {error}", path.display()))
    }
}

/// Builds a set of guest packages for one target with the `guest` profile.
/// Panics with cargo's output on failure: a test cannot run without its fixture.
pub fn build_guests(packages: &[String], target: &str, target_dir: &Path) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(workspace_root())
        .args(["build", "--quiet", "--profile", "guest", "--target", target, "--target-dir"])
        .arg(target_dir);
    for package in packages {
        command.args(["-p", package]);
    }
    // The outer `cargo test` may export flags meant for the host build.
    command.env_remove("RUSTFLAGS").env_remove("CARGO_ENCODED_RUSTFLAGS");
    let output = command.output().expect("running cargo to build guest fixtures");
    assert!(
        output.status.success(),
        "building guests {packages:?} for {target} failed (is the target installed? `rustup target add {target}`):\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn built_fixtures() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let dir = target_dir().join("guest-fixtures");
        for target in ["wasm32-unknown-unknown", "wasm32-wasip2"] {
            let packages: Vec<String> = Fixture::ALL
                .iter()
                .filter(|fixture| fixture.target() == target)
                .map(|fixture| fixture.package())
                .collect();
            build_guests(&packages, target, &dir);
        }
        dir
    })
}

/// Every row of every user table of a SQLite database, as text, for
/// "nothing changed" assertions that do not depend on page layout.
pub fn sqlite_dump(path: &Path) -> Vec<String> {
    let connection = rusqlite::Connection::open(path).expect("open the database to dump it");
    let mut tables: Vec<(String, String)> = connection
        .prepare("SELECT name, sql FROM sqlite_master ORDER BY name")
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get::<_, Option<String>>(1)?.unwrap_or_default())))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    tables.sort();
    let mut dump = Vec::new();
    for (name, sql) in tables {
        dump.push(format!("schema {name}: {sql}"));
        if sql.starts_with("CREATE TABLE") {
            let mut statement = connection.prepare(&format!("SELECT * FROM \"{name}\"")).unwrap();
            let width = statement.column_count();
            let rows = statement
                .query_map([], |row| {
                    (0..width)
                        .map(|index| row.get::<_, rusqlite::types::Value>(index).map(|value| format!("{value:?}")))
                        .collect::<Result<Vec<_>, _>>()
                })
                .unwrap();
            for row in rows {
                dump.push(format!("row {name}: {}", row.unwrap().join(", ")));
            }
        }
    }
    dump
}

/// Writes a project (wasmig.toml and SQL revisions) into `dir` for tests.
/// Each revision is `(id, parents, up_sql, down_sql)`; a revision with two or
/// more parents and no SQL becomes a merge revision.
pub fn write_sql_project(dir: &Path, revisions: &[(&str, &[&str], &str, &str)]) {
    std::fs::write(dir.join("wasmig.toml"), "").unwrap();
    let migrations = dir.join("migrations");
    std::fs::create_dir_all(&migrations).unwrap();
    for (id, parents, up, down) in revisions {
        add_sql_revision(dir, id, parents, up, down);
    }
}

/// Adds one revision to a project written by [`write_sql_project`]. An
/// empty `up` or `down` is written as a file that says so (`-- wasmig:
/// empty`): wasmig refuses to run an SQL file without statements otherwise.
pub fn add_sql_revision(dir: &Path, id: &str, parents: &[&str], up: &str, down: &str) {
    let revision = dir.join("migrations").join(id);
    std::fs::create_dir_all(&revision).unwrap();
    let merge = parents.len() > 1 && up.is_empty();
    let parent_list = parents.iter().map(|parent| format!("\"{parent}\"")).collect::<Vec<_>>().join(", ");
    let kind = if merge { "merge" } else { "sql" };
    std::fs::write(
        revision.join("revision.toml"),
        format!("id = \"{id}\"\nmessage = \"revision {id}\"\nparents = [{parent_list}]\nkind = \"{kind}\"\n"),
    )
    .unwrap();
    if !merge {
        let marked = |sql: &str| if sql.is_empty() { "-- wasmig: empty\n".to_owned() } else { sql.to_owned() };
        std::fs::write(revision.join("up.sql"), marked(up)).unwrap();
        std::fs::write(revision.join("down.sql"), marked(down)).unwrap();
    }
}

/// The benchmark guest of `bench/guest-inserts`, built from source.
pub fn bench_guest_inserts() -> PathBuf {
    let dir = target_dir().join("bench-guests");
    build_guests(&["wasmig-bench-guest-inserts".into()], "wasm32-unknown-unknown", &dir);
    dir.join("wasm32-unknown-unknown/guest/wasmig_bench_guest_inserts.wasm")
}

/// The revisions a run stepped through, in order.
pub fn step_ids(report: &wasmig::RunReport) -> Vec<&str> {
    report.steps.iter().map(|step| step.revision.as_str()).collect()
}

/// Every row of a query through the database's own backend.
pub fn rows(database: &mut wasmig::Database, sql: &str) -> Vec<Vec<wasmig::sql::Value>> {
    database.query(sql, &[]).unwrap_or_else(|error| panic!("{sql}: {error}")).values
}

/// Every row of `sql` as text (integers in decimal, NULL as `NULL`), for
/// comparing what a database holds; panics with the statement on an error.
pub fn texts(db: &mut dyn wasmig::backend::Backend, sql: &str) -> Vec<Vec<String>> {
    db.query(sql, &[])
        .unwrap_or_else(|error| panic!("{sql}: {error}"))
        .values
        .into_iter()
        .map(|row| {
            row.into_iter()
                .map(|value| match value {
                    wasmig::sql::Value::Text(text) => text,
                    wasmig::sql::Value::Integer(number) => number.to_string(),
                    wasmig::sql::Value::Null => "NULL".to_owned(),
                    other => format!("{other:?}"),
                })
                .collect()
        })
        .collect()
}

/// A text value, for comparing rows.
pub fn text(value: &str) -> wasmig::sql::Value {
    wasmig::sql::Value::Text(value.to_owned())
}
