//! Progress of a run: a bar on a terminal, one plain line per step when piped, nothing for JSON.

use std::io::IsTerminal;

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
