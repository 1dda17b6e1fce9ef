/* Comparison backends (oneDNN, XNNPACK) against the reference: values on a
 * handful of problems (max bitwise, avg within 8 ulps of max(|ref|, 1)),
 * backward through oneDNN, declines with their reasons, the declared
 * quirks shown to be real, threads and buffer rebinding.  Each library's
 * cases compile only when it was found at build time. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"
#include "verify.h"

#ifdef PB_HAVE_ONEDNN
#include <omp.h>

#include "onednn.h"
#endif

#define AVG_ULPS 8

#if defined(PB_HAVE_ONEDNN) || defined(PB_HAVE_XNNPACK)
#define PB_ANY_BACKEND 1
#endif

/* A problem: shape, window, stride, padding (t, b, l, r), dilation. */
typedef struct prob {
    int64_t n, c, ih, iw, kh, kw, sh, sw, pt, pb, pl, pr, dh, dw;
    bool ceil, global;
} prob;

static pb_desc make(const prob *p, pb_alg alg, pb_layout layout)
{
    pb_desc d;
    pb_desc_init(&d);
    d.n = p->n, d.c = p->c, d.ih = p->ih, d.iw = p->iw, d.kh = p->kh, d.kw = p->kw;
    d.sh = p->sh, d.sw = p->sw, d.pt = p->pt, d.pb = p->pb, d.pl = p->pl, d.pr = p->pr;
    d.dh = p->dh ? p->dh : 1, d.dw = p->dw ? p->dw : 1;
    d.ceil_mode = p->ceil, d.global = p->global;
    d.alg = alg, d.layout = layout;
    char msg[200];
    pb_status st = pb_desc_finalize(&d, msg, sizeof msg);
    ck_assert_msg(st == PB_OK, "test problem invalid: %s", msg);
    return d;
}

#ifdef PB_ANY_BACKEND
static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* max: a shuffled run of distinct integers (exact compares, unique
 * argmax); ties: values in {0, 1, 2}; avg: reals in [-1, 1]. */
enum { FILL_DISTINCT, FILL_TIES };
static void fill_src(const pb_desc *d, int fill, float *src)
{
    int64_t n = d->src_elems;
    if (fill == FILL_TIES) {
        for (int64_t i = 0; i < n; i++) src[i] = (float)(next_rand() % 3);
    } else if (d->alg == PB_ALG_MAX) {
        for (int64_t i = 0; i < n; i++) src[i] = (float)(i - n / 2);
        for (int64_t i = n - 1; i > 0; i--) {
            int64_t j = (int64_t)(next_rand() % (uint64_t)(i + 1));
            float t = src[i];
            src[i] = src[j];
            src[j] = t;
        }
    } else {
        for (int64_t i = 0; i < n; i++) src[i] = (float)((double)(next_rand() % 2000001) / 1e6 - 1.0);
    }
}

/* Upstream gradient: multiples of 1/8 in [-2, 2], so max backward sums are
 * exact in float whatever the order. */
static void fill_diff_dst(int64_t n, float *g)
{
    for (int64_t i = 0; i < n; i++) g[i] = (float)((int)(next_rand() % 33) - 16) / 8.0f;
}

static void poison(float *p, int64_t n)
{
    for (int64_t i = 0; i < n; i++) p[i] = NAN;
}

/* Error in ulps on the scale max(|ref|, 1). */
static double ulps(float got, float ref)
{
    float scale = fabsf(ref) > 1.0f ? fabsf(ref) : 1.0f;
    double ulp = (double)nextafterf(scale, INFINITY) - (double)scale;
    return fabs((double)got - (double)ref) / ulp;
}

/* Runs impl and the reference on (d, dir) and compares the output: max
 * bitwise, avg within AVG_ULPS.  Returns false with *detail naming the
 * first differing element. */
