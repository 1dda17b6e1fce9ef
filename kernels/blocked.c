/* The `blocked` implementation: portable C, cache-tiled, written for the
 * compiler's vectorizer (see blocked.h for the loop shapes).  This file has
 * the registry entry, the whole-problem calls (the slice entry points over
 * the full range) and the helpers shared by blocked_fwd.c and
 * blocked_bwd.c. */
#include "blocked.h"

/* A descriptor the kernels can trust: it must re-finalize to itself, so a
 * hand-built or stale one is rejected instead of indexing out of bounds. */
static pb_status check_desc(const pb_desc *d)
{
    if (!d) return PB_ERR_NULL;
    if (d->dtype != PB_DT_F32) return PB_ERR_DTYPE;
    pb_desc f = *d;
    pb_status st = pb_desc_finalize(&f, NULL, 0);
    if (st != PB_OK) return st;
    if (f.oh != d->oh || f.ow != d->ow || f.src_elems != d->src_elems ||
        f.dst_elems != d->dst_elems || f.kh != d->kh || f.kw != d->kw || f.sh != d->sh ||
        f.sw != d->sw)
        return PB_ERR_SHAPE;
    return PB_OK;
}

pb_status pb_bl_check_fwd(const pb_desc *d, const pb_args *a)
{
    pb_status st = check_desc(d);
    if (st != PB_OK) return st;
    if (!a || !a->src || !a->dst) return PB_ERR_NULL;
    return PB_OK;
}

pb_status pb_bl_check_bwd(const pb_desc *d, const pb_args *a)
{
    pb_status st = check_desc(d);
    if (st != PB_OK) return st;
    if (!a || !a->diff_dst || !a->diff_src) return PB_ERR_NULL;
    if (d->alg == PB_ALG_MAX && !a->ws) return PB_ERR_NULL;
    return PB_OK;
}

double pb_bl_sum_f64(const float *restrict s, int64_t n)
{
    double lane[BL_V] = {0};
    int64_t i = 0;
    for (; i + 8 * BL_V <= n; i += 8 * BL_V) {
        float f[BL_V];
        for (int j = 0; j < BL_V; j++) f[j] = s[i + j];
        for (int k = 1; k < 8; k++)
            for (int j = 0; j < BL_V; j++) f[j] += s[i + k * BL_V + j];
        for (int j = 0; j < BL_V; j++) lane[j] += (double)f[j];
    }
    double t = 0.0;
    for (; i < n; i++) t += (double)s[i];
    for (int j = 0; j < BL_V; j++) t += lane[j];
    return t;
}

static pb_status blocked_fwd(const pb_desc *d, const pb_args *a, void *state)
{
    if (!d) return PB_ERR_NULL;
    return pb_blocked_fwd_rows(d, a, state, 0, pb_fwd_rows(d));
}

static pb_status blocked_bwd(const pb_desc *d, const pb_args *a, void *state)
{
    if (!d) return PB_ERR_NULL;
    return pb_blocked_bwd_slices(d, a, state, 0, pb_bwd_slices(d));
}

const pb_impl pb_impl_blocked = {
    .name = "blocked",
    .summary = "portable C, row/channel passes tiled for L1, compiler-vectorized (SSE2)",
    .isa = PB_ISA_BASELINE,
    .algs = PB_ALL_ALGS,
    .layouts = PB_ALL_LAYOUTS,
    .dirs = PB_ALL_DIRS,
    .priority = 10,
    .fwd = blocked_fwd,
    .bwd = blocked_bwd,
    .fwd_rows = pb_blocked_fwd_rows,
    .bwd_slices = pb_blocked_bwd_slices,
};
