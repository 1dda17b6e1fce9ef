/*
 * Internal to the AVX-512 kernels (kernels/pool_*_avx512.c, the only files
 * built with -mavx512f -mavx512bw -mavx512vl): per-call geometry tables,
 * lane masks and the max-combine rule shared by both layouts.
 *
 * Every kernel here is a pure function of (descriptor, buffers, slice): no
 * state survives a call and nothing runs before the registry's ISA check.
 */
#ifndef POOLBENCH_POOL_AVX512_H
#define POOLBENCH_POOL_AVX512_H

#if !defined(__AVX512F__) || !defined(__AVX512BW__) || !defined(__AVX512VL__)
#error "pool_avx512.h is only for kernels/*_avx512.c (built with the AVX-512 flags)"
#endif

#include <immintrin.h>

#include "pool.h"

#define PB_AVX512_VL 16 /* floats per zmm register */
/* Backward writes diff_src with streaming (non-temporal) stores from this
 * size of the whole diff_src (every sample and channel) up.  2x2/2 max
 * bwd NHWC, 64 channels, 1 thread, streaming against ordinary stores side
 * by side: 8 MiB 0.67-0.75x (the lines would have stayed cached), 16 MiB
 * even, 23 MiB 1.5-1.6x, 64 MiB 1.2-1.5x; avg (128 channels) alike. */
#define PB_AVX512_STREAM_MIN_BYTES ((int64_t)16 << 20)
/* Largest NCHW window (its row buffers scale with it); global pooling and
 * NHWC have no limit. */
#define PB_AVX512_MAX_WINDOW 64

/* One axis of a problem with dilation 1, tabulated once per call:
 * output o taps the inputs [lo[o], hi[o]) (clipped to the input), r[o] is
 * 1/count for average pooling (count = taps in the input for avg_excl, in
 * the padded extent for avg_incl, so divisor(oh, ow) = 1/(ry[oh]*rx[ow]));
 * input i is covered by the outputs [clo[i], chi[i]).  Arrays with an
 * output index have PB_AVX512_VL zero entries past `out`, so full-width vector
 * loads of r are safe and give 0 on the padding lanes. */
typedef struct pb_avx512_axis {
    int64_t in, out, k, s, pad_lo;
    int32_t *lo, *hi;   /* [out + PB_AVX512_VL] */
    float *r;           /* [out + PB_AVX512_VL] */
    int32_t *clo, *chi; /* [in] */
} pb_avx512_axis;

typedef struct pb_avx512_geom {
    pb_avx512_axis y, x;
    void *mem; /* the one allocation behind every table */
} pb_avx512_geom;

/* Tabulates both axes of a finalized descriptor (dilation 1).  Returns
 * PB_ERR_NOMEM if the tables cannot be allocated; pb_avx512_geom_free releases
 * them (also after a failed init). */
pb_status pb_avx512_geom_init(pb_avx512_geom *g, const pb_desc *d);
void pb_avx512_geom_free(pb_avx512_geom *g);

/* Layout kernels over a validated slice range (see pool.h for the slice
 * numbering).  The caller has checked the pointers and the range. */
pb_status pb_avx512_nchw_fwd_rows(const pb_desc *d, const pb_args *a, const pb_avx512_geom *g,
                                  int64_t begin, int64_t end);
pb_status pb_avx512_nchw_bwd_slices(const pb_desc *d, const pb_args *a, const pb_avx512_geom *g,
                                    int64_t begin, int64_t end);
pb_status pb_avx512_nhwc_fwd_rows(const pb_desc *d, const pb_args *a, const pb_avx512_geom *g,
                                  int64_t begin, int64_t end);
pb_status pb_avx512_nhwc_bwd_slices(const pb_desc *d, const pb_args *a, const pb_avx512_geom *g,
                                    int64_t begin, int64_t end);
/* NCHW max backward of one plane of 3x3/1 windows (pool_strips_avx512.c),
 * gathered: false, with ds written but not to be used, when some argmax
 * lies outside its window (the exact scatter must take the plane). */
bool pb_avx512_nchw_max_bwd_k3s1_plane(const pb_desc *d, const float *dd, const int32_t *ws,
                                       float *ds);
/* pb_ws_rows_valid (pool.h) for NHWC, same answers, vectorized along C. */
bool pb_avx512_ws_rows_valid(const pb_desc *d, const int32_t *ws_n, int64_t oh0, int64_t oh1);

/* NCHW planes at most this wide go through the NHWC kernels, 64 planes
 * at a time, one per lane (kernels/pool_lanes_avx512.c).  Measured against
 * the W-vectorized kernels, max and avg_excl fwd/bwd, 256-832 channels:
 * 1.2-2.2x faster at widths 7, 13 and 14; even at 27; 0.9x at 28. */
#define PB_AVX512_LANES_MAX_W 16
bool pb_avx512_nchw_lanes(const pb_desc *d);
pb_status pb_avx512_nchw_lanes_fwd(const pb_desc *d, const pb_args *a, const pb_avx512_geom *g,
                                   int64_t begin, int64_t end);
pb_status pb_avx512_nchw_lanes_bwd(const pb_desc *d, const pb_args *a, const pb_avx512_geom *g,
                                   int64_t begin, int64_t end);

