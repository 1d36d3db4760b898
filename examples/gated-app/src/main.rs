//! The gated app's binary: `gated-app [--project DIR] [--database URL] [--listen ADDR]`; exits non-zero when start-up stops.
//!
//! `--database` falls back to `DATABASE_URL`; `--project` defaults to the
//! crate's own directory, `--listen` to 127.0.0.1:8080. Once serving it
//! prints `listening on ADDR` on stdout.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use gated_app::{Config, StartupLog, start};

const USAGE: &str = "usage: gated-app [--project DIR] [--database URL] [--listen ADDR]";

fn config_from_args() -> Result<Config, String> {
    let mut project_dir = Config::bundled_project_dir();
    let mut database_url = std::env::var("DATABASE_URL").ok();
    let mut listen: SocketAddr = "127.0.0.1:8080".parse().expect("a valid default address");
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"));
        match flag.as_str() {
            "--project" => project_dir = PathBuf::from(value()?),
            "--database" => database_url = Some(value()?),
            "--listen" => listen = value()?.parse().map_err(|error| format!("--listen: {error}"))?,
            "--help" | "-h" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    let database_url =
        database_url.ok_or_else(|| format!("no database: pass --database URL or set DATABASE_URL\n{USAGE}"))?;
    Ok(Config { project_dir, database_url, listen })
}

fn main() -> ExitCode {
    let config = match config_from_args() {
        Ok(config) => config,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    match start(&config, &StartupLog::echoing_to_stderr()) {
        Ok(app) => {
            println!("listening on {}", app.address());
            app.wait();
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("gated-app: start-up stopped: {error}");
            ExitCode::FAILURE
        }
    }
}
