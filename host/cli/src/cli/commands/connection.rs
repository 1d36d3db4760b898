//! What every database command shares: the migrator of the project, the database URL it is given, the connection, and the applied set read without writing.

use std::path::Path;

use wasmig::runtime::{InstancePool, RuntimeConfig, default_cache_dir};
use wasmig::{AppliedRow, ConnectError, Database, Failure, Migrator, Status};

use crate::cli::error::CliResult;
use crate::cli::exit::UsageError;

/// The project and the runtime (default cache) every database command uses.
pub fn migrator(dir: &Path) -> CliResult<Migrator> {
    Ok(Migrator::open_configured(dir, runtime_config()?)?)
}

/// The runtime's settings: the default component cache, and the instance
/// pool unless `WASMIG_INSTANCE_POOL=off` (for a process that may not
/// reserve address space up front, docs/RUNTIME.md).
pub fn runtime_config() -> CliResult<RuntimeConfig> {
    let instance_pool = match std::env::var("WASMIG_INSTANCE_POOL").as_deref() {
        Err(_) | Ok("" | "on") => InstancePool::default(),
        Ok("off") => InstancePool::OnDemand,
        Ok(other) => {
            return Err(UsageError::new(format!("WASMIG_INSTANCE_POOL=`{other}` is neither `on` nor `off`")).into());
        }
    };
    Ok(RuntimeConfig { cache_dir: default_cache_dir(), instance_pool })
}

/// The database URL: `--database`/`DATABASE_URL`, else the project's `[database] url`.
pub fn database_url(migrator: &Migrator, given: Option<&str>) -> CliResult<String> {
    given.map(str::to_owned).or_else(|| migrator.project().config.database.url.clone()).ok_or_else(|| {
        UsageError::new("no database: pass --database URL, set DATABASE_URL, or set [database] url in wasmig.toml")
            .into()
    })
}

pub fn connect(migrator: &Migrator, given: Option<&str>) -> CliResult<Database> {
    connect_tenant(migrator, given, None)
}

/// As `tenant` (`--tenant`): with `[sandbox] login = true`, logged in as its role.
pub fn connect_tenant(migrator: &Migrator, given: Option<&str>, tenant: Option<&str>) -> CliResult<Database> {
    Ok(migrator.connect_tenant(&database_url(migrator, given)?, tenant)?)
}

/// For commands that only read: a SQLite file that does not exist is an
/// error, not an empty file left behind.
pub fn connect_existing(migrator: &Migrator, given: Option<&str>) -> CliResult<Database> {
    Ok(migrator.connect_existing(&database_url(migrator, given)?)?)
}

/// A database opened to be read, or one that does not exist yet (a SQLite
/// file that is missing): it has nothing applied and no events, and stays uncreated.
pub enum Existing {
    Open(Database),
    /// How to name it: `app.db (not created yet)`.
    Missing(String),
}

/// Opens the database for commands that only read, telling a database that
/// does not exist yet from one that cannot be opened.
pub fn open_existing(migrator: &Migrator, given: Option<&str>) -> CliResult<Existing> {
    match migrator.connect_existing(&database_url(migrator, given)?) {
        Ok(db) => Ok(Existing::Open(db)),
        Err(error) => match error.failure() {
            Failure::Connect(ConnectError::MissingDatabase { database }) => {
                Ok(Existing::Missing(format!("{database} (not created yet)")))
            }
            _ => Err(error.into()),
        },
    }
}

/// The database's applied rows, for commands that only read, and how to name
/// the database.
pub fn read_applied(migrator: &Migrator, given: Option<&str>) -> CliResult<(String, Vec<AppliedRow>)> {
    Ok(match open_existing(migrator, given)? {
        Existing::Open(mut db) => {
            let rows = migrator.applied_rows(&mut db)?;
            (db.describe(), rows)
        }
        Existing::Missing(database) => (database, Vec::new()),
    })
}

/// The database's status, for `wasmig status`: read without writing, with
/// who holds the migration lock if a run is in progress and the last run's
/// failure; a database that does not exist yet is behind by everything.
pub fn read_status(migrator: &Migrator, given: Option<&str>) -> CliResult<Status> {
    Ok(match open_existing(migrator, given)? {
        Existing::Open(mut db) => migrator.status(&mut db)?,
        Existing::Missing(database) => migrator.status_of(database, Vec::new())?,
    })
}
