/* RFC 4180 CSV reader; see csv.h. */
#include "csv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct strvec {
    char **v;
    size_t n, cap;
} strvec;

static bool vec_push(strvec *s, char *x)
{
    if (s->n == s->cap) {
        size_t nc = s->cap ? 2 * s->cap : 16;
        char **v = realloc(s->v, nc * sizeof *v);
        if (!v) return false;
        s->v = v;
        s->cap = nc;
    }
    s->v[s->n++] = x;
    return true;
}

static void vec_free(strvec *s)
{
    for (size_t i = 0; i < s->n; i++) free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof *s);
}

static char *read_all(const char *path, size_t *n, pb_status *st, char *msg, size_t len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        *st = pb_errorf(msg, len, PB_ERR_IO, "%s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, m = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        m += fread(buf + m, 1, cap - m, f);
        if (m < cap) break;
        char *nb = realloc(buf, (cap *= 2) + 1);
        if (!nb) free(buf);
        buf = nb;
    }
    bool bad = ferror(f);
    fclose(f);
    if (!buf) {
        *st = pb_errorf(msg, len, PB_ERR_NOMEM, "%s: out of memory", path);
        return NULL;
    }
    if (bad) {
        free(buf);
        *st = pb_errorf(msg, len, PB_ERR_IO, "%s: read error", path);
        return NULL;
    }
    buf[m] = 0;
    *n = m;
    *st = PB_OK;
    return buf;
}

void pb_csv_free(pb_csv *t)
{
    if (!t) return;
    for (size_t i = 0; i < t->ncols; i++) free(t->header[i]);
    free(t->header);
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t i = 0; i < t->ncols; i++) free(t->rows[r][i]);
        free(t->rows[r]);
    }
    free(t->rows);
    memset(t, 0, sizeof *t);
}

/* Appends a finished record (its fields in *rec) to t: the first becomes
 * the header. */
static pb_status add_record(pb_csv *t, strvec *rec, size_t *rows_cap)
{
    if (rec->n == 1 && rec->v[0][0] == 0) { /* a blank line */
        vec_free(rec);
        return PB_OK;
    }
    if (!t->header) {
        t->header = rec->v;
        t->ncols = rec->n;
        memset(rec, 0, sizeof *rec);
        return PB_OK;
    }
    if (rec->n > t->ncols) return PB_ERR_PARSE;
    char **row = calloc(t->ncols ? t->ncols : 1, sizeof *row);
    if (!row) return PB_ERR_NOMEM;
    for (size_t i = 0; i < t->ncols; i++) {
        row[i] = i < rec->n ? rec->v[i] : strdup("");
        if (!row[i]) {
            for (size_t k = rec->n; k < i; k++) free(row[k]);
            free(row);
            return PB_ERR_NOMEM;
        }
    }
    free(rec->v);
    memset(rec, 0, sizeof *rec);
    if (t->nrows == *rows_cap) {
        size_t nc = *rows_cap ? 2 * *rows_cap : 64;
        char ***r = realloc(t->rows, nc * sizeof *r);
        if (!r) {
            for (size_t i = 0; i < t->ncols; i++) free(row[i]);
            free(row);
            return PB_ERR_NOMEM;
        }
        t->rows = r;
        *rows_cap = nc;
    }
    t->rows[t->nrows++] = row;
    return PB_OK;
}

pb_status pb_csv_load(const char *path, pb_csv *t, char *msg, size_t msg_len)
{
    if (!path || !t) return PB_ERR_NULL;
    memset(t, 0, sizeof *t);
    size_t n;
    pb_status st;
    char *buf = read_all(path, &n, &st, msg, msg_len);
    if (!buf) return st;
    strvec rec = {0};
    size_t rows_cap = 0, line = 1;
    char *field = malloc(n + 1);
    if (!field) {
        free(buf);
        return pb_errorf(msg, msg_len, PB_ERR_NOMEM, "%s: out of memory", path);
    }
    size_t i = 0;
    st = PB_OK;
    while (i < n && st == PB_OK) {
        /* one field */
        size_t fl = 0;
        if (buf[i] == '"') {
            i++;
            for (;;) {
                if (i >= n) {
                    st = pb_errorf(msg, msg_len, PB_ERR_PARSE, "%s:%zu: unterminated quoted field", path, line);
                    break;
                }
                if (buf[i] == '"') {
                    if (i + 1 < n && buf[i + 1] == '"') {
                        field[fl++] = '"';
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                if (buf[i] == '\n') line++;
                field[fl++] = buf[i++];
            }
            if (st != PB_OK) break;
        }
        while (i < n && buf[i] != ',' && buf[i] != '\n' && buf[i] != '\r') field[fl++] = buf[i++];
        field[fl] = 0;
        char *dup = strdup(field);
        if (!dup || !vec_push(&rec, dup)) {
            free(dup);
            st = pb_errorf(msg, msg_len, PB_ERR_NOMEM, "%s: out of memory", path);
            break;
        }
        if (i < n && buf[i] == ',') {
            i++;
            if (i == n) { /* trailing comma at end of file: one more empty field */
                char *e = strdup("");
                if (!e || !vec_push(&rec, e)) {
                    free(e);
                    st = pb_errorf(msg, msg_len, PB_ERR_NOMEM, "%s: out of memory", path);
                }
            }
            continue;
        }
        /* end of record */
        if (i < n && buf[i] == '\r') i++;
        if (i < n && buf[i] == '\n') i++;
        st = add_record(t, &rec, &rows_cap);
        if (st == PB_ERR_PARSE)
            pb_errorf(msg, msg_len, st, "%s:%zu: more fields than the header's %zu", path, line, t->ncols);
        else if (st != PB_OK)
            pb_errorf(msg, msg_len, st, "%s: out of memory", path);
        line++;
    }
    if (st == PB_OK && rec.n) st = add_record(t, &rec, &rows_cap);
    vec_free(&rec);
    free(field);
    free(buf);
    if (st == PB_OK && !t->header) st = pb_errorf(msg, msg_len, PB_ERR_PARSE, "%s: empty file", path);
    if (st != PB_OK) pb_csv_free(t);
    return st;
}

int pb_csv_col(const pb_csv *t, const char *name)
{
    if (!t || !name) return -1;
    for (size_t i = 0; i < t->ncols; i++)
        if (strcmp(t->header[i], name) == 0) return (int)i;
    return -1;
}

const char *pb_csv_get(const pb_csv *t, size_t row, int col)
{
    if (!t || col < 0 || (size_t)col >= t->ncols || row >= t->nrows) return "";
    return t->rows[row][col];
}
