//! Sandbox limits of one hook call, and the resource limiter that enforces them in a store.

use std::time::Duration;

/// What one hook call may use. Defaults: 256 MiB of linear memory in all,
/// 30 s for the guest's own code, no limit on the hook's wall-clock time (its
/// SQL), 100 tables, 100 instances, one million table elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SandboxLimits {
    /// Linear memory of all the component's memories together, in bytes.
    pub memory_bytes: u64,
    /// The time the guest's own code may run (`[sandbox] timeout_ms`): the
    /// hook's time minus the time spent inside database calls.
    pub timeout: Duration,
    /// The wall-clock time of the whole hook, statements included
    /// (`[sandbox] sql_timeout_ms`); `None`: no limit.
    pub sql_timeout: Option<Duration>,
    pub max_instances: u32,
    pub max_tables: u32,
    pub max_table_elements: u64,
    /// The longest one statement waits for a lock (`[database]
    /// statement_lock_timeout_ms`): PostgreSQL's `lock_timeout`, set by the host.
    pub lock_wait: Duration,
}

impl Default for SandboxLimits {
    fn default() -> Self {
        SandboxLimits {
            memory_bytes: 256 * 1024 * 1024,
            timeout: Duration::from_secs(30),
            sql_timeout: None,
            max_instances: 100,
            max_tables: 100,
            max_table_elements: 1_000_000,
            lock_wait: Duration::from_secs(2),
        }
    }
}

/// How far off a hook's deadline is when it has no `sql_timeout`: far enough
/// never to be reached, near enough for every timer to represent.
pub(crate) const NO_DEADLINE: Duration = Duration::from_secs(365 * 24 * 3600);

impl SandboxLimits {
    /// When the hook's statements must stop, for a hook started at `started`.
    pub(crate) fn deadline(&self, started: std::time::Instant) -> std::time::Instant {
        started + self.sql_timeout.unwrap_or(NO_DEADLINE)
    }
}

/// Which limit a store ran into; read after a trap to name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LimitHit {
    Memory { requested: u64 },
    TableElements { requested: u64 },
}

/// Enforces [`SandboxLimits`] on one store and remembers which limit was hit.
#[derive(Debug)]
pub(crate) struct Limiter {
    limits: SandboxLimits,
    memory_in_use: u64,
    pub(crate) hit: Option<LimitHit>,
}

impl Limiter {
    pub(crate) fn new(limits: SandboxLimits) -> Self {
        Limiter { limits, memory_in_use: 0, hit: None }
    }
}

impl wasmtime::ResourceLimiter for Limiter {
    fn memory_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        let growth = desired.saturating_sub(current) as u64;
        let total = self.memory_in_use.saturating_add(growth);
        if total > self.limits.memory_bytes {
            self.hit = Some(LimitHit::Memory { requested: total });
            // An error rather than `Ok(false)`: a guest allocator that sees a
            // failed grow may keep trying, or abort without saying why.
            return Err(wasmtime::format_err!("memory limit of {} bytes exceeded", self.limits.memory_bytes));
        }
        self.memory_in_use = total;
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired as u64 > self.limits.max_table_elements {
            self.hit = Some(LimitHit::TableElements { requested: desired as u64 });
            return Err(wasmtime::format_err!("table limit of {} elements exceeded", self.limits.max_table_elements));
        }
        Ok(true)
    }

    fn instances(&self) -> usize {
        self.limits.max_instances as usize
    }

    fn tables(&self) -> usize {
        self.limits.max_tables as usize
    }

    fn memories(&self) -> usize {
        self.limits.max_instances as usize
    }
}
