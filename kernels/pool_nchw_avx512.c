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

#define VL PB_AVX512_VL
#define INLINE static inline __attribute__((always_inline))

/* Row geometry of one call, by value in the hot loops. */
typedef struct nchw {
    int64_t IH, IW, OH, OW, OWP, kw, sw, pl;
} nchw;

/* Tap vector: row[off + sw*i] for lanes i, all inside the row. */
INLINE __m512 tap_full(const float *row, int64_t off, int64_t sw)
{
    if (sw == 1) return _mm512_loadu_ps(row + off);
    return pb_avx512_even_of(_mm512_loadu_ps(row + off), _mm512_loadu_ps(row + off + VL));
}

/* Same near the row's ends: elements outside [0, iw) read as 0 and are
 * never accessed. */
INLINE __m512 tap_masked(const float *row, int64_t off, int64_t sw, int64_t iw)
{
    __m512 a = _mm512_maskz_loadu_ps(pb_avx512_lanes(-off, iw - off), row + off);
    if (sw == 1) return a;
    __m512 b = _mm512_maskz_loadu_ps(pb_avx512_lanes(-off - VL, iw - off - VL), row + off + VL);
    return pb_avx512_even_of(a, b);
}

/* Lanes i < n whose tap off + sw*i lies inside [0, iw). */
INLINE __mmask16 tap_valid(int64_t off, int64_t sw, int64_t iw, int64_t n)
{
    if (sw == 1) return pb_avx512_lanes(-off, iw - off) & pb_avx512_lanes(0, n);
    return pb_avx512_lanes(-pb_avx512_floor_div(off, 2), pb_avx512_floor_div(iw - 1 - off, 2) + 1) &
           pb_avx512_lanes(0, n);
}

/* Whether the 16 outputs from ow0 are all real and every tap of every lane
 * (and every element the unmasked loads touch) lies inside the row. */
INLINE bool chunk_interior(const nchw *g, int64_t ow0)
{
    int64_t off0 = ow0 * g->sw - g->pl;
    int64_t last = off0 + g->kw - 1 + (g->sw == 2 ? 2 * VL - 1 : VL - 1);
    return ow0 + VL <= g->OW && off0 >= 0 && last < g->IW;
}

/* Global pooling of small planes, 16 planes at a time: each plane is
 * reduced lane-wise into one register (lane i: its elements i mod 16, in
 * order), then a transposing tree folds the 16 registers into one whose
 * lane i is plane i: at level L each register holds 2^L planes of
 * 16 / 2^L partials; a pair of registers is split into the first and the
 * second half of every plane's partials (two vpermt2ps) and the halves
 * are combined as (value, position) pairs: NaN first, then the larger
 * value, ties to the smaller position, i.e. row-major order.  (Average
 * takes global_avg_small below.) */
#define GLOBAL_TREE_MAX_PLANE 256

/* Tree indices for level L: first halves (A) and second halves (B). */
static void tree_idx(int L, int32_t *ia, int32_t *ib)
{
    const int g = 16 >> L, h = g / 2, np = 1 << L;
    for (int j = 0; j < 16; j++) {
        int q = j / h, t = j % h, src = q < np ? 0 : 16, qq = q < np ? q : q - np;
        ia[j] = src + qq * g + t;
        ib[j] = src + qq * g + h + t;
    }
}

/* b (value vb, position pb) replaces a where it wins. */
INLINE __mmask16 pair_wins(__m512 va, __m512i pa, __m512 vb, __m512i pb)
{
    const __mmask16 an = _mm512_cmp_ps_mask(va, va, _CMP_UNORD_Q);
    const __mmask16 bn = _mm512_cmp_ps_mask(vb, vb, _CMP_UNORD_Q);
    const __mmask16 lt = _mm512_cmplt_epi32_mask(pb, pa);
    const __mmask16 gt = _mm512_cmp_ps_mask(vb, va, _CMP_GT_OQ);
    const __mmask16 eq = _mm512_cmp_ps_mask(vb, va, _CMP_EQ_OQ);
    return (__mmask16)((bn & (~an | lt)) | gt | (eq & lt));
}

static void global_tree_max(const pb_desc *d, const pb_args *a, int64_t begin, int64_t end)
{
    const int64_t P = d->ih * d->iw;
    __m512i ia[4], ib[4];
    for (int L = 0; L < 4; L++) {
        int32_t x[16], y[16];
        tree_idx(L, x, y);
        ia[L] = _mm512_loadu_si512(x);
        ib[L] = _mm512_loadu_si512(y);
    }
    const int64_t nfull = P / VL * VL; /* elements in full registers */
    const __mmask16 tail = pb_avx512_lanes(0, P - nfull), has = pb_avx512_lanes(0, P);
    for (int64_t p0 = begin; p0 < end; p0 += VL) {
        const int64_t np = end - p0 < VL ? end - p0 : VL;
        __m512 v[VL];
        __m512i ps[VL];
#pragma GCC unroll 16
        for (int64_t k = 0; k < VL; k++) {
            /* missing planes repeat the last one; their lanes are not stored */
            const float *x = a->src + (p0 + (k < np ? k : np - 1)) * P;
            __m512 best = P >= VL ? _mm512_loadu_ps(x) : _mm512_maskz_loadu_ps(has, x);
            __m512i bpos = pb_avx512_iota();
            int64_t i = VL;
            for (; i < nfull; i += VL) {
                const __m512 e = _mm512_loadu_ps(x + i);
                const __mmask16 m = pb_avx512_take(e, best);
                best = _mm512_mask_mov_ps(best, m, e);
                bpos = _mm512_mask_mov_epi32(
                    bpos, m, _mm512_add_epi32(pb_avx512_iota(), _mm512_set1_epi32((int)i)));
            }
            if (i < P) { /* the plane's tail */
                const __m512 e = _mm512_maskz_loadu_ps(tail, x + i);
                const __mmask16 m = tail & pb_avx512_take(e, best);
                best = _mm512_mask_mov_ps(best, m, e);
                bpos = _mm512_mask_mov_epi32(
                    bpos, m, _mm512_add_epi32(pb_avx512_iota(), _mm512_set1_epi32((int)i)));
            }
            if (has != 0xFFFF) {
                /* lanes past a plane under 16 elements repeat lane 0 (a
                 * duplicate never changes the winner) */
                best = _mm512_mask_mov_ps(_mm512_permutexvar_ps(_mm512_setzero_si512(), best), has,
                                          best);
                bpos = _mm512_mask_mov_epi32(_mm512_setzero_si512(), has, bpos);
            }
            v[k] = best;
            ps[k] = bpos;
        }
#pragma GCC unroll 4
        for (int L = 0; L < 4; L++) {
            const int pairs = 8 >> L;
#pragma GCC unroll 8
            for (int k = 0; k < pairs; k++) {
                __m512 x = v[2 * k], y = v[2 * k + 1];
                __m512 va = _mm512_permutex2var_ps(x, ia[L], y),
                       vb = _mm512_permutex2var_ps(x, ib[L], y);
                __m512i pa = _mm512_permutex2var_epi32(ps[2 * k], ia[L], ps[2 * k + 1]);
                __m512i pb = _mm512_permutex2var_epi32(ps[2 * k], ib[L], ps[2 * k + 1]);
                __mmask16 w = pair_wins(va, pa, vb, pb);
                v[k] = _mm512_mask_mov_ps(va, w, vb);
                ps[k] = _mm512_mask_mov_epi32(pa, w, pb);
            }
        }
        const __mmask16 om = pb_avx512_lanes(0, np);
        _mm512_mask_storeu_ps(a->dst + p0, om, v[0]);
        if (a->ws) _mm512_mask_storeu_epi32(a->ws + p0, om, ps[0]);
    }
}

/* Eight 8-lane registers folded into one whose lane k is a[k]'s sum (or
 * maximum), in the same tree whatever the others hold, so a plane's
 * result does not depend on the planes beside it.  A pair step is
 * [a0 op a1, a2 op a3, b0 op b1, b2 op b3] per 128-bit half, the layout
 * of _mm256_hadd_ps. */
