#!/usr/bin/env python3
"""Benchmark of a fleet with nothing to do: `wasmig tenants status` and a no-op `wasmig tenants upgrade` on PostgreSQL schemas already at heads, against one psql reading every tenant's version table.

    python3 bench/fleet/noop.py [TENANTS] [REVISIONS] [ROUNDS] [postgres|sqlite]     (defaults: 1000 20 3 postgres)

Set-up (not timed): one fresh database on 127.0.0.1:5432 with SCHEMAS empty
schemas, brought to heads once by `wasmig tenants upgrade --jobs 2`.
Timed as whole processes, rounds alternating the contenders:

- floor:   `psql -c "SELECT ... FROM s1.wasmig_revisions UNION ALL ... FROM sN.wasmig_revisions"`:
           one process, one connection, one query over every version table.
- status:  `wasmig -C P --format json tenants status --tenants SOURCE --jobs 2`.
- noop:    `wasmig -C P --format json tenants upgrade --tenants SOURCE --jobs 2`.
`BEFORE_BIN=path` adds another wasmig build's status and no-op upgrade as contenders.

With `sqlite`, the tenants are TENANTS SQLite files (`sqlite:DIR/*.db`) and
the floor is one python3 process reading every file's version table through
the sqlite3 module (open, one SELECT, close: the least a file allows).
Prints median wall seconds and the ratios against the floor.
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from chain import write_chain_project  # noqa: E402  (the shared benchmark project)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TARGET = os.environ.get("CARGO_TARGET_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "wasmig", "target")
PG = os.environ.get("WASMIG_BENCH_PG", "postgres://postgres@127.0.0.1:5432")


def sh(*args, **kw):
    return subprocess.run(args, check=True, **kw)


def psql(database, sql, out=subprocess.DEVNULL):
    sh("psql", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-U", "postgres", "-d", database, "-c", sql,
       stdout=out)


def timed(args):
    started = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main():
    schemas = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    revisions = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    wasmig = os.environ.get("WASMIG_BIN")
    if not wasmig:
        sh("cargo", "build", "--release", "--locked", "-q", "-p", "wasmig-cli", cwd=ROOT)
        wasmig = os.path.join(TARGET, "release", "wasmig")
    before = os.environ.get("BEFORE_BIN")
    engine = sys.argv[4] if len(sys.argv) > 4 else "postgres"
    if engine == "sqlite":
        return sqlite_noop(wasmig, before, schemas, revisions, rounds)
    database = f"wasmig_bench_noop_{os.getpid()}"
    psql("test", f"CREATE DATABASE {database}")
    try:
        work = tempfile.mkdtemp(prefix="wasmig-noop-bench-")
        project = os.path.join(work, "project")
        write_chain_project(project, revisions)
        for start in range(0, schemas, 500):
            psql(database, "; ".join(f"CREATE SCHEMA tenant_{i:05}" for i in range(start, min(schemas, start + 500))))
        source = f"{PG}/{database}?schemas=tenant\\_%"
        sh(wasmig, "-C", project, "--format", "json", "tenants", "upgrade", "--tenants", source, "--jobs", "2",
           stdout=subprocess.DEVNULL)
        union = " UNION ALL ".join(
            f"SELECT '{i:05}' AS t, revision, checksum, state FROM tenant_{i:05}.wasmig_revisions"
            for i in range(schemas))
        floor_args = ["psql", "-q", "-h", "127.0.0.1", "-U", "postgres", "-d", database, "-o", "/dev/null", "-c", union]
        contenders = {
            "floor": floor_args,
            "status": [wasmig, "-C", project, "--format", "json", "tenants", "status", "--tenants", source, "--jobs", "2"],
            "noop": [wasmig, "-C", project, "--format", "json", "tenants", "upgrade", "--tenants", source, "--jobs", "2"],
        }
        if before:
            contenders["before status"] = [before] + contenders["status"][1:]
            contenders["before noop"] = [before] + contenders["noop"][1:]
        times = {name: [] for name in contenders}
        for _ in range(rounds):
            for name, args in contenders.items():
                times[name].append(timed(args))
        median = {name: statistics.median(values) for name, values in times.items()}
        print(f"{schemas} PostgreSQL schemas at heads ({revisions} revisions), {rounds} rounds, {os.cpu_count()} cores; "
              "median wall seconds")
        for name, seconds in median.items():
            print(f"{name:14} {seconds:8.3f}  x floor {seconds / median['floor']:6.1f}")
    finally:
        psql("test", f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


