/* Descriptor rules: output size, validation codes, divisors. */
#include <check.h>

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
    suite_add_tcase(s, tc);
    tc = tcase_create("regressions");
    tcase_add_test(tc, test_dst_too_large);
    tcase_add_test(tc, test_helpers_out_of_contract);
    suite_add_tcase(s, tc);
    return s;
}
