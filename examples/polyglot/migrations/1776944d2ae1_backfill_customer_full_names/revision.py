# Revision 1776944d2ae1: backfill customer full names, in Python.
#
# A data migration: read every customer whose full_name is empty with
# `query`, compute the name in Python, write it back with `execute`. Runs in
# the transaction wasmig opened for this step; an exception rolls it back.
# Run from source by the Python interpreter built into wasmig (kind =
# "python" in revision.toml): nothing to build.

import wasmig


def full_name(first, last):
    """'ada', 'lovelace' -> 'Ada Lovelace'; a missing last name is left out."""
    parts = [first] + ([last] if last else [])
    return " ".join(" ".join(word.capitalize() for word in part.split()) for part in parts)


def placeholders():
    return ("?1", "?2") if wasmig.dialect() == "sqlite" else ("$1", "$2")


def up():
    name, customer = placeholders()
    rows = wasmig.query("SELECT id, first_name, last_name FROM customers WHERE full_name IS NULL ORDER BY id")
    for customer_id, first, last in rows:
        wasmig.execute(f"UPDATE customers SET full_name = {name} WHERE id = {customer}", full_name(first, last), customer_id)
    print(f"filled full_name for {len(rows)} customers")


def down():
    # The column itself belongs to 825ecc605b5f; this revision only filled it.
    wasmig.execute("UPDATE customers SET full_name = NULL")


def verify():
    missing = wasmig.query_one("SELECT count(*) FROM customers WHERE full_name IS NULL")[0]
    return missing == 0