INLINE __m256 pair8(__m256 a, __m256 b, bool is_max)
{
    if (!is_max) return _mm256_hadd_ps(a, b);
    return _mm256_max_ps(_mm256_shuffle_ps(a, b, 0x88), _mm256_shuffle_ps(a, b, 0xDD));
}

INLINE __m256 fold8(const __m256 *a, bool is_max)
{
    __m256 t0 = pair8(a[0], a[1], is_max), t1 = pair8(a[2], a[3], is_max);
    __m256 t2 = pair8(a[4], a[5], is_max), t3 = pair8(a[6], a[7], is_max);
    __m256 u0 = pair8(t0, t1, is_max), u1 = pair8(t2, t3, is_max);
    __m256 lo = _mm256_permute2f128_ps(u0, u1, 0x20), hi = _mm256_permute2f128_ps(u0, u1, 0x31);
    return is_max ? _mm256_max_ps(lo, hi) : _mm256_add_ps(lo, hi);
}

/* fold8 of 16 registers: lanes 0-7 from a[0..7], 8-15 from a[8..15]. */
INLINE __m512 fold16(const __m256 *a, bool is_max)
{
    const __m512d lo = _mm512_castpd256_pd512(_mm256_castps_pd(fold8(a, is_max)));
    return _mm512_castpd_ps(_mm512_insertf64x4(lo, _mm256_castps_pd(fold8(a + 8, is_max)), 1));
}

/* Global average of small planes, 16 at a time: each plane summed
 * lane-wise into one register, its halves added, then 8-lane horizontal
 * adds.  Against the permute tree (max needs it for its positions), side
 * by side: 7x7 planes 1.5-1.8x faster, now ahead of the avx2 kernel. */
static void global_avg_small(const pb_desc *d, const pb_args *a, int64_t begin, int64_t end)
{
    const int64_t P = d->ih * d->iw, nfull = P / VL * VL;
    const __mmask16 tail = pb_avx512_lanes(0, P - nfull), has = pb_avx512_lanes(0, P);
    const __m512 div = _mm512_set1_ps((float)P);
    for (int64_t p0 = begin; p0 < end; p0 += VL) {
        const int64_t np = end - p0 < VL ? end - p0 : VL;
        __m256 h[VL];
#pragma GCC unroll 16
        for (int64_t k = 0; k < VL; k++) {
            /* missing planes repeat the last one; their lanes are not stored */
            const float *x = a->src + (p0 + (k < np ? k : np - 1)) * P;
            __m512 s = P >= VL ? _mm512_loadu_ps(x) : _mm512_maskz_loadu_ps(has, x);
            int64_t i = VL;
            for (; i < nfull; i += VL) s = _mm512_add_ps(s, _mm512_loadu_ps(x + i));
            if (i < P) s = _mm512_add_ps(s, _mm512_maskz_loadu_ps(tail, x + i));
            h[k] = _mm256_add_ps(_mm512_castps512_ps256(s), pb_avx512_upper8(s));
        }
        const __m512 sums = fold16(h, false);
        /* the float sum divided once, correctly rounded */
        _mm512_mask_storeu_ps(a->dst + p0, pb_avx512_lanes(0, np), _mm512_div_ps(sums, div));
    }
}

/* Global max inference of small planes, 16 at a time, values only: plain
 * vmaxps in any order (fold16), as global_avg_small sums.  That equals the
 * reference's first maximum bitwise unless a plane holds a NaN (vmaxps
 * drops it) or its maximum is zero (+0 and -0 tie, and the first one
 * wins); a sum of every element beside the max finds the NaNs, and such a
 * group of 16 planes goes through global_tree_max instead. */
static void global_max_inf(const pb_desc *d, const pb_args *a, int64_t begin, int64_t end)
{
    const int64_t P = d->ih * d->iw, nfull = P / VL * VL;
    const __mmask16 tail = pb_avx512_lanes(0, P - nfull), has = pb_avx512_lanes(0, P);
    for (int64_t p0 = begin; p0 < end; p0 += VL) {
        const int64_t np = end - p0 < VL ? end - p0 : VL;
        __m256 h[VL];
        __m512 nan_sum = _mm512_setzero_ps();
#pragma GCC unroll 16
        for (int64_t k = 0; k < VL; k++) {
            /* missing planes repeat the last one; their lanes are not stored */
            const float *x = a->src + (p0 + (k < np ? k : np - 1)) * P;
            __m512 m = P >= VL ? _mm512_loadu_ps(x) : _mm512_maskz_loadu_ps(has, x), s = m;
            int64_t i = VL;
            for (; i < nfull; i += VL) {
                const __m512 e = _mm512_loadu_ps(x + i);
                m = _mm512_max_ps(m, e);
                s = _mm512_add_ps(s, e);
            }
            if (i < P) {
                const __m512 e = _mm512_maskz_loadu_ps(tail, x + i);
                m = _mm512_mask_max_ps(m, tail, m, e);
                s = _mm512_add_ps(s, e);
            }
            /* lanes past a plane under 16 elements repeat lane 0 (their
             * zeros would be a zero maximum: correct, via the tree, but slow) */
            if (has != 0xFFFF)
                m = _mm512_mask_mov_ps(_mm512_permutexvar_ps(_mm512_setzero_si512(), m), has, m);
            h[k] = _mm256_max_ps(_mm512_castps512_ps256(m), pb_avx512_upper8(m));
            nan_sum = _mm512_add_ps(nan_sum, s);
        }
        const __m512 best = fold16(h, true);
        const __mmask16 om = pb_avx512_lanes(0, np);
        if (_mm512_cmp_ps_mask(nan_sum, nan_sum, _CMP_UNORD_Q) ||
            _mm512_mask_cmp_ps_mask(om, best, _mm512_setzero_ps(), _CMP_EQ_OQ))
            global_tree_max(d, a, p0, p0 + np);
        else
            _mm512_mask_storeu_ps(a->dst + p0, om, best);
    }
}

/* Global pooling: one output per plane, the plane read as one flat run
 * (its flat offset is the argmax h*W + w). */
static void global_fwd(const pb_desc *d, const pb_args *a, int64_t begin, int64_t end)
{
    const int64_t P = d->ih * d->iw;
    if (P <= GLOBAL_TREE_MAX_PLANE) {
        if (d->alg != PB_ALG_MAX) global_avg_small(d, a, begin, end);
        else if (a->ws) global_tree_max(d, a, begin, end);
        else global_max_inf(d, a, begin, end);
        return;
    }
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
                for (; i < b1; i += VL)
                    s0 =
                        _mm512_add_ps(s0, _mm512_maskz_loadu_ps(pb_avx512_lanes(0, b1 - i), x + i));
                total += (double)_mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
            }
            a->dst[r] = (float)(total / (double)P);
            continue;
        }
        /* per lane: first max / first NaN of the elements i = lane (mod 16) */
        __mmask16 has = pb_avx512_lanes(0, P);
        __m512 best = _mm512_maskz_loadu_ps(has, x);
        __m512i bpos = pb_avx512_iota();
        for (int64_t i = VL; i < P; i += VL) {
            __mmask16 vm = pb_avx512_lanes(0, P - i);
            __m512 v = _mm512_maskz_loadu_ps(vm, x + i);
            __mmask16 m = vm & pb_avx512_take(v, best);
            best = _mm512_mask_mov_ps(best, m, v);
            const __m512i at = _mm512_add_epi32(pb_avx512_iota(), _mm512_set1_epi32((int)i));
            bpos = _mm512_mask_mov_epi32(bpos, m, at);
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
            bool wins =
                jn ? (!kn || p[j] < p[k]) : (!kn && (v[j] > v[k] || (v[j] == v[k] && p[j] < p[k])));
            if (wins) k = j;
        }
        a->dst[r] = v[k];
        if (a->ws) a->ws[r] = p[k];
    }
}

