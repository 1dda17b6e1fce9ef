/* The pooling semantics of pool.h on the reference, with values worked
 * out by hand: the seed example, backward accumulation, ties, NaN, -inf,
 * padding, avg divisors at every border, channels, dilation, global.
 * Every case runs in NCHW and NHWC; tensors are written here in logical
 * (n, c, h, w) order and converted. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"

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

/* logical index <-> layout offset */
static int64_t lidx(const pb_desc *d, bool out, int64_t n, int64_t c, int64_t h, int64_t w)
{
    return pb_offset(PB_LAYOUT_NCHW, d->c, out ? d->oh : d->ih, out ? d->ow : d->iw, n, c, h, w);
}
static int64_t loff(const pb_desc *d, bool out, int64_t n, int64_t c, int64_t h, int64_t w)
{
    return pb_offset(d->layout, d->c, out ? d->oh : d->ih, out ? d->ow : d->iw, n, c, h, w);
}

/* Converts between logical order and d->layout (to_layout or back). */
static void convert(const pb_desc *d, bool out, const void *from, void *to, bool to_layout)
{
    int64_t H = out ? d->oh : d->ih, W = out ? d->ow : d->iw;
    for (int64_t n = 0; n < d->n; n++)
        for (int64_t c = 0; c < d->c; c++)
            for (int64_t h = 0; h < H; h++)
                for (int64_t w = 0; w < W; w++) {
                    int64_t l = lidx(d, out, n, c, h, w), m = loff(d, out, n, c, h, w);
                    memcpy((char *)to + 4 * (to_layout ? m : l), (const char *)from + 4 * (to_layout ? l : m), 4);
                }
}

/* Forward training with the reference; dst and ws in logical order. */
static void fwd(const pb_desc *d, const float *src_l, float *dst_l, int32_t *ws_l)
{
    float *src = malloc((size_t)d->src_elems * 4), *dst = malloc((size_t)d->dst_elems * 4);
    int32_t *ws = malloc((size_t)d->dst_elems * 4);
    ck_assert(src && dst && ws);
    convert(d, false, src_l, src, true);
    for (int64_t i = 0; i < d->dst_elems; i++) dst[i] = -12345.0f, ws[i] = -7;
    pb_args a = {.src = src, .dst = dst, .ws = ws};
    ck_assert_int_eq(pb_impl_run(pb_impl_reference(), d, PB_DIR_FWD_TRAIN, &a), PB_OK);
    convert(d, true, dst, dst_l, false);
    if (ws_l) convert(d, true, ws, ws_l, false);
    /* inference gives the same values */
    a.ws = NULL;
    float *dst2 = malloc((size_t)d->dst_elems * 4);
    ck_assert(dst2);
    a.dst = dst2;
    ck_assert_int_eq(pb_impl_run(pb_impl_reference(), d, PB_DIR_FWD_INF, &a), PB_OK);
    ck_assert(memcmp(dst, dst2, (size_t)d->dst_elems * 4) == 0);
    free(src), free(dst), free(ws), free(dst2);
}

/* Backward with the reference; ws (max) and diff_dst in logical order. */
static void bwd(const pb_desc *d, const int32_t *ws_l, const float *dd_l, float *ds_l)
{
    float *dd = malloc((size_t)d->dst_elems * 4), *ds = malloc((size_t)d->src_elems * 4);
    int32_t *ws = malloc((size_t)d->dst_elems * 4);
    float *src = calloc((size_t)d->src_elems, 4);
    ck_assert(dd && ds && ws && src);
    convert(d, true, dd_l, dd, true);
    if (ws_l) convert(d, true, ws_l, ws, true);
    for (int64_t i = 0; i < d->src_elems; i++) ds[i] = -12345.0f;
    pb_args a = {.src = src, .ws = ws_l ? ws : NULL, .diff_dst = dd, .diff_src = ds};
    ck_assert_int_eq(pb_impl_run(pb_impl_reference(), d, PB_DIR_BWD, &a), PB_OK);
    convert(d, false, ds, ds_l, false);
    free(dd), free(ds), free(ws), free(src);
}

