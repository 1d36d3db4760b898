# Revision {id}: {message}
#
# `wasmig build` turns this file (and any other .py file beside it) into
# revision.wasm; commit both. up() applies the revision and down() reverts
# it, each inside the transaction wasmig opened for the step: no BEGIN or
# COMMIT here. To fail, raise any exception: the step is rolled back and
# wasmig shows its type, message and line. print() goes to wasmig's log.
#
# Code at the top level of this file runs at build time, not at migration
# time: put database work inside the functions, and imports at the top.
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
