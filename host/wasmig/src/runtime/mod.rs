//! The sandboxed wasmtime runtime: one engine, compiled and cached components, and hook calls in fresh stores.
//!
//! Over 500 lines: loading (the caches, the contract check) and one hook
//! call (its store, budget and the classification of how it ended) share
//! the runtime's state; the engine's setup is in `engine`, the imports in
//! `host`, the limits in `limits`. Splitting the hook call's outcome into its
//! own file is the next step when it grows.
//!
//! Decisions (see docs/RUNTIME.md): the host calls guests synchronously (one
//! OS thread per concurrent migration; no async executor inside hook calls);
//! CPU time is bounded by epoch interruption against a wall-clock deadline
//! that also bounds SQL through the backend; every hook call gets a fresh
//! store, so a trap never leaves a half-dead instance behind.

mod bindings;
mod cache;
mod engine;
mod error;
mod host;
mod limits;
mod pointer;
mod ran;
mod watch;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use wasmtime::component::{Component, HasSelf, Linker, types::ComponentItem};
use wasmtime::{Engine, Store, Trap};

pub use cache::{CacheMiss, DiskCache, ModuleHash, default_dir as default_cache_dir, module_hash};
pub use engine::{DEFAULT_POOLED_HOOKS, InstancePool};
pub use error::{EngineError, FailedSql, Hook, HookError, LoadError};
pub use host::GuestLog;
pub use limits::SandboxLimits;
pub use ran::{Call, RanStatement};
pub use watch::Watch;

use crate::backend::{Backend, HookSession, Unavailable};
use bindings::{Revision, RevisionPre};
use engine::HookSlots;
use host::HostState;
use limits::{LimitHit, Limiter};
use ran::Ran;

/// How often the epoch advances; a runaway guest stops within about one tick
/// of its deadline.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// The longest guest code runs between two looks at its budget and at a stop request.
const GUEST_CHECK: Duration = Duration::from_millis(100);

/// The built-in plugins, shipped inside the host binary. CI checks that
/// these bytes are what `plugins/*` builds to, or for the interpreters
/// (whose builds are not reproducible) what their sources were when built
/// (see docs/BUILDING.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Builtin {
    /// Runs the revision's `up.sql`, `down.sql` and `verify.sql`.
    Sql,
    /// A merge revision: `up` does nothing, `down` refuses.
    Merge,
    /// CPython: runs a `kind = "python"` revision's `revision.py`.
    Python,
    /// StarlingMonkey: runs a `kind = "js"` revision's `revision.js`.
    Js,
}

impl Builtin {
    pub const ALL: [Builtin; 4] = [Builtin::Sql, Builtin::Merge, Builtin::Python, Builtin::Js];

    pub fn bytes(self) -> &'static [u8] {
        match self {
            Builtin::Sql => include_bytes!("../../../../plugins/sql/revision.wasm"),
            Builtin::Merge => include_bytes!("../../../../plugins/merge/revision.wasm"),
            Builtin::Python => include_bytes!("../../../../plugins/python/revision.wasm"),
            Builtin::Js => include_bytes!("../../../../plugins/js/revision.wasm"),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Builtin::Sql => "the built-in sql plugin",
            Builtin::Merge => "the built-in merge plugin",
            Builtin::Python => "the built-in Python interpreter plugin",
            Builtin::Js => "the built-in JavaScript interpreter plugin",
        }
    }

    /// The hash of the plugin's component ([`module_hash`] of [`Builtin::bytes`]), taken
    /// once per process: an interpreter is 13 to 20 MB, and a project asks per revision.
    pub fn hash(self) -> ModuleHash {
        static HASHES: [OnceLock<ModuleHash>; 4] = [const { OnceLock::new() }; 4];
        let slot = Builtin::ALL.iter().position(|builtin| *builtin == self).expect("every builtin is in ALL");
        *HASHES[slot].get_or_init(|| module_hash(self.bytes()))
    }
}

