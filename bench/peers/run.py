#!/usr/bin/env python3
"""wasmig side by side with sqlx-cli and Alembic: the table of docs/PERFORMANCE.md ("Against its peers").

    python3 bench/peers/run.py [ROUNDS]     (default 10; upgrades run max(3, ROUNDS // 3) times)

One chain of revisions, each `CREATE TABLE t_<i> (id INTEGER PRIMARY KEY,
note TEXT)`, written for each tool as it lays projects out
(`bench/peers/projects.py`). Whole processes, median wall time, rounds
alternating the tools so that drift hits them alike:

- status at 1,000 applied:  `wasmig status` / `sqlx migrate info` / `alembic current`
- current at 1,000 applied: `wasmig current` / `alembic current`
- heads, history at 10,000: `wasmig heads|history` / `alembic heads|history`
- upgrade of 1,000 from an empty database: `wasmig upgrade` / `sqlx migrate run` / `alembic upgrade head`

each on a SQLite file and on a database of the local PostgreSQL server
(127.0.0.1:5432, user postgres) where the command reads a database.
wasmig's read-only commands run with a warm project cache (a run before the
timed ones fills it), as a developer's second command does.

The peers are installed on first use under ~/.cache/wasmig/peers:
Alembic and psycopg2 from PyPI into a venv, sqlx-cli with
`cargo install --locked` (SQLite, PostgreSQL and rustls only; a cold build of
a few minutes). `WASMIG_BIN=path` runs a prebuilt wasmig instead of building
this checkout's release CLI.
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

BENCH = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, BENCH)
sys.path.insert(0, os.path.join(BENCH, "fleet"))
from common import drop_database, psql, wasmig_binary  # noqa: E402
from projects import write_alembic, write_sqlx, write_wasmig  # noqa: E402

PEERS = os.path.join(os.path.expanduser("~"), ".cache", "wasmig", "peers")
PG_HOST = "postgres@127.0.0.1:5432"


def install_alembic():
    venv = os.path.join(PEERS, "venv")
    alembic = os.path.join(venv, "bin", "alembic")
    if not os.path.exists(alembic):
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        subprocess.run([os.path.join(venv, "bin", "pip"), "install", "-q", "--disable-pip-version-check",
                        "alembic", "psycopg2-binary"], check=True)
    return alembic


def install_sqlx():
    root = os.path.join(PEERS, "sqlx")
    sqlx = os.path.join(root, "bin", "sqlx")
    if not os.path.exists(sqlx):
        subprocess.run(["cargo", "install", "--locked", "--quiet", "--root", root, "sqlx-cli",
                        "--no-default-features", "--features", "rustls,sqlite,postgres"], check=True)
    return sqlx


def version(command):
    done = subprocess.run(command, capture_output=True, text=True)
    return (done.stdout or done.stderr).strip().splitlines()[0]


def run(command, cwd=None, env=None):
    done = subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    # `wasmig status` exits 3 when behind; everything measured here is at heads or brought there.
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr.decode()[-2000:]}")


def timed(command, cwd=None, env=None):
    started = time.perf_counter()
    run(command, cwd, env)
    return time.perf_counter() - started


class Tools:
    """How each tool is invoked on a project directory and a database."""

    def __init__(self, wasmig, sqlx, alembic):
        self.wasmig, self.sqlx, self.alembic = wasmig, sqlx, alembic

    def wasmig_cmd(self, project, url, *args):
        return [self.wasmig, "-C", project] + (["--database", url] if url else []) + list(args)

    def sqlx_cmd(self, project, url, *args):
        return [self.sqlx, "migrate"] + list(args) + ["--source", os.path.join(project, "migrations"),
                                                       "--database-url", url]

    def alembic_cmd(self, *args):
        return [self.alembic] + list(args)


def urls(engine, work, name):
    """(wasmig URL, sqlx URL, SQLAlchemy URL) of one database, created empty."""
    if engine == "sqlite":
        path = os.path.join(work, f"{name}.db")
        if os.path.exists(path):
            os.remove(path)
        open(path, "wb").close()
        return f"sqlite://{path}", f"sqlite://{path}", f"sqlite:///{path}"
    database = f"wasmig_peers_{name}_{os.getpid()}"
    drop_database(database)
    psql("test", f'CREATE DATABASE "{database}"')
    return (f"postgres://{PG_HOST}/{database}", f"postgres://{PG_HOST}/{database}",
            f"postgresql+psycopg2://{PG_HOST}/{database}")


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    upgrade_rounds = max(3, rounds // 3)
    tools = Tools(wasmig_binary(), install_sqlx(), install_alembic())
    work = tempfile.mkdtemp(prefix="wasmig-peers-")
    env = dict(os.environ, WASMIG_CACHE_DIR=os.path.join(work, "cache"))
    projects = {}
    for n in (1000, 10000):
        for tool, write in (("wasmig", write_wasmig), ("sqlx", write_sqlx), ("alembic", write_alembic)):
            projects[(tool, n)] = os.path.join(work, f"{tool}-{n}")
            write(projects[(tool, n)], n)
    w1k, s1k, a1k = projects[("wasmig", 1000)], projects[("sqlx", 1000)], projects[("alembic", 1000)]
    w10k, a10k = projects[("wasmig", 10000)], projects[("alembic", 10000)]
    rows = []  # (command, {tool: [seconds]})
    databases = []
    try:
        # Read-only commands at 1,000 applied: each tool's own database, brought to heads once.
        for engine in ("sqlite", "postgres"):
            w_url, _, _ = urls(engine, work, f"w_{engine}")
            _, s_url, _ = urls(engine, work, f"s_{engine}")
            _, _, a_url = urls(engine, work, f"a_{engine}")
            databases += [w_url, s_url, a_url]
            run(tools.wasmig_cmd(w1k, w_url, "upgrade"), env=env)
            run(tools.sqlx_cmd(s1k, s_url, "run"))
            a_env = dict(env, BENCH_DB_URL=a_url)
            run(tools.alembic_cmd("upgrade", "head"), cwd=a1k, env=a_env)
            time.sleep(3)  # files younger than 2 s are not cached (docs/RUNTIME.md)
            contenders = {
                f"status, 1,000 applied ({engine})": {
                    "wasmig": (tools.wasmig_cmd(w1k, w_url, "status"), None, env),
                    "sqlx": (tools.sqlx_cmd(s1k, s_url, "info"), None, env),
                    "alembic": (tools.alembic_cmd("current"), a1k, a_env),
                },
                f"current, 1,000 applied ({engine})": {
                    "wasmig": (tools.wasmig_cmd(w1k, w_url, "current"), None, env),
                    "alembic": (tools.alembic_cmd("current"), a1k, a_env),
                },
            }
            rows += measure(contenders, rounds)
        time.sleep(3)
        rows += measure({
            f"{command}, 10,000 revisions": {
                "wasmig": (tools.wasmig_cmd(w10k, None, command), None, env),
                "alembic": (tools.alembic_cmd(command), a10k, env),
            } for command in ("heads", "history")
        }, rounds)
        # Upgrades from an empty database, a fresh one before each timed run.
        for engine in ("sqlite", "postgres"):
            label = f"upgrade 1,000 revisions ({engine})"
            times = {"wasmig": [], "sqlx": [], "alembic": []}
            for _ in range(upgrade_rounds):
                w_url, s_url, a_url = urls(engine, work, f"up_{engine}")
                times["wasmig"].append(timed(tools.wasmig_cmd(w1k, w_url, "upgrade"), env=env))
                w_url, s_url, a_url = urls(engine, work, f"up_{engine}")
                times["sqlx"].append(timed(tools.sqlx_cmd(s1k, s_url, "run")))
                w_url, s_url, a_url = urls(engine, work, f"up_{engine}")
                times["alembic"].append(timed(tools.alembic_cmd("upgrade", "head"), a1k, dict(env, BENCH_DB_URL=a_url)))
            databases.append(w_url)
            rows.append((label, times))
    finally:
        for url in databases:
            if url.startswith("postgres://"):
                drop_database(url.rsplit("/", 1)[1])
        shutil.rmtree(work, ignore_errors=True)
    print(f"machine: {os.cpu_count()} cores, load {open('/proc/loadavg').read().split()[:3]}; "
          f"{version([tools.wasmig, '--version'])}; {version([tools.sqlx, '--version'])}; "
          f"alembic {version([tools.alembic, '--version'])}")
    print(f"median wall time of whole processes, ms ({rounds} rounds; upgrades {upgrade_rounds})\n")
    print("| command | wasmig | sqlx-cli | Alembic | sqlx-cli / wasmig | Alembic / wasmig |")
    print("|:--|--:|--:|--:|--:|--:|")
    for label, times in rows:
        median = {tool: statistics.median(values) * 1000 for tool, values in times.items()}
        cell = lambda tool: f"{median[tool]:.1f}" if tool in median else "n/a"  # noqa: E731
        ratio = lambda tool: f"{median[tool] / median['wasmig']:.2f}x" if tool in median else "n/a"  # noqa: E731
        print(f"| {label} | {cell('wasmig')} | {cell('sqlx')} | {cell('alembic')} | {ratio('sqlx')} | {ratio('alembic')} |")


def measure(contenders, rounds):
    """Runs each command once untimed (warm caches), then `rounds` alternating rounds."""
    times = {label: {tool: [] for tool in tools} for label, tools in contenders.items()}
    for tools in contenders.values():
        for command, cwd, env in tools.values():
            run(command, cwd, env)
    for _ in range(rounds):
        for label, tools in contenders.items():
            for tool, (command, cwd, env) in tools.items():
                times[label][tool].append(timed(command, cwd, env))
    return list(times.items())


if __name__ == "__main__":
    main()
