/*
 * AVX-512 NCHW forward (inference max and both averages) of square 2x2 or
 * 3x3 windows with stride 1 or 2 on planes that fit in L1: each plane is
 * walked in strips of 16 output columns from top to bottom; an input row's
 * horizontal window is computed once (masked loads, so the padding reads
 * as the fill; stride 2 deinterleaves two loads) and the vertical window
 * slides through registers.  Planes with at most 8 outputs per row go
 * two at a time, one per half of the register (twin_planes).
 *
 * Why: small planes (googlenet's 28x28 to 7x7, alexnet's 27x27 and 13x13,
 * vgg16's 14x14) were the slowest NCHW problems.  The row kernels pay a
 * per-row set-up and a ring in memory, the lanes path two transposes; both
 * ran at 13-25 GB/s there against 26-74 GB/s for oneDNN on nChw16c.
 * Walking a column strip is a loss once the plane leaves L1 and comes
 * from DRAM (3x3/1 on 112x112 planes, 26 MB: 8.5 against 11 GB/s for the
 * row kernels), hence PB_AVX512_STRIPS_MAX_PLANE and its cached variant.
 *
 * Max is the fast vmaxps scan, horizontal then vertical, which keeps the
 * first of equal values in row-major order as the reference does.  It is
 * exact unless a NaN is among the inputs: every load is checked and a
 * plane's row range that read one is redone by the exact row kernels.
 * Every output is computed the same way whatever the slice range.
 */
#include <stdlib.h>

#include "pool_avx512.h"

#define VL PB_AVX512_VL
#define INLINE static inline __attribute__((always_inline))

/* The windows both directions take: square 2x2 or 3x3, stride 1 or 2. */
static bool strips_window(const pb_desc *d)
{
    return !d->global && !pb_avx512_whole_plane(d) && d->kh == d->kw &&
           (d->kh == 2 || d->kh == 3) && d->sh == d->sw && (d->sh == 1 || d->sh == 2) &&
           d->dh == 1 && d->dw == 1;
}

static int64_t plane_bytes(const pb_desc *d) { return d->ih * d->iw * (int64_t)sizeof(float); }

bool pb_avx512_nchw_strips(const pb_desc *d, const pb_args *a)
{
    const bool train = d->alg == PB_ALG_MAX && a->ws;
    const bool fits = plane_bytes(d) <= PB_AVX512_STRIPS_MAX_PLANE ||
                      (plane_bytes(d) <= PB_AVX512_STRIPS_MAX_PLANE_CACHED &&
                       d->src_elems * (int64_t)sizeof(float) <= PB_AVX512_STRIPS_CACHED_SRC);
    return !train && strips_window(d) && fits;
}

/* Load masks of one strip: lanes whose column lies inside the row. */
typedef struct strip {
    int64_t e;      /* column of lane 0's first tap */
    __mmask16 m[3]; /* S == 1: tap t at e + t; S == 2: e, e + 16, e + 32 */
    __mmask16 om;   /* real output lanes */
} strip;

/* Horizontal window of `row` (at column 0) for one strip, K taps, stride
 * S.  *nan gets NaN lanes of loads that together cover every column a tap
 * reaches. */
INLINE __m512 hwin(const float *row, const strip *sp, const int K, const int S, __m512 fill,
                   bool is_max, __mmask16 *nan)
{
    const float *p = row + sp->e;
    __m512 t[3];
    if (S == 1) {
#pragma GCC unroll 3
        for (int k = 0; k < K; k++) t[k] = _mm512_mask_loadu_ps(fill, sp->m[k], p + k);
        if (is_max) *nan |= _mm512_cmp_ps_mask(t[0], t[K - 1], _CMP_UNORD_Q);
    } else {
        const __m512 A = _mm512_mask_loadu_ps(fill, sp->m[0], p);
        const __m512 B = _mm512_mask_loadu_ps(fill, sp->m[1], p + VL);
        t[0] = pb_avx512_even_of(A, B);
        t[1] = pb_avx512_odd_of(A, B);
        if (is_max) *nan |= _mm512_cmp_ps_mask(A, B, _CMP_UNORD_Q);
        if (K == 3) {
            /* columns e + 2i + 2: the even lanes one further, lane 15 from
             * the next load's first column */
            const __m512 C = _mm512_mask_loadu_ps(fill, sp->m[2] & 1, p + 2 * VL);
            t[2] = _mm512_castsi512_ps(
                _mm512_alignr_epi32(_mm512_castps_si512(C), _mm512_castps_si512(t[0]), 1));
            if (is_max) *nan |= _mm512_cmp_ps_mask(C, C, _CMP_UNORD_Q) & 1;
        }
    }
    __m512 v = t[0];
#pragma GCC unroll 3
    for (int k = 1; k < K; k++)
        /* vmaxps(later, best) keeps best on ties: the earlier tap wins */
        v = is_max ? _mm512_max_ps(t[k], v) : _mm512_add_ps(v, t[k]);
    return v;
}

INLINE __m512 row_or_fill(const float *plane, int64_t y, int64_t IH, int64_t IW, const strip *sp,
                          const int K, const int S, __m512 fill, bool is_max, __mmask16 *nan)
{
    return y >= 0 && y < IH ? hwin(plane + y * IW, sp, K, S, fill, is_max, nan) : fill;
}

