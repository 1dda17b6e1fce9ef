/*
 * AVX-512 pooling in NHWC, vectorized along C: one register holds 16
 * channels of one pixel, so a window is scanned in plain row-major order
 * (exactly the reference's order) and edges need no lane masks; only the
 * channel tail is masked.  Forward walks four registers (64 channels) per
 * tap for independent dependency chains (8, or 16 for avg, on windows of
 * 25 taps and more); max inference unrolls whole 3x3 windows.
 *
 * Backward is input-centric: each diff_src pixel sums the gradients of the
 * outputs that cover it (max: those whose argmax names it), so every
 * element is written once and no zeroing pass is needed.  Windows that do
 * not overlap (2x2/2) go output-centric instead: each gradient and argmax
 * is loaded once, not once per tap.  Windows 3 columns wide (3x3/1,
 * 3x3/2) carry the covering outputs along the row in registers (w3_bwd).
 */
#include <stdlib.h>

#include "pool_avx512.h"

#define VL PB_AVX512_VL
#define INLINE static inline __attribute__((always_inline))

/* ---- forward ---- */

/* The exact scan: G registers (16*G channels from c) of one output pixel,
 * window rows [y0, y1) x columns [x0, x1), row-major with pb_avx512_take. */
INLINE void max_px(const float *sn, int64_t C, int64_t IW, int64_t y0, int64_t y1, int64_t x0,
                   int64_t x1, float *out, int32_t *wso, __mmask16 tail, bool train, int G)
{
    __m512 b[4];
    __m512i bp[4];
    const int64_t p0 = y0 * IW + x0;
    for (int j = 0; j < G; j++) {
        __mmask16 cm = j == G - 1 ? tail : (__mmask16)0xFFFF;
        b[j] = _mm512_maskz_loadu_ps(cm, sn + p0 * C + j * VL);
        bp[j] = _mm512_set1_epi32((int)p0);
    }
    for (int64_t h = y0; h < y1; h++)
        for (int64_t w = h == y0 ? x0 + 1 : x0; w < x1; w++) {
            const int64_t p = h * IW + w;
            const __m512i pv = _mm512_set1_epi32((int)p);
            for (int j = 0; j < G; j++) {
                __mmask16 cm = j == G - 1 ? tail : (__mmask16)0xFFFF;
                __m512 v = _mm512_maskz_loadu_ps(cm, sn + p * C + j * VL);
                __mmask16 m = pb_avx512_take(v, b[j]);
                b[j] = _mm512_mask_mov_ps(b[j], m, v);
                if (train) bp[j] = _mm512_mask_mov_epi32(bp[j], m, pv);
            }
        }
    for (int j = 0; j < G; j++) {
        __mmask16 cm = j == G - 1 ? tail : (__mmask16)0xFFFF;
        _mm512_mask_storeu_ps(out + j * VL, cm, b[j]);
        if (train) _mm512_mask_storeu_epi32(wso + j * VL, cm, bp[j]);
    }
}

/* Channel register j of a block of NV: plain load unless it is the masked
 * tail (masked loads are slower on Zen). */
INLINE __m512 ldc(const float *p, int j, int NV, __mmask16 tail)
{
    return j == NV - 1 && tail != 0xFFFF ? _mm512_maskz_loadu_ps(tail, p + j * VL)
                                         : _mm512_loadu_ps(p + j * VL);
}

INLINE void stc(float *p, int j, int NV, __mmask16 tail, __m512 v)
{
    if (j == NV - 1 && tail != 0xFFFF)
        _mm512_mask_storeu_ps(p + j * VL, tail, v);
    else
        _mm512_storeu_ps(p + j * VL, v);
}

INLINE void stci(int32_t *p, int j, int NV, __mmask16 tail, __m512i v)
{
    if (j == NV - 1 && tail != 0xFFFF)
        _mm512_mask_storeu_epi32(p + j * VL, tail, v);
    else
        _mm512_storeu_si512(p + j * VL, v);
}

/* The fast max step (exact unless a NaN is among the inputs: vmaxps(v, b)
 * keeps b on ties, -0/+0 included; training compares once). */
INLINE void fstep(__m512 v, __m512i pv, __m512 *b, __m512i *bp, bool train)
{
    if (!train) {
        *b = _mm512_max_ps(v, *b);
        return;
    }
    __mmask16 m = _mm512_cmp_ps_mask(v, *b, _CMP_GT_OQ);
    *b = _mm512_mask_mov_ps(*b, m, v);
    *bp = _mm512_mask_mov_epi32(*bp, m, pv);
}

/* One tap of fast_px: NV registers of input pixel p into the max (b, bp)
 * and the sum s. */
INLINE void fast_tap(const float *sn, int64_t C, int64_t p, __m512 *b, __m512 *s, __m512i *bp,
                     __mmask16 tail, const int NV, bool is_max, bool train)
{
    const __m512i pv = _mm512_set1_epi32((int)p);
#pragma GCC unroll 16
    for (int j = 0; j < NV; j++) {
        __m512 v = ldc(sn + p * C, j, NV, tail);
        s[j] = _mm512_add_ps(s[j], v);
        if (is_max) fstep(v, pv, &b[j], &bp[j], train);
    }
}

/* Fast scan of one output pixel, NV registers: max (fast) or sum.  For max
 * the taps are also summed; a NaN anywhere makes the sum NaN (so does
 * inf - inf: a false alarm only costs the exact redo).  Returns whether
 * the pixel must be redone exactly.  KF > 0: a whole KF x KF window. */
INLINE bool fast_px(const float *sn, int64_t C, int64_t IW, int64_t y0, int64_t y1, int64_t x0,
                    int64_t x1, float *out, int32_t *wso, float scale, __mmask16 tail, const int NV,
                    const int KF, bool is_max, bool train)
{
    __m512 b[16], s[16];
    __m512i bp[16];
    const int64_t p0 = y0 * IW + x0;
#pragma GCC unroll 16
    for (int j = 0; j < NV; j++) {
        b[j] = ldc(sn + p0 * C, j, NV, tail);
        s[j] = b[j];
        bp[j] = _mm512_set1_epi32((int)p0);
    }
    if (KF) { /* a whole KF x KF window: the taps unroll completely */
#pragma GCC unroll 3
        for (int ty = 0; ty < KF; ty++)
#pragma GCC unroll 3
            for (int tx = ty == 0 ? 1 : 0; tx < KF; tx++)
                fast_tap(sn, C, p0 + ty * IW + tx, b, s, bp, tail, NV, is_max, train);
    } else {
        for (int64_t h = y0; h < y1; h++)
            for (int64_t w = h == y0 ? x0 + 1 : x0; w < x1; w++)
                fast_tap(sn, C, h * IW + w, b, s, bp, tail, NV, is_max, train);
    }
    __mmask16 nan = 0;
#pragma GCC unroll 16
    for (int j = 0; j < NV; j++) {
        if (is_max) {
            nan |= _mm512_cmp_ps_mask(s[j], s[j], _CMP_UNORD_Q);
            stc(out, j, NV, tail, b[j]);
            if (train) stci(wso, j, NV, tail, bp[j]);
        } else {
            stc(out, j, NV, tail, _mm512_mul_ps(s[j], _mm512_set1_ps(scale)));
        }
    }
    return nan != 0;
}

/* Average of a large window (global pooling of a big plane): float sums
 * per window row, rows added in double, so the error stays within a few
 * ulps whatever the plane size. */
INLINE void avg_px_big(const float *sn, int64_t C, int64_t IW, int64_t y0, int64_t y1, int64_t x0,
                       int64_t x1, double inv, float *out, __mmask16 tail, const int NV)
{
    __m512d lo[4], hi[4];
    for (int j = 0; j < NV; j++) lo[j] = hi[j] = _mm512_setzero_pd();
    for (int64_t h = y0; h < y1; h++) {
        __m512 s[4];
        for (int j = 0; j < NV; j++) s[j] = _mm512_setzero_ps();
        for (int64_t w = x0; w < x1; w++)
            for (int j = 0; j < NV; j++)
                s[j] = _mm512_add_ps(s[j], ldc(sn + (h * IW + w) * C, j, NV, tail));
        for (int j = 0; j < NV; j++) {
            lo[j] = _mm512_add_pd(lo[j], _mm512_cvtps_pd(_mm512_castps512_ps256(s[j])));
            hi[j] = _mm512_add_pd(hi[j], _mm512_cvtps_pd(_mm256_castpd_ps(
                                             _mm512_extractf64x4_pd(_mm512_castps_pd(s[j]), 1))));
        }
    }
    const __m512d iv = _mm512_set1_pd(inv);
    for (int j = 0; j < NV; j++) {
        __m256 l = _mm512_cvtpd_ps(_mm512_mul_pd(lo[j], iv)),
               u = _mm512_cvtpd_ps(_mm512_mul_pd(hi[j], iv));
        __m512 v = _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(l)),
                                                       _mm256_castps_pd(u), 1));
        stc(out, j, NV, tail, v);
    }
}

