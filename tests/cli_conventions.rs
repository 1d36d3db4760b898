//! The `wasmig` binary's conventions (issue 13): the project found upward from a subdirectory, shell completions and
//! the manual page, colour only on a terminal, command options before global ones in `--help`, options that do not
//! apply refused, offline SQL in a PostgreSQL `?schema=` with a comment per revision, date-ordered directories.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use wasmig_tests::matrix::{
    Engine, Finished, TestDb, component_cache_dir, replay, run, table_of, wasmig_binary, write_config,
};
use wasmig_tests::{add_sql_revision, write_sql_project};

const DONE: Option<i32> = Some(0);
const USAGE: Option<i32> = Some(2);

/// `wasmig` started in `cwd`, without `-C` or `DATABASE_URL`.
fn wasmig_in(cwd: &Path) -> Command {
    let mut command = Command::new(wasmig_binary());
    command
        .current_dir(cwd)
        .env("WASMIG_CACHE_DIR", component_cache_dir())
        .env_remove("DATABASE_URL")
        .env_remove("RUST_LOG")
        .env_remove("NO_COLOR");
    command
}

fn expect(finished: &Finished, code: Option<i32>, what: &str) {
    assert_eq!(finished.code, code, "{what}: {finished}");
}

/// A project of two SQL revisions, `r1` <- `r2`, each creating its table.
fn two_revisions(dir: &Path) {
    write_sql_project(dir, &[]);
    for (id, parents) in [("r1", &[][..]), ("r2", &["r1"][..])] {
        add_sql_revision(dir, id, parents, &format!("CREATE TABLE {} (id INTEGER);\n", table_of(id)), "");
        std::fs::write(dir.join("migrations").join(id).join("down.sql"), format!("DROP TABLE {};\n", table_of(id)))
            .unwrap();
    }
}

#[test]
fn the_project_is_found_upward_and_commands_run_as_at_its_root() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("project");
    std::fs::create_dir(&root).unwrap();
    two_revisions(&root);
    write_config(&root, "[database]\nurl = \"sqlite:app.db\"\n");
    let deep = root.join("migrations").join("r1").join("notes");
    std::fs::create_dir_all(&deep).unwrap();

    let heads = run(wasmig_in(&deep).args(["heads"]));
    expect(&heads, DONE, "heads from a subdirectory");
    assert!(heads.stdout.contains("r2"), "{heads}");

    // The relative `sqlite:app.db` of wasmig.toml is the root's, as with -C.
    expect(&run(wasmig_in(&deep).args(["upgrade"])), DONE, "upgrade from a subdirectory");
    assert!(root.join("app.db").is_file(), "the database belongs at the project root");
    assert!(!deep.join("app.db").exists(), "the database was created in the subdirectory");
    expect(&run(wasmig_in(&root.join("migrations")).args(["status"])), DONE, "status from migrations/");

    // Outside any project: a usage error naming where the search started.
    let outside = dir.path().join("elsewhere");
    std::fs::create_dir(&outside).unwrap();
    let lost = run(wasmig_in(&outside).args(["heads"]));
    expect(&lost, USAGE, "heads outside a project");
    assert!(lost.stderr.contains(&outside.display().to_string()), "names the directory: {lost}");
    assert!(lost.stderr.contains("wasmig init") && lost.stderr.contains("-C DIR"), "says what to do: {lost}");
    assert!(!outside.join("app.db").exists());

    // `init` does not search: it starts a project where it runs.
    let nested = root.join("tools");
    std::fs::create_dir(&nested).unwrap();
    expect(&run(wasmig_in(&nested).args(["init"])), DONE, "init inside a project's subdirectory");
    assert!(nested.join("wasmig.toml").is_file() && nested.join("migrations").is_dir());
    let inner = run(wasmig_in(&nested).args(["heads"]));
    expect(&inner, DONE, "heads of the nested project");
    assert!(!inner.stdout.contains("r2"), "the nearest project wins: {inner}");
}