static bool matches_reference(const pb_impl *impl, const pb_desc *d, pb_dir dir, int fill,
                              char *detail, size_t len)
{
    int64_t S = d->src_elems, D = d->dst_elems;
    float *src = malloc((size_t)S * sizeof *src), *dst = malloc((size_t)D * sizeof *dst);
    float *got_dst = malloc((size_t)D * sizeof *dst), *dd = malloc((size_t)D * sizeof *dd);
    float *ds = malloc((size_t)S * sizeof *ds), *got_ds = malloc((size_t)S * sizeof *ds);
    int32_t *ws = malloc((size_t)D * sizeof *ws);
    ck_assert(src && dst && got_dst && dd && ds && got_ds && ws);
    fill_src(d, fill, src);
    fill_diff_dst(D, dd);
    const pb_impl *ref = pb_impl_reference();
    pb_args ra = {src, dst, ws, dd, ds};
    ck_assert_int_eq(pb_impl_run(ref, d, dir == PB_DIR_BWD ? PB_DIR_FWD_TRAIN : dir, &ra), PB_OK);
    if (dir == PB_DIR_BWD) ck_assert_int_eq(pb_impl_run(ref, d, PB_DIR_BWD, &ra), PB_OK);
    poison(got_dst, D);
    poison(got_ds, S);
    /* ws stays NULL: the backends keep argmax in their own workspace */
    pb_args ia = {src, got_dst, NULL, dd, got_ds};
    pb_status st = pb_impl_run(impl, d, dir, &ia);
    ck_assert_msg(st == PB_OK, "%s %s: run failed: %s", impl->name, pb_dir_name(dir),
                  pb_status_str(st));
    const float *g = dir == PB_DIR_BWD ? got_ds : got_dst, *r = dir == PB_DIR_BWD ? ds : dst;
    int64_t n = dir == PB_DIR_BWD ? S : D;
    bool ok = true;
    for (int64_t i = 0; i < n && ok; i++) {
        bool same = d->alg == PB_ALG_MAX ? memcmp(&g[i], &r[i], sizeof(float)) == 0
                                         : !isnan(g[i]) && ulps(g[i], r[i]) <= AVG_ULPS;
        if (!same) {
            snprintf(detail, len, "%s %s %s %s: element %lld got %.9g want %.9g", impl->name,
                     pb_alg_name(d->alg), pb_layout_name(d->layout), pb_dir_name(dir),
                     (long long)i, (double)g[i], (double)r[i]);
            ok = false;
        }
    }
    free(src), free(dst), free(got_dst), free(dd), free(ds), free(got_ds), free(ws);
    return ok;
}

/* The shared problem set: real-network shapes shrunk, C not a multiple of
 * 16 (blocked padding), ceil mode, dilation, global, asymmetric stride. */
static const prob problems[] = {
    {2, 19, 11, 9, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, false, false},  /* resnet stem-like */
    {1, 32, 14, 14, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, false, false}, /* vgg 2x2/2 */
    {2, 5, 14, 14, 3, 3, 2, 2, 0, 0, 0, 0, 1, 1, true, false},   /* ceil: last window overhangs */
    {1, 17, 7, 7, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, false, true},    /* global */
    {1, 8, 10, 12, 3, 3, 1, 2, 0, 0, 0, 0, 2, 2, false, false},  /* dilated */
    {1, 3, 9, 8, 3, 2, 2, 1, 1, 0, 1, 1, 1, 1, false, false},    /* asymmetric */
};
#define NPROBLEMS (sizeof problems / sizeof problems[0])

/* Checks every (problem, alg, layout, dir) impl accepts against the
 * reference; returns how many ran. */
static int check_all(const pb_impl *impl, int fill)
{
    int ran = 0;
    for (size_t p = 0; p < NPROBLEMS; p++)
        for (int a = 0; a < PB_ALG_COUNT; a++)
            for (int l = 0; l < PB_LAYOUT_COUNT; l++)
                for (int dir = 0; dir < PB_DIR_COUNT; dir++) {
                    if (fill == FILL_TIES && a != PB_ALG_MAX) continue;
                    pb_desc d = make(&problems[p], (pb_alg)a, (pb_layout)l);
                    const char *why = NULL;
                    if (!pb_impl_accepts(impl, &d, (pb_dir)dir, &why)) {
                        ck_assert_msg(why && why[0], "%s declined without a reason", impl->name);
                        continue;
                    }
                    char detail[256] = "";
                    ck_assert_msg(matches_reference(impl, &d, (pb_dir)dir, fill, detail,
                                                    sizeof detail),
                                  "problem %zu: %s", p, detail);
                    ran++;
                }
    return ran;
}

/* OS threads of this process (Linux /proc), -1 if unreadable. */
static int os_threads(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    int n = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "Threads:", 8) == 0) n = atoi(line + 8);
    fclose(f);
    return n;
}

/* Runs impl's forward inference on a tiny problem; returns dst[0..n). */
static pb_status run_fwd(const char *name, const pb_desc *d, const float *src, float *dst)
{
    pb_args a = {src, dst, NULL, NULL, NULL};
    return pb_impl_run(pb_impl_find(name), d, PB_DIR_FWD_INF, &a);
}
#endif /* PB_ANY_BACKEND */

#ifdef PB_HAVE_ONEDNN

START_TEST(test_onednn_registered)
{
    const pb_impl *p = pb_impl_find("onednn"), *b = pb_impl_find("onednn_blocked");
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_nonnull(b);
    ck_assert(p->external && b->external && p->own_workspace && b->own_workspace);
    ck_assert(p->priority < 0 && b->priority < 0);
    ck_assert_uint_eq(p->quirks, PB_QUIRK_NAN_IGNORED | PB_QUIRK_NEG_INF_FLT_MAX);
    ck_assert_uint_eq(b->quirks, p->quirks);
    ck_assert_uint_eq(p->dirs, PB_ALL_DIRS);
    ck_assert_uint_eq(p->layouts, PB_ALL_LAYOUTS);
}
END_TEST

