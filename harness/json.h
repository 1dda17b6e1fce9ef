/*
 * A small JSON writer for the results record: a growing string with
 * nesting, commas and indentation handled, strings escaped, non-finite
 * numbers written as null (JSON has no NaN).  Errors are sticky: after an
 * allocation failure or a nesting mistake every call is a no-op and
 * pb_json_status() reports it, so a builder can be checked once at the end.
 */
#ifndef POOLBENCH_JSON_H
#define POOLBENCH_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pool.h"

#define PB_JSON_MAX_DEPTH 16

typedef struct pb_json {
    char *text;      /* NUL-terminated once anything was written */
    size_t len, cap;
    int depth;
    int indent;      /* spaces of the outermost level */
    bool first[PB_JSON_MAX_DEPTH]; /* no member written yet at this depth */
    pb_status status;
} pb_json;

/* Starts an empty builder whose lines are indented by `indent` spaces
 * (to sit inside another document), then 4 per level. */
void pb_json_init(pb_json *j, int indent);
void pb_json_free(pb_json *j);
/* PB_OK, PB_ERR_NOMEM, or PB_ERR_PARSE for unbalanced nesting (checked
 * at the end: depth must be back to 0). */
pb_status pb_json_status(const pb_json *j);

/* Members: `key` is the member name inside an object, NULL inside an
 * array (and for the top-level value). */
pb_status pb_json_begin_object(pb_json *j, const char *key);
pb_status pb_json_end_object(pb_json *j);
pb_status pb_json_begin_array(pb_json *j, const char *key);
pb_status pb_json_end_array(pb_json *j);
pb_status pb_json_str(pb_json *j, const char *key, const char *value); /* NULL -> null */
pb_status pb_json_num(pb_json *j, const char *key, double value);      /* non-finite -> null */
pb_status pb_json_int(pb_json *j, const char *key, int64_t value);
pb_status pb_json_bool(pb_json *j, const char *key, bool value);
pb_status pb_json_null(pb_json *j, const char *key);

/* Appends s as a JSON string literal (quotes and escapes) to a plain
 * buffer: used by the CSV writer's neighbours and by tests.  Returns the
 * length needed (like snprintf), excluding the NUL. */
size_t pb_json_escape(char *buf, size_t len, const char *s);

#endif
