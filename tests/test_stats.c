/* Statistics: median, geometric mean and the Mann-Whitney U test, against
 * values worked out independently of stats.c.  The source of every
 * expected value is given beside it. */
#include <check.h>
#include <math.h>

#include "stats.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

START_TEST(test_median_odd_even)
{
    /* by hand: sorted {1, 2, 5} -> 2; sorted {1, 2, 4, 9} -> (2 + 4) / 2 = 3 */
    const double odd[] = {5, 1, 2}, even[] = {9, 2, 4, 1};
    double m = 0;
    ck_assert_int_eq(pb_median(odd, N(odd), &m), PB_OK);
    ck_assert_double_eq(m, 2.0);
    ck_assert_int_eq(pb_median(even, N(even), &m), PB_OK);
    ck_assert_double_eq(m, 3.0);
    ck_assert_double_eq(odd[0], 5.0); /* input untouched */
}
END_TEST

START_TEST(test_median_rejects)
{
    const double nan_in[] = {1, NAN, 3};
    double m;
    ck_assert_int_eq(pb_median(nan_in, 0, &m), PB_ERR_SHAPE);
    ck_assert_int_eq(pb_median(nan_in, 3, &m), PB_ERR_SHAPE);
    ck_assert_int_eq(pb_median(NULL, 3, &m), PB_ERR_NULL);
    ck_assert_int_eq(pb_median(nan_in, 1, NULL), PB_ERR_NULL);
}
END_TEST

START_TEST(test_geomean)
{
    /* by hand: (2 * 8)^(1/2) = 4; (1 * 3 * 9)^(1/3) = 27^(1/3) = 3 */
    const double a[] = {2, 8}, b[] = {1, 3, 9}, bad[] = {1, 0, 2}, neg[] = {-1, 2};
    double g;
    ck_assert_int_eq(pb_geomean(a, N(a), &g), PB_OK);
    ck_assert_double_eq_tol(g, 4.0, 1e-12);
    ck_assert_int_eq(pb_geomean(b, N(b), &g), PB_OK);
    ck_assert_double_eq_tol(g, 3.0, 1e-12);
    ck_assert_int_eq(pb_geomean(bad, N(bad), &g), PB_ERR_SHAPE);
    ck_assert_int_eq(pb_geomean(neg, N(neg), &g), PB_ERR_SHAPE);
    ck_assert_int_eq(pb_geomean(a, 0, &g), PB_ERR_SHAPE);
}
END_TEST

/* Two-sided critical values of U at alpha = 0.05 from the standard
 * published Mann-Whitney table (e.g. Siegel & Castellan, Nonparametric
 * Statistics, table J; reproduced in most statistics textbooks): the
 * largest U with 2 * P(U' <= U) <= 0.05.  So 2*cdf(crit) <= 0.05 and
 * 2*cdf(crit + 1) > 0.05.  (Cross-checked by brute-force enumeration of all
 * C(n1+n2, n1) orderings in exact rational arithmetic.) */
START_TEST(test_exact_critical_values)
{
    static const struct {
        size_t n1, n2;
        int crit;
    } table[] = {{4, 5, 1}, {5, 5, 2}, {5, 10, 8}, {6, 6, 5}, {7, 7, 8},
                 {8, 8, 13}, {9, 9, 17}, {10, 10, 23}, {20, 20, 127}};
    for (size_t i = 0; i < N(table); i++) {
        double at = 0, above = 0;
        ck_assert_int_eq(pb_utest_exact_cdf(table[i].n1, table[i].n2, table[i].crit, &at), PB_OK);
        ck_assert_int_eq(pb_utest_exact_cdf(table[i].n1, table[i].n2, table[i].crit + 1, &above),
                         PB_OK);
        ck_assert_msg(2 * at <= 0.05 && 2 * above > 0.05, "n1=%zu n2=%zu crit=%d: 2P=%g, next %g",
                      table[i].n1, table[i].n2, table[i].crit, 2 * at, 2 * above);
    }
    /* exact fractions by enumeration: n1 = n2 = 9, P(U <= 17) =
     * 972 / 48620 (2P = 0.0399835...), P(U <= 18) has 2P = 0.0503085... */
    double c;
    ck_assert_int_eq(pb_utest_exact_cdf(9, 9, 17, &c), PB_OK);
    ck_assert_double_eq_tol(2 * c, 0.039983545865898806, 1e-12);
    ck_assert_int_eq(pb_utest_exact_cdf(9, 9, 18, &c), PB_OK);
    ck_assert_double_eq_tol(2 * c, 0.05030851501439737, 1e-12);
}
END_TEST