/* Hand-computed: 4x4 plane 0..15, 2x2 stride 2: max {5,7,13,15}, avg
 * {2.5,4.5,10.5,12.5}; 3x3 stride 1 pad 1 avg_incl corner (0+1+4+5)/9. */
START_TEST(test_onednn_worked_example)
{
    static const char *const names[] = {"onednn", "onednn_blocked"};
    float src[16], dst[16];
    for (int i = 0; i < 16; i++) src[i] = (float)i;
    for (int e = 0; e < 2; e++) {
        prob p = {1, 1, 4, 4, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, false, false};
        pb_desc d = make(&p, PB_ALG_MAX, PB_LAYOUT_NCHW);
        ck_assert_int_eq(run_fwd(names[e], &d, src, dst), PB_OK);
        ck_assert(dst[0] == 5 && dst[1] == 7 && dst[2] == 13 && dst[3] == 15);
        d = make(&p, PB_ALG_AVG_EXCL, PB_LAYOUT_NCHW);
        ck_assert_int_eq(run_fwd(names[e], &d, src, dst), PB_OK);
        ck_assert(dst[0] == 2.5f && dst[1] == 4.5f && dst[2] == 10.5f && dst[3] == 12.5f);
        prob q = {1, 1, 4, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, false, false};
        d = make(&q, PB_ALG_AVG_INCL, PB_LAYOUT_NHWC);
        ck_assert_int_eq(run_fwd(names[e], &d, src, dst), PB_OK);
        ck_assert_float_eq_tol(dst[0], 10.0f / 9.0f, 1e-6f);
        d = make(&q, PB_ALG_AVG_EXCL, PB_LAYOUT_NHWC);
        ck_assert_int_eq(run_fwd(names[e], &d, src, dst), PB_OK);
        ck_assert_float_eq_tol(dst[0], 10.0f / 4.0f, 1e-6f);
    }
}
END_TEST

START_TEST(test_onednn_matches_reference)
{
    int ran = check_all(pb_impl_find("onednn"), FILL_DISTINCT);
    /* 6 problems x 3 algs x 2 layouts x 3 dirs = 108, minus the googlenet
     * ceil avg_incl cases (2 layouts x 3 dirs) */
    ck_assert_int_eq(ran, 108 - 6);
}
END_TEST

START_TEST(test_onednn_blocked_matches_reference)
{
    ck_assert_int_eq(check_all(pb_impl_find("onednn_blocked"), FILL_DISTINCT), 108 - 6);
}
END_TEST

/* Ties: oneDNN's backward follows the first maximum like ours, so no
 * TIE_ORDER quirk is declared; this is the evidence. */
START_TEST(test_onednn_ties_first_max)
{
    ck_assert_int_eq(check_all(pb_impl_find("onednn"), FILL_TIES), 6 * 2 * 3);
    ck_assert_int_eq(check_all(pb_impl_find("onednn_blocked"), FILL_TIES), 6 * 2 * 3);
}
END_TEST

START_TEST(test_onednn_declines_with_reasons)
{
    const pb_impl *impl = pb_impl_find(_i == 0 ? "onednn" : "onednn_blocked");
    const char *why = NULL;
    /* ceil mode: 14 -> 7 windows of 3 with stride 2, the last one taps
     * 12, 13, 14: past the input and there is no padding */
    prob ceil = {1, 4, 14, 14, 3, 3, 2, 2, 0, 0, 0, 0, 1, 1, true, false};
    pb_desc d = make(&ceil, PB_ALG_AVG_INCL, PB_LAYOUT_NCHW);
    ck_assert(!pb_impl_accepts(impl, &d, PB_DIR_FWD_INF, &why));
    ck_assert_ptr_nonnull(strstr(why, "full 3x3 window"));
    ck_assert_ptr_nonnull(strstr(why, "ceil-mode"));
    pb_args a = {NULL, NULL, NULL, NULL, NULL};
    ck_assert_int_eq(pb_impl_run(impl, &d, PB_DIR_FWD_INF, &a), PB_ERR_UNSUPPORTED);
    /* the same problem where ceil adds nothing (floor == ceil) is taken */
    prob even = {1, 4, 13, 13, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, true, false};
    d = make(&even, PB_ALG_AVG_INCL, PB_LAYOUT_NCHW);
    ck_assert(pb_impl_accepts(impl, &d, PB_DIR_BWD, &why));
    /* avg_excl, dilation gap 2 >= ih 2: oneDNN's descriptor check */
    prob dil = {1, 4, 2, 8, 1, 2, 1, 2, 0, 0, 0, 0, 3, 1, false, false};
    d = make(&dil, PB_ALG_AVG_EXCL, PB_LAYOUT_NHWC);
    ck_assert(!pb_impl_accepts(impl, &d, PB_DIR_FWD_TRAIN, &why));
    ck_assert_ptr_nonnull(strstr(why, "dilation gap"));
    /* max on the same shape is fine */
    d = make(&dil, PB_ALG_MAX, PB_LAYOUT_NHWC);
    ck_assert(pb_impl_accepts(impl, &d, PB_DIR_FWD_TRAIN, &why));
    char detail[256] = "";
    ck_assert_msg(matches_reference(impl, &d, PB_DIR_BWD, FILL_DISTINCT, detail, sizeof detail),
                  "%s", detail);
}
END_TEST

