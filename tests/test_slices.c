/* The NHWC backward row-slice helpers of pool.h: which output rows a
 * slice of input rows reads and owns (hand-worked tables), the workspace
 * window check, and the exact scatter fallback. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"

static pb_desc rows_desc(int64_t ih, int64_t k, int64_t s, int64_t p, int64_t dil)
{
    pb_desc d;
    pb_desc_init(&d);
    d.c = 2, d.ih = ih, d.iw = 7, d.kh = k, d.kw = 2, d.sh = s, d.sw = 2;
    d.pt = d.pb = p, d.dh = dil, d.layout = PB_LAYOUT_NHWC;
    ck_assert_int_eq(pb_desc_finalize(&d, NULL, 0), PB_OK);
    return d;
}

/* Worked by hand from the windows' rows (oh*s - p + t*dil, clipped). */
START_TEST(test_row_slice_table)
{
    static const struct {
        int64_t ih, k, s, p, dil, h0, h1, oh_lo, oh_hi, own_lo, own_hi;
    } t[] = {
        /* resnet 3x3/2 p1, 112 rows split in halves: output 28 (rows
         * 55..57) is read by both and owned by neither */
        {112, 3, 2, 1, 1, 0, 56, 0, 29, 0, 28},
        {112, 3, 2, 1, 1, 56, 112, 28, 56, 29, 56},
        /* 2x2/2 rows 1..3: output 0 (rows 0, 1) shared, 1 (rows 2, 3) owned */
        {6, 2, 2, 0, 1, 1, 4, 0, 2, 1, 2},
        {6, 2, 2, 0, 1, 0, 6, 0, 3, 0, 3},
        /* one row of 3x3/1 p1: three outputs read it, none owned */
        {5, 3, 1, 1, 1, 2, 3, 1, 4, 1, 1},
        /* dilation 3, k 2, stride 1 (outputs tap oh and oh+3): rows 3..4
         * are tapped by outputs 0, 1, 3, 4 (2 taps 2 and 5), none owned */
        {8, 2, 1, 0, 3, 3, 5, 0, 5, 0, 0},
        {8, 2, 1, 0, 3, 0, 8, 0, 5, 0, 5},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        pb_desc d = rows_desc(t[i].ih, t[i].k, t[i].s, t[i].p, t[i].dil);
        pb_row_slice r = pb_row_slice_of(&d, t[i].h0, t[i].h1);
        ck_assert_msg(r.oh_lo == t[i].oh_lo && r.oh_hi == t[i].oh_hi && r.own_lo == t[i].own_lo &&
                          r.own_hi == t[i].own_hi,
                      "row %zu: got [%lld,%lld) own [%lld,%lld)", i, (long long)r.oh_lo,
                      (long long)r.oh_hi, (long long)r.own_lo, (long long)r.own_hi);
    }
    /* bad ranges: an empty slice, never a crash */
    pb_desc d = rows_desc(6, 2, 2, 0, 1);
    const int64_t bad[][2] = {{-1, 2}, {0, 7}, {3, 3}, {4, 2}};
    for (size_t i = 0; i < 4; i++) {
        pb_row_slice r = pb_row_slice_of(&d, bad[i][0], bad[i][1]);
        ck_assert(r.oh_lo == 0 && r.oh_hi == 0 && r.own_lo == 0 && r.own_hi == 0);
    }
    pb_row_slice r = pb_row_slice_of(NULL, 0, 1);
    ck_assert_int_eq(r.oh_hi, 0);
}
END_TEST

/* Every reference argmax is inside its window; moving one to another tap
 * of the same window keeps the rows valid, moving it anywhere else does
 * not.  Covers unit and dilated columns. */
