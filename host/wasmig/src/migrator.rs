//! The migrator: plans against a database's applied set, then applies, reverts, stamps, adopts, verifies, repairs and resolves.
//!
//! Plan, then execute: every command reads the applied set, asks the pure
//! graph for a [`Plan`], prepares every step (modules loaded and checked,
//! checksums computed) before it touches the database, then runs the one
//! apply loop in `apply.rs`. The runtime is started only when a step or a
//! hook needs it.
//!
//! Over 500 lines: one type's entry points, each short and each the only
//! door to its command; what grows (stamp and repair, the fleet, `wasmig
//! test`) lives in its own module (`admin`, `fleet`, `stairway`).

use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use wasmig_graph::{AppliedSet, ChecksumPolicy, Direction, Graph, Plan, Project, Revision, RevisionKind, Step, Target};

use crate::advice;
use crate::apply::{self, PreparedStep};
use crate::backend::{Backend, DatabaseUrl};
use crate::bookkeeping::Bookkeeper;
use crate::database::Database;
use crate::drift::{Drift, InterpreterChange, drift, interpreter_change};
use crate::emptiness::unmarked_empty_file;
use crate::error::{Error, Failure};
use crate::events::{Event, EventFilter};
use crate::journal::{JournalEntry, JournalFilter};
use crate::lint::{LintMode, LintPolicy};
use crate::options::{RunOptions, TransactionMode};
use crate::progress::{NoProgress, Progress};
use crate::report::RunReport;
use crate::revisions::Revisions;
use crate::runtime::{EngineError, HookContext, Runtime, RuntimeConfig, Verdict, default_cache_dir};
use crate::status::{Status, VerifyReport};
use crate::versions::{AppliedRow, RowState, table_names};
use wasmig_sqlguard::Capability;

/// Runs a project's revisions against databases. Cheap to clone and share
/// across threads: holds the project and the runtime (one engine and one
/// compiled-module cache for every database it migrates).
#[derive(Debug, Clone)]
pub struct Migrator {
    revisions: Arc<Revisions>,
    runtime: Arc<LazyRuntime>,
}

/// The runtime, started on first need: a command that only reads (`status`,
/// `current`, `plan`, `history`) never builds an engine or starts its epoch thread.
#[derive(Debug)]
struct LazyRuntime {
    config: RuntimeConfig,
    runtime: OnceLock<Arc<Runtime>>,
    /// Held while one is built, so that two threads build one engine, not two.
    starting: Mutex<()>,
}

impl LazyRuntime {
    fn get(&self) -> Result<&Arc<Runtime>, EngineError> {
        if let Some(runtime) = self.runtime.get() {
            return Ok(runtime);
        }
        let _starting = self.starting.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(runtime) = self.runtime.get() {
            return Ok(runtime);
        }
        tracing::debug!("starting the wasm engine");
        let runtime = Arc::new(Runtime::new(self.config.clone())?);
        Ok(self.runtime.get_or_init(|| runtime))
    }
}

