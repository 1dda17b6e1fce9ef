/* AVX2 pooling in NCHW: 8 outputs along W per vector.
 *
 * Forward, one output row at a time: every window tap is one vector of 8
 * input values (stride 1: an unaligned load; stride 2: two loads
 * deinterleaved with one shuffle, the 64-bit pairs left permuted until the
 * store).  Input rows are screened for NaN once; over NaN-free rows max
 * folds each row's taps with _mm256_max_ps and then joins the rows in
 * order (the first-max rule is associative), which is the reference's
 * row-major scan bit for bit.  Rows holding a NaN take the exact rule
 * (compare + blend) instead.  Chunks whose taps all lie inside the row run
 * a branch-free body specialized for the window width; border chunks run
 * the same body with masked loads (-inf or 0 outside the row) and masked
 * stores, so no load or store leaves the buffers.
 *
 * Backward is the gather form: each input element sums the gradients of
 * the outputs whose window taps it (max: only where the argmax names it),
 * so diff_src is written once, with full vectors, no zeroing pass and no
 * read-modify-write.  Stride 2 splits 16 input columns into even and odd
 * lanes; every tap then feeds one of them from 8 consecutive outputs.
 *
 * Global pooling (one window = the plane) reduces 8 planes at once, so the
 * 8 horizontal sums share one shuffle tree.
 *
 * Tried and measured slower here: caching each input row's horizontal
 * result in a ring so overlapping windows (3x3/2, 3x3/1) reuse it; the
 * extra stores, loads and per-row bookkeeping cost more than the shared
 * horizontal work saves at 8 lanes.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pool_avx2.h"

/* Per-call constants of the forward kernel. */
typedef struct nchw_fwd {
    const pb_desc *d;
    int64_t iw, ow;        /* input and output widths */
    int64_t kw, sw, dw, pl;
    int64_t fast_lo, fast_hi; /* chunk starts ow0 whose taps all lie in the row */
    float *xcnt;           /* avg: divisor factor along W per output column */
    pb_axis_window *xw;    /* window along W per output column */
} nchw_fwd;

/* ---- forward: one chunk of 8 outputs ------------------------------------ */

/* A running result over a run of taps: max (or sum) and argmax. */
typedef struct run {
    __m256 best;
    __m256i bpos;
} run;

/* Appends the later run b to a (the first max of a+b: b wins only when
 * strictly greater).  Inputs are NaN-free (rows are screened first), where
 * _mm256_max_ps(b, a) is exactly that rule: it returns a unless b > a, so
 * the first of equal values (also +0 before -0) stays.  The rule is
 * associative, so per-row runs combined in row order equal the reference's
 * row-major scan, with a dependency chain of kw-1 + nr-1 instead of
 * kw*nr-1. */
PBX_INLINE void join(const int kind, run *a, run b)
{
    if (kind == PBX_AVG) {
        a->best = _mm256_add_ps(a->best, b.best);
        return;
    }
    if (kind == PBX_MAXI)
        a->bpos = pbx_blend_i(a->bpos, b.bpos, _mm256_cmp_ps(b.best, a->best, _CMP_GT_OQ));
    a->best = _mm256_max_ps(b.best, a->best);
}

PBX_INLINE run tap_run(__m256 v, __m256i pos) { return (run){v, pos}; }

/* Eight input values of a row starting at column q.  padded: columns
 * outside [0, iw) are not loaded; they read as -inf for max (never above a
 * real tap; a window whose max is -inf is redone exactly, see fast_chunk)
 * and 0 for sums. */
PBX_INLINE __m256 ld8(const int kind, const bool padded, const float *row, int64_t q, int64_t iw)
{
    if (!padded) return _mm256_loadu_ps(row + q);
    __m256i m = pbx_in_range(_mm256_add_epi32(pbx_iota(), _mm256_set1_epi32((int32_t)q)), 0, iw);
    __m256 v = _mm256_maskload_ps(pbx_addr(row, q), m);
    if (kind == PBX_AVG) return v;
    return _mm256_blendv_ps(_mm256_set1_ps(-INFINITY), v, _mm256_castsi256_ps(m));
}

/* The taps of one input row for the chunk whose first tap (lane 0) is at
 * column b, in tap order; p0 holds the flat positions of the first tap of
 * each lane (lane order as the loads give it).  Not padded: every tap lies
 * in the row. */
