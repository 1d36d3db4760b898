//! The wasmtime engine a runtime runs on: its configuration, and the instance pool's slots that hook calls take turns on.
//!
//! Decision (docs/RUNTIME.md, measured in docs/PERFORMANCE.md): hook calls
//! run on wasmtime's pooling allocator. Every hook call still gets a fresh
//! store and instance; what the pool keeps is the memory *mapping*: a slot's
//! linear memory is reset to the component's initial image when the call
//! ends (`madvise`), instead of a fresh mapping made and unmapped per call:
//! a hook call of the merge plugin takes 0.64x the time (docs/PERFORMANCE.md).
//! Nothing is kept resident (wasmtime's `linear_memory_keep_resident`):
//! where the kernel cannot say which pages a call dirtied (no
//! `PAGEMAP_SCAN`, as on this project's machines) wasmtime resets the whole
//! kept region with `memset` on every call, and keeping 2 MiB made a hook
//! call 1.26x slower than a fresh mapping. The pool reserves address space up front (one
//! slot per memory, each as large as wasm32 allows), which a process limited
//! by `ulimit -v` may not have: [`InstancePool::OnDemand`] turns it off.

use std::sync::{Condvar, Mutex};

use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use super::error::EngineError;
use super::limits::SandboxLimits;

/// How hook calls get their memories and tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InstancePool {
    /// From a pool with room for `hooks` hook calls at once, reused from one
    /// call to the next; a call beyond that waits for a slot.
    Pooled { hooks: u32 },
    /// A fresh mapping per call, unmapped when it ends: nothing reserved up front.
    OnDemand,
}

impl Default for InstancePool {
    fn default() -> Self {
        InstancePool::Pooled { hooks: DEFAULT_POOLED_HOOKS }
    }
}

/// Hook calls at once in the default pool: more than a fleet's `--jobs`
/// usually are (each job is a database connection).
pub const DEFAULT_POOLED_HOOKS: u32 = 128;

/// Linear memories and tables the pool holds per hook call: a component has
/// one per core module that defines one (a Rust revision one, an
/// interpreter a few); the pool is shared, so a call may use more while
/// others use fewer.
const MEMORIES_PER_HOOK: u32 = 2;
const TABLES_PER_HOOK: u32 = 2;

/// The engine for `pool`: component model, epoch interruption, and the allocator.
pub(super) fn engine(pool: InstancePool) -> Result<Engine, EngineError> {
    let mut wasm = Config::new();
    wasm.wasm_component_model(true);
    wasm.epoch_interruption(true);
    if let InstancePool::Pooled { hooks } = pool {
        let hooks = hooks.max(1);
        let limits = SandboxLimits::default();
        let memories = hooks.saturating_mul(MEMORIES_PER_HOOK);
        let tables = hooks.saturating_mul(TABLES_PER_HOOK);
        let mut pooling = PoolingAllocationConfig::default();
        pooling
            .total_component_instances(hooks)
            .total_core_instances(hooks.saturating_mul(limits.max_instances))
            .total_memories(memories)
            .total_tables(tables)
            // Per module, what the sandbox allows a whole hook (its limiter
            // decides), as far as the pool holds: no limit of the pool's own
            // that a guest would run into on the pool and not off it.
            .max_memories_per_module(limits.max_instances.min(memories))
            .max_tables_per_module(limits.max_tables.min(tables))
            // As many elements as the sandbox ever lets a table grow to.
            .table_elements(limits.max_table_elements as usize);
        wasm.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
    }
    Engine::new(&wasm).map_err(|error| match pool {
        InstancePool::Pooled { .. } => EngineError(format!(
            "{error} (the instance pool reserves address space up front; where the process may not, for example \
             under `ulimit -v`, turn it off: WASMIG_INSTANCE_POOL=off)"
        )),
        InstancePool::OnDemand => EngineError(error.to_string()),
    })
}

/// The pool's room for hook calls: one slot per call that holds an
/// instance. Unbounded for [`InstancePool::OnDemand`].
#[derive(Debug)]
pub(super) struct HookSlots {
    free: Option<Mutex<u32>>,
    freed: Condvar,
}

impl HookSlots {
    pub(super) fn new(pool: InstancePool) -> Self {
        let free = match pool {
            InstancePool::Pooled { hooks } => Some(Mutex::new(hooks.max(1))),
            InstancePool::OnDemand => None,
        };
        HookSlots { free, freed: Condvar::new() }
    }

    /// A slot, waiting for one when every slot is taken; given back when dropped.
    pub(super) fn take(&self) -> Slot<'_> {
        if let Some(free) = &self.free {
            let mut free = free.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            while *free == 0 {
                free = self.freed.wait(free).unwrap_or_else(std::sync::PoisonError::into_inner);
            }
            *free -= 1;
        }
        Slot { slots: self }
    }
}

/// A taken slot.
#[derive(Debug)]
pub(super) struct Slot<'a> {
    slots: &'a HookSlots,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        if let Some(free) = &self.slots.free {
            *free.lock().unwrap_or_else(std::sync::PoisonError::into_inner) += 1;
            self.slots.freed.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn no_more_calls_hold_a_slot_than_the_pool_has() {
        let slots = Arc::new(HookSlots::new(InstancePool::Pooled { hooks: 2 }));
        let inside = Arc::new(AtomicU32::new(0));
        let most = Arc::new(AtomicU32::new(0));
        let threads: Vec<_> = (0..6)
            .map(|_| {
                let (slots, inside, most) = (Arc::clone(&slots), Arc::clone(&inside), Arc::clone(&most));
                std::thread::spawn(move || {
                    for _ in 0..20 {
                        let _slot = slots.take();
                        let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::yield_now();
                        inside.fetch_sub(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert!(most.load(Ordering::SeqCst) <= 2, "at most two calls at once");
        assert_eq!(*slots.free.as_ref().unwrap().lock().unwrap(), 2, "every slot given back");
    }
}