/// How a [`Runtime`] is set up.
#[derive(Debug, Clone, Default)]
pub struct RuntimeConfig {
    /// Where compiled components are cached; `None` compiles in memory only.
    /// Must be a directory the runner controls (see [`default_cache_dir`]).
    pub cache_dir: Option<PathBuf>,
    /// How hook calls get their memories (default: a pool, reused).
    pub instance_pool: InstancePool,
}

/// What the runtime did, for reports and for tests that count compilations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RuntimeStats {
    /// Components compiled by Cranelift.
    pub compiled: usize,
    /// Components loaded from the disk cache.
    pub loaded_from_disk: usize,
    /// Disk cache files refused (corrupt, foreign, stale) and compiled again.
    pub cache_rejected: usize,
}

/// A component ready to run: compiled, checked against the contract, and
/// pre-instantiated. Cheap to share between steps and tenants.
pub struct Module {
    name: String,
    hash: ModuleHash,
    pre: RevisionPre<HostState>,
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module").field("name", &self.name).field("hash", &hex::encode(self.hash)).finish()
    }
}

impl Module {
    pub fn hash(&self) -> &ModuleHash {
        &self.hash
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Who a hook runs for and what it may reach.
#[derive(Debug, Clone)]
pub struct HookContext {
    pub revision_id: String,
    pub tenant: Option<String>,
    /// The revision's directory, the only place `asset` reads from.
    pub assets_dir: Option<PathBuf>,
    pub limits: SandboxLimits,
    /// Tables only the host writes (the version tables): the guest may read them.
    pub protected_tables: Vec<String>,
    /// PostgreSQL: the role the guest's statements run as, set by the host.
    pub role: Option<String>,
    /// Statement classes the project opted into (`[sandbox] capabilities`).
    pub capabilities: wasmig_sqlguard::Capabilities,
}

/// What a successful hook call returns.
#[derive(Debug, Clone, PartialEq)]
pub struct HookOutcome<T> {
    pub value: T,
    pub logs: Vec<GuestLog>,
    /// The statements the project's capabilities let through, for the events table.
    pub capability_uses: Vec<String>,
    pub duration: Duration,
}

/// The verdict of a `verify` hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Present,
    Absent,
    Unknown,
}

/// One engine, its linker, the compiled modules and the epoch ticker.
pub struct Runtime {
    engine: Engine,
    linker: Linker<HostState>,
    disk: Option<DiskCache>,
    modules: Mutex<HashMap<ModuleHash, Arc<Module>>>,
    builtins: Mutex<HashMap<Builtin, Arc<Module>>>,
    compiled: AtomicUsize,
    loaded_from_disk: AtomicUsize,
    cache_rejected: AtomicUsize,
    /// The instance pool's room: a hook call holds a slot while its store lives.
    slots: HookSlots,
    /// Held for its thread, which advances the epoch until the runtime is dropped.
    _ticker: EpochTicker,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime").field("disk", &self.disk).field("stats", &self.stats()).finish()
    }
}

impl Runtime {
    pub fn new(config: RuntimeConfig) -> Result<Self, EngineError> {
        let engine = engine::engine(config.instance_pool)?;
        let mut linker = Linker::new(&engine);
        Revision::add_to_linker::<_, HasSelf<_>>(&mut linker, |state: &mut HostState| state)
            .map_err(|error| EngineError(error.to_string()))?;
        let disk = config.cache_dir.map(|dir| DiskCache::new(dir, &engine));
        let ticker = EpochTicker::start(&engine);
        Ok(Runtime {
            engine,
            linker,
            disk,
            modules: Mutex::new(HashMap::new()),
            builtins: Mutex::new(HashMap::new()),
            compiled: AtomicUsize::new(0),
            loaded_from_disk: AtomicUsize::new(0),
            cache_rejected: AtomicUsize::new(0),
            slots: HookSlots::new(config.instance_pool),
            _ticker: ticker,
        })
    }

