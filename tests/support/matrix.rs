//! The migration-runner test matrix: one test body on a fresh SQLite file and a fresh PostgreSQL database, the `wasmig` binary, project writers, and readers of the schema and the version tables.
//!
//! Every reader goes through wasmig's own [`Backend`] trait so that one
//! assertion serves both engines; only the catalogue queries differ.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};

use wasmig::runtime::{Runtime, RuntimeConfig};
use wasmig::{Database, Migrator};

use crate::postgres::TestDatabase;
use crate::{Fixture, target_dir, workspace_root};

/// The prefix of the version tables in every project these tests write.
pub const PREFIX: &str = "wasmig_";

/// The database engines every scenario runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    pub const ALL: [Engine; 2] = [Engine::Sqlite, Engine::Postgres];
}

/// Turns `fn scenario(engine: Engine)` functions into one `#[test]` per
/// engine (`scenario::sqlite`, `scenario::postgres`), so that each engine
/// passes or fails on its own and the two run in parallel.
#[macro_export]
macro_rules! on_every_engine {
    ($($scenario:ident),* $(,)?) => {
        $(
            mod $scenario {
                #[test]
                fn sqlite() {
                    super::$scenario($crate::matrix::Engine::Sqlite)
                }
                #[test]
                fn postgres() {
                    super::$scenario($crate::matrix::Engine::Postgres)
                }
            }
        )*
    };
}

/// A database made for one test (or one repetition), dropped with it.
#[derive(Debug)]
pub struct TestDb {
    engine: Engine,
    url: String,
    place: Place,
}

#[derive(Debug)]
enum Place {
    Sqlite { _dir: tempfile::TempDir, path: PathBuf },
    Postgres(TestDatabase),
}

/// One row of `<prefix>revisions`, as the tests compare them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct VersionRow {
    pub revision: String,
    pub checksum: String,
    pub module_hash: String,
    pub kind: String,
    pub state: String,
}

/// One row of `<prefix>events`, in insertion order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    pub event: String,
    pub revision: Option<String>,
    pub error: Option<String>,
    pub detail: Option<String>,
}

