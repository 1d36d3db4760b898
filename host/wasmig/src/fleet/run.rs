//! The fleet's scheduler: a canary wave, then `jobs` worker threads pulling tenants from one queue, each tenant run isolated from the others.
//!
//! Over 500 lines: its two entry points (a run alone, one process of a
//! coordinated run) share the per-tenant path (`one`, `answer`, `migrate`)
//! kept here; what each tenant's outcome becomes lives in `tally.rs`.

use std::collections::HashSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use wasmig_graph::{Direction, Target};

use super::coordinator::{ClaimEnd, Coordination, Coordinator, CoordinatorError};
use super::report::{FleetEvent, FleetProgress, FleetReport, TenantOutcome, TenantReport};
use super::source::Tenant;
use super::standing::{self, Chunked, StandingTenant};
use super::tally::Tally;
use crate::error::{Error, ErrorKind};
use crate::migrator::Migrator;
use crate::options::RunOptions;
use crate::progress::Progress;
use crate::report::{StepOutcome, StepReport};
use crate::versions::AppliedRow;

/// What a fleet run does to each tenant.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
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

/// Runs one migrator over many tenants. Build it, then [`Fleet::run`].
#[derive(Debug, Clone)]
pub struct Fleet {
    migrator: Migrator,
    jobs: usize,
    fail_fast: bool,
    canary: usize,
    options: RunOptions,
    keep_reports: bool,
    coordination: Option<Coordination>,
}

impl Fleet {
    /// One tenant at a time, no fail-fast, no canary, per-revision transactions.
    pub fn new(migrator: Migrator) -> Self {
        Fleet {
            migrator,
            jobs: 1,
            fail_fast: false,
            canary: 0,
            options: RunOptions::default(),
            keep_reports: true,
            coordination: None,
        }
    }

