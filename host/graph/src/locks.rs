//! Lock waits and retries: the `[database]` keys of `wasmig.toml`, a revision's own `[database]` overrides, and the policy a step runs with.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A revision's `[database]` table in `revision.toml`: overrides of the
/// project's statement lock settings. Operational, so not part of the
/// checksum: changing how long a revision waits is not a change of what it does.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevisionLocks {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statement_lock_timeout_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock_retries: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock_retry_backoff_ms: Option<u64>,
}

/// How one step waits for locks: each statement waits at most
/// `statement_wait` for a lock (PostgreSQL `lock_timeout`, SQLite's busy
/// wait); a transactional step that hit it, a deadlock or a serialization
/// failure is rolled back and run again up to `retries` times, pausing
/// `backoff`, then twice that, ... (at most [`MAX_PAUSE`]) with jitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockPolicy {
    pub statement_wait: Duration,
    pub retries: u32,
    pub backoff: Duration,
}

/// The longest pause between two attempts, however many came before.
pub const MAX_PAUSE: Duration = Duration::from_secs(30);

impl LockPolicy {
    /// The pause before attempt `attempt` (2 is the first retry): the backoff
    /// doubled per earlier retry, capped at [`MAX_PAUSE`], scaled by `jitter`
    /// (0.0 to 1.0 gives 75 % to 125 %), so that runners that collided do
    /// not collide again in step.
    pub fn pause(&self, attempt: u32, jitter: f64) -> Duration {
        let doublings = attempt.saturating_sub(2).min(20);
        let base = self.backoff.saturating_mul(1 << doublings).min(MAX_PAUSE);
        base.mul_f64(0.75 + 0.5 * jitter.clamp(0.0, 1.0))
    }

    /// How many times a step may run in all.
    pub fn attempts(&self) -> u32 {
        self.retries.saturating_add(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_double_from_the_backoff_with_bounded_jitter_and_a_cap() {
        let policy = LockPolicy { statement_wait: Duration::ZERO, retries: 5, backoff: Duration::from_millis(500) };
        assert_eq!(policy.attempts(), 6);
        assert_eq!(policy.pause(2, 0.5), Duration::from_millis(500));
        assert_eq!(policy.pause(3, 0.5), Duration::from_millis(1000));
        assert_eq!(policy.pause(4, 0.5), Duration::from_millis(2000));
        assert_eq!(policy.pause(2, 0.0), Duration::from_millis(375));
        assert_eq!(policy.pause(2, 1.0), Duration::from_millis(625));
        assert_eq!(policy.pause(40, 0.5), MAX_PAUSE);
        assert_eq!(policy.pause(2, 7.0), Duration::from_millis(625), "jitter is clamped");
    }
}
