//! The resolved connection settings ([`Settings`]: the [`Endpoint`]s to try, user, database, TLS, [`Password`]) and how [`Params`] resolve into them as libpq does: the connection string first, then the `PG*` environment for what it leaves out, then libpq's defaults, and the password file for a missing password.

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use super::environment::Environment;
use super::params::Params;
use super::pgpass::PassFile;
use super::settings_error::{SettingsError, syntax};
use super::ssl_settings::SslSettings;

/// PostgreSQL's port when none is given.
pub(super) const DEFAULT_PORT: u16 = 5432;

/// Where libpq builds put the server's Unix socket by default (Debian and
/// Red Hat packages, then the upstream default): a connection without a
/// host uses the first that holds a socket for the port, else `localhost`.
const SOCKET_DIRECTORIES: [&str; 3] = ["/run/postgresql", "/var/run/postgresql", "/tmp"];

/// Settings handed to tokio-postgres as they are, each with the variable
/// libpq reads when the connection string leaves it out.
const PASSED_THROUGH: [(&str, Option<&str>); 11] = [
    ("options", Some("PGOPTIONS")),
    ("application_name", Some("PGAPPNAME")),
    ("connect_timeout", Some("PGCONNECT_TIMEOUT")),
    ("tcp_user_timeout", None),
    ("keepalives", None),
    ("keepalives_idle", None),
    ("keepalives_interval", None),
    ("keepalives_retries", None),
    ("target_session_attrs", Some("PGTARGETSESSIONATTRS")),
    ("channel_binding", Some("PGCHANNELBINDING")),
    ("load_balance_hosts", Some("PGLOADBALANCEHOSTS")),
];

/// Settings wasmig reads itself, each with its environment variable.
const OWN: [(&str, &str); 14] = [
    ("host", "PGHOST"),
    ("hostaddr", "PGHOSTADDR"),
    ("port", "PGPORT"),
    ("user", "PGUSER"),
    ("password", "PGPASSWORD"),
    ("passfile", "PGPASSFILE"),
    ("dbname", "PGDATABASE"),
    ("sslmode", "PGSSLMODE"),
    ("sslrootcert", "PGSSLROOTCERT"),
    ("sslcert", "PGSSLCERT"),
    ("sslkey", "PGSSLKEY"),
    ("sslsni", "PGSSLSNI"),
    ("sslnegotiation", "PGSSLNEGOTIATION"),
    // `fallback_application_name` has no variable; listed so that it is known.
    ("fallback_application_name", ""),
];

/// Where and how to connect, once the environment and defaults are applied.
#[derive(Debug, Clone)]
pub(super) struct Settings {
    /// The hosts to try, in order.
    pub(super) endpoints: Vec<Endpoint>,
    pub(super) user: String,
    /// `None`: the server's default, the user name.
    pub(super) dbname: Option<String>,
    pub(super) ssl: SslSettings,
    /// Settings tokio-postgres reads itself (keepalives, timeouts, ...).
    pub(super) passed_through: Vec<(String, String)>,
}

/// One host to try.
#[derive(Debug, Clone)]
pub(super) struct Endpoint {
    pub(super) host: Host,
    /// `hostaddr`: connect here instead of resolving the host name (TLS still checks the name).
    pub(super) address: Option<IpAddr>,
    pub(super) port: u16,
    pub(super) password: Option<Password>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Host {
    Tcp(String),
    /// The directory holding the server's socket.
    Socket(PathBuf),
}

impl Endpoint {
    /// How messages name this host.
    pub(super) fn describe(&self) -> String {
        match (&self.host, self.address) {
            (Host::Socket(directory), _) => {
                format!("the socket {}", directory.join(format!(".s.PGSQL.{}", self.port)).display())
            }
            (Host::Tcp(name), Some(address)) if *name != address.to_string() => {
                format!("{name} ({address}) port {}", self.port)
            }
            (Host::Tcp(name), _) => format!("{name} port {}", self.port),
        }
    }