/* The declared quirks are real: a NaN is ignored, an all -inf window
 * gives -FLT_MAX (our reference: NaN, -inf). */
START_TEST(test_onednn_quirks_are_real)
{
    const char *name = _i == 0 ? "onednn" : "onednn_blocked";
    prob p = {1, 1, 1, 6, 1, 2, 1, 2, 0, 0, 0, 0, 1, 1, false, false};
    pb_desc d = make(&p, PB_ALG_MAX, PB_LAYOUT_NCHW);
    float src[6] = {NAN, 1.0f, -INFINITY, -INFINITY, 2.0f, NAN}, dst[3], ref[3];
    ck_assert_int_eq(run_fwd(name, &d, src, dst), PB_OK);
    ck_assert_int_eq(run_fwd("naive", &d, src, ref), PB_OK);
    ck_assert(isnan(ref[0]) && ref[1] == -INFINITY && isnan(ref[2]));
    ck_assert_float_eq(dst[0], 1.0f);
    ck_assert_float_eq(dst[1], -FLT_MAX);
    ck_assert_float_eq(dst[2], 2.0f);
}
END_TEST

/* onednn_blocked: the result reaches the caller's buffer at release(),
 * and both conversions are timed and recorded. */
START_TEST(test_onednn_blocked_conversion)
{
    const pb_impl *impl = pb_impl_find("onednn_blocked");
    prob p = {2, 19, 11, 9, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, false, false};
    pb_desc d = make(&p, PB_ALG_MAX, PB_LAYOUT_NHWC);
    float *src = malloc((size_t)d.src_elems * sizeof *src), *dst = malloc((size_t)d.dst_elems * 4);
    float *ref = malloc((size_t)d.dst_elems * sizeof *ref);
    ck_assert(src && dst && ref);
    fill_src(&d, FILL_DISTINCT, src);
    pb_args ra = {src, ref, NULL, NULL, NULL}, a = {src, dst, NULL, NULL, NULL};
    ck_assert_int_eq(pb_impl_run(pb_impl_reference(), &d, PB_DIR_FWD_INF, &ra), PB_OK);
    poison(dst, d.dst_elems);
    pb_onednn_conversion before, mid, after;
    ck_assert_int_eq(pb_onednn_last_conversion(&before), PB_OK);
    void *state = NULL;
    ck_assert_int_eq(impl->prepare(&d, PB_DIR_FWD_INF, &a, &state), PB_OK);
    ck_assert_int_eq(impl->fwd(&d, &a, state), PB_OK);
    ck_assert_int_eq(pb_onednn_last_conversion(&mid), PB_OK);
    ck_assert_int_eq(mid.count, before.count + 1);
    ck_assert(mid.to_blocked_s > 0.0 && mid.from_blocked_s == 0.0);
    ck_assert_int_eq(mid.to_bytes, d.src_elems * 4);
    ck_assert(isnan(dst[0])); /* not converted back yet */
    impl->release(state);
    ck_assert_int_eq(pb_onednn_last_conversion(&after), PB_OK);
    ck_assert(after.from_blocked_s > 0.0);
    ck_assert_int_eq(after.from_bytes, d.dst_elems * 4);
    ck_assert(pb_onednn_last_conversion_seconds() == after.to_blocked_s + after.from_blocked_s);
    ck_assert_int_eq(memcmp(dst, ref, (size_t)d.dst_elems * sizeof *dst), 0);
    /* released without running: the caller's buffer is left alone */
    poison(dst, d.dst_elems);
    ck_assert_int_eq(impl->prepare(&d, PB_DIR_FWD_INF, &a, &state), PB_OK);
    impl->release(state);
    ck_assert(isnan(dst[0]));
    ck_assert_int_eq(pb_onednn_last_conversion(NULL), PB_ERR_NULL);
    /* the plain entry converts nothing */
    ck_assert_int_eq(pb_onednn_last_conversion(&before), PB_OK);
    ck_assert_int_eq(pb_impl_run(pb_impl_find("onednn"), &d, PB_DIR_FWD_INF, &a), PB_OK);
    ck_assert_int_eq(pb_onednn_last_conversion(&after), PB_OK);
    ck_assert_int_eq(after.count, before.count);
    free(src), free(dst), free(ref);
}
END_TEST