/* Bitwise equality (any NaN matches an expected NaN). */
static void expect_f32(const char *what, const float *got, const float *exp, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        bool ok = isnan(exp[i]) ? isnan(got[i]) : memcmp(&got[i], &exp[i], 4) == 0;
        ck_assert_msg(ok, "%s[%lld]: got %.9g expected %.9g", what, (long long)i, (double)got[i],
                      (double)exp[i]);
    }
}

static void expect_i32(const char *what, const int32_t *got, const int32_t *exp, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        ck_assert_msg(got[i] == exp[i], "%s[%lld]: got %d expected %d", what, (long long)i,
                      (int)got[i], (int)exp[i]);
}

#define N_OF(a) ((int64_t)(sizeof(a) / sizeof((a)[0])))
#define FOR_LAYOUTS for (pb_layout lay = PB_LAYOUT_NCHW; lay < PB_LAYOUT_COUNT; lay++)

static const float seed_in[16] = {1, 1, 2, 4, 5, 6, 7, 8, 3, 2, 1, 0, 1, 2, 3, 4};
static const shape seed_shape = {.ih = 4, .iw = 4, .kh = 2, .kw = 2, .sh = 2, .sw = 2};

START_TEST(test_seed_example_fwd)
{
    FOR_LAYOUTS {
        pb_desc d = make(seed_shape, PB_ALG_MAX, lay);
        ck_assert_int_eq(d.oh, 2);
        ck_assert_int_eq(d.ow, 2);
        float dst[4];
        int32_t ws[4];
        fwd(&d, seed_in, dst, ws);
        expect_f32("max", dst, (const float[]){6, 8, 3, 4}, 4);
        expect_i32("argmax", ws, (const int32_t[]){5, 7, 8, 15}, 4);
        /* no padding: both averages divide by 4 */
        for (pb_alg alg = PB_ALG_AVG_INCL; alg <= PB_ALG_AVG_EXCL; alg++) {
            d = make(seed_shape, alg, lay);
            fwd(&d, seed_in, dst, NULL);
            expect_f32("avg", dst, (const float[]){3.25f, 5.25f, 2, 2}, 4);
        }
    }
}
END_TEST

START_TEST(test_seed_example_bwd)
{
    const float dd[4] = {1, 2, 3, 4};
    FOR_LAYOUTS {
        pb_desc d = make(seed_shape, PB_ALG_MAX, lay);
        float ds[16];
        bwd(&d, (const int32_t[]){5, 7, 8, 15}, dd, ds);
        /* each gradient lands on its window's maximum */
        expect_f32("max bwd", ds,
                   (const float[]){0, 0, 0, 0, /**/ 0, 1, 0, 2, /**/ 3, 0, 0, 0, /**/ 0, 0, 0, 4},
                   16);
        d = make(seed_shape, PB_ALG_AVG_EXCL, lay);
        bwd(&d, NULL, dd, ds);
        /* each gradient split in quarters over its 2x2 window */
        expect_f32("avg bwd", ds,
                   (const float[]){0.25f, 0.25f, 0.5f, 0.5f, 0.25f, 0.25f, 0.5f, 0.5f,
                                   0.75f, 0.75f, 1, 1, 0.75f, 0.75f, 1, 1},
                   16);
    }
}
END_TEST

/* 3x3 input, 2x2 windows stride 1: all four windows hold the 9, so max
 * backward accumulates 1+2+3+4 there; avg backward sums overlapping shares. */
