/* `blocked` backward: max (scatter through the argmax workspace) and
 * average, NCHW and NHWC, over the disjoint input slices of pool.h.
 *
 * Gradient accumulation is tiled by output rows: diff_src rows are zeroed
 * lazily, just before the first output row whose window reaches them, so
 * the rows an output row accumulates into are the ones just zeroed and
 * still in L1/L2, and every diff_src element is written once from memory's
 * point of view.  Each element receives its contributions in the
 * reference's order (output rows, then columns), so max gradients (exact
 * sums of multiples of 1/8) are bitwise equal to the reference and the
 * result of a slice does not depend on how slices are grouped.
 *
 * NCHW average: per output row, the row's upstream gradients divided by
 * their divisors are spread along W into one row buffer (the columns each
 * input column receives), which is then added, as unit-stride vector
 * passes, to each of the window's input rows.  NHWC average: each output's
 * scaled gradient vector is added to its taps as passes over channels. */
#include "blocked.h"

#include <stdlib.h>

/* Window of output ow along W, without the call for interior windows. */
static pb_axis_window win_w(const pb_desc *d, int64_t ow)
{
    int64_t start = ow * d->sw - d->pl;
    if (start >= 0 && start + (d->kw - 1) * d->dw < d->iw)
        return (pb_axis_window){.start = start, .t_lo = 0, .t_hi = d->kw, .n_pad = d->kw};
    return bl_win_w(d, ow);
}

/* One past the last input row window y taps. */
static int64_t rows_end(const pb_desc *d, pb_axis_window y)
{
    return y.start + (y.t_hi - 1) * d->dh + 1;
}

static pb_status nchw_max_plane(const pb_desc *d, float *P, const float *g, const int32_t *ws)
{
    const int64_t iw = d->iw, ih = d->ih, OW = d->ow, plane = ih * iw;
    int64_t z = 0; /* rows [0, z) are zeroed */
    for (int64_t oh = 0; oh < d->oh; oh++) {
        int64_t he = rows_end(d, bl_win_h(d, oh));
        if (he > z) {
            memset(P + z * iw, 0, (size_t)((he - z) * iw) * sizeof *P);
            z = he;
        }
        int64_t lim = z * iw;
        const float *go = g + oh * OW;
        const int32_t *wo = ws + oh * OW;
        for (int64_t ow = 0; ow < OW; ow++) {
            int32_t p = wo[ow];
            if (p < 0 || p >= lim) {
                /* outside this window's rows: only a workspace that no
                 * forward wrote; accept any in-plane position like the
                 * reference, reject the rest */
                if (p < 0 || p >= plane) return PB_ERR_UNSUPPORTED;
                int64_t e = p / iw + 1;
                memset(P + z * iw, 0, (size_t)((e - z) * iw) * sizeof *P);
                z = e;
                lim = z * iw;
            }
            P[p] += go[ow];
        }
    }
    if (z < ih) memset(P + z * iw, 0, (size_t)((ih - z) * iw) * sizeof *P);
    return PB_OK;
}

static void nchw_avg_plane(const pb_desc *d, float *P, const float *g, float *hb)
{
    const int64_t iw = d->iw, ih = d->ih, OW = d->ow, dw = d->dw, dh = d->dh;
    int64_t z = 0;
    for (int64_t oh = 0; oh < d->oh; oh++) {
        const pb_axis_window y = bl_win_h(d, oh);
        const int64_t dy = bl_div_factor(d, y);
        const float *go = g + oh * OW;
        memset(hb, 0, (size_t)iw * sizeof *hb);
        for (int64_t ow = 0; ow < OW; ow++) {
            pb_axis_window x = win_w(d, ow);
            float gp = (float)((double)go[ow] / (double)(dy * bl_div_factor(d, x)));
            for (int64_t tx = x.t_lo; tx < x.t_hi; tx++) hb[x.start + tx * dw] += gp;
        }
        int64_t he = rows_end(d, y);
        if (he > z) {
            memset(P + z * iw, 0, (size_t)((he - z) * iw) * sizeof *P);
            z = he;
        }
        for (int64_t ty = y.t_lo; ty < y.t_hi; ty++) bl_add_into(P + (y.start + ty * dh) * iw, hb, iw);
    }
    if (z < ih) memset(P + z * iw, 0, (size_t)((ih - z) * iw) * sizeof *P);
}

/* Zeroes channels [c0, c0+nc) of positions [p0, p1) of an NHWC sample. */
static void zero_positions(float *S, int64_t C, int64_t c0, int64_t nc, int64_t p0, int64_t p1)
{
    if (nc == C) {
        memset(S + p0 * C, 0, (size_t)((p1 - p0) * C) * sizeof *S);
        return;
    }
    for (int64_t p = p0; p < p1; p++) memset(S + p * C + c0, 0, (size_t)nc * sizeof *S);
}