PBX_INLINE run fast_row(const int kind, const bool padded, const int sw, const int64_t kw,
                        const int64_t dw, const float *row, int64_t b, int64_t iw, __m256i p0)
{
#define POS(off) (kind == PBX_MAXI ? _mm256_add_epi32(p0, _mm256_set1_epi32((int32_t)(off))) : p0)
#define LD(q) ld8(kind, padded, row, b + (q), iw)
    run a;
    if (sw == 1) {
        a = tap_run(LD(0), p0);
#pragma GCC unroll 4
        for (int64_t tx = 1; tx < kw; tx++) join(kind, &a, tap_run(LD(tx * dw), POS(tx * dw)));
        return a;
    }
    int64_t tx = 0;
    if (dw == 1 && kw >= 2) {
        /* adjacent taps share one pair of loads: even lanes, then odd */
#pragma GCC unroll 4
        for (; tx + 1 < kw; tx += 2) {
            __m256 lo = LD(tx), hi = LD(tx + 8);
            run e = tap_run(_mm256_shuffle_ps(lo, hi, 0x88), POS(tx));
            join(kind, &e, tap_run(_mm256_shuffle_ps(lo, hi, 0xDD), POS(tx + 1)));
            if (tx == 0)
                a = e;
            else
                join(kind, &a, e);
        }
    }
    /* a lone tap: the even elements of [p, p+15) from loads at p and p+7,
     * so nothing past the last tap is read */
#pragma GCC unroll 4
    for (; tx < kw; tx++) {
        __m256 lo = LD(tx * dw), hi = LD(tx * dw + 7);
        run e = tap_run(_mm256_shuffle_ps(lo, hi, 0xD8), POS(tx * dw));
        if (tx == 0)
            a = e;
        else
            join(kind, &a, e);
    }
    return a;
#undef LD
#undef POS
}

/* Flat positions of tap 0 of each lane for the chunk at ow0, lane order as
 * fast_row/masked loads produce it (stride 2: pairs permuted). */
PBX_INLINE __m256i lane_cols(int64_t sw, int64_t base)
{
    __m256i l = sw == 1 ? _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)
                        : _mm256_setr_epi32(0, 2, 8, 10, 4, 6, 12, 14);
    return _mm256_add_epi32(l, _mm256_set1_epi32((int32_t)base));
}

static void masked_chunk(const nchw_fwd *f, int kind, const float *const *rows,
                         const int32_t *rowpos, int64_t nr, int64_t ow0, float *dst, int32_t *ws,
                         float ycnt);

/* A chunk of 8 outputs at ow0 over NaN-free rows.  Not padded: all taps lie
 * in their rows and all 8 outputs exist.  Padded (borders, row tails):
 * taps outside the row are masked, lanes past the row end not stored. */
PBX_INLINE void fast_chunk(const nchw_fwd *f, const int kind, const bool padded, const int sw,
                           const int64_t kwc, const float *const *rows, const int32_t *rowpos,
                           int64_t nr, int64_t ow0, float *dst, int32_t *ws, float ycnt)
{
    const int64_t kw = kwc ? kwc : f->kw, dw = kwc ? 1 : f->dw, iw = f->iw;
    const int64_t b = sw * ow0 - f->pl;
    __m256i cols = kind == PBX_MAXI ? lane_cols(sw, b) : _mm256_setzero_si256();
#define P0(r) (kind == PBX_MAXI ? _mm256_add_epi32(cols, _mm256_set1_epi32(rowpos[r])) : cols)
    run a = fast_row(kind, padded, sw, kw, dw, rows[0], b, iw, P0(0));
    for (int64_t r = 1; r < nr; r++)
        join(kind, &a, fast_row(kind, padded, sw, kw, dw, rows[r], b, iw, P0(r)));
#undef P0
    if (sw == 2) {
        a.best = pbx_unperm(a.best);
        if (kind == PBX_MAXI) a.bpos = pbx_unperm_i(a.bpos);
    }
    if (!padded) {
        if (kind == PBX_AVG) a.best = _mm256_div_ps(a.best, _mm256_set1_ps(ycnt * (float)kw));
        _mm256_storeu_ps(dst + ow0, a.best);
        if (kind == PBX_MAXI) _mm256_storeu_si256((__m256i *)(ws + ow0), a.bpos);
        return;
    }
    const int64_t n = f->ow - ow0;
    if (kind == PBX_MAXI) {
        /* a -inf maximum may sit on padding: redo such chunks exactly */
        __m256 ninf = _mm256_cmp_ps(a.best, _mm256_set1_ps(-INFINITY), _CMP_EQ_OQ);
        if (!_mm256_testz_ps(ninf, _mm256_castsi256_ps(pbx_head(n)))) {
            masked_chunk(f, kind, rows, rowpos, nr, ow0, dst, ws, ycnt);
            return;
        }
    }
    if (kind == PBX_AVG) {
        __m256 xc = _mm256_maskload_ps(f->xcnt + ow0, pbx_head(n));
        __m256 cnt = _mm256_max_ps(_mm256_mul_ps(xc, _mm256_set1_ps(ycnt)), _mm256_set1_ps(1.0f));
        a.best = _mm256_div_ps(a.best, cnt);
    }
    pbx_store_n(dst + ow0, a.best, n);
    if (kind == PBX_MAXI) pbx_store_n_i(ws + ow0, a.bpos, n);
}

/* Any chunk: taps outside the row are masked off (never loaded, never
 * winning, counting zero in sums); lanes past the row end are not stored. */
