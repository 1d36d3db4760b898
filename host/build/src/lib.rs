//! Building component revisions from source: which language a revision is written in, whether its
//! `revision.wasm` is up to date, and running the pinned toolchain that turns it into a component.
//!
//! Rust builds are reproducible, so a Rust revision is up to date when a fresh build gives the same
//! bytes. Python and JavaScript builds are not (docs/GUESTS.md): their `revision.wasm` is up to date
//! when the digest of their inputs matches the one in `revision.build.toml`, written beside it.

mod builder;
mod detect;
mod embedded;
mod error;
mod language;
mod output;
mod stamp;
mod tool;
mod toolchain;

pub use builder::{BuildOptions, BuildOutcome, build};
pub use detect::detect;
pub use embedded::{CONTRACT_WIT, JS_TEMPLATE, PYTHON_TEMPLATE};
pub use error::BuildError;
pub use language::Language;
pub use output::MODULE_FILE;
pub use stamp::{STAMP_FILE, Stamp};
pub use tool::Tool;
pub use toolchain::{Toolchains, default_tools_dir};
