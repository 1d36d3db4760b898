//! The deadline watchdog: one thread for the whole process interrupts every SQLite connection whose hook ran past its deadline.
//!
//! A progress handler only runs between virtual-machine instructions, and
//! only every N of them; `sqlite3_interrupt` is also seen inside long
//! operations (parsing, checkpoints, integrity checks) and at every jump.
//! So a hook arms the watchdog with its deadline and its connection's
//! [`InterruptHandle`]; from the deadline on, the watchdog interrupts the
//! connection every [`REPEAT`] until the hook disarms it (an interrupt that
//! lands between two statements is forgotten by SQLite when the next one
//! starts, so one is not enough).
//!
//! Cost per hook: one lock to arm, one to disarm; the thread is woken only
//! when a new deadline comes before the time it sleeps towards (with no
//! hook running it looks again every [`IDLE`], so that arming the usual
//! deadline, seconds away, wakes nobody).

use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use rusqlite::InterruptHandle;

/// How often an overdue connection is interrupted again.
const REPEAT: Duration = Duration::from_millis(10);
/// How long the thread sleeps when no deadline is armed.
const IDLE: Duration = Duration::from_secs(1);

/// An armed deadline; disarmed when dropped. Once [`Ticket::disarm`] (or the
/// drop) has returned, the watchdog interrupts this connection no more.
pub(super) struct Ticket {
    id: u64,
}

impl std::fmt::Debug for Ticket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ticket").field("id", &self.id).finish()
    }
}

impl Ticket {
    pub(super) fn disarm(self) {}
}

impl Drop for Ticket {
    fn drop(&mut self) {
        // Under the lock the watchdog holds while it interrupts: after this
        // returns, no interrupt for this ticket can still be on its way.
        let mut registry = watchdog().lock();
        if let Some(index) = registry.entries.iter().position(|entry| entry.id == self.id) {
            registry.entries.swap_remove(index);
        }
    }
}

/// Interrupts `handle`'s connection from `deadline` on, until the ticket is dropped.
pub(super) fn arm(deadline: Instant, handle: InterruptHandle) -> Ticket {
    let watchdog = watchdog();
    let mut registry = watchdog.lock();
    registry.next_id += 1;
    let id = registry.next_id;
    registry.entries.push(Entry { id, deadline, handle });
    if registry.sleeping_until.is_none_or(|until| deadline < until) {
        watchdog.wake.notify_one();
    }
    Ticket { id }
}

struct Entry {
    id: u64,
    deadline: Instant,
    handle: InterruptHandle,
}

#[derive(Default)]
struct Registry {
    entries: Vec<Entry>,
    next_id: u64,
    /// When the thread wakes up by itself; `None` before it first runs.
    sleeping_until: Option<Instant>,
}

struct Watchdog {
    registry: Mutex<Registry>,
    wake: Condvar,
}

impl Watchdog {
    fn lock(&self) -> MutexGuard<'_, Registry> {
        // Nothing in the registry can be left half-updated by a panic.
        self.registry.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn run(&self) {
        let mut registry = self.lock();
        loop {
            let now = Instant::now();
            let mut next = now + IDLE;
            // A stop request interrupts every armed connection, as a deadline does.
            let stopping = crate::interrupt::requested();
            for entry in &registry.entries {
                let due = if stopping || entry.deadline <= now {
                    entry.handle.interrupt();
                    now + REPEAT
                } else {
                    entry.deadline
                };
                next = next.min(due);
            }
            registry.sleeping_until = Some(next);
            registry = self
                .wake
                .wait_timeout(registry, next.saturating_duration_since(now))
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
    }
}

/// A stop request: the thread wakes and interrupts every armed connection.
fn wake_for_stop() {
    watchdog().wake.notify_one();
}

fn watchdog() -> &'static Watchdog {
    static WATCHDOG: OnceLock<&'static Watchdog> = OnceLock::new();
    WATCHDOG.get_or_init(|| {
        let watchdog: &'static Watchdog =
            Box::leak(Box::new(Watchdog { registry: Mutex::new(Registry::default()), wake: Condvar::new() }));
        std::thread::Builder::new()
            .name("wasmig-sqlite-deadline".into())
            .spawn(move || watchdog.run())
            .expect("spawning the SQLite deadline thread");
        crate::interrupt::on_request(wake_for_stop);
        watchdog
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_overdue_statement_is_interrupted_and_a_disarmed_one_is_not() {
        let connection = rusqlite::Connection::open_in_memory().unwrap();
        // Minutes of work, unless the watchdog stops it.
        let long = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000000000) \
                    SELECT count(*) FROM n";

        let ticket = arm(Instant::now() + Duration::from_millis(50), connection.get_interrupt_handle());
        let error = connection.query_row(long, [], |row| row.get::<_, i64>(0)).unwrap_err();
        assert_eq!(error.sqlite_error_code(), Some(rusqlite::ErrorCode::OperationInterrupted), "{error}");
        ticket.disarm();

        // Disarmed: a later statement runs to its end.
        let ticket = arm(Instant::now() + Duration::from_millis(10), connection.get_interrupt_handle());
        drop(ticket);
        std::thread::sleep(Duration::from_millis(30));
        let count: i64 = connection
            .query_row("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000) SELECT count(*) FROM n", [], |row| row.get(0))
            .unwrap();
        assert_eq!(count, 100_000);
    }
}
