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

/* Runs the statement(s) for i in [0, n): chunks of BL_V and of 4 with
 * fixed-count inner loops (vectorized), then at most 3 scalar steps. */
#define BL_FOR(n, ...)                                                           \
    do {                                                                         \
        const int64_t n_ = (n);                                                  \
        int64_t i_ = 0;                                                          \
        for (; i_ + BL_V <= n_; i_ += BL_V)                                      \
            for (int j_ = 0; j_ < BL_V; j_++) {                                  \
                const int64_t i = i_ + j_;                                       \
                __VA_ARGS__                                                      \
            }                                                                    \
        for (; i_ + 4 <= n_; i_ += 4)                                            \
            for (int j_ = 0; j_ < 4; j_++) {                                     \
                const int64_t i = i_ + j_;                                       \
                __VA_ARGS__                                                      \
            }                                                                    \
        for (; i_ < n_; i_++) {                                                  \
            const int64_t i = i_;                                                \
            __VA_ARGS__                                                          \
        }                                                                        \
    } while (0)

/* a[i] = s[i] */
BL_INLINE void bl_copy(float *restrict a, const float *restrict s, int64_t n)
{
    memcpy(a, s, (size_t)n * sizeof *a);
}

/* a[i] = v */
BL_INLINE void bl_fill_i32(int32_t *restrict a, int32_t v, int64_t n)
{
    BL_FOR(n, a[i] = v;);
}

/* a[i] = s[i] > a[i] ? s[i] : a[i]: the reference's update rule for
 * non-NaN data (ties keep the earlier tap); maxps computes exactly this. */
BL_INLINE void bl_max_into(float *restrict a, const float *restrict s, int64_t n)
{
    BL_FOR(n, float v = s[i]; float b = a[i]; a[i] = v > b ? v : b;);
}

/* The same, and where s wins, ix[i] = tag (a per-pass constant). */
BL_INLINE void bl_max_arg_into(float *restrict a, int32_t *restrict ix, const float *restrict s,
                               int64_t n, int32_t tag)
{
    BL_FOR(n, float v = s[i]; float b = a[i]; int32_t m = -(int32_t)(v > b);
           a[i] = v > b ? v : b; ix[i] = (tag & m) | (ix[i] & ~m););
}

/* ix[i] += base + i*step (turns per-tap tags into plane positions). */
BL_INLINE void bl_iota_add(int32_t *restrict ix, int32_t base, int32_t step, int64_t n)
{
    BL_FOR(n, ix[i] += base + (int32_t)i * step;);
}

/* a[i] += s[i] */
BL_INLINE void bl_add_into(float *restrict a, const float *restrict s, int64_t n)
{
    BL_FOR(n, a[i] += s[i];);
}

/* a[i] /= dv.  A true division, not a reciprocal multiply: it keeps the
 * rounding of the final step to half an ulp. */
BL_INLINE void bl_div_by(float *restrict a, float dv, int64_t n)
{
    BL_FOR(n, a[i] = a[i] / dv;);
}

/* a[i] += s[i], double accumulator fed in float */
BL_INLINE void bl_add_f64(double *restrict a, const float *restrict s, int64_t n)
{
    BL_FOR(n, a[i] += (double)s[i];);
}

/* a[i] = (double)s[i] */
BL_INLINE void bl_cvt_f64(double *restrict a, const float *restrict s, int64_t n)
{
    BL_FOR(n, a[i] = (double)s[i];);
}

/* o[i] = (float)(s[i] / dv), rounded once like the reference */
BL_INLINE void bl_div_f64_to_f32(float *restrict o, const double *restrict s, double dv, int64_t n)
{
    BL_FOR(n, o[i] = (float)(s[i] / dv););
}

/* True when s[0..n) holds a NaN.  The fast max kernels ignore a NaN that
 * is not the first tap, so a row with one goes to the exact scalar path. */
