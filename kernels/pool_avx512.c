/*
 * The `avx512` implementation: AVX-512 F+BW+VL, 16 floats per register,
 * mask registers for every edge and tail.  This file holds the registry
 * entry, the support rules, argument checks and the per-call geometry; the
 * kernels are in pool_nchw_avx512.c (vectorized along W) and
 * pool_nhwc_avx512.c (vectorized along C).  fwd/bwd are the slice entry
 * points over the full range, so the OpenMP wrapper's slices compute each
 * element exactly as a whole-problem call does.
 */
#include <stdlib.h>

#include "pool_avx512.h"

/* One axis's tables, without a division in any loop: for a 13x13 plane
 * the per-output window and reciprocal and the per-input floor divisions
 * took a quarter of a 0.9 us call (pb_axis_window_at divides only for a
 * dilation above 1, and this implementation's is 1). */
static void axis_init(pb_avx512_axis *ax, char **mem, const pb_desc *d, int64_t in, int64_t out,
                      int64_t k, int64_t s, int64_t plo, int64_t phi)
{
    ax->in = in;
    ax->out = out;
    ax->k = k;
    ax->s = s;
    ax->pad_lo = plo;
    int64_t on = out + PB_AVX512_VL;
    ax->lo = (int32_t *)*mem;
    ax->hi = ax->lo + on;
    ax->r = (float *)(ax->hi + on);
    ax->clo = (int32_t *)(ax->r + on);
    ax->chi = ax->clo + in;
    *mem = (char *)(ax->chi + in);
    int64_t last_count = -1; /* none yet: every count, 0 included, gets 1.0 / count */
    float last_r = 0.0f;
    for (int64_t o = 0; o < on; o++) {
        if (o >= out) {
            ax->lo[o] = ax->hi[o] = 0;
            ax->r[o] = 0.0f;
            continue;
        }
        pb_axis_window w = pb_axis_window_at(o, in, k, s, plo, phi, 1);
        ax->lo[o] = (int32_t)(w.start + w.t_lo);
        ax->hi[o] = (int32_t)(w.start + w.t_hi);
        const int64_t count = d->alg == PB_ALG_AVG_INCL ? w.n_pad : w.t_hi - w.t_lo;
        if (count != last_count) { /* most windows share one count */
            last_count = count;
            last_r = (float)(1.0 / (double)count);
        }
        ax->r[o] = last_r;
    }
    /* o covers i iff o*s - plo <= i < o*s - plo + k, so the covering
     * outputs are [ceil((i + plo - k + 1) / s), floor((i + plo) / s) + 1):
     * both ends kept as quotient and remainder, stepped once per input */
    const int64_t a0 = plo - k + 1; /* numerator of lo at i = 0 */
    int64_t lo_q = pb_avx512_floor_div(a0, s), lo_r = a0 - lo_q * s; /* a = lo_q*s + lo_r */
    int64_t hi_q = plo / s, hi_r = plo % s;                           /* plo >= 0 */
    for (int64_t i = 0; i < in; i++) {
        int64_t lo = lo_q + (lo_r != 0), hi = hi_q + 1;
        if (lo < 0) lo = 0;
        if (hi > out) hi = out;
        if (hi < lo) hi = lo;
        ax->clo[i] = (int32_t)lo;
        ax->chi[i] = (int32_t)hi;
        if (++lo_r == s) lo_r = 0, lo_q++;
        if (++hi_r == s) hi_r = 0, hi_q++;
    }
}

pb_status pb_avx512_geom_init(pb_avx512_geom *g, const pb_desc *d)
{
    /* per axis: lo, hi, r over out + VL entries, clo, chi over in entries */
    size_t bytes = 0;
    bytes += (size_t)(3 * (d->oh + PB_AVX512_VL) + 2 * d->ih) * 4;
    bytes += (size_t)(3 * (d->ow + PB_AVX512_VL) + 2 * d->iw) * 4;
    g->mem = malloc(bytes);
    if (!g->mem) return PB_ERR_NOMEM;
    char *m = g->mem;
    axis_init(&g->y, &m, d, d->ih, d->oh, d->kh, d->sh, d->pt, d->pb);
    axis_init(&g->x, &m, d, d->iw, d->ow, d->kw, d->sw, d->pl, d->pr);
    return PB_OK;
}

void pb_avx512_geom_free(pb_avx512_geom *g)
{
    if (!g) return;
    free(g->mem);
    g->mem = NULL;
}

/* What the kernels accelerate: dilation 1 (the tables assume contiguous
 * windows); in NCHW stride_w 1 or 2 (the even/odd permute covers 2, wider
 * strides would need a gather) and windows up to PB_AVX512_MAX_WINDOW (its row
 * buffers scale with the window), or global pooling.  NHWC takes any
 * window and stride.  Everything else falls back via `best`. */
static bool avx512_supports(const pb_desc *d, pb_dir dir, const char **why)
{
    const char *dummy;
    (void)dir;
    if (!why) why = &dummy;
    if (!d) {
        *why = "null descriptor";
        return false;
    }
    if (d->global || pb_avx512_whole_plane(d)) return true;
    if (d->dh != 1 || d->dw != 1) {
        *why = "dilation > 1 not vectorized";
        return false;
    }
    if (d->layout == PB_LAYOUT_NCHW && d->sw > 2) {
        *why = "NCHW with stride_w > 2 not vectorized";
        return false;
    }
    if (d->layout == PB_LAYOUT_NCHW &&
        (d->kh > PB_AVX512_MAX_WINDOW || d->kw > PB_AVX512_MAX_WINDOW)) {
        *why = "NCHW window larger than 64 not vectorized";
        return false;
    }
    return true;
}