START_TEST(test_exact_small_by_hand)
{
    /* x = {1,2,3}, y = {4,5,6}: no x exceeds a y, U1 = 0, U2 = 9.  Of the
     * C(6,3) = 20 equally likely orderings only this one has U1 = 0, so
     * p = 2 * 1/20 = 0.1 (by hand). */
    const double x[] = {1, 2, 3}, y[] = {4, 5, 6};
    pb_utest t;
    ck_assert_int_eq(pb_mann_whitney(x, 3, y, 3, PB_UTEST_AUTO, &t), PB_OK);
    ck_assert(t.exact);
    ck_assert_double_eq(t.u1, 0.0);
    ck_assert_double_eq(t.u2, 9.0);
    ck_assert_double_eq_tol(t.p, 0.1, 1e-15);
    /* swapping the samples swaps U1 and U2, p unchanged */
    ck_assert_int_eq(pb_mann_whitney(y, 3, x, 3, PB_UTEST_AUTO, &t), PB_OK);
    ck_assert_double_eq(t.u1, 9.0);
    ck_assert_double_eq_tol(t.p, 0.1, 1e-15);

    /* x = {1,2,4}, y = {3,5,6}: only 4 > 3, U1 = 1.  Orderings with
     * U1 <= 1: xxxyyy and xxyxyy, 2 of 20, p = 2 * 2/20 = 0.2 (by hand). */
    const double x2[] = {1, 2, 4}, y2[] = {3, 5, 6};
    ck_assert_int_eq(pb_mann_whitney(x2, 3, y2, 3, PB_UTEST_EXACT, &t), PB_OK);
    ck_assert_double_eq(t.u1, 1.0);
    ck_assert_double_eq_tol(t.p, 0.2, 1e-15);

    /* identical location, fully interleaved: x = {1,4,5,8}, y = {2,3,6,7}:
     * U1 = 0 + 2 + 2 + 4 = 8 = n1*n2/2, so p = 2 * P(U <= 8) >= 1 -> 1 */
    const double x3[] = {1, 4, 5, 8}, y3[] = {2, 3, 6, 7};
    ck_assert_int_eq(pb_mann_whitney(x3, 4, y3, 4, PB_UTEST_EXACT, &t), PB_OK);
    ck_assert_double_eq(t.u1, 8.0);
    ck_assert_double_eq(t.p, 1.0);
}
END_TEST

/* The tortoise and hare race from Wikipedia's "Mann-Whitney U test"
 * article (section "Illustration of calculation methods"): finishing order
 * T H H H H H T T T T T H, six of each; the article gives U_T = 11 and
 * U_H = 25.  With positions as values, lower = faster, U1 of the tortoises
 * in the "x_i > y_j" convention is 25 and U2 = 11.  Exact two-sided
 * p = 2 * P(U <= 11 | 6, 6) = 2 * 143/924 = 0.309523... (enumeration). */
START_TEST(test_tortoise_and_hare)
{
    const double tortoise[] = {1, 7, 8, 9, 10, 11}, hare[] = {2, 3, 4, 5, 6, 12};
    pb_utest t;
    ck_assert_int_eq(pb_mann_whitney(tortoise, 6, hare, 6, PB_UTEST_AUTO, &t), PB_OK);
    ck_assert_double_eq(t.u1, 25.0);
    ck_assert_double_eq(t.u2, 11.0);
    ck_assert(t.exact);
    ck_assert_double_eq_tol(t.p, 0.30952380952380953, 1e-12);
}
END_TEST

/* Ties, by hand: x = {1,2,2,3}, y = {2,3,4,5}.  Pooled and sorted:
 * 1x 2x 2x 2y 3x 3y 4y 5y; mid-ranks 1, 3,3,3, 5.5,5.5, 7, 8.
 * R1 = 1 + 3 + 3 + 5.5 = 12.5, U1 = 12.5 - 4*5/2 = 2.5 (pairwise: x=2 ties
 * y=2 twice, 0.5 each; x=3 beats y=2 and ties y=3: 1.5), U2 = 13.5.
 * Tie term: group of three 2s: 27 - 3 = 24, two 3s: 8 - 2 = 6, total 30.
 * sigma^2 = 16/12 * (9 - 30/(8*7)) = 11.2857142857...,
 * z = (13.5 - 8 - 0.5) / sqrt(sigma^2) = 1.48835139...,
 * p = erfc(z / sqrt 2) = 0.136658247... (Python's math.erfc on the
 * hand-derived z). */
START_TEST(test_asymptotic_ties)
{
    const double x[] = {1, 2, 2, 3}, y[] = {2, 3, 4, 5};
    pb_utest t;
    ck_assert_int_eq(pb_mann_whitney(x, 4, y, 4, PB_UTEST_AUTO, &t), PB_OK);
    ck_assert(!t.exact); /* ties force the normal approximation */
    ck_assert_double_eq(t.u1, 2.5);
    ck_assert_double_eq(t.u2, 13.5);
    ck_assert_double_eq(t.tie_term, 30.0);
    ck_assert_double_eq_tol(t.z, 1.4883513944689681, 1e-12);
    ck_assert_double_eq_tol(t.p, 0.13665824773814753, 1e-12);
    ck_assert_int_eq(pb_mann_whitney(x, 4, y, 4, PB_UTEST_EXACT, &t), PB_ERR_UNSUPPORTED);
}
END_TEST