    /// The host name the password file is searched for: `localhost` for a
    /// socket in a default directory, as libpq does.
    fn passfile_host(&self) -> String {
        match &self.host {
            Host::Socket(directory) if SOCKET_DIRECTORIES.iter().any(|dir| Path::new(dir) == directory) => {
                "localhost".to_owned()
            }
            Host::Socket(directory) => directory.display().to_string(),
            Host::Tcp(name) => name.clone(),
        }
    }
}

/// A password, and the password file it came from (named when the server refuses it).
#[derive(Clone, PartialEq, Eq)]
pub(super) struct Password {
    pub(super) value: String,
    pub(super) from_file: Option<PathBuf>,
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Password").field("value", &"***").field("from_file", &self.from_file).finish()
    }
}

// Resolution lives here, with what it produces; `params` only parses and reads settings.
impl Params {
    /// Applies the environment and libpq's defaults: where to connect, as
    /// whom, with which password and which TLS settings. Reads the password
    /// file if a password is missing (warning about one others can read).
    pub(super) fn resolve(&self, env: &dyn Environment) -> Result<Settings, SettingsError> {
        let known = |key: &str| OWN.iter().any(|(own, _)| *own == key) || PASSED_THROUGH.iter().any(|(k, _)| *k == key);
        if let Some(unknown) = self.keys().find(|key| !known(key)) {
            return Err(syntax(format!(
                "`{unknown}` is not a connection setting wasmig knows (docs/DATABASE.md, \"Connecting\", lists them)"
            )));
        }
        let user = self.user(env).ok_or_else(|| {
            SettingsError::Unusable(
                "no user name: put one in the URL (postgres://USER@host/db) or set PGUSER".to_owned(),
            )
        })?;
        let dbname = self.get_or_env("dbname", "PGDATABASE", env);
        let ssl = SslSettings::resolve(self, env)?;

        let mut passed_through = Vec::new();
        for (key, variable) in PASSED_THROUGH {
            if let Some(value) = self.get_or_env(key, variable.unwrap_or(""), env) {
                passed_through.push((key.to_owned(), value));
            }
        }
        if let Some(negotiation) = self.get_or_env("sslnegotiation", "PGSSLNEGOTIATION", env) {
            passed_through.push(("sslnegotiation".to_owned(), negotiation));
        }
        if self.get_or_env("application_name", "PGAPPNAME", env).is_none()
            && let Some(fallback) = self.get("fallback_application_name")
        {
            passed_through.push(("application_name".to_owned(), fallback.to_owned()));
        }

        let password = self.get_or_env("password", "PGPASSWORD", env);
        let mut endpoints = self.endpoints(env)?;
        if password.is_none() {
            let passfile = match self.get_or_env("passfile", "PGPASSFILE", env) {
                Some(path) => Some(PathBuf::from(path)),
                None => env.home_dir().map(|home| home.join(".pgpass")),
            };
            if let Some(passfile) = passfile
                && let Some(entries) = PassFile::read(&passfile)
            {
                let database = dbname.as_deref().unwrap_or(&user);
                for endpoint in &mut endpoints {
                    endpoint.password = entries
                        .lookup(&endpoint.passfile_host(), &endpoint.port.to_string(), database, &user)
                        .map(|value| Password { value, from_file: Some(passfile.clone()) });
                }
            }
        } else {
            for endpoint in &mut endpoints {
                endpoint.password = password.clone().map(|value| Password { value, from_file: None });
            }
        }
        Ok(Settings { endpoints, user, dbname, ssl, passed_through })
    }

