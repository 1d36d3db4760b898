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
from common import PG, drop_database, fresh_database, wasmig_binary  # noqa: E402


def sh(*args, **kw):
    return subprocess.run(args, check=True, **kw)


def timed(args):
    started = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def tenants_commands(wasmig, before, project, source):
    """wasmig's contenders (and the build before's, when given): status and a no-op upgrade of the fleet."""
    base = [wasmig, "-C", project, "--format", "json", "tenants"]
    contenders = {
        "status": base + ["status", "--tenants", source, "--jobs", "2"],
        "noop": base + ["upgrade", "--tenants", source, "--jobs", "2"],
    }
    if before:
        contenders["before status"] = [before] + contenders["status"][1:]
        contenders["before noop"] = [before] + contenders["noop"][1:]
    return contenders


def compare(contenders, rounds, title):
    """Runs the contenders in alternating rounds; prints each median and its ratio to the floor's."""
    times = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, args in contenders.items():
            times[name].append(timed(args))
    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"{title}, {rounds} rounds, {os.cpu_count()} cores, load {open('/proc/loadavg').read().split()[:3]}; "
          "median wall seconds")
    for name, seconds in median.items():
        print(f"{name:14} {seconds:8.3f}  x floor {seconds / median['floor']:6.1f}")


# The floor on SQLite: one process that opens each file read-only, reads its version table, and closes it.
SQLITE_FLOOR = """
import glob, sqlite3, sys
rows = 0
for path in sorted(glob.glob(sys.argv[1] + "/*.db")):
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    rows += len(db.execute("SELECT revision, checksum, state FROM wasmig_revisions").fetchall())
    db.close()
print(rows)
"""


def sqlite_noop(wasmig, before, tenants, revisions, rounds):
    work = tempfile.mkdtemp(prefix="wasmig-noop-bench-")
    try:
        project = os.path.join(work, "project")
        write_chain_project(project, revisions)
        files = os.path.join(work, "tenants")
        os.makedirs(files)
        for i in range(tenants):
            open(os.path.join(files, f"tenant_{i:05}.db"), "wb").close()
        source = f"sqlite:{files}/*.db"
        sh(wasmig, "-C", project, "--format", "json", "tenants", "upgrade", "--tenants", source, "--jobs", "2",
           stdout=subprocess.DEVNULL)
        contenders = {"floor": [sys.executable, "-c", SQLITE_FLOOR, files]}
        contenders.update(tenants_commands(wasmig, before, project, source))
        compare(contenders, rounds, f"{tenants} SQLite files at heads ({revisions} revisions)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    schemas = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    revisions = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    wasmig = wasmig_binary()
    before = os.environ.get("BEFORE_BIN")
    engine = sys.argv[4] if len(sys.argv) > 4 else "postgres"
    if engine == "sqlite":
        return sqlite_noop(wasmig, before, schemas, revisions, rounds)
    database = f"wasmig_bench_noop_{os.getpid()}"
    fresh_database(database, schemas)
    try:
        work = tempfile.mkdtemp(prefix="wasmig-noop-bench-")
        project = os.path.join(work, "project")
        write_chain_project(project, revisions)
        source = f"{PG}/{database}?schemas=tenant\\_%"
        sh(wasmig, "-C", project, "--format", "json", "tenants", "upgrade", "--tenants", source, "--jobs", "2",
           stdout=subprocess.DEVNULL)
        union = " UNION ALL ".join(
            f"SELECT '{i:05}' AS t, revision, checksum, state FROM tenant_{i:05}.wasmig_revisions"
            for i in range(schemas))
        contenders = {
            "floor": ["psql", "-q", "-h", "127.0.0.1", "-U", "postgres", "-d", database, "-o", "/dev/null", "-c", union],
        }
        contenders.update(tenants_commands(wasmig, before, project, source))
        compare(contenders, rounds, f"{schemas} PostgreSQL schemas at heads ({revisions} revisions)")
    finally:
        drop_database(database)


if __name__ == "__main__":
    main()
