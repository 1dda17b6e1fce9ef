/* The `openmp` wrapper: bitwise identical results for 1, 2 and 3 threads
 * (both layouts, max and avg, forward inference, training and backward) on
 * problems large enough to be split, equal to the implementation it wraps
 * run single-threaded, and max equal to the reference; the thread count it
 * picks (split above pb_openmp_min_bytes() of traffic, one thread below, a
 * higher bar for uneven splits, never more threads than slices); the
 * small-size fallback giving the same results; and a foreign max
 * workspace split across threads (each half says PB_ERR_PARTIAL, the
 * wrapper reruns whole samples). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"
#include "pool_openmp.h"

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

typedef struct prob {
    int64_t n, c, ih, iw, k, s, p;
    bool global;
} prob;

static pb_desc make(const prob *q, pb_alg alg, pb_layout l, int threads)
{
    pb_desc d;
    pb_desc_init(&d);
    d.n = q->n, d.c = q->c, d.ih = q->ih, d.iw = q->iw;
    d.kh = d.kw = q->k, d.sh = d.sw = q->s;
    d.pt = d.pb = d.pl = d.pr = q->p;
    d.global = q->global;
    d.alg = alg, d.layout = l, d.threads = threads;
    ck_assert_int_eq(pb_desc_finalize(&d, NULL, 0), PB_OK);
    return d;
}

/* Outputs of one run, all directions: dst, ws (max) and diff_src. */
typedef struct outs {
    float *dst, *dsrc;
    int32_t *ws;
} outs;

static void run_all(const pb_impl *im, const pb_desc *d, const float *src, const float *ddst,
                    const int32_t *ref_ws, outs *o)
{
    const bool is_max = d->alg == PB_ALG_MAX;
    o->dst = malloc((size_t)d->dst_elems * sizeof(float));
    o->ws = malloc((size_t)d->dst_elems * sizeof(int32_t));
    o->dsrc = malloc((size_t)d->src_elems * sizeof(float));
    ck_assert(o->dst && o->ws && o->dsrc);
    memset(o->dst, 0xff, (size_t)d->dst_elems * sizeof(float));
    memset(o->ws, 0xff, (size_t)d->dst_elems * sizeof(int32_t));
    pb_args a = {.src = src, .dst = o->dst};
    ck_assert_int_eq(pb_impl_run(im, d, PB_DIR_FWD_INF, &a), PB_OK);
    float *inf = malloc((size_t)d->dst_elems * sizeof(float));
    ck_assert_ptr_nonnull(inf);
    memcpy(inf, o->dst, (size_t)d->dst_elems * sizeof(float));
    if (is_max) {
        a.ws = o->ws;
        ck_assert_int_eq(pb_impl_run(im, d, PB_DIR_FWD_TRAIN, &a), PB_OK);
        /* training computes the same values as inference */
        ck_assert_int_eq(memcmp(inf, o->dst, (size_t)d->dst_elems * sizeof(float)), 0);
    }
    free(inf);
    memset(o->dsrc, 0xff, (size_t)d->src_elems * sizeof(float));
    pb_args b = {.src = src, .ws = is_max ? (int32_t *)ref_ws : NULL, .diff_dst = ddst,
                 .diff_src = o->dsrc};
    ck_assert_int_eq(pb_impl_run(im, d, PB_DIR_BWD, &b), PB_OK);
}

static void free_outs(outs *o)
{
    free(o->dst);
    free(o->ws);
    free(o->dsrc);
}

static void same_outs(const pb_desc *d, const outs *x, const outs *y, const char *what)
{
    ck_assert_msg(memcmp(x->dst, y->dst, (size_t)d->dst_elems * sizeof(float)) == 0,
                  "%s: dst differs", what);
    if (d->alg == PB_ALG_MAX)
        ck_assert_msg(memcmp(x->ws, y->ws, (size_t)d->dst_elems * sizeof(int32_t)) == 0,
                      "%s: argmax differs", what);
    ck_assert_msg(memcmp(x->dsrc, y->dsrc, (size_t)d->src_elems * sizeof(float)) == 0,
                  "%s: diff_src differs", what);
}

