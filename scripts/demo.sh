#!/usr/bin/env bash
# The README's first command: sets up a fresh machine, builds the wasmig CLI
# and runs the demo project (examples/demo, see docs/EXAMPLES.md) on a new
# SQLite database, printing each command before it runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

echo "Building the wasmig CLI (the first build compiles wasmtime: several minutes)..."
cargo build --quiet -p wasmig-cli
wasmig_binary="$CARGO_TARGET_DIR/debug/wasmig"

workdir=$(mktemp -d "${TMPDIR:-/tmp}/wasmig-demo.XXXXXX")
database="sqlite:$workdir/demo.db"
project=examples/demo
# Above the merge revision 00fee23194f5: merges are never reverted, so this
# is as far down as the demo can go once both branches are joined.
above_merge=acea9d3dbb7c
below_merge=329ec3722515

# Commands stand out in bold on a terminal, plain when piped.
if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi

# step EXPECTED_EXIT ARGS...: prints the command, runs it, and stops the demo
# if it does not exit as expected (status exits 3 while the database is behind).
# The database comes from DATABASE_URL, as the README shows: commands that
# never open one (heads, branches, ...) would refuse a typed --database.
step() {
    local expected=$1
    shift
    printf '\n%s$ wasmig -C %s %s%s\n' "$bold" "$project" "$*" "$plain"
    local code=0
    "$wasmig_binary" -C "$project" "$@" || code=$?
    if [ "$code" != "$expected" ]; then
        echo "demo: \`wasmig $*\` exited $code, expected $expected" >&2
        exit 1
    fi
}

# sql QUERY: shows what the revisions left in the database.
sql() {
    printf '\n%s$ sqlite3 -header -column %s "%s"%s\n' "$bold" "$workdir/demo.db" "$1" "$plain"
    sqlite3 -header -column "$workdir/demo.db" "$1"
}

export DATABASE_URL="$database"
printf '\n%s$ export DATABASE_URL=%s%s\n' "$bold" "$database" "$plain"

# The graph: read from revision.toml files only, no database needed.
step 0 heads
step 0 branches
step 0 history
# What an upgrade would run against the new, empty database.
step 0 plan heads

step 0 upgrade
step 0 status
step 0 current
step 0 verify
sql "SELECT id, email, display_name, handle FROM accounts ORDER BY id"
sql "SELECT * FROM note_feed ORDER BY note_id"

# Below the merge is refused before any step runs...
printf '\n(expected to be refused with exit code 2: %s is below the merge)\n' "$below_merge"
step 2 downgrade "$below_merge"
# ...above it is fine.
step 0 plan "$above_merge" --down
step 0 downgrade "$above_merge"
step 3 status
step 0 current

step 0 upgrade
step 0 status

printf '\nThe demo database is %s\n' "$workdir/demo.db"
