//! The migrator: plans against a database's applied set, then applies, reverts, stamps, adopts, verifies, repairs and resolves.
//!
//! Plan, then execute: every command reads the applied set, asks the pure
//! graph for a [`Plan`], prepares every step (modules loaded and checked,
//! checksums computed) before it touches the database, then runs the one
//! apply loop in `apply.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::Serialize;
use wasmig_graph::{AppliedSet, ChecksumPolicy, Direction, Plan, Revision, Target};

use crate::apply::{self, PreparedStep, Progress};
use crate::backend::Backend;
use crate::project::Project;
use crate::report::{RunError, RunFailure, RunReport, StepOutcome, StepReport};
use crate::runtime::{HookContext, Runtime, Verdict};
use crate::versions::{AppliedRow, EventKind, NewEvent, NewRow, RowState, VersionTables};

/// Where the transactions of a run begin and end.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TransactionMode {
    /// Each revision and its bookkeeping commit together (the default).
    #[default]
    PerRevision,
    /// The whole plan in one transaction: all or nothing.
    All,
}

/// How a run behaves.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub transaction: TransactionMode,
    /// `upgrade --adopt`: a revision whose `verify` finds its effect present
    /// is recorded as adopted instead of run.
    pub adopt: bool,
    /// The tenant name the guests see (`context.tenant`).
    pub tenant: Option<String>,
}

/// What `status` found. Read without the lock and without creating tables.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Status {
    pub database: String,
    /// The project's heads.
    pub heads: Vec<String>,
    /// The heads of the database's applied set.
    pub current: Vec<String>,
    /// Revisions to apply to reach the project's heads, in plan order.
    pub pending: Vec<String>,
    /// Applied revisions this project does not know.
    pub unknown: Vec<String>,
    /// Revisions a non-transactional step left half done.
    pub dirty: Vec<String>,
    /// Applied revisions whose files changed since (empty with `checksum = "off"`).
    pub drift: Vec<String>,
    /// Whether drift stops runs (`checksum = "error"`) or is only reported (`"warn"`).
    pub drift_blocks: bool,
    pub applied: Vec<AppliedRow>,
}

impl Status {
    /// At the project's heads, nothing dirty, nothing unknown, no drift
    /// (drift counts only when the project's checksum policy is `error`).
    pub fn is_current(&self) -> bool {
        self.pending.is_empty()
            && self.unknown.is_empty()
            && self.dirty.is_empty()
            && (self.drift.is_empty() || !self.drift_blocks)
    }
}

/// What `verify` found for one revision.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VerifyReport {
    pub revision: String,
    pub applied: bool,
    pub verdict: Option<&'static str>,
    /// The verdict contradicts the applied set (applied but absent, or
    /// present but not applied).
    pub mismatch: bool,
}

/// Runs a project's revisions against databases. Cheap to share: holds the
/// project and the runtime (one engine and module cache for every database).
#[derive(Debug, Clone)]
pub struct Migrator {
    project: Arc<Project>,
    runtime: Arc<Runtime>,
}

impl Migrator {
    pub fn new(project: Arc<Project>, runtime: Arc<Runtime>) -> Self {
        Migrator { project, runtime }
    }

    pub fn project(&self) -> &Project {
        &self.project
    }

    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    pub(crate) fn tables(&self, db: &dyn Backend) -> VersionTables {
        VersionTables::new(&self.project.config().table_prefix, db.dialect())
    }

    fn lock_key(&self, db: &dyn Backend) -> String {
        format!("wasmig:{}:{}", db.schema().unwrap_or(""), self.project.config().table_prefix)
    }

    /// The applied rows, or none when the tables do not exist yet.
    pub fn applied_rows(&self, db: &mut dyn Backend) -> Result<Vec<AppliedRow>, RunFailure> {
        let tables = self.tables(db);
        let database = db.describe();
        if !tables.exists(db).map_err(RunFailure::db(&database, "looking for the version tables"))? {
            return Ok(Vec::new());
        }
        tables.read(db).map_err(RunFailure::db(&database, "reading the applied set"))
    }

