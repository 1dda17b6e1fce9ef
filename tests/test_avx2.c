/* The `avx2` implementation against the reference: every algorithm,
 * direction and layout; widths (NCHW) and channel counts (NHWC) 1..33
 * around the 8-float vector; stride 1 and 2, padding, ceil mode, dilation,
 * global; inputs with ties (+0/-0 included), NaN, +-inf and all -inf
 * windows.  Max values, argmax and max gradients must be bitwise equal;
 * averages within PB_AVX2_ULPS ulps (on a scale of max(|ref|, 1), as verify
 * counts them).  Output buffers sit at odd offsets between guard zones
 * that must stay untouched; inputs end exactly at their allocation so an
 * over-read trips ASan.  Slices (fwd_rows / bwd_slices) in any partition
 * must reproduce the whole-problem result bit for bit. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"

#define PB_AVX2_ULPS 8
#define GUARD 16
#define GUARD_BITS 0x5a5a5a5au
#define POISON_BITS 0x7fa5a5a5u /* a NaN payload no kernel produces */

static const pb_impl *avx2(void) { return pb_impl_find("avx2"); }

/* Skips (returns false) with a printed reason when the CPU cannot run it. */
static bool can_run(void)
{
    const char *why = NULL;
    if (pb_cpu_can_run(PB_ISA_AVX2, &why)) return true;
    printf("test_avx2: SKIPPED: %s\n", why ? why : "no AVX2");
    return false;
}

/* ---- deterministic fills -------------------------------------------------- */

static uint64_t rng_state;
static uint32_t rnd(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng_state >> 33);
}
static float f_bits(uint32_t b)
{
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}
static uint32_t bits_f(float f)
{
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    return b;
}

typedef enum fill { F_DISTINCT, F_TIES, F_SPECIAL, F_COUNT } fill;
static const char *const fill_names[F_COUNT] = {"distinct", "ties", "nan_inf"};

static void fill_src(float *p, int64_t n, fill f, bool real)
{
    for (int64_t i = 0; i < n; i++) {
        if (f == F_TIES) {
            static const float few[] = {-1.0f, 0.0f, -0.0f, 1.0f, 1.0f, 0.0f};
            p[i] = few[rnd() % 6];
        } else if (real) {
            p[i] = (float)((int32_t)(rnd() % 2000001u) - 1000000) * 1e-6f;
        } else {
            p[i] = (float)((int32_t)(rnd() % 100000u) - 50000); /* integers: exact */
        }
    }
    if (f != F_SPECIAL) return;
    for (int64_t i = 0; i < n; i++) {
        uint32_t r = rnd() % 24;
        if (r == 0) p[i] = f_bits(0x7fc00000u | (rnd() & 0xffff)); /* NaN, various payloads */
        if (r == 1) p[i] = f_bits(0xffc00000u | (rnd() & 0xffff)); /* negative NaN */
        if (r == 2) p[i] = INFINITY;
        if (r >= 3 && r <= 5) p[i] = -INFINITY;
    }
    /* a run of -inf long enough to fill whole windows */
    int64_t at = n > 8 ? (int64_t)(rnd() % (uint32_t)(n - 8)) : 0;
    for (int64_t i = at; i < n && i < at + 12; i++) p[i] = -INFINITY;
}

static void fill_grad(float *p, int64_t n)
{
    for (int64_t i = 0; i < n; i++) p[i] = (float)((int32_t)(rnd() % 65u) - 32) / 8.0f;
}

/* ---- guarded buffers ------------------------------------------------------ */

/* n elements at an odd offset with GUARD words before and after. */
typedef struct gbuf {
    uint32_t *mem;
    void *p;
    int64_t n;
} gbuf;

static gbuf gbuf_new(int64_t n, int offset)
{
    gbuf g = {.n = n};
    g.mem = malloc((size_t)(n + 2 * GUARD + offset) * 4);
    ck_assert_ptr_nonnull(g.mem);
    for (int64_t i = 0; i < n + 2 * GUARD + offset; i++) g.mem[i] = GUARD_BITS;
    g.p = g.mem + GUARD + offset;
    for (int64_t i = 0; i < n; i++) ((uint32_t *)g.p)[i] = POISON_BITS;
    return g;
}

