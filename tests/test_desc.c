/* Descriptor rules: output size, validation codes, divisors. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"

START_TEST(test_halves_224)
{
    pb_desc d;
    pb_desc_init(&d);
    d.c = 64; d.ih = d.iw = 224; d.kh = d.kw = 2; d.sh = d.sw = 2;
    ck_assert_int_eq(pb_desc_finalize(&d, NULL, 0), PB_OK);
    ck_assert_int_eq(d.oh, 112);
    ck_assert_int_eq(d.ow, 112);
    ck_assert_int_eq(d.dst_elems, 64 * 112 * 112);
    ck_assert_int_eq(d.src_elems, 64 * 224 * 224);
    /* pooling keeps n*c: every (n, c) plane maps to one output plane */
    ck_assert_int_eq(d.dst_elems / (d.oh * d.ow), d.n * d.c);
}
END_TEST

/* The layer has zero parameters: pb_desc holds only shape and pb_args only
 * src/dst/ws/diff buffers, so there is nothing to count; what can be
 * tested is that the output is a function of the input alone.  With
 * src(c, h, w) = h*224 + w (exact in float), each 2x2 block's max is its
 * bottom-right element (2oh+1)*224 + 2ow+1, and its avg_incl mean is the
 * top-left element + (0 + 1 + 224 + 225)/4 = + 112.5: no weight, no bias. */
START_TEST(test_zero_parameters)
{
    pb_desc d;
    pb_desc_init(&d);
    d.c = 64; d.ih = d.iw = 224; d.kh = d.kw = 2;
    ck_assert_int_eq(pb_desc_finalize(&d, NULL, 0), PB_OK);
    float *src = malloc((size_t)d.src_elems * sizeof *src);
    float *dst = malloc((size_t)d.dst_elems * sizeof *dst);
    ck_assert(src && dst);
    for (int64_t c = 0; c < 64; c++)
        for (int64_t i = 0; i < 224 * 224; i++) src[c * 224 * 224 + i] = (float)i;
    pb_args a = {.src = src, .dst = dst};
    for (int alg = PB_ALG_MAX; alg <= PB_ALG_AVG_INCL; alg++) {
        d.alg = (pb_alg)alg;
        ck_assert_int_eq(pb_impl_run(pb_impl_reference(), &d, PB_DIR_FWD_INF, &a), PB_OK);
        for (int64_t c = 0; c < 64; c++)
            for (int64_t oh = 0; oh < 112; oh++)
                for (int64_t ow = 0; ow < 112; ow++) {
                    float got = dst[(c * 112 + oh) * 112 + ow];
                    float tl = (float)(2 * oh * 224 + 2 * ow);
                    float want = alg == PB_ALG_MAX ? tl + 225.0f : tl + 112.5f;
                    if (got != want)
                        ck_abort_msg("alg %d c%lld (%lld,%lld): %g != %g", alg, (long long)c,
                                     (long long)oh, (long long)ow, got, want);
                }
    }
    free(src);
    free(dst);
}
END_TEST

/* Output sizes worked out by hand from
 *   out = floor((in + plo + phi - d*(k-1) - 1 + (ceil ? s-1 : 0)) / s) + 1
 * and, in ceil mode, out - 1 when (out-1)*s >= in + plo. */
