//! `wasmig lint`: revisions rehearsed on a scratch database, their history replayed first, every finding reported and none enforced.
//!
//! Each step is one [`Migrator::run_step`], so a rehearsed revision runs
//! exactly as an upgrade would run it (any language, the sandbox, the
//! host's observation on PostgreSQL): the lint sees what a real run would
//! see. The revisions before the first one rehearsed are replayed with
//! the lint off. A step that fails stops the rehearsal: the revisions
//! after it expect what it would have made.

use std::collections::HashSet;
use std::time::Instant;

use serde::Serialize;
use wasmig_graph::{AppliedSet, Direction, RevisionId, Target};

use crate::database::Database;
use crate::error::{Error, ErrorKind, Failure};
use crate::lint::{Finding, LintMode, Verdict};
use crate::migrator::Migrator;
use crate::options::RunOptions;
use crate::progress::NoProgress;
use crate::scratch::require_nothing_applied;

/// What `wasmig lint` found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LintReport {
    /// The scratch database the revisions ran on.
    pub database: String,
    /// The rehearsed revisions, in plan order.
    pub revisions: Vec<LintedRevision>,
    /// Revisions replayed (not linted) to build the history the first rehearsed one needs.
    pub replayed: usize,
    pub duration_ms: u64,
}

impl LintReport {
    /// Whether a rule set to `deny` fired (and was not allowed).
    pub fn denied(&self) -> bool {
        self.findings().any(|finding| finding.verdict == Verdict::Deny)
    }

    /// Whether a revision (rehearsed or replayed) failed to run.
    pub fn failed(&self) -> bool {
        self.revisions.iter().any(|revision| revision.error.is_some())
    }

    pub fn findings(&self) -> impl Iterator<Item = &Finding> {
        self.revisions.iter().flat_map(|revision| &revision.findings)
    }
}

/// One rehearsed revision.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LintedRevision {
    pub revision: String,
    /// `sql`, `component` or `merge`.
    pub kind: &'static str,
    /// Whether it ran: false after an earlier step failed.
    pub ran: bool,
    pub findings: Vec<Finding>,
    /// Why it (or the replay before it) could not run.
    pub error: Option<String>,
}

impl Migrator {
    /// `wasmig lint`: on `db`, which must have nothing applied (a scratch
    /// database, see [`crate::Scratch`]), runs every revision up to the
    /// last of `revisions` in plan order, linting those (every revision
    /// when `revisions` is empty) and only replaying the others. Findings
    /// are reported, never enforced: `deny` ones make
    /// [`LintReport::denied`] true. `Err` is for what stops the rehearsal
    /// itself (the plan, a stop request).
    pub fn lint(&self, db: &mut Database, revisions: &[RevisionId]) -> Result<LintReport, Error> {
        let started = Instant::now();
        let database = db.describe();
        require_nothing_applied(self, db, "wasmig lint")?;
        let selected: HashSet<&str> = revisions.iter().map(RevisionId::as_str).collect();
        let linted = |id: &str| selected.is_empty() || selected.contains(id);
        let mut steps = self.graph().plan(&AppliedSet::default(), &Target::Heads, Direction::Up)?.steps;
        if let Some(last) = steps.iter().rposition(|step| linted(step.revision.as_str())) {
            steps.truncate(last + 1);
        }
        let mut report = LintReport { database, revisions: Vec::new(), replayed: 0, duration_ms: 0 };
        let mut failed = false;
        for step in &steps {
            let id = step.revision.as_str();
            let kind = self.graph().get(id).map_or("sql", |revision| revision.kind().as_str());
            let rehearsed = linted(id);
            if failed {
                if rehearsed {
                    report.revisions.push(LintedRevision {
                        revision: id.to_owned(),
                        kind,
                        ran: false,
                        findings: Vec::new(),
                        error: None,
                    });
                }
                continue;
            }
            if crate::interrupt::requested() {
                return Err(Failure::Interrupted { before: id.to_owned() }.into());
            }
            let mode = if rehearsed { LintMode::Report } else { LintMode::Off };
            let outcome = self.run_step(db, step, &RunOptions::default(), mode, &mut NoProgress);
            let (findings, error) = match outcome {
                Ok(run) => (run.steps.into_iter().flat_map(|step| step.lint).collect(), None),
                Err(error) if error.kind() == ErrorKind::Interrupted => return Err(error),
                Err(error) => {
                    failed = true;
                    (Vec::new(), Some(error.failure().to_string()))
                }
            };
            match rehearsed {
                true => {
                    report.revisions.push(LintedRevision { revision: id.to_owned(), kind, ran: true, findings, error })
                }
                false => {
                    report.replayed += 1;
                    if let Some(error) = error {
                        report.revisions.push(LintedRevision {
                            revision: id.to_owned(),
                            kind,
                            ran: true,
                            findings: Vec::new(),
                            error: Some(format!("replaying it (not linted) failed: {error}")),
                        });
                    }
                }
            }
        }
        report.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        Ok(report)
    }
}