    /// Whether the report keeps every tenant's report (the default). Without
    /// them, memory does not grow with the fleet: each tenant's report goes
    /// to the progress listener as [`FleetEvent::Finished`] when it ends,
    /// and the [`FleetReport`] keeps only [`FleetCounts`].
    pub fn keep_reports(mut self, keep: bool) -> Self {
        self.keep_reports = keep;
        self
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

    /// Makes [`Fleet::try_run`] one process of the coordinated run
    /// `coordination` names, shared with every process given the same name
    /// (docs/FLEET.md).
    pub fn coordinated(mut self, coordination: Coordination) -> Self {
        self.coordination = Some(coordination);
        self
    }

    /// Runs `action` on `tenants`: alone ([`Fleet::run`], which does not
    /// fail), or as one process of the run set by [`Fleet::coordinated`]
    /// ([`Fleet::run_shared`], which fails when the coordinator does).
    pub fn try_run(
        &self,
        tenants: Vec<Tenant>,
        action: &FleetAction,
        progress: &dyn FleetProgress,
    ) -> Result<FleetReport, Error> {
        match &self.coordination {
            Some(coordination) => self.run_shared(tenants, action, coordination, progress),
            None => Ok(self.run(tenants, action, progress)),
        }
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
        let before = self.migrator.runtime_stats();
        let modules = match action {
            FleetAction::Status => 0,
            _ => self.load_modules(),
        };
        let stop = AtomicBool::new(false);
        // Where the tenants stand, read a chunk at a time as the queue
        // reaches them: a tenant already at the target is then answered
        // without a connection, and only a chunk's rows are held at once.
        let read = matches!(action, FleetAction::Status | FleetAction::Upgrade(_));
        let mut tenants = Chunked::new(&self.migrator, tenants.into_iter(), read, &stop);
        let known = match tenants.size_hint() {
            (low, Some(high)) if low == high => Some(low),
            _ => None,
        };
        progress.event(FleetEvent::Planned { tenants: known });
        let mut whole = Tally::default();
        let mut canary_failed = Vec::new();
        if self.canary > 0 {
            let canary: Vec<StandingTenant> = tenants.by_ref().take(self.canary).collect();
            let wave = self.wave(canary.into_iter(), action, progress, &stop, true);
            canary_failed = wave.not_ok.clone();
            whole.append(wave);
        }
        if canary_failed.is_empty() {
            whole.append(self.wave(tenants, action, progress, &stop, self.fail_fast));
        } else {
            // The rest is only reported, not read.
            stop.store(true, Ordering::SeqCst);
            let reason = format!("not started: the canary wave failed ({})", canary_failed.join(", "));
            for (tenant, _) in tenants {
                whole.skipped(
                    TenantReport::skipped(&tenant, &reason),
                    *action == FleetAction::Status,
                    progress,
                    self.keep_reports,
                );
            }
        }
        let after = self.migrator.runtime_stats();
        FleetReport {
            action: action.name(),
            target: action.target().map(ToString::to_string),
            counts: whole.counts,
            tenants: whole.into_reports(),
            modules,
            compiled: after.compiled.saturating_sub(before.compiled),
            loaded_from_disk: after.loaded_from_disk.saturating_sub(before.loaded_from_disk),
            duration_ms: started.elapsed().as_millis() as u64,
        }
    }

    /// Runs `action` on `tenants` as one process of the coordinated run
    /// `coordination` names: this process's `jobs` workers claim tenants
    /// from the coordinator until none is left (or the failure budget is
    /// reached), sharing the run with every other process given the same
    /// name. The report holds the tenants this process ran; the whole run is
    /// [`run_tenants`](super::run_tenants).
    pub fn run_shared(
        &self,
        tenants: Vec<Tenant>,
        action: &FleetAction,
        coordination: &Coordination,
        progress: &dyn FleetProgress,
    ) -> Result<FleetReport, Error> {
        let started = Instant::now();
        let before = self.migrator.runtime_stats();
        let modules = match action {
            FleetAction::Status => 0,
            _ => self.load_modules(),
        };
        // Only the names of the tenants already at the target are kept from
        // the read: the rows of a chunk are dropped once it is judged.
        let at_target: HashSet<String> = match action {
            FleetAction::Upgrade(target) => {
                let never = AtomicBool::new(false);
                Chunked::new(&self.migrator, tenants.iter().cloned(), true, &never)
                    .filter(|(_, rows)| rows.as_deref().is_some_and(|rows| self.migrator.at_target(rows, target)))
                    .map(|(tenant, _)| tenant.name)
                    .collect()
            }
            _ => HashSet::new(),
        };
        let target = action.target().map(ToString::to_string);
        let coordinator = Coordinator::join(coordination, action.name(), target.as_deref(), tenants)?;
        tracing::info!(run = %coordination.run, worker = coordinator.worker(), "joined the run");
        progress.event(FleetEvent::Planned { tenants: None });
        let whole: Mutex<Tally> = Mutex::new(Tally::default());
        let trouble: Mutex<Option<CoordinatorError>> = Mutex::new(None);
        std::thread::scope(|scope| {
            for _ in 0..self.jobs {
                scope.spawn(|| {
                    while !crate::interrupt::requested() {
                        let tenant = match coordinator.claim() {
                            Ok(Some(tenant)) => tenant,
                            Ok(None) => break,
                            Err(error) => {
                                trouble.lock().expect("coordinator errors poisoned").get_or_insert(error);
                                break;
                            }
                        };
                        let known = match at_target.contains(&tenant.name) {
                            true => Known::AtTarget,
                            false => Known::Unread,
                        };
                        let report = self.one(&tenant, action, known, progress);
                        if let Err(error) = coordinator.finish(&report.tenant, &claim_end(&report)) {
                            trouble.lock().expect("coordinator errors poisoned").get_or_insert(error);
                        }
                        let mut whole = whole.lock().expect("fleet reports poisoned");
                        let index = whole.counts.tenants;
                        whole.finished(
                            index,
                            report,
                            *action == FleetAction::Status,
                            progress,
                            self.keep_reports,
                            false,
                        );
                    }
                });
            }
        });
        drop(coordinator);
        if let Some(error) = trouble.into_inner().expect("coordinator errors poisoned") {
            return Err(error.into());
        }
        let after = self.migrator.runtime_stats();
        let whole = whole.into_inner().expect("fleet reports poisoned");
        Ok(FleetReport {
            action: action.name(),
            target,
            counts: whole.counts,
            tenants: whole.into_reports(),
            modules,
            compiled: after.compiled.saturating_sub(before.compiled),
            loaded_from_disk: after.loaded_from_disk.saturating_sub(before.loaded_from_disk),
            duration_ms: started.elapsed().as_millis() as u64,
        })
    }

    /// Loads every module of the project once, before any worker asks for
    /// one; returns how many distinct modules there are. A module that does
    /// not load is left for the tenants' runs to report.
    fn load_modules(&self) -> usize {
        let revisions = self.migrator.revisions();
        let runtime = match self.migrator.started_runtime() {
            Ok(runtime) => runtime,
            Err(error) => {
                tracing::warn!("{error}");
                return 0;
            }
        };
        let mut hashes = HashSet::new();
        for revision in revisions.graph().topological_order() {
            match revisions.module(runtime, revision) {
                Ok(module) => {
                    hashes.insert(*module.hash());
                }
                Err(error) => tracing::warn!(revision = %revision.id(), "{error}"),
            }
        }
        hashes.len()
    }

    /// Runs tenants from `tenants` on up to `jobs` threads until the queue is
    /// empty or (with `fail_fast`) a tenant failed; reports every tenant,
    /// those never started as skipped. `name_failures`: keep the names of
    /// the tenants that did not end ok (a canary wave, `fail_fast`).
    fn wave(
        &self,
        tenants: impl Iterator<Item = StandingTenant> + Send,
        action: &FleetAction,
        progress: &dyn FleetProgress,
        stop: &AtomicBool,
        name_failures: bool,
    ) -> Tally {
        let queue = Mutex::new(tenants.enumerate());
        let done: Mutex<Tally> = Mutex::new(Tally::default());
        std::thread::scope(|scope| {
            for _ in 0..self.jobs {
                scope.spawn(|| {
                    loop {
                        if stop.load(Ordering::SeqCst) || crate::interrupt::requested() {
                            break;
                        }
                        let Some((index, (tenant, rows))) = queue.lock().expect("tenant queue poisoned").next() else {
                            break;
                        };
                        let known = rows.map_or(Known::Unread, Known::Rows);
                        let report = self.one(&tenant, action, known, progress);
                        if report.outcome == TenantOutcome::Failed && self.fail_fast {
                            stop.store(true, Ordering::SeqCst);
                        }
                        let mut done = done.lock().expect("fleet reports poisoned");
                        done.finished(
                            index,
                            report,
                            *action == FleetAction::Status,
                            progress,
                            self.keep_reports,
                            name_failures,
                        );
                    }
                });
            }
        });
        let mut done = done.into_inner().expect("fleet reports poisoned");
        let reason = if crate::interrupt::requested() {
            "not started: a stop was requested".to_owned()
        } else {
            format!("not started: --fail-fast after {} failed", done.not_ok.join(", "))
        };
        // What was never started is only reported, not read: the reader
        // stops on `stop` (fail-fast) or on the stop request.
        for (index, (tenant, _)) in queue.into_inner().expect("tenant queue poisoned") {
            let report = TenantReport::skipped(&tenant, &reason);
            done.finished(index, report, *action == FleetAction::Status, progress, self.keep_reports, name_failures);
        }
        done
    }

    /// One tenant's run; a panic inside it (a bug) fails that tenant only.
    fn one(&self, tenant: &Tenant, action: &FleetAction, known: Known, progress: &dyn FleetProgress) -> TenantReport {
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
            error_kind: None,
            status: None,
        };
        let ran = catch_unwind(AssertUnwindSafe(|| match self.answer(tenant, action, known, &mut report) {
            Ok(true) => Ok(()),
            Ok(false) => self.migrate(tenant, action, progress, &mut report),
            Err(error) => Err(error),
        }));
        let failure = match ran {
            Ok(result) => result.err().map(|error| (error.kind(), error.failure().to_string())),
            Err(panic) => Some((
                ErrorKind::Internal,
                format!(
                    "wasmig panicked while migrating this tenant (a bug; please report it): {}",
                    panic
                        .downcast_ref::<&str>()
                        .map(|text| text.to_string())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_default()
                ),
            )),
        };
        if let Some((kind, message)) = failure {
            report.outcome = TenantOutcome::Failed;
            report.error = Some(message);
            report.error_kind = Some(kind);
        }
        report.duration_ms = started.elapsed().as_millis() as u64;
        report
    }