/* Output rows [oh0, oh1) of one plane; true if a NaN was read.  Sums are
 * scaled by 1/divisor unless `scale` is false (the backward's use). */
INLINE bool plane_rows(const pb_desc *d, const pb_avx512_geom *geo, const float *plane, float *out,
                       int64_t oh0, int64_t oh1, const int K, const int S, bool is_max,
                       const bool scale)
{
    const int64_t IH = d->ih, IW = d->iw, OW = d->ow;
    const __m512 fill = is_max ? _mm512_set1_ps(-__builtin_inff()) : _mm512_setzero_ps();
    __mmask16 nan = 0;
    for (int64_t c0 = 0; c0 < OW; c0 += VL) {
        strip sp = {.e = c0 * S - d->pl, .om = pb_avx512_lanes(0, OW - c0)};
#pragma GCC unroll 3
        for (int k = 0; k < 3; k++) {
            const int64_t at = sp.e + (S == 1 ? k : k * VL);
            sp.m[k] = pb_avx512_lanes(-at, IW - at);
        }
        const __m512 xr = is_max || !scale ? fill : _mm512_loadu_ps(geo->x.r + c0);
        /* R[k]: horizontal window of row oh*S - pt + k; the K - S rows an
         * output shares with the next one carry over */
        __m512 R[3];
        int64_t y0 = oh0 * S - d->pt;
#pragma GCC unroll 3
        for (int k = 0; k < K - S; k++)
            R[k] = row_or_fill(plane, y0 + k, IH, IW, &sp, K, S, fill, is_max, &nan);
        for (int64_t oh = oh0; oh < oh1; oh++, y0 += S) {
#pragma GCC unroll 3
            for (int k = K - S; k < K; k++)
                R[k] = row_or_fill(plane, y0 + k, IH, IW, &sp, K, S, fill, is_max, &nan);
            __m512 v = R[0];
#pragma GCC unroll 3
            for (int k = 1; k < K; k++)
                v = is_max ? _mm512_max_ps(R[k], v) : _mm512_add_ps(v, R[k]);
            if (!is_max && scale)
                v = _mm512_mul_ps(v, _mm512_mul_ps(_mm512_set1_ps(geo->y.r[oh]), xr));
            _mm512_mask_storeu_ps(out + oh * OW + c0, sp.om, v);
#pragma GCC unroll 3
            for (int k = 0; k < K - S; k++) R[k] = R[k + S];
        }
    }
    return nan != 0;
}

/* Two planes at once where a strip would leave most lanes idle: at most
 * 8 outputs per row whose taps span at most 16 columns (alexnet's 13x13
 * 3x3/2, googlenet's 14x14 3x3/2 ceil and 7x7 3x3/1 p1).  One masked
 * load per plane row (padding reads as the fill) covers every tap, and
 * one two-source permute per tap puts plane p's taps in lanes 0-7 and
 * plane p + 1's in lanes 8-15.  Per lane the same operations in the same
 * order as plane_rows, so the same results.  Against one plane per strip,
 * 1 thread, side by side: alexnet pool5 2.3-2.4x, googlenet 5ab (7x7
 * 3x3/1 p1) 2.3x; vgg16 pool5 (14x14 2x2/2) 1.1-1.2x over the paired-row
 * kernel it replaces. */
static bool twin_ok(const pb_desc *d)
{
    return d->ow <= VL / 2 && d->sw * (d->ow - 1) + d->kw <= VL;
}

/* Horizontal window of the rows ra and rb (each at column -pl). */
INLINE __m512 twin_hwin(const float *ra, const float *rb, __mmask16 in_row, const __m512i *tap,
                        const int K, __m512 fill, bool is_max, __mmask16 *nan, bool scale_in,
                        __m512 r)
{
    __m512 A = _mm512_mask_loadu_ps(fill, in_row, ra);
    __m512 B = _mm512_mask_loadu_ps(fill, in_row, rb);
    if (scale_in) A = _mm512_mul_ps(A, r), B = _mm512_mul_ps(B, r);
    if (is_max) *nan |= _mm512_cmp_ps_mask(A, B, _CMP_UNORD_Q);
    __m512 v = _mm512_permutex2var_ps(A, tap[0], B);
#pragma GCC unroll 3
    for (int k = 1; k < K; k++) {
        const __m512 t = _mm512_permutex2var_ps(A, tap[k], B);
        v = is_max ? _mm512_max_ps(t, v) : _mm512_add_ps(v, t);
    }
    return v;
}

/* What twin_planes needs, set up once per call. */
typedef struct twin {
    __m512i tap[3]; /* tap k: lane j < 8 takes plane p's column S * j + k, j >= 8 p + 1's */
    __m512 xr;      /* 1/divisor along x: per output lane, both halves; or
                     * scale_in, per loaded column */
    __mmask16 in_row, om;
} twin;

