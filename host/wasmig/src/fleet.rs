//! Fleets: one migrator run over many tenant databases or schemas, with bounded concurrency, isolated failures, a canary wave and a per-tenant report.
//!
//! Decisions (see docs/FLEET.md):
//! - One [`Migrator`], so one engine, one compiled module set and one
//!   `InstancePre` per module for every tenant. Before any worker starts,
//!   the fleet loads every module of the project once, on one thread:
//!   workers that asked the runtime for the same module at the same moment
//!   would each compile it.
//! - Concurrency is `jobs` scoped OS threads pulling tenants from one shared
//!   queue (the caller's iterator behind a mutex), so a stream of tenants is
//!   read only as fast as it is migrated.
//! - A tenant's run is exactly what `wasmig upgrade` does to one database:
//!   its own connection, its own lock (the PostgreSQL lock key carries the
//!   schema), per-revision transactions. A failure, or a panic, ends that
//!   tenant's run only; a rerun picks up from each tenant's applied set.
//! - `fail_fast` and the canary wave stop *scheduling*: runs already going
//!   finish, and every tenant not started is reported as skipped.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, mpsc};
use std::time::Instant;

use serde::Serialize;
use wasmig_graph::{Direction, Target};

use crate::apply::Progress;
use crate::backend::postgres::PostgresBackend;
use crate::backend::{Backend, ConnectError, DatabaseUrl};
use crate::database::Database;
use crate::migrator::{Migrator, RunOptions};
use crate::report::{StepOutcome, StepReport};
use crate::sql::{DbError, Value};

/// One tenant: a name (what guests see as `context.tenant`) and its database URL.
#[derive(Clone, PartialEq, Eq)]
pub struct Tenant {
    pub name: String,
    /// May hold a password: never printed (see [`Tenant::database`]).
    pub url: String,
}

impl fmt::Debug for Tenant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tenant").field("name", &self.name).field("database", &self.database()).finish()
    }
}

impl Tenant {
    pub fn new(name: impl Into<String>, url: impl Into<String>) -> Self {
        Tenant { name: name.into(), url: url.into() }
    }

    /// A tenant named after its database: the SQLite file's stem, the
    /// PostgreSQL schema, else the PostgreSQL database's name.
    pub fn from_url(url: &str) -> Result<Self, ConnectError> {
        let name = match DatabaseUrl::parse(url)? {
            DatabaseUrl::SqliteFile(path) => {
                path.file_stem().map_or_else(|| path.display().to_string(), |stem| stem.to_string_lossy().into_owned())
            }
            DatabaseUrl::SqliteMemory => "memory".to_owned(),
            DatabaseUrl::Postgres { schema: Some(schema), .. } => schema,
            DatabaseUrl::Postgres { conninfo, schema: None } => {
                let path = conninfo.split_once('?').map_or(conninfo.as_str(), |(base, _)| base);
                path.rsplit_once('/').map_or(path, |(_, database)| database).to_owned()
            }
        };
        Ok(Tenant { name, url: url.to_owned() })
    }

    /// The database, without any password, for messages and reports.
    pub fn database(&self) -> String {
        DatabaseUrl::parse(&self.url).map_or_else(|_| "(not a database URL)".to_owned(), |url| url.redacted())
    }
}

/// Where a fleet's tenants come from (`--tenants SOURCE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantSource {
    /// `@path`: one tenant a line, `URL [NAME]`; blank lines and `#` comments are skipped.
    File(PathBuf),
    /// `sqlite:tenants/*.db`: every file the glob matches, named by its stem, in path order.
    SqliteGlob(String),
    /// `postgres://user@host/db?schemas=PATTERN`: every schema whose name is
    /// `LIKE PATTERN` on that database, each with its own version tables.
    PostgresSchemas {
        /// The URL without `schemas=`: each tenant's URL is this plus `schema=<name>`.
        url: String,
        pattern: String,
    },
    /// A single database URL: a fleet of one.
    Single(String),
}

