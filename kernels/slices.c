/* Helpers of the max backward kernels (pool.h): NHWC row slices (which
 * output rows a slice of input rows reads and owns, and the workspace
 * check for the rows it shares with a neighbour), and the exact scatter
 * that honours a workspace entry outside its window.  Portable C: the ISA
 * kernels call them once per slice, on a few output rows, or on the rare
 * foreign workspace. */
#include "pool.h"

#include <string.h>

pb_row_slice pb_row_slice_of(const pb_desc *d, int64_t h0, int64_t h1)
{
    pb_row_slice r = {0, 0, 0, 0};
    if (!d || h0 < 0 || h1 > d->ih || h0 >= h1) return r;
    bool seen = false, owned = false;
    for (int64_t oh = 0; oh < d->oh; oh++) {
        pb_axis_window y = pb_axis_window_at(oh, d->ih, d->kh, d->sh, d->pt, d->pb, d->dh);
        if (y.t_lo >= y.t_hi) continue;
        const int64_t first = y.start + y.t_lo * d->dh, last = y.start + (y.t_hi - 1) * d->dh;
        /* the first tap at or below h0 decides whether any tap is inside */
        int64_t t = h0 <= first ? y.t_lo : (h0 - y.start + d->dh - 1) / d->dh;
        if (t >= y.t_hi || y.start + t * d->dh >= h1) continue;
        if (!seen) r.oh_lo = oh, seen = true;
        r.oh_hi = oh + 1;
        if (first >= h0 && last < h1) {
            if (!owned) r.own_lo = oh, owned = true;
            r.own_hi = oh + 1;
        }
    }
    if (!owned) r.own_lo = r.own_hi = r.oh_lo;
    return r;
}

/* Channels of one output whose positions all hit one of nt row bases
 * (the position of the window's first column in each tapped row), for
 * unit column dilation; unsigned wrap makes p < base fail too. */
static inline bool cols_hit(const int32_t *w, int64_t C, const uint32_t *base, const int nt,
                            uint32_t span)
{
    uint32_t miss = 0;
    for (int64_t c = 0; c < C; c++) {
        const uint32_t p = (uint32_t)w[c];
        uint32_t m = 1;
        for (int t = 0; t < nt; t++) m &= (uint32_t)(p - base[t] > span);
        miss |= m;
    }
    return miss == 0;
}

/* the channel loops are worth vectorizing at -O2 */
__attribute__((optimize("vect-cost-model=dynamic"))) bool pb_ws_rows_valid(const pb_desc *d, const int32_t *ws_n, int64_t oh0, int64_t oh1)
{
    if (!d || !ws_n || oh0 < 0 || oh1 > d->oh || oh0 > oh1) return false;
    const int64_t C = d->c, IW = d->iw, OW = d->ow;
    uint32_t base[64];
    for (int64_t oh = oh0; oh < oh1; oh++) {
        pb_axis_window y = pb_axis_window_at(oh, d->ih, d->kh, d->sh, d->pt, d->pb, d->dh);
        const int64_t nt = y.t_hi - y.t_lo;
        for (int64_t ow = 0; ow < OW; ow++) {
            pb_axis_window x = pb_axis_window_at(ow, d->iw, d->kw, d->sw, d->pl, d->pr, d->dw);
            const int32_t *w = ws_n + (oh * OW + ow) * C;
            const int64_t x0 = x.start + x.t_lo * d->dw, span = (x.t_hi - 1 - x.t_lo) * d->dw;
            if (nt < 1 || x.t_hi <= x.t_lo) return false;
            if (d->dw == 1 && nt <= 64) {
                for (int64_t t = 0; t < nt; t++)
                    base[t] = (uint32_t)((y.start + (y.t_lo + t) * d->dh) * IW + x0);
                /* constant tap counts let the compiler unroll the tap loop */
                bool ok = nt == 1   ? cols_hit(w, C, base, 1, (uint32_t)span)
                          : nt == 2 ? cols_hit(w, C, base, 2, (uint32_t)span)
                          : nt == 3 ? cols_hit(w, C, base, 3, (uint32_t)span)
                                    : cols_hit(w, C, base, (int)nt, (uint32_t)span);
                if (!ok) return false;
                continue;
            }
            for (int64_t c = 0; c < C; c++) { /* dilated columns: the general test */
                bool hit = false;
                for (int64_t t = y.t_lo; t < y.t_hi && !hit; t++) {
                    const int64_t rel = (int64_t)w[c] - ((y.start + t * d->dh) * IW + x0);
                    hit = rel >= 0 && rel <= span && rel % d->dw == 0;
                }
                if (!hit) return false;
            }
        }
    }
    return true;
}

pb_status pb_max_bwd_scatter(const pb_desc *d, const float *g, const int32_t *ws, float *ds,
                             int64_t nc)
{
    if (!d || !g || !ws || !ds || nc < 1) return PB_ERR_NULL;
    const int64_t P = d->ih * d->iw, Q = d->oh * d->ow;
    memset(ds, 0, (size_t)(P * nc) * sizeof *ds);
    for (int64_t o = 0; o < Q; o++)
        for (int64_t c = 0; c < nc; c++) {
            const int32_t pos = ws[o * nc + c];
            if (pos < 0 || pos >= P) return PB_ERR_UNSUPPORTED;
            ds[pos * nc + c] += g[o * nc + c];
        }
    return PB_OK;
}
