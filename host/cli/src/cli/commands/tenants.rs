//! `wasmig tenants upgrade|downgrade|status`: one run over a fleet of tenant databases or schemas, its progress and its report.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::Mutex;
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
    // Each tenant's report is printed as it ends and then dropped: memory
    // does not grow with the fleet (docs/FLEET.md).
    let mut fleet = Fleet::new(migrator)
        .jobs(request.jobs)
        .fail_fast(request.fail_fast)
        .canary(request.canary)
        .run_options(RunOptions { transaction: request.transaction, ..RunOptions::default() })
        .keep_reports(false);
    if let Some(shared) = &request.shared {
        fleet = fleet.coordinated(Coordination {
            url: coordinator_url(shared, &request.sources)?,
            run: shared.run.clone(),
            lease: shared.lease,
            max_failures: shared.max_failures,
            retry_failed: shared.retry_failed,
        });
    }
    let sources = request.sources.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
    let progress = Listener {
        bar: FleetBar::new(out, verbosity, tenants.len()),
        report: ReportStream::new(out, request.check, sources, &request.action),
    };
    let report = fleet.try_run(tenants, &request.action, &progress);
    progress.bar.finish();
    let report = match report {
        Ok(report) => report,
        // Tenants already printed stay in one document with the error.
        Err(error) if progress.report.started() => {
            let message = crate::cli::output::error_message(&error);
            eprintln!("error: {message}");
            progress.report.abandon(&message)?;
            return Ok(Exit::RunFailed);
        }
        Err(error) => return Err(error.into()),
    };
    if let Some(shared) = &request.shared {
        out.note(format!(
            "run {}: this process ran {} tenant(s); `wasmig tenants run {}` shows the whole run",
            shared.run, report.counts.tenants, shared.run
        ));
    }
    progress.report.finish(&report)?;
    let any_failed = report.count(TenantOutcome::Failed) + report.count(TenantOutcome::Skipped) > 0;
    Ok(if any_failed && progress.report.refused_everywhere(&report) {
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

    /// Runs `print` with the bar out of the way.
    fn suspend<T>(&self, print: impl FnOnce() -> T) -> T {
        match self {
            FleetBar::Bar { bar, .. } => bar.suspend(print),
            _ => print(),
        }
    }
}

/// What the fleet's listener does: the bar or lines on stderr, and the report on stdout.
struct Listener {
    bar: FleetBar,
    report: ReportStream,
}

impl FleetProgress for Listener {
    fn event(&self, event: FleetEvent) {
        match event {
            FleetEvent::Finished(tenant) => {
                self.bar.finished(&tenant);
                if let Err(error) = self.bar.suspend(|| self.report.tenant(tenant)) {
                    tracing::debug!("the report could not be written: {error}");
                }
            }
            event => self.bar.event(event),
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
        if let FleetEvent::Finished(tenant) = event {
            self.finished(&tenant);
        }
    }
}

impl FleetBar {
    fn finished(&self, tenant: &TenantReport) {
        match self {
            FleetBar::Bar { bar, failed } => {
                bar.inc(1);
                let failed = match tenant.outcome {
                    TenantOutcome::Ok => failed.load(Ordering::Relaxed),
                    _ => failed.fetch_add(1, Ordering::Relaxed) + 1,
                };
                match failed {
                    0 => bar.set_message(tenant.tenant.clone()),
                    failed => bar.set_message(format!("{} ({failed} failed or skipped)", tenant.tenant)),
                }
            }
            FleetBar::Lines { each_tenant: true } => eprintln!("{}", tenant_line(tenant)),
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

/// The report on stdout, written as tenants end: text lines, or one JSON
/// document whose `tenants` array is written element by element (in the
/// order tenants ended). Holds only what the end needs: with `--check`, the
/// names of the tenants not at heads; whether every failure was a refusal.
struct ReportStream {
    out: Output,
    check: bool,
    source: String,
    action: &'static str,
    target: Option<String>,
    state: Mutex<StreamState>,
}

#[derive(Default)]
struct StreamState {
    /// The JSON document's head is written.
    opened: bool,
    written: usize,
    not_at_heads: Vec<String>,
    /// A failure that was not a refusal of the plan (usage, project).
    failed_otherwise: bool,
}

impl ReportStream {
    fn new(out: Output, check: bool, source: String, action: &FleetAction) -> Self {
        let (action, target) = match action {
            FleetAction::Upgrade(target) => ("upgrade", Some(target.to_string())),
            FleetAction::Downgrade(target) => ("downgrade", Some(target.to_string())),
            _ => ("status", None),
        };
        ReportStream { out, check, source, action, target, state: Mutex::new(StreamState::default()) }
    }

    fn started(&self) -> bool {
        self.state.lock().expect("report state poisoned").opened
    }

    fn tenant(&self, tenant: TenantReport) -> CliResult<()> {
        let mut state = self.state.lock().expect("report state poisoned");
        if tenant.outcome == TenantOutcome::Failed
            && !matches!(tenant.error_kind, Some(ErrorKind::Usage | ErrorKind::Project))
        {
            state.failed_otherwise = true;
        }
        if self.check {
            if !tenant.is_at_heads() {
                state.not_at_heads.push(tenant.tenant);
            }
            return Ok(());
        }
        match self.out.format {
            Format::Json => {
                let head = self.open(&mut state);
                let mut json = serde_json::to_value(&tenant).expect("a tenant report serialises");
                // `outcome` says the tenant was read; `state` says where it stands.
                if let Some(status) = &tenant.status {
                    json["state"] = status.states().into();
                }
                let separator = if state.written == 0 { "" } else { ",\n" };
                state.written += 1;
                self.out.raw(&format!("{head}{separator}    {json}"))
            }
            Format::Text => self.out.raw(&format!("  {}\n", tenant_line(&tenant).replace('\n', "\n  "))),
        }
    }

    /// The JSON document's head, the first time it is asked for.
    fn open(&self, state: &mut StreamState) -> String {
        if std::mem::replace(&mut state.opened, true) {
            return String::new();
        }
        let text = |value: &str| serde_json::Value::from(value).to_string();
        let target =
            self.target.as_deref().map(|target| format!("  \"target\": {},\n", text(target))).unwrap_or_default();
        format!(
            "{{\n  \"command\": \"tenants\",\n  \"source\": {},\n  \"action\": {},\n{target}  \"tenants\": [\n",
            text(&self.source),
            text(self.action)
        )
    }

    /// Closes the JSON document of a run that stopped on an error.
    fn abandon(&self, error: &str) -> CliResult<()> {
        let mut state = self.state.lock().expect("report state poisoned");
        let head = self.open(&mut state);
        let error = serde_json::Value::from(error);
        self.out.raw(&format!("{head}\n  ],\n  \"error\": {error},\n  \"exit_code\": 1\n}}\n"))
    }

    /// The end of the report: the counts, and with `--check` the tenants not at heads.
    fn finish(&self, report: &FleetReport) -> CliResult<()> {
        let mut state = self.state.lock().expect("report state poisoned");
        let counts = report.counts;
        if self.check {
            if !state.not_at_heads.is_empty() {
                eprintln!(
                    "not at heads ({} of {} tenants): {}",
                    state.not_at_heads.len(),
                    counts.tenants,
                    state.not_at_heads.join(", ")
                );
            }
            return Ok(());
        }
        match self.out.format {
            Format::Json => {
                let head = self.open(&mut state);
                let tail = serde_json::json!({
                    "counts": counts,
                    "modules": report.modules,
                    "compiled": report.compiled,
                    "loaded_from_disk": report.loaded_from_disk,
                    "duration_ms": report.duration_ms,
                });
                let tail = serde_json::to_string_pretty(&tail).expect("a report's tail serialises");
                let end = if state.written == 0 { "]" } else { "\n  ]" };
                // The tail's own braces close nothing: the document's opened in the head.
                self.out.raw(&format!("{head}{end},{}\n", &tail[1..]))
            }
            Format::Text => {
                let what = match &self.target {
                    Some(target) => format!("{} to {target}", self.action),
                    None => self.action.to_owned(),
                };
                let ok = match self.action {
                    // Read is not "ok": a tenant read and found behind is counted apart.
                    "status" => {
                        let at_heads = counts.tenants - counts.not_at_heads;
                        format!("{at_heads} at heads, {} not at heads", counts.ok.saturating_sub(at_heads))
                    }
                    _ => format!("{} ok", counts.ok),
                };
                let mut text = format!(
                    "{what} on {}: {} tenant(s): {ok}, {} failed, {} skipped in {:.1} s\n",
                    self.source,
                    counts.tenants,
                    counts.failed,
                    counts.skipped,
                    report.duration_ms as f64 / 1000.0
                );
                if self.action != "status" {
                    text.push_str(&format!(
                        "modules: {} (compiled {}, loaded from the disk cache {}), shared by every tenant\n",
                        report.modules, report.compiled, report.loaded_from_disk
                    ));
                }
                self.out.raw(&text)
            }
        }
    }

    /// Every failed tenant was refused its plan (or the project is wrong) and
    /// no tenant changed anything: a usage error, as for one database (exit 2).
    fn refused_everywhere(&self, report: &FleetReport) -> bool {
        let state = self.state.lock().expect("report state poisoned");
        report.counts.failed > 0 && !state.failed_otherwise && report.counts.revisions == 0
    }
}