/* Direct path: every output pixel scans its own window (2x2/2, 3x3/2,
 * global pooling), 64 channels at a time (for windows of 25 taps and
 * more, 128; avg 256). */
INLINE void direct_rows(const pb_desc *d, const pb_args *a, const pb_avx512_geom *geo,
                        int64_t begin, int64_t end, const int KF, bool is_max, bool train)
{
    const int64_t C = d->c, IH = d->ih, IW = d->iw, OH = d->oh, OW = d->ow;
    const bool big = !is_max && d->kh * d->kw > 64;
    /* windows of 25 taps and more take 128 channels at a time: 8
     * independent chains instead of 4 hide the add latency (7x7 global
     * max and avg, 1024 and 2048 channels: 1.25-1.4x, 3 rounds side by
     * side; at 3x3 no difference was measurable) */
    const bool wide = !big && d->kh * d->kw >= 25;
    for (int64_t r = begin; r < end; r++) {
        const int64_t n = r / OH, oh = r % OH;
        const float *sn = a->src + n * IH * IW * C;
        const int64_t y0 = geo->y.lo[oh], y1 = geo->y.hi[oh];
        for (int64_t ow = 0; ow < OW; ow++) {
            const int64_t x0 = geo->x.lo[ow], x1 = geo->x.hi[ow];
            float *out = a->dst + (r * OW + ow) * C;
            int32_t *wso = train ? a->ws + (r * OW + ow) * C : NULL;
            const float scale = geo->y.r[oh] * geo->x.r[ow];
            for (int64_t c = 0; c < C; c += 4 * VL) {
                const int64_t left = C - c;
                /* avg has no argmax or NaN sum, so it takes 256 channels
                 * at a time: side by side (medians of 6-8 interleaved
                 * runs, two sittings), 7x7 global avg 256-2048 channels
                 * 1.00-1.21x, 5x5 1.00-1.03x.  Not kept: summing each tap
                 * over all channels into the output (one contiguous read
                 * per tap), 1.17-1.41x in one sitting, 0.77-0.89x in the
                 * next */
                if (wide && !is_max && left >= 16 * VL) {
                    fast_px(sn + c, C, IW, y0, y1, x0, x1, out + c, NULL, scale, 0xFFFF, 16, 0,
                            false, false);
                    c += 12 * VL; /* and 4 * VL by the loop */
                    continue;
                }
                if (wide && left >= 8 * VL) {
                    const float *s = sn + c;
                    int32_t *w = train ? wso + c : NULL;
                    if (fast_px(s, C, IW, y0, y1, x0, x1, out + c, w, scale, 0xFFFF, 8, 0,
                                is_max, train) &&
                        is_max)
                        for (int64_t cc = 0; cc < 8 * VL; cc += VL)
                            max_px(s + cc, C, IW, y0, y1, x0, x1, out + c + cc,
                                   train ? w + cc : NULL, 0xFFFF, train, 1);
                    c += 4 * VL; /* and 4 * VL by the loop */
                    continue;
                }
                const __mmask16 tail =
                    pb_avx512_lanes(0, left - (left > 4 * VL ? 3 * VL : ((left - 1) / VL) * VL));
                const int nv = left >= 4 * VL ? 4 : (int)((left + VL - 1) / VL);
                const float *s = sn + c;
                float *o = out + c;
                int32_t *w = train ? wso + c : NULL;
                if (big) {
                    const double inv = 1.0 / ((double)(y1 - y0) * (double)(x1 - x0));
                    if (nv == 4)
                        avg_px_big(s, C, IW, y0, y1, x0, x1, inv, o, tail, 4);
                    else if (nv == 3)
                        avg_px_big(s, C, IW, y0, y1, x0, x1, inv, o, tail, 3);
                    else if (nv == 2)
                        avg_px_big(s, C, IW, y0, y1, x0, x1, inv, o, tail, 2);
                    else
                        avg_px_big(s, C, IW, y0, y1, x0, x1, inv, o, tail, 1);
                    continue;
                }
                bool redo;
                if (KF && left >= 4 * VL && y1 - y0 == KF && x1 - x0 == KF)
                    redo = fast_px(s, C, IW, y0, y1, x0, x1, o, w, scale, 0xFFFF, 4, KF, is_max,
                                   train);
                else if (nv == 4)
                    redo = fast_px(s, C, IW, y0, y1, x0, x1, o, w, scale, tail, 4, 0, is_max,
                                   train);
                else if (nv == 3)
                    redo = fast_px(s, C, IW, y0, y1, x0, x1, o, w, scale, tail, 3, 0, is_max,
                                   train);
                else if (nv == 2)
                    redo = fast_px(s, C, IW, y0, y1, x0, x1, o, w, scale, tail, 2, 0, is_max,
                                   train);
                else
                    redo = fast_px(s, C, IW, y0, y1, x0, x1, o, w, scale, tail, 1, 0, is_max,
                                   train);
                if (is_max && redo) {
                    for (int64_t cc = 0; cc < nv * VL && c + cc < C; cc += VL)
                        max_px(s + cc, C, IW, y0, y1, x0, x1, o + cc, train ? w + cc : NULL,
                               pb_avx512_lanes(0, C - c - cc), train, 1);
                }
            }
        }
    }
}

/* Each (window, alg) variant of the direct path is its own function: inlined
 * together into one, they shared one register allocation, and adding one
 * variant moved the speed of the others (3x3/2 max by 20% in one A/B). */
#define DIRECT_VARIANT(name, KF, MX, TR)                                                          \
    static __attribute__((noinline)) void name(const pb_desc *d, const pb_args *a,               \
                                               const pb_avx512_geom *g, int64_t b, int64_t e)    \
    {                                                                                            \
        direct_rows(d, a, g, b, e, KF, MX, TR);                                                  \
    }
DIRECT_VARIANT(direct_avg, 0, false, false)
DIRECT_VARIANT(direct_max_train, 0, true, true)
DIRECT_VARIANT(direct_max, 0, true, false)
DIRECT_VARIANT(direct_k3_max, 3, true, false)
#undef DIRECT_VARIANT
typedef void direct_fn(const pb_desc *, const pb_args *, const pb_avx512_geom *, int64_t, int64_t);
/* [3x3 window unrolled][avg, max training, max inference] */
static direct_fn *const direct_variant[2][3] = {
    {direct_avg, direct_max_train, direct_max},
    {direct_avg, direct_max_train, direct_k3_max},
};

/* Separable path for windows that overlap twice or more along H (kh >=
 * 2*sh, such as 3x3/1): per block of 64 channels, each
 * input row's horizontal window results (and argmax positions) are
 * computed once into a ring of kh rows and combined down by every output
 * row that uses them.  Max rows carry a NaN flag (from the summed taps);
 * an output row whose window holds a flagged row is redone exactly. */
typedef struct splan {
    int64_t C, IH, IW, OH, OW, kh;
    float *rval;   /* [kh][OW][64] */
    int32_t *rpos; /* [kh][OW][64] */
    bool *rnan;    /* [kh] */
    int64_t *rrow; /* [kh] input row held, -1 none */
    int64_t *rat;  /* [kh] ring offset of the current output row's window rows */
} splan;

#define SEP_NV 4 /* registers per channel block of the separable path */

/* Horizontal windows of input row h into ring slot `slot`; returns
 * whether a NaN (or inf - inf) was among the taps. */
INLINE bool sep_hrow(const splan *S, const pb_avx512_geom *geo, const float *sn, int64_t h,
                     int64_t slot, __mmask16 tail, const int KW, const int NV, bool is_max,
                     bool train)
{
    const int64_t C = S->C, IW = S->IW, OW = S->OW;
    const float *srow = sn + h * IW * C;
    float *rv = S->rval + slot * OW * SEP_NV * VL;
    int32_t *rp = S->rpos + slot * OW * SEP_NV * VL;
    __mmask16 nan = 0;
    for (int64_t ow = 0; ow < OW; ow++) {
        const int64_t x0 = geo->x.lo[ow], x1 = geo->x.hi[ow];
        __m512 b[SEP_NV], s[SEP_NV];
        __m512i bp[SEP_NV];
#pragma GCC unroll 4
        for (int j = 0; j < NV; j++) {
            b[j] = s[j] = ldc(srow + x0 * C, j, NV, tail);
            bp[j] = _mm512_set1_epi32((int)(h * IW + x0));
        }
        if (KW && x1 - x0 == KW) {
#pragma GCC unroll 4
            for (int tx = 1; tx < KW; tx++) {
                const __m512i pv = _mm512_set1_epi32((int)(h * IW + x0 + tx));
#pragma GCC unroll 4
                for (int j = 0; j < NV; j++) {
                    __m512 v = ldc(srow + (x0 + tx) * C, j, NV, tail);
                    if (is_max) {
                        s[j] = _mm512_add_ps(s[j], v);
                        fstep(v, pv, &b[j], &bp[j], train);
                    } else {
                        b[j] = _mm512_add_ps(b[j], v);
                    }
                }
            }
        } else {
            for (int64_t w = x0 + 1; w < x1; w++) {
                const __m512i pv = _mm512_set1_epi32((int)(h * IW + w));
#pragma GCC unroll 4
                for (int j = 0; j < NV; j++) {
                    __m512 v = ldc(srow + w * C, j, NV, tail);
                    if (is_max) {
                        s[j] = _mm512_add_ps(s[j], v);
                        fstep(v, pv, &b[j], &bp[j], train);
                    } else {
                        b[j] = _mm512_add_ps(b[j], v);
                    }
                }
            }
        }
#pragma GCC unroll 4
        for (int j = 0; j < NV; j++) {
            if (is_max) nan |= _mm512_cmp_ps_mask(s[j], s[j], _CMP_UNORD_Q);
            _mm512_storeu_ps(rv + (ow * SEP_NV + j) * VL, b[j]);
            if (train) _mm512_storeu_si512(rp + (ow * SEP_NV + j) * VL, bp[j]);
        }
    }
    return nan != 0;
}