impl TestDb {
    pub fn fresh(engine: Engine) -> Self {
        match engine {
            Engine::Sqlite => {
                let dir = sqlite_temp_dir();
                let path = dir.path().join("app.db");
                TestDb { engine, url: format!("sqlite:{}", path.display()), place: Place::Sqlite { _dir: dir, path } }
            }
            Engine::Postgres => {
                let database = TestDatabase::create();
                TestDb { engine, url: database.url().to_owned(), place: Place::Postgres(database) }
            }
        }
    }

    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// The URL wasmig is given (`--database`, `Database::connect`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The SQLite file, for `sqlite3`.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match &self.place {
            Place::Sqlite { path, .. } => Some(path),
            Place::Postgres(_) => None,
        }
    }

    /// A new connection, as the migrator takes it.
    pub fn connect(&self) -> Database {
        Database::connect(&self.url).unwrap_or_else(|error| panic!("connect to {}: {error}", self.url))
    }

    /// Runs statements outside wasmig (setting up "an existing schema").
    pub fn execute(&self, sql: &str) {
        self.connect().execute_script(sql).unwrap_or_else(|error| panic!("{sql}: {error}"));
    }

    /// A query's values as text (or NULL).
    pub fn texts(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        self.connect().query(sql, &[]).unwrap_or_else(|error| panic!("{sql}: {error}")).texts()
    }

    /// A query that returns whether `table` exists, in this engine's catalogue
    /// (what `verify.sql` files of these tests say).
    pub fn table_exists_sql(&self, table: &str) -> String {
        match self.engine {
            Engine::Sqlite => format!("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '{table}'"),
            Engine::Postgres => {
                format!(
                    "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND tablename = '{table}'"
                )
            }
        }
    }

    /// Every table of the database (PostgreSQL: of its current schema), version tables included.
    pub fn all_tables(&self) -> BTreeSet<String> {
        let sql = match self.engine {
            Engine::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            Engine::Postgres => "SELECT tablename::text FROM pg_catalog.pg_tables WHERE schemaname = current_schema()",
        };
        self.texts(sql).into_iter().map(|row| row[0].clone().expect("table names are not NULL")).collect()
    }

    /// The application's tables: every table but wasmig's own.
    pub fn user_tables(&self) -> BTreeSet<String> {
        self.all_tables().into_iter().filter(|name| !name.starts_with(PREFIX)).collect()
    }

    fn has_version_tables(&self) -> bool {
        self.all_tables().contains(&format!("{PREFIX}revisions"))
    }

    /// `<prefix>revisions`, sorted by revision; empty when the table does not exist.
    pub fn version_rows(&self) -> Vec<VersionRow> {
        if !self.has_version_tables() {
            return Vec::new();
        }
        let mut rows: Vec<VersionRow> = self
            .texts(&format!("SELECT revision, checksum, module_hash, kind, state FROM {PREFIX}revisions"))
            .into_iter()
            .map(|row| {
                let text = |index: usize| row[index].clone().unwrap_or_default();
                VersionRow { revision: text(0), checksum: text(1), module_hash: text(2), kind: text(3), state: text(4) }
            })
            .collect();
        rows.sort();
        rows
    }

    /// The revisions recorded in `<prefix>revisions`, whatever their state.
    pub fn recorded(&self) -> BTreeSet<String> {
        self.version_rows().into_iter().map(|row| row.revision).collect()
    }

    /// `<prefix>events` in insertion order; empty when the table does not exist.
    pub fn events(&self) -> Vec<EventRow> {
        if !self.all_tables().contains(&format!("{PREFIX}events")) {
            return Vec::new();
        }
        self.texts(&format!("SELECT event, revision, error, detail FROM {PREFIX}events ORDER BY id"))
            .into_iter()
            .map(|row| EventRow {
                event: row[0].clone().unwrap_or_default(),
                revision: row[1].clone(),
                error: row[2].clone(),
                detail: row[3].clone(),
            })
            .collect()
    }

    /// `(event, revision)` pairs in order: the shape most assertions need.
    pub fn event_pairs(&self) -> Vec<(String, String)> {
        self.events().into_iter().map(|event| (event.event, event.revision.unwrap_or_default())).collect()
    }

    /// How many `event` events each revision has.
    pub fn event_counts(&self, event: &str) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for row in self.events().into_iter().filter(|row| row.event == event) {
            *counts.entry(row.revision.unwrap_or_default()).or_insert(0) += 1;
        }
        counts
    }

    /// Every table, column and row, as text: for "nothing changed" assertions.
    pub fn dump(&self) -> Vec<String> {
        match &self.place {
            Place::Sqlite { path, .. } => {
                if path.exists() {
                    crate::sqlite_dump(path)
                } else {
                    Vec::new()
                }
            }
            Place::Postgres(database) => database.dump(),
        }
    }
}

/// A directory for a SQLite test database: on tmpfs (`/dev/shm`) when there
/// is one, because a commit's fsync on a real disk costs ~15 ms and the fault
/// and concurrency tests commit thousands of times. A killed process still
/// leaves a hot journal that the next connection must roll back: the property
/// under test does not depend on the disk.
fn sqlite_temp_dir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir()
        && let Ok(dir) = tempfile::Builder::new().prefix("wasmig-test-").tempdir_in(shm)
    {
        return dir;
    }
    tempfile::tempdir().expect("temp dir for a SQLite database")
}

/// The directory where every runtime and every `wasmig` process of the tests
/// caches compiled components: compiled once, reused by all.
pub fn component_cache_dir() -> PathBuf {
    target_dir().join("wasmig-test-cache")
}

/// One runtime for the whole test process (one engine, one module cache).
pub fn shared_runtime() -> Arc<Runtime> {
    static RUNTIME: OnceLock<Arc<Runtime>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            Arc::new(
                Runtime::new(RuntimeConfig { cache_dir: Some(component_cache_dir()), ..RuntimeConfig::default() })
                    .expect("the runtime starts"),
            )
        })
        .clone()
}

