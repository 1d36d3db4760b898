//! The `wasmig` binary: everything lives in the `cli` module.

mod cli;

fn main() -> std::process::ExitCode {
    cli::run()
}
