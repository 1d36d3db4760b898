//! Progress of a run: a bar on a terminal, one plain line per step when piped, nothing for JSON.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use wasmig::graph::Direction;
use wasmig::{Progress, StepReport};

use super::output::{Format, Output};

/// Below this many steps a bar flickers more than it helps.
const BAR_FROM_STEPS: usize = 5;

pub enum RunProgress {
    Bar(ProgressBar),
    Lines,
    Silent,
}

impl RunProgress {
    pub fn new(out: Output) -> Self {
        if out.format == Format::Json || out.quiet {
            RunProgress::Silent
        } else if std::io::stderr().is_terminal() {
            RunProgress::Bar(ProgressBar::hidden())
        } else {
            RunProgress::Lines
        }
    }

    pub fn finish(&self) {
        if let RunProgress::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}

pub fn step_line(step: &StepReport) -> String {
    let verb = step.outcome.verb(step.direction);
    format!("{verb} {} ({} ms)", step.revision, step.duration_ms)
}

/// "waiting for a lock: <reason>; attempt 2 of 6 in 0.5 s".
pub fn retry_line(revision: Option<&str>, attempt: u32, attempts: u32, reason: &str, pause: Duration) -> String {
    let what = revision.map_or_else(|| "the plan's transaction".to_owned(), |revision| format!("revision {revision}"));
    format!(
        "waiting for a lock, {what} runs again: attempt {attempt} of {attempts} in {:.1} s ({reason})",
        pause.as_secs_f64()
    )
}

impl Progress for RunProgress {
    fn planned(&mut self, steps: usize) {
        if let RunProgress::Bar(bar) = self
            && steps >= BAR_FROM_STEPS
        {
            let style = ProgressStyle::with_template("{spinner} [{bar:40}] {pos}/{len} {msg}")
                .expect("a valid template")
                .progress_chars("=> ");
            *bar = ProgressBar::new(steps as u64).with_style(style);
        }
    }

    fn step_started(&mut self, revision: &str, direction: Direction) {
        if let RunProgress::Bar(bar) = self {
            bar.set_message(format!("{} {revision}", direction.as_str()));
        }
    }

    fn step_retrying(&mut self, revision: Option<&str>, attempt: u32, attempts: u32, reason: &str, pause: Duration) {
        if let RunProgress::Silent = self {
            return;
        }
        let line = retry_line(revision, attempt, attempts, reason, pause);
        match self {
            RunProgress::Bar(bar) if !bar.is_hidden() => bar.println(line),
            _ => eprintln!("{line}"),
        }
    }

    fn step_finished(&mut self, step: &StepReport) {
        match self {
            RunProgress::Bar(bar) if !bar.is_hidden() => {
                bar.inc(1);
            }
            RunProgress::Bar(_) | RunProgress::Lines => {
                eprintln!("{}", step_line(step));
                for line in &step.logs {
                    eprintln!("    {line}");
                }
            }
            RunProgress::Silent => {}
        }
    }
}