static void masked_chunk(const nchw_fwd *f, int kind, const float *const *rows,
                         const int32_t *rowpos, int64_t nr, int64_t ow0, float *dst, int32_t *ws,
                         float ycnt)
{
    const int64_t sw = f->sw, iw = f->iw;
    const __m256i cols = lane_cols(sw, sw * ow0 - f->pl);
    const __m256 ones = _mm256_castsi256_ps(_mm256_set1_epi32(-1));
    __m256 best = _mm256_setzero_ps(), seen = _mm256_setzero_ps();
    __m256i bpos = _mm256_setzero_si256();
    for (int64_t r = 0; r < nr; r++)
        for (int64_t tx = 0; tx < f->kw; tx++) {
            int64_t p = sw * ow0 - f->pl + tx * f->dw;
            __m256i col = _mm256_add_epi32(cols, _mm256_set1_epi32((int32_t)(tx * f->dw)));
            __m256i valid = pbx_in_range(col, 0, iw);
            __m256 v;
            if (sw == 1) {
                v = _mm256_maskload_ps(pbx_addr(rows[r], p), valid);
            } else {
                __m256i raw = _mm256_add_epi32(pbx_iota(), _mm256_set1_epi32((int32_t)p));
                __m256 lo = _mm256_maskload_ps(pbx_addr(rows[r], p), pbx_in_range(raw, 0, iw));
                raw = _mm256_add_epi32(raw, _mm256_set1_epi32(8));
                __m256 hi =
                    _mm256_maskload_ps(pbx_addr(rows[r], p + 8), pbx_in_range(raw, 0, iw));
                v = _mm256_shuffle_ps(lo, hi, 0x88);
            }
            if (kind == PBX_AVG) {
                best = _mm256_add_ps(best, v); /* masked-off taps loaded as 0 */
                continue;
            }
            __m256 vm = _mm256_castsi256_ps(valid);
            /* valid and (first valid tap of the lane, or it wins) */
            __m256 t =
                _mm256_and_ps(vm, _mm256_or_ps(_mm256_xor_ps(seen, ones), pbx_take(v, best)));
            best = _mm256_blendv_ps(best, v, t);
            if (kind == PBX_MAXI)
                bpos = pbx_blend_i(bpos, _mm256_add_epi32(col, _mm256_set1_epi32(rowpos[r])), t);
            seen = _mm256_or_ps(seen, vm);
        }
    if (sw == 2) {
        best = pbx_unperm(best);
        bpos = pbx_unperm_i(bpos);
    }
    int64_t n = f->ow - ow0;
    if (kind == PBX_AVG) {
        __m256 xc = _mm256_maskload_ps(f->xcnt + ow0, pbx_head(n));
        __m256 cnt = _mm256_max_ps(_mm256_mul_ps(xc, _mm256_set1_ps(ycnt)), _mm256_set1_ps(1.0f));
        best = _mm256_div_ps(best, cnt);
    }
    pbx_store_n(dst + ow0, best, n);
    if (kind == PBX_MAXI) pbx_store_n_i(ws + ow0, bpos, n);
}

/* One output, scalar: the few border outputs a row has on each side. */
static void scalar_out(const nchw_fwd *f, int kind, const float *const *rows,
                       const int32_t *rowpos, int64_t nr, int64_t ow, float *dst, int32_t *ws,
                       float ycnt)
{
    const pb_axis_window x = f->xw[ow];
    const int64_t dw = f->dw;
    float best = rows[0][x.start + x.t_lo * dw];
    int32_t bp = rowpos[0] + (int32_t)(x.start + x.t_lo * dw);
    for (int64_t r = 0; r < nr; r++)
        for (int64_t tx = r == 0 ? x.t_lo + 1 : x.t_lo; tx < x.t_hi; tx++) {
            int64_t w = x.start + tx * dw;
            float v = rows[r][w];
            if (kind == PBX_AVG) {
                best += v;
            } else if (v > best || (v != v && best == best)) { /* pbx_take, scalar */
                best = v;
                bp = rowpos[r] + (int32_t)w;
            }
        }
    if (kind == PBX_AVG) best /= ycnt * f->xcnt[ow];
    dst[ow] = best;
    if (kind == PBX_MAXI) ws[ow] = bp;
}

/* Border outputs [o0, o1): scalar when few, masked chunks otherwise. */
static void border(const nchw_fwd *f, int kind, const float *const *rows, const int32_t *rowpos,
                   int64_t nr, int64_t o0, int64_t o1, float *dst, int32_t *ws, float ycnt)
{
    if (o1 - o0 <= 3) {
        for (int64_t ow = o0; ow < o1; ow++)
            scalar_out(f, kind, rows, rowpos, nr, ow, dst, ws, ycnt);
        return;
    }
    for (int64_t ow0 = o0; ow0 < o1; ow0 += 8) /* may run past o1: same values */
        masked_chunk(f, kind, rows, rowpos, nr, ow0, dst, ws, ycnt);
}

/* One output row: padded chunks at the borders (and for rows shorter than
 * a vector), fast chunks between; the last chunk moves left onto already
 * computed outputs (same values) instead of running past the row end. */
