/* Guarded buffers, descriptions and small helpers shared by the checks. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verify_internal.h"

static const char *const verdict_names[] = {"PASS", "FAIL", "SKIPPED"};

const char *pb_verdict_name(pb_verdict v)
{
    return (unsigned)v < sizeof verdict_names / sizeof verdict_names[0] ? verdict_names[v] : "?";
}

/* 65 words before the tensor (an odd float offset from the 16-byte aligned
 * allocation: kernels must not assume alignment), 64 after.  The guard word
 * is a signaling-NaN pattern, so a kernel that reads past a buffer and uses
 * the value tends to produce a NaN the comparison catches as well. */
#define HEAD_WORDS 65
#define TAIL_WORDS 64
#define GUARD_WORD 0x7FA5A5A5u

pb_status pb_v_alloc(pb_v_buf *b, const char *name, int64_t elems, size_t elem_size)
{
    if (!b) return PB_ERR_NULL;
    memset(b, 0, sizeof *b);
    b->name = name;
    if (elem_size != sizeof(uint32_t) || elems < 1) return PB_ERR_SHAPE;
    if (elems > PB_MAX_BUFFER_BYTES / (int64_t)elem_size) return PB_ERR_TOO_LARGE;
    b->bytes = (size_t)elems * elem_size;
    size_t total = (HEAD_WORDS + TAIL_WORDS) * sizeof(uint32_t) + b->bytes;
    b->raw = malloc(total);
    if (!b->raw) return PB_ERR_NOMEM;
    uint32_t g = GUARD_WORD;
    for (size_t i = 0; i < HEAD_WORDS; i++) memcpy(b->raw + i * sizeof g, &g, sizeof g);
    unsigned char *tail = b->raw + HEAD_WORDS * sizeof g + b->bytes;
    for (size_t i = 0; i < TAIL_WORDS; i++) memcpy(tail + i * sizeof g, &g, sizeof g);
    b->p = b->raw + HEAD_WORDS * sizeof g;
    memset(b->p, 0, b->bytes);
    return PB_OK;
}

void pb_v_free(pb_v_buf *b)
{
    if (!b) return;
    free(b->raw);
    b->raw = NULL;
    b->p = NULL;
}

bool pb_v_guards_ok(const pb_v_buf *b, char *msg, size_t len)
{
    if (!b || !b->raw) return true;
    const uint32_t g = GUARD_WORD;
    const unsigned char *tail = (const unsigned char *)b->p + b->bytes;
    int64_t near_after = -1, near_before = -1, changed = 0;
    for (size_t i = 0; i < TAIL_WORDS; i++)
        if (memcmp(tail + i * sizeof g, &g, sizeof g) != 0) {
            if (near_after < 0) near_after = (int64_t)i;
            changed++;
        }
    for (size_t i = 0; i < HEAD_WORDS; i++) /* i = words before the start, minus one */
        if (memcmp((const unsigned char *)b->p - (i + 1) * sizeof g, &g, sizeof g) != 0) {
            if (near_before < 0) near_before = (int64_t)i;
            changed++;
        }
    if (!changed) return true;
    if (msg && len) {
        if (near_after >= 0)
            snprintf(msg, len, "wrote past the end of %s (element +%lld after the last; %lld guard words changed)",
                     b->name, (long long)near_after, (long long)changed);
        else
            snprintf(msg, len, "wrote before the start of %s (element -%lld; %lld guard words changed)",
                     b->name, (long long)near_before + 1, (long long)changed);
    }
    return false;
}

void *pb_v_take(pb_v_bufset *s, const char *name, int64_t elems)
{
    if (!s || s->st != PB_OK) return NULL;
    if (s->count >= PB_V_MAX_BUFS) {
        s->st = PB_ERR_NOMEM;
        return NULL;
    }
    pb_v_buf *b = &s->b[s->count++];
    s->st = pb_v_alloc(b, name, elems, sizeof(float));
    return s->st == PB_OK ? b->p : NULL;
}

void pb_v_release(pb_v_bufset *s)
{
    if (!s) return;
    for (int i = 0; i < s->count; i++) pb_v_free(&s->b[i]);
    s->count = 0;
}

bool pb_v_run_ok(pb_status ist, const pb_v_bufset *s, const pb_v_ro *ro, int n_ro, char *msg,
                 size_t len)
{
    if (ist != PB_OK) {
        snprintf(msg, len, "implementation returned \"%s\"", pb_status_str(ist));
        return false;
    }
    for (int i = 0; i < s->count; i++)
        if (!pb_v_guards_ok(&s->b[i], msg, len)) return false;
    for (int i = 0; i < n_ro; i++)
        if (ro[i].p && memcmp(ro[i].p, ro[i].copy, ro[i].bytes) != 0) {
            snprintf(msg, len, "modified its read-only input %s", ro[i].name);
            return false;
        }
    return true;
}

bool pb_v_same_bits(float a, float b) { return memcmp(&a, &b, sizeof a) == 0; }

void pb_v_describe(const pb_desc *d, char *buf, size_t len)
{
    if (!buf || !len) return;
    if (!d) {
        snprintf(buf, len, "(null)");
        return;
    }
    int k = snprintf(buf, len, "mb%lldic%lld_ih%lldiw%lld", (long long)d->n, (long long)d->c,
                     (long long)d->ih, (long long)d->iw);
    if (k < 0 || (size_t)k >= len) return;
    if (d->global) {
        k += snprintf(buf + k, len - (size_t)k, "_global");
    } else {
        k += snprintf(buf + k, len - (size_t)k, "_kh%lldkw%lld_sh%lldsw%lld", (long long)d->kh,
                      (long long)d->kw, (long long)d->sh, (long long)d->sw);
        if ((size_t)k < len && (d->pt || d->pb || d->pl || d->pr))
            k += snprintf(buf + k, len - (size_t)k, "_pt%lldpb%lldpl%lldpr%lld", (long long)d->pt,
                          (long long)d->pb, (long long)d->pl, (long long)d->pr);
        if ((size_t)k < len && (d->dh != 1 || d->dw != 1))
            k += snprintf(buf + k, len - (size_t)k, "_dh%llddw%lld", (long long)d->dh,
                          (long long)d->dw);
        if ((size_t)k < len && d->ceil_mode) k += snprintf(buf + k, len - (size_t)k, "_ceil");
    }
    if ((size_t)k < len)
        snprintf(buf + k, len - (size_t)k, " %s %s", pb_alg_name(d->alg), pb_layout_name(d->layout));
}

pb_status pb_v_finalized(const pb_desc *d, pb_desc *out)
{
    if (!d || !out) return PB_ERR_NULL;
    *out = *d;
    return pb_desc_finalize(out, NULL, 0);
}

void pb_v_verdict(pb_check *out, pb_verdict v, const char *fmt, ...)
{
    out->verdict = v;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->detail, sizeof out->detail, fmt, ap);
    va_end(ap);
}

const char *pb_v_fmt(float v, char buf[32])
{
    if (pb_is_poison_f32(v))
        snprintf(buf, 32, "unwritten");
    else
        snprintf(buf, 32, "%.9g", (double)v);
    return buf;
}

double pb_v_ulp(double x)
{
    if (!(x >= 0x1p-126)) return 0x1p-149;
    return ldexp(1.0, ilogb(x) - 23);
}
