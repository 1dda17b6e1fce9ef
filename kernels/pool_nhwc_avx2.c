/* AVX2 pooling in NHWC: 8 channels per vector.
 *
 * The channels of one pixel are contiguous, so every window tap of an
 * output is a plain vector load at (h*W + w)*C + c, whatever the stride,
 * padding or dilation; only the channel tail is masked.  Forward walks the
 * output pixels, lists the in-input taps of the window once (row-major)
 * and folds them for 32 channels at a time (four independent chains).
 *
 * Backward is the gather form: each input pixel sums, channel-vector-wise,
 * the gradients of the output pixels whose window taps it (max: where the
 * argmax names it), so diff_src is written once with no zeroing pass and
 * a slice of input rows (pool.h) writes only its own rows.  Max counts its
 * argmax matches to find a workspace entry outside its window.
 *
 * Global pooling streams the pixels once per 32-channel block; averages
 * add 64-pixel partial sums so rounding does not grow with the plane.
 */
#include <stdlib.h>
#include <string.h>

#include "pool_avx2.h"

/* A window tap: element offset and flat position, relative to a base. */
typedef struct tap {
    int64_t off;
    int32_t pos;
} tap;

/* Folds the taps of one output pixel for NV vectors of channels starting
 * at src (plus each tap's offset; pos0 + its pos is the flat position);
 * `mask` limits the last vector to the channel tail.  exact: the full rule
 * (pbx_take).  Fast mode: one _mm256_max_ps per tap, which returns the
 * running max unless the tap is greater, so the first of equal values
 * (also +0 before -0) stays as in the reference; it is exact for all but
 * NaN, so the taps are screened on the way and a block that met a NaN
 * returns false without storing (the caller redoes it exactly). */
PBX_INLINE bool fold_pixel(const int kind, const bool exact, const int NV, const bool tail,
                           const float *src, const tap *taps, int64_t nt, int32_t pos0,
                           float *dst, int32_t *ws, __m256 div, __m256i mask, int64_t ntail)
{
    const bool screen = kind != PBX_AVG && !exact;
    __m256 b[4], nan = _mm256_setzero_ps();
    __m256i p[4];
#define LD(t, k)                                                                             \
    (tail ? _mm256_maskload_ps(src + taps[t].off + 8 * (k), mask)                           \
          : _mm256_loadu_ps(src + taps[t].off + 8 * (k)))
#pragma GCC unroll 4
    for (int k = 0; k < NV; k++) {
        b[k] = LD(0, k);
        p[k] = _mm256_set1_epi32(pos0 + taps[0].pos);
    }
    if (screen) /* pairs: one compare screens two vectors */
#pragma GCC unroll 4
        for (int k = 0; k < NV; k += 2)
            nan = _mm256_or_ps(nan, _mm256_cmp_ps(b[k], b[k + 1 < NV ? k + 1 : k], _CMP_UNORD_Q));
    for (int64_t t = 1; t < nt; t++) {
        __m256i pos = _mm256_set1_epi32(pos0 + taps[t].pos);
        __m256 v[4];
#pragma GCC unroll 4
        for (int k = 0; k < NV; k++) v[k] = LD(t, k);
        if (screen)
#pragma GCC unroll 4
            for (int k = 0; k < NV; k += 2)
                nan =
                    _mm256_or_ps(nan, _mm256_cmp_ps(v[k], v[k + 1 < NV ? k + 1 : k], _CMP_UNORD_Q));
#pragma GCC unroll 4
        for (int k = 0; k < NV; k++) {
            if (kind == PBX_AVG) {
                b[k] = _mm256_add_ps(b[k], v[k]);
            } else if (exact) {
                __m256 m = pbx_take(v[k], b[k]);
                b[k] = _mm256_blendv_ps(b[k], v[k], m);
                if (kind == PBX_MAXI) p[k] = pbx_blend_i(p[k], pos, m);
            } else {
                if (kind == PBX_MAXI)
                    p[k] = pbx_blend_i(p[k], pos, _mm256_cmp_ps(v[k], b[k], _CMP_GT_OQ));
                b[k] = _mm256_max_ps(v[k], b[k]);
            }
        }
    }
#undef LD
    if (screen && !_mm256_testz_ps(nan, nan)) return false;
#pragma GCC unroll 4
    for (int k = 0; k < NV; k++) {
        if (kind == PBX_AVG) b[k] = _mm256_div_ps(b[k], div);
        if (tail) {
            pbx_store_n(dst + 8 * k, b[k], ntail);
            if (kind == PBX_MAXI) pbx_store_n_i(ws + 8 * k, p[k], ntail);
        } else {
            _mm256_storeu_ps(dst + 8 * k, b[k]);
            if (kind == PBX_MAXI) _mm256_storeu_si256((__m256i *)(ws + 8 * k), p[k]);
        }
    }
    return true;
}

