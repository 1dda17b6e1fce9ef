/* `blocked` backward: max (scatter through the argmax workspace) and
 * average, NCHW and NHWC, over the disjoint input slices of pool.h.
 *
 * Max: gradient accumulation is tiled by output rows: diff_src rows are
 * zeroed lazily, just before the first output row whose window reaches
 * them, so the rows an output row scatters into were just zeroed and are
 * still in L1/L2.  Each element receives its contributions in the
 * reference's order (output rows, then columns), so max gradients (exact
 * sums of multiples of 1/8) are bitwise equal to the reference.
 *
 * Average: gathered, not scattered.  Every diff_src element is written
 * once, as the sum of the scaled upstream gradients (g / divisor) of the
 * outputs whose windows tap it, found from per-call lists of the output
 * rows tapping each input row (and, NHWC, columns tapping each input
 * column).  NCHW: each output row's scaled gradients are first spread along
 * W into a row buffer kept in a small ring (in stride-phase form, so the
 * spreading is unit-stride vector passes); an input row is then the sum of
 * the ring rows of its output rows, interleaved back.  NHWC: the scaled
 * gradient vectors of recent output rows are kept in a ring, an input
 * position is the sum of its outputs' vectors, as passes over channels.
 *
 * A slice's result does not depend on how slices are grouped: every
 * element is computed the same way whatever the range. */
#include "blocked.h"

#include <stdlib.h>

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

/* A whole NHWC sample, all channels: rows zeroed lazily just before the
 * first output row that reaches them, then scattered (see the top). */
static pb_status nhwc_max_sample(const pb_desc *d, float *S, const float *g, const int32_t *ws)
{
    const int64_t C = d->c, iw = d->iw, OW = d->ow, plane = d->ih * iw;
    int64_t z = 0; /* positions [0, z*iw) are zeroed */
    for (int64_t oh = 0; oh < d->oh; oh++) {
        int64_t he = rows_end(d, bl_win_h(d, oh));
        if (he > z) {
            memset(S + z * iw * C, 0, (size_t)((he - z) * iw * C) * sizeof *S);
            z = he;
        }
        int64_t lim = z * iw;
        for (int64_t ow = 0; ow < OW; ow++) {
            const float *go = g + (oh * OW + ow) * C;
            const int32_t *wo = ws + (oh * OW + ow) * C;
            for (int64_t c = 0; c < C; c++) {
                int32_t p = wo[c];
                if (p < 0 || p >= lim) {
                    if (p < 0 || p >= plane) return PB_ERR_UNSUPPORTED;
                    int64_t e = p / iw + 1;
                    memset(S + z * iw * C, 0, (size_t)((e - z) * iw * C) * sizeof *S);
                    z = e;
                    lim = z * iw;
                }
                S[p * C + c] += go[c];
            }
        }
    }
    if (z < d->ih) memset(S + z * iw * C, 0, (size_t)((plane - z * iw) * C) * sizeof *S);
    return PB_OK;
}

/* Input rows [h0, h1) of an NHWC sample: scatters the output rows that
 * tap them, keeping the argmaxes that land in these rows, in the same
 * (output row, column) order as the whole sample.  An owned output row
 * (pool.h) must land here; shared rows are checked against their windows,
 * so no argmax can be lost between slices. */
static pb_status nhwc_max_rows(const pb_desc *d, float *S, const float *g, const int32_t *ws,
                               int64_t h0, int64_t h1)
{
    if (h0 == 0 && h1 == d->ih) return nhwc_max_sample(d, S, g, ws);
    const int64_t C = d->c, iw = d->iw, OW = d->ow, lo = h0 * iw, n = (h1 - h0) * iw;
    const pb_row_slice rs = pb_row_slice_of(d, h0, h1);
    memset(S + lo * C, 0, (size_t)(n * C) * sizeof *S);
    for (int64_t oh = rs.oh_lo; oh < rs.oh_hi; oh++) {
        const bool owned = oh >= rs.own_lo && oh < rs.own_hi;
        for (int64_t ow = 0; ow < OW; ow++) {
            const float *go = g + (oh * OW + ow) * C;
            const int32_t *wo = ws + (oh * OW + ow) * C;
            for (int64_t c = 0; c < C; c++) {
                int64_t p = wo[c];
                if (p >= lo && p - lo < n)
                    S[p * C + c] += go[c];
                else if (owned)
                    return PB_ERR_PARTIAL;
            }
        }
    }
    if (!pb_ws_rows_valid(d, ws, rs.oh_lo, rs.own_lo) || !pb_ws_rows_valid(d, ws, rs.own_hi, rs.oh_hi))
        return PB_ERR_PARTIAL;
    return PB_OK;
}

