#!/usr/bin/env bash
# Guest languages side by side (docs/PERFORMANCE.md, "Python and JavaScript
# revisions"): component size, first compile, and a cached load + `up` in
# the host (wasmig-bench guests), then whole `wasmig upgrade` processes with
# a warm component cache, one revision each, against an SQL revision.
# The Rust baseline is the test fixture that calls every import of the
# contract; Python and JavaScript are the `wasmig new` templates, built by
# `wasmig build`.
# Needs the toolchains of scripts/setup.sh, and hyperfine.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
source "$repo/scripts/setup.sh"
command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine >/dev/null; }
cargo build --quiet --release -p wasmig-cli -p wasmig-bench --manifest-path "$repo/Cargo.toml"
bin=$CARGO_TARGET_DIR/release/wasmig
bench=$CARGO_TARGET_DIR/release/wasmig-bench

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export WASMIG_CACHE_DIR=$work/cache
for language in sql python js; do
  "$bin" -C "$work/$language" init >/dev/null
  "$bin" -C "$work/$language" new "--$language" --id "${language}1" -m "$language template" >/dev/null
done
"$bin" -q -C "$work/python" build
"$bin" -q -C "$work/js" build

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load: $(cut -d' ' -f1-3 /proc/loadavg)"
"$bench" guests \
  "rust=fixture:good" \
  "python=$(echo "$work"/python/migrations/python1_*/revision.wasm)" \
  "javascript=$(echo "$work"/js/migrations/js1_*/revision.wasm)"

echo
echo "whole processes: wasmig upgrade of one revision on a new SQLite file, component cache warm"
hyperfine -N --warmup 2 --min-runs "${RUNS:-15}" --style basic \
  -L language sql,python,js \
  --prepare "rm -f $work/{language}.db" \
  "$bin -q -C $work/{language} upgrade --database sqlite:$work/{language}.db"