/* openmp with 1, 2, 3 threads and its inner implementation agree bitwise;
 * max also equals the reference bitwise. */
static void check_threads(const prob *q, pb_alg alg, pb_layout l, bool expect_split)
{
    const pb_impl *omp = pb_impl_find("openmp"), *ref = pb_impl_reference();
    ck_assert_ptr_nonnull(omp);
    pb_desc d1 = make(q, alg, l, 1);
    const pb_impl *inner = pb_openmp_inner(&d1, PB_DIR_FWD_TRAIN);
    ck_assert_ptr_nonnull(inner);
    ck_assert(!inner->parallel && !inner->external && inner->fwd_rows && inner->bwd_slices);

    uint64_t seed = (uint64_t)(q->c * 131 + q->ih * 7 + alg * 3 + l);
    float *src = malloc((size_t)d1.src_elems * sizeof(float));
    float *ddst = malloc((size_t)d1.dst_elems * sizeof(float));
    int32_t *ref_ws = malloc((size_t)d1.dst_elems * sizeof(int32_t));
    float *ref_dst = malloc((size_t)d1.dst_elems * sizeof(float));
    ck_assert(src && ddst && ref_ws && ref_dst);
    for (int64_t i = 0; i < d1.src_elems; i++)
        src[i] = alg == PB_ALG_MAX ? (float)(rng_next(&seed) % 64) /* many ties */
                                   : (float)(rng_next(&seed) >> 40) / 16777216.0f - 0.5f;
    for (int64_t i = 0; i < d1.dst_elems; i++)
        ddst[i] = (float)((int)(rng_next(&seed) % 17) - 8) / 8.0f;
    pb_args ra = {.src = src, .dst = ref_dst, .ws = ref_ws};
    ck_assert_int_eq(pb_impl_run(ref, &d1, PB_DIR_FWD_TRAIN, &ra), PB_OK);

    outs base;
    run_all(inner, &d1, src, ddst, ref_ws, &base);
    if (alg == PB_ALG_MAX) {
        ck_assert(memcmp(base.dst, ref_dst, (size_t)d1.dst_elems * sizeof(float)) == 0);
        ck_assert(memcmp(base.ws, ref_ws, (size_t)d1.dst_elems * sizeof(int32_t)) == 0);
    }
    for (int t = 1; t <= 3; t++) {
        pb_desc d = make(q, alg, l, t);
        for (int dir = 0; dir < PB_DIR_COUNT; dir++) {
            int used = pb_openmp_threads_for(&d, (pb_dir)dir);
            int64_t units = dir == PB_DIR_BWD ? pb_bwd_slices(&d) : pb_fwd_rows(&d);
            int want = expect_split ? (t < units ? t : (int)units) : 1;
            ck_assert_msg(used == want, "threads=%d dir=%d: uses %d, expected %d", t, dir, used,
                          want);
        }
        outs o;
        run_all(omp, &d, src, ddst, ref_ws, &o);
        char what[64];
        snprintf(what, sizeof what, "%s %s threads=%d", pb_alg_name(alg), pb_layout_name(l), t);
        same_outs(&d, &base, &o, what);
        free_outs(&o);
    }
    free_outs(&base);
    free(src);
    free(ddst);
    free(ref_ws);
    free(ref_dst);
}

/* Each problem moves over the largest threshold (NHWC forward, 1 MiB),
 * so 2 and 3 threads really split it in every layout and direction. */
static const prob big[] = {
    {.n = 2, .c = 40, .ih = 56, .iw = 56, .k = 3, .s = 2, .p = 1},
    {.n = 1, .c = 64, .ih = 64, .iw = 66, .k = 2, .s = 2},
    {.n = 1, .c = 96, .ih = 40, .iw = 41, .k = 3, .s = 1, .p = 1},
    {.n = 3, .c = 160, .ih = 23, .iw = 29, .global = true},
};