/* Per-call tables of the average backward. */
typedef struct avg_work {
    int32_t *rows_of;  /* ih x rcap: output rows whose window taps input row h */
    int32_t *nrows;    /* ih: how many */
    int32_t *cols_of;  /* iw x ccap: the same for columns */
    int32_t *ncols;    /* iw */
    int64_t rcap, ccap;
    float *divx;       /* OW: W factor of each output's divisor */
    float *gp;         /* NCHW: one output row's scaled gradients */
    float *tmp;        /* NCHW: phase sums of one input row */
    float *ring;       /* R slots of ring_ld floats */
    int64_t ring_ld, R;
    int64_t *ring_oh;  /* output row held by each slot, or -1 */
    void *mem;
} avg_work;

/* For each input index along one axis, the outputs whose window taps it,
 * ascending: list[i*cap ..], count[i].  *cap gets the longest list, *span
 * the widest range last - first + 1 of one list. */
static pb_status taps_of(int64_t n_in, int64_t n_out, const pb_axis_window *win, int64_t dil,
                         int32_t **list, int32_t **count, int64_t *cap, int64_t *span)
{
    int32_t *cnt = calloc((size_t)n_in, sizeof *cnt);
    if (!cnt) return PB_ERR_NOMEM;
    *count = cnt;
    for (int64_t o = 0; o < n_out; o++)
        for (int64_t t = win[o].t_lo; t < win[o].t_hi; t++) cnt[win[o].start + t * dil]++;
    int64_t c = 1;
    for (int64_t i = 0; i < n_in; i++)
        if (cnt[i] > c) c = cnt[i];
    int32_t *l = malloc((size_t)(n_in * c) * sizeof *l);
    if (!l) return PB_ERR_NOMEM;
    *list = l;
    memset(cnt, 0, (size_t)n_in * sizeof *cnt);
    for (int64_t o = 0; o < n_out; o++)
        for (int64_t t = win[o].t_lo; t < win[o].t_hi; t++) {
            int64_t i = win[o].start + t * dil;
            l[i * c + cnt[i]++] = (int32_t)o;
        }
    int64_t sp = 1;
    for (int64_t i = 0; i < n_in; i++)
        if (cnt[i] > 0 && l[i * c + cnt[i] - 1] - l[i * c] + 1 > sp) sp = l[i * c + cnt[i] - 1] - l[i * c] + 1;
    *cap = c;
    *span = sp;
    return PB_OK;
}

static void avg_work_free(avg_work *w)
{
    free(w->rows_of);
    free(w->nrows);
    free(w->cols_of);
    free(w->ncols);
    free(w->mem);
}

/* nc: channels per call (NHWC), unused for NCHW. */
static pb_status avg_work_init(const pb_desc *d, avg_work *w, int64_t nc)
{
    memset(w, 0, sizeof *w);
    const int64_t OH = d->oh, OW = d->ow, S = d->sw;
    pb_axis_window *win = malloc((size_t)(OH > OW ? OH : OW) * sizeof *win);
    if (!win) return PB_ERR_NOMEM;
    int64_t rspan, cspan;
    for (int64_t oh = 0; oh < OH; oh++) win[oh] = bl_win_h(d, oh);
    pb_status st = taps_of(d->ih, OH, win, d->dh, &w->rows_of, &w->nrows, &w->rcap, &rspan);
    if (st == PB_OK && d->layout == PB_LAYOUT_NHWC) {
        for (int64_t ow = 0; ow < OW; ow++) win[ow] = bl_win_w(d, ow);
        st = taps_of(d->iw, OW, win, d->dw, &w->cols_of, &w->ncols, &w->ccap, &cspan);
    }
    free(win);
    if (st != PB_OK) return st;
    /* the output rows of one input row must sit in distinct slots (slot =
     * oh mod R), and one more lets the next row's be built alongside */
    w->R = rspan + 1;
    if (w->R > OH) w->R = OH;
    w->ring_ld = d->layout == PB_LAYOUT_NCHW ? d->iw + S : OW * nc;
    size_t nf = (size_t)OW + (size_t)(w->R * w->ring_ld);
    if (d->layout == PB_LAYOUT_NCHW) nf += (size_t)OW + (size_t)(d->iw + S);
    char *p = w->mem = malloc((size_t)w->R * sizeof(int64_t) + nf * sizeof(float));
    if (!p) return PB_ERR_NOMEM;
    w->ring_oh = (int64_t *)p;
    for (int64_t i = 0; i < w->R; i++) w->ring_oh[i] = -1;
    float *f = (float *)(p + (size_t)w->R * sizeof(int64_t));
    w->divx = f;
    f += OW;
    w->ring = f;
    f += w->R * w->ring_ld;
    if (d->layout == PB_LAYOUT_NCHW) {
        w->gp = f;
        w->tmp = f + OW;
    }
    for (int64_t ow = 0; ow < OW; ow++) w->divx[ow] = (float)bl_div_factor(d, bl_win_w(d, ow));
    return PB_OK;
}

