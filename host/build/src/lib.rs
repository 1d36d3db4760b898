//! Building component revisions from source: which language a revision is written in, whether its
//! `revision.wasm` is up to date, and running the pinned toolchain that turns it into a component.
//!
//! Rust builds are reproducible, so a Rust revision is up to date when a fresh build gives the same
//! bytes. Python and JavaScript builds are not (docs/GUESTS.md): their `revision.wasm` is up to date
//! when the digest of their inputs matches the one in `revision.build.toml`, written beside it. C
//! revisions are stamped the same way: their bytes depend on the system's clang and wasi-libc.

mod builder;
mod c;
mod detect;
mod embedded;
mod error;
mod language;
mod output;
mod rust_sdk;
mod stamp;
mod tool;
mod toolchain;

pub use builder::{BuildOptions, BuildOutcome, build};
pub use detect::detect;
pub use embedded::{C_TEMPLATE, CONTRACT_WIT, JS_TEMPLATE, PYTHON_TEMPLATE};
pub use error::BuildError;
pub use language::Language;
pub use output::MODULE_FILE;
pub use rust_sdk::{RUST_SDK_DIR, SdkCopy, ensure_rust_sdk, is_standalone, rust_template, shared_target_dir};
pub use stamp::{STAMP_FILE, Stamp};
pub use tool::Tool;
pub use toolchain::{Toolchains, default_tools_dir};