/// Why a fleet's tenants cannot be listed.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    #[error(
        "`{text}` is not a tenant source: {reason}. Use @FILE (one database URL a line, optionally followed by a tenant name), \
         a SQLite glob such as sqlite:tenants/*.db, or postgres://user@host/db?schemas=PATTERN (a LIKE pattern such as tenant_%)"
    )]
    BadSource { text: String, reason: String },
    #[error("cannot read the tenant list {path}: {source}")]
    ReadList { path: PathBuf, source: std::io::Error },
    #[error("{path}:{line}: {reason}")]
    BadLine { path: PathBuf, line: usize, reason: String },
    #[error("`{pattern}` is not a valid glob: {source}")]
    Glob { pattern: String, source: glob::PatternError },
    #[error("cannot list the files matching `{pattern}`: {source}")]
    GlobRead { pattern: String, source: glob::GlobError },
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("cannot list the schemas matching `{pattern}` on {database}: {source}")]
    ListSchemas { pattern: String, database: String, source: DbError },
    #[error("{source_text} names no tenant: nothing to migrate (check the path, the glob or the schema pattern)")]
    Empty { source_text: String },
    #[error("tenant name `{name}` is used twice ({first} and {second}): tenant names must be unique")]
    DuplicateTenant { name: String, first: String, second: String },
}

impl TenantSource {
    /// Reads `@FILE`, `sqlite:GLOB`, `postgres://...?schemas=PATTERN` or a single database URL.
    pub fn parse(text: &str) -> Result<Self, FleetError> {
        let bad = |reason: &str| FleetError::BadSource { text: text.to_owned(), reason: reason.to_owned() };
        if let Some(path) = text.strip_prefix('@') {
            if path.is_empty() {
                return Err(bad("`@` needs the path of a file"));
            }
            return Ok(TenantSource::File(PathBuf::from(path)));
        }
        if let Some(rest) = text.strip_prefix("sqlite:") {
            let pattern = rest.strip_prefix("//").unwrap_or(rest);
            if pattern.contains(['*', '?', '[']) {
                return Ok(TenantSource::SqliteGlob(pattern.to_owned()));
            }
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            let (base, query) = text.split_once('?').unwrap_or((text, ""));
            let mut pattern = None;
            let mut kept = Vec::new();
            for pair in query.split('&').filter(|pair| !pair.is_empty()) {
                match pair.split_once('=') {
                    Some(("schemas", "")) => return Err(bad("`schemas=` needs a LIKE pattern, e.g. schemas=tenant_%")),
                    Some(("schemas", value)) => pattern = Some(value.to_owned()),
                    Some(("schema", _)) => {
                        return Err(bad("give either `schema=` (one database) or `schemas=` (a fleet), not both"));
                    }
                    _ => kept.push(pair),
                }
            }
            if let Some(pattern) = pattern {
                let url = if kept.is_empty() { base.to_owned() } else { format!("{base}?{}", kept.join("&")) };
                return Ok(TenantSource::PostgresSchemas { url, pattern });
            }
        }
        match DatabaseUrl::parse(text) {
            Ok(_) => Ok(TenantSource::Single(text.to_owned())),
            Err(_) => Err(bad("it is neither @FILE nor a database URL")),
        }
    }

    /// The tenants, in a stable order, with unique names.
    pub fn tenants(&self) -> Result<Vec<Tenant>, FleetError> {
        let tenants = match self {
            TenantSource::File(path) => read_list(path)?,
            TenantSource::SqliteGlob(pattern) => sqlite_glob(pattern)?,
            TenantSource::PostgresSchemas { url, pattern } => postgres_schemas(url, pattern)?,
            TenantSource::Single(url) => vec![Tenant::from_url(url)?],
        };
        if tenants.is_empty() {
            return Err(FleetError::Empty { source_text: self.to_string() });
        }
        let mut seen: HashMap<&str, &Tenant> = HashMap::new();
        for tenant in &tenants {
            if let Some(first) = seen.insert(tenant.name.as_str(), tenant) {
                return Err(FleetError::DuplicateTenant {
                    name: tenant.name.clone(),
                    first: first.database(),
                    second: tenant.database(),
                });
            }
        }
        Ok(tenants)
    }
}