/* Nine repetitions each, completely separated (what compare sees for a
 * clear slowdown): U = 81, mu = 40.5, sigma^2 = 81/12 * 19 = 128.25,
 * z = (81 - 40.5 - 0.5) / sqrt(128.25) = 3.53208628...,
 * p = erfc(z / sqrt 2) = 4.1229480e-4 (hand formula, Python math.erfc). */
START_TEST(test_asymptotic_separated_9)
{
    double x[9], y[9];
    for (int i = 0; i < 9; i++) {
        x[i] = 1 + i;
        y[i] = 10 + i;
    }
    pb_utest t;
    ck_assert_int_eq(pb_mann_whitney(x, 9, y, 9, PB_UTEST_AUTO, &t), PB_OK);
    ck_assert(!t.exact); /* both samples > 8 */
    ck_assert_double_eq(t.u1, 0.0);
    ck_assert_double_eq(t.u2, 81.0);
    ck_assert_double_eq_tol(t.z, 3.5320862855067836, 1e-12);
    ck_assert_double_eq_tol(t.p, 0.0004122948020616911, 1e-15);
}
END_TEST

START_TEST(test_all_equal_and_rejects)
{
    /* every value tied: sigma = 0, no evidence, p = 1 (U1 = 9 * 0.5 = 4.5) */
    const double a[] = {7, 7, 7}, b[] = {7, 7, 7}, nan_in[] = {1, NAN};
    pb_utest t;
    ck_assert_int_eq(pb_mann_whitney(a, 3, b, 3, PB_UTEST_AUTO, &t), PB_OK);
    ck_assert_double_eq(t.u1, 4.5);
    ck_assert_double_eq(t.p, 1.0);
    ck_assert_int_eq(pb_mann_whitney(a, 0, b, 3, PB_UTEST_AUTO, &t), PB_ERR_SHAPE);
    ck_assert_int_eq(pb_mann_whitney(nan_in, 2, b, 3, PB_UTEST_AUTO, &t), PB_ERR_SHAPE);
    ck_assert_int_eq(pb_mann_whitney(NULL, 2, b, 3, PB_UTEST_AUTO, &t), PB_ERR_NULL);
    ck_assert_int_eq(pb_mann_whitney(a, 3, b, 3, (pb_utest_method)7, &t), PB_ERR_UNKNOWN_NAME);
    double c;
    ck_assert_int_eq(pb_utest_exact_cdf(PB_UTEST_EXACT_MAX + 1, 2, 1, &c), PB_ERR_TOO_LARGE);
}
END_TEST

/* Exact and asymptotic agree for larger samples: n1 = n2 = 20, x takes
 * pooled ranks 7..26 (x_i = 6 + i) and y the rest, so every x beats
 * exactly the 6 low y's: U1 = 20 * 6 = 120, U2 = 280.
 *   exact      2 * P(U <= 120 | 20, 20) = 0.0304112560... (exact rational
 *              arithmetic, Python, memoized recurrence over big integers)
 *   asymptotic z = (280 - 200 - 0.5) / sqrt(400/12 * 41) = 2.15048207...,
 *              p = erfc(z / sqrt 2) = 0.0315171020... (hand formula) */
START_TEST(test_exact_vs_asymptotic_20)
{
    double x[20], y[20];
    for (int i = 0; i < 20; i++) x[i] = 6 + i;
    for (int i = 0; i < 6; i++) y[i] = i;
    for (int i = 6; i < 20; i++) y[i] = 20 + i;
    pb_utest e, a;
    ck_assert_int_eq(pb_mann_whitney(x, 20, y, 20, PB_UTEST_EXACT, &e), PB_OK);
    ck_assert_int_eq(pb_mann_whitney(x, 20, y, 20, PB_UTEST_ASYMPTOTIC, &a), PB_OK);
    ck_assert_double_eq(e.u1, 120.0);
    ck_assert_double_eq(a.u1, 120.0);
    ck_assert(e.exact && !a.exact);
    ck_assert_double_eq_tol(e.p, 0.030411256038764864, 1e-12);
    ck_assert_double_eq_tol(a.z, 2.1504820786818257, 1e-12);
    ck_assert_double_eq_tol(a.p, 0.031517102074561605, 1e-12);
    /* AUTO picks the asymptotic method at this size */
    ck_assert_int_eq(pb_mann_whitney(x, 20, y, 20, PB_UTEST_AUTO, &a), PB_OK);
    ck_assert(!a.exact);
}
END_TEST

Suite *pb_test_suite_stats(void)
{
    Suite *s = suite_create("stats");
    TCase *tc = tcase_create("stats");
    tcase_add_test(tc, test_median_odd_even);
    tcase_add_test(tc, test_median_rejects);
    tcase_add_test(tc, test_geomean);
    tcase_add_test(tc, test_exact_critical_values);
    tcase_add_test(tc, test_exact_small_by_hand);
    tcase_add_test(tc, test_tortoise_and_hare);
    tcase_add_test(tc, test_asymptotic_ties);
    tcase_add_test(tc, test_asymptotic_separated_9);
    tcase_add_test(tc, test_all_equal_and_rejects);
    tcase_add_test(tc, test_exact_vs_asymptotic_20);
    suite_add_tcase(s, tc);
    return s;
}