    pub fn stats(&self) -> RuntimeStats {
        RuntimeStats {
            compiled: self.compiled.load(Ordering::Relaxed),
            loaded_from_disk: self.loaded_from_disk.load(Ordering::Relaxed),
            cache_rejected: self.cache_rejected.load(Ordering::Relaxed),
        }
    }

    pub fn disk_cache(&self) -> Option<&DiskCache> {
        self.disk.as_ref()
    }

    /// A built-in plugin, compiled once per process (and cached on disk).
    /// Remembered by name, so that asking for it per step does not hash its bytes again.
    pub fn builtin(&self, builtin: Builtin) -> Result<Arc<Module>, LoadError> {
        if let Some(module) = self.builtins.lock().expect("builtin map poisoned").get(&builtin) {
            return Ok(Arc::clone(module));
        }
        let module = self.load_hashed(builtin.bytes(), builtin.hash(), builtin.name())?;
        self.builtins.lock().expect("builtin map poisoned").insert(builtin, Arc::clone(&module));
        Ok(module)
    }

    /// Loads a component: from memory if this runtime has it, else from the
    /// disk cache, else by compiling it; then checks it against the contract.
    /// `name` says what is loaded, for errors ("revision 0a1b… (path)").
    pub fn load(&self, bytes: &[u8], name: &str) -> Result<Arc<Module>, LoadError> {
        self.load_hashed(bytes, module_hash(bytes), name)
    }

    /// Whether the module with this hash loads without compiling: loaded
    /// already, or in the disk cache (as far as its file being there says).
    pub(crate) fn is_compiled(&self, hash: &ModuleHash) -> bool {
        self.loaded(hash).is_some() || self.disk.as_ref().is_some_and(|disk| disk.path(hash).exists())
    }

    /// The module with this hash, if this runtime has loaded it.
    pub fn loaded(&self, hash: &ModuleHash) -> Option<Arc<Module>> {
        self.modules.lock().expect("module map poisoned").get(hash).cloned()
    }

    /// [`Runtime::load`] for a caller in this crate that has hashed the bytes
    /// already (`hash` is [`module_hash`] of `bytes`): a 20 MB interpreter
    /// component is not hashed twice.
    pub(crate) fn load_hashed(&self, bytes: &[u8], hash: ModuleHash, name: &str) -> Result<Arc<Module>, LoadError> {
        if let Some(module) = self.loaded(&hash) {
            return Ok(module);
        }
        check_header(bytes, name)?;
        let component = self.component(bytes, &hash, name)?;
        self.ready(component, hash, name)
    }

    /// The module with this hash without its bytes: loaded already, or
    /// compiled into the disk cache. `None` when it would have to be
    /// compiled (or its cache entry is refused): then [`Runtime::load_hashed`]
    /// it, which reads the bytes. A caller that hashed a revision's module
    /// earlier in the run so spares reading and hashing it again.
    pub(crate) fn load_compiled(&self, hash: ModuleHash, name: &str) -> Option<Result<Arc<Module>, LoadError>> {
        if let Some(module) = self.loaded(&hash) {
            return Some(Ok(module));
        }
        // A refused cache entry is left to `load_hashed`, which compiles it again and says so.
        match self.cached_component(&hash) {
            FromDisk::Loaded(component) => Some(self.ready(component, hash, name)),
            FromDisk::Absent | FromDisk::Refused(_) => None,
        }
    }

    /// The compiled component with this hash from the disk cache, or why not.
    fn cached_component(&self, hash: &ModuleHash) -> FromDisk {
        let Some(disk) = &self.disk else { return FromDisk::Absent };
        match disk.verified(hash) {
            Ok(compiled) => match deserialize(&self.engine, &compiled) {
                Ok(component) => {
                    self.loaded_from_disk.fetch_add(1, Ordering::Relaxed);
                    FromDisk::Loaded(component)
                }
                Err(error) => FromDisk::Refused(format!("cached component refused by wasmtime: {error}")),
            },
            Err(CacheMiss::Absent) => FromDisk::Absent,
            Err(miss) => FromDisk::Refused(miss.to_string()),
        }
    }

