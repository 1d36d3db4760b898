//! Connecting: one blocking connection (a tokio current-thread runtime driving a tokio-postgres client), opened, set up and closed.

use std::future::Future;
use std::time::Duration;

use tokio::runtime::Runtime;
use tokio::task::JoinHandle;
use tokio_postgres::Client;

use super::error::db_error;
use super::settings_error::SettingsError;
use super::target::Target;
use super::tls::Connector;
use crate::backend::ConnectError;
use crate::sql::{DbError, quote_identifier};

/// How long closing a connection waits for the server to take the goodbye.
const CLOSE_WAIT: Duration = Duration::from_secs(1);

pub(super) const SPAWN_BLOCKING_ADVICE: &str = "wasmig's PostgreSQL backend blocks its thread while it waits for the server, \
     which a thread driving async tasks must not do: call wasmig through `tokio::task::spawn_blocking` or from a plain thread";

/// Opens the backend's connection with a libpq-style URL or key=value
/// string (completed from the `PG*` environment and the password file, as
/// libpq does) and sets the session up; with `schema`, the schema must exist
/// and becomes the session's `search_path`. Returns the session, the
/// resolved target (password and TLS settings included: the lock opens a
/// second connection with it) and the schema: the one given, else the
/// server's `current_schema()`. `display` names the database in errors.
pub(super) fn connect(
    conninfo: &str,
    schema: Option<&str>,
    display: &str,
) -> Result<(Session, Target, Option<String>), ConnectError> {
    let open_error = |source: DbError| ConnectError::Open { database: display.to_owned(), source };
    let target = Target::new(conninfo).map_err(|error| match error {
        SettingsError::Syntax(reason) => ConnectError::BadUrl { url: display.to_owned(), reason },
        SettingsError::Unusable(message) => open_error(DbError { code: None, message, position: None }),
    })?;
    let session = Session::open(&target).map_err(|error| match error {
        OpenError::InsideAsyncRuntime => ConnectError::InsideAsyncRuntime { database: display.to_owned() },
        OpenError::Db(source) => open_error(source),
    })?;
    // The transaction guard reads `'...\'...'` the way PostgreSQL does
    // with this setting on (the default since 9.1); make sure it is, for
    // this session only.
    session
        .block_on(session.client().batch_execute("SET standard_conforming_strings = on"))
        .map_err(db_error)
        .map_err(open_error)?;

    let schema = match schema {
        Some(schema) => {
            let exists = session
                .block_on(
                    session
                        .client()
                        .query_one("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", &[&schema]),
                )
                .map_err(db_error)
                .map_err(open_error)?
                .get::<_, bool>(0);
            if !exists {
                return Err(ConnectError::MissingSchema { schema: schema.to_owned(), database: display.to_owned() });
            }
            // Session-local: the role's and the database's settings are left alone.
            session
                .block_on(session.client().batch_execute(&format!("SET search_path TO {}", quote_identifier(schema))))
                .map_err(db_error)
                .map_err(open_error)?;
            Some(schema.to_owned())
        }
        None => session
            .block_on(session.client().query_one("SELECT current_schema()::text", &[]))
            .map_err(db_error)
            .map_err(open_error)?
            .get::<_, Option<String>>(0),
    };
    Ok((session, target, schema))
}

/// One connection and the runtime that drives it.
pub(super) struct Session {
    /// `Option` only so that `Drop` can take them by value.
    runtime: Option<Runtime>,
    client: Option<Client>,
    connection: Option<JoinHandle<()>>,
    /// The TLS connector the connection was opened with, for its cancel requests.
    connector: Connector,
}

pub(super) enum OpenError {
    InsideAsyncRuntime,
    Db(DbError),
}

impl Session {
    pub(super) fn open(target: &Target) -> Result<Self, OpenError> {
        let runtime =
            tokio::runtime::Builder::new_current_thread().enable_io().enable_time().build().map_err(|error| {
                OpenError::Db(DbError {
                    code: None,
                    message: format!("cannot start the I/O runtime: {error}"),
                    position: None,
                })
            })?;
        if !blocking_allowed(&runtime) {
            runtime.shutdown_background();
            return Err(OpenError::InsideAsyncRuntime);
        }
        let opened = runtime.block_on(target.connect()).map_err(OpenError::Db)?;
        let (client, connection, connector) = (opened.client, opened.connection, opened.connector);
        // The connection makes progress whenever this runtime's `block_on` runs.
        let connection = runtime.spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!("PostgreSQL connection ended: {error}");
            }
        });
        Ok(Session { runtime: Some(runtime), client: Some(client), connection: Some(connection), connector })
    }

    /// The TLS connector for this connection's cancel requests
    /// (`client().cancel_token().cancel_query(session.cancel_tls())`): the
    /// same TLS settings as the connection, and the `sslmode` it ended up with.
    #[allow(dead_code)]
    pub(super) fn cancel_tls(&self) -> Connector {
        self.connector.clone()
    }

    pub(super) fn client(&self) -> &Client {
        self.client.as_ref().expect("the client lives until the session drops")
    }

    fn runtime(&self) -> &Runtime {
        self.runtime.as_ref().expect("the runtime lives until the session drops")
    }

    pub(super) fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime().block_on(future)
    }

    pub(super) fn can_block(&self) -> bool {
        blocking_allowed(self.runtime())
    }

    /// Runs a future on this connection's runtime, or says why it cannot.
    pub(super) fn run<T>(&self, future: impl Future<Output = Result<T, tokio_postgres::Error>>) -> Result<T, DbError> {
        if !self.can_block() {
            return Err(DbError::host(SPAWN_BLOCKING_ADVICE));
        }
        self.block_on(future).map_err(db_error)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // Without its client the connection task says goodbye and ends.
        drop(self.client.take());
        let (Some(runtime), Some(connection)) = (self.runtime.take(), self.connection.take()) else {
            return;
        };
        if !std::thread::panicking() && blocking_allowed(&runtime) {
            let _closed = runtime.block_on(async { tokio::time::timeout(CLOSE_WAIT, connection).await });
        }
        // Never blocks, so dropping a session cannot panic in async code;
        // the socket closes with the dropped task.
        runtime.shutdown_background();
    }
}

/// Whether this thread may block on `runtime`. A thread driving async tasks
/// may not; a `spawn_blocking` thread is inside a runtime's context too but
/// may. tokio offers no query for the difference, so inside a runtime's
/// context this tries an empty `block_on`, which panics exactly where a real
/// one would (the panic message is printed, then caught).
fn blocking_allowed(runtime: &Runtime) -> bool {
    if tokio::runtime::Handle::try_current().is_err() {
        return true;
    }
    if std::thread::panicking() {
        // A second panic while unwinding would abort the process.
        return false;
    }
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| runtime.block_on(async {}))).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_identifier("we\"ird"), "\"we\"\"ird\"");
    }
}