impl fmt::Display for TenantSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TenantSource::File(path) => write!(f, "@{}", path.display()),
            TenantSource::SqliteGlob(pattern) => write!(f, "sqlite:{pattern}"),
            TenantSource::PostgresSchemas { url, pattern } => match DatabaseUrl::parse(url) {
                Ok(parsed) => write!(f, "{} (schemas {pattern})", parsed.redacted()),
                Err(_) => write!(f, "schemas {pattern}"),
            },
            TenantSource::Single(url) => match DatabaseUrl::parse(url) {
                Ok(parsed) => write!(f, "{}", parsed.redacted()),
                Err(_) => f.write_str("(not a database URL)"),
            },
        }
    }
}

fn read_list(path: &Path) -> Result<Vec<Tenant>, FleetError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| FleetError::ReadList { path: path.to_path_buf(), source })?;
    let mut tenants = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.split_once('#').map_or(line, |(before, _)| before).trim();
        if line.is_empty() {
            continue;
        }
        let bad = |reason: String| FleetError::BadLine { path: path.to_path_buf(), line: index + 1, reason };
        let mut words = line.split_whitespace();
        let url = words.next().expect("a non-empty line has a first word");
        let name = words.next();
        if words.next().is_some() {
            return Err(bad("expected `URL [NAME]`".to_owned()));
        }
        let tenant = Tenant::from_url(url).map_err(|error| bad(error.to_string()))?;
        tenants.push(match name {
            Some(name) => Tenant::new(name, url),
            None => tenant,
        });
    }
    Ok(tenants)
}

fn sqlite_glob(pattern: &str) -> Result<Vec<Tenant>, FleetError> {
    let paths = glob::glob(pattern).map_err(|source| FleetError::Glob { pattern: pattern.to_owned(), source })?;
    let mut tenants = Vec::new();
    for path in paths {
        let path = path.map_err(|source| FleetError::GlobRead { pattern: pattern.to_owned(), source })?;
        if path.is_file() {
            tenants.push(Tenant::from_url(&format!("sqlite:{}", path.display()))?);
        }
    }
    Ok(tenants)
}

fn postgres_schemas(url: &str, pattern: &str) -> Result<Vec<Tenant>, FleetError> {
    let DatabaseUrl::Postgres { conninfo, .. } = DatabaseUrl::parse(url)? else {
        unreachable!("TenantSource::parse only makes PostgreSQL schema sources from postgres URLs");
    };
    let database = DatabaseUrl::parse(url)?.redacted();
    let mut server = PostgresBackend::connect(&conninfo, None, database.clone())?;
    let rows = server
        .query(
            "SELECT nspname::text FROM pg_catalog.pg_namespace WHERE nspname LIKE $1 ORDER BY nspname",
            &[Value::Text(pattern.to_owned())],
        )
        .map_err(|source| FleetError::ListSchemas { pattern: pattern.to_owned(), database, source })?;
    let separator = if url.contains('?') { '&' } else { '?' };
    Ok(rows
        .values
        .into_iter()
        .filter_map(|row| match row.into_iter().next() {
            Some(Value::Text(schema)) => Some(Tenant::new(schema.clone(), format!("{url}{separator}schema={schema}"))),
            _ => None,
        })
        .collect())
}

/// What a fleet run does to each tenant.
#[derive(Debug, Clone, PartialEq)]
pub enum FleetAction {
    Upgrade(Target),
    Downgrade(Target),
    /// Reads where each tenant stands (no lock, no write).
    Status,
}

impl FleetAction {
    pub fn name(&self) -> &'static str {
        match self {
            FleetAction::Upgrade(_) => "upgrade",
            FleetAction::Downgrade(_) => "downgrade",
            FleetAction::Status => "status",
        }
    }

    fn target(&self) -> Option<&Target> {
        match self {
            FleetAction::Upgrade(target) | FleetAction::Downgrade(target) => Some(target),
            FleetAction::Status => None,
        }
    }
}

/// How one tenant's run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TenantOutcome {
    Ok,
    Failed,
    /// Never started: `fail_fast` after a failure, or a failed canary wave.
    Skipped,
}

impl TenantOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            TenantOutcome::Ok => "ok",
            TenantOutcome::Failed => "failed",
            TenantOutcome::Skipped => "skipped",
        }
    }
}

