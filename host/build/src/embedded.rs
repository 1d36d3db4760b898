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
    ("wasmig_hooks.py", include_str!("../../../sdk/python/wasmig_hooks.py")),
];
const JS_SDK: &[(&str, &str)] = &[
    ("wasmig.js", include_str!("../../../sdk/js/wasmig.js")),
    ("wasmig-entry.js", include_str!("../../../sdk/js/wasmig-entry.js")),
    ("wasmig-hooks.js", include_str!("../../../sdk/js/wasmig-hooks.js")),
];

/// The Rust guest SDK as a crate of its own, written into a project by `crate::rust_sdk`:
/// (path inside the SDK folder, contents).
pub(crate) const RUST_SDK: &[(&str, &str)] = &[
    ("Cargo.toml", include_str!("../../../sdk/rust-template/sdk.Cargo.toml")),
    ("src/lib.rs", include_str!("../../../sdk/src/lib.rs")),
    ("src/db.rs", include_str!("../../../sdk/src/db.rs")),
    ("src/error.rs", include_str!("../../../sdk/src/error.rs")),
    ("src/value.rs", include_str!("../../../sdk/src/value.rs")),
    ("wit/wasmig.wit", CONTRACT_WIT),
];

/// `wasmig new --rust`: `{id}`, `{message}`, `{package}` and `{sdk_path}` are replaced.
pub(crate) const RUST_MANIFEST_TEMPLATE: &str = include_str!("../../../sdk/rust-template/Cargo.toml.in");
/// `wasmig new --rust`: `{id}` and `{message}` are replaced.
pub(crate) const RUST_SOURCE_TEMPLATE: &str = include_str!("../../../sdk/rust-template/revision.rs");
const C_SDK: &[(&str, &str)] = &[
    ("wasmig.h", include_str!("../../../sdk/c/wasmig.h")),
    ("wasmig_rt.c", include_str!("../../../sdk/c/wasmig_rt.c")),
];
/// The header the C generator writes for the world `revision`: an author's file may not take its name.
pub(crate) const C_BINDINGS_HEADER: &str = "revision.h";

/// `wasmig new --python`: `{id}` and `{message}` are replaced.
pub const PYTHON_TEMPLATE: &str = include_str!("../../../sdk/python/template/revision.py");
/// `wasmig new --js`: `{id}` and `{message}` are replaced.
pub const JS_TEMPLATE: &str = include_str!("../../../sdk/js/template/revision.js");
/// `wasmig new --c`: `{id}` and `{message}` are replaced.
pub const C_TEMPLATE: &str = include_str!("../../../sdk/c/template/revision.c");

/// The pinned toolchains (`sdk/toolchains/`), also what `scripts/setup.sh` installs.
pub(crate) const PYTHON_REQUIREMENTS: &str = include_str!("../../../sdk/toolchains/python/requirements.txt");
pub(crate) const JS_PACKAGE_JSON: &str = include_str!("../../../sdk/toolchains/js/package.json");
pub(crate) const JS_PACKAGE_LOCK: &str = include_str!("../../../sdk/toolchains/js/package-lock.json");
pub(crate) const PYTHON_PIN: &str = "0.25.1";
pub(crate) const JS_PIN: &str = "0.23.0";
/// The C compiler, from Debian bookworm's `clang-16` (with `lld-16`, `wasi-libc` and
/// `libclang-rt-16-dev-wasm32`), which `scripts/setup.sh` installs at a pinned version.
pub(crate) const C_COMPILER: &str = "clang-16";
pub(crate) const C_PACKAGES: &str = "clang-16 lld-16 wasi-libc libclang-rt-16-dev-wasm32";
#[cfg(test)]
const C_PACKAGE_PINS: &str = include_str!("../../../sdk/toolchains/c/packages.txt");
/// The wit-bindgen release whose C generator writes the bindings (the workspace's `wit-bindgen-c`).
pub(crate) const WIT_BINDGEN_C_PIN: &str = "0.61.1";

/// The SDK files staged beside the author's sources.
pub(crate) fn sdk_files(language: Language) -> impl Iterator<Item = (&'static str, &'static [u8])> {
    let files = match language {
        Language::Python => PYTHON_SDK,
        Language::JavaScript => JS_SDK,
        Language::C => C_SDK,
        Language::Rust => &[],
    };
    files.iter().map(|(name, text)| (*name, text.as_bytes()))
}

/// Names an author's file may not take: they would shadow the SDK.
pub(crate) fn reserved_names(language: Language) -> impl Iterator<Item = &'static str> {
    let bindings = if language == Language::C { Some(C_BINDINGS_HEADER) } else { None };
    sdk_files(language).map(|(name, _)| name).chain(bindings)
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
    fn the_c_packages_named_are_the_pinned_ones() {
        let pinned: Vec<&str> = C_PACKAGE_PINS
            .lines()
            .filter(|line| !line.starts_with('#') && !line.is_empty())
            .map(|line| line.split('=').next().unwrap())
            .collect();
        assert_eq!(pinned.join(" "), C_PACKAGES);
        assert!(pinned.contains(&C_COMPILER));
    }

    #[test]
    fn every_rust_sdk_source_is_embedded_and_pins_the_workspace_wit_bindgen() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sdk/src");
        for entry in std::fs::read_dir(&src).unwrap() {
            let name = format!("src/{}", entry.unwrap().file_name().to_string_lossy());
            assert!(RUST_SDK.iter().any(|(path, _)| *path == name), "{name} is missing from RUST_SDK");
        }
        let workspace = include_str!("../../../Cargo.toml");
        let pin = |text: &str| text.lines().find(|line| line.starts_with("wit-bindgen =")).map(str::to_owned);
        assert_eq!(pin(RUST_SDK[0].1), pin(workspace), "the SDK copy's wit-bindgen is the workspace's");
        let c_pin = format!("wit-bindgen-c = \"={WIT_BINDGEN_C_PIN}\"");
        assert!(workspace.lines().any(|line| line == c_pin), "the workspace pins {c_pin}");
    }

    #[test]
    fn templates_carry_their_placeholders() {
        assert!(RUST_MANIFEST_TEMPLATE.contains("{package}") && RUST_MANIFEST_TEMPLATE.contains("{sdk_path}"));
        for template in [PYTHON_TEMPLATE, JS_TEMPLATE, C_TEMPLATE, RUST_MANIFEST_TEMPLATE, RUST_SOURCE_TEMPLATE] {
            assert!(template.contains("{id}") && template.contains("{message}"));
        }
    }
}
