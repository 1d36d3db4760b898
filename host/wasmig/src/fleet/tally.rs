//! What a fleet run keeps of the tenants that ended: their counts, the reports when they are kept, and the names a canary wave or fail-fast needs.

use super::report::{FleetCounts, FleetEvent, FleetProgress, TenantOutcome, TenantReport};

/// The reports and counts of tenants that ended, from every worker.
#[derive(Default)]
pub(super) struct Tally {
    /// The reports kept, with each tenant's place in its queue.
    indexed: Vec<(usize, TenantReport)>,
    pub(super) counts: FleetCounts,
    /// Tenants that did not end ok, when they are to be named (a few).
    pub(super) not_ok: Vec<String>,
}

impl Tally {
    /// Counts a tenant that ended, tells the listener, and keeps its report when asked to.
    pub(super) fn finished(
        &mut self,
        index: usize,
        report: TenantReport,
        status_action: bool,
        progress: &dyn FleetProgress,
        keep: bool,
        name_failures: bool,
    ) {
        self.counts.add(&report, status_action);
        if name_failures && report.outcome != TenantOutcome::Ok {
            self.not_ok.push(report.tenant.clone());
        }
        if keep {
            progress.event(FleetEvent::Finished(report.clone()));
            self.indexed.push((index, report));
        } else {
            progress.event(FleetEvent::Finished(report));
        }
    }

    /// A tenant reported as skipped without being started.
    pub(super) fn skipped(
        &mut self,
        report: TenantReport,
        status_action: bool,
        progress: &dyn FleetProgress,
        keep: bool,
    ) {
        let index = self.counts.tenants;
        self.finished(index, report, status_action, progress, keep, false);
    }

    /// `later`'s tenants after this wave's, each wave in queue order.
    pub(super) fn append(&mut self, mut later: Tally) {
        later.indexed.sort_by_key(|(index, _)| *index);
        let offset = self.counts.tenants;
        self.indexed.extend(later.indexed.into_iter().map(|(index, report)| (offset + index, report)));
        self.counts.merge(later.counts);
    }

    /// The kept reports in queue order.
    pub(super) fn into_reports(mut self) -> Vec<TenantReport> {
        self.indexed.sort_by_key(|(index, _)| *index);
        self.indexed.into_iter().map(|(_, report)| report).collect()
    }
}