/* ---- forward ---- */

/* Per-call forward plan: chunk masks and the row ring.  Specialized
 * kernels read taps through masked loads whose masked-off lanes hold the
 * fill (-inf for max, 0 for avg): padding then needs no lane logic.  A -inf
 * pad tap can only win where the window's in-row taps are all -inf and it
 * comes first in scan order (left padding); its position is then clamped
 * to column 0, which is exactly the first in-input tap the reference
 * reports.  A pad after the row's end never wins a strict compare.
 *
 * Max runs a fast scan (vmaxps, or one compare for training) that is exact
 * unless a NaN is among the inputs; every loaded input row is checked for
 * NaN once, and an output row whose window rows hold one is redone with
 * the exact scan (pb_avx512_take). */
typedef struct fplan {
    nchw g;
    int kind;                 /* 2: stride-2 kernel, 1: stride-1 kernel, 0: any */
    int64_t kh, nch;          /* window rows, 16-output chunks per row */
    int nload;                /* load masks per chunk (specialized kernels) */
    __mmask16 *lmask;         /* [nch * nload] */
    __mmask16 *omask;         /* [nch] real output lanes */
    bool *full;               /* [nch] every tap of the chunk's real outputs lies in
                               the row: plain loads (what they read past the row
                               only feeds lanes that are not stored) */
    int64_t *rd_end;          /* [nch] end of what the plain loads read, from the
                               row start (the tensor's last rows mask instead) */
    const float *src_end;     /* one past the source tensor */
    float *rval;              /* ring: kh slots of nch*16 horizontal results */
    int32_t *rpos;            /* and their plane positions (training) */
    bool *rnan;               /* [kh] a NaN was in the slot's input row */
    int64_t tail_col;         /* first column the chunk NaN checks miss */
    __mmask16 tail_mask;      /* the columns from there a tap can reach */
    int64_t full_lo, full_hi; /* output rows whose window is all inside */
    int64_t pf_rows;          /* software prefetch this many input rows ahead, 0 none */
} fplan;

#define NEG_INF_PS _mm512_set1_ps(-__builtin_inff())

INLINE __m512i as_i(__m512 v) { return _mm512_castps_si512(v); }
INLINE __m512 as_f(__m512i v) { return _mm512_castsi512_ps(v); }

/* A tap load: plain where the chunk lies inside the row (masked loads are
 * slower on Zen), masked with the fill at the row's ends. */
INLINE __m512 ld(bool full, __mmask16 m, __m512 fill, const float *p)
{
    return full ? _mm512_loadu_ps(p) : _mm512_mask_loadu_ps(fill, m, p);
}

/* One max scan step, v after best in scan order.  Exact: pb_avx512_take.  Fast,
 * valid only when no NaN is among the inputs: v > best, which is what
 * vmaxps(v, best) computes (it keeps best on ties, -0/+0 included). */
INLINE void step(__m512 v, __m512i vp, __m512 *best, __m512i *bpos, bool train, bool fast)
{
    if (fast && !train) {
        *best = _mm512_max_ps(v, *best);
        return;
    }
    __mmask16 m = fast ? _mm512_cmp_ps_mask(v, *best, _CMP_GT_OQ) : pb_avx512_take(v, *best);
    *best = _mm512_mask_mov_ps(*best, m, v);
    if (train) *bpos = _mm512_mask_mov_epi32(*bpos, m, vp);
}

/* Plane position of the winning tap, column col of row h; at the row's
 * ends clamped into it (a -inf pad tap stands for the first in-row tap). */
INLINE __m512i tap_pos(const fplan *P, __m512i col, int64_t h, bool full)
{
    if (!full)
        col = _mm512_min_epi32(_mm512_max_epi32(col, _mm512_setzero_si512()),
                               _mm512_set1_epi32((int)(P->g.IW - 1)));
    return _mm512_add_epi32(col, _mm512_set1_epi32((int)(h * P->g.IW)));
}

/* Horizontal window of chunk j of input row `row` (row index h), stride 2,
 * KW taps starting PL columns left of 2*ow: taps are the even/odd
 * deinterleave of two loads, shifted one lane with a neighbour load where
 * the tap offset is -1 or 2 (so -1 <= tx - PL <= 2).  With `fast`, *nan
 * gets the NaN lanes of the two loads (columns 32j .. 32j+31). */
INLINE void hchunk_s2(const fplan *P, const float *row, int64_t j, int64_t h, const int KW,
                      const int PL, bool is_max, bool train, bool full, bool fast, __m512 *val,
                      __m512i *pos, __mmask16 *nan)
{
    const __mmask16 *m = P->lmask + j * 4;
    const __m512 fill = is_max ? NEG_INF_PS : _mm512_setzero_ps();
    const float *p = row + 2 * VL * j;
    __m512 A = ld(full, m[1], fill, p), B = ld(full, m[2], fill, p + VL);
    __m512 E = pb_avx512_even_of(A, B), O = pb_avx512_odd_of(A, B);
    __m512 T[4] = {E, O, E, O}; /* every used entry is set below */
#pragma GCC unroll 4
    for (int tx = 0; tx < KW; tx++) {
        const int dd = tx - PL;
        if (dd == -1)
            T[tx] = as_f(_mm512_alignr_epi32(as_i(O), as_i(ld(full, m[0], fill, p - VL)), 15));
        else if (dd == 0)
            T[tx] = E;
        else if (dd == 1)
            T[tx] = O;
        else
            T[tx] = as_f(_mm512_alignr_epi32(as_i(ld(full, m[3], fill, p + 2 * VL)), as_i(E), 1));
    }
    if (is_max && fast) *nan = _mm512_cmp_ps_mask(A, B, _CMP_UNORD_Q);
    __m512 best = T[0];
    __m512i btx = _mm512_setzero_si512();
#pragma GCC unroll 4
    for (int tx = 1; tx < KW; tx++) {
        if (is_max)
            step(T[tx], _mm512_set1_epi32(tx), &best, &btx, train, fast);
        else
            best = _mm512_add_ps(best, T[tx]);
    }
    *val = best;
    if (train) {
        const __m512i lane2 =
            _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        *pos = tap_pos(P,
                       _mm512_add_epi32(
                           _mm512_add_epi32(_mm512_set1_epi32((int)(2 * VL * j - PL)), lane2), btx),
                       h, full);
    }
}

/* Stride 1: tap tx is the load at column 16*j + tx - PL (KW is 2 or 3);
 * *nan gets the NaN lanes of columns 16j .. 16j+15. */
INLINE void hchunk_s1(const fplan *P, const float *row, int64_t j, int64_t h, const int KW,
                      const int PL, bool is_max, bool train, bool full, bool fast, __m512 *val,
                      __m512i *pos, __mmask16 *nan)
{
    const __mmask16 *m = P->lmask + j * KW;
    const __m512 fill = is_max ? NEG_INF_PS : _mm512_setzero_ps();
    const float *p = row + VL * j - PL;
    __m512 T[3];
#pragma GCC unroll 4
    for (int tx = 0; tx < KW; tx++) T[tx] = ld(full, m[tx], fill, p + tx);
    if (is_max && fast) *nan = _mm512_cmp_ps_mask(T[PL], T[PL], _CMP_UNORD_Q);
    __m512 best = T[0];
    __m512i btx = _mm512_setzero_si512();
#pragma GCC unroll 4
    for (int tx = 1; tx < KW; tx++) {
        if (is_max)
            step(T[tx], _mm512_set1_epi32(tx), &best, &btx, train, fast);
        else
            best = _mm512_add_ps(best, T[tx]);
    }
    *val = best;
    if (train) {
        const __m512i col =
            _mm512_add_epi32(_mm512_set1_epi32((int)(VL * j - PL)), pb_avx512_iota());
        *pos = tap_pos(P, _mm512_add_epi32(col, btx), h, full);
    }
}

