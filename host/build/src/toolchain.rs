//! Finding the pinned guest toolchains (componentize-py, componentize-js, cargo) and installing them.
//!
//! wasmig's own tools folder (`$WASMIG_TOOLS_DIR`, else `~/.cache/wasmig/tools`) comes first, so a
//! project builds with the versions wasmig pins; a tool on `PATH` is the fallback.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::embedded::{JS_PACKAGE_JSON, JS_PACKAGE_LOCK, PYTHON_PIN, PYTHON_REQUIREMENTS};
use crate::error::BuildError;
use crate::language::Language;
use crate::tool::Tool;

/// `$WASMIG_TOOLS_DIR`, else `$XDG_CACHE_HOME/wasmig/tools`, else `~/.cache/wasmig/tools`.
pub fn default_tools_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("WASMIG_TOOLS_DIR").filter(|dir| !dir.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))?;
    Some(cache.join("wasmig").join("tools"))
}

/// Where the toolchains are looked for.
#[derive(Debug, Clone)]
pub struct Toolchains {
    tools_dir: Option<PathBuf>,
}

impl Toolchains {
    pub fn new(tools_dir: Option<PathBuf>) -> Self {
        Toolchains { tools_dir }
    }

    pub fn tools_dir(&self) -> Option<&Path> {
        self.tools_dir.as_deref()
    }

    /// wasmig's own copy of a tool, where `install` puts it.
    fn own_copy(&self, tool: Tool) -> Option<PathBuf> {
        let dir = self.tools_dir.as_ref()?;
        match tool {
            Tool::ComponentizePy => Some(dir.join("python/bin/componentize-py")),
            Tool::ComponentizeJs => Some(dir.join("js/node_modules/.bin/componentize-js")),
            _ => None,
        }
    }

    /// The tool's path: wasmig's own copy, else the first on `PATH`.
    pub fn find(&self, tool: Tool) -> Result<PathBuf, BuildError> {
        let mut looked = Vec::new();
        if let Some(own) = self.own_copy(tool) {
            if own.is_file() {
                return Ok(own);
            }
            looked.push(own.display().to_string());
        }
        if let Some(path) = std::env::var_os("PATH") {
            for dir in std::env::split_paths(&path) {
                let candidate = dir.join(tool.program());
                if candidate.is_file() {
                    return Ok(candidate);
                }
            }
        }
        looked.push("PATH".to_owned());
        Err(BuildError::ToolMissing { tool, looked, hint: tool.install_hint(self.tools_dir()) })
    }

    /// The componentizer for `language` and its version line, e.g. `componentize-py 0.25.1`.
    pub fn componentizer(&self, language: Language) -> Result<(PathBuf, String), BuildError> {
        let tool = Tool::componentizer(language);
        if tool == Tool::ComponentizeJs {
            self.find(Tool::Node)?;
        }
        let path = self.find(tool)?;
        let version = version_line(&path, tool)?;
        let version = if version.starts_with(tool.program()) { version } else { format!("{tool} {version}") };
        Ok((path, version))
    }

    pub(crate) fn cargo(&self) -> Result<PathBuf, BuildError> {
        self.find(Tool::Cargo)
    }

    /// Fails with the `rustup target add` command when rustup knows the target is missing.
    pub(crate) fn require_rust_target(&self, target: &str) -> Result<(), BuildError> {
        let Ok(output) = Command::new("rustup").args(["target", "list", "--installed"]).output() else {
            return Ok(()); // no rustup: let cargo say what is wrong
        };
        if output.status.success() && !String::from_utf8_lossy(&output.stdout).lines().any(|line| line.trim() == target)
        {
            return Err(BuildError::RustTargetMissing { target: target.to_owned() });
        }
        Ok(())
    }

    pub(crate) fn rustc_version(&self) -> String {
        Command::new("rustc")
            .arg("--version")
            .output()
            .ok()
            .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
            .filter(|version| !version.is_empty())
            .unwrap_or_else(|| "rustc".to_owned())
    }

