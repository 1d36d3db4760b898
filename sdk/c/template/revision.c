/* Revision {id}: {message}
 *
 * `wasmig build` compiles this file (and any other .c/.h file beside it) with clang for
 * wasm32 into revision.wasm; commit both. up() applies the revision and down() reverts it,
 * each inside the transaction wasmig opened for the step: no BEGIN or COMMIT here. A hook
 * returns true on success; to fail, `return wasmig_fail(err, "...", ...)`: the step is rolled
 * back and wasmig shows the message. printf() goes to wasmig's log.
 *
 * The sandbox: malloc, string functions and snprintf work; anything that needs the outside
 * world (time(), fopen(), getenv()) makes `wasmig build` refuse the revision.
 *
 * Placeholders are the dialect's own: ?1, ?2 on SQLite, $1, $2 on PostgreSQL.
 *
 *     if (!wasmig_execute_script("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL)", err))
 *         return false;
 *     wasmig_value params[] = { wasmig_int(1), wasmig_text("Ada") };
 *     const char *insert = wasmig_is_postgres() ? "INSERT INTO users VALUES ($1, $2)"
 *                                               : "INSERT INTO users VALUES (?1, ?2)";
 *     if (!wasmig_execute(insert, params, 2, NULL, err)) return false;
 *
 *     // Many rows, one statement prepared once: rows[i] holds row i's parameters.
 *     wasmig_value rows[2][2] = { { wasmig_int(2), wasmig_text("Grace") }, { wasmig_int(3), wasmig_text("Edsger") } };
 *     if (!wasmig_execute_many(insert, &rows[0][0], 2, 2, NULL, err)) return false;
 *
 *     wasmig_rows rows;
 *     if (!wasmig_query("SELECT count(*) FROM users", NULL, 0, &rows, err)) return false;
 *     int64_t count = rows.values.ptr[0].ptr[0].val.integer;
 *     wasmig_rows_free(&rows);
 */

#include "wasmig.h"

bool exports_revision_up(revision_string_t *err) {
    (void)err;
    revision_string_t id;
    wasmig_revision_context_revision_id(&id);
    printf("nothing to apply yet in revision %.*s (%s)\n", (int)id.len, (const char *)id.ptr,
           wasmig_is_postgres() ? "postgres" : "sqlite");
    revision_string_free(&id);
    return true;
}

bool exports_revision_down(revision_string_t *err) {
    (void)err;
    /* Undo exactly what up() does. */
    printf("nothing to revert yet in revision {id}\n");
    return true;
}

/* Is this revision's effect already in the database? Used by `wasmig upgrade --adopt`:
 * set *verdict to WASMIG_REVISION_TYPES_VERDICT_PRESENT, _ABSENT or _UNKNOWN. */
bool exports_revision_verify(revision_verdict_t *verdict, revision_string_t *err) {
    (void)err;
    *verdict = WASMIG_REVISION_TYPES_VERDICT_UNKNOWN;
    return true;
}