INLINE void sep_block(const splan *S, const pb_avx512_geom *geo, const pb_args *a, int64_t n,
                      int64_t oh0, int64_t oh1, int64_t c, __mmask16 tail, const int KW,
                      const int NV, bool is_max, bool train)
{
    const int64_t C = S->C, IW = S->IW, OW = S->OW, kh = S->kh;
    const float *sn = a->src + n * S->IH * IW * C + c;
    for (int64_t i = 0; i < kh; i++) S->rrow[i] = -1;
    for (int64_t oh = oh0; oh < oh1; oh++) {
        const int64_t y0 = geo->y.lo[oh], y1 = geo->y.hi[oh];
        const int64_t r = n * S->OH + oh;
        bool nan = false;
        for (int64_t h = y0; h < y1; h++) {
            const int64_t slot = h % kh;
            if (S->rrow[slot] != h) {
                S->rnan[slot] = sep_hrow(S, geo, sn, h, slot, tail, KW, NV, is_max, train);
                S->rrow[slot] = h;
            }
            nan = nan || S->rnan[slot];
        }
        float *out = a->dst + r * OW * C + c;
        int32_t *wso = train ? a->ws + r * OW * C + c : NULL;
        if (is_max && nan) {
            for (int64_t ow = 0; ow < OW; ow++)
                for (int j = 0; j < NV; j++)
                    max_px(sn + j * VL, C, IW, y0, y1, geo->x.lo[ow], geo->x.hi[ow],
                           out + ow * C + j * VL, train ? wso + ow * C + j * VL : NULL,
                           j == NV - 1 ? tail : (__mmask16)0xFFFF, train, 1);
            continue;
        }
        /* the window rows' ring offsets, once per output row: a modulo
         * per output pixel and row cost more than the max itself */
        for (int64_t h = y0; h < y1; h++) S->rat[h - y0] = (h % kh) * OW * SEP_NV * VL;
        const float *r0 = S->rval + S->rat[0];
        const int32_t *p0 = S->rpos + S->rat[0];
        const __m512 ry = _mm512_set1_ps(geo->y.r[oh]);
        for (int64_t ow = 0; ow < OW; ow++) {
            __m512 b[SEP_NV];
            __m512i bp[SEP_NV];
#pragma GCC unroll 4
            for (int j = 0; j < NV; j++) {
                b[j] = _mm512_loadu_ps(r0 + (ow * SEP_NV + j) * VL);
                bp[j] = train ? _mm512_loadu_si512(p0 + (ow * SEP_NV + j) * VL)
                              : _mm512_setzero_si512();
            }
            for (int64_t h = 1; h < y1 - y0; h++) {
                const int64_t at = S->rat[h] + ow * SEP_NV * VL;
#pragma GCC unroll 4
                for (int j = 0; j < NV; j++) {
                    __m512 v = _mm512_loadu_ps(S->rval + at + j * VL);
                    if (!is_max)
                        b[j] = _mm512_add_ps(b[j], v);
                    else
                        fstep(v, train ? _mm512_loadu_si512(S->rpos + at + j * VL) : bp[j], &b[j],
                              &bp[j], train);
                }
            }
#pragma GCC unroll 4
            for (int j = 0; j < NV; j++) {
                if (!is_max)
                    b[j] = _mm512_mul_ps(b[j], _mm512_mul_ps(ry, _mm512_set1_ps(geo->x.r[ow])));
                stc(out + ow * C, j, NV, tail, b[j]);
                if (train) stci(wso + ow * C, j, NV, tail, bp[j]);
            }
        }
    }
}

INLINE void sep_rows(const pb_desc *d, const pb_args *a, const pb_avx512_geom *geo, const splan *S,
                     int64_t begin, int64_t end, const int KW, bool is_max, bool train)
{
    const int64_t C = d->c, OH = d->oh;
    for (int64_t r = begin; r < end;) {
        const int64_t n = r / OH, oh0 = r % OH;
        const int64_t oh1 = oh0 + (end - r) < OH ? oh0 + (end - r) : OH;
        for (int64_t c = 0; c < C; c += SEP_NV * VL) {
            const int64_t left = C - c;
            const int nv = left >= SEP_NV * VL ? SEP_NV : (int)((left + VL - 1) / VL);
            const __mmask16 tail = pb_avx512_lanes(0, left - (nv - 1) * VL);
            if (nv == 4)
                sep_block(S, geo, a, n, oh0, oh1, c, tail, KW, 4, is_max, train);
            else if (nv == 3)
                sep_block(S, geo, a, n, oh0, oh1, c, tail, KW, 3, is_max, train);
            else if (nv == 2)
                sep_block(S, geo, a, n, oh0, oh1, c, tail, KW, 2, is_max, train);
            else
                sep_block(S, geo, a, n, oh0, oh1, c, tail, KW, 1, is_max, train);
        }
        r += oh1 - oh0;
    }
}

/* Average of 3-wide windows at stride 1 or 2 along W (googlenet's 3x3/1
 * inception pools, the 3x3/2 stems): per output row and block of NV
 * channel registers, each input column's sum over the window rows is
 * computed once, when the walk along the row reaches it, and the ones an
 * output shares with the next stay in registers.  At stride 1 three
 * loads per output and no stores but its own, where the separable path
 * also writes and reads back its ring.  Columns outside the row add +0
 * (the reference's sum starts from +0 too).  Side by side, 1 thread,
 * against the separable path at stride 1: googlenet 3a 1.57x, 3b 1.36x,
 * 4a-4e 1.30-1.33x, 5ab 1.41x; against the direct path at stride 2:
 * alexnet pool1 1.08x, googlenet pool1 1.07x, resnet50 maxpool 1.08x,
 * the smaller ones 0.98-1.05x.  Not for max: summing columns first
 * changes which of +0 and -0 wins a tie. */
INLINE __m512 col_sum(const float *sn, int64_t C, int64_t IW, int64_t y0, int64_t y1, int64_t x,
                      int j, int NV, __mmask16 tail)
{
    if (x < 0 || x >= IW) return _mm512_setzero_ps();
    __m512 s = ldc(sn + (y0 * IW + x) * C, j, NV, tail);
    for (int64_t y = y0 + 1; y < y1; y++)
        s = _mm512_add_ps(s, ldc(sn + (y * IW + x) * C, j, NV, tail));
    return s;
}

INLINE void avg_w3_block(const pb_desc *d, const pb_avx512_geom *geo, const float *sn,
                         float *out, int64_t oh, __mmask16 tail, const int NV, const int S)
{
    const int64_t C = d->c, IW = d->iw, OW = d->ow, pl = d->pl;
    const int64_t y0 = geo->y.lo[oh], y1 = geo->y.hi[oh];
    const __m512 ry = _mm512_set1_ps(geo->y.r[oh]);
    /* the sums of the window's first columns S * ow - pl (and, S == 1,
     * the next) */
    __m512 c0[4], c1[4];
#pragma GCC unroll 4
    for (int j = 0; j < NV; j++) {
        c0[j] = col_sum(sn, C, IW, y0, y1, -pl, j, NV, tail);
        if (S == 1) c1[j] = col_sum(sn, C, IW, y0, y1, 1 - pl, j, NV, tail);
    }
    for (int64_t ow = 0; ow < OW; ow++) {
        const __m512 r = _mm512_mul_ps(ry, _mm512_set1_ps(geo->x.r[ow]));
        const int64_t x = S * ow - pl;
#pragma GCC unroll 4
        for (int j = 0; j < NV; j++) {
            if (S == 2) c1[j] = col_sum(sn, C, IW, y0, y1, x + 1, j, NV, tail);
            const __m512 c2 = col_sum(sn, C, IW, y0, y1, x + 2, j, NV, tail);
            stc(out + ow * C, j, NV, tail,
                _mm512_mul_ps(_mm512_add_ps(_mm512_add_ps(c0[j], c1[j]), c2), r));
            c0[j] = S == 1 ? c1[j] : c2;
            c1[j] = c2;
        }
    }
}