/* All channels [0, C) of one output pixel. */
PBX_INLINE void pixel(const int kind, const float *src, const tap *taps, int64_t nt, int32_t pos0,
                      int64_t C, float *dst, int32_t *ws, float div)
{
    const __m256 dv = _mm256_set1_ps(div);
    const __m256i all = _mm256_set1_epi32(-1);
    int64_t c = 0;
#define BLOCK(NV, TAIL, MASK, NTAIL)                                                          \
    do {                                                                                      \
        int32_t *w = ws ? ws + c : NULL;                                                      \
        if (!fold_pixel(kind, false, NV, TAIL, src + c, taps, nt, pos0, dst + c, w, dv, MASK,  \
                        NTAIL))                                                               \
            fold_pixel(kind, true, NV, TAIL, src + c, taps, nt, pos0, dst + c, w, dv, MASK,    \
                       NTAIL);                                                                \
    } while (0)
    for (; c + 32 <= C; c += 32) BLOCK(4, false, all, 8);
    for (; c + 8 <= C; c += 8) BLOCK(1, false, all, 8);
    if (c < C) BLOCK(1, true, pbx_head(C - c), C - c);
#undef BLOCK
}

typedef void (*pixel_fn)(const float *src, const tap *taps, int64_t nt, int32_t pos0, int64_t C,
                         float *dst, int32_t *ws, float div);
#define PIXEL_FN(NAME, K)                                                                      \
    static void NAME(const float *s, const tap *t, int64_t nt, int32_t pos0, int64_t C,       \
                     float *d, int32_t *w, float div)                                         \
    {                                                                                         \
        pixel(K, s, t, nt, pos0, C, d, w, div);                                               \
    }
PIXEL_FN(pixel_max, PBX_MAX)
PIXEL_FN(pixel_maxi, PBX_MAXI)
PIXEL_FN(pixel_avg, PBX_AVG)
#undef PIXEL_FN

/* ---- global -------------------------------------------------------------- */

#define GBLOCK 64 /* pixels per partial sum */

/* NV vectors of channels of sample src over all L pixels (stride C). */
PBX_INLINE void global_block(const int kind, const int NV, const bool tail, const float *src,
                             int64_t L, int64_t C, float *dst, int32_t *ws, float div,
                             __m256i mask, int64_t ntail)
{
    __m256 b[4], part[4];
    __m256i p[4];
#define LD(i, k)                                                                             \
    (tail ? _mm256_maskload_ps(src + (i) * C + 8 * (k), mask)                               \
          : _mm256_loadu_ps(src + (i) * C + 8 * (k)))
    #pragma GCC unroll 4
    for (int k = 0; k < NV; k++) {
        b[k] = LD(0, k);
        p[k] = _mm256_setzero_si256();
    }
    if (kind == PBX_AVG) {
        /* pixels [1, 64) into b, then each further block of 64 summed on
         * its own and added: error grows with 64 + L/64, not L */
        for (int64_t i0 = 0; i0 < L; i0 += GBLOCK) {
            int64_t i1 = i0 + GBLOCK < L ? i0 + GBLOCK : L;
            if (i0 == 0) {
                for (int64_t i = 1; i < i1; i++)
                    #pragma GCC unroll 4
                    for (int k = 0; k < NV; k++) b[k] = _mm256_add_ps(b[k], LD(i, k));
                continue;
            }
            #pragma GCC unroll 4
            for (int k = 0; k < NV; k++) part[k] = LD(i0, k);
            for (int64_t i = i0 + 1; i < i1; i++)
                #pragma GCC unroll 4
                for (int k = 0; k < NV; k++) part[k] = _mm256_add_ps(part[k], LD(i, k));
            #pragma GCC unroll 4
            for (int k = 0; k < NV; k++) b[k] = _mm256_add_ps(b[k], part[k]);
        }
    } else {
        for (int64_t i = 1; i < L; i++) {
            __m256i pos = _mm256_set1_epi32((int32_t)i);
            #pragma GCC unroll 4
            for (int k = 0; k < NV; k++) {
                __m256 v = LD(i, k);
                __m256 m = pbx_take(v, b[k]);
                b[k] = _mm256_blendv_ps(b[k], v, m);
                if (kind == PBX_MAXI) p[k] = pbx_blend_i(p[k], pos, m);
            }
        }
    }
#undef LD
    #pragma GCC unroll 4
    for (int k = 0; k < NV; k++) {
        if (kind == PBX_AVG) b[k] = _mm256_div_ps(b[k], _mm256_set1_ps(div));
        if (tail) {
            pbx_store_n(dst + 8 * k, b[k], ntail);
            if (kind == PBX_MAXI) pbx_store_n_i(ws + 8 * k, p[k], ntail);
        } else {
            _mm256_storeu_ps(dst + 8 * k, b[k]);
            if (kind == PBX_MAXI) _mm256_storeu_si256((__m256i *)(ws + 8 * k), p[k]);
        }
    }
}

