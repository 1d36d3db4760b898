//! The project cache and the read-only commands, through the `wasmig` binary on SQLite files: every way a revision's files can change is seen by the next command, a damaged cache is ignored and rewritten, and a command that only reads never starts the wasm engine.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use wasmig::{Migrator, PROJECT_CACHE_MIN_REVISIONS};
use wasmig_tests::matrix::{Finished, component_cache_dir, run, wasmig_binary, write_chain_project};
use wasmig_tests::{add_sql_revision, write_sql_project};

/// The revisions of the cached project: above the cache's minimum, and above the 512 at which the loader stats and
/// parses across threads (`wasmig_graph::project`): the path of a large project.
const REVISIONS: usize = if PROJECT_CACHE_MIN_REVISIONS > 600 { PROJECT_CACHE_MIN_REVISIONS + 20 } else { 600 };

/// `wasmig -C project ARGS` with the project cache in `cache` (components in
/// the tests' shared cache when `cache` is `None`), logging at debug level.
fn wasmig_in(project: &Path, cache: Option<&Path>, args: &[&str]) -> Finished {
    let mut command = Command::new(wasmig_binary());
    command
        .arg("-C")
        .arg(project)
        .env("WASMIG_CACHE_DIR", cache.map_or_else(component_cache_dir, Path::to_path_buf))
        .env("RUST_LOG", "wasmig=debug")
        .env_remove("WASMIG_PROJECT_CACHE")
        .env_remove("DATABASE_URL");
    run(command.args(args))
}

/// The two numbers of the debug line `project cache: N <what> from the cache, M read|computed`.
fn counts(finished: &Finished, what: &str) -> (usize, usize) {
    let line = finished
        .stderr
        .lines()
        .find(|line| line.contains(&format!("{what} from the cache")))
        .unwrap_or_else(|| panic!("no `{what}` line: {finished}"));
    let numbers: Vec<usize> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|word| !word.is_empty())
        .filter_map(|word| word.parse().ok())
        .collect();
    let tail = &numbers[numbers.len() - 2..];
    (tail[0], tail[1])
}

/// The project cache file in `cache`: the only one there.
fn cache_file(cache: &Path) -> PathBuf {
    let files: Vec<PathBuf> =
        std::fs::read_dir(cache.join("projects")).unwrap().map(|entry| entry.unwrap().path()).collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files[0].clone()
}

/// Waits until files changed so far are old enough to be cached (a file
/// changed within the file system's timestamp granularity is read by every
/// command until then).
fn settle() {
    std::thread::sleep(Duration::from_millis(2_200));
}

struct Cached {
    project: tempfile::TempDir,
    cache: tempfile::TempDir,
    _db_dir: tempfile::TempDir,
    url: String,
}

impl Cached {
    /// A chain of [`REVISIONS`], all applied, with every manifest and checksum cached.
    fn new() -> Cached {
        let project = tempfile::tempdir().unwrap();
        write_chain_project(project.path(), REVISIONS);
        let db_dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", db_dir.path().join("app.db").display());
        let upgrade = wasmig_in(project.path(), None, &["--database", &url, "upgrade"]);
        assert_eq!(upgrade.code, Some(0), "{upgrade}");
        settle();
        let cached = Cached { project, cache: tempfile::tempdir().unwrap(), _db_dir: db_dir, url };
        let first = cached.status();
        assert_eq!(counts(&first, "manifest(s)"), (0, REVISIONS), "nothing cached yet");
        assert_eq!(counts(&first, "checksum(s)"), (0, REVISIONS));
        let second = cached.status();
        assert_eq!(counts(&second, "manifest(s)"), (REVISIONS, 0), "all from the cache");
        assert_eq!(counts(&second, "checksum(s)"), (REVISIONS, 0));
        cached
    }

    /// Lets recent changes settle and caches them, so that the next command's counts are exact.
    fn rewarm(&self) {
        settle();
        let warm = self.status();
        assert_eq!(warm.code, Some(0), "{warm}");
    }

    fn status(&self) -> Finished {
        wasmig_in(
            self.project.path(),
            Some(self.cache.path()),
            &["--database", &self.url, "--format", "json", "status"],
        )
    }

    fn dir(&self, id: &str) -> PathBuf {
        self.project.path().join("migrations").join(id)
    }

    /// `status`, which must name exactly `drift` as drifted and `pending` as pending.
    fn expect_status(&self, drift: &[&str], pending: &[&str], what: &str) -> Finished {
        let finished = self.status();
        let json: serde_json::Value =
            serde_json::from_str(&finished.stdout).unwrap_or_else(|error| panic!("{what}: {error}: {finished}"));
        let strings = |key: &str| -> Vec<String> {
            let list = json["status"][key].as_array().unwrap_or_else(|| panic!("{what}: no status.{key}: {finished}"));
            list.iter().map(|id| id.as_str().unwrap().to_owned()).collect()
        };
        assert_eq!(strings("drift"), drift, "{what}: {finished}");
        assert_eq!(strings("pending"), pending, "{what}: {finished}");
        finished
    }
}

