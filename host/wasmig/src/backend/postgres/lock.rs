//! The migration lock: a session advisory lock taken on a connection of its own, and the guard that releases it.

use std::fmt;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::error::db_error;
use super::session::{OpenError, SPAWN_BLOCKING_ADVICE, Session};
use super::target::Target;
use crate::backend::{LockError, LockGuard};
use crate::sql::DbError;

/// The pause between two attempts at the advisory lock, plus up to
/// [`LOCK_POLL_JITTER`] so that waiting runners do not poll in step.
const LOCK_POLL_INTERVAL: Duration = Duration::from_millis(50);
const LOCK_POLL_JITTER: Duration = Duration::from_millis(50);

/// Namespaces wasmig's advisory-lock ids away from other users of
/// `pg_advisory_lock` on the same database.
const LOCK_NAMESPACE: &[u8] = b"wasmig.lock.v1\0";

/// How long the liveness check of the lock waits for its connection's answer.
const LIVENESS_WAIT: Duration = Duration::from_secs(5);

/// Takes the migration lock for `key` on a new connection made with
/// `config` (the backend's settings), waiting at most `timeout`. `database` names the database in
/// errors and in the guard's messages.
pub(super) fn acquire(
    config: &Target,
    key: &str,
    timeout: Duration,
    database: &str,
    waiting: &mut dyn FnMut(Option<&str>),
) -> Result<PostgresLock, LockError> {
    let lock_error = |source: DbError| LockError::Db { key: key.to_owned(), database: database.to_owned(), source };
    let lock_id = advisory_lock_id(key);
    let session = Session::open(config).map_err(|error| match error {
        OpenError::InsideAsyncRuntime => lock_error(DbError::host(SPAWN_BLOCKING_ADVICE)),
        OpenError::Db(source) => lock_error(source),
    })?;
    let started = Instant::now();
    let deadline = started + timeout;
    let attempt = session
        .block_on(session.client().prepare("SELECT pg_try_advisory_lock($1)"))
        .map_err(|error| lock_error(db_error(error)))?;
    let mut announced = false;
    loop {
        let taken: bool = session
            .block_on(session.client().query_one(&attempt, &[&lock_id]))
            .map_err(|error| lock_error(db_error(error)))?
            .get(0);
        if taken {
            let held = Held { session, lock_id, key: key.to_owned(), database: database.to_owned() };
            return Ok(PostgresLock { held: Arc::new(held) });
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(LockError::Timeout {
                key: key.to_owned(),
                database: database.to_owned(),
                waited: now - started,
                holder: lock_holder(&session, lock_id),
            });
        }
        if !announced {
            announced = true;
            waiting(lock_holder(&session, lock_id).as_deref());
        }
        let pause = (LOCK_POLL_INTERVAL + jitter(LOCK_POLL_JITTER)).min(deadline - now);
        if crate::interrupt::sleep(pause) {
            return Err(LockError::Interrupted { key: key.to_owned(), database: database.to_owned() });
        }
    }
}

/// Who holds the advisory lock `lock_id`, for the timeout message.
fn lock_holder(session: &Session, lock_id: i64) -> Option<String> {
    let row = session.block_on(session.client().query_opt(&holder_sql(lock_id), &[])).ok()??;
    Some(describe_holder(row.get(0), &row.get::<_, String>(1), &row.get::<_, String>(2), &row.get::<_, String>(3)))
}

/// The query for the session holding `lock_id`: its pid (int4), then
/// application name, connection start and client, as text.
pub(super) fn holder_sql(lock_id: i64) -> String {
    let (class_id, object_id) = advisory_lock_parts(lock_id);
    // Integers wasmig computed itself: safe to inline.
    format!(
        "SELECT a.pid, coalesce(a.application_name, ''), coalesce(a.backend_start::text, ''), coalesce(host(a.client_addr), 'local') \
         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
         WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 \
           AND l.classid = {class_id}::oid AND l.objid = {object_id}::oid \
           AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
         LIMIT 1"
    )
}

/// "held by server process 42, application `wasmig`, client 10.0.0.7, connected since ...".
pub(super) fn describe_holder(pid: i32, application: &str, since: &str, client: &str) -> String {
    let application =
        if application.is_empty() { "no application_name".to_owned() } else { format!("application `{application}`") };
    format!("held by server process {pid}, {application}, client {client}, connected since {since}")
}

/// The migration lock: a session advisory lock held by its own connection.
/// Dropping it unlocks and closes that connection; if the process dies the
/// server releases the lock with the connection.
pub struct PostgresLock {
    held: Arc<Held>,
}

