#!/usr/bin/env bash
# Rebuilds the Rust revisions of the examples (every revision directory of
# examples/*/migrations with a Cargo.toml) and writes each one's committed
# revision.wasm. Run it after changing a revision's source, the SDK or the WIT
# contract, and commit the result: the test
# `the_committed_demo_revisions_are_what_their_sources_build_to` fails until
# you do. Note that a rebuilt revision.wasm changes the revision's checksum:
# databases that already applied it then report drift.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
out="$CARGO_TARGET_DIR/examples"

revision_dirs=()
packages=()
for manifest in examples/*/migrations/*/Cargo.toml; do
    [ -e "$manifest" ] || continue
    dir=$(dirname "$manifest")
    # The crate's [package] name: the first `name = "..."` line of its Cargo.toml.
    package=$(sed -n 's/^name *= *"\(.*\)"/\1/p' "$manifest" | head -n1)
    [ -n "$package" ] || { echo "$manifest: no package name" >&2; exit 1; }
    revision_dirs+=("$dir")
    packages+=("$package")
done
[ "${#packages[@]}" -gt 0 ] || { echo "no Rust revisions under examples/" >&2; exit 1; }

package_args=()
for package in "${packages[@]}"; do package_args+=(-p "$package"); done
cargo build --locked --quiet --profile guest --target wasm32-unknown-unknown --target-dir "$out" "${package_args[@]}"

for index in "${!packages[@]}"; do
    built="$out/wasm32-unknown-unknown/guest/${packages[$index]//-/_}.wasm"
    cp "$built" "${revision_dirs[$index]}/revision.wasm"
    echo "${revision_dirs[$index]}/revision.wasm: $(wc -c <"${revision_dirs[$index]}/revision.wasm") bytes"
done