PBX_INLINE void global_sample(const int kind, const float *src, int64_t L, int64_t C, float *dst,
                              int32_t *ws, float div)
{
    const __m256i all = _mm256_set1_epi32(-1);
    int64_t c = 0;
    for (; c + 32 <= C; c += 32)
        global_block(kind, 4, false, src + c, L, C, dst + c, ws ? ws + c : NULL, div, all, 8);
    for (; c + 8 <= C; c += 8)
        global_block(kind, 1, false, src + c, L, C, dst + c, ws ? ws + c : NULL, div, all, 8);
    if (c < C)
        global_block(kind, 1, true, src + c, L, C, dst + c, ws ? ws + c : NULL, div,
                     pbx_head(C - c), C - c);
}

/* ---- forward: entry ------------------------------------------------------ */

pb_status pb_avx2_nhwc_fwd(const pb_desc *d, const pb_args *a, int64_t begin, int64_t end)
{
    const int kind = d->alg != PB_ALG_MAX ? PBX_AVG : a->ws ? PBX_MAXI : PBX_MAX;
    const int64_t C = d->c, plane = d->ih * d->iw, OH = d->oh, OW = d->ow;
    if (pbx_is_global(d)) { /* rows = samples when OH = 1 */
        float div = (float)pb_divisor(d, 0, 0);
        for (int64_t n = begin; n < end; n++) {
            const float *s = a->src + n * plane * C;
            float *dst = a->dst + n * C;
            int32_t *ws = a->ws ? a->ws + n * C : NULL;
            if (kind == PBX_AVG) global_sample(PBX_AVG, s, plane, C, dst, ws, div);
            else if (kind == PBX_MAXI) global_sample(PBX_MAXI, s, plane, C, dst, ws, div);
            else global_sample(PBX_MAX, s, plane, C, dst, ws, div);
        }
        return PB_OK;
    }
    const int64_t kh = d->kh, kw = d->kw, IW = d->iw;
    void *mem =
        malloc((size_t)(OW + OH) * sizeof(pb_axis_window) + (size_t)(2 * kh * kw) * sizeof(tap));
    if (!mem) return PB_ERR_NOMEM;
    pb_axis_window *xw = mem, *yw = xw + OW;
    tap *inner = (tap *)(yw + OH), *taps = inner + kh * kw;
    for (int64_t ow = 0; ow < OW; ow++)
        xw[ow] = pb_axis_window_at(ow, d->iw, kw, d->sw, d->pl, d->pr, d->dw);
    for (int64_t oh = 0; oh < OH; oh++)
        yw[oh] = pb_axis_window_at(oh, d->ih, kh, d->sh, d->pt, d->pb, d->dh);
    /* a window inside the input: taps relative to its first one */
    for (int64_t ty = 0, t = 0; ty < kh; ty++)
        for (int64_t tx = 0; tx < kw; tx++, t++) {
            inner[t].pos = (int32_t)(ty * d->dh * IW + tx * d->dw);
            inner[t].off = inner[t].pos * C;
        }
    pixel_fn fn = kind == PBX_AVG ? pixel_avg : kind == PBX_MAXI ? pixel_maxi : pixel_max;
    int64_t n = begin / OH, oh = begin % OH;
    for (int64_t r = begin; r < end; r++) {
        pb_axis_window y = yw[oh];
        const float *s = a->src + n * plane * C;
        const bool y_inner = y.t_lo == 0 && y.t_hi == kh;
        for (int64_t ow = 0; ow < OW; ow++) {
            pb_axis_window x = xw[ow];
            float div = (float)(pbx_axis_count(d->alg, y) * pbx_axis_count(d->alg, x));
            int64_t o = ((n * OH + oh) * OW + ow) * C;
            float *dst = a->dst + o;
            int32_t *ws = a->ws ? a->ws + o : NULL;
            if (y_inner && x.t_lo == 0 && x.t_hi == kw) {
                int64_t p0 = y.start * IW + x.start;
                fn(s + p0 * C, inner, kh * kw, (int32_t)p0, C, dst, ws, div);
                continue;
            }
            int64_t nt = 0;
            for (int64_t ty = y.t_lo; ty < y.t_hi; ty++) {
                int64_t h = y.start + ty * d->dh;
                for (int64_t tx = x.t_lo; tx < x.t_hi; tx++) {
                    int64_t w = x.start + tx * d->dw;
                    taps[nt].pos = (int32_t)(h * IW + w);
                    taps[nt].off = taps[nt].pos * C;
                    nt++;
                }
            }
            fn(s, taps, nt, 0, C, dst, ws, div);
        }
        if (++oh == OH) {
            oh = 0;
            n++;
        }
    }
    free(mem);
    return PB_OK;
}

