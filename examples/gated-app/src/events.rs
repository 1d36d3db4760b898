//! The start-up log: every side effect of the app, appended in order to one shared list.
//!
//! The app records an [`Event`] at the moment it does something the outside
//! world can see (a log line, a table read, a handler becoming reachable, a
//! socket, a response), so the tests can check the order in which these
//! happened against the moment migrations finished.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

/// One side effect of the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `wasmig::ensure_ready` returned `Ok`; `applied` revisions ran in this call.
    MigrationsReady { applied: usize },
    /// The configuration log line, as written.
    ConfigLogged(String),
    /// The app's tables were opened (and found to hold this many greetings).
    TablesOpened { greetings: i64 },
    /// A table was read to answer a request.
    TableRead(&'static str),
    /// A request handler became part of the router.
    HandlerRegistered(&'static str),
    /// The listening socket is bound: from here on, clients can connect.
    Listening(SocketAddr),
    /// A request was answered.
    Served { path: String, status: u16 },
}

/// A shared, ordered log of [`Event`]s; clones append to the same list.
#[derive(Debug, Clone, Default)]
pub struct StartupLog {
    events: Arc<Mutex<Vec<Event>>>,
    echo_to_stderr: bool,
}

impl StartupLog {
    /// A log that only collects (for tests and embedding).
    pub fn new() -> Self {
        StartupLog::default()
    }

    /// A log that also prints each event to stderr as it happens (the binary's).
    pub fn echoing_to_stderr() -> Self {
        StartupLog { events: Arc::default(), echo_to_stderr: true }
    }

    pub fn record(&self, event: Event) {
        if self.echo_to_stderr {
            match &event {
                Event::ConfigLogged(line) => eprintln!("gated-app: {line}"),
                other => eprintln!("gated-app: {other:?}"),
            }
        }
        // A panic elsewhere while holding the lock leaves the list intact:
        // appending is the only mutation.
        self.events.lock().unwrap_or_else(PoisonError::into_inner).push(event);
    }

    /// The events so far, in the order they happened.
    pub fn events(&self) -> Vec<Event> {
        self.events.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}
