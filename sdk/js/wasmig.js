// The wasmig JavaScript guest SDK: what a revision author imports.
//
//   import { query, execute } from './wasmig.js';
//
//   export function up() {
//     for (const user of query('SELECT id, name FROM users')) {
//       execute('UPDATE users SET handle = ?1 WHERE id = ?2', user.name.toLowerCase(), user.id);
//     }
//     executeMany('INSERT INTO tags (id, name) VALUES (?1, ?2)', [[1, 'admin'], [2, 'staff']]);
//   }
//
// The revision runs inside the transaction the host opened for the step. It
// sees only the database (through the host), its own files, its id, the
// tenant and a log: no files, network, clock or randomness (`Date.now()` is
// frozen at build time, `Math.random()` is constant). Placeholders are the
// dialect's own: `?1, ?2` on SQLite, `$1, $2` on PostgreSQL (see `dialect()`).
//
// Hooks must be synchronous functions: a Promise cannot be awaited here.

import * as db from 'wasmig:revision/db@0.1.1';
import * as context from 'wasmig:revision/context@0.1.1';

const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;
// 2^63 as a Number: integer-valued Numbers below it (and >= -2^63) fit an s64.
const I64_LIMIT = 9223372036854775808;

/**
 * A statement failed in the database or was refused by the host.
 *
 * `code` is PostgreSQL's SQLSTATE ('23505'), SQLite's extended result code
 * name ('SQLITE_CONSTRAINT_UNIQUE'), 'WASMIG' for a statement the host
 * refused (transaction control), or undefined. `message` is
 * '<code>: <database message>'; `dbMessage` is the database's message alone.
 *
 * Catching it lets the revision go on, but the statement's effect is gone,
 * and on PostgreSQL the transaction is aborted: every later statement of the
 * step fails too.
 */
export class DatabaseError extends Error {
  constructor(code, message) {
    super(code ? `${code}: ${message}` : String(message));
    this.name = 'DatabaseError';
    this.code = code ?? undefined;
    this.dbMessage = String(message);
  }
}

function databaseError(thrown) {
  const payload = thrown && typeof thrown === 'object' ? thrown.payload : undefined;
  if (payload && typeof payload === 'object' && 'message' in payload) {
    return new DatabaseError(payload.code, payload.message);
  }
  return thrown;
}

function typeName(value) {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  return value.constructor?.name ?? 'object';
}

// `row` is the row's number in executeMany, undefined for a single statement.
function toValue(param, position, row) {
  const where = row === undefined ? `SQL parameter ${position}` : `SQL parameter ${position} of row ${row}`;
  if (param === null || param === undefined) return { tag: 'null' };
  switch (typeof param) {
    case 'boolean':
      return { tag: 'integer', val: param ? 1n : 0n };
    case 'number':
      if (Number.isInteger(param) && param >= -I64_LIMIT && param < I64_LIMIT) {
        return { tag: 'integer', val: BigInt(param) };
      }
      return { tag: 'real', val: param };
    case 'bigint':
      if (param < I64_MIN || param > I64_MAX) {
        throw new RangeError(`${where} is ${param}n, outside the 64-bit signed integer range`);
      }
      return { tag: 'integer', val: param };
    case 'string':
      return { tag: 'text', val: param };
    default:
      break;
  }
  if (param instanceof Uint8Array) return { tag: 'blob', val: param };
  if (param instanceof ArrayBuffer) return { tag: 'blob', val: new Uint8Array(param) };
  if (ArrayBuffer.isView(param)) {
    return { tag: 'blob', val: new Uint8Array(param.buffer, param.byteOffset, param.byteLength) };
  }
  let hint = '';
  if (Array.isArray(param)) {
    hint =
      row === undefined
        ? ' (pass the parameters as separate arguments: execute(sql, a, b), or execute(sql, ...values))'
        : ' (each row is one flat array of parameters: executeMany(sql, [[a, b], [c, d]]))';
  } else if (param instanceof Date) {
    hint = ' (pass it as text: date.toISOString())';
  }
  throw new TypeError(
    `${where} has type ${typeName(param)}, which wasmig cannot send: ` +
      `use null, undefined, a boolean, number, bigint, string, Uint8Array or ArrayBuffer${hint}`,
  );
}

function toValues(params) {
  return params.map((param, index) => toValue(param, index + 1));
}

