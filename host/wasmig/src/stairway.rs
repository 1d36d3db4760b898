//! `wasmig test`, the stairway: every revision in plan order goes up, down and up again through the normal runner, and the schema after `down` must equal the schema before `up`.
//!
//! Each step is one [`Migrator::run_step`], so the revisions run exactly as
//! an upgrade runs them (any language, the sandbox, the version tables and
//! events). A merge revision, and a revision whose manifest says
//! `reversible = false`, is applied and not reverted; the report says so.
//! A step that fails stops the walk (the database is no longer where the
//! next revision expects it); a schema difference does not: the revision
//! is marked failed and the walk goes on with `up` again.

use std::time::Instant;

use serde::Serialize;
use wasmig_graph::{AppliedSet, Direction, Revision, RevisionKind, Step, Target};

use crate::database::Database;
use crate::error::{Error, ErrorKind, Failure};
use crate::lint::LintMode;
use crate::migrator::Migrator;
use crate::options::RunOptions;
use crate::progress::NoProgress;
use crate::schema::{Difference, Snapshot, diff, snapshot};
use crate::scratch::require_nothing_applied;
use crate::versions::table_names;

/// What `wasmig test` found, revision by revision in plan order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StairwayReport {
    /// The scratch database it ran on.
    pub database: String,
    /// Every revision passed.
    pub passed: bool,
    pub revisions: Vec<Stair>,
    pub duration_ms: u64,
}

impl StairwayReport {
    /// The revisions that failed, in plan order.
    pub fn failed(&self) -> impl Iterator<Item = &Stair> {
        self.revisions.iter().filter(|stair| stair.outcome == StairOutcome::Failed)
    }
}

/// How one revision fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum StairOutcome {
    Passed,
    Failed,
    /// An earlier revision's step failed: this one was not tried.
    NotRun,
}

impl StairOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            StairOutcome::Passed => "passed",
            StairOutcome::Failed => "failed",
            StairOutcome::NotRun => "not-run",
        }
    }
}

/// One revision of the stairway.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stair {
    pub revision: String,
    /// `sql`, `component` or `merge`.
    pub kind: &'static str,
    pub outcome: StairOutcome,
    /// Why it was applied and not reverted: `merge` or `one-way`
    /// (`reversible = false`); `None` when it was reverted.
    pub not_reverted: Option<&'static str>,
    /// What its `verify` hook said after `up`: `present`, `absent`,
    /// `unknown` (no verify hook, or it cannot tell); `None` for a merge or
    /// when it did not get that far.
    pub verify: Option<&'static str>,
    pub up_ms: Option<u64>,
    pub down_ms: Option<u64>,
    pub up_again_ms: Option<u64>,
    pub verify_ms: Option<u64>,
    /// The schema after `down` against the schema before `up`.
    pub differences: Vec<Difference>,
    /// The schema after `up` again against the schema after the first `up`.
    pub up_again_differences: Vec<Difference>,
    /// The step that failed (`up`, `down`, `up again`, `verify`) and its error.
    pub error: Option<StairError>,
}

/// A step of the stairway that failed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StairError {
    pub step: &'static str,
    pub message: String,
}

impl Stair {
    fn new(revision: &Revision) -> Self {
        Stair {
            revision: revision.id().to_string(),
            kind: revision.kind().as_str(),
            outcome: StairOutcome::NotRun,
            not_reverted: None,
            verify: None,
            up_ms: None,
            down_ms: None,
            up_again_ms: None,
            verify_ms: None,
            differences: Vec::new(),
            up_again_differences: Vec::new(),
            error: None,
        }
    }

    /// What is wrong with this revision, one sentence each, naming the
    /// revision and the object.
    pub fn problems(&self) -> Vec<String> {
        let revision = &self.revision;
        let mut problems: Vec<String> = self
            .differences
            .iter()
            .map(|difference| {
                let Difference { object, name, before, after } = difference;
                match (before, after) {
                    (None, Some(after)) => format!(
                        "revision {revision}: `down` did not undo {object} `{name}` ({after}): it is there after \
                         `down` and was not before `up`"
                    ),
                    (Some(before), None) => format!(
                        "revision {revision}: {object} `{name}` ({before}) existed before `up` and is gone after `down`"
                    ),
                    (Some(before), Some(after)) => format!(
                        "revision {revision}: {object} `{name}` was `{before}` before `up` and is `{after}` after `down`"
                    ),
                    (None, None) => format!("revision {revision}: {object} `{name}` differs"),
                }
            })
            .collect();
        problems.extend(self.up_again_differences.iter().map(|difference| {
            format!("revision {revision}: `up` run again after `down` does not give the same schema: {difference}")
        }));
        if self.verify == Some("absent") {
            problems.push(format!("revision {revision}: its `verify` hook finds its effect absent right after `up`"));
        }
        if let Some(error) = &self.error {
            // The runner's message usually names the revision already.
            let message = error.message.strip_prefix(&format!("revision {revision}: ")).unwrap_or(&error.message);
            problems.push(format!("revision {revision}: `{}` failed: {message}", error.step));
        }
        problems
    }
}