static pb_status nhwc_max(const pb_desc *d, float *S, const float *g, const int32_t *ws, int64_t c0,
                          int64_t c1)
{
    const int64_t C = d->c, iw = d->iw, OW = d->ow, plane = d->ih * iw, nc = c1 - c0;
    int64_t z = 0; /* positions [0, z*iw) are zeroed */
    for (int64_t oh = 0; oh < d->oh; oh++) {
        int64_t he = rows_end(d, bl_win_h(d, oh));
        if (he > z) {
            zero_positions(S, C, c0, nc, z * iw, he * iw);
            z = he;
        }
        int64_t lim = z * iw;
        for (int64_t ow = 0; ow < OW; ow++) {
            const float *go = g + (oh * OW + ow) * C;
            const int32_t *wo = ws + (oh * OW + ow) * C;
            for (int64_t c = c0; c < c1; c++) {
                int32_t p = wo[c];
                if (p < 0 || p >= lim) {
                    if (p < 0 || p >= plane) return PB_ERR_UNSUPPORTED;
                    int64_t e = p / iw + 1;
                    zero_positions(S, C, c0, nc, z * iw, e * iw);
                    z = e;
                    lim = z * iw;
                }
                S[p * C + c] += go[c];
            }
        }
    }
    if (z < d->ih) zero_positions(S, C, c0, nc, z * iw, plane);
    return PB_OK;
}

static void nhwc_avg(const pb_desc *d, float *S, const float *g, int64_t c0, int64_t c1, float *gp)
{
    const int64_t C = d->c, iw = d->iw, OW = d->ow, dh = d->dh, dw = d->dw, nc = c1 - c0;
    int64_t z = 0;
    for (int64_t oh = 0; oh < d->oh; oh++) {
        const pb_axis_window y = bl_win_h(d, oh);
        const int64_t dy = bl_div_factor(d, y);
        int64_t he = rows_end(d, y);
        if (he > z) {
            zero_positions(S, C, c0, nc, z * iw, he * iw);
            z = he;
        }
        for (int64_t ow = 0; ow < OW; ow++) {
            const pb_axis_window x = win_w(d, ow);
            const int64_t div = dy * bl_div_factor(d, x);
            const float *go = g + (oh * OW + ow) * C + c0;
            if (div <= (int64_t)1 << 24) { /* exact in float */
                bl_copy(gp, go, nc);
                bl_div_by(gp, (float)div, nc);
            } else {
                for (int64_t c = 0; c < nc; c++) gp[c] = (float)((double)go[c] / (double)div);
            }
            for (int64_t ty = y.t_lo; ty < y.t_hi; ty++) {
                float *row = S + (y.start + ty * dh) * iw * C + c0;
                for (int64_t tx = x.t_lo; tx < x.t_hi; tx++)
                    bl_add_into(row + (x.start + tx * dw) * C, gp, nc);
            }
        }
    }
    if (z < d->ih) zero_positions(S, C, c0, nc, z * iw, d->ih * iw);
}

pb_status pb_blocked_bwd_slices(const pb_desc *d, const pb_args *a, void *state, int64_t begin,
                                int64_t end)
{
    (void)state;
    pb_status st = pb_bl_check_bwd(d, a);
    if (st != PB_OK) return st;
    if (begin < 0 || end < begin || end > pb_bwd_slices(d)) return PB_ERR_SHAPE;
    if (begin == end) return PB_OK;
    const bool is_max = d->alg == PB_ALG_MAX;
    const int64_t plane = d->ih * d->iw, oplane = d->oh * d->ow, C = d->c;
    float *buf = NULL;
    if (!is_max) {
        buf = malloc((size_t)(d->layout == PB_LAYOUT_NCHW ? d->iw : C) * sizeof *buf);
        if (!buf) return PB_ERR_NOMEM;
    }
    if (d->layout == PB_LAYOUT_NCHW) {
        for (int64_t s = begin; s < end && st == PB_OK; s++) {
            float *P = a->diff_src + s * plane;
            const float *g = a->diff_dst + s * oplane;
            if (is_max)
                st = nchw_max_plane(d, P, g, a->ws + s * oplane);
            else
                nchw_avg_plane(d, P, g, buf);
        }
    } else {
        /* consecutive slices of one sample run together: the same
         * per-element order over a wider channel range */
        const int64_t CB = (C + PB_NHWC_BWD_CBLOCK - 1) / PB_NHWC_BWD_CBLOCK;
        for (int64_t s = begin; s < end && st == PB_OK;) {
            int64_t n = s / CB, last = (n + 1) * CB < end ? (n + 1) * CB : end;
            int64_t c0 = (s - n * CB) * PB_NHWC_BWD_CBLOCK;
            int64_t c1 = (last - n * CB) * PB_NHWC_BWD_CBLOCK;
            if (c1 > C) c1 = C;
            float *S = a->diff_src + n * plane * C;
            const float *g = a->diff_dst + n * oplane * C;
            if (is_max)
                st = nhwc_max(d, S, g, a->ws + n * oplane * C, c0, c1);
            else
                nhwc_avg(d, S, g, c0, c1, buf);
            s = last;
        }
    }
    free(buf);
    return st;
}