/* ---- backward ------------------------------------------------------------ */

/* The output pixels whose windows tap one input row: their output rows
 * (ny of them: row offsets yoff = oh*OW, avg factors yr = 1/ycount) and,
 * per input column w, their output columns xow[xbeg[w] .. xbeg[w+1]) with
 * avg factors xr = 1/xcount. */
typedef struct covers {
    const int64_t *yoff, *xbeg, *xow;
    const float *yr, *xr;
    const int32_t *yown; /* max: per covering row, -1 when its argmax matches count */
    int64_t ny;
} covers;

/* NV vectors of channels of input pixel (row, w): the sum over its
 * covering outputs of the gradient where the argmax names pos (max) or of
 * gradient * 1/divisor (avg), from 0 as the reference's accumulator.  Max
 * counts the matches of counted rows into *hits (lane-wise, negated). */
PBX_INLINE void gather_pixel(const int kind, const bool one, const int NV, const bool tail,
                             const float *g,
                             const int32_t *wsp, const covers *cv, int64_t w, int64_t C,
                             int32_t pos, float *out, __m256i mask, int64_t ntail, __m256i *hits)
{
    __m256 acc[4];
    const __m256i pv = _mm256_set1_epi32(pos);
#pragma GCC unroll 4
    for (int k = 0; k < NV; k++) acc[k] = _mm256_setzero_ps();
    /* one covering output (windows that do not overlap): no loops */
    const int64_t ny = one ? 1 : cv->ny, j0 = one ? w : cv->xbeg[w],
                  j1 = one ? w + 1 : cv->xbeg[w + 1];
    for (int64_t i = 0; i < ny; i++) {
        const __m256i counted = kind == PBX_MAX ? _mm256_set1_epi32(cv->yown[i]) : mask;
        for (int64_t j = j0; j < j1; j++) {
            const int64_t o = (cv->yoff[i] + cv->xow[j]) * C;
            const __m256 r =
                _mm256_set1_ps(kind == PBX_AVG ? cv->yr[i] * cv->xr[cv->xow[j]] : 1.0f);
#pragma GCC unroll 4
            for (int k = 0; k < NV; k++) {
                const float *gp = g + o + 8 * k;
                __m256 v = tail ? _mm256_maskload_ps(gp, mask) : _mm256_loadu_ps(gp);
                if (kind == PBX_MAX) {
                    const int32_t *wp = wsp + o + 8 * k;
                    __m256i p = tail ? _mm256_maskload_epi32(wp, mask)
                                     : _mm256_loadu_si256((const __m256i *)wp);
                    __m256i hit = _mm256_cmpeq_epi32(p, pv);
                    acc[k] = _mm256_add_ps(acc[k], _mm256_and_ps(v, _mm256_castsi256_ps(hit)));
                    /* masked-off lanes load 0, which pixel 0 would match */
                    if (tail) hit = _mm256_and_si256(hit, mask);
                    *hits = _mm256_add_epi32(*hits, _mm256_and_si256(hit, counted));
                } else {
                    acc[k] = _mm256_fmadd_ps(v, r, acc[k]);
                }
            }
        }
    }
#pragma GCC unroll 4
    for (int k = 0; k < NV; k++) {
        if (tail)
            pbx_store_n(out + 8 * k, acc[k], ntail);
        else
            _mm256_storeu_ps(out + 8 * k, acc[k]);
    }
}