function toRows(rows) {
  if (!Array.isArray(rows)) {
    throw new TypeError(
      `the rows of executeMany have type ${typeName(rows)}: pass an array of arrays, e.g. executeMany(sql, [[1, 'a'], [2, 'b']])`,
    );
  }
  // Array.from, not map: a hole in a sparse array is a row (or parameter) too.
  return Array.from(rows, (row, index) => {
    if (!Array.isArray(row)) {
      throw new TypeError(
        `row ${index + 1} of executeMany has type ${typeName(row)}: each row is an array of parameters, ` +
          `e.g. executeMany(sql, [[1, 'a'], [2, 'b']]); for one parameter per row write [[a], [b]]`,
      );
    }
    return Array.from(row, (param, position) => toValue(param, position + 1, index + 1));
  });
}

function fromValue(value) {
  switch (value.tag) {
    case 'null':
      return null;
    case 'integer': {
      const number = Number(value.val);
      return Number.isSafeInteger(number) ? number : BigInt(value.val);
    }
    case 'real':
      return value.val;
    case 'text':
      return value.val;
    case 'blob':
      return value.val instanceof Uint8Array ? value.val : Uint8Array.from(value.val);
    default:
      throw new Error(`wasmig: unknown value tag '${value.tag}'`);
  }
}

function callDb(fn) {
  try {
    return fn();
  } catch (thrown) {
    throw databaseError(thrown);
  }
}

function runQuery(sql, params) {
  return callDb(() => db.query(sql, toValues(params)));
}

function rowObject(columns, row) {
  const object = {};
  for (let i = 0; i < columns.length; i++) object[columns[i]] = fromValue(row[i]);
  return object;
}

/** Runs one statement with positional parameters; returns the number of rows affected. */
export function execute(sql, ...params) {
  const affected = callDb(() => db.execute(sql, toValues(params)));
  return Number(affected);
}

/**
 * Runs one statement once per row of parameters (an array of arrays), prepared
 * once; returns the number of rows affected in all. The first row that fails
 * throws a DatabaseError whose message begins with 'row N of M: ', and the rows
 * after it do not run. No rows: nothing runs.
 */
export function executeMany(sql, rows) {
  const values = toRows(rows);
  const affected = callDb(() => db.executeMany(sql, values));
  return Number(affected);
}

/**
 * Runs one statement and returns its rows as objects keyed by column name.
 * When two columns share a name, the later one wins: alias them apart.
 */
export function query(sql, ...params) {
  const rows = runQuery(sql, params);
  return rows.values.map((row) => rowObject(rows.columns, row));
}

/** Runs one statement and returns `{ columns, rows }`, each row an array of values. */
export function queryRows(sql, ...params) {
  const rows = runQuery(sql, params);
  return { columns: rows.columns, rows: rows.values.map((row) => row.map(fromValue)) };
}

/** Runs one statement and returns its first row as an object, or undefined when it returns none. */
export function queryOne(sql, ...params) {
  const rows = runQuery(sql, params);
  return rows.values.length ? rowObject(rows.columns, rows.values[0]) : undefined;
}

/** Runs several `;`-separated statements, without parameters. */
export function executeScript(sql) {
  callDb(() => db.executeScript(sql));
}

/** 'sqlite' or 'postgres'. */
export function dialect() {
  return db.dialect();
}

/** This revision's id, as in its revision.toml. */
export function revisionId() {
  return context.revisionId();
}

/** The tenant's name when the host migrates a fleet, undefined otherwise. */
export function tenant() {
  return context.tenant() ?? undefined;
}

/** The bytes of a file from the revision's own directory, or undefined when it does not exist. */
export function asset(name) {
  const bytes = context.asset(name);
  if (bytes === undefined || bytes === null) return undefined;
  return bytes instanceof Uint8Array ? bytes : Uint8Array.from(bytes);
}

/** A file from the revision's own directory decoded as UTF-8, or undefined when it does not exist. */
export function assetText(name) {
  const bytes = asset(name);
  return bytes === undefined ? undefined : new TextDecoder().decode(bytes);
}

const LEVELS = { trace: 'trace', debug: 'debug', info: 'info', warn: 'warn', warning: 'warn', error: 'error' };

/** Sends a line to the host's log, tagged with the revision id. Levels: trace, debug, info, warn, error. */
export function log(message, level = 'info') {
  const wit = LEVELS[String(level).toLowerCase()];
  if (wit === undefined) {
    throw new RangeError(`unknown log level '${level}': use 'trace', 'debug', 'info', 'warn' or 'error'`);
  }
  context.log(wit, String(message));
}

export const debug = (message) => log(message, 'debug');
export const info = (message) => log(message, 'info');
export const warn = (message) => log(message, 'warn');
export const error = (message) => log(message, 'error');
