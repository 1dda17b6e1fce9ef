/* Verification: the fills, the cross-check, the gradient checker and the
 * property checks pass on the reference and FAIL on deliberately broken
 * implementations (negative controls defined here, outside the registry). */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "verify.h"

typedef struct shape {
    int64_t n, c, ih, iw, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw;
    bool ceil_mode, global;
} shape;

static pb_desc make(shape s, pb_alg alg, pb_layout layout)
{
    pb_desc d;
    pb_desc_init(&d);
    d.n = s.n ? s.n : 1;
    d.c = s.c ? s.c : 1;
    d.ih = s.ih, d.iw = s.iw, d.kh = s.kh, d.kw = s.kw, d.sh = s.sh, d.sw = s.sw;
    d.pt = s.pt, d.pl = s.pl, d.pb = s.pb, d.pr = s.pr;
    d.dh = s.dh ? s.dh : 1;
    d.dw = s.dw ? s.dw : 1;
    d.ceil_mode = s.ceil_mode, d.global = s.global;
    d.alg = alg;
    d.layout = layout;
    char msg[160];
    pb_status st = pb_desc_finalize(&d, msg, sizeof msg);
    ck_assert_msg(st == PB_OK, "finalize: %s", msg);
    return d;
}

#define N_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define FOR_LAYOUTS for (pb_layout lay = PB_LAYOUT_NCHW; lay < PB_LAYOUT_COUNT; lay++)
#define FOR_ALGS for (pb_alg alg = PB_ALG_MAX; alg < PB_ALG_COUNT; alg++)

/* mb2ic3_ih7iw9_k3s2p1: 4x5 outputs, 120 of them */
static const shape S_PAD = {.n = 2, .c = 3, .ih = 7, .iw = 9, .kh = 3, .kw = 3, .sh = 2, .sw = 2,
                            .pt = 1, .pl = 1, .pb = 1, .pr = 1};
static const shape S_C17 = {.c = 17, .ih = 8, .iw = 8, .kh = 2, .kw = 2, .sh = 2, .sw = 2};
static const shape S_DIL = {.c = 5, .ih = 10, .iw = 9, .kh = 3, .kw = 2, .sh = 1, .sw = 2,
                            .pt = 1, .pr = 1, .dh = 2};
static const shape S_CEIL = {.c = 3, .ih = 6, .iw = 6, .kh = 3, .kw = 3, .sh = 2, .sw = 2,
                             .pt = 1, .pl = 1, .pb = 1, .pr = 1, .ceil_mode = true};
static const shape S_OVER = {.c = 2, .ih = 7, .iw = 7, .kh = 3, .kw = 3, .sh = 1, .sw = 1,
                             .pt = 1, .pl = 1, .pb = 1, .pr = 1};
static const shape S_GLOBAL = {.n = 2, .c = 3, .ih = 5, .iw = 6, .global = true};

/* ---- fake implementations ------------------------------------------- */

static pb_status ref_fwd(const pb_desc *d, const pb_args *a)
{
    return pb_impl_reference()->fwd(d, a, NULL);
}
static pb_status ref_bwd(const pb_desc *d, const pb_args *a)
{
    return pb_impl_reference()->bwd(d, a, NULL);
}

static pb_impl fake(const char *name, pb_exec_fn fwd, pb_exec_fn bwd)
{
    pb_impl im = {.name = name, .summary = "test fake", .isa = PB_ISA_BASELINE,
                  .algs = PB_ALL_ALGS, .layouts = PB_ALL_LAYOUTS,
                  .dirs = (fwd ? PB_BIT(PB_DIR_FWD_INF) | PB_BIT(PB_DIR_FWD_TRAIN) : 0) |
                          (bwd ? PB_BIT(PB_DIR_BWD) : 0),
                  .priority = 1, .fwd = fwd, .bwd = bwd};
    return im;
}

/* Computes everything into a scratch buffer, copies all but the middle. */
static pb_status fwd_unwritten(const pb_desc *d, const pb_args *a, void *st)
{
    (void)st;
    float *tmp = malloc((size_t)d->dst_elems * sizeof *tmp);
    if (!tmp) return PB_ERR_NOMEM;
    pb_args b = *a;
    b.dst = tmp;
    pb_status s = ref_fwd(d, &b);
    for (int64_t i = 0; i < d->dst_elems; i++)
        if (i != d->dst_elems / 2) a->dst[i] = tmp[i];
    free(tmp);
    return s;
}

static pb_status fwd_bad_argmax(const pb_desc *d, const pb_args *a, void *st)
{
    (void)st;
    pb_status s = ref_fwd(d, a);
    if (a->ws) {
        int32_t *w = &a->ws[d->dst_elems - 1];
        *w = *w == 0 ? 1 : *w - 1;
    }
    return s;
}

static double ulp_at(double x) { return ldexp(1.0, ilogb(x) - 23); }

/* Moves the middle avg output by g_off_ulps ulps of the verifier's scale
 * max(|ref|, ref on |src|, 1); records the distance actually applied. */
static double g_off_ulps, g_actual_ulps;
static pb_status fwd_avg_off(const pb_desc *d, const pb_args *a, void *st)
{
    (void)st;
    pb_status s = ref_fwd(d, a);
    float *abs_src = malloc((size_t)d->src_elems * sizeof *abs_src);
    float *abs_dst = malloc((size_t)d->dst_elems * sizeof *abs_dst);
    if (!abs_src || !abs_dst) {
        free(abs_src), free(abs_dst);
        return PB_ERR_NOMEM;
    }
    for (int64_t i = 0; i < d->src_elems; i++) abs_src[i] = fabsf(a->src[i]);
    ref_fwd(d, &(pb_args){.src = abs_src, .dst = abs_dst});
    int64_t k = d->dst_elems / 2;
    double scale = fmax(fmax(fabs((double)a->dst[k]), (double)abs_dst[k]), 1.0);
    float before = a->dst[k];
    a->dst[k] = (float)((double)before + g_off_ulps * ulp_at(scale));
    g_actual_ulps = fabs((double)a->dst[k] - (double)before) / ulp_at(scale);
    free(abs_src), free(abs_dst);
    return s;
}

static pb_status fwd_past_end(const pb_desc *d, const pb_args *a, void *st)
{
    (void)st;
    pb_status s = ref_fwd(d, a);
    a->dst[d->dst_elems] = 1.0f;
    return s;
}