/* Max inference of 3-wide windows at stride 1 or 2, row-major as the
 * reference: per window row the columns an output shares with the next
 * stay in registers (two at stride 1, one at stride 2), each output loads
 * its new columns (one or two per row), takes its row's horizontal max
 * (earlier taps win ties) and then the rows' maximum top-down.  Every
 * loaded value also goes into a sum; a NaN there redoes the output row
 * exactly (max_px).  Blocks of 32 channels at stride 1 (the 12 carried
 * registers of 64 would not fit), 64 at stride 2.  Against the separable
 * path at stride 1, side by side, 1 thread, two sittings: googlenet 3a
 * 1.36-1.39x, 3b 1.16-1.30x, 4a-4e 1.10-1.33x, 5ab 1.18-1.36x (with the
 * row count a run-time loop bound, so the carried columns lived in
 * memory: 0.63-0.71x).  Against the direct path at stride 2: alexnet
 * pool1 1.27x, googlenet pool1 1.17x, resnet50 maxpool 1.17x, the
 * smaller ones 1.02-1.09x (32 channels; 64 added 0-10%). */
INLINE void max_w3_block(const pb_desc *d, const pb_avx512_geom *geo, const float *sn,
                         float *out, int64_t oh, __mmask16 tail, const int NV, const int nr,
                         const int S)
{
    const int64_t C = d->c, IW = d->iw, OW = d->ow, pl = d->pl;
    const int64_t y0 = geo->y.lo[oh], y1 = geo->y.hi[oh];
    const __m512 ninf = _mm512_set1_ps(-__builtin_inff());
    __m512 xa[3][4], xb[3][4], sum[4];
#define LD(y, x, j) ((x) >= 0 && (x) < IW ? ldc(sn + ((y) * IW + (x)) * C, j, NV, tail) : ninf)
#pragma GCC unroll 4
    for (int j = 0; j < NV; j++) {
        sum[j] = _mm512_setzero_ps();
#pragma GCC unroll 3
        for (int r = 0; r < nr; r++) {
            xa[r][j] = LD(y0 + r, -pl, j);
            sum[j] = _mm512_add_ps(sum[j], xa[r][j]);
            if (S == 1) {
                xb[r][j] = LD(y0 + r, 1 - pl, j);
                sum[j] = _mm512_add_ps(sum[j], xb[r][j]);
            }
        }
    }
    for (int64_t ow = 0; ow < OW; ow++) {
        const int64_t x = S * ow - pl + 2;
#pragma GCC unroll 4
        for (int j = 0; j < NV; j++) {
            __m512 v = ninf;
#pragma GCC unroll 3
            for (int r = 0; r < nr; r++) {
                if (S == 2) {
                    xb[r][j] = LD(y0 + r, x - 1, j);
                    sum[j] = _mm512_add_ps(sum[j], xb[r][j]);
                }
                const __m512 c = LD(y0 + r, x, j);
                sum[j] = _mm512_add_ps(sum[j], c);
                const __m512 h = _mm512_max_ps(c, _mm512_max_ps(xb[r][j], xa[r][j]));
                v = r == 0 ? h : _mm512_max_ps(h, v);
                xa[r][j] = S == 1 ? xb[r][j] : c;
                xb[r][j] = c;
            }
            stc(out + ow * C, j, NV, tail, v);
        }
    }
#undef LD
    __mmask16 nan = 0;
    for (int j = 0; j < NV; j++) nan |= _mm512_cmp_ps_mask(sum[j], sum[j], _CMP_UNORD_Q);
    if (nan)
        for (int64_t ow = 0; ow < OW; ow++)
            for (int j = 0; j < NV; j++)
                max_px(sn + j * VL, C, IW, y0, y1, geo->x.lo[ow], geo->x.hi[ow],
                       out + ow * C + j * VL, NULL, j == NV - 1 ? tail : (__mmask16)0xFFFF, false,
                       1);
}

static void max_w3_rows(const pb_desc *d, const pb_args *a, const pb_avx512_geom *geo,
                        int64_t begin, int64_t end)
{
    const int64_t C = d->c, OH = d->oh, IH = d->ih, IW = d->iw, OW = d->ow;
    for (int64_t r = begin; r < end; r++) {
        const int64_t n = r / OH, oh = r % OH;
        const int64_t bw = d->sw == 1 ? 2 : 4; /* registers per block */
        for (int64_t c = 0; c < C; c += bw * VL) {
            const float *sn = a->src + n * IH * IW * C + c;
            float *out = a->dst + r * OW * C + c;
            const int64_t left = C - c;
            const int nv = left >= bw * VL ? (int)bw : (int)((left + VL - 1) / VL);
            const __mmask16 tail = pb_avx512_lanes(0, left - (nv - 1) * VL);
            const int64_t nr = geo->y.hi[oh] - geo->y.lo[oh];
#define MW3S(NV, S) (nr == 3   ? max_w3_block(d, geo, sn, out, oh, tail, NV, 3, S) \
                     : nr == 2 ? max_w3_block(d, geo, sn, out, oh, tail, NV, 2, S) \
                               : max_w3_block(d, geo, sn, out, oh, tail, NV, 1, S))
#define MW3(NV) (d->sw == 1 ? MW3S(NV, 1) : MW3S(NV, 2))
            if (nv == 4)
                MW3S(4, 2);
            else if (nv == 3)
                MW3S(3, 2);
            else if (nv == 2)
                MW3(2);
            else
                MW3(1);
#undef MW3
#undef MW3S
        }
    }
}

static void avg_w3_rows(const pb_desc *d, const pb_args *a, const pb_avx512_geom *geo,
                        int64_t begin, int64_t end)
{
    const int64_t C = d->c, OH = d->oh, IH = d->ih, IW = d->iw, OW = d->ow;
    for (int64_t r = begin; r < end; r++) {
        const int64_t n = r / OH, oh = r % OH;
        for (int64_t c = 0; c < C; c += 4 * VL) {
            const float *sn = a->src + n * IH * IW * C + c;
            float *out = a->dst + r * OW * C + c;
            const int64_t left = C - c;
            const int nv = left >= 4 * VL ? 4 : (int)((left + VL - 1) / VL);
            const __mmask16 tail = pb_avx512_lanes(0, left - (nv - 1) * VL);
#define AW3(NV) (d->sw == 1 ? avg_w3_block(d, geo, sn, out, oh, tail, NV, 1) \
                            : avg_w3_block(d, geo, sn, out, oh, tail, NV, 2))
            if (nv == 4)
                AW3(4);
            else if (nv == 3)
                AW3(3);
            else if (nv == 2)
                AW3(2);
            else
                AW3(1);
#undef AW3
        }
    }
}

pb_status pb_avx512_nhwc_fwd_rows(const pb_desc *d, const pb_args *a, const pb_avx512_geom *g,
                                  int64_t begin, int64_t end)
{
    const bool mx = d->alg == PB_ALG_MAX, train = mx && a->ws;
    /* the separable path pays when each input row's horizontal results
     * serve two or more output rows: 3x3/1 56x56x64 max 47 us vs 62
     * direct; at 3x3/2 (1.5 rows each) direct wins, 3 rounds side by side:
     * resnet50 maxpool max 79-86 us vs 70-79 (one outlier), 27x27x256
     * 17-22 vs 15-19, avg_excl 1.1-1.3x */
    const bool reuse = d->kh >= 2 * d->sh && d->kw > d->sw;
    /* windows up to 3 rows of 3 columns at stride 1 or 2 along W: the
     * column walks (avg_w3_rows, max_w3_rows) for all but training */
    const bool w3 = !d->global && !pb_avx512_whole_plane(d) && d->kw == 3 && d->kh <= 3 &&
                    (d->sw == 1 || d->sw == 2);
    if (!mx && w3) {
        avg_w3_rows(d, a, g, begin, end);
        return PB_OK;
    }
    if (mx && !train && w3) {
        max_w3_rows(d, a, g, begin, end);
        return PB_OK;
    }
    if (d->global || pb_avx512_whole_plane(d) || !reuse || d->kh > PB_AVX512_MAX_WINDOW) {
        /* max inference over 3x3 windows gets its whole-window pixels
         * unrolled.  Side by side (medians of 10 interleaved runs), 3x3/2
         * on small planes: 13x13x256 1.19x, 14x14x832 1.10x; large planes
         * (112x112x64, 55x55x96) 1.00-1.02x.  Unrolled training was slower
         * (resnet50 maxpool 0.72x: the 9 argmax positions take registers),
         * avg moved 0.96-1.15x, and unrolled 2x2 was slower (14x14x512
         * 0.88-0.92x). */
        const int k3 = d->kh == 3 && d->kw == 3;
        const int mode = !mx ? 0 : train ? 1 : 2;
        direct_variant[k3][mode](d, a, g, begin, end);
        return PB_OK;
    }
    splan S = {d->c, d->ih, d->iw, d->oh, d->ow, d->kh, NULL, NULL, NULL, NULL, NULL};
    size_t ring = (size_t)(d->kh * d->ow * SEP_NV * VL);
    char *mem = malloc(ring * (sizeof(float) + sizeof(int32_t)) +
                       (size_t)d->kh * (2 * sizeof(int64_t) + 1));
    if (!mem) return PB_ERR_NOMEM;
    S.rval = (float *)mem;
    S.rpos = (int32_t *)(S.rval + ring);
    S.rrow = (int64_t *)(S.rpos + ring);
    S.rat = S.rrow + d->kh;
    S.rnan = (bool *)(S.rat + d->kh);
#define SEP3(KW)                                                 \
    do {                                                         \
        if (!mx)                                                 \
            sep_rows(d, a, g, &S, begin, end, KW, false, false); \
        else if (train)                                          \
            sep_rows(d, a, g, &S, begin, end, KW, true, true);   \
        else                                                     \
            sep_rows(d, a, g, &S, begin, end, KW, true, false);  \
    } while (0)
    if (d->kw == 3)
        SEP3(3);
    else if (d->kw == 2)
        SEP3(2);
    else
        SEP3(0);
#undef SEP3
    free(mem);
    return PB_OK;
}

