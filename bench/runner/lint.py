#!/usr/bin/env python3
"""The run-time lint's cost: `wasmig upgrade` with the lint at its default (warn) against `[lint] default = "off"`, in one run.

    python3 bench/runner/lint.py [N] [ROUNDS]     (defaults: 1000 revisions, 3 rounds)

Two workloads of N SQL revisions in a chain, each measured as whole
processes, rounds alternating lint on and off so that drift hits both alike:

- create: each revision `CREATE TABLE t_<i> ...` (bench/chain.py, the runner
  benchmark's project): the lint parses each statement; nothing is observed.
- alter:  one table made first, then each revision `ALTER TABLE base ADD
  COLUMN c_<i> INTEGER` on it: on PostgreSQL every step also asks the
  catalog before and the lock table after (docs/LINT.md).

Prints medians (wall seconds) and the ratio on/off per workload and backend.
`WASMIG_BIN=path` (default: the release build in CARGO_TARGET_DIR). SQLite
files under a temp dir; fresh databases on the local PostgreSQL server.
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from chain import create_table, write_chain_project  # noqa: E402

TARGET = os.environ.get("CARGO_TARGET_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "wasmig", "target")
PG = "postgres://postgres@127.0.0.1:5432"


def add_column(i):
    """Revision i of the `alter` chain: the first creates `base`, each next one adds a column to it."""
    if i == 0:
        return "base", "create base", "CREATE TABLE base (id INTEGER PRIMARY KEY);\n", "DROP TABLE base;\n"
    return f"c_{i}", f"column c_{i}", f"ALTER TABLE base ADD COLUMN c_{i} INTEGER;\n", f"ALTER TABLE base DROP COLUMN c_{i};\n"


def timed(args, env):
    started = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - started


def psql(sql):
    subprocess.run(["psql", "-q", "-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-c", sql], check=True, stdout=subprocess.DEVNULL)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    wasmig = os.environ.get("WASMIG_BIN") or os.path.join(TARGET, "release", "wasmig")
    work = tempfile.mkdtemp(prefix="wasmig-lint-bench-")
    env = dict(os.environ, WASMIG_CACHE_DIR=os.path.join(work, "cache"))
    projects = {}
    for workload, step in (("create", create_table), ("alter", add_column)):
        on = os.path.join(work, f"{workload}-on")
        write_chain_project(on, n, step)
        off = os.path.join(work, f"{workload}-off")
        shutil.copytree(on, off)
        with open(os.path.join(off, "wasmig.toml"), "w") as f:
            f.write('[lint]\ndefault = "off"\n')
        projects[workload] = {"on": on, "off": off}
    # Warm the component cache and each project's files once, as a deployed runner has them.
    for workload, pair in projects.items():
        for lint, project in pair.items():
            warm = f"sqlite:{work}/warm-{workload}-{lint}.db"
            subprocess.run([wasmig, "-C", project, "--database", warm, "-q", "upgrade"], check=True, env=env, stdout=subprocess.DEVNULL)
    results = {}
    for r in range(rounds):
        for workload, pair in projects.items():
            # Which goes first alternates, so that neither always follows the other.
            order = list(pair.items()) if r % 2 == 0 else list(reversed(pair.items()))
            for lint, project in order:
                db = os.path.join(work, f"{workload}-{lint}-{r}.db")
                t = timed([wasmig, "-C", project, "--database", f"sqlite:{db}", "-q", "upgrade"], env)
                results.setdefault((workload, "sqlite", lint), []).append(t)
                name = f"wasmig_lint_{workload}_{lint}_{os.getpid()}_{r}"
                psql(f"CREATE DATABASE {name}")
                try:
                    t = timed([wasmig, "-C", project, "--database", f"{PG}/{name}", "-q", "upgrade"], env)
                    results.setdefault((workload, "postgres", lint), []).append(t)
                finally:
                    psql(f"DROP DATABASE {name} WITH (FORCE)")
    print(f"{n} revisions, {rounds} rounds, {os.cpu_count()} cores; median wall seconds, lint at its default (warn) vs off")
    for workload in projects:
        for backend in ("sqlite", "postgres"):
            on = statistics.median(results[(workload, backend, "on")])
            off = statistics.median(results[(workload, backend, "off")])
            print(f"{workload:7} {backend:9} on {on:7.3f}  off {off:7.3f}  on/off {on / off:5.3f}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