#[test]
fn completions_for_every_shell_and_the_manual_page_come_from_the_clap_definitions() {
    let outside = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = run(wasmig_in(outside.path()).args(["completions", shell]));
        expect(&script, DONE, shell);
        for word in ["upgrade", "downgrade", "tenants", "completions", "dry-run"] {
            assert!(script.stdout.contains(word), "{shell} completions lack {word}: {script}");
        }
    }
    let unknown = run(wasmig_in(outside.path()).args(["completions", "tcsh"]));
    expect(&unknown, USAGE, "an unknown shell");

    let page = run(wasmig_in(outside.path()).args(["man"]));
    expect(&page, DONE, "man");
    assert!(page.stdout.starts_with(".ie") || page.stdout.contains("\n.TH"), "not roff: {page}");
    assert!(page.stdout.contains(".TH wasmig 1"), "{page}");
    assert!(page.stdout.contains("wasmig\\-upgrade(1)") || page.stdout.contains("upgrade"), "{page}");

    let pages = outside.path().join("man1");
    expect(&run(wasmig_in(outside.path()).args(["man", "--out"]).arg(&pages)), DONE, "man --out");
    for name in ["wasmig.1", "wasmig-upgrade.1", "wasmig-tenants.1", "wasmig-tenants-status.1", "wasmig-completions.1"]
    {
        let text = std::fs::read_to_string(pages.join(name)).unwrap_or_else(|error| panic!("{name}: {error}"));
        assert!(text.contains(".TH"), "{name} is no manual page");
    }
    let upgrade = std::fs::read_to_string(pages.join("wasmig-upgrade.1")).unwrap();
    assert!(upgrade.contains("dry\\-run"), "the upgrade page lacks its options");
}

#[test]
fn log_lines_are_coloured_only_on_a_terminal_and_never_with_no_color() {
    let dir = tempfile::tempdir().unwrap();
    two_revisions(dir.path());
    write_config(dir.path(), "[database]\nurl = \"sqlite:app.db\"\n");
    let piped = run(wasmig_in(dir.path()).args(["-vv", "upgrade", "r1"]));
    expect(&piped, DONE, "upgrade -vv, piped");
    assert!(!piped.stderr.is_empty(), "-vv said nothing, so colour cannot be checked: {piped}");
    assert!(!piped.stderr.contains('\u{1b}'), "ANSI codes in piped output: {piped:?}");

    // On a terminal (script(1) gives the process one) colour is on, unless NO_COLOR says otherwise.
    let on_terminal = |no_color: Option<&str>, revision: &str| {
        let line = format!("{} -vv upgrade {revision}", wasmig_binary().display());
        let mut command = Command::new("script");
        command
            .current_dir(dir.path())
            .args(["-qec", &line, "/dev/null"])
            .env("WASMIG_CACHE_DIR", component_cache_dir())
            .env_remove("DATABASE_URL")
            .env_remove("RUST_LOG")
            .env_remove("NO_COLOR");
        if let Some(value) = no_color {
            command.env("NO_COLOR", value);
        }
        run(&mut command)
    };
    let coloured = on_terminal(None, "r2");
    expect(&coloured, DONE, "upgrade -vv on a terminal");
    assert!(coloured.stdout.contains('\u{1b}'), "no colour on a terminal: {coloured:?}");
    expect(&run(wasmig_in(dir.path()).args(["downgrade", "r1"])), DONE, "back to r1");
    let plain = on_terminal(Some("1"), "r2");
    expect(&plain, DONE, "upgrade -vv on a terminal with NO_COLOR");
    assert!(!plain.stdout.contains('\u{1b}'), "colour despite NO_COLOR: {plain:?}");
}

#[test]
fn help_lists_a_commands_own_options_before_the_global_ones() {
    let outside = tempfile::tempdir().unwrap();
    for (command, own) in [("upgrade", "--dry-run"), ("tenants upgrade", "--canary"), ("new", "--message")] {
        let mut args: Vec<&str> = command.split(' ').collect();
        args.push("--help");
        let help = run(wasmig_in(outside.path()).args(&args));
        expect(&help, DONE, command);
        let at = |text: &str| help.stdout.find(text).unwrap_or_else(|| panic!("{command} --help lacks {text}: {help}"));
        assert!(at(own) < at("Global options:"), "{command}: own options come first: {help}");
        assert!(at("Global options:") < at("--database"), "{command}: --database is a global option: {help}");
    }
    for (command, described) in [("repair", "files changed"), ("resolve", "left dirty")] {
        let help = run(wasmig_in(outside.path()).args([command, "--help"]));
        assert!(help.stdout.contains(described), "{command}'s <REVISION> is undescribed: {help}");
    }
}

