#!/usr/bin/env bash
# Times whole `wasmig` processes (heads, history, plan head --from base) on
# generated projects of 1,000 and 10,000 revisions, linear and branchy.
# The numbers go to docs/PERFORMANCE.md, section "Revision graph".
# Needs: python3, hyperfine (apt-get install -y hyperfine).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# The same build directory as scripts/setup.sh, outside the clone.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/wasmig/target}
command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine >/dev/null; }
cargo build --release -p wasmig-cli --manifest-path "$repo/Cargo.toml"
bin=$CARGO_TARGET_DIR/release/wasmig

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for shape in linear branchy; do
  for n in 1000 10000; do
    python3 "$here/gen.py" "$shape" "$n" "$work/$shape-$n"
  done
done

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load: $(cut -d' ' -f1-3 /proc/loadavg)"
hyperfine -N --warmup 3 --min-runs "${RUNS:-20}" --style basic \
  -L project branchy-10000,linear-10000,branchy-1000,linear-1000 \
  --export-markdown "$work/results.md" \
  "$bin -C $work/{project} heads" \
  "$bin -C $work/{project} history" \
  "$bin -C $work/{project} plan head --from base"
sed "s#$work/##g; s#$bin#wasmig#g" "$work/results.md"
