//! `wasmig test`: every revision up, down and up again on a scratch database, the schema compared after each `down` (docs/TESTING.md).

use std::path::Path;

use wasmig::{RunOptions, Scratch, StairOutcome, StairwayReport};

use super::connection::migrator;
use crate::cli::error::CliResult;
use crate::cli::exit::Exit;
use crate::cli::output::Output;

/// `database` is `--database` or `DATABASE_URL` only: the project's
/// `[database] url` is where the application's data lives, and the test
/// makes its scratch database elsewhere unless told where.
pub fn test(dir: &Path, database: Option<&str>, out: Output) -> CliResult<Exit> {
    let migrator = migrator(dir)?;
    let mut scratch = Scratch::create(&migrator, database)?;
    out.note(format!("wasmig test: on a scratch database, {}", scratch.describe()));
    let report = migrator.stairway(scratch.database(), &RunOptions::default());
    // Removed before the report is printed, and on a failure too (a
    // `?` above or below this line drops the scratch, which removes it).
    scratch.remove()?;
    let report = report?;
    print(&report, out)?;
    Ok(if report.passed { Exit::Success } else { Exit::RunFailed })
}

fn print(report: &StairwayReport, out: Output) -> CliResult<()> {
    out.emit(
        || {
            serde_json::json!({
                "database": report.database,
                "passed": report.passed,
                "failed": report.failed().map(|stair| stair.revision.as_str()).collect::<Vec<_>>(),
                "problems": report.failed().flat_map(|stair| stair.problems()).collect::<Vec<_>>(),
                "revisions": report.revisions,
                "duration_ms": report.duration_ms,
            })
        },
        |text| {
            for stair in &report.revisions {
                let mark = match stair.outcome {
                    StairOutcome::Passed => "ok     ",
                    StairOutcome::Failed => "FAILED ",
                    _ => "not run",
                };
                let mut timings = Vec::new();
                for (name, ms) in [
                    ("up", stair.up_ms),
                    ("down", stair.down_ms),
                    ("up again", stair.up_again_ms),
                    ("verify", stair.verify_ms),
                ] {
                    if let Some(ms) = ms {
                        timings.push(format!("{name} {ms} ms"));
                    }
                }
                let mut line = format!("{mark} {} ({})", stair.revision, stair.kind);
                if !timings.is_empty() {
                    line.push_str(&format!("  {}", timings.join(", ")));
                }
                if let Some(verdict) = stair.verify {
                    line.push_str(&format!("; verify: {verdict}"));
                }
                match stair.not_reverted {
                    Some("merge") => line.push_str("; a merge: applied, not reverted"),
                    Some(_) => line.push_str("; one-way (reversible = false): applied, not reverted"),
                    None => {}
                }
                text.push_str(&line);
                text.push('\n');
                for problem in stair.problems() {
                    text.push_str(&format!("        {}\n", problem.replace('\n', "\n          ")));
                }
            }
            let failed: Vec<&str> = report.failed().map(|stair| stair.revision.as_str()).collect();
            if failed.is_empty() {
                text.push_str(&format!(
                    "passed: {} revision(s) in {} ms\n",
                    report.revisions.len(),
                    report.duration_ms
                ));
            } else {
                text.push_str(&format!(
                    "FAILED: {} of {} revision(s): {}\n",
                    failed.len(),
                    report.revisions.len(),
                    failed.join(", ")
                ));
            }
        },
    )
}
