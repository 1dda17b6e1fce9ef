/*
 * AVX-512 pooling in NCHW, vectorized along W: 16 adjacent outputs of one
 * output row per register.  Stride 2 deinterleaves two loads of 16 inputs
 * with one vpermt2ps (even lanes); stride 1 loads at each tap's offset.
 * Edges use masked loads and stores, so no access leaves a row.
 *
 * Forward is separable and single-pass over the input: each input row's
 * horizontal window result is computed once into a ring of kh row buffers
 * (L1-resident) and combined vertically by every output row that uses it.
 * For max this is exact: the row-major first-max/first-NaN rule is
 * associative over consecutive runs, so reducing each row then the rows in
 * order picks the same (value, position) as one row-major scan.
 *
 * Backward walks input rows, gathers the gradient of the output rows that
 * cover each one into per-tap row buffers (max: the taps whose argmax names
 * the position; avg: diff_dst / divisor), then spreads them back along W
 * with a masked permute, writing each diff_src row exactly once.
 */
#include <stdlib.h>
#include <string.h>

#include "pool_avx512.h"

#define VL PBX_VL
#define INLINE static inline __attribute__((always_inline))

/* Row geometry of one call, by value in the hot loops. */
typedef struct nchw {
    int64_t IH, IW, OH, OW, OWP, kw, sw, pl;
} nchw;

INLINE __m512i lanes_iota(void)
{
    return _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
}

/* Even elements of the 32 floats (a, b). */
INLINE __m512 even_of(__m512 a, __m512 b)
{
    const __m512i idx =
        _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    return _mm512_permutex2var_ps(a, idx, b);
}

/* Tap vector: row[off + sw*i] for lanes i, all inside the row. */
INLINE __m512 tap_full(const float *row, int64_t off, int64_t sw)
{
    if (sw == 1) return _mm512_loadu_ps(row + off);
    return even_of(_mm512_loadu_ps(row + off), _mm512_loadu_ps(row + off + VL));
}

/* Same near the row's ends: elements outside [0, iw) read as 0 and are
 * never accessed. */
INLINE __m512 tap_masked(const float *row, int64_t off, int64_t sw, int64_t iw)
{
    __m512 a = _mm512_maskz_loadu_ps(pbx_lanes(-off, iw - off), row + off);
    if (sw == 1) return a;
    __m512 b = _mm512_maskz_loadu_ps(pbx_lanes(-off - VL, iw - off - VL), row + off + VL);
    return even_of(a, b);
}

/* Lanes i < n whose tap off + sw*i lies inside [0, iw). */
INLINE __mmask16 tap_valid(int64_t off, int64_t sw, int64_t iw, int64_t n)
{
    if (sw == 1) return pbx_lanes(-off, iw - off) & pbx_lanes(0, n);
    return pbx_lanes(-pbx_floor_div(off, 2), pbx_floor_div(iw - 1 - off, 2) + 1) &
           pbx_lanes(0, n);
}

/* Whether the 16 outputs from ow0 are all real and every tap of every lane
 * (and every element the unmasked loads touch) lies inside the row. */
INLINE bool chunk_interior(const nchw *g, int64_t ow0)
{
    int64_t off0 = ow0 * g->sw - g->pl;
    int64_t last = off0 + g->kw - 1 + (g->sw == 2 ? 2 * VL - 1 : VL - 1);
    return ow0 + VL <= g->OW && off0 >= 0 && last < g->IW;
}

/* Horizontal max of input row h: val[ow] = the first max (or first NaN)
 * over the row's taps of output column ow, pos[ow] its plane position. */