static const struct out_row {
    int64_t in, k, s, plo, phi, dil;
    bool ceil;
    int64_t out;
} out_rows[] = {
    {224, 2, 2, 0, 0, 1, false, 112}, /* (224-2)/2+1 = 111+1 */
    {112, 3, 2, 1, 1, 1, false, 56},  /* (112+2-3)/2+1 = 55+1 */
    {112, 3, 2, 0, 0, 1, false, 55},  /* 109/2 = 54, +1 */
    {112, 3, 2, 0, 0, 1, true, 56},   /* (109+1)/2+1 = 56; 55*2 = 110 < 112 kept */
    {5, 2, 2, 1, 1, 1, false, 3},     /* (5+2-2)/2+1 = 2+1 */
    {5, 2, 2, 1, 1, 1, true, 3},      /* (5+2-2+1)/2+1 = 4, 3*2 = 6 >= 5+1: dropped */
    {3, 2, 2, 1, 1, 1, true, 2},      /* (3+2-2+1)/2+1 = 3, 2*2 = 4 >= 3+1: dropped */
    {6, 3, 2, 1, 1, 1, false, 3},     /* (6+2-3)/2+1 = 2+1 */
    {6, 3, 2, 1, 1, 1, true, 4},      /* (6+2-3+1)/2+1 = 4, 3*2 = 6 < 7 kept */
    {10, 1, 4, 0, 0, 1, false, 3},    /* stride > window: 9/4 = 2, +1 */
    {10, 1, 4, 0, 0, 1, true, 3},     /* (9+3)/4+1 = 4, 3*4 = 12 >= 10: dropped */
    {7, 2, 3, 0, 0, 1, false, 2},     /* stride > window: 5/3 = 1, +1 */
    {7, 2, 3, 1, 1, 1, false, 3},     /* (7+2-2)/3+1 = 2+1 */
    {6, 3, 2, 1, 0, 1, false, 3},     /* asymmetric: (6+1-3)/2+1 = 2+1 */
    {6, 3, 2, 0, 1, 1, false, 3},     /* the other side: same count */
    {7, 3, 2, 1, 0, 1, true, 4},      /* asymmetric ceil: (7+1-3+1)/2+1 = 4, 6 < 8 kept */
    {8, 4, 2, 2, 1, 1, false, 4},     /* (8+3-4)/2+1 = 3+1 */
    {7, 3, 1, 0, 0, 2, false, 3},     /* dilation: (7-4-1)/1+1 = 3 */
    {9, 3, 2, 1, 1, 2, false, 4},     /* (9+2-4-1)/2+1 = 3+1 */
    {10, 3, 3, 0, 0, 2, false, 2},    /* (10-4-1)/3+1 = 1+1 */
    {10, 3, 3, 0, 0, 2, true, 3},     /* (10-4-1+2)/3+1 = 2+1, 6 < 10 kept */
    {4, 3, 3, 0, 0, 2, false, 0},     /* floor(-1/3) = -1, +1 = 0 (C's / gives 1) */
    {2, 3, 3, 0, 0, 1, false, 0},     /* floor((2-2-1)/3) = -1, +1 = 0 */
    {1, 3, 1, 0, 0, 1, false, -1},    /* floor(-2/1) + 1 = -1 */
    {5, 3, 1, 1, 1, 1, true, 5},      /* stride 1: ceil changes nothing, (5+2-3)+1 */
    {4, 4, 1, 2, 2, 1, false, 5},     /* window past the plane: (4+4-4)+1 */
    {1, 2, 1, 1, 1, 1, false, 2},     /* 1 padded to 3: (1+2-2)+1 */
    {1, 1, 1, 0, 0, 1, false, 1},     /* 1x1 everything */
    {13, 13, 1, 0, 0, 1, false, 1},   /* window = plane (global's case) */
    {37, 37, 1, 0, 0, 1, true, 1},    /* ceil on window = plane: (0+0)/1+1, 0 < 37 */
    {5, 0, 1, 0, 0, 1, false, 0},     /* k = 0: no output */
    {5, 2, 0, 0, 0, 1, false, 0},     /* s = 0: no output */
    {5, 2, 1, 0, 0, 0, false, 0},     /* dil = 0: no output */
};

START_TEST(test_out_size_table)
{
    const struct out_row *r = &out_rows[_i];
    ck_assert_msg(pb_out_size(r->in, r->k, r->s, r->plo, r->phi, r->dil, r->ceil) == r->out,
                  "row %d: in %lld k %lld s %lld p %lld,%lld d %lld%s: %lld, want %lld", _i,
                  (long long)r->in, (long long)r->k, (long long)r->s, (long long)r->plo,
                  (long long)r->phi, (long long)r->dil, r->ceil ? " ceil" : "",
                  (long long)pb_out_size(r->in, r->k, r->s, r->plo, r->phi, r->dil, r->ceil),
                  (long long)r->out);
    if (r->out < 1 || r->plo > r->k / 2 || r->phi > r->k / 2) return;
    /* finalize agrees along both axes (the w axis mirrors h) */
    pb_desc d;
    pb_desc_init(&d);
    d.c = 3; d.ih = d.iw = r->in; d.kh = d.kw = r->k; d.sh = d.sw = r->s;
    d.pt = d.pl = r->plo; d.pb = d.pr = r->phi; d.dh = d.dw = r->dil; d.ceil_mode = r->ceil;
    char msg[256];
    ck_assert_msg(pb_desc_finalize(&d, msg, sizeof msg) == PB_OK, "row %d: %s", _i, msg);
    ck_assert_int_eq(d.oh, r->out);
    ck_assert_int_eq(d.ow, r->out);
    ck_assert_int_eq(d.dst_elems, 3 * r->out * r->out);
}
END_TEST

