//! `wasmig tenants upgrade|downgrade|status`: one run over a fleet of tenant databases or schemas, its progress and its report.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use indicatif::{ProgressBar, ProgressStyle};
use wasmig::fleet::{
    Coordination, Fleet, FleetAction, FleetEvent, FleetProgress, FleetReport, TenantOutcome, TenantReport, TenantSource,
};
use wasmig::graph::{AppliedSet, Target};
use wasmig::{ErrorKind, Migrator, RunOptions, Status};

use crate::cli::error::CliResult;
use crate::cli::exit::Exit;
use crate::cli::exit::UsageError;
use crate::cli::output::{Format, Output};
use crate::cli::progress::retry_line;
use crate::cli::settings::{SharedRun, TenantsRequest};

pub fn run(dir: &Path, out: Output, verbosity: u8, request: TenantsRequest) -> CliResult<Exit> {
    let migrator = super::connection::migrator(dir)?;
    refuse_unplannable(&migrator, &request.action)?;
    // A wrong source is the user's to fix (exit 2); a server or a file
    // system that failed while listing is not (exit 1): FleetError::kind.
    let mut tenants = TenantSource::tenants_of(&request.sources)?;
    if let Some(shard) = request.shard {
        tenants = shard.select(tenants).collect();
        out.note(format!("shard {shard}: {} tenant(s)", tenants.len()));
    }
    let fleet = Fleet::new(migrator)
        .jobs(request.jobs)
        .fail_fast(request.fail_fast)
        .canary(request.canary)
        .run_options(RunOptions { transaction: request.transaction, ..RunOptions::default() });
    let progress = FleetBar::new(out, verbosity, tenants.len());
    let report = match &request.shared {
        None => fleet.run(tenants, &request.action, &progress),
        Some(shared) => {
            let coordination = Coordination {
                url: coordinator_url(shared, &request.sources)?,
                run: shared.run.clone(),
                lease: shared.lease,
                max_failures: shared.max_failures,
                retry_failed: shared.retry_failed,
            };
            let report = fleet.run_shared(tenants, &request.action, &coordination, &progress);
            progress.finish();
            let report = report?;
            out.note(format!(
                "run {}: this process ran {} tenant(s); `wasmig tenants run {}` shows the whole run",
                shared.run,
                report.tenants.len(),
                shared.run
            ));
            report
        }
    };
    progress.finish();
    let sources = request.sources.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
    if request.check {
        let behind: Vec<&str> = report.not_at_heads().map(|tenant| tenant.tenant.as_str()).collect();
        if !behind.is_empty() {
            eprintln!("not at heads ({} of {} tenants): {}", behind.len(), report.tenants.len(), behind.join(", "));
        }
    } else {
        print_report(out, &sources, &report)?;
    }
    let any_failed = report.count(TenantOutcome::Failed) + report.count(TenantOutcome::Skipped) > 0;
    Ok(if any_failed && refused_everywhere(&report) {
        Exit::Usage
    } else if any_failed {
        Exit::RunFailed
    } else if request.action == FleetAction::Status && !report.all_at_heads() {
        Exit::CheckFailed
    } else {
        Exit::Success
    })
}

/// The coordinator of a shared run: `--coordinator`, else the database of
/// the first PostgreSQL `--tenants` source.
fn coordinator_url(shared: &SharedRun, sources: &[TenantSource]) -> CliResult<String> {
    if let Some(url) = &shared.coordinator {
        return Ok(url.clone());
    }
    sources
        .iter()
        .find_map(|source| match source {
            TenantSource::PostgresSchemas { url, .. } => Some(url.clone()),
            TenantSource::Single(url) if url.starts_with("postgres") => Some(url.clone()),
            _ => None,
        })
        .ok_or_else(|| {
            UsageError::new(
                "--run needs --coordinator URL (a PostgreSQL database) when no --tenants source is PostgreSQL",
            )
            .into()
        })
}

/// A target no tenant could be planned to (an unknown revision, `head` with
/// several heads) is refused before any tenant runs: exit 2, one message.
/// Relative targets (`+N`, `-N`) count from each tenant's applied set and
/// are left to the tenants.
fn refuse_unplannable(migrator: &Migrator, action: &FleetAction) -> CliResult<()> {
    let target = match action {
        FleetAction::Upgrade(target) | FleetAction::Downgrade(target) => target,
        _ => return Ok(()),
    };
    if !matches!(target, Target::Relative { .. }) {
        migrator.graph().resolve_target(target, &AppliedSet::empty())?;
    }
    Ok(())
}

/// Every failed tenant was refused its plan (or the project is wrong) and no
/// tenant changed anything: a usage error, as for one database (exit 2).
fn refused_everywhere(report: &FleetReport) -> bool {
    let mut failed = report.failed().peekable();
    failed.peek().is_some()
        && failed.all(|tenant| matches!(tenant.error_kind, Some(ErrorKind::Usage | ErrorKind::Project)))
        && report.tenants.iter().all(|tenant| tenant.revisions.is_empty())
}

/// Progress on stderr that never repeats the report on stdout: a bar over
/// tenants on a terminal (how many failed so far), one line per finished
/// tenant only with `-v`, otherwise only lock retries; nothing for JSON or `-q`.
enum FleetBar {
    Bar { bar: ProgressBar, failed: AtomicUsize },
    Lines { each_tenant: bool },
    Silent,
}

