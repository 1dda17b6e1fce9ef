/* The small JSON writer (see json.h). */
#include "json.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pb_json_init(pb_json *j, int indent)
{
    if (!j) return;
    memset(j, 0, sizeof *j);
    j->indent = indent < 0 ? 0 : indent;
    j->first[0] = true;
}

void pb_json_free(pb_json *j)
{
    if (!j) return;
    free(j->text);
    memset(j, 0, sizeof *j);
}

pb_status pb_json_status(const pb_json *j)
{
    if (!j) return PB_ERR_NULL;
    if (j->status != PB_OK) return j->status;
    return j->depth == 0 ? PB_OK : PB_ERR_PARSE;
}

static void put(pb_json *j, const char *s, size_t n)
{
    if (j->status != PB_OK) return;
    if (j->len + n + 1 > j->cap) {
        size_t cap = j->cap ? j->cap : 1024;
        while (cap < j->len + n + 1) cap *= 2;
        char *p = realloc(j->text, cap);
        if (!p) {
            j->status = PB_ERR_NOMEM;
            return;
        }
        j->text = p;
        j->cap = cap;
    }
    memcpy(j->text + j->len, s, n);
    j->len += n;
    j->text[j->len] = '\0';
}

static void puts_(pb_json *j, const char *s) { put(j, s, strlen(s)); }

static void putf(pb_json *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(pb_json *j, const char *fmt, ...)
{
    char buf[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof buf) {
        j->status = PB_ERR_PARSE;
        return;
    }
    put(j, buf, (size_t)n);
}

size_t pb_json_escape(char *buf, size_t len, const char *s)
{
    size_t at = 0;
#define EMIT(c)                                                                            \
    do {                                                                                   \
        if (buf && at + 1 < len) buf[at] = (c);                                            \
        at++;                                                                              \
    } while (0)
    EMIT('"');
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        unsigned char c = *p;
        const char *esc = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\n' ? "\\n"
                        : c == '\t' ? "\\t" : c == '\r' ? "\\r" : NULL;
        char u[8];
        if (!esc && c < 0x20) {
            snprintf(u, sizeof u, "\\u%04x", c);
            esc = u;
        }
        if (esc)
            for (const char *e = esc; *e; e++) EMIT(*e);
        else
            EMIT((char)c);
    }
    EMIT('"');
#undef EMIT
    if (buf && len) buf[at < len ? at : len - 1] = '\0';
    return at;
}

static void put_str(pb_json *j, const char *s)
{
    size_t n = pb_json_escape(NULL, 0, s);
    char small[256];
    char *b = n < sizeof small ? small : malloc(n + 1);
    if (!b) {
        j->status = PB_ERR_NOMEM;
        return;
    }
    pb_json_escape(b, n + 1, s);
    put(j, b, n);
    if (b != small) free(b);
}

/* Comma, newline and indentation before a member, then "key": . */
static bool member(pb_json *j, const char *key)
{
    if (j->status != PB_OK) return false;
    if (j->depth > 0) {
        if (!j->first[j->depth]) puts_(j, ",");
        puts_(j, "\n");
        for (int i = 0; i < j->indent + 4 * j->depth; i++) puts_(j, " ");
    } else if (!j->first[0]) {
        j->status = PB_ERR_PARSE; /* a second top-level value */
        return false;
    }
    j->first[j->depth] = false;
    if (key) {
        put_str(j, key);
        puts_(j, ": ");
    }
    return j->status == PB_OK;
}

static pb_status open_(pb_json *j, const char *key, const char *bracket)
{
    if (!j) return PB_ERR_NULL;
    if (j->depth + 1 >= PB_JSON_MAX_DEPTH) j->status = PB_ERR_PARSE;
    if (!member(j, key)) return j->status;
    puts_(j, bracket);
    j->depth++;
    j->first[j->depth] = true;
    return j->status;
}

static pb_status close_(pb_json *j, const char *bracket)
{
    if (!j) return PB_ERR_NULL;
    if (j->status != PB_OK) return j->status;
    if (j->depth == 0) return j->status = PB_ERR_PARSE;
    bool empty = j->first[j->depth];
    j->depth--;
    if (!empty) {
        puts_(j, "\n");
        for (int i = 0; i < j->indent + 4 * j->depth; i++) puts_(j, " ");
    }
    puts_(j, bracket);
    return j->status;
}

pb_status pb_json_begin_object(pb_json *j, const char *key) { return open_(j, key, "{"); }
pb_status pb_json_end_object(pb_json *j) { return close_(j, "}"); }
pb_status pb_json_begin_array(pb_json *j, const char *key) { return open_(j, key, "["); }
pb_status pb_json_end_array(pb_json *j) { return close_(j, "]"); }

pb_status pb_json_str(pb_json *j, const char *key, const char *value)
{
    if (!j) return PB_ERR_NULL;
    if (member(j, key)) {
        if (value)
            put_str(j, value);
        else
            puts_(j, "null");
    }
    return j->status;
}

pb_status pb_json_num(pb_json *j, const char *key, double value)
{
    if (!j) return PB_ERR_NULL;
    if (member(j, key)) {
        if (isfinite(value))
            putf(j, "%.17g", value);
        else
            puts_(j, "null");
    }
    return j->status;
}

pb_status pb_json_int(pb_json *j, const char *key, int64_t value)
{
    if (!j) return PB_ERR_NULL;
    if (member(j, key)) putf(j, "%lld", (long long)value);
    return j->status;
}

pb_status pb_json_bool(pb_json *j, const char *key, bool value)
{
    if (!j) return PB_ERR_NULL;
    if (member(j, key)) puts_(j, value ? "true" : "false");
    return j->status;
}

pb_status pb_json_null(pb_json *j, const char *key)
{
    if (!j) return PB_ERR_NULL;
    if (member(j, key)) puts_(j, "null");
    return j->status;
}