static void gbuf_check(const gbuf *g, const char *what, const char *ctx)
{
    const uint32_t *p = g->p;
    for (int64_t i = 1; i <= GUARD; i++)
        if (p[-i] != GUARD_BITS)
            ck_abort_msg("%s: %s written %lld elements before", ctx, what, (long long)i);
    for (int64_t i = 0; i < GUARD; i++)
        if (p[g->n + i] != GUARD_BITS)
            ck_abort_msg("%s: %s written %lld elements after its end", ctx, what, (long long)i);
}

static void gbuf_poison(gbuf *g)
{
    for (int64_t i = 0; i < g->n; i++) ((uint32_t *)g->p)[i] = POISON_BITS;
}

/* Input copy ending exactly at its allocation (odd start when possible). */
static float *input_copy(const float *src, int64_t n, void **mem)
{
    float *m = malloc((size_t)(n + 1) * sizeof(float));
    ck_assert_ptr_nonnull(m);
    memcpy(m + 1, src, (size_t)n * sizeof(float));
    *mem = m;
    return m + 1;
}

/* ---- comparisons ---------------------------------------------------------- */

static bool avg_close(float got, float ref)
{
    if (isnan(ref)) return isnan(got);
    if (isinf(ref)) return got == ref;
    float scale = fabsf(ref) > 1.0f ? fabsf(ref) : 1.0f;
    float ulp = nextafterf(scale, INFINITY) - scale;
    return fabsf(got - ref) <= PB_AVX2_ULPS * ulp;
}

static void describe(const pb_desc *d, pb_dir dir, fill f, char *buf, size_t len)
{
    snprintf(buf, len,
             "%s %s %s fill=%s mb%lldic%lld ih%lldiw%lld kh%lldkw%lld sh%lldsw%lld "
             "pt%lldpb%lldpl%lldpr%lld dh%lld dw%lld%s%s",
             pb_alg_name(d->alg), pb_layout_name(d->layout), pb_dir_name(dir), fill_names[f],
             (long long)d->n, (long long)d->c, (long long)d->ih, (long long)d->iw,
             (long long)d->kh, (long long)d->kw, (long long)d->sh, (long long)d->sw,
             (long long)d->pt, (long long)d->pb, (long long)d->pl, (long long)d->pr,
             (long long)d->dh, (long long)d->dw, d->ceil_mode ? " ceil" : "",
             d->global ? " global" : "");
}

static void compare_f32(const pb_desc *d, const float *got, const float *ref, int64_t n,
                        bool exact, const char *what, const char *ctx)
{
    for (int64_t i = 0; i < n; i++) {
        bool ok = exact ? bits_f(got[i]) == bits_f(ref[i]) : avg_close(got[i], ref[i]);
        if (!ok) /* (check's passing asserts cost a syscall each: test, then abort) */
            ck_abort_msg("%s: %s[%lld] = %a (0x%08x), reference %a (0x%08x)", ctx, what,
                         (long long)i, (double)got[i], bits_f(got[i]), (double)ref[i],
                         bits_f(ref[i]));
    }
    (void)d;
}

/* Runs a partition of the slice range [0, total) in three pieces. */
static pb_status run_sliced(pb_slice_fn fn, const pb_desc *d, const pb_args *a, int64_t total)
{
    int64_t cut1 = total ? (int64_t)(rnd() % (uint32_t)(total + 1)) : 0;
    int64_t cut2 = cut1 + (total - cut1 ? (int64_t)(rnd() % (uint32_t)(total - cut1 + 1)) : 0);
    int64_t cuts[4] = {0, cut1, cut2, total};
    for (int i = 0; i < 3; i++) {
        pb_status st = fn(d, a, NULL, cuts[i], cuts[i + 1]);
        if (st != PB_OK) return st;
    }
    return PB_OK;
}

/* One case: the reference and avx2 on the same inputs, compared; then the
 * sliced run compared bit for bit with the whole one. */