    /// A compiled component checked against the contract and pre-instantiated, kept by its hash.
    fn ready(&self, component: Component, hash: ModuleHash, name: &str) -> Result<Arc<Module>, LoadError> {
        check_imports(&component, &self.engine, name)?;
        let instance_pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|error| LoadError::Invalid { module: name.to_owned(), reason: error.to_string() })?;
        let pre = RevisionPre::new(instance_pre)
            .map_err(|error| LoadError::WrongWorld { module: name.to_owned(), reason: error.to_string() })?;
        let module = Arc::new(Module { name: name.to_owned(), hash, pre });
        let mut modules = self.modules.lock().expect("module map poisoned");
        Ok(Arc::clone(modules.entry(hash).or_insert(module)))
    }

    fn component(&self, bytes: &[u8], hash: &ModuleHash, name: &str) -> Result<Component, LoadError> {
        match self.cached_component(hash) {
            FromDisk::Loaded(component) => return Ok(component),
            FromDisk::Absent => {}
            FromDisk::Refused(why) => {
                self.cache_rejected.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(module = name, "{why}; compiling again");
            }
        }
        let component = Component::new(&self.engine, bytes)
            .map_err(|error| LoadError::Invalid { module: name.to_owned(), reason: format!("{error:#}") })?;
        self.compiled.fetch_add(1, Ordering::Relaxed);
        if let Some(disk) = &self.disk {
            let written =
                component.serialize().map_err(std::io::Error::other).and_then(|compiled| disk.write(hash, &compiled));
            if let Err(error) = written {
                // A cache that cannot be written costs time on the next run, nothing else.
                tracing::warn!(module = name, dir = %disk.dir().display(), "cannot cache the compiled component: {error}");
            }
        }
        Ok(component)
    }

    /// Runs `up`.
    pub fn up(
        &self,
        module: &Module,
        context: &HookContext,
        db: &mut Box<dyn Backend>,
    ) -> Result<HookOutcome<()>, HookError> {
        self.call(module, Hook::Up, context, db, None, |revision, store| revision.call_up(store))
    }

    /// Runs `down`.
    pub fn down(
        &self,
        module: &Module,
        context: &HookContext,
        db: &mut Box<dyn Backend>,
    ) -> Result<HookOutcome<()>, HookError> {
        self.call(module, Hook::Down, context, db, None, |revision, store| revision.call_down(store))
    }

    /// Runs `verify`.
    pub fn verify(
        &self,
        module: &Module,
        context: &HookContext,
        db: &mut Box<dyn Backend>,
    ) -> Result<HookOutcome<Verdict>, HookError> {
        self.call(module, Hook::Verify, context, db, None, |revision, store| {
            revision.call_verify(store).map(|result| {
                result.map(|verdict| match verdict {
                    bindings::Verdict::Present => Verdict::Present,
                    bindings::Verdict::Absent => Verdict::Absent,
                    bindings::Verdict::Unknown => Verdict::Unknown,
                })
            })
        })
    }

    /// Runs `up` or `down` under `watch`: every statement journaled however
    /// the hook ends, and (for `up`) checked by the lint.
    pub fn run_watched(
        &self,
        module: &Module,
        direction: wasmig_graph::Direction,
        context: &HookContext,
        db: &mut Box<dyn Backend>,
        watch: &mut Watch,
    ) -> Result<HookOutcome<()>, HookError> {
        match direction {
            wasmig_graph::Direction::Up => {
                self.call(module, Hook::Up, context, db, Some(watch), |revision, store| revision.call_up(store))
            }
            wasmig_graph::Direction::Down => {
                self.call(module, Hook::Down, context, db, Some(watch), |revision, store| revision.call_down(store))
            }
        }
    }

    /// One hook call in a fresh store. The backend is lent to the store for
    /// the call and always handed back, whatever the outcome.
    fn call<T>(
        &self,
        module: &Module,
        hook: Hook,
        context: &HookContext,
        db: &mut Box<dyn Backend>,
        mut watch: Option<&mut Watch>,
        invoke: impl FnOnce(&Revision, &mut Store<HostState>) -> wasmtime::Result<Result<T, String>>,
    ) -> Result<HookOutcome<T>, HookError> {
        // Taken before the clock starts: waiting for a slot is not the guest's time.
        let slot = self.slots.take();
        let started = Instant::now();
        let deadline = context.limits.deadline(started);
        let revision = context.revision_id.clone();
        let dialect = db.dialect();
        // PostgreSQL: the schema of the version tables is the host's too.
        let protected_schemas: Vec<String> = db.schema().map(str::to_owned).into_iter().collect();
        let backend = std::mem::replace(db, Box::new(Unavailable::lent(dialect)));
        let mut store = Store::new(
            &self.engine,
            HostState {
                db: backend,
                dialect,
                revision_id: context.revision_id.clone(),
                tenant: context.tenant.clone(),
                assets_dir: context.assets_dir.clone(),
                limiter: Limiter::new(context.limits),
                logs: Vec::new(),
                refused: None,
                last_error_log: None,
                approved: HashSet::new(),
                log_bytes: 0,
                dropped_logs: 0,
                protected_tables: context.protected_tables.clone(),
                protected_schemas,
                capabilities: context.capabilities.clone(),
                capability_uses: Vec::new(),
                telling_error: None,
                db_time: Duration::ZERO,
                failed_statement: None,
                assets_read: Vec::new(),
                ran: watch.as_ref().is_some_and(|watch| watch.journal.is_some()).then(Ran::default),
                watch: watch.as_deref_mut().and_then(|watch| {
                    let locks = std::mem::take(&mut watch.locks);
                    let protected = context.protected_tables.clone();
                    let lint = if hook == Hook::Up { watch.lint.clone() } else { None };
                    crate::lint::StepWatch::new(
                        lint,
                        dialect,
                        watch.transactional,
                        watch.capture_locks,
                        protected,
                        locks,
                    )
                }),
            },
        );
        store.limiter(|state| &mut state.limiter);
        // The guest's own budget leaves out the time its statements take (the
        // deadline above bounds those): at each check, what the guest used is
        // the time since the start minus the time spent in the database. The
        // checks come at least every GUEST_CHECK, so that a stop request
        // reaches a guest that loops.
        let budget = context.limits.timeout;
        store.set_epoch_deadline(ticks_for(budget.min(GUEST_CHECK)));
        store.epoch_deadline_callback(move |store| {
            let used = started.elapsed().saturating_sub(store.data().db_time);
            if crate::interrupt::requested() || used >= budget {
                return Ok(wasmtime::UpdateDeadline::Interrupt);
            }
            Ok(wasmtime::UpdateDeadline::Continue(ticks_for((budget - used).min(GUEST_CHECK))))
        });

        let session = HookSession {
            deadline,
            lock_wait: context.limits.lock_wait,
            protected_tables: context.protected_tables.clone(),
            max_result_bytes: context.limits.memory_bytes,
            read_only: hook == Hook::Verify,
            role: context.role.clone(),
            capabilities: context.capabilities.clone(),
        };
        let result = match store.data_mut().db.begin_hook(&session) {
            Err(error) => Err(HookError::Backend { revision: revision.clone(), hook, reason: error.to_string() }),
            Ok(()) => match module.pre.instantiate(&mut store) {
                Err(error) => Err(self.classify(error, &store, &revision, hook, &context.limits, true)),
                Ok(instance) => match invoke(&instance, &mut store) {
                    Err(error) => Err(self.classify(error, &store, &revision, hook, &context.limits, false)),
                    Ok(outcome) => Ok(outcome),
                },
            },
        };
        let mut state = store.into_data();
        drop(slot);
        let mut denied = None;
        if let Some(watch) = watch {
            if let (Some(journal), Some(ran)) = (&mut watch.journal, state.ran.take()) {
                journal.extend(ran.statements);
            }
            if let Some(step) = state.watch.take() {
                let outcome = step.finish();
                watch.findings = outcome.findings;
                watch.locks = outcome.locks;
                denied = outcome.denied;
            }
        }
        let evidence = pointer::Evidence::take(&mut state);
        if let Some(note) = state.dropped_logs_note() {
            tracing::warn!(revision = %revision, "{}", note.message);
            state.logs.push(note);
        }
        let breach = state.db.end_hook();
        *db = state.db;
        // The backend stops a statement at the deadline and the guest sees
        // that as a database error (on SQLite an interrupted write also ends
        // the transaction); the cause is the budget all the same.
        let out_of_time = Instant::now() >= deadline;
        let cut_short = || match context.limits.sql_timeout {
            _ if crate::interrupt::requested() => HookError::Interrupted { revision: revision.clone(), hook },
            Some(limit) => HookError::SqlTimeout { revision: revision.clone(), hook, limit },
            None => HookError::Timeout { revision: revision.clone(), hook, limit: context.limits.timeout },
        };
        // A stop request cancels the running statement: whatever the guest
        // made of that, the hook was interrupted.
        if crate::interrupt::requested() {
            return Err(cut_short());
        }
        // Whatever the guest's own outcome, a session the host can no longer
        // trust fails the step before anything is recorded.
        if let Err(breach) = breach {
            if out_of_time {
                return Err(cut_short());
            }
            return Err(HookError::SessionBreach { revision, hook, reason: breach.0 });
        }
        // A `deny` lint finding fails the hook, whatever the guest made of
        // the refusal (or of the error an observed finding gave it).
        if let Some(denied) = denied
            && !out_of_time
        {
            return Err(HookError::Lint { revision, hook, denied });
        }
        let value = match result {
            // Past the deadline a statement was cut short, even when the guest
            // caught the error and returned success: nothing of it is recorded.
            _ if out_of_time => return Err(cut_short()),
            // A failure that followed a lock conflict or a 25001 is that, whatever the guest said.
            Err(HookError::Trap { .. } | HookError::Guest { .. }) | Ok(Err(_)) if state.telling_error.is_some() => {
                let error = state.telling_error.unwrap_or_else(|| crate::sql::DbError::host(""));
                let reason = error.message;
                return Err(match error.code {
                    Some(code) if code != "25001" => HookError::LockConflict { revision, hook, code, reason },
                    _ => HookError::NeedsAutocommit { revision, hook, reason },
                });
            }
            Err(error) => return Err(pointer::point(error, &evidence)),
            Ok(_) if state.refused.is_some() => {
                let refusal = state.refused.unwrap_or_default();
                return Err(HookError::TransactionControl { revision, hook, refusal });
            }
            Ok(Ok(value)) => value,
            Ok(Err(message)) => return Err(pointer::point(HookError::Guest { revision, hook, message }, &evidence)),
        };
        Ok(HookOutcome { value, logs: state.logs, capability_uses: state.capability_uses, duration: started.elapsed() })
    }

    fn classify(
        &self,
        error: wasmtime::Error,
        store: &Store<HostState>,
        revision: &str,
        hook: Hook,
        limits: &SandboxLimits,
        instantiating: bool,
    ) -> HookError {
        let revision = revision.to_owned();
        let state = store.data();
        match state.limiter.hit {
            Some(LimitHit::Memory { requested }) => {
                return HookError::MemoryLimit { revision, hook, requested, limit: limits.memory_bytes };
            }
            Some(LimitHit::TableElements { requested }) => {
                return HookError::ResourceLimit {
                    revision,
                    hook,
                    reason: format!(
                        "a table asked for {requested} elements, over the limit of {}",
                        limits.max_table_elements
                    ),
                };
            }
            None => {}
        }
        match error.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) if crate::interrupt::requested() => HookError::Interrupted { revision, hook },
            Some(Trap::Interrupt) => HookError::Timeout { revision, hook, limit: limits.timeout },
            Some(trap) => {
                HookError::Trap { revision, hook, trap: trap.to_string(), guest_message: state.last_error_log.clone() }
            }
            None if instantiating => HookError::Instantiate { revision, hook, reason: format!("{error:#}") },
            // A host import that trapped on purpose (a refused asset path):
            // its own message says what happened, and comes first; the wasm
            // backtrace wasmtime wraps around it is for `-v` only.
            None => {
                tracing::debug!(revision = %revision, "`{hook}` trapped in a host call: {error:?}");
                HookError::Trap {
                    revision,
                    hook,
                    trap: error.root_cause().to_string(),
                    guest_message: state.last_error_log.clone(),
                }
            }
        }
    }
}

