#!/usr/bin/env python3
"""Python and JavaScript revisions as source on the shared interpreters, against
per-revision components and against SQL (docs/PERFORMANCE.md, "Python and
JavaScript revisions as source").

    python3 bench/guests/interpreted.py [N] [COMPONENTS]      # N = 100, COMPONENTS = 3

Writes, in one temporary folder, projects of N revisions each: SQL, Python
source (`kind = "python"`), JavaScript source (`kind = "js"`), where every
revision creates a table and inserts a row. Per-revision components are
measured on COMPONENTS revisions of each language built by `wasmig build`
(15 to 30 s each) and scaled to N: their sizes and compile times are per
revision, so the scaling is a multiplication. Prints, per project: bytes on
disk per revision, component-cache bytes after the first run, the first run
on an empty cache, and a warm run (median of RUNS, default 5) per revision
with its ratio to SQL's, measured in the same run.

The wasmig binary: $WASMIG_BIN, else a build of this checkout (release;
PROFILE=dev for the dev build). Needs the toolchains of scripts/setup.sh for
the component rows only.
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
N = int(sys.argv[1]) if len(sys.argv) > 1 else 100
COMPONENTS = int(sys.argv[2]) if len(sys.argv) > 2 else 3
RUNS = int(os.environ.get("RUNS", "5"))

PYTHON = """import wasmig


def up():
    wasmig.execute_script("CREATE TABLE t{n} (id INTEGER PRIMARY KEY, v TEXT)")
    wasmig.execute("INSERT INTO t{n} (v) VALUES ('python {n}')")


def down():
    wasmig.execute_script("DROP TABLE t{n}")
"""

JS = """import {{ execute, executeScript }} from './wasmig.js';

export function up() {{
  executeScript('CREATE TABLE t{n} (id INTEGER PRIMARY KEY, v TEXT)');
  execute("INSERT INTO t{n} (v) VALUES ('js {n}')");
}}

export function down() {{
  executeScript('DROP TABLE t{n}');
}}
"""


def wasmig_binary():
    if os.environ.get("WASMIG_BIN"):
        return os.environ["WASMIG_BIN"]
    profile = os.environ.get("PROFILE", "release")
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    command = ["cargo", "build", "--quiet", "-p", "wasmig-cli"] + (["--release"] if profile == "release" else [])
    subprocess.run(command, cwd=REPO, check=True)
    return str(target / ("release" if profile == "release" else "debug") / "wasmig")


def write_project(root, kind, count):
    """`count` revisions of `kind` (sql, python, js, or python-component / js-component) in a chain."""
    (root / "migrations").mkdir(parents=True)
    (root / "wasmig.toml").write_text("")
    parent = None
    for n in range(count):
        rid = f"r{n:04d}"
        directory = root / "migrations" / rid
        directory.mkdir()
        manifest_kind = {"python-component": "component", "js-component": "component"}.get(kind, kind)
        parents = f'["{parent}"]' if parent else "[]"
        (directory / "revision.toml").write_text(
            f'id = "{rid}"\nmessage = "{kind} {n}"\nparents = {parents}\nkind = "{manifest_kind}"\n'
        )
        if kind == "sql":
            (directory / "up.sql").write_text(
                f"CREATE TABLE t{n} (id INTEGER PRIMARY KEY, v TEXT);\nINSERT INTO t{n} (v) VALUES ('sql {n}');\n"
            )
            (directory / "down.sql").write_text(f"DROP TABLE t{n};\n")
        elif kind.startswith("python"):
            (directory / "revision.py").write_text(PYTHON.format(n=n))
        else:
            (directory / "revision.js").write_text(JS.format(n=n))
        parent = rid


def bytes_under(path, skip=()):
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file() and f.name not in skip)


def upgrade(wasmig, project, cache, database):
    if database.exists():
        database.unlink()
    env = dict(os.environ, WASMIG_CACHE_DIR=str(cache))
    env.pop("RUST_LOG", None)
    started = time.perf_counter()
    subprocess.run([wasmig, "-q", "-C", str(project), "upgrade", "--database", f"sqlite:{database}"],
                   env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def measure(wasmig, work, kind, count):
    project = work / kind
    write_project(project, kind, count)
    built = 0.0
    if kind.endswith("component"):
        env = dict(os.environ, WASMIG_CACHE_DIR=str(work / "build-cache"))
        started = time.perf_counter()
        subprocess.run([wasmig, "-q", "-C", str(project), "build"], env=env, check=True, stdout=subprocess.DEVNULL)
        built = time.perf_counter() - started
    cache = work / f"cache-{kind}"
    database = work / f"{kind}.db"
    first = upgrade(wasmig, project, cache, database)
    warm = statistics.median(upgrade(wasmig, project, cache, database) for _ in range(RUNS))
    return {
        "kind": kind,
        "count": count,
        "disk": bytes_under(project / "migrations", skip=("revision.toml",)) / count,
        "cache": bytes_under(cache),
        "first": first,
        "warm": warm,
        "built": built,
    }


def main():
    wasmig = wasmig_binary()
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; wasmig {wasmig}; N = {N}")
    work = Path(tempfile.mkdtemp(prefix="wasmig-interpreted-"))
    try:
        rows = [measure(wasmig, work, kind, N) for kind in ("sql", "python", "js")]
        if COMPONENTS > 0:
            rows += [measure(wasmig, work, kind, COMPONENTS) for kind in ("python-component", "js-component")]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    sql_warm = rows[0]["warm"] / rows[0]["count"]
    print(f"\n{'revisions':<26} {'disk/rev':>10} {'cache':>10} {'first run':>10} {'warm/rev':>10} {'vs SQL':>7}")
    for row in rows:
        scale = N / row["count"]
        label = f"{N} {row['kind']}" + (f" (x{scale:g} of {row['count']})" if scale != 1 else "")
        per_revision = row["warm"] / row["count"]
        # A per-revision component's cache and first run grow with each revision; the
        # interpreters' and SQL's do not (one plugin compiled once).
        cache = row["cache"] * scale if row["kind"].endswith("component") else row["cache"]
        first = row["first"] * scale if row["kind"].endswith("component") else row["first"]
        print(
            f"{label:<26} {human(row['disk']):>10} {human(cache):>10} {first:>9.1f}s "
            f"{per_revision * 1000:>8.1f}ms {per_revision / sql_warm:>6.1f}x"
        )
        if row["built"]:
            print(f"{'':<26} (wasmig build: {row['built'] / row['count']:.1f}s per revision, not in the first run)")


def human(size):
    for unit, step in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if size >= step:
            return f"{size / step:.1f} {unit}"
    return f"{size:.0f} B"


if __name__ == "__main__":
    main()
