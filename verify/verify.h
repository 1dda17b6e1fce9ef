/*
 * Verification: cross-check an implementation against the reference, the
 * finite-difference gradient checker, and property checks.  All entry
 * points take a pb_impl pointer, so tests can pass deliberately broken
 * implementations (negative controls) that are not in the registry.
 *
 * Tolerances (documented in README "Semantics"):
 *   max  (fwd values, argmax, bwd)  bitwise equal.  Backward upstream
 *        gradients are filled with small multiples of 1/8 so every sum is
 *        exact in float whatever the accumulation order.
 *   avg  forward and backward: |got - ref| <= PB_AVG_ULPS ulps of the
 *        reference, counted on a scale of max(|ref|, 1) so near-zero
 *        results do not demand impossible relative accuracy.
 */
#ifndef POOLBENCH_VERIFY_H
#define POOLBENCH_VERIFY_H

#include "pool.h"

#define PB_AVG_ULPS 8

/* Input patterns.  DISTINCT: seeded, pairwise distinct values (integers
 * for max so comparisons are exact), unique argmax.  TIES: few distinct
 * values, many ties.  NAN / INF: DISTINCT plus seeded NaN, +inf and -inf
 * elements (and some all -inf windows). */
typedef enum pb_fill { PB_FILL_DISTINCT = 0, PB_FILL_TIES, PB_FILL_NAN, PB_FILL_INF, PB_FILL_COUNT } pb_fill;
const char *pb_fill_name(pb_fill f);

/* Fill n floats for the given problem (alg decides integer vs real values). */
void pb_fill_src(const pb_desc *d, pb_fill f, uint64_t seed, float *src, int64_t n);
/* Upstream gradient: small multiples of 1/8 (exact sums). */
void pb_fill_diff_dst(uint64_t seed, float *diff_dst, int64_t n);
/* Poison outputs before each run so an unwritten element is caught:
 * a NaN payload no kernel produces, and INT32_MIN for indices. */
void pb_poison_f32(float *p, int64_t n);
void pb_poison_i32(int32_t *p, int64_t n);

typedef enum pb_verdict { PB_PASS = 0, PB_FAIL, PB_SKIP } pb_verdict;
const char *pb_verdict_name(pb_verdict v); /* "PASS", "FAIL", "SKIPPED" */

typedef struct pb_check {
    pb_verdict verdict;
    double max_abs_err;   /* largest |got - ref| over compared elements */
    double max_ulp_err;   /* the same in ulps (see tolerances) */
    int64_t compared;     /* elements compared */
    char detail[320];     /* SKIPPED: the reason; FAIL: seed, what differs
                             and the first differing (n,c,h,w) with both values */
} pb_check;

/* Runs `impl` and the reference on (d, dir) with `fill` and `seed`,
 * poisoning outputs first, and compares dst (and ws for max training), or
 * diff_src for backward (the backward of both is fed the reference's
 * argmax).  An implementation that does not accept the case is SKIP with
 * its reason.  Returns PB_OK unless the check itself could not run
 * (allocation, invalid descriptor); a FAIL is a verdict, not an error. */
pb_status pb_verify_case(const pb_impl *impl, const pb_desc *d, pb_dir dir, pb_fill fill,
                         uint64_t seed, pb_check *out);

/* Finite-difference gradient check of impl's backward:
 * L(x) = sum(w * pool(x)) with seeded weights w; dL/dx by central
 * differences in double (step PB_FD_STEP on inputs spaced far apart, so no
 * argmax flips); compared with impl's backward given diff_dst = w.
 * PASS when |fd - analytic| <= PB_FD_ATOL + PB_FD_RTOL * |fd| everywhere.
 * max_abs_err / max_ulp_err hold the worst abs and relative errors. */
#define PB_FD_STEP 1e-3
#define PB_FD_ATOL 1e-4
#define PB_FD_RTOL 1e-3
pb_status pb_gradcheck_case(const pb_impl *impl, const pb_desc *d, uint64_t seed, pb_check *out);

/* Properties of one implementation's forward (and, for the mass check,
 * backward): perturbing channel c changes only output channel c; the
 * gradient mass of each max window's argmax equals its upstream gradient. */
pb_status pb_check_channel_independence(const pb_impl *impl, const pb_desc *d, uint64_t seed,
                                        pb_check *out);
pb_status pb_check_max_grad_mass(const pb_impl *impl, const pb_desc *d, uint64_t seed,
                                 pb_check *out);

#endif
