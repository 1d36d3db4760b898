#!/usr/bin/env python3
"""Peak memory of a fleet run against the number of tenants: does it stay flat?

    python3 bench/fleet/rss.py [SIZES] [REVISIONS]     (defaults: 1000,10000 2)

For each size N, on SQLite files (N files under a temp dir, `sqlite:DIR/*.db`)
and on PostgreSQL schemas (N schemas of one fresh database on 127.0.0.1:5432):

- upgrade: `wasmig tenants upgrade --jobs 2` from nothing to heads (REVISIONS SQL revisions);
- status:  `wasmig tenants status --jobs 2` once at heads;

each measured as a whole process by `/usr/bin/time -f %M` (peak resident set,
KiB), with `--format json -q` so that the report is built and printed in
full. Prints peak RSS per size and the ratio of the largest size to the
smallest: flat memory means a ratio near 1, not near N_large / N_small.
`WASMIG_BIN=path` runs a prebuilt wasmig instead of building this checkout.
"""
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from chain import write_chain_project  # noqa: E402  (the shared benchmark project)
from common import PG, drop_database, fresh_database, wasmig_binary  # noqa: E402



def peak(command):
    """Runs `command`; returns (peak RSS in MiB, wall seconds)."""
    started = time.monotonic()
    done = subprocess.run(["/usr/bin/time", "-f", "%M"] + command, capture_output=True, text=True)
    wall = time.monotonic() - started
    if done.returncode not in (0, 3):
        sys.exit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return int(done.stderr.strip().splitlines()[-1]) / 1024, wall


def measure(wasmig, project, source):
    base = [wasmig, "-C", project, "--format", "json", "-q", "tenants"]
    upgrade = peak(base + ["upgrade", "--tenants", source, "--jobs", "2"])
    status = peak(base + ["status", "--tenants", source, "--jobs", "2"])
    return upgrade, status


def main():
    sizes = [int(n) for n in (sys.argv[1] if len(sys.argv) > 1 else "1000,10000").split(",")]
    revisions = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    wasmig = wasmig_binary()
    results = {}
    with tempfile.TemporaryDirectory() as work:
        project = os.path.join(work, "project")
        write_chain_project(project, revisions)
        for size in sizes:
            tenants = os.path.join(work, f"sqlite-{size}")
            os.makedirs(tenants)
            for index in range(size):
                open(os.path.join(tenants, f"t{index:05}.db"), "wb").close()
            results[("sqlite", size)] = measure(wasmig, project, f"sqlite:{tenants}/*.db")
            database = f"wasmig_rss_{size}_{os.getpid()}"
            fresh_database(database, size, prefix="t")
            try:
                results[("postgres", size)] = measure(wasmig, project, f"{PG}/{database}?schemas=t%")
            finally:
                drop_database(database)
    print(f"peak RSS (MiB) and wall (s) of whole processes, {revisions} revisions, --jobs 2")
    for engine in ("sqlite", "postgres"):
        for size in sizes:
            (up_rss, up_wall), (st_rss, st_wall) = results[(engine, size)]
            print(f"  {engine:8} {size:>6} tenants: upgrade {up_rss:6.1f} MiB ({up_wall:6.1f} s), "
                  f"status {st_rss:6.1f} MiB ({st_wall:5.1f} s)")
        small, large = results[(engine, sizes[0])], results[(engine, sizes[-1])]
        print(f"  {engine:8} ratio {sizes[-1]}/{sizes[0]} tenants: upgrade {large[0][0] / small[0][0]:.2f}x, "
              f"status {large[1][0] / small[1][0]:.2f}x")


if __name__ == "__main__":
    main()
