//! Where a fleet's tenants come from: `@file` lists, SQLite globs, PostgreSQL schemas matching a pattern.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::backend::postgres::PostgresBackend;
use crate::backend::{Backend, ConnectError, DatabaseUrl};
use crate::sql::{DbError, Value};

/// One tenant: a name (what guests see as `context.tenant`) and its database URL.
#[derive(Clone, PartialEq, Eq)]
pub struct Tenant {
    pub name: String,
    /// May hold a password: never printed (see [`Tenant::database`]).
    pub url: String,
}

impl fmt::Debug for Tenant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tenant").field("name", &self.name).field("database", &self.database()).finish()
    }
}

impl Tenant {
    pub fn new(name: impl Into<String>, url: impl Into<String>) -> Self {
        Tenant { name: name.into(), url: url.into() }
    }

    /// A tenant named after its database: the SQLite file's stem, the
    /// PostgreSQL schema, else the PostgreSQL database's name.
    pub fn from_url(url: &str) -> Result<Self, ConnectError> {
        Ok(Tenant { name: DatabaseUrl::parse(url)?.default_name(), url: url.to_owned() })
    }

    /// The database, without any password, for messages and reports.
    pub fn database(&self) -> String {
        crate::database::redacted_url(&self.url)
    }
}

/// Where a fleet's tenants come from (`--tenants SOURCE`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TenantSource {
    /// `@path`: one tenant a line, `URL [NAME]`; blank lines and `#` comments are skipped.
    File(PathBuf),
    /// `sqlite:tenants/*.db`: every file the glob matches, named by its stem, in path order.
    SqliteGlob(String),
    /// `postgres://user@host/db?schemas=PATTERN`: every schema whose name is
    /// `LIKE PATTERN` on that database, each with its own version tables.
    PostgresSchemas {
        /// The URL without `schemas=`: each tenant's URL is this plus `schema=<name>`.
        url: String,
        pattern: String,
    },
    /// A single database URL: a fleet of one.
    Single(String),
}

/// Why a fleet's tenants cannot be listed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FleetError {
    #[error(
        "`{text}` is not a tenant source: {reason}. Use @FILE (one database URL a line, optionally followed by a tenant name), \
         a SQLite glob such as sqlite:tenants/*.db, or postgres://user@host/db?schemas=PATTERN (a LIKE pattern such as tenant_%)"
    )]
    BadSource { text: String, reason: String },
    #[error("cannot read the tenant list {path}: {source}")]
    ReadList { path: PathBuf, source: std::io::Error },
    #[error("{path}:{line}: {reason}")]
    BadLine { path: PathBuf, line: usize, reason: String },
    #[error("`{pattern}` is not a valid glob: {source}")]
    Glob { pattern: String, source: glob::PatternError },
    #[error("cannot list the files matching `{pattern}`: {source}")]
    GlobRead { pattern: String, source: glob::GlobError },
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("cannot list the schemas matching `{pattern}` on {database}: {source}")]
    ListSchemas { pattern: String, database: String, source: DbError },
    #[error("{source_text} names no tenant: nothing to migrate (check the path, the glob or the schema pattern)")]
    Empty { source_text: String },
    #[error("tenant name `{name}` is used twice ({first} and {second}): tenant names must be unique")]
    DuplicateTenant { name: String, first: String, second: String },
}

impl TenantSource {
    /// Reads `@FILE`, `sqlite:GLOB`, `postgres://...?schemas=PATTERN` or a single database URL.
    pub fn parse(text: &str) -> Result<Self, FleetError> {
        let bad = |reason: &str| FleetError::BadSource { text: text.to_owned(), reason: reason.to_owned() };
        if let Some(path) = text.strip_prefix('@') {
            if path.is_empty() {
                return Err(bad("`@` needs the path of a file"));
            }
            return Ok(TenantSource::File(PathBuf::from(path)));
        }
        if let Some(rest) = text.strip_prefix("sqlite:") {
            let pattern = rest.strip_prefix("//").unwrap_or(rest);
            if pattern.contains(['*', '?', '[']) {
                return Ok(TenantSource::SqliteGlob(pattern.to_owned()));
            }
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            let (base, query) = text.split_once('?').unwrap_or((text, ""));
            let mut pattern = None;
            let mut kept = Vec::new();
            for pair in query.split('&').filter(|pair| !pair.is_empty()) {
                match pair.split_once('=') {
                    Some(("schemas", "")) => return Err(bad("`schemas=` needs a LIKE pattern, e.g. schemas=tenant_%")),
                    // A LIKE pattern, taken as written: `%` is its wildcard, not an escape.
                    Some(("schemas", value)) => pattern = Some(value.to_owned()),
                    Some(("schema", _)) => {
                        return Err(bad("give either `schema=` (one database) or `schemas=` (a fleet), not both"));
                    }
                    _ => kept.push(pair),
                }
            }
            if let Some(pattern) = pattern {
                let url = if kept.is_empty() { base.to_owned() } else { format!("{base}?{}", kept.join("&")) };
                return Ok(TenantSource::PostgresSchemas { url, pattern });
            }
        }
        match DatabaseUrl::parse(text) {
            Ok(_) => Ok(TenantSource::Single(text.to_owned())),
            Err(_) => Err(bad("it is neither @FILE nor a database URL")),
        }
    }

