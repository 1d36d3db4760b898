"""The entry module `wasmig build` wraps around a Python revision.

It exports the world's `up`, `down` and `verify` by calling the functions of
the author's module `revision` (revision.py), through `wasmig_hooks`, which
turns exceptions into error messages and sends `print()` to the log.

componentize-py snapshots the interpreter after this module's top level ran,
at build time: the author's module is imported here, at the top, because an
import at migration time traps. Nothing here may call the host at import
time (the host is not there during the build).
"""

import os

import wasmig_hooks
import revision


def _author_dir():
    path = getattr(revision, "__file__", None)
    return os.path.dirname(path) if path else None


WitWorld = wasmig_hooks.world(wasmig_hooks.Revision(lambda: revision, _author_dir()))