/* Channels [c0, c1) of every pixel of one input row (flat position of its
 * first pixel: pos0).  g, wsp: the sample's diff_dst and argmax. */
PBX_INLINE void gather_row(const int kind, const bool one, const float *g, const int32_t *wsp,
                           const covers *cv, int64_t IW, int64_t C, int64_t c0, int64_t c1,
                           int32_t pos0, float *out, __m256i *hits)
{
    const __m256i all = _mm256_set1_epi32(-1);
    /* a local count: through the pointer every store to out (may alias
     * an __m256i) would reload it */
    __m256i cnt = _mm256_setzero_si256();
    for (int64_t w = 0; w < IW; w++) {
        float *o = out + w * C;
        const int32_t pos = pos0 + (int32_t)w;
        int64_t c = c0;
        for (; c + 32 <= c1; c += 32)
            gather_pixel(kind, one, 4, false, g + c, wsp ? wsp + c : NULL, cv, w, C, pos, o + c,
                         all, 8, &cnt);
        for (; c + 8 <= c1; c += 8)
            gather_pixel(kind, one, 1, false, g + c, wsp ? wsp + c : NULL, cv, w, C, pos, o + c,
                         all, 8, &cnt);
        if (c < c1)
            gather_pixel(kind, one, 1, true, g + c, wsp ? wsp + c : NULL, cv, w, C, pos, o + c,
                         pbx_head(c1 - c), c1 - c, &cnt);
    }
    *hits = cnt;
}

#define GATHER_ROW(NAME, K, ONE)                                                               \
    static void NAME(const float *g, const int32_t *wsp, const covers *cv, int64_t IW,        \
                     int64_t C, int64_t c0, int64_t c1, int32_t pos0, float *out,             \
                     __m256i *hits)                                                           \
    {                                                                                         \
        gather_row(K, ONE, g, wsp, cv, IW, C, c0, c1, pos0, out, hits);                       \
    }
GATHER_ROW(gather_row_max, PBX_MAX, false)
GATHER_ROW(gather_row_max1, PBX_MAX, true)
GATHER_ROW(gather_row_avg, PBX_AVG, false)
GATHER_ROW(gather_row_avg1, PBX_AVG, true)
#undef GATHER_ROW

/* Windows that never overlap (each input pixel in at most one window):
 * output-centric.  Each output pixel's gradient and argmax are loaded once
 * and written to its window's pixels (the argmax or the share, 0 + ... as
 * the reference's accumulator); pixels no window taps are zeroed.  Max
 * adds the matches of counted outputs to *hits (lane-wise, negated). */
PBX_INLINE void disjoint_pixel(const int kind, const int NV, const bool tail, const float *g,
                               const int32_t *wsp, const int64_t *tap_off, const int32_t *tap_pos,
                               int64_t nt, float r, float *out, __m256i mask, int64_t ntail,
                               __m256i counted, __m256i *hits)
{
    __m256 v[4];
    __m256i p[4];
    const __m256 zero = _mm256_setzero_ps(), rv = _mm256_set1_ps(r);
#pragma GCC unroll 4
    for (int k = 0; k < NV; k++) {
        v[k] = tail ? _mm256_maskload_ps(g + 8 * k, mask) : _mm256_loadu_ps(g + 8 * k);
        if (kind == PBX_MAX)
            p[k] = tail ? _mm256_maskload_epi32(wsp + 8 * k, mask)
                        : _mm256_loadu_si256((const __m256i *)(wsp + 8 * k));
        else
            v[k] = _mm256_fmadd_ps(v[k], rv, zero);
    }
    /* masked-off lanes load 0, which a tap at pixel 0 would match */
    if (tail) counted = _mm256_and_si256(counted, mask);
    for (int64_t t = 0; t < nt; t++) {
        const __m256i pos = _mm256_set1_epi32(tap_pos[t]);
#pragma GCC unroll 4
        for (int k = 0; k < NV; k++) {
            __m256 x = v[k];
            if (kind == PBX_MAX) {
                const __m256i hit = _mm256_cmpeq_epi32(p[k], pos);
                x = _mm256_add_ps(zero, _mm256_and_ps(x, _mm256_castsi256_ps(hit)));
                *hits = _mm256_add_epi32(*hits, _mm256_and_si256(hit, counted));
            }
            if (tail)
                pbx_store_n(out + tap_off[t] + 8 * k, x, ntail);
            else
                _mm256_storeu_ps(out + tap_off[t] + 8 * k, x);
        }
    }
}