/* ---- backward ---- */

/* One channel register of one input pixel, one covering output row: the K
 * covering outputs' contributions (K columns from the output column of
 * grow/wrow; K == 0: runtime count kdyn).  The first covering row writes
 * the pixel, the others add to it (L1 resident).  FULL: no channel mask
 * (masked loads are slower on Zen).  Max counts its argmax matches into
 * *cnt (lane-wise, when vcount) or *scnt (popcount). */
INLINE void bwd_vec(float *dp, const float *grow, const int32_t *wrow, int64_t C, __mmask16 cm,
                    __m512i pos, bool first, float ry, const float *rx, const int K, int64_t kdyn,
                    bool is_max, bool full, bool vcount, __m512i *cnt, int64_t *scnt)
{
    const int64_t kk = K > 0 ? K : kdyn;
    __m512 acc = first  ? _mm512_setzero_ps()
                 : full ? _mm512_loadu_ps(dp)
                        : _mm512_maskz_loadu_ps(cm, dp);
#pragma GCC unroll 3
    for (int64_t k = 0; k < kk; k++) {
        const __m512 g =
            full ? _mm512_loadu_ps(grow + k * C) : _mm512_maskz_loadu_ps(cm, grow + k * C);
        if (is_max) {
            const __m512i wv = full ? _mm512_loadu_si512(wrow + k * C)
                                    : _mm512_maskz_loadu_epi32(cm, wrow + k * C);
            const __mmask16 m =
                full ? _mm512_cmpeq_epi32_mask(wv, pos) : _mm512_mask_cmpeq_epi32_mask(cm, wv, pos);
            acc = _mm512_mask_add_ps(acc, m, acc, g);
            /* lane-wise count: one vector op where a popcount takes three
             * scalar ones; which is cheaper depends on the port pressure */
            if (vcount)
                *cnt = _mm512_mask_add_epi32(*cnt, m, *cnt, _mm512_set1_epi32(1));
            else
                *scnt += __builtin_popcount(m);
        } else {
            acc = _mm512_fmadd_ps(g, _mm512_set1_ps(ry * rx[k]), acc);
        }
    }
    if (full)
        _mm512_storeu_ps(dp, acc);
    else
        _mm512_mask_storeu_ps(dp, cm, acc);
}

/* One input pixel, one covering output row, channel registers [0, nv). */
INLINE void bwd_px(float *dp, const float *grow, const int32_t *wrow, int64_t C, int64_t nv,
                   __mmask16 tail, __m512i pos, bool first, float ry, const float *rx, const int K,
                   int64_t kdyn, bool is_max, bool vcount, __m512i *cnt, int64_t *scnt)
{
    const int64_t nfull = tail == 0xFFFF ? nv : nv - 1;
    for (int64_t v = 0; v < nfull; v++)
        bwd_vec(dp + v * VL, grow + v * VL, is_max ? wrow + v * VL : NULL, C, 0xFFFF, pos, first,
                ry, rx, K, kdyn, is_max, true, vcount, cnt, scnt);
    if (nfull < nv)
        bwd_vec(dp + nfull * VL, grow + nfull * VL, is_max ? wrow + nfull * VL : NULL, C, tail,
                pos, first, ry, rx, K, kdyn, is_max, false, vcount, cnt, scnt);
}

/* NB channel registers (from v0) of one output of a non-overlapping
 * window: gradients and argmaxes loaded once, then each tap's pixel is
 * written register after register (contiguous stores, one pixel at a
 * time).  Max: 0 + g where the argmax is the tap, else 0, and the matches
 * counted when `owned`; avg: g / divisor as the same fmadd from 0 as
 * bwd_vec with one covering output. */
INLINE void disj_block(const int NB, float *dn, const float *gp, const int32_t *wp, int64_t v0,
                       int64_t nv, __mmask16 tail, int64_t C, int64_t IW, int64_t y0, int64_t y1,
                       int64_t x0, int64_t x1, __m512 r, bool is_max, bool owned, __m512i *cnt,
                       const bool stream)
{
    const __m512 zero = _mm512_setzero_ps();
    __m512 g[4];
    __m512i wv[4];
    __mmask16 cm[4];
#pragma GCC unroll 4
    for (int j = 0; j < NB; j++) {
        cm[j] = v0 + j == nv - 1 ? tail : (__mmask16)0xFFFF;
        /* plain loads and stores unless masked: masked ones are slower on Zen */
        const bool full = cm[j] == 0xFFFF;
        g[j] = full ? _mm512_loadu_ps(gp + (v0 + j) * VL)
                    : _mm512_maskz_loadu_ps(cm[j], gp + (v0 + j) * VL);
        if (is_max)
            wv[j] = full ? _mm512_loadu_si512(wp + (v0 + j) * VL)
                         : _mm512_maskz_loadu_epi32(cm[j], wp + (v0 + j) * VL);
        else
            g[j] = _mm512_fmadd_ps(g[j], r, zero);
    }
    for (int64_t y = y0; y < y1; y++)
        for (int64_t x = x0; x < x1; x++) {
            float *dp = dn + (y * IW + x) * C + v0 * VL;
            const __m512i pos = _mm512_set1_epi32((int)(y * IW + x));
#pragma GCC unroll 4
            for (int j = 0; j < NB; j++) {
                __m512 out = g[j];
                if (is_max) {
                    const __mmask16 m = _mm512_mask_cmpeq_epi32_mask(cm[j], wv[j], pos);
                    out = _mm512_maskz_add_ps(m, zero, g[j]);
                    if (owned) *cnt = _mm512_mask_add_epi32(*cnt, m, *cnt, _mm512_set1_epi32(1));
                }
                if (stream) /* only with C % 16 == 0 and dn aligned: no tails */
                    _mm512_stream_ps(dp + j * VL, out);
                else if (cm[j] == 0xFFFF)
                    _mm512_storeu_ps(dp + j * VL, out);
                else
                    _mm512_mask_storeu_ps(dp + j * VL, cm[j], out);
            }
        }
}

/* Zeroes the pixels of input rows [h0, h1) that no window covers (the
 * output-centric paths write only the covered ones). */
static void zero_uncovered(const pb_desc *d, const pb_avx512_geom *geo, float *dn, int64_t h0,
                           int64_t h1)
{
    const int64_t C = d->c, IW = d->iw, nv = (C + VL - 1) / VL;
    const __mmask16 tail = pb_avx512_lanes(0, C - (nv - 1) * VL);
    for (int64_t h = h0; h < h1; h++) {
        const bool row_covered = geo->y.clo[h] < geo->y.chi[h];
        for (int64_t w = 0; w < IW; w++)
            if (!row_covered || geo->x.clo[w] == geo->x.chi[w])
                for (int64_t v = 0; v < nv; v++)
                    _mm512_mask_storeu_ps(dn + (h * IW + w) * C + v * VL,
                                          v == nv - 1 ? tail : (__mmask16)0xFFFF,
                                          _mm512_setzero_ps());
    }
}

/* Input rows [h0, h1) of one sample with non-overlapping windows:
 * zeroes the pixels no window covers, then every output row that taps
 * these rows writes its taps inside them (disj_block).  Returns the argmax
 * matches of the owned output rows. */