static void twin_init(const pb_desc *d, const pb_avx512_geom *geo, const int K, const int S,
                      bool scale_in, twin *tw)
{
    float xr8[VL];
    for (int k = 0; k < K; k++) {
        int32_t idx[VL];
        for (int j = 0; j < VL; j++) idx[j] = (int32_t)((S * (j % 8) + k + (j & 8) * 2) & 31);
        tw->tap[k] = _mm512_loadu_si512(idx);
    }
    for (int j = 0; j < VL; j++)
        xr8[j] = !scale_in            ? geo->x.r[j % 8]
                 : j < d->pl || j >= d->pl + d->iw ? 0.0f
                                                    : geo->x.r[j - d->pl];
    tw->xr = _mm512_loadu_ps(xr8);
    tw->in_row = pb_avx512_lanes(d->pl, d->pl + d->iw);
    tw->om = pb_avx512_lanes(0, d->ow);
}

/* Planes p (at `plane`) and p + 1, every output row; true if a NaN was
 * read.  scale_in (the average backward's sum pooling of the gradient,
 * avg_bwd_s1_plane): each input row y is scaled by ry[y] * rx as it is
 * loaded, and the outputs are not. */
INLINE bool twin_planes(const pb_desc *d, const pb_avx512_geom *geo, const twin *tw,
                        const float *plane, float *out, const int K, const int S, bool is_max,
                        const bool scale_in)
{
    const int64_t IH = d->ih, IW = d->iw, OH = d->oh, OW = d->ow, P = IH * IW, Q = OH * OW;
    const __m512 fill = is_max ? _mm512_set1_ps(-__builtin_inff()) : _mm512_setzero_ps();
    /* copied: the stores to out could alias *tw, and the taps would be
     * reloaded after every row */
    const twin t = *tw;
    const float *pa = plane - d->pl, *pb = plane + P - d->pl;
    __mmask16 nan = 0;
    __m512 R[3];
    int64_t y = -d->pt;
#define TWIN_ROW(row)                                                                         \
    ((row) >= 0 && (row) < IH                                                                 \
         ? twin_hwin(pa + (row) * IW, pb + (row) * IW, t.in_row, t.tap, K, fill, is_max,       \
                     &nan, scale_in,                                                          \
                     scale_in ? _mm512_mul_ps(_mm512_set1_ps(geo->y.r[(row)]), t.xr) : fill)   \
         : fill)
#pragma GCC unroll 3
    for (int k = 0; k < K - S; k++) R[k] = TWIN_ROW(y + k);
    for (int64_t oh = 0; oh < OH; oh++, y += S) {
#pragma GCC unroll 3
        for (int k = K - S; k < K; k++) R[k] = TWIN_ROW(y + k);
        __m512 v = R[0];
#pragma GCC unroll 3
        for (int k = 1; k < K; k++) v = is_max ? _mm512_max_ps(R[k], v) : _mm512_add_ps(v, R[k]);
        if (!is_max && !scale_in)
            v = _mm512_mul_ps(v, _mm512_mul_ps(_mm512_set1_ps(geo->y.r[oh]), t.xr));
        _mm512_mask_storeu_ps(out + oh * OW, t.om, v);
        _mm256_mask_storeu_ps(out + Q + oh * OW, (__mmask8)t.om, pb_avx512_upper8(v));
#pragma GCC unroll 3
        for (int k = 0; k < K - S; k++) R[k] = R[k + S];
    }
#undef TWIN_ROW
    return nan != 0;
}

INLINE pb_status strips_fwd(const pb_desc *d, const pb_args *a, const pb_avx512_geom *geo,
                            int64_t begin, int64_t end, const int K, const int S, bool is_max)
{
    const int64_t OH = d->oh;
    const bool twins = twin_ok(d);
    twin tw;
    if (twins) twin_init(d, geo, K, S, false, &tw);
    for (int64_t r = begin; r < end;) {
        const int64_t p = r / OH, oh0 = r % OH;
        if (twins && oh0 == 0 && r + 2 * OH <= end) {
            if (twin_planes(d, geo, &tw, a->src + p * d->ih * d->iw, a->dst + p * OH * d->ow,
                            K, S, is_max, false)) {
                pb_status st = pb_avx512_nchw_fwd_rows(d, a, geo, r, r + 2 * OH);
                if (st != PB_OK) return st;
            }
            r += 2 * OH;
            continue;
        }
        const int64_t oh1 = oh0 + (end - r) < OH ? oh0 + (end - r) : OH;
        const float *plane = a->src + p * d->ih * d->iw;
        float *out = a->dst + p * OH * d->ow;
        if (plane_rows(d, geo, plane, out, oh0, oh1, K, S, is_max, true)) {
            /* a NaN among the inputs: the exact scan */
            pb_status st = pb_avx512_nchw_fwd_rows(d, a, geo, r, r + (oh1 - oh0));
            if (st != PB_OK) return st;
        }
        r += oh1 - oh0;
    }
    return PB_OK;
}

/* One instantiation per (window, stride, algorithm): the loops over taps
 * and rows unroll and R stays in registers. */
#define STRIPS(K, S)                                                                      \
    (d->alg == PB_ALG_MAX ? strips_fwd(d, a, g, begin, end, K, S, true)                   \
                          : strips_fwd(d, a, g, begin, end, K, S, false))

pb_status pb_avx512_nchw_strips_fwd(const pb_desc *d, const pb_args *a, const pb_avx512_geom *g,
                                    int64_t begin, int64_t end)
{
    if (d->kh == 2) return d->sh == 1 ? STRIPS(2, 1) : STRIPS(2, 2);
    return d->sh == 1 ? STRIPS(3, 1) : STRIPS(3, 2);
}

