"""The benchmark project shared by bench/runner and bench/fleet: a chain of N SQL revisions, each creating one table."""
import os


def write_chain_project(path, n):
    """Writes wasmig.toml and N revisions `<i as 12 hex>_t_<i>` creating `t_<i>` (down drops it)."""
    os.makedirs(os.path.join(path, "migrations"))
    open(os.path.join(path, "wasmig.toml"), "w").close()
    parent = None
    for i in range(n):
        rid = f"{i:012x}"
        d = os.path.join(path, "migrations", f"{rid}_t_{i}")
        os.makedirs(d)
        parents = f'["{parent}"]' if parent else "[]"
        with open(os.path.join(d, "revision.toml"), "w") as f:
            f.write(f'id = "{rid}"\nmessage = "create t_{i}"\nparents = {parents}\nkind = "sql"\n')
        with open(os.path.join(d, "up.sql"), "w") as f:
            f.write(f"CREATE TABLE t_{i} (id INTEGER PRIMARY KEY, note TEXT);\n")
        with open(os.path.join(d, "down.sql"), "w") as f:
            f.write(f"DROP TABLE t_{i};\n")
        parent = rid