PBX_INLINE void fwd_row(const nchw_fwd *f, const float *const *rows, const int32_t *rowpos,
                        int64_t nr, float *dst, int32_t *ws, float ycnt, const int kind,
                        const int sw, const int64_t kwc)
{
#define CHUNK(PAD, at) fast_chunk(f, kind, PAD, sw, kwc, rows, rowpos, nr, at, dst, ws, ycnt)
    const int64_t OW = f->ow;
    int64_t ow0 = 0;
    if (OW <= 8 || f->fast_lo > f->fast_hi) {
        for (; ow0 < OW; ow0 += 8) CHUNK(true, ow0);
        return;
    }
    for (; ow0 < f->fast_lo; ow0 += 8) CHUNK(true, ow0);
    for (; ow0 <= f->fast_hi; ow0 += 8) CHUNK(false, ow0);
    if (ow0 < OW && OW - 8 == f->fast_hi) { /* then ow0 > OW - 8 */
        CHUNK(false, OW - 8);
        return;
    }
    for (; ow0 < OW - 8; ow0 += 8) CHUNK(true, ow0);
    if (ow0 < OW) CHUNK(true, OW - 8);
#undef CHUNK
}

typedef void (*row_fn)(const nchw_fwd *f, const float *const *rows, const int32_t *rowpos,
                       int64_t nr, float *dst, int32_t *ws, float ycnt);

/* One specialization per (kind, stride, window width 2 / 3 / any). */
#define ROW_FN(K, S, W)                                                                        \
    static void row_##K##_##S##_##W(const nchw_fwd *f, const float *const *rows,             \
                                    const int32_t *rowpos, int64_t nr, float *dst,            \
                                    int32_t *ws, float ycnt)                                  \
    {                                                                                          \
        fwd_row(f, rows, rowpos, nr, dst, ws, ycnt, K, S, W);                                  \
    }
#define ROW_FNS(K) ROW_FN(K, 1, 2) ROW_FN(K, 1, 3) ROW_FN(K, 1, 0) \
                   ROW_FN(K, 2, 2) ROW_FN(K, 2, 3) ROW_FN(K, 2, 0)
ROW_FNS(PBX_MAX)
ROW_FNS(PBX_MAXI)
ROW_FNS(PBX_AVG)
#undef ROW_FNS

static const row_fn row_fns[3][2][3] = {
#define ROW_SET(K)                                                                  \
    {{row_##K##_1_2, row_##K##_1_3, row_##K##_1_0}, {row_##K##_2_2, row_##K##_2_3, row_##K##_2_0}}
    ROW_SET(PBX_MAX), ROW_SET(PBX_MAXI), ROW_SET(PBX_AVG),
#undef ROW_SET
};
#undef ROW_FN

/* true floor of a / b for b > 0 */
static int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

/* ---- forward: global ----------------------------------------------------- */

/* Eight planes' sums, each reduced in the same tree ((0+1)+(2+3)) +
 * ((4+5)+(6+7)) as hsum() below, so a plane's result does not depend on
 * which planes share its group (slices stay bitwise reproducible). */
PBX_INLINE __m256 hsum8(const __m256 a[8])
{
    __m256 t0 = _mm256_hadd_ps(a[0], a[1]), t1 = _mm256_hadd_ps(a[2], a[3]);
    __m256 t2 = _mm256_hadd_ps(a[4], a[5]), t3 = _mm256_hadd_ps(a[6], a[7]);
    __m256 u0 = _mm256_hadd_ps(t0, t1), u1 = _mm256_hadd_ps(t2, t3);
    return _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20),
                         _mm256_permute2f128_ps(u0, u1, 0x31));
}

PBX_INLINE float hsum(__m256 a)
{
    __m256 u = _mm256_hadd_ps(a, a);
    u = _mm256_hadd_ps(u, u);
    return _mm_cvtss_f32(_mm_add_ss(_mm256_castps256_ps128(u), _mm256_extractf128_ps(u, 1)));
}

/* NP planes (1 or 8) of length L at src + k*L: per lane a running max or
 * sum over elements j, j+8, ...; then the lanes are combined. */
PBX_INLINE void global_group(const int kind, const int NP, const float *src, int64_t L,
                             float *dst, int32_t *ws, float div)
{
    __m256 acc[8];
    __m256i pos[8];
    const int64_t nfirst = L < 8 ? L : 8;
    const __m256i first_mask = pbx_head(nfirst);
    #pragma GCC unroll 8
    for (int k = 0; k < NP; k++) {
        acc[k] = _mm256_maskload_ps(src + k * L, first_mask);
        pos[k] = pbx_iota();
    }
    int64_t i = 8;
    for (; i + 8 <= L; i += 8) {
        __m256i p = _mm256_add_epi32(pbx_iota(), _mm256_set1_epi32((int32_t)i));
        #pragma GCC unroll 8
        for (int k = 0; k < NP; k++) {
            __m256 v = _mm256_loadu_ps(src + k * L + i);
            if (kind == PBX_AVG) {
                acc[k] = _mm256_add_ps(acc[k], v);
            } else {
                __m256 t = pbx_take(v, acc[k]);
                acc[k] = _mm256_blendv_ps(acc[k], v, t);
                pos[k] = pbx_blend_i(pos[k], p, t);
            }
        }
    }
    if (i < L) {
        __m256i m = pbx_head(L - i);
        __m256i p = _mm256_add_epi32(pbx_iota(), _mm256_set1_epi32((int32_t)i));
        #pragma GCC unroll 8
        for (int k = 0; k < NP; k++) {
            __m256 v = _mm256_maskload_ps(src + k * L + i, m);
            if (kind == PBX_AVG) {
                acc[k] = _mm256_add_ps(acc[k], v);
            } else {
                __m256 t = _mm256_and_ps(_mm256_castsi256_ps(m), pbx_take(v, acc[k]));
                acc[k] = _mm256_blendv_ps(acc[k], v, t);
                pos[k] = pbx_blend_i(pos[k], p, t);
            }
        }
    }
    if (kind == PBX_AVG) {
        if (NP == 8) {
            _mm256_storeu_ps(dst, _mm256_div_ps(hsum8(acc), _mm256_set1_ps(div)));
        } else {
            #pragma GCC unroll 8
            for (int k = 0; k < NP; k++) dst[k] = hsum(acc[k]) / div;
        }
        return;
    }
    #pragma GCC unroll 8
    for (int k = 0; k < NP; k++) {
        float v[8];
        int32_t p[8];
        _mm256_storeu_ps(v, acc[k]);
        _mm256_storeu_si256((__m256i *)p, pos[k]);
        int b = 0;
        for (int j = 1; j < nfirst; j++)
            if (pbx_better(v[j], p[j], v[b], p[b])) b = j;
        dst[k] = v[b];
        if (kind == PBX_MAXI) ws[k] = p[b];
    }
}

