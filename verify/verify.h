/*
 * Verification: cross-check an implementation against the reference, the
 * finite-difference gradient checker, and property checks.  All entry
 * points take a pb_impl pointer, so tests can pass deliberately broken
 * implementations (negative controls) that are not in the registry.
 *
 * Tolerances (documented in README "Semantics"):
 *   max  (fwd values, argmax, bwd)  bitwise equal; two NaNs count as equal
 *        unless one of them is the poison pattern (an unwritten element).
 *        Backward upstream gradients are filled with small multiples of
 *        1/8 so every sum is exact in float whatever the accumulation order.
 *   avg  forward and backward: |got - ref| <= PB_AVG_ULPS ulps, where one
 *        ulp is the float spacing at the scale
 *            max(|ref|, ref_abs, 1)
 *        and ref_abs is the reference evaluated on the absolute values of
 *        the summed inputs (|src| forward, |diff_dst| backward), i.e. the
 *        magnitude of the terms the element sums.  The floor of 1 keeps
 *        near-zero results from demanding impossible relative accuracy;
 *        ref_abs covers cancellation in float accumulation (a backward
 *        element summing 9..25 shares can round at the size of its largest
 *        partial sum, not of its small final value).  A non-finite
 *        reference must be matched exactly (NaN by any NaN).
 */
#ifndef POOLBENCH_VERIFY_H
#define POOLBENCH_VERIFY_H

#include "pool.h"

#define PB_AVG_ULPS 8

/* Input patterns.  Every value is a function of (seed, logical n, c, h, w),
 * so NCHW and NHWC fills of one problem hold the same tensor.
 *   DISTINCT  max: integers distinct within each (n, c) plane (a seeded
 *             permutation of the plane's positions, about 7/8 of them
 *             negative so a kernel letting padding or a zero-initialised
 *             accumulator win is caught), exact in f32 and unique argmax for
 *             planes up to 2^24 elements.  avg: seeded multiples of 1/4 in
 *             [-32, 32): every partial sum of up to 2^17 taps is exact in
 *             f32, so only the final division rounds.
 *   TIES      integers in {-2, -1, 0, 1}: many ties in every window.
 *   NAN       DISTINCT plus seeded NaN (1/16 of the elements), +inf and
 *             -inf (1/64 each).
 *   INF       DISTINCT plus seeded +inf and -inf (1/16 each) and, in every
 *             even-numbered plane (n*C + c even), 1 + OH*OW/16 seeded whole
 *             windows set to -inf.  No NaN. */
typedef enum pb_fill { PB_FILL_DISTINCT = 0, PB_FILL_TIES, PB_FILL_NAN, PB_FILL_INF, PB_FILL_COUNT } pb_fill;
const char *pb_fill_name(pb_fill f); /* "distinct", "ties", "nan", "inf" */
/* Name -> value; PB_ERR_UNKNOWN_NAME for an unknown name, PB_ERR_NULL. */
pb_status pb_fill_parse(const char *s, pb_fill *out);

/* Fill n floats of the source tensor of finalized problem d (alg decides
 * integer vs quarter values; n is normally d->src_elems, elements past it
 * continue the batch index).  Does nothing if d or src is NULL, n < 1 or f
 * is out of range. */
void pb_fill_src(const pb_desc *d, pb_fill f, uint64_t seed, float *src, int64_t n);
/* Upstream gradient: k/8 for seeded integers k in [-64, 64] (exact sums of
 * up to 2^18 terms in any order), zeros of either sign.  Does nothing if
 * diff_dst is NULL. */
void pb_fill_diff_dst(uint64_t seed, float *diff_dst, int64_t n);
/* Poison outputs before each run so an unwritten element is caught:
 * the quiet NaN with bit pattern PB_POISON_F32_BITS (arithmetic never
 * creates this payload; a kernel that accumulates into a poisoned element
 * propagates it and is caught too), and PB_POISON_I32 for indices. */
#define PB_POISON_F32_BITS 0x7FDEAD00u
#define PB_POISON_I32 INT32_MIN
void pb_poison_f32(float *p, int64_t n);
void pb_poison_i32(int32_t *p, int64_t n);
/* True when v carries the poison pattern (an element nobody wrote). */
bool pb_is_poison_f32(float v);

typedef enum pb_verdict { PB_PASS = 0, PB_FAIL, PB_SKIP } pb_verdict;
const char *pb_verdict_name(pb_verdict v); /* "PASS", "FAIL", "SKIPPED" */