    /// The tenants, in a stable order, with unique names.
    pub fn tenants(&self) -> Result<Vec<Tenant>, FleetError> {
        let tenants = match self {
            TenantSource::File(path) => read_list(path)?,
            TenantSource::SqliteGlob(pattern) => sqlite_glob(pattern)?,
            TenantSource::PostgresSchemas { url, pattern } => postgres_schemas(url, pattern)?,
            TenantSource::Single(url) => vec![Tenant::from_url(url)?],
        };
        if tenants.is_empty() {
            return Err(FleetError::Empty { source_text: self.to_string() });
        }
        unique(tenants)
    }

    /// The tenants of several sources (shards), in order, with unique names
    /// across all of them.
    pub fn tenants_of(sources: &[TenantSource]) -> Result<Vec<Tenant>, FleetError> {
        let mut all = Vec::new();
        for source in sources {
            all.extend(source.tenants()?);
        }
        unique(all)
    }
}

/// `tenants`, refused if two share a name.
fn unique(tenants: Vec<Tenant>) -> Result<Vec<Tenant>, FleetError> {
    {
        let mut seen: HashMap<&str, &Tenant> = HashMap::new();
        for tenant in &tenants {
            if let Some(first) = seen.insert(tenant.name.as_str(), tenant) {
                return Err(FleetError::DuplicateTenant {
                    name: tenant.name.clone(),
                    first: first.database(),
                    second: tenant.database(),
                });
            }
        }
    }
    Ok(tenants)
}

impl fmt::Display for TenantSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TenantSource::File(path) => write!(f, "@{}", path.display()),
            TenantSource::SqliteGlob(pattern) => write!(f, "sqlite:{pattern}"),
            TenantSource::PostgresSchemas { url, pattern } => match DatabaseUrl::parse(url) {
                Ok(parsed) => write!(f, "{} (schemas {pattern})", parsed.redacted()),
                Err(_) => write!(f, "schemas {pattern}"),
            },
            TenantSource::Single(url) => match DatabaseUrl::parse(url) {
                Ok(parsed) => write!(f, "{}", parsed.redacted()),
                Err(_) => f.write_str("(not a database URL)"),
            },
        }
    }
}

fn read_list(path: &Path) -> Result<Vec<Tenant>, FleetError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| FleetError::ReadList { path: path.to_path_buf(), source })?;
    let mut tenants = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.split_once('#').map_or(line, |(before, _)| before).trim();
        if line.is_empty() {
            continue;
        }
        let bad = |reason: String| FleetError::BadLine { path: path.to_path_buf(), line: index + 1, reason };
        let mut words = line.split_whitespace();
        let url = words.next().expect("a non-empty line has a first word");
        let name = words.next();
        if words.next().is_some() {
            return Err(bad("expected `URL [NAME]`".to_owned()));
        }
        let tenant = Tenant::from_url(url).map_err(|error| bad(error.to_string()))?;
        tenants.push(match name {
            Some(name) => Tenant::new(name, url),
            None => tenant,
        });
    }
    Ok(tenants)
}

fn sqlite_glob(pattern: &str) -> Result<Vec<Tenant>, FleetError> {
    let paths = glob::glob(pattern).map_err(|source| FleetError::Glob { pattern: pattern.to_owned(), source })?;
    let mut tenants = Vec::new();
    for path in paths {
        let path = path.map_err(|source| FleetError::GlobRead { pattern: pattern.to_owned(), source })?;
        if path.is_file() {
            tenants.push(Tenant::from_url(&format!("sqlite:{}", path.display()))?);
        }
    }
    Ok(tenants)
}

