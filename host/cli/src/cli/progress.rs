//! Progress of a run: a bar on a terminal, one plain line per step when piped, nothing for JSON.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use wasmig::graph::Direction;
use wasmig::{LintVerdict, Progress, StepReport};

use super::output::{Format, Output};

/// Below this many steps a bar flickers more than it helps.
const BAR_FROM_STEPS: usize = 5;

pub enum RunProgress {
    Bar { bar: ProgressBar, header: String },
    Lines { header: String },
    Silent,
}

impl RunProgress {
    /// Progress of a run that `header` describes ("upgrade to heads on sqlite:app.db").
    pub fn new(out: Output, header: String) -> Self {
        if out.format == Format::Json || out.quiet {
            RunProgress::Silent
        } else if std::io::stderr().is_terminal() {
            RunProgress::Bar { bar: ProgressBar::hidden(), header }
        } else {
            RunProgress::Lines { header }
        }
    }

    pub fn finish(&self) {
        if let RunProgress::Bar { bar, .. } = self {
            bar.finish_and_clear();
        }
    }

    /// A line for people, above the bar when one is drawn.
    fn say(&self, line: &str) {
        match self {
            RunProgress::Bar { bar, .. } if !bar.is_hidden() => bar.println(line),
            RunProgress::Bar { .. } | RunProgress::Lines { .. } => eprintln!("{line}"),
            RunProgress::Silent => {}
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
    fn waiting_for_lock(&mut self, holder: Option<&str>, timeout: Duration) {
        let holder = holder.map(|holder| format!(" ({holder})")).unwrap_or_default();
        self.say(&format!(
            "waiting up to {:.0} s for the migration lock: another run holds it{holder}",
            timeout.as_secs_f64()
        ));
    }

    fn compiling(&mut self, components: usize) {
        self.say(&format!(
            "compiling {components} component(s) (first use on this machine and wasmig version; cached after that)..."
        ));
    }

    fn planned(&mut self, steps: usize) {
        let header = match self {
            RunProgress::Bar { header, .. } | RunProgress::Lines { header } => format!("{header}: {steps} step(s)"),
            RunProgress::Silent => return,
        };
        if let RunProgress::Bar { bar, .. } = self
            && steps >= BAR_FROM_STEPS
        {
            let style = ProgressStyle::with_template("{spinner} [{bar:40}] {pos}/{len} {elapsed} {msg}")
                .expect("a valid template")
                .progress_chars("=> ");
            *bar = ProgressBar::new(steps as u64).with_style(style);
            // The spinner and the clock move while a long step runs.
            bar.enable_steady_tick(Duration::from_millis(200));
        }
        if steps > 0 {
            self.say(&header);
        }
    }

    fn step_started(&mut self, revision: &str, message: &str, direction: Direction) {
        match self {
            RunProgress::Bar { bar, .. } if !bar.is_hidden() => {
                bar.set_message(format!("{} {revision} {message}", direction_word(direction)));
            }
            RunProgress::Silent => {}
            _ => self.say(&announce_line(revision, message, direction)),
        }
    }

    fn step_retrying(&mut self, revision: Option<&str>, attempt: u32, attempts: u32, reason: &str, pause: Duration) {
        self.say(&retry_line(revision, attempt, attempts, reason, pause));
    }

    fn step_finished(&mut self, step: &StepReport) {
        match self {
            RunProgress::Bar { bar, .. } if !bar.is_hidden() => {
                bar.inc(1);
            }
            RunProgress::Bar { .. } | RunProgress::Lines { .. } => {
                eprintln!("{}", step_line(step));
                for line in &step.logs {
                    eprintln!("    {line}");
                }
            }
            RunProgress::Silent => {}
        }
        // The lint's warnings (docs/LINT.md); the JSON report has every finding.
        for finding in step.lint.iter().filter(|finding| finding.verdict == LintVerdict::Warn) {
            self.say(&format!("warning: {}", finding.warning()));
        }
    }
}

/// "running upgrade 3f2a1c: create users", before the step runs.
pub fn announce_line(revision: &str, message: &str, direction: Direction) -> String {
    let verb = direction_word(direction);
    if message.is_empty() {
        format!("running {verb} {revision}")
    } else {
        format!("running {verb} {revision}: {message}")
    }
}

/// "upgrade" or "downgrade".
pub fn direction_word(direction: Direction) -> &'static str {
    match direction {
        Direction::Up => "upgrade",
        Direction::Down => "downgrade",
    }
}