typedef struct pb_check {
    pb_verdict verdict;
    double max_abs_err;   /* largest |got - ref| over compared elements (inf
                             for a non-finite or unwritten mismatch) */
    double max_ulp_err;   /* the same in ulps of the scale (see tolerances);
                             gradcheck: the worst relative error */
    int64_t compared;     /* elements compared (values and argmax counted
                             separately); gradcheck: positions checked;
                             properties: outputs, planes and windows checked */
    char detail[320];     /* SKIPPED: the reason.  FAIL: "seed=S PROBLEM ALG
                             LAYOUT DIR[ FILL]: " then what differs, the first
                             differing (n,c,h,w) in logical order with both
                             values (and both argmax), and how many differ.
                             PASS: empty, or (gradcheck) what was checked */
} pb_check;

/* Runs `impl` and the reference on (d, dir) with `fill` and `seed`,
 * poisoning outputs first, and compares dst (and ws for max training), or
 * diff_src for backward (the backward of both is fed the same diff_dst and
 * the reference's argmax; src is given too).  Every buffer the
 * implementation sees sits at an odd float offset between guard zones: a
 * write outside a buffer, or into a read-only input, is a FAIL naming it.
 * An implementation returning an error is a FAIL.
 * SKIP (detail = reason): impl does not accept the case; max with NAN fill
 * and PB_QUIRK_NAN_IGNORED; max with INF fill and PB_QUIRK_NEG_INF_FLT_MAX;
 * NAN fill, and avg with INF fill, for PB_QUIRK_NAN_CLAMPED;
 * max backward with a non-DISTINCT fill for an own_workspace impl with
 * PB_QUIRK_TIE_ORDER (its own argmax may pick another maximum).
 * Argmax is not compared for own_workspace impls, nor for PB_QUIRK_TIE_ORDER
 * impls on fills with repeated values (TIES, NAN, INF).
 * Returns PB_OK unless the check itself could not run (NULL, bad dir or
 * fill, invalid descriptor, allocation, reference failure); a FAIL is a
 * verdict, not an error.  d need not be finalized (a finalized copy is
 * used). */
pb_status pb_verify_case(const pb_impl *impl, const pb_desc *d, pb_dir dir, pb_fill fill,
                         uint64_t seed, pb_check *out);

/* pb_verify_case keeps the reference side of its last case (inputs and
 * reference outputs, per thread) for the next call with the same problem,
 * alg, layout, dir, fill and seed; this frees it (bench calls it before
 * timing, when the sweep's reference buffers would take gigabytes). */
void pb_verify_release_cache(void);

/* Finite-difference gradient check of impl's backward:
 * L(x) = sum(w * pool(x)) with seeded weights w (multiples of 1/8);
 * dL/dx_i by central differences (L(x + h e_i) - L(x - h e_i)) / 2h in
 * double, h = PB_FD_STEP, evaluating only the outputs whose windows tap
 * x_i.  Inputs are k * PB_FD_SPACING for a seeded permutation of the
 * integers k in [-P/2, P/2) within each plane of P elements (exact and
 * distinct in f32 up to P = 2^25), so a step of h never reorders a window
 * and no argmax flips.  Compared with impl's backward given diff_dst = w and, for
 * max, the reference's forward-training argmax.  Every input position is
 * checked when src_elems <= PB_FD_FULL; above, a seeded sample: the whole
 * border (or, for perimeters over 1024, the corners and 256 border
 * positions) of the first, last and one seeded plane, plus 1024 seeded
 * positions; the backward always computes the whole tensor (guards and
 * poison checked).
 * PASS when |fd - analytic| <= PB_FD_ATOL + PB_FD_RTOL * |fd| at every
 * checked position.  max_abs_err: worst |fd - analytic|; max_ulp_err: worst
 * relative error |fd - analytic| / max(|fd|, PB_FD_ATOL / PB_FD_RTOL);
 * compared: positions checked.  SKIP when impl does not accept backward. */
#define PB_FD_STEP 1e-3
#define PB_FD_ATOL 1e-4
#define PB_FD_RTOL 1e-3
#define PB_FD_SPACING 0.0625
#define PB_FD_FULL 4096
pb_status pb_gradcheck_case(const pb_impl *impl, const pb_desc *d, uint64_t seed, pb_check *out);

/* Properties of one implementation.
 * Channel independence (forward inference, or training if that is all it
 * runs): adding 1024 to every input of channel c (c = 0, C-1 and a seeded
 * one) must leave every output of the other channels bitwise unchanged and
 * change every output of channel c.
 * Max gradient mass (max only, else SKIP): with a full seeded diff_dst the
 * diff_src of each (n, c) plane sums exactly to that plane's diff_dst; with
 * a one-hot diff_dst at a sampled output (first, last and 6 seeded ones)
 * the window's taps hold exactly that gradient and every other element of
 * diff_src is 0.  Both SKIP when impl does not accept the direction. */
pb_status pb_check_channel_independence(const pb_impl *impl, const pb_desc *d, uint64_t seed,
                                        pb_check *out);
pb_status pb_check_max_grad_mass(const pb_impl *impl, const pb_desc *d, uint64_t seed,
                                 pb_check *out);

#endif