static pb_status fwd_before_start(const pb_desc *d, const pb_args *a, void *st)
{
    (void)st;
    pb_status s = ref_fwd(d, a);
    a->dst[-1] = 1.0f;
    return s;
}

static pb_status fwd_modifies_src(const pb_desc *d, const pb_args *a, void *st)
{
    (void)st;
    pb_status s = ref_fwd(d, a);
    ((float *)a->src)[d->src_elems - 1] += 1.0f;
    return s;
}

static pb_status fwd_fails(const pb_desc *d, const pb_args *a, void *st)
{
    (void)d, (void)a, (void)st;
    return PB_ERR_LIBRARY;
}

/* Max that ignores NaN (oneDNN's behaviour): NaN inputs read as -inf. */
static pb_status fwd_nan_ignoring(const pb_desc *d, const pb_args *a, void *st)
{
    (void)st;
    float *clean = malloc((size_t)d->src_elems * sizeof *clean);
    if (!clean) return PB_ERR_NOMEM;
    for (int64_t i = 0; i < d->src_elems; i++) clean[i] = isnan(a->src[i]) ? -INFINITY : a->src[i];
    pb_args b = *a;
    b.src = clean;
    pb_status s = ref_fwd(d, &b);
    free(clean);
    return s;
}

/* Max that resolves ties to the LAST maximum in scan order. */
static pb_status fwd_last_tie(const pb_desc *d, const pb_args *a, void *st)
{
    (void)st;
    for (int64_t n = 0; n < d->n; n++)
        for (int64_t c = 0; c < d->c; c++)
            for (int64_t oh = 0; oh < d->oh; oh++)
                for (int64_t ow = 0; ow < d->ow; ow++) {
                    pb_axis_window y = pb_axis_window_at(oh, d->ih, d->kh, d->sh, d->pt, d->pb, d->dh);
                    pb_axis_window x = pb_axis_window_at(ow, d->iw, d->kw, d->sw, d->pl, d->pr, d->dw);
                    float best = -INFINITY;
                    int64_t pos = -1;
                    for (int64_t ty = y.t_lo; ty < y.t_hi; ty++)
                        for (int64_t tx = x.t_lo; tx < x.t_hi; tx++) {
                            int64_t h = y.start + ty * d->dh, w = x.start + tx * d->dw;
                            float v = a->src[pb_offset(d->layout, d->c, d->ih, d->iw, n, c, h, w)];
                            if (pos < 0 || v >= best) best = v, pos = h * d->iw + w;
                        }
                    int64_t o = pb_offset(d->layout, d->c, d->oh, d->ow, n, c, oh, ow);
                    a->dst[o] = best;
                    if (a->ws) a->ws[o] = (int32_t)pos;
                }
    return PB_OK;
}

/* oneDNN's all -inf window: -FLT_MAX. */
static pb_status fwd_flt_max(const pb_desc *d, const pb_args *a, void *st)
{
    (void)st;
    pb_status s = ref_fwd(d, a);
    for (int64_t i = 0; i < d->dst_elems; i++)
        if (a->dst[i] == -INFINITY) a->dst[i] = -FLT_MAX;
    return s;
}

/* Keeps argmax "in its own format": never writes ws. */
static pb_status fwd_no_ws(const pb_desc *d, const pb_args *a, void *st)
{
    (void)st;
    pb_args b = *a;
    b.ws = NULL;
    return ref_fwd(d, &b);
}

/* Backward that recomputes its own argmax from src, ignoring a->ws. */
static pb_status bwd_own_ws(const pb_desc *d, const pb_args *a, void *st)
{
    (void)st;
    if (d->alg != PB_ALG_MAX) return ref_bwd(d, a);
    float *dst = malloc((size_t)d->dst_elems * sizeof *dst);
    int32_t *ws = malloc((size_t)d->dst_elems * sizeof *ws);
    pb_status s = PB_ERR_NOMEM;
    if (dst && ws) {
        s = ref_fwd(d, &(pb_args){.src = a->src, .dst = dst, .ws = ws});
        pb_args b = *a;
        b.ws = ws;
        if (s == PB_OK) s = ref_bwd(d, &b);
    }
    free(dst), free(ws);
    return s;
}

/* Adds src(n, C-1, 0, 0) / 1024 to every output of channel 0. */
static pb_status fwd_mixes_channels(const pb_desc *d, const pb_args *a, void *st)
{
    (void)st;
    pb_status s = ref_fwd(d, a);
    for (int64_t n = 0; n < d->n; n++) {
        float leak = a->src[pb_offset(d->layout, d->c, d->ih, d->iw, n, d->c - 1, 0, 0)] / 1024.0f;
        for (int64_t oh = 0; oh < d->oh; oh++)
            for (int64_t ow = 0; ow < d->ow; ow++)
                a->dst[pb_offset(d->layout, d->c, d->oh, d->ow, n, 0, oh, ow)] += leak;
    }
    return s;
}

static pb_status bwd_unwritten(const pb_desc *d, const pb_args *a, void *st)
{
    (void)st;
    float *tmp = malloc((size_t)d->src_elems * sizeof *tmp);
    if (!tmp) return PB_ERR_NOMEM;
    pb_args b = *a;
    b.diff_src = tmp;
    pb_status s = ref_bwd(d, &b);
    for (int64_t i = 0; i < d->src_elems; i++)
        if (i != d->src_elems / 3) a->diff_src[i] = tmp[i];
    free(tmp);
    return s;
}

/* Accumulates into diff_src without zeroing it first. */
static pb_status bwd_no_zero(const pb_desc *d, const pb_args *a, void *st)
{
    (void)st;
    float *tmp = malloc((size_t)d->src_elems * sizeof *tmp);
    if (!tmp) return PB_ERR_NOMEM;
    pb_args b = *a;
    b.diff_src = tmp;
    pb_status s = ref_bwd(d, &b);
    for (int64_t i = 0; i < d->src_elems; i++) a->diff_src[i] += tmp[i];
    free(tmp);
    return s;
}

/* Runs the reference backward with a rewritten argmax table. */
typedef int32_t (*route_fn)(const pb_desc *d, int64_t oh, int64_t ow, int32_t argmax);
static pb_status bwd_rerouted(const pb_desc *d, const pb_args *a, route_fn route)
{
    if (d->alg != PB_ALG_MAX) return ref_bwd(d, a);
    int32_t *ws = malloc((size_t)d->dst_elems * sizeof *ws);
    if (!ws) return PB_ERR_NOMEM;
    for (int64_t n = 0; n < d->n; n++)
        for (int64_t c = 0; c < d->c; c++)
            for (int64_t oh = 0; oh < d->oh; oh++)
                for (int64_t ow = 0; ow < d->ow; ow++) {
                    int64_t o = pb_offset(d->layout, d->c, d->oh, d->ow, n, c, oh, ow);
                    ws[o] = route(d, oh, ow, a->ws[o]);
                }
    pb_args b = *a;
    b.ws = ws;
    pb_status s = ref_bwd(d, &b);
    free(ws);
    return s;
}