#[test]
fn options_that_do_not_apply_are_refused_naming_the_option_and_the_command() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    two_revisions(root);
    std::fs::create_dir(root.join("tenants")).unwrap();
    let tenants = "sqlite:tenants/*.db";
    let refused = |args: &[&str], option: &str, command: &str| {
        let finished = run(wasmig_in(root).args(args));
        expect(&finished, USAGE, &args.join(" "));
        assert!(
            finished.stderr.contains(option) && finished.stderr.contains(command),
            "{args:?}: the message names {option} and {command}: {finished}"
        );
    };
    let db = "--database=sqlite:app.db";
    refused(&["heads", db], "--database", "wasmig heads");
    refused(&[db, "branches"], "--database", "wasmig branches");
    refused(&["graph", db], "--database", "wasmig graph");
    refused(&["new", "-m", "x", db], "--database", "wasmig new");
    refused(&["merge", "r1", "r2", db], "--database", "wasmig merge");
    refused(&["build", "--check", db], "--database", "wasmig build");
    refused(&["-C", "fresh", "init", db], "--database", "wasmig init");
    assert!(!root.join("fresh").exists(), "a refused init created its directory");
    refused(&["tenants", "status", "--tenants", tenants, db], "--database", "tenants status");
    refused(&["tenants", "upgrade", "--tenants", tenants, db], "--database", "tenants upgrade");
    refused(&["tenants", "status", "--tenants", tenants, "--canary", "1"], "--canary", "tenants status");
    refused(&["tenants", "status", "--tenants", tenants, "--fail-fast"], "--fail-fast", "tenants status");
    refused(&["upgrade", "--dry-run", "--adopt", db], "--adopt", "wasmig upgrade");
    refused(&["upgrade", "--sql", "--adopt"], "--adopt", "wasmig upgrade");
    refused(&["upgrade", "--dry-run", "--transaction", "all", db], "--transaction", "wasmig upgrade");
    refused(&["downgrade", "base", "--dry-run", "--tenant", "t1", db], "--tenant", "wasmig downgrade");
    refused(&["plan", "heads", "--from", "base", db], "--database", "wasmig plan");
    refused(&["completions", "bash", "--format", "json"], "--format", "wasmig completions");
    assert!(!root.join("app.db").exists(), "a refused command opened the database");

    // The options still work where they apply.
    std::fs::write(root.join("tenants").join("t1.db"), "").unwrap();
    let rollout =
        run(wasmig_in(root).args(["tenants", "upgrade", "--tenants", tenants, "--canary", "1", "--fail-fast"]));
    expect(&rollout, DONE, "tenants upgrade --canary --fail-fast");
    // DATABASE_URL in the environment is for the commands that use it: never refused.
    let with_env = |args: &[&str]| run(wasmig_in(root).env("DATABASE_URL", "sqlite:env.db").args(args));
    expect(&with_env(&["heads"]), DONE, "heads with DATABASE_URL set");
    expect(&with_env(&["tenants", "status", "--tenants", tenants]), DONE, "tenants status with DATABASE_URL set");
    expect(&with_env(&["plan", "heads", "--from", "base"]), DONE, "plan --from with DATABASE_URL set");
    assert!(!root.join("env.db").exists(), "DATABASE_URL was opened by a command that needs no database");
    expect(&run(wasmig_in(root).args(["upgrade", "--dry-run", db])), DONE, "upgrade --dry-run --database");
}

/// Offline SQL for `url`, replayed by `sqlite3` or `psql` against `replay_url`.
fn offline_then_replay(root: &Path, url: &str, args: &[&str], db: &TestDb) -> String {
    let printed = run(wasmig_in(root).args(args).arg("--database").arg(url));
    expect(&printed, DONE, &format!("{args:?} --database {url}"));
    let replayed = replay(db, &printed.stdout);
    expect(&replayed, DONE, &format!("replaying:\n{}", printed.stdout));
    printed.stdout
}

/// The lines of `script` that are `-- wasmig:` step comments.
fn markers(script: &str) -> Vec<&str> {
    script.lines().filter(|line| line.starts_with("-- wasmig:")).collect()
}

