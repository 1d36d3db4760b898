"""The wasmig Python guest SDK: what a revision author imports.

    import wasmig

    def up():
        for user_id, name in wasmig.query("SELECT id, name FROM users"):
            wasmig.execute(UPDATE_HANDLE, name.lower(), user_id)
        wasmig.execute_many(INSERT_TAG, [(1, "admin"), (2, "staff")])

The revision runs inside the transaction the host opened for the step. It
sees only the database (through the host), its own files, its id, the tenant
and a log: no files, network, clock or randomness. Placeholders are the
dialect's own: ``?1, ?2`` on SQLite, ``$1, $2`` on PostgreSQL (see
``dialect()``).

Everything is imported at the top of this module on purpose: the component
is snapshotted after its top-level code ran, and an import done later, at
migration time, traps under ``--stub-wasi``.
"""

from componentize_py_types import Err
from wit_world.imports import context as _context
from wit_world.imports import db as _db
from wit_world.imports.types import (
    DbError as _DbError,
    LogLevel as _LogLevel,
    SqlDialect as _SqlDialect,
    Value_Blob as _Blob,
    Value_Integer as _Integer,
    Value_Null as _Null,
    Value_Real as _Real,
    Value_Text as _Text,
)

__all__ = [
    "DatabaseError",
    "execute",
    "execute_many",
    "query",
    "query_dicts",
    "query_one",
    "execute_script",
    "dialect",
    "revision_id",
    "tenant",
    "asset",
    "asset_text",
    "log",
    "debug",
    "info",
    "warn",
    "error",
]

_I64_MIN = -(1 << 63)
_I64_MAX = (1 << 63) - 1


class DatabaseError(Exception):
    """A statement failed in the database or was refused by the host.

    ``code`` is PostgreSQL's SQLSTATE (``"23505"``), SQLite's extended result
    code name (``"SQLITE_CONSTRAINT_UNIQUE"``), ``"WASMIG"`` for a statement
    the host refused (transaction control), or None. ``message`` is the
    database's message.

    Catching it lets the revision go on, but the statement's effect is gone,
    and on PostgreSQL the transaction is aborted: every later statement of
    the step fails too.
    """

    def __init__(self, code, message):
        super().__init__(code, message)
        self.code = code
        self.message = message

    def __str__(self):
        if self.code:
            return f"{self.code}: {self.message}"
        return self.message

    def __repr__(self):
        return f"DatabaseError(code={self.code!r}, message={self.message!r})"


def _database_error(err):
    """The DatabaseError for an ``Err`` raised by the generated bindings."""
    value = err.value
    if isinstance(value, _DbError):
        return DatabaseError(value.code, value.message)
    return DatabaseError(None, str(value))


def _to_value(position, param, row=None):
    # `row` is the row's number in execute_many, None for a single statement.
    where = f"SQL parameter {position}" if row is None else f"SQL parameter {position} of row {row}"
    # bool before int: bool is a subclass of int.
    if param is None:
        return _Null()
    if isinstance(param, bool):
        return _Integer(1 if param else 0)
    if isinstance(param, int):
        number = int(param)
        if number < _I64_MIN or number > _I64_MAX:
            raise OverflowError(f"{where} is {number}, outside the 64-bit signed integer range")
        return _Integer(number)
    if isinstance(param, float):
        return _Real(float(param))
    if isinstance(param, str):
        return _Text(str(param))
    if isinstance(param, (bytes, bytearray, memoryview)):
        return _Blob(bytes(param))
    hint = ""
    if isinstance(param, (list, tuple)):
        if row is None:
            hint = " (pass the parameters as separate arguments: execute(sql, a, b), or execute(sql, *values))"
        else:
            hint = " (each row is one flat sequence of parameters: execute_many(sql, [(a, b), (c, d)]))"
    elif type(param).__name__ in ("date", "datetime", "time", "Decimal", "UUID"):
        hint = " (pass it as text, e.g. value.isoformat() or str(value))"
    raise TypeError(
        f"{where} has type {type(param).__name__}, which wasmig cannot send: "
        f"use None, bool, int, float, str or bytes{hint}"
    )


def _to_values(params):
    return [_to_value(position, param) for position, param in enumerate(params, start=1)]