    /// Installs the pinned toolchain for `language` into the tools folder,
    /// unless that exact version is there already. Returns whether it installed.
    pub fn install(&self, language: Language) -> Result<bool, BuildError> {
        let dir = self.tools_dir.clone().ok_or(BuildError::NoToolsDir)?;
        match language {
            // Rust comes with rustup, and C's compiler from the system's packages (scripts/setup.sh).
            Language::Rust | Language::C => Ok(false),
            Language::Python => {
                let own = self.own_copy(Tool::ComponentizePy).expect("tools dir is set");
                if own.is_file() && version_line(&own, Tool::ComponentizePy).is_ok_and(|v| v.ends_with(PYTHON_PIN)) {
                    return Ok(false);
                }
                let venv = dir.join("python");
                let python = self.find(Tool::Python3)?;
                run(Command::new(python).args(["-m", "venv"]).arg(&venv), Tool::Python3)?;
                let requirements = dir.join("python-requirements.txt");
                std::fs::write(&requirements, PYTHON_REQUIREMENTS)
                    .map_err(|source| BuildError::Io { path: requirements.clone(), source })?;
                run(
                    Command::new(venv.join("bin/pip")).args(["install", "--quiet", "-r"]).arg(&requirements),
                    Tool::Python3,
                )?;
                Ok(true)
            }
            Language::JavaScript => {
                let js = dir.join("js");
                let own = self.own_copy(Tool::ComponentizeJs).expect("tools dir is set");
                if own.is_file()
                    && std::fs::read_to_string(js.join(".installed-lock")).ok().as_deref() == Some(JS_PACKAGE_LOCK)
                {
                    return Ok(false);
                }
                self.find(Tool::Node)?;
                let npm = self.find(Tool::Npm)?;
                std::fs::create_dir_all(&js).map_err(|source| BuildError::Io { path: js.clone(), source })?;
                for (name, text) in [("package.json", JS_PACKAGE_JSON), ("package-lock.json", JS_PACKAGE_LOCK)] {
                    let path = js.join(name);
                    std::fs::write(&path, text).map_err(|source| BuildError::Io { path, source })?;
                }
                run(Command::new(npm).args(["ci", "--no-audit", "--no-fund", "--prefix"]).arg(&js), Tool::Npm)?;
                let marker = js.join(".installed-lock");
                std::fs::write(&marker, JS_PACKAGE_LOCK).map_err(|source| BuildError::Io { path: marker, source })?;
                Ok(true)
            }
        }
    }
}

pub(crate) fn version_line(path: &Path, tool: Tool) -> Result<String, BuildError> {
    let output = Command::new(path).arg("--version").output().map_err(|source| BuildError::Spawn {
        tool,
        path: path.to_owned(),
        source,
    })?;
    let text = String::from_utf8_lossy(&output.stdout);
    match text.lines().next().map(str::trim).filter(|line| !line.is_empty()) {
        Some(line) if output.status.success() => Ok(line.to_owned()),
        _ => Err(BuildError::ToolFailed {
            revision: String::new(),
            tool,
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        }),
    }
}

fn run(command: &mut Command, tool: Tool) -> Result<(), BuildError> {
    let shown = format!("{command:?}");
    let output =
        command.output().map_err(|source| BuildError::Spawn { tool, path: PathBuf::from(tool.program()), source })?;
    if output.status.success() {
        return Ok(());
    }
    Err(BuildError::Install {
        command: shown,
        status: output.status.to_string(),
        stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_tool_says_where_it_looked_and_how_to_install_it() {
        let empty = tempfile::tempdir().unwrap();
        let tools = Toolchains::new(Some(empty.path().to_owned()));
        // componentize-py is never on this test's PATH under its own name with this folder empty,
        // unless a developer installed it globally; the message is what is checked.
        if let Err(error) = tools.find(Tool::ComponentizePy) {
            let text = error.to_string();
            assert!(text.contains("componentize-py"), "{text}");
            assert!(text.contains(&empty.path().join("python/bin/componentize-py").display().to_string()), "{text}");
            assert!(text.contains("--install-tools") && text.contains(PYTHON_PIN), "{text}");
            let venv = format!("python3 -m venv {}/python", empty.path().display());
            assert!(text.contains(&venv), "the hint names the tools folder in use: {text}");
        }
    }
}
