//! `wasmig tenants upgrade|downgrade|status`: one run over a fleet of tenant databases or schemas, its progress and its report.

use std::io::IsTerminal;
use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};
use wasmig::RunOptions;
use wasmig::fleet::{
    Fleet, FleetAction, FleetEvent, FleetProgress, FleetReport, TenantOutcome, TenantReport, TenantSource,
};

use crate::cli::error::CliResult;
use crate::cli::exit::Exit;
use crate::cli::output::{Format, Output};
use crate::cli::progress::retry_line;
use crate::cli::settings::TenantsRequest;

pub fn run(dir: &Path, out: Output, request: TenantsRequest) -> CliResult<Exit> {
    let migrator = super::connection::migrator(dir)?;
    // A wrong source is the user's to fix (exit 2); a server or a file
    // system that failed while listing is not (exit 1): FleetError::kind.
    let tenants = TenantSource::tenants_of(&request.sources)?;
    let fleet = Fleet::new(migrator)
        .jobs(request.jobs)
        .fail_fast(request.fail_fast)
        .canary(request.canary)
        .run_options(RunOptions { transaction: request.transaction, ..RunOptions::default() });
    let progress = FleetBar::new(out, tenants.len());
    let report = fleet.run(tenants, &request.action, &progress);
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
    Ok(if any_failed {
        Exit::RunFailed
    } else if request.action == FleetAction::Status && !report.all_at_heads() {
        Exit::CheckFailed
    } else {
        Exit::Success
    })
}

/// A bar over tenants on a terminal, one line per finished tenant when
/// piped, nothing for JSON or `-q`.
enum FleetBar {
    Bar(ProgressBar),
    Lines,
    Silent,
}

impl FleetBar {
    fn new(out: Output, tenants: usize) -> Self {
        if out.format == Format::Json || out.quiet {
            FleetBar::Silent
        } else if std::io::stderr().is_terminal() {
            let style = ProgressStyle::with_template("{spinner} [{bar:40}] {pos}/{len} tenants {msg}")
                .expect("a valid template")
                .progress_chars("=> ");
            FleetBar::Bar(ProgressBar::new(tenants as u64).with_style(style))
        } else {
            FleetBar::Lines
        }
    }

    fn finish(&self) {
        if let FleetBar::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}

impl FleetProgress for FleetBar {
    fn event(&self, event: FleetEvent) {
        if let FleetEvent::Retrying { tenant, revision, attempt, attempts, reason, pause, .. } = &event {
            let line = format!("{tenant}: {}", retry_line(revision.as_deref(), *attempt, *attempts, reason, *pause));
            match self {
                FleetBar::Bar(bar) => bar.suspend(|| eprintln!("{line}")),
                FleetBar::Lines => eprintln!("{line}"),
                FleetBar::Silent => {}
            }
            return;
        }
        let FleetEvent::Finished(tenant) = event else {
            return;
        };
        match self {
            FleetBar::Bar(bar) => {
                bar.inc(1);
                bar.set_message(tenant.tenant.clone());
                if tenant.outcome == TenantOutcome::Failed {
                    bar.suspend(|| eprintln!("{}", tenant_line(&tenant)));
                }
            }
            FleetBar::Lines => eprintln!("{}", tenant_line(&tenant)),
            FleetBar::Silent => {}
        }
    }
}

/// `ok tenant_001: 30 revision(s) in 120 ms`, with the error of a failed or skipped tenant.
fn tenant_line(tenant: &TenantReport) -> String {
    let mut line = format!("{:<7} {}", tenant.outcome.as_str(), tenant.tenant);
    if let Some(status) = &tenant.status {
        if status.at_heads {
            line.push_str(": at heads");
        } else {
            let mut problems = Vec::new();
            for (what, ids) in [
                ("pending", &status.pending),
                ("unknown", &status.unknown),
                ("dirty", &status.dirty),
                ("drift", &status.drift),
            ] {
                if !ids.is_empty() {
                    problems.push(format!("{} {what}", ids.len()));
                }
            }
            line.push_str(&format!(": not at heads ({})", problems.join(", ")));
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
            document["command"] = "tenants".into();
            document["source"] = source.into();
            document
        },
        |text| {
            let what = match &report.target {
                Some(target) => format!("{} to {target}", report.action),
                None => report.action.to_owned(),
            };
            text.push_str(&format!(
                "{what} on {source}: {} tenant(s): {} ok, {} failed, {} skipped in {:.1} s\n",
                report.tenants.len(),
                report.count(TenantOutcome::Ok),
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
