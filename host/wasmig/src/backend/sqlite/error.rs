//! rusqlite errors as the contract's [`DbError`], with SQLite's own code names.

use crate::sql::DbError;

/// Turns a rusqlite error into the contract's error, with SQLite's code name.
pub(super) fn db_error(error: rusqlite::Error) -> DbError {
    match &error {
        rusqlite::Error::SqliteFailure(failure, message) => DbError {
            code: Some(result_code_name(failure.extended_code)),
            message: message.clone().unwrap_or_else(|| failure.to_string()),
            position: None,
        },
        // A statement SQLite could not prepare, with the byte `offset` of the
        // token it stopped at in `sql` (what was left of the text it was given).
        rusqlite::Error::SqlInputError { error, msg, offset, .. } => DbError {
            code: Some(result_code_name(error.extended_code)),
            message: msg.clone(),
            position: usize::try_from(*offset).ok(),
        },
        _ => DbError { code: None, message: error.to_string(), position: None },
    }
}

/// [`db_error`] for an error of running `sent`, with its position (when
/// SQLite gave one) as a byte offset into `sent`, or else `at` (where the
/// statement that failed begins in `sent`, when the caller knows it).
pub(super) fn db_error_in(error: rusqlite::Error, sent: &str, at: Option<usize>) -> DbError {
    let offset_base = match &error {
        // `sql` is the rest of `sent` from the statement SQLite was preparing.
        rusqlite::Error::SqlInputError { sql, .. } if sent.ends_with(sql.as_str()) => Some(sent.len() - sql.len()),
        _ => None,
    };
    let mut converted = db_error(error);
    converted.position = match (offset_base, converted.position) {
        (Some(base), Some(offset)) => Some(base + offset),
        _ => at,
    };
    converted
}

/// SQLite's own name for a result code, e.g. `SQLITE_CONSTRAINT_UNIQUE`.
fn result_code_name(extended: i32) -> String {
    use rusqlite::ffi;
    let name = match extended {
        ffi::SQLITE_CONSTRAINT_UNIQUE => "SQLITE_CONSTRAINT_UNIQUE",
        ffi::SQLITE_CONSTRAINT_PRIMARYKEY => "SQLITE_CONSTRAINT_PRIMARYKEY",
        ffi::SQLITE_CONSTRAINT_NOTNULL => "SQLITE_CONSTRAINT_NOTNULL",
        ffi::SQLITE_CONSTRAINT_FOREIGNKEY => "SQLITE_CONSTRAINT_FOREIGNKEY",
        ffi::SQLITE_CONSTRAINT_CHECK => "SQLITE_CONSTRAINT_CHECK",
        ffi::SQLITE_CONSTRAINT_TRIGGER => "SQLITE_CONSTRAINT_TRIGGER",
        _ => match extended & 0xff {
            ffi::SQLITE_ERROR => "SQLITE_ERROR",
            ffi::SQLITE_INTERNAL => "SQLITE_INTERNAL",
            ffi::SQLITE_PERM => "SQLITE_PERM",
            ffi::SQLITE_ABORT => "SQLITE_ABORT",
            ffi::SQLITE_BUSY => "SQLITE_BUSY",
            ffi::SQLITE_LOCKED => "SQLITE_LOCKED",
            ffi::SQLITE_NOMEM => "SQLITE_NOMEM",
            ffi::SQLITE_READONLY => "SQLITE_READONLY",
            ffi::SQLITE_INTERRUPT => "SQLITE_INTERRUPT",
            ffi::SQLITE_IOERR => "SQLITE_IOERR",
            ffi::SQLITE_CORRUPT => "SQLITE_CORRUPT",
            ffi::SQLITE_FULL => "SQLITE_FULL",
            ffi::SQLITE_CANTOPEN => "SQLITE_CANTOPEN",
            ffi::SQLITE_SCHEMA => "SQLITE_SCHEMA",
            ffi::SQLITE_TOOBIG => "SQLITE_TOOBIG",
            ffi::SQLITE_CONSTRAINT => "SQLITE_CONSTRAINT",
            ffi::SQLITE_MISMATCH => "SQLITE_MISMATCH",
            ffi::SQLITE_MISUSE => "SQLITE_MISUSE",
            ffi::SQLITE_AUTH => "SQLITE_AUTH",
            ffi::SQLITE_RANGE => "SQLITE_RANGE",
            ffi::SQLITE_NOTADB => "SQLITE_NOTADB",
            _ => return format!("SQLITE_{extended}"),
        },
    };
    name.to_owned()
}