fn postgres_schemas(url: &str, pattern: &str) -> Result<Vec<Tenant>, FleetError> {
    let server_url = DatabaseUrl::parse(url)?;
    let DatabaseUrl::Postgres { conninfo, .. } = &server_url else {
        unreachable!("TenantSource::parse only makes PostgreSQL schema sources from postgres URLs");
    };
    let database = server_url.redacted();
    let mut server = PostgresBackend::connect(conninfo, None, database.clone())?;
    let rows = server
        .query(
            // The server's own schemas are never tenants, whatever the pattern.
            "SELECT nspname::text FROM pg_catalog.pg_namespace \
             WHERE nspname LIKE $1 AND nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' \
             ORDER BY nspname",
            &[Value::Text(pattern.to_owned())],
        )
        .map_err(|source| FleetError::ListSchemas { pattern: pattern.to_owned(), database, source })?;
    Ok(rows
        .values
        .into_iter()
        .filter_map(|row| match row.into_iter().next() {
            Some(Value::Text(schema)) => {
                let tenant_url = server_url.with_schema(&schema).to_url();
                Some(Tenant::new(schema, tenant_url))
            }
            _ => None,
        })
        .collect())
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_parse_into_their_kinds() {
        assert_eq!(TenantSource::parse("@tenants.txt").unwrap(), TenantSource::File("tenants.txt".into()));
        assert_eq!(
            TenantSource::parse("sqlite:tenants/*.db").unwrap(),
            TenantSource::SqliteGlob("tenants/*.db".into())
        );
        assert_eq!(
            TenantSource::parse("postgres://u:pw@h/db?sslmode=disable&schemas=tenant_%").unwrap(),
            TenantSource::PostgresSchemas {
                url: "postgres://u:pw@h/db?sslmode=disable".into(),
                pattern: "tenant_%".into()
            }
        );
        assert_eq!(TenantSource::parse("sqlite:one.db").unwrap(), TenantSource::Single("sqlite:one.db".into()));
        for bad in ["@", "mysql://x", "postgres://h/db?schemas=", "postgres://h/db?schemas=a%&schema=b", "tenants.txt"]
        {
            assert!(matches!(TenantSource::parse(bad), Err(FleetError::BadSource { .. })), "{bad}");
        }
        let shown = TenantSource::parse("postgres://u:s3cret@h/db?schemas=t_%").unwrap().to_string();
        assert!(!shown.contains("s3cret"), "{shown}");
    }

    #[test]
    fn lists_name_tenants_and_refuse_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        let list = dir.path().join("tenants.txt");
        std::fs::write(
            &list,
            "# fleet\nsqlite:a/acme.db\n\nsqlite:b.db   globex  # trailing note\npostgres://u:pw@h/db?schema=t1\n",
        )
        .unwrap();
        let tenants = TenantSource::File(list.clone()).tenants().unwrap();
        let names: Vec<&str> = tenants.iter().map(|tenant| tenant.name.as_str()).collect();
        assert_eq!(names, ["acme", "globex", "t1"]);
        assert!(!format!("{:?}", tenants[2]).contains("pw"), "{:?}", tenants[2]);
        std::fs::write(&list, "sqlite:a/x.db\nsqlite:b/x.db\n").unwrap();
        assert!(matches!(TenantSource::File(list.clone()).tenants(), Err(FleetError::DuplicateTenant { .. })));
        std::fs::write(&list, "sqlite:a.db one two\n").unwrap();
        assert!(matches!(TenantSource::File(list.clone()).tenants(), Err(FleetError::BadLine { line: 1, .. })));
        std::fs::write(&list, "# nobody\n").unwrap();
        assert!(matches!(TenantSource::File(list).tenants(), Err(FleetError::Empty { .. })));
    }

    #[test]
    fn globs_list_files_in_path_order() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.db", "a.db", "c.txt"] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        let pattern = format!("sqlite:{}/*.db", dir.path().display());
        let tenants = TenantSource::parse(&pattern).unwrap().tenants().unwrap();
        let names: Vec<&str> = tenants.iter().map(|tenant| tenant.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(tenants[0].url, format!("sqlite:{}/a.db", dir.path().display()));
    }
}