static void run_case(const pb_desc *d, pb_dir dir, fill f)
{
    char ctx[320];
    describe(d, dir, f, ctx, sizeof ctx);
    const pb_impl *ref = pb_impl_reference(), *im = avx2();
    const char *why = NULL;
    ck_assert_msg(pb_impl_accepts(im, d, dir, &why), "%s: declined: %s", ctx, why);
    const bool is_max = d->alg == PB_ALG_MAX;
    const int64_t ns = d->src_elems, nd = d->dst_elems;

    float *src0 = malloc((size_t)ns * sizeof(float));
    ck_assert_ptr_nonnull(src0);
    fill_src(src0, ns, f, !is_max);
    void *src_mem;
    const float *src = input_copy(src0, ns, &src_mem);

    /* the reference forward (training: with argmax) */
    float *rdst = malloc((size_t)nd * sizeof(float));
    int32_t *rws = malloc((size_t)nd * sizeof(int32_t));
    ck_assert(rdst && rws);
    pb_args ra = {.src = src, .dst = rdst, .ws = is_max ? rws : NULL};
    ck_assert_int_eq(pb_impl_run(ref, d, PB_DIR_FWD_TRAIN, &ra), PB_OK);

    if (dir != PB_DIR_BWD) {
        gbuf dst = gbuf_new(nd, 1), ws = gbuf_new(nd, 3);
        bool train = dir == PB_DIR_FWD_TRAIN && is_max;
        pb_args a = {.src = src, .dst = dst.p, .ws = train ? ws.p : NULL};
        ck_assert_int_eq(pb_impl_run(im, d, dir, &a), PB_OK);
        gbuf_check(&dst, "dst", ctx);
        gbuf_check(&ws, "ws", ctx);
        compare_f32(d, dst.p, rdst, nd, is_max, "dst", ctx);
        if (train)
            for (int64_t i = 0; i < nd; i++)
                if (((int32_t *)ws.p)[i] != rws[i])
                    ck_abort_msg("%s: ws[%lld] = %d, reference %d", ctx, (long long)i,
                                 ((int32_t *)ws.p)[i], rws[i]);
        /* slices, in a random partition: bitwise the whole-call result */
        float *whole = malloc((size_t)nd * sizeof(float));
        int32_t *whole_ws = malloc((size_t)nd * sizeof(int32_t));
        ck_assert(whole && whole_ws);
        memcpy(whole, dst.p, (size_t)nd * sizeof(float));
        memcpy(whole_ws, ws.p, (size_t)nd * sizeof(int32_t));
        gbuf_poison(&dst);
        gbuf_poison(&ws);
        ck_assert_int_eq(run_sliced(im->fwd_rows, d, &a, pb_fwd_rows(d)), PB_OK);
        gbuf_check(&dst, "dst (sliced)", ctx);
        ck_assert_msg(memcmp(whole, dst.p, (size_t)nd * sizeof(float)) == 0,
                      "%s: sliced forward differs from the whole call", ctx);
        if (train)
            ck_assert_msg(memcmp(whole_ws, ws.p, (size_t)nd * sizeof(int32_t)) == 0,
                          "%s: sliced argmax differs from the whole call", ctx);
        free(whole);
        free(whole_ws);
        free(dst.mem);
        free(ws.mem);
    } else {
        float *g0 = malloc((size_t)nd * sizeof(float));
        float *rdiff = malloc((size_t)ns * sizeof(float));
        ck_assert(g0 && rdiff);
        fill_grad(g0, nd);
        void *g_mem, *ws_mem;
        const float *g = input_copy(g0, nd, &g_mem);
        const int32_t *wsin = is_max ? (const int32_t *)input_copy((const float *)rws, nd, &ws_mem)
                                     : NULL;
        pb_args rb = {.src = src, .diff_dst = g, .ws = (int32_t *)wsin, .diff_src = rdiff};
        ck_assert_int_eq(pb_impl_run(ref, d, PB_DIR_BWD, &rb), PB_OK);
        gbuf ds = gbuf_new(ns, 1);
        pb_args b = rb;
        b.diff_src = ds.p;
        ck_assert_int_eq(pb_impl_run(im, d, PB_DIR_BWD, &b), PB_OK);
        gbuf_check(&ds, "diff_src", ctx);
        compare_f32(d, ds.p, rdiff, ns, is_max, "diff_src", ctx);
        float *whole = malloc((size_t)ns * sizeof(float));
        ck_assert_ptr_nonnull(whole);
        memcpy(whole, ds.p, (size_t)ns * sizeof(float));
        gbuf_poison(&ds);
        ck_assert_int_eq(run_sliced(im->bwd_slices, d, &b, pb_bwd_slices(d)), PB_OK);
        gbuf_check(&ds, "diff_src (sliced)", ctx);
        ck_assert_msg(memcmp(whole, ds.p, (size_t)ns * sizeof(float)) == 0,
                      "%s: sliced backward differs from the whole call", ctx);
        free(whole);
        free(ds.mem);
        free(g0);
        free(rdiff);
        free(g_mem);
        if (is_max) free(ws_mem);
    }
    free(src0);
    free(src_mem);
    free(rdst);
    free(rws);
}

