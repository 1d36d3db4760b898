//! Where a connection goes and how it gets there: the resolved settings, one tokio-postgres configuration per host, and `sslmode`'s attempts and fallbacks (allow: plain then TLS; prefer: TLS then plain), as libpq makes them.

use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use tokio_postgres::config::{LoadBalanceHosts, SslMode as WireMode};
use tokio_postgres::{Client, Config, Connection, Socket};

use super::environment::{Environment, ProcessEnvironment};
use super::error::{error_chain, message_of};
use super::params::Params;
use super::settings::{Endpoint, Host, Settings};
use super::settings_error::SettingsError;
use super::ssl_settings::SslMode;
use super::tls::{Connector, Tls, TlsStream};
use crate::sql::DbError;

/// How long a connection attempt may take when the settings give no `connect_timeout`.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Everything needed to open connections to one database: the backend's,
/// the migration lock's and cancel requests all use the same. Holds the
/// password; never printed.
#[derive(Clone)]
pub(super) struct Target {
    settings: Settings,
    tls: Tls,
    /// One per endpoint, in the same order.
    configs: Vec<Config>,
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hosts: Vec<String> = self.settings.endpoints.iter().map(Endpoint::describe).collect();
        f.debug_struct("Target")
            .field("hosts", &hosts)
            .field("user", &self.settings.user)
            .field("dbname", &self.settings.dbname)
            .field("sslmode", &self.settings.ssl.mode)
            .finish_non_exhaustive()
    }
}

/// An open connection: its client, the connection task to drive, and the
/// TLS connector for its cancel requests.
pub(super) struct Opened {
    pub(super) client: Client,
    pub(super) connection: Connection<Socket, TlsStream>,
    pub(super) connector: Connector,
}

impl Target {
    /// Resolves a libpq-style URL or key=value string with this process's
    /// environment (`PG*` variables, `~/.pgpass`, `~/.postgresql/`).
    pub(super) fn new(conninfo: &str) -> Result<Target, SettingsError> {
        Target::with_environment(conninfo, &ProcessEnvironment)
    }

    pub(super) fn with_environment(conninfo: &str, env: &dyn Environment) -> Result<Target, SettingsError> {
        let settings = Params::parse(conninfo)?.resolve(env)?;
        let tls = Tls::new(&settings.ssl).map_err(SettingsError::Unusable)?;
        let configs =
            settings.endpoints.iter().map(|endpoint| config_for(&settings, endpoint)).collect::<Result<_, _>>()?;
        Ok(Target { settings, tls, configs })
    }

    /// Opens a connection to the first host that takes it, trying each as
    /// `sslmode` says. The error names every host tried and why it failed.
    pub(super) async fn connect(&self) -> Result<Opened, DbError> {
        let mut failures = Vec::new();
        for index in self.order() {
            match self.connect_endpoint(index).await {
                Ok(opened) => return Ok(opened),
                Err(failure) => failures.push(failure),
            }
        }
        Err(match failures.len() {
            1 => failures.remove(0),
            count => DbError {
                code: failures.last().and_then(|failure| failure.code.clone()),
                message: format!(
                    "none of the {count} hosts took the connection: {}",
                    failures.iter().map(|failure| failure.message.as_str()).collect::<Vec<_>>().join("; ")
                ),
                position: None,
            },
        })
    }

