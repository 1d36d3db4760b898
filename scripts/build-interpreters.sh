#!/usr/bin/env bash
# Rebuilds the interpreter plugins, plugins/python/revision.wasm (CPython,
# componentize-py) and plugins/js/revision.wasm (StarlingMonkey,
# componentize-js), which the host binary embeds to run `kind = "python"` and
# `kind = "js"` revisions, and writes beside each the SHA-256 of the sources
# it was built from (revision.sha256sums). Run it after changing a plugin,
# the Python or JavaScript SDK, the WIT contract or a toolchain pin, and
# commit the result: tests/interpreted.rs fails until you do.
#
# Usage: bash scripts/build-interpreters.sh [python] [js]   (both by default)
#
# The builds are not byte-reproducible (the interpreters' snapshots differ
# from one build to the next), so what CI checks is the list of sources, not
# a rebuild's bytes (docs/BUILDING.md).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
tools=${WASMIG_TOOLS_DIR}
languages=("$@")
[ "${#languages[@]}" -gt 0 ] || languages=(python js)

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

for language in "${languages[@]}"; do
    mkdir -p "$stage/$language/src" "$stage/$language/wit"
    cp sdk/wit/wasmig.wit "$stage/$language/wit/"
    case "$language" in
        python)
            sources=(plugins/python/wasmig_python.py sdk/python/wasmig.py sdk/python/wasmig_hooks.py
                     sdk/wit/wasmig.wit sdk/toolchains/python/requirements.txt)
            cp plugins/python/wasmig_python.py sdk/python/wasmig.py sdk/python/wasmig_hooks.py "$stage/python/src/"
            (cd "$stage/python" && "$tools/python/bin/componentize-py" -d wit -w revision componentize --stub-wasi \
                -p src wasmig_python -o revision.wasm >/dev/null)
            ;;
        js)
            # acorn (the parser the plugin turns modules into functions with) is the version
            # sdk/toolchains/js/package-lock.json pins, from the installed toolchain.
            sources=(plugins/js/wasmig-js.js sdk/js/wasmig.js sdk/js/wasmig-hooks.js
                     sdk/wit/wasmig.wit sdk/toolchains/js/package-lock.json)
            cp plugins/js/wasmig-js.js sdk/js/wasmig.js sdk/js/wasmig-hooks.js "$stage/js/src/"
            cp "$tools/js/node_modules/acorn/dist/acorn.mjs" "$stage/js/src/"
            (cd "$stage/js" && "$tools/js/node_modules/.bin/componentize-js" src/wasmig-js.js --wit wit -n revision \
                -d stdio random clocks http fetch-event -o revision.wasm >/dev/null)
            ;;
        *)
            echo "unknown interpreter '$language' (python or js)" >&2
            exit 2
            ;;
    esac
    cp "$stage/$language/revision.wasm" "plugins/$language/revision.wasm"
    sha256sum "${sources[@]}" "plugins/$language/revision.wasm" >"plugins/$language/revision.sha256sums"
    echo "plugins/$language/revision.wasm: $(wc -c <"plugins/$language/revision.wasm") bytes"
done