INLINE void hrow_max(const nchw *g, const float *row, int64_t h, float *val, int32_t *pos,
                     bool train, int64_t sw)
{
    const __m512i lane_sw = _mm512_mullo_epi32(lanes_iota(), _mm512_set1_epi32((int)sw));
    for (int64_t ow0 = 0; ow0 < g->OW; ow0 += VL) {
        int64_t off0 = ow0 * sw - g->pl;
        __m512 best;
        __m512i btx = _mm512_setzero_si512();
        if (chunk_interior(g, ow0)) {
            best = tap_full(row, off0, sw);
            for (int64_t tx = 1; tx < g->kw; tx++) {
                __m512 v = tap_full(row, off0 + tx, sw);
                __mmask16 m = pbx_take(v, best);
                best = _mm512_mask_mov_ps(best, m, v);
                if (train) btx = _mm512_mask_mov_epi32(btx, m, _mm512_set1_epi32((int)tx));
            }
        } else {
            /* edge chunk: each lane seeds with its first in-input tap */
            __mmask16 has = 0;
            best = _mm512_setzero_ps();
            for (int64_t tx = 0; tx < g->kw; tx++) {
                __mmask16 vm = tap_valid(off0 + tx, sw, g->IW, g->OW - ow0);
                if (!vm) continue;
                __m512 v = tap_masked(row, off0 + tx, sw, g->IW);
                __mmask16 m = vm & (__mmask16)(~has | pbx_take(v, best));
                best = _mm512_mask_mov_ps(best, m, v);
                if (train) btx = _mm512_mask_mov_epi32(btx, m, _mm512_set1_epi32((int)tx));
                has |= vm;
            }
        }
        _mm512_storeu_ps(val + ow0, best);
        if (train) {
            __m512i p = _mm512_add_epi32(_mm512_set1_epi32((int)(h * g->IW + off0)), lane_sw);
            _mm512_storeu_si512(pos + ow0, _mm512_add_epi32(p, btx));
        }
    }
}

/* Horizontal sum of input row: padding and the outside read as 0. */
INLINE void hrow_sum(const nchw *g, const float *row, float *val, int64_t sw)
{
    for (int64_t ow0 = 0; ow0 < g->OW; ow0 += VL) {
        int64_t off0 = ow0 * sw - g->pl;
        __m512 s;
        if (chunk_interior(g, ow0)) {
            s = tap_full(row, off0, sw);
            for (int64_t tx = 1; tx < g->kw; tx++) s = _mm512_add_ps(s, tap_full(row, off0 + tx, sw));
        } else {
            s = tap_masked(row, off0, sw, g->IW);
            for (int64_t tx = 1; tx < g->kw; tx++)
                s = _mm512_add_ps(s, tap_masked(row, off0 + tx, sw, g->IW));
        }
        _mm512_storeu_ps(val + ow0, s);
    }
}

/* Ring of kh horizontal rows; slot h % kh holds input row h of plane
 * key / IH (a window's rows are consecutive, so they never collide). */
typedef struct ring {
    float *val;
    int32_t *pos;
    int64_t *key;
    int64_t slots;
} ring;

INLINE pb_status fwd_rows_impl(const pb_desc *d, const pb_args *a, const pbx_geom *geo,
                               int64_t begin, int64_t end, bool is_max, bool train, int64_t sw)
{
    nchw g = {d->ih, d->iw, d->oh, d->ow, pbx_round_up(d->ow, VL), d->kw, sw, d->pl};
    ring rg = {.slots = d->kh};
    size_t rowb = (size_t)g.OWP * sizeof(float);
    char *mem = malloc((size_t)rg.slots * (2 * rowb + sizeof(int64_t)));
    if (!mem) return PB_ERR_NOMEM;
    rg.val = (float *)mem;
    rg.pos = (int32_t *)(mem + rg.slots * rowb);
    rg.key = (int64_t *)(mem + 2 * rg.slots * rowb);
    for (int64_t i = 0; i < rg.slots; i++) rg.key[i] = -1;

    for (int64_t r = begin; r < end; r++) {
        int64_t p = r / g.OH, oh = r % g.OH;
        const float *plane = a->src + p * g.IH * g.IW;
        int64_t y0 = geo->y.lo[oh], y1 = geo->y.hi[oh];
        for (int64_t h = y0; h < y1; h++) {
            int64_t s = h % rg.slots, key = p * g.IH + h;
            if (rg.key[s] == key) continue;
            if (is_max)
                hrow_max(&g, plane + h * g.IW, h, rg.val + s * g.OWP, rg.pos + s * g.OWP, train,
                         sw);
            else
                hrow_sum(&g, plane + h * g.IW, rg.val + s * g.OWP, sw);
            rg.key[s] = key;
        }
        float *out = a->dst + r * g.OW;
        int32_t *wso = train ? a->ws + r * g.OW : NULL;
        const float ry = geo->y.r[oh];
        for (int64_t ow0 = 0; ow0 < g.OW; ow0 += VL) {
            __mmask16 lm = pbx_lanes(0, g.OW - ow0);
            int64_t s0 = (y0 % rg.slots) * g.OWP + ow0;
            __m512 best = _mm512_loadu_ps(rg.val + s0);
            if (is_max) {
                __m512i bpos = train ? _mm512_loadu_si512(rg.pos + s0) : _mm512_setzero_si512();
                for (int64_t h = y0 + 1; h < y1; h++) {
                    int64_t s = (h % rg.slots) * g.OWP + ow0;
                    __m512 v = _mm512_loadu_ps(rg.val + s);
                    __mmask16 m = pbx_take(v, best);
                    best = _mm512_mask_mov_ps(best, m, v);
                    if (train)
                        bpos = _mm512_mask_mov_epi32(bpos, m, _mm512_loadu_si512(rg.pos + s));
                }
                if (train) _mm512_mask_storeu_epi32(wso + ow0, lm, bpos);
            } else {
                for (int64_t h = y0 + 1; h < y1; h++)
                    best = _mm512_add_ps(best, _mm512_loadu_ps(rg.val + (h % rg.slots) * g.OWP + ow0));
                best = _mm512_mul_ps(best, _mm512_mul_ps(_mm512_set1_ps(ry),
                                                         _mm512_loadu_ps(geo->x.r + ow0)));
            }
            _mm512_mask_storeu_ps(out + ow0, lm, best);
        }
    }
    free(mem);
    return PB_OK;
}

