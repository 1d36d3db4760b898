//! Connecting as psql does, against a throw-away PostgreSQL cluster with TLS on: every `sslmode`, root certificates, host name checks, client certificates, the `PG*` environment and the password file; and a migration (its lock connection included) over TLS.
//!
//! The cluster (initdb in a temporary directory, a free port on 127.0.0.1)
//! only takes TLS connections over TCP (`hostssl`, `hostnossl ... reject`),
//! so a connection that succeeds proves it was encrypted. Its certificate,
//! made here by a CA made here, names `localhost` only. The tests share one
//! cluster while any of them runs; the last one done stops it. Tests that
//! need their own environment variables run the `wasmig` binary.
//!
//! The PostgreSQL server programs (initdb, pg_ctl) must be installed: the
//! tests fail, never skip, without them (`WASMIG_TEST_PG_BIN` names their
//! directory if the usual places do not hold them).
#![cfg(unix)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose};
use wasmig::backend::postgres::PostgresBackend;
use wasmig::backend::{Backend, ConnectError};
use wasmig::graph::Target;
use wasmig::sql::Value;
use wasmig::{Database, NoProgress, RunOptions};
use wasmig_tests::matrix::{Finished, migrator, wasmig_binary};
use wasmig_tests::{add_sql_revision, write_sql_project};

const USER: &str = "app";
const PASSWORD: &str = "s3cret-Pw";
const DATABASE: &str = "appdb";
/// Logs in with its client certificate (`cert` authentication).
const CERT_USER: &str = "certuser";

/// A PostgreSQL cluster of its own, stopped and removed on drop.
#[derive(Debug)]
struct Cluster {
    port: u16,
    bin: PathBuf,
    data: PathBuf,
    socket_dir: PathBuf,
    /// Runs the server programs as `postgres` (initdb refuses root).
    as_postgres: bool,
    /// The client's files: the CA, another CA, client certificates.
    client: tempfile::TempDir,
    _server: tempfile::TempDir,
}

/// The shared cluster: started by the first test that needs it, stopped
/// when the last test holding it is done.
fn cluster() -> Arc<Cluster> {
    static SHARED: Mutex<Weak<Cluster>> = Mutex::new(Weak::new());
    let mut shared = SHARED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(cluster) = shared.upgrade() {
        return cluster;
    }
    let cluster = Arc::new(Cluster::start());
    *shared = Arc::downgrade(&cluster);
    cluster
}

fn pg_bin() -> PathBuf {
    if let Some(dir) = std::env::var_os("WASMIG_TEST_PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut candidates: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin"))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    candidates.sort_by_key(|bin| {
        bin.parent().and_then(|version| version.file_name()?.to_str()?.parse::<u32>().ok()).unwrap_or(0)
    });
    candidates.pop().unwrap_or_else(|| {
        panic!(
            "the PostgreSQL server programs (initdb, pg_ctl) are needed for the TLS tests: install the PostgreSQL \
             server package, or set WASMIG_TEST_PG_BIN to their directory"
        )
    })
}

fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").map(|meta| meta.uid() == 0).unwrap_or(false)
}

fn uid_of(user: &str) -> (u32, u32) {
    let passwd = std::fs::read_to_string("/etc/passwd").expect("read /etc/passwd");
    passwd
        .lines()
        .find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            (fields.first() == Some(&user)).then(|| (fields[2].parse().unwrap(), fields[3].parse().unwrap()))
        })
        .unwrap_or_else(|| panic!("running as root, the tests run the server as user `{user}`, which does not exist"))
}

