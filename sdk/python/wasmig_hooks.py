"""How wasmig calls a Python revision's hooks, whatever carries the interpreter.

Shared by the two ways a Python revision runs: its own component
(`wasmig_entry.py`, built by `wasmig build`) and the shared interpreter
plugin (`plugins/python/wasmig_python.py`, for `kind = "python"`
revisions). Both export the world's `up`, `down` and `verify` through
`run_up`, `run_down` and `run_verify`, which:

- turn any exception escaping the author's code (or raised while the
  revision is loaded) into `Err("<Type>: <message> (at revision.py:<line>
  in <function>)")`, which the host shows and which rolls the step back (an
  uncaught exception would trap with no message);
- make `sys.stdout` / `sys.stderr` forward complete lines to the host log
  (info / warn), so `print()` works (under --stub-wasi it would trap).

Nothing here may call the host at import time: this module is imported at
build time, when the host is not there.
"""

import os
import sys
import traceback

from componentize_py_types import Err
from wit_world.imports import context as _context
from wit_world.imports.types import DbError as _DbError
from wit_world.imports.types import LogLevel as _LogLevel
from wit_world.imports.types import Verdict as _Verdict

import wit_world

import wasmig

_SDK_FILES = ("wasmig.py", "wasmig_entry.py", "wasmig_hooks.py", "wasmig_python.py")
_MAX_MESSAGE = 4000


class _LogStream:
    """A text stream that sends each complete line to the host log."""

    def __init__(self, level, name):
        self._level = level
        self._pending = ""
        self.name = name
        self.encoding = "utf-8"
        self.errors = "replace"

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        self._pending += text
        if "\n" in self._pending:
            *lines, self._pending = self._pending.split("\n")
            for line in lines:
                _context.log(self._level, line.rstrip("\r"))
        return len(text)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        if self._pending:
            line, self._pending = self._pending, ""
            _context.log(self._level, line)

    def isatty(self):
        return False

    def readable(self):
        return False

    def writable(self):
        return True

    def seekable(self):
        return False

    def fileno(self):
        raise OSError("wasmig: the revision's output goes to the host log and has no file descriptor")

    @property
    def closed(self):
        return False

    def close(self):
        pass


_stdout = _LogStream(_LogLevel.INFO, "<stdout>")
_stderr = _LogStream(_LogLevel.WARN, "<stderr>")
sys.stdout = _stdout
sys.stderr = _stderr
sys.__stdout__ = _stdout
sys.__stderr__ = _stderr


def _is_sdk(filename):
    return os.path.basename(filename) in _SDK_FILES


def _frames(tb):
    """(file name, line, function) for each traceback frame, outermost first."""
    out = []
    for frame, lineno in traceback.walk_tb(tb):
        code = frame.f_code
        out.append((code.co_filename, lineno, code.co_name))
    return out


def _where(error, author_dir):
    """The innermost frame in the author's files (revision.py or a module beside it)."""
    if isinstance(error, SyntaxError) and error.filename and not _is_sdk(error.filename):
        # A syntax error has no frame of its own: it names the file and line itself.
        return f"{os.path.basename(error.filename)}:{error.lineno}"
    frames = [f for f in _frames(error.__traceback__) if not _is_sdk(f[0])]
    if not frames:
        return None
    mine = [f for f in frames if author_dir is not None and os.path.dirname(f[0]) == author_dir]
    filename, lineno, function = (mine or frames)[-1]
    return f"{os.path.basename(filename)}:{lineno} in {function}"


def _describe(error, author_dir):
    """'<Type>: <message> (at revision.py:<line> in <function>)' for an exception."""
    if isinstance(error, Err):
        # The author raised the bindings' own Err: its value is the message
        # (or a db-error from calling the raw bindings).
        value = error.value
        if isinstance(value, _DbError):
            text = str(wasmig.DatabaseError(value.code, value.message))
            name = "DatabaseError"
        else:
            return str(value)[:_MAX_MESSAGE]
    elif isinstance(error, SyntaxError):
        name = type(error).__name__
        text = error.msg or ""
    else:
        name = type(error).__name__
        try:
            text = str(error)
        except Exception:
            text = "<the exception's message could not be rendered>"
    message = f"{name}: {text}" if text else name
    where = _where(error, author_dir)
    if where:
        message = f"{message} (at {where})"
    if len(message) > _MAX_MESSAGE:
        message = message[: _MAX_MESSAGE - 3] + "..."
    return message