/// The lock's connection; the lock lives exactly as long as it does.
struct Held {
    session: Session,
    lock_id: i64,
    key: String,
    database: String,
}

impl fmt::Debug for PostgresLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresLock")
            .field("key", &self.held.key)
            .field("database", &self.held.database)
            .field("lock_id", &self.held.lock_id)
            .finish_non_exhaustive()
    }
}

impl LockGuard for PostgresLock {}

impl PostgresLock {
    /// Whether the lock is still held, with one round trip on its
    /// connection. Only that connection ever runs statements, so the lock
    /// is held exactly as long as the connection is up: it goes only when the
    /// connection ends (`pg_terminate_backend` by someone with the right,
    /// a server restart, a network failure).
    pub fn check_held(&self) -> Result<(), LockError> {
        self.held.check()
    }

    /// A handle that checks the lock while it is held, without keeping it.
    pub(super) fn watch(&self) -> LockWatch {
        LockWatch(Arc::downgrade(&self.held))
    }
}

impl Held {
    fn check(&self) -> Result<(), LockError> {
        let lost = |reason: String| LockError::Db {
            key: self.key.clone(),
            database: self.database.clone(),
            source: DbError::host(format!(
                "the migration lock was lost: {reason}. Another runner may have taken it; nothing more is committed \
                 by this run. Check the database (`wasmig status`) before running again"
            )),
        };
        if !self.session.can_block() {
            return Err(lost(SPAWN_BLOCKING_ADVICE.to_owned()));
        }
        if self.session.client().is_closed() {
            return Err(lost("its connection is closed".to_owned()));
        }
        // A Sync message: the server answers at once, from any state.
        let answered = self
            .session
            .block_on(async { tokio::time::timeout(LIVENESS_WAIT, self.session.client().check_connection()).await });
        match answered {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(lost(format!("its connection ended ({})", db_error(error)))),
            Err(_) => Err(lost(format!("its connection did not answer within {LIVENESS_WAIT:?}"))),
        }
    }
}

/// Checks a [`PostgresLock`] from the backend that took it, for as long as the guard lives.
#[derive(Debug, Clone)]
pub(super) struct LockWatch(Weak<Held>);

impl LockWatch {
    /// `Ok` when the lock is held or its guard has been dropped (then there
    /// is nothing to check); `Err` when the lock was lost while held.
    pub(super) fn check(&self) -> Result<(), LockError> {
        match self.0.upgrade() {
            Some(held) => held.check(),
            None => Ok(()),
        }
    }

    /// Whether the guard still lives.
    pub(super) fn is_live(&self) -> bool {
        self.0.strong_count() > 0
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if !self.session.can_block() || self.session.client().is_closed() {
            // Closing the connection (Session's drop) releases it all the same.
            return;
        }
        let unlocked =
            self.session.block_on(self.session.client().query_one("SELECT pg_advisory_unlock($1)", &[&self.lock_id]));
        match unlocked {
            Ok(row) if row.get::<_, bool>(0) => {}
            Ok(_) => {
                tracing::warn!(key = %self.key, database = %self.database, "the migration lock was not held at release")
            }
            Err(error) => {
                tracing::warn!(key = %self.key, database = %self.database, "cannot release the migration lock, closing its connection instead: {error}");
            }
        }
    }
}

/// The advisory-lock id of a migration-lock key: the first 8 bytes of
/// SHA-256 over a wasmig namespace and the key. Stable across versions and
/// machines (an operator can compute it to look the lock up in `pg_locks`).
pub fn advisory_lock_id(key: &str) -> i64 {
    let mut hasher = Sha256::new();
    hasher.update(LOCK_NAMESPACE);
    hasher.update(key.as_bytes());
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(first)
}

/// How `pg_locks` shows a bigint advisory key: high half in `classid`, low
/// half in `objid`.
fn advisory_lock_parts(lock_id: i64) -> (u32, u32) {
    let bits = lock_id as u64;
    ((bits >> 32) as u32, bits as u32)
}

/// A pause of up to `max`, different for each caller.
fn jitter(max: Duration) -> Duration {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    Instant::now().hash(&mut hasher);
    std::thread::current().id().hash(&mut hasher);
    let max_micros = max.as_micros().max(1) as u64;
    Duration::from_micros(hasher.finish() % max_micros)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_ids_are_stable() {
        assert_eq!(advisory_lock_id("public.wasmig_"), advisory_lock_id("public.wasmig_"));
        assert_ne!(advisory_lock_id("a.wasmig_"), advisory_lock_id("b.wasmig_"));
        assert_eq!(advisory_lock_parts(-1), (u32::MAX, u32::MAX));
    }
}