/* threads = 1 runs on the calling thread: no OpenMP worker is started
 * although OpenMP's own setting asks for 3 (in Check's fork mode each test
 * starts with one thread, so a worker would show); threads = 1 and 2 give
 * the same bits; the caller's OpenMP setting is restored after prepare,
 * the timed call and release. */
START_TEST(test_onednn_threads)
{
    const pb_impl *impl = pb_impl_find("onednn");
    prob p = {2, 64, 28, 28, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, false, false};
    pb_desc d = make(&p, PB_ALG_AVG_EXCL, PB_LAYOUT_NCHW);
    float *src = malloc((size_t)d.src_elems * 4), *d1 = malloc((size_t)d.dst_elems * 4);
    float *d2 = malloc((size_t)d.dst_elems * 4);
    ck_assert(src && d1 && d2);
    fill_src(&d, FILL_DISTINCT, src);
    int caller = omp_get_max_threads();
    omp_set_num_threads(3);
    d.threads = 1;
    pb_args a1 = {src, d1, NULL, NULL, NULL}, a2 = {src, d2, NULL, NULL, NULL};
    void *state = NULL;
    int before = os_threads();
    ck_assert_int_eq(impl->prepare(&d, PB_DIR_FWD_INF, &a1, &state), PB_OK);
    ck_assert_int_eq(omp_get_max_threads(), 3);
    ck_assert_int_eq(impl->fwd(&d, &a1, state), PB_OK);
    ck_assert_int_eq(os_threads(), before);
    ck_assert_int_eq(omp_get_max_threads(), 3);
    impl->release(state);
    ck_assert_int_eq(omp_get_max_threads(), 3);
    d.threads = 2;
    ck_assert_int_eq(pb_impl_run(impl, &d, PB_DIR_FWD_INF, &a2), PB_OK);
    ck_assert_int_eq(memcmp(d1, d2, (size_t)d.dst_elems * 4), 0);
    omp_set_num_threads(caller);
    free(src), free(d1), free(d2);
}
END_TEST

/* onednn follows the buffers passed to the timed call. */
START_TEST(test_onednn_rebinds_buffers)
{
    const pb_impl *impl = pb_impl_find("onednn");
    prob p = {1, 4, 6, 6, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, false, false};
    pb_desc d = make(&p, PB_ALG_MAX, PB_LAYOUT_NHWC);
    float s1[144], s2[144], o1[36], o2[36], ref[36];
    for (int i = 0; i < 144; i++) s1[i] = (float)i, s2[i] = (float)-i;
    pb_args a1 = {s1, o1, NULL, NULL, NULL}, a2 = {s2, o2, NULL, NULL, NULL};
    void *state = NULL;
    ck_assert_int_eq(impl->prepare(&d, PB_DIR_FWD_INF, &a1, &state), PB_OK);
    poison(o2, 36);
    ck_assert_int_eq(impl->fwd(&d, &a2, state), PB_OK);
    impl->release(state);
    ck_assert_int_eq(run_fwd("naive", &d, s2, ref), PB_OK);
    ck_assert_int_eq(memcmp(o2, ref, sizeof ref), 0);
}
END_TEST

START_TEST(test_onednn_null_args)
{
    const pb_impl *impl = pb_impl_find("onednn");
    prob p = {1, 4, 6, 6, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, false, false};
    pb_desc d = make(&p, PB_ALG_MAX, PB_LAYOUT_NHWC);
    pb_args a = {NULL, NULL, NULL, NULL, NULL};
    void *state = (void *)&d;
    ck_assert_int_eq(impl->prepare(&d, PB_DIR_FWD_INF, &a, &state), PB_ERR_NULL);
    ck_assert_ptr_null(state);
    ck_assert_int_eq(impl->prepare(NULL, PB_DIR_FWD_INF, &a, &state), PB_ERR_NULL);
    ck_assert_int_eq(impl->fwd(&d, &a, NULL), PB_ERR_NULL);
    impl->release(NULL);
}
END_TEST

#endif /* PB_HAVE_ONEDNN */

#ifdef PB_HAVE_XNNPACK

START_TEST(test_xnnpack_registered)
{
    const pb_impl *x = pb_impl_find("xnnpack");
    ck_assert_ptr_nonnull(x);
    ck_assert(x->external && x->priority < 0);
    ck_assert_uint_eq(x->layouts, PB_BIT(PB_LAYOUT_NHWC));
    ck_assert_uint_eq(x->dirs, PB_BIT(PB_DIR_FWD_INF));
    ck_assert_uint_eq(x->quirks, PB_QUIRK_NAN_CLAMPED);
}
END_TEST

