//! What every database command shares: the migrator of the project, the database URL it is given, the connection, and the applied set read without writing.

use std::path::Path;

use wasmig::{AppliedRow, ConnectError, Database, Failure, Migrator, Status};

use crate::cli::error::CliResult;
use crate::cli::exit::UsageError;

/// The project and the runtime (default cache) every database command uses.
pub fn migrator(dir: &Path) -> CliResult<Migrator> {
    Ok(Migrator::open(dir)?)
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

/// The database's applied rows, for commands that only read, and how to name
/// the database: a SQLite file that does not exist yet has none (and stays
/// uncreated).
pub fn read_applied(migrator: &Migrator, given: Option<&str>) -> CliResult<(String, Vec<AppliedRow>)> {
    let url = database_url(migrator, given)?;
    match migrator.connect_existing(&url) {
        Ok(mut db) => {
            let rows = migrator.applied_rows(&mut db)?;
            Ok((db.describe(), rows))
        }
        Err(error) => match error.failure() {
            Failure::Connect(ConnectError::MissingDatabase { database }) => {
                Ok((format!("{database} (not created yet)"), Vec::new()))
            }
            _ => Err(error.into()),
        },
    }
}

/// The database's status, for `wasmig status`: read without writing, with
/// who holds the migration lock if a run is in progress; a SQLite file that
/// does not exist yet is behind by everything (and stays uncreated).
pub fn read_status(migrator: &Migrator, given: Option<&str>) -> CliResult<Status> {
    let url = database_url(migrator, given)?;
    match migrator.connect_existing(&url) {
        Ok(mut db) => Ok(migrator.status(&mut db)?),
        Err(error) => match error.failure() {
            Failure::Connect(ConnectError::MissingDatabase { database }) => {
                Ok(migrator.status_of(format!("{database} (not created yet)"), Vec::new())?)
            }
            _ => Err(error.into()),
        },
    }
}