START_TEST(test_global)
{
    pb_desc d;
    pb_desc_init(&d);
    d.n = 2; d.c = 5; d.ih = 13; d.iw = 11; d.global = true;
    /* whatever window fields were set, global overrides them */
    d.kh = 3; d.sh = 2; d.pt = 1; d.dh = 2; d.ceil_mode = true;
    ck_assert_int_eq(pb_desc_finalize(&d, NULL, 0), PB_OK);
    ck_assert_int_eq(d.kh, 13);
    ck_assert_int_eq(d.kw, 11);
    ck_assert_int_eq(d.sh, 1);
    ck_assert_int_eq(d.sw, 1);
    ck_assert_int_eq(d.pt + d.pb + d.pl + d.pr, 0);
    ck_assert_int_eq(d.dh, 1);
    ck_assert(!d.ceil_mode);
    ck_assert_int_eq(d.oh, 1);
    ck_assert_int_eq(d.ow, 1);
    ck_assert_int_eq(d.dst_elems, 10);
    ck_assert_int_eq(d.src_elems, 2 * 5 * 13 * 11);
    /* stride 0 means "not given": the window size */
    pb_desc_init(&d);
    d.c = 1; d.ih = 9; d.iw = 8; d.kh = 3; d.kw = 2;
    ck_assert_int_eq(pb_desc_finalize(&d, NULL, 0), PB_OK);
    ck_assert_int_eq(d.sh, 3);
    ck_assert_int_eq(d.sw, 2);
    ck_assert_int_eq(d.oh, 3);
    ck_assert_int_eq(d.ow, 4);
}
END_TEST

/* ---- one rejection per rule, each message naming its field ------------- */

/* A valid base: 1x3x8x8, 3x3 stride 2, padding 1 -> 4x4. */
static void base(pb_desc *d)
{
    pb_desc_init(d);
    d->c = 3; d->ih = d->iw = 8; d->kh = d->kw = 3; d->sh = d->sw = 2;
    d->pt = d->pb = d->pl = d->pr = 1;
}

static void m_n0(pb_desc *d) { d->n = 0; }
static void m_nneg(pb_desc *d) { d->n = -2; }
static void m_c0(pb_desc *d) { d->c = 0; }
static void m_cneg(pb_desc *d) { d->c = -1; }
static void m_ih0(pb_desc *d) { d->ih = 0; }
static void m_iwneg(pb_desc *d) { d->iw = -5; }
static void m_threads(pb_desc *d) { d->threads = -1; }
static void m_kh0(pb_desc *d) { d->kh = 0; }
static void m_kwneg(pb_desc *d) { d->kw = -1; }
static void m_shneg(pb_desc *d) { d->sh = -1; }
static void m_swneg(pb_desc *d) { d->sw = -2; }
static void m_dh0(pb_desc *d) { d->dh = 0; }
static void m_dwneg(pb_desc *d) { d->dw = -1; }
static void m_pt(pb_desc *d) { d->pt = 2; }
static void m_pb(pb_desc *d) { d->pb = 2; }
static void m_pl(pb_desc *d) { d->pl = 2; }
static void m_pr(pb_desc *d) { d->pr = 2; }
static void m_pneg(pb_desc *d) { d->pb = -1; }
static void m_out_h(pb_desc *d) { d->ih = 2; d->kh = 5; d->pt = d->pb = 0; }
static void m_out_w(pb_desc *d) { d->iw = 1; d->kw = 3; d->dw = 2; }
/* H=2, k=2, d=3, p=1: one window (stride 2), taps -1 and 2, both padding */
static void m_empty_h(pb_desc *d) { d->ih = 2; d->kh = 2; d->sh = 0; d->dh = 3; d->pt = d->pb = 1; }
/* W=3, k=2, d=4, p=1, s=1: one window, taps -1 and 3 */
static void m_empty_w(pb_desc *d) { d->iw = 3; d->kw = 2; d->sw = 1; d->dw = 4; d->pl = d->pr = 1; }
static void m_elems(pb_desc *d) { d->n = d->c = (int64_t)1 << 40; }
static void m_plane(pb_desc *d) { d->ih = d->iw = 65536; d->kh = d->kw = 1; d->pt = d->pb = d->pl = d->pr = 0; }
static void m_axis(pb_desc *d) { d->ih = (int64_t)1 << 31; }
static void m_span(pb_desc *d) { d->dh = (int64_t)1 << 31; }
static void m_large(pb_desc *d) { d->c = 4096; d->ih = d->iw = 1024; }
static void m_alg(pb_desc *d) { d->alg = (pb_alg)7; }
static void m_layout(pb_desc *d) { d->layout = (pb_layout)2; }
static void m_dtype(pb_desc *d) { d->dtype = (pb_dtype)1; }

