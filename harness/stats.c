/* Median, geometric mean and the Mann-Whitney U test; see stats.h. */
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

pb_status pb_median(const double *x, size_t n, double *out)
{
    if (!x || !out) return PB_ERR_NULL;
    if (n == 0) return PB_ERR_SHAPE;
    for (size_t i = 0; i < n; i++)
        if (isnan(x[i])) return PB_ERR_SHAPE;
    double *s = malloc(n * sizeof *s);
    if (!s) return PB_ERR_NOMEM;
    memcpy(s, x, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_double);
    /* halves summed separately so two huge values cannot overflow */
    *out = n % 2 ? s[n / 2] : s[n / 2 - 1] / 2 + s[n / 2] / 2;
    free(s);
    return PB_OK;
}

pb_status pb_geomean(const double *x, size_t n, double *out)
{
    if (!x || !out) return PB_ERR_NULL;
    if (n == 0) return PB_ERR_SHAPE;
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i]) || x[i] <= 0) return PB_ERR_SHAPE;
        sum += log(x[i]);
    }
    *out = exp(sum / (double)n);
    return PB_OK;
}

/* Counts of orderings by U1, for sizes n1, n2 without ties: out[u] for
 * u = 0 .. n1*n2.  Recurrence on the largest element: if it is an x it
 * beats all j y's, else it adds nothing:
 *   N(i, j, u) = N(i-1, j, u-j) + N(i, j-1, u),   N(i, 0, u) = N(0, j, u) = [u == 0].
 * Rows i are kept for the current j and updated in place, i ascending, so
 * row i-1 already holds column j when row i reads it.  Doubles hold the
 * counts: C(200, 100) ~ 9e58 is far inside their range and the relative
 * rounding error stays near 1e-15. */
static pb_status exact_counts(size_t n1, size_t n2, double **counts)
{
    size_t width = n1 * n2 + 1;
    double *f = calloc((n1 + 1) * width, sizeof *f);
    if (!f) return PB_ERR_NOMEM;
    for (size_t i = 0; i <= n1; i++) f[i * width] = 1;
    for (size_t j = 1; j <= n2; j++)
        for (size_t i = 1; i <= n1; i++) {
            double *row = f + i * width;
            const double *prev = f + (i - 1) * width;
            for (size_t u = i * j + 1; u-- > j;) row[u] += prev[u - j];
        }
    double *res = malloc(width * sizeof *res);
    if (!res) {
        free(f);
        return PB_ERR_NOMEM;
    }
    memcpy(res, f + n1 * width, width * sizeof *res);
    free(f);
    *counts = res;
    return PB_OK;
}

pb_status pb_utest_exact_cdf(size_t n1, size_t n2, double u, double *out)
{
    if (!out) return PB_ERR_NULL;
    if (n1 == 0 || n2 == 0 || isnan(u)) return PB_ERR_SHAPE;
    if (n1 > PB_UTEST_EXACT_MAX || n2 > PB_UTEST_EXACT_MAX) return PB_ERR_TOO_LARGE;
    double *c;
    pb_status st = exact_counts(n1, n2, &c);
    if (st != PB_OK) return st;
    size_t width = n1 * n2 + 1;
    double total = 0, below = 0;
    for (size_t k = 0; k < width; k++) {
        total += c[k];
        if ((double)k <= u) below += c[k];
    }
    free(c);
    *out = below / total;
    return PB_OK;
}

typedef struct ranked {
    double v;
    int from_x;
} ranked;

static int cmp_ranked(const void *a, const void *b)
{
    return cmp_double(&((const ranked *)a)->v, &((const ranked *)b)->v);
}

pb_status pb_mann_whitney(const double *x, size_t n1, const double *y, size_t n2,
                          pb_utest_method method, pb_utest *out)
{
    if (!x || !y || !out) return PB_ERR_NULL;
    if (n1 == 0 || n2 == 0) return PB_ERR_SHAPE;
    if (method != PB_UTEST_AUTO && method != PB_UTEST_EXACT && method != PB_UTEST_ASYMPTOTIC)
        return PB_ERR_UNKNOWN_NAME;
    size_t n = n1 + n2;
    ranked *r = malloc(n * sizeof *r);
    if (!r) return PB_ERR_NOMEM;
    for (size_t i = 0; i < n1; i++) r[i] = (ranked){x[i], 1};
    for (size_t j = 0; j < n2; j++) r[n1 + j] = (ranked){y[j], 0};
    for (size_t k = 0; k < n; k++)
        if (isnan(r[k].v)) {
            free(r);
            return PB_ERR_SHAPE;
        }
    qsort(r, n, sizeof *r, cmp_ranked);

    /* mid-ranks: a tie group at sorted positions [a, b) gets rank (a+b+1)/2
     * (1-based), and contributes t^3 - t to the tie term */
    double r1 = 0, tie_term = 0;
    for (size_t a = 0; a < n;) {
        size_t b = a + 1;
        while (b < n && r[b].v == r[a].v) b++;
        double rank = (double)(a + b + 1) / 2, t = (double)(b - a);
        for (size_t k = a; k < b; k++)
            if (r[k].from_x) r1 += rank;
        tie_term += t * t * t - t;
        a = b;
    }
    free(r);

    pb_utest res = {0};
    res.n1 = n1;
    res.n2 = n2;
    res.tie_term = tie_term;
    double fn1 = (double)n1, fn2 = (double)n2, fn = (double)n;
    res.u1 = r1 - fn1 * (fn1 + 1) / 2;
    res.u2 = fn1 * fn2 - res.u1;
    double u = res.u1 > res.u2 ? res.u1 : res.u2;

    bool ties = tie_term > 0;
    if (method == PB_UTEST_EXACT && ties) return PB_ERR_UNSUPPORTED;
    if (method == PB_UTEST_EXACT && (n1 > PB_UTEST_EXACT_MAX || n2 > PB_UTEST_EXACT_MAX))
        return PB_ERR_TOO_LARGE;
    bool exact = method == PB_UTEST_EXACT ||
                 (method == PB_UTEST_AUTO && !ties && (n1 <= 8 || n2 <= 8) &&
                  n1 <= PB_UTEST_EXACT_MAX && n2 <= PB_UTEST_EXACT_MAX);
    if (exact) {
        /* P(U1' >= U) = P(U1' <= n1*n2 - U) by the symmetry of the null */
        double cdf;
        pb_status st = pb_utest_exact_cdf(n1, n2, fn1 * fn2 - u, &cdf);
        if (st != PB_OK) return st;
        res.p = fmin(1.0, 2 * cdf);
        res.exact = true;
    } else {
        double mu = fn1 * fn2 / 2;
        double var = fn1 * fn2 / 12 * ((fn + 1) - tie_term / (fn * (fn - 1)));
        if (var <= 0) {
            res.p = 1; /* every value equal: no evidence either way */
        } else {
            res.z = (u - mu - 0.5) / sqrt(var);
            res.p = fmin(1.0, erfc(res.z / sqrt(2.0)));
        }
    }
    *out = res;
    return PB_OK;
}