START_TEST(test_threads_bitwise)
{
    const prob *q = &big[_i / (PB_ALG_COUNT * PB_LAYOUT_COUNT)];
    int rest = _i % (PB_ALG_COUNT * PB_LAYOUT_COUNT);
    pb_desc d = make(q, PB_ALG_MAX, PB_LAYOUT_NCHW, 2);
    ck_assert_int_ge((d.src_elems + d.dst_elems) * 4,
                     pb_openmp_min_bytes(PB_LAYOUT_NHWC, PB_DIR_FWD_INF));
    check_threads(q, (pb_alg)(rest / PB_LAYOUT_COUNT), (pb_layout)(rest % PB_LAYOUT_COUNT), true);
}
END_TEST

/* Below the threshold the wrapper runs one thread, with the same results. */
START_TEST(test_small_fallback)
{
    const prob q = {.n = 1, .c = 8, .ih = 20, .iw = 20, .k = 3, .s = 2, .p = 1};
    pb_desc d = make(&q, PB_ALG_MAX, PB_LAYOUT_NCHW, 2);
    ck_assert_int_lt(d.src_elems * 4 * 2, PB_OPENMP_MIN_BYTES);
    for (int al = 0; al < PB_ALG_COUNT; al++)
        for (int l = 0; l < PB_LAYOUT_COUNT; l++) check_threads(&q, (pb_alg)al, (pb_layout)l, false);
}
END_TEST

