/* The reference implementation: plain loops over the outputs in the
 * layout's memory order ((n, c, oh, ow) or (n, oh, ow, c)) and the window
 * taps, both layouts, all algorithms and directions.  It is the
 * oracle every other implementation is verified against, so it favours
 * clarity and accuracy: averages and gradients accumulate in double and are
 * rounded to float once.  Padding and divisor rules come from
 * pb_axis_window_at() / pb_divisor() and nowhere else. */
#include "pool.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

/* One output of max pooling: the first maximum in row-major tap order,
 * padding excluded, a NaN wins (the first one) and stops the scan. */
static float max_window(const pb_desc *d, const float *src, int64_t n, int64_t c, int64_t oh,
                        int64_t ow, int32_t *argmax)
{
    pb_axis_window y = pb_axis_window_at(oh, d->ih, d->kh, d->sh, d->pt, d->pb, d->dh);
    pb_axis_window x = pb_axis_window_at(ow, d->iw, d->kw, d->sw, d->pl, d->pr, d->dw);
    float best = 0.0f;
    int64_t best_pos = -1;
    for (int64_t ty = y.t_lo; ty < y.t_hi; ty++) {
        int64_t h = y.start + ty * d->dh;
        for (int64_t tx = x.t_lo; tx < x.t_hi; tx++) {
            int64_t w = x.start + tx * d->dw;
            float v = src[pb_offset(d->layout, d->c, d->ih, d->iw, n, c, h, w)];
            /* first tap seeds the max, so an all -inf window yields -inf at
             * the first in-input position */
            if (best_pos < 0 || isnan(v) || v > best) {
                best = v;
                best_pos = h * d->iw + w;
                if (isnan(v)) goto done;
            }
        }
    }
done:
    if (argmax) *argmax = (int32_t)best_pos;
    return best;
}

static float avg_window(const pb_desc *d, const float *src, int64_t n, int64_t c, int64_t oh,
                        int64_t ow)
{
    pb_axis_window y = pb_axis_window_at(oh, d->ih, d->kh, d->sh, d->pt, d->pb, d->dh);
    pb_axis_window x = pb_axis_window_at(ow, d->iw, d->kw, d->sw, d->pl, d->pr, d->dw);
    double sum = 0.0;
    for (int64_t ty = y.t_lo; ty < y.t_hi; ty++)
        for (int64_t tx = x.t_lo; tx < x.t_hi; tx++)
            sum += src[pb_offset(d->layout, d->c, d->ih, d->iw, n, c, y.start + ty * d->dh,
                                 x.start + tx * d->dw)];
    return (float)(sum / (double)pb_divisor(d, oh, ow));
}

static void fwd_one(const pb_desc *d, const pb_args *a, int64_t n, int64_t c, int64_t oh,
                    int64_t ow)
{
    int64_t o = pb_offset(d->layout, d->c, d->oh, d->ow, n, c, oh, ow);
    if (d->alg == PB_ALG_MAX)
        a->dst[o] = max_window(d, a->src, n, c, oh, ow, a->ws ? &a->ws[o] : NULL);
    else
        a->dst[o] = avg_window(d, a->src, n, c, oh, ow);
}

/* Loops in the layout's memory order (channels innermost for NHWC): every
 * output is computed alone, so the order changes no value, but a
 * channel-outer walk of NHWC reads each cache line once per channel, which
 * on the sweep's 1 GiB problems took seconds per call. */
static pb_status naive_fwd(const pb_desc *d, const pb_args *a, void *state)
{
    (void)state;
    if (!d || !a || !a->src || !a->dst) return PB_ERR_NULL;
    bool nhwc = d->layout == PB_LAYOUT_NHWC;
    for (int64_t n = 0; n < d->n; n++) {
        if (!nhwc) {
            for (int64_t c = 0; c < d->c; c++)
                for (int64_t oh = 0; oh < d->oh; oh++)
                    for (int64_t ow = 0; ow < d->ow; ow++) fwd_one(d, a, n, c, oh, ow);
        } else {
            for (int64_t oh = 0; oh < d->oh; oh++)
                for (int64_t ow = 0; ow < d->ow; ow++)
                    for (int64_t c = 0; c < d->c; c++) fwd_one(d, a, n, c, oh, ow);
        }
    }
    return PB_OK;
}

