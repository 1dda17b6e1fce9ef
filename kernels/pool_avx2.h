/* Internal helpers of the `avx2` implementation, shared by its files.
 * Included ONLY by the kernels/..._avx2.c files: those alone are built with
 * -mavx2 -mfma, and nothing here may run before the registry's ISA check. */
#ifndef POOLBENCH_POOL_AVX2_H
#define POOLBENCH_POOL_AVX2_H

#include <immintrin.h>
#include <stdbool.h>
#include <stdint.h>

#include "pool.h"

#define PBX_INLINE static inline __attribute__((always_inline))

/* What a forward kernel computes; a compile-time argument of the inlined
 * bodies so each variant is its own straight-line loop. */
enum { PBX_MAX = 0, /* max values only (inference, or training without ws) */
       PBX_MAXI,    /* max values and argmax */
       PBX_AVG };   /* sum, then divide */

PBX_INLINE __m256i pbx_iota(void) { return _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7); }

/* Lanes j < n set (n clamped to 0..8): the valid part of a tail vector. */
PBX_INLINE __m256i pbx_head(int64_t n)
{
    int k = n < 0 ? 0 : n > 8 ? 8 : (int)n;
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(k), pbx_iota());
}

/* Sum of the 8 int32 lanes (the backward's argmax match counts). */
PBX_INLINE int64_t pbx_hsum_i(__m256i v)
{
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

/* Lanes with lo <= idx < hi (all values fit int32, see supports()). */
PBX_INLINE __m256i pbx_in_range(__m256i idx, int64_t lo, int64_t hi)
{
    return _mm256_and_si256(_mm256_cmpgt_epi32(idx, _mm256_set1_epi32((int32_t)(lo - 1))),
                            _mm256_cmpgt_epi32(_mm256_set1_epi32((int32_t)hi), idx));
}

/* The max-pooling rule in one mask: take v over best when v > best, or when
 * v is NaN and best is not.  Strict '>' keeps the first of equal values
 * (also +0 before -0) and a NaN, once taken, is never replaced, so folding
 * taps in row-major order reproduces the reference bit for bit.
 * (_mm256_max_ps alone would drop a NaN in v.) */
PBX_INLINE __m256 pbx_take(__m256 v, __m256 best)
{
    return _mm256_and_ps(_mm256_cmp_ps(v, best, _CMP_NLE_UQ),
                         _mm256_cmp_ps(best, best, _CMP_ORD_Q));
}

PBX_INLINE __m256i pbx_blend_i(__m256i a, __m256i b, __m256 mask)
{
    return _mm256_castps_si256(
        _mm256_blendv_ps(_mm256_castsi256_ps(a), _mm256_castsi256_ps(b), mask));
}

/* Address p + k for a masked load whose first or last lanes fall before or
 * after the buffer: the masked-off lanes are never touched, but C pointer
 * arithmetic outside an object is undefined, so go through an integer. */
PBX_INLINE const float *pbx_addr(const float *p, int64_t k)
{
    return (const float *)((uintptr_t)p + (uintptr_t)k * sizeof(float));
}
PBX_INLINE const int32_t *pbx_addr_i(const int32_t *p, int64_t k)
{
    return (const int32_t *)((uintptr_t)p + (uintptr_t)k * sizeof(int32_t));
}

/* The stride-2 deinterleave leaves 64-bit pairs in the order (0,2,1,3)
 * (outputs 0,1,4,5,2,3,6,7); this restores the natural order. */
PBX_INLINE __m256 pbx_unperm(__m256 v)
{
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(v), 0xD8));
}
PBX_INLINE __m256i pbx_unperm_i(__m256i v) { return _mm256_permute4x64_epi64(v, 0xD8); }

/* Store n (1..8) lanes; the full store when the whole vector fits. */
PBX_INLINE void pbx_store_n(float *p, __m256 v, int64_t n)
{
    if (n >= 8)
        _mm256_storeu_ps(p, v);
    else
        _mm256_maskstore_ps(p, pbx_head(n), v);
}
PBX_INLINE void pbx_store_n_i(int32_t *p, __m256i v, int64_t n)
{
    if (n >= 8)
        _mm256_storeu_si256((__m256i *)p, v);
    else
        _mm256_maskstore_epi32((int *)p, pbx_head(n), v);
}

/* Whether n floats hold a NaN.  Max rows are screened once, before the
 * fast fold (which is exact for everything but NaN) may use them. */
static inline bool pbx_has_nan(const float *p, int64_t n)
{
    __m256 acc = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        acc = _mm256_or_ps(acc, _mm256_cmp_ps(_mm256_loadu_ps(p + i), _mm256_loadu_ps(p + i + 8),
                                              _CMP_UNORD_Q));
    for (; i < n; i += 8) { /* masked-off lanes load 0: no NaN */
        __m256 v = _mm256_maskload_ps(p + i, pbx_head(n - i));
        acc = _mm256_or_ps(acc, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    }
    return !_mm256_testz_ps(acc, acc);
}

/* The first-maximum rule between two (value, position) candidates that
 * come from disjoint subsets of one window: NaN beats numbers, the larger
 * value wins, and among equals (both NaN included) the earlier position. */
static inline bool pbx_better(float v, int32_t p, float best, int32_t bp)
{
    bool vn = v != v, bn = best != best;
    if (vn || bn) return vn && (!bn || p < bp);
    return v > best || (v == best && p < bp);
}

/* A descriptor whose single window is exactly the whole plane (global
 * pooling, or a window equal to the input without leading padding). */
static inline bool pbx_is_global(const pb_desc *d)
{
    return d->oh == 1 && d->ow == 1 && d->pt == 0 && d->pl == 0 && d->dh == 1 && d->dw == 1 &&
           d->kh >= d->ih && d->kw >= d->iw;
}

/* Divisor factor of one axis (avg_incl: taps in the padded extent;
 * avg_excl: taps in the input), from the shared window helper. */
static inline int64_t pbx_axis_count(pb_alg alg, pb_axis_window w)
{
    return alg == PB_ALG_AVG_INCL ? w.n_pad : w.t_hi - w.t_lo;
}

/* The layout kernels (slices as in pool.h; arguments already validated). */
pb_status pb_avx2_nchw_fwd(const pb_desc *d, const pb_args *a, int64_t begin, int64_t end);
pb_status pb_avx2_nchw_bwd(const pb_desc *d, const pb_args *a, int64_t begin, int64_t end);
pb_status pb_avx2_nhwc_fwd(const pb_desc *d, const pb_args *a, int64_t begin, int64_t end);
pb_status pb_avx2_nhwc_bwd(const pb_desc *d, const pb_args *a, int64_t begin, int64_t end);

#endif