START_TEST(test_overlap_accumulates)
{
    const float in[9] = {1, 2, 3, 4, 9, 5, 6, 7, 8};
    const float dd[4] = {1, 2, 3, 4};
    shape s = {.ih = 3, .iw = 3, .kh = 2, .kw = 2, .sh = 1, .sw = 1};
    FOR_LAYOUTS {
        pb_desc d = make(s, PB_ALG_MAX, lay);
        float dst[4], ds[9];
        int32_t ws[4];
        fwd(&d, in, dst, ws);
        expect_f32("max", dst, (const float[]){9, 9, 9, 9}, 4);
        expect_i32("argmax", ws, (const int32_t[]){4, 4, 4, 4}, 4);
        bwd(&d, ws, dd, ds);
        expect_f32("max bwd", ds, (const float[]){0, 0, 0, 0, 10, 0, 0, 0, 0}, 9);
        d = make(s, PB_ALG_AVG_INCL, lay);
        fwd(&d, in, dst, NULL);
        /* (1+2+4+9)/4, (2+3+9+5)/4, (4+9+6+7)/4, (9+5+7+8)/4 */
        expect_f32("avg", dst, (const float[]){4, 4.75f, 6.5f, 7.25f}, 4);
        bwd(&d, NULL, dd, ds);
        /* corner: one window, edge: two, centre: all four (10/4) */
        expect_f32("avg bwd", ds,
                   (const float[]){0.25f, 0.75f, 0.5f, 1, 2.5f, 1.5f, 0.75f, 1.75f, 1}, 9);
    }
}
END_TEST

/* Ties go to the first maximum in row-major order: the right window holds
 * 7 at (0,3) and (1,2); column-major would pick (1,2) = 8. */
START_TEST(test_ties_first_row_major)
{
    const float in[12] = {5, 5, 3, 7, 1, 2, /**/ 5, 5, 7, 1, 0, 2};
    shape s = {.ih = 2, .iw = 6, .kh = 2, .kw = 2, .sh = 2, .sw = 2};
    FOR_LAYOUTS {
        pb_desc d = make(s, PB_ALG_MAX, lay);
        float dst[3];
        int32_t ws[3];
        fwd(&d, in, dst, ws);
        expect_f32("max", dst, (const float[]){5, 7, 2}, 3);
        expect_i32("argmax", ws, (const int32_t[]){0, 3, 5}, 3);
    }
}
END_TEST

/* NaN wins and its argmax is the FIRST NaN (PyTorch reports the last:
 * 6 for the left window); NaN beats +inf; avg of a NaN window is NaN. */
START_TEST(test_nan_wins_first)
{
    const float in[12] = {1, NAN, 3, INFINITY, 4, -1, /**/ NAN, 2, 5, NAN, 0, 9};
    shape s = {.ih = 2, .iw = 6, .kh = 2, .kw = 2, .sh = 2, .sw = 2};
    FOR_LAYOUTS {
        pb_desc d = make(s, PB_ALG_MAX, lay);
        float dst[3], ds[12];
        int32_t ws[3];
        fwd(&d, in, dst, ws);
        expect_f32("max", dst, (const float[]){NAN, NAN, 9}, 3);
        expect_i32("argmax", ws, (const int32_t[]){1, 9, 11}, 3);
        bwd(&d, ws, (const float[]){1, 2, 3}, ds);
        expect_f32("max bwd", ds, (const float[]){0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 3}, 12);
        d = make(s, PB_ALG_AVG_EXCL, lay);
        fwd(&d, in, dst, NULL);
        expect_f32("avg", dst, (const float[]){NAN, NAN, 3}, 3);
    }
}
END_TEST

/* An all -inf window gives -inf at its first in-input position (oneDNN
 * gives -FLT_MAX); with padding 1 the corners tap one element.  Channel 1
 * has a 7 at (1,1): windows that hold it return it. */
START_TEST(test_all_neg_inf_window)
{
    const float ni = -INFINITY;
    const float in[8] = {ni, ni, ni, ni, /**/ ni, ni, ni, 7};
    shape s = {.c = 2, .ih = 2, .iw = 2, .kh = 2, .kw = 2, .sh = 1, .sw = 1,
               .pt = 1, .pl = 1, .pb = 1, .pr = 1};
    FOR_LAYOUTS {
        pb_desc d = make(s, PB_ALG_MAX, lay);
        ck_assert_int_eq(d.oh, 3);
        ck_assert_int_eq(d.ow, 3);
        float dst[18];
        int32_t ws[18];
        fwd(&d, in, dst, ws);
        expect_f32("max", dst,
                   (const float[]){ni, ni, ni, ni, ni, ni, ni, ni, ni, /**/ ni, ni, ni, ni, 7, 7, ni, 7, 7},
                   18);
        expect_i32("argmax", ws,
                   (const int32_t[]){0, 0, 1, 0, 0, 1, 2, 2, 3, /**/ 0, 0, 1, 0, 3, 3, 2, 3, 3}, 18);
    }
}
END_TEST

