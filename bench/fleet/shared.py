#!/usr/bin/env python3
"""One fleet run shared by several processes (`--run NAME`) against one process alone.

    python3 bench/fleet/shared.py [SCHEMAS] [REVISIONS] [ROUNDS]     (defaults: 1000 20 1)

Each round, for each contender, a fresh database on 127.0.0.1:5432 with
SCHEMAS empty schemas is migrated to REVISIONS chained SQL revisions
(`bench/chain.py`), timed as whole processes from the first start to the last
exit:

- one:        one `wasmig tenants upgrade --jobs 2` (no coordinator);
- shared 2x1: two processes at `--jobs 1` on one `--run` (the same concurrency
              as `one`, so the difference is what coordination costs);
- shared 2x2: two processes at `--jobs 2` on one `--run`.

The coordinator is the tenants' database (the default). Prints median wall
seconds, tenant-revisions per second and the ratios against `one`.
`WASMIG_BIN=path` runs a prebuilt wasmig instead of building this checkout.
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from chain import write_chain_project  # noqa: E402  (the shared benchmark project)
from common import PG, drop_database, fresh_database, wasmig_binary  # noqa: E402



def run_processes(commands):
    """Starts every command at once; returns the wall seconds until the last exits."""
    started = time.perf_counter()
    children = [subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for command in commands]
    for child, command in zip(children, commands):
        _, err = child.communicate()
        if child.returncode != 0:
            sys.exit(f"{' '.join(command)} failed ({child.returncode}):\n{err.decode()[-2000:]}")
    return time.perf_counter() - started


def main():
    schemas = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    revisions = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    wasmig = wasmig_binary()
    project = os.path.join(tempfile.mkdtemp(prefix="wasmig-shared-bench-"), "project")
    write_chain_project(project, revisions)
    database = f"wasmig_bench_shared_{os.getpid()}"
    source = f"{PG}/{database}?schemas=tenant\\_%"

    def upgrade(jobs, run=None):
        command = [wasmig, "-C", project, "--format", "json", "-q", "tenants", "upgrade", "--tenants", source,
                   "--jobs", str(jobs)]
        return command + (["--run", run] if run else [])

    contenders = {
        "one": lambda: [upgrade(2)],
        "shared 2x1": lambda: [upgrade(1, "bench"), upgrade(1, "bench")],
        "shared 2x2": lambda: [upgrade(2, "bench"), upgrade(2, "bench")],
    }
    times = {name: [] for name in contenders}
    try:
        for _ in range(rounds):
            for name, commands in contenders.items():
                fresh_database(database, schemas)
                times[name].append(run_processes(commands()))
    finally:
        drop_database(database)
    median = {name: statistics.median(values) for name, values in times.items()}
    steps = schemas * revisions
    print(f"{schemas} PostgreSQL schemas x {revisions} revisions, {rounds} round(s), {os.cpu_count()} cores; "
          "median wall seconds")
    for name, seconds in median.items():
        print(f"{name:12} {seconds:8.1f} s  {steps / seconds:8.0f} tenant-rev/s  x one {seconds / median['one']:5.2f}")


if __name__ == "__main__":
    main()
