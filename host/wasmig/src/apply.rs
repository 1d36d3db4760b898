//! The one apply loop: runs prepared steps against any backend, with the host owning every transaction.
//!
//! Over 500 lines: one loop, whose transaction, retry and journal
//! boundaries must be read together to be trusted.
//!
//! Per-revision mode: BEGIN; (no lock held: is the step still needed?);
//! hook; bookkeeping; COMMIT. `--transaction all`: one BEGIN and one COMMIT
//! around every step. `transactional = false`: autocommit, between a dirty
//! marker and its removal. Any failure rolls back what is open, records a
//! `fail` event in its own transaction, and returns the report of what
//! had committed. A transaction that failed on a lock conflict (a lock wait
//! past `statement_lock_timeout_ms`, a deadlock, a serialization failure,
//! SQLite's busy) is run again whole, up to `lock_retries` times: safe
//! because a revision has no effect outside the database (the sandbox), so
//! rolling it back undoes all of it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmig_graph::{Direction, LockPolicy, RevisionId};

use crate::backend::LockGuard;
use crate::bookkeeping::{Bookkeeper, Envelope};
use crate::error::{Error, Failure};
use crate::journal::Pending;
use crate::lint::{Finding, LintPolicy, LockSnapshot};
use crate::options::{RunOptions, TransactionMode};
use crate::progress::Progress;
use crate::report::{RunReport, StepOutcome, StepReport};
use crate::runtime::{GuestLog, HookContext, HookError, HookOutcome, Module, Runtime, Verdict, Watch};
use crate::versions::{EventKind, NewEvent, NewRow, RowState};

/// A step with everything it needs, computed before the first step runs.
#[derive(Debug, Clone)]
pub struct PreparedStep {
    pub revision: RevisionId,
    /// The first line of the revision's message, for announcing the step.
    pub message: String,
    pub kind: &'static str,
    pub transactional: bool,
    pub direction: Direction,
    pub checksum: String,
    pub module_hash: String,
    pub module: Arc<Module>,
    pub context: HookContext,
    /// How the step waits for locks and retries after a conflict.
    pub locks: LockPolicy,
    /// The run-time lint of its `up` (`None`: no rule on, a `down`, or a run that does not lint).
    pub lint: Option<LintPolicy>,
}

struct Run<'r, 'db> {
    /// `None` for a run without steps, which starts no engine.
    runtime: Option<&'r Runtime>,
    books: Bookkeeper<'db>,
    /// No lock serialises runners (SQLite): each step re-checks, inside its
    /// own transaction, that it is still needed.
    recheck: bool,
    report: RunReport,
    /// Retries not yet in the events table: written in the transaction that
    /// finally commits, or with the failure. (On SQLite the writer that caused
    /// the retry holds the file, so a transaction of their own would wait for it.)
    retries: Vec<RetryEvent>,
    /// How long writing a failure waits for a lock: the run's statement bound.
    event_wait: Duration,
    /// The statement journal's rows not written yet.
    journal: Pending,
    /// PostgreSQL: the relation locks the open transaction holds, as the
    /// watch last saw them (earlier steps' locks, with `--transaction all`).
    locks: LockSnapshot,
}

/// A retry, waiting to be recorded.
struct RetryEvent {
    revision: Option<String>,
    reason: String,
    detail: String,
}

pub(crate) fn run(
    runtime: Option<&Runtime>,
    books: Bookkeeper<'_>,
    steps: &[PreparedStep],
    options: &RunOptions,
    lock: &dyn LockGuard,
    progress: &mut dyn Progress,
) -> Result<RunReport, Error> {
    let mut run = Run {
        runtime,
        journal: Pending::new(books.journal),
        locks: LockSnapshot::default(),
        recheck: !lock.holds_lock(),
        report: RunReport { database: books.database.clone(), steps: Vec::new() },
        books,
        retries: Vec::new(),
        event_wait: steps.first().map_or(Duration::from_secs(2), |step| step.locks.statement_wait),
    };
    progress.planned(steps.len());
    let result = match options.transaction {
        TransactionMode::PerRevision => run.per_revision(steps, options, progress),
        TransactionMode::All => run.all_or_nothing(steps, options, progress),
    };
    match result {
        Ok(()) => Ok(run.report),
        Err((failure, revision)) => {
            run.record_failure(revision.as_deref(), &failure);
            Err(Error::in_step(failure, run.report, revision))
        }
    }
}