/* All-negative input, 3x3 windows stride 1 padding 1: a padding zero would
 * win every border window; the real maxima are negative. */
START_TEST(test_padding_never_wins)
{
    const float in[9] = {-5, -1, -7, -3, -9, -2, -8, -4, -6};
    shape s = {.ih = 3, .iw = 3, .kh = 3, .kw = 3, .sh = 1, .sw = 1, .pt = 1, .pl = 1, .pb = 1, .pr = 1};
    FOR_LAYOUTS {
        pb_desc d = make(s, PB_ALG_MAX, lay);
        float dst[9];
        int32_t ws[9];
        fwd(&d, in, dst, ws);
        expect_f32("max", dst, (const float[]){-1, -1, -1, -1, -1, -1, -3, -2, -2}, 9);
        expect_i32("argmax", ws, (const int32_t[]){1, 1, 1, 1, 1, 1, 3, 5, 5}, 9);
    }
}
END_TEST

/* Checks divisors and values of a 1-channel avg problem: sums[] and the
 * divisor tables are worked out by hand. */
static void check_avg(shape s, const float *in, const double *sums, const int64_t *div_incl,
                      const int64_t *div_excl, int64_t outs)
{
    FOR_LAYOUTS
        for (pb_alg alg = PB_ALG_AVG_INCL; alg <= PB_ALG_AVG_EXCL; alg++) {
            pb_desc d = make(s, alg, lay);
            ck_assert_int_eq(d.oh * d.ow, outs);
            const int64_t *div = alg == PB_ALG_AVG_INCL ? div_incl : div_excl;
            float dst[16], exp[16];
            for (int64_t i = 0; i < outs; i++) {
                ck_assert_int_eq(pb_divisor(&d, i / d.ow, i % d.ow), div[i]);
                exp[i] = (float)(sums[i] / (double)div[i]);
            }
            fwd(&d, in, dst, NULL);
            expect_f32(pb_alg_name(alg), dst, exp, outs);
        }
}

/* 4x4, 3x3 windows stride 2, padding 1, ceil mode: 3 outputs per axis with
 * windows over rows {-1,0,1}, {1,2,3}, {3,4,5}: row -1 and 4 are padding,
 * 5 is the ceil overhang past the padding, never counted.  Per axis
 * avg_incl counts 3, 3, 2 taps and avg_excl 2, 3, 1. */
START_TEST(test_avg_divisors_ceil_overhang)
{
    float in[16];
    for (int i = 0; i < 16; i++) in[i] = (float)(i + 1);
    shape s = {.ih = 4, .iw = 4, .kh = 3, .kw = 3, .sh = 2, .sw = 2,
               .pt = 1, .pl = 1, .pb = 1, .pr = 1, .ceil_mode = true};
    const double sums[9] = {14, 30, 12, 57, 99, 36, 27, 45, 16};
    const int64_t incl[9] = {9, 9, 6, 9, 9, 6, 6, 6, 4};
    const int64_t excl[9] = {4, 6, 2, 6, 9, 3, 2, 3, 1};
    check_avg(s, in, sums, incl, excl, 9);
    /* spot values: bottom-right corner is 16/4 counted, 16/1 excluded */
    pb_desc d = make(s, PB_ALG_AVG_INCL, PB_LAYOUT_NCHW);
    float dst[9];
    fwd(&d, in, dst, NULL);
    ck_assert_float_eq(dst[8], 4.0f);
    ck_assert_float_eq(dst[5], 6.0f);
    d = make(s, PB_ALG_AVG_EXCL, PB_LAYOUT_NCHW);
    fwd(&d, in, dst, NULL);
    ck_assert_float_eq(dst[8], 16.0f);
    ck_assert_float_eq(dst[0], 3.5f);
}
END_TEST

/* 5x5, 3x3 stride 2 padding 1, floor mode: windows {-1,0,1}, {1,2,3},
 * {3,4,5}, padding on both sides (5 is padding here): avg_incl always 9,
 * avg_excl 4 at corners, 6 on edges, 9 inside. */
