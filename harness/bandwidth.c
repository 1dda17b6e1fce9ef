/* In-run bandwidth reference (see bandwidth.h). */
#include "bandwidth.h"

#include <emmintrin.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "par.h"

#define STAGGER 192  /* bytes between streams' low address bits: 3 lines */
#define PAGE 4096

bool pb_bw_shape_ok(pb_bw_shape s)
{
    return (s.reads == 1 && s.writes >= 1 && s.writes <= PB_BW_MAX_STREAMS) ||
           (s.writes == 1 && s.reads >= 1 && s.reads <= PB_BW_MAX_STREAMS);
}

pb_status pb_bw_shape_for(int64_t read_bytes, int64_t write_bytes, pb_bw_shape *out)
{
    if (!out) return PB_ERR_NULL;
    if (read_bytes < 1 || write_bytes < 1) return PB_ERR_SHAPE;
    bool more_reads = read_bytes >= write_bytes;
    double ratio = more_reads ? (double)read_bytes / (double)write_bytes
                              : (double)write_bytes / (double)read_bytes;
    int k = ratio >= PB_BW_MAX_STREAMS ? PB_BW_MAX_STREAMS : (int)lround(ratio);
    if (k < 1) k = 1;
    out->reads = more_reads ? k : 1;
    out->writes = more_reads ? 1 : k;
    return PB_OK;
}

static float src_value(int r, int64_t i) { return (float)((i + 3 * r) & 1023); }

static float expected(pb_bw_shape s, int w, int64_t i)
{
    if (s.writes > 1) return src_value(0, i) + (float)w;
    float acc = 0.0f;
    for (int r = 0; r < s.reads; r++) acc += src_value(r, i); /* exact: < 2^24 */
    return acc;
}

/* Thread t's elements: whole blocks, the same split for init and passes
 * so each thread streams the pages it touched first. */
static void chunk(int64_t elems, int t, int nth, int64_t *b, int64_t *e)
{
    int64_t blocks = elems / PB_BW_BLOCK;
    *b = blocks * t / nth * PB_BW_BLOCK;
    *e = blocks * (t + 1) / nth * PB_BW_BLOCK;
}

/* NaN in every destination element, so an unwritten one fails validation. */
static void poison_fn(void *ctx, int t, int nth)
{
    pb_bw_buffers *b = ctx;
    int64_t lo, hi;
    chunk(b->elems, t, nth, &lo, &hi);
    for (int w = 0; w < b->shape.writes; w++)
        for (int64_t i = lo; i < hi; i++) b->dst[w][i] = NAN;
}

static void init_fn(void *ctx, int t, int nth)
{
    pb_bw_buffers *b = ctx;
    int64_t lo, hi;
    chunk(b->elems, t, nth, &lo, &hi);
    for (int r = 0; r < b->shape.reads; r++) {
        float *s = (float *)b->src[r];
        for (int64_t i = lo; i < hi; i++) s[i] = src_value(r, i);
    }
    poison_fn(ctx, t, nth);
}

pb_status pb_bw_alloc(pb_bw_shape shape, int64_t bytes, int threads, pb_bw_buffers *b)
{
    if (!b) return PB_ERR_NULL;
    memset(b, 0, sizeof *b);
    if (!pb_bw_shape_ok(shape)) return PB_ERR_SHAPE;
    if (threads < 1 || bytes < 1) return PB_ERR_PARSE;
    if (bytes > 4 * PB_MAX_BUFFER_BYTES) return PB_ERR_TOO_LARGE;
    int streams = shape.reads + shape.writes;
    int64_t elems = bytes / ((int64_t)streams * 4) / PB_BW_BLOCK * PB_BW_BLOCK;
    if (elems < PB_BW_BLOCK) elems = PB_BW_BLOCK;
    size_t stride = ((size_t)elems * 4 + PAGE - 1) / PAGE * PAGE;
    size_t total = (size_t)streams * (stride + STAGGER) + PAGE;
    total = (total + PAGE - 1) / PAGE * PAGE;
    char *mem = aligned_alloc(PAGE, total);
    if (!mem) return PB_ERR_NOMEM;
    b->shape = shape;
    b->elems = elems;
    b->mem = mem;
    b->mem_bytes = total;
    for (int j = 0; j < streams; j++) {
        float *p = (float *)(mem + (size_t)j * (stride + STAGGER));
        if (j < shape.reads)
            b->src[j] = p;
        else
            b->dst[j - shape.reads] = p;
    }
    pb_status st = pb_par_run(threads, init_fn, b);
    if (st != PB_OK) pb_bw_free(b);
    return st;
}

void pb_bw_free(pb_bw_buffers *b)
{
    if (!b) return;
    free(b->mem);
    memset(b, 0, sizeof *b);
}

