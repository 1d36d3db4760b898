//! Errors a revision returns: the database's, or its own message.

use std::fmt;

/// What a hook returns: `Ok` or an [`Error`] that the host shows the user.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error from the database or the host (for example a refused `COMMIT`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbError {
    /// SQLSTATE on PostgreSQL, the extended result code name on SQLite,
    /// `"WASMIG"` when the host refused the statement itself.
    pub code: Option<String>,
    pub message: String,
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(code) => write!(f, "[{code}] {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for DbError {}

/// Why a hook failed. The host shows its text and rolls the step back.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// A statement failed in the database or was refused by the host.
    Db(DbError),
    /// A value did not have the type the revision asked for.
    Value(String),
    /// The revision's own message.
    Message(String),
}

impl Error {
    /// An error with the revision's own message.
    pub fn msg(message: impl Into<String>) -> Self {
        Error::Message(message.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Db(error) => write!(f, "database error: {error}"),
            Error::Value(message) | Error::Message(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for Error {}

impl From<DbError> for Error {
    fn from(error: DbError) -> Self {
        Error::Db(error)
    }
}

impl From<String> for Error {
    fn from(message: String) -> Self {
        Error::Message(message)
    }
}

impl From<&str> for Error {
    fn from(message: &str) -> Self {
        Error::Message(message.to_owned())
    }
}