/// A migrator for the project in `dir`, read again from disk (tests edit projects between runs).
pub fn migrator(dir: &Path) -> Migrator {
    Migrator::open_with(dir, shared_runtime()).unwrap_or_else(|error| panic!("open project {}: {error}", dir.display()))
}

/// Writes `wasmig.toml`.
pub fn write_config(dir: &Path, toml: &str) {
    std::fs::write(dir.join("wasmig.toml"), toml).unwrap();
}

/// Appends lines to a revision's `revision.toml` (e.g. `transactional = false`).
pub fn extend_manifest(dir: &Path, id: &str, lines: &str) {
    let path = dir.join("migrations").join(id).join("revision.toml");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(lines);
    text.push('\n');
    std::fs::write(path, text).unwrap();
}

/// Writes a file of a revision (`up.sql`, `verify.sql`, ...).
pub fn write_revision_file(dir: &Path, id: &str, name: &str, text: &str) {
    std::fs::write(dir.join("migrations").join(id).join(name), text).unwrap();
}

/// Adds a component revision whose `revision.wasm` is a guest fixture;
/// `extra` goes at the end of its manifest (e.g. a `[sandbox]` table).
pub fn add_component_revision(dir: &Path, id: &str, parents: &[&str], fixture: Fixture, extra: &str) {
    let revision = dir.join("migrations").join(id);
    std::fs::create_dir_all(&revision).unwrap();
    let parent_list = parents.iter().map(|parent| format!("\"{parent}\"")).collect::<Vec<_>>().join(", ");
    std::fs::write(
        revision.join("revision.toml"),
        format!(
            "id = \"{id}\"\nmessage = \"fixture {}\"\nparents = [{parent_list}]\nkind = \"component\"\n{extra}\n",
            fixture.dir_name()
        ),
    )
    .unwrap();
    std::fs::write(revision.join("revision.wasm"), fixture.bytes()).unwrap();
}

/// The table a generated revision creates.
pub fn table_of(revision: &str) -> String {
    format!("t_{revision}")
}

/// Adds revision `id` creating its table `t_<id>` (and dropping it on the way down).
pub fn create_table_revision(dir: &Path, id: &str, parents: &[&str]) {
    let table = table_of(id);
    crate::add_sql_revision(
        dir,
        id,
        parents,
        &format!("CREATE TABLE {table} (id INTEGER);\n"),
        &format!("DROP TABLE {table};\n"),
    );
}

/// A straight line of `count` revisions `r000`, `r001`, ..., each creating
/// its table `t_rNNN`. Returns the ids in order.
pub fn write_chain_project(dir: &Path, count: usize) -> Vec<String> {
    let ids: Vec<String> = (0..count).map(|index| format!("r{index:03}")).collect();
    write_chain_of(dir, &ids.iter().map(String::as_str).collect::<Vec<_>>());
    ids
}

/// A project whose revisions are a straight line of `ids`, in order, each
/// creating its table `t_<id>` and dropping it on the way down.
pub fn write_chain_of(dir: &Path, ids: &[&str]) {
    crate::write_sql_project(dir, &[]);
    for (index, id) in ids.iter().enumerate() {
        create_table_revision(dir, id, &ids[index.saturating_sub(1)..index]);
    }
}

/// 18 revisions: a trunk of 5, two branches of 4 from its end, a merge of
/// the branches, and 4 more on top. Every revision but the merge creates its
/// table. Returns `(ids, merge id)`.
pub fn write_branched_project(dir: &Path) -> (Vec<String>, String) {
    crate::write_sql_project(dir, &[]);
    let mut ids = Vec::new();
    let add = |id: String, parents: Vec<String>, ids: &mut Vec<String>| {
        let parents: Vec<&str> = parents.iter().map(String::as_str).collect();
        create_table_revision(dir, &id, &parents);
        ids.push(id);
    };
    let mut previous: Option<String> = None;
    for index in 0..5 {
        let id = format!("trunk{index}");
        add(id.clone(), previous.iter().cloned().collect(), &mut ids);
        previous = Some(id);
    }
    let fork = previous.clone().unwrap();
    let mut branch_heads = Vec::new();
    for branch in ["left", "right"] {
        let mut parent = fork.clone();
        for index in 0..4 {
            let id = format!("{branch}{index}");
            add(id.clone(), vec![parent.clone()], &mut ids);
            parent = id;
        }
        branch_heads.push(parent);
    }
    let merge = "merge0".to_owned();
    crate::add_sql_revision(dir, &merge, &[&branch_heads[0], &branch_heads[1]], "", "");
    ids.push(merge.clone());
    let mut parent = merge.clone();
    for index in 0..4 {
        let id = format!("top{index}");
        add(id.clone(), vec![parent.clone()], &mut ids);
        parent = id;
    }
    (ids, merge)
}