START_TEST(test_avg_divisors_padding)
{
    float in[25];
    for (int i = 0; i < 25; i++) in[i] = (float)(i + 1);
    shape s = {.ih = 5, .iw = 5, .kh = 3, .kw = 3, .sh = 2, .sw = 2, .pt = 1, .pl = 1, .pb = 1, .pr = 1};
    const double sums[9] = {16, 33, 28, 69, 117, 87, 76, 123, 88};
    const int64_t incl[9] = {9, 9, 9, 9, 9, 9, 9, 9, 9};
    const int64_t excl[9] = {4, 6, 4, 6, 9, 6, 4, 6, 4};
    check_avg(s, in, sums, incl, excl, 9);
    pb_desc d = make(s, PB_ALG_AVG_EXCL, PB_LAYOUT_NHWC);
    float dst[9];
    fwd(&d, in, dst, NULL);
    expect_f32("avg_excl", dst, (const float[]){4, 5.5f, 7, 11.5f, 13, 14.5f, 19, 20.5f, 22}, 9);
}
END_TEST

/* Asymmetric padding (top 1, left 0, bottom 0, right 1) on 3x3 with 2x2
 * stride 2: windows rows {-1,0}, {1,2}; cols {0,1}, {2,3}. */
START_TEST(test_avg_divisors_asymmetric)
{
    float in[9];
    for (int i = 0; i < 9; i++) in[i] = (float)(i + 1);
    shape s = {.ih = 3, .iw = 3, .kh = 2, .kw = 2, .sh = 2, .sw = 2, .pt = 1, .pr = 1};
    /* {1,2}, {3}, {4,5,7,8}, {6,9} */
    const double sums[4] = {3, 3, 24, 15};
    const int64_t incl[4] = {4, 4, 4, 4};
    const int64_t excl[4] = {2, 1, 4, 2};
    check_avg(s, in, sums, incl, excl, 4);
}
END_TEST

/* Three channels, interleaved in NHWC: ch0 the seed plane, ch1 = 10 - x
 * (a tie of 9s in the first window), ch2 = x + 100.  Each channel pools on
 * its own. */
START_TEST(test_channels_independent)
{
    float in[48];
    for (int i = 0; i < 16; i++) {
        in[i] = seed_in[i];
        in[16 + i] = 10 - seed_in[i];
        in[32 + i] = seed_in[i] + 100;
    }
    shape s = seed_shape;
    s.c = 3;
    FOR_LAYOUTS {
        pb_desc d = make(s, PB_ALG_MAX, lay);
        float dst[12];
        int32_t ws[12];
        fwd(&d, in, dst, ws);
        expect_f32("max", dst, (const float[]){6, 8, 3, 4, 9, 8, 9, 10, 106, 108, 103, 104}, 12);
        expect_i32("argmax", ws, (const int32_t[]){5, 7, 8, 15, 0, 2, 12, 11, 5, 7, 8, 15}, 12);
        d = make(s, PB_ALG_AVG_EXCL, lay);
        fwd(&d, in, dst, NULL);
        expect_f32("avg", dst,
                   (const float[]){3.25f, 5.25f, 2, 2, 6.75f, 4.75f, 8, 8, 103.25f, 105.25f, 102, 102},
                   12);
    }
}
END_TEST

/* 5x5, 2x2 window with dilation 2, stride 1: taps (h, w), (h, w+2),
 * (h+2, w), (h+2, w+2); 3x3 outputs.  The 11 at (2,2) wins four windows. */