/* Adds output (n, c, oh, ow)'s gradient into acc, where input position
 * pos of channel c is acc[pos * stride + cofs].  False on a workspace
 * entry outside the plane. */
static bool bwd_one(const pb_desc *d, const pb_args *a, double *acc, int64_t stride, int64_t cofs,
                    int64_t n, int64_t c, int64_t oh, int64_t ow)
{
    int64_t o = pb_offset(d->layout, d->c, d->oh, d->ow, n, c, oh, ow);
    double g = a->diff_dst[o];
    if (d->alg == PB_ALG_MAX) {
        int32_t pos = a->ws[o];
        if (pos < 0 || pos >= d->ih * d->iw) return false;
        acc[pos * stride + cofs] += g;
        return true;
    }
    pb_axis_window y = pb_axis_window_at(oh, d->ih, d->kh, d->sh, d->pt, d->pb, d->dh);
    pb_axis_window x = pb_axis_window_at(ow, d->iw, d->kw, d->sw, d->pl, d->pr, d->dw);
    double share = g / (double)pb_divisor(d, oh, ow);
    for (int64_t ty = y.t_lo; ty < y.t_hi; ty++)
        for (int64_t tx = x.t_lo; tx < x.t_hi; tx++)
            acc[((y.start + ty * d->dh) * d->iw + x.start + tx * d->dw) * stride + cofs] += share;
    return true;
}

/* Backward into a double accumulator, rounded to float once; every
 * diff_src element is written.  NCHW: one (n, c) plane at a time; NHWC:
 * one image at a time, channels innermost (memory order, as forward).
 * Each input's contributions arrive in ascending (oh, ow) order in both,
 * so the two layouts round identically. */
static pb_status naive_bwd(const pb_desc *d, const pb_args *a, void *state)
{
    (void)state;
    if (!d || !a || !a->diff_dst || !a->diff_src) return PB_ERR_NULL;
    if (d->alg == PB_ALG_MAX && !a->ws) return PB_ERR_NULL;
    bool nhwc = d->layout == PB_LAYOUT_NHWC;
    int64_t plane = d->ih * d->iw, acc_elems = nhwc ? plane * d->c : plane;
    double *acc = malloc((size_t)acc_elems * sizeof *acc);
    if (!acc) return PB_ERR_NOMEM;
    bool ok = true;
    for (int64_t n = 0; n < d->n && ok; n++) {
        if (!nhwc) {
            for (int64_t c = 0; c < d->c && ok; c++) {
                for (int64_t i = 0; i < plane; i++) acc[i] = 0.0;
                for (int64_t oh = 0; oh < d->oh && ok; oh++)
                    for (int64_t ow = 0; ow < d->ow && ok; ow++)
                        ok = bwd_one(d, a, acc, 1, 0, n, c, oh, ow);
                float *ds = a->diff_src + (n * d->c + c) * plane;
                for (int64_t i = 0; i < plane; i++) ds[i] = (float)acc[i];
            }
        } else {
            for (int64_t i = 0; i < acc_elems; i++) acc[i] = 0.0;
            for (int64_t oh = 0; oh < d->oh && ok; oh++)
                for (int64_t ow = 0; ow < d->ow; ow++)
                    for (int64_t c = 0; c < d->c && ok; c++)
                        ok = bwd_one(d, a, acc, d->c, c, n, c, oh, ow);
            float *ds = a->diff_src + n * acc_elems;
            for (int64_t i = 0; i < acc_elems; i++) ds[i] = (float)acc[i];
        }
    }
    free(acc);
    return ok ? PB_OK : PB_ERR_UNSUPPORTED; /* a corrupt workspace */
}

const pb_impl pb_impl_naive = {
    .name = "naive",
    .summary = "reference: plain loops, double accumulation",
    .isa = PB_ISA_BASELINE,
    .algs = PB_ALL_ALGS,
    .layouts = PB_ALL_LAYOUTS,
    .dirs = PB_ALL_DIRS,
    .priority = 0,
    .is_reference = true,
    .fwd = naive_fwd,
    .bwd = naive_bwd,
};