/// Where a tenant stands against the project's heads (the `status` action).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TenantStatus {
    pub at_heads: bool,
    pub current: Vec<String>,
    pub pending: Vec<String>,
    pub unknown: Vec<String>,
    pub dirty: Vec<String>,
    pub drift: Vec<String>,
}

/// What happened to one tenant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TenantReport {
    pub tenant: String,
    /// The database, without any password.
    pub database: String,
    pub outcome: TenantOutcome,
    /// Revisions this run applied (upgrade) or reverted (downgrade), in
    /// order; for a failed tenant, those that committed before the failure.
    pub revisions: Vec<String>,
    /// Steps another runner had done first (concurrent runs on one tenant).
    pub already_done: usize,
    pub duration_ms: u64,
    /// Why the tenant failed, or why it was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The `status` action's finding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<TenantStatus>,
}

impl TenantReport {
    fn skipped(tenant: &Tenant, reason: &str) -> Self {
        TenantReport {
            tenant: tenant.name.clone(),
            database: tenant.database(),
            outcome: TenantOutcome::Skipped,
            revisions: Vec::new(),
            already_done: 0,
            duration_ms: 0,
            error: Some(reason.to_owned()),
            status: None,
        }
    }
}

/// What a fleet run did: one report per tenant, in the order the tenants were given.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FleetReport {
    pub action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    pub tenants: Vec<TenantReport>,
    /// Distinct modules the project's revisions run (the built-in plugins count once each).
    pub modules: usize,
    /// Components compiled by Cranelift during this run (at most `modules`).
    pub compiled: usize,
    /// Components loaded from the disk cache during this run instead.
    pub loaded_from_disk: usize,
    pub duration_ms: u64,
}

impl FleetReport {
    pub fn count(&self, outcome: TenantOutcome) -> usize {
        self.tenants.iter().filter(|tenant| tenant.outcome == outcome).count()
    }

    pub fn failed(&self) -> impl Iterator<Item = &TenantReport> {
        self.tenants.iter().filter(|tenant| tenant.outcome == TenantOutcome::Failed)
    }

    pub fn tenant(&self, name: &str) -> Option<&TenantReport> {
        self.tenants.iter().find(|tenant| tenant.tenant == name)
    }

    /// Every tenant ran and succeeded (none failed, none skipped).
    pub fn all_ok(&self) -> bool {
        self.tenants.iter().all(|tenant| tenant.outcome == TenantOutcome::Ok)
    }

    /// The `status` action found every tenant at the project's heads.
    pub fn all_at_heads(&self) -> bool {
        self.tenants.iter().all(|tenant| tenant.status.as_ref().is_some_and(|status| status.at_heads))
    }

    /// Tenant-revisions (steps changed) per second of the whole run.
    pub fn revisions_per_second(&self) -> f64 {
        let steps: usize = self.tenants.iter().map(|tenant| tenant.revisions.len()).sum();
        steps as f64 / (self.duration_ms.max(1) as f64 / 1000.0)
    }
}

/// What a fleet run says as it goes.
#[derive(Debug, Clone, PartialEq)]
pub enum FleetEvent {
    /// The run starts; `tenants` is known when the tenants came as a sized collection.
    Planned {
        tenants: Option<usize>,
    },
    Started {
        tenant: String,
    },
    /// One step of a tenant committed.
    Step {
        tenant: String,
        step: StepReport,
    },
    /// A tenant ended (ok, failed or skipped).
    Finished(TenantReport),
}

/// Hears a fleet run's events, from every worker thread: a closure
/// (`|event: FleetEvent| ...`), an `mpsc` sender, or [`NoFleetProgress`].
pub trait FleetProgress: Sync {
    fn event(&self, event: FleetEvent);
}

impl<F: Fn(FleetEvent) + Sync> FleetProgress for F {
    fn event(&self, event: FleetEvent) {
        self(event)
    }
}

impl FleetProgress for mpsc::Sender<FleetEvent> {
    fn event(&self, event: FleetEvent) {
        // A receiver that hung up stopped listening; the run goes on.
        let _ = self.send(event);
    }
}

