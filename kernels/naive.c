/* The reference implementation: plain loops over (n, c, oh, ow) and the
 * window taps, both layouts, all algorithms and directions.  It is the
 * oracle every other implementation is verified against, so it favours
 * clarity and accuracy: averages and gradients accumulate in double and are
 * rounded to float once.  Padding and divisor rules come from
 * pb_axis_window_at() / pb_divisor() and nowhere else. */
#include "pool.h"

#include <math.h>
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

static pb_status naive_fwd(const pb_desc *d, const pb_args *a, void *state)
{
    (void)state;
    if (!d || !a || !a->src || !a->dst) return PB_ERR_NULL;
    for (int64_t n = 0; n < d->n; n++)
        for (int64_t c = 0; c < d->c; c++)
            for (int64_t oh = 0; oh < d->oh; oh++)
                for (int64_t ow = 0; ow < d->ow; ow++) {
                    int64_t o = pb_offset(d->layout, d->c, d->oh, d->ow, n, c, oh, ow);
                    if (d->alg == PB_ALG_MAX)
                        a->dst[o] = max_window(d, a->src, n, c, oh, ow, a->ws ? &a->ws[o] : NULL);
                    else
                        a->dst[o] = avg_window(d, a->src, n, c, oh, ow);
                }
    return PB_OK;
}

/* Backward, one (n, c) plane at a time into a double accumulator, rounded
 * to float once; every diff_src element is written. */
static pb_status naive_bwd(const pb_desc *d, const pb_args *a, void *state)
{
    (void)state;
    if (!d || !a || !a->diff_dst || !a->diff_src) return PB_ERR_NULL;
    if (d->alg == PB_ALG_MAX && !a->ws) return PB_ERR_NULL;
    int64_t plane = d->ih * d->iw;
    double *acc = malloc((size_t)plane * sizeof *acc);
    if (!acc) return PB_ERR_NOMEM;
    for (int64_t n = 0; n < d->n; n++)
        for (int64_t c = 0; c < d->c; c++) {
            for (int64_t i = 0; i < plane; i++) acc[i] = 0.0;
            for (int64_t oh = 0; oh < d->oh; oh++)
                for (int64_t ow = 0; ow < d->ow; ow++) {
                    int64_t o = pb_offset(d->layout, d->c, d->oh, d->ow, n, c, oh, ow);
                    double g = a->diff_dst[o];
                    if (d->alg == PB_ALG_MAX) {
                        int32_t pos = a->ws[o];
                        if (pos < 0 || pos >= plane) {
                            free(acc);
                            return PB_ERR_UNSUPPORTED; /* corrupt workspace */
                        }
                        acc[pos] += g;
                        continue;
                    }
                    pb_axis_window y =
                        pb_axis_window_at(oh, d->ih, d->kh, d->sh, d->pt, d->pb, d->dh);
                    pb_axis_window x =
                        pb_axis_window_at(ow, d->iw, d->kw, d->sw, d->pl, d->pr, d->dw);
                    double share = g / (double)pb_divisor(d, oh, ow);
                    for (int64_t ty = y.t_lo; ty < y.t_hi; ty++)
                        for (int64_t tx = x.t_lo; tx < x.t_hi; tx++)
                            acc[(y.start + ty * d->dh) * d->iw + x.start + tx * d->dw] += share;
                }
            for (int64_t h = 0; h < d->ih; h++)
                for (int64_t w = 0; w < d->iw; w++)
                    a->diff_src[pb_offset(d->layout, d->c, d->ih, d->iw, n, c, h, w)] =
                        (float)acc[h * d->iw + w];
        }
    free(acc);
    return PB_OK;
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
