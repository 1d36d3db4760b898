//! `wasmig init`: a new project.

use std::fs;
use std::path::Path;

use anyhow::Context as _;
use serde_json::json;
use wasmig::graph::{CONFIG_FILE, ProjectConfig};

use crate::cli::error::CliResult;
use crate::cli::exit::{Exit, UsageError};
use crate::cli::output::Output;

pub fn init(dir: &Path, out: Output) -> CliResult<Exit> {
    let config_path = dir.join(CONFIG_FILE);
    if config_path.exists() {
        return Err(UsageError::new(format!(
            "{} already exists: this is a wasmig project already",
            config_path.display()
        ))
        .into());
    }
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let migrations = dir.join(ProjectConfig::default().migrations_dir);
    fs::create_dir_all(&migrations).with_context(|| format!("cannot create {}", migrations.display()))?;
    // Git keeps no empty directories; the loader skips hidden files.
    fs::write(migrations.join(".gitkeep"), "").with_context(|| format!("cannot write in {}", migrations.display()))?;
    fs::write(&config_path, ProjectConfig::template())
        .with_context(|| format!("cannot write {}", config_path.display()))?;
    out.emit(
        || json!({ "config": config_path, "migrations_dir": migrations }),
        |t| {
            t.push_str(&format!(
                "created {} and {}\nnext: wasmig new -m \"create the first table\"\n",
                config_path.display(),
                migrations.display()
            ));
        },
    )?;
    Ok(Exit::Success)
}
