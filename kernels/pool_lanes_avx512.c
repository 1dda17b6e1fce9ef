/*
 * AVX-512 NCHW pooling of small planes through the NHWC kernels: up to 64
 * consecutive planes are transposed (16x16 blocks in registers) into an
 * NHWC sample with C = the plane count, pooled by the NHWC kernel and
 * transposed back.
 *
 * Why: a plane of 7x7 or 14x14 fills a quarter to a half of a W-vector
 * and every output row pays the row set-up, so the W-vectorized kernels
 * ran at 7-20 GB/s there (vgg16 pool5, alexnet pool5, googlenet 4x4 and
 * 5x5 stages), below oneDNN's own NCHW.  With planes in lanes every load
 * is a full register whatever the plane's width.
 *
 * Each output element is computed lane-wise by the same NHWC code whatever
 * group its plane falls in, so results do not depend on the slice
 * partition.  A problem takes this path for every slice or for none
 * (pb_avx512_nchw_lanes).
 */
#include <stdlib.h>

#include "pool_avx512.h"

#define VL PB_AVX512_VL
/* planes per NHWC call: four registers per pixel, the NHWC kernels'
 * widest block, so their per-pixel work is spread over 64 planes */
#define GROUP 64

bool pb_avx512_nchw_lanes(const pb_desc *d)
{
    return !d->global && !pb_avx512_whole_plane(d) && d->iw <= PB_AVX512_LANES_MAX_W;
}

/* In-register transpose of a 16x16 block: r[i] element j becomes r[j]
 * element i (unpack 32-bit, shuffle 64-bit, then two 128-bit passes). */
static inline __attribute__((always_inline)) void transpose16(__m512 r[16])
{
    __m512 t[16], u[16];
    /* fully unrolled so all 16 stay in registers */
#pragma GCC unroll 8
    for (int k = 0; k < 8; k++) {
        t[2 * k] = _mm512_unpacklo_ps(r[2 * k], r[2 * k + 1]);
        t[2 * k + 1] = _mm512_unpackhi_ps(r[2 * k], r[2 * k + 1]);
    }
    /* u[4m+s], 128-bit lane q: column 4q+s of rows 4m..4m+3 */
#pragma GCC unroll 4
    for (int m = 0; m < 4; m++) {
        u[4 * m + 0] = _mm512_shuffle_ps(t[4 * m], t[4 * m + 2], 0x44);
        u[4 * m + 1] = _mm512_shuffle_ps(t[4 * m], t[4 * m + 2], 0xEE);
        u[4 * m + 2] = _mm512_shuffle_ps(t[4 * m + 1], t[4 * m + 3], 0x44);
        u[4 * m + 3] = _mm512_shuffle_ps(t[4 * m + 1], t[4 * m + 3], 0xEE);
    }
#pragma GCC unroll 4
    for (int s = 0; s < 4; s++) {
        __m512 a = _mm512_shuffle_f32x4(u[s], u[4 + s], 0x88);
        __m512 b = _mm512_shuffle_f32x4(u[s], u[4 + s], 0xDD);
        __m512 c = _mm512_shuffle_f32x4(u[8 + s], u[12 + s], 0x88);
        __m512 e = _mm512_shuffle_f32x4(u[8 + s], u[12 + s], 0xDD);
        r[s] = _mm512_shuffle_f32x4(a, c, 0x88);
        r[4 + s] = _mm512_shuffle_f32x4(b, e, 0x88);
        r[8 + s] = _mm512_shuffle_f32x4(a, c, 0xDD);
        r[12 + s] = _mm512_shuffle_f32x4(b, e, 0xDD);
    }
}

/* Planes [0, L) of npos elements each (plane stride `stride`) into
 * out[i*L + p] = plane p, element i, 16 planes per transpose.  32-bit
 * data, float or int32. */
static void to_lanes(const void *in, int64_t stride, int L, int64_t npos, void *out)
{
    for (int q = 0; q < L; q += VL) {
        const float *src = (const float *)in + q * stride;
        float *dst = (float *)out + q;
        const int Lq = L - q < VL ? L - q : VL;
        const __mmask16 lanes = pb_avx512_lanes(0, Lq);
        for (int64_t i = 0; i < npos; i += VL) {
            const __mmask16 cols = pb_avx512_lanes(0, npos - i);
            __m512 r[16];
#pragma GCC unroll 16
            for (int p = 0; p < VL; p++)
                r[p] = p < Lq ? _mm512_maskz_loadu_ps(cols, src + p * stride + i)
                              : _mm512_setzero_ps();
            transpose16(r);
#pragma GCC unroll 16
            for (int j = 0; j < VL; j++)
                if (i + j < npos) _mm512_mask_storeu_ps(dst + (i + j) * L, lanes, r[j]);
        }
    }
}

/* The inverse: in[i*L + p] back to planes [0, L) at stride `stride`,
 * elements [lo[p], hi[p]) of plane p only (a slice may start or end
 * inside its first or last plane). */