def _log_traceback(error):
    """The whole traceback, at debug level, for `RUST_LOG=debug` runs."""
    frames = [f for f in _frames(error.__traceback__) if not _is_sdk(f[0])]
    if len(frames) > 1:
        chain = " -> ".join(f"{os.path.basename(f)}:{line} in {func}" for f, line, func in frames)
        try:
            _context.log(_LogLevel.DEBUG, f"traceback: {chain}")
        except Exception:
            pass


def _flush_output():
    for stream in (_stdout, _stderr):
        try:
            stream.flush()
        except Exception:
            pass


class Revision:
    """The author's module, found by `load()`: imported at build time by a
    revision's own component, read and run at each hook by the shared plugin.
    `author_dir` is the directory its code objects name, which tells the
    author's frames from the SDK's."""

    def __init__(self, load, author_dir):
        self._load = load
        self._author_dir = author_dir

    def _guarded(self, action):
        """Runs `action()`; any exception becomes Err(message)."""
        # Re-install the streams: the author may have replaced them.
        sys.stdout = _stdout
        sys.stderr = _stderr
        failure = None
        result = None
        try:
            result = action()
        except BaseException as error:  # SystemExit and KeyboardInterrupt included: never trap
            failure = _describe(error, self._author_dir)
            _flush_output()
            _log_traceback(error)
        _flush_output()
        if failure is not None:
            raise Err(failure)
        return result

    def function(self, name):
        """The author's `name`, or None when the revision defines none."""
        module = self._guarded(self._load)
        function = getattr(module, name, None)
        if function is not None and not callable(function):
            raise Err(f"revision.py: `{name}` is a {type(function).__name__}, not a function")
        return function

    def call(self, function, name):
        """Calls the author's hook; any exception becomes Err(message)."""
        result = self._guarded(function)
        if hasattr(result, "__await__"):
            close = getattr(result, "close", None)
            if close is not None:
                close()
            raise Err(f"revision.py: {name}() is async; wasmig hooks must be plain (synchronous) functions")
        return result

    def run_required(self, name):
        function = self.function(name)
        if function is None:
            raise Err(f"revision.py defines no {name}()")
        self.call(function, name)

    def run_up(self):
        self.run_required("up")

    def run_down(self):
        self.run_required("down")

    def run_verify(self):
        function = self.function("verify")
        if function is None:
            return _Verdict.UNKNOWN
        return _verdict(self.call(function, "verify"))


def world(revision):
    """The class componentize-py exports as the world (`WitWorld`), calling `revision`'s hooks."""

    class WitWorld(wit_world.WitWorld):
        def up(self) -> None:
            revision.run_up()

        def down(self) -> None:
            revision.run_down()

        def verify(self):
            return revision.run_verify()

    return WitWorld


_VERDICTS = {
    True: _Verdict.PRESENT,
    False: _Verdict.ABSENT,
    None: _Verdict.UNKNOWN,
    "present": _Verdict.PRESENT,
    "absent": _Verdict.ABSENT,
    "unknown": _Verdict.UNKNOWN,
}


def _verdict(result):
    if isinstance(result, _Verdict):
        return result
    key = result.lower() if isinstance(result, str) else result
    if isinstance(key, (bool, str)) or key is None:
        verdict = _VERDICTS.get(key)
        if verdict is not None:
            return verdict
    raise Err(
        f"revision.py: verify() returned {result!r}; return True (present), False (absent), "
        "None (unknown), or 'present' / 'absent' / 'unknown'"
    )
