# Revision {id}: {message}
#
# wasmig runs this file as it is, on the Python interpreter built into
# wasmig: there is nothing to build. up() applies the revision and down()
# reverts it, each inside the transaction wasmig opened for the step: no
# BEGIN or COMMIT here. To fail, raise any exception: the step is rolled back
# and wasmig shows its type, message and line. print() goes to wasmig's log.
# Other .py files beside this one can be imported (`import helpers`).
#
# The common standard-library modules are there (docs/GUESTS.md lists them),
# no packages. A revision that needs packages can become a component of its
# own: set kind = "component" in revision.toml and run `wasmig build` (its
# top-level code then runs at build time).
#
# Placeholders are the dialect's own: ?1, ?2 on SQLite, $1, $2 on PostgreSQL.
# Values: None, bool (sent as 0/1), int, float, str, bytes.
#
#     wasmig.execute_script("""
#         CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, handle TEXT);
#         CREATE INDEX users_name ON users (name);
#     """)
#
#     # A backfill: read the rows, write each one back.
#     update = ("UPDATE users SET handle = ?1 WHERE id = ?2" if wasmig.dialect() == "sqlite"
#               else "UPDATE users SET handle = $1 WHERE id = $2")
#     for user_id, name in wasmig.query("SELECT id, name FROM users WHERE handle IS NULL"):
#         wasmig.execute(update, name.lower(), user_id)
#
#     # Many rows, one statement prepared once:
#     insert = ("INSERT INTO users (id, name) VALUES (?1, ?2)" if wasmig.dialect() == "sqlite"
#               else "INSERT INTO users (id, name) VALUES ($1, $2)")
#     wasmig.execute_many(insert, [(1, "Ada"), (2, "Grace")])
#
#     count = wasmig.query_one("SELECT count(*) FROM users")[0]
#     users = wasmig.query_dicts("SELECT id, name FROM users")   # [{"id": 1, "name": "Ada"}]
#     seed = wasmig.asset_text("seed.sql")                       # a file beside revision.toml
#
#     try:
#         wasmig.execute("INSERT INTO settings (key) VALUES ('theme')")
#     except wasmig.DatabaseError as e:    # e.code: "SQLITE_CONSTRAINT_UNIQUE", "23505", ...
#         wasmig.warn(f"kept the existing setting: {e}")   # (on PostgreSQL the step still fails)

import wasmig


def up():
    wasmig.info(f"nothing to apply yet in revision {wasmig.revision_id()} ({wasmig.dialect()})")


def down():
    # Undo exactly what up() does.
    wasmig.info(f"nothing to revert yet in revision {wasmig.revision_id()}")


# Optional: is this revision's effect already in the database? Used by
# `wasmig upgrade --adopt`. Return True (present), False (absent) or None
# (cannot tell); without verify() wasmig assumes None.
#
# def verify():
#     row = wasmig.query_one("SELECT count(*) FROM sqlite_master WHERE name = 'users'")
#     return row[0] > 0
