"""wasmig's shared Python interpreter plugin: runs `kind = "python"` revisions.

One component for every Python revision (docs/GUESTS.md, "Python"): at each
hook it reads the revision's `revision.py` through the contract's `asset`,
compiles it under the name `revision.py` (so tracebacks and error messages
name the revision's own file and line), runs it as the module `revision`,
and calls its `up`, `down` or `verify` through `wasmig_hooks`, exactly as a
revision's own component does. The host instantiates the plugin afresh for
every hook, so nothing one revision leaves in the interpreter reaches the
next.

componentize-py snapshots the interpreter after this module's top level ran,
at build time, and the component imports no WASI (`--stub-wasi`): a module
that is not loaded by then cannot be read later. So the standard-library
modules a revision may import are imported here, and the import system is
then narrowed to modules compiled into the interpreter, the `.py` files of
the revision's own directory (read through `asset`), and a clear ImportError
for anything else.
"""

import importlib.machinery
import importlib.util
import sys
import types

# The standard library a `kind = "python"` revision may import (docs/GUESTS.md
# lists them). Everything here loads without the outside world; modules that
# need a clock, randomness or files at import time are not offered.
import abc  # noqa: F401
import base64  # noqa: F401
import binascii  # noqa: F401
import bisect  # noqa: F401
import calendar  # noqa: F401
import collections  # noqa: F401
import collections.abc  # noqa: F401
import contextlib  # noqa: F401
import copy  # noqa: F401
import csv  # noqa: F401
import dataclasses  # noqa: F401
import datetime  # noqa: F401
import decimal  # noqa: F401
import difflib  # noqa: F401
import enum  # noqa: F401
import fractions  # noqa: F401
import functools  # noqa: F401
import hashlib  # noqa: F401
import heapq  # noqa: F401
import hmac  # noqa: F401
import html  # noqa: F401
import io  # noqa: F401
import ipaddress  # noqa: F401
import itertools  # noqa: F401
import json  # noqa: F401
import math  # noqa: F401
import _strptime  # noqa: F401  (datetime.strptime imports it when first called)
import numbers  # noqa: F401
import operator  # noqa: F401
import pprint  # noqa: F401
import re  # noqa: F401
import statistics  # noqa: F401
import string  # noqa: F401
import struct  # noqa: F401
import textwrap  # noqa: F401
import typing  # noqa: F401
import unicodedata  # noqa: F401
import urllib.parse  # noqa: F401
import uuid  # noqa: F401
import zlib  # noqa: F401

from componentize_py_types import Err
from wit_world.imports import context as _context

import wasmig  # noqa: F401  (what revisions import)
import wasmig_hooks

_SOURCE = "revision.py"


class _SourceLoader:
    """Runs a module's source read through `asset`, under its own file name."""

    def __init__(self, filename, source):
        self._filename = filename
        self._source = source

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        module.__file__ = self._filename
        code = compile(self._source, self._filename, "exec", dont_inherit=True)
        exec(code, module.__dict__)


class _RevisionFiles:
    """Finds `import helper` as `helper.py` in the revision's directory."""

    def find_spec(self, name, path=None, target=None):
        if path is not None or "." in name:
            return None
        filename = f"{name}.py"
        source = _context.asset(filename)
        if source is None:
            return None
        return importlib.util.spec_from_loader(name, _SourceLoader(filename, source), origin=filename)


class _Unavailable:
    """The last finder: a clear ImportError instead of a trap on a file read."""

    def find_spec(self, name, path=None, target=None):
        raise ImportError(
            f"no module named {name!r} in wasmig's Python interpreter: a `kind = \"python\"` revision can "
            "import the standard-library modules docs/GUESTS.md lists and the .py files beside its revision.py; "
            "for other modules make it a component revision (`kind = \"component\"`, built by `wasmig build`)",
            name=name,
        )


def _no_outside_world(event, args):
    """Refuses file and process access before it reaches a stubbed WASI call, which would trap.

    CPython audits these before acting; the parser too opens the source file
    by name to quote the line of a syntax error, and falls back to the text
    it has when the audit hook refuses."""
    if event in _REFUSED_EVENTS:
        raise PermissionError(
            f"wasmig: a revision has no file system, network or processes ({event}); "
            "read the files of the revision's own directory with wasmig.asset()"
        )


_REFUSED_EVENTS = frozenset(
    (
        "open",
        "os.listdir",
        "os.scandir",
        "os.mkdir",
        "os.remove",
        "os.rename",
        "os.rmdir",
        "os.chdir",
        "os.system",
        "os.exec",
        "os.posix_spawn",
        "os.fork",
        "subprocess.Popen",
        "socket.connect",
        "socket.bind",
        "socket.getaddrinfo",
        "glob.glob",
        "shutil.copyfile",
    )
)

sys.meta_path[:] = [
    importlib.machinery.BuiltinImporter,
    importlib.machinery.FrozenImporter,
    _RevisionFiles(),
    _Unavailable(),
]
sys.path_hooks.clear()
sys.path_importer_cache.clear()
sys.addaudithook(_no_outside_world)


def _load():
    """revision.py, read and run as the module `revision`."""
    source = _context.asset(_SOURCE)
    if source is None:
        raise Err(f"{_SOURCE} is missing from the revision's directory (a `kind = \"python\"` revision runs it)")
    module = types.ModuleType("revision")
    module.__file__ = _SOURCE
    sys.modules["revision"] = module
    _SourceLoader(_SOURCE, source).exec_module(module)
    return module


# The revision's files are compiled under their bare names: their frames are
# the ones whose directory is "".
WitWorld = wasmig_hooks.world(wasmig_hooks.Revision(_load, ""))
