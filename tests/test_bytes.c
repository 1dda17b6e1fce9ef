/* The byte model, against hand-computed tables. */
#include <check.h>

#include "bytes.h"

/* mb1 ic64 112x112, 3x3 stride 2 pad 1 (ResNet-50's pool1): out 56x56.
 * src 64*112*112 = 802816 floats = 3211264 B; dst 64*56*56 = 200704
 * floats = 802816 B; ws the same count of int32 = 802816 B. */
static pb_desc pool1(pb_alg alg)
{
    pb_desc d;
    pb_desc_init(&d);
    d.c = 64;
    d.ih = d.iw = 112;
    d.kh = d.kw = 3;
    d.sh = d.sw = 2;
    d.pt = d.pb = d.pl = d.pr = 1;
    d.alg = alg;
    ck_assert_int_eq(pb_desc_finalize(&d, NULL, 0), PB_OK);
    ck_assert_int_eq(d.oh, 56);
    return d;
}

static void expect(const pb_desc *d, pb_dir dir, int64_t src, int64_t dst, int64_t ws,
                   int64_t ddst, int64_t dsrc, int64_t read, int64_t write)
{
    pb_bytes b;
    ck_assert_int_eq(pb_bytes_model(d, dir, &b), PB_OK);
    ck_assert_int_eq(b.src, src);
    ck_assert_int_eq(b.dst, dst);
    ck_assert_int_eq(b.ws, ws);
    ck_assert_int_eq(b.diff_dst, ddst);
    ck_assert_int_eq(b.diff_src, dsrc);
    ck_assert_int_eq(b.read, read);
    ck_assert_int_eq(b.write, write);
    ck_assert_int_eq(b.total, read + write);
    ck_assert_int_eq(b.elements, d->src_elems);
}

START_TEST(test_max_pool1)
{
    pb_desc d = pool1(PB_ALG_MAX);
    expect(&d, PB_DIR_FWD_INF, 3211264, 802816, 0, 0, 0, 3211264, 802816);
    expect(&d, PB_DIR_FWD_TRAIN, 3211264, 802816, 802816, 0, 0, 3211264, 1605632);
    expect(&d, PB_DIR_BWD, 0, 0, 802816, 802816, 3211264, 1605632, 3211264);
    pb_bytes b;
    ck_assert_int_eq(pb_bytes_model(&d, PB_DIR_FWD_TRAIN, &b), PB_OK);
    ck_assert_int_eq(b.total, 4816896);
    ck_assert_int_eq(b.elements, 802816);
}
END_TEST

START_TEST(test_avg_pool1)
{
    /* avg: no indices in training or backward */
    for (int a = PB_ALG_AVG_INCL; a <= PB_ALG_AVG_EXCL; a++) {
        pb_desc d = pool1((pb_alg)a);
        expect(&d, PB_DIR_FWD_INF, 3211264, 802816, 0, 0, 0, 3211264, 802816);
        expect(&d, PB_DIR_FWD_TRAIN, 3211264, 802816, 0, 0, 0, 3211264, 802816);
        expect(&d, PB_DIR_BWD, 0, 0, 0, 802816, 3211264, 802816, 3211264);
    }
}
END_TEST

START_TEST(test_global)
{
    /* mb2 ic2048 7x7 global: src 2*2048*49 = 200704 floats = 802816 B,
     * dst 2*2048 = 4096 floats = 16384 B */
    pb_desc d;
    pb_desc_init(&d);
    d.n = 2;
    d.c = 2048;
    d.ih = d.iw = 7;
    d.global = true;
    d.alg = PB_ALG_AVG_EXCL;
    ck_assert_int_eq(pb_desc_finalize(&d, NULL, 0), PB_OK);
    expect(&d, PB_DIR_FWD_INF, 802816, 16384, 0, 0, 0, 802816, 16384);
    expect(&d, PB_DIR_BWD, 0, 0, 0, 16384, 802816, 16384, 802816);
    d.alg = PB_ALG_MAX;
    expect(&d, PB_DIR_FWD_TRAIN, 802816, 16384, 16384, 0, 0, 802816, 32768);
    expect(&d, PB_DIR_BWD, 0, 0, 16384, 16384, 802816, 32768, 802816);
}
END_TEST

START_TEST(test_rejects)
{
    pb_desc d = pool1(PB_ALG_MAX);
    pb_bytes b;
    ck_assert_int_eq(pb_bytes_model(NULL, PB_DIR_FWD_INF, &b), PB_ERR_NULL);
    ck_assert_int_eq(pb_bytes_model(&d, PB_DIR_FWD_INF, NULL), PB_ERR_NULL);
    ck_assert_int_eq(pb_bytes_model(&d, PB_DIR_COUNT, &b), PB_ERR_DIR);
    ck_assert_int_eq(pb_bytes_model(&d, (pb_dir)-1, &b), PB_ERR_DIR);
    pb_desc bad = d;
    bad.alg = PB_ALG_COUNT;
    ck_assert_int_eq(pb_bytes_model(&bad, PB_DIR_FWD_INF, &b), PB_ERR_ALG);
    bad = d;
    bad.dtype = PB_DT_COUNT;
    ck_assert_int_eq(pb_bytes_model(&bad, PB_DIR_FWD_INF, &b), PB_ERR_DTYPE);
    /* not finalized: no element counts */
    pb_desc raw;
    pb_desc_init(&raw);
    ck_assert_int_eq(pb_bytes_model(&raw, PB_DIR_FWD_INF, &b), PB_ERR_SHAPE);
    bad = d;
    bad.src_elems = INT64_MAX / 4;
    ck_assert_int_eq(pb_bytes_model(&bad, PB_DIR_FWD_INF, &b), PB_ERR_OVERFLOW);
    ck_assert_int_eq(b.total, 0); /* cleared on error */
}
END_TEST

Suite *pb_test_suite_bytes(void)
{
    Suite *s = suite_create("bytes");
    TCase *tc = tcase_create("model");
    tcase_add_test(tc, test_max_pool1);
    tcase_add_test(tc, test_avg_pool1);
    tcase_add_test(tc, test_global);
    tcase_add_test(tc, test_rejects);
    suite_add_tcase(s, tc);
    return s;
}
