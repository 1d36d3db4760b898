//! The files a build needs besides the author's: the WIT contract, the guest SDK modules, the
//! `wasmig new` templates and the toolchain pins, compiled into the binary so that a project
//! outside this repository builds the same way.

use crate::language::Language;

/// The contract every revision targets (`sdk/wit/wasmig.wit`).
pub const CONTRACT_WIT: &str = include_str!("../../../sdk/wit/wasmig.wit");

/// The module componentize-py starts from: it wraps the author's `revision.py`.
pub(crate) const PYTHON_ENTRY_MODULE: &str = "wasmig_entry";
/// The file componentize-js starts from: it wraps the author's `revision.js`.
pub(crate) const JS_ENTRY_FILE: &str = "wasmig-entry.js";

const PYTHON_SDK: &[(&str, &str)] = &[
    ("wasmig.py", include_str!("../../../sdk/python/wasmig.py")),
    ("wasmig_entry.py", include_str!("../../../sdk/python/wasmig_entry.py")),
];
const JS_SDK: &[(&str, &str)] = &[
    ("wasmig.js", include_str!("../../../sdk/js/wasmig.js")),
    ("wasmig-entry.js", include_str!("../../../sdk/js/wasmig-entry.js")),
];

/// `wasmig new --python`: `{id}` and `{message}` are replaced.
pub const PYTHON_TEMPLATE: &str = include_str!("../../../sdk/python/template/revision.py");
/// `wasmig new --js`: `{id}` and `{message}` are replaced.
pub const JS_TEMPLATE: &str = include_str!("../../../sdk/js/template/revision.js");

/// The pinned toolchains (`sdk/toolchains/`), also what `scripts/setup.sh` installs.
pub(crate) const PYTHON_REQUIREMENTS: &str = include_str!("../../../sdk/toolchains/python/requirements.txt");
pub(crate) const JS_PACKAGE_JSON: &str = include_str!("../../../sdk/toolchains/js/package.json");
pub(crate) const JS_PACKAGE_LOCK: &str = include_str!("../../../sdk/toolchains/js/package-lock.json");
pub(crate) const PYTHON_PIN: &str = "0.25.1";
pub(crate) const JS_PIN: &str = "0.23.0";

/// The SDK files staged beside the author's sources.
pub(crate) fn sdk_files(language: Language) -> impl Iterator<Item = (&'static str, &'static [u8])> {
    let files = match language {
        Language::Python => PYTHON_SDK,
        Language::JavaScript => JS_SDK,
        Language::Rust => &[],
    };
    files.iter().map(|(name, text)| (*name, text.as_bytes()))
}

/// Names an author's file may not take: they would shadow the SDK.
pub(crate) fn reserved_names(language: Language) -> impl Iterator<Item = &'static str> {
    sdk_files(language).map(|(name, _)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pins_match_the_toolchain_files() {
        assert!(PYTHON_REQUIREMENTS.lines().any(|line| line.trim() == format!("componentize-py=={PYTHON_PIN}")));
        let package: serde_json::Value = serde_json::from_str(JS_PACKAGE_JSON).unwrap();
        assert_eq!(package["dependencies"]["@bytecodealliance/componentize-js"], JS_PIN);
        let lock: serde_json::Value = serde_json::from_str(JS_PACKAGE_LOCK).unwrap();
        assert_eq!(lock["packages"]["node_modules/@bytecodealliance/componentize-js"]["version"], JS_PIN);
    }

    #[test]
    fn templates_carry_their_placeholders() {
        for template in [PYTHON_TEMPLATE, JS_TEMPLATE] {
            assert!(template.contains("{id}") && template.contains("{message}"));
        }
    }
}