/* Scaled gradients g / divisor of one output row into gp (n values, the
 * divisor's W factors in divx). */
static void scale_row(const pb_desc *d, float *gp, const float *g, int64_t dy, const float *divx,
                      int64_t n)
{
    if (bl_avg_small(d)) { /* dy * divx[i] is a small exact integer */
        bl_div_scaled(gp, g, (float)dy, divx, n);
        return;
    }
    for (int64_t i = 0; i < n; i++) gp[i] = (float)((double)g[i] / ((double)dy * divx[i]));
}

/* The NCHW row buffer of output row oh: its scaled gradients spread along
 * W, input column x = S*m + q at hb[q*half + m] (half = ceil(iw/S)).  Tap
 * tx of output ow reaches x = S*ow + off, off = tx*dw - pl: phase q =
 * off mod S, m = ow + floor(off/S), a contiguous range of ow: one pass. */
static void nchw_spread(const pb_desc *d, avg_work *w, const float *g, int64_t oh, float *hb)
{
    const int64_t S = d->sw, iw = d->iw, OW = d->ow, half = (iw + S - 1) / S;
    scale_row(d, w->gp, g + oh * OW, bl_div_factor(d, bl_win_h(d, oh)), w->divx, OW);
    memset(hb, 0, (size_t)(S * half) * sizeof *hb);
    for (int64_t tx = 0; tx < d->kw; tx++) {
        int64_t off = tx * d->dw - d->pl;
        int64_t q = ((off % S) + S) % S, fl = (off - q) / S;
        /* ow with 0 <= S*ow + off < iw */
        int64_t lo = off >= 0 ? 0 : (-off + S - 1) / S;
        int64_t hi = iw - 1 - off >= 0 ? (iw - 1 - off) / S + 1 : 0;
        if (hi > OW) hi = OW;
        if (lo < hi) bl_add_into(hb + (q * half + lo + fl), w->gp + lo, hi - lo);
    }
}

/* Writes one input row from the phase sums e (S phases of `half`). */
static void nchw_unphase(float *row, const float *e, int64_t S, int64_t iw, int64_t half)
{
    if (S == 1) {
        bl_copy(row, e, iw);
    } else if (S == 2) {
        bl_interleave2(row, e, e + half, iw / 2);
        if (iw & 1) row[iw - 1] = e[iw / 2];
    } else {
        for (int64_t q = 0; q < S; q++)
            for (int64_t m = 0; S * m + q < iw; m++) row[S * m + q] = e[q * half + m];
    }
}

static void nchw_avg_plane(const pb_desc *d, avg_work *w, float *P, const float *g)
{
    const int64_t iw = d->iw, S = d->sw, half = (iw + S - 1) / S, len = S * half;
    for (int64_t i = 0; i < w->R; i++) w->ring_oh[i] = -1;
    for (int64_t h = 0; h < d->ih; h++) {
        const int32_t *ol = w->rows_of + h * w->rcap;
        const int64_t cnt = w->nrows[h];
        float *row = P + h * iw;
        if (cnt == 0) {
            memset(row, 0, (size_t)iw * sizeof *row);
            continue;
        }
        const float *hb[2] = {NULL, NULL};
        for (int64_t k = 0; k < cnt; k++) {
            int64_t oh = ol[k], slot = oh % w->R;
            float *r = w->ring + slot * w->ring_ld;
            if (w->ring_oh[slot] != oh) {
                nchw_spread(d, w, g, oh, r);
                w->ring_oh[slot] = oh;
            }
            if (k < 2) hb[k] = r;
        }
        const float *e = hb[0];
        if (cnt > 1) {
            bl_add2(w->tmp, hb[0], hb[1], len);
            for (int64_t k = 2; k < cnt; k++)
                bl_add_into(w->tmp, w->ring + (ol[k] % w->R) * w->ring_ld, len);
            e = w->tmp;
        }
        nchw_unphase(row, e, S, iw, half);
    }
}