impl FleetProgress for mpsc::SyncSender<FleetEvent> {
    fn event(&self, event: FleetEvent) {
        let _ = self.send(event);
    }
}

/// Progress nobody watches.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoFleetProgress;

impl FleetProgress for NoFleetProgress {
    fn event(&self, _: FleetEvent) {}
}

/// Runs one migrator over many tenants. Build it, then [`Fleet::run`].
#[derive(Debug, Clone)]
pub struct Fleet {
    migrator: Migrator,
    jobs: usize,
    fail_fast: bool,
    canary: usize,
    options: RunOptions,
}

impl Fleet {
    /// One tenant at a time, no fail-fast, no canary, per-revision transactions.
    pub fn new(migrator: Migrator) -> Self {
        Fleet { migrator, jobs: 1, fail_fast: false, canary: 0, options: RunOptions::default() }
    }

    /// At most `jobs` tenants at once (at least 1), each on its own thread and connection.
    pub fn jobs(mut self, jobs: usize) -> Self {
        self.jobs = jobs.max(1);
        self
    }

    /// After a tenant fails, start no other (those running finish).
    pub fn fail_fast(mut self, fail_fast: bool) -> Self {
        self.fail_fast = fail_fast;
        self
    }

    /// Migrate the first `tenants` first; the rest only if all of them succeed.
    pub fn canary(mut self, tenants: usize) -> Self {
        self.canary = tenants;
        self
    }

    /// Transaction mode and adoption for every tenant (`tenant` is set per tenant).
    pub fn run_options(mut self, options: RunOptions) -> Self {
        self.options = options;
        self
    }

    pub fn migrator(&self) -> &Migrator {
        &self.migrator
    }

    /// Runs `action` on every tenant (a collection or a lazy iterator) and
    /// reports on each. Never stops at a tenant's failure unless `fail_fast`.
    pub fn run<I>(&self, tenants: I, action: &FleetAction, progress: &dyn FleetProgress) -> FleetReport
    where
        I: IntoIterator<Item = Tenant>,
        I::IntoIter: Send,
    {
        let started = Instant::now();
        let before = self.migrator.runtime().stats();
        let modules = match action {
            FleetAction::Status => 0,
            _ => self.load_modules(),
        };
        let mut tenants = tenants.into_iter();
        let known = match tenants.size_hint() {
            (low, Some(high)) if low == high => Some(low),
            _ => None,
        };
        progress.event(FleetEvent::Planned { tenants: known });
        let stop = AtomicBool::new(false);
        let mut reports = Vec::new();
        let mut canary_failed = Vec::new();
        if self.canary > 0 {
            let wave: Vec<Tenant> = tenants.by_ref().take(self.canary).collect();
            let wave_reports = self.wave(wave.into_iter(), action, progress, &stop);
            canary_failed = wave_reports
                .iter()
                .filter(|report| report.outcome != TenantOutcome::Ok)
                .map(|report| report.tenant.clone())
                .collect();
            reports.extend(wave_reports);
        }
        if canary_failed.is_empty() {
            reports.extend(self.wave(tenants, action, progress, &stop));
        } else {
            let reason = format!("not started: the canary wave failed ({})", canary_failed.join(", "));
            for tenant in tenants {
                let report = TenantReport::skipped(&tenant, &reason);
                progress.event(FleetEvent::Finished(report.clone()));
                reports.push(report);
            }
        }
        let after = self.migrator.runtime().stats();
        FleetReport {
            action: action.name(),
            target: action.target().map(ToString::to_string),
            tenants: reports,
            modules,
            compiled: after.compiled.saturating_sub(before.compiled),
            loaded_from_disk: after.loaded_from_disk.saturating_sub(before.loaded_from_disk),
            duration_ms: started.elapsed().as_millis() as u64,
        }
    }

    /// Loads every module of the project once, before any worker asks for
    /// one; returns how many distinct modules there are. A module that does
    /// not load is left for the tenants' runs to report.
    fn load_modules(&self) -> usize {
        let project = self.migrator.project();
        let mut hashes = HashSet::new();
        for revision in project.graph().topological_order() {
            match project.module(self.migrator.runtime(), revision) {
                Ok(module) => {
                    hashes.insert(*module.hash());
                }
                Err(error) => tracing::warn!(revision = %revision.id(), "{error}"),
            }
        }
        hashes.len()
    }