/* ---- the sweep ------------------------------------------------------------ */

typedef struct win {
    int k, s, plo, phi, dil;
    bool ceil, global;
} win;

/* The accelerated shapes first, then borders the kernels must also get right. */
static const win wins[] = {
    {2, 2, 0, 0, 1, false, false}, /* vgg */
    {3, 2, 1, 1, 1, false, false}, /* resnet */
    {3, 1, 1, 1, 1, false, false}, /* googlenet inception */
    {0, 0, 0, 0, 1, false, true},  /* global */
    {3, 2, 0, 0, 1, true, false},  /* googlenet/alexnet ceil mode */
    {2, 1, 0, 1, 1, false, false}, /* asymmetric padding */
    {3, 2, 1, 0, 2, false, false}, /* dilation */
    {5, 2, 2, 2, 1, true, false},  /* wide window, ceil overhang past padding */
    {1, 2, 0, 0, 1, false, false}, /* stride > window: untouched inputs */
    {2, 2, 0, 0, 2, false, false}, /* window = stride, dilated: overlapping */
};
#define NWINS (sizeof wins / sizeof wins[0])

static bool make_desc(pb_desc *d, pb_layout l, pb_alg alg, const win *w, int64_t n, int64_t c,
                      int64_t h, int64_t wd)
{
    pb_desc_init(d);
    d->n = n;
    d->c = c;
    d->ih = h;
    d->iw = wd;
    d->alg = alg;
    d->layout = l;
    if (w->global) {
        d->global = true;
    } else {
        d->kh = d->kw = w->k;
        d->sh = d->sw = w->s;
        d->pt = d->pl = w->plo;
        d->pb = d->pr = w->phi;
        d->dh = d->dw = w->dil;
        d->ceil_mode = w->ceil;
    }
    return pb_desc_finalize(d, NULL, 0) == PB_OK;
}

static int64_t cases_run;

/* NCHW: every width 1..33 (with heights varying alongside); NHWC: every
 * channel count 1..33 over a few widths. */
static void sweep(pb_layout l, pb_alg alg, fill f)
{
    for (size_t wi = 0; wi < NWINS; wi++)
        for (int64_t x = 1; x <= 33; x++) {
            pb_desc d;
            int64_t h = 1 + (x * 5) % 9;
            bool ok = l == PB_LAYOUT_NCHW ? make_desc(&d, l, alg, &wins[wi], 2, 3, h, x)
                                          : make_desc(&d, l, alg, &wins[wi], 2, x, h, 1 + x % 11);
            if (!ok) continue;
            for (int dir = 0; dir < PB_DIR_COUNT; dir++) {
                run_case(&d, (pb_dir)dir, f);
                cases_run++;
            }
        }
}

START_TEST(test_sweep)
{
    if (!can_run()) return;
    /* _i: layout x alg x fill */
    int i = _i;
    pb_layout l = (pb_layout)(i % 2);
    pb_alg alg = (pb_alg)(i / 2 % 3);
    fill f = (fill)(i / 6);
    rng_state = 0x9e3779b97f4a7c15ull + (uint64_t)i;
    cases_run = 0;
    sweep(l, alg, f);
    ck_assert_int_gt(cases_run, 100);
}
END_TEST

