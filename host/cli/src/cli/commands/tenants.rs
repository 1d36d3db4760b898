//! `wasmig tenants upgrade|downgrade|status`: one run over a fleet of tenant databases or schemas, its progress and its report.
//!
//! The arguments, their validation and the command live here together so
//! that the shared `args.rs`/`settings.rs` carry one variant each.

use std::io::IsTerminal;
use std::path::Path;

use clap::{Args as ClapArgs, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use wasmig::fleet::{
    Fleet, FleetAction, FleetError, FleetEvent, FleetProgress, FleetReport, TenantOutcome, TenantReport, TenantSource,
};
use wasmig::graph::Target;
use wasmig::{RunOptions, TransactionMode};

use crate::cli::args::TransactionArg;
use crate::cli::exit::{Exit, UsageError};
use crate::cli::output::{Format, Output};

#[derive(Debug, ClapArgs)]
pub struct TenantsArgs {
    #[command(subcommand)]
    pub command: TenantsCommandArgs,
}

#[derive(Debug, Subcommand)]
pub enum TenantsCommandArgs {
    /// Apply revisions up to a target (default: every head) on every tenant. Exit 1 if any tenant failed.
    Upgrade(TenantsUpgradeArgs),
    /// Revert the applied revisions above a target on every tenant. Exit 1 if any tenant failed.
    Downgrade(TenantsDowngradeArgs),
    /// Compare every tenant with the project (no lock, no write). Exit 3 unless every tenant is at heads.
    Status(FleetArgs),
}

#[derive(Debug, ClapArgs)]
pub struct TenantsUpgradeArgs {
    /// heads (default), head, an id or prefix, a label, label@head, +N, REV+N.
    #[arg(allow_hyphen_values = true)]
    pub target: Option<String>,
    #[command(flatten)]
    pub fleet: FleetArgs,
    /// Where each tenant's transactions begin and end.
    #[arg(long, value_enum, default_value = "per-revision")]
    pub transaction: TransactionArg,
}

#[derive(Debug, ClapArgs)]
pub struct TenantsDowngradeArgs {
    /// base, an id or prefix, a label, -N, REV-N.
    #[arg(allow_hyphen_values = true)]
    pub target: String,
    #[command(flatten)]
    pub fleet: FleetArgs,
    /// Where each tenant's transactions begin and end.
    #[arg(long, value_enum, default_value = "per-revision")]
    pub transaction: TransactionArg,
}

#[derive(Debug, ClapArgs)]
pub struct FleetArgs {
    /// The tenants: @FILE (one database URL a line, optionally followed by a
    /// tenant name), a SQLite glob (sqlite:tenants/*.db), or
    /// postgres://user@host/db?schemas=PATTERN (schemas LIKE PATTERN).
    #[arg(long, value_name = "SOURCE")]
    pub tenants: String,
    /// Tenants migrated at once (default: the number of CPUs).
    #[arg(short, long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
    /// After a tenant fails, start no other.
    #[arg(long)]
    pub fail_fast: bool,
    /// Migrate the first K tenants first; the rest only if all K succeed.
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u32).range(1..))]
    pub canary: Option<u32>,
}

/// `wasmig tenants ...`, validated.
#[derive(Debug)]
pub struct TenantsRequest {
    pub action: FleetAction,
    pub source: TenantSource,
    pub jobs: usize,
    pub fail_fast: bool,
    pub canary: usize,
    pub transaction: TransactionMode,
}

impl TenantsRequest {
    pub fn from_args(args: TenantsArgs) -> Result<Self, UsageError> {
        let target = |text: &str| Target::parse(text).map_err(|error| UsageError::new(error.to_string()));
        let transaction_mode = |arg: TransactionArg| match arg {
            TransactionArg::PerRevision => TransactionMode::PerRevision,
            TransactionArg::All => TransactionMode::All,
        };
        let (action, fleet, transaction) = match args.command {
            TenantsCommandArgs::Upgrade(a) => (
                FleetAction::Upgrade(target(a.target.as_deref().unwrap_or("heads"))?),
                a.fleet,
                transaction_mode(a.transaction),
            ),
            TenantsCommandArgs::Downgrade(a) => {
                (FleetAction::Downgrade(target(&a.target)?), a.fleet, transaction_mode(a.transaction))
            }
            TenantsCommandArgs::Status(fleet) => (FleetAction::Status, fleet, TransactionMode::PerRevision),
        };
        let source =
            TenantSource::parse(&fleet.tenants).map_err(|error| UsageError::new(format!("--tenants: {error}")))?;
        let jobs =
            fleet.jobs.map_or_else(|| std::thread::available_parallelism().map_or(1, |cores| cores.get()), usize::from);
        Ok(TenantsRequest {
            action,
            source,
            jobs,
            fail_fast: fleet.fail_fast,
            canary: fleet.canary.map_or(0, |k| k as usize),
            transaction,
        })
    }
}

pub fn run(dir: &Path, out: Output, request: TenantsRequest) -> anyhow::Result<Exit> {
    let migrator = super::migrate::migrator(dir)?;
    let tenants = request.source.tenants().map_err(|error| match error {
        // The server or the file system failed while listing: exit 1.
        FleetError::Connect(_) | FleetError::ListSchemas { .. } | FleetError::GlobRead { .. } => {
            anyhow::Error::new(error)
        }
        // The source itself is wrong: nothing ran, the user has something to fix (exit 2).
        other => anyhow::Error::new(UsageError::new(format!("--tenants: {other}"))),
    })?;
    let fleet = Fleet::new(migrator)
        .jobs(request.jobs)
        .fail_fast(request.fail_fast)
        .canary(request.canary)
        .run_options(RunOptions { transaction: request.transaction, ..RunOptions::default() });
    let progress = FleetBar::new(out, tenants.len());
    let report = fleet.run(tenants, &request.action, &progress);
    progress.finish();
    print_report(out, &request.source, &report)?;
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

fn print_report(out: Output, source: &TenantSource, report: &FleetReport) -> anyhow::Result<()> {
    out.emit(
        || {
            let mut document = serde_json::to_value(report).expect("a fleet report serialises");
            document["command"] = "tenants".into();
            document["source"] = source.to_string().into();
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
