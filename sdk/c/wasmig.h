/* wasmig.h: helpers for C revisions over the bindings wasmig generates from the contract
 * (revision.h, from sdk/wit/wasmig.wit by wit-bindgen's C generator). `wasmig build` puts both
 * beside your revision.c; the contract's own functions (wasmig_revision_db_*, _context_*) stay
 * available for what the helpers do not cover.
 *
 * A hook returns true on success. To fail, set its error and return false:
 * `return wasmig_fail(err, "the ledger holds %d rows", n);`. Every helper that talks to the
 * database returns false with *err set ("database error: [code] message") when a statement
 * fails, so a hook can write `if (!wasmig_execute_script(sql, err)) return false;`. */

#ifndef WASMIG_H
#define WASMIG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "revision.h"

typedef wasmig_revision_types_value_t wasmig_value;
typedef wasmig_revision_types_rows_t wasmig_rows;

static inline wasmig_value wasmig_null(void) {
    wasmig_value value = { .tag = WASMIG_REVISION_TYPES_VALUE_NULL };
    return value;
}

static inline wasmig_value wasmig_int(int64_t integer) {
    wasmig_value value = { .tag = WASMIG_REVISION_TYPES_VALUE_INTEGER, .val.integer = integer };
    return value;
}

static inline wasmig_value wasmig_real(double real) {
    wasmig_value value = { .tag = WASMIG_REVISION_TYPES_VALUE_REAL, .val.real = real };
    return value;
}

/* Borrows `text` for the call it is passed to. */
static inline wasmig_value wasmig_text(const char *text) {
    wasmig_value value = { .tag = WASMIG_REVISION_TYPES_VALUE_TEXT };
    value.val.text.ptr = (uint8_t *)text;
    value.val.text.len = strlen(text);
    return value;
}

static inline bool wasmig_is_postgres(void) {
    return wasmig_revision_db_dialect() == WASMIG_REVISION_TYPES_SQL_DIALECT_POSTGRES;
}

/* Sets a hook's error to a printf-style message and returns false. */
static inline bool wasmig_fail(revision_string_t *err, const char *format, ...) {
    va_list args;
    va_start(args, format);
    int length = vsnprintf(NULL, 0, format, args);
    va_end(args);
    char *text = malloc(length > 0 ? (size_t)length + 1 : 1);
    va_start(args, format);
    vsnprintf(text, length > 0 ? (size_t)length + 1 : 1, format, args);
    va_end(args);
    /* The host frees the error after reading it: it must be malloc'd. */
    err->ptr = (uint8_t *)text;
    err->len = length > 0 ? (size_t)length : 0;
    return false;
}

static inline bool wasmig_db_failed(wasmig_revision_types_db_error_t *error, revision_string_t *err) {
    if (error->code.is_some) {
        wasmig_fail(err, "database error: [%.*s] %.*s", (int)error->code.val.len, (const char *)error->code.val.ptr,
                    (int)error->message.len, (const char *)error->message.ptr);
    } else {
        wasmig_fail(err, "database error: %.*s", (int)error->message.len, (const char *)error->message.ptr);
    }
    wasmig_revision_types_db_error_free(error);
    return false;
}

/* Several statements, no parameters. */
static inline bool wasmig_execute_script(const char *sql, revision_string_t *err) {
    revision_string_t text = { (uint8_t *)sql, strlen(sql) };
    wasmig_revision_types_db_error_t error;
    return wasmig_revision_db_execute_script(&text, &error) || wasmig_db_failed(&error, err);
}

/* One statement with `count` parameters ($1 or ?1 ...); `changed` (may be NULL) gets the row count. */
static inline bool wasmig_execute(const char *sql, wasmig_value *params, size_t count, uint64_t *changed,
                                  revision_string_t *err) {
    revision_string_t text = { (uint8_t *)sql, strlen(sql) };
    wasmig_revision_db_list_value_t list = { params, count };
    uint64_t rows = 0;
    wasmig_revision_types_db_error_t error;
    if (!wasmig_revision_db_execute(&text, &list, &rows, &error)) return wasmig_db_failed(&error, err);
    if (changed) *changed = rows;
    return true;
}

/* One statement run once per row of parameters, prepared once. `values` holds `row_count` rows of
 * `width` parameters each, one row after the other (wasmig_value values[row_count][width] works);
 * `changed` (may be NULL) gets the rows affected in all. The first row that fails stops it: *err
 * reads "database error: [code] row N of M: ..." and the rows after it do not run. */
static inline bool wasmig_execute_many(const char *sql, wasmig_value *values, size_t row_count, size_t width,
                                       uint64_t *changed, revision_string_t *err) {
    revision_string_t text = { (uint8_t *)sql, strlen(sql) };
    /* The contract takes a list of lists: one list header per row, each pointing into `values`
     * (borrowed, nothing is copied). */
    wasmig_revision_db_list_value_t *lists = malloc((row_count > 0 ? row_count : 1) * sizeof *lists);
    if (lists == NULL) return wasmig_fail(err, "wasmig_execute_many: no memory for %zu rows", row_count);
    for (size_t i = 0; i < row_count; i++) {
        lists[i].ptr = values + i * width;
        lists[i].len = width;
    }
    wasmig_revision_db_list_list_value_t rows = { lists, row_count };
    uint64_t affected = 0;
    wasmig_revision_types_db_error_t error;
    bool ok = wasmig_revision_db_execute_many(&text, &rows, &affected, &error);
    free(lists);
    if (!ok) return wasmig_db_failed(&error, err);
    if (changed) *changed = affected;
    return true;
}

/* One query; free `rows` with wasmig_rows_free. rows->values.ptr[i].ptr[j] is row i, column j. */
static inline bool wasmig_query(const char *sql, wasmig_value *params, size_t count, wasmig_rows *rows,
                                revision_string_t *err) {
    revision_string_t text = { (uint8_t *)sql, strlen(sql) };
    wasmig_revision_db_list_value_t list = { params, count };
    wasmig_revision_types_db_error_t error;
    return wasmig_revision_db_query(&text, &list, rows, &error) || wasmig_db_failed(&error, err);
}

static inline void wasmig_rows_free(wasmig_rows *rows) {
    wasmig_revision_types_rows_free(rows);
}

/* A printf-style line in wasmig's log (printf() and puts() also go there, line by line). */
static inline void wasmig_info(const char *format, ...) {
    char line[512];
    va_list args;
    va_start(args, format);
    int length = vsnprintf(line, sizeof line, format, args);
    va_end(args);
    revision_string_t text = { (uint8_t *)line, length < 0 ? 0 : (length < (int)sizeof line ? (size_t)length : sizeof line - 1) };
    wasmig_revision_context_log(WASMIG_REVISION_TYPES_LOG_LEVEL_INFO, &text);
}

#endif