fn write_private(path: &Path, contents: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, contents).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A CA certificate (PEM) and its issuer.
fn certificate_authority(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

/// A certificate signed by `ca` for `names`, with common name `common_name`: (certificate PEM, key PEM).
fn leaf(ca: &CertifiedIssuer<'static, KeyPair>, common_name: &str, names: &[&str]) -> (String, String) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(names.iter().map(|name| (*name).to_owned()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name.push(DnType::CommonName, common_name);
    let certificate = params.signed_by(&key, ca).unwrap();
    (certificate.pem(), key.serialize_pem())
}

impl Cluster {
    fn start() -> Cluster {
        let bin = pg_bin();
        let as_postgres = running_as_root();
        let server = tempfile::Builder::new().prefix("wasmig-tls-cluster").tempdir().unwrap();
        let client = tempfile::Builder::new().prefix("wasmig-tls-client").tempdir().unwrap();
        let data = server.path().join("data");
        let socket_dir = server.path().join("socket");
        std::fs::create_dir(&socket_dir).unwrap();

        let ca = certificate_authority("wasmig test CA");
        let other_ca = certificate_authority("some other CA");
        std::fs::write(client.path().join("ca.crt"), ca.pem()).unwrap();
        std::fs::write(client.path().join("other-ca.crt"), other_ca.pem()).unwrap();
        let (client_cert, client_key) = leaf(&ca, CERT_USER, &[]);
        std::fs::write(client.path().join("client.crt"), client_cert).unwrap();
        write_private(&client.path().join("client.key"), &client_key, 0o600);
        // The same key, readable by everyone: refused.
        write_private(&client.path().join("open.key"), &client_key, 0o644);

        let mut cluster = Cluster { port: 0, bin, data, socket_dir, as_postgres, client, _server: server };
        if as_postgres {
            let (uid, gid) = uid_of("postgres");
            for dir in [cluster._server.path(), cluster.socket_dir.as_path()] {
                std::os::unix::fs::chown(dir, Some(uid), Some(gid)).unwrap();
            }
        }
        let data_arg = cluster.data.to_str().unwrap().to_owned();
        cluster.run_checked("initdb", &["-D", &data_arg, "-U", "admin", "--auth=trust", "-E", "UTF8", "--no-sync"]);

        let (server_cert, server_key) = leaf(&ca, "localhost", &["localhost"]);
        for (name, contents, mode) in [
            ("server.crt", server_cert.as_str(), 0o644),
            ("server.key", &server_key, 0o600),
            ("ca.crt", &ca.pem(), 0o644),
        ] {
            let path = cluster.data.join(name);
            write_private(&path, contents, mode);
            if as_postgres {
                let (uid, gid) = uid_of("postgres");
                std::os::unix::fs::chown(&path, Some(uid), Some(gid)).unwrap();
            }
        }
        // TCP takes TLS only; the test's admin uses the Unix socket.
        std::fs::write(
            cluster.data.join("pg_hba.conf"),
            format!(
                "local all admin trust\n\
                 hostssl all {CERT_USER} 127.0.0.1/32 cert\n\
                 hostssl all all 127.0.0.1/32 scram-sha-256\n\
                 hostnossl all all 127.0.0.1/32 reject\n"
            ),
        )
        .unwrap();

        // A port taken between choosing and starting: choose again.
        let mut last_failure = String::new();
        for _ in 0..5 {
            cluster.port = free_port();
            let options = format!(
                "-c listen_addresses=127.0.0.1 -c port={} -c unix_socket_directories={} -c ssl=on \
                 -c ssl_cert_file=server.crt -c ssl_key_file=server.key -c ssl_ca_file=ca.crt \
                 -c password_encryption=scram-sha-256 -c fsync=off -c max_connections=40",
                cluster.port,
                cluster.socket_dir.display()
            );
            let log = cluster.data.join("server.log");
            let started = cluster.run(
                "pg_ctl",
                &["-D", &data_arg, "-l", log.to_str().unwrap(), "-o", &options, "-w", "-t", "30", "start"],
            );
            if started.status.success() {
                cluster.set_up_roles();
                return cluster;
            }
            last_failure = format!(
                "{}{}\n{}",
                String::from_utf8_lossy(&started.stdout),
                String::from_utf8_lossy(&started.stderr),
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        panic!("the TLS test cluster does not start:\n{last_failure}");
    }

    fn run(&self, program: &str, args: &[&str]) -> Output {
        let path = self.bin.join(program);
        let mut command = if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(&path);
            command
        } else {
            Command::new(&path)
        };
        command.args(args).env_remove("PGDATA").current_dir("/");
        command.output().unwrap_or_else(|error| panic!("cannot run {}: {error}", path.display()))
    }

    fn run_checked(&self, program: &str, args: &[&str]) {
        let output = self.run(program, args);
        assert!(
            output.status.success(),
            "{program} failed:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// The superuser over the Unix socket (no TLS there, as libpq).
    fn admin(&self) -> PostgresBackend {
        let conninfo = format!("host={} port={} user=admin dbname=postgres", self.socket_dir.display(), self.port);
        PostgresBackend::connect(&conninfo, None, "the TLS test cluster".into()).expect("admin over the socket")
    }

    fn set_up_roles(&self) {
        let mut admin = self.admin();
        for statement in [
            format!("CREATE ROLE {USER} LOGIN PASSWORD '{PASSWORD}'"),
            format!("CREATE ROLE {CERT_USER} LOGIN"),
            // One statement each: CREATE DATABASE cannot run in a batch's transaction.
            format!("CREATE DATABASE {DATABASE} OWNER {USER}"),
        ] {
            admin.execute_script(&statement).unwrap_or_else(|error| panic!("{statement}: {error}"));
        }
    }

    fn file(&self, name: &str) -> String {
        self.client.path().join(name).to_str().unwrap().to_owned()
    }

    /// `postgres://app:pw@host:port/appdb?<query>`.
    fn url(&self, host: &str, query: &str) -> String {
        format!("postgres://{USER}:{PASSWORD}@{host}:{}/{DATABASE}?{query}", self.port)
    }

    /// A database of its own on the cluster, owned by the test user.
    fn fresh_database(&self, name: &str) -> String {
        self.admin().execute_script(&format!("CREATE DATABASE {name} OWNER {USER}")).expect("create a database");
        format!(
            "postgres://{USER}:{PASSWORD}@localhost:{}/{name}?hostaddr=127.0.0.1&sslmode=verify-full&sslrootcert={}",
            self.port,
            self.file("ca.crt")
        )
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data.to_str().unwrap().to_owned();
        let stopped = self.run("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]);
        if !stopped.status.success() {
            eprintln!("cannot stop the TLS test cluster: {}", String::from_utf8_lossy(&stopped.stderr));
        }
    }
}

fn connect(url: &str) -> Result<PostgresBackend, ConnectError> {
    PostgresBackend::connect(url, None, "the TLS test cluster".into())
}

/// Connects, or fails the test with the error.
fn connected(url: &str) -> PostgresBackend {
    connect(url).unwrap_or_else(|error| panic!("connect with {url}: {error}"))
}

fn refused(url: &str) -> String {
    match connect(url) {
        Ok(_) => panic!("{url} connected but should not"),
        Err(error) => error.to_string(),
    }
}

/// Whether the backend's own connection is encrypted, as the server sees it.
fn encrypted(db: &mut dyn Backend) -> bool {
    let rows = db.query("SELECT ssl::int FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[]).unwrap();
    rows.values == [[Value::Integer(1)]]
}

#[test]
fn require_encrypts_without_verifying_the_certificate() {
    let cluster = cluster();
    let mut db = connected(&cluster.url("127.0.0.1", "sslmode=require"));
    assert!(encrypted(&mut db));
    assert_eq!(
        db.query("SELECT current_user::text", &[]).unwrap().values,
        [[Value::Text(USER.to_owned())]],
        "logged in with the password over TLS"
    );
    // SCRAM bound to the TLS channel (SCRAM-SHA-256-PLUS).
    assert!(encrypted(&mut connected(&cluster.url("127.0.0.1", "sslmode=require&channel_binding=require"))));
}

#[test]
fn verify_ca_takes_the_right_root_and_refuses_another() {
    let cluster = cluster();
    // The certificate names localhost only: verify-ca does not look at the host name.
    let right = cluster.url("127.0.0.1", &format!("sslmode=verify-ca&sslrootcert={}", cluster.file("ca.crt")));
    assert!(encrypted(&mut connected(&right)));

    let other = cluster.file("other-ca.crt");
    let wrong = cluster.url("127.0.0.1", &format!("sslmode=verify-ca&sslrootcert={other}"));
    let error = refused(&wrong);
    assert!(
        error.contains(&format!(
            "sslmode=verify-ca: the server certificate is not signed by a root in sslrootcert {other}"
        )),
        "{error}"
    );
    assert!(error.contains("127.0.0.1 port"), "the error names the host: {error}");
    assert!(!error.contains(PASSWORD), "{error}");

    // libpq: `require` with a root certificate file verifies the chain as verify-ca does.
    let error = refused(&cluster.url("127.0.0.1", &format!("sslmode=require&sslrootcert={other}")));
    assert!(error.contains("sslmode=require: the server certificate is not signed by a root"), "{error}");

    let missing = refused(&cluster.url("127.0.0.1", "sslmode=verify-ca&sslrootcert=/nonexistent/ca.crt"));
    assert!(missing.contains("sslrootcert: cannot read /nonexistent/ca.crt"), "{missing}");
}

#[test]
fn verify_full_checks_the_host_name() {
    let cluster = cluster();
    let root = cluster.file("ca.crt");
    let by_address = cluster.url("127.0.0.1", &format!("sslmode=verify-full&sslrootcert={root}"));
    let error = refused(&by_address);
    assert!(error.contains("sslmode=verify-full: the server certificate is for localhost, not 127.0.0.1"), "{error}");
    assert!(error.contains("sslmode=verify-ca"), "the error names the way out: {error}");

    // By the name the certificate gives (hostaddr avoids depending on how localhost resolves).
    let by_name = cluster.url("localhost", &format!("sslmode=verify-full&sslrootcert={root}&hostaddr=127.0.0.1"));
    assert!(encrypted(&mut connected(&by_name)));
}

#[test]
fn disable_is_refused_by_a_server_that_takes_tls_only() {
    let cluster = cluster();
    match connect(&cluster.url("127.0.0.1", "sslmode=disable")) {
        Err(ConnectError::Open { source, .. }) => {
            assert_eq!(source.code.as_deref(), Some("28000"), "{source}");
            assert!(source.message.contains("no encryption"), "the server's refusal: {source}");
        }
        other => panic!("sslmode=disable should be refused, got {other:?}"),
    }
}

#[test]
fn prefer_and_allow_end_up_encrypted() {
    let cluster = cluster();
    // prefer: TLS when the server offers it.
    assert!(encrypted(&mut connected(&cluster.url("127.0.0.1", "sslmode=prefer"))));
    // The default is prefer.
    let default = format!("postgres://{USER}:{PASSWORD}@127.0.0.1:{}/{DATABASE}", cluster.port);
    assert!(encrypted(&mut connected(&default)));
    // allow: plain first; the server refuses it; then TLS.
    assert!(encrypted(&mut connected(&cluster.url("127.0.0.1", "sslmode=allow"))));
    // A wrong password is the server's answer to the TLS attempt, not hidden by the fallback.
    let wrong = format!("postgres://{USER}:nope@127.0.0.1:{}/{DATABASE}?sslmode=prefer", cluster.port);
    let error = refused(&wrong);
    assert!(error.contains("password authentication failed"), "{error}");
    assert!(!error.contains("nope"), "{error}");
}

#[test]
fn a_client_certificate_logs_in() {
    let cluster = cluster();
    let url = |key: &str| {
        format!(
            "postgres://{CERT_USER}@localhost:{}/{DATABASE}?hostaddr=127.0.0.1&sslmode=verify-full&sslrootcert={}&sslcert={}&sslkey={}",
            cluster.port,
            cluster.file("ca.crt"),
            cluster.file("client.crt"),
            cluster.file(key)
        )
    };
    let mut db = connected(&url("client.key"));
    assert_eq!(db.query("SELECT current_user::text", &[]).unwrap().values, [[Value::Text(CERT_USER.to_owned())]]);

    let error = refused(&url("open.key"));
    assert!(error.contains("has group or world access") && error.contains("0600"), "{error}");
}

#[test]
fn settings_errors_name_the_setting() {
    let cluster = cluster();
    match connect(&cluster.url("127.0.0.1", "sslmode=verify")) {
        Err(ConnectError::BadUrl { reason, .. }) => assert!(reason.contains("sslmode `verify`"), "{reason}"),
        other => panic!("expected a bad URL, got {other:?}"),
    }
    let weak = refused(&cluster.url("127.0.0.1", "sslmode=require&sslrootcert=system"));
    assert!(weak.contains("sslrootcert=system") && weak.contains("verify-full"), "{weak}");
}

#[test]
fn a_migration_and_its_lock_run_over_tls() {
    let cluster = cluster();
    let url = cluster.fresh_database("migrated");
    let dir = tempfile::tempdir().unwrap();
    write_sql_project(dir.path(), &[]);
    add_sql_revision(dir.path(), "r1", &[], "CREATE TABLE accounts (id INTEGER);\n", "DROP TABLE accounts;\n");
    add_sql_revision(dir.path(), "r2", &["r1"], "INSERT INTO accounts VALUES (1);\n", "DELETE FROM accounts;\n");

    let mut db = Database::connect(&url).unwrap_or_else(|error| panic!("connect: {error}"));
    // Only TLS connections get in, so the lock's own connection (taken by
    // `upgrade`) must have used the same TLS settings.
    let report = migrator(dir.path())
        .upgrade(&mut db, &Target::Heads, &RunOptions::default(), &mut NoProgress)
        .unwrap_or_else(|error| panic!("upgrade over TLS: {error}"));
    let applied: Vec<&str> = report.steps.iter().map(|step| step.revision.as_str()).collect();
    assert_eq!(applied, ["r1", "r2"]);
    let mut check = connected(&url);
    assert!(encrypted(&mut check));
    assert_eq!(check.query("SELECT count(*) FROM accounts", &[]).unwrap().values, [[Value::Integer(1)]]);
}

// The environment: through the `wasmig` binary, each run with its own.

/// `wasmig -C <project> --database <url> current` with exactly the `PG*`
/// variables given (HOME an empty directory, so no ~/.pgpass or ~/.postgresql).
fn wasmig_current(url: &str, env: &[(&str, &str)]) -> Finished {
    static PROJECT: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    let project = PROJECT.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        write_sql_project(dir.path(), &[]);
        add_sql_revision(dir.path(), "r1", &[], "CREATE TABLE t (id INTEGER);\n", "DROP TABLE t;\n");
        dir
    });
    let home = tempfile::tempdir().unwrap();
    let mut command = Command::new(wasmig_binary());
    command.arg("-C").arg(project.path()).args(["--database", url, "current"]);
    for (name, _) in std::env::vars_os().filter_map(|(name, value)| Some((name.into_string().ok()?, value))) {
        if name.starts_with("PG") {
            command.env_remove(name);
        }
    }
    command.env_remove("DATABASE_URL").env_remove("RUST_LOG").env("HOME", home.path());
    command.env("WASMIG_CACHE_DIR", home.path().join("cache"));
    for (name, value) in env {
        command.env(name, value);
    }
    Finished::of(command.output().expect("run wasmig"))
}

#[test]
fn the_environment_fills_a_bare_url() {
    let cluster = cluster();
    let port = cluster.port.to_string();
    let root = cluster.file("ca.crt");
    let env = [
        ("PGHOST", "127.0.0.1"),
        ("PGPORT", port.as_str()),
        ("PGUSER", USER),
        ("PGPASSWORD", PASSWORD),
        ("PGDATABASE", DATABASE),
        ("PGSSLMODE", "verify-ca"),
        ("PGSSLROOTCERT", root.as_str()),
        ("PGAPPNAME", "from-the-environment"),
    ];
    for bare in ["postgres://", "postgresql:///"] {
        let run = wasmig_current(bare, &env);
        assert_eq!(run.code, Some(0), "{bare} with PG* variables: {run}");
    }
    // The URL names the database; the rest comes from the environment.
    let without_database: Vec<(&str, &str)> = env.iter().copied().filter(|(name, _)| *name != "PGDATABASE").collect();
    let run = wasmig_current(&format!("postgresql:///{DATABASE}"), &without_database);
    assert_eq!(run.code, Some(0), "{run}");

    // Each variable is used: a wrong one breaks the connection.
    let mut wrong_root = env;
    let other = cluster.file("other-ca.crt");
    wrong_root[6] = ("PGSSLROOTCERT", other.as_str());
    let run = wasmig_current("postgres://", &wrong_root);
    assert!(run.code != Some(0) && run.stderr.contains("not signed by a root"), "{run}");
    let mut wrong_db = env;
    wrong_db[4] = ("PGDATABASE", "no_such_database");
    let run = wasmig_current("postgres://", &wrong_db);
    assert!(run.code != Some(0) && run.stderr.contains("no_such_database"), "{run}");
    assert!(!run.stderr.contains(PASSWORD) && !run.stdout.contains(PASSWORD), "{run}");
}

#[test]
fn the_url_wins_over_the_environment() {
    let cluster = cluster();
    let url = cluster.url("127.0.0.1", "sslmode=require");
    let env = [
        ("PGHOST", "192.0.2.1"),
        ("PGPORT", "1"),
        ("PGUSER", "nobody"),
        ("PGPASSWORD", "wrong"),
        ("PGDATABASE", "nowhere"),
        ("PGSSLMODE", "disable"),
    ];
    let run = wasmig_current(&url, &env);
    assert_eq!(run.code, Some(0), "{run}");
}

#[test]
fn a_password_file_supplies_the_password_unless_others_can_read_it() {
    let cluster = cluster();
    let dir = tempfile::tempdir().unwrap();
    let passfile = dir.path().join("pgpass");
    let passfile_arg = passfile.to_str().unwrap();
    let url = format!("postgres://{USER}@127.0.0.1:{}/{DATABASE}?sslmode=require", cluster.port);
    let contents = format!(
        "# wasmig test\n127.0.0.1:{}:{DATABASE}:someone_else:wrong\n127.0.0.1:*:*:{USER}:{}\n",
        cluster.port,
        PASSWORD.replace(':', "\\:")
    );

    write_private(&passfile, &contents, 0o600);
    let run = wasmig_current(&url, &[("PGPASSFILE", passfile_arg)]);
    assert_eq!(run.code, Some(0), "with a 0600 password file: {run}");

    // Others can read it: ignored with a warning, so no password.
    write_private(&passfile, &contents, 0o644);
    let run = wasmig_current(&url, &[("PGPASSFILE", passfile_arg)]);
    assert_ne!(run.code, Some(0), "{run}");
    assert!(run.stderr.contains("has group or world access"), "the warning: {run}");
    assert!(run.stderr.contains("PGPASSWORD"), "the error says where a password goes: {run}");
    assert!(!run.stderr.contains(PASSWORD), "{run}");

    // PGPASSWORD supplies it too.
    let run = wasmig_current(&url, &[("PGPASSWORD", PASSWORD)]);
    assert_eq!(run.code, Some(0), "with PGPASSWORD: {run}");

    // A wrong password from the file: the error names the file.
    write_private(&passfile, "*:*:*:*:wrong\n", 0o600);
    let run = wasmig_current(&url, &[("PGPASSFILE", passfile_arg)]);
    assert!(run.stderr.contains("password authentication failed"), "{run}");
    assert!(run.stderr.contains(&format!("the password came from the password file {passfile_arg}")), "{run}");
}

#[test]
fn verifying_without_a_root_certificate_says_how_to_give_one() {
    let cluster = cluster();
    // HOME is empty: no ~/.postgresql/root.crt.
    let run = wasmig_current(&cluster.url("localhost", "sslmode=verify-full&hostaddr=127.0.0.1"), &[]);
    assert_ne!(run.code, Some(0), "{run}");
    assert!(run.stderr.contains("root.crt does not exist"), "{run}");
    assert!(run.stderr.contains("sslrootcert=system") && run.stderr.contains("sslrootcert=<file>"), "{run}");

    // ~/.postgresql/root.crt is used when it exists (libpq's default); PGSSLROOTCERT too.
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join(".postgresql")).unwrap();
    std::fs::copy(cluster.file("ca.crt"), home.path().join(".postgresql/root.crt")).unwrap();
    let url = cluster.url("localhost", "sslmode=verify-full&hostaddr=127.0.0.1");
    let run = wasmig_current(&url, &[("HOME", home.path().to_str().unwrap())]);
    assert_eq!(run.code, Some(0), "with ~/.postgresql/root.crt: {run}");
    let root = cluster.file("ca.crt");
    let run = wasmig_current(&url, &[("PGSSLROOTCERT", root.as_str())]);
    assert_eq!(run.code, Some(0), "with PGSSLROOTCERT: {run}");
}