static void global_fwd(const pb_desc *d, const pb_args *a, int kind, int64_t begin, int64_t end)
{
    const int64_t L = d->ih * d->iw;
    const float div = (float)pb_divisor(d, 0, 0);
    int64_t p = begin;
#define GROUP(K, NP)                                                                               \
    global_group(K, NP, a->src + p * L, L, a->dst + p, a->ws ? a->ws + p : NULL, div)
    for (; p + 8 <= end; p += 8) {
        if (kind == PBX_AVG) GROUP(PBX_AVG, 8);
        else if (kind == PBX_MAXI) GROUP(PBX_MAXI, 8);
        else GROUP(PBX_MAX, 8);
    }
    for (; p < end; p++) {
        if (kind == PBX_AVG) GROUP(PBX_AVG, 1);
        else if (kind == PBX_MAXI) GROUP(PBX_MAXI, 1);
        else GROUP(PBX_MAX, 1);
    }
#undef GROUP
}

/* ---- forward: entry ------------------------------------------------------ */

pb_status pb_avx2_nchw_fwd(const pb_desc *d, const pb_args *a, int64_t begin, int64_t end)
{
    const int kind = d->alg != PB_ALG_MAX ? PBX_AVG : a->ws ? PBX_MAXI : PBX_MAX;
    if (pbx_is_global(d)) { /* rows = planes when OH = 1 */
        global_fwd(d, a, kind, begin, end);
        return PB_OK;
    }
    nchw_fwd f = {.d = d, .iw = d->iw, .ow = d->ow, .kw = d->kw, .sw = d->sw, .dw = d->dw,
                  .pl = d->pl};
    const int64_t span = (d->kw - 1) * d->dw;
    f.fast_lo = (f.pl + f.sw - 1) / f.sw;
    /* last output of the chunk: sw*(ow0+7) - pl + span <= iw - 1 */
    f.fast_hi = floor_div(f.iw - 1 + f.pl - span, f.sw) - 7;
    if (f.fast_hi > f.ow - 8) f.fast_hi = f.ow - 8;

    const int64_t kh = d->kh, OH = d->oh;
    void *mem = malloc((size_t)kh * (sizeof(float *) + sizeof(int32_t)) +
                       (size_t)f.ow * sizeof(float) + (size_t)(OH + f.ow) * sizeof(pb_axis_window) +
                       (size_t)d->ih);
    if (!mem) return PB_ERR_NOMEM;
    pb_axis_window *yw = mem; /* first: the strictest alignment */
    f.xw = yw + OH;
    const float **rows = (const float **)(f.xw + f.ow);
    int32_t *rowpos = (int32_t *)(rows + kh);
    f.xcnt = (float *)(rowpos + kh);
    int8_t *row_nan = (int8_t *)(f.xcnt + f.ow); /* per input row of the plane: NaN? */
    for (int64_t oh = 0; oh < OH; oh++)
        yw[oh] = pb_axis_window_at(oh, d->ih, d->kh, d->sh, d->pt, d->pb, d->dh);
    for (int64_t ow = 0; ow < f.ow; ow++) {
        f.xw[ow] = pb_axis_window_at(ow, d->iw, d->kw, d->sw, d->pl, d->pr, d->dw);
        f.xcnt[ow] = (float)pbx_axis_count(d->alg, f.xw[ow]);
    }

    /* window widths 2 and 3 without dilation get their own unrolled code */
    int wi = d->dw != 1 ? 2 : d->kw == 2 ? 0 : d->kw == 3 ? 1 : 2;
    row_fn fn = row_fns[kind][f.sw - 1][wi];
    const int64_t plane = d->ih * d->iw, oplane = OH * d->ow;
    int64_t p = begin / OH, oh = begin % OH;
    memset(row_nan, -1, (size_t)d->ih); /* -1: not screened yet */
    for (int64_t r = begin; r < end; r++) {
        pb_axis_window y = yw[oh];
        int64_t nr = y.t_hi - y.t_lo;
        bool nan = false;
        for (int64_t k = 0; k < nr; k++) {
            int64_t h = y.start + (y.t_lo + k) * d->dh;
            rows[k] = a->src + p * plane + h * d->iw;
            rowpos[k] = (int32_t)(h * d->iw);
            if (kind == PBX_AVG) continue;
            if (row_nan[h] < 0) row_nan[h] = pbx_has_nan(rows[k], d->iw); /* once per row */
            nan |= row_nan[h] > 0;
        }
        float ycnt = (float)pbx_axis_count(d->alg, y);
        int64_t o = p * oplane + oh * d->ow;
        int32_t *wso = a->ws ? a->ws + o : NULL;
        if (nan) /* the exact rule, chunk by chunk */
            border(&f, kind, rows, rowpos, nr, 0, f.ow, a->dst + o, wso, ycnt);
        else
            fn(&f, rows, rowpos, nr, a->dst + o, wso, ycnt);
        if (++oh == OH) {
            oh = 0;
            p++;
            memset(row_nan, -1, (size_t)d->ih);
        }
    }
    free(mem);
    return PB_OK;
}

