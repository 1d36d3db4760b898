//! The command line: arguments, settings, commands, output and exit codes.

pub mod args;
mod commands;
pub mod exit;
pub mod output;
mod progress;
mod scaffold;
pub mod settings;

use std::process::ExitCode;

use clap::Parser as _;

use args::{Args, FormatArg};
use exit::Exit;
use output::{Format, Output};
use settings::Settings;

/// Parses the command line, runs the command, and turns the outcome into an
/// exit code. Usage mistakes clap finds exit 2 from inside `parse`.
pub fn run() -> ExitCode {
    let args = Args::parse();
    let output = Output {
        format: if args.format == Some(FormatArg::Json) {
            Format::Json
        } else {
            Format::Text
        },
        quiet: args.quiet,
    };
    let result = Settings::from_args(args)
        .map_err(anyhow::Error::from)
        .and_then(commands::run);
    match result {
        Ok(exit) => exit.into(),
        Err(error) => {
            let exit = Exit::classify(&error);
            output.error(&error, exit);
            exit.into()
        }
    }
}