int64_t pb_bw_pass_bytes(const pb_bw_buffers *b)
{
    return b ? (int64_t)(b->shape.reads + b->shape.writes) * b->elems * 4 : 0;
}

static pb_bw_kernel kernel_for(pb_bw_shape s, pb_isa isa, bool streaming)
{
    const pb_bw_table *t = isa == PB_ISA_AVX512 ? &pb_bw_table_avx512
                           : isa == PB_ISA_AVX2 ? &pb_bw_table_avx2
                                                : &pb_bw_table_baseline;
    const pb_bw_kernel *k = streaming ? t->nt : t->k;
    return s.writes > 1 ? k[PB_BW_MAX_STREAMS + s.writes] : k[s.reads];
}

typedef struct pass_ctx {
    const pb_bw_buffers *b;
    pb_bw_kernel k;
} pass_ctx;

static void pass_fn(void *ctx, int t, int nth)
{
    const pass_ctx *c = ctx;
    int64_t lo, hi;
    chunk(c->b->elems, t, nth, &lo, &hi);
    if (hi > lo) c->k(c->b->src, c->b->dst, lo, hi);
}

pb_status pb_bw_pass(const pb_bw_buffers *b, int threads, pb_isa isa, bool streaming)
{
    if (!b || !b->mem) return PB_ERR_NULL;
    if (!pb_bw_shape_ok(b->shape)) return PB_ERR_SHAPE;
    if ((unsigned)isa >= PB_ISA_COUNT || !pb_cpu_can_run(isa, NULL)) return PB_ERR_ISA;
    pass_ctx c = {b, kernel_for(b->shape, isa, streaming)};
    return pb_par_run(threads, pass_fn, &c);
}

bool pb_bw_validate(const pb_bw_buffers *b, char *msg, size_t msg_len)
{
    if (!b || !b->mem) {
        if (msg) snprintf(msg, msg_len, "no buffers");
        return false;
    }
    for (int w = 0; w < b->shape.writes; w++)
        for (int64_t i = 0; i < b->elems; i++) {
            float want = expected(b->shape, w, i);
            /* != is the exact check: every value is an integer below 2^24;
             * a NaN (unwritten) compares unequal too */
            if (b->dst[w][i] != want) {
                if (msg)
                    snprintf(msg, msg_len,
                             "bandwidth r%dw%d: destination %d element %lld is %g, expected %g",
                             b->shape.reads, b->shape.writes, w, (long long)i,
                             (double)b->dst[w][i], (double)want);
                return false;
            }
        }
    return true;
}

double pb_bw_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double pb_bw_timer_resolution(void)
{
    /* STREAM's checktick(): 20 samples of the step to a new reading */
    double best = 1.0;
    for (int s = 0; s < 20; s++) {
        double t0 = pb_bw_now(), t1;
        while ((t1 = pb_bw_now()) == t0) {
        }
        if (t1 - t0 < best) best = t1 - t0;
    }
    return best;
}

void pb_cache_flush(const void *p, size_t n)
{
    if (!p || n == 0) return;
    const char *c = (const char *)((uintptr_t)p & ~(uintptr_t)63);
    const char *end = (const char *)p + n;
    _mm_mfence();
    for (; c < end; c += 64) _mm_clflush(c);
    _mm_mfence();
}

static void flush_all(const pb_bw_buffers *b)
{
    for (int r = 0; r < b->shape.reads; r++) pb_cache_flush(b->src[r], (size_t)b->elems * 4);
    for (int w = 0; w < b->shape.writes; w++) pb_cache_flush(b->dst[w], (size_t)b->elems * 4);
}

/* Seconds for `passes` passes (after a flush for cold). */
static pb_status timed(const pb_bw_buffers *b, const pb_bw_config *cfg, pb_isa isa,
                       bool streaming, int64_t passes, double *secs)
{
    if (cfg->cold) flush_all(b);
    double t0 = pb_bw_now();
    for (int64_t p = 0; p < passes; p++) {
        pb_status st = pb_bw_pass(b, cfg->threads, isa, streaming);
        if (st != PB_OK) return st;
    }
    *secs = pb_bw_now() - t0;
    return PB_OK;
}