/* The classic bug: the gradient goes to the window's first tap. */
static int32_t route_first_tap(const pb_desc *d, int64_t oh, int64_t ow, int32_t argmax)
{
    (void)argmax;
    pb_axis_window y = pb_axis_window_at(oh, d->ih, d->kh, d->sh, d->pt, d->pb, d->dh);
    pb_axis_window x = pb_axis_window_at(ow, d->iw, d->kw, d->sw, d->pl, d->pr, d->dw);
    return (int32_t)((y.start + y.t_lo * d->dh) * d->iw + x.start + x.t_lo * d->dw);
}
static pb_status bwd_wrong_route(const pb_desc *d, const pb_args *a, void *st)
{
    (void)st;
    return bwd_rerouted(d, a, route_first_tap);
}

/* Two rows down (mod the plane): outside a 2-row window, mass kept. */
static int32_t route_two_rows_down(const pb_desc *d, int64_t oh, int64_t ow, int32_t argmax)
{
    (void)oh, (void)ow;
    return (int32_t)((argmax + 2 * d->iw) % (d->ih * d->iw));
}
static pb_status bwd_route_outside(const pb_desc *d, const pb_args *a, void *st)
{
    (void)st;
    return bwd_rerouted(d, a, route_two_rows_down);
}

/* Drops the gradient of the last output of every plane. */
static pb_status bwd_drop_last(const pb_desc *d, const pb_args *a, void *st)
{
    (void)st;
    float *dd = malloc((size_t)d->dst_elems * sizeof *dd);
    if (!dd) return PB_ERR_NOMEM;
    memcpy(dd, a->diff_dst, (size_t)d->dst_elems * sizeof *dd);
    for (int64_t n = 0; n < d->n; n++)
        for (int64_t c = 0; c < d->c; c++)
            dd[pb_offset(d->layout, d->c, d->oh, d->ow, n, c, d->oh - 1, d->ow - 1)] = 0.0f;
    pb_args b = *a;
    b.diff_dst = dd;
    pb_status s = ref_bwd(d, &b);
    free(dd);
    return s;
}

/* Avg backward with the divisor off by one. */
static pb_status bwd_avg_div_plus1(const pb_desc *d, const pb_args *a, void *st)
{
    (void)st;
    if (d->alg == PB_ALG_MAX) return ref_bwd(d, a);
    for (int64_t i = 0; i < d->src_elems; i++) a->diff_src[i] = 0.0f;
    for (int64_t n = 0; n < d->n; n++)
        for (int64_t c = 0; c < d->c; c++)
            for (int64_t oh = 0; oh < d->oh; oh++)
                for (int64_t ow = 0; ow < d->ow; ow++) {
                    pb_axis_window y = pb_axis_window_at(oh, d->ih, d->kh, d->sh, d->pt, d->pb, d->dh);
                    pb_axis_window x = pb_axis_window_at(ow, d->iw, d->kw, d->sw, d->pl, d->pr, d->dw);
                    float g = a->diff_dst[pb_offset(d->layout, d->c, d->oh, d->ow, n, c, oh, ow)];
                    float share = g / (float)(pb_divisor(d, oh, ow) + 1);
                    for (int64_t ty = y.t_lo; ty < y.t_hi; ty++)
                        for (int64_t tx = x.t_lo; tx < x.t_hi; tx++)
                            a->diff_src[pb_offset(d->layout, d->c, d->ih, d->iw, n, c,
                                                  y.start + ty * d->dh, x.start + tx * d->dw)] += share;
                }
    return PB_OK;
}

static bool needs_c16(const pb_desc *d, pb_dir dir, const char **why)
{
    (void)dir;
    if (d->c % 16 == 0) return true;
    *why = "needs C % 16 == 0";
    return false;
}

/* ---- helpers ---------------------------------------------------------- */

static pb_check verify(const pb_impl *im, shape s, pb_alg alg, pb_layout lay, pb_dir dir,
                       pb_fill fill)
{
    pb_desc d = make(s, alg, lay);
    pb_check c;
    ck_assert_int_eq(pb_verify_case(im, &d, dir, fill, 42, &c), PB_OK);
    return c;
}

#define ASSERT_VERDICT(c, v) \
    ck_assert_msg((c).verdict == (v), "verdict %s, expected %s: %s", pb_verdict_name((c).verdict), \
                  pb_verdict_name(v), (c).detail)
#define ASSERT_DETAIL(c, s) ck_assert_msg(strstr((c).detail, s), "detail \"%s\" lacks \"%s\"", (c).detail, s)

/* ---- fills ------------------------------------------------------------ */

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

START_TEST(test_fill_distinct_max)
{
    pb_desc dn = make(S_PAD, PB_ALG_MAX, PB_LAYOUT_NCHW), dh = make(S_PAD, PB_ALG_MAX, PB_LAYOUT_NHWC);
    int64_t n = dn.src_elems, P = dn.ih * dn.iw;
    float *a = malloc((size_t)n * 4), *b = malloc((size_t)n * 4);
    ck_assert(a && b);
    pb_fill_src(&dn, PB_FILL_DISTINCT, 7, a, n);
    pb_fill_src(&dh, PB_FILL_DISTINCT, 7, b, n);
    int64_t negative = 0;
    /* the same logical tensor in both layouts */
    for (int64_t i = 0; i < dn.n; i++)
        for (int64_t c = 0; c < dn.c; c++)
            for (int64_t h = 0; h < dn.ih; h++)
                for (int64_t w = 0; w < dn.iw; w++) {
                    float v = a[pb_offset(PB_LAYOUT_NCHW, dn.c, dn.ih, dn.iw, i, c, h, w)];
                    ck_assert_float_eq(v, b[pb_offset(PB_LAYOUT_NHWC, dn.c, dn.ih, dn.iw, i, c, h, w)]);
                    ck_assert_float_eq(v, rintf(v));
                    negative += v < 0;
                }
    /* distinct within each plane: sorted, neighbours differ */
    for (int64_t p = 0; p < dn.n * dn.c; p++) {
        qsort(a + p * P, (size_t)P, 4, cmp_float);
        for (int64_t i = 1; i < P; i++) ck_assert_float_lt(a[p * P + i - 1], a[p * P + i]);
    }
    ck_assert_int_gt(negative, n * 3 / 4);
    /* deterministic in the seed */
    pb_fill_src(&dn, PB_FILL_DISTINCT, 7, a, n);
    pb_fill_src(&dn, PB_FILL_DISTINCT, 7, b, n);
    ck_assert(memcmp(a, b, (size_t)n * 4) == 0);
    pb_fill_src(&dn, PB_FILL_DISTINCT, 8, b, n);
    ck_assert(memcmp(a, b, (size_t)n * 4) != 0);
    free(a), free(b);
}
END_TEST