START_TEST(test_xnnpack_matches_reference)
{
    /* NHWC forward inference only: 6 problems x 3 algs, minus avg_incl on
     * the two padded problems and average on the dilated one (2 algs) */
    ck_assert_int_eq(check_all(pb_impl_find("xnnpack"), FILL_DISTINCT), 18 - 2 - 2);
}
END_TEST

/* Cases only XNNPACK's mapping exercises: the window as the plane without
 * the global flag, dilated max with padding where its substitute pixel is
 * a tap, avg_incl without padding in ceil mode. */
START_TEST(test_xnnpack_mapping_edges)
{
    static const prob extra[] = {
        {2, 9, 5, 6, 5, 6, 1, 1, 0, 0, 0, 0, 1, 1, false, false},
        {1, 3, 9, 9, 3, 3, 1, 1, 1, 1, 1, 1, 2, 2, false, false},
        {1, 6, 12, 12, 3, 3, 2, 2, 0, 0, 0, 0, 1, 1, true, false},
    };
    const pb_impl *x = pb_impl_find("xnnpack");
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
        for (int a = 0; a < PB_ALG_COUNT; a++) {
            pb_desc d = make(&extra[i], (pb_alg)a, PB_LAYOUT_NHWC);
            const char *why = NULL;
            bool want = !(i == 1 && a != PB_ALG_MAX); /* dilated average: declined */
            ck_assert_msg(pb_impl_accepts(x, &d, PB_DIR_FWD_INF, &why) == want, "case %zu %s: %s",
                          i, pb_alg_name(d.alg), why ? why : "");
            if (!want) continue;
            char detail[256] = "";
            ck_assert_msg(matches_reference(x, &d, PB_DIR_FWD_INF, FILL_DISTINCT, detail,
                                            sizeof detail),
                          "case %zu: %s", i, detail);
        }
}
END_TEST

START_TEST(test_xnnpack_declines_with_reasons)
{
    const pb_impl *x = pb_impl_find("xnnpack");
    const char *why = NULL;
    prob p = {1, 4, 8, 8, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, false, false};
    pb_desc d = make(&p, PB_ALG_MAX, PB_LAYOUT_NCHW);
    ck_assert(!pb_impl_accepts(x, &d, PB_DIR_FWD_INF, &why));
    d = make(&p, PB_ALG_MAX, PB_LAYOUT_NHWC);
    ck_assert(pb_impl_accepts(x, &d, PB_DIR_FWD_INF, &why));
    ck_assert(!pb_impl_accepts(x, &d, PB_DIR_FWD_TRAIN, &why));
    ck_assert(!pb_impl_accepts(x, &d, PB_DIR_BWD, &why));
    d = make(&p, PB_ALG_AVG_INCL, PB_LAYOUT_NHWC);
    ck_assert(!pb_impl_accepts(x, &d, PB_DIR_FWD_INF, &why));
    ck_assert_ptr_nonnull(strstr(why, "excludes padding"));
    prob dil = {1, 4, 9, 9, 2, 2, 1, 1, 0, 0, 0, 0, 2, 2, false, false};
    d = make(&dil, PB_ALG_AVG_EXCL, PB_LAYOUT_NHWC);
    ck_assert(!pb_impl_accepts(x, &d, PB_DIR_FWD_INF, &why));
    ck_assert_ptr_nonnull(strstr(why, "no dilation"));
    prob one = {1, 4, 5, 5, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, false, false};
    d = make(&one, PB_ALG_MAX, PB_LAYOUT_NHWC);
    ck_assert(!pb_impl_accepts(x, &d, PB_DIR_FWD_INF, &why));
    ck_assert_ptr_nonnull(strstr(why, "1x1"));
    /* measured: XNNPACK reads row 2 of a 2-row input for the second
     * window's bottom padding (dilation on w makes it take the dilated
     * path, whose substitute for padded rows is not clamped) */
    prob sub = {1, 3, 2, 3, 3, 1, 2, 1, 1, 1, 0, 0, 1, 2, true, false};
    d = make(&sub, PB_ALG_MAX, PB_LAYOUT_NHWC);
    ck_assert(!pb_impl_accepts(x, &d, PB_DIR_FWD_INF, &why));
    ck_assert_ptr_nonnull(strstr(why, "substitute"));
    pb_args a = {NULL, NULL, NULL, NULL, NULL};
    ck_assert_int_eq(pb_impl_run(x, &d, PB_DIR_FWD_INF, &a), PB_ERR_UNSUPPORTED);
}
END_TEST

/* The declared quirk is real: a NaN result never comes out, neither from
 * a NaN tap (max, avg) nor from +inf and -inf averaged. */
