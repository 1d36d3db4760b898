//! Stopping runs from outside: a process-wide request (Ctrl-C, SIGTERM, an embedder's shutdown) that every running statement, hook, lock wait and run heeds.
//!
//! Process-wide on purpose: a signal is. [`request`] marks the request and
//! wakes whatever waits: a PostgreSQL statement gets a cancel request (and
//! its server process is ended if it ignores it), a SQLite statement an
//! interrupt, guest code a trap at the next epoch tick, a wait for the
//! migration lock or a retry pause ends. The step that was running rolls
//! back, a `fail` event says it was interrupted, the lock is released, and
//! the run returns [`crate::Failure::Interrupted`] with what had committed.
//! No new step, tenant or statement starts until [`clear`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Asks every run in this process to stop at once, cleanly.
pub fn request() {
    REQUESTED.store(true, Ordering::SeqCst);
    notify().notify_waiters();
    for wake in listeners().lock().unwrap_or_else(|poisoned| poisoned.into_inner()).iter() {
        wake();
    }
}

/// Whether a stop was asked for (and not cleared since).
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// Forgets a request, for an embedder that goes on after handling one.
pub fn clear() {
    REQUESTED.store(false, Ordering::SeqCst);
}

/// Completes once a stop is asked for: for `select!` beside a statement.
pub(crate) async fn requested_async() {
    let notified = notify().notified();
    let mut notified = std::pin::pin!(notified);
    // Registered before the flag is read, so a request in between still wakes it.
    notified.as_mut().enable();
    if requested() {
        return;
    }
    notified.await;
}

/// Sleeps for `pause`, or less if a stop is asked for; says whether it was.
pub(crate) fn sleep(pause: Duration) -> bool {
    let until = Instant::now() + pause;
    loop {
        if requested() {
            return true;
        }
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        std::thread::sleep(left.min(Duration::from_millis(20)));
    }
}

/// Called on each request, from the requesting thread: a backend wakes what
/// sleeps on its own (SQLite's deadline thread).
pub(crate) fn on_request(wake: fn()) {
    listeners().lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(wake);
}

fn notify() -> &'static tokio::sync::Notify {
    static NOTIFY: OnceLock<tokio::sync::Notify> = OnceLock::new();
    NOTIFY.get_or_init(tokio::sync::Notify::new)
}

fn listeners() -> &'static Mutex<Vec<fn()>> {
    static LISTENERS: Mutex<Vec<fn()>> = Mutex::new(Vec::new());
    &LISTENERS
}
