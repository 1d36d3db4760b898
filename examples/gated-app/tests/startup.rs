//! The gated app's start-up order: nothing of the app happens before `wasmig::ensure_ready` returns `Ok`, and a failed migration stops start-up.

use std::cell::Cell;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gated_app::{Config, Event, StartError, StartupLog, start, start_gated_by};

/// The revision a broken copy of the project adds on top of the real ones:
/// it creates a table the first revision already created, so it fails.
const FAILING_REVISION: &str = "0badc0ffee00";

fn sqlite_url(dir: &Path) -> String {
    format!("sqlite:{}", dir.join("app.db").display())
}

/// A port nobody listens on right now (bound, then released).
fn free_address() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

fn config(project_dir: PathBuf, database_url: String, listen: SocketAddr) -> Config {
    Config { project_dir, database_url, listen }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A copy of the app's project with [`FAILING_REVISION`] on top.
fn broken_project(dir: &Path) -> PathBuf {
    let project = dir.join("project");
    let bundled = Config::bundled_project_dir();
    copy_dir(&bundled.join("migrations"), &project.join("migrations"));
    std::fs::copy(bundled.join("wasmig.toml"), project.join("wasmig.toml")).unwrap();
    let revision = project.join("migrations").join(format!("{FAILING_REVISION}_create_greetings_again"));
    std::fs::create_dir_all(&revision).unwrap();
    std::fs::write(
        revision.join("revision.toml"),
        format!("id = \"{FAILING_REVISION}\"\nmessage = \"create greetings again\"\nparents = [\"effcf123ace8\"]\n"),
    )
    .unwrap();
    std::fs::write(revision.join("up.sql"), "CREATE TABLE greetings (id BIGINT PRIMARY KEY);\n").unwrap();
    std::fs::write(revision.join("down.sql"), "DROP TABLE greetings;\n").unwrap();
    project
}

/// `GET path` over a fresh connection: the status code and the body.
fn get(address: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(5)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").expect("a response head and body");
    let status = head.split_whitespace().nth(1).and_then(|code| code.parse().ok()).expect("a status code");
    (status, body.to_owned())
}

fn position(events: &[Event], wanted: impl Fn(&Event) -> bool) -> usize {
    events.iter().position(wanted).unwrap_or_else(|| panic!("event missing from {events:#?}"))
}

#[test]
fn nothing_of_the_app_happens_until_the_gate_returns_ok() {
    let dir = tempfile::tempdir().unwrap();
    let log = StartupLog::new();
    let events_when_gate_entered = Cell::new(None);
    let events_when_gate_returned = Cell::new(None);
    let config = config(Config::bundled_project_dir(), sqlite_url(dir.path()), free_address());

    let app = start_gated_by(&config, &log, |project_dir, database_url| {
        events_when_gate_entered.set(Some(log.events().len()));
        let ready = wasmig::ensure_ready(project_dir, database_url);
        events_when_gate_returned.set(Some(log.events().len()));
        ready
    })
    .unwrap();

    // The log was empty while migrations ran: no configuration line, no
    // table access, no handler, no socket before the gate returned.
    assert_eq!(events_when_gate_entered.get(), Some(0));
    assert_eq!(events_when_gate_returned.get(), Some(0));
    assert_eq!(app.migrations.steps.len(), 2, "{:?}", app.migrations);

    let (status, body) = get(app.address(), "/greetings");
    assert_eq!((status, body.as_str()), (200, "en: Hello\nfr: Bonjour\nja: こんにちは\n"));
    let events = log.events();
    assert_eq!(
        events[..6],
        [
            Event::MigrationsReady { applied: 2 },
            Event::ConfigLogged(format!(
                "config: project={} database={} listen={}",
                config.project_dir.display(),
                config.database_url,
                config.listen
            )),
            Event::TablesOpened { greetings: 3 },
            Event::HandlerRegistered("/health"),
            Event::HandlerRegistered("/greetings"),
            Event::Listening(app.address()),
        ]
    );
    assert_eq!(events[6..], [Event::TableRead("greetings"), Event::Served { path: "/greetings".into(), status: 200 }]);
    app.shutdown();
}

#[test]
fn behind_the_real_gate_the_database_is_migrated_before_the_first_side_effect() {
    let dir = tempfile::tempdir().unwrap();
    let log = StartupLog::new();
    let config = config(Config::bundled_project_dir(), sqlite_url(dir.path()), free_address());

    let app = start(&config, &log).unwrap();
    let events = log.events();
    assert_eq!(events[0], Event::MigrationsReady { applied: 2 }, "{events:#?}");
    let ready = position(&events, |event| matches!(event, Event::MigrationsReady { .. }));
    for (index, event) in events.iter().enumerate().filter(|(_, event)| !matches!(event, Event::MigrationsReady { .. }))
    {
        assert!(index > ready, "{event:?} happened before migrations were done: {events:#?}");
    }
    let (status, body) = get(app.address(), "/greetings?language=fr");
    assert_eq!((status, body.as_str()), (200, "fr: Bonjour\n"));
    assert_eq!(get(app.address(), "/health"), (200, "ok\n".to_owned()));
    app.shutdown();

    // A second start finds the database at the heads and applies nothing.
    let again = StartupLog::new();
    let app = start(&config, &again).unwrap();
    assert!(app.migrations.steps.is_empty(), "{:?}", app.migrations);
    assert_eq!(again.events()[0], Event::MigrationsReady { applied: 0 });
    app.shutdown();
}

#[test]
fn a_failed_migration_stops_start_up_with_nothing_registered_or_served() {
    let dir = tempfile::tempdir().unwrap();
    let log = StartupLog::new();
    let listen = free_address();
    let config = config(broken_project(dir.path()), sqlite_url(dir.path()), listen);

    let error = match start(&config, &log) {
        Err(StartError::Migrations(error)) => error,
        Err(other) => panic!("expected the migrations to stop start-up, got {other}"),
        Ok(app) => panic!("the app started at {} despite a failing revision", app.address()),
    };
    let message = error.to_string();
    assert!(message.contains(FAILING_REVISION) && message.contains("already exists"), "{message}");
    // The two good revisions committed before the failing one: the failure
    // really happened mid-plan, after the database was touched.
    let committed: Vec<&str> = error.committed().unwrap().steps.iter().map(|step| step.revision.as_str()).collect();
    assert_eq!(committed, ["fc7a5791c5cc", "effcf123ace8"]);

    assert_eq!(log.events(), [], "the app did something although its migrations failed");
    let refused = TcpStream::connect_timeout(&listen, Duration::from_secs(2));
    assert!(refused.is_err(), "something listens on {listen} although start-up stopped");
}

#[test]
fn the_binary_exits_non_zero_when_a_migration_fails() {
    let dir = tempfile::tempdir().unwrap();
    let project = broken_project(dir.path());
    let output = Command::new(env!("CARGO_BIN_EXE_gated-app"))
        .args(["--project".as_ref(), project.as_os_str()])
        .args(["--database", &sqlite_url(dir.path()), "--listen", &free_address().to_string()])
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "stdout: {stdout}\nstderr: {stderr}");
    assert!(
        stderr.contains("start-up stopped: migrations did not complete") && stderr.contains(FAILING_REVISION),
        "{stderr}"
    );
    assert!(!stderr.contains("config:") && !stdout.contains("listening"), "stdout: {stdout}\nstderr: {stderr}");
}

#[test]
fn the_binary_migrates_then_serves() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_gated-app"))
        .args(["--database", &sqlite_url(dir.path()), "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let started = Instant::now();
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let served = line
        .trim()
        .strip_prefix("listening on ")
        .and_then(|address| address.parse::<SocketAddr>().ok())
        .map(|address| get(address, "/greetings?language=ja"));
    child.kill().unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        served,
        Some((200, "ja: こんにちは\n".to_owned())),
        "first stdout line {line:?} after {:?}; stderr: {stderr}",
        started.elapsed()
    );
    // The binary logs its configuration only after the migrations are done.
    let ready = stderr.find("MigrationsReady").unwrap_or_else(|| panic!("{stderr}"));
    let config = stderr.find("config:").unwrap_or_else(|| panic!("{stderr}"));
    assert!(ready < config, "{stderr}");
}
