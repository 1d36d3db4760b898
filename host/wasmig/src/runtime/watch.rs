//! What the host watches while a step's hook runs, handed in by the apply loop and filled by the hook call.

use super::ran::RanStatement;

/// What the host watches while a step's hook runs (the statement journal,
/// the run-time lint, lock capture), and what it saw.
#[derive(Debug, Default)]
pub struct Watch {
    /// Every statement the hook ran, appended however it ends; `None`: the journal is off.
    pub journal: Option<Vec<RanStatement>>,
    /// The rules the hook's statements are checked against; `None`: no lint.
    pub lint: Option<crate::lint::LintPolicy>,
    /// PostgreSQL: record the strongest lock each statement took (`[journal] locks`).
    pub capture_locks: bool,
    /// The step runs in a transaction (locks are held until it ends).
    pub transactional: bool,
    /// The relation locks the session held before the hook (earlier steps
    /// of the same transaction), and after it.
    pub locks: crate::lint::LockSnapshot,
    /// What the lint found, every verdict (a `deny` also fails the hook).
    pub findings: Vec<crate::lint::Finding>,
}
