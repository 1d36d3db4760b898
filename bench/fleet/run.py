#!/usr/bin/env python3
"""Benchmark of `wasmig tenants upgrade` against its floor, on a fleet of SQLite files and of PostgreSQL schemas.

    python3 bench/fleet/run.py [SQLITE_TENANTS] [PG_SCHEMAS] [REVISIONS] [ROUNDS]
        defaults: 1000 200 20 1; PROFILE=dev uses the dev build (for trying the script on small sizes)

Work: every tenant gets REVISIONS SQL revisions in a chain, each
`CREATE TABLE t_<i> (id INTEGER PRIMARY KEY, note TEXT)`, from an empty
database (SQLite: an empty file per tenant, default durability) or an empty
schema (PostgreSQL: one fresh database on 127.0.0.1:5432 holding the schemas).
At --jobs 1 and --jobs 2, whole processes under /usr/bin/time -v, rounds
alternating the contenders:

- wasmig: `wasmig -C P --format json tenants upgrade --tenants SOURCE --jobs J`,
  component cache warm (a cold-cache run first records the compilations).
- floor:  `wasmig-bench fleet-floor ...`: the same statements and bookkeeping
  (a revisions row and an events row per revision, one transaction each),
  straight through rusqlite / tokio-postgres, J threads in one process.

Prints tenant-revisions per second (median wall time), the ratio
wasmig/floor in time, peak RSS of both, and wasmig's compilations against the
number of distinct modules.
"""
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from chain import write_chain_project  # noqa: E402  (the shared benchmark project)
from common import PG, ROOT, TARGET, drop_database, fresh_database  # noqa: E402

PROFILE = os.environ.get("PROFILE", "release")


def sh(*args, **kw):
    return subprocess.run(args, check=True, **kw)


def timed(args, env=None):
    """Runs a process under /usr/bin/time -v; returns (wall s, peak RSS MiB, stdout)."""
    result = subprocess.run(["/usr/bin/time", "-v"] + args, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", result.stderr).group(1)
    seconds = 0.0
    for part in wall.split(":"):
        seconds = seconds * 60 + float(part)
    rss_kib = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr).group(1))
    return seconds, rss_kib / 1024, result.stdout


class SqliteFleet:
    name = "sqlite"

    def __init__(self, work, tenants):
        self.dir = os.path.join(work, "sqlite-tenants")
        self.tenants = tenants

    def reset(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        for i in range(self.tenants):
            open(os.path.join(self.dir, f"tenant_{i:04}.db"), "w").close()

    def source(self):
        return f"sqlite:{self.dir}/*.db"

    def floor_args(self, revisions, jobs):
        return ["fleet-floor", "sqlite", f"{self.dir}/*.db", str(revisions), str(jobs)]

    def drop(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class PostgresFleet:
    name = "postgres"
    database = "wasmig_fleet_bench"

    def __init__(self, tenants):
        self.tenants = tenants

    def reset(self):
        fresh_database(self.database, self.tenants)

    def url(self):
        return f"{PG}/{self.database}"

    def source(self):
        return f"{self.url()}?schemas=tenant_%"

    def floor_args(self, revisions, jobs):
        return ["fleet-floor", "postgres", self.url(), "tenant_%", str(revisions), str(jobs)]

    def drop(self):
        drop_database(self.database)


def main():
    sqlite_tenants = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    pg_schemas = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    revisions = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    build = ["cargo", "build", "--quiet", "-p", "wasmig-cli", "-p", "wasmig-bench"]
    if PROFILE == "release":
        build.append("--release")
    sh(*build, cwd=ROOT)
    wasmig = os.path.join(TARGET, PROFILE if PROFILE == "release" else "debug", "wasmig")
    bench = os.path.join(TARGET, PROFILE if PROFILE == "release" else "debug", "wasmig-bench")

    work = tempfile.mkdtemp(prefix="wasmig-fleet-bench-")
    project = os.path.join(work, "project")
    write_chain_project(project, revisions)
    cache = os.path.join(work, "component-cache")
    env = dict(os.environ, WASMIG_CACHE_DIR=cache)
    env.pop("DATABASE_URL", None)
    env.pop("RUST_LOG", None)

    print(f"machine: {os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f}; profile {PROFILE}")
    print(f"fleet: {sqlite_tenants} SQLite files and {pg_schemas} PostgreSQL schemas x {revisions} revisions, {rounds} round(s)\n")
    rows = []
    fleets = []
    if sqlite_tenants:
        fleets.append(SqliteFleet(work, sqlite_tenants))
    if pg_schemas:
        fleets.append(PostgresFleet(pg_schemas))
    for fleet in fleets:
        # Cold cache, once: the compilations of a fleet run.
        fleet.reset()
        shutil.rmtree(cache, ignore_errors=True)
        _, _, out = timed([wasmig, "-C", project, "--format", "json", "tenants", "upgrade", "--tenants", fleet.source(), "--jobs", "2"], env)
        cold = json.loads(out)
        failed = [t["tenant"] for t in cold["tenants"] if t["outcome"] != "ok"]
        if failed:
            sys.exit(f"{fleet.name}: tenants failed in the cold run: {failed[:5]}")
        compilations = (cold["compiled"], cold["loaded_from_disk"], cold["modules"])
        for jobs in (1, 2):
            samples = {"wasmig": [], "floor": []}
            rss = {"wasmig": [], "floor": []}
            for _ in range(rounds):
                for contender in ("wasmig", "floor"):
                    fleet.reset()
                    if contender == "wasmig":
                        args = [wasmig, "-C", project, "--format", "json", "tenants", "upgrade", "--tenants", fleet.source(), "--jobs", str(jobs)]
                    else:
                        args = [bench] + fleet.floor_args(revisions, jobs)
                    seconds, peak, out = timed(args, env)
                    if contender == "wasmig":
                        report = json.loads(out)
                        applied = sum(len(t["revisions"]) for t in report["tenants"])
                        expected = len(report["tenants"]) * revisions
                        if applied != expected:
                            sys.exit(f"{fleet.name}: wasmig applied {applied} tenant-revisions, expected {expected}")
                    samples[contender].append(seconds)
                    rss[contender].append(peak)
            steps = fleet.tenants * revisions
            wasmig_s = statistics.median(samples["wasmig"])
            floor_s = statistics.median(samples["floor"])
            rows.append((fleet.name, jobs, steps / wasmig_s, steps / floor_s, wasmig_s / floor_s,
                         max(rss["wasmig"]), max(rss["floor"]), compilations))
        fleet.drop()

    print("| fleet | jobs | wasmig tenant-rev/s | floor tenant-rev/s | time wasmig/floor | peak RSS wasmig | peak RSS floor | compiled (cold) / modules |")
    print("|:--|--:|--:|--:|--:|--:|--:|--:|")
    for name, jobs, wasmig_rate, floor_rate, ratio, wasmig_rss, floor_rss, (compiled, loaded, modules) in rows:
        print(f"| {name} | {jobs} | {wasmig_rate:,.0f} | {floor_rate:,.0f} | {ratio:.2f} | {wasmig_rss:.0f} MiB | {floor_rss:.0f} MiB | {compiled} / {modules} |")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