/* ---- backward ------------------------------------------------------------ */

/* Per-call constants of the backward kernel. */
typedef struct nchw_bwd {
    const pb_desc *d;
    int64_t iw, ow, kw, sw, dw, pl;
    unsigned char *fast; /* per chunk of input columns: all taps' outputs exist */
    int64_t *delta;      /* per tap: first output column is w0/sw + delta */
    unsigned char *odd;  /* per tap (stride 2): feeds the odd input columns */
} nchw_bwd;

/* Tap tx (offset off = tx*dw) for chunks at even input columns w0: input
 * column w takes output (w + pl - off)/sw where that divides.  Stride 2:
 * with q = pl - off even the even columns w0+2j take outputs w0/2 + q/2 + j,
 * with q odd the odd columns w0+2j+1 take outputs w0/2 + (q+1)/2 + j. */
static void tap_table(nchw_bwd *f)
{
    for (int64_t tx = 0; tx < f->kw; tx++) {
        int64_t q = f->pl - tx * f->dw;
        f->odd[tx] = f->sw == 2 && (q & 1);
        f->delta[tx] = f->sw == 1 ? q : f->odd[tx] ? (q + 1) / 2 : q / 2;
    }
}

/* One chunk (8 input columns for stride 1, 16 for stride 2) of input row h:
 * g holds the gradients (max) or the shares g/divisor (avg) of the covering
 * output rows ohs[0..ny), wsp their argmax.  masked: some tap's outputs or
 * some input column of the chunk do not exist.  kwc: the window width when
 * a compile-time 2 or 3 (dilation 1), with par the parity of pl, so the
 * even/odd routing of each tap is known at compile time. */
PBX_INLINE void bwd_chunk(const nchw_bwd *f, const int kind, const int sw, const int64_t kwc,
                          const int par, const bool masked, const float *g, const int32_t *wsp,
                          const int64_t *ohs, int64_t ny, int64_t h, int64_t w0, float *out,
                          __m256i *hits)
{
    const int64_t OW = f->ow, kw = kwc ? kwc : f->kw;
    __m256 e = _mm256_setzero_ps(), o = _mm256_setzero_ps();
    __m256i exp_e =
        _mm256_add_epi32(_mm256_set1_epi32((int32_t)(h * f->iw + w0)),
                         sw == 1 ? pbx_iota() : _mm256_add_epi32(pbx_iota(), pbx_iota()));
    __m256i exp_o = _mm256_add_epi32(exp_e, _mm256_set1_epi32(1));
    /* masked chunks: lanes past the row's end name the next row's pixels */
    const __m256i row_end = _mm256_set1_epi32((int32_t)((h + 1) * f->iw));
    const __m256i in_e = _mm256_cmpgt_epi32(row_end, exp_e);
    const __m256i in_o = _mm256_cmpgt_epi32(row_end, exp_o);
    const int64_t ob = w0 / sw;
    for (int64_t k = 0; k < ny; k++) {
        const float *gr = g + ohs[k] * OW + ob;
        const int32_t *wr = wsp ? wsp + ohs[k] * OW + ob : NULL;
#pragma GCC unroll 4
        for (int64_t tx = 0; tx < kw; tx++) {
            const bool odd = sw == 1 ? false : kwc ? ((par ^ (int)tx) & 1) != 0 : f->odd[tx];
            const int64_t os = f->delta[tx];
            __m256 v;
            __m256i m = _mm256_setzero_si256();
            if (masked) {
                m = pbx_in_range(
                    _mm256_add_epi32(pbx_iota(), _mm256_set1_epi32((int32_t)(ob + os))), 0, OW);
                v = _mm256_maskload_ps(pbx_addr(gr, os), m);
            } else {
                v = _mm256_loadu_ps(gr + os);
            }
            if (kind == PBX_MAX) {
                __m256i p = masked ? _mm256_maskload_epi32(pbx_addr_i(wr, os), m)
                                   : _mm256_loadu_si256((const __m256i *)(wr + os));
                __m256i hit = _mm256_cmpeq_epi32(p, odd ? exp_o : exp_e);
                v = _mm256_and_ps(v, _mm256_castsi256_ps(hit));
                /* count each (output, pixel) match once: never a missing
                 * output or a pixel past the row */
                if (masked) hit = _mm256_and_si256(hit, _mm256_and_si256(m, odd ? in_o : in_e));
                *hits = _mm256_add_epi32(*hits, hit);
            }
            if (odd)
                o = _mm256_add_ps(o, v);
            else
                e = _mm256_add_ps(e, v);
        }
    }
    int64_t n = f->iw - w0;
    if (sw == 1) {
        if (masked) pbx_store_n(out + w0, e, n);
        else _mm256_storeu_ps(out + w0, e);
        return;
    }
    __m256 lo = _mm256_unpacklo_ps(e, o), hi = _mm256_unpackhi_ps(e, o);
    __m256 c0 = _mm256_permute2f128_ps(lo, hi, 0x20), c1 = _mm256_permute2f128_ps(lo, hi, 0x31);
    if (masked) {
        pbx_store_n(out + w0, c0, n);
        if (n > 8) pbx_store_n(out + w0 + 8, c1, n - 8);
    } else {
        _mm256_storeu_ps(out + w0, c0);
        _mm256_storeu_ps(out + w0 + 8, c1);
    }
}