/* One store kind's measurement on buffers b (fresh results, validated). */
static pb_status measure_stores(const pb_bw_config *cfg, const pb_bw_buffers *b, pb_isa isa,
                                bool streaming, pb_bw_result *out, char *msg, size_t msg_len)
{
    int trials = cfg->trials ? cfg->trials : 10;
    double min_trial = cfg->min_trial_s > 0 ? cfg->min_trial_s : 1e-3;
    pb_status st = PB_OK;
    double res = pb_bw_timer_resolution();
    /* a trial must span many clock ticks (STREAM asks for 20) */
    if (min_trial < 100 * res) min_trial = 100 * res;

    /* warm-up passes, discarded (STREAM skips its first iteration): the
     * first pays page and cache effects; the fastest of a few calibrates
     * passes per trial (the fastest, because on a shared machine any one
     * pass may have lost the CPU for a scheduler tick) */
    double t = 0, per = INFINITY, spent = 0;
    for (int k = 0; st == PB_OK && k < 8 && (k < 2 || spent < 20 * min_trial); k++) {
        st = timed(b, cfg, isa, streaming, 1, &t);
        if (t < per) per = t;
        spent += t;
    }
    int64_t passes = 1;
    if (!cfg->cold) {
        passes = per > 0 ? (int64_t)ceil(min_trial / per) : 1000000;
        if (passes < 1) passes = 1;
        if (passes > 1000000) passes = 1000000;
    }
    double best = INFINITY, worst = 0, sum = 0;
    for (int k = 0; st == PB_OK && k < trials; k++) {
        st = timed(b, cfg, isa, streaming, passes, &t);
        if (t < best) best = t;
        if (t > worst) worst = t;
        sum += t;
    }
    if (st == PB_OK) {
        out->shape = cfg->shape;
        out->threads = cfg->threads;
        out->cold = cfg->cold;
        out->isa = isa;
        out->bytes = pb_bw_pass_bytes(b);
        out->elems = b->elems;
        out->trials = trials;
        out->passes = passes;
        out->best_s = best / (double)passes;
        out->mean_s = sum / trials / (double)passes;
        out->worst_s = worst / (double)passes;
        out->best_gbps = (double)out->bytes / out->best_s * 1e-9;
        out->mean_gbps = (double)out->bytes / out->mean_s * 1e-9;
        out->worst_gbps = (double)out->bytes / out->worst_s * 1e-9;
        out->spread = (worst - best) / best;
        out->timer_res_s = res;
        out->ticks_per_trial = best / res;
        out->streaming = streaming;
        out->valid = pb_bw_validate(b, msg, msg_len);
    }
    return st;
}

pb_status pb_bw_measure(const pb_bw_config *cfg, pb_bw_result *out, char *msg, size_t msg_len)
{
    if (msg && msg_len) msg[0] = '\0';
    if (!cfg || !out) return PB_ERR_NULL;
    memset(out, 0, sizeof *out);
    pb_isa isa = cfg->isa == PB_ISA_COUNT ? pb_cpu_isa() : cfg->isa;
    if ((unsigned)isa >= PB_ISA_COUNT || !pb_cpu_can_run(isa, NULL)) return PB_ERR_ISA;
    if (cfg->trials < 0 || cfg->min_trial_s < 0) return PB_ERR_PARSE;
    if ((unsigned)cfg->stores > PB_BW_STORES_STREAMING) return PB_ERR_PARSE;

    pb_bw_buffers b;
    pb_status st = pb_bw_alloc(cfg->shape, cfg->bytes, cfg->threads, &b);
    if (st != PB_OK) return st;
    double gbps[2] = {NAN, NAN}; /* ordinary, streaming */
    for (int nt = 0; nt < 2 && st == PB_OK; nt++) {
        if (cfg->stores == (nt ? PB_BW_STORES_ORDINARY : PB_BW_STORES_STREAMING)) continue;
        pb_bw_result r;
        memset(&r, 0, sizeof r);
        char m[256] = "";
        /* poisoned again, so each kind's validation sees only its own writes */
        if (out->bytes) st = pb_par_run(cfg->threads, poison_fn, &b);
        if (st == PB_OK) st = measure_stores(cfg, &b, isa, nt == 1, &r, m, sizeof m);
        if (st != PB_OK) break;
        gbps[nt] = r.valid ? r.best_gbps : NAN;
        /* a wrong result wins over any speed: it must be reported */
        bool take = !out->bytes || (out->valid && (!r.valid || r.best_gbps > out->best_gbps));
        if (take) {
            *out = r;
            if (msg && msg_len) snprintf(msg, msg_len, "%s", m);
        }
    }
    out->ordinary_gbps = gbps[0];
    out->streaming_gbps = gbps[1];
    pb_bw_free(&b);
    return st;
}

void pb_bw_id(const pb_bw_result *r, char *buf, size_t len)
{
    if (!buf || len == 0) return;
    if (!r) {
        snprintf(buf, len, "?");
        return;
    }
    double mb = (double)r->bytes / 1e6;
    snprintf(buf, len, "r%dw%d-%.*fMB-t%d%s", r->shape.reads, r->shape.writes,
             mb < 10 ? 2 : mb < 100 ? 1 : 0, mb, r->threads, r->cold ? "-cold" : "");
}