START_TEST(test_fill_patterns)
{
    pb_desc d = make(S_PAD, PB_ALG_AVG_EXCL, PB_LAYOUT_NHWC);
    int64_t n = d.src_elems;
    float *v = malloc((size_t)n * 4);
    ck_assert(v);
    pb_fill_src(&d, PB_FILL_DISTINCT, 3, v, n);
    for (int64_t i = 0; i < n; i++) {
        ck_assert_float_eq(v[i] * 4, rintf(v[i] * 4));
        ck_assert(v[i] >= -32 && v[i] < 32);
    }
    int seen[4] = {0};
    pb_fill_src(&d, PB_FILL_TIES, 3, v, n);
    for (int64_t i = 0; i < n; i++) {
        ck_assert(v[i] == -2 || v[i] == -1 || v[i] == 0 || v[i] == 1);
        seen[(int)v[i] + 2]++;
    }
    for (int i = 0; i < 4; i++) ck_assert_int_gt(seen[i], n / 8);
    int64_t nan = 0, pinf = 0, ninf = 0;
    pb_fill_src(&d, PB_FILL_NAN, 3, v, n);
    for (int64_t i = 0; i < n; i++) nan += isnan(v[i]), pinf += v[i] == INFINITY, ninf += v[i] == -INFINITY;
    ck_assert(nan > 0 && pinf > 0 && ninf > 0);
    nan = pinf = ninf = 0;
    pb_fill_src(&d, PB_FILL_INF, 3, v, n);
    for (int64_t i = 0; i < n; i++) nan += isnan(v[i]), pinf += v[i] == INFINITY, ninf += v[i] == -INFINITY;
    ck_assert(nan == 0 && pinf > 0 && ninf > pinf);
    free(v);

    float g[1000];
    pb_fill_diff_dst(5, g, 1000);
    bool neg = false, pos = false;
    for (int i = 0; i < 1000; i++) {
        ck_assert_float_eq(g[i] * 8, rintf(g[i] * 8));
        ck_assert(g[i] >= -8 && g[i] <= 8);
        neg |= g[i] < 0, pos |= g[i] > 0;
    }
    ck_assert(neg && pos);
}
END_TEST

/* INF fill: even planes hold whole -inf windows, so the reference gives
 * -inf outputs there; odd planes essentially never (scattered -inf at
 * 1/16 would need all 4 taps). */
START_TEST(test_fill_inf_windows)
{
    shape s = {.c = 2, .ih = 16, .iw = 16, .kh = 2, .kw = 2, .sh = 2, .sw = 2};
    FOR_LAYOUTS {
        pb_desc d = make(s, PB_ALG_MAX, lay);
        float src[512], dst[128];
        pb_fill_src(&d, PB_FILL_INF, 11, src, d.src_elems);
        ck_assert_int_eq(pb_impl_run(pb_impl_reference(), &d, PB_DIR_FWD_INF,
                                     &(pb_args){.src = src, .dst = dst}), PB_OK);
        int ninf = 0;
        for (int64_t oh = 0; oh < d.oh; oh++)
            for (int64_t ow = 0; ow < d.ow; ow++)
                ninf += dst[pb_offset(lay, 2, d.oh, d.ow, 0, 0, oh, ow)] == -INFINITY;
        ck_assert_int_ge(ninf, 1);
    }
}
END_TEST

START_TEST(test_poison_and_names)
{
    float p[3];
    int32_t q[2];
    pb_poison_f32(p, 3);
    pb_poison_i32(q, 2);
    uint32_t bits;
    memcpy(&bits, &p[2], 4);
    ck_assert_uint_eq(bits, 0x7FDEAD00u);
    ck_assert(isnan(p[0]) && pb_is_poison_f32(p[1]));
    ck_assert(!pb_is_poison_f32(NAN) && !pb_is_poison_f32(0.0f));
    /* a kernel that accumulates into a poisoned element keeps the payload */
    volatile float one = 1.0f;
    ck_assert(pb_is_poison_f32(p[0] + one));
    ck_assert_int_eq(q[0], INT32_MIN);
    ck_assert_int_eq(q[1], INT32_MIN);
    for (pb_fill f = 0; f < PB_FILL_COUNT; f++) {
        pb_fill g;
        ck_assert_int_eq(pb_fill_parse(pb_fill_name(f), &g), PB_OK);
        ck_assert_int_eq(g, f);
    }
    pb_fill g;
    ck_assert_str_eq(pb_fill_name(PB_FILL_INF), "inf");
    ck_assert_int_eq(pb_fill_parse("zeros", &g), PB_ERR_UNKNOWN_NAME);
    ck_assert_int_eq(pb_fill_parse(NULL, &g), PB_ERR_NULL);
    ck_assert_str_eq(pb_verdict_name(PB_PASS), "PASS");
    ck_assert_str_eq(pb_verdict_name(PB_FAIL), "FAIL");
    ck_assert_str_eq(pb_verdict_name(PB_SKIP), "SKIPPED");
}
END_TEST

/* ---- cross-check ------------------------------------------------------ */

START_TEST(test_naive_passes_itself)
{
    const shape shapes[] = {S_PAD, S_C17, S_DIL, S_CEIL, S_GLOBAL};
    const pb_impl *ref = pb_impl_reference();
    int cases = 0;
    for (int i = 0; i < N_OF(shapes); i++)
        FOR_ALGS FOR_LAYOUTS
            for (pb_dir dir = 0; dir < PB_DIR_COUNT; dir++)
                for (pb_fill f = 0; f < PB_FILL_COUNT; f++) {
                    pb_desc d = make(shapes[i], alg, lay);
                    pb_check c = verify(ref, shapes[i], alg, lay, dir, f);
                    ASSERT_VERDICT(c, PB_PASS);
                    int64_t want = dir == PB_DIR_BWD ? d.src_elems
                                   : (alg == PB_ALG_MAX && dir == PB_DIR_FWD_TRAIN) ? 2 * d.dst_elems
                                                                                    : d.dst_elems;
                    ck_assert_int_eq(c.compared, want);
                    ck_assert(c.max_abs_err == 0.0 && c.max_ulp_err == 0.0);
                    cases++;
                }
    ck_assert_int_eq(cases, 5 * 3 * 2 * 3 * 4);
}
END_TEST