/* Global pooling: one output per plane, the plane read as one flat run
 * (its flat offset is the argmax h*W + w). */
static void global_fwd(const pb_desc *d, const pb_args *a, int64_t begin, int64_t end)
{
    const int64_t P = d->ih * d->iw;
    for (int64_t r = begin; r < end; r++) {
        const float *x = a->src + r * P;
        if (d->alg != PB_ALG_MAX) {
            /* float partial sums over blocks of 1024 elements (64 per lane),
             * blocks added in double: accurate for any plane size */
            double total = 0.0;
            for (int64_t b0 = 0; b0 < P; b0 += 1024) {
                int64_t b1 = b0 + 1024 < P ? b0 + 1024 : P;
                __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
                int64_t i = b0;
                for (; i + 2 * VL <= b1; i += 2 * VL) {
                    s0 = _mm512_add_ps(s0, _mm512_loadu_ps(x + i));
                    s1 = _mm512_add_ps(s1, _mm512_loadu_ps(x + i + VL));
                }
                for (; i < b1; i += VL) s0 = _mm512_add_ps(s0, _mm512_maskz_loadu_ps(pbx_lanes(0, b1 - i), x + i));
                total += (double)_mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
            }
            a->dst[r] = (float)(total / (double)P);
            continue;
        }
        /* per lane: first max / first NaN of the elements i = lane (mod 16) */
        __mmask16 has = pbx_lanes(0, P);
        __m512 best = _mm512_maskz_loadu_ps(has, x);
        __m512i bpos = lanes_iota();
        for (int64_t i = VL; i < P; i += VL) {
            __mmask16 vm = pbx_lanes(0, P - i);
            __m512 v = _mm512_maskz_loadu_ps(vm, x + i);
            __mmask16 m = vm & pbx_take(v, best);
            best = _mm512_mask_mov_ps(best, m, v);
            bpos = _mm512_mask_mov_epi32(bpos, m, _mm512_add_epi32(lanes_iota(), _mm512_set1_epi32((int)i)));
        }
        /* across lanes: NaN first, then the larger value, ties to the
         * smaller position */
        float v[VL];
        int32_t p[VL];
        _mm512_storeu_ps(v, best);
        _mm512_storeu_si512(p, bpos);
        int k = 0;
        for (int j = 1; j < VL; j++) {
            if (!(has & (1u << j))) continue;
            bool jn = v[j] != v[j], kn = v[k] != v[k];
            bool wins = jn ? (!kn || p[j] < p[k])
                           : (!kn && (v[j] > v[k] || (v[j] == v[k] && p[j] < p[k])));
            if (wins) k = j;
        }
        a->dst[r] = v[k];
        if (a->ws) a->ws[r] = p[k];
    }
}