/* ---- backward ---- */

/* Stride 2, per tap t: lane i of a strip from c0 takes output
 * c0 / 2 + q0 + idx[i] of one load from there, in the lanes where
 * c0 + i + pl - t is even (par). */
typedef struct tpose {
    __m512i idx[3];
    __mmask16 par[3];
    int64_t q0; /* floor((pl - K + 1) / 2) */
} tpose;

/* The stride-1 average backward as a forward: sum pooling of the scaled
 * gradient (an IH x IW output of an OH x OW input) with the mirrored
 * padding K - 1 - pad. */
INLINE pb_desc mirrored(const pb_desc *d, const int K)
{
    pb_desc t = *d;
    t.ih = d->oh, t.iw = d->ow, t.oh = d->ih, t.ow = d->iw;
    t.pt = K - 1 - d->pt, t.pl = K - 1 - d->pl;
    return t;
}

/* Average backward at stride 1, one plane: the gradient scaled by
 * 1/divisor into gs (the output plane), then the sums of gs over the
 * mirrored window, which is the forward's sum pooling of gs with padding
 * K - 1 - pad (the window rows slide through registers): 2.1-2.5x faster
 * than the general form on googlenet's 3x3/1. */
INLINE void avg_bwd_s1_plane(const pb_desc *d, const pb_avx512_geom *geo, const float *dd,
                             float *ds, float *gs, const int K)
{
    const int64_t IH = d->ih, OH = d->oh, OW = d->ow;
    for (int64_t oh = 0; oh < OH; oh++) {
        const __m512 ry = _mm512_set1_ps(geo->y.r[oh]);
        for (int64_t c0 = 0; c0 < OW; c0 += VL) {
            const __mmask16 m = pb_avx512_lanes(0, OW - c0);
            const __m512 v = _mm512_maskz_loadu_ps(m, dd + oh * OW + c0);
            const __m512 r = _mm512_mul_ps(ry, _mm512_loadu_ps(geo->x.r + c0));
            _mm512_mask_storeu_ps(gs + oh * OW + c0, m, _mm512_mul_ps(v, r));
        }
    }
    /* inlined: a descriptor returned by a call lives in memory, and
     * plane_rows reloaded its fields after every store (14x14 0.65x) */
    const pb_desc t = mirrored(d, K);
    plane_rows(&t, geo, gs, ds, 0, IH, K, 1, false, false);
}

/* Average backward of 3x3 windows at stride 2, one plane: per strip of
 * 16 input columns, each output row's transposed horizontal window (the
 * sum of its outputs' scaled gradients g * (ry * rx) over the taps that
 * reach each pixel), computed once and kept in registers, the two latest
 * ones, while the diff_src rows are written in order (an input row has at
 * most two covering output rows, summed from +0 in their order).  Against
 * the form this replaced (the scaled gradient and the transposed rows
 * through memory), side by side, 1 thread: alexnet pool5 1.35x, googlenet
 * pool4 1.38x, alexnet pool1-2 1.13-1.15x, googlenet pool2-3 1.07-1.11x. */
INLINE void avg_bwd_k3s2_plane(const pb_desc *d, const pb_avx512_geom *geo, const tpose *tp,
                               const float *dd, float *ds)
{
    const int64_t IH = d->ih, IW = d->iw, OW = d->ow;
    for (int64_t c0 = 0; c0 < IW; c0 += VL) {
        const __mmask16 sm = pb_avx512_lanes(0, IW - c0);
        const int64_t ow0 = c0 / 2 + tp->q0;
        const __mmask16 gm = pb_avx512_lanes(-ow0, OW - ow0);
        const __m512 rx = _mm512_maskz_loadu_ps(gm, geo->x.r + ow0);
        __m512 h_prev = _mm512_setzero_ps(), h_last = _mm512_setzero_ps();
        int64_t last = -1; /* the output row in h_last */
        for (int64_t y = 0; y < IH; y++) {
            const int64_t lo = geo->y.clo[y], hi = geo->y.chi[y];
            while (last < hi - 1) {
                last++;
                const __m512 r = _mm512_mul_ps(_mm512_set1_ps(geo->y.r[last]), rx);
                const __m512 g = _mm512_mul_ps(_mm512_maskz_loadu_ps(gm, dd + last * OW + ow0), r);
                __m512 h = _mm512_setzero_ps();
#pragma GCC unroll 3
                for (int t = 0; t < 3; t++)
                    h = _mm512_add_ps(h, _mm512_maskz_permutexvar_ps(tp->par[t], tp->idx[t], g));
                h_prev = h_last;
                h_last = h;
            }
            __m512 v = _mm512_setzero_ps();
            if (hi - lo == 2) v = _mm512_add_ps(v, h_prev);
            if (hi - lo >= 1) v = _mm512_add_ps(v, h_last);
            _mm512_mask_storeu_ps(ds + y * IW + c0, sm, v);
        }
    }
}

/* Where a scratch plane should start, modulo 4096, so that its scattered
 * stores do not share their low 12 address bits with the gradient and
 * argmax loads that follow (4K aliasing: the CPU then takes the load for
 * dependent on the store and replays it).  The middle of the larger gap
 * between the two read streams. */