    /// Runs tenants from `tenants` on up to `jobs` threads until the queue is
    /// empty or (with `fail_fast`) a tenant failed; reports every tenant, in
    /// queue order, those never started as skipped.
    fn wave(
        &self,
        tenants: impl Iterator<Item = Tenant> + Send,
        action: &FleetAction,
        progress: &dyn FleetProgress,
        stop: &AtomicBool,
    ) -> Vec<TenantReport> {
        let queue = Mutex::new(tenants.enumerate());
        let done: Mutex<Vec<(usize, TenantReport)>> = Mutex::new(Vec::new());
        std::thread::scope(|scope| {
            for _ in 0..self.jobs {
                scope.spawn(|| {
                    loop {
                        if stop.load(Ordering::SeqCst) {
                            break;
                        }
                        let Some((index, tenant)) = queue.lock().expect("tenant queue poisoned").next() else {
                            break;
                        };
                        let report = self.one(&tenant, action, progress);
                        if report.outcome == TenantOutcome::Failed && self.fail_fast {
                            stop.store(true, Ordering::SeqCst);
                        }
                        progress.event(FleetEvent::Finished(report.clone()));
                        done.lock().expect("fleet reports poisoned").push((index, report));
                    }
                });
            }
        });
        let mut done = done.into_inner().expect("fleet reports poisoned");
        let failed: Vec<String> = done
            .iter()
            .filter(|(_, report)| report.outcome == TenantOutcome::Failed)
            .map(|(_, report)| report.tenant.clone())
            .collect();
        let reason = format!("not started: --fail-fast after {} failed", failed.join(", "));
        for (index, tenant) in queue.into_inner().expect("tenant queue poisoned") {
            let report = TenantReport::skipped(&tenant, &reason);
            progress.event(FleetEvent::Finished(report.clone()));
            done.push((index, report));
        }
        done.sort_by_key(|(index, _)| *index);
        done.into_iter().map(|(_, report)| report).collect()
    }

    /// One tenant's run; a panic inside it (a bug) fails that tenant only.
    fn one(&self, tenant: &Tenant, action: &FleetAction, progress: &dyn FleetProgress) -> TenantReport {
        progress.event(FleetEvent::Started { tenant: tenant.name.clone() });
        let started = Instant::now();
        let mut report = TenantReport {
            tenant: tenant.name.clone(),
            database: tenant.database(),
            outcome: TenantOutcome::Ok,
            revisions: Vec::new(),
            already_done: 0,
            duration_ms: 0,
            error: None,
            status: None,
        };
        let ran = catch_unwind(AssertUnwindSafe(|| self.migrate(tenant, action, progress, &mut report)));
        let error = match ran {
            Ok(result) => result.err(),
            Err(panic) => Some(format!(
                "wasmig panicked while migrating this tenant (a bug; please report it): {}",
                panic
                    .downcast_ref::<&str>()
                    .map(|text| text.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default()
            )),
        };
        if let Some(error) = error {
            report.outcome = TenantOutcome::Failed;
            report.error = Some(error);
        }
        report.duration_ms = started.elapsed().as_millis() as u64;
        report
    }

    fn migrate(
        &self,
        tenant: &Tenant,
        action: &FleetAction,
        progress: &dyn FleetProgress,
        report: &mut TenantReport,
    ) -> Result<(), String> {
        let migrator = &self.migrator;
        let mut database = Database::connect_with(&tenant.url, migrator.project().lock_timeout())
            .map_err(|error| error.to_string())?;
        let options = RunOptions { tenant: Some(tenant.name.clone()), ..self.options.clone() };
        let mut steps = TenantProgress { tenant: &tenant.name, progress };
        let result = match action {
            FleetAction::Upgrade(target) => migrator.upgrade(database.backend(), target, &options, &mut steps),
            FleetAction::Downgrade(target) => migrator.downgrade(database.backend(), target, &options, &mut steps),
            FleetAction::Status => {
                let status = migrator.status(database.backend().as_mut()).map_err(|failure| failure.to_string())?;
                report.status = Some(TenantStatus {
                    at_heads: status.is_current(),
                    current: status.current,
                    pending: status.pending,
                    unknown: status.unknown,
                    dirty: status.dirty,
                    drift: status.drift,
                });
                return Ok(());
            }
        };
        let (committed, failure) = match result {
            Ok(run) => (run, None),
            Err(error) => (error.committed, Some(error.failure.to_string())),
        };
        report.revisions = committed.changed().map(|step| step.revision.clone()).collect();
        report.already_done = committed.steps.iter().filter(|step| step.outcome == StepOutcome::AlreadyDone).count();
        failure.map_or(Ok(()), Err)
    }
}

/// Forwards one tenant's steps to the fleet's progress.
struct TenantProgress<'a> {
    tenant: &'a str,
    progress: &'a dyn FleetProgress,
}