static const struct reject {
    void (*mutate)(pb_desc *);
    pb_status code;
    const char *needle;
} rejects[] = {
    {m_n0, PB_ERR_SHAPE, "mb=0"},
    {m_nneg, PB_ERR_SHAPE, "mb=-2"},
    {m_c0, PB_ERR_SHAPE, "ic=0"},
    {m_cneg, PB_ERR_SHAPE, "ic=-1"},
    {m_ih0, PB_ERR_SHAPE, "ih=0"},
    {m_iwneg, PB_ERR_SHAPE, "iw=-5"},
    {m_threads, PB_ERR_SHAPE, "threads=-1"},
    {m_kh0, PB_ERR_WINDOW, "kh=0"},
    {m_kwneg, PB_ERR_WINDOW, "kw=-1"},
    {m_shneg, PB_ERR_STRIDE, "sh=-1"},
    {m_swneg, PB_ERR_STRIDE, "sw=-2"},
    {m_dh0, PB_ERR_DILATION, "dh=0"},
    {m_dwneg, PB_ERR_DILATION, "dw=-1"},
    {m_pt, PB_ERR_PADDING, "padding along h (2,1) exceeds half the window kh=3"},
    {m_pb, PB_ERR_PADDING, "padding along h (1,2)"},
    {m_pl, PB_ERR_PADDING, "padding along w (2,1) exceeds half the window kw=3"},
    {m_pr, PB_ERR_PADDING, "padding along w (1,2)"},
    {m_pneg, PB_ERR_PADDING, "padding along h must be >= 0"},
    {m_out_h, PB_ERR_OUTPUT, "output along h is -1"}, /* floor((2-4-1)/2)+1 = -2+1 */
    {m_out_w, PB_ERR_OUTPUT, "output along w is 0"},  /* floor((1+2-4-1)/2)+1 = -1+1 */
    {m_empty_h, PB_ERR_EMPTY_WINDOW, "window 0 along h"},
    {m_empty_w, PB_ERR_EMPTY_WINDOW, "window 0 along w"},
    {m_elems, PB_ERR_OVERFLOW, "mb*ic*ih*iw"},
    {m_plane, PB_ERR_OVERFLOW, "plane ih*iw"},
    {m_axis, PB_ERR_OVERFLOW, "along h too large"},
    {m_span, PB_ERR_OVERFLOW, "along h too large"},
    {m_large, PB_ERR_TOO_LARGE, "source tensor needs 17179869184 bytes"},
    {m_alg, PB_ERR_ALG, "unknown algorithm 7"},
    {m_layout, PB_ERR_LAYOUT, "unknown layout 2"},
    {m_dtype, PB_ERR_DTYPE, "unknown data type 1"},
};

