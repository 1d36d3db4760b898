//! wasmig-example-gated-app: an application whose start-up is gated on `wasmig::ensure_ready`.
//!
//! [`start`] brings the database to the heads of the app's migration project
//! first. Only when that returns `Ok` does the app log its configuration,
//! open its tables, register its request handlers and bind its socket. When
//! it returns `Err`, start-up stops there: nothing was logged, read,
//! registered or bound. Every side effect is recorded in a [`StartupLog`], so
//! the order is checked by the tests rather than claimed.

pub mod events;
pub mod http;
pub mod store;

use std::fmt;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};

use wasmig::RunReport;

pub use events::{Event, StartupLog};
use http::{Response, Router, Server};
use store::Store;

/// Where the app finds its migrations, its database and its port.
#[derive(Debug, Clone)]
pub struct Config {
    /// The wasmig project (the directory holding `wasmig.toml`).
    pub project_dir: PathBuf,
    /// `sqlite:path/to/app.db` or `postgres://...`. Not `sqlite::memory:`:
    /// the gate and the app open separate connections.
    pub database_url: String,
    pub listen: SocketAddr,
}

impl Config {
    /// The project this crate ships: `examples/gated-app` itself.
    pub fn bundled_project_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
    }

    /// The configuration line the app logs once it may start.
    fn describe(&self) -> String {
        let database = wasmig::redacted_url(&self.database_url);
        format!("config: project={} database={database} listen={}", self.project_dir.display(), self.listen)
    }
}

/// Why the app did not start.
#[derive(Debug)]
pub enum StartError {
    /// The database could not be brought to the project's heads: the app did nothing.
    /// The error carries the report of what committed.
    Migrations(wasmig::Error),
    /// Migrations are done but the app's tables cannot be read.
    Tables(String),
    /// The listening socket cannot be bound.
    Bind { address: SocketAddr, source: std::io::Error },
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Migrations(error) => {
                write!(f, "migrations did not complete, so the app did not start: {error}")
            }
            StartError::Tables(error) => write!(f, "cannot open the app's tables: {error}"),
            StartError::Bind { address, source } => write!(f, "cannot listen on {address}: {source}"),
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StartError::Migrations(error) => Some(error),
            StartError::Tables(_) => None,
            StartError::Bind { source, .. } => Some(source),
        }
    }
}

/// A started app: its server runs until [`RunningApp::shutdown`] or drop.
#[derive(Debug)]
pub struct RunningApp {
    server: Server,
    /// What the gate applied on the way up (often nothing).
    pub migrations: RunReport,
}

impl RunningApp {
    /// Where the app listens (the real port when configured with port 0).
    pub fn address(&self) -> SocketAddr {
        self.server.address()
    }

    /// Serves until the process ends.
    pub fn wait(self) {
        self.server.wait();
    }

    pub fn shutdown(self) {
        self.server.shutdown();
    }
}

/// Starts the app behind the real gate, [`wasmig::ensure_ready`].
pub fn start(config: &Config, log: &StartupLog) -> Result<RunningApp, StartError> {
    start_gated_by(config, log, |project_dir, database_url| wasmig::ensure_ready(project_dir, database_url))
}

/// Starts the app behind `gate`, which must leave the database at the
/// project's heads when it returns `Ok`. [`start`] passes
/// `wasmig::ensure_ready`; tests pass it wrapped, to watch the log while
/// the gate runs.
pub fn start_gated_by(
    config: &Config,
    log: &StartupLog,
    gate: impl FnOnce(&Path, &str) -> Result<RunReport, wasmig::Error>,
) -> Result<RunningApp, StartError> {
    // The gate comes first and alone: until it says the schema is what this
    // build of the app expects, the app must not read a table, announce
    // itself or accept a request.
    let migrations = gate(&config.project_dir, &config.database_url).map_err(StartError::Migrations)?;
    log.record(Event::MigrationsReady { applied: migrations.changed().count() });

    log.record(Event::ConfigLogged(config.describe()));
    let store = Store::open(&config.database_url, log.clone()).map_err(StartError::Tables)?;

    let mut router = Router::new(log.clone());
    router.register("/health", Box::new(|_, _| Response::ok("ok\n")));
    router.register(
        "/greetings",
        Box::new(|request, store| match store.greetings(request.query_param("language")) {
            Ok(greetings) => Response::ok(
                greetings
                    .iter()
                    .map(|greeting| format!("{}: {}\n", greeting.language, greeting.text))
                    .collect::<String>(),
            ),
            Err(error) => Response::error(500, format!("{error}\n")),
        }),
    );

    let listener =
        TcpListener::bind(config.listen).map_err(|source| StartError::Bind { address: config.listen, source })?;
    let address = listener.local_addr().map_err(|source| StartError::Bind { address: config.listen, source })?;
    log.record(Event::Listening(address));
    let server =
        Server::spawn(listener, router, store, log.clone()).map_err(|source| StartError::Bind { address, source })?;
    Ok(RunningApp { server, migrations })
}