static uintptr_t away_from(const void *p, const void *q)
{
    const uintptr_t a = (uintptr_t)p & 4095, b = (uintptr_t)q & 4095;
    const uintptr_t ab = (b - a) & 4095, ba = (a - b) & 4095;
    return ab >= ba ? (a + ab / 2) & 4095 : (b + ba / 2) & 4095;
}

/* Max: each upstream gradient added at its argmax in a scratch plane that
 * stays in L1, then copied out.  Scattering into diff_src itself ran at
 * half the speed in some runs of the suite: at stride 1 the argmax sits
 * next to the output, so with diff_src and diff_dst 4 KiB apart every
 * store aliased the next loads (stride 2 does scatter there: see
 * `direct`).  Small planes go in groups of up to MAX_BWD_GROUP_FLOATS
 * (consecutive planes are contiguous in every buffer): one check,
 * zeroing and copy per group.  Side by side, 1
 * thread, against one plane at a time: alexnet pool5 1.22x, googlenet
 * pool4 1.17x, 4a-4e 1.03-1.04x; groups of 4096 floats were 0.93-0.95x
 * on googlenet's 3x3/1 (the group and its streams leave L1). */
#define MAX_BWD_GROUP_FLOATS 2048
static pb_status max_bwd(const pb_desc *d, const pb_args *a, int64_t begin, int64_t end)
{
    const int64_t P = d->ih * d->iw, Q = d->oh * d->ow;
    const int64_t G = P >= MAX_BWD_GROUP_FLOATS ? 1 : MAX_BWD_GROUP_FLOATS / P;
    /* at stride 2 straight into diff_src, no scratch: the argmax of output
     * o sits near 2o there, so its store's distance to the loads drifts
     * and 4K aliasing stays occasional; saving the scratch's zeroing and
     * copy measured 1.22-1.27x (alexnet pool1, pool2, pool5, googlenet
     * pool2-4; 5 interleaved runs).  At stride 1 the distance is fixed:
     * 0.91-1.11x by where the buffers lie (googlenet 3a-5ab) */
    const bool direct = d->sw == 2;
    /* the scratch: up to 4 KiB of placement slack, and one vector past
     * G * P because the copy reads it in whole vectors */
    char *mem = direct ? NULL : malloc((size_t)(G * P) * sizeof(float) + 4096 + 128);
    if (!direct && !mem) return PB_ERR_NOMEM;
    const uintptr_t base = ((uintptr_t)mem + 63) & ~(uintptr_t)63;
    pb_status st = PB_OK;
    for (int64_t p = begin; p < end && st == PB_OK; p += G) {
        const int64_t g = end - p < G ? end - p : G, gp = g * P, gq = g * Q;
        const float *dd = a->diff_dst + p * Q;
        const int32_t *ws = a->ws + p * Q;
        float *ds = a->diff_src + p * P;
        float *acc = direct ? ds
                            : (float *)(base + ((away_from(dd, ws) - base) & 4095 & ~(uintptr_t)3));
        /* the largest argmax as unsigned (a negative one is huge), checked
         * once: a compare, mask move and OR per vector took ~15% of the
         * samples here (perf, 28x28x256 3x3/1) */
        __m512i top = _mm512_setzero_si512();
        int64_t i = 0;
        for (; i + VL <= gq; i += VL) top = _mm512_max_epu32(top, _mm512_loadu_si512(ws + i));
        if (i < gq)
            top = _mm512_max_epu32(top,
                                   _mm512_maskz_loadu_epi32(pb_avx512_lanes(0, gq - i), ws + i));
        if (_mm512_cmp_epu32_mask(top, _mm512_set1_epi32((int)P), _MM_CMPINT_NLT)) {
            st = PB_ERR_UNSUPPORTED; /* an argmax outside the plane, as the reference */
            break;
        }
        for (i = 0; i + VL <= gp; i += VL) _mm512_storeu_ps(acc + i, _mm512_setzero_ps());
        if (i < gp) _mm512_mask_storeu_ps(acc + i, pb_avx512_lanes(0, gp - i), _mm512_setzero_ps());
        for (int64_t k = 0; k < g; k++) {
            /* one plane: four interleaved runs of outputs, since
             * neighbouring outputs often share their argmax, and one
             * run's chain of adds to one place waits on store-to-load
             * forwarding.  8 runs measured even and 16 slower
             * (0.83-0.98x): past four the limit is elsewhere */
            float *ak = acc + k * P;
            const int32_t *wk = ws + k * Q;
            const float *gk = dd + k * Q;
            const int64_t q4 = Q / 4;
            for (int64_t o = 0; o < q4; o++) {
                ak[wk[o]] += gk[o];
                ak[wk[o + q4]] += gk[o + q4];
                ak[wk[o + 2 * q4]] += gk[o + 2 * q4];
                ak[wk[o + 3 * q4]] += gk[o + 3 * q4];
            }
            for (int64_t o = 4 * q4; o < Q; o++) ak[wk[o]] += gk[o];
        }
        if (direct) continue;
        for (i = 0; i + VL <= gp; i += VL) _mm512_storeu_ps(ds + i, _mm512_loadu_ps(acc + i));
        if (i < gp)
            _mm512_mask_storeu_ps(ds + i, pb_avx512_lanes(0, gp - i), _mm512_loadu_ps(acc + i));
    }
    free(mem);
    return st;
}