    /// The plan from the database's applied set to `target`, without running it.
    pub fn plan(&self, db: &mut dyn Backend, target: &Target, direction: Direction) -> Result<Plan, RunFailure> {
        let rows = self.applied_rows(db)?;
        let applied: AppliedSet = rows.iter().map(|row| row.revision.clone()).collect();
        Ok(self.project.graph().plan(&applied, target, direction)?)
    }

    /// `status`: where the database stands against the project's heads.
    pub fn status(&self, db: &mut dyn Backend) -> Result<Status, RunFailure> {
        // Read-only on purpose: no lock, no table creation, no write.
        let rows = self.applied_rows(db)?;
        self.status_of(db.describe(), rows)
    }

    /// The status of a database whose applied rows are `rows` (none for a
    /// database that does not exist yet).
    pub fn status_of(&self, database: String, rows: Vec<AppliedRow>) -> Result<Status, RunFailure> {
        let graph = self.project.graph();
        let unknown: Vec<String> =
            rows.iter().filter(|row| !graph.contains(&row.revision)).map(|row| row.revision.clone()).collect();
        let known: AppliedSet =
            rows.iter().filter(|row| graph.contains(&row.revision)).map(|row| row.revision.clone()).collect();
        let pending = graph.plan(&known, &Target::Heads, Direction::Up)?;
        let drift = match self.project.config().checksum {
            ChecksumPolicy::Off => Vec::new(),
            _ => self.drifted(&rows)?,
        };
        Ok(Status {
            database,
            heads: graph.heads().iter().map(|revision| revision.id().to_string()).collect(),
            current: graph.applied_heads(&known).iter().map(ToString::to_string).collect(),
            pending: pending.steps.iter().map(|step| step.revision.to_string()).collect(),
            unknown,
            dirty: rows.iter().filter(|row| row.state != RowState::Applied).map(|row| row.revision.clone()).collect(),
            drift,
            drift_blocks: self.project.config().checksum == ChecksumPolicy::Error,
            applied: rows,
        })
    }

    fn drifted(&self, rows: &[AppliedRow]) -> Result<Vec<String>, RunFailure> {
        let graph = self.project.graph();
        let mut drifted = Vec::new();
        for row in rows {
            if let Some(revision) = graph.get(&row.revision)
                && self.project.checksum(revision)? != row.checksum
            {
                drifted.push(row.revision.clone());
            }
        }
        Ok(drifted)
    }

    /// Applies every revision needed to reach `target`.
    pub fn upgrade(
        &self,
        db: &mut Box<dyn Backend>,
        target: &Target,
        options: &RunOptions,
        progress: &mut dyn Progress,
    ) -> Result<RunReport, RunError> {
        self.run(db, target, Direction::Up, options, progress)
    }

    /// Reverts the applied revisions above `target`.
    pub fn downgrade(
        &self,
        db: &mut Box<dyn Backend>,
        target: &Target,
        options: &RunOptions,
        progress: &mut dyn Progress,
    ) -> Result<RunReport, RunError> {
        self.run(db, target, Direction::Down, options, progress)
    }

    fn run(
        &self,
        db: &mut Box<dyn Backend>,
        target: &Target,
        direction: Direction,
        options: &RunOptions,
        progress: &mut dyn Progress,
    ) -> Result<RunReport, RunError> {
        let database = db.describe();
        let lock = db.lock(&self.lock_key(db.as_ref()), self.project.lock_timeout())?;
        // Plan and prepare before writing anything: a refused plan or a broken
        // module leaves a fresh database without even the version tables.
        let rows = self.applied_rows(db.as_mut())?;
        self.check_applied(&rows)?;
        let applied: AppliedSet = rows.iter().map(|row| row.revision.clone()).collect();
        let plan = self.project.graph().plan(&applied, target, direction).map_err(RunFailure::from)?;
        let steps = self.prepare(&plan, options)?;
        // Rows read means the tables exist; otherwise create them now.
        if !steps.is_empty() && rows.is_empty() {
            self.ensure_tables(db.as_mut())?;
        }
        let report = apply::run(self, db, &steps, options, lock.as_ref(), progress);
        drop(lock);
        report.map(|mut report| {
            report.database = database;
            report
        })
    }