START_TEST(test_unwritten_output_fails)
{
    pb_impl im = fake("unwritten", fwd_unwritten, NULL);
    pb_check c = verify(&im, S_PAD, PB_ALG_MAX, PB_LAYOUT_NCHW, PB_DIR_FWD_TRAIN, PB_FILL_DISTINCT);
    ASSERT_VERDICT(c, PB_FAIL);
    /* 120 outputs, the 60th unwritten: (n=1, c=0, h=0, w=0) */
    ASSERT_DETAIL(c, "seed=42 mb2ic3_ih7iw9_kh3kw3_sh2sw2_pt1pb1pl1pr1 max nchw fwd_train distinct:");
    ASSERT_DETAIL(c, "dst(n=1,c=0,h=0,w=0) got unwritten expected");
    ASSERT_DETAIL(c, "(1 of 120 outputs differ)");
    FOR_ALGS FOR_LAYOUTS {
        c = verify(&im, S_CEIL, alg, lay, PB_DIR_FWD_INF, PB_FILL_TIES);
        ASSERT_VERDICT(c, PB_FAIL);
        ASSERT_DETAIL(c, "unwritten");
    }
}
END_TEST

START_TEST(test_wrong_argmax_fails)
{
    pb_impl im = fake("bad_argmax", fwd_bad_argmax, NULL);
    FOR_LAYOUTS {
        pb_check c = verify(&im, S_PAD, PB_ALG_MAX, lay, PB_DIR_FWD_TRAIN, PB_FILL_DISTINCT);
        ASSERT_VERDICT(c, PB_FAIL);
        ASSERT_DETAIL(c, "argmax got");
        /* inference has no argmax: the same impl passes */
        c = verify(&im, S_PAD, PB_ALG_MAX, lay, PB_DIR_FWD_INF, PB_FILL_DISTINCT);
        ASSERT_VERDICT(c, PB_PASS);
    }
}
END_TEST

/* The avg bound: 10 ulps of the scale fails, 6 passes and is reported. */
START_TEST(test_avg_ulp_bound)
{
    pb_impl im = fake("avg_off", fwd_avg_off, NULL);
    for (pb_alg alg = PB_ALG_AVG_INCL; alg <= PB_ALG_AVG_EXCL; alg++) FOR_LAYOUTS {
        g_off_ulps = 10;
        pb_check c = verify(&im, S_PAD, alg, lay, PB_DIR_FWD_INF, PB_FILL_DISTINCT);
        ck_assert(g_actual_ulps > PB_AVG_ULPS);
        ASSERT_VERDICT(c, PB_FAIL);
        ck_assert(c.max_ulp_err == g_actual_ulps);
        g_off_ulps = 6;
        c = verify(&im, S_PAD, alg, lay, PB_DIR_FWD_INF, PB_FILL_DISTINCT);
        ck_assert(g_actual_ulps >= 5 && g_actual_ulps <= 7);
        ASSERT_VERDICT(c, PB_PASS);
        ck_assert(c.max_ulp_err == g_actual_ulps);
        ck_assert(c.max_abs_err > 0);
    }
}
END_TEST

START_TEST(test_out_of_bounds_writes_fail)
{
    pb_impl past = fake("past_end", fwd_past_end, NULL);
    pb_impl before = fake("before_start", fwd_before_start, NULL);
    pb_impl mod = fake("modifies_src", fwd_modifies_src, NULL);
    pb_impl err = fake("fails", fwd_fails, NULL);
    FOR_ALGS FOR_LAYOUTS {
        /* values are all correct: only the guard shows the overrun */
        pb_check c = verify(&past, S_DIL, alg, lay, PB_DIR_FWD_INF, PB_FILL_DISTINCT);
        ASSERT_VERDICT(c, PB_FAIL);
        ASSERT_DETAIL(c, "wrote past the end of dst (element +0 after the last");
        c = verify(&before, S_DIL, alg, lay, PB_DIR_FWD_TRAIN, PB_FILL_DISTINCT);
        ASSERT_VERDICT(c, PB_FAIL);
        ASSERT_DETAIL(c, "wrote before the start of dst (element -1");
        c = verify(&mod, S_DIL, alg, lay, PB_DIR_FWD_INF, PB_FILL_DISTINCT);
        ASSERT_VERDICT(c, PB_FAIL);
        ASSERT_DETAIL(c, "modified its read-only input src");
        c = verify(&err, S_DIL, alg, lay, PB_DIR_FWD_INF, PB_FILL_DISTINCT);
        ASSERT_VERDICT(c, PB_FAIL);
        ASSERT_DETAIL(c, "implementation returned \"library error\"");
    }
}
END_TEST

/* pb_verify_case reuses the reference side of the previous call with the
 * same key; a failing run in between (one that changed src) must not leak
 * into the next verdict. */
START_TEST(test_reference_side_reuse)
{
    const pb_impl *ref = pb_impl_reference();
    pb_impl mod = fake("modifies_src", fwd_modifies_src, NULL);
    pb_impl unw = fake("bwd_unwritten", NULL, bwd_unwritten);
    FOR_ALGS FOR_LAYOUTS {
        pb_check c = verify(ref, S_PAD, alg, lay, PB_DIR_FWD_TRAIN, PB_FILL_DISTINCT);
        ASSERT_VERDICT(c, PB_PASS);
        c = verify(&mod, S_PAD, alg, lay, PB_DIR_FWD_TRAIN, PB_FILL_DISTINCT);
        ASSERT_VERDICT(c, PB_FAIL);
        c = verify(ref, S_PAD, alg, lay, PB_DIR_FWD_TRAIN, PB_FILL_DISTINCT);
        ASSERT_VERDICT(c, PB_PASS);
        c = verify(ref, S_PAD, alg, lay, PB_DIR_BWD, PB_FILL_TIES);
        ASSERT_VERDICT(c, PB_PASS);
        c = verify(&unw, S_PAD, alg, lay, PB_DIR_BWD, PB_FILL_TIES);
        ASSERT_VERDICT(c, PB_FAIL);
        c = verify(ref, S_PAD, alg, lay, PB_DIR_BWD, PB_FILL_TIES);
        ASSERT_VERDICT(c, PB_PASS);
    }
    pb_verify_release_cache();
    pb_check c = verify(ref, S_PAD, PB_ALG_MAX, PB_LAYOUT_NHWC, PB_DIR_BWD, PB_FILL_TIES);
    ASSERT_VERDICT(c, PB_PASS);
}
END_TEST