/* Common checks of every entry point: the CPU (defence in depth: the
 * registry checks it first), the descriptor and the buffers. */
static pb_status check_call(const pb_desc *d, const pb_args *a, bool bwd)
{
    if (!pb_cpu_can_run(PB_ISA_AVX512, NULL)) return PB_ERR_ISA;
    if (!d || !a) return PB_ERR_NULL;
    if (d->dtype != PB_DT_F32) return PB_ERR_DTYPE;
    if ((unsigned)d->alg >= PB_ALG_COUNT) return PB_ERR_ALG;
    if ((unsigned)d->layout >= PB_LAYOUT_COUNT) return PB_ERR_LAYOUT;
    if (d->src_elems < 1 || d->dst_elems < 1 || d->oh < 1 || d->ow < 1) return PB_ERR_SHAPE;
    const char *why;
    if (!avx512_supports(d, bwd ? PB_DIR_BWD : PB_DIR_FWD_INF, &why)) return PB_ERR_UNSUPPORTED;
    if (bwd) {
        if (!a->diff_dst || !a->diff_src) return PB_ERR_NULL;
        if (d->alg == PB_ALG_MAX && !a->ws) return PB_ERR_NULL;
    } else if (!a->src || !a->dst) {
        return PB_ERR_NULL;
    }
    return PB_OK;
}

/* Forward over output rows [begin, end) of pb_fwd_rows(d); writes dst and,
 * for max with a->ws set (training), the argmax.  PB_ERR_SHAPE for a range
 * outside [0, pb_fwd_rows(d)]. */
static pb_status avx512_fwd_rows(const pb_desc *d, const pb_args *a, void *state, int64_t begin,
                                 int64_t end)
{
    (void)state;
    pb_status st = check_call(d, a, false);
    if (st != PB_OK) return st;
    if (begin < 0 || end < begin || end > pb_fwd_rows(d)) return PB_ERR_SHAPE;
    if (begin == end) return PB_OK;
    pb_avx512_geom g;
    st = pb_avx512_geom_init(&g, d);
    if (st == PB_OK)
        st = d->layout == PB_LAYOUT_NHWC  ? pb_avx512_nhwc_fwd_rows(d, a, &g, begin, end)
             : pb_avx512_nchw_strips(d, a) ? pb_avx512_nchw_strips_fwd(d, a, &g, begin, end)
             : pb_avx512_nchw_lanes(d)     ? pb_avx512_nchw_lanes_fwd(d, a, &g, begin, end)
                                         : pb_avx512_nchw_fwd_rows(d, a, &g, begin, end);
    pb_avx512_geom_free(&g);
    return st;
}

/* Backward over input slices [begin, end) of pb_bwd_slices(d); writes
 * every diff_src element of those slices.  PB_ERR_UNSUPPORTED if a max
 * argmax names a position outside its plane (as the reference). */
static pb_status avx512_bwd_slices(const pb_desc *d, const pb_args *a, void *state, int64_t begin,
                                   int64_t end)
{
    (void)state;
    pb_status st = check_call(d, a, true);
    if (st != PB_OK) return st;
    if (begin < 0 || end < begin || end > pb_bwd_slices(d)) return PB_ERR_SHAPE;
    if (begin == end) return PB_OK;
    pb_avx512_geom g;
    st = pb_avx512_geom_init(&g, d);
    if (st == PB_OK)
        st = d->layout == PB_LAYOUT_NHWC          ? pb_avx512_nhwc_bwd_slices(d, a, &g, begin, end)
             : pb_avx512_nchw_strips_bwd_ok(d, a) ? pb_avx512_nchw_strips_bwd(d, a, &g, begin, end)
             : pb_avx512_nchw_lanes(d)            ? pb_avx512_nchw_lanes_bwd(d, a, &g, begin, end)
                                         : pb_avx512_nchw_bwd_slices(d, a, &g, begin, end);
    pb_avx512_geom_free(&g);
    return st;
}

static pb_status avx512_fwd(const pb_desc *d, const pb_args *a, void *state)
{
    if (!d) return PB_ERR_NULL;
    return avx512_fwd_rows(d, a, state, 0, pb_fwd_rows(d));
}

static pb_status avx512_bwd(const pb_desc *d, const pb_args *a, void *state)
{
    if (!d) return PB_ERR_NULL;
    return avx512_bwd_slices(d, a, state, 0, pb_bwd_slices(d));
}

const pb_impl pb_impl_avx512 = {
    .name = "avx512",
    .summary = "AVX-512 F+BW+VL, 16 floats: NCHW along W (permute deinterleave), NHWC along C",
    .isa = PB_ISA_AVX512,
    .algs = PB_ALL_ALGS,
    .layouts = PB_ALL_LAYOUTS,
    .dirs = PB_ALL_DIRS,
    .priority = 30,
    .supports = avx512_supports,
    .fwd = avx512_fwd,
    .bwd = avx512_bwd,
    .fwd_rows = avx512_fwd_rows,
    .bwd_slices = avx512_bwd_slices,
};
