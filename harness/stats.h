/*
 * Statistics for comparing benchmark runs: median, geometric mean and the
 * two-sided Mann-Whitney U test (Wilcoxon rank-sum), as Google Benchmark's
 * tools/compare.py applies it to the repetitions of two runs.
 *
 * The U test follows scipy.stats.mannwhitneyu (scipy >= 1.7):
 *   U1 = R1 - n1(n1+1)/2 with R1 the rank sum of x (ties get mid-ranks),
 *   U2 = n1*n2 - U1, U = max(U1, U2).
 *   exact       p = 2 * P(U' >= U) under H0 (no ties only), capped at 1;
 *   asymptotic  z = (U - n1*n2/2 - 0.5) / sigma, with the tie-corrected
 *               sigma^2 = n1*n2/12 * ((n+1) - sum(t^3 - t) / (n(n-1))),
 *               p = 2 * (1 - Phi(z)) = erfc(z / sqrt 2), capped at 1;
 *   auto        exact when min(n1, n2) <= 8 and no value is tied, else
 *               asymptotic (scipy's 'auto' rule).
 */
#ifndef POOLBENCH_STATS_H
#define POOLBENCH_STATS_H

#include <stdbool.h>
#include <stddef.h>

#include "pool.h"

/* Median of n values (the mean of the two middle ones for even n).  x is
 * not modified.  PB_ERR_NULL for NULL pointers, PB_ERR_SHAPE for n == 0,
 * PB_ERR_NOMEM if the scratch copy fails.  NaN values are rejected
 * (PB_ERR_SHAPE): a median of timings with NaN in them means nothing. */
pb_status pb_median(const double *x, size_t n, double *out);

/* Geometric mean of n values, all finite and > 0 (else PB_ERR_SHAPE),
 * computed as exp(mean(log x)) so long products cannot overflow. */
pb_status pb_geomean(const double *x, size_t n, double *out);

typedef enum pb_utest_method {
    PB_UTEST_AUTO = 0,   /* scipy's rule: exact if min(n1,n2) <= 8 and no ties */
    PB_UTEST_EXACT,      /* exact null distribution; refused with ties */
    PB_UTEST_ASYMPTOTIC  /* normal approximation, tie and continuity corrected */
} pb_utest_method;

/* Largest sample size the exact distribution is computed for; larger
 * samples under PB_UTEST_EXACT give PB_ERR_TOO_LARGE. */
#define PB_UTEST_EXACT_MAX 100

typedef struct pb_utest {
    double u1;          /* U statistic of x: pairs (x_i, y_j) with x_i > y_j,
                           ties counting 1/2 (scipy's `statistic`) */
    double u2;          /* n1*n2 - u1 */
    double z;           /* asymptotic only: the standardized statistic (>= 0
                           before the continuity correction), else 0 */
    double p;           /* two-sided p-value in [0, 1] */
    double tie_term;    /* sum over tie groups of t^3 - t (0: no ties) */
    bool exact;         /* which method produced p */
    size_t n1, n2;
} pb_utest;

/* Two-sided Mann-Whitney U test of x (n1 values) against y (n2 values).
 * PB_ERR_NULL for NULL pointers; PB_ERR_SHAPE when a sample is empty or
 * holds NaN; PB_ERR_UNSUPPORTED for PB_UTEST_EXACT with ties;
 * PB_ERR_TOO_LARGE for PB_UTEST_EXACT past PB_UTEST_EXACT_MAX; PB_ERR_NOMEM.
 * When every value is equal (sigma = 0) the asymptotic p is 1: the samples
 * give no evidence of a difference. */
pb_status pb_mann_whitney(const double *x, size_t n1, const double *y, size_t n2,
                          pb_utest_method method, pb_utest *out);

/* P(U1 <= u) under H0 for sample sizes n1, n2 without ties (the exact
 * null distribution, each of the C(n1+n2, n1) orderings equally likely).
 * Exposed for tests against published critical-value tables. */
pb_status pb_utest_exact_cdf(size_t n1, size_t n2, double u, double *out);

#endif
