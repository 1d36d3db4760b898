//! The external programs a build runs (cargo, componentize-py, componentize-js, clang and their helpers):
//! their names and how to get each one.

use std::path::Path;

use crate::embedded::{C_COMPILER, C_PACKAGES, JS_PIN, PYTHON_PIN};
use crate::language::Language;

/// An external program a build runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    ComponentizePy,
    ComponentizeJs,
    Node,
    Cargo,
    Python3,
    Npm,
    Clang,
}

impl Tool {
    pub fn program(self) -> &'static str {
        match self {
            Tool::ComponentizePy => "componentize-py",
            Tool::ComponentizeJs => "componentize-js",
            Tool::Node => "node",
            Tool::Cargo => "cargo",
            Tool::Python3 => "python3",
            Tool::Npm => "npm",
            Tool::Clang => C_COMPILER,
        }
    }

    pub(crate) fn componentizer(language: Language) -> Tool {
        match language {
            Language::Python => Tool::ComponentizePy,
            Language::JavaScript => Tool::ComponentizeJs,
            Language::Rust => Tool::Cargo,
            Language::C => Tool::Clang,
        }
    }

    /// What the tool is for and how to get it, for a "not found" error;
    /// `tools_dir` is where `--install-tools` would put it.
    pub fn install_hint(self, tools_dir: Option<&Path>) -> String {
        let dir = tools_dir.map_or_else(|| "~/.cache/wasmig/tools".to_owned(), |dir| dir.display().to_string());
        match self {
            Tool::ComponentizePy => format!(
                "it builds Python revisions. Install the pinned version with `wasmig build --install-tools`, \
                 or `python3 -m venv {dir}/python && {dir}/python/bin/pip install componentize-py=={PYTHON_PIN}`"
            ),
            Tool::ComponentizeJs => format!(
                "it builds JavaScript revisions. Install the pinned version (componentize-js {JS_PIN}) into {dir}/js \
                 with `wasmig build --install-tools`; it needs Node.js 20 or later and npm"
            ),
            Tool::Node => {
                "componentize-js runs on Node.js 20 or later: install it (Debian: `apt install nodejs npm`)".to_owned()
            }
            Tool::Cargo => "it builds Rust revisions: install Rust with rustup (https://rustup.rs)".to_owned(),
            Tool::Python3 => {
                "installing componentize-py needs Python 3.10 or later with venv (Debian: `apt install python3-venv`)"
                    .to_owned()
            }
            Tool::Npm => "installing componentize-js needs npm (Debian: `apt install npm`)".to_owned(),
            Tool::Clang => format!(
                "it compiles C revisions for wasm32 against wasi-libc. Debian 12: `apt install {C_PACKAGES}` \
                 (scripts/setup.sh installs the pinned versions)"
            ),
        }
    }
}

impl std::fmt::Display for Tool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.program())
    }
}

/// The last lines of a tool's output: where its error is.
pub(crate) fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().filter(|line| !line.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}
