//! Scratch databases for `wasmig test`: a temporary SQLite file, or a throw-away schema on a PostgreSQL server, removed afterwards on every path.

use std::path::PathBuf;

use crate::backend::DatabaseUrl;
use crate::database::Database;
use crate::error::{Error, Failure};
use crate::migrator::Migrator;
use crate::sql::quote_identifier;

/// The prefix of the schemas `wasmig test` creates on PostgreSQL, so that
/// one left behind by a killed process is recognisable (and droppable).
pub const SCRATCH_SCHEMA_PREFIX: &str = "wasmig_test_";

/// A database made for one test run and removed with it: by
/// [`Scratch::remove`], which reports a failure to remove, or else when
/// dropped (a panic, an early return), best effort.
#[derive(Debug)]
pub struct Scratch {
    db: Option<Database>,
    place: Place,
}

#[derive(Debug)]
enum Place {
    /// The directory holding `scratch.db`; removing it removes the file and its journals.
    Sqlite(Option<tempfile::TempDir>),
    /// The schema, and a connection outside it to drop it with.
    Postgres { admin: Option<Box<Database>>, schema: String, database: String },
}

impl Scratch {
    /// A fresh, empty database for `migrator`'s project: with `url` a
    /// PostgreSQL server, a new schema `wasmig_test_<random>` in its
    /// database (any `?schema=` of the URL is not used); otherwise (no URL,
    /// or a SQLite one) a new SQLite file in a temporary directory. Nothing
    /// that exists is ever written.
    pub fn create(migrator: &Migrator, url: Option<&str>) -> Result<Scratch, Error> {
        let parsed = url.map(DatabaseUrl::parse).transpose()?;
        match parsed {
            Some(server @ DatabaseUrl::Postgres { .. }) => Self::create_schema(migrator, &server),
            _ => Self::create_file(migrator),
        }
    }

    fn create_file(migrator: &Migrator) -> Result<Scratch, Error> {
        let dir = tempfile::Builder::new().prefix("wasmig-test-").tempdir().map_err(|error| Failure::Db {
            database: std::env::temp_dir().display().to_string(),
            action: "creating a temporary directory for the scratch SQLite file (set TMPDIR to a writable directory)"
                .to_owned(),
            source: crate::sql::DbError::host(error.to_string()),
        })?;
        let path: PathBuf = dir.path().join("scratch.db");
        let db = migrator.connect(&format!("sqlite:{}", path.display()))?;
        Ok(Scratch { db: Some(db), place: Place::Sqlite(Some(dir)) })
    }

    fn create_schema(migrator: &Migrator, server: &DatabaseUrl) -> Result<Scratch, Error> {
        let schema = format!("{SCRATCH_SCHEMA_PREFIX}{}", unique_suffix());
        let database = server.redacted();
        let plain = match server {
            DatabaseUrl::Postgres { conninfo, .. } => {
                DatabaseUrl::Postgres { conninfo: conninfo.clone(), schema: None }
            }
            other => other.clone(),
        };
        let mut admin = Database::connect(&plain.to_url())?;
        admin.execute_script(&format!("CREATE SCHEMA {}", quote_identifier(&schema))).map_err(Failure::db(
            &database,
            format!("creating the scratch schema `{schema}` (the login needs CREATE on the database)"),
        ))?;
        let mut scratch = Scratch {
            db: None,
            place: Place::Postgres { admin: Some(Box::new(admin)), schema: schema.clone(), database },
        };
        // From here on, dropping `scratch` drops the schema.
        scratch.db = Some(migrator.connect(&plain.with_schema(&schema).to_url())?);
        Ok(scratch)
    }

    /// The scratch database, as the migrator takes it.
    pub fn database(&mut self) -> &mut Database {
        self.db.as_mut().expect("a scratch database is open until removed")
    }

    /// Where it is: the SQLite file, or the server and schema.
    pub fn describe(&self) -> String {
        self.db.as_ref().map(Database::describe).unwrap_or_default()
    }

    /// Removes the scratch database: deletes the file, or drops the schema
    /// with everything in it.
    pub fn remove(mut self) -> Result<(), Error> {
        self.remove_now()
    }

    fn remove_now(&mut self) -> Result<(), Error> {
        // The scratch connection goes first: it must hold nothing the drop waits for.
        drop(self.db.take());
        match &mut self.place {
            Place::Sqlite(dir) => {
                if let Some(dir) = dir.take() {
                    let shown = dir.path().display().to_string();
                    dir.close().map_err(|error| Failure::Db {
                        database: shown.clone(),
                        action: format!("removing the scratch SQLite directory {shown} (remove it by hand)"),
                        source: crate::sql::DbError::host(error.to_string()),
                    })?;
                }
                Ok(())
            }
            Place::Postgres { admin, schema, database } => {
                let Some(mut admin) = admin.take() else { return Ok(()) };
                let drop_schema = format!("DROP SCHEMA IF EXISTS {} CASCADE", quote_identifier(schema));
                admin.execute_script(&drop_schema).map_err(Failure::db(
                    database,
                    format!("dropping the scratch schema `{schema}` (drop it by hand: {drop_schema})"),
                ))?;
                Ok(())
            }
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Err(error) = self.remove_now() {
            tracing::warn!("{error}");
        }
    }
}

/// Refuses to start `command` (`wasmig test`, `wasmig lint`) on a database
/// where anything is applied: it runs every revision from the start.
pub(crate) fn require_nothing_applied(migrator: &Migrator, db: &mut Database, command: &str) -> Result<(), Error> {
    let Some(row) = migrator.applied_rows(db)?.into_iter().next() else { return Ok(()) };
    Err(Failure::Db {
        database: db.describe(),
        action: format!("starting `{command}`"),
        source: crate::sql::DbError::host(format!(
            "revision {} is already applied here; `{command}` needs an empty database (it makes a scratch one unless \
             given one)",
            row.revision
        )),
    }
    .into())
}

/// Unique enough among concurrent test runs on one server: the process,
/// the clock and a per-process counter, hashed.
fn unique_suffix() -> String {
    use std::hash::{BuildHasher, Hash, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    std::process::id().hash(&mut hasher);
    std::time::SystemTime::now().hash(&mut hasher);
    COUNTER.fetch_add(1, Ordering::Relaxed).hash(&mut hasher);
    format!("{:012x}", hasher.finish() & 0xffff_ffff_ffff)
}