/* Any kw and pl, stride 1 or 2: per-tap loads with lane-validity masks at
 * the row's ends (each lane seeds with its first in-input tap); exact. */
INLINE void hchunk_any(const fplan *P, const float *row, int64_t j, int64_t h, bool is_max,
                       bool train, const int64_t sw, __m512 *val, __m512i *pos)
{
    const nchw *g = &P->g;
    const int64_t ow0 = VL * j, off0 = ow0 * sw - g->pl;
    __m512 best;
    __m512i btx = _mm512_setzero_si512();
    if (!is_max) {
        best = _mm512_setzero_ps();
        for (int64_t tx = 0; tx < g->kw; tx++)
            best = _mm512_add_ps(best, tap_masked(row, off0 + tx, sw, g->IW));
        *val = best;
        return;
    }
    if (chunk_interior(g, ow0)) {
        best = tap_full(row, off0, sw);
        for (int64_t tx = 1; tx < g->kw; tx++)
            step(tap_full(row, off0 + tx, sw), _mm512_set1_epi32((int)tx), &best, &btx, train,
                 false);
    } else {
        __mmask16 has = 0;
        best = _mm512_setzero_ps();
        for (int64_t tx = 0; tx < g->kw; tx++) {
            __mmask16 vm = tap_valid(off0 + tx, sw, g->IW, g->OW - ow0);
            if (!vm) continue;
            __m512 v = tap_masked(row, off0 + tx, sw, g->IW);
            __mmask16 m = vm & (__mmask16)(~has | pb_avx512_take(v, best));
            best = _mm512_mask_mov_ps(best, m, v);
            if (train) btx = _mm512_mask_mov_epi32(btx, m, _mm512_set1_epi32((int)tx));
            has |= vm;
        }
    }
    *val = best;
    if (train) {
        const __m512i lane_sw = _mm512_mullo_epi32(pb_avx512_iota(), _mm512_set1_epi32((int)sw));
        __m512i p = _mm512_add_epi32(_mm512_set1_epi32((int)(h * g->IW + off0)), lane_sw);
        *pos = _mm512_add_epi32(p, btx);
    }
}

/* Horizontal chunk by kernel kind (see fwd_main). */
INLINE void hchunk(const fplan *P, const float *row, int64_t j, int64_t h, const int KIND,
                   const int KW, const int PL, bool is_max, bool train, bool fast, __m512 *v,
                   __m512i *vp, __mmask16 *nan)
{
    const bool plain = P->full[j] && row + P->rd_end[j] <= P->src_end;
    if (KIND == 2 && plain)
        hchunk_s2(P, row, j, h, KW, PL, is_max, train, true, fast, v, vp, nan);
    else if (KIND == 2)
        hchunk_s2(P, row, j, h, KW, PL, is_max, train, false, fast, v, vp, nan);
    else if (KIND == 1 && plain)
        hchunk_s1(P, row, j, h, KW, PL, is_max, train, true, fast, v, vp, nan);
    else if (KIND == 1)
        hchunk_s1(P, row, j, h, KW, PL, is_max, train, false, fast, v, vp, nan);
    else
        hchunk_any(P, row, j, h, is_max, train, P->g.sw, v, vp);
}

/* NaN lanes among the columns of `row` a tap reaches past the last chunk's
 * check (at most kw - 1 columns). */
INLINE __mmask16 tail_nan(const fplan *P, const float *row)
{
    if (!P->tail_mask) return 0;
    __m512 t = _mm512_maskz_loadu_ps(P->tail_mask, row + P->tail_col);
    return _mm512_cmp_ps_mask(t, t, _CMP_UNORD_Q);
}

/* Output row r (window rows [y0, y1) of `plane`) by the exact scan from
 * the source: the redo of a fast row that had a NaN among its inputs. */
INLINE void exact_row(const fplan *P, const float *plane, int64_t y0, int64_t y1, float *out,
                      int32_t *wso, const int KIND, const int KW, const int PL, bool train)
{
    for (int64_t j = 0; j < P->nch; j++) {
        __m512 best = _mm512_setzero_ps(), v;
        __m512i bpos = _mm512_setzero_si512(), vp = bpos;
        __mmask16 nm;
        for (int64_t h = y0; h < y1; h++) {
            hchunk(P, plane + h * P->g.IW, j, h, KIND, KW, PL, true, train, false, &v, &vp, &nm);
            if (h == y0) {
                best = v;
                bpos = vp;
            } else {
                step(v, vp, &best, &bpos, train, false);
            }
        }
        _mm512_mask_storeu_ps(out + VL * j, P->omask[j], best);
        if (train) _mm512_mask_storeu_epi32(wso + VL * j, P->omask[j], bpos);
    }
}

/* Steady state of the common windows (KH x KW, stride SH down): output
 * rows [oh0, oh1), each a full window whose first KH - SH rows are in the
 * ring; the other SH rows are computed from the source (rowA if SH == 2,
 * then rowB) and rowB's result is kept in its slot when KH > SH.  The row
 * pattern is known at compile time, so every pointer stays in a register. */
INLINE void steady_run(const fplan *P, const pb_avx512_geom *geo, const pb_args *a, int64_t r0,
                       int64_t r1, const int KIND, const int KW, const int PL, const int KH,
                       const int SH, bool is_max, bool train)
{
    const int64_t IW = P->g.IW, OW = P->g.OW, nch = P->nch, W16 = nch * VL, kh = KH;
    const bool fast = is_max && KIND != 0;
    int64_t oh = r0 % P->g.OH;
    const float *plane = a->src + r0 / P->g.OH * P->g.IH * IW;
    int64_t y0 = geo->y.lo[oh];
    int64_t s0 = y0 % kh;                           /* ring slot of row y0 */
    const __m512 ry = _mm512_set1_ps(geo->y.r[oh]); /* a full window: the same for all */
    for (int64_t r = r0; r < r1; r++) {
        const int64_t s1 = s0 + 1 == kh ? 0 : s0 + 1, sk = (s0 + KH - 1) % kh;
        const float *l0v = P->rval + s0 * W16, *l1v = P->rval + s1 * W16;
        const int32_t *l0p = P->rpos + s0 * W16, *l1p = P->rpos + s1 * W16;
        float *kv = P->rval + sk * W16;
        int32_t *kp = P->rpos + sk * W16;
        const int64_t hA = y0 + KH - 2, hB = y0 + KH - 1;
        const float *rowA = plane + hA * IW, *rowB = plane + hB * IW;
        float *out = a->dst + r * OW;
        int32_t *wso = train ? a->ws + r * OW : NULL;
        bool nan_in = fast && ((KH - SH >= 1 && P->rnan[s0]) || (KH - SH >= 2 && P->rnan[s1]));
        __mmask16 nanA = 0, nanB = 0;
        for (int64_t j = 0; j < nch; j++) {
            __m512 best = _mm512_setzero_ps(), v;
            __m512i bpos = _mm512_setzero_si512(), vp = bpos;
            __mmask16 nm = 0;
            const int64_t at = VL * j;
            if (KH - SH >= 1) {
                best = _mm512_loadu_ps(l0v + at);
                if (train) bpos = _mm512_loadu_si512(l0p + at);
            }
            if (KH - SH >= 2) {
                v = _mm512_loadu_ps(l1v + at);
                if (train) vp = _mm512_loadu_si512(l1p + at);
                if (is_max)
                    step(v, vp, &best, &bpos, train, fast);
                else
                    best = _mm512_add_ps(best, v);
            }
            if (P->pf_rows) {
                /* the lines of this chunk pf_rows input rows down: two
                 * per row at stride 2 (32 columns), one at stride 1 */
                const char *pb = (const char *)(rowB + P->pf_rows * IW + (SH == 2 ? 2 : 1) * at);
                _mm_prefetch(pb, _MM_HINT_T0);
                if (SH == 2) {
                    const char *pa = (const char *)(rowA + P->pf_rows * IW + 2 * at);
                    _mm_prefetch(pb + 64, _MM_HINT_T0);
                    _mm_prefetch(pa, _MM_HINT_T0);
                    _mm_prefetch(pa + 64, _MM_HINT_T0);
                }
            }
            if (SH == 2) {
                hchunk(P, rowA, j, hA, KIND, KW, PL, is_max, train, fast, &v, &vp, &nm);
                nanA |= nm;
                if (KH - SH == 0) {
                    best = v;
                    bpos = vp;
                } else if (is_max) {
                    step(v, vp, &best, &bpos, train, fast);
                } else {
                    best = _mm512_add_ps(best, v);
                }
            }
            hchunk(P, rowB, j, hB, KIND, KW, PL, is_max, train, fast, &v, &vp, &nm);
            nanB |= nm;
            if (KH > SH) {
                _mm512_storeu_ps(kv + at, v);
                if (train) _mm512_storeu_si512(kp + at, vp);
            }
            if (is_max)
                step(v, vp, &best, &bpos, train, fast);
            else
                best = _mm512_add_ps(best, v);
            if (!is_max)
                best = _mm512_mul_ps(best, _mm512_mul_ps(ry, _mm512_loadu_ps(geo->x.r + at)));
            _mm512_mask_storeu_ps(out + at, P->omask[j], best);
            if (train) _mm512_mask_storeu_epi32(wso + at, P->omask[j], bpos);
        }
        if (fast) {
            nanB |= tail_nan(P, rowB);
            if (SH == 2) nanA |= tail_nan(P, rowA);
            if (KH > SH) P->rnan[sk] = nanB != 0;
            if (nan_in || nanA || nanB)
                exact_row(P, plane, y0, y0 + KH, out, wso, KIND, KW, PL, train);
        }
        s0 += SH;
        if (s0 >= kh) s0 -= kh;
        y0 += SH;
        if (++oh == P->g.OH) { /* only without ring rows: the next plane */
            oh = 0;
            plane += P->g.IH * IW;
            y0 = geo->y.lo[0];
            s0 = y0 % kh;
        }
    }
}