pb_status pbx_nchw_fwd_rows(const pb_desc *d, const pb_args *a, const pbx_geom *g,
                            int64_t begin, int64_t end)
{
    if (d->global) {
        global_fwd(d, a, begin, end);
        return PB_OK;
    }
    bool mx = d->alg == PB_ALG_MAX, train = mx && a->ws;
    /* constant arguments: each combination compiles to its own loop */
    if (d->sw == 1) {
        if (!mx) return fwd_rows_impl(d, a, g, begin, end, false, false, 1);
        return train ? fwd_rows_impl(d, a, g, begin, end, true, true, 1)
                     : fwd_rows_impl(d, a, g, begin, end, true, false, 1);
    }
    if (!mx) return fwd_rows_impl(d, a, g, begin, end, false, false, 2);
    return train ? fwd_rows_impl(d, a, g, begin, end, true, true, 2)
                 : fwd_rows_impl(d, a, g, begin, end, true, false, 2);
}

/* ---- backward ---- */

/* Max backward of one plane by scatter: the exact fallback when some
 * argmax lies outside its window (the reference adds it wherever it
 * points inside the plane). */
static pb_status bwd_plane_scatter(const pb_desc *d, const float *gd, const int32_t *ws, float *ds)
{
    const int64_t P = d->ih * d->iw, Q = d->oh * d->ow;
    memset(ds, 0, (size_t)P * sizeof *ds);
    for (int64_t o = 0; o < Q; o++) {
        if (ws[o] < 0 || ws[o] >= P) return PB_ERR_UNSUPPORTED;
        ds[ws[o]] += gd[o];
    }
    return PB_OK;
}

INLINE pb_status bwd_impl(const pb_desc *d, const pb_args *a, const pbx_geom *geo, int64_t begin,
                          int64_t end, bool is_max, int64_t sw)
{
    nchw g = {d->ih, d->iw, d->oh, d->ow, pbx_round_up(d->ow, VL), d->kw, sw, d->pl};
    const int64_t ntap = is_max ? g.kw : 1;
    const int64_t padb = pbx_round_up(g.kw + 48, VL), blen = padb + g.OWP + padb;
    /* per-tap gradient rows, zero outside [0, OWP): the spread reads there */
    float *bufs = calloc((size_t)(ntap * blen), sizeof(float));
    if (!bufs) return PB_ERR_NOMEM;
    const __m512i lane_sw = _mm512_mullo_epi32(lanes_iota(), _mm512_set1_epi32((int)sw));
    const __m512i one = _mm512_set1_epi32(1);
    /* stride 2 spread: column w0 + k takes output (w0 + k + q) / 2 when
     * w0 + k + q is even (q = pl - tx); r = q mod 2 picks the lanes */
    const __m512i sidx[2] = {
        _mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7),
        _mm512_setr_epi32(0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8)};
    const __mmask16 smask[2] = {0x5555, 0xAAAA};
    pb_status st = PB_OK;
    const int64_t P = g.IH * g.IW, Q = g.OH * g.OW;

    for (int64_t p = begin; p < end && st == PB_OK; p++) {
        const float *gd = a->diff_dst + p * Q;
        const int32_t *wsp = is_max ? a->ws + p * Q : NULL;
        float *ds = a->diff_src + p * P;
        int64_t matched = 0;
        for (int64_t h = 0; h < g.IH; h++) {
            __m512i cnt = _mm512_setzero_si512(); /* per row: int32 lanes cannot overflow */
            float *drow = ds + h * g.IW;
            int64_t c0 = geo->y.clo[h], c1 = geo->y.chi[h];
            if (c0 == c1) {
                for (int64_t w0 = 0; w0 < g.IW; w0 += VL)
                    _mm512_mask_storeu_ps(drow + w0, pbx_lanes(0, g.IW - w0), _mm512_setzero_ps());
                continue;
            }
            for (int64_t oh = c0; oh < c1; oh++) {
                const bool first = oh == c0;
                const __m512 ry = _mm512_set1_ps(geo->y.r[oh]);
                for (int64_t ow0 = 0; ow0 < g.OW; ow0 += VL) {
                    __mmask16 lm = pbx_lanes(0, g.OW - ow0);
                    __m512 gv = _mm512_maskz_loadu_ps(lm, gd + oh * g.OW + ow0);
                    if (!is_max) {
                        float *b = bufs + padb + ow0;
                        __m512 sc = _mm512_mul_ps(ry, _mm512_loadu_ps(geo->x.r + ow0));
                        _mm512_storeu_ps(b, first ? _mm512_mul_ps(gv, sc)
                                                  : _mm512_fmadd_ps(gv, sc, _mm512_loadu_ps(b)));
                        continue;
                    }
                    __m512i wv = _mm512_maskz_loadu_epi32(lm, wsp + oh * g.OW + ow0);
                    int64_t off0 = ow0 * sw - g.pl;
                    __m512i base = _mm512_add_epi32(_mm512_set1_epi32((int)(h * g.IW + off0)), lane_sw);
                    bool interior = ow0 + VL <= g.OW && off0 >= 0 && off0 + (VL - 1) * sw + g.kw - 1 < g.IW;
                    __m512i local = _mm512_setzero_si512();
                    for (int64_t tx = 0; tx < g.kw; tx++) {
                        __mmask16 tm = interior ? (__mmask16)0xFFFF : tap_valid(off0 + tx, sw, g.IW, g.OW - ow0);
                        __mmask16 m = _mm512_mask_cmpeq_epi32_mask(
                            tm, wv, _mm512_add_epi32(base, _mm512_set1_epi32((int)tx)));
                        float *b = bufs + tx * blen + padb + ow0;
                        _mm512_storeu_ps(b, first ? _mm512_maskz_mov_ps(m, gv)
                                                  : _mm512_mask_add_ps(_mm512_loadu_ps(b), m,
                                                                       _mm512_loadu_ps(b), gv));
                        local = _mm512_mask_add_epi32(local, m, local, one);
                    }
                    cnt = _mm512_add_epi32(cnt, local);
                }
            }
            /* spread: diff[w] = sum over taps tx of buf_tx[ow], ow*sw - pl + tx = w */
            for (int64_t w0 = 0; w0 < g.IW; w0 += VL) {
                __m512 acc = _mm512_setzero_ps();
                for (int64_t tx = 0; tx < g.kw; tx++) {
                    const float *b = bufs + (is_max ? tx * blen : 0) + padb;
                    int64_t q = g.pl - tx;
                    if (sw == 1) {
                        acc = _mm512_add_ps(acc, _mm512_loadu_ps(b + w0 + q));
                    } else {
                        int r = (int)(q & 1);
                        __m512 src = _mm512_loadu_ps(b + w0 / 2 + pbx_floor_div(q, 2));
                        acc = _mm512_add_ps(acc, _mm512_maskz_permutexvar_ps(smask[r], sidx[r], src));
                    }
                }
                _mm512_mask_storeu_ps(drow + w0, pbx_lanes(0, g.IW - w0), acc);
            }
            if (is_max) matched += _mm512_reduce_add_epi32(cnt);
        }
        /* each output's argmax matched exactly one tap of its window, unless
         * the workspace points elsewhere: then redo the plane by scatter */
        if (is_max && matched != Q) st = bwd_plane_scatter(d, gd, wsp, ds);
    }
    free(bufs);
    return st;
}

