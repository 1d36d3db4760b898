"""What the fleet benchmarks share: the wasmig binary under test, psql, and a fresh database of empty tenant schemas."""
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TARGET = os.environ.get("CARGO_TARGET_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "wasmig", "target")
PG = os.environ.get("WASMIG_BENCH_PG", "postgres://postgres@127.0.0.1:5432")


def wasmig_binary():
    """`WASMIG_BIN`, or this checkout's release build (built first)."""
    if os.environ.get("WASMIG_BIN"):
        return os.environ["WASMIG_BIN"]
    subprocess.run(["cargo", "build", "--release", "--locked", "-q", "-p", "wasmig-cli"], cwd=ROOT, check=True)
    return os.path.join(TARGET, "release", "wasmig")


def psql(database, sql):
    """Runs `sql` on `database` of the benchmark server; stops the benchmark on an error."""
    subprocess.run(["psql", "-q", "-X", "-v", "ON_ERROR_STOP=1", f"{PG}/{database}", "-c", sql], check=True,
                   capture_output=True)


def drop_database(name):
    psql("test", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fresh_database(name, schemas, prefix="tenant_"):
    """Database `name`, created anew, holding `schemas` empty schemas `<prefix>00000`, ... (500 per statement)."""
    drop_database(name)
    psql("test", f'CREATE DATABASE "{name}"')
    for start in range(0, schemas, 500):
        psql(name, "; ".join(f"CREATE SCHEMA {prefix}{i:05}" for i in range(start, min(schemas, start + 500))))