/* Larger planes: the fast (interior) chunks with many iterations. */
START_TEST(test_larger)
{
    if (!can_run()) return;
    rng_state = 42;
    static const struct { int64_t c, h, w; int w_idx; } shapes[] = {
        {3, 37, 112, 0}, {2, 56, 56, 1}, {2, 28, 28, 2}, {5, 7, 7, 3}, {3, 19, 67, 4},
        {2, 33, 71, 6},  {2, 12, 45, 7}, {67, 9, 9, 3},  {37, 14, 13, 1},
    };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int l = 0; l < PB_LAYOUT_COUNT; l++)
            for (int alg = 0; alg < PB_ALG_COUNT; alg++)
                for (int dir = 0; dir < PB_DIR_COUNT; dir++) {
                    pb_desc d;
                    ck_assert(make_desc(&d, (pb_layout)l, (pb_alg)alg, &wins[shapes[s].w_idx], 1,
                                        shapes[s].c, shapes[s].h, shapes[s].w));
                    run_case(&d, (pb_dir)dir, (fill)(s % F_COUNT));
                }
}
END_TEST

/* A worked example, by hand: 1x1x4x4, 2x2 stride 2, both layouts.
 *    1   5 | 2   2        window (0,0): max 5 at (0,1)
 *    3   5 | 2  NaN       window (0,1): NaN at (1,3); the 2s tie
 *   -inf -inf | 0  -0     window (1,0): all -inf -> -inf at (2,0)
 *   -inf -inf | -0  0     window (1,1): +0 first, ties keep it
 * avg_excl of window (0,0) = 14/4 = 3.5. */
START_TEST(test_worked_example)
{
    if (!can_run()) return;
    const float in[16] = {1, 5, 2, 2, 3, 5, 2, NAN, -INFINITY, -INFINITY, 0.0f, -0.0f,
                          -INFINITY, -INFINITY, -0.0f, 0.0f};
    for (int l = 0; l < PB_LAYOUT_COUNT; l++) {
        pb_desc d;
        win w = {2, 2, 0, 0, 1, false, false};
        ck_assert(make_desc(&d, (pb_layout)l, PB_ALG_MAX, &w, 1, 1, 4, 4));
        float out[4];
        int32_t ws[4];
        pb_args a = {.src = in, .dst = out, .ws = ws};
        ck_assert_int_eq(pb_impl_run(avx2(), &d, PB_DIR_FWD_TRAIN, &a), PB_OK);
        ck_assert(out[0] == 5.0f && ws[0] == 1);
        ck_assert(isnan(out[1]) && ws[1] == 7);
        ck_assert(out[2] == -INFINITY && ws[2] == 8);
        ck_assert(out[3] == 0.0f && !signbit(out[3]) && ws[3] == 10);
        /* backward of max: each gradient lands on its argmax, zeros elsewhere */
        const float g[4] = {0.5f, -1.0f, 2.0f, 0.125f};
        float ds[16];
        pb_args b = {.src = in, .diff_dst = g, .ws = ws, .diff_src = ds};
        ck_assert_int_eq(pb_impl_run(avx2(), &d, PB_DIR_BWD, &b), PB_OK);
        for (int i = 0; i < 16; i++) {
            float want = i == 1 ? 0.5f : i == 7 ? -1.0f : i == 8 ? 2.0f : i == 10 ? 0.125f : 0.0f;
            ck_assert_msg(bits_f(ds[i]) == bits_f(want), "diff_src[%d] = %g, want %g", i,
                          (double)ds[i], (double)want); /* +0 where nothing lands */
        }
        d.alg = PB_ALG_AVG_EXCL;
        ck_assert_int_eq(pb_impl_run(avx2(), &d, PB_DIR_FWD_INF, &a), PB_OK);
        ck_assert(out[0] == 3.5f);
        ck_assert(isnan(out[1]));
        ck_assert(out[2] == -INFINITY);
        ck_assert(out[3] == 0.0f);
    }
}
END_TEST