#[test]
fn offline_sql_goes_to_the_urls_schema_like_a_run_and_marks_each_revision() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    two_revisions(root);
    let db = TestDb::fresh(Engine::Postgres);
    db.execute("CREATE SCHEMA app");
    let in_app = format!("{}?schema=app", db.url());

    let script = offline_then_replay(root, &in_app, &["upgrade", "--sql"], &db);
    assert!(script.contains("SET search_path TO \"app\";"), "{script}");
    assert_eq!(
        markers(&script),
        [r#"-- wasmig: up r1 "revision r1""#, r#"-- wasmig: up r2 "revision r2""#],
        "{script}"
    );
    // Each marker heads its revision's statements.
    let r1 = script.find(r#"-- wasmig: up r1"#).unwrap();
    assert!(script[r1..].lines().nth(1).unwrap().contains(&table_of("r1")), "{script}");

    let tables_in = |schema: &str| -> BTreeSet<String> {
        db.texts(&format!("SELECT tablename::text FROM pg_catalog.pg_tables WHERE schemaname = '{schema}'"))
            .into_iter()
            .map(|row| row[0].clone().unwrap())
            .collect()
    };
    let names = |items: &[&str]| items.iter().map(|item| (*item).to_owned()).collect::<BTreeSet<String>>();
    assert_eq!(
        tables_in("app"),
        names(&[&table_of("r1"), &table_of("r2"), "wasmig_events", "wasmig_journal", "wasmig_revisions"])
    );
    assert!(tables_in("public").is_empty(), "the script wrote outside ?schema=: {:?}", tables_in("public"));
    // A run on the same URL sees a database at its heads, and a downgrade script undoes it there.
    expect(&run(wasmig_in(root).args(["status", "--database", &in_app])), DONE, "status in app");
    let down = offline_then_replay(root, &in_app, &["downgrade", "base", "--sql", "--from", "r2"], &db);
    assert_eq!(markers(&down), [r#"-- wasmig: down r2 "revision r2""#, r#"-- wasmig: down r1 "revision r1""#]);
    assert_eq!(tables_in("app"), names(&["wasmig_events", "wasmig_journal", "wasmig_revisions"]));
    expect(&run(wasmig_in(root).args(["status", "--database", &in_app])), Some(3), "status in app after down (behind)");
}

#[test]
fn offline_sqlite_sql_marks_each_revision_inside_its_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    two_revisions(root);
    let db = TestDb::fresh(Engine::Sqlite);
    let script = offline_then_replay(root, db.url(), &["upgrade", "--sql", "--transaction", "all"], &db);
    assert_eq!(
        markers(&script),
        [r#"-- wasmig: up r1 "revision r1""#, r#"-- wasmig: up r2 "revision r2""#],
        "{script}"
    );
    let begin = script.find("BEGIN").unwrap();
    assert!(begin < script.find("-- wasmig: up r1").unwrap(), "the marker is inside the transaction: {script}");
    assert!(script.find("-- wasmig: up r2").unwrap() < script.find("COMMIT").unwrap(), "{script}");
    expect(&run(wasmig_in(root).args(["status", "--database", db.url()])), DONE, "status after the replay");
}

#[test]
fn date_ordered_directories_name_new_revisions_and_merges_and_keep_their_ids() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_sql_project(root, &[]);
    write_config(root, "[new]\ndirectory = \"date\"\n");
    let created = |args: &[&str]| {
        let finished = run(wasmig_in(root).args(args).args(["--format", "json"]));
        expect(&finished, DONE, &args.join(" "));
        let value: serde_json::Value = serde_json::from_str(&finished.stdout).unwrap();
        let dir = Path::new(value["dir"].as_str().unwrap()).file_name().unwrap().to_string_lossy().into_owned();
        (value["id"].as_str().unwrap().to_owned(), dir)
    };
    let date_named = |name: &str, slug: &str| {
        let (date, rest) = name.split_at(16);
        let bytes = date.as_bytes();
        bytes[..8].iter().chain(&bytes[9..15]).all(u8::is_ascii_digit)
            && bytes[8] == b'_'
            && bytes[15] == b'_'
            && date.starts_with("20")
            && rest == slug
    };
    let (base, base_dir) = created(&["new", "-m", "create users", "--id", "aaa111"]);
    assert_eq!(base, "aaa111", "the id is as asked");
    assert!(date_named(&base_dir, "create_users"), "{base_dir}");
    let (left, left_dir) = created(&["new", "-m", "add email", "--parent", "aaa111"]);
    assert!(date_named(&left_dir, "add_email"), "{left_dir}");
    assert_eq!(left.len(), 12, "a generated id as usual: {left}");
    let (_, right_dir) = created(&["new", "-m", "add email", "--parent", "aaa111", "--id", "bbb222"]);
    // The same message in the same second still gets a directory of its own.
    assert!(date_named(&right_dir, "add_email") || date_named(&right_dir, "add_email_bbb222"), "{right_dir}");
    assert_ne!(right_dir, left_dir);
    let (merge, merge_dir) = created(&["merge", "-m", "join email"]);
    assert!(date_named(&merge_dir, "join_email"), "{merge_dir}");
    // The graph reads ids from revision.toml: a project mixing both layouts loads.
    std::fs::rename(root.join("migrations").join(&base_dir), root.join("migrations").join("aaa111_create_users"))
        .unwrap();
    let heads = run(wasmig_in(root).args(["heads"]));
    expect(&heads, DONE, "heads");
    assert!(heads.stdout.contains(&merge), "{heads}");
    let history = run(wasmig_in(root).args(["history"]));
    assert!(history.stdout.contains("aaa111") && history.stdout.contains("bbb222"), "{history}");
}