START_TEST(test_xnnpack_nan_clamped)
{
    prob p = {1, 1, 1, 12, 1, 4, 1, 4, 0, 0, 0, 0, 1, 1, false, false};
    float src[12] = {1.0f, 5.0f, NAN, 2.0f, 0.0f, 3.0f, 1.0f, 2.0f,
                     INFINITY, 1.0f, -INFINITY, 2.0f};
    float dst[3], ref[3];
    pb_desc d = make(&p, PB_ALG_MAX, PB_LAYOUT_NHWC);
    ck_assert_int_eq(run_fwd("xnnpack", &d, src, dst), PB_OK);
    ck_assert_int_eq(run_fwd("naive", &d, src, ref), PB_OK);
    ck_assert(isnan(ref[0]) && !isnan(dst[0]));
    ck_assert_float_eq(dst[1], 3.0f);
    ck_assert_float_eq(dst[2], INFINITY);
    d = make(&p, PB_ALG_AVG_EXCL, PB_LAYOUT_NHWC);
    ck_assert_int_eq(run_fwd("xnnpack", &d, src, dst), PB_OK);
    ck_assert_int_eq(run_fwd("naive", &d, src, ref), PB_OK);
    ck_assert(isnan(ref[0]) && isnan(ref[2]));
    ck_assert_float_eq(dst[0], -INFINITY);
    ck_assert_float_eq(dst[1], 1.5f);
    ck_assert_float_eq(dst[2], -INFINITY);
}
END_TEST

/* Through verify: the quirk turns NaN/INF average fills into SKIPPED with
 * the reason; undeclared, the same cases FAIL; DISTINCT passes. */
START_TEST(test_xnnpack_verify_quirk)
{
    prob p = {1, 19, 9, 9, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, false, false};
    pb_desc d = make(&p, PB_ALG_AVG_EXCL, PB_LAYOUT_NHWC);
    pb_impl x = *pb_impl_find("xnnpack");
    pb_check c;
    ck_assert_int_eq(pb_verify_case(&x, &d, PB_DIR_FWD_INF, PB_FILL_DISTINCT, 1, &c), PB_OK);
    ck_assert_int_eq(c.verdict, PB_PASS);
    for (int f = PB_FILL_NAN; f <= PB_FILL_INF; f++) {
        ck_assert_int_eq(pb_verify_case(&x, &d, PB_DIR_FWD_INF, (pb_fill)f, 1, &c), PB_OK);
        ck_assert_int_eq(c.verdict, PB_SKIP);
        ck_assert_ptr_nonnull(strstr(c.detail, "clamps its output"));
    }
    x.quirks = 0;
    ck_assert_int_eq(pb_verify_case(&x, &d, PB_DIR_FWD_INF, PB_FILL_NAN, 1, &c), PB_OK);
    ck_assert_int_eq(c.verdict, PB_FAIL);
    ck_assert_ptr_nonnull(strstr(c.detail, "got -inf"));
    /* max with INF fill is compared: no NaN arises from +-inf in a max */
    d = make(&p, PB_ALG_MAX, PB_LAYOUT_NHWC);
    ck_assert_int_eq(pb_verify_case(pb_impl_find("xnnpack"), &d, PB_DIR_FWD_INF, PB_FILL_INF, 1, &c),
                     PB_OK);
    ck_assert_int_eq(c.verdict, PB_PASS);
}
END_TEST

START_TEST(test_xnnpack_threads_and_rebind)
{
    const pb_impl *x = pb_impl_find("xnnpack");
    prob p = {2, 24, 20, 20, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, false, false};
    pb_desc d = make(&p, PB_ALG_AVG_EXCL, PB_LAYOUT_NHWC);
    float *src = malloc((size_t)d.src_elems * 4), *d1 = malloc((size_t)d.dst_elems * 4);
    float *d2 = malloc((size_t)d.dst_elems * 4);
    ck_assert(src && d1 && d2);
    fill_src(&d, FILL_DISTINCT, src);
    d.threads = 1;
    pb_args a1 = {src, d1, NULL, NULL, NULL}, a2 = {src, d2, NULL, NULL, NULL};
    int before = os_threads();
    void *state = NULL;
    ck_assert_int_eq(x->prepare(&d, PB_DIR_FWD_INF, &a1, &state), PB_OK);
    ck_assert_int_eq(x->fwd(&d, &a1, state), PB_OK);
    ck_assert_int_eq(os_threads(), before); /* no pthreadpool for threads = 1 */
    x->release(state);
    d.threads = 2;
    ck_assert_int_eq(x->prepare(&d, PB_DIR_FWD_INF, &a1, &state), PB_OK);
    ck_assert_int_eq(os_threads(), before + 1); /* pthreadpool: caller + 1 worker */
    poison(d2, d.dst_elems);
    ck_assert_int_eq(x->fwd(&d, &a2, state), PB_OK); /* other dst: set up again */
    x->release(state);
    ck_assert_int_eq(memcmp(d1, d2, (size_t)d.dst_elems * 4), 0);
    free(src), free(d1), free(d2);
}
END_TEST