START_TEST(test_ws_rows_valid)
{
    for (int dil = 1; dil <= 2; dil++) {
        pb_desc d;
        pb_desc_init(&d);
        d.c = 5, d.ih = 9, d.iw = 11, d.kh = d.kw = 3, d.sh = d.sw = 2, d.pt = d.pb = d.pl = d.pr = 1;
        d.dh = d.dw = dil, d.alg = PB_ALG_MAX, d.layout = PB_LAYOUT_NHWC;
        ck_assert_int_eq(pb_desc_finalize(&d, NULL, 0), PB_OK);
        const size_t ns = (size_t)d.src_elems, nd = (size_t)d.dst_elems;
        float *src = malloc(ns * sizeof *src), *dst = malloc(nd * sizeof *dst);
        int32_t *ws = malloc(nd * sizeof *ws);
        ck_assert(src && dst && ws);
        for (size_t i = 0; i < ns; i++) src[i] = (float)((i * 37) % 101);
        pb_args a = {.src = src, .dst = dst, .ws = ws};
        ck_assert_int_eq(pb_impl_run(pb_impl_reference(), &d, PB_DIR_FWD_TRAIN, &a), PB_OK);
        ck_assert(pb_ws_rows_valid(&d, ws, 0, d.oh));
        /* output (1, 1), channel 3: window rows and columns 1 .. 1+2*dil */
        int32_t *e = ws + (1 * d.ow + 1) * d.c + 3, keep = *e;
        *e = (int32_t)((1 + 2 * dil) * d.iw + 1); /* another tap: valid */
        ck_assert(pb_ws_rows_valid(&d, ws, 0, d.oh));
        *e = (int32_t)((1 + dil) * d.iw + 1 + dil); /* the centre tap */
        ck_assert(pb_ws_rows_valid(&d, ws, 1, 2));
        *e = (int32_t)(1 * d.iw + 1 + 2 * dil + 1); /* one column past the window */
        ck_assert(!pb_ws_rows_valid(&d, ws, 0, d.oh));
        ck_assert(!pb_ws_rows_valid(&d, ws, 1, 2));
        ck_assert(pb_ws_rows_valid(&d, ws, 0, 1)); /* rows without it */
        ck_assert(pb_ws_rows_valid(&d, ws, 2, d.oh));
        *e = (int32_t)(8 * d.iw + 1); /* right column, a row below */
        ck_assert(!pb_ws_rows_valid(&d, ws, 1, 2));
        *e = -1;
        ck_assert(!pb_ws_rows_valid(&d, ws, 1, 2));
        if (dil == 2) { /* between two dilated taps */
            *e = (int32_t)(1 * d.iw + 2);
            ck_assert(!pb_ws_rows_valid(&d, ws, 1, 2));
        }
        *e = keep;
        ck_assert(pb_ws_rows_valid(&d, ws, 0, d.oh));
        ck_assert(pb_ws_rows_valid(&d, ws, 2, 2)); /* empty range */
        ck_assert(!pb_ws_rows_valid(&d, ws, 0, d.oh + 1));
        ck_assert(!pb_ws_rows_valid(NULL, ws, 0, 1));
        free(src), free(dst), free(ws);
    }
}
END_TEST

/* 1 channel, 4x4 input, 2x2/2: gradients land where the workspace says,
 * anywhere in the plane, summed in output order. */
START_TEST(test_scatter)
{
    pb_desc d;
    pb_desc_init(&d);
    d.c = 1, d.ih = d.iw = 4, d.kh = d.kw = 2, d.sh = d.sw = 2, d.alg = PB_ALG_MAX;
    ck_assert_int_eq(pb_desc_finalize(&d, NULL, 0), PB_OK);
    const float g[4] = {1.0f, 2.0f, 4.0f, 8.0f};
    int32_t ws[4] = {5, 15, 5, 0}; /* output 1 -> 15 is outside its window */
    float ds[16];
    memset(ds, 0xff, sizeof ds);
    ck_assert_int_eq(pb_max_bwd_scatter(&d, g, ws, ds, 1), PB_OK);
    for (int i = 0; i < 16; i++)
        ck_assert_float_eq(ds[i], i == 5 ? 5.0f : i == 15 ? 2.0f : i == 0 ? 8.0f : 0.0f);
    ws[2] = 16;
    ck_assert_int_eq(pb_max_bwd_scatter(&d, g, ws, ds, 1), PB_ERR_UNSUPPORTED);
    ck_assert_int_eq(pb_max_bwd_scatter(&d, g, ws, NULL, 1), PB_ERR_NULL);
    ck_assert_int_eq(pb_max_bwd_scatter(&d, g, ws, ds, 0), PB_ERR_NULL);
}
END_TEST

Suite *pb_test_suite_slices(void)
{
    Suite *s = suite_create("slices");
    TCase *tc = tcase_create("rows");
    tcase_add_test(tc, test_row_slice_table);
    tcase_add_test(tc, test_ws_rows_valid);
    tcase_add_test(tc, test_scatter);
    suite_add_tcase(s, tc);
    return s;
}
