//! What the host fixes for the length of one hook call, for the backend to enforce while the guest's statements run.
//!
//! Between [`Backend::begin_hook`](super::Backend::begin_hook) and
//! [`Backend::end_hook`](super::Backend::end_hook) every statement a backend
//! runs is the guest's (the runtime's transaction guard already passed it).
//! The backend enforces what the database engine can: the deadline (an
//! interrupt or a cancel request), the size of a result before it is held
//! in host memory, the host's own tables, and the host's session state. At
//! the end it says whether the session is still as the host left it.

use std::time::{Duration, Instant};

use wasmig_sqlguard::Capabilities;

/// What the host fixes for one hook call.
#[derive(Debug, Clone)]
pub struct HookSession {
    /// The guest's statements stop here, whatever they do.
    pub deadline: Instant,
    /// The longest one statement waits for a lock (PostgreSQL `lock_timeout`,
    /// set by the host; a revision cannot change it).
    pub lock_wait: Duration,
    /// Tables only the host writes (the version tables, unqualified names):
    /// a guest may read them, never write, alter, drop or trigger on them.
    pub protected_tables: Vec<String>,
    /// The most bytes of one query result the host holds for the guest: a
    /// result over it stops with an error naming the statement instead of
    /// being materialized.
    pub max_result_bytes: u64,
    /// The hook may only read (`verify`, and `upgrade --adopt`'s verify).
    pub read_only: bool,
    /// PostgreSQL: the role the guest's statements run as (`SET ROLE`, by
    /// the host; the guest cannot change it), e.g. a per-tenant role whose
    /// privileges keep it out of other tenants' schemas.
    pub role: Option<String>,
    /// What the project opted into for trusted revisions (the SQLite
    /// authorizer allows `ATTACH` only with `server-files`).
    pub capabilities: Capabilities,
}

/// Why the host cannot trust the session after a guest's statements: the
/// step fails and is rolled back, and nothing is recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SessionBreach(pub String);

/// Why the session's login role could leave the role hooks run as: a
/// statement can always `RESET ROLE` back to the login, so `role` confines
/// a revision only when the login holds nothing more than `role` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginEscape {
    /// The role the session logged in as (`session_user`).
    pub login: String,
    /// What it holds beyond the hooks' role, each said as a phrase
    /// ("is a superuser", "is a member of tenant_b").
    pub reasons: Vec<String>,
}