BL_INLINE bool bl_any_nan(const float *restrict s, int64_t n)
{
    /* one unordered compare covers two elements */
    int64_t i = 0;
    for (; i + 2 * BL_V <= n; i += 2 * BL_V) {
        int32_t m = 0;
        for (int j = 0; j < BL_V; j++) m |= -(int32_t)__builtin_isunordered(s[i + j], s[i + BL_V + j]);
        if (m) return true;
    }
    for (; i < n; i++)
        if (s[i] != s[i]) return true;
    return false;
}

/* e[i] = r[2i], o[i] = r[2i+1] for i < np */
BL_INLINE void bl_deint2(const float *restrict r, float *restrict e, float *restrict o, int64_t np)
{
    BL_FOR(np, e[i] = r[2 * i]; o[i] = r[2 * i + 1];);
}

/* The same, returning whether any of the 2*np elements is a NaN (checked
 * on the way, one unordered compare per even/odd pair). */
BL_INLINE bool bl_deint2_nan(const float *restrict r, float *restrict e, float *restrict o,
                             int64_t np)
{
    int32_t acc = 0;
#define BL_DEINT_CHUNK(W)                                                         \
    for (; i + W <= np; i += W) {                                                 \
        int32_t m = 0;                                                            \
        for (int j = 0; j < W; j++) {                                             \
            float a = r[2 * (i + j)], b = r[2 * (i + j) + 1];                     \
            e[i + j] = a;                                                         \
            o[i + j] = b;                                                         \
            m |= -(int32_t)__builtin_isunordered(a, b);                           \
        }                                                                         \
        acc |= m;                                                                 \
    }
    int64_t i = 0;
    BL_DEINT_CHUNK(BL_V)
    BL_DEINT_CHUNK(4)
#undef BL_DEINT_CHUNK
    for (; i < np; i++) {
        float a = r[2 * i], b = r[2 * i + 1];
        e[i] = a;
        o[i] = b;
        acc |= __builtin_isunordered(a, b);
    }
    return acc != 0;
}

/* d[2i] = e[i], d[2i+1] = o[i] for i < np: the inverse of bl_deint2 (a
 * full even/odd store group, vectorized with unpack shuffles). */
BL_INLINE void bl_interleave2(float *restrict d, const float *restrict e, const float *restrict o,
                              int64_t np)
{
    BL_FOR(np, d[2 * i] = e[i]; d[2 * i + 1] = o[i];);
}

/* a[i] = s[i] + t[i] */
BL_INLINE void bl_add2(float *restrict a, const float *restrict s, const float *restrict t,
                       int64_t n)
{
    BL_FOR(n, a[i] = s[i] + t[i];);
}

/* o[i] = g[i] / (dy * dx[i]): the product is an exact small integer */
BL_INLINE void bl_div_scaled(float *restrict o, const float *restrict g, float dy,
                             const float *restrict dx, int64_t n)
{
    BL_FOR(n, o[i] = g[i] / (dy * dx[i]););
}

/* Fused window kernels: all NT <= 9 taps of an output in one loop, the
 * running maximum or sum in registers.  ST = 1: tap k of output i is
 * tk[i], each tap its own restrict pointer (a window row read at the tap's
 * offset, or one channel vector in NHWC).  ST = 2 (2-wide windows at
 * stride 2): the taps come in pairs from the raw rows, taps 2r and 2r+1 of
 * output i are tr[2i] and tr[2i+1], a full even/odd group the vectorizer
 * deinterleaves itself.  NT and ST are constants at every call site, so
 * the unused taps fold away. */
#define BL_TAPS                                                                   \
    const float *restrict t0, const float *restrict t1, const float *restrict t2, \
        const float *restrict t3, const float *restrict t4, const float *restrict t5, \
        const float *restrict t6, const float *restrict t7, const float *restrict t8