/* One output row's gradients and argmaxes lined up with a strip of 16
 * input columns from x0, for each of the 3 window columns dx (output
 * column x + pl - dx): outputs outside the plane read as gradient 0 and
 * argmax -1, which no pixel matches. */
typedef struct k3_row {
    __m512 g[3];
    __m512i w[3];
} k3_row;

INLINE k3_row k3_row_load(const float *dd, const int32_t *ws, int64_t oh, int64_t OH, int64_t OW,
                          int64_t x0, int64_t pl, const __mmask16 *m)
{
    k3_row r;
    const bool in = oh >= 0 && oh < OH;
#pragma GCC unroll 3
    for (int dx = 0; dx < 3; dx++) {
        const __mmask16 k = in ? m[dx] : 0;
        const int64_t o = oh * OW + x0 + pl - dx;
        r.g[dx] = _mm512_maskz_loadu_ps(k, dd + o);
        r.w[dx] = _mm512_mask_loadu_epi32(_mm512_set1_epi32(-1), k, ws + o);
    }
    return r;
}

/* The sum, from +0 and in the reference's order (outputs row-major: the
 * top row first, and in a row dx = 2, the leftmost output, first), of the
 * gradients of rows top, mid, bot whose argmax is pos; the matches are
 * counted per lane in *cnt. */
INLINE __m512 k3_sum(const k3_row *top, const k3_row *mid, const k3_row *bot, __m512i pos,
                     __m512i *cnt)
{
    const k3_row *rows[3] = {top, mid, bot};
    __m512 acc = _mm512_setzero_ps();
#pragma GCC unroll 3
    for (int k = 0; k < 3; k++)
#pragma GCC unroll 3
        for (int dx = 2; dx >= 0; dx--)
            acc = pb_avx512_take_grad(acc, rows[k]->w[dx], rows[k]->g[dx], pos, cnt);
    return acc;
}

/* Max backward of 3x3 windows at stride 1, one plane, gathered: each
 * strip of 16 input pixels sums the gradients of the up to 9 outputs
 * covering it whose argmax names it (k3_sum); the 3 output rows that cover
 * an input row ride along in registers (k3_row), so each is loaded once
 * per strip, and every diff_src element is written once.  The matches are
 * counted: fewer than one per output means an argmax outside its window,
 * and the plane is left to the exact scatter (returns false).  Side by
 * side against the scatter (max_bwd), 1 thread, 5 interleaved runs:
 * googlenet 3a 1.11x, 3b 1.18x, 4a 1.06x, 4b-d 1.11x, 4e 1.10x, but 5ab
 * (7x7) 0.63x, hence from MAX_BWD_K3S1_MIN_W columns.  The 9 compares and
 * masked adds per 16 pixels keep Zen 4's double-pumped 512-bit units
 * busy (perf); two rows per step, to overlap the chains of adds, and
 * popcounts for the matches instead of vector adds measured even. */
#define MAX_BWD_K3S1_MIN_W 14
INLINE bool max_bwd_k3s1_plane(const pb_desc *d, const float *dd, const int32_t *ws, float *ds)
{
    const int64_t IH = d->ih, IW = d->iw, OH = d->oh, OW = d->ow, pl = d->pl, pt = d->pt;
    const __m512i row_step = _mm512_set1_epi32((int)IW);
    __m512i cnt = _mm512_setzero_si512();
    for (int64_t x0 = 0; x0 < IW; x0 += VL) {
        /* lanes whose output column x0 + j + pl - dx lies in [0, OW) and
         * whose pixel lies in the row */
        const __mmask16 sm = pb_avx512_lanes(0, IW - x0);
        __mmask16 m[3];
        for (int dx = 0; dx < 3; dx++)
            m[dx] = pb_avx512_lanes(dx - pl - x0, OW - (x0 + pl - dx)) & sm;
        __m512i pos = _mm512_add_epi32(pb_avx512_iota(), _mm512_set1_epi32((int)x0));
        /* output rows y + pt - 2 (r2), y + pt - 1 (r1) and y + pt (r0) */
        k3_row r2 = k3_row_load(dd, ws, pt - 2, OH, OW, x0, pl, m);
        k3_row r1 = k3_row_load(dd, ws, pt - 1, OH, OW, x0, pl, m);
        for (int64_t y = 0; y < IH; y++) {
            const k3_row r0 = k3_row_load(dd, ws, y + pt, OH, OW, x0, pl, m);
            _mm512_mask_storeu_ps(ds + y * IW + x0, sm, k3_sum(&r2, &r1, &r0, pos, &cnt));
            pos = _mm512_add_epi32(pos, row_step);
            r2 = r1, r1 = r0;
        }
    }
    return _mm512_reduce_add_epi32(cnt) == OH * OW;
}

bool pb_avx512_nchw_max_bwd_k3s1_plane(const pb_desc *d, const float *dd, const int32_t *ws,
                                       float *ds)
{
    return max_bwd_k3s1_plane(d, dd, ws, ds);
}

/* 2x2/2 backward: the windows do not overlap, so input row y takes output
 * row (y + pt) / 2 only, each output widened to its two columns by one
 * permute (lane j of a strip from column c0: output (c0 + j + pl) / 2),
 * and every diff_src row is written once; rows and columns no window
 * covers get 0.  Avg: g * (1/divisor), as the other paths.  Max: 0 + g
 * where the widened argmax is the pixel; the matches are counted, and a
 * plane where some argmax lies outside its window (fewer than one match
 * per output) returns false for the exact scatter (max_bwd).  Each output
 * row is widened once for both of its input rows.  Measured: see
 * pb_avx512_nchw_strips_bwd_ok. */
