//! Test support for PostgreSQL: a fresh database per test, dropped afterwards, on the server named by `WASMIG_TEST_PG`.
//!
//! A test that cannot reach the server fails with the command that starts
//! it: PostgreSQL tests never skip.

use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use wasmig::backend::Backend;
use wasmig::backend::postgres::PostgresBackend;

/// The server the tests use unless `WASMIG_TEST_PG` names another.
pub const DEFAULT_SERVER: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The admin URL of the test server (a database on it the tests may connect to).
pub fn server_url() -> String {
    std::env::var("WASMIG_TEST_PG").unwrap_or_else(|_| DEFAULT_SERVER.to_owned())
}

/// Connects to `conninfo`, failing the test with how to start the server.
pub fn connect(conninfo: &str, schema: Option<&str>) -> PostgresBackend {
    PostgresBackend::connect(conninfo, schema, display(conninfo)).unwrap_or_else(|error| {
        panic!(
            "PostgreSQL is not reachable for the tests ({error}).\n\
             Start the local server with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, \
             or point WASMIG_TEST_PG at one (default {DEFAULT_SERVER})."
        )
    })
}

/// A database created for one test (`wasmig_t_<random>`), dropped with `WITH (FORCE)` when the guard drops.
#[derive(Debug)]
pub struct TestDatabase {
    name: String,
    server: String,
    url: String,
}

impl TestDatabase {
    pub fn create() -> Self {
        let server = server_url();
        let name = format!("wasmig_t_{}", unique_suffix());
        let mut admin = connect(&server, None);
        admin.execute_script(&format!("CREATE DATABASE \"{name}\"")).expect("create the test database");
        let url = with_database(&server, &name);
        TestDatabase { name, server, url }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The connection URL of this database (libpq form, no `schema=` parameter).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The URL with one more query parameter (`schema=t_01`, `schemas=t\_%`).
    pub fn url_with(&self, param: &str) -> String {
        let separator = if self.url.contains('?') { '&' } else { '?' };
        format!("{}{separator}{param}", self.url)
    }

    /// Creates one empty schema per name, in one round trip.
    pub fn create_schemas(&self, names: impl IntoIterator<Item = String>) {
        let script: Vec<String> = names.into_iter().map(|name| format!("CREATE SCHEMA {}", quoted(&name))).collect();
        self.connect().execute_script(&script.join("; ")).expect("create the test schemas");
    }

    /// A backend on this database.
    pub fn connect(&self) -> PostgresBackend {
        connect(&self.url, None)
    }

    /// A backend on this database confined to `schema`.
    pub fn connect_schema(&self, schema: &str) -> PostgresBackend {
        connect(&self.url, Some(schema))
    }

    /// Every user table of the database, its columns and rows, as text: for
    /// "nothing changed" assertions.
    pub fn dump(&self) -> Vec<String> {
        let mut db = self.connect();
        let tables = db
            .query(
                "SELECT table_schema::text, table_name::text FROM information_schema.tables \
                 WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2",
                &[],
            )
            .expect("list tables");
        let mut dump = Vec::new();
        for table in tables.values {
            let (wasmig::sql::Value::Text(schema), wasmig::sql::Value::Text(name)) = (&table[0], &table[1]) else {
                panic!("unexpected row {table:?}");
            };
            let columns = db
                .query(
                    "SELECT column_name::text || ' ' || data_type::text FROM information_schema.columns \
                     WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position",
                    &[table[0].clone(), table[1].clone()],
                )
                .expect("list columns");
            dump.push(format!("table {schema}.{name}: {:?}", columns.values));
            let rows = db
                .query(&format!("SELECT r::text FROM {}.{} r ORDER BY 1", quoted(schema), quoted(name)), &[])
                .expect("read rows");
            for row in rows.values {
                dump.push(format!("row {schema}.{name}: {:?}", row[0]));
            }
        }
        dump
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let dropped = PostgresBackend::connect(&self.server, None, display(&self.server))
            .map_err(|error| error.to_string())
            .and_then(|mut admin| {
                admin
                    .execute_script(&format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name))
                    .map_err(|error| error.to_string())
            });
        if let Err(error) = dropped {
            eprintln!("cannot drop test database {}: {error}", self.name);
        }
    }
}

/// `conninfo` pointed at database `name` (URL or key=value form).
fn with_database(conninfo: &str, name: &str) -> String {
    if let Some((scheme, rest)) = conninfo.split_once("://") {
        let (base, query) = rest.split_once('?').map_or((rest, None), |(base, query)| (base, Some(query)));
        let host = base.split_once('/').map_or(base, |(host, _)| host);
        match query {
            Some(query) => format!("{scheme}://{host}/{name}?{query}"),
            None => format!("{scheme}://{host}/{name}"),
        }
    } else {
        // key=value form: a later key wins.
        format!("{conninfo} dbname={name}")
    }
}

/// The URL without its password, as the backend wants for messages.
fn display(conninfo: &str) -> String {
    match wasmig::backend::DatabaseUrl::parse(conninfo) {
        Ok(url) => url.redacted(),
        Err(_) => "the test PostgreSQL server".to_owned(),
    }
}

fn unique_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    std::process::id().hash(&mut hasher);
    std::time::SystemTime::now().hash(&mut hasher);
    COUNTER.fetch_add(1, Ordering::Relaxed).hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

/// `name` as an SQL identifier: in double quotes, its own quotes doubled.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