#define BL_L0 (ST == 2 ? t0[2 * i] : t0[i])
#define BL_L1 (ST == 2 ? t0[2 * i + 1] : t1[i])
#define BL_L2 (ST == 2 ? t1[2 * i] : t2[i])
#define BL_L3 (ST == 2 ? t1[2 * i + 1] : t3[i])
#define BL_L4 (ST == 2 ? t2[2 * i] : t4[i])
#define BL_L5 (ST == 2 ? t2[2 * i + 1] : t5[i])
#define BL_L6 (ST == 2 ? t3[2 * i] : t6[i])
#define BL_L7 (ST == 2 ? t3[2 * i + 1] : t7[i])
#define BL_L8 (ST == 2 ? t4[2 * i] : t8[i])
#define BL_MAX_TAP(k)                                                             \
    if (NT > k) {                                                                 \
        float v = BL_L##k;                                                        \
        m = v > m ? v : m;                                                        \
    }
#define BL_EQ_TAP(k)                                                              \
    if (NT > k) {                                                                 \
        float e = BL_L##k == m ? h##k : 0.0f;                                     \
        x = e > x ? e : x;                                                        \
    }

/* o[i] = first maximum of the taps (non-NaN data) */
BL_INLINE void bl_fmax(float *restrict o, int NT, int ST, int64_t n, BL_TAPS)
{
    BL_FOR(n, float m = BL_L0; BL_MAX_TAP(1) BL_MAX_TAP(2) BL_MAX_TAP(3) BL_MAX_TAP(4)
                  BL_MAX_TAP(5) BL_MAX_TAP(6) BL_MAX_TAP(7) BL_MAX_TAP(8) o[i] = m;);
}

/* The same with ix[i] = g[k] + base + i*step for the winning tap k: the
 * first tap equal to the maximum (for non-NaN data, the reference's first
 * maximum), found by a select chain from the last tap back to the first. */