    /// Answers `action` from what was read without a lock when it suffices
    /// (status; an upgrade with nothing to do): `Ok(true)`. Otherwise the
    /// tenant takes the usual path, with its own connection and lock. A
    /// SQLite file not read with the others is read here, alone.
    fn answer(
        &self,
        tenant: &Tenant,
        action: &FleetAction,
        known: Known,
        report: &mut TenantReport,
    ) -> Result<bool, Error> {
        let known = match (known, action) {
            (Known::Unread, FleetAction::Status | FleetAction::Upgrade(_)) => {
                standing::read_file(&self.migrator, tenant).map_or(Known::Unread, Known::Rows)
            }
            (known, _) => known,
        };
        match (action, known) {
            (FleetAction::Status, Known::Rows(rows)) => {
                let mut status = self.migrator.status_of(tenant.database(), rows)?;
                status.applied = Vec::new();
                report.status = Some(status);
                Ok(true)
            }
            (FleetAction::Upgrade(target), Known::Rows(rows)) => Ok(self.migrator.at_target(&rows, target)),
            (FleetAction::Upgrade(_), Known::AtTarget) => Ok(true),
            _ => Ok(false),
        }
    }

    fn migrate(
        &self,
        tenant: &Tenant,
        action: &FleetAction,
        progress: &dyn FleetProgress,
        report: &mut TenantReport,
    ) -> Result<(), Error> {
        let migrator = &self.migrator;
        let mut database = migrator.connect_tenant(&tenant.url, Some(&tenant.name))?;
        let options = RunOptions { tenant: Some(tenant.name.clone()), ..self.options.clone() };
        let mut steps = TenantProgress { tenant: &tenant.name, progress };
        let result = match action {
            FleetAction::Upgrade(target) => migrator.upgrade(&mut database, target, &options, &mut steps),
            FleetAction::Downgrade(target) => migrator.downgrade(&mut database, target, &options, &mut steps),
            FleetAction::Status => {
                let mut status = migrator.status(&mut database)?;
                status.applied = Vec::new();
                // As for the tenants read together, which have no events read.
                status.last_failure = None;
                report.status = Some(status);
                return Ok(());
            }
        };
        let committed = match &result {
            Ok(run) => Some(run),
            Err(error) => error.committed(),
        };
        if let Some(committed) = committed {
            report.revisions = committed.changed().map(|step| step.revision.clone()).collect();
            report.already_done =
                committed.steps.iter().filter(|step| step.outcome == StepOutcome::AlreadyDone).count();
        }
        result.map(drop)
    }
}