INLINE int64_t bwd_disjoint(const pb_desc *d, const pb_avx512_geom *geo, const float *gn,
                            const int32_t *wn, float *dn, int64_t h0, int64_t h1,
                            const pb_row_slice *rs, bool is_max, const bool stream)
{
    const int64_t C = d->c, IW = d->iw, OW = d->ow, nv = (C + VL - 1) / VL;
    const __mmask16 tail = pb_avx512_lanes(0, C - (nv - 1) * VL);
    zero_uncovered(d, geo, dn, h0, h1);
    __m512i cnt = _mm512_setzero_si512();
    for (int64_t oh = rs->oh_lo; oh < rs->oh_hi; oh++) {
        const int64_t y0 = geo->y.lo[oh] > h0 ? geo->y.lo[oh] : h0;
        const int64_t y1 = geo->y.hi[oh] < h1 ? geo->y.hi[oh] : h1;
        const bool owned = oh >= rs->own_lo && oh < rs->own_hi;
        const float ry = geo->y.r[oh];
        for (int64_t ow = 0; ow < OW; ow++) {
            const int64_t x0 = geo->x.lo[ow], x1 = geo->x.hi[ow];
            const float *gp = gn + (oh * OW + ow) * C;
            const int32_t *wp = is_max ? wn + (oh * OW + ow) * C : NULL;
            const __m512 r = _mm512_set1_ps(ry * geo->x.r[ow]);
            int64_t v = 0;
            for (; v + 4 <= nv; v += 4)
                disj_block(4, dn, gp, wp, v, nv, tail, C, IW, y0, y1, x0, x1, r, is_max, owned,
                           &cnt, stream);
            for (; v < nv; v++)
                disj_block(1, dn, gp, wp, v, nv, tail, C, IW, y0, y1, x0, x1, r, is_max, owned,
                           &cnt, stream);
        }
    }
    return _mm512_reduce_add_epi32(cnt);
}

/* Input rows [h0, h1) of one sample with overlapping windows:
 * input-centric (see bwd_vec).  Returns the argmax matches of the owned
 * output rows.  vcount: count them lane-wise (cheaper below 128
 * channels) or by popcount (cheaper above: the vector ports are busy). */
INLINE int64_t bwd_overlap(const pb_desc *d, const pb_avx512_geom *geo, const float *gn,
                           const int32_t *wn, float *dn, int64_t h0, int64_t h1,
                           const pb_row_slice *rsp, bool is_max, const bool vcount)
{
    const int64_t C = d->c, IW = d->iw, OW = d->ow, nv = (C + VL - 1) / VL;
    const __mmask16 tail = pb_avx512_lanes(0, C - (nv - 1) * VL);
    const pb_row_slice rs = *rsp;
    int64_t matched = 0;
    for (int64_t h = h0; h < h1; h++) {
        const int64_t oh0 = geo->y.clo[h], oh1 = geo->y.chi[h];
        float *drow = dn + h * IW * C;
        if (oh0 == oh1) {
            for (int64_t w = 0; w < IW; w++)
                for (int64_t v = 0; v < nv; v++)
                    _mm512_mask_storeu_ps(drow + w * C + v * VL,
                                          v == nv - 1 ? tail : (__mmask16)0xFFFF,
                                          _mm512_setzero_ps());
            continue;
        }
        for (int64_t oh = oh0; oh < oh1; oh++) {
            const bool first = oh == oh0;
            const float *grow = gn + oh * OW * C;
            const int32_t *wrow = is_max ? wn + oh * OW * C : NULL;
            const float ry = geo->y.r[oh];
            __m512i m = _mm512_setzero_si512(); /* argmax matches, lane-wise */
            int64_t sm = 0;                     /* or by popcount */
            for (int64_t w = 0; w < IW; w++) {
                const int64_t o0 = geo->x.clo[w], k = geo->x.chi[w] - o0;
                const __m512i pos = _mm512_set1_epi32((int)(h * IW + w));
                float *dp = drow + w * C;
                const float *gp = grow + o0 * C;
                const int32_t *wp = is_max ? wrow + o0 * C : NULL;
                const float *rx = geo->x.r + o0;
                /* the covering count follows the stride's period:
                 * switch on it so the common counts run unrolled */
                switch (k) {
                case 1:
                    bwd_px(dp, gp, wp, C, nv, tail, pos, first, ry, rx, 1, 1, is_max, vcount, &m,
                           &sm);
                    break;
                case 2:
                    bwd_px(dp, gp, wp, C, nv, tail, pos, first, ry, rx, 2, 2, is_max, vcount, &m,
                           &sm);
                    break;
                case 3:
                    bwd_px(dp, gp, wp, C, nv, tail, pos, first, ry, rx, 3, 3, is_max, vcount, &m,
                           &sm);
                    break;
                default:
                    bwd_px(dp, gp, wp, C, nv, tail, pos, first, ry, rx, 0, k, is_max, vcount, &m,
                           &sm);
                    break;
                }
            }
            if (is_max && oh >= rs.own_lo && oh < rs.own_hi)
                matched += vcount ? _mm512_reduce_add_epi32(m) : sm;
        }
    }
    return matched;
}

/* The w3 walks' pixel store, masked for the channel tail unless FULL (a
 * covering output is added with pb_avx512_take_grad). */
INLINE void w3_store(float *p, __mmask16 cm, bool full, __m512 v)
{
    if (full)
        _mm512_storeu_ps(p, v);
    else
        _mm512_mask_storeu_ps(p, cm, v);
}

/* Max backward of windows 3 columns wide at stride 1 along W (up to 3
 * rows, any stride down), one input row h, 16 channels from c: each pixel
 * sums, in registers, the gradients of its covering outputs whose argmax
 * names it, covering rows in order, columns in order within a row: the
 * reference's order, from 0.  The covering outputs' gradients and argmaxes
 * (NR rows x the three columns ow = w + pl - 2 .. w + pl) are carried
 * along the row, so each is loaded once per input row where bwd_overlap
 * loads it once per pixel it covers and keeps the sum in memory.  Outside
 * [0, OW) a column is g 0 with argmax -1, which matches no pixel.  Matches
 * are counted lane-wise per covering row into cnt[r]. */
INLINE void max_w3_bwd_px(const float *const *g, const int32_t *const *ws, float *drow,
                          int64_t C, int64_t IW, int64_t OW, int64_t pl, int64_t h,
                          __mmask16 cm, __m512i *cnt, const int NR, bool full)
{
    const __m512 zero = _mm512_setzero_ps();
    const __m512i none = _mm512_set1_epi32(-1), one = _mm512_set1_epi32(1);
    __m512 G[3][3];
    __m512i W[3][3];
    /* column ow of covering row r, or the empty column */
#define W3B_LOAD(r, k, ow)                                                                 \
    do {                                                                               \
        if ((ow) >= 0 && (ow) < OW) {                                                  \
            G[r][k] = full ? _mm512_loadu_ps(g[r] + (ow) * C)                          \
                           : _mm512_maskz_loadu_ps(cm, g[r] + (ow) * C);               \
            W[r][k] = full ? _mm512_loadu_si512(ws[r] + (ow) * C)                      \
                           : _mm512_mask_loadu_epi32(none, cm, ws[r] + (ow) * C);      \
        } else {                                                                       \
            G[r][k] = zero;                                                            \
            W[r][k] = none;                                                            \
        }                                                                              \
    } while (0)
#pragma GCC unroll 3
    for (int r = 0; r < NR; r++) {
        W3B_LOAD(r, 1, pl - 2);
        W3B_LOAD(r, 2, pl - 1);
    }
    __m512i pos = _mm512_set1_epi32((int)(h * IW));
    for (int64_t w = 0; w < IW; w++) {
        const int64_t ow = w + pl;
#pragma GCC unroll 3
        for (int r = 0; r < NR; r++) {
            G[r][0] = G[r][1];
            W[r][0] = W[r][1];
            G[r][1] = G[r][2];
            W[r][1] = W[r][2];
            W3B_LOAD(r, 2, ow);
        }
        __m512 acc = zero;
#pragma GCC unroll 3
        for (int r = 0; r < NR; r++)
#pragma GCC unroll 3
            for (int k = 0; k < 3; k++)
                acc = pb_avx512_take_grad(acc, W[r][k], G[r][k], pos, &cnt[r]);
        w3_store(drow + w * C, cm, full, acc);
        pos = _mm512_add_epi32(pos, one);
    }
#undef W3B_LOAD
}

/* The same at stride 2 along W, left padding PL (0 or 1): pixel
 * w = 2j - PL is covered by the output columns j - 1 and j, pixel
 * w = 2j + 1 - PL by column j alone, so two pixels per new column, and
 * the column before it carried. */