/* Input rows [h0, h1) of one sample with non-overlapping windows: the
 * output rows rs reads, each writing only its taps inside [h0, h1).
 * Returns the argmax matches of the owned output rows (max). */
static int64_t disjoint_rows(const pb_desc *d, bool is_max, const float *g, const int32_t *wsp,
                             float *out, int64_t h0, int64_t h1, const pb_row_slice *rs,
                             const int64_t *xbeg, const float *xr, int64_t *tap_off,
                             int32_t *tap_pos)
{
    int64_t matched = 0;
    const int64_t C = d->c, IH = d->ih, IW = d->iw, OH = d->oh, OW = d->ow;
    const __m256i all = _mm256_set1_epi32(-1);
    /* zero what no window taps: whole rows, or columns of covered rows */
    for (int64_t h = h0; h < h1; h++) {
        bool row = false;
        for (int64_t ty = 0; ty < d->kh && !row; ty++) {
            int64_t num = h + d->pt - ty * d->dh;
            row = num >= 0 && num % d->sh == 0 && num / d->sh < OH;
        }
        for (int64_t w = 0; w < IW; w++)
            if (!row || xbeg[w + 1] == xbeg[w])
                for (int64_t c = 0; c < C; c += 8)
                    pbx_store_n(out + (h * IW + w) * C + c, _mm256_setzero_ps(), C - c);
    }
    for (int64_t oh = rs->oh_lo; oh < rs->oh_hi; oh++) {
        pb_axis_window y = pb_axis_window_at(oh, IH, d->kh, d->sh, d->pt, d->pb, d->dh);
        float yr = 1.0f / (float)pbx_axis_count(d->alg, y);
        const __m256i counted = oh >= rs->own_lo && oh < rs->own_hi ? all : _mm256_setzero_si256();
        __m256i hits = _mm256_setzero_si256(); /* per lane, negated */
        for (int64_t ow = 0; ow < OW; ow++) {
            pb_axis_window x = pb_axis_window_at(ow, IW, d->kw, d->sw, d->pl, d->pr, d->dw);
            int64_t nt = 0;
            for (int64_t ty = y.t_lo; ty < y.t_hi; ty++) {
                const int64_t row = y.start + ty * d->dh;
                if (row < h0 || row >= h1) continue;
                for (int64_t tx = x.t_lo; tx < x.t_hi; tx++) {
                    int64_t pos = row * IW + x.start + tx * d->dw;
                    tap_pos[nt] = (int32_t)pos;
                    tap_off[nt++] = pos * C;
                }
            }
            const int64_t o = (oh * OW + ow) * C;
            const float r = is_max ? 1.0f : yr * xr[ow];
            int64_t c = 0;
#define PIX(NV, TAIL, MASK, NTAIL)                                                            \
    (is_max ? disjoint_pixel(PBX_MAX, NV, TAIL, g + o + c, wsp + o + c, tap_off, tap_pos, nt, r, \
                             out + c, MASK, NTAIL, counted, &hits)                            \
            : disjoint_pixel(PBX_AVG, NV, TAIL, g + o + c, NULL, tap_off, tap_pos, nt, r,     \
                             out + c, MASK, NTAIL, counted, &hits))
            for (; c + 32 <= C; c += 32) PIX(4, false, all, 8);
            for (; c + 8 <= C; c += 8) PIX(1, false, all, 8);
            if (c < C) PIX(1, true, pbx_head(C - c), C - c);
#undef PIX
        }
        matched -= pbx_hsum_i(hits);
    }
    return matched;
}

/* Global backward, pixels [i0, i1) of one sample: every pixel gets the
 * share g/divisor (avg, divided once into `share`), or g where the argmax
 * names it (max), as 0 + ... like the reference's accumulator.  Pixels
 * outer: a channel-outer loop would store with the row stride, which maps
 * every store of a channel block onto one L1 set. */