/* Any output row: window rows [y0, y0 + nl) come from the ring, the others
 * are computed, and those the next output row reuses (from row nk on) are
 * kept in their slots. */
INLINE void generic_row(const fplan *P, const pb_avx512_geom *geo, const pb_args *a,
                        const float *plane, int64_t r, int64_t oh, int64_t nl, int64_t nk,
                        const int KIND, const int KW, const int PL, bool is_max, bool train)
{
    const int64_t IW = P->g.IW, nch = P->nch, W16 = nch * VL, kh = P->kh;
    const int64_t y0 = geo->y.lo[oh], y1 = geo->y.hi[oh], nr = y1 - y0;
    const bool fast = is_max && KIND != 0;
    int64_t slot[PB_AVX512_MAX_WINDOW];
    __mmask16 nanrow[PB_AVX512_MAX_WINDOW];
    bool nan_in = false;
    for (int64_t k = 0; k < nr; k++) {
        slot[k] = (y0 + k) % kh * W16;
        nanrow[k] = 0;
        if (k < nl) nan_in = nan_in || P->rnan[(y0 + k) % kh];
    }
    float *out = a->dst + r * P->g.OW;
    int32_t *wso = train ? a->ws + r * P->g.OW : NULL;
    for (int64_t j = 0; j < nch; j++) {
        __m512 best = _mm512_setzero_ps(), v;
        __m512i bpos = _mm512_setzero_si512(), vp = bpos;
        __mmask16 nm = 0;
        for (int64_t k = 0; k < nr; k++) {
            const int64_t at = slot[k] + VL * j;
            if (k < nl) {
                v = _mm512_loadu_ps(P->rval + at);
                if (train) vp = _mm512_loadu_si512(P->rpos + at);
            } else {
                hchunk(P, plane + (y0 + k) * IW, j, y0 + k, KIND, KW, PL, is_max, train, fast, &v,
                       &vp, &nm);
                nanrow[k] |= nm;
                if (k >= nk) {
                    _mm512_storeu_ps(P->rval + at, v);
                    if (train) _mm512_storeu_si512(P->rpos + at, vp);
                }
            }
            if (k == 0) {
                best = v;
                bpos = vp;
            } else if (is_max) {
                step(v, vp, &best, &bpos, train, fast);
            } else {
                best = _mm512_add_ps(best, v);
            }
        }
        if (!is_max)
            best = _mm512_mul_ps(best, _mm512_mul_ps(_mm512_set1_ps(geo->y.r[oh]),
                                                     _mm512_loadu_ps(geo->x.r + VL * j)));
        _mm512_mask_storeu_ps(out + VL * j, P->omask[j], best);
        if (train) _mm512_mask_storeu_epi32(wso + VL * j, P->omask[j], bpos);
    }
    if (!fast) return;
    for (int64_t k = nl; k < nr; k++) {
        nanrow[k] |= tail_nan(P, plane + (y0 + k) * IW);
        nan_in = nan_in || nanrow[k];
        if (k >= nk) P->rnan[(y0 + k) % kh] = nanrow[k] != 0;
    }
    if (nan_in) exact_row(P, plane, y0, y1, out, wso, KIND, KW, PL, train);
}

/* The forward over output rows [begin, end).  KIND selects the horizontal
 * kernel: 2 = hchunk_s2<KW, PL>, 1 = hchunk_s1<KW, PL>, 0 = hchunk_any.
 * With KH, SH > 0, runs of full windows after a slice's first row take
 * steady_run; the rest (borders, slice starts) take generic_row. */
INLINE void fwd_main(const pb_args *a, const pb_avx512_geom *geo, const fplan *P, int64_t begin,
                     int64_t end, const int KIND, const int KW, const int PL, const int KH,
                     const int SH, bool is_max, bool train)
{
    const nchw *g = &P->g;
    if (KH > 0 && KH == SH && P->full_lo == 0 && P->full_hi == g->OH) {
        /* every window full and none shares a row: one run over all planes */
        steady_run(P, geo, a, begin, end, KIND, KW, PL, KH, SH, is_max, train);
        return;
    }
    for (int64_t r = begin; r < end;) {
        const int64_t p = r / g->OH, first = r % g->OH;
        const int64_t stop = first + (end - r) < g->OH ? first + (end - r) : g->OH;
        const float *plane = a->src + p * g->IH * g->IW;
        for (int64_t oh = first; oh < stop;) {
            const int64_t rr = r + (oh - first);
            if (KH > 0 && (oh > first || KH == SH) && oh >= P->full_lo && oh < P->full_hi) {
                int64_t oh1 = stop < P->full_hi ? stop : P->full_hi;
                steady_run(P, geo, a, rr, rr + (oh1 - oh), KIND, KW, PL, KH, SH, is_max, train);
                oh = oh1;
                continue;
            }
            /* ring rows: this row's window overlaps the previous one's */
            const int64_t y0 = geo->y.lo[oh], y1 = geo->y.hi[oh];
            const int64_t c_hi = oh > first ? geo->y.hi[oh - 1] : y0;
            const int64_t nl = c_hi > y0 ? c_hi - y0 : 0;
            const int64_t nk = oh + 1 < stop ? geo->y.lo[oh + 1] - y0 : y1 - y0;
            generic_row(P, geo, a, plane, rr, oh, nl, nk, KIND, KW, PL, is_max, train);
            oh++;
        }
        r += stop - first;
    }
}

/* One instantiation per (kernel, algorithm): constant arguments fold. */
#define FWD4(KIND, KW, PL, KH, SH)                                                \
    do {                                                                          \
        if (!mx)                                                                  \
            fwd_main(a, geo, &P, begin, end, KIND, KW, PL, KH, SH, false, false); \
        else if (train)                                                           \
            fwd_main(a, geo, &P, begin, end, KIND, KW, PL, KH, SH, true, true);   \
        else                                                                      \
            fwd_main(a, geo, &P, begin, end, KIND, KW, PL, KH, SH, true, false);  \
    } while (0)