INLINE void max_w3s2_bwd_px(const float *const *g, const int32_t *const *ws, float *drow,
                            int64_t C, int64_t IW, int64_t OW, int64_t h, __mmask16 cm,
                            __m512i *cnt, const int PL, const int NR, bool full)
{
    const __m512 zero = _mm512_setzero_ps();
    const __m512i none = _mm512_set1_epi32(-1);
    __m512 Gp[3], Gq[3];
    __m512i Wp[3], Wq[3];
#pragma GCC unroll 3
    for (int r = 0; r < NR; r++) {
        Gq[r] = zero;
        Wq[r] = none;
    }
    const __m512i pos0 = _mm512_set1_epi32((int)(h * IW));
    for (int64_t j = 0; 2 * j - PL < IW; j++) {
        /* column j - 1 moves over, column j comes in (empty past OW) */
#pragma GCC unroll 3
        for (int r = 0; r < NR; r++) {
            Gp[r] = Gq[r];
            Wp[r] = Wq[r];
            if (j < OW) {
                Gq[r] = full ? _mm512_loadu_ps(g[r] + j * C)
                             : _mm512_maskz_loadu_ps(cm, g[r] + j * C);
                Wq[r] = full ? _mm512_loadu_si512(ws[r] + j * C)
                             : _mm512_mask_loadu_epi32(none, cm, ws[r] + j * C);
            } else {
                Gq[r] = zero;
                Wq[r] = none;
            }
        }
        const int64_t we = 2 * j - PL, wo = we + 1;
        if (we >= 0) {
            const __m512i pos = _mm512_add_epi32(pos0, _mm512_set1_epi32((int)we));
            __m512 acc = zero;
#pragma GCC unroll 3
            for (int r = 0; r < NR; r++) {
                acc = pb_avx512_take_grad(acc, Wp[r], Gp[r], pos, &cnt[r]);
                acc = pb_avx512_take_grad(acc, Wq[r], Gq[r], pos, &cnt[r]);
            }
            w3_store(drow + we * C, cm, full, acc);
        }
        if (wo < IW) {
            const __m512i pos = _mm512_add_epi32(pos0, _mm512_set1_epi32((int)wo));
            __m512 acc = zero;
#pragma GCC unroll 3
            for (int r = 0; r < NR; r++)
                acc = pb_avx512_take_grad(acc, Wq[r], Gq[r], pos, &cnt[r]);
            w3_store(drow + wo * C, cm, full, acc);
        }
    }
}

/* Average, the same walks (avg_w3_bwd_px): each output column's
 * gradients summed over the covering rows, g * ry, times rx of the column
 * (avg_w3_col), carried as one register; a pixel adds its columns'
 * registers (3 at stride 1; at stride 2 the even pixels 2, the odd ones
 * 1).  Within the documented ulp bound (verify.h): each term is rounded
 * once more than g * (ry * rx). */
INLINE __m512 avg_w3_col(const float *const *g, const float *ry, float rx, int64_t ow,
                         int64_t C, int64_t OW, __mmask16 cm, const int NR, bool full)
{
    if (ow < 0 || ow >= OW) return _mm512_setzero_ps();
    __m512 v = _mm512_setzero_ps();
#pragma GCC unroll 3
    for (int r = 0; r < NR; r++) {
        const __m512 gv =
            full ? _mm512_loadu_ps(g[r] + ow * C) : _mm512_maskz_loadu_ps(cm, g[r] + ow * C);
        v = _mm512_fmadd_ps(gv, _mm512_set1_ps(ry[r]), v);
    }
    return _mm512_mul_ps(v, _mm512_set1_ps(rx));
}

INLINE void avg_w3_bwd_px(const float *const *g, const float *ry, const float *rx, float *drow,
                          int64_t C, int64_t IW, int64_t OW, int64_t pl, __mmask16 cm,
                          const int S, const int PL, const int NR, bool full)
{
#define W3A_COL(ow) avg_w3_col(g, ry, (ow) >= 0 ? rx[ow] : 0.0f, ow, C, OW, cm, NR, full)
#define W3A_ST(w, v) w3_store(drow + (w) * C, cm, full, v)
    if (S == 1) {
        __m512 v0, v1 = W3A_COL(pl - 2), v2 = W3A_COL(pl - 1);
        for (int64_t w = 0; w < IW; w++) {
            v0 = v1;
            v1 = v2;
            v2 = W3A_COL(w + pl);
            W3A_ST(w, _mm512_add_ps(_mm512_add_ps(v0, v1), v2));
        }
        return;
    }
    __m512 vp, vq = _mm512_setzero_ps();
    for (int64_t j = 0; 2 * j - PL < IW; j++) {
        vp = vq;
        vq = W3A_COL(j);
        const int64_t we = 2 * j - PL, wo = we + 1;
        if (we >= 0) W3A_ST(we, _mm512_add_ps(vp, vq));
        if (wo < IW) W3A_ST(wo, vq);
    }
#undef W3A_COL
#undef W3A_ST
}

/* Input rows [h0, h1) of one sample through max_w3_bwd_px,
 * max_w3s2_bwd_px or avg_w3_bwd_px; returns the argmax matches of the
 * owned output rows (max). */
INLINE int64_t w3_bwd(const pb_desc *d, const pb_avx512_geom *geo, const float *gn,
                      const int32_t *wn, float *dn, int64_t h0, int64_t h1,
                      const pb_row_slice *rs, bool is_max)
{
    const int64_t C = d->c, IW = d->iw, OW = d->ow, pl = d->pl;
    const __mmask16 tail = pb_avx512_lanes(0, C - (C - 1) / VL * VL);
    const float *rx = geo->x.r;
    int64_t matched = 0;
    for (int64_t h = h0; h < h1; h++) {
        const int64_t oh0 = geo->y.clo[h], nr = geo->y.chi[h] - oh0;
        float *drow = dn + h * IW * C;
        const float *g[3];
        const int32_t *ws[3] = {NULL, NULL, NULL};
        float ry[3];
        for (int64_t r = 0; r < 3; r++) {
            const int64_t oh = oh0 + (r < nr ? r : 0);
            g[r] = gn + oh * OW * C;
            if (is_max) ws[r] = wn + oh * OW * C;
            ry[r] = geo->y.r[oh];
        }
        __m512i cnt[3] = {_mm512_setzero_si512(), _mm512_setzero_si512(),
                          _mm512_setzero_si512()};
        for (int64_t c = 0; c < C; c += VL) {
            const bool full = C - c >= VL;
            const __mmask16 cm = full ? (__mmask16)0xFFFF : tail;
            const float *gc[3] = {g[0] + c, g[1] + c, g[2] + c};
            const int32_t *wc[3] = {is_max ? ws[0] + c : NULL, is_max ? ws[1] + c : NULL,
                                    is_max ? ws[2] + c : NULL};
            float *dc = drow + c;
#define W3B(NR, F)                                                                      \
    (!is_max      ? (d->sw == 1   ? avg_w3_bwd_px(gc, ry, rx, dc, C, IW, OW, pl, cm, 1, 0, NR, F) \
                     : pl == 0 ? avg_w3_bwd_px(gc, ry, rx, dc, C, IW, OW, pl, cm, 2, 0, NR, F) \
                               : avg_w3_bwd_px(gc, ry, rx, dc, C, IW, OW, pl, cm, 2, 1, NR, F)) \
     : d->sw == 1 ? max_w3_bwd_px(gc, wc, dc, C, IW, OW, pl, h, cm, cnt, NR, F)              \
     : pl == 0    ? max_w3s2_bwd_px(gc, wc, dc, C, IW, OW, h, cm, cnt, 0, NR, F)             \
                  : max_w3s2_bwd_px(gc, wc, dc, C, IW, OW, h, cm, cnt, 1, NR, F))
#define W3NR(F) (nr == 3 ? W3B(3, F) : nr == 2 ? W3B(2, F) : W3B(1, F))
            if (nr == 0)
                for (int64_t w = 0; w < IW; w++)
                    _mm512_mask_storeu_ps(dc + w * C, cm, _mm512_setzero_ps());
            else if (full)
                W3NR(true);
            else
                W3NR(false);
#undef W3NR
#undef W3B
        }
        for (int64_t r = 0; r < nr; r++)
            if (oh0 + r >= rs->own_lo && oh0 + r < rs->own_hi)
                matched += _mm512_reduce_add_epi32(cnt[r]);
    }
    return matched;
}

/* Global pooling, sample n's pixels [i0, i1): every pixel gets the one
 * output's gradient, g * (1/plane) for avg (the fmadd from 0 of bwd_vec),
 * 0 + g where the argmax names the pixel for max, its matches counted
 * lane-wise.  Pixels outer, so the stores run contiguously. */
INLINE int64_t global_bwd(const pb_desc *d, const pb_avx512_geom *geo, const float *gn,
                          const int32_t *wn, float *dn, int64_t i0, int64_t i1, bool is_max)
{
    const int64_t C = d->c, nfull = C / VL * VL;
    const __mmask16 tail = pb_avx512_lanes(0, C - nfull);
    const __m512 r = _mm512_set1_ps(geo->y.r[0] * geo->x.r[0]), zero = _mm512_setzero_ps();
    __m512i cnt = _mm512_setzero_si512();
    for (int64_t i = i0; i < i1; i++) {
        float *dp = dn + i * C;
        if (!is_max) {
            int64_t c = 0;
            for (; c < nfull; c += VL)
                _mm512_storeu_ps(dp + c, _mm512_fmadd_ps(_mm512_loadu_ps(gn + c), r, zero));
            if (tail) {
                const __m512 g = _mm512_maskz_loadu_ps(tail, gn + c);
                _mm512_mask_storeu_ps(dp + c, tail, _mm512_fmadd_ps(g, r, zero));
            }
            continue;
        }
        const __m512i pos = _mm512_set1_epi32((int)i), one = _mm512_set1_epi32(1);
        int64_t c = 0;
        for (; c < nfull; c += VL) {
            const __mmask16 m = _mm512_cmpeq_epi32_mask(_mm512_loadu_si512(wn + c), pos);
            _mm512_storeu_ps(dp + c, _mm512_maskz_add_ps(m, zero, _mm512_loadu_ps(gn + c)));
            cnt = _mm512_mask_add_epi32(cnt, m, cnt, one);
        }
        if (tail) {
            const __mmask16 m =
                _mm512_mask_cmpeq_epi32_mask(tail, _mm512_maskz_loadu_epi32(tail, wn + c), pos);
            const __m512 g = _mm512_maskz_loadu_ps(tail, gn + c);
            _mm512_mask_storeu_ps(dp + c, tail, _mm512_maskz_add_ps(m, zero, g));
            cnt = _mm512_mask_add_epi32(cnt, m, cnt, one);
        }
    }
    return is_max ? _mm512_reduce_add_epi32(cnt) : 0;
}