def _to_rows(rows):
    """execute_many's rows as lists of values; a row that is not a sequence of parameters raises TypeError."""
    if not hasattr(rows, "__iter__"):
        raise TypeError(
            f"the rows of execute_many have type {type(rows).__name__}: pass a list (or any iterable) of "
            "sequences of parameters, e.g. execute_many(sql, [(1, 'a'), (2, 'b')])"
        )
    converted = []
    for number, row in enumerate(rows, start=1):
        # A string or bytes is iterable too, but as a row it is a mistake
        # (execute_many(sql, ["a", "b"]) means [("a",), ("b",)]): it would
        # silently send one parameter per character.
        if isinstance(row, (str, bytes, bytearray, memoryview, dict)) or not hasattr(row, "__iter__"):
            raise TypeError(
                f"row {number} of execute_many has type {type(row).__name__}: each row is a sequence of "
                "parameters, e.g. execute_many(sql, [(1, 'a'), (2, 'b')]); for one parameter per row write (value,)"
            )
        converted.append([_to_value(position, param, number) for position, param in enumerate(row, start=1)])
    return converted


def _from_value(value):
    if isinstance(value, _Null):
        return None
    # Integer, Real, Text and Blob all carry `.value`.
    return value.value


def _run_query(sql, params):
    try:
        return _db.query(sql, _to_values(params))
    except Err as err:
        raise _database_error(err) from None


def execute(sql, *params):
    """Runs one statement with positional parameters; returns the number of rows affected."""
    try:
        return _db.execute(sql, _to_values(params))
    except Err as err:
        raise _database_error(err) from None


def execute_many(sql, rows):
    """Runs one statement once per row of parameters, prepared once; returns the rows affected in all.

    ``rows`` is an iterable of sequences (``[(1, "a"), (2, "b")]``). The first
    row that fails raises DatabaseError, whose message begins with
    ``"row N of M: "``, and the rows after it do not run. No rows: nothing runs.
    """
    values = _to_rows(rows)
    try:
        return _db.execute_many(sql, values)
    except Err as err:
        raise _database_error(err) from None


def query(sql, *params):
    """Runs one statement and returns its rows as a list of tuples."""
    rows = _run_query(sql, params)
    return [tuple(_from_value(v) for v in row) for row in rows.values]


def query_dicts(sql, *params):
    """Runs one statement and returns its rows as a list of dicts keyed by column name.

    When two columns share a name, the later one wins: alias them apart.
    """
    rows = _run_query(sql, params)
    columns = rows.columns
    return [{c: _from_value(v) for c, v in zip(columns, row)} for row in rows.values]


def query_one(sql, *params):
    """Runs one statement and returns its first row as a tuple, or None when it returns none."""
    rows = _run_query(sql, params)
    if not rows.values:
        return None
    return tuple(_from_value(v) for v in rows.values[0])


def execute_script(sql):
    """Runs several ``;``-separated statements, without parameters."""
    try:
        _db.execute_script(sql)
    except Err as err:
        raise _database_error(err) from None


def dialect():
    """``"sqlite"`` or ``"postgres"``."""
    if _db.dialect() == _SqlDialect.POSTGRES:
        return "postgres"
    return "sqlite"


def revision_id():
    """This revision's id, as in its revision.toml."""
    return _context.revision_id()


def tenant():
    """The tenant's name when the host migrates a fleet, None otherwise."""
    return _context.tenant()


def asset(name):
    """The bytes of a file from the revision's own directory, or None when it does not exist."""
    return _context.asset(name)


def asset_text(name):
    """A file from the revision's own directory decoded as UTF-8, or None when it does not exist."""
    data = _context.asset(name)
    if data is None:
        return None
    return bytes(data).decode("utf-8")


_LEVELS = {
    "trace": _LogLevel.TRACE,
    "debug": _LogLevel.DEBUG,
    "info": _LogLevel.INFO,
    "warn": _LogLevel.WARN,
    "warning": _LogLevel.WARN,
    "error": _LogLevel.ERROR,
}


def log(message, level="info"):
    """Sends a line to the host's log, tagged with the revision id.

    ``level`` is one of "trace", "debug", "info", "warn" (or "warning"), "error".
    """
    if isinstance(level, _LogLevel):
        wit_level = level
    else:
        wit_level = _LEVELS.get(str(level).lower())
        if wit_level is None:
            raise ValueError(
                f"unknown log level {level!r}: use 'trace', 'debug', 'info', 'warn' or 'error'"
            )
    _context.log(wit_level, str(message))


def debug(message):
    log(message, "debug")


def info(message):
    log(message, "info")


def warn(message):
    log(message, "warn")


def error(message):
    log(message, "error")