/* the steady-state row pattern of the common square windows */
#define FWD3(KIND, KW, PL)                                     \
    do {                                                       \
        if (d->kh == KW && d->sh == 2 && (KW == 2 || KW == 3)) \
            FWD4(KIND, KW, PL, KW, 2);                         \
        else if (d->kh == KW && d->sh == 1 && KW == 3)         \
            FWD4(KIND, KW, PL, KW, 1);                         \
        else                                                   \
            FWD4(KIND, KW, PL, 0, 0);                          \
    } while (0)

pb_status pb_avx512_nchw_fwd_rows(const pb_desc *d, const pb_args *a, const pb_avx512_geom *geo,
                                  int64_t begin, int64_t end)
{
    if (d->global || pb_avx512_whole_plane(d)) {
        global_fwd(d, a, begin, end);
        return PB_OK;
    }
    const bool mx = d->alg == PB_ALG_MAX, train = mx && a->ws;
    fplan P = {
        .g = {d->ih, d->iw, d->oh, d->ow, pb_avx512_round_up(d->ow, VL), d->kw, d->sw, d->pl},
        .kh = d->kh,
        .nch = (d->ow + VL - 1) / VL};
    const int64_t kw = d->kw, pl = d->pl, sw = d->sw;
    /* specialized kernels: stride 2 with tap offsets in [-1, 2], stride 1
     * with windows of 2 or 3; anything else takes hchunk_any */
    int kind = 0;
    if (sw == 2 && pl <= 1 && kw - 1 - pl <= 2 && kw >= 2)
        kind = 2;
    else if (sw == 1 && (kw == 2 || kw == 3))
        kind = 1;
    P.kind = kind;
    /* rows from 128 columns wide outrun the hardware prefetcher (two rows
     * read side by side per output row, each one to a few KiB); prefetching
     * the chunk's lines 4 rows ahead (8 from 320 columns), side by side
     * against none, 2 rounds, 2x2/2 max: 112 wide even (0.96-1.02x), 160
     * and 192 1.55x, 224x224x64 1.45x, 448 1.8-2.0x, 224x224x64 mb4 (51
     * MB, from DRAM) 2.0x; 3x3/2 224 wide 1.3x */
    P.pf_rows = d->iw >= 128 ? (d->iw >= 320 ? 8 : 4) : 0;
    P.nload = kind == 2 ? 4 : kind == 1 ? (int)kw : 0;
    size_t ring = (size_t)(P.kh * P.nch * VL);
    size_t nmask = (size_t)(P.nch * (P.nload + 1));
    char *mem = malloc(ring * (sizeof(float) + sizeof(int32_t)) + (size_t)P.nch * sizeof(int64_t) +
                       nmask * sizeof(__mmask16) + (size_t)(P.nch + P.kh));
    if (!mem) return PB_ERR_NOMEM;
    P.rval = (float *)mem;
    P.rpos = (int32_t *)(P.rval + ring);
    P.rd_end = (int64_t *)(P.rpos + ring);
    P.omask = (__mmask16 *)(P.rd_end + P.nch);
    P.src_end = a->src + d->src_elems;
    P.lmask = P.omask + P.nch;
    P.full = (bool *)(P.lmask + P.nch * P.nload);
    P.rnan = P.full + P.nch;
    memset(P.rnan, 0, (size_t)P.kh);
    for (int64_t j = 0; j < P.nch; j++) {
        P.omask[j] = pb_avx512_lanes(0, d->ow - VL * j);
        for (int k = 0; k < P.nload; k++) {
            int64_t e = kind == 2 ? 2 * VL * j + (k - 1) * VL : VL * j + k - pl;
            P.lmask[j * P.nload + k] = pb_avx512_lanes(-e, d->iw - e);
        }
        /* every tap of the chunk's real outputs inside the row */
        const int64_t nvalid = d->ow - VL * j < VL ? d->ow - VL * j : VL;
        const int64_t minc = VL * j * sw - pl, maxc = (VL * j + nvalid - 1) * sw - pl + kw - 1;
        P.full[j] = kind != 0 && minc >= 0 && maxc <= d->iw - 1;
        P.rd_end[j] = kind == 2 ? 2 * VL * j + (kw - 1 - pl >= 2 ? 3 * VL : 2 * VL)
                                : VL * j + (kw - 1 - pl) + VL;
    }
    /* the chunk checks cover columns [0, tail_col); taps reach up to the
     * last output's last tap */
    P.tail_col = kind == 2 ? 2 * VL * P.nch : VL * P.nch;
    int64_t last = (d->ow - 1) * sw - pl + kw - 1;
    if (last > d->iw - 1) last = d->iw - 1;
    P.tail_mask = kind ? pb_avx512_lanes(0, last + 1 - P.tail_col) : 0;
    /* full windows: oh*sh - pt >= 0 and oh*sh - pt + kh <= ih */
    P.full_lo = (d->pt + d->sh - 1) / d->sh;
    P.full_hi = pb_avx512_floor_div(d->ih - d->kh + d->pt, d->sh) + 1;
    if (P.full_hi > d->oh) P.full_hi = d->oh;
    if (kind == 2) {
        if (kw == 2 && pl == 0)
            FWD3(2, 2, 0);
        else if (kw == 2)
            FWD3(2, 2, 1);
        else if (kw == 3 && pl == 0)
            FWD3(2, 3, 0);
        else if (kw == 3)
            FWD3(2, 3, 1);
        else
            FWD3(2, 4, 1);
    } else if (kind == 1) {
        if (kw == 2 && pl == 0)
            FWD3(1, 2, 0);
        else if (kw == 2)
            FWD3(1, 2, 1);
        else if (pl == 0)
            FWD3(1, 3, 0);
        else
            FWD3(1, 3, 1);
    } else {
        FWD3(0, 0, 0);
    }
    free(mem);
    return PB_OK;
}

/* ---- backward ---- */

/* Backward plan.  Input-centric: chunk j of an input row is 16 columns
 * (stride 1) or 16 column pairs, 32 columns (stride 2).  Tap tx, offset
 * e = tx - pl, sends output ow to column ow*sw + e; for stride 2 that is
 * the pair ow + q, parity r (e = 2q + r), for stride 1 column ow + e.  So
 * a chunk reads each covering output row at offset -q (or -e) per tap:
 * max adds g where the argmax equals the column's own position, avg adds
 * g / divisor.  Each diff_src row is written once, no zeroing pass. */
typedef struct bplan {
    nchw g;
    int64_t nch; /* chunks per input row */
    int64_t kw, pl;
    __mmask16 *lmask; /* [nch * kw] outputs of tap tx's load that exist */
    __mmask16 *cmask; /* [nch * kw] and whose column is inside the row */
    __mmask16 *smask; /* [nch * 2] columns of the chunk's stores */
    bool *full;       /* [nch] every mask full */
} bplan;

INLINE __m512 ldz(bool full, __mmask16 m, const float *p)
{
    return full ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(m, p);
}

INLINE __m512i ldzi(bool full, __mmask16 m, const int32_t *p)
{
    return full ? _mm512_loadu_si512(p) : _mm512_maskz_loadu_epi32(m, p);
}

/* Stores chunk j of a row from its even (acc0) and odd (acc1, stride 2)
 * columns. */