/* One plane; max returns how many argmaxes matched a pixel of their
 * window (all of them unless the workspace points outside one). */
PBX_INLINE int64_t bwd_plane(const nchw_bwd *f, const int kind, const int sw, const int64_t kwc,
                             const int par, const float *g, const int32_t *wsp, float *out,
                             int64_t *ohs)
{
    const pb_desc *d = f->d;
    const int64_t cw = 8 * sw;
    int64_t matched = 0;
    for (int64_t h = 0; h < d->ih; h++) {
        /* output rows whose window taps row h, in tap order */
        int64_t ny = 0;
        for (int64_t ty = 0; ty < d->kh; ty++) {
            int64_t num = h + d->pt - ty * d->dh;
            if (num >= 0 && num % d->sh == 0 && num / d->sh < d->oh) ohs[ny++] = num / d->sh;
        }
        float *orow = out + h * d->iw;
        __m256i hits = _mm256_setzero_si256(); /* per lane, negated; one row cannot overflow */
        for (int64_t w0 = 0, c = 0; w0 < d->iw; w0 += cw, c++) {
            if (f->fast[c])
                bwd_chunk(f, kind, sw, kwc, par, false, g, wsp, ohs, ny, h, w0, orow, &hits);
            else
                bwd_chunk(f, kind, sw, kwc, par, true, g, wsp, ohs, ny, h, w0, orow, &hits);
        }
        if (kind == PBX_MAX) matched -= pbx_hsum_i(hits);
    }
    return matched;
}

typedef int64_t (*plane_fn)(const nchw_bwd *f, const float *g, const int32_t *wsp, float *out,
                            int64_t *ohs);
/* One specialization per (kind, stride, width 2 / 3 / any, pl parity). */
#define PLANE_FN(K, S, W, P)                                                                  \
    static int64_t plane_##K##_##S##_##W##_##P(const nchw_bwd *f, const float *g,            \
                                               const int32_t *wsp, float *out, int64_t *ohs)  \
    {                                                                                         \
        return bwd_plane(f, K, S, W, P, g, wsp, out, ohs);                                    \
    }
#define PLANE_FNS(K)                                                                          \
    PLANE_FN(K, 1, 0, 0) PLANE_FN(K, 2, 0, 0) PLANE_FN(K, 2, 2, 0) PLANE_FN(K, 2, 2, 1)      \
    PLANE_FN(K, 2, 3, 0) PLANE_FN(K, 2, 3, 1) PLANE_FN(K, 1, 2, 0) PLANE_FN(K, 1, 3, 0)
PLANE_FNS(PBX_MAX)
PLANE_FNS(PBX_AVG)
#undef PLANE_FNS