impl Progress for TenantProgress<'_> {
    fn step_finished(&mut self, step: &StepReport) {
        self.progress.event(FleetEvent::Step { tenant: self.tenant.to_owned(), step: step.clone() });
    }

    fn step_started(&mut self, _revision: &str, _direction: Direction) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_parse_into_their_kinds() {
        assert_eq!(TenantSource::parse("@tenants.txt").unwrap(), TenantSource::File("tenants.txt".into()));
        assert_eq!(
            TenantSource::parse("sqlite:tenants/*.db").unwrap(),
            TenantSource::SqliteGlob("tenants/*.db".into())
        );
        assert_eq!(
            TenantSource::parse("postgres://u:pw@h/db?sslmode=disable&schemas=tenant_%").unwrap(),
            TenantSource::PostgresSchemas {
                url: "postgres://u:pw@h/db?sslmode=disable".into(),
                pattern: "tenant_%".into()
            }
        );
        assert_eq!(TenantSource::parse("sqlite:one.db").unwrap(), TenantSource::Single("sqlite:one.db".into()));
        for bad in ["@", "mysql://x", "postgres://h/db?schemas=", "postgres://h/db?schemas=a%&schema=b", "tenants.txt"]
        {
            assert!(matches!(TenantSource::parse(bad), Err(FleetError::BadSource { .. })), "{bad}");
        }
        let shown = TenantSource::parse("postgres://u:s3cret@h/db?schemas=t_%").unwrap().to_string();
        assert!(!shown.contains("s3cret"), "{shown}");
    }

    #[test]
    fn lists_name_tenants_and_refuse_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        let list = dir.path().join("tenants.txt");
        std::fs::write(
            &list,
            "# fleet\nsqlite:a/acme.db\n\nsqlite:b.db   globex  # trailing note\npostgres://u:pw@h/db?schema=t1\n",
        )
        .unwrap();
        let tenants = TenantSource::File(list.clone()).tenants().unwrap();
        let names: Vec<&str> = tenants.iter().map(|tenant| tenant.name.as_str()).collect();
        assert_eq!(names, ["acme", "globex", "t1"]);
        assert!(!format!("{:?}", tenants[2]).contains("pw"), "{:?}", tenants[2]);
        std::fs::write(&list, "sqlite:a/x.db\nsqlite:b/x.db\n").unwrap();
        assert!(matches!(TenantSource::File(list.clone()).tenants(), Err(FleetError::DuplicateTenant { .. })));
        std::fs::write(&list, "sqlite:a.db one two\n").unwrap();
        assert!(matches!(TenantSource::File(list.clone()).tenants(), Err(FleetError::BadLine { line: 1, .. })));
        std::fs::write(&list, "# nobody\n").unwrap();
        assert!(matches!(TenantSource::File(list).tenants(), Err(FleetError::Empty { .. })));
    }

    #[test]
    fn globs_list_files_in_path_order() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.db", "a.db", "c.txt"] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        let pattern = format!("sqlite:{}/*.db", dir.path().display());
        let tenants = TenantSource::parse(&pattern).unwrap().tenants().unwrap();
        let names: Vec<&str> = tenants.iter().map(|tenant| tenant.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(tenants[0].url, format!("sqlite:{}/a.db", dir.path().display()));
    }
}