#[test]
fn every_change_to_a_revision_is_seen_by_the_next_command() {
    let cached = Cached::new();

    // Content and size.
    let up = cached.dir("r010").join("up.sql");
    std::fs::write(&up, "CREATE TABLE t_r010 (id INTEGER, name TEXT);\n").unwrap();
    let seen = cached.expect_status(&["r010"], &[], "an edited up.sql");
    assert_eq!(counts(&seen, "checksum(s)"), (REVISIONS - 1, 1), "only that entry is rebuilt");
    std::fs::write(&up, "CREATE TABLE t_r010 (id INTEGER);\n").unwrap();
    cached.expect_status(&[], &[], "the edit undone");

    // The modification time alone: the entry is rebuilt, and nothing drifted.
    cached.rewarm();
    let down = std::fs::File::options().write(true).open(cached.dir("r011").join("down.sql")).unwrap();
    down.set_modified(std::time::SystemTime::now() - Duration::from_secs(3600)).unwrap();
    let seen = cached.expect_status(&[], &[], "a touched down.sql");
    assert_eq!(counts(&seen, "checksum(s)").1, 1, "{seen}");

    // The same size, in the same second, the old modification time put back
    // (as `cp -p`, `tar` or `rsync -t` do): the change time tells.
    let up = cached.dir("r012").join("up.sql");
    let modified = std::fs::metadata(&up).unwrap().modified().unwrap();
    let text = std::fs::read_to_string(&up).unwrap();
    std::fs::write(&up, text.replace("INTEGER", "INTEGEX")).unwrap();
    std::fs::File::options().write(true).open(&up).unwrap().set_modified(modified).unwrap();
    assert_eq!(std::fs::metadata(&up).unwrap().len() as usize, text.len());
    cached.expect_status(&["r012"], &[], "a same-size edit with its mtime restored");
    std::fs::write(&up, text).unwrap();

    // The manifest: a new message is part of the checksum and of what `show` prints.
    let manifest = cached.dir("r013").join("revision.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    cached.rewarm();
    std::fs::write(&manifest, text.replace("revision r013", "revision r013, renamed")).unwrap();
    let seen = cached.expect_status(&["r013"], &[], "a manifest");
    assert_eq!(counts(&seen, "manifest(s)"), (REVISIONS - 1, 1), "{seen}");
    let show = wasmig_in(cached.project.path(), Some(cached.cache.path()), &["show", "r013"]);
    assert!(show.stdout.contains("revision r013, renamed"), "{show}");
    std::fs::write(&manifest, text).unwrap();

    // A verify.sql added where there was none: not part of the checksum, but the entry is rebuilt.
    cached.rewarm();
    std::fs::write(cached.dir("r014").join("verify.sql"), "SELECT 1").unwrap();
    let seen = cached.expect_status(&[], &[], "an added verify.sql");
    assert_eq!(counts(&seen, "checksum(s)").1, 1, "the directory changed: {seen}");

    // A new revision, then removed again.
    let last = format!("r{:03}", REVISIONS - 1);
    let new = format!("r{REVISIONS:03}");
    add_sql_revision(cached.project.path(), &new, &[&last], "CREATE TABLE t_new (id INTEGER);", "");
    cached.expect_status(&[], &[&new], "a new revision");
    let heads = wasmig_in(cached.project.path(), Some(cached.cache.path()), &["heads"]);
    assert!(heads.stdout.contains(&new), "{heads}");
    std::fs::remove_dir_all(cached.dir(&new)).unwrap();
    cached.expect_status(&[], &[], "the new revision removed");
    let heads = wasmig_in(cached.project.path(), Some(cached.cache.path()), &["heads"]);
    assert!(heads.stdout.contains(&last) && !heads.stdout.contains(&new), "{heads}");

    // Two directories swapping names: each path now holds the other's
    // manifest, which is read again and refused (a directory is named by its id).
    cached.rewarm();
    let (a, b) = (cached.dir("r020"), cached.dir("r021"));
    let swap = cached.dir("swap");
    let swap_names = || {
        std::fs::rename(&a, &swap).unwrap();
        std::fs::rename(&b, &a).unwrap();
        std::fs::rename(&swap, &b).unwrap();
    };
    swap_names();
    let refused = cached.status();
    assert_eq!(refused.code, Some(2), "{refused}");
    assert!(refused.stderr.contains("migrations/r021 holds revision `r020`"), "{refused}");
    swap_names();
    cached.expect_status(&[], &[], "swapped back");
    // And one renamed: nothing drifts, and nothing is read twice after.
    std::fs::rename(cached.dir("r030"), cached.dir("r030_renamed")).unwrap();
    cached.expect_status(&[], &[], "a renamed directory");
}

#[test]
fn a_damaged_or_foreign_cache_is_ignored_and_rewritten() {
    let cached = Cached::new();
    let file = cache_file(cached.cache.path());
    let whole = std::fs::read(&file).unwrap();
    for (what, bytes) in [
        ("a flipped byte", {
            let mut bytes = whole.clone();
            let middle = bytes.len() / 2;
            bytes[middle] ^= 0x20;
            bytes
        }),
        ("a truncated file", whole[..whole.len() / 3].to_vec()),
        ("another program's file", b"not a wasmig cache".to_vec()),
        ("an empty file", Vec::new()),
    ] {
        std::fs::write(&file, bytes).unwrap();
        let seen = cached.expect_status(&[], &[], what);
        assert_eq!(counts(&seen, "manifest(s)"), (0, REVISIONS), "{what}: everything read again");
        let again = cached.expect_status(&[], &[], what);
        assert_eq!(counts(&again, "manifest(s)"), (REVISIONS, 0), "{what}: rewritten whole");
    }
    // An edit made while the cache was damaged is still seen once it is rewritten.
    std::fs::write(cached.dir("r005").join("down.sql"), "DROP TABLE t_r005; -- edited\n").unwrap();
    cached.expect_status(&["r005"], &[], "an edit after a rewrite");

    // Turned off, it is neither read nor written.
    std::fs::remove_file(&file).unwrap();
    let mut command = Command::new(wasmig_binary());
    command.arg("-C").arg(cached.project.path()).env("WASMIG_CACHE_DIR", cached.cache.path());
    let off = run(command.env("WASMIG_PROJECT_CACHE", "off").args(["--database", &cached.url, "status"]));
    assert_eq!(off.code, Some(3), "r005 drifted: {off}");
    assert!(!file.exists(), "no cache written");
}

#[test]
fn commands_that_only_read_never_start_the_wasm_engine() {
    let project = tempfile::tempdir().unwrap();
    write_sql_project(project.path(), &[]);
    add_sql_revision(project.path(), "a1", &[], "CREATE TABLE a (id INTEGER);", "DROP TABLE a;");
    add_sql_revision(project.path(), "b2", &["a1"], "CREATE TABLE b (id INTEGER);", "DROP TABLE b;");
    add_sql_revision(project.path(), "c3", &["b2"], "CREATE TABLE c (id INTEGER);", "DROP TABLE c;");
    let db_dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", db_dir.path().join("app.db").display());
    const ENGINE: &str = "starting the wasm engine";

    let upgrade = wasmig_in(project.path(), None, &["--database", &url, "upgrade", "b2"]);
    assert_eq!(upgrade.code, Some(0), "{upgrade}");
    assert!(upgrade.stderr.contains(ENGINE), "an upgrade runs hooks: {upgrade}");
    for args in [
        &["status"][..],
        &["current"],
        &["plan", "heads"],
        &["plan", "base", "--down"],
        &["history"],
        &["history", "-i"],
        &["heads"],
        &["branches"],
        &["show", "b2"],
        &["upgrade", "b2"],
        &["upgrade", "--dry-run"],
    ] {
        let mut command = vec!["--database", &url];
        if matches!(args[0], "heads" | "branches") || (args[0] == "history" && args.len() == 1) {
            command.clear();
        }
        command.extend_from_slice(args);
        let finished = wasmig_in(project.path(), None, &command);
        assert!(matches!(finished.code, Some(0 | 3)), "{args:?}: {finished}");
        assert!(!finished.stderr.contains(ENGINE), "{args:?} started the engine: {finished}");
    }
    let verify = wasmig_in(project.path(), None, &["--database", &url, "verify"]);
    assert!(verify.stderr.contains(ENGINE), "verify runs each revision's verify hook: {verify}");

    // The library: reading where a database stands leaves the runtime unstarted.
    let migrator = Migrator::open(project.path()).unwrap();
    let mut db = migrator.connect_existing(&url).unwrap();
    let status = migrator.status(&mut db).unwrap();
    assert_eq!(status.pending, ["c3"]);
    let plan = migrator.plan(&mut db, &wasmig::graph::Target::Heads, wasmig::graph::Direction::Up).unwrap();
    assert_eq!(plan.steps.len(), 1);
    assert!(!migrator.runtime_started() && migrator.runtime_stats() == Default::default());
    migrator.runtime().unwrap();
    assert!(migrator.runtime_started(), "started on first need");
}