impl FleetBar {
    fn new(out: Output, verbosity: u8, tenants: usize) -> Self {
        if out.format == Format::Json || out.quiet {
            FleetBar::Silent
        } else if std::io::stderr().is_terminal() {
            let style = ProgressStyle::with_template("{spinner} [{bar:40}] {pos}/{len} tenants {msg}")
                .expect("a valid template")
                .progress_chars("=> ");
            FleetBar::Bar { bar: ProgressBar::new(tenants as u64).with_style(style), failed: AtomicUsize::new(0) }
        } else {
            FleetBar::Lines { each_tenant: verbosity > 0 }
        }
    }

    fn finish(&self) {
        if let FleetBar::Bar { bar, .. } = self {
            bar.finish_and_clear();
        }
    }
}

impl FleetProgress for FleetBar {
    fn event(&self, event: FleetEvent) {
        if let FleetEvent::Retrying { tenant, revision, attempt, attempts, reason, pause, .. } = &event {
            let line = format!("{tenant}: {}", retry_line(revision.as_deref(), *attempt, *attempts, reason, *pause));
            match self {
                FleetBar::Bar { bar, .. } => bar.suspend(|| eprintln!("{line}")),
                FleetBar::Lines { .. } => eprintln!("{line}"),
                FleetBar::Silent => {}
            }
            return;
        }
        let FleetEvent::Finished(tenant) = event else {
            return;
        };
        match self {
            FleetBar::Bar { bar, failed } => {
                bar.inc(1);
                let failed = match tenant.outcome {
                    TenantOutcome::Ok => failed.load(Ordering::Relaxed),
                    _ => failed.fetch_add(1, Ordering::Relaxed) + 1,
                };
                match failed {
                    0 => bar.set_message(tenant.tenant),
                    failed => bar.set_message(format!("{} ({failed} failed or skipped)", tenant.tenant)),
                }
            }
            FleetBar::Lines { each_tenant: true } => eprintln!("{}", tenant_line(&tenant)),
            FleetBar::Lines { each_tenant: false } | FleetBar::Silent => {}
        }
    }
}

/// What a tenant's line calls it: its outcome, or for `status` where it
/// stands (`ok` only at heads; `behind`, `ahead`, `dirty`, `drift` otherwise).
fn tenant_label(tenant: &TenantReport) -> String {
    match tenant.status.as_ref().map(Status::states) {
        Some(states) if states != ["at heads"] => states.join(","),
        _ => tenant.outcome.as_str().to_owned(),
    }
}

/// `ok tenant_001: 30 revision(s) in 120 ms`, `behind tenant_002: 2 pending`,
/// with the error of a failed or skipped tenant.
fn tenant_line(tenant: &TenantReport) -> String {
    let mut line = format!("{:<7} {}", tenant_label(tenant), tenant.tenant);
    if let Some(status) = &tenant.status {
        let mut problems = Vec::new();
        for (what, ids) in [
            ("pending", &status.pending),
            ("unknown", &status.unknown),
            ("dirty", &status.dirty),
            ("drifted", &status.drift),
        ] {
            if !ids.is_empty() {
                problems.push(format!("{} {what}", ids.len()));
            }
        }
        if problems.is_empty() {
            line.push_str(": at heads");
        } else {
            line.push_str(&format!(": {}", problems.join(", ")));
        }
    } else if tenant.outcome != TenantOutcome::Skipped {
        line.push_str(&format!(": {} revision(s) in {} ms", tenant.revisions.len(), tenant.duration_ms));
        if tenant.already_done > 0 {
            line.push_str(&format!(" ({} already done by another run)", tenant.already_done));
        }
    }
    if let Some(error) = &tenant.error {
        line.push_str(&format!("\n        {}", error.replace('\n', "\n        ")));
    }
    line
}

fn print_report(out: Output, source: &str, report: &FleetReport) -> CliResult<()> {
    out.emit(
        || {
            let mut document = serde_json::to_value(report).expect("a fleet report serialises");
            // `outcome` says the tenant was read; `state` says where it stands.
            for (json, tenant) in document["tenants"].as_array_mut().into_iter().flatten().zip(&report.tenants) {
                if let Some(status) = &tenant.status {
                    json["state"] = status.states().into();
                }
            }
            document["command"] = "tenants".into();
            document["source"] = source.into();
            document
        },
        |text| {
            let what = match &report.target {
                Some(target) => format!("{} to {target}", report.action),
                None => report.action.to_owned(),
            };
            let ok = match report.action {
                // Read is not "ok": a tenant read and found behind is counted apart.
                "status" => {
                    let read = report.count(TenantOutcome::Ok);
                    let at_heads = report.tenants.len() - report.not_at_heads().count();
                    format!("{at_heads} at heads, {} not at heads", read - at_heads)
                }
                _ => format!("{} ok", report.count(TenantOutcome::Ok)),
            };
            text.push_str(&format!(
                "{what} on {source}: {} tenant(s): {ok}, {} failed, {} skipped in {:.1} s\n",
                report.tenants.len(),
                report.count(TenantOutcome::Failed),
                report.count(TenantOutcome::Skipped),
                report.duration_ms as f64 / 1000.0
            ));
            for tenant in &report.tenants {
                text.push_str(&format!("  {}\n", tenant_line(tenant).replace('\n', "\n  ")));
            }
            if report.action != "status" {
                text.push_str(&format!(
                    "modules: {} (compiled {}, loaded from the disk cache {}), shared by every tenant\n",
                    report.modules, report.compiled, report.loaded_from_disk
                ));
            }
        },
    )
}
