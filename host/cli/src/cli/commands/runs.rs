//! `wasmig tenants runs` and `wasmig tenants run NAME`: the coordinated runs on a coordinator, and one run tenant by tenant.

use serde_json::json;
use wasmig::fleet::{RunSummary, RunTenant, run_tenants, runs};
use wasmig::graph::Project;

use crate::cli::error::CliResult;
use crate::cli::exit::{Exit, UsageError};
use crate::cli::output::Output;

pub fn show(project: &Project, out: Output, coordinator: Option<String>, run: Option<String>) -> CliResult<Exit> {
    let url = coordinator
        .or_else(|| project.config.database.url.clone().filter(|url| url.starts_with("postgres")))
        .ok_or_else(|| {
            UsageError::new("give the coordinator with --coordinator URL (the PostgreSQL database the runs used)")
        })?;
    let database = wasmig::redacted_url(&url);
    match run {
        None => {
            let all = runs(&url).map_err(wasmig::Error::from)?;
            out.emit(|| json!({ "coordinator": database, "runs": all }), |text| runs_text(text, &database, &all))?;
        }
        Some(name) => {
            let tenants = run_tenants(&url, &name).map_err(wasmig::Error::from)?;
            out.emit(
                || json!({ "coordinator": database, "run": name, "tenants": tenants }),
                |text| run_text(text, &name, &tenants),
            )?;
        }
    }
    Ok(Exit::Success)
}

fn runs_text(text: &mut String, database: &str, runs: &[RunSummary]) {
    if runs.is_empty() {
        text.push_str(&format!("no runs on {database}\n"));
    }
    for run in runs {
        let what = match &run.target {
            Some(target) => format!("{} to {target}", run.action),
            None => run.action.clone(),
        };
        text.push_str(&format!(
            "{}  {what}  started {}: {} tenant(s): {} ok, {} failed, {} claimed, {} pending{}\n",
            run.name,
            run.created_at,
            run.tenants,
            run.ok,
            run.failed,
            run.claimed,
            run.pending,
            run.stopped.as_deref().map(|why| format!("; stopped: {why}")).unwrap_or_default()
        ));
    }
}

fn run_text(text: &mut String, name: &str, tenants: &[RunTenant]) {
    text.push_str(&format!("run {name}: {} tenant(s)\n", tenants.len()));
    for tenant in tenants {
        let mut line = format!("  {:<8} {}", tenant.state, tenant.tenant);
        if let Some(worker) = &tenant.worker {
            line.push_str(&format!("  by {worker}"));
        }
        if let Some(previous) = &tenant.taken_over_from {
            line.push_str(&format!(" (taken over from {previous})"));
        }
        if tenant.attempts > 1 {
            line.push_str(&format!(", {} claims", tenant.attempts));
        }
        if let Some(finished) = &tenant.finished_at {
            line.push_str(&format!(", finished {finished}"));
        }
        if !tenant.revisions.is_empty() {
            line.push_str(&format!(", {} revision(s)", tenant.revisions.len()));
        }
        if let Some(error) = &tenant.error {
            line.push_str(&format!("\n      {}", error.replace('\n', "\n      ")));
        }
        text.push_str(&line);
        text.push('\n');
    }
}