static void global_bwd_pixels(const pb_desc *d, const float *g, const int32_t *wsp, float *out,
                              int64_t i0, int64_t i1, float *share)
{
    const int64_t C = d->c;
    const bool is_max = d->alg == PB_ALG_MAX;
    const __m256 zero = _mm256_setzero_ps();
    if (!is_max) {
        const __m256 div = _mm256_set1_ps((float)pb_divisor(d, 0, 0));
        for (int64_t c = 0; c < C; c += 8) {
            __m256 v = _mm256_maskload_ps(g + c, pbx_head(C - c));
            pbx_store_n(share + c, _mm256_add_ps(zero, _mm256_div_ps(v, div)), C - c);
        }
    }
    for (int64_t i = i0; i < i1; i++) {
        float *o = out + i * C;
        const __m256i pos = _mm256_set1_epi32((int32_t)i);
        int64_t c = 0;
        if (!is_max) {
            for (; c + 32 <= C; c += 32)
#pragma GCC unroll 4
                for (int k = 0; k < 4; k++)
                    _mm256_storeu_ps(o + c + 8 * k, _mm256_loadu_ps(share + c + 8 * k));
            for (; c < C; c += 8)
                pbx_store_n(o + c, _mm256_maskload_ps(share + c, pbx_head(C - c)), C - c);
            continue;
        }
        for (; c < C; c += 8) {
            const int64_t n = C - c;
            __m256 v;
            __m256i p;
            if (n >= 8) {
                v = _mm256_loadu_ps(g + c);
                p = _mm256_loadu_si256((const __m256i *)(wsp + c));
            } else {
                v = _mm256_maskload_ps(g + c, pbx_head(n));
                p = _mm256_maskload_epi32(wsp + c, pbx_head(n));
            }
            v = _mm256_and_ps(v, _mm256_castsi256_ps(_mm256_cmpeq_epi32(p, pos)));
            pbx_store_n(o + c, _mm256_add_ps(zero, v), n);
        }
    }
}

/* Per-call tables of the backward (see pb_avx2_nhwc_bwd). */
typedef struct bwd_tables {
    int64_t *xbeg, *xow, *yoff, *tap_off;
    float *xr, *yr, *share;
    int32_t *yown, *tap_pos;
    void *mem;
} bwd_tables;

static pb_status tables_init(const pb_desc *d, bwd_tables *t)
{
    const int64_t IW = d->iw, OW = d->ow, C = d->c, kh = d->kh, kw = d->kw;
    size_t bytes = (size_t)(IW + 1 + IW * kw + kh + kh * kw) * sizeof(int64_t) +
                   (size_t)(OW + kh + C) * sizeof(float) + (size_t)(kh + kh * kw) * sizeof(int32_t);
    char *m = t->mem = malloc(bytes);
    if (!m) return PB_ERR_NOMEM;
    t->xbeg = (int64_t *)m;
    t->xow = t->xbeg + IW + 1;
    t->yoff = t->xow + IW * kw;
    t->tap_off = t->yoff + kh;
    t->xr = (float *)(t->tap_off + kh * kw);
    t->yr = t->xr + OW;
    t->share = t->yr + kh; /* global avg: g/divisor per channel */
    t->yown = (int32_t *)(t->share + C);
    t->tap_pos = t->yown + kh;
    int64_t n = 0;
    for (int64_t w = 0; w < IW; w++) { /* output columns whose window taps column w */
        t->xbeg[w] = n;
        for (int64_t tx = 0; tx < kw; tx++) {
            int64_t num = w + d->pl - tx * d->dw;
            if (num >= 0 && num % d->sw == 0 && num / d->sw < OW) t->xow[n++] = num / d->sw;
        }
    }
    t->xbeg[IW] = n;
    /* avg: share = g * (1/ycount) * (1/xcount), within a few ulps of g/divisor */
    for (int64_t ow = 0; ow < OW; ow++)
        t->xr[ow] = 1.0f / (float)pbx_axis_count(d->alg, pb_axis_window_at(ow, d->iw, d->kw, d->sw,
                                                                           d->pl, d->pr, d->dw));
    return PB_OK;
}

/* Input rows [h0, h1) of sample n with overlapping windows: each input
 * row gathers from the output rows that tap it.  Returns the argmax
 * matches of the owned output rows (max). */
