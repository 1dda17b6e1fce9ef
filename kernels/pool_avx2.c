/* The `avx2` implementation: registry entry, what it declines, argument
 * checks and the slice entry points; the kernels live in
 * pool_nchw_avx2.c and pool_nhwc_avx2.c.  Built with -mavx2 -mfma, so
 * nothing here runs before pb_impl_accepts() has passed the ISA check
 * (no constructors; the entry is plain data). */
#include "pool_avx2.h"

/* NCHW vectorizes along W with stride 1 or 2 (contiguous or one
 * deinterleave); larger W strides are left to the next implementation.
 * Lane indices are int32: the row plus the window span must fit. */
static bool avx2_supports(const pb_desc *d, pb_dir dir, const char **why)
{
    (void)dir;
    const char *dummy;
    if (!why) why = &dummy;
    if (!d) {
        *why = "null descriptor";
        return false;
    }
    if (d->layout == PB_LAYOUT_NCHW && !pbx_is_global(d) && d->sw > 2) {
        *why = "NCHW with stride along W > 2 is not vectorized";
        return false;
    }
    if (d->iw + (d->kw - 1) * d->dw + 64 > INT32_MAX || d->ih + (d->kh - 1) * d->dh > INT32_MAX) {
        *why = "row plus window span exceeds int32 lane indices";
        return false;
    }
    return true;
}

/* Common checks of the slice entry points: a finalized f32 descriptor this
 * implementation supports, the buffers the direction needs, a slice range
 * inside [0, total). */
static pb_status check(const pb_desc *d, const pb_args *a, bool bwd, int64_t begin, int64_t end,
                       int64_t *total)
{
    if (!d || !a) return PB_ERR_NULL;
    if (d->dtype != PB_DT_F32) return PB_ERR_DTYPE;
    if ((unsigned)d->layout >= PB_LAYOUT_COUNT) return PB_ERR_LAYOUT;
    if ((unsigned)d->alg >= PB_ALG_COUNT) return PB_ERR_ALG;
    if (d->oh < 1 || d->ow < 1 || d->src_elems < 1) return PB_ERR_OUTPUT; /* not finalized */
    if (!avx2_supports(d, bwd ? PB_DIR_BWD : PB_DIR_FWD_INF, NULL)) return PB_ERR_UNSUPPORTED;
    if (bwd) {
        if (!a->diff_dst || !a->diff_src) return PB_ERR_NULL;
        if (d->alg == PB_ALG_MAX && !a->ws) return PB_ERR_NULL;
        *total = pb_bwd_slices(d);
    } else {
        if (!a->src || !a->dst) return PB_ERR_NULL;
        *total = pb_fwd_rows(d);
    }
    if (begin < 0 || end > *total || begin > end) return PB_ERR_SHAPE;
    return PB_OK;
}

/* Forward, output rows [begin, end) of pb_fwd_rows(d) (see pool.h): dst,
 * and for max the argmax into a->ws when it is not NULL. */
static pb_status avx2_fwd_rows(const pb_desc *d, const pb_args *a, void *state, int64_t begin,
                               int64_t end)
{
    (void)state;
    int64_t total;
    pb_status st = check(d, a, false, begin, end, &total);
    if (st != PB_OK || begin == end) return st;
    return d->layout == PB_LAYOUT_NCHW ? pb_avx2_nchw_fwd(d, a, begin, end)
                                       : pb_avx2_nhwc_fwd(d, a, begin, end);
}

/* Backward, input slices [begin, end) of pb_bwd_slices(d): every
 * diff_src element of the slices written.  PB_ERR_UNSUPPORTED for an
 * argmax outside its plane (corrupt workspace), as the reference.  The
 * gather form counts the argmaxes it matches: one outside its window
 * (which no forward produces) sends a whole plane or sample through the
 * exact scatter, or part of an NHWC sample returns PB_ERR_PARTIAL
 * (pool.h). */
static pb_status avx2_bwd_slices(const pb_desc *d, const pb_args *a, void *state, int64_t begin,
                                 int64_t end)
{
    (void)state;
    int64_t total;
    pb_status st = check(d, a, true, begin, end, &total);
    if (st != PB_OK || begin == end) return st;
    return d->layout == PB_LAYOUT_NCHW ? pb_avx2_nchw_bwd(d, a, begin, end)
                                       : pb_avx2_nhwc_bwd(d, a, begin, end);
}

static pb_status avx2_fwd(const pb_desc *d, const pb_args *a, void *state)
{
    if (!d) return PB_ERR_NULL;
    return avx2_fwd_rows(d, a, state, 0, pb_fwd_rows(d));
}

static pb_status avx2_bwd(const pb_desc *d, const pb_args *a, void *state)
{
    if (!d) return PB_ERR_NULL;
    return avx2_bwd_slices(d, a, state, 0, pb_bwd_slices(d));
}

const pb_impl pb_impl_avx2 = {
    .name = "avx2",
    .summary = "AVX2+FMA intrinsics, 8 floats: NCHW along W, NHWC along C",
    .isa = PB_ISA_AVX2,
    .algs = PB_ALL_ALGS,
    .layouts = PB_ALL_LAYOUTS,
    .dirs = PB_ALL_DIRS,
    .priority = 20,
    .supports = avx2_supports,
    .fwd = avx2_fwd,
    .bwd = avx2_bwd,
    .fwd_rows = avx2_fwd_rows,
    .bwd_slices = avx2_bwd_slices,
};