    /// The hosts to try, in order, with their addresses and ports.
    fn endpoints(&self, env: &dyn Environment) -> Result<Vec<Endpoint>, SettingsError> {
        let list = |key: &str, variable: &str| -> Vec<String> {
            self.get_or_env(key, variable, env)
                .map(|value| value.split(',').map(|item| item.trim().to_owned()).collect())
                .unwrap_or_default()
        };
        let hosts = list("host", "PGHOST");
        let addresses = list("hostaddr", "PGHOSTADDR");
        let ports = list("port", "PGPORT");
        if !hosts.is_empty() && !addresses.is_empty() && hosts.len() != addresses.len() {
            return Err(syntax(format!(
                "{} host names but {} hostaddr values: give one address per host",
                hosts.len(),
                addresses.len()
            )));
        }
        let count = hosts.len().max(addresses.len()).max(1);
        if ports.len() > 1 && ports.len() != count {
            return Err(syntax(format!(
                "{} port numbers for {count} hosts: give one port, or one per host",
                ports.len()
            )));
        }
        let mut endpoints = Vec::with_capacity(count);
        for index in 0..count {
            let port = match ports.get(index).or_else(|| ports.first()).map(String::as_str) {
                None | Some("") => DEFAULT_PORT,
                Some(port) => port
                    .parse::<u16>()
                    .ok()
                    .filter(|port| *port != 0)
                    .ok_or_else(|| syntax(format!("port `{port}` is not a port number")))?,
            };
            let address = match addresses.get(index).map(String::as_str) {
                None | Some("") => None,
                Some(address) => Some(
                    address
                        .parse::<IpAddr>()
                        .map_err(|_| syntax(format!("hostaddr `{address}` is not an IP address")))?,
                ),
            };
            let host = match (hosts.get(index).map(String::as_str).filter(|host| !host.is_empty()), address) {
                (Some(host), _) if host.starts_with('/') => Host::Socket(PathBuf::from(host)),
                (Some(host), _) => Host::Tcp(host.trim_start_matches('[').trim_end_matches(']').to_owned()),
                // The address names itself (for TLS too).
                (None, Some(address)) => Host::Tcp(address.to_string()),
                (None, None) => default_host(port, env),
            };
            endpoints.push(Endpoint { host, address, port, password: None });
        }
        Ok(endpoints)
    }
}

