/*
 * Internals of the `blocked` implementation (kernels/blocked*.c): portable
 * C that gcc -O2 vectorizes with baseline SSE2.
 *
 * Why the loops look the way they do: gcc 12 at -O2 uses the "very cheap"
 * vectorizer cost model, which vectorizes a loop only when the vector code
 * replaces it entirely, i.e. when its trip count is a known multiple of the
 * vector width.  So every pass below is a chunk loop over BL_V = 16 floats
 * with a fixed-count inner loop (vectorized) and a scalar tail.  Operands
 * are restrict-qualified so no runtime alias check is needed, selects are
 * written as the `v > b ? v : b` max pattern (maxps) or as integer masks
 * (a conditional-store shape would defeat if-conversion), and a stride-2
 * access is turned into a full even/odd deinterleave, the only strided
 * group the cost model accepts.
 *
 * The kernels are built from passes over one output row (NCHW, along W) or
 * one channel vector (NHWC, along C): each window tap is one pass, taps in
 * row-major order, so every output folds its taps in the reference's order.
 */
#ifndef POOLBENCH_BLOCKED_H
#define POOLBENCH_BLOCKED_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "pool.h"

#define BL_V 16 /* floats per chunk: four SSE vectors, one cache line */
/* Inline into callers so constant arguments (strides) fold before the
 * vectorizer runs. */
#define BL_INLINE static inline __attribute__((always_inline))

/* a[i] = s[i] */
BL_INLINE void bl_copy(float *restrict a, const float *restrict s, int64_t n)
{
    memcpy(a, s, (size_t)n * sizeof *a);
}

/* a[i] = v */
BL_INLINE void bl_fill_i32(int32_t *restrict a, int32_t v, int64_t n)
{
    int64_t i = 0;
    for (; i + BL_V <= n; i += BL_V)
        for (int j = 0; j < BL_V; j++) a[i + j] = v;
    for (; i < n; i++) a[i] = v;
}

BL_INLINE void bl_fill_f32(float *restrict a, float v, int64_t n)
{
    int64_t i = 0;
    for (; i + BL_V <= n; i += BL_V)
        for (int j = 0; j < BL_V; j++) a[i + j] = v;
    for (; i < n; i++) a[i] = v;
}

/* a[i] = s[i] > a[i] ? s[i] : a[i]: the reference's update rule for
 * non-NaN data (ties keep the earlier tap); maxps computes exactly this. */
BL_INLINE void bl_max_into(float *restrict a, const float *restrict s, int64_t n)
{
    int64_t i = 0;
    for (; i + BL_V <= n; i += BL_V)
        for (int j = 0; j < BL_V; j++) {
            float v = s[i + j], b = a[i + j];
            a[i + j] = v > b ? v : b;
        }
    for (; i < n; i++) {
        float v = s[i], b = a[i];
        a[i] = v > b ? v : b;
    }
}

/* The same, and where s wins, ix[i] = tag (a per-pass constant). */
BL_INLINE void bl_max_arg_into(float *restrict a, int32_t *restrict ix, const float *restrict s,
                               int64_t n, int32_t tag)
{
    int64_t i = 0;
    for (; i + BL_V <= n; i += BL_V)
        for (int j = 0; j < BL_V; j++) {
            float v = s[i + j], b = a[i + j];
            int32_t m = -(int32_t)(v > b);
            a[i + j] = v > b ? v : b;
            ix[i + j] = (tag & m) | (ix[i + j] & ~m);
        }
    for (; i < n; i++) {
        float v = s[i], b = a[i];
        if (v > b) {
            a[i] = v;
            ix[i] = tag;
        }
    }
}

/* ix[i] += base + i*step (turns per-tap tags into plane positions). */
BL_INLINE void bl_iota_add(int32_t *restrict ix, int32_t base, int32_t step, int64_t n)
{
    int64_t i = 0;
    for (; i + BL_V <= n; i += BL_V)
        for (int j = 0; j < BL_V; j++) ix[i + j] += base + (int32_t)(i + j) * step;
    for (; i < n; i++) ix[i] += base + (int32_t)i * step;
}

/* a[i] += s[i] */
BL_INLINE void bl_add_into(float *restrict a, const float *restrict s, int64_t n)
{
    int64_t i = 0;
    for (; i + BL_V <= n; i += BL_V)
        for (int j = 0; j < BL_V; j++) a[i + j] += s[i + j];
    for (; i < n; i++) a[i] += s[i];
}

/* a[i] /= dv.  A true division, not a reciprocal multiply: it keeps the
 * rounding of the final step to half an ulp. */
BL_INLINE void bl_div_by(float *restrict a, float dv, int64_t n)
{
    int64_t i = 0;
    for (; i + BL_V <= n; i += BL_V)
        for (int j = 0; j < BL_V; j++) a[i + j] = a[i + j] / dv;
    for (; i < n; i++) a[i] = a[i] / dv;
}

/* a[i] += s[i], double accumulator fed in float */
BL_INLINE void bl_add_f64(double *restrict a, const float *restrict s, int64_t n)
{
    int64_t i = 0;
    for (; i + BL_V <= n; i += BL_V)
        for (int j = 0; j < BL_V; j++) a[i + j] += (double)s[i + j];
    for (; i < n; i++) a[i] += (double)s[i];
}