INLINE bool k2s2_bwd_plane(const pb_desc *d, const pb_avx512_geom *geo, const float *dd,
                           const int32_t *ws, float *ds, __m512i widen, bool is_max)
{
    const int64_t IH = d->ih, IW = d->iw, OH = d->oh, OW = d->ow, pl = d->pl, pt = d->pt;
    const __m512 zero = _mm512_setzero_ps();
    const __m512i one = _mm512_set1_epi32(1);
    __m512i matched = _mm512_setzero_si512();
    /* rows past the last window: y >= 2 * OH - pt */
    const int64_t covered_h = 2 * OH - pt < IH ? 2 * OH - pt : IH;
    for (int64_t c0 = 0; c0 < IW; c0 += VL) {
        const int64_t ow0 = (c0 + pl) / 2;
        /* columns past the last window widen the zeros loaded past the
         * last output (an argmax of 0 there matches no such pixel) */
        const __mmask16 gm = pb_avx512_lanes(0, OW - ow0), sm = pb_avx512_lanes(0, IW - c0);
        const __m512 rx = _mm512_loadu_ps(geo->x.r + ow0);
        const __m512i col = _mm512_add_epi32(pb_avx512_iota(), _mm512_set1_epi32((int)c0));
        for (int64_t oh = 0; oh < OH; oh++) {
            /* the window's rows 2 * oh - pt and the next, inside the plane */
            const int64_t y0 = 2 * oh - pt < 0 ? 0 : 2 * oh - pt;
            const int64_t y1 = 2 * oh - pt + 2 < IH ? 2 * oh - pt + 2 : IH;
            const __m512 g = _mm512_maskz_loadu_ps(gm, dd + oh * OW + ow0);
            if (!is_max) {
                const __m512 r = _mm512_mul_ps(_mm512_set1_ps(geo->y.r[oh]), rx);
                const __m512 v = _mm512_permutexvar_ps(widen, _mm512_mul_ps(g, r));
                for (int64_t y = y0; y < y1; y++) _mm512_mask_storeu_ps(ds + y * IW + c0, sm, v);
                continue;
            }
            const __m512i w = _mm512_permutexvar_epi32(
                widen, _mm512_maskz_loadu_epi32(gm, ws + oh * OW + ow0));
            const __m512 gw = _mm512_permutexvar_ps(widen, g);
            for (int64_t y = y0; y < y1; y++) {
                const __m512i pos = _mm512_add_epi32(col, _mm512_set1_epi32((int)(y * IW)));
                const __mmask16 m = _mm512_cmpeq_epi32_mask(w, pos);
                _mm512_mask_storeu_ps(ds + y * IW + c0, sm, _mm512_maskz_add_ps(m, zero, gw));
                matched = _mm512_mask_add_epi32(matched, m, matched, one);
            }
        }
        for (int64_t y = covered_h; y < IH; y++) _mm512_mask_storeu_ps(ds + y * IW + c0, sm, zero);
    }
    return !is_max || _mm512_reduce_add_epi32(matched) == OH * OW;
}

/* The stride-1 average backward of planes up to 8 wide, two at a time
 * (twin_planes with its input scaled); returns the first plane left
 * (begin on wider planes).  In a function of its own: how GCC laid out
 * the pair loop inside strips_bwd changed with unrelated edits there
 * (7x7 planes 8.4 or 10.4 us, side by side). */
static __attribute__((noinline)) int64_t avg_bwd_twins(const pb_desc *d,
                                                       const pb_avx512_geom *geo,
                                                       const pb_args *a, int64_t begin,
                                                       int64_t end)
{
    const int64_t P = d->ih * d->iw, Q = d->oh * d->ow;
    const pb_desc t = mirrored(d, (int)d->kh);
    twin tw;
    int64_t p = begin;
    if (!twin_ok(&t)) return p;
    if (d->kh == 2) {
        twin_init(&t, geo, 2, 1, true, &tw);
        for (; p + 2 <= end; p += 2)
            twin_planes(&t, geo, &tw, a->diff_dst + p * Q, a->diff_src + p * P, 2, 1, false, true);
    } else {
        twin_init(&t, geo, 3, 1, true, &tw);
        for (; p + 2 <= end; p += 2)
            twin_planes(&t, geo, &tw, a->diff_dst + p * Q, a->diff_src + p * P, 3, 1, false, true);
    }
    return p;
}