impl<'db> Envelope<'db> for Run<'_, 'db> {
    fn books(&mut self) -> &mut Bookkeeper<'db> {
        &mut self.books
    }
}

type StepFailure = (Failure, Option<String>);

impl<'r> Run<'r, '_> {
    fn runtime(&self) -> &'r Runtime {
        self.runtime.expect("a run with steps has a runtime")
    }

    fn per_revision(
        &mut self,
        steps: &[PreparedStep],
        options: &RunOptions,
        progress: &mut dyn Progress,
    ) -> Result<(), StepFailure> {
        for step in steps {
            let revision = step.revision.as_str();
            if crate::interrupt::requested() {
                return Err((Failure::Interrupted { before: revision.to_owned() }, None));
            }
            progress.step_started(revision, &step.message, step.direction);
            let report = if step.transactional {
                self.with_lock_retries(Some(revision), step.locks, progress, |run| {
                    run.committing(|run| run.step(step, options))
                })
            } else {
                self.with_lock_wait(step.locks.statement_wait, |run| run.autocommit_step(step, options)).map_err(
                    |failure| match failure.lock_conflict() {
                        Some(_) => Failure::NotRetried { revision: revision.to_owned(), source: Box::new(failure) },
                        None => failure,
                    },
                )
            }
            .map_err(|failure| (failure, Some(step.revision.to_string())))?;
            progress.step_finished(&report);
            self.report.steps.push(report);
        }
        Ok(())
    }

    fn all_or_nothing(
        &mut self,
        steps: &[PreparedStep],
        options: &RunOptions,
        progress: &mut dyn Progress,
    ) -> Result<(), StepFailure> {
        for step in steps {
            progress.step_started(step.revision.as_str(), &step.message, step.direction);
        }
        let mut done = Vec::new();
        let mut failed_at = None;
        // One transaction, so one policy: the shortest patience of any step.
        let locks = steps.iter().map(|step| step.locks).reduce(|a, b| LockPolicy {
            statement_wait: a.statement_wait.max(b.statement_wait),
            retries: a.retries.min(b.retries),
            backoff: a.backoff.min(b.backoff),
        });
        let locks = locks.unwrap_or(LockPolicy { statement_wait: Duration::ZERO, retries: 0, backoff: Duration::ZERO });
        let outcome = self.with_lock_retries(None, locks, progress, |run| {
            done.clear();
            run.committing(|run| {
                for step in steps {
                    failed_at = Some(step.revision.to_string());
                    done.push(run.step(step, options)?);
                }
                failed_at = None;
                Ok(())
            })
        });
        match outcome {
            Ok(()) => {
                for report in done {
                    progress.step_finished(&report);
                    self.report.steps.push(report);
                }
                Ok(())
            }
            Err(failure) => Err((failure, failed_at)),
        }
    }

    /// Runs `attempt` (one whole transaction) until it succeeds, fails other
    /// than by a lock conflict, or has had `locks.attempts()` tries. Before
    /// each retry: a `retry` event, a progress line, a growing pause.
    fn with_lock_retries<T>(
        &mut self,
        revision: Option<&str>,
        locks: LockPolicy,
        progress: &mut dyn Progress,
        mut attempt: impl FnMut(&mut Self) -> Result<T, Failure>,
    ) -> Result<T, Failure> {
        let attempts = locks.attempts();
        let mut number = 1;
        loop {
            self.journal.attempt = number;
            let result = self.with_lock_wait(locks.statement_wait, &mut attempt);
            let failure = match result {
                Ok(value) => return Ok(value),
                Err(failure) => failure,
            };
            let Some(reason) = failure.lock_conflict() else {
                return Err(failure);
            };
            if crate::interrupt::requested() {
                return Err(failure);
            }
            if number == attempts {
                return Err(match number {
                    1 => failure,
                    _ => Failure::Retried { attempts: number, last: Box::new(failure) },
                });
            }
            number += 1;
            let pause = locks.pause(number, jitter());
            progress.step_retrying(revision, number, attempts, &reason, pause);
            let detail = format!("attempt {number} of {attempts}, after a pause of {} ms", pause.as_millis());
            self.retries.push(RetryEvent { revision: revision.map(str::to_owned), reason, detail });
            if crate::interrupt::sleep(pause) {
                return Err(failure);
            }
        }
    }

    /// `body` with the backend's lock wait set to `wait` (SQLite's busy wait
    /// for the step's write lock), restored afterwards.
    fn with_lock_wait<T>(
        &mut self,
        wait: Duration,
        body: impl FnOnce(&mut Self) -> Result<T, Failure>,
    ) -> Result<T, Failure> {
        self.books.db.set_lock_wait(Some(wait)).map_err(self.books.failed("setting the lock wait"))?;
        let result = body(self);
        if let Err(error) = self.books.db.set_lock_wait(None) {
            tracing::warn!(database = %self.books.database, "restoring the connection's lock wait failed: {error}");
        }
        result
    }

    /// `body` in one transaction that also writes the journal's pending rows;
    /// they are settled by whether it committed.
    fn committing<T>(&mut self, body: impl FnOnce(&mut Self) -> Result<T, Failure>) -> Result<T, Failure> {
        self.locks = LockSnapshot::default();
        let result = self.in_transaction(|run| {
            let value = body(run)?;
            run.write_journal()?;
            Ok(value)
        });
        match result {
            Ok(_) => self.journal.committed(),
            Err(_) => self.journal.rolled_back(),
        }
        result
    }

    fn write_journal(&mut self) -> Result<(), Failure> {
        let books = &mut self.books;
        self.journal.write(&books.tables, books.db.as_mut()).map_err(books.failed("writing the statement journal"))
    }

    /// A step's `up` or `down`, its statements kept for the journal whatever
    /// its outcome, and what the lint found.
    fn hook(&mut self, step: &PreparedStep, autocommit: bool) -> Result<(HookOutcome<()>, Vec<Finding>), HookError> {
        let capture_locks = self.journal.enabled && self.books.journal_locks;
        if !self.journal.enabled && step.lint.is_none() {
            let outcome = match step.direction {
                Direction::Up => self.runtime().up(&step.module, &step.context, self.books.db),
                Direction::Down => self.runtime().down(&step.module, &step.context, self.books.db),
            };
            return outcome.map(|outcome| (outcome, Vec::new()));
        }
        let mut watch = Watch {
            journal: self.journal.enabled.then(Vec::new),
            lint: step.lint.clone(),
            capture_locks,
            transactional: !autocommit,
            locks: std::mem::take(&mut self.locks),
            findings: Vec::new(),
        };
        let outcome =
            self.runtime().run_watched(&step.module, step.direction, &step.context, self.books.db, &mut watch);
        self.locks = watch.locks;
        if let Some(ran) = watch.journal {
            let tenant = step.context.tenant.as_deref();
            self.journal.add(tenant, step.revision.as_str(), step.direction, ran, autocommit);
        }
        outcome.map(|outcome| (outcome, watch.findings))
    }

    /// One step inside an open transaction: hook and bookkeeping.
    fn step(&mut self, step: &PreparedStep, options: &RunOptions) -> Result<StepReport, Failure> {
        let revision = step.revision.as_str();
        let started = Instant::now();
        if self.recheck {
            let state = self.books.state_of(revision)?;
            let already = match step.direction {
                Direction::Up => state.is_some(),
                Direction::Down => state.is_none(),
            };
            if already {
                return Ok(StepReport::new(revision, step.direction, StepOutcome::AlreadyDone, 0, &[]));
            }
        }
        let (outcome, logs, capabilities, findings) = match step.direction {
            Direction::Up => {
                let adopted = options.adopt && self.verify_present(step)?;
                if adopted {
                    (StepOutcome::Adopted, Vec::new(), Vec::new(), Vec::new())
                } else {
                    let (done, findings) = self.hook(step, false)?;
                    (StepOutcome::Applied, done.logs, done.capability_uses, findings)
                }
            }
            Direction::Down => {
                let (done, findings) = self.hook(step, false)?;
                (StepOutcome::Reverted, done.logs, done.capability_uses, findings)
            }
        };
        let elapsed = started.elapsed().as_millis() as i64;
        match step.direction {
            Direction::Up => {
                self.books.tables.insert(self.books.db.as_mut(), &new_row(step, RowState::Applied, elapsed))
            }
            Direction::Down => self.books.tables.delete(self.books.db.as_mut(), revision).map(drop),
        }
        .map_err(self.books.failed(format!("recording {revision}")))?;
        let detail = event_detail(step, None, &capabilities, &findings);
        self.record_retries()?;
        self.event(event_kind(outcome, step.direction), revision, elapsed, None, detail.as_deref())?;
        Ok(StepReport::new(revision, step.direction, outcome, elapsed as u64, &logs).with_lint(findings))
    }

    /// `--adopt`: whether the revision's effect is already there, asked in a
    /// read-only scope (a verify may only look, as in `wasmig verify`): a
    /// savepoint of the step's transaction, or for a non-transactional step
    /// a read-only transaction of its own.
    fn verify_present(&mut self, step: &PreparedStep) -> Result<bool, Failure> {
        if step.transactional {
            self.books.enter_read_only()?;
        } else {
            self.books.db.begin_read_only().map_err(self.books.failed("beginning a read-only verify transaction"))?;
        }
        let verdict = self.runtime().verify(&step.module, &step.context, self.books.db);
        let left = if step.transactional {
            self.books.leave_read_only()
        } else {
            self.books.db.rollback().map_err(self.books.failed("rolling back a verify transaction"))
        };
        let verdict = verdict?.value;
        left?;
        Ok(verdict == Verdict::Present)
    }

    /// A `transactional = false` step: the dirty marker commits first, the
    /// hook runs in autocommit, and the marker is cleared with the event.
    fn autocommit_step(&mut self, step: &PreparedStep, options: &RunOptions) -> Result<StepReport, Failure> {
        let revision = step.revision.as_str();
        let started = Instant::now();
        let dirty = match step.direction {
            Direction::Up => RowState::DirtyUp,
            Direction::Down => RowState::DirtyDown,
        };
        let marked = self.in_transaction(|run| {
            if run.recheck {
                let state = run.books.state_of(revision)?;
                match (step.direction, state) {
                    (Direction::Up, Some(RowState::Applied)) | (Direction::Down, None) => return Ok(false),
                    (_, Some(state)) if state != RowState::Applied => {
                        return Err(Failure::Dirty {
                            revision: revision.to_owned(),
                            state,
                            table: run.books.tables.revisions_table().to_owned(),
                        });
                    }
                    _ => {}
                }
            }
            match step.direction {
                Direction::Up => run.books.tables.insert(run.books.db.as_mut(), &new_row(step, dirty, 0)),
                Direction::Down => run.books.tables.set_state(run.books.db.as_mut(), revision, dirty, None).map(drop),
            }
            .map_err(run.books.failed(format!("marking {revision} dirty")))?;
            Ok(true)
        })?;
        if !marked {
            return Ok(StepReport::new(revision, step.direction, StepOutcome::AlreadyDone, 0, &[]));
        }
        type Hooked = (StepOutcome, Vec<GuestLog>, Vec<String>, Vec<Finding>);
        let hooked: Result<Hooked, Failure> = match step.direction {
            Direction::Up if options.adopt && self.verify_present(step)? => {
                Ok((StepOutcome::Adopted, Vec::new(), Vec::new(), Vec::new()))
            }
            Direction::Up => self
                .hook(step, true)
                .map(|(done, findings)| (StepOutcome::Applied, done.logs, done.capability_uses, findings))
                .map_err(Failure::from),
            Direction::Down => self
                .hook(step, true)
                .map(|(done, findings)| (StepOutcome::Reverted, done.logs, done.capability_uses, findings))
                .map_err(Failure::from),
        };
        // A concurrent index build that failed or was interrupted leaves an
        // invalid index, which `IF NOT EXISTS` then takes for done.
        let invalid = match self.books.db.invalid_indexes() {
            Ok(invalid) => invalid,
            Err(error) => {
                tracing::warn!(database = %self.books.database, "cannot look for invalid indexes: {error}");
                Vec::new()
            }
        };
        if !invalid.is_empty() {
            let cause = hooked.err().map(Box::new);
            return Err(Failure::InvalidIndexes { revision: revision.to_owned(), indexes: invalid, cause });
        }
        let (outcome, logs, capabilities, findings) = hooked.map_err(|failure| match failure.lock_conflict() {
            // The caller says so, and that it was not run again.
            Some(_) => failure,
            None => Failure::LeftDirty {
                revision: revision.to_owned(),
                state: dirty,
                table: self.books.tables.revisions_table().to_owned(),
                source: Box::new(failure),
            },
        })?;
        let elapsed = started.elapsed().as_millis() as i64;
        self.committing(|run| {
            match step.direction {
                Direction::Up => run
                    .books
                    .tables
                    .set_state(run.books.db.as_mut(), revision, RowState::Applied, Some(elapsed))
                    .map(drop),
                Direction::Down => run.books.tables.delete(run.books.db.as_mut(), revision).map(drop),
            }
            .map_err(run.books.failed(format!("clearing the dirty marker of {revision}")))?;
            let detail = event_detail(step, Some("transactional = false"), &capabilities, &findings);
            run.event(event_kind(outcome, step.direction), revision, elapsed, None, detail.as_deref())
        })?;
        Ok(StepReport::new(revision, step.direction, outcome, elapsed as u64, &logs).with_lint(findings))
    }

    fn event(
        &mut self,
        kind: EventKind,
        revision: &str,
        duration_ms: i64,
        error: Option<&str>,
        detail: Option<&str>,
    ) -> Result<(), Failure> {
        self.books.record(&NewEvent { kind, revision: Some(revision), duration_ms: Some(duration_ms), error, detail })
    }

    /// The `fail` event, in its own transaction after the rollback (with
    /// the retries before it). A run that cannot even record its failure
    /// still reports the first error.
    fn record_failure(&mut self, revision: Option<&str>, failure: &Failure) {
        let message = failure.to_string();
        let wait = self.event_wait;
        let recorded = self.with_lock_wait(wait, |run| {
            run.committing(|run| {
                run.record_retries()?;
                run.books.record(&NewEvent {
                    kind: EventKind::Fail,
                    revision,
                    duration_ms: None,
                    error: Some(&message),
                    detail: None,
                })
            })
        });
        if let Err(error) = recorded {
            tracing::error!(database = %self.books.database, "could not record the failure event: {error}");
        }
    }

    /// Writes the retries so far, in the open transaction.
    fn record_retries(&mut self) -> Result<(), Failure> {
        for retry in std::mem::take(&mut self.retries) {
            self.books.record(&NewEvent {
                kind: EventKind::Retry,
                revision: retry.revision.as_deref(),
                duration_ms: None,
                error: Some(&retry.reason),
                detail: Some(&retry.detail),
            })?;
        }
        Ok(())
    }
}