START_TEST(test_dilation)
{
    const float in[25] = {3, 9, 1, 4, 2, /**/ 8, 0, 7, 6, 5, /**/ 1, 2, 11, 3, 10,
                          /**/ 4, 12, 5, 13, 0, /**/ 9, 6, 8, 1, 7};
    shape s = {.ih = 5, .iw = 5, .kh = 2, .kw = 2, .sh = 1, .sw = 1, .dh = 2, .dw = 2};
    const float ones[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    FOR_LAYOUTS {
        pb_desc d = make(s, PB_ALG_MAX, lay);
        ck_assert_int_eq(d.oh, 3);
        ck_assert_int_eq(d.ow, 3);
        float dst[9], ds[25];
        int32_t ws[9];
        fwd(&d, in, dst, ws);
        expect_f32("max", dst, (const float[]){11, 9, 11, 8, 13, 7, 11, 6, 11}, 9);
        expect_i32("argmax", ws, (const int32_t[]){12, 1, 12, 5, 18, 7, 12, 21, 12}, 9);
        bwd(&d, ws, ones, ds);
        float exp[25] = {0};
        exp[12] = 4, exp[1] = exp[5] = exp[18] = exp[7] = exp[21] = 1;
        expect_f32("max bwd", ds, exp, 25);
        d = make(s, PB_ALG_AVG_INCL, lay);
        fwd(&d, in, dst, NULL);
        /* sums 16, 18, 24, 24, 31, 17, 29, 12, 36 over 4 taps */
        expect_f32("avg", dst, (const float[]){4, 4.5f, 6, 6, 7.75f, 4.25f, 7.25f, 3, 9}, 9);
        bwd(&d, NULL, ones, ds);
        /* (h, w) is tapped by (#oh in {h, h-2} within 0..2) x (same for w) windows */
        for (int h = 0; h < 5; h++)
            for (int w = 0; w < 5; w++) {
                int ch = (h <= 2) + (h >= 2), cw = (w <= 2) + (w >= 2);
                ck_assert_float_eq(ds[h * 5 + w], 0.25f * (float)(ch * cw));
            }
    }
}
END_TEST

/* Global pooling, 2 channels of 3x3: averages 45/9 and 54/9; maxima 9 at
 * 8 and 16 at 7; backward spreads 9/9 and -4.5/9. */
START_TEST(test_global)
{
    const float in[18] = {1, 2, 3, 4, 5, 6, 7, 8, 9, /**/ 2, 4, 6, 8, 10, 12, 14, 16, -18};
    const float dd[2] = {9, -4.5f};
    shape s = {.c = 2, .ih = 3, .iw = 3, .global = true};
    FOR_LAYOUTS {
        float dst[2], ds[18], exp[18];
        for (pb_alg alg = PB_ALG_AVG_INCL; alg <= PB_ALG_AVG_EXCL; alg++) {
            pb_desc d = make(s, alg, lay);
            ck_assert_int_eq(d.oh, 1);
            ck_assert_int_eq(d.ow, 1);
            fwd(&d, in, dst, NULL);
            expect_f32("global avg", dst, (const float[]){5, 6}, 2);
            bwd(&d, NULL, dd, ds);
            for (int i = 0; i < 18; i++) exp[i] = i < 9 ? 1.0f : -0.5f;
            expect_f32("global avg bwd", ds, exp, 18);
        }
        pb_desc d = make(s, PB_ALG_MAX, lay);
        int32_t ws[2];
        fwd(&d, in, dst, ws);
        expect_f32("global max", dst, (const float[]){9, 16}, 2);
        expect_i32("global argmax", ws, (const int32_t[]){8, 7}, 2);
        bwd(&d, ws, dd, ds);
        memset(exp, 0, sizeof exp);
        exp[8] = 9, exp[9 + 7] = -4.5f;
        expect_f32("global max bwd", ds, exp, 18);
    }
}
END_TEST

Suite *pb_test_suite_semantics(void)
{
    Suite *s = suite_create("semantics");
    TCase *tc = tcase_create("reference");
    tcase_add_test(tc, test_seed_example_fwd);
    tcase_add_test(tc, test_seed_example_bwd);
    tcase_add_test(tc, test_overlap_accumulates);
    tcase_add_test(tc, test_ties_first_row_major);
    tcase_add_test(tc, test_nan_wins_first);
    tcase_add_test(tc, test_all_neg_inf_window);
    tcase_add_test(tc, test_padding_never_wins);
    tcase_add_test(tc, test_avg_divisors_ceil_overhang);
    tcase_add_test(tc, test_avg_divisors_padding);
    tcase_add_test(tc, test_avg_divisors_asymmetric);
    tcase_add_test(tc, test_channels_independent);
    tcase_add_test(tc, test_dilation);
    tcase_add_test(tc, test_global);
    suite_add_tcase(s, tc);
    return s;
}
