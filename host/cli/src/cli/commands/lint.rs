//! `wasmig lint`: revisions rehearsed on a scratch database, and what the run-time lint found in their statements (docs/LINT.md).

use std::path::Path;

use wasmig::graph::RevisionId;
use wasmig::{LintReport, LintVerdict, Scratch};

use super::connection::migrator;
use crate::cli::error::CliResult;
use crate::cli::exit::Exit;
use crate::cli::output::Output;

/// `database` is `--database` or `DATABASE_URL` only, as for `wasmig test`:
/// where the scratch database is made, never a database that is written.
pub fn lint(dir: &Path, database: Option<&str>, out: Output, revisions: &[String]) -> CliResult<Exit> {
    let migrator = migrator(dir)?;
    let selected = revisions
        .iter()
        .map(|reference| Ok(migrator.graph().resolve(reference)?.id().clone()))
        .collect::<CliResult<Vec<RevisionId>>>()?;
    let mut scratch = Scratch::create(&migrator, database)?;
    out.note(format!("wasmig lint: on a scratch database, {}", scratch.describe()));
    let report = migrator.lint(scratch.database(), &selected);
    // Removed before the report is printed, and on a failure too.
    scratch.remove()?;
    let report = report?;
    print(&report, out)?;
    Ok(if report.failed() {
        Exit::RunFailed
    } else if report.denied() {
        Exit::CheckFailed
    } else {
        Exit::Success
    })
}

fn print(report: &LintReport, out: Output) -> CliResult<()> {
    let count = |verdict: LintVerdict| report.findings().filter(|finding| finding.verdict == verdict).count();
    out.emit(
        || {
            serde_json::json!({
                "database": report.database,
                "denied": report.denied(),
                "failed": report.failed(),
                "counts": {
                    "deny": count(LintVerdict::Deny),
                    "warn": count(LintVerdict::Warn),
                    "allowed": count(LintVerdict::Allowed),
                },
                "replayed": report.replayed,
                "revisions": report.revisions,
                "duration_ms": report.duration_ms,
            })
        },
        |text| {
            for revision in &report.revisions {
                let mark = match (&revision.error, revision.ran) {
                    (Some(_), _) => "FAILED ",
                    (None, false) => "not run",
                    (None, true) if revision.findings.iter().any(|f| f.verdict == LintVerdict::Deny) => "DENIED ",
                    (None, true) if revision.findings.iter().any(|f| f.verdict == LintVerdict::Warn) => "warn   ",
                    (None, true) => "ok     ",
                };
                text.push_str(&format!("{mark} {} ({})\n", revision.revision, revision.kind));
                for finding in &revision.findings {
                    let statement = finding.statement.split_whitespace().collect::<Vec<_>>().join(" ");
                    text.push_str(&format!(
                        "        {} {}: {}\n",
                        finding.verdict.as_str(),
                        finding.rule,
                        finding.detail
                    ));
                    text.push_str(&format!("          statement: {statement}\n"));
                    match &finding.reason {
                        Some(reason) => text.push_str(&format!("          allowed: {reason}\n")),
                        None => {
                            text.push_str(&format!("          why: {}\n", finding.why));
                            text.push_str(&format!("          instead: {}\n", finding.alternative));
                        }
                    }
                }
                if let Some(error) = &revision.error {
                    text.push_str(&format!("        {}\n", error.replace('\n', "\n          ")));
                }
            }
            text.push_str(&format!(
                "{} revision(s) linted ({} replayed before them): {} deny, {} warn, {} allowed\n",
                report.revisions.len(),
                report.replayed,
                count(LintVerdict::Deny),
                count(LintVerdict::Warn),
                count(LintVerdict::Allowed)
            ));
        },
    )
}
