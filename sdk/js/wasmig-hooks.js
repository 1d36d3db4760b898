// How wasmig calls a JavaScript revision's hooks, whatever carries the engine.
//
// Shared by the two ways a JavaScript revision runs: its own component
// (wasmig-entry.js, built by `wasmig build`) and the shared interpreter
// plugin (plugins/js/wasmig-js.js, for `kind = "js"` revisions). Both export
// the world's `up`, `down` and `verify` from `revisionHooks(load)`, where
// `load()` returns the author's module namespace. They:
//
// - rethrow anything thrown by the author's code (or while the revision is
//   loaded) as a string '<name>: <message> (at revision.js:<line> in
//   <function>)': componentize-js turns a thrown string into the hook's
//   `err`, which the host shows and which rolls the step back (a thrown
//   Error object would trap with no message);
// - forward `console.log/info/debug/warn/error/trace` to the host log
//   (console is a no-op otherwise).
//
// This module's top level runs at build time, when the host is not there:
// nothing here calls the host before a hook runs.

import { DatabaseError } from './wasmig.js';
import { log as hostLog } from 'wasmig:revision/context@0.1.1';

const MAX_MESSAGE = 4000;
const SDK_FILES = ['wasmig.js', 'wasmig-entry.js', 'wasmig-hooks.js', 'wasmig-js.js'];

function basename(path) {
  return String(path).replace(/^.*[\\/]/, '');
}

function formatArg(arg) {
  if (typeof arg === 'string') return arg;
  if (arg instanceof Error) return arg.stack ? `${arg.name}: ${arg.message}\n${arg.stack}` : `${arg.name}: ${arg.message}`;
  if (typeof arg === 'bigint') return `${arg}n`;
  if (arg === undefined || typeof arg === 'function' || typeof arg === 'symbol') return String(arg);
  try {
    const json = JSON.stringify(arg, (_key, value) => {
      if (typeof value === 'bigint') return `${value}n`;
      if (value instanceof Uint8Array) return `Uint8Array(${value.length})`;
      return value;
    });
    return json === undefined ? String(arg) : json;
  } catch {
    return String(arg);
  }
}

function consoleTo(level) {
  return (...args) => {
    const text = args.map(formatArg).join(' ');
    for (const line of text.split('\n')) hostLog(level, line);
  };
}

const hostConsole = {
  log: consoleTo('info'),
  info: consoleTo('info'),
  debug: consoleTo('debug'),
  trace: consoleTo('trace'),
  warn: consoleTo('warn'),
  error: consoleTo('error'),
};
globalThis.console = hostConsole;

// The innermost stack frame in the author's files, as 'revision.js:12 in up'.
// SpiderMonkey stacks read 'function@file:line:column', one frame per line.
// The constructors of an Error subclass are where it was built, not thrown:
// they are skipped.
function where(error) {
  if (!error || typeof error.stack !== 'string') return undefined;
  const constructors = new Set();
  for (let proto = Object.getPrototypeOf(error); proto && proto !== Error.prototype; proto = Object.getPrototypeOf(proto)) {
    if (proto.constructor?.name) constructors.add(proto.constructor.name);
  }
  for (const frame of error.stack.split('\n')) {
    const match = /^(.*)@(.*):(\d+):(\d+)$/.exec(frame.trim());
    if (!match) continue;
    const file = basename(match[2]);
    if (!file || SDK_FILES.includes(file) || constructors.has(match[1])) continue;
    const fn = match[1] || '<top level>';
    return `${file}:${match[3]} in ${fn}`;
  }
  return undefined;
}

function describe(thrown) {
  if (typeof thrown === 'string') return thrown;
  let message;
  if (thrown instanceof Error) {
    const name = thrown.name || thrown.constructor?.name || 'Error';
    message = thrown.message ? `${name}: ${thrown.message}` : name;
    const at = where(thrown);
    if (at) message += ` (at ${at})`;
  } else if (thrown && typeof thrown === 'object' && thrown.payload && 'message' in thrown.payload) {
    // A db-error from calling the raw bindings.
    message = `DatabaseError: ${new DatabaseError(thrown.payload.code, thrown.payload.message).message}`;
  } else {
    try {
      message = `thrown value: ${formatArg(thrown)}`;
    } catch {
      message = 'thrown value that cannot be shown';
    }
  }
  return message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 3)}...` : message;
}

function call(load, name, required) {
  globalThis.console = hostConsole;
  let revision;
  try {
    revision = load();
  } catch (thrown) {
    throw describe(thrown);
  }
  const fn = revision[name];
  if (fn === undefined) {
    if (required) throw `revision.js exports no ${name}()`;
    return undefined;
  }
  if (typeof fn !== 'function') throw `revision.js: export '${name}' is a ${typeof fn}, not a function`;
  let result;
  try {
    result = fn();
  } catch (thrown) {
    throw describe(thrown);
  }
  if (result && typeof result.then === 'function') {
    throw `revision.js: ${name}() returned a Promise; wasmig hooks must be synchronous functions`;
  }
  return result;
}

const VERDICTS = new Map([
  [true, 'present'],
  [false, 'absent'],
  [undefined, 'unknown'],
  [null, 'unknown'],
  ['present', 'present'],
  ['absent', 'absent'],
  ['unknown', 'unknown'],
]);

/**
 * The world's exports for the revision `load()` returns (its module
 * namespace; the plugin reads and evaluates it at that moment).
 */
export function revisionHooks(load) {
  return {
    up() {
      call(load, 'up', true);
    },
    down() {
      call(load, 'down', true);
    },
    verify() {
      const result = call(load, 'verify', false);
      return verdictOf(result);
    },
  };
}

function verdictOf(result) {
  const key = typeof result === 'string' ? result.toLowerCase() : result;
  const verdict = VERDICTS.get(key);
  if (verdict === undefined) {
    throw `revision.js: verify() returned ${describeValue(result)}; return true (present), false (absent), undefined (unknown), or 'present' / 'absent' / 'unknown'`;
  }
  return verdict;
}

function describeValue(value) {
  try {
    return typeof value === 'string' ? `'${value}'` : formatArg(value);
  } catch {
    return typeof value;
  }
}