/* Input rows [h0, h1) of an NHWC sample. */
static void nhwc_avg(const pb_desc *d, avg_work *w, float *Sn, const float *g, int64_t h0,
                     int64_t h1)
{
    const int64_t C = d->c, iw = d->iw, OW = d->ow, nc = C, c0 = 0;
    for (int64_t i = 0; i < w->R; i++) w->ring_oh[i] = -1;
    for (int64_t h = h0; h < h1; h++) {
        const int32_t *ol = w->rows_of + h * w->rcap;
        const int64_t rc = w->nrows[h];
        for (int64_t k = 0; k < rc; k++) {
            int64_t oh = ol[k], slot = oh % w->R;
            if (w->ring_oh[slot] == oh) continue;
            /* scaled gradient vectors of output row oh */
            float *r = w->ring + slot * w->ring_ld;
            const int64_t dy = bl_div_factor(d, bl_win_h(d, oh));
            for (int64_t ow = 0; ow < OW; ow++) {
                const float *go = g + (oh * OW + ow) * C + c0;
                float dv = (float)dy * w->divx[ow];
                if (bl_avg_small(d)) {
                    bl_copy(r + ow * nc, go, nc);
                    bl_div_by(r + ow * nc, dv, nc);
                } else {
                    for (int64_t c = 0; c < nc; c++)
                        r[ow * nc + c] = (float)((double)go[c] / ((double)dy * w->divx[ow]));
                }
            }
            w->ring_oh[slot] = oh;
        }
        for (int64_t x = 0; x < iw; x++) {
            float *out = Sn + (h * iw + x) * C + c0;
            const int32_t *cl = w->cols_of + x * w->ccap;
            const int64_t cc = w->ncols[x];
            if (rc == 0 || cc == 0) {
                memset(out, 0, (size_t)nc * sizeof *out);
                continue;
            }
            bool first = true;
            for (int64_t k = 0; k < rc; k++) {
                const float *r = w->ring + (ol[k] % w->R) * w->ring_ld;
                for (int64_t j = 0; j < cc; j++) {
                    const float *v = r + cl[j] * nc;
                    if (first)
                        bl_copy(out, v, nc);
                    else
                        bl_add_into(out, v, nc);
                    first = false;
                }
            }
        }
    }
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
    avg_work w;
    if (!is_max) {
        st = avg_work_init(d, &w, C);
        if (st != PB_OK) {
            avg_work_free(&w);
            return st;
        }
    }
    if (d->layout == PB_LAYOUT_NCHW) {
        for (int64_t s = begin; s < end && st == PB_OK; s++) {
            float *P = a->diff_src + s * plane;
            const float *g = a->diff_dst + s * oplane;
            if (is_max)
                st = nchw_max_plane(d, P, g, a->ws + s * oplane);
            else
                nchw_avg_plane(d, &w, P, g);
        }
    } else {
        /* consecutive rows of one sample run together */
        pb_status partial = PB_OK;
        for (int64_t s = begin; s < end && st == PB_OK;) {
            const int64_t n = s / d->ih, h0 = s % d->ih;
            const int64_t h1 = h0 + (end - s) < d->ih ? h0 + (end - s) : d->ih;
            float *Sn = a->diff_src + n * plane * C;
            const float *g = a->diff_dst + n * oplane * C;
            if (is_max)
                st = nhwc_max_rows(d, Sn, g, a->ws + n * oplane * C, h0, h1);
            else
                nhwc_avg(d, &w, Sn, g, h0, h1);
            /* a later whole sample may still refuse its workspace outright */
            if (st == PB_ERR_PARTIAL) partial = st, st = PB_OK;
            s += h1 - h0;
        }
        if (st == PB_OK) st = partial;
    }
    if (!is_max) avg_work_free(&w);
    return st;
}