impl Migrator {
    /// The schema of the database as `wasmig test` compares it, without
    /// this project's version tables.
    pub fn snapshot(&self, db: &mut Database) -> Result<Snapshot, Error> {
        let database = db.describe();
        let excluded = table_names(&self.revisions().config().table_prefix);
        snapshot(db.backend_mut().as_mut(), &excluded)
            .map_err(|source| Failure::db(&database, "reading the schema from the catalogs")(source).into())
    }

    /// `wasmig test`: on `db`, which must have nothing applied (a scratch
    /// database, see [`crate::Scratch`]), walks every revision of the plan
    /// to the heads: snapshot, `up`, snapshot, `down`, snapshot (compared
    /// with the first), `up` again (compared with the second), `verify`.
    /// Revisions failing is a report with `passed: false`; `Err` is for
    /// what stops the walk itself (the plan, the catalogs, a stop request).
    pub fn stairway(&self, db: &mut Database, options: &RunOptions) -> Result<StairwayReport, Error> {
        let started = Instant::now();
        let database = db.describe();
        require_nothing_applied(self, db, "wasmig test")?;
        let plan = self.graph().plan(&AppliedSet::default(), &Target::Heads, Direction::Up)?;
        let mut stairs = Vec::with_capacity(plan.steps.len());
        let mut stopped = false;
        for step in &plan.steps {
            let revision = self.graph().get(step.revision.as_str()).expect("plans name revisions of their graph");
            let mut stair = Stair::new(revision);
            if !stopped {
                if crate::interrupt::requested() {
                    return Err(Failure::Interrupted { before: stair.revision }.into());
                }
                stopped = !self.climb(db, revision, options, &mut stair)?;
                stair.outcome = if stair.problems().is_empty() { StairOutcome::Passed } else { StairOutcome::Failed };
            }
            stairs.push(stair);
        }
        let passed = stairs.iter().all(|stair| stair.outcome == StairOutcome::Passed);
        Ok(StairwayReport { database, passed, revisions: stairs, duration_ms: millis(started) })
    }

    /// One revision's stairs. False when a step failed, which ends the walk.
    fn climb(
        &self,
        db: &mut Database,
        revision: &Revision,
        options: &RunOptions,
        stair: &mut Stair,
    ) -> Result<bool, Error> {
        let up = Step { revision: revision.id().clone(), direction: Direction::Up };
        let down = Step { revision: revision.id().clone(), direction: Direction::Down };
        let merge = revision.kind() == RevisionKind::Merge || revision.is_merge();
        stair.not_reverted = if merge {
            Some("merge")
        } else if !revision.reversible() {
            Some("one-way")
        } else {
            None
        };
        let before = self.snapshot(db)?;
        let Some(up_ms) = self.timed_step(db, &up, options, stair, "up")? else { return Ok(false) };
        stair.up_ms = Some(up_ms);
        if stair.not_reverted.is_none() {
            let after_up = self.snapshot(db)?;
            let Some(down_ms) = self.timed_step(db, &down, options, stair, "down")? else { return Ok(false) };
            stair.down_ms = Some(down_ms);
            stair.differences = diff(&before, &self.snapshot(db)?);
            let Some(again_ms) = self.timed_step(db, &up, options, stair, "up again")? else { return Ok(false) };
            stair.up_again_ms = Some(again_ms);
            stair.up_again_differences = diff(&after_up, &self.snapshot(db)?);
        }
        if !merge {
            let started = Instant::now();
            match self.verify(db, Some(revision.id().as_str()), options) {
                Ok(reports) => stair.verify = reports.first().and_then(|report| report.verdict),
                Err(error) if error.kind() == ErrorKind::Interrupted => return Err(error),
                Err(error) => stair.error = Some(StairError { step: "verify", message: error.to_string() }),
            }
            stair.verify_ms = Some(millis(started));
        }
        Ok(true)
    }

    /// Runs one step; its duration, or `None` with the error recorded when
    /// it failed. A stop request is not a revision's failure: it ends the test.
    fn timed_step(
        &self,
        db: &mut Database,
        step: &Step,
        options: &RunOptions,
        stair: &mut Stair,
        name: &'static str,
    ) -> Result<Option<u64>, Error> {
        let started = Instant::now();
        match self.run_step(db, step, options, LintMode::Enforce, &mut NoProgress) {
            Ok(_) => Ok(Some(millis(started))),
            Err(error) if error.kind() == ErrorKind::Interrupted => Err(error),
            Err(error) => {
                stair.error = Some(StairError { step: name, message: error.failure().to_string() });
                Ok(None)
            }
        }
    }
}

fn millis(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}