/* a[i] = (double)s[i] */
BL_INLINE void bl_cvt_f64(double *restrict a, const float *restrict s, int64_t n)
{
    int64_t i = 0;
    for (; i + BL_V <= n; i += BL_V)
        for (int j = 0; j < BL_V; j++) a[i + j] = (double)s[i + j];
    for (; i < n; i++) a[i] = (double)s[i];
}

/* o[i] = (float)(s[i] / dv), rounded once like the reference */
BL_INLINE void bl_div_f64_to_f32(float *restrict o, const double *restrict s, double dv, int64_t n)
{
    int64_t i = 0;
    for (; i + BL_V <= n; i += BL_V)
        for (int j = 0; j < BL_V; j++) o[i + j] = (float)(s[i + j] / dv);
    for (; i < n; i++) o[i] = (float)(s[i] / dv);
}

/* True when s[0..n) holds a NaN.  The fast max passes ignore a NaN that is
 * not the first tap, so a row with one goes to the exact scalar path. */
BL_INLINE bool bl_any_nan(const float *restrict s, int64_t n)
{
    int64_t i = 0;
    for (; i + 4 * BL_V <= n; i += 4 * BL_V) {
        int32_t m = 0;
        for (int j = 0; j < 4 * BL_V; j++) m |= -(int32_t)(s[i + j] != s[i + j]);
        if (m) return true;
    }
    for (; i < n; i++)
        if (s[i] != s[i]) return true;
    return false;
}

/* e[i] = r[2i], o[i] = r[2i+1] for i < np */
BL_INLINE void bl_deint2(const float *restrict r, float *restrict e, float *restrict o, int64_t np)
{
    int64_t i = 0;
    for (; i + BL_V <= np; i += BL_V)
        for (int j = 0; j < BL_V; j++) {
            e[i + j] = r[2 * (i + j)];
            o[i + j] = r[2 * (i + j) + 1];
        }
    for (; i < np; i++) {
        e[i] = r[2 * i];
        o[i] = r[2 * i + 1];
    }
}

/* Sum of s[0..n) in double: float partial sums of 8 chunks per lane (16
 * lanes, so the float rounding error stays a few ulps), flushed into double
 * lanes.  For global and large windows, where a float running sum would
 * drift past the documented 8-ulp bound. */
double pb_bl_sum_f64(const float *restrict s, int64_t n);

/* The reference's max rule on one window, scalar: taps in row-major order,
 * the first tap seeds, a later tap wins when greater, a NaN wins and stops
 * the scan.  base points at (h=0, w=0) of the (n, c) plane; element (h, w)
 * is base[h*rs + w*cs].  *pos gets h*iw + w of the winner. */
float pb_bl_max_exact(const float *base, int64_t rs, int64_t cs, int64_t iw, pb_axis_window y,
                   int64_t dh, pb_axis_window x, int64_t dw, int32_t *pos);

/* Window of output o along an axis (pb_axis_window_at with the descriptor's
 * parameters), and its divisor factor for the algorithm. */
BL_INLINE pb_axis_window bl_win_h(const pb_desc *d, int64_t oh)
{
    return pb_axis_window_at(oh, d->ih, d->kh, d->sh, d->pt, d->pb, d->dh);
}
BL_INLINE pb_axis_window bl_win_w(const pb_desc *d, int64_t ow)
{
    return pb_axis_window_at(ow, d->iw, d->kw, d->sw, d->pl, d->pr, d->dw);
}
BL_INLINE int64_t bl_div_factor(const pb_desc *d, pb_axis_window w)
{
    return d->alg == PB_ALG_AVG_INCL ? w.n_pad : w.t_hi - w.t_lo;
}

/* Averages accumulate in float only while the summation depth (taps along
 * H plus taps along W) stays small; larger windows sum in double. */
BL_INLINE bool bl_avg_small(const pb_desc *d) { return (d->kh - 1) + (d->kw - 1) <= 16; }

/* The window is the whole plane (global, or an equivalent explicit
 * descriptor): one output per plane, no padding, dense taps. */
BL_INLINE bool bl_plane_window(const pb_desc *d)
{
    return d->oh == 1 && d->ow == 1 && d->kh == d->ih && d->kw == d->iw && d->pt == 0 &&
           d->pl == 0 && d->dh == 1 && d->dw == 1;
}

/* Common argument checks of every entry point: a finalized f32 descriptor
 * and the buffers the direction needs. */
pb_status pb_bl_check_fwd(const pb_desc *d, const pb_args *a);
pb_status pb_bl_check_bwd(const pb_desc *d, const pb_args *a);

/* The slice entry points (pool.h): forward output rows, backward input
 * slices; [begin, end) must lie within pb_fwd_rows(d) / pb_bwd_slices(d). */
pb_status pb_blocked_fwd_rows(const pb_desc *d, const pb_args *a, void *state, int64_t begin,
                              int64_t end);
pb_status pb_blocked_bwd_slices(const pb_desc *d, const pb_args *a, void *state, int64_t begin,
                                int64_t end);

#endif