INLINE void bwd_store(const bplan *B, float *drow, int64_t j, __m512 acc0, __m512 acc1,
                      const int SW, bool full, bool stream)
{
    const int64_t c_0 = SW == 2 ? 2 * VL * j : VL * j;
    /* streaming stores only for full chunks of aligned rows; full chunks
     * store unmasked, which ran 1.1-1.2x faster than an all-ones mask */
    const bool nt = stream && full;
    if (SW == 1) {
        if (nt)
            _mm512_stream_ps(drow + c_0, acc0);
        else if (full)
            _mm512_storeu_ps(drow + c_0, acc0);
        else
            _mm512_mask_storeu_ps(drow + c_0, B->smask[2 * j], acc0);
        return;
    }
    /* interleave even (acc0) and odd (acc1) columns */
    const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i hi =
        _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    const __m512 even = _mm512_permutex2var_ps(acc0, lo, acc1);
    const __m512 odd = _mm512_permutex2var_ps(acc0, hi, acc1);
    if (nt) {
        _mm512_stream_ps(drow + c_0, even);
        _mm512_stream_ps(drow + c_0 + VL, odd);
    } else if (full) {
        _mm512_storeu_ps(drow + c_0, even);
        _mm512_storeu_ps(drow + c_0 + VL, odd);
    } else {
        _mm512_mask_storeu_ps(drow + c_0, B->smask[2 * j], even);
        _mm512_mask_storeu_ps(drow + c_0 + VL, B->smask[2 * j + 1], odd);
    }
}

/* Row pairs: rows h and h + 1 in one pass over the output rows [c0, c1)
 * covering either, so each gradient and argmax is loaded once for both. */
enum {
    PAIR_NONE,   /* row h alone, covered by [c0, c1) */
    PAIR_SAME,   /* both covered by [c0, c1): avg values shared too (2x2/2) */
    PAIR_GROWS,  /* h by c0 only, h + 1 by c0 and c0 + 1 (3x3/2, top padding 1) */
    PAIR_SHRINKS /* h by c0 and c0 + 1, h + 1 by c0 + 1 only (3x3/2, top padding 0) */
};

/* Max, one tap of one row: adds gv where the argmax wv is the row's own
 * column pos (valid lanes), to its even (acc0) or odd (acc1, r) columns,
 * and counts the matches in n. */
INLINE void max_tap(__m512i wv, __m512 gv, __mmask16 valid, __m512i pos, bool r, __m512 *acc0,
                    __m512 *acc1, __m512i *n)
{
    const __mmask16 m = _mm512_mask_cmpeq_epi32_mask(valid, wv, pos);
    if (r)
        *acc1 = _mm512_mask_add_ps(*acc1, m, *acc1, gv);
    else
        *acc0 = _mm512_mask_add_ps(*acc0, m, *acc0, gv);
    *n = _mm512_mask_add_epi32(*n, m, *n, _mm512_set1_epi32(1));
}

/* Chunk j of input row h (and h + 1, PAIR): the sum over its covering
 * output rows. */
INLINE void bwd_chunk(const bplan *B, const pb_avx512_geom *geo, const float *gd,
                      const int32_t *wsp, float *drow, int64_t h, int64_t j, int64_t c0, int64_t c1,
                      const int SW, const int KW, const int PL, bool is_max, bool full,
                      bool stream, __m512i *cnt, const int NR, const int PAIR)
{
    const int64_t OW = B->g.OW, IW = B->g.IW;
    const int64_t kw = KW ? KW : B->kw, pl = KW ? PL : B->pl;
    const __mmask16 *lm = B->lmask + j * kw, *cm = B->cmask + j * kw;
    const int64_t c_0 = SW == 2 ? 2 * VL * j : VL * j; /* first column */
    const __m512i lane2 =
        _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i pos0 = _mm512_add_epi32(_mm512_set1_epi32((int)(h * IW + c_0)),
                                          SW == 2 ? lane2 : pb_avx512_iota());
    const __m512i pos1 = _mm512_add_epi32(pos0, _mm512_set1_epi32(1));
    const __m512i pos0b = _mm512_add_epi32(pos0, _mm512_set1_epi32((int)IW));
    const __m512i pos1b = _mm512_add_epi32(pos1, _mm512_set1_epi32((int)IW));
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    __m512 acc0b = _mm512_setzero_ps(), acc1b = _mm512_setzero_ps();
    __m512i n = _mm512_setzero_si512();
    const int64_t nr = NR ? NR : c1 - c0;
#pragma GCC unroll 3
    for (int64_t i = 0; i < nr; i++) {
        const int64_t oh = c0 + i;
        /* whether output row oh covers row h (A) and row h + 1 (B) */
        const bool in_a = PAIR != PAIR_GROWS || i == 0;
        const bool in_b = PAIR != PAIR_NONE && (PAIR != PAIR_SHRINKS || i == 1);
        const float *grow = gd + oh * OW;
        const int32_t *wrow = is_max ? wsp + oh * OW : NULL;
        const __m512 ry = _mm512_set1_ps(geo->y.r[oh]);
#pragma GCC unroll 4
        for (int64_t tx = 0; tx < kw; tx++) {
            const int64_t e = tx - pl;
            const int64_t r = SW == 2 ? (e & 1) : 0, q = SW == 2 ? (e - r) / 2 : e;
            const int64_t o0 = VL * j - q; /* first output of this tap's load */
            __m512 gv = ldz(full, lm[tx], grow + o0);
            if (is_max) {
                __m512i wv = ldzi(full, lm[tx], wrow + o0);
                const __mmask16 valid = full ? (__mmask16)0xFFFF : cm[tx];
                if (in_a) max_tap(wv, gv, valid, r ? pos1 : pos0, r, &acc0, &acc1, &n);
                if (in_b) max_tap(wv, gv, valid, r ? pos1b : pos0b, r, &acc0b, &acc1b, &n);
            } else {
                __m512 sc = _mm512_mul_ps(ry, ldz(full, lm[tx], geo->x.r + o0));
                if (in_a && r)
                    acc1 = _mm512_fmadd_ps(gv, sc, acc1);
                else if (in_a)
                    acc0 = _mm512_fmadd_ps(gv, sc, acc0);
                if (in_b && PAIR != PAIR_SAME && r)
                    acc1b = _mm512_fmadd_ps(gv, sc, acc1b);
                else if (in_b && PAIR != PAIR_SAME)
                    acc0b = _mm512_fmadd_ps(gv, sc, acc0b);
            }
        }
    }
    if (is_max) *cnt = _mm512_add_epi32(*cnt, n);
    bwd_store(B, drow, j, acc0, acc1, SW, full, stream);
    if (PAIR == PAIR_SAME && !is_max)
        bwd_store(B, drow + IW, j, acc0, acc1, SW, full, stream);
    else if (PAIR != PAIR_NONE)
        bwd_store(B, drow + IW, j, acc0b, acc1b, SW, full, stream);
}

/* Input row h (and h + 1 unless PAIR_NONE), output rows [c0, c1) covering
 * either: NR of them when not 0. */
INLINE void bwd_row(const bplan *B, const pb_avx512_geom *geo, const float *gd,
                    const int32_t *wsp, float *drow, int64_t h, int64_t c0, int64_t c1,
                    const int SW, const int KW, const int PL, bool is_max, bool stream,
                    __m512i *cnt, const int NR, const int PAIR)
{
    for (int64_t j = 0; j < B->nch; j++) {
        if (B->full[j])
            bwd_chunk(B, geo, gd, wsp, drow, h, j, c0, c1, SW, KW, PL, is_max, true, stream, cnt,
                      NR, PAIR);
        else
            bwd_chunk(B, geo, gd, wsp, drow, h, j, c0, c1, SW, KW, PL, is_max, false, false, cnt,
                      NR, PAIR);
    }
}