/* Thread choice rules: threshold boundary, cap by slices, the default. */
START_TEST(test_thread_choice)
{
    pb_desc d;
    pb_desc_init(&d);
    /* the measured break-evens, per layout and direction */
    ck_assert_int_eq(pb_openmp_min_bytes(PB_LAYOUT_NCHW, PB_DIR_BWD), 192 << 10);
    ck_assert_int_eq(pb_openmp_min_bytes(PB_LAYOUT_NCHW, PB_DIR_FWD_INF), 256 << 10);
    ck_assert_int_eq(pb_openmp_min_bytes(PB_LAYOUT_NCHW, PB_DIR_FWD_TRAIN), 256 << 10);
    ck_assert_int_eq(pb_openmp_min_bytes(PB_LAYOUT_NHWC, PB_DIR_BWD), 448 << 10);
    ck_assert_int_eq(pb_openmp_min_bytes(PB_LAYOUT_NHWC, PB_DIR_FWD_INF), 256 << 10);
    /* NCHW 2x2/2 forward moves 5 floats per output; rows = C*OH */
    d.c = 56, d.ih = 32, d.iw = 32, d.kh = d.kw = 2, d.threads = 2;
    ck_assert_int_eq(pb_desc_finalize(&d, NULL, 0), PB_OK);
    /* (57344 + 14336) * 4 = 280 KiB >= 256 KiB: split */
    ck_assert_int_eq(pb_openmp_threads_for(&d, PB_DIR_FWD_INF), 2);
    d.c = 48; /* 240 KiB: one thread */
    ck_assert_int_eq(pb_desc_finalize(&d, NULL, 0), PB_OK);
    ck_assert_int_eq(pb_openmp_threads_for(&d, PB_DIR_FWD_INF), 1);
    /* the workspace counts for training: 48*16*16*4 more bytes, 288 KiB */
    ck_assert_int_eq(pb_openmp_threads_for(&d, PB_DIR_FWD_TRAIN), 2);
    /* NHWC, the same 288 KiB: backward does not split (16 output rows, so
     * training forward still does) */
    d.layout = PB_LAYOUT_NHWC;
    ck_assert_int_eq(pb_desc_finalize(&d, NULL, 0), PB_OK);
    ck_assert_int_eq(pb_openmp_threads_for(&d, PB_DIR_BWD), 1);
    ck_assert_int_eq(pb_openmp_threads_for(&d, PB_DIR_FWD_TRAIN), 2);
    d.c = 74; /* 444 KiB with the workspace: not yet */
    ck_assert_int_eq(pb_desc_finalize(&d, NULL, 0), PB_OK);
    ck_assert_int_eq(pb_openmp_threads_for(&d, PB_DIR_BWD), 1);
    d.c = 75; /* 450 KiB: backward splits */
    ck_assert_int_eq(pb_desc_finalize(&d, NULL, 0), PB_OK);
    ck_assert_int_eq(pb_openmp_threads_for(&d, PB_DIR_BWD), 2);
    /* uneven splits: NHWC 14x14 2x2/2 forward has 7 output rows, 4 of them
     * on the busier of 2 threads.  272 channels move 260 KiB, past the
     * bar, but spare that thread only 3/7 of it: one thread.  3 threads
     * (3 rows at most) spare 4/7: split.  320 channels, 306 KiB: split. */
    d.c = 272, d.ih = d.iw = 14, d.alg = PB_ALG_AVG_EXCL;
    ck_assert_int_eq(pb_desc_finalize(&d, NULL, 0), PB_OK);
    ck_assert_int_eq(pb_fwd_rows(&d), 7);
    ck_assert_int_eq(pb_openmp_threads_for(&d, PB_DIR_FWD_INF), 1);
    d.threads = 3;
    ck_assert_int_eq(pb_openmp_threads_for(&d, PB_DIR_FWD_INF), 3);
    d.threads = 2, d.c = 320;
    ck_assert_int_eq(pb_desc_finalize(&d, NULL, 0), PB_OK);
    ck_assert_int_eq(pb_openmp_threads_for(&d, PB_DIR_FWD_INF), 2);
    /* global pooling has no bar of its own: 7x7x2048 NCHW max backward
     * (408 KiB, 2048 planes) splits; in NHWC its 7 input rows spare the
     * busier thread 3/7 of it, 175 KiB: one thread */
    pb_desc gl;
    pb_desc_init(&gl);
    gl.c = 2048, gl.ih = gl.iw = 7, gl.global = true, gl.threads = 2;
    ck_assert_int_eq(pb_desc_finalize(&gl, NULL, 0), PB_OK);
    ck_assert_int_eq(pb_openmp_threads_for(&gl, PB_DIR_BWD), 2);
    gl.layout = PB_LAYOUT_NHWC;
    ck_assert_int_eq(pb_desc_finalize(&gl, NULL, 0), PB_OK);
    ck_assert_int_eq(pb_openmp_threads_for(&gl, PB_DIR_BWD), 1);
    gl.n = 2; /* 14 input rows: split */
    ck_assert_int_eq(pb_desc_finalize(&gl, NULL, 0), PB_OK);
    ck_assert_int_eq(pb_openmp_threads_for(&gl, PB_DIR_BWD), 2);
    /* never more threads than slices: NHWC global forward has N rows */
    pb_desc g;
    pb_desc_init(&g);
    g.n = 2, g.c = 1024, g.ih = g.iw = 14, g.global = true, g.layout = PB_LAYOUT_NHWC;
    g.threads = 8;
    ck_assert_int_eq(pb_desc_finalize(&g, NULL, 0), PB_OK);
    ck_assert_int_eq(pb_openmp_threads_for(&g, PB_DIR_FWD_INF), 2);
    ck_assert_int_eq(pb_openmp_threads_for(&g, PB_DIR_BWD), 8); /* 2 * 14 input rows */
    g.threads = 1;
    ck_assert_int_eq(pb_openmp_threads_for(&g, PB_DIR_BWD), 1);
    g.threads = 0; /* OpenMP's default, at least one */
    ck_assert_int_ge(pb_openmp_threads_for(&g, PB_DIR_BWD), 1);
    ck_assert_int_eq(pb_openmp_threads_for(NULL, PB_DIR_BWD), 1);
    g.n = 0; /* not finalized: no slices, still one thread */
    g.threads = 2;
    ck_assert_int_eq(pb_openmp_threads_for(&g, PB_DIR_BWD), 1);
    g.n = 2;
    ck_assert_ptr_null(pb_openmp_inner(NULL, PB_DIR_BWD));
    /* `best` considers the wrapper only when threads != 1 */
    g.threads = 1;
    ck_assert(!pb_impl_best(&g, PB_DIR_BWD)->parallel);
    g.threads = 2;
    ck_assert_str_eq(pb_impl_best(&g, PB_DIR_BWD)->name, "openmp");
}
END_TEST

