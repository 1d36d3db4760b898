#!/usr/bin/env python3
"""Benchmark of `wasmig upgrade` against its floor, and against Alembic, in one run.

    python3 bench/runner/run.py [N] [ROUNDS]     (defaults: 1000 revisions, 3 rounds)

Work: N SQL revisions in a chain, each `CREATE TABLE t_<i> (id INTEGER
PRIMARY KEY, note TEXT)`. Measured as whole processes, rounds alternating
the contenders so that disk and load drift hit them alike:

- wasmig:  `wasmig -C P --database URL upgrade` (release build).
- floor:   `wasmig-bench floor URL N`: the same statements, one transaction
           and one bookkeeping row per revision, straight through rusqlite /
           tokio-postgres in one process.
- alembic: `alembic upgrade head` on the same N tables (shared/bench/alembic
           generator; SQLite only, PostgreSQL with PG=1 needs psycopg2).

Prints medians (wall seconds) and the ratios wasmig/floor and wasmig/alembic.
`WASMIG_BIN=path` runs a prebuilt wasmig instead of building this checkout;
`BEFORE_BIN=path` adds another build (e.g. the previous commit's) as a
contender in the same rounds, for a before/after comparison.
`LINT_OFF=1` adds the same build on the project with `[lint] default = "off"`
as a contender (the run-time lint's cost: wasmig/lint-off); `JOURNAL_OFF=1`
the same with `[journal] enabled = false` (the statement journal's cost).
Both backends: SQLite files under a temp dir (default durability), and fresh
databases on the local PostgreSQL server (127.0.0.1:5432, user postgres).
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
ALEMBIC_DIR = os.path.join(os.path.dirname(ROOT), "shared", "bench", "alembic")
PG = "postgres://postgres@127.0.0.1:5432"


def sh(*args, **kw):
    return subprocess.run(args, check=True, **kw)


def timed(args, env=None):
    started = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - started


def psql(sql):
    sh("psql", "-q", "-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-c", sql, stdout=subprocess.DEVNULL)


def alembic_env():
    venv = os.environ.get("ALEMBIC_VENV", "/tmp/alembic-venv")
    if not os.path.exists(os.path.join(venv, "bin", "alembic")):
        sh(sys.executable, "-m", "venv", venv)
        sh(os.path.join(venv, "bin", "pip"), "install", "-q", "alembic", "psycopg2-binary")
    return os.path.join(venv, "bin", "alembic")


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    if os.environ.get("WASMIG_BIN"):
        wasmig = os.environ["WASMIG_BIN"]
        bench = os.environ.get("BENCH_BIN") or os.path.join(TARGET, "release", "wasmig-bench")
    else:
        sh("cargo", "build", "--release", "--quiet", "-p", "wasmig-cli", "-p", "wasmig-bench", cwd=ROOT)
        wasmig = os.path.join(TARGET, "release", "wasmig")
        bench = os.path.join(TARGET, "release", "wasmig-bench")
    contenders = {"wasmig": wasmig}
    if os.environ.get("BEFORE_BIN"):
        contenders["before"] = os.environ["BEFORE_BIN"]
    # The same build on the same revisions with one feature turned off in wasmig.toml: what the feature costs.
    settings_off = {"lint-off": ("LINT_OFF", '[lint]\ndefault = "off"\n'),
                    "journal-off": ("JOURNAL_OFF", "[journal]\nenabled = false\n")}
    for who, (variable, _) in settings_off.items():
        if os.environ.get(variable):
            contenders[who] = wasmig
    work = tempfile.mkdtemp(prefix="wasmig-runner-bench-")
    project = os.path.join(work, "project")
    write_chain_project(project, n)
    projects = {who: project for who in contenders}
    for who, (_, config) in settings_off.items():
        if who in contenders:
            projects[who] = os.path.join(work, f"project-{who}")
            shutil.copytree(project, projects[who])
            with open(os.path.join(projects[who], "wasmig.toml"), "w") as f:
                f.write(config)
    env = dict(os.environ, WASMIG_CACHE_DIR=os.path.join(work, "cache"))
    alembic = alembic_env() if os.path.isdir(ALEMBIC_DIR) else None
    if alembic:
        sh(sys.executable, os.path.join(ALEMBIC_DIR, "gen.py"), "linear", str(n), os.path.join(work, "alembic"), stdout=subprocess.DEVNULL)
        subprocess.run([alembic, "heads"], cwd=os.path.join(work, "alembic"), check=True, stdout=subprocess.DEVNULL)

    # Warm the component cache once, as a deployed runner has it.
    for who, binary in contenders.items():
        subprocess.run([binary, "-C", projects[who], "--database", f"sqlite:{work}/warm-{who}.db", "upgrade", "+1"], check=True, env=env, stdout=subprocess.DEVNULL)
    results = {}
    for r in range(rounds):
        for who, binary in contenders.items():
            db = os.path.join(work, f"{who}{r}.db")
            results.setdefault(("sqlite", who), []).append(timed([binary, "-C", projects[who], "--database", f"sqlite:{db}", "-q", "upgrade"], env))
        results.setdefault(("sqlite", "floor"), []).append(timed([bench, "floor", f"sqlite:{work}/f{r}.db", str(n)]))
        if alembic:
            adir = os.path.join(work, "alembic")
            for suffix in ("", "-journal"):
                if os.path.exists(os.path.join(adir, "db.sqlite" + suffix)):
                    os.remove(os.path.join(adir, "db.sqlite" + suffix))
            started = time.perf_counter()
            subprocess.run([alembic, "upgrade", "head"], cwd=adir, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            results.setdefault(("sqlite", "alembic"), []).append(time.perf_counter() - started)
        for who in (*contenders, "floor"):
            name = f"wasmig_bench_{who.replace('-', '_')}_{os.getpid()}_{r}"
            psql(f"CREATE DATABASE {name}")
            try:
                if who in contenders:
                    t = timed([contenders[who], "-C", projects[who], "--database", f"{PG}/{name}", "-q", "upgrade"], env)
                else:
                    t = timed([bench, "floor", f"{PG}/{name}", str(n)])
                results.setdefault(("postgres", who), []).append(t)
            finally:
                psql(f"DROP DATABASE {name} WITH (FORCE)")

    print(f"{n} revisions (CREATE TABLE each), {rounds} rounds, {os.cpu_count()} cores; median wall seconds")
    for backend in ("sqlite", "postgres"):
        w = statistics.median(results[(backend, "wasmig")])
        f = statistics.median(results[(backend, "floor")])
        line = f"{backend:9} wasmig {w:7.3f}  floor {f:7.3f}  wasmig/floor {w / f:5.2f}"
        for off in settings_off:
            if (backend, off) in results:
                o = statistics.median(results[(backend, off)])
                line += f"  {off} {o:7.3f}  wasmig/{off} {w / o:5.2f}"
        if (backend, "before") in results:
            b = statistics.median(results[(backend, "before")])
            line += f"  before {b:7.3f}  before/floor {b / f:5.2f}"
        if (backend, "alembic") in results:
            a = statistics.median(results[(backend, "alembic")])
            line += f"  alembic {a:7.3f}  wasmig/alembic {w / a:5.2f}"
        print(line)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