INLINE pb_status bwd_main(const pb_desc *d, const pb_args *a, const pb_avx512_geom *geo,
                          const bplan *B, int64_t begin, int64_t end, const int SW, const int KW,
                          const int PL, bool is_max)
{
    const int64_t IH = B->g.IH, IW = B->g.IW, P = IH * IW, Q = B->g.OH * B->g.OW;
    const bool stream = pb_avx512_stream_ok(d, a, IW);
    for (int64_t p = begin; p < end; p++) {
        const float *gd = a->diff_dst + p * Q;
        const int32_t *wsp = is_max ? a->ws + p * Q : NULL;
        float *ds = a->diff_src + p * P;
        /* one count per plane: reducing it once per row cost ~15% on
         * 112-wide rows.  An output matches at most one tap, and the 8 GiB
         * diff_dst limit keeps Q <= 2^31, so the lane sum, taken modulo
         * 2^32 by the reduction, is exact as a uint32 */
        __m512i cnt = _mm512_setzero_si512();
        for (int64_t h = 0; h < IH; h++) {
            float *drow = ds + h * IW;
            const int64_t c0 = geo->y.clo[h], c1 = geo->y.chi[h];
            if (c0 == c1) { /* no window covers the row */
                for (int64_t w0 = 0; w0 < IW; w0 += VL)
                    _mm512_mask_storeu_ps(drow + w0, pb_avx512_lanes(0, IW - w0),
                                          _mm512_setzero_ps());
                continue;
            }
            /* the common cover counts unrolled: the chunk's loop over its
             * 1-3 output rows cost more than its arithmetic.  Rows h and
             * h + 1 go together where their covers are the same (2x2/2)
             * or share one output row (3x3/2, see PAIR_*). */
            const int64_t n0 = h + 1 < IH ? geo->y.clo[h + 1] : 0;
            const int64_t n1 = h + 1 < IH ? geo->y.chi[h + 1] : 0;
            if (KW && c1 - c0 == 1 && n0 == c0 && n1 == c1) {
                bwd_row(B, geo, gd, wsp, drow, h, c0, c1, SW, KW, PL, is_max, stream, &cnt, 1,
                        PAIR_SAME);
                h++;
            } else if (KW == 3 && SW == 2 && c1 - c0 == 1 && n0 == c0 && n1 == c0 + 2) {
                bwd_row(B, geo, gd, wsp, drow, h, c0, n1, SW, KW, PL, is_max, stream, &cnt, 2,
                        PAIR_GROWS);
                h++;
            } else if (KW == 3 && SW == 2 && c1 - c0 == 2 && n0 == c0 + 1 && n1 == c1) {
                bwd_row(B, geo, gd, wsp, drow, h, c0, c1, SW, KW, PL, is_max, stream, &cnt, 2,
                        PAIR_SHRINKS);
                h++;
            } else if (KW && c1 - c0 == 1)
                bwd_row(B, geo, gd, wsp, drow, h, c0, c1, SW, KW, PL, is_max, stream, &cnt, 1,
                        PAIR_NONE);
            else if (KW && c1 - c0 == 2)
                bwd_row(B, geo, gd, wsp, drow, h, c0, c1, SW, KW, PL, is_max, stream, &cnt, 2,
                        PAIR_NONE);
            else if (KW == 3 && SW == 1 && c1 - c0 == 3)
                bwd_row(B, geo, gd, wsp, drow, h, c0, c1, SW, KW, PL, is_max, stream, &cnt, 3,
                        PAIR_NONE);
            else
                bwd_row(B, geo, gd, wsp, drow, h, c0, c1, SW, KW, PL, is_max, stream, &cnt, 0,
                        PAIR_NONE);
        }
        const int64_t matched = is_max ? (uint32_t)_mm512_reduce_add_epi32(cnt) : 0;
        /* each output's argmax matched exactly one tap of its window, unless
         * the workspace points elsewhere: then redo the plane by scatter */
        if (is_max && matched != Q) {
            pb_status st = pb_max_bwd_scatter(d, gd, wsp, ds, 1);
            if (st != PB_OK) return st;
        }
    }
    _mm_sfence(); /* streaming stores visible to other threads before return */
    return PB_OK;
}

static pb_status global_bwd(const pb_desc *d, const pb_args *a, int64_t begin, int64_t end)
{
    const int64_t P = d->ih * d->iw;
    for (int64_t p = begin; p < end; p++) {
        float *ds = a->diff_src + p * P;
        float gv = a->diff_dst[p];
        /* the reference's one share, rounded once, added to 0 as the
         * reference's accumulator does (a -0 gradient gives +0) */
        float fill = d->alg == PB_ALG_MAX ? 0.0f : 0.0f + (float)((double)gv / (double)P);
        __m512 f = _mm512_set1_ps(fill);
        int64_t i = 0;
        for (; i + VL <= P; i += VL) _mm512_storeu_ps(ds + i, f);
        if (i < P) _mm512_mask_storeu_ps(ds + i, pb_avx512_lanes(0, P - i), f);
        if (d->alg == PB_ALG_MAX) {
            int32_t pos = a->ws[p];
            if (pos < 0 || pos >= P) return PB_ERR_UNSUPPORTED;
            ds[pos] = 0.0f + gv;
        }
    }
    return PB_OK;
}

#define BWD2(SW, KW, PL)                                      \
    (mx ? bwd_main(d, a, g, &B, begin, end, SW, KW, PL, true) \
        : bwd_main(d, a, g, &B, begin, end, SW, KW, PL, false))

pb_status pb_avx512_nchw_bwd_slices(const pb_desc *d, const pb_args *a, const pb_avx512_geom *g,
                                    int64_t begin, int64_t end)
{
    if (d->global || pb_avx512_whole_plane(d)) return global_bwd(d, a, begin, end);
    const bool mx = d->alg == PB_ALG_MAX;
    const int64_t sw = d->sw, kw = d->kw, pl = d->pl, IW = d->iw, OW = d->ow;
    bplan B = {.g = {d->ih, d->iw, d->oh, d->ow, pb_avx512_round_up(d->ow, VL), kw, sw, pl},
               .kw = kw,
               .pl = pl};
    B.nch = sw == 2 ? (IW + 2 * VL - 1) / (2 * VL) : (IW + VL - 1) / VL;
    char *mem = malloc((size_t)(B.nch * (2 * kw + 2)) * sizeof(__mmask16) + (size_t)B.nch);
    if (!mem) return PB_ERR_NOMEM;
    B.lmask = (__mmask16 *)mem;
    B.cmask = B.lmask + B.nch * kw;
    B.smask = B.cmask + B.nch * kw;
    B.full = (bool *)(B.smask + 2 * B.nch);
    for (int64_t j = 0; j < B.nch; j++) {
        const int64_t c_0 = sw == 2 ? 2 * VL * j : VL * j;
        bool full = true;
        for (int64_t tx = 0; tx < kw; tx++) {
            const int64_t e = tx - pl, r = sw == 2 ? (e & 1) : 0, q = sw == 2 ? (e - r) / 2 : e;
            const int64_t o0 = VL * j - q;
            /* lanes whose output exists and whose column c_0 + sw*i + r is in the row */
            __mmask16 lm = pb_avx512_lanes(-o0, OW - o0);
            __mmask16 col =
                sw == 2 ? pb_avx512_lanes(0, (IW - c_0 - r + 1) / 2) : pb_avx512_lanes(0, IW - c_0);
            B.lmask[j * kw + tx] = lm;
            B.cmask[j * kw + tx] = lm & col;
            full = full && (lm & col) == 0xFFFF;
        }
        B.smask[2 * j] = pb_avx512_lanes(0, IW - c_0);
        B.smask[2 * j + 1] = pb_avx512_lanes(0, IW - c_0 - VL);
        B.full[j] = full && B.smask[2 * j] == 0xFFFF && (sw == 1 || B.smask[2 * j + 1] == 0xFFFF);
    }
    pb_status st;
    if (sw == 2 && kw == 2 && pl == 0)
        st = BWD2(2, 2, 0);
    else if (sw == 2 && kw == 3 && pl == 0)
        st = BWD2(2, 3, 0);
    else if (sw == 2 && kw == 3 && pl == 1)
        st = BWD2(2, 3, 1);
    else if (sw == 1 && kw == 3 && pl == 1)
        st = BWD2(1, 3, 1);
    else if (sw == 2)
        st = BWD2(2, 0, 0);
    else
        st = BWD2(1, 0, 0);
    free(mem);
    return st;
}