/* Declines what it does not vectorize, with a reason; `best` falls back. */
START_TEST(test_declines)
{
    if (!can_run()) return;
    pb_desc d;
    win w = {3, 3, 1, 1, 1, false, false};
    ck_assert(make_desc(&d, PB_LAYOUT_NCHW, PB_ALG_MAX, &w, 1, 2, 9, 9));
    const char *why = NULL;
    ck_assert(!pb_impl_accepts(avx2(), &d, PB_DIR_FWD_INF, &why));
    ck_assert_ptr_nonnull(why);
    ck_assert(strstr(why, "stride") != NULL);
    ck_assert_str_ne(pb_impl_best(&d, PB_DIR_FWD_INF)->name, "avx2");
    /* NHWC takes any stride */
    ck_assert(make_desc(&d, PB_LAYOUT_NHWC, PB_ALG_MAX, &w, 1, 2, 9, 9));
    ck_assert(pb_impl_accepts(avx2(), &d, PB_DIR_FWD_INF, NULL));
    run_case(&d, PB_DIR_FWD_TRAIN, F_SPECIAL);
    run_case(&d, PB_DIR_BWD, F_DISTINCT);
}
END_TEST

/* Bad arguments are rejected with their codes, never run. */
START_TEST(test_arguments)
{
    if (!can_run()) return;
    const pb_impl *im = avx2();
    pb_desc d;
    win w = {2, 2, 0, 0, 1, false, false};
    ck_assert(make_desc(&d, PB_LAYOUT_NCHW, PB_ALG_MAX, &w, 1, 1, 4, 4));
    float src[16] = {0}, dst[4], ds[16];
    int32_t ws[4] = {0, 2, 8, 99}; /* 99: outside the 16-element plane */
    pb_args a = {.src = src, .dst = dst};
    ck_assert_int_eq(im->fwd(NULL, &a, NULL), PB_ERR_NULL);
    ck_assert_int_eq(im->fwd(&d, NULL, NULL), PB_ERR_NULL);
    pb_args none = {0};
    ck_assert_int_eq(im->fwd(&d, &none, NULL), PB_ERR_NULL);
    ck_assert_int_eq(im->fwd_rows(&d, &a, NULL, 0, pb_fwd_rows(&d) + 1), PB_ERR_SHAPE);
    ck_assert_int_eq(im->fwd_rows(&d, &a, NULL, 1, 0), PB_ERR_SHAPE);
    ck_assert_int_eq(im->fwd_rows(&d, &a, NULL, -1, 1), PB_ERR_SHAPE);
    ck_assert_int_eq(im->fwd_rows(&d, &a, NULL, 1, 1), PB_OK); /* empty slice */
    float g[4] = {1, 1, 1, 1};
    pb_args b = {.diff_dst = g, .diff_src = ds};
    ck_assert_int_eq(im->bwd(&d, &b, NULL), PB_ERR_NULL); /* max needs ws */
    b.ws = ws;
    ck_assert_int_eq(im->bwd(&d, &b, NULL), PB_ERR_UNSUPPORTED); /* corrupt ws */
    ck_assert_int_eq(im->bwd_slices(&d, &b, NULL, 0, 2), PB_ERR_SHAPE);
    d.layout = PB_LAYOUT_NHWC;
    ck_assert_int_eq(im->bwd(&d, &b, NULL), PB_ERR_UNSUPPORTED);
    ws[3] = -1;
    ck_assert_int_eq(im->bwd(&d, &b, NULL), PB_ERR_UNSUPPORTED);
    ws[3] = 10;
    ck_assert_int_eq(im->bwd(&d, &b, NULL), PB_OK);
    ck_assert(ds[10] == 1.0f && ds[0] == 1.0f && ds[2] == 1.0f && ds[8] == 1.0f && ds[1] == 0.0f);
    pb_desc bad = d;
    bad.dtype = PB_DT_COUNT;
    ck_assert_int_eq(im->fwd(&bad, &a, NULL), PB_ERR_DTYPE);
}
END_TEST

Suite *pb_test_suite_avx2(void)
{
    Suite *s = suite_create("avx2");
    TCase *tc = tcase_create("vs_reference");
    tcase_set_timeout(tc, 600);
    /* layout (2) x algorithm (3) x fill (3) */
    tcase_add_loop_test(tc, test_sweep, 0, 2 * 3 * F_COUNT);
    tcase_add_test(tc, test_larger);
    tcase_add_test(tc, test_worked_example);
    suite_add_tcase(s, tc);
    TCase *tc2 = tcase_create("contract");
    tcase_add_test(tc2, test_declines);
    tcase_add_test(tc2, test_arguments);
    suite_add_tcase(s, tc2);
    return s;
}