impl Migrator {
    /// Opens the project in `dir` (`wasmig.toml` and its migrations) with a
    /// runtime that caches compiled components in the default cache
    /// directory, started when a command first needs it. Reads no module yet.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, Error> {
        Self::open_configured(dir, RuntimeConfig { cache_dir: default_cache_dir(), ..RuntimeConfig::default() })
    }

    /// [`Migrator::open`] with a runtime set up as `config` says, started
    /// when a command first needs it.
    pub fn open_configured(dir: impl AsRef<Path>, config: RuntimeConfig) -> Result<Self, Error> {
        let runtime = LazyRuntime { config, runtime: OnceLock::new(), starting: Mutex::new(()) };
        Ok(Migrator { revisions: Arc::new(Revisions::open(dir)?), runtime: Arc::new(runtime) })
    }

    /// Opens the project in `dir` on a runtime the caller shares between
    /// projects (one engine, one module cache) or configures itself.
    pub fn open_with(dir: impl AsRef<Path>, runtime: Arc<Runtime>) -> Result<Self, Error> {
        let started = LazyRuntime {
            config: RuntimeConfig::default(),
            runtime: OnceLock::from(runtime),
            starting: Mutex::new(()),
        };
        Ok(Migrator { revisions: Arc::new(Revisions::open(dir)?), runtime: Arc::new(started) })
    }

    /// The project: its root, its `wasmig.toml` settings and its graph.
    pub fn project(&self) -> &Project {
        self.revisions.project()
    }

    pub fn graph(&self) -> &Graph {
        self.revisions.graph()
    }

    /// The runtime, started now if no command needed it yet.
    pub fn runtime(&self) -> Result<&Arc<Runtime>, Error> {
        Ok(self.runtime.get()?)
    }

    /// The runtime, started now if needed, for the crate's own commands.
    pub(crate) fn started_runtime(&self) -> Result<&Arc<Runtime>, EngineError> {
        self.runtime.get()
    }

    /// What the runtime did; all zero when it was never started.
    pub fn runtime_stats(&self) -> crate::runtime::RuntimeStats {
        self.runtime.runtime.get().map(|runtime| runtime.stats()).unwrap_or_default()
    }

    /// Whether the runtime (its engine and epoch thread) has been started:
    /// commands that only read never start it.
    pub fn runtime_started(&self) -> bool {
        self.runtime.runtime.get().is_some()
    }

    /// What the project cache answered so far (manifests when the project
    /// was opened, checksums since).
    pub fn cache_stats(&self) -> crate::CacheStats {
        self.revisions.cache_stats()
    }

    pub(crate) fn revisions(&self) -> &Revisions {
        &self.revisions
    }

    /// The checksum of a revision as it is on disk now (what a new version row would record).
    pub fn checksum(&self, revision: &Revision) -> Result<String, Error> {
        Ok(self.revisions.checksum(revision)?)
    }

    /// Opens the database at `url` with the project's settings (its
    /// `migration_lock_timeout_ms`, and `[sandbox] login`); a SQLite file is created
    /// when missing.
    pub fn connect(&self, url: &str) -> Result<Database, Error> {
        self.connect_tenant(url, None)
    }

    /// [`Migrator::connect`] for `tenant`: with `[sandbox] login = true` the
    /// connection logs in as the tenant's role (`role = "tenant_{tenant}"`).
    pub fn connect_tenant(&self, url: &str, tenant: Option<&str>) -> Result<Database, Error> {
        let url = self.login_url(url, tenant)?;
        Ok(Database::connect_with(&url, self.revisions.migration_lock_timeout())?)
    }

    /// Opens a database that must already exist (no SQLite file is
    /// created), with the project's settings: for commands that only read.
    pub fn connect_existing(&self, url: &str) -> Result<Database, Error> {
        let url = self.login_url(url, None)?;
        Ok(Database::connect_existing(&url, self.revisions.migration_lock_timeout())?)
    }

    /// `url`, logged in as `[sandbox] role` when `[sandbox] login = true`.
    fn login_url(&self, url: &str, tenant: Option<&str>) -> Result<String, Error> {
        match self.revisions.config().sandbox.login_for(tenant)? {
            Some(role) => Ok(DatabaseUrl::parse(url)?.with_login(&role).to_url()),
            None => Ok(url.to_owned()),
        }
    }

    /// The connection's bookkeeper: its version tables, by the project's prefix.
    pub(crate) fn books<'db>(&self, db: &'db mut Database) -> Bookkeeper<'db> {
        let mut books = Bookkeeper::new(db.backend_mut(), &self.revisions.config().table_prefix);
        books.journal = self.revisions.config().journal.enabled;
        books.journal_locks = self.revisions.config().journal.locks;
        books
    }

    pub(crate) fn lock_key(&self, db: &Database) -> String {
        format!("wasmig:{}:{}", db.schema().unwrap_or(""), self.revisions.config().table_prefix)
    }

    /// The version tables, which only the host writes.
    fn protected_tables(&self) -> Vec<String> {
        table_names(&self.revisions.config().table_prefix).into()
    }

    /// The applied rows, or none when the version tables do not exist yet.
    pub fn applied_rows(&self, db: &mut Database) -> Result<Vec<AppliedRow>, Error> {
        Ok(self.books(db).applied_rows()?)
    }

    /// The plan from the database's applied set to `target`, without running it.
    pub fn plan(&self, db: &mut Database, target: &Target, direction: Direction) -> Result<Plan, Error> {
        let rows = self.applied_rows(db)?;
        let applied: AppliedSet = rows.iter().map(|row| row.revision.clone()).collect();
        Ok(self.graph().plan(&applied, target, direction)?)
    }

    /// `status`: where the database stands against the project's heads.
    pub fn status(&self, db: &mut Database) -> Result<Status, Error> {
        // Read-only on purpose: no lock, no table creation, no write.
        let rows = self.applied_rows(db)?;
        let mut status = self.status_of(db.describe(), rows)?;
        let key = self.lock_key(db);
        status.run_in_progress = db
            .backend_mut()
            .lock_holder(&key)
            .map_err(|source| Error::from(Failure::db(&status.database, "reading the migration lock")(source)))?;
        status.last_failure = self.books(db).last_failure()?;
        Ok(status)
    }

    /// The events `filter` selects, newest first: none when the version
    /// tables do not exist yet. Read-only: no lock, no table creation.
    pub fn events(&self, db: &mut Database, filter: &EventFilter) -> Result<Vec<Event>, Error> {
        Ok(self.books(db).events(filter)?)
    }

    /// The statement journal's rows `filter` selects, in the order they were
    /// written: none when it does not exist yet. Read-only, like `events`.
    pub fn journal(&self, db: &mut Database, filter: &JournalFilter) -> Result<Vec<JournalEntry>, Error> {
        Ok(self.books(db).journal(filter)?)
    }

    /// The failure of the last run, when the newest run outcome (an
    /// upgrade, downgrade, adopt, stamp or fail event) is a `fail`: the run
    /// failed or was interrupted, and nothing succeeded since.
    pub fn last_failure(&self, db: &mut Database) -> Result<Option<Event>, Error> {
        Ok(self.books(db).last_failure()?)
    }

    /// The status of a database whose applied rows are `rows` (none for a
    /// database that does not exist yet).
    pub fn status_of(&self, database: String, rows: Vec<AppliedRow>) -> Result<Status, Error> {
        let graph = self.graph();
        let unknown: Vec<String> =
            rows.iter().filter(|row| !graph.contains(&row.revision)).map(|row| row.revision.clone()).collect();
        let known: AppliedSet =
            rows.iter().filter(|row| graph.contains(&row.revision)).map(|row| row.revision.clone()).collect();
        let pending = graph.plan(&known, &Target::Heads, Direction::Up)?;
        let (drifts, interpreter_changes) = match self.revisions.config().checksum {
            ChecksumPolicy::Off => (Vec::new(), Vec::new()),
            _ => self.drifted(&rows)?,
        };
        let mut status = Status {
            database,
            at_heads: false,
            heads: graph.heads().iter().map(|revision| revision.id().to_string()).collect(),
            current: graph.applied_heads(&known).iter().map(ToString::to_string).collect(),
            pending: pending.steps.iter().map(|step| step.revision.to_string()).collect(),
            unknown,
            dirty: rows.iter().filter(|row| row.state != RowState::Applied).map(|row| row.revision.clone()).collect(),
            drift: drifts.iter().map(|drift| drift.revision.clone()).collect(),
            drifts,
            interpreter_changes,
            drift_blocks: self.revisions.config().checksum == ChecksumPolicy::Error,
            run_in_progress: None,
            last_failure: None,
            applied: rows,
        };
        status.at_heads = status.verdict();
        Ok(status)
    }

    /// The applied rows whose revision's files changed since, and those whose
    /// revision ran on another interpreter plugin than this wasmig's.
    fn drifted(&self, rows: &[AppliedRow]) -> Result<(Vec<Drift>, Vec<InterpreterChange>), Failure> {
        let graph = self.graph();
        let mut drifted = Vec::new();
        let mut interpreters = Vec::new();
        for row in rows {
            let Some(revision) = graph.get(&row.revision) else { continue };
            let now = self.revisions.fingerprint(revision)?;
            if let Some(drift) = drift(&row.revision, revision.kind(), &row.checksum, &now) {
                drifted.push(drift);
            } else if let Some(change) = interpreter_change(&row.revision, &row.checksum, &now) {
                interpreters.push(change);
            }
        }
        self.revisions.save_cache();
        Ok((drifted, interpreters))
    }

    /// Applies every revision needed to reach `target`.
    pub fn upgrade(
        &self,
        db: &mut Database,
        target: &Target,
        options: &RunOptions,
        progress: &mut dyn Progress,
    ) -> Result<RunReport, Error> {
        self.run(db, Route::To(target, Direction::Up), options, LintMode::Enforce, progress)
    }

    /// Reverts the applied revisions above `target`.
    pub fn downgrade(
        &self,
        db: &mut Database,
        target: &Target,
        options: &RunOptions,
        progress: &mut dyn Progress,
    ) -> Result<RunReport, Error> {
        self.run(db, Route::To(target, Direction::Down), options, LintMode::Enforce, progress)
    }

    /// Runs exactly `step` (one revision, one direction) through the
    /// normal runner, with its lock, bookkeeping and events: for `wasmig
    /// test`, which walks the plan one step at a time and must also revert
    /// revisions a downgrade plan would not single out, and for `wasmig
    /// lint`, which lints some steps (`lint`) and only replays others.
    pub(crate) fn run_step(
        &self,
        db: &mut Database,
        step: &Step,
        options: &RunOptions,
        lint: LintMode,
        progress: &mut dyn Progress,
    ) -> Result<RunReport, Error> {
        self.run(db, Route::Step(step), options, lint, progress)
    }

    fn run(
        &self,
        db: &mut Database,
        route: Route<'_>,
        options: &RunOptions,
        lint: LintMode,
        progress: &mut dyn Progress,
    ) -> Result<RunReport, Error> {
        let nothing = RunReport { database: db.describe(), steps: Vec::new() };
        let timeout = self.revisions.migration_lock_timeout();
        let lock = db.lock(&self.lock_key(db), timeout, &mut |holder| progress.waiting_for_lock(holder, timeout));
        let lock = lock.map_err(|error| Error::after(error, nothing))?;
        let mut books = self.books(db);
        let (steps, first_run) = match self.prepare_run(&mut books, route, options, lint, progress) {
            Ok(prepared) => prepared,
            Err(failure) => {
                let report = RunReport { database: books.database.clone(), steps: Vec::new() };
                drop(lock);
                db.remove_if_untouched();
                return Err(Error::after(failure, report));
            }
        };
        // Preparing the steps started it; a run with nothing to do needs none.
        let runtime = self.runtime.runtime.get().map(|runtime| &**runtime);
        let report = apply::run(runtime, books, &steps, options, lock.as_ref(), progress);
        // Released only once every transaction of the run is over.
        drop(lock);
        report.map_err(|error| if first_run { advice::on_first_run(error) } else { error })
    }

    /// Plans and prepares before writing anything: a refused plan or a
    /// broken module leaves a fresh database without even the version tables.
    /// Also says whether the database had nothing applied (a first run).
    fn prepare_run(
        &self,
        books: &mut Bookkeeper<'_>,
        route: Route<'_>,
        options: &RunOptions,
        lint: LintMode,
        progress: &mut dyn Progress,
    ) -> Result<(Vec<PreparedStep>, bool), Failure> {
        let rows = books.applied_rows()?;
        self.check_applied(&rows)?;
        let applied: AppliedSet = rows.iter().map(|row| row.revision.clone()).collect();
        let steps = match route {
            Route::To(target, direction) => self.graph().plan(&applied, target, direction)?.steps,
            Route::Step(step) => vec![step.clone()],
        };
        let mut steps = self.prepare(&steps, options, progress)?;
        // Only `up` is linted: a `down` exists to undo (docs/LINT.md).
        let dialect = books.db.dialect();
        for step in steps.iter_mut().filter(|step| step.direction == Direction::Up) {
            let revision = self.graph().get(step.revision.as_str()).expect("plans name revisions of their graph");
            step.lint = LintPolicy::for_step(&self.revisions.config().lint, revision, dialect, lint);
        }
        check_confinement(books.db.as_mut(), &books.database, &steps)?;
        // Rows read means the tables exist; otherwise create them now.
        if !steps.is_empty() && rows.is_empty() {
            books.ensure_tables()?;
        }
        if !steps.is_empty() && books.journal {
            books.ensure_journal()?;
        }
        Ok((steps, rows.is_empty()))
    }

    /// Whether an upgrade to `target` of a database holding `rows` would do
    /// nothing and succeed: nothing dirty, unknown or (by policy) drifted,
    /// and an empty plan. Anything else is for a real run to do or to report.
    pub(crate) fn at_target(&self, rows: &[AppliedRow], target: &Target) -> bool {
        if self.check_applied(rows).is_err() {
            return false;
        }
        let applied: AppliedSet = rows.iter().map(|row| row.revision.clone()).collect();
        self.graph().plan(&applied, target, Direction::Up).is_ok_and(|plan| plan.steps.is_empty())
    }

    /// Refuses to run over a dirty revision or (by policy) checksum drift.
    fn check_applied(&self, rows: &[AppliedRow]) -> Result<(), Failure> {
        if let Some(row) = rows.iter().find(|row| row.state != RowState::Applied) {
            return Err(Failure::Dirty {
                revision: row.revision.clone(),
                state: row.state,
                table: table_names(&self.revisions.config().table_prefix)[0].clone(),
            });
        }
        match self.revisions.config().checksum {
            ChecksumPolicy::Off => Ok(()),
            policy => {
                let (drifted, _) = self.drifted(rows)?;
                if drifted.is_empty() {
                    return Ok(());
                }
                let failure = Failure::Drift { drifts: drifted };
                if policy == ChecksumPolicy::Error {
                    return Err(failure);
                }
                tracing::warn!("{failure}");
                Ok(())
            }
        }
    }

    /// Loads every module and computes every checksum of the plan before
    /// the first step runs: a broken module stops the run with the
    /// database untouched.
    fn prepare(
        &self,
        plan: &[Step],
        options: &RunOptions,
        progress: &mut dyn Progress,
    ) -> Result<Vec<PreparedStep>, Failure> {
        if plan.is_empty() {
            return Ok(Vec::new());
        }
        let graph = self.graph();
        let revisions = plan.iter().filter_map(|step| graph.get(step.revision.as_str()));
        let uncompiled = self.revisions.uncompiled(self.runtime.get()?, revisions)?;
        if uncompiled > 0 {
            progress.compiling(uncompiled);
        }
        let mut steps = Vec::with_capacity(plan.len());
        for step in plan {
            let revision = graph.get(step.revision.as_str()).expect("plans name revisions of their graph");
            if options.transaction == TransactionMode::All && !revision.transactional() {
                return Err(Failure::NonTransactionalInAll { revision: revision.id().to_string() });
            }
            if let Some(path) = unmarked_empty_file(revision, step.direction) {
                let file = path.strip_prefix(self.revisions.root()).unwrap_or(&path).display().to_string();
                return Err(Failure::EmptySql { revision: revision.id().to_string(), file });
            }
            steps.push(self.prepare_step(revision, step.direction, options)?);
        }
        Ok(steps)
    }

    fn prepare_step(
        &self,
        revision: &Revision,
        direction: Direction,
        options: &RunOptions,
    ) -> Result<PreparedStep, Failure> {
        let module = self.revisions.module(self.runtime.get()?, revision)?;
        let sandbox = &self.revisions.config().sandbox;
        let role = sandbox.role.as_ref().map(|template| template.role_for(options.tenant.as_deref())).transpose()?;
        Ok(PreparedStep {
            revision: revision.id().clone(),
            message: revision.message().lines().next().unwrap_or_default().to_owned(),
            kind: revision.kind().as_str(),
            transactional: revision.transactional(),
            direction,
            checksum: self.revisions.checksum(revision)?,
            module_hash: hex::encode(module.hash()),
            module,
            context: HookContext {
                revision_id: revision.id().to_string(),
                tenant: options.tenant.clone(),
                assets_dir: Some(revision.dir.clone()),
                limits: self.revisions.limits_for(revision),
                protected_tables: self.protected_tables(),
                role,
                capabilities: sandbox.capabilities.clone(),
            },
            locks: self.revisions.lock_policy_for(revision),
            lint: None,
        })
    }

    /// The SQL a plan from `applied` to `target` would run, as a script:
    /// version tables, each revision's statements under a comment naming
    /// it, bookkeeping and transaction boundaries (offline: no database is
    /// opened). With a PostgreSQL `schema` (a URL's `?schema=`), the script
    /// sets the `search_path` to it and names the version tables in it, as
    /// a run on that URL does.
    pub fn offline_sql(
        &self,
        applied: &AppliedSet,
        target: &Target,
        direction: Direction,
        dialect: crate::sql::Dialect,
        schema: Option<&str>,
        options: &RunOptions,
    ) -> Result<String, Error> {
        let plan = self.graph().plan(applied, target, direction)?;
        let steps = self.prepare(&plan.steps, options, &mut NoProgress)?;
        let graph = self.graph();
        let markers = plan
            .steps
            .iter()
            .map(|step| {
                let message = graph.get(step.revision.as_str()).map_or("", |revision| revision.message());
                crate::offline::step_marker(step.revision.as_str(), step.direction, message)
            })
            .collect();
        let schema = schema.filter(|_| dialect == crate::sql::Dialect::Postgres);
        let (backend, script) = crate::offline::OfflineBackend::new(dialect, schema.map(str::to_owned), markers);
        let mut db = Database::from_backend(Box::new(backend));
        let mut books = self.books(&mut db);
        // The offline script runs without the host: nobody sees its statements.
        books.journal = false;
        let search_path = schema
            .map(|schema| format!("SET search_path TO {};\n", crate::sql::quote_identifier(schema)))
            .unwrap_or_default();
        // The journal's table is created as a live run would create it, so a
        // replayed script leaves the same schema; its rows stay empty.
        let journal_table = match self.revisions.config().journal.enabled {
            true => format!("\n{}", crate::journal::create_sql(&books.tables, books.db.as_ref()).trim_end()),
            false => String::new(),
        };
        let header = format!(
            "-- wasmig {}grade to {target} ({} step(s)), offline SQL for {dialect}{}\n{search_path}{}{journal_table}",
            direction.as_str(),
            steps.len(),
            schema.map(|schema| format!(" in schema {schema}")).unwrap_or_default(),
            books.tables.create_sql_in(books.db.as_ref()).trim_end()
        );
        books.db.execute_script(&header).map_err(books.failed("writing the version tables"))?;
        let lock = crate::offline::script_lock();
        let runtime = if steps.is_empty() { None } else { Some(&**self.runtime.get()?) };
        apply::run(runtime, books, &steps, options, lock.as_ref(), &mut NoProgress)?;
        let script = script.lock().expect("offline script poisoned").clone();
        Ok(script)
    }

    /// `verify`: asks each revision (or the one named) whether its effect is
    /// present, inside a transaction that is always rolled back.
    pub fn verify(
        &self,
        db: &mut Database,
        only: Option<&str>,
        options: &RunOptions,
    ) -> Result<Vec<VerifyReport>, Error> {
        let graph = self.graph();
        let database = db.describe();
        let rows = self.applied_rows(db)?;
        let db = db.backend_mut();
        let revisions: Vec<&Revision> = match only {
            Some(reference) => vec![graph.resolve(reference)?],
            None => graph.topological_order().collect(),
        };
        // A merge changes nothing, so there is nothing to ask it: it is never
        // a mismatch, applied or not.
        let (merges, revisions): (Vec<&Revision>, Vec<&Revision>) =
            revisions.into_iter().partition(|revision| revision.kind() == RevisionKind::Merge);
        let steps = revisions
            .iter()
            .map(|revision| self.prepare_step(revision, Direction::Up, options))
            .collect::<Result<Vec<_>, _>>()?;
        check_confinement(db.as_mut(), &database, &steps)?;
        let mut reports: Vec<VerifyReport> = merges
            .iter()
            .map(|merge| VerifyReport {
                revision: merge.id().to_string(),
                applied: rows.iter().any(|row| row.revision == merge.id().as_str()),
                verdict: Some("merge"),
                mismatch: false,
            })
            .collect();
        for (revision, step) in revisions.into_iter().zip(steps) {
            if crate::interrupt::requested() {
                return Err(Failure::Interrupted { before: revision.id().to_string() }.into());
            }
            let applied = rows.iter().any(|row| row.revision == revision.id().as_str());
            db.begin_read_only().map_err(Failure::db(&database, "beginning a read-only verify transaction"))?;
            let outcome = self.runtime.get()?.verify(&step.module, &step.context, db);
            db.rollback().map_err(Failure::db(&database, "rolling back a verify transaction"))?;
            let verdict = outcome?.value;
            let mismatch = matches!((applied, verdict), (true, Verdict::Absent) | (false, Verdict::Present));
            reports.push(VerifyReport {
                revision: revision.id().to_string(),
                applied,
                verdict: Some(match verdict {
                    Verdict::Present => "present",
                    Verdict::Absent => "absent",
                    Verdict::Unknown => "unknown",
                }),
                mismatch,
            });
        }
        // In the project's order, merges among the others.
        let order: std::collections::HashMap<&str, usize> =
            graph.topological_order().enumerate().map(|(index, revision)| (revision.id().as_str(), index)).collect();
        reports.sort_by_key(|report| order.get(report.revision.as_str()).copied().unwrap_or(usize::MAX));
        Ok(reports)
    }
}

/// What a run does: the plan to a target, or one given step.
#[derive(Clone, Copy)]
enum Route<'a> {
    To(&'a Target, Direction),
    Step(&'a Step),
}

/// Refuses a `[sandbox] role` the session's login could leave, before
/// anything is written or a hook runs: such a role would only look like
/// confinement.
fn check_confinement(db: &mut dyn Backend, database: &str, steps: &[PreparedStep]) -> Result<(), Failure> {
    let Some(step) = steps.first() else { return Ok(()) };
    let Some(role) = &step.context.role else { return Ok(()) };
    let creates_roles = step.context.capabilities.allows(Capability::Roles);
    match db.login_escape(role, creates_roles).map_err(Failure::db(database, "checking the login role"))? {
        None => Ok(()),
        Some(escape) => Err(Failure::LoginEscapes {
            database: database.to_owned(),
            role: role.clone(),
            login: escape.login,
            reasons: escape.reasons,
        }),
    }
}
