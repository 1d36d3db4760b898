//! What a fleet run says: per-tenant reports with typed failures, the run's report, and the events it sends as it goes.

use std::sync::mpsc;

use serde::Serialize;

use super::source::Tenant;
use crate::error::ErrorKind;
use crate::report::StepReport;
use crate::status::Status;

/// How one tenant's run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum TenantOutcome {
    Ok,
    Failed,
    /// Never started: `fail_fast` after a failure, a failed canary wave, or a stop request.
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
    /// What kind of failure `error` is (none for a skipped tenant): what a
    /// platform acts on, e.g. retrying lock timeouts and paging on revision failures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<ErrorKind>,
    /// The `status` action's finding, without the applied rows (`wasmig status`
    /// on the tenant lists them): a fleet report stays small for 10,000 tenants.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
}

impl TenantReport {
    pub(super) fn skipped(tenant: &Tenant, reason: &str) -> Self {
        TenantReport {
            tenant: tenant.name.clone(),
            database: tenant.database(),
            outcome: TenantOutcome::Skipped,
            revisions: Vec::new(),
            already_done: 0,
            duration_ms: 0,
            error: Some(reason.to_owned()),
            error_kind: None,
            status: None,
        }
    }
}

/// What a fleet run did: the counts, and one report per tenant in the
/// order the tenants were given, unless the fleet was told not to keep them
/// ([`Fleet::keep_reports`](super::Fleet::keep_reports)).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FleetReport {
    pub action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Empty when the reports were not kept: each went to the progress
    /// listener as [`FleetEvent::Finished`] instead.
    pub tenants: Vec<TenantReport>,
    /// Counted for every tenant, kept or not.
    pub counts: FleetCounts,
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
        match outcome {
            TenantOutcome::Ok => self.counts.ok,
            TenantOutcome::Failed => self.counts.failed,
            TenantOutcome::Skipped => self.counts.skipped,
        }
    }

    /// The failed tenants among the reports kept.
    pub fn failed(&self) -> impl Iterator<Item = &TenantReport> {
        self.tenants.iter().filter(|tenant| tenant.outcome == TenantOutcome::Failed)
    }

    /// A tenant's report, when reports were kept.
    pub fn tenant(&self, name: &str) -> Option<&TenantReport> {
        self.tenants.iter().find(|tenant| tenant.tenant == name)
    }

    /// Every tenant ran and succeeded (none failed, none skipped).
    pub fn all_ok(&self) -> bool {
        self.counts.ok == self.counts.tenants
    }

    /// The `status` action found every tenant at the project's heads.
    pub fn all_at_heads(&self) -> bool {
        self.counts.not_at_heads == 0
    }

    /// The tenants the `status` action did not find at the project's heads
    /// (behind, ahead, dirty, drifted, or not read at all), among the
    /// reports kept: the proof a platform gates a release on, across every
    /// shard given. [`FleetCounts::not_at_heads`] counts them all.
    pub fn not_at_heads(&self) -> impl Iterator<Item = &TenantReport> {
        self.tenants.iter().filter(|tenant| !tenant.is_at_heads())
    }

    /// Tenant-revisions (steps changed) per second of the whole run.
    pub fn revisions_per_second(&self) -> f64 {
        self.counts.revisions as f64 / (self.duration_ms.max(1) as f64 / 1000.0)
    }
}

impl TenantReport {
    /// The `status` action read this tenant and found it at the project's heads.
    pub fn is_at_heads(&self) -> bool {
        self.status.as_ref().is_some_and(Status::is_current)
    }
}

/// A fleet run in numbers: what stays of it when the per-tenant reports are
/// not kept, so that memory does not grow with the fleet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FleetCounts {
    pub tenants: usize,
    pub ok: usize,
    pub failed: usize,
    pub skipped: usize,
    /// `status`: tenants not found at the project's heads (counted only for `status`).
    pub not_at_heads: usize,
    /// Steps changed (revisions applied or reverted) across all tenants.
    pub revisions: usize,
}

impl FleetCounts {
    pub(super) fn add(&mut self, report: &TenantReport, status_action: bool) {
        self.tenants += 1;
        match report.outcome {
            TenantOutcome::Ok => self.ok += 1,
            TenantOutcome::Failed => self.failed += 1,
            TenantOutcome::Skipped => self.skipped += 1,
        }
        if status_action && !report.is_at_heads() {
            self.not_at_heads += 1;
        }
        self.revisions += report.revisions.len();
    }

    pub(super) fn merge(&mut self, other: FleetCounts) {
        self.tenants += other.tenants;
        self.ok += other.ok;
        self.failed += other.failed;
        self.skipped += other.skipped;
        self.not_at_heads += other.not_at_heads;
        self.revisions += other.revisions;
    }
}

/// What a fleet run says as it goes.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
// One event per tenant and step, moved once into the listener: boxing the
// report would cost an allocation per tenant and buy nothing.
#[allow(clippy::large_enum_variant)]
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
    /// A tenant's transaction failed on a lock conflict and runs again
    /// (attempt `attempt` of `attempts`); `revision` is `None` for a
    /// `--transaction all` run.
    Retrying {
        tenant: String,
        revision: Option<String>,
        attempt: u32,
        attempts: u32,
        reason: String,
        /// The pause before the attempt.
        pause: std::time::Duration,
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