static int64_t gather_rows(const pb_desc *d, const bwd_tables *t, const pb_row_slice *rs,
                           const float *g, const int32_t *wsp, float *out, int64_t h0, int64_t h1)
{
    int64_t matched = 0;
    const int64_t C = d->c, IW = d->iw, OH = d->oh, OW = d->ow;
    const bool is_max = d->alg == PB_ALG_MAX;
    /* rows where each input pixel has exactly one covering output (windows
     * that do not overlap along W) take the loop-free body */
    bool one = true;
    for (int64_t w = 0; w < IW; w++) one = one && t->xbeg[w + 1] - t->xbeg[w] == 1;
    typedef void (*row_fn)(const float *, const int32_t *, const covers *, int64_t, int64_t,
                           int64_t, int64_t, int32_t, float *, __m256i *);
    row_fn fn = is_max ? gather_row_max : gather_row_avg;
    row_fn fn1 = !one ? fn : is_max ? gather_row_max1 : gather_row_avg1;
    covers cv = {.yoff = t->yoff, .xbeg = t->xbeg, .xow = t->xow, .yr = t->yr, .xr = t->xr,
                 .yown = t->yown};
    for (int64_t h = h0; h < h1; h++) {
        int64_t ny = 0; /* output rows whose window taps row h */
        for (int64_t ty = 0; ty < d->kh; ty++) {
            int64_t num = h + d->pt - ty * d->dh;
            if (num >= 0 && num % d->sh == 0 && num / d->sh < OH) {
                const int64_t oh = num / d->sh;
                t->yoff[ny] = oh * OW;
                t->yr[ny] = 1.0f / (float)pbx_axis_count(
                                       d->alg, pb_axis_window_at(oh, d->ih, d->kh, d->sh, d->pt,
                                                                 d->pb, d->dh));
                t->yown[ny] = oh >= rs->own_lo && oh < rs->own_hi ? -1 : 0;
                ny++;
            }
        }
        cv.ny = ny;
        __m256i hits = _mm256_setzero_si256(); /* per lane, negated */
        /* the loop-free body only where exactly one output row covers */
        (ny == 1 ? fn1 : fn)(g, wsp, &cv, IW, C, 0, C, (int32_t)(h * IW), out + h * IW * C, &hits);
        matched -= pbx_hsum_i(hits);
    }
    return matched;
}

pb_status pb_avx2_nhwc_bwd(const pb_desc *d, const pb_args *a, int64_t begin, int64_t end)
{
    const int64_t C = d->c, IH = d->ih, IW = d->iw, OH = d->oh, OW = d->ow, plane = IH * IW;
    const bool is_max = d->alg == PB_ALG_MAX;
    const bool disjoint = (d->kh - 1) * d->dh < d->sh && (d->kw - 1) * d->dw < d->sw;
    bwd_tables t;
    if (tables_init(d, &t) != PB_OK) return PB_ERR_NOMEM;
    pb_status st = PB_OK, partial = PB_OK;
    for (int64_t s = begin; s < end && st == PB_OK;) {
        /* consecutive rows of one sample run together */
        const int64_t n = s / IH, h0 = s % IH, h1 = h0 + (end - s) < IH ? h0 + (end - s) : IH;
        const bool whole = h0 == 0 && h1 == IH;
        s += h1 - h0;
        const float *g = a->diff_dst + n * OH * OW * C;
        const int32_t *wsp = is_max ? a->ws + n * OH * OW * C : NULL;
        float *out = a->diff_src + n * plane * C;
        if (pbx_is_global(d)) {
            /* one window, the whole plane: only a position outside it is wrong */
            for (int64_t c = 0; is_max && c < C; c++)
                if (wsp[c] < 0 || wsp[c] >= plane) st = PB_ERR_UNSUPPORTED;
            if (st == PB_OK) global_bwd_pixels(d, g, wsp, out, h0 * IW, h1 * IW, t.share);
            continue;
        }
        const pb_row_slice rs =
            whole ? (pb_row_slice){0, OH, 0, OH} : pb_row_slice_of(d, h0, h1);
        const int64_t matched =
            disjoint ? disjoint_rows(d, is_max, g, wsp, out, h0, h1, &rs, t.xbeg, t.xr, t.tap_off,
                                     t.tap_pos)
                     : gather_rows(d, &t, &rs, g, wsp, out, h0, h1);
        if (!is_max) continue;
        /* every argmax of an owned output row matches exactly one pixel of
         * its window unless the workspace points outside it; shared rows
         * are checked directly (pool.h) */
        const bool ok = matched == (rs.own_hi - rs.own_lo) * OW * C &&
                        pb_ws_rows_valid(d, wsp, rs.oh_lo, rs.own_lo) &&
                        pb_ws_rows_valid(d, wsp, rs.own_hi, rs.oh_hi);
        if (ok) continue;
        if (whole)
            st = pb_max_bwd_scatter(d, g, wsp, out, C);
        else
            partial = PB_ERR_PARTIAL;
    }
    free(t.mem);
    return st != PB_OK ? st : partial;
}
