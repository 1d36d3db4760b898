//! Database URLs: which backend, where, and (PostgreSQL) which schema.

use std::path::PathBuf;
use std::time::Duration;

use percent_encoding::{NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

use super::postgres::environment::{Environment, ProcessEnvironment};
use super::postgres::params::Params;
use super::{Backend, ConnectError};

/// A parsed database URL.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// `sqlite:path/to/file.db` (also `sqlite://path`); relative to the working directory.
    SqliteFile(PathBuf),
    /// `sqlite::memory:`: a private in-memory database, gone when the connection closes.
    SqliteMemory,
    /// `postgres://user[:password]@host[:port]/db[?schema=name]` (or `postgresql://`).
    Postgres {
        /// The libpq-style URL without wasmig's own `schema` parameter; what it
        /// leaves out comes from the `PG*` environment when connecting.
        conninfo: String,
        schema: Option<String>,
    },
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl std::fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> Result<Self, ConnectError> {
        let bad = |reason: &str| ConnectError::BadUrl { url: redact(url), reason: reason.to_owned() };
        if let Some(rest) = url.strip_prefix("sqlite:") {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            return match path {
                ":memory:" => Ok(DatabaseUrl::SqliteMemory),
                "" => Err(bad("the SQLite URL names no file")),
                path => Ok(DatabaseUrl::SqliteFile(PathBuf::from(path))),
            };
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let (base, query) = url.split_once('?').unwrap_or((url, ""));
            let mut schema = None;
            let mut kept = Vec::new();
            for pair in query.split('&').filter(|pair| !pair.is_empty()) {
                match pair.split_once('=') {
                    Some(("schema", value)) if !value.is_empty() => {
                        let decoded = percent_decode_str(value)
                            .decode_utf8()
                            .map_err(|_| bad("`schema=` is not UTF-8 once percent-decoded"))?;
                        schema = Some(decoded.into_owned());
                    }
                    Some(("schema", _)) => return Err(bad("`schema=` needs a name")),
                    _ => kept.push(pair),
                }
            }
            let conninfo = if kept.is_empty() { base.to_owned() } else { format!("{base}?{}", kept.join("&")) };
            return Ok(DatabaseUrl::Postgres { conninfo, schema });
        }
        Err(bad("unknown scheme"))
    }

    /// What a tenant on this database is called by default: the SQLite
    /// file's stem, the PostgreSQL schema, else the PostgreSQL database.
    pub fn default_name(&self) -> String {
        match self {
            DatabaseUrl::SqliteFile(path) => {
                path.file_stem().map_or_else(|| path.display().to_string(), |stem| stem.to_string_lossy().into_owned())
            }
            DatabaseUrl::SqliteMemory => "memory".to_owned(),
            DatabaseUrl::Postgres { schema: Some(schema), .. } => schema.clone(),
            DatabaseUrl::Postgres { conninfo, schema: None } => postgres_database(conninfo, &ProcessEnvironment),
        }
    }

    /// The same PostgreSQL server and database, in `schema` (a SQLite URL is returned as it is).
    pub fn with_schema(&self, schema: &str) -> DatabaseUrl {
        match self {
            DatabaseUrl::Postgres { conninfo, .. } => {
                DatabaseUrl::Postgres { conninfo: conninfo.clone(), schema: Some(schema.to_owned()) }
            }
            other => other.clone(),
        }
    }

    /// The same server, database and schema, logged in as `user` (a plain role name). The
    /// URL's password was for its own user and is dropped: `user`'s comes from `PGPASSWORD`
    /// or the password file, as libpq finds it. A SQLite URL is returned as it is.
    pub fn with_login(&self, user: &str) -> DatabaseUrl {
        match self {
            DatabaseUrl::Postgres { conninfo, schema } => {
                let user = utf8_percent_encode(user, NON_ALPHANUMERIC);
                // In a URL a later setting wins, and an empty password counts as none.
                let separator = if conninfo.contains('?') { '&' } else { '?' };
                let conninfo = format!("{conninfo}{separator}user={user}&password=");
                DatabaseUrl::Postgres { conninfo, schema: schema.clone() }
            }
            other => other.clone(),
        }
    }

    /// The URL again, password included, for [`DatabaseUrl::parse`]: the
    /// schema is percent-encoded, so no schema name can add or change a
    /// connection parameter.
    pub fn to_url(&self) -> String {
        match self {
            DatabaseUrl::SqliteFile(path) => format!("sqlite:{}", path.display()),
            DatabaseUrl::SqliteMemory => "sqlite::memory:".to_owned(),
            DatabaseUrl::Postgres { conninfo, schema: None } => conninfo.clone(),
            DatabaseUrl::Postgres { conninfo, schema: Some(schema) } => {
                let separator = if conninfo.contains('?') { '&' } else { '?' };
                format!("{conninfo}{separator}schema={}", utf8_percent_encode(schema, NON_ALPHANUMERIC))
            }
        }
    }

    /// The URL with any password replaced by `***`, for messages and logs.
    pub fn redacted(&self) -> String {
        match self {
            DatabaseUrl::SqliteFile(path) => format!("sqlite:{}", path.display()),
            DatabaseUrl::SqliteMemory => "sqlite::memory:".to_owned(),
            DatabaseUrl::Postgres { conninfo, schema } => match schema {
                Some(schema) => format!("{} (schema {schema})", redact(conninfo)),
                None => redact(conninfo),
            },
        }
    }

    /// Opens a connection to a database that must already exist (a SQLite
    /// file is not created): for `status`, `current`, `plan` and `verify`.
    pub fn connect_existing(&self, lock_timeout: Duration) -> Result<Box<dyn Backend>, ConnectError> {
        match self {
            DatabaseUrl::SqliteFile(path) => {
                if !path.exists() {
                    return Err(ConnectError::MissingDatabase { database: self.redacted() });
                }
                let backend = super::sqlite::SqliteBackend::open_existing(path, lock_timeout)
                    .map_err(|source| ConnectError::Open { database: self.redacted(), source })?;
                Ok(Box::new(backend))
            }
            _ => self.connect(lock_timeout),
        }
    }

    /// Opens a connection. `lock_timeout` bounds how long SQLite waits for
    /// another writer (its busy timeout).
    pub fn connect(&self, lock_timeout: Duration) -> Result<Box<dyn Backend>, ConnectError> {
        match self {
            DatabaseUrl::SqliteFile(path) => {
                let backend = super::sqlite::SqliteBackend::open(path, lock_timeout)
                    .map_err(|source| ConnectError::Open { database: self.redacted(), source })?;
                Ok(Box::new(backend))
            }
            DatabaseUrl::SqliteMemory => {
                let backend = super::sqlite::SqliteBackend::open_in_memory()
                    .map_err(|source| ConnectError::Open { database: self.redacted(), source })?;
                Ok(Box::new(backend))
            }
            DatabaseUrl::Postgres { conninfo, schema } => {
                let backend = super::postgres::PostgresBackend::connect(conninfo, schema.as_deref(), self.redacted())?;
                Ok(Box::new(backend))
            }
        }
    }
}