/// A number in [0, 1) that differs between processes and calls, for the
/// jitter of retry pauses (not for anything secret).
fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher
        .write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

fn new_row(step: &PreparedStep, state: RowState, execution_ms: i64) -> NewRow<'_> {
    NewRow {
        revision: step.revision.as_str(),
        checksum: &step.checksum,
        module_hash: &step.module_hash,
        kind: step.kind,
        state,
        execution_ms,
    }
}

/// The event's detail: how the step ran, the interpreter plugin a `python`
/// or `js` revision ran on, what the project's capabilities let the
/// revision do, and what the lint found.
fn event_detail(
    step: &PreparedStep,
    how: Option<&str>,
    capabilities: &[String],
    findings: &[Finding],
) -> Option<String> {
    let mut parts: Vec<String> = how.map(str::to_owned).into_iter().collect();
    if let Some(plugin) = crate::checksum::interpreter_of(&step.checksum) {
        parts.push(format!("interpreter {plugin}"));
    }
    if !capabilities.is_empty() {
        parts.push(format!("capabilities used: {}", capabilities.join("; ")));
    }
    if !findings.is_empty() {
        let notes: Vec<String> = findings.iter().map(Finding::note).collect();
        parts.push(format!("lint: {}", notes.join("; ")));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

fn event_kind(outcome: StepOutcome, direction: Direction) -> EventKind {
    match (outcome, direction) {
        (StepOutcome::Adopted, _) => EventKind::Adopt,
        (_, Direction::Up) => EventKind::Upgrade,
        (_, Direction::Down) => EventKind::Downgrade,
    }
}
