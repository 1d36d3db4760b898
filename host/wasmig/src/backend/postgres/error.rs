//! Mapping tokio-postgres errors to the contract's [`DbError`].

use std::error::Error as StdError;

use tokio_postgres::error::ErrorPosition;

use crate::sql::DbError;

/// Turns a tokio-postgres error into the contract's error: the SQLSTATE and
/// the server's message with its detail and hint, or (no server involved,
/// such as a refused connection) no code and the whole cause chain.
pub(super) fn db_error(error: tokio_postgres::Error) -> DbError {
    let code = error.as_db_error().map(|server| server.code().code().to_owned());
    DbError { code, message: message_of(&error), position: None }
}

/// [`db_error`] for an error of running `sent`, with the server's error
/// position (characters from 1 in what it was sent) as a byte offset into `sent`.
pub(super) fn db_error_in(error: tokio_postgres::Error, sent: &str) -> DbError {
    let position = match error.as_db_error().and_then(|server| server.position()) {
        Some(ErrorPosition::Original(position)) => {
            let index = (*position as usize).saturating_sub(1);
            sent.char_indices().nth(index).map(|(at, _)| at)
        }
        _ => None,
    };
    DbError { position, ..db_error(error) }
}

/// The server's message with its detail and hint, or (no server involved)
/// the whole cause chain.
pub(super) fn message_of(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(server) => {
            let mut message = server.message().to_owned();
            if let Some(detail) = server.detail() {
                message.push_str("\nDETAIL: ");
                message.push_str(detail);
            }
            if let Some(hint) = server.hint() {
                message.push_str("\nHINT: ");
                message.push_str(hint);
            }
            message
        }
        None => error_chain(error),
    }
}

/// An error's message followed by those of its causes that it does not already contain.
pub(super) fn error_chain(error: &dyn StdError) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}