    /// The endpoints' indices in the order to try them.
    fn order(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.configs.len()).collect();
        let random =
            self.configs.first().is_some_and(|config| config.get_load_balance_hosts() == LoadBalanceHosts::Random);
        if random {
            for index in (1..order.len()).rev() {
                let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
                hasher.write_usize(index);
                order.swap(index, (hasher.finish() % (index as u64 + 1)) as usize);
            }
        }
        order
    }

    async fn connect_endpoint(&self, index: usize) -> Result<Opened, DbError> {
        let endpoint = &self.settings.endpoints[index];
        let mode = self.settings.ssl.mode;
        // libpq never uses TLS on a Unix socket, whatever sslmode says.
        if matches!(endpoint.host, Host::Socket(_)) || mode == SslMode::Disable {
            return self.attempt(index, WireMode::Disable).await.map_err(|failure| self.explain(endpoint, failure));
        }
        match mode {
            SslMode::Allow => match self.attempt(index, WireMode::Disable).await {
                // The server refused a plain connection: try TLS.
                Err(plain) if plain.error.as_db_error().is_some() => {
                    self.attempt(index, WireMode::Require).await.map_err(|tls| {
                        let mut explained = self.explain(endpoint, tls);
                        explained.message = format!(
                            "{}; before that, without TLS: {}",
                            explained.message,
                            self.describe(endpoint, &plain)
                        );
                        explained
                    })
                }
                other => other.map_err(|failure| self.explain(endpoint, failure)),
            },
            SslMode::Prefer => match self.attempt(index, WireMode::Prefer).await {
                // The server took TLS but the connection failed: try plain.
                Err(tls) if tls.tls_started => self.attempt(index, WireMode::Disable).await.map_err(|plain| {
                    let mut explained = self.explain(endpoint, plain);
                    explained.message =
                        format!("{}; before that, with TLS: {}", explained.message, self.describe(endpoint, &tls));
                    explained
                }),
                other => other.map_err(|failure| self.explain(endpoint, failure)),
            },
            _ => self.attempt(index, WireMode::Require).await.map_err(|failure| self.explain(endpoint, failure)),
        }
    }

    async fn attempt(&self, index: usize, wire: WireMode) -> Result<Opened, Failure> {
        let mut config = self.configs[index].clone();
        config.ssl_mode(wire);
        let (connector, started) = self.tls.connector();
        match config.connect(connector.clone()).await {
            Ok((client, connection)) => Ok(Opened { client, connection, connector }),
            Err(error) => Err(Failure { error, tls_started: started.load(std::sync::atomic::Ordering::SeqCst) }),
        }
    }

    /// The failure as the connection's error: the host, what went wrong and,
    /// where it helps, which setting to change.
    fn explain(&self, endpoint: &Endpoint, failure: Failure) -> DbError {
        let code = failure.error.as_db_error().map(|server| server.code().code().to_owned());
        let mut message = format!("{}: {}", endpoint.describe(), self.describe(endpoint, &failure));
        if let Some(password) = &endpoint.password
            && let Some(file) = &password.from_file
            && code.as_deref() == Some("28P01")
        {
            message.push_str(&format!(" (the password came from the password file {})", file.display()));
        }
        DbError { code, message, position: None }
    }

    fn describe(&self, endpoint: &Endpoint, failure: &Failure) -> String {
        let error = &failure.error;
        if error.as_db_error().is_some() {
            return message_of(error);
        }
        let host = match &endpoint.host {
            Host::Tcp(name) => name.as_str(),
            Host::Socket(_) => "",
        };
        if let Some(explained) = self.tls.explain(self.settings.ssl.mode, host, error) {
            return explained;
        }
        let chain = error_chain(error);
        if chain.contains("server does not support TLS") {
            return format!(
                "sslmode={}: the server does not offer TLS (its `ssl` setting is off): turn it on, or use \
                 sslmode=prefer or sslmode=disable to connect without encryption",
                self.settings.ssl.mode.name()
            );
        }
        if chain.contains("password missing") {
            return "the server asks for a password and none was given: put it in the URL \
                    (postgres://user:PASSWORD@host/db), in PGPASSWORD, or in the password file (~/.pgpass, or the \
                    file PGPASSFILE names)"
                .to_owned();
        }
        chain
    }
}

/// One failed attempt, and whether the server had agreed to TLS.
struct Failure {
    error: tokio_postgres::Error,
    tls_started: bool,
}

/// The tokio-postgres configuration of one endpoint (TLS mode set per attempt).
fn config_for(settings: &Settings, endpoint: &Endpoint) -> Result<Config, SettingsError> {
    let passed: Vec<String> = settings
        .passed_through
        .iter()
        .map(|(key, value)| format!("{key}='{}'", value.replace('\\', "\\\\").replace('\'', "\\'")))
        .collect();
    let mut config = if passed.is_empty() {
        Config::new()
    } else {
        passed.join(" ").parse::<Config>().map_err(|error| SettingsError::Syntax(error_chain(&error)))?
    };
    match &endpoint.host {
        Host::Tcp(name) => {
            config.host(name);
        }
        #[cfg(unix)]
        Host::Socket(directory) => {
            config.host_path(directory);
        }
        #[cfg(not(unix))]
        Host::Socket(directory) => {
            return Err(SettingsError::Unusable(format!(
                "{} is a Unix socket directory, which this system does not have",
                directory.display()
            )));
        }
    }
    if let Some(address) = endpoint.address {
        config.hostaddr(address);
    }
    config.port(endpoint.port);
    config.user(&settings.user);
    if let Some(dbname) = &settings.dbname {
        config.dbname(dbname);
    }
    if let Some(password) = &endpoint.password {
        config.password(password.value.as_bytes());
    }
    if config.get_application_name().is_none() {
        config.application_name("wasmig");
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(DEFAULT_CONNECT_TIMEOUT);
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passed_through_settings_survive_quoting() {
        let target =
            Target::new("postgres://u@h:5432/db?application_name=it's%20a\\b&connect_timeout=3&sslmode=disable")
                .expect("settings resolve");
        let config = &target.configs[0];
        assert_eq!(config.get_application_name(), Some("it's a\\b"));
        assert_eq!(config.get_connect_timeout(), Some(&Duration::from_secs(3)));
        assert_eq!(config.get_user(), Some("u"));
        assert_eq!(config.get_dbname(), Some("db"));
        let debug = format!("{target:?}");
        assert!(debug.contains("h port 5432"), "{debug}");
    }
}
