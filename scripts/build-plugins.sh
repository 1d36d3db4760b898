#!/usr/bin/env bash
# Rebuilds the built-in plugins from plugins/*/src and writes the
# revision.wasm files that the host binary embeds. Run it after changing a
# plugin, the SDK or the WIT contract, and commit the result: the test
# `the_shipped_plugins_are_what_their_sources_build_to` fails until you do.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
out="$CARGO_TARGET_DIR/plugins"
cargo build --locked --quiet --profile guest --target wasm32-unknown-unknown --target-dir "$out" \
    -p wasmig-plugin-sql -p wasmig-plugin-merge
for plugin in sql merge; do
    cp "$out/wasm32-unknown-unknown/guest/wasmig_plugin_$plugin.wasm" "plugins/$plugin/revision.wasm"
    echo "plugins/$plugin/revision.wasm: $(wc -c <"plugins/$plugin/revision.wasm") bytes"
done
