"""The benchmark project shared by bench/runner and bench/fleet: a chain of N SQL revisions, each creating one table (or doing what `step` says)."""
import os


def create_table(i):
    """Revision i of the default chain: (slug, message, up.sql, down.sql)."""
    return f"t_{i}", f"create t_{i}", f"CREATE TABLE t_{i} (id INTEGER PRIMARY KEY, note TEXT);\n", f"DROP TABLE t_{i};\n"


def write_chain_project(path, n, step=create_table):
    """Writes wasmig.toml and N revisions `<i as 12 hex>_<slug>` in a chain; `step(i)` gives each one's
    (slug, message, up.sql, down.sql): by default creating `t_<i>` (down drops it)."""
    os.makedirs(os.path.join(path, "migrations"))
    open(os.path.join(path, "wasmig.toml"), "w").close()
    parent = None
    for i in range(n):
        rid = f"{i:012x}"
        slug, message, up, down = step(i)
        d = os.path.join(path, "migrations", f"{rid}_{slug}")
        os.makedirs(d)
        parents = f'["{parent}"]' if parent else "[]"
        with open(os.path.join(d, "revision.toml"), "w") as f:
            f.write(f'id = "{rid}"\nmessage = "{message}"\nparents = {parents}\nkind = "sql"\n')
        with open(os.path.join(d, "up.sql"), "w") as f:
            f.write(up)
        with open(os.path.join(d, "down.sql"), "w") as f:
            f.write(down)
        parent = rid
