/*
 * AVX-512 pooling in NHWC, vectorized along C: one register holds 16
 * channels of one pixel, so a window is scanned in plain row-major order
 * (exactly the reference's order) and edges need no lane masks; only the
 * channel tail is masked.  Forward walks four registers (64 channels) per
 * tap for independent dependency chains.
 *
 * Backward is input-centric: each diff_src pixel sums the gradients of the
 * outputs that cover it (max: those whose argmax names it), so every
 * element is written once and no zeroing pass is needed.
 */
#include <string.h>

#include "pool_avx512.h"

#define VL PBX_VL
#define INLINE static inline __attribute__((always_inline))

/* G registers (16*G channels from c) of one output pixel. */
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
                __mmask16 m = pbx_take(v, b[j]);
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

INLINE void avg_px(const float *sn, int64_t C, int64_t IW, int64_t y0, int64_t y1, int64_t x0,
                   int64_t x1, float scale, float *out, __mmask16 tail, int G)
{
    __m512 s[4];
    for (int j = 0; j < G; j++) s[j] = _mm512_setzero_ps();
    for (int64_t h = y0; h < y1; h++)
        for (int64_t w = x0; w < x1; w++) {
            const float *px = sn + (h * IW + w) * C;
            for (int j = 0; j < G; j++) {
                __mmask16 cm = j == G - 1 ? tail : (__mmask16)0xFFFF;
                s[j] = _mm512_add_ps(s[j], _mm512_maskz_loadu_ps(cm, px + j * VL));
            }
        }
    const __m512 sc = _mm512_set1_ps(scale);
    for (int j = 0; j < G; j++) {
        __mmask16 cm = j == G - 1 ? tail : (__mmask16)0xFFFF;
        _mm512_mask_storeu_ps(out + j * VL, cm, _mm512_mul_ps(s[j], sc));
    }
}

INLINE void fwd_impl(const pb_desc *d, const pb_args *a, const pbx_geom *geo, int64_t begin,
                     int64_t end, bool is_max, bool train)
{
    const int64_t C = d->c, IH = d->ih, IW = d->iw, OH = d->oh, OW = d->ow;
    for (int64_t r = begin; r < end; r++) {
        const int64_t n = r / OH, oh = r % OH;
        const float *sn = a->src + n * IH * IW * C;
        const int64_t y0 = geo->y.lo[oh], y1 = geo->y.hi[oh];
        for (int64_t ow = 0; ow < OW; ow++) {
            const int64_t x0 = geo->x.lo[ow], x1 = geo->x.hi[ow];
            float *out = a->dst + (r * OW + ow) * C;
            int32_t *wso = train ? a->ws + (r * OW + ow) * C : NULL;
            const float scale = geo->y.r[oh] * geo->x.r[ow];
            int64_t c = 0;
            for (; c + 4 * VL <= C; c += 4 * VL) {
                if (is_max)
                    max_px(sn + c, C, IW, y0, y1, x0, x1, out + c, train ? wso + c : NULL, 0xFFFF,
                           train, 4);
                else
                    avg_px(sn + c, C, IW, y0, y1, x0, x1, scale, out + c, 0xFFFF, 4);
            }
            for (; c < C; c += VL) {
                __mmask16 tail = pbx_lanes(0, C - c);
                if (is_max)
                    max_px(sn + c, C, IW, y0, y1, x0, x1, out + c, train ? wso + c : NULL, tail,
                           train, 1);
                else
                    avg_px(sn + c, C, IW, y0, y1, x0, x1, scale, out + c, tail, 1);
            }
        }
    }
}

pb_status pbx_nhwc_fwd_rows(const pb_desc *d, const pb_args *a, const pbx_geom *g,
                            int64_t begin, int64_t end)
{
    if (d->alg != PB_ALG_MAX)
        fwd_impl(d, a, g, begin, end, false, false);
    else if (a->ws)
        fwd_impl(d, a, g, begin, end, true, true);
    else
        fwd_impl(d, a, g, begin, end, true, false);
    return PB_OK;
}

/* ---- backward ---- */

/* Exact fallback for sample n, channels [c0, c1) when some argmax lies
 * outside its window: zero, then add each gradient where its argmax points
 * (the reference accepts any position inside the plane). */
