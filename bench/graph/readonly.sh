#!/usr/bin/env bash
# Read-only commands with and without the project cache (issue 18): `heads`,
# `history`, `plan head --from base` at 10,000 revisions (linear, branchy),
# and `status`, `current` against a SQLite database with 1,000 applied
# revisions; wall times (hyperfine) and system calls (strace -f -c).
# The cache off is `WASMIG_PROJECT_CACHE=off` (every file read, as before the
# cache); on is a warm cache (a run before the timed ones fills it).
# The numbers go to docs/PERFORMANCE.md, section "Read-only commands and the project cache".
# Needs: python3, hyperfine, strace; a release build (built here).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/wasmig/target}
[ -n "${SKIP_BUILD:-}" ] || cargo build --release -p wasmig-cli --manifest-path "$repo/Cargo.toml"
bin=$CARGO_TARGET_DIR/release/wasmig

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export WASMIG_CACHE_DIR=$work/cache
for shape in linear branchy; do
  python3 "$here/gen.py" "$shape" 10000 "$work/$shape-10000"
done
# 1,000 revisions that each create a table, all applied.
python3 "$here/gen.py" linear 1000 "$work/applied-1000"
python3 - "$work/applied-1000" <<'PY'
import glob, sys
for d in glob.glob(sys.argv[1] + "/migrations/*"):
    n = d.rsplit("_", 1)[1]
    open(d + "/up.sql", "w").write(f"CREATE TABLE t_{n} (id INTEGER);\n")
    open(d + "/down.sql", "w").write(f"DROP TABLE t_{n};\n")
PY
db="sqlite://$work/applied-1000.db"
"$bin" -C "$work/applied-1000" --database "$db" upgrade >/dev/null
# Files younger than 2 s are not cached: let them settle, then fill the cache.
sleep 3
for p in linear-10000 branchy-10000; do "$bin" -C "$work/$p" heads >/dev/null; done
"$bin" -C "$work/applied-1000" --database "$db" status >/dev/null

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load: $(cut -d' ' -f1-3 /proc/loadavg)"
runs=${RUNS:-20}
hyperfine -N --warmup 3 --min-runs "$runs" --style basic \
  -L cache off,on -L project branchy-10000,linear-10000 \
  --export-markdown "$work/graph.md" \
  "env WASMIG_PROJECT_CACHE={cache} $bin -C $work/{project} heads" \
  "env WASMIG_PROJECT_CACHE={cache} $bin -C $work/{project} history" \
  "env WASMIG_PROJECT_CACHE={cache} $bin -C $work/{project} plan head --from base" >/dev/null
hyperfine -N --warmup 3 --min-runs "$runs" --style basic -i \
  -L cache off,on \
  --export-markdown "$work/status.md" \
  "env WASMIG_PROJECT_CACHE={cache} $bin -C $work/applied-1000 --database $db status" \
  "env WASMIG_PROJECT_CACHE={cache} $bin -C $work/applied-1000 --database $db current" >/dev/null
sed "s#$work/##g; s#$bin#wasmig#g; s#env WASMIG_PROJECT_CACHE=##g" "$work/graph.md" "$work/status.md"

echo
echo "system calls (strace -f -c), cache off / on:"
for cache in off on; do
  for cmd in "linear-10000 heads" "applied-1000 --database $db status" "applied-1000 --database $db current"; do
    set -- $cmd
    strace -f -c -o "$work/strace" env WASMIG_PROJECT_CACHE=$cache "$bin" -C "$work/$1" "${@:2}" >/dev/null 2>&1 || true
    counts=$(awk '$NF ~ /^(openat|read|statx|newfstatat|clone3|close)$/ { c[$NF] = ($5 ~ /^[0-9]+$/ ? $4 : $4) } END { printf "openat %d, read %d, statx %d, close %d, clone3 %d", c["openat"], c["read"], c["statx"], c["close"], c["clone3"] }' "$work/strace")
    echo "  $cache: ${cmd/$db/DB}: $counts"
  done
done