static void from_lanes(const void *in, int L, int64_t npos, const int64_t *lo, const int64_t *hi,
                       int64_t stride, void *out)
{
    for (int q = 0; q < L; q += VL) {
        const float *src = (const float *)in + q;
        float *dst = (float *)out + q * stride;
        const int Lq = L - q < VL ? L - q : VL;
        const __mmask16 lanes = pb_avx512_lanes(0, Lq);
        for (int64_t i = 0; i < npos; i += VL) {
            __m512 r[16];
#pragma GCC unroll 16
            for (int j = 0; j < VL; j++)
                r[j] = i + j < npos ? _mm512_maskz_loadu_ps(lanes, src + (i + j) * L)
                                    : _mm512_setzero_ps();
            transpose16(r);
            for (int p = 0; p < Lq; p++)
                _mm512_mask_storeu_ps(dst + p * stride + i,
                                      pb_avx512_lanes(lo[q + p] - i, hi[q + p] - i), r[p]);
        }
    }
}

/* The NHWC view of L planes: one sample, C = L. */
static pb_desc lanes_desc(const pb_desc *d, int L)
{
    pb_desc v = *d;
    v.n = 1, v.c = L, v.layout = PB_LAYOUT_NHWC, v.threads = 1;
    v.src_elems = d->ih * d->iw * L;
    v.dst_elems = d->oh * d->ow * L;
    return v;
}

/* Scratch for one group of planes as an NHWC sample of up to GROUP
 * channels: one input-sized (P pixels) and one output-sized (Q) tensor,
 * and an output-sized workspace when `ws`.  One allocation, freed with
 * free(s->in). */
typedef struct lanes_scratch {
    float *in, *out;
    int32_t *ws;
} lanes_scratch;

static pb_status scratch_alloc(int64_t P, int64_t Q, bool ws, lanes_scratch *s)
{
    float *m = malloc((size_t)(P + Q) * GROUP * sizeof(float) +
                      (ws ? (size_t)Q * GROUP * sizeof(int32_t) : 0));
    if (!m) return PB_ERR_NOMEM;
    s->in = m;
    s->out = m + P * GROUP;
    s->ws = ws ? (int32_t *)(s->out + Q * GROUP) : NULL;
    return PB_OK;
}

pb_status pb_avx512_nchw_lanes_fwd(const pb_desc *d, const pb_args *a, const pb_avx512_geom *g,
                                   int64_t begin, int64_t end)
{
    const int64_t P = d->ih * d->iw, Q = d->oh * d->ow, OH = d->oh, OW = d->ow;
    const bool train = d->alg == PB_ALG_MAX && a->ws;
    lanes_scratch sc;
    pb_status st = scratch_alloc(P, Q, train, &sc);
    if (st != PB_OK) return st;
    /* output rows [begin, end) lie in planes [p0, p1) */
    const int64_t p0 = begin / OH, p1 = (end + OH - 1) / OH;
    for (int64_t p = p0; p < p1; p += GROUP) {
        const int L = (int)(p1 - p < GROUP ? p1 - p : GROUP);
        const pb_desc v = lanes_desc(d, L);
        to_lanes(a->src + p * P, P, L, P, sc.in);
        pb_args va = {.src = sc.in, .dst = sc.out, .ws = sc.ws};
        st = pb_avx512_nhwc_fwd_rows(&v, &va, g, 0, OH);
        if (st != PB_OK) break;
        int64_t lo[GROUP], hi[GROUP];
        for (int l = 0; l < L; l++) {
            const int64_t r0 = (p + l) * OH;
            lo[l] = (begin > r0 ? begin - r0 : 0) * OW;
            hi[l] = (end < r0 + OH ? end - r0 : OH) * OW;
        }
        from_lanes(sc.out, L, Q, lo, hi, Q, a->dst + p * Q);
        if (train) from_lanes(sc.ws, L, Q, lo, hi, Q, a->ws + p * Q);
    }
    free(sc.in);
    return st;
}

pb_status pb_avx512_nchw_lanes_bwd(const pb_desc *d, const pb_args *a, const pb_avx512_geom *g,
                                   int64_t begin, int64_t end)
{
    const int64_t P = d->ih * d->iw, Q = d->oh * d->ow;
    const bool mx = d->alg == PB_ALG_MAX;
    lanes_scratch sc;
    pb_status st = scratch_alloc(P, Q, mx, &sc);
    if (st != PB_OK) return st;
    for (int64_t p = begin; p < end && st == PB_OK; p += GROUP) {
        const int L = (int)(end - p < GROUP ? end - p : GROUP);
        const pb_desc v = lanes_desc(d, L);
        to_lanes(a->diff_dst + p * Q, Q, L, Q, sc.out);
        if (mx) to_lanes(a->ws + p * Q, Q, L, Q, sc.ws);
        pb_args va = {.diff_dst = sc.out, .ws = sc.ws, .diff_src = sc.in};
        /* all rows of the one sample: argmaxes outside their window take
         * the exact scatter there, never PB_ERR_PARTIAL */
        st = pb_avx512_nhwc_bwd_slices(&v, &va, g, 0, d->ih);
        int64_t lo[GROUP], hi[GROUP];
        for (int l = 0; l < L; l++) lo[l] = 0, hi[l] = P;
        if (st == PB_OK) from_lanes(sc.in, L, P, lo, hi, P, a->diff_src + p * P);
    }
    free(sc.in);
    return st;
}