START_TEST(test_reject)
{
    const struct reject *r = &rejects[_i];
    pb_desc d;
    base(&d);
    char msg[256];
    ck_assert_int_eq(pb_desc_finalize(&d, msg, sizeof msg), PB_OK); /* the base is valid */
    ck_assert_int_eq(d.oh, 4);
    base(&d);
    r->mutate(&d);
    pb_status st = pb_desc_finalize(&d, msg, sizeof msg);
    ck_assert_msg(st == r->code, "case %d: %s, want %s (%s)", _i, pb_status_str(st),
                  pb_status_str(r->code), msg);
    ck_assert_msg(strstr(msg, r->needle) != NULL, "case %d: \"%s\" lacks \"%s\"", _i, msg,
                  r->needle);
    /* also without a message buffer */
    base(&d);
    r->mutate(&d);
    ck_assert_int_eq(pb_desc_finalize(&d, NULL, 0), r->code);
}
END_TEST

START_TEST(test_reject_null)
{
    char msg[64];
    ck_assert_int_eq(pb_desc_finalize(NULL, msg, sizeof msg), PB_ERR_NULL);
    ck_assert_ptr_nonnull(strstr(msg, "NULL"));
}
END_TEST

/* ---- the window/divisor helper at the borders -------------------------- */

START_TEST(test_axis_window)
{
    /* in=5, k=3, s=2, p=1 (out 3): padded extent [-1, 6) */
    pb_axis_window w = pb_axis_window_at(0, 5, 3, 2, 1, 1, 1);
    ck_assert_int_eq(w.start, -1); /* taps -1 0 1: the first is padding */
    ck_assert_int_eq(w.t_lo, 1);
    ck_assert_int_eq(w.t_hi, 3);
    ck_assert_int_eq(w.n_pad, 3);
    w = pb_axis_window_at(1, 5, 3, 2, 1, 1, 1); /* taps 1 2 3 */
    ck_assert(w.start == 1 && w.t_lo == 0 && w.t_hi == 3 && w.n_pad == 3);
    w = pb_axis_window_at(2, 5, 3, 2, 1, 1, 1); /* taps 3 4 5: 5 is padding */
    ck_assert(w.start == 3 && w.t_lo == 0 && w.t_hi == 2 && w.n_pad == 3);
    /* ceil overhang: in=6, k=3, s=2, p=1, out 4; window 3 taps 5 6 7 with
     * 6 the padding and 7 past the padded extent [-1, 7): not counted */
    w = pb_axis_window_at(3, 6, 3, 2, 1, 1, 1);
    ck_assert(w.start == 5 && w.t_lo == 0 && w.t_hi == 1 && w.n_pad == 2);
    /* dilation: in=7, k=3, s=1, p=1, d=2: window 0 taps -1 1 3 */
    w = pb_axis_window_at(0, 7, 3, 1, 1, 1, 2);
    ck_assert(w.start == -1 && w.t_lo == 1 && w.t_hi == 3 && w.n_pad == 3);
    /* window 4 taps 3 5 7: 7 is padding, inside [-1, 8) */
    w = pb_axis_window_at(4, 7, 3, 1, 1, 1, 2);
    ck_assert(w.start == 3 && w.t_lo == 0 && w.t_hi == 2 && w.n_pad == 3);
    /* asymmetric: in=6, k=3, s=2, plo=0, phi=1: window 2 taps 4 5 6 */
    w = pb_axis_window_at(2, 6, 3, 2, 0, 1, 1);
    ck_assert(w.start == 4 && w.t_lo == 0 && w.t_hi == 2 && w.n_pad == 3);
    /* plo=1, phi=0: window 2 taps 3 4 5, all input */
    w = pb_axis_window_at(2, 6, 3, 2, 1, 0, 1);
    ck_assert(w.start == 3 && w.t_lo == 0 && w.t_hi == 3 && w.n_pad == 3);
    /* gaps: in=10, k=1, s=4: window 2 is the single tap 8 */
    w = pb_axis_window_at(2, 10, 1, 4, 0, 0, 1);
    ck_assert(w.start == 8 && w.t_lo == 0 && w.t_hi == 1 && w.n_pad == 1);
    /* dilated window over padding only (a descriptor finalize rejects):
     * in=2, k=2, d=3, p=1: taps -1 and 2, no input, t_lo == t_hi */
    w = pb_axis_window_at(0, 2, 2, 2, 1, 1, 3);
    ck_assert_int_eq(w.t_hi - w.t_lo, 0);
    ck_assert_int_eq(w.n_pad, 2);
}
END_TEST