START_TEST(test_backward_controls)
{
    pb_impl unw = fake("bwd_unwritten", NULL, bwd_unwritten);
    pb_impl noz = fake("bwd_no_zero", NULL, bwd_no_zero);
    pb_impl route = fake("bwd_wrong_route", NULL, bwd_wrong_route);
    pb_impl div = fake("bwd_div_plus1", NULL, bwd_avg_div_plus1);
    FOR_LAYOUTS {
        FOR_ALGS {
            pb_check c = verify(&unw, S_OVER, alg, lay, PB_DIR_BWD, PB_FILL_DISTINCT);
            ASSERT_VERDICT(c, PB_FAIL);
            ASSERT_DETAIL(c, "got unwritten");
            ASSERT_DETAIL(c, "(1 of 98 inputs differ)");
            c = verify(&noz, S_OVER, alg, lay, PB_DIR_BWD, PB_FILL_DISTINCT);
            ASSERT_VERDICT(c, PB_FAIL);
            ASSERT_DETAIL(c, "(98 of 98 inputs differ)");
        }
        pb_check c = verify(&route, S_OVER, PB_ALG_MAX, lay, PB_DIR_BWD, PB_FILL_DISTINCT);
        ASSERT_VERDICT(c, PB_FAIL);
        ASSERT_DETAIL(c, "diff_src(n=");
        c = verify(&div, S_OVER, PB_ALG_AVG_INCL, lay, PB_DIR_BWD, PB_FILL_DISTINCT);
        ASSERT_VERDICT(c, PB_FAIL);
        /* the reference passes on both, as does an own-workspace backward */
        pb_impl own = fake("bwd_own_ws", NULL, bwd_own_ws);
        own.own_workspace = true;
        for (pb_fill f = 0; f < PB_FILL_COUNT; f++) {
            c = verify(&own, S_OVER, PB_ALG_MAX, lay, PB_DIR_BWD, f);
            ASSERT_VERDICT(c, PB_PASS);
        }
    }
}
END_TEST

START_TEST(test_declines_and_quirks)
{
    /* declines: SKIP with the implementation's reason */
    pb_impl c16 = fake("c16", fwd_no_ws, NULL);
    c16.supports = needs_c16;
    pb_check c = verify(&c16, S_PAD, PB_ALG_MAX, PB_LAYOUT_NHWC, PB_DIR_FWD_INF, PB_FILL_DISTINCT);
    ASSERT_VERDICT(c, PB_SKIP);
    ck_assert_str_eq(c.detail, "needs C % 16 == 0");
    c = verify(&c16, S_PAD, PB_ALG_MAX, PB_LAYOUT_NHWC, PB_DIR_BWD, PB_FILL_DISTINCT);
    ASSERT_VERDICT(c, PB_SKIP);
    ck_assert_str_eq(c.detail, "direction not supported");

    /* NaN ignored: FAIL undeclared, SKIP declared, PASS without NaN */
    pb_impl nan = fake("nanless", fwd_nan_ignoring, NULL);
    c = verify(&nan, S_PAD, PB_ALG_MAX, PB_LAYOUT_NCHW, PB_DIR_FWD_TRAIN, PB_FILL_NAN);
    ASSERT_VERDICT(c, PB_FAIL);
    nan.quirks = PB_QUIRK_NAN_IGNORED;
    c = verify(&nan, S_PAD, PB_ALG_MAX, PB_LAYOUT_NCHW, PB_DIR_FWD_TRAIN, PB_FILL_NAN);
    ASSERT_VERDICT(c, PB_SKIP);
    ck_assert_str_eq(c.detail, "nanless ignores NaN (poolbench: NaN wins)");
    c = verify(&nan, S_PAD, PB_ALG_MAX, PB_LAYOUT_NCHW, PB_DIR_FWD_TRAIN, PB_FILL_DISTINCT);
    ASSERT_VERDICT(c, PB_PASS);

    /* -FLT_MAX for all -inf windows */
    pb_impl fm = fake("fltmax", fwd_flt_max, NULL);
    c = verify(&fm, S_C17, PB_ALG_MAX, PB_LAYOUT_NHWC, PB_DIR_FWD_INF, PB_FILL_INF);
    ASSERT_VERDICT(c, PB_FAIL);
    ASSERT_DETAIL(c, "got -3.40282347e+38 expected -inf");
    fm.quirks = PB_QUIRK_NEG_INF_FLT_MAX;
    c = verify(&fm, S_C17, PB_ALG_MAX, PB_LAYOUT_NHWC, PB_DIR_FWD_INF, PB_FILL_INF);
    ASSERT_VERDICT(c, PB_SKIP);
    ASSERT_DETAIL(c, "-FLT_MAX");

    /* last maximum on ties: argmax differs on TIES unless declared */
    pb_impl lt = fake("last_tie", fwd_last_tie, NULL);
    lt.algs = PB_BIT(PB_ALG_MAX);
    c = verify(&lt, S_PAD, PB_ALG_MAX, PB_LAYOUT_NHWC, PB_DIR_FWD_TRAIN, PB_FILL_TIES);
    ASSERT_VERDICT(c, PB_FAIL);
    ASSERT_DETAIL(c, "argmax got");
    c = verify(&lt, S_PAD, PB_ALG_MAX, PB_LAYOUT_NHWC, PB_DIR_FWD_TRAIN, PB_FILL_DISTINCT);
    ASSERT_VERDICT(c, PB_PASS);
    lt.quirks = PB_QUIRK_TIE_ORDER;
    pb_desc d = make(S_PAD, PB_ALG_MAX, PB_LAYOUT_NHWC);
    c = verify(&lt, S_PAD, PB_ALG_MAX, PB_LAYOUT_NHWC, PB_DIR_FWD_TRAIN, PB_FILL_TIES);
    ASSERT_VERDICT(c, PB_PASS);
    ck_assert_int_eq(c.compared, d.dst_elems); /* values only */
    c = verify(&lt, S_PAD, PB_ALG_MAX, PB_LAYOUT_NHWC, PB_DIR_FWD_TRAIN, PB_FILL_DISTINCT);
    ASSERT_VERDICT(c, PB_PASS);
    ck_assert_int_eq(c.compared, 2 * d.dst_elems); /* argmax too */
    c = verify(&lt, S_PAD, PB_ALG_AVG_EXCL, PB_LAYOUT_NHWC, PB_DIR_FWD_TRAIN, PB_FILL_TIES);
    ASSERT_VERDICT(c, PB_SKIP);
    ck_assert_str_eq(c.detail, "algorithm not supported");

    /* own workspace: ws neither written nor compared */
    pb_impl ow = fake("no_ws", fwd_no_ws, NULL);
    c = verify(&ow, S_PAD, PB_ALG_MAX, PB_LAYOUT_NCHW, PB_DIR_FWD_TRAIN, PB_FILL_DISTINCT);
    ASSERT_VERDICT(c, PB_FAIL);
    ASSERT_DETAIL(c, "argmax got unwritten");
    ow.own_workspace = true;
    c = verify(&ow, S_PAD, PB_ALG_MAX, PB_LAYOUT_NCHW, PB_DIR_FWD_TRAIN, PB_FILL_DISTINCT);
    ASSERT_VERDICT(c, PB_PASS);
    pb_impl owb = fake("own_bwd", NULL, bwd_own_ws);
    owb.own_workspace = true;
    owb.quirks = PB_QUIRK_TIE_ORDER;
    c = verify(&owb, S_PAD, PB_ALG_MAX, PB_LAYOUT_NCHW, PB_DIR_BWD, PB_FILL_TIES);
    ASSERT_VERDICT(c, PB_SKIP);
}
END_TEST

