//! The command line: arguments, settings, commands, output and exit codes.

pub mod args;
mod colour;
mod commands;
mod discovery;
pub mod error;
pub mod exit;
pub mod output;
mod progress;
mod scaffold;
pub mod settings;
mod signals;

use std::process::ExitCode;

use clap::{CommandFactory as _, FromArgMatches as _};

use args::{Args, FormatArg, Typed};
use error::CliError;
use exit::Exit;
use output::{Format, Output};
use settings::Settings;

/// Parses the command line, runs the command, and turns the outcome into an
/// exit code. Usage mistakes clap finds exit 2 from inside `get_matches`.
pub fn run() -> ExitCode {
    let matches = Args::command().color(colour::for_clap()).get_matches();
    let args = Args::from_arg_matches(&matches).unwrap_or_else(|error| error.exit());
    let output = Output {
        format: if args.format == Some(FormatArg::Json) { Format::Json } else { Format::Text },
        quiet: args.quiet,
    };
    init_logging(args.quiet, args.verbose);
    let result = Settings::from_args(args, &Typed(&matches)).map_err(CliError::from).and_then(|settings| {
        if settings.command.stops_cleanly() {
            signals::install();
        }
        commands::run(settings)
    });
    // A run a signal stopped says so by its exit code, whatever else failed with it.
    let stopped = signals::stopped_by();
    match result {
        Ok(Exit::Success) => Exit::Success.into(),
        Ok(exit) => stopped.unwrap_or(exit).into(),
        Err(error) => {
            let exit = stopped.unwrap_or_else(|| error.exit());
            output.error(&error, exit);
            exit.into()
        }
    }
}

/// Log lines (wasmig's warnings, revisions' `log` calls) go to stderr:
/// warnings by default, revisions' info lines with `-v`, debug with `-vv`;
/// `RUST_LOG` overrides. Coloured only on a terminal without `NO_COLOR`.
fn init_logging(quiet: bool, verbose: u8) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        (false, _) => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour::on_stderr())
        .without_time()
        .with_target(false)
        .try_init();
}
