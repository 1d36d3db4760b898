//! One module per command or group of commands; `run` dispatches a validated command to its module.

mod author;
mod build;
mod connection;
mod generated;
mod init;
mod inspect;
mod journal;
mod lint;
mod log;
mod marks;
mod migrate;
mod picture;
mod plan;
mod project;
mod records;
mod runs;
mod stairway;
mod state;
pub mod tenants;

use std::path::{Path, PathBuf};

use super::discovery;
use super::exit::{Exit, UsageError};
use super::settings::{Command, Settings};
use crate::cli::error::CliResult;
use marks::Inspected;
use project::load;

pub fn run(settings: Settings) -> CliResult<Exit> {
    let out = settings.output;
    match settings.command {
        Command::Completions { shell } => return generated::completions(shell, out),
        Command::Man { out: dir } => return generated::man(dir.as_deref(), out),
        _ => {}
    }
    let here = enter_project(settings.project_dir.as_deref(), &settings.command)?;
    let dir = here.as_path();
    let database = settings.database_url.as_deref();
    let verbosity = settings.verbosity;
    match settings.command {
        Command::Init => init::init(dir, out),
        Command::New(request) => author::new(dir, out, request),
        Command::Build(request) => build::build(dir, out, request),
        Command::Merge { message, id, revisions } => author::merge(dir, out, message, id, &revisions),
        Command::Heads { check } => inspect::heads(load(dir)?, out, check),
        Command::Branches => inspect::branches(load(dir)?, out),
        Command::History { lower, upper, verbose, indicate_current } => {
            let inspected = Inspected::open(dir, database, indicate_current)?;
            inspect::history(&inspected, out, lower.as_deref(), upper.as_deref(), verbose)
        }
        Command::Show { revision, indicate_current } => {
            inspect::show(&Inspected::open(dir, database, indicate_current)?, out, &revision)
        }
        Command::Log(request) => log::log(dir, database, out, request),
        Command::Journal(request) => journal::journal(dir, database, out, request),
        Command::Graph { picture } => picture::graph(load(dir)?, out, picture),
        Command::Plan(request) => plan::plan(load(dir)?, out, request, database),
        Command::Run(request) => migrate::run(dir, database, out, request),
        Command::Current => state::current(dir, database, out),
        Command::Status => state::status(dir, database, out),
        Command::Stamp { target } => migrate::stamp(dir, database, out, &target),
        Command::Resolve { revision, as_applied } => migrate::resolve(dir, database, out, &revision, as_applied),
        Command::Repair { revision } => migrate::repair(dir, database, out, &revision),
        Command::Verify { revision } => state::verify(dir, database, out, revision.as_deref()),
        Command::Test => stairway::test(dir, database, out),
        Command::Lint { revisions } => lint::lint(dir, database, out, &revisions),
        Command::Tenants(request) => tenants::run(dir, out, verbosity, request),
        Command::TenantRuns { coordinator, run } => runs::show(load(dir)?, out, coordinator, run),
        Command::Completions { .. } | Command::Man { .. } => unreachable!("answered before the project is entered"),
    }
}

/// Moves into the project root and returns how output names it: `.` when
/// the command started there, else the absolute root. `-C DIR` behaves like
/// git's, and so does the upward search without it: as if started in the
/// root, so relative paths (a `sqlite:app.db` URL, the migrations
/// directory, `--tenants 'sqlite:tenants/*.db'`) are relative to it.
fn enter_project(given: Option<&Path>, command: &Command) -> CliResult<PathBuf> {
    let root = match given {
        Some(dir) => {
            if matches!(command, Command::Init) {
                // `wasmig -C new-project init` creates the project's directory.
                std::fs::create_dir_all(dir)?;
            }
            dir.to_path_buf()
        }
        None if !command.needs_project() => return Ok(PathBuf::from(".")),
        None => {
            let start = std::env::current_dir()?;
            let root = discovery::find_project(&start)?;
            if root == start {
                return Ok(PathBuf::from("."));
            }
            root
        }
    };
    if root == Path::new(".") {
        return Ok(root);
    }
    std::env::set_current_dir(&root)
        .map_err(|error| anyhow::Error::new(UsageError::new(format!("-C {}: {error}", root.display()))))?;
    // Paths in output stay as meaningful as from the root: absolute.
    Ok(std::env::current_dir()?)
}
