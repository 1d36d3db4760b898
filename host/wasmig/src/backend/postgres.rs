//! The PostgreSQL backend (tokio-postgres). Being written: see docs/RUNTIME.md.

use super::ConnectError;

#[derive(Debug)]
pub struct PostgresBackend;

impl PostgresBackend {
    pub fn connect(_conninfo: &str, _schema: Option<&str>, database: String) -> Result<super::sqlite::SqliteBackend, ConnectError> {
        Err(ConnectError::BadUrl { url: database, reason: "PostgreSQL is not wired yet".into() })
    }
}