#define BL_SEL_TAP(k)                                                             \
    if (NT > k) {                                                                 \
        int32_t mk = -(int32_t)(BL_L##k == m);                                    \
        q = (g##k & mk) | (q & ~mk);                                              \
    }
#define BL_FMAX_ARG_BODY                                                          \
    float m = BL_L0;                                                              \
    BL_MAX_TAP(1) BL_MAX_TAP(2) BL_MAX_TAP(3) BL_MAX_TAP(4) BL_MAX_TAP(5)         \
    BL_MAX_TAP(6) BL_MAX_TAP(7) BL_MAX_TAP(8)                                     \
    /* the first tap equal to the maximum: select from the last tap back */      \
    int32_t q = NT == 1 ? g0 : NT == 2 ? g1 : NT == 3 ? g2 : NT == 4 ? g3 :        \
                NT == 5 ? g4 : NT == 6 ? g5 : NT == 7 ? g6 : NT == 8 ? g7 : g8;    \
    if (NT > 8) BL_SEL_TAP(7)                                                      \
    if (NT > 7) BL_SEL_TAP(6)                                                      \
    if (NT > 6) BL_SEL_TAP(5)                                                      \
    if (NT > 5) BL_SEL_TAP(4)                                                      \
    if (NT > 4) BL_SEL_TAP(3)                                                      \
    if (NT > 3) BL_SEL_TAP(2)                                                      \
    if (NT > 2) BL_SEL_TAP(1)                                                      \
    if (NT > 1) BL_SEL_TAP(0)                                                      \
    o[i] = m;                                                                     \
    ix[i] = q + p;                                                                \
    p += step;
BL_INLINE void bl_fmax_arg(float *restrict o, int32_t *restrict ix, int NT, int ST, int64_t n,
                           const int32_t *g, int32_t base, int32_t step, BL_TAPS)
{
    const int32_t g0 = g[0], g1 = NT > 1 ? g[1] : 0, g2 = NT > 2 ? g[2] : 0,
                  g3 = NT > 3 ? g[3] : 0, g4 = NT > 4 ? g[4] : 0, g5 = NT > 5 ? g[5] : 0,
                  g6 = NT > 6 ? g[6] : 0, g7 = NT > 7 ? g[7] : 0, g8 = NT > 8 ? g[8] : 0;
    /* the running position p is an induction variable, not i*step: SSE2
     * has no 32-bit vector multiply */
    int64_t i_ = 0;
    for (; i_ + BL_V <= n; i_ += BL_V) {
        int32_t p = base + (int32_t)i_ * step;
        for (int j_ = 0; j_ < BL_V; j_++) {
            const int64_t i = i_ + j_;
            BL_FMAX_ARG_BODY
        }
    }
    for (; i_ + 4 <= n; i_ += 4) {
        int32_t p = base + (int32_t)i_ * step;
        for (int j_ = 0; j_ < 4; j_++) {
            const int64_t i = i_ + j_;
            BL_FMAX_ARG_BODY
        }
    }
    for (; i_ < n; i_++) {
        int32_t p = base + (int32_t)i_ * step;
        const int64_t i = i_;
        BL_FMAX_ARG_BODY
    }
}
#undef BL_FMAX_ARG_BODY

/* o[i] = (sum of NR rows of KW taps) / dv, summed per row first (taps
 * row-major: row r is taps r*KW .. r*KW+KW-1) so the float sums stay
 * shallow. */
#define BL_T(k) (NR * KW > k ? BL_L##k : 0.0f)
BL_INLINE void bl_favg(float *restrict o, int NR, int KW, int ST, int64_t n, float dv, BL_TAPS)
{
    BL_FOR(n, float s0 = KW == 1 ? BL_T(0) : KW == 2 ? BL_T(0) + BL_T(1) : BL_T(0) + BL_T(1) + BL_T(2);
           float s1 = NR < 2 ? 0.0f : KW == 1 ? BL_T(1) : KW == 2 ? BL_T(2) + BL_T(3) : BL_T(3) + BL_T(4) + BL_T(5);
           float s2 = NR < 3 ? 0.0f : KW == 1 ? BL_T(2) : KW == 2 ? BL_T(4) + BL_T(5) : BL_T(6) + BL_T(7) + BL_T(8);
           float s = NR == 1 ? s0 : NR == 2 ? s0 + s1 : s0 + s1 + s2; o[i] = s / dv;);
}
#undef BL_T

/* Sum of s[0..n) in double: float partial sums of 8 chunks per lane (16
 * lanes, so the float rounding error stays a few ulps), flushed into double
 * lanes.  For global and large windows, where a float running sum would
 * drift past the documented 8-ulp bound. */
double pb_bl_sum_f64(const float *restrict s, int64_t n);

/* The reference's max rule on one window, scalar: taps in row-major order,
 * the first tap seeds, a later tap wins when greater, a NaN wins and stops
 * the scan.  base points at (h=0, w=0) of the (n, c) plane; element (h, w)
 * is base[h*rs + w*cs].  *pos gets h*iw + w of the winner.  Inline: it is
 * the per-output path of clipped windows, a few per row. */
BL_INLINE float bl_max_exact(const float *base, int64_t rs, int64_t cs, int64_t iw,
                             const pb_axis_window *y, int64_t dh, const pb_axis_window *x,
                             int64_t dw, int32_t *pos)
{
    int64_t h = y->start + y->t_lo * dh;
    const int64_t w0 = x->start + x->t_lo * dw, nx = x->t_hi - x->t_lo;
    float best = base[h * rs + w0 * cs];
    int64_t best_pos = h * iw + w0;
    if (best != best) goto done;
    for (int64_t ty = y->t_lo; ty < y->t_hi; ty++, h += dh) {
        const float *row = base + h * rs + w0 * cs;
        for (int64_t tx = 0; tx < nx; tx++) {
            float v = row[tx * dw * cs];
            if (v > best || v != v) {
                best = v;
                best_pos = h * iw + w0 + tx * dw;
                if (v != v) goto done;
            }
        }
    }
done:
    *pos = (int32_t)best_pos;
    return best;
}

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
