//! `wasmig completions SHELL` and `wasmig man`: generated from the clap definitions, so they list exactly what the parser accepts.

use std::path::Path;

use anyhow::Context as _;
use clap::CommandFactory as _;

use crate::cli::args::Args;
use crate::cli::error::CliResult;
use crate::cli::exit::Exit;
use crate::cli::output::Output;

pub fn completions(shell: clap_complete::Shell, out: Output) -> CliResult<Exit> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Args::command(), "wasmig", &mut script);
    out.raw(&String::from_utf8_lossy(&script))?;
    Ok(Exit::Success)
}

/// The page of `wasmig` itself on stdout; with `dir`, that page and one per
/// command and subcommand (`wasmig-upgrade.1`, `wasmig-tenants-status.1`).
pub fn man(dir: Option<&Path>, out: Output) -> CliResult<Exit> {
    let command = Args::command();
    match dir {
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(command).render(&mut page)?;
            out.raw(&String::from_utf8_lossy(&page))?;
        }
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
            clap_mangen::generate_to(command, dir)
                .with_context(|| format!("cannot write the manual pages into {}", dir.display()))?;
            out.note(format!("wrote the manual pages into {}", dir.display()));
        }
    }
    Ok(Exit::Success)
}