static plane_fn pick_plane(int kind, int64_t sw, int64_t kw, int64_t dw, int64_t pl)
{
    int64_t w = dw != 1 ? 0 : kw == 2 ? 2 : kw == 3 ? 3 : 0;
    int par = sw == 2 && w ? (int)(pl & 1) : 0;
#define PICK(K)                                                                              \
    (sw == 1 ? (w == 2 ? plane_##K##_1_2_0 : w == 3 ? plane_##K##_1_3_0 : plane_##K##_1_0_0) \
             : w == 2 ? (par ? plane_##K##_2_2_1 : plane_##K##_2_2_0)                         \
             : w == 3 ? (par ? plane_##K##_2_3_1 : plane_##K##_2_3_0)                         \
                      : plane_##K##_2_0_0)
    return kind == PBX_MAX ? PICK(PBX_MAX) : PICK(PBX_AVG);
#undef PICK
}
#undef PLANE_FN

/* avg: the share g/divisor of every output of a plane, divided once here
 * rather than at each of the taps that read it. */
static void shares(const pb_desc *d, const float *g, const float *xcnt, const float *ycnt,
                   float *s)
{
    for (int64_t oh = 0; oh < d->oh; oh++) {
        const __m256 yc = _mm256_set1_ps(ycnt[oh]);
        const float *gr = g + oh * d->ow;
        float *sr = s + oh * d->ow;
        int64_t ow = 0;
        for (; ow + 8 <= d->ow; ow += 8)
            _mm256_storeu_ps(sr + ow, _mm256_div_ps(_mm256_loadu_ps(gr + ow),
                                                    _mm256_mul_ps(yc, _mm256_loadu_ps(xcnt + ow))));
        for (; ow < d->ow; ow++) sr[ow] = gr[ow] / (ycnt[oh] * xcnt[ow]);
    }
}

/* Global backward: the plane's single output spreads over all of it. */
static pb_status global_bwd(const pb_desc *d, const pb_args *a, int64_t begin, int64_t end)
{
    const int64_t L = d->ih * d->iw;
    const float div = (float)pb_divisor(d, 0, 0);
    for (int64_t p = begin; p < end; p++) {
        float *out = a->diff_src + p * L;
        /* 0 + g as the reference's accumulator does (turns -0 into +0) */
        float g = 0.0f + a->diff_dst[p];
        int32_t pos = -1;
        if (d->alg == PB_ALG_MAX) {
            pos = a->ws[p];
            if (pos < 0 || pos >= L) return PB_ERR_UNSUPPORTED;
        }
        const __m256 v = _mm256_set1_ps(d->alg == PB_ALG_MAX ? 0.0f : g / div);
        int64_t i = 0;
        for (; i + 8 <= L; i += 8) _mm256_storeu_ps(out + i, v);
        if (i < L) { /* the tail: one more full store ending at L when it fits */
            if (L >= 8)
                _mm256_storeu_ps(out + L - 8, v);
            else
                pbx_store_n(out, v, L);
        }
        if (pos >= 0) out[pos] = g;
    }
    return PB_OK;
}

pb_status pb_avx2_nchw_bwd(const pb_desc *d, const pb_args *a, int64_t begin, int64_t end)
{
    const bool is_max = d->alg == PB_ALG_MAX;
    if (pbx_is_global(d)) return global_bwd(d, a, begin, end);
    nchw_bwd f = {.d = d, .iw = d->iw, .ow = d->ow, .kw = d->kw, .sw = d->sw, .dw = d->dw,
                  .pl = d->pl};
    const int64_t cw = 8 * f.sw, nchunks = (d->iw + cw - 1) / cw;
    const int64_t oplane = d->oh * d->ow, plane = d->ih * d->iw;
    size_t bytes = (size_t)(d->kh + d->kw) * sizeof(int64_t) + (size_t)(nchunks + d->kw);
    if (!is_max) bytes += (size_t)(oplane + d->ow + d->oh) * sizeof(float);
    void *mem = malloc(bytes);
    if (!mem) return PB_ERR_NOMEM;
    int64_t *ohs = mem;
    f.delta = ohs + d->kh;
    float *s = NULL, *xcnt = NULL, *ycnt = NULL;
    if (!is_max) {
        s = (float *)(f.delta + d->kw);
        xcnt = s + oplane;
        ycnt = xcnt + d->ow;
        for (int64_t ow = 0; ow < d->ow; ow++)
            xcnt[ow] = (float)pbx_axis_count(
                d->alg, pb_axis_window_at(ow, d->iw, d->kw, d->sw, d->pl, d->pr, d->dw));
        for (int64_t oh = 0; oh < d->oh; oh++)
            ycnt[oh] = (float)pbx_axis_count(
                d->alg, pb_axis_window_at(oh, d->ih, d->kh, d->sh, d->pt, d->pb, d->dh));
        f.fast = (unsigned char *)(ycnt + d->oh);
    } else {
        f.fast = (unsigned char *)(f.delta + d->kw);
    }
    f.odd = f.fast + nchunks;
    tap_table(&f);
    for (int64_t c = 0; c < nchunks; c++) {
        int64_t w0 = c * cw;
        bool ok = w0 + cw <= d->iw;
        for (int64_t tx = 0; ok && tx < d->kw; tx++) {
            int64_t os = w0 / f.sw + f.delta[tx];
            ok = os >= 0 && os + 8 <= d->ow;
        }
        f.fast[c] = ok;
    }
    plane_fn fn = pick_plane(is_max ? PBX_MAX : PBX_AVG, f.sw, d->kw, d->dw, d->pl);
    pb_status st = PB_OK;
    for (int64_t p = begin; p < end; p++) {
        const float *g = a->diff_dst + p * oplane;
        const int32_t *wsp = NULL;
        if (is_max) {
            wsp = a->ws + p * oplane;
        } else {
            shares(d, g, xcnt, ycnt, s);
            g = s;
        }
        float *ds = a->diff_src + p * plane;
        int64_t matched = fn(&f, g, wsp, ds, ohs);
        /* each output's argmax matched one pixel of its window, unless the
         * workspace points elsewhere: then the plane by scatter (which
         * refuses a position outside the plane) */
        if (is_max && matched != oplane) st = pb_max_bwd_scatter(d, g, wsp, ds, 1);
        if (st != PB_OK) break;
    }
    free(mem);
    return st;
}