/// What is known of a tenant before its run, read without its lock.
enum Known {
    /// Its applied rows.
    Rows(Vec<AppliedRow>),
    /// Already at the run's target (the rows were read and dropped).
    AtTarget,
    Unread,
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

    fn step_started(&mut self, _revision: &str, _message: &str, _direction: Direction) {}

    fn step_retrying(&mut self, revision: Option<&str>, attempt: u32, attempts: u32, reason: &str, pause: Duration) {
        self.progress.event(FleetEvent::Retrying {
            tenant: self.tenant.to_owned(),
            revision: revision.map(str::to_owned),
            attempt,
            attempts,
            reason: reason.to_owned(),
            pause,
        });
    }
}

/// What the coordinator records of a tenant's report. A tenant that was
/// interrupted goes back to pending, for the run's next start.
fn claim_end(report: &TenantReport) -> ClaimEnd<'_> {
    let state = match (report.outcome, report.error_kind) {
        (TenantOutcome::Ok, _) => "ok",
        (TenantOutcome::Failed, Some(ErrorKind::Interrupted)) => "pending",
        (TenantOutcome::Failed, _) => "failed",
        _ => "pending",
    };
    ClaimEnd {
        state,
        duration_ms: report.duration_ms,
        revisions: &report.revisions,
        error: report.error.as_deref(),
        error_kind: report.error_kind.map(ErrorKind::as_str),
    }
}