START_TEST(test_divisor)
{
    pb_desc d;
    /* 5x5, 3x3/2 p1 -> 3x3.  Per axis the taps in the input are 2, 3, 2
     * (windows [-1,1], [1,3], [3,5]); in the padded extent always 3. */
    pb_desc_init(&d);
    d.c = 1; d.ih = d.iw = 5; d.kh = d.kw = 3; d.sh = d.sw = 2;
    d.pt = d.pb = d.pl = d.pr = 1;
    d.alg = PB_ALG_AVG_EXCL;
    ck_assert_int_eq(pb_desc_finalize(&d, NULL, 0), PB_OK);
    static const int64_t excl5[3][3] = {{4, 6, 4}, {6, 9, 6}, {4, 6, 4}};
    for (int y = 0; y < 3; y++)
        for (int x = 0; x < 3; x++) ck_assert_int_eq(pb_divisor(&d, y, x), excl5[y][x]);
    d.alg = PB_ALG_AVG_INCL;
    for (int y = 0; y < 3; y++)
        for (int x = 0; x < 3; x++) ck_assert_int_eq(pb_divisor(&d, y, x), 9);
    d.alg = PB_ALG_MAX;
    ck_assert_int_eq(pb_divisor(&d, 0, 0), 1);

    /* 6x6, 3x3/2 p1 ceil -> 4x4.  Input taps per axis: 2, 3, 3, 1 (window
     * 3 is [5,7]: only 5 is input); padded taps 3, 3, 3, 2 (7 is past the
     * padded extent [-1, 7)). */
    d.ih = d.iw = 6; d.ceil_mode = true;
    ck_assert_int_eq(pb_desc_finalize(&d, NULL, 0), PB_OK);
    ck_assert_int_eq(d.oh, 4);
    static const int64_t in6[4] = {2, 3, 3, 1}, pad6[4] = {3, 3, 3, 2};
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 4; x++) {
            d.alg = PB_ALG_AVG_EXCL;
            ck_assert_int_eq(pb_divisor(&d, y, x), in6[y] * in6[x]);
            d.alg = PB_ALG_AVG_INCL;
            ck_assert_int_eq(pb_divisor(&d, y, x), pad6[y] * pad6[x]);
        }
    ck_assert_int_eq(pb_divisor(&d, 3, 3), 4); /* the corner by itself */

    /* 6x6, 3x3/2, top 1 bottom 0, left 0 right 1 -> 3x3.
     * h windows [-1,1], [1,3], [3,5]: input taps 2, 3, 3, padded 3, 3, 3.
     * w windows [0,2], [2,4], [4,6]: input taps 3, 3, 2, padded 3, 3, 3. */
    pb_desc_init(&d);
    d.c = 1; d.ih = d.iw = 6; d.kh = d.kw = 3; d.sh = d.sw = 2;
    d.pt = 1; d.pb = 0; d.pl = 0; d.pr = 1;
    ck_assert_int_eq(pb_desc_finalize(&d, NULL, 0), PB_OK);
    ck_assert_int_eq(d.oh, 3);
    ck_assert_int_eq(d.ow, 3);
    d.alg = PB_ALG_AVG_EXCL;
    ck_assert_int_eq(pb_divisor(&d, 0, 0), 6);
    ck_assert_int_eq(pb_divisor(&d, 0, 2), 4);
    ck_assert_int_eq(pb_divisor(&d, 2, 0), 9);
    ck_assert_int_eq(pb_divisor(&d, 2, 2), 6);
    d.alg = PB_ALG_AVG_INCL;
    ck_assert_int_eq(pb_divisor(&d, 0, 0), 9);
    ck_assert_int_eq(pb_divisor(&d, 2, 2), 9);

    /* global 3x5: one window, 15 elements either way */
    pb_desc_init(&d);
    d.c = 1; d.ih = 3; d.iw = 5; d.global = true; d.alg = PB_ALG_AVG_INCL;
    ck_assert_int_eq(pb_desc_finalize(&d, NULL, 0), PB_OK);
    ck_assert_int_eq(pb_divisor(&d, 0, 0), 15);
    d.alg = PB_ALG_AVG_EXCL;
    ck_assert_int_eq(pb_divisor(&d, 0, 0), 15);
}
END_TEST