    /// Creates the version tables if they are missing, in their own transaction.
    fn ensure_tables(&self, db: &mut dyn Backend) -> Result<(), RunFailure> {
        let tables = self.tables(db);
        let database = db.describe();
        if tables.exists(db).map_err(RunFailure::db(&database, "looking for the version tables"))? {
            return Ok(());
        }
        db.begin().map_err(RunFailure::db(&database, "beginning a transaction"))?;
        let created = tables.create(db).and_then(|()| db.commit());
        if let Err(error) = created {
            let _ = db.rollback();
            return Err(RunFailure::db(&database, "creating the version tables")(error));
        }
        Ok(())
    }

    /// Takes what a write needs of the version tables: creates them if
    /// missing, then reads the applied set.
    fn open_tables(&self, db: &mut dyn Backend) -> Result<Vec<AppliedRow>, RunFailure> {
        self.ensure_tables(db)?;
        let database = db.describe();
        self.tables(db).read(db).map_err(RunFailure::db(&database, "reading the applied set"))
    }

    /// Refuses to run over a dirty revision or (by policy) checksum drift.
    fn check_applied(&self, rows: &[AppliedRow]) -> Result<(), RunFailure> {
        if let Some(row) = rows.iter().find(|row| row.state != RowState::Applied) {
            return Err(RunFailure::Dirty {
                revision: row.revision.clone(),
                state: row.state,
                table: format!("{}revisions", self.project.config().table_prefix),
            });
        }
        match self.project.config().checksum {
            ChecksumPolicy::Off => Ok(()),
            policy => {
                let drifted = self.drifted(rows)?;
                if drifted.is_empty() {
                    return Ok(());
                }
                let failure = RunFailure::Drift { revisions: drifted };
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
    fn prepare(&self, plan: &Plan, options: &RunOptions) -> Result<Vec<PreparedStep>, RunFailure> {
        let graph = self.project.graph();
        let mut steps = Vec::with_capacity(plan.steps.len());
        for step in &plan.steps {
            let revision = graph.get(step.revision.as_str()).expect("plans name revisions of their graph");
            if options.transaction == TransactionMode::All && !revision.transactional() {
                return Err(RunFailure::NonTransactionalInAll { revision: revision.id().to_string() });
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
    ) -> Result<PreparedStep, RunFailure> {
        let module = self.project.module(&self.runtime, revision)?;
        Ok(PreparedStep {
            revision: revision.id().clone(),
            kind: revision.kind().as_str(),
            transactional: revision.transactional(),
            direction,
            checksum: self.project.checksum(revision)?,
            module_hash: hex::encode(module.hash()),
            module,
            context: HookContext {
                revision_id: revision.id().to_string(),
                tenant: options.tenant.clone(),
                assets_dir: Some(revision.dir.clone()),
                limits: self.project.limits_for(revision),
            },
        })
    }

    /// The SQL a plan from `applied` to `target` would run, as a script:
    /// version tables, each revision's statements, bookkeeping and
    /// transaction boundaries (offline: no database is opened).
    pub fn offline_sql(
        &self,
        applied: &AppliedSet,
        target: &Target,
        direction: Direction,
        dialect: crate::sql::Dialect,
        options: &RunOptions,
    ) -> Result<String, RunError> {
        let plan = self.project.graph().plan(applied, target, direction).map_err(RunFailure::from)?;
        let steps = self.prepare(&plan, options)?;
        let (backend, script) = crate::offline::OfflineBackend::new(dialect);
        let mut db: Box<dyn Backend> = Box::new(backend);
        let tables = self.tables(db.as_ref());
        db.execute_script(&format!(
            "-- wasmig {}grade to {target} ({} step(s)), offline SQL for {dialect}\n{}",
            direction.as_str(),
            steps.len(),
            tables.create_sql().trim_end()
        ))
        .map_err(RunFailure::db("offline SQL", "writing the version tables"))?;
        let lock = crate::offline::script_lock();
        apply::run(self, &mut db, &steps, options, lock.as_ref(), &mut crate::apply::NoProgress)?;
        let script = script.lock().expect("offline script poisoned").clone();
        Ok(script)
    }

    /// Records the applied set of `target` without running any hook: `REV`
    /// means REV and its ancestors, `heads` every revision, `base` none.
    pub fn stamp(&self, db: &mut Box<dyn Backend>, target: &Target) -> Result<RunReport, RunError> {
        let graph = self.project.graph();
        let database = db.describe();
        let lock = db.lock(&self.lock_key(db.as_ref()), self.project.lock_timeout())?;
        let rows = self.open_tables(db.as_mut())?;
        let wanted: Vec<String> = match graph.resolve_target(target, &AppliedSet::empty()).map_err(RunFailure::from)? {
            wasmig_graph::Resolved::Base => Vec::new(),
            wasmig_graph::Resolved::Revisions(ids) => {
                let mut closure: std::collections::BTreeSet<String> = BTreeSet::new();
                for id in &ids {
                    closure.insert(id.to_string());
                    for ancestor in graph.ancestors(id.as_str()).unwrap_or_default() {
                        closure.insert(ancestor.id().to_string());
                    }
                }
                graph
                    .topological_order()
                    .map(|revision| revision.id().to_string())
                    .filter(|id| closure.contains(id))
                    .collect()
            }
        };
        let current: BTreeMap<&str, &AppliedRow> = rows.iter().map(|row| (row.revision.as_str(), row)).collect();
        let mut report = RunReport { database: database.clone(), steps: Vec::new() };
        let tables = self.tables(db.as_ref());
        let fail = |failure: RunFailure, report: &RunReport| RunError { failure, committed: report.clone() };
        db.begin().map_err(|error| fail(RunFailure::db(&database, "beginning the stamp")(error), &report))?;
        let mut planned: Vec<(String, Direction)> = Vec::new();
        for row in rows.iter().rev() {
            if !wanted.contains(&row.revision) {
                planned.push((row.revision.clone(), Direction::Down));
            }
        }
        for id in &wanted {
            if !current.contains_key(id.as_str()) {
                planned.push((id.clone(), Direction::Up));
            }
        }
        let result: Result<(), RunFailure> = (|| {
            for (id, direction) in &planned {
                let started = std::time::Instant::now();
                match direction {
                    Direction::Up => {
                        let revision = graph.get(id).expect("wanted ids come from the graph");
                        let module = self.project.module(&self.runtime, revision)?;
                        let checksum = self.project.checksum(revision)?;
                        let module_hash = hex::encode(module.hash());
                        let row = NewRow {
                            revision: id,
                            checksum: &checksum,
                            module_hash: &module_hash,
                            kind: revision.kind().as_str(),
                            state: RowState::Applied,
                            execution_ms: 0,
                        };
                        tables
                            .insert(db.as_mut(), &row)
                            .map_err(RunFailure::db(&database, format!("stamping {id}")))?;
                    }
                    Direction::Down => {
                        tables
                            .delete(db.as_mut(), id)
                            .map_err(RunFailure::db(&database, format!("unstamping {id}")))?;
                    }
                }
                let detail = format!("stamp {}", direction.as_str());
                tables
                    .record(
                        db.as_mut(),
                        &NewEvent {
                            kind: EventKind::Stamp,
                            revision: Some(id),
                            duration_ms: Some(0),
                            error: None,
                            detail: Some(&detail),
                        },
                    )
                    .map_err(RunFailure::db(&database, "recording the stamp"))?;
                report.steps.push(StepReport::new(
                    id,
                    *direction,
                    StepOutcome::Stamped,
                    started.elapsed().as_millis() as u64,
                    &[],
                ));
            }
            Ok(())
        })();
        match result.and_then(|()| db.commit().map_err(RunFailure::db(&database, "committing the stamp"))) {
            Ok(()) => {
                drop(lock);
                Ok(report)
            }
            Err(failure) => {
                let _ = db.rollback();
                Err(RunError { failure, committed: RunReport { database, steps: Vec::new() } })
            }
        }
    }

    /// `resolve REV --as applied|reverted`: records the truth about a revision
    /// a non-transactional step left dirty.
    pub fn resolve(&self, db: &mut Box<dyn Backend>, revision: &str, as_applied: bool) -> Result<RunReport, RunError> {
        let revision = self.project.graph().resolve(revision).map_err(RunFailure::from)?.id().to_string();
        self.audited_change(db, &revision, EventKind::Resolve, |tables, db, row| {
            if row.state == RowState::Applied {
                return Err(RunFailure::NotDirty { revision: revision.clone(), state: row.state });
            }
            let database = db.describe();
            if as_applied {
                tables
                    .set_state(db, &revision, RowState::Applied, None)
                    .map_err(RunFailure::db(&database, "resolving"))?;
                Ok(format!("{} resolved as applied", row.state.as_str()))
            } else {
                tables.delete(db, &revision).map_err(RunFailure::db(&database, "resolving"))?;
                Ok(format!("{} resolved as reverted", row.state.as_str()))
            }
        })
    }

    /// `repair REV`: accepts the current files of an applied revision by
    /// recording their checksum (audited with the old and new values).
    pub fn repair(&self, db: &mut Box<dyn Backend>, revision: &str) -> Result<RunReport, RunError> {
        let found = self.project.graph().resolve(revision).map_err(RunFailure::from)?;
        let checksum = self.project.checksum(found)?;
        let revision = found.id().to_string();
        self.audited_change(db, &revision, EventKind::Repair, |tables, db, row| {
            let database = db.describe();
            tables.set_checksum(db, &revision, &checksum).map_err(RunFailure::db(&database, "repairing"))?;
            Ok(format!("checksum {} -> {checksum}", row.checksum))
        })
    }

    fn audited_change(
        &self,
        db: &mut Box<dyn Backend>,
        revision: &str,
        kind: EventKind,
        change: impl FnOnce(&VersionTables, &mut dyn Backend, &AppliedRow) -> Result<String, RunFailure>,
    ) -> Result<RunReport, RunError> {
        let database = db.describe();
        let lock = db.lock(&self.lock_key(db.as_ref()), self.project.lock_timeout())?;
        let rows = self.applied_rows(db.as_mut())?;
        let action = if kind == EventKind::Repair { "repair" } else { "resolve" };
        let row = rows
            .iter()
            .find(|row| row.revision == revision)
            .ok_or_else(|| RunFailure::NotApplied { revision: revision.to_owned(), action })?;
        let tables = self.tables(db.as_ref());
        db.begin().map_err(RunFailure::db(&database, "beginning a transaction"))?;
        let result = change(&tables, db.as_mut(), row).and_then(|detail| {
            tables
                .record(
                    db.as_mut(),
                    &NewEvent { kind, revision: Some(revision), duration_ms: None, error: None, detail: Some(&detail) },
                )
                .map_err(RunFailure::db(&database, "recording the event"))
        });
        let result = result.and_then(|()| db.commit().map_err(RunFailure::db(&database, "committing")));
        if result.is_err() {
            let _ = db.rollback();
        }
        // Released only once the transaction is over, whatever its outcome.
        drop(lock);
        result?;
        Ok(RunReport { database, steps: vec![StepReport::new(revision, Direction::Up, StepOutcome::Stamped, 0, &[])] })
    }

    /// `verify`: asks each revision (or the one named) whether its effect is
    /// present, inside a transaction that is always rolled back.
    pub fn verify(
        &self,
        db: &mut Box<dyn Backend>,
        only: Option<&str>,
        options: &RunOptions,
    ) -> Result<Vec<VerifyReport>, RunError> {
        let graph = self.project.graph();
        let database = db.describe();
        let rows = self.applied_rows(db.as_mut())?;
        let revisions: Vec<&Revision> = match only {
            Some(reference) => vec![graph.resolve(reference).map_err(RunFailure::from)?],
            None => graph.topological_order().collect(),
        };
        let mut reports = Vec::new();
        for revision in revisions {
            let step = self.prepare_step(revision, Direction::Up, options)?;
            let applied = rows.iter().any(|row| row.revision == revision.id().as_str());
            db.begin_read_only().map_err(RunFailure::db(&database, "beginning a read-only verify transaction"))?;
            let outcome = self.runtime.verify(&step.module, &step.context, db);
            db.rollback().map_err(RunFailure::db(&database, "rolling back a verify transaction"))?;
            let verdict = outcome.map_err(RunFailure::from)?.value;
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
        Ok(reports)
    }
}