/// The database a PostgreSQL URL opens, as libpq decides: the URL's, else
/// `PGDATABASE`, else the user name (the URL's, `PGUSER`, the OS user).
fn postgres_database(conninfo: &str, env: &dyn Environment) -> String {
    Params::parse(conninfo).ok().and_then(|params| params.database(env)).unwrap_or_default()
}

/// Hides the password of a `scheme://user:password@host` URL.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((credentials, host)) => match credentials.split_once(':') {
            Some((user, _password)) => format!("{user}:***@{host}"),
            None => authority.to_owned(),
        },
        None => authority.to_owned(),
    };
    // libpq also takes the password as a query parameter.
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let pairs: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{path}?{}", pairs.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_into_backends() {
        assert_eq!(DatabaseUrl::parse("sqlite:app.db").unwrap(), DatabaseUrl::SqliteFile("app.db".into()));
        assert_eq!(DatabaseUrl::parse("sqlite://data/app.db").unwrap(), DatabaseUrl::SqliteFile("data/app.db".into()));
        assert_eq!(DatabaseUrl::parse("sqlite::memory:").unwrap(), DatabaseUrl::SqliteMemory);
        assert_eq!(
            DatabaseUrl::parse("postgres://postgres@127.0.0.1/test?schema=tenant_1&sslmode=disable").unwrap(),
            DatabaseUrl::Postgres {
                conninfo: "postgres://postgres@127.0.0.1/test?sslmode=disable".into(),
                schema: Some("tenant_1".into())
            }
        );
        assert!(matches!(DatabaseUrl::parse("mysql://x"), Err(ConnectError::BadUrl { .. })));
        assert!(matches!(DatabaseUrl::parse("sqlite:"), Err(ConnectError::BadUrl { .. })));
    }

    #[test]
    fn a_login_replaces_the_user_and_drops_the_password() {
        for url in ["postgres://admin:pw@h/db?sslmode=disable&schema=ta", "postgresql://h/db?user=admin&password=pw"] {
            let logged_in = DatabaseUrl::parse(url).unwrap().with_login("tenant_ta");
            let round_trip = DatabaseUrl::parse(&logged_in.to_url()).unwrap();
            assert_eq!(round_trip, logged_in, "{url}");
            let DatabaseUrl::Postgres { conninfo, schema } = logged_in else { panic!("{url}") };
            let params = Params::parse(&conninfo).unwrap();
            assert_eq!(params.get("user"), Some("tenant_ta"), "{url}");
            assert_eq!(params.get("password"), None, "{url}: the admin's password is not sent for the tenant");
            assert_eq!((params.get("host"), params.get("dbname")), (Some("h"), Some("db")), "{url}");
            assert_eq!(schema.as_deref(), url.contains("schema").then_some("ta"), "{url}");
        }
        assert_eq!(DatabaseUrl::SqliteMemory.with_login("tenant_ta"), DatabaseUrl::SqliteMemory);
    }

    #[test]
    fn schemas_round_trip_without_touching_parameters() {
        let server = DatabaseUrl::parse("postgres://u:pw@h/db?sslmode=disable").unwrap();
        for schema in ["tenant_1", "t&hostaddr=127.0.0.2", "t?dbname=other", "100% ü", "a=b"] {
            let url = server.with_schema(schema).to_url();
            let DatabaseUrl::Postgres { conninfo, schema: parsed } = DatabaseUrl::parse(&url).unwrap() else {
                panic!("{url} is a PostgreSQL URL");
            };
            assert_eq!(conninfo, "postgres://u:pw@h/db?sslmode=disable", "{url}");
            assert_eq!(parsed.as_deref(), Some(schema), "{url}");
        }
        assert_eq!(DatabaseUrl::parse("postgres://h/db?schema=t_1").unwrap().default_name(), "t_1");
        assert_eq!(DatabaseUrl::parse("postgres://h/shop?x=1").unwrap().default_name(), "shop");
        assert_eq!(DatabaseUrl::parse("sqlite:a/acme.db").unwrap().default_name(), "acme");
    }

    #[test]
    fn passwords_never_reach_messages() {
        let url = DatabaseUrl::parse("postgres://app:s3cret@db.internal:5432/prod?schema=s").unwrap();
        assert_eq!(url.redacted(), "postgres://app:***@db.internal:5432/prod (schema s)");
        let error = DatabaseUrl::parse("mysql://app:s3cret@db/x").unwrap_err().to_string();
        assert!(!error.contains("s3cret"), "{error}");
        let query = DatabaseUrl::parse("postgres://app@db/prod?password=s3cret&sslmode=disable").unwrap();
        assert_eq!(query.redacted(), "postgres://app@db/prod?password=***&sslmode=disable");
    }
}
