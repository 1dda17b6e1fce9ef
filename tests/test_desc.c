/* Descriptor rules: output size, validation codes, divisors. */
#include <check.h>

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

Suite *pb_test_suite_desc(void)
{
    Suite *s = suite_create("desc");
    TCase *tc = tcase_create("output_size");
    tcase_add_test(tc, test_halves_224);
    suite_add_tcase(s, tc);
    return s;
}
