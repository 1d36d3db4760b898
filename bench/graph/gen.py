#!/usr/bin/env python3
"""Writes a large wasmig project for benchmarking the revision graph.

    gen.py linear  N DIR   a chain of N revisions
    gen.py branchy N DIR   blocks of 50: a side branch of 10 and a main line
                           of 39 from one branch point, joined by a merge;
                           one side revision depends_on a main-line one.

Both shapes end with a single head, so `plan head` works. Ids are 12 hex
characters derived from the shape and position: the same call writes the
same project.
"""

import hashlib
import os
import sys

BLOCK = 50
SIDE = 10


def rev_id(shape, n):
    return hashlib.sha256(f"{shape}:{n}".encode()).hexdigest()[:12]


def write(root, rid, n, parents, kind="sql", depends_on=()):
    d = os.path.join(root, "migrations", f"{rid}_rev_{n}")
    os.makedirs(d)
    lines = [f'id = "{rid}"', f'message = "revision {n}"',
             "parents = [" + ", ".join(f'"{p}"' for p in parents) + "]",
             f'kind = "{kind}"']
    if depends_on:
        lines.append("depends_on = [" + ", ".join(f'"{p}"' for p in depends_on) + "]")
    with open(os.path.join(d, "revision.toml"), "w") as f:
        f.write("\n".join(lines) + "\n")
    if kind == "sql":
        for hook in ("up", "down"):
            with open(os.path.join(d, f"{hook}.sql"), "w") as f:
                f.write(f"-- {hook} {n}\n")


def main():
    shape, count, root = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    if shape not in ("linear", "branchy"):
        sys.exit("shape must be linear or branchy")
    os.makedirs(os.path.join(root, "migrations"))
    with open(os.path.join(root, "wasmig.toml"), "w") as f:
        f.write("")
    n = 0
    head = None

    def add(parents, kind="sql", depends_on=()):
        nonlocal n
        rid = rev_id(shape, n)
        write(root, rid, n, parents, kind, depends_on)
        n += 1
        return rid

    while n < count:
        if shape == "branchy" and count - n >= BLOCK and head is not None:
            fork = head
            side = fork
            side_ids = []
            for _ in range(SIDE):
                side = add([side])
                side_ids.append(side)
            main = fork
            main_ids = []
            for k in range(BLOCK - SIDE - 1):
                # One cross-branch ordering constraint per block.
                deps = (side_ids[4],) if k == 5 else ()
                main = add([main], depends_on=deps)
                main_ids.append(main)
            head = add([main, side], kind="merge")
        else:
            head = add([head] if head else [])


if __name__ == "__main__":
    main()