static pb_status bwd_scatter(const pb_desc *d, const pb_args *a, int64_t n, int64_t c0, int64_t c1)
{
    const int64_t C = d->c, P = d->ih * d->iw, Q = d->oh * d->ow;
    float *dn = a->diff_src + n * P * C;
    const float *gn = a->diff_dst + n * Q * C;
    const int32_t *wn = a->ws + n * Q * C;
    for (int64_t i = 0; i < P; i++) memset(dn + i * C + c0, 0, (size_t)(c1 - c0) * sizeof(float));
    for (int64_t o = 0; o < Q; o++)
        for (int64_t c = c0; c < c1; c++) {
            int32_t pos = wn[o * C + c];
            if (pos < 0 || pos >= P) return PB_ERR_UNSUPPORTED;
            dn[pos * C + c] += gn[o * C + c];
        }
    return PB_OK;
}

/* Sample n, channel blocks [cb0, cb1): pixel-outer so a whole-range call
 * streams through memory; each block's result does not depend on which
 * other blocks share the call. */
INLINE pb_status bwd_sample(const pb_desc *d, const pb_args *a, const pbx_geom *geo, int64_t n,
                            int64_t cb0, int64_t cb1, bool is_max)
{
    const int64_t C = d->c, IH = d->ih, IW = d->iw, OW = d->ow;
    const float *gn = a->diff_dst + n * d->oh * OW * C;
    const int32_t *wn = is_max ? a->ws + n * d->oh * OW * C : NULL;
    float *dn = a->diff_src + n * IH * IW * C;
    const __m512i one = _mm512_set1_epi32(1);
    int64_t matched = 0;
    for (int64_t h = 0; h < IH; h++) {
        __m512i cnt = _mm512_setzero_si512(); /* per row: int32 lanes cannot overflow */
        const int64_t oh0 = geo->y.clo[h], oh1 = geo->y.chi[h];
        for (int64_t w = 0; w < IW; w++) {
            const int64_t ow0 = geo->x.clo[w], ow1 = geo->x.chi[w];
            float *dp = dn + (h * IW + w) * C;
            const __m512i pos = _mm512_set1_epi32((int)(h * IW + w));
            for (int64_t cb = cb0; cb < cb1; cb++) {
                const int64_t c = cb * VL;
                const __mmask16 cm = pbx_lanes(0, C - c);
                __m512 acc = _mm512_setzero_ps();
                __m512i local = _mm512_setzero_si512();
                for (int64_t oh = oh0; oh < oh1; oh++) {
                    const float ry = geo->y.r[oh];
                    for (int64_t ow = ow0; ow < ow1; ow++) {
                        const int64_t o = (oh * OW + ow) * C + c;
                        __m512 gv = _mm512_maskz_loadu_ps(cm, gn + o);
                        if (is_max) {
                            __m512i wv = _mm512_maskz_loadu_epi32(cm, wn + o);
                            __mmask16 m = _mm512_mask_cmpeq_epi32_mask(cm, wv, pos);
                            acc = _mm512_mask_add_ps(acc, m, acc, gv);
                            local = _mm512_mask_add_epi32(local, m, local, one);
                        } else {
                            acc = _mm512_fmadd_ps(gv, _mm512_set1_ps(ry * geo->x.r[ow]), acc);
                        }
                    }
                }
                if (is_max) cnt = _mm512_add_epi32(cnt, local);
                _mm512_mask_storeu_ps(dp + c, cm, acc);
            }
        }
        if (is_max) matched += _mm512_reduce_add_epi32(cnt);
    }
    if (!is_max) return PB_OK;
    /* every (output, channel) argmax matches exactly one pixel of its
     * window unless the workspace points outside it */
    int64_t c1 = cb1 * VL < C ? cb1 * VL : C;
    int64_t want = d->oh * OW * (c1 - cb0 * VL);
    if (matched != want) return bwd_scatter(d, a, n, cb0 * VL, c1);
    return PB_OK;
}

pb_status pbx_nhwc_bwd_slices(const pb_desc *d, const pb_args *a, const pbx_geom *g,
                              int64_t begin, int64_t end)
{
    const int64_t CB = (d->c + VL - 1) / VL;
    for (int64_t s = begin; s < end;) {
        int64_t n = s / CB, cb0 = s % CB;
        int64_t cb1 = cb0 + (end - s) < CB ? cb0 + (end - s) : CB;
        pb_status st = d->alg == PB_ALG_MAX ? bwd_sample(d, a, g, n, cb0, cb1, true)
                                            : bwd_sample(d, a, g, n, cb0, cb1, false);
        if (st != PB_OK) return st;
        s += cb1 - cb0;
    }
    return PB_OK;
}