#endif /* PB_HAVE_XNNPACK */

#ifdef PB_ANY_BACKEND
/* Every backend through verify on the problem set, every fill: nothing
 * FAILs; what does not PASS is SKIPPED with a reason (a decline or a
 * declared quirk).  _i picks the backend. */
static const char *const backend_names[] = {
#ifdef PB_HAVE_ONEDNN
    "onednn", "onednn_blocked",
#endif
#ifdef PB_HAVE_XNNPACK
    "xnnpack",
#endif
};

START_TEST(test_backend_verify_all_fills)
{
    const pb_impl *impl = pb_impl_find(backend_names[_i]);
    ck_assert_ptr_nonnull(impl);
    int pass = 0, skip = 0;
    for (size_t p = 0; p < NPROBLEMS; p++)
        for (int a = 0; a < PB_ALG_COUNT; a++)
            for (int l = 0; l < PB_LAYOUT_COUNT; l++)
                for (int dir = 0; dir < PB_DIR_COUNT; dir++)
                    for (int f = 0; f < PB_FILL_COUNT; f++) {
                        pb_desc d = make(&problems[p], (pb_alg)a, (pb_layout)l);
                        pb_check c;
                        ck_assert_int_eq(
                            pb_verify_case(impl, &d, (pb_dir)dir, (pb_fill)f, 1 + p, &c), PB_OK);
                        ck_assert_msg(c.verdict != PB_FAIL, "%s", c.detail);
                        if (c.verdict == PB_SKIP) {
                            ck_assert(c.detail[0] != '\0');
                            skip++;
                        } else {
                            pass++;
                        }
                    }
    printf("verify %s: %d passed, %d skipped with a reason\n", impl->name, pass, skip);
    ck_assert_int_gt(pass, 0);
}
END_TEST
#endif /* PB_ANY_BACKEND */

/* Without the libraries the entries must be absent, not stubs. */
START_TEST(test_registry_matches_build)
{
#ifdef PB_HAVE_ONEDNN
    ck_assert_ptr_nonnull(pb_impl_find("onednn"));
#else
    ck_assert_ptr_null(pb_impl_find("onednn"));
#endif
#ifdef PB_HAVE_XNNPACK
    ck_assert_ptr_nonnull(pb_impl_find("xnnpack"));
#else
    ck_assert_ptr_null(pb_impl_find("xnnpack"));
#endif
    /* external entries never become `best` */
    prob p = {1, 4, 8, 8, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, false, false};
    pb_desc d = make(&p, PB_ALG_MAX, PB_LAYOUT_NHWC);
    ck_assert(!pb_impl_best(&d, PB_DIR_FWD_INF)->external);
}
END_TEST

Suite *pb_test_suite_backends(void)
{
    Suite *s = suite_create("backends");
    TCase *tc = tcase_create("registry");
    tcase_add_test(tc, test_registry_matches_build);
    suite_add_tcase(s, tc);
#ifdef PB_ANY_BACKEND
    tc = tcase_create("verify");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_backend_verify_all_fills, 0,
                        (int)(sizeof backend_names / sizeof backend_names[0]));
    suite_add_tcase(s, tc);
#endif
#ifdef PB_HAVE_ONEDNN
    tc = tcase_create("onednn");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_onednn_registered);
    tcase_add_test(tc, test_onednn_worked_example);
    tcase_add_test(tc, test_onednn_matches_reference);
    tcase_add_test(tc, test_onednn_blocked_matches_reference);
    tcase_add_test(tc, test_onednn_ties_first_max);
    tcase_add_loop_test(tc, test_onednn_declines_with_reasons, 0, 2);
    tcase_add_loop_test(tc, test_onednn_quirks_are_real, 0, 2);
    tcase_add_test(tc, test_onednn_blocked_conversion);
    tcase_add_test(tc, test_onednn_threads);
    tcase_add_test(tc, test_onednn_rebinds_buffers);
    tcase_add_test(tc, test_onednn_null_args);
    suite_add_tcase(s, tc);
#endif
#ifdef PB_HAVE_XNNPACK
    tc = tcase_create("xnnpack");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_xnnpack_registered);
    tcase_add_test(tc, test_xnnpack_matches_reference);
    tcase_add_test(tc, test_xnnpack_mapping_edges);
    tcase_add_test(tc, test_xnnpack_declines_with_reasons);
    tcase_add_test(tc, test_xnnpack_nan_clamped);
    tcase_add_test(tc, test_xnnpack_verify_quirk);
    tcase_add_test(tc, test_xnnpack_threads_and_rebind);
    suite_add_tcase(s, tc);
#endif
    return s;
}
