#!/usr/bin/env bash
# Guest languages side by side (docs/PERFORMANCE.md, "Python and JavaScript
# revisions"): component size, first compile, and a cached load + `up` in
# the host (wasmig-bench guests), then whole `wasmig upgrade` processes with
# a warm component cache, one revision each, against an SQL revision.
# The Rust baseline is the test fixture that calls every import of the
# contract; Rust, Python, JavaScript and C are the `wasmig new` templates,
# built by `wasmig build` (whose lines give each build's time: the second Rust
# revision shows a build with the SDK already compiled).
# Needs the toolchains of scripts/setup.sh, and hyperfine. PROFILE=dev measures
# the dev build (dependencies optimised, wasmig's own crates not) instead of
# release.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
source "$repo/scripts/setup.sh"
command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine >/dev/null; }
profile=${PROFILE:-release}
if [ "$profile" = release ]; then profile_flag=--release; out=release; else profile_flag=; out=debug; fi
cargo build --quiet $profile_flag -p wasmig-cli -p wasmig-bench --manifest-path "$repo/Cargo.toml"
bin=$CARGO_TARGET_DIR/$out/wasmig
bench=$CARGO_TARGET_DIR/$out/wasmig-bench

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export WASMIG_CACHE_DIR=$work/cache
for language in sql python js rust c; do
  "$bin" -C "$work/$language" init >/dev/null
  "$bin" -C "$work/$language" new "--$language" --id "${language}1" -m "$language template" >/dev/null
done
# The SQL template's files hold only comments, which wasmig refuses to run: give it a statement.
echo "CREATE TABLE t_sql (id INTEGER);" > "$(echo "$work"/sql/migrations/sql1_*/up.sql)"
echo "DROP TABLE t_sql;" > "$(echo "$work"/sql/migrations/sql1_*/down.sql)"
# `new --python/--js` write source revisions (one shared interpreter); this script measures
# the per-revision components, so those two are switched to `kind = "component"` and built.
sed -i 's/^kind = .*/kind = "component"/' "$work"/python/migrations/python1_*/revision.toml "$work"/js/migrations/js1_*/revision.toml
"$bin" -q -C "$work/python" build
"$bin" -q -C "$work/js" build
"$bin" -C "$work/c" build 2>/dev/null
# Rust: a fresh project target directory (the first build compiles the SDK), then a second revision.
CARGO_TARGET_DIR=$work/rust/.wasmig/target "$bin" -C "$work/rust" build 2>/dev/null

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load: $(cut -d' ' -f1-3 /proc/loadavg)"
"$bench" guests \
  "rust=fixture:good" \
  "python=$(echo "$work"/python/migrations/python1_*/revision.wasm)" \
  "javascript=$(echo "$work"/js/migrations/js1_*/revision.wasm)" \
  "rust-new=$(echo "$work"/rust/migrations/rust1_*/revision.wasm)" \
  "c=$(echo "$work"/c/migrations/c1_*/revision.wasm)"

echo
echo "whole processes: wasmig upgrade of one revision on a new SQLite file, component cache warm"
hyperfine -N --warmup 2 --min-runs "${RUNS:-15}" --style basic \
  -L language sql,python,js,rust,c \
  --prepare "rm -f $work/{language}.db" \
  "$bin -q -C $work/{language} upgrade --database sqlite:$work/{language}.db"

echo
echo "a second Rust revision in the same project: the SDK is compiled already"
"$bin" -C "$work/rust" new --rust --id rust2 -m "second rust revision" >/dev/null
CARGO_TARGET_DIR=$work/rust/.wasmig/target "$bin" -C "$work/rust" build rust2 2>/dev/null