/* NCHW forward (inference) of square 2x2/3x3 windows, stride 1 or 2, on
 * planes up to this many bytes walks 16-column strips top to bottom
 * (kernels/pool_strips_avx512.c); it takes precedence over the lanes path. */
#define PB_AVX512_STRIPS_MAX_PLANE (16 << 10)
/* Forward also on planes up to this size while the whole source is at
 * most PB_AVX512_STRIPS_CACHED_SRC: a strip walk down a plane that no
 * longer fits in L1 only pays while the source stays in the last-level
 * cache.  112x112 planes, 1 thread, side by side: 2x2/2 max 8.0 MB 1.2x,
 * 16 MB 0.5x, 51 MB 0.35x; the suite's 3.2-6.4 MB ones 1.0-1.35x. */
#define PB_AVX512_STRIPS_MAX_PLANE_CACHED (64 << 10)
#define PB_AVX512_STRIPS_CACHED_SRC ((int64_t)8 << 20)
bool pb_avx512_nchw_strips(const pb_desc *d, const pb_args *a);
pb_status pb_avx512_nchw_strips_fwd(const pb_desc *d, const pb_args *a, const pb_avx512_geom *g,
                                    int64_t begin, int64_t end);
/* Backward of the same windows and planes (max: a scatter into the plane
 * while it sits in L1; avg: transposed strips), unless diff_src is
 * written with streaming stores. */
bool pb_avx512_nchw_strips_bwd_ok(const pb_desc *d, const pb_args *a);
pb_status pb_avx512_nchw_strips_bwd(const pb_desc *d, const pb_args *a, const pb_avx512_geom *g,
                                    int64_t begin, int64_t end);

/* Lane i holds i. */
static inline __m512i pb_avx512_iota(void)
{
    return _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
}

/* The upper 8 lanes of v (AVX-512F has no 32x8 extract without DQ). */
static inline __m256 pb_avx512_upper8(__m512 v)
{
    return _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
}

/* Lanes i with lo <= i < hi, clipped to [0, 16). */
static inline __mmask16 pb_avx512_lanes(int64_t lo, int64_t hi)
{
    if (lo < 0) lo = 0;
    if (hi > PB_AVX512_VL) hi = PB_AVX512_VL;
    if (hi <= lo) return 0;
    return (__mmask16)(((1u << hi) - 1u) & ~((1u << lo) - 1u));
}

/* Even and odd elements of the 32 floats (a, b): the stride-2
 * deinterleave of two consecutive loads. */
static inline __m512 pb_avx512_even_of(__m512 a, __m512 b)
{
    const __m512i idx =
        _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    return _mm512_permutex2var_ps(a, idx, b);
}

static inline __m512 pb_avx512_odd_of(__m512 a, __m512 b)
{
    const __m512i idx =
        _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    return _mm512_permutex2var_ps(a, idx, b);
}

/* The max-pooling scan step: lanes where tap v, coming later in row-major
 * order, replaces the running best.  v > best (strict, so the first of equal
 * values wins, -0 and +0 included), or v is NaN while best is not (the first
 * NaN wins and is never replaced).  _mm512_max_ps alone would drop a NaN v.
 * Both compares depend only on best and v, so they issue in parallel. */
static inline __mmask16 pb_avx512_take(__m512 v, __m512 best)
{
    __mmask16 gt_or_unord = _mm512_cmp_ps_mask(v, best, _CMP_NLE_UQ);
    __mmask16 best_ord = _mm512_cmp_ps_mask(best, best, _CMP_ORD_Q);
    return _kand_mask16(gt_or_unord, best_ord);
}

/* A window that is the whole plane, without padding: one output per
 * plane, the same as global pooling (divisor ih*iw either way). */
/* Max backward's gathering step: acc plus G in the lanes whose argmax W
 * names the pixel pos, and those matches counted in *cnt (the NHWC w3
 * walks and the NCHW 3x3/1 gather). */
static inline __m512 pb_avx512_take_grad(__m512 acc, __m512i W, __m512 G, __m512i pos,
                                         __m512i *cnt)
{
    const __mmask16 m = _mm512_cmpeq_epi32_mask(W, pos);
    *cnt = _mm512_mask_add_epi32(*cnt, m, *cnt, _mm512_set1_epi32(1));
    return _mm512_mask_add_ps(acc, m, acc, G);
}

static inline bool pb_avx512_whole_plane(const pb_desc *d)
{
    return d->kh == d->ih && d->kw == d->iw && d->oh == 1 && d->ow == 1 && d->pt == 0 &&
           d->pb == 0 && d->pl == 0 && d->pr == 0 && d->dh == 1 && d->dw == 1;
}

/* Backward may write diff_src with streaming stores: it is at least
 * PB_AVX512_STREAM_MIN_BYTES and every row of row_floats floats (a plane
 * row in NCHW, a pixel's channels in NHWC) starts 64-byte aligned, so the
 * full vectors a kernel streams never share a line with a tail. */
static inline bool pb_avx512_stream_ok(const pb_desc *d, const pb_args *a, int64_t row_floats)
{
    return row_floats % PB_AVX512_VL == 0 && ((uintptr_t)a->diff_src & 63) == 0 &&
           d->src_elems * (int64_t)sizeof(float) >= PB_AVX512_STREAM_MIN_BYTES;
}

static inline int64_t pb_avx512_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

static inline int64_t pb_avx512_round_up(int64_t a, int64_t m) { return (a + m - 1) / m * m; }

#endif
