#!/usr/bin/env bash
# Sets up a fresh machine and runs every test: unit, property, integration
# (real SQLite files and the real PostgreSQL server) and CLI tests.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
# Each crate reads bottom-up: no two source files import each other, directly or around a loop.
python3 scripts/module-cycles.py host/*/src
cargo test --locked "$@"