INLINE pb_status strips_bwd(const pb_desc *d, const pb_args *a, const pb_avx512_geom *geo,
                            int64_t begin, int64_t end, const int K, const int S)
{
    const int64_t P = d->ih * d->iw, Q = d->oh * d->ow;
    if (K == 2 && S == 2) {
        const bool is_max = d->alg == PB_ALG_MAX;
        int32_t idx[VL];
        for (int j = 0; j < VL; j++) idx[j] = (int32_t)((j + d->pl) / 2);
        const __m512i widen = _mm512_loadu_si512(idx);
        for (int64_t p = begin; p < end; p++) {
            if (k2s2_bwd_plane(d, geo, a->diff_dst + p * Q, is_max ? a->ws + p * Q : NULL,
                               a->diff_src + p * P, widen, is_max))
                continue;
            const pb_status st = max_bwd(d, a, p, p + 1);
            if (st != PB_OK) return st;
        }
        return PB_OK;
    }
    if (d->alg == PB_ALG_MAX && K == 3 && S == 1 && d->iw >= MAX_BWD_K3S1_MIN_W) {
        for (int64_t p = begin; p < end; p++) {
            if (max_bwd_k3s1_plane(d, a->diff_dst + p * Q, a->ws + p * Q, a->diff_src + p * P))
                continue;
            const pb_status st = max_bwd(d, a, p, p + 1);
            if (st != PB_OK) return st;
        }
        return PB_OK;
    }
    if (d->alg == PB_ALG_MAX) return max_bwd(d, a, begin, end);
    if (S == 2) {
        /* 3x3/2: the permutes that line each tap's outputs up with the
         * pixels (tpose) */
        tpose tp = {.q0 = pb_avx512_floor_div(d->pl - K + 1, 2)};
        for (int t = 0; t < K; t++) {
            int32_t idx[VL];
            __mmask16 par = 0;
            for (int i = 0; i < VL; i++) {
                const int64_t u = d->pl + i - t; /* S * (ow - ow of lane 0's pair) */
                idx[i] = (int32_t)(pb_avx512_floor_div(u, 2) - tp.q0);
                if ((u & 1) == 0) par |= (__mmask16)(1u << i);
            }
            tp.idx[t] = _mm512_loadu_si512(idx);
            tp.par[t] = par;
        }
        for (int64_t p = begin; p < end; p++)
            avg_bwd_k3s2_plane(d, geo, &tp, a->diff_dst + p * Q, a->diff_src + p * P);
        return PB_OK;
    }
    float *gs = malloc((size_t)Q * sizeof(float));
    if (!gs) return PB_ERR_NOMEM;
    for (int64_t p = avg_bwd_twins(d, geo, a, begin, end); p < end; p++)
        avg_bwd_s1_plane(d, geo, a->diff_dst + p * Q, a->diff_src + p * P, gs, K);
    free(gs);
    return PB_OK;
}

/* Measured against the row and lanes kernels, 1 thread, side by side
 * (alexnet, vgg16, googlenet): 1.3-1.6x on overlapping windows (3x3/2 on
 * 55x55 to 13x13, 3x3/1 on 28x28 and 14x14) and on the lanes path's
 * 14x14 2x2/2; but 0.75-0.82x on 56x56 2x2/2, where the row kernel
 * writes each diff_src row once in one pass, and 0.9-1.0x on 7x7 planes
 * (a strip per 49 elements; the lanes path spreads its set-up over 64
 * planes).  Hence: overlapping windows or lanes-path widths, at least 8
 * columns.  2x2/2 (k2s2_bwd_plane), side by side: vgg16 pool5
 * (14x14x512) against the transposed strips and the scatter avg 1.9x,
 * max 1.6x; against the row kernel 28x28x512 1.3x, 40x40x64 1.2x, but
 * 56x56x256 0.8x: up to K2S2_BWD_MAX_PLANE. */
#define K2S2_BWD_MAX_PLANE (8 << 10)
bool pb_avx512_nchw_strips_bwd_ok(const pb_desc *d, const pb_args *a)
{
    /* max of overlapping windows on narrower planes: the grouped scatter,
     * against the lanes path, side by side: 7x7 3x3/1 p1 (googlenet 5ab)
     * 1.3x, 6x6 1.26x, but 5x5 0.9x; 3x3/2 on 4x4 to 7x7 1.57-1.73x */
    const bool narrow_max = d->alg == PB_ALG_MAX && d->kw > d->sw && (d->sw == 2 || d->iw >= 6);
    /* average at stride 1 on planes up to 8 wide: two planes at a time
     * (twin_planes), against the lanes path, side by side: 3x3/1 p1 on
     * 7x7 (googlenet 5ab) 3.3x, 5x5 2.7x, 3x3 1.7x; 2x2/1 on 6x6 2.8x */
    const bool twin_avg = d->alg != PB_ALG_MAX && d->sw == 1;
    return strips_window(d) && plane_bytes(d) <= PB_AVX512_STRIPS_MAX_PLANE &&
           (d->iw >= 8 || narrow_max || twin_avg) &&
           (d->kw > d->sw || d->iw <= PB_AVX512_LANES_MAX_W ||
            (d->kw == 2 && d->sw == 2 && plane_bytes(d) <= K2S2_BWD_MAX_PLANE)) &&
           !pb_avx512_stream_ok(d, a, d->iw);
}

#define STRIPS_BWD(K, S) strips_bwd(d, a, g, begin, end, K, S)

pb_status pb_avx512_nchw_strips_bwd(const pb_desc *d, const pb_args *a, const pb_avx512_geom *g,
                                    int64_t begin, int64_t end)
{
    if (d->kh == 2) return d->sh == 1 ? STRIPS_BWD(2, 1) : STRIPS_BWD(2, 2);
    return d->sh == 1 ? STRIPS_BWD(3, 1) : STRIPS_BWD(3, 2);
}