static pb_status global_bwd(const pb_desc *d, const pb_args *a, int64_t begin, int64_t end)
{
    const int64_t P = d->ih * d->iw;
    for (int64_t p = begin; p < end; p++) {
        float *ds = a->diff_src + p * P;
        float gv = a->diff_dst[p];
        /* the reference's one share, rounded once */
        float fill = d->alg == PB_ALG_MAX ? 0.0f : (float)((double)gv / (double)P);
        __m512 f = _mm512_set1_ps(fill);
        for (int64_t i = 0; i < P; i += VL) _mm512_mask_storeu_ps(ds + i, pbx_lanes(0, P - i), f);
        if (d->alg == PB_ALG_MAX) {
            int32_t pos = a->ws[p];
            if (pos < 0 || pos >= P) return PB_ERR_UNSUPPORTED;
            ds[pos] = gv;
        }
    }
    return PB_OK;
}

pb_status pbx_nchw_bwd_slices(const pb_desc *d, const pb_args *a, const pbx_geom *g,
                              int64_t begin, int64_t end)
{
    if (d->global) return global_bwd(d, a, begin, end);
    bool mx = d->alg == PB_ALG_MAX;
    if (d->sw == 1)
        return mx ? bwd_impl(d, a, g, begin, end, true, 1) : bwd_impl(d, a, g, begin, end, false, 1);
    return mx ? bwd_impl(d, a, g, begin, end, true, 2) : bwd_impl(d, a, g, begin, end, false, 2);
}