/// The `wasmig` binary of this workspace, built once per test process into
/// the shared target directory (`cargo build -p wasmig-cli`).
pub fn wasmig_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let output = Command::new(cargo)
            .current_dir(workspace_root())
            .args(["build", "--quiet", "-p", "wasmig-cli", "--bin", "wasmig", "--target-dir"])
            .arg(target_dir())
            .output()
            .expect("running cargo to build the wasmig binary");
        assert!(
            output.status.success(),
            "building the wasmig binary failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let binary = target_dir().join("debug").join(format!("wasmig{}", std::env::consts::EXE_SUFFIX));
        assert!(binary.exists(), "cargo built wasmig-cli but {} is missing", binary.display());
        binary
    })
}

/// `wasmig -C <project> --database <url>`, with the shared component cache
/// and no inherited `DATABASE_URL` or log settings.
pub fn wasmig(project: &Path, database: &TestDb) -> Command {
    let mut command = Command::new(wasmig_binary());
    command
        .arg("-C")
        .arg(project)
        .arg("--database")
        .arg(database.url())
        .env("WASMIG_CACHE_DIR", component_cache_dir())
        .env_remove("DATABASE_URL")
        .env_remove("RUST_LOG");
    command
}

/// What a finished `wasmig` process said.
#[derive(Debug)]
pub struct Finished {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    pub fn of(output: std::process::Output) -> Self {
        Finished {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl std::fmt::Display for Finished {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {:?}\n--- stdout\n{}\n--- stderr\n{}", self.code, self.stdout, self.stderr)
    }
}

/// Runs a prepared `wasmig` command to its end.
pub fn run(command: &mut Command) -> Finished {
    Finished::of(command.output().expect("start wasmig"))
}

/// A small seeded generator (SplitMix64): the fault tests print their seed
/// so that a failing sequence of kills can be replayed with `WASMIG_TEST_SEED`.
#[derive(Debug, Clone)]
pub struct SeededRng(u64);

impl SeededRng {
    /// Seeded from `WASMIG_TEST_SEED` when set, else from the clock; prints the seed.
    pub fn from_env_or_clock(what: &str) -> Self {
        let seed = std::env::var("WASMIG_TEST_SEED").ok().and_then(|text| text.parse().ok()).unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|since| since.as_nanos() as u64)
                .unwrap_or(1)
        });
        eprintln!("{what}: seed {seed} (replay with WASMIG_TEST_SEED={seed})");
        SeededRng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..bound` (bound > 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound
    }
}

/// Feeds `sql` to `sqlite3 -bail` or `psql -v ON_ERROR_STOP=1` on `db`: offline SQL replayed as an operator would.
pub fn replay(db: &TestDb, sql: &str) -> Finished {
    use std::io::Write as _;
    use std::process::Stdio;
    let mut command = match db.engine() {
        Engine::Sqlite => {
            let mut command = Command::new("sqlite3");
            command.arg("-bail").arg(db.sqlite_path().unwrap());
            command
        }
        Engine::Postgres => {
            let mut command = Command::new("psql");
            command.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", db.url()]);
            command
        }
    };
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("start {command:?} (is it installed?): {error}"));
    child.stdin.take().unwrap().write_all(sql.as_bytes()).unwrap();
    Finished::of(child.wait_with_output().unwrap())
}