/* NHWC max backward split by input rows with a workspace entry outside
 * its window: the half that reads it cannot honour it alone and says
 * PB_ERR_PARTIAL; the wrapper then reruns the whole problem on one thread,
 * so 2 threads still equal the reference bitwise. */
START_TEST(test_foreign_split)
{
    const prob q = {.n = 1, .c = 32, .ih = 64, .iw = 64, .k = 3, .s = 2, .p = 1};
    pb_desc d = make(&q, PB_ALG_MAX, PB_LAYOUT_NHWC, 2);
    ck_assert_int_eq(pb_openmp_threads_for(&d, PB_DIR_BWD), 2);
    const size_t ns = (size_t)d.src_elems, nd = (size_t)d.dst_elems;
    float *src = malloc(ns * sizeof *src), *dst = malloc(nd * sizeof *dst);
    float *g = malloc(nd * sizeof *g), *ref = malloc(ns * sizeof *ref), *out = malloc(ns * sizeof *out);
    int32_t *ws = malloc(nd * sizeof *ws);
    ck_assert(src && dst && g && ref && out && ws);
    uint64_t seed = 7;
    for (size_t i = 0; i < ns; i++) src[i] = (float)(rng_next(&seed) % 1000);
    for (size_t i = 0; i < nd; i++) g[i] = (float)((int)(rng_next(&seed) % 17) - 8) / 8.0f;
    pb_args fa = {.src = src, .dst = dst, .ws = ws};
    ck_assert_int_eq(pb_impl_run(pb_impl_reference(), &d, PB_DIR_FWD_TRAIN, &fa), PB_OK);
    /* output (oh 3, ow 5, channel 9): its window spans rows 5..7; point it
     * at row 60 of the plane, in the other half */
    ws[(3 * d.ow + 5) * d.c + 9] = 60 * 64 + 2;
    g[(3 * d.ow + 5) * d.c + 9] = 0.5f;
    pb_args ra = {.src = src, .ws = ws, .diff_dst = g, .diff_src = ref};
    ck_assert_int_eq(pb_impl_run(pb_impl_reference(), &d, PB_DIR_BWD, &ra), PB_OK);
    ck_assert(ref[(60 * 64 + 2) * 32 + 9] != 0.0f);
    /* the inner kernel alone: the top half refuses, the bottom half has
     * nothing to say about an argmax it never reads */
    const pb_impl *inner = pb_openmp_inner(&d, PB_DIR_BWD);
    ck_assert_ptr_nonnull(inner);
    pb_args a = ra;
    a.diff_src = out;
    void *st = NULL;
    if (inner->prepare) ck_assert_int_eq(inner->prepare(&d, PB_DIR_BWD, &a, &st), PB_OK);
    ck_assert_int_eq(inner->bwd_slices(&d, &a, st, 0, 32), PB_ERR_PARTIAL);
    ck_assert_int_eq(inner->bwd_slices(&d, &a, st, 32, 64), PB_OK);
    if (inner->release) inner->release(st);
    memset(out, 0xff, ns * sizeof *out);
    const pb_impl *omp = pb_impl_find("openmp");
    ck_assert_ptr_nonnull(omp);
    ck_assert_int_eq(pb_impl_run(omp, &d, PB_DIR_BWD, &a), PB_OK);
    ck_assert_mem_eq(out, ref, ns * sizeof *out);
    ws[0] = 64 * 64; /* outside the plane: refused, as the reference */
    ck_assert_int_eq(pb_impl_run(omp, &d, PB_DIR_BWD, &a), PB_ERR_UNSUPPORTED);
    free(src), free(dst), free(g), free(ref), free(out), free(ws);
}
END_TEST

Suite *pb_test_suite_openmp(void)
{
    Suite *s = suite_create("openmp");
    TCase *tc = tcase_create("threads");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_threads_bitwise, 0,
                        (int)(sizeof big / sizeof big[0]) * PB_ALG_COUNT * PB_LAYOUT_COUNT);
    tcase_add_test(tc, test_small_fallback);
    tcase_add_test(tc, test_thread_choice);
    tcase_add_test(tc, test_foreign_split);
    suite_add_tcase(s, tc);
    return s;
}