START_TEST(test_verify_rejects_bad_input)
{
    pb_desc d = make(S_PAD, PB_ALG_MAX, PB_LAYOUT_NCHW);
    const pb_impl *ref = pb_impl_reference();
    pb_check c;
    ck_assert_int_eq(pb_verify_case(ref, &d, PB_DIR_FWD_INF, PB_FILL_DISTINCT, 1, NULL), PB_ERR_NULL);
    ck_assert_int_eq(pb_verify_case(NULL, &d, PB_DIR_FWD_INF, PB_FILL_DISTINCT, 1, &c), PB_ERR_NULL);
    ck_assert_int_eq(pb_verify_case(ref, NULL, PB_DIR_FWD_INF, PB_FILL_DISTINCT, 1, &c), PB_ERR_NULL);
    ck_assert_int_eq(pb_verify_case(ref, &d, PB_DIR_COUNT, PB_FILL_DISTINCT, 1, &c), PB_ERR_DIR);
    ck_assert_int_eq(pb_verify_case(ref, &d, PB_DIR_BWD, PB_FILL_COUNT, 1, &c), PB_ERR_UNKNOWN_NAME);
    ck_assert_int_eq(pb_gradcheck_case(ref, NULL, 1, &c), PB_ERR_NULL);
    ck_assert_int_eq(pb_check_channel_independence(ref, &d, 1, NULL), PB_ERR_NULL);
    ck_assert_int_eq(pb_check_max_grad_mass(NULL, &d, 1, &c), PB_ERR_NULL);
    pb_desc bad = d;
    bad.c = 0;
    ck_assert_int_eq(pb_verify_case(ref, &bad, PB_DIR_FWD_INF, PB_FILL_DISTINCT, 1, &c), PB_ERR_SHAPE);
    ck_assert_int_eq(pb_gradcheck_case(ref, &bad, 1, &c), PB_ERR_SHAPE);
    bad = d;
    bad.pt = 2; /* over half of k=3 */
    ck_assert_int_eq(pb_verify_case(ref, &bad, PB_DIR_FWD_INF, PB_FILL_DISTINCT, 1, &c), PB_ERR_PADDING);
    /* a valid descriptor that was never finalized is finalized on a copy */
    pb_desc raw;
    pb_desc_init(&raw);
    raw.c = 2, raw.ih = raw.iw = 5, raw.kh = raw.kw = 2;
    ck_assert_int_eq(pb_verify_case(ref, &raw, PB_DIR_FWD_TRAIN, PB_FILL_DISTINCT, 1, &c), PB_OK);
    ASSERT_VERDICT(c, PB_PASS);
    ck_assert_int_eq(c.compared, 2 * 2 * 2 * 2);
}
END_TEST

/* ---- gradient checker ------------------------------------------------- */

START_TEST(test_gradcheck_reference_passes)
{
    const shape small[] = {S_PAD, S_OVER, S_CEIL, S_GLOBAL,
                           {.c = 2, .ih = 9, .iw = 8, .kh = 3, .kw = 2, .sh = 2, .sw = 1,
                            .pt = 1, .pr = 1, .dh = 2, .dw = 3},
                           {.c = 3, .ih = 5, .iw = 6, .kh = 2, .kw = 3, .sh = 3, .sw = 2}};
    const shape large[] = {{.n = 2, .c = 4, .ih = 24, .iw = 24, .kh = 2, .kw = 2, .sh = 2, .sw = 2},
                           {.c = 3, .ih = 40, .iw = 40, .global = true}};
    const pb_impl *ref = pb_impl_reference();
    FOR_ALGS FOR_LAYOUTS {
        for (int i = 0; i < N_OF(small); i++) {
            pb_desc d = make(small[i], alg, lay);
            pb_check c;
            ck_assert_int_eq(pb_gradcheck_case(ref, &d, 99, &c), PB_OK);
            ASSERT_VERDICT(c, PB_PASS);
            ck_assert_int_eq(c.compared, d.src_elems);
            ck_assert(c.max_abs_err <= PB_FD_ATOL);
        }
        for (int i = 0; i < N_OF(large); i++) {
            pb_desc d = make(large[i], alg, lay);
            ck_assert_int_gt(d.src_elems, PB_FD_FULL);
            pb_check c;
            ck_assert_int_eq(pb_gradcheck_case(ref, &d, 99, &c), PB_OK);
            ASSERT_VERDICT(c, PB_PASS);
            ck_assert_int_gt(c.compared, 1024);
            ck_assert_int_lt(c.compared, d.src_elems);
            ASSERT_DETAIL(c, "sampled positions");
        }
    }
}
END_TEST