/* Padding makes dst bigger than src: ih = iw = 1 with k2 s1 p1 gives a 2x2
 * output, so 2^30 channels are a 4 GiB src but a 16 GiB dst (and int32
 * argmax workspace).  The limit applies to every buffer. */
START_TEST(test_dst_too_large)
{
    pb_desc d;
    pb_desc_init(&d);
    d.c = (int64_t)1 << 30; d.ih = d.iw = 1; d.kh = d.kw = 2; d.sh = d.sw = 1;
    d.pt = d.pb = d.pl = d.pr = 1;
    char msg[256];
    ck_assert_int_eq(pb_desc_finalize(&d, msg, sizeof msg), PB_ERR_TOO_LARGE);
    ck_assert_ptr_nonnull(strstr(msg, "destination"));
    /* a quarter of the channels: dst is exactly 4 GiB, accepted */
    d.c = (int64_t)1 << 28;
    ck_assert_int_eq(pb_desc_finalize(&d, msg, sizeof msg), PB_OK);
    ck_assert_int_eq(d.dst_elems, ((int64_t)1 << 28) * 4);
}
END_TEST

/* Out-of-contract arguments to the public helpers: no division by zero, no
 * signed overflow (UBSan aborts the sanitized run on either). */
START_TEST(test_helpers_out_of_contract)
{
    pb_axis_window w = pb_axis_window_at(1, 5, 3, 1, 0, 0, 0); /* dil 0 */
    ck_assert_int_eq(w.t_lo, 0);
    ck_assert_int_eq(w.t_hi, 0);
    ck_assert_int_eq(w.n_pad, 0);
    w = pb_axis_window_at(0, 5, 3, 0, 1, 1, 1); /* stride 0 */
    ck_assert_int_eq(w.t_hi - w.t_lo, 0);
    w = pb_axis_window_at(INT64_MAX, 5, 3, INT64_MAX, 1, 1, 1);
    ck_assert_int_eq(w.n_pad, 0);
    /* k = 1 allows any dilation; window 1 of in=5, p=0: the single tap 1 */
    w = pb_axis_window_at(1, 5, 1, 1, 0, 0, INT64_MAX);
    ck_assert_int_eq(w.start, 1);
    ck_assert_int_eq(w.t_lo, 0);
    ck_assert_int_eq(w.t_hi, 1);
    ck_assert_int_eq(w.n_pad, 1);
    /* window 0 of in=5, k=3, p=1 and a huge dilation: taps -1, then far
     * past the input: only padding is tapped (t_lo = t_hi = 1) */
    w = pb_axis_window_at(0, 5, 3, 1, 1, 1, INT64_MAX);
    ck_assert_int_eq(w.t_lo, 1);
    ck_assert_int_eq(w.t_hi, 1);
    ck_assert_int_eq(w.n_pad, 1);
    ck_assert_int_lt(pb_out_size(10, 3, 1, 0, 0, INT64_MAX, false), 1);
    ck_assert_int_lt(pb_out_size(10, INT64_MAX, 1, 0, 0, 2, false), 1);
    ck_assert_int_lt(pb_out_size(INT64_MAX, 3, 1, INT64_MAX, INT64_MAX, 1, true), 1);
}
END_TEST

Suite *pb_test_suite_desc(void)
{
    Suite *s = suite_create("desc");
    TCase *tc = tcase_create("output_size");
    tcase_add_test(tc, test_halves_224);
    tcase_add_test(tc, test_zero_parameters);
    tcase_add_loop_test(tc, test_out_size_table, 0, (int)(sizeof out_rows / sizeof out_rows[0]));
    tcase_add_test(tc, test_global);
    suite_add_tcase(s, tc);
    tc = tcase_create("reject");
    tcase_add_loop_test(tc, test_reject, 0, (int)(sizeof rejects / sizeof rejects[0]));
    tcase_add_test(tc, test_reject_null);
    suite_add_tcase(s, tc);
    tc = tcase_create("window");
    tcase_add_test(tc, test_axis_window);
    tcase_add_test(tc, test_divisor);
    suite_add_tcase(s, tc);
    tc = tcase_create("regressions");
    tcase_add_test(tc, test_dst_too_large);
    tcase_add_test(tc, test_helpers_out_of_contract);
    suite_add_tcase(s, tc);
    return s;
}
