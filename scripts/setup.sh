#!/usr/bin/env bash
# Prepares a fresh machine of this project's kind (Debian, rustup, root) for
# building, testing and running wasmig. Safe to run again: it only installs
# or starts what is missing. Sourced by test.sh and demo.sh.
set -euo pipefail

# Builds go outside the clone so that repeated runs (and CI) reuse them.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/wasmig/target}"

# Guests: Rust revisions and the built-in plugins build for wasm32-unknown-unknown
# (linked into components by rustup's wasm-component-ld); one test fixture
# builds for wasm32-wasip2 to prove WASI imports are refused.
installed_targets=$(rustup target list --installed)
for target in wasm32-unknown-unknown wasm32-wasip2; do
    grep -qx "$target" <<<"$installed_targets" || rustup target add "$target"
done

apt_updated=0
need_apt() {  # need_apt COMMAND PACKAGE
    command -v "$1" >/dev/null 2>&1 && return 0
    if [ "$apt_updated" = 0 ]; then apt-get update -qq; apt_updated=1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
}
need_apt dot graphviz        # the CLI tests render `wasmig graph --format dot`
need_apt sqlite3 sqlite3     # offline SQL tests feed `--sql` output to sqlite3
need_apt psql postgresql-client
need_apt python3 python3    # scripts/module-cycles.py, the benchmarks

# Toolchains for Python and JavaScript revisions (`wasmig build`), pinned in
# sdk/toolchains/ and installed where wasmig looks first; the same steps as
# `wasmig build --install-tools`. Reinstalled only when a pin changes.
repo_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export WASMIG_TOOLS_DIR="${WASMIG_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/wasmig/tools}"
python_pin=$(sed -n 's/^componentize-py==//p' "$repo_dir/sdk/toolchains/python/requirements.txt")
if ! "$WASMIG_TOOLS_DIR/python/bin/componentize-py" --version 2>/dev/null | grep -qx "componentize-py $python_pin"; then
    need_apt python3 python3-venv
    python3 -m venv "$WASMIG_TOOLS_DIR/python"
    "$WASMIG_TOOLS_DIR/python/bin/pip" install --quiet --disable-pip-version-check \
        -r "$repo_dir/sdk/toolchains/python/requirements.txt"
fi
if ! cmp -s "$repo_dir/sdk/toolchains/js/package-lock.json" "$WASMIG_TOOLS_DIR/js/.installed-lock"; then
    need_apt node nodejs
    need_apt npm npm
    mkdir -p "$WASMIG_TOOLS_DIR/js"
    cp "$repo_dir/sdk/toolchains/js/package.json" "$repo_dir/sdk/toolchains/js/package-lock.json" "$WASMIG_TOOLS_DIR/js/"
    npm ci --no-audit --no-fund --loglevel=error --prefix "$WASMIG_TOOLS_DIR/js" >/dev/null
    cp "$repo_dir/sdk/toolchains/js/package-lock.json" "$WASMIG_TOOLS_DIR/js/.installed-lock"
fi

# The C toolchain for C revisions, pinned in sdk/toolchains/c/packages.txt
# (Debian bookworm's clang-16, lld-16, wasi-libc and wasm32 compiler runtime).
c_missing=()
while read -r pin; do
    package=${pin%%=*}
    [ "$(dpkg-query -W -f='${Version}' "$package" 2>/dev/null)" = "${pin#*=}" ] || c_missing+=("$pin")
done < <(grep -v '^#' "$repo_dir/sdk/toolchains/c/packages.txt" | grep .)
if [ "${#c_missing[@]}" -gt 0 ]; then
    if [ "$apt_updated" = 0 ]; then apt-get update -qq; apt_updated=1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends --allow-downgrades \
        "${c_missing[@]}" >/dev/null
fi

# PostgreSQL: the integration tests need the local server (127.0.0.1:5432,
# trust auth, user postgres); start it when it is down.
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    if [ -d /etc/postgresql ]; then
        pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
    fi
    for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
    pg_isready -h 127.0.0.1 -p 5432 || { echo "PostgreSQL is not reachable at 127.0.0.1:5432" >&2; exit 1; }
fi