/// What the disk cache holds for a module.
enum FromDisk {
    Loaded(Component),
    Absent,
    /// An entry that cannot be used (corrupt, foreign, stale), and why.
    Refused(String),
}

/// Maps a serialized component that this runtime's own cache verified.
#[allow(unsafe_code)]
fn deserialize(engine: &Engine, compiled: &Path) -> wasmtime::Result<Component> {
    // SAFETY: `compiled` is in the runner's own cache directory (never a
    // project's), was written by `Component::serialize` of an engine with the
    // same key, and has just been checked against the digest stored beside it
    // (cache.rs); entries are only ever replaced whole, by rename. wasmtime
    // itself rejects files of another version or configuration.
    unsafe { Component::deserialize_file(engine, compiled) }
}

fn check_header(bytes: &[u8], name: &str) -> Result<(), LoadError> {
    if !bytes.starts_with(b"\0asm") {
        return Err(LoadError::NotWasm { module: name.to_owned() });
    }
    // The header's version and layer: a core module says 1.0, a component 0xd.1.
    if bytes.get(4..8) == Some(&[1, 0, 0, 0]) {
        return Err(LoadError::CoreModule { module: name.to_owned() });
    }
    Ok(())
}

/// A revision imports the contract's interfaces and nothing else. Checked
/// before instantiation so that the error names the import, not a linker detail.
fn check_imports(component: &Component, engine: &Engine, name: &str) -> Result<(), LoadError> {
    let package_prefix = format!("{}/", bindings::CONTRACT_PACKAGE);
    for (import, item) in component.component_type().imports(engine) {
        let Some(rest) = import.strip_prefix(&package_prefix) else {
            return Err(LoadError::ForbiddenImport { module: name.to_owned(), import: import.to_owned() });
        };
        let version = rest.split_once('@').map(|(_, version)| version);
        if !version.is_some_and(|version| bindings::CONTRACT_VERSIONS.contains(&version)) {
            return Err(LoadError::ContractVersion {
                module: name.to_owned(),
                import: import.to_owned(),
                expected: bindings::CONTRACT_VERSION,
            });
        }
        if !matches!(item.ty, ComponentItem::ComponentInstance(_)) {
            return Err(LoadError::ForbiddenImport { module: name.to_owned(), import: import.to_owned() });
        }
    }
    Ok(())
}

/// Advances the engine's epoch every [`EPOCH_TICK`] on a background thread,
/// for as long as the runtime lives.
struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl EpochTicker {
    fn start(engine: &Engine) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let engine = engine.weak();
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("wasmig-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    match engine.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => return,
                    }
                }
            })
            .expect("spawning the epoch thread");
        EpochTicker { stop, thread: Some(thread) }
    }
}

/// Epoch ticks that cover `budget`: the deadline is reached no earlier.
fn ticks_for(budget: Duration) -> u64 {
    (budget.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64 + 1
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
