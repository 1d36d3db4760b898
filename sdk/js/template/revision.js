// Revision {id}: {message}
//
// `wasmig build` turns this file (and any other .js/.mjs file beside it) into
// revision.wasm; commit both. up() applies the revision and down() reverts
// it, each inside the transaction wasmig opened for the step: no BEGIN or
// COMMIT here. To fail, throw: the step is rolled back and wasmig shows the
// error's name and message. console.log() goes to wasmig's log. Hooks must
// be synchronous (no async, no await).
//
// Code at the top level of this file runs at build time, not at migration
// time: put database work inside the functions.
//
// Placeholders are the dialect's own: ?1, ?2 on SQLite, $1, $2 on PostgreSQL.
// Values: null/undefined, booleans (sent as 0/1), numbers, bigints, strings,
// Uint8Array. Integers come back as numbers (as BigInt past 2^53).
//
//   executeScript(`
//     CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, handle TEXT);
//     CREATE INDEX users_name ON users (name);
//   `);
//
//   // A backfill: read the rows, write each one back.
//   const update = dialect() === 'sqlite'
//     ? 'UPDATE users SET handle = ?1 WHERE id = ?2'
//     : 'UPDATE users SET handle = $1 WHERE id = $2';
//   for (const user of query('SELECT id, name FROM users WHERE handle IS NULL')) {
//     execute(update, user.name.toLowerCase(), user.id);
//   }
//
//   const { n } = queryOne('SELECT count(*) AS n FROM users');
//   const seed = assetText('seed.sql');   // a file beside revision.toml
//
//   try {
//     execute("INSERT INTO settings (key) VALUES ('theme')");
//   } catch (e) {
//     if (!(e instanceof DatabaseError)) throw e;   // e.code: 'SQLITE_CONSTRAINT_UNIQUE', '23505', ...
//     warn(`kept the existing setting: ${e.message}`);   // (on PostgreSQL the step still fails)
//   }

import { dialect, info, revisionId } from './wasmig.js';
// More of the SDK: execute, query, queryRows, queryOne, executeScript, asset,
// assetText, tenant, log, debug, warn, error, DatabaseError.

export function up() {
  info(`nothing to apply yet in revision ${revisionId()} (${dialect()})`);
}

export function down() {
  // Undo exactly what up() does.
  info(`nothing to revert yet in revision ${revisionId()}`);
}

// Optional: is this revision's effect already in the database? Used by
// `wasmig upgrade --adopt`. Return true (present), false (absent) or
// undefined (cannot tell); without verify() wasmig assumes 'unknown'.
//
// export function verify() {
//   const { n } = queryOne("SELECT count(*) AS n FROM sqlite_master WHERE name = 'users'");
//   return n > 0;
// }
