// Revision {id}: {message}
//
// wasmig runs this file as it is, on the JavaScript engine built into
// wasmig: there is nothing to build. up() applies the revision and down()
// reverts it, each inside the transaction wasmig opened for the step: no
// BEGIN or COMMIT here. To fail, throw: the step is rolled back and wasmig
// shows the error's name, message and line. console.log() goes to wasmig's
// log. Hooks must be synchronous (no async, no await). Other .js files
// beside this one can be imported (`import { f } from './helpers.js'`).
//
// No npm packages and no Node APIs. A revision that needs packages can
// become a component of its own: set kind = "component" in revision.toml
// and run `wasmig build` (its top-level code then runs at build time).
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
//   // Many rows, one statement prepared once:
//   const insert = dialect() === 'sqlite'
//     ? 'INSERT INTO users (id, name) VALUES (?1, ?2)'
//     : 'INSERT INTO users (id, name) VALUES ($1, $2)';
//   executeMany(insert, [[1, 'Ada'], [2, 'Grace']]);
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
// More of the SDK: execute, executeMany, query, queryRows, queryOne,
// executeScript, asset, assetText, tenant, log, debug, warn, error,
// DatabaseError.

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
