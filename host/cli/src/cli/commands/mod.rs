//! One module per command or group of commands; `run` dispatches a validated command to its module.

mod author;
mod build;
mod connection;
mod init;
mod inspect;
mod migrate;
mod picture;
mod plan;
mod project;
mod state;
pub mod tenants;

use std::path::{Path, PathBuf};

use super::exit::{Exit, UsageError};
use super::settings::{Command, Settings};
use crate::cli::error::CliResult;
use project::load;

pub fn run(settings: Settings) -> CliResult<Exit> {
    let out = settings.output;
    // `-C DIR` behaves like git's: as if started in DIR, so relative paths
    // (a `sqlite:app.db` URL, the migrations directory) are relative to it.
    if settings.project_dir != Path::new(".") {
        if matches!(settings.command, Command::Init) {
            // `wasmig -C new-project init` creates the project's directory.
            std::fs::create_dir_all(&settings.project_dir)?;
        }
        std::env::set_current_dir(&settings.project_dir).map_err(|error| {
            anyhow::Error::new(UsageError::new(format!("-C {}: {error}", settings.project_dir.display())))
        })?;
    }
    // Paths in output stay as meaningful as without -C: absolute under -C.
    let here = if settings.project_dir == Path::new(".") { PathBuf::from(".") } else { std::env::current_dir()? };
    let dir = here.as_path();
    let database = settings.database_url.as_deref();
    match settings.command {
        Command::Init => init::init(dir, out),
        Command::New(request) => author::new(dir, out, request),
        Command::Build(request) => build::build(dir, out, request),
        Command::Merge { message, id, revisions } => author::merge(dir, out, message, id, &revisions),
        Command::Heads { check } => inspect::heads(&load(dir)?, out, check),
        Command::Branches => inspect::branches(&load(dir)?, out),
        Command::History { lower, upper, verbose } => {
            inspect::history(&load(dir)?, out, lower.as_deref(), upper.as_deref(), verbose)
        }
        Command::Show { revision } => inspect::show(&load(dir)?, out, &revision),
        Command::Graph { picture } => picture::graph(&load(dir)?, out, picture),
        Command::Plan(request) => plan::plan(&load(dir)?, out, request, database),
        Command::Run(request) => migrate::run(dir, database, out, request),
        Command::Current => state::current(dir, database, out),
        Command::Status => state::status(dir, database, out),
        Command::Stamp { target } => migrate::stamp(dir, database, out, &target),
        Command::Resolve { revision, as_applied } => migrate::resolve(dir, database, out, &revision, as_applied),
        Command::Repair { revision } => migrate::repair(dir, database, out, &revision),
        Command::Verify { revision } => state::verify(dir, database, out, revision.as_deref()),
        Command::Tenants(request) => tenants::run(dir, out, request),
    }
}