/// libpq's default host: the server's Unix socket if one of the usual
/// directories holds it, else `localhost`.
fn default_host(port: u16, env: &dyn Environment) -> Host {
    if cfg!(unix) {
        for directory in SOCKET_DIRECTORIES {
            if env.exists(&Path::new(directory).join(format!(".s.PGSQL.{port}"))) {
                return Host::Socket(PathBuf::from(directory));
            }
        }
    }
    Host::Tcp("localhost".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::postgres::environment::fake::{FakeEnvironment, env};
    use crate::backend::postgres::ssl_settings::SslMode;

    fn resolve(conninfo: &str, env: &FakeEnvironment) -> Settings {
        Params::parse(conninfo).unwrap().resolve(env).unwrap()
    }

    #[test]
    fn the_environment_fills_what_the_url_leaves_out() {
        let environment = env(&[
            ("PGHOST", "envhost"),
            ("PGPORT", "6000"),
            ("PGUSER", "envuser"),
            ("PGPASSWORD", "envpass"),
            ("PGDATABASE", "envdb"),
            ("PGSSLMODE", "require"),
            ("PGAPPNAME", "envapp"),
        ]);
        let bare = resolve("postgres://", &environment);
        assert_eq!(bare.endpoints.len(), 1);
        assert_eq!(bare.endpoints[0].host, Host::Tcp("envhost".into()));
        assert_eq!(bare.endpoints[0].port, 6000);
        assert_eq!(bare.endpoints[0].password.as_ref().unwrap().value, "envpass");
        assert_eq!((bare.user.as_str(), bare.dbname.as_deref()), ("envuser", Some("envdb")));
        assert_eq!(bare.ssl.mode, SslMode::Require);
        assert!(bare.passed_through.contains(&("application_name".into(), "envapp".into())));

        // The URL wins; a URL host without a port takes PGPORT, as libpq.
        let given = resolve("postgres://me:pw@urlhost/urldb?sslmode=disable", &environment);
        assert_eq!(given.endpoints[0].host, Host::Tcp("urlhost".into()));
        assert_eq!(given.endpoints[0].port, 6000);
        assert_eq!(given.endpoints[0].password.as_ref().unwrap().value, "pw");
        assert_eq!((given.user.as_str(), given.dbname.as_deref()), ("me", Some("urldb")));
        assert_eq!(given.ssl.mode, SslMode::Disable);
        assert_eq!(resolve("postgres://h:7000", &environment).endpoints[0].port, 7000);
    }

    #[test]
    fn defaults_are_libpqs() {
        let mut environment = env(&[]);
        let settings = resolve("postgres://", &environment);
        assert_eq!(settings.user, "osuser");
        assert_eq!(settings.dbname, None);
        assert_eq!(settings.ssl.mode, SslMode::Prefer);
        assert_eq!(settings.endpoints[0].host, Host::Tcp("localhost".into()));
        assert_eq!(settings.endpoints[0].port, DEFAULT_PORT);
        assert!(settings.endpoints[0].password.is_none());

        environment.sockets.push(PathBuf::from("/var/run/postgresql/.s.PGSQL.5433"));
        let socket = resolve("postgresql://:5433/db", &environment);
        assert_eq!(socket.endpoints[0].host, Host::Socket("/var/run/postgresql".into()));

        environment.user = None;
        assert!(matches!(
            Params::parse("postgres://h").unwrap().resolve(&environment),
            Err(SettingsError::Unusable(_))
        ));
        assert_eq!(Params::parse("postgres://").unwrap().database(&env(&[("PGUSER", "u")])).as_deref(), Some("u"));
    }

    #[test]
    fn several_hosts_pair_with_their_ports_and_addresses() {
        let environment = env(&[]);
        let settings = resolve("host=a,b,c port=1,,3 hostaddr=10.0.0.1,,10.0.0.3", &environment);
        let described: Vec<String> = settings.endpoints.iter().map(Endpoint::describe).collect();
        assert_eq!(described, ["a (10.0.0.1) port 1", "b port 5432", "c (10.0.0.3) port 3"]);
        let only_address = resolve("hostaddr=127.0.0.1", &environment);
        assert_eq!(only_address.endpoints[0].host, Host::Tcp("127.0.0.1".into()));
        for wrong in ["host=a,b port=1,2,3", "host=a,b hostaddr=127.0.0.1", "host=a port=x", "hostaddr=nowhere"] {
            assert!(
                matches!(Params::parse(wrong).unwrap().resolve(&environment), Err(SettingsError::Syntax(_))),
                "{wrong}"
            );
        }
    }

    #[test]
    fn the_password_file_applies_per_host_unless_a_password_is_given() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pgpass");
        std::fs::write(&path, "a:5432:shop:app:for-a\nlocalhost:5433:*:app:for-socket\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let passfile = path.to_str().unwrap();
        let mut environment = env(&[("PGPASSFILE", passfile)]);
        environment.sockets.push(PathBuf::from("/tmp/.s.PGSQL.5433"));
        let settings = resolve("postgres://app@a,b/shop", &environment);
        let password = settings.endpoints[0].password.as_ref().unwrap();
        assert_eq!((password.value.as_str(), password.from_file.as_deref()), ("for-a", Some(path.as_path())));
        assert!(settings.endpoints[1].password.is_none());
        let socket = resolve("postgresql://app@:5433/any", &environment);
        assert_eq!(socket.endpoints[0].password.as_ref().unwrap().value, "for-socket");
        // The database defaults to the user name for matching.
        std::fs::write(&path, "a:5432:app:app:db-is-user\n").unwrap();
        assert_eq!(
            resolve("postgres://app@a", &environment).endpoints[0].password.as_ref().unwrap().value,
            "db-is-user"
        );
        // A given password wins; the file is not consulted.
        let given = resolve(&format!("postgres://app:given@a/shop?passfile={passfile}"), &env(&[]));
        assert_eq!(given.endpoints[0].password.as_ref().unwrap().from_file, None);

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(PassFile::read(&path).is_none(), "a file others can read is ignored");
            assert!(resolve("postgres://app@a", &environment).endpoints[0].password.is_none());
        }
    }
}