/* Channels of one output whose argmax misses all NT tapped rows: p hits
 * row t when p - base[t] <= span, unsigned.  NT constant in the hot calls
 * so the taps unroll and the hit masks stay in mask registers. */
INLINE __mmask16 ws_misses(const int32_t *w, int64_t C, const __m512i *base, int NT, __m512i span,
                           __mmask16 tail)
{
    __mmask16 miss = 0;
    for (int64_t c = 0; c < C; c += VL) {
        const __mmask16 m = c + VL <= C ? (__mmask16)0xFFFF : tail;
        const __m512i p = _mm512_maskz_loadu_epi32(m, w + c);
        __mmask16 hit = 0;
        for (int t = 0; t < NT; t++)
            hit |= _mm512_cmple_epu32_mask(_mm512_sub_epi32(p, base[t]), span);
        miss |= m & (__mmask16)~hit;
    }
    return miss;
}

/* pb_ws_rows_valid, 16 channels per compare: the portable one runs 4 lanes
 * wide and took 23% of googlenet 4bcd's 2-thread NHWC max backward (perf),
 * where each half checks the two output rows it shares with the other. */
bool pb_avx512_ws_rows_valid(const pb_desc *d, const int32_t *ws_n, int64_t oh0, int64_t oh1)
{
    enum { MAX_TAPS = 8 };
    if (!d || !ws_n || oh0 < 0 || oh1 > d->oh || oh0 > oh1) return false;
    if (d->dw != 1 || d->kh > MAX_TAPS) return pb_ws_rows_valid(d, ws_n, oh0, oh1);
    const int64_t C = d->c, IW = d->iw, OW = d->ow;
    const __mmask16 tail = pb_avx512_lanes(0, C % VL);
    for (int64_t oh = oh0; oh < oh1; oh++) {
        const pb_axis_window y = pb_axis_window_at(oh, d->ih, d->kh, d->sh, d->pt, d->pb, d->dh);
        const int nt = (int)(y.t_hi - y.t_lo);
        if (nt < 1) return false;
        for (int64_t ow = 0; ow < OW; ow++) {
            const pb_axis_window x = pb_axis_window_at(ow, d->iw, d->kw, d->sw, d->pl, d->pr, 1);
            if (x.t_hi <= x.t_lo) return false;
            const __m512i span = _mm512_set1_epi32((int)(x.t_hi - 1 - x.t_lo));
            __m512i base[MAX_TAPS];
            for (int t = 0; t < nt; t++)
                base[t] = _mm512_set1_epi32(
                    (int)((y.start + (y.t_lo + t) * d->dh) * IW + x.start + x.t_lo));
            const int32_t *w = ws_n + (oh * OW + ow) * C;
            const __mmask16 miss = nt == 3   ? ws_misses(w, C, base, 3, span, tail)
                                   : nt == 2 ? ws_misses(w, C, base, 2, span, tail)
                                   : nt == 1 ? ws_misses(w, C, base, 1, span, tail)
                                             : ws_misses(w, C, base, nt, span, tail);
            if (miss) return false;
        }
    }
    return true;
}

/* Sample n, input rows [h0, h1), all channels: output-centric for windows
 * that do not overlap (bwd_disjoint), else input-centric (bwd_overlap).
 * Max checks its argmaxes: every one of an owned output row must match
 * exactly once; a whole sample falls back to the scatter, part of one
 * returns PB_ERR_PARTIAL (pool.h). */
INLINE pb_status bwd_sample(const pb_desc *d, const pb_args *a, const pb_avx512_geom *geo,
                            int64_t n, int64_t h0, int64_t h1, bool is_max)
{
    const int64_t C = d->c, IH = d->ih, IW = d->iw, OW = d->ow, nv = (C + VL - 1) / VL;
    const float *gn = a->diff_dst + n * d->oh * OW * C;
    const int32_t *wn = is_max ? a->ws + n * d->oh * OW * C : NULL;
    float *dn = a->diff_src + n * IH * IW * C;
    const bool whole = h0 == 0 && h1 == IH;
    /* output rows whose argmaxes the count below vouches for */
    const pb_row_slice rs = whole ? (pb_row_slice){0, d->oh, 0, d->oh} : pb_row_slice_of(d, h0, h1);
    int64_t matched = 0;
    /* output-centric where windows do not overlap; for avg only from 128
     * channels (224x224x64 2x2/2: max 1.2-1.4x faster output-centric,
     * avg 0.88x; 14x14x512: avg 1.3x, max even) */
    const bool global = d->global || pb_avx512_whole_plane(d);
    const bool disjoint =
        d->kh <= d->sh && d->kw <= d->sw && !global && (is_max || nv >= 8);
    /* windows 3 columns wide at stride 1 or 2 (up to 3 rows): the covering
     * outputs carried in registers (w3_bwd).  Side by side, 5 interleaved
     * runs, max: stride 1 against bwd_overlap, googlenet 3a-5ab
     * 1.22-1.62x; 3x3/2 against the output-centric kernel it replaced (up
     * to 128 channels), resnet50 maxpool 1.24x, googlenet pool1 1.27x,
     * alexnet pool1 1.16x; against bwd_overlap (192 channels and more)
     * googlenet pool2 1.39x, pool3 1.17x, alexnet pool2 1.03x, pool5
     * 1.15x, googlenet pool4 1.01x.  Avg: googlenet 3a-5ab 1.16-2.28x,
     * 3x3/2 1.16-1.64x */
    const bool w3 = !global && d->kw == 3 && d->dw == 1 && d->kh <= 3 &&
                    (d->sw == 1 || (d->sw == 2 && d->pl <= 1));
    /* streaming stores (pb_avx512_stream_ok) on the output-centric path
     * only: the input-centric one writes a pixel once per covering output
     * row, and at 3x3/2 (512x512x64, 64 MiB) streaming its last write
     * measured even */
    if (global)
        /* the one output row is owned only by a slice of every input row */
        matched = global_bwd(d, geo, gn, wn, dn, h0 * IW, h1 * IW, is_max) *
                  (rs.own_lo == 0 && rs.own_hi == 1);
    else if (w3)
        matched = w3_bwd(d, geo, gn, wn, dn, h0, h1, &rs, is_max);
    else if (disjoint && pb_avx512_stream_ok(d, a, C))
        matched = bwd_disjoint(d, geo, gn, wn, dn, h0, h1, &rs, is_max, true);
    else if (disjoint)
        matched = bwd_disjoint(d, geo, gn, wn, dn, h0, h1, &rs, is_max, false);
    else if (is_max && nv < 8) /* below 128 channels */
        matched = bwd_overlap(d, geo, gn, wn, dn, h0, h1, &rs, is_max, true);
    else
        matched = bwd_overlap(d, geo, gn, wn, dn, h0, h1, &rs, is_max, false);
    if (!is_max) return PB_OK;
    /* every (output, channel) argmax of an owned row matches exactly one
     * pixel of its window unless the workspace points outside it; shared
     * rows are checked directly */
    const bool ok = matched == (rs.own_hi - rs.own_lo) * OW * C &&
                    pb_avx512_ws_rows_valid(d, wn, rs.oh_lo, rs.own_lo) &&
                    pb_avx512_ws_rows_valid(d, wn, rs.own_hi, rs.oh_hi);
    if (ok) return PB_OK;
    return whole ? pb_max_bwd_scatter(d, gn, wn, dn, C) : PB_ERR_PARTIAL;
}

pb_status pb_avx512_nhwc_bwd_slices(const pb_desc *d, const pb_args *a, const pb_avx512_geom *g,
                                    int64_t begin, int64_t end)
{
    const int64_t IH = d->ih;
    pb_status partial = PB_OK;
    for (int64_t s = begin; s < end;) {
        const int64_t n = s / IH, h0 = s % IH, h1 = h0 + (end - s) < IH ? h0 + (end - s) : IH;
        pb_status st = d->alg == PB_ALG_MAX ? bwd_sample(d, a, g, n, h0, h1, true)
                                            : bwd_sample(d, a, g, n, h0, h1, false);
        /* a later whole sample may still refuse its workspace outright */
        if (st == PB_ERR_PARTIAL)
            partial = st;
        else if (st != PB_OK)
            return st;
        s += h1 - h0;
    }
    _mm_sfence(); /* streaming stores visible to other threads before return */
    return partial;
}