START_TEST(test_gradcheck_negative_controls)
{
    pb_impl route = fake("wrong_route", NULL, bwd_wrong_route);
    pb_impl div = fake("div_plus1", NULL, bwd_avg_div_plus1);
    pb_impl unw = fake("bwd_unwritten", NULL, bwd_unwritten);
    const shape shapes[] = {S_PAD, S_OVER, S_GLOBAL};
    FOR_LAYOUTS
        for (int i = 0; i < N_OF(shapes); i++) {
            pb_desc d = make(shapes[i], PB_ALG_MAX, lay);
            pb_check c;
            ck_assert_int_eq(pb_gradcheck_case(&route, &d, 5, &c), PB_OK);
            ASSERT_VERDICT(c, PB_FAIL);
            ASSERT_DETAIL(c, "dL/dx(n=");
            ASSERT_DETAIL(c, "seed=5 ");
            for (pb_alg alg = PB_ALG_AVG_INCL; alg <= PB_ALG_AVG_EXCL; alg++) {
                d = make(shapes[i], alg, lay);
                ck_assert_int_eq(pb_gradcheck_case(&div, &d, 5, &c), PB_OK);
                ASSERT_VERDICT(c, PB_FAIL);
                ASSERT_DETAIL(c, "checked positions off");
                ck_assert(c.max_ulp_err > PB_FD_RTOL);
                ck_assert_int_eq(pb_gradcheck_case(&unw, &d, 5, &c), PB_OK);
                ASSERT_VERDICT(c, PB_FAIL);
                ASSERT_DETAIL(c, "analytic unwritten");
            }
        }
    pb_impl fwd_only = fake("fwd_only", fwd_no_ws, NULL);
    pb_desc d = make(S_PAD, PB_ALG_MAX, PB_LAYOUT_NCHW);
    pb_check c;
    ck_assert_int_eq(pb_gradcheck_case(&fwd_only, &d, 5, &c), PB_OK);
    ASSERT_VERDICT(c, PB_SKIP);
}
END_TEST

/* ---- properties ------------------------------------------------------- */

START_TEST(test_channel_independence)
{
    const pb_impl *ref = pb_impl_reference();
    const shape shapes[] = {S_PAD, S_C17, S_GLOBAL, S_DIL};
    FOR_ALGS FOR_LAYOUTS
        for (int i = 0; i < N_OF(shapes); i++) {
            pb_desc d = make(shapes[i], alg, lay);
            pb_check c;
            ck_assert_int_eq(pb_check_channel_independence(ref, &d, 3, &c), PB_OK);
            ASSERT_VERDICT(c, PB_PASS);
            ck_assert_int_ge(c.compared, 2 * d.dst_elems);
        }
    pb_impl mix = fake("mixer", fwd_mixes_channels, NULL);
    pb_impl unw = fake("unwritten", fwd_unwritten, NULL);
    FOR_LAYOUTS {
        pb_desc d = make(S_PAD, PB_ALG_AVG_EXCL, lay);
        pb_check c;
        ck_assert_int_eq(pb_check_channel_independence(&mix, &d, 3, &c), PB_OK);
        ASSERT_VERDICT(c, PB_FAIL);
        ASSERT_DETAIL(c, "changing input channel 2 changed output (n=0,c=0,h=0,w=0)");
        ck_assert_int_eq(pb_check_channel_independence(&unw, &d, 3, &c), PB_OK);
        ASSERT_VERDICT(c, PB_FAIL);
        ASSERT_DETAIL(c, "unwritten");
    }
}
END_TEST

START_TEST(test_max_grad_mass)
{
    const pb_impl *ref = pb_impl_reference();
    const shape shapes[] = {S_PAD, S_OVER, S_GLOBAL, S_DIL, S_CEIL};
    FOR_LAYOUTS
        for (int i = 0; i < N_OF(shapes); i++) {
            pb_desc d = make(shapes[i], PB_ALG_MAX, lay);
            pb_check c;
            ck_assert_int_eq(pb_check_max_grad_mass(ref, &d, 8, &c), PB_OK);
            ASSERT_VERDICT(c, PB_PASS);
            ck_assert_int_eq(c.compared, d.n * d.c + 8);
            d = make(shapes[i], PB_ALG_AVG_INCL, lay);
            ck_assert_int_eq(pb_check_max_grad_mass(ref, &d, 8, &c), PB_OK);
            ASSERT_VERDICT(c, PB_SKIP);
        }
    pb_impl drop = fake("drop_last", NULL, bwd_drop_last);
    pb_impl out = fake("route_outside", NULL, bwd_route_outside);
    shape s = {.c = 3, .ih = 6, .iw = 6, .kh = 2, .kw = 2, .sh = 2, .sw = 2};
    FOR_LAYOUTS {
        pb_desc d = make(s, PB_ALG_MAX, lay);
        pb_check c;
        ck_assert_int_eq(pb_check_max_grad_mass(&drop, &d, 8, &c), PB_OK);
        ASSERT_VERDICT(c, PB_FAIL);
        ASSERT_DETAIL(c, "mass");
        ck_assert_int_eq(pb_check_max_grad_mass(&out, &d, 8, &c), PB_OK);
        ASSERT_VERDICT(c, PB_FAIL);
        ASSERT_DETAIL(c, "outside its window");
    }
}
END_TEST

Suite *pb_test_suite_verify(void)
{
    Suite *s = suite_create("verify");
    TCase *tc = tcase_create("fills");
    tcase_add_test(tc, test_fill_distinct_max);
    tcase_add_test(tc, test_fill_patterns);
    tcase_add_test(tc, test_fill_inf_windows);
    tcase_add_test(tc, test_poison_and_names);
    suite_add_tcase(s, tc);
    tc = tcase_create("crosscheck");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_naive_passes_itself);
    tcase_add_test(tc, test_reference_side_reuse);
    tcase_add_test(tc, test_unwritten_output_fails);
    tcase_add_test(tc, test_wrong_argmax_fails);
    tcase_add_test(tc, test_avg_ulp_bound);
    tcase_add_test(tc, test_out_of_bounds_writes_fail);
    tcase_add_test(tc, test_backward_controls);
    tcase_add_test(tc, test_declines_and_quirks);
    tcase_add_test(tc, test_verify_rejects_bad_input);
    suite_add_tcase(s, tc);
    tc = tcase_create("gradcheck");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_gradcheck_reference_passes);
    tcase_add_test(tc, test_gradcheck_negative_controls);
    suite_add_tcase(s, tc);
    tc = tcase_create("properties");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_channel_independence);
    tcase_add_test(tc, test_max_grad_mass);
    suite_add_tcase(s, tc);
    return s;
}
