/* `blocked` forward: max (inference and training), avg_incl, avg_excl and
 * global pooling, NCHW and NHWC, one output row at a time (the slice unit
 * of pool.h).
 *
 * NCHW: an output row is computed in tiles of BL_OT interior outputs (the
 * windows that lie entirely inside the input row), so the kh input row
 * segments a tile needs stay in L1.  When the window has at most BL_MAXT
 * taps, one fused kernel computes each output from all its taps in
 * registers; stride 1 reads the input rows directly, 2-wide windows at
 * stride 2 read even/odd pairs directly, other strides first split each row
 * segment into its stride phases so every tap is unit-stride.  Larger
 * windows run one vector pass per tap over the tile.  Outputs whose window
 * is clipped by padding (a few per row) take a scalar path.
 * NHWC: the taps of each output position are channel vectors; the same
 * fused kernels (or passes) run over tiles of BL_CT channels.
 * Wide dense windows (and global pooling) vectorize along the window.
 *
 * The max kernels use `v > b ? v : b`, which is the reference's rule except
 * for NaN (a NaN after the first tap would be dropped), so each input row
 * is checked for NaN once per plane and a row that needs a NaN-holding
 * input row is computed with the exact scalar scan instead.  Ties keep
 * the earlier tap, so values (including the sign of zero) and argmax match
 * the reference bitwise.  Averages sum in float along W then H (small
 * windows) or in double (large and global windows) and divide once. */
#include "blocked.h"

#include <stdlib.h>

#define BL_OT 512   /* NCHW: output columns per tile */
#define BL_CT 256   /* NHWC: channels per tile */
#define BL_MAXT 9   /* taps of the fused kernels */
#define BL_RING 16  /* NCHW: most phased input rows kept across output rows */

/* The fused kernels of blocked.h with tap count and tap stride made
 * constant: one instance per case. */
#define BL_TAP_ARGS t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7], t[8]
#define BL_NT_CASES(CASE, ST)                                                     \
    CASE(1, ST) CASE(2, ST) CASE(3, ST) CASE(4, ST) CASE(5, ST) CASE(6, ST) CASE(7, ST) \
    CASE(8, ST) CASE(9, ST)

/* st: 1, or 2 for even/odd pairs (nt even) */
static void fmax_n(float *o, int nt, int st, int64_t n, const float *const *t)
{
#define CASE(N, ST)                                                               \
    case N:                                                                       \
        bl_fmax(o, N, ST, n, BL_TAP_ARGS);                                        \
        return;
    if (st == 2) {
        switch (nt) { CASE(2, 2) CASE(4, 2) }
        return;
    }
    switch (nt) { BL_NT_CASES(CASE, 1) }
#undef CASE
}

static void fmax_arg_n(float *o, int32_t *ix, int nt, int st, int64_t n, const int32_t *g,
                       int32_t base, int32_t step, const float *const *t)
{
#define CASE(N, ST)                                                               \
    case N:                                                                       \
        bl_fmax_arg(o, ix, N, ST, n, g, base, step, BL_TAP_ARGS);                 \
        return;
    if (st == 2) {
        switch (nt) { CASE(2, 2) CASE(4, 2) }
        return;
    }
    switch (nt) { BL_NT_CASES(CASE, 1) }
#undef CASE
}

static void favg_n(float *o, int nr, int kw, int st, int64_t n, float dv, const float *const *t)
{
#define CASE(R, K, ST)                                                            \
    case R * 4 + K:                                                               \
        bl_favg(o, R, K, ST, n, dv, BL_TAP_ARGS);                                 \
        return;
    if (st == 2) {
        switch (nr * 4 + kw) { CASE(1, 2, 2) CASE(2, 2, 2) }
        return;
    }
    switch (nr * 4 + kw) {
        CASE(1, 1, 1) CASE(1, 2, 1) CASE(1, 3, 1) CASE(2, 1, 1) CASE(2, 2, 1) CASE(2, 3, 1)
        CASE(3, 1, 1) CASE(3, 2, 1) CASE(3, 3, 1)
    }
#undef CASE
}

/* Scratch and per-call precomputation of one slice call. */
typedef struct work {
    pb_axis_window *yw; /* window of every output row */
    pb_axis_window *xw; /* window of every output column */
    unsigned char *nan; /* per input row: 0 unchecked, 1 clean, 2 holds a NaN */
    int64_t nan_key;    /* the plane (NCHW) or sample (NHWC) nan[] describes */
    /* NCHW */
    float *ph;          /* stride phases of up to BL_RING input row segments */
    int64_t ph_ld;      /* floats per row segment in ph */
    float *vs;          /* avg passes: column sums of a tile's input rows */
    int64_t lo, hi;     /* interior output columns [lo, hi) */
    /* ring mode (stride >= 2, fused windows, one tile per row): each input
     * row's tile segment is split into phases once, NaN-checked on the way,
     * and kept in slot h % ring_n while the windows of later output rows
     * still need it */
    int64_t ring_n;     /* slots, 0 when not in ring mode */
    int64_t ring_key[BL_RING];     /* plane*ih + h held by each slot, or -1 */
    unsigned char ring_nan[BL_RING];
    int64_t tapoff[BL_MAXT];       /* tap tx: offset inside a phased row */
    /* NHWC */
    float *rb;          /* avg: sums of one window row */
    float *fa;          /* large avg: float partial sums */
    double *da;         /* large avg: double sums */
    void *mem;
} work;

static pb_status work_init(const pb_desc *d, work *w)
{
    memset(w, 0, sizeof *w);
    w->nan_key = -1;
    size_t nwin = (size_t)(d->oh + d->ow), nd = 0, nf = 0;
    int64_t tile_in = 0;
    if (d->layout == PB_LAYOUT_NCHW) {
        tile_in = (BL_OT - 1) * d->sw + (d->kw - 1) * d->dw + 1;
        if (tile_in > d->iw) tile_in = d->iw;
        tile_in += d->sw; /* phases round each up by one */
        nf = (BL_RING + 1) * (size_t)tile_in;
    } else {
        int64_t ct = d->c < BL_CT ? d->c : BL_CT;
        nf = 2 * (size_t)ct;
        nd = (size_t)ct;
    }
    size_t bytes = nwin * sizeof(pb_axis_window) + nd * sizeof(double) + nf * sizeof(float) +
                   (size_t)d->ih;
    char *p = w->mem = malloc(bytes);
    if (!p) return PB_ERR_NOMEM;
    w->yw = (pb_axis_window *)p;
    w->xw = w->yw + d->oh;
    p += nwin * sizeof(pb_axis_window);
    w->da = nd ? (double *)p : NULL;
    p += nd * sizeof(double);
    float *f = (float *)p;
    if (d->layout == PB_LAYOUT_NCHW) {
        w->ph = f;
        w->ph_ld = tile_in;
        w->vs = f + BL_RING * tile_in;
    } else {
        w->rb = f;
        w->fa = f + nf / 2;
    }
    w->nan = (unsigned char *)(p + nf * sizeof(float));
    for (int64_t oh = 0; oh < d->oh; oh++) w->yw[oh] = bl_win_h(d, oh);
    for (int64_t ow = 0; ow < d->ow; ow++) w->xw[ow] = bl_win_w(d, ow);
    /* interior: ow*S - pl >= 0 and ow*S - pl + (kw-1)*dw <= iw - 1 */
    int64_t lo = (d->pl + d->sw - 1) / d->sw;
    int64_t lim = d->iw - 1 - (d->kw - 1) * d->dw + d->pl;
    int64_t hi = lim >= 0 ? lim / d->sw + 1 : 0;
    if (hi > d->ow) hi = d->ow;
    if (lo > hi) lo = hi;
    w->lo = lo;
    w->hi = hi;
    /* ring mode: every row's window fits a fused kernel, strided phases
     * are needed (not the even/odd pairs of 2-wide stride 2) and a row is
     * one tile */
    const int64_t S = d->sw, span_rows = (d->kh - 1) * d->dh + 1;
    const bool fused_all = d->alg == PB_ALG_MAX
                               ? d->kh * d->kw <= BL_MAXT
                               : d->kh <= 3 && d->kw <= 3;
    const bool pairs = S == 2 && d->kw == 2 && d->dw == 1;
    if (d->layout == PB_LAYOUT_NCHW && S >= 2 && !pairs && fused_all && hi - lo <= BL_OT &&
        hi > lo && span_rows <= BL_RING && !(d->kw >= BL_V && d->dw == 1)) {
        const int64_t len = (hi - lo - 1) * S + (d->kw - 1) * d->dw + 1;
        const int64_t plen = (len + S - 1) / S;
        w->ring_n = span_rows;
        for (int64_t i = 0; i < BL_RING; i++) w->ring_key[i] = -1;
        for (int64_t tx = 0; tx < d->kw; tx++) {
            int64_t off = tx * d->dw;
            w->tapoff[tx] = (off % S) * plen + off / S;
        }
    }
    return PB_OK;
}

/* Whether any input row of window y holds a NaN; each row of the current
 * plane/sample is scanned once. */
static bool rows_nan(work *w, int64_t key, const float *base, int64_t row_len, int64_t ih,
                     pb_axis_window y, int64_t dh)
{
    if (w->nan_key != key) {
        memset(w->nan, 0, (size_t)ih);
        w->nan_key = key;
    }
    for (int64_t ty = y.t_lo; ty < y.t_hi; ty++) {
        int64_t h = y.start + ty * dh;
        if (!w->nan[h]) w->nan[h] = bl_any_nan(base + h * row_len, row_len) ? 2 : 1;
        if (w->nan[h] == 2) return true;
    }
    return false;
}

/* Splits row[0..len) into its S stride phases: phase p, element m is
 * row[S*m + p], at ph[p*plen + m] with plen = ceil(len/S).  Stride 1 needs
 * no copy. */
static const float *phases(const float *row, int64_t len, int64_t S, float *ph, int64_t plen)
{
    if (S == 1) return row;
    if (S == 2) {
        bl_deint2(row, ph, ph + plen, len / 2);
        if (len & 1) ph[len / 2] = row[len - 1];
        return ph;
    }
    for (int64_t p = 0; p < S; p++)
        for (int64_t m = 0; S * m + p < len; m++) ph[p * plen + m] = row[S * m + p];
    return ph;
}

/* phases() of a row segment, also telling whether it holds a NaN. */
static bool phases_nan(const float *row, int64_t len, int64_t S, float *ph, int64_t plen)
{
    if (S == 2) {
        bool nan = bl_deint2_nan(row, ph, ph + plen, len / 2);
        if (len & 1) {
            ph[len / 2] = row[len - 1];
            nan |= row[len - 1] != row[len - 1];
        }
        return nan;
    }
    phases(row, len, S, ph, plen);
    return bl_any_nan(row, len);
}

/* First maximum of a window's rows by 16 lanes: each lane keeps its first
 * maximum and that position; the winner is the largest value, ties to the
 * smallest position, which is the reference's first maximum.  The value
 * is re-read at that position so the sign of a zero is the winner's.
 * Returns false when a NaN is present (the caller rescans exactly). */
static bool max_lanes(const float *plane, int64_t iw, int64_t h0, int64_t dh, int64_t nrows,
                      int64_t x0, int64_t nx, float *val, int32_t *pos)
{
    float lv[BL_V];
    int32_t li[BL_V], nan[BL_V] = {0};
    bool lanes = false;
    float sv = 0.0f;
    int64_t sp = -1;
    for (int64_t r = 0; r < nrows; r++) {
        int64_t h = h0 + r * dh;
        const float *p = plane + h * iw + x0;
        int32_t base = (int32_t)(h * iw + x0);
        int64_t i = 0;
        if (!lanes && nx >= BL_V) {
            for (int j = 0; j < BL_V; j++) {
                lv[j] = p[j];
                li[j] = base + j;
                nan[j] = -(int32_t)(p[j] != p[j]);
            }
            lanes = true;
            i = BL_V;
        }
        for (; i + BL_V <= nx; i += BL_V) {
            int32_t b = base + (int32_t)i;
            for (int j = 0; j < BL_V; j++) {
                float v = p[i + j], c = lv[j];
                int32_t m = -(int32_t)(v > c);
                lv[j] = v > c ? v : c;
                li[j] = ((b + j) & m) | (li[j] & ~m);
                nan[j] |= -(int32_t)(v != v);
            }
        }
        for (; i < nx; i++) {
            float v = p[i];
            if (v != v) return false;
            if (sp < 0 || v > sv) {
                sv = v;
                sp = base + i;
            }
        }
    }
    int64_t best = sp;
    float bv = sv;
    if (lanes) {
        int32_t any = 0;
        for (int j = 0; j < BL_V; j++) any |= nan[j];
        if (any) return false;
        for (int j = 0; j < BL_V; j++)
            if (best < 0 || lv[j] > bv || (lv[j] == bv && li[j] < best)) {
                bv = lv[j];
                best = li[j];
            }
    }
    *pos = (int32_t)best;
    *val = plane[best];
    return true;
}

/* Average of one NCHW window summed in double (large windows). */
static float avg_f64(const pb_desc *d, const float *plane, pb_axis_window y, pb_axis_window x)
{
    double s = 0.0;
    int64_t nx = x.t_hi - x.t_lo;
    for (int64_t ty = y.t_lo; ty < y.t_hi; ty++) {
        const float *row = plane + (y.start + ty * d->dh) * d->iw;
        if (d->dw == 1)
            s += pb_bl_sum_f64(row + (x.start + x.t_lo), nx);
        else
            for (int64_t tx = x.t_lo; tx < x.t_hi; tx++) s += (double)row[x.start + tx * d->dw];
    }
    return (float)(s / (double)(bl_div_factor(d, y) * bl_div_factor(d, x)));
}

/* One output whose window is clipped along W (or any output of a row that
 * cannot take the vector path): the scalar form of the same rules. */
static void nchw_edge(const pb_desc *d, const float *plane, float *out, int32_t *ix,
                      pb_axis_window y, pb_axis_window x)
{
    if (d->alg == PB_ALG_MAX) {
        int32_t p;
        *out = bl_max_exact(plane, d->iw, 1, d->iw, &y, d->dh, &x, d->dw, &p);
        if (ix) *ix = p;
        return;
    }
    if (!bl_avg_small(d)) {
        *out = avg_f64(d, plane, y, x);
        return;
    }
    float s = 0.0f;
    for (int64_t ty = y.t_lo; ty < y.t_hi; ty++) {
        const float *row = plane + (y.start + ty * d->dh) * d->iw;
        float rs = row[x.start + x.t_lo * d->dw];
        for (int64_t tx = x.t_lo + 1; tx < x.t_hi; tx++) rs += row[x.start + tx * d->dw];
        s = ty == y.t_lo ? rs : s + rs;
    }
    *out = s / (float)(bl_div_factor(d, y) * bl_div_factor(d, x));
}

/* ix[i] += base + i*S with the common strides as constants (no multiply). */
static void iota_add(int32_t *ix, int32_t base, int64_t S, int64_t n)
{
    if (S == 1)
        bl_iota_add(ix, base, 1, n);
    else if (S == 2)
        bl_iota_add(ix, base, 2, n);
    else
        bl_iota_add(ix, base, (int32_t)S, n);
}

/* One tile of nt interior outputs starting at input column xs, one vector
 * pass per tap (windows too large for the fused kernels). */
static void nchw_passes(const pb_desc *d, work *w, const float *plane, float *o, int32_t *io,
                        pb_axis_window y, int64_t xs, int64_t nt)
{
    const int64_t iw = d->iw, S = d->sw, kw = d->kw, dw = d->dw, dh = d->dh;
    const int64_t len = (nt - 1) * S + (kw - 1) * dw + 1, plen = (len + S - 1) / S;
    bool first = true;
    if (d->alg == PB_ALG_MAX) {
        for (int64_t ty = y.t_lo; ty < y.t_hi; ty++) {
            const float *src = phases(plane + (y.start + ty * dh) * iw + xs, len, S, w->ph, plen);
            int64_t roff = (ty - y.t_lo) * dh * iw;
            for (int64_t tx = 0; tx < kw; tx++) {
                int64_t off = tx * dw;
                const float *p = S == 1 ? src + off : src + (off % S) * plen + off / S;
                /* tag: the tap's offset from the window's first in-input row
                 * and column; iota_add turns it into h*iw + w */
                int32_t tag = (int32_t)(roff + off);
                if (first) {
                    bl_copy(o, p, nt);
                    if (io) bl_fill_i32(io, tag, nt);
                    first = false;
                } else if (io) {
                    bl_max_arg_into(o, io, p, nt, tag);
                } else {
                    bl_max_into(o, p, nt);
                }
            }
        }
        if (io) iota_add(io, (int32_t)((y.start + y.t_lo * dh) * iw + xs), S, nt);
        return;
    }
    float *vs = w->vs;
    for (int64_t ty = y.t_lo; ty < y.t_hi; ty++) {
        const float *row = plane + (y.start + ty * dh) * iw + xs;
        if (ty == y.t_lo)
            bl_copy(vs, row, len);
        else
            bl_add_into(vs, row, len);
    }
    const float *src = phases(vs, len, S, w->ph, plen);
    for (int64_t tx = 0; tx < kw; tx++) {
        int64_t off = tx * dw;
        const float *p = S == 1 ? src + off : src + (off % S) * plen + off / S;
        if (first) {
            bl_copy(o, p, nt);
            first = false;
        } else {
            bl_add_into(o, p, nt);
        }
    }
    /* interior windows tap kw columns in both avg variants */
    bl_div_by(o, (float)(bl_div_factor(d, y) * kw), nt);
}

/* The interior tiles of one NCHW output row: outputs [lo, hi), whose
 * windows lie inside the input row. */
static void nchw_tiles(const pb_desc *d, work *w, const float *plane, float *out, int32_t *ix,
                       pb_axis_window y)
{
    const int64_t iw = d->iw, S = d->sw, kw = d->kw, dw = d->dw, dh = d->dh;
    const int64_t nr = y.t_hi - y.t_lo, span = (kw - 1) * dw;
    const bool is_max = d->alg == PB_ALG_MAX;
    /* all taps in one kernel when they fit it, else one pass per tap */
    const bool fused = is_max ? nr * kw <= BL_MAXT : nr <= 3 && kw <= 3;
    /* 2-wide windows at stride 2 read even/odd pairs straight from the rows */
    const bool pairs = S == 2 && kw == 2 && dw == 1 && nr <= 2;
    for (int64_t t0 = w->lo; t0 < w->hi; t0 += BL_OT) {
        const int64_t nt = w->hi - t0 < BL_OT ? w->hi - t0 : BL_OT;
        const int64_t xs = t0 * S - d->pl; /* first input column of the tile */
        float *o = out + t0;
        int32_t *io = ix ? ix + t0 : NULL;
        if (!fused) {
            nchw_passes(d, w, plane, o, io, y, xs, nt);
            continue;
        }
        const int64_t len = (nt - 1) * S + span + 1, plen = (len + S - 1) / S;
        const float *t[BL_MAXT] = {0};
        int32_t g[BL_MAXT];
        int k = 0;
        for (int64_t r = 0; r < nr; r++) {
            const float *row = plane + (y.start + (y.t_lo + r) * dh) * iw + xs;
            if (pairs) {
                t[r] = row;
                g[k++] = (int32_t)(r * dh * iw);
                g[k++] = (int32_t)(r * dh * iw + 1);
                continue;
            }
            const float *src = phases(row, len, S, w->ph + r * w->ph_ld, plen);
            for (int64_t tx = 0; tx < kw; tx++, k++) {
                int64_t off = tx * dw;
                t[k] = S == 1 ? src + off : S == 2 ? src + (off & 1) * plen + (off >> 1)
                                                   : src + (off % S) * plen + off / S;
                g[k] = (int32_t)(r * dh * iw + off);
            }
        }
        const int st = pairs ? 2 : 1;
        if (!is_max)
            favg_n(o, (int)nr, (int)kw, st, nt, (float)(bl_div_factor(d, y) * kw), t);
        else if (io)
            fmax_arg_n(o, io, k, st, nt, g, (int32_t)((y.start + y.t_lo * dh) * iw + xs),
                       (int32_t)S, t);
        else
            fmax_n(o, k, st, nt, t);
    }
}

/* One NCHW output row in ring mode (see struct work). */
static void nchw_ring_row(const pb_desc *d, work *w, const float *plane, float *out, int32_t *ix,
                          pb_axis_window y, int64_t key)
{
    const int64_t iw = d->iw, S = d->sw, kw = d->kw, dh = d->dh, lo = w->lo, nt = w->hi - lo;
    const int64_t nr = y.t_hi - y.t_lo, xs = lo * S - d->pl;
    const int64_t len = (nt - 1) * S + (kw - 1) * d->dw + 1, plen = (len + S - 1) / S;
    const bool is_max = d->alg == PB_ALG_MAX;
    const float *t[BL_MAXT] = {0};
    int32_t g[BL_MAXT];
    bool nan = false;
    int k = 0;
    for (int64_t r = 0; r < nr; r++) {
        int64_t h = y.start + (y.t_lo + r) * dh, slot = h % w->ring_n, tag = key * d->ih + h;
        float *ph = w->ph + slot * w->ph_ld;
        if (w->ring_key[slot] != tag) {
            w->ring_nan[slot] = phases_nan(plane + h * iw + xs, len, S, ph, plen);
            w->ring_key[slot] = tag;
        }
        nan |= w->ring_nan[slot];
        for (int64_t tx = 0; tx < kw; tx++, k++) {
            t[k] = ph + w->tapoff[tx];
            g[k] = (int32_t)(r * dh * iw + tx * d->dw);
        }
    }
    if (is_max && nan) {
        for (int64_t ow = 0; ow < d->ow; ow++)
            nchw_edge(d, plane, out + ow, ix ? ix + ow : NULL, y, w->xw[ow]);
        return;
    }
    for (int64_t ow = 0; ow < lo; ow++)
        nchw_edge(d, plane, out + ow, ix ? ix + ow : NULL, y, w->xw[ow]);
    for (int64_t ow = w->hi; ow < d->ow; ow++)
        nchw_edge(d, plane, out + ow, ix ? ix + ow : NULL, y, w->xw[ow]);
    float *o = out + lo;
    if (!is_max)
        favg_n(o, (int)nr, (int)kw, 1, nt, (float)(bl_div_factor(d, y) * kw), t);
    else if (ix)
        fmax_arg_n(o, ix + lo, k, 1, nt, g, (int32_t)((y.start + y.t_lo * dh) * iw + xs), (int32_t)S,
                   t);
    else
        fmax_n(o, k, 1, nt, t);
}

/* One NCHW output row oh of plane `key`. */
static void nchw_row(const pb_desc *d, work *w, const float *plane, float *out, int32_t *ix,
                     int64_t oh, int64_t key)
{
    const int64_t iw = d->iw, OW = d->ow;
    const pb_axis_window y = w->yw[oh];
    const bool is_max = d->alg == PB_ALG_MAX;

    if (w->ring_n) {
        nchw_ring_row(d, w, plane, out, ix, y, key);
        return;
    }
    if (is_max && rows_nan(w, key, plane, iw, d->ih, y, d->dh)) {
        for (int64_t ow = 0; ow < OW; ow++)
            nchw_edge(d, plane, out + ow, ix ? ix + ow : NULL, y, w->xw[ow]);
        return;
    }
    /* wide dense windows: vectorize along the window instead of W */
    if ((is_max && d->kw >= BL_V && d->dw == 1) || (!is_max && !bl_avg_small(d))) {
        for (int64_t ow = 0; ow < OW; ow++) {
            const pb_axis_window x = w->xw[ow];
            if (!is_max) {
                out[ow] = avg_f64(d, plane, y, x);
                continue;
            }
            int32_t p;
            if (!max_lanes(plane, iw, y.start + y.t_lo * d->dh, d->dh, y.t_hi - y.t_lo,
                           x.start + x.t_lo, x.t_hi - x.t_lo, &out[ow], &p))
                out[ow] = bl_max_exact(plane, iw, 1, iw, &y, d->dh, &x, 1, &p);
            if (ix) ix[ow] = p;
        }
        return;
    }
    for (int64_t ow = 0; ow < w->lo; ow++)
        nchw_edge(d, plane, out + ow, ix ? ix + ow : NULL, y, w->xw[ow]);
    for (int64_t ow = w->hi; ow < OW; ow++)
        nchw_edge(d, plane, out + ow, ix ? ix + ow : NULL, y, w->xw[ow]);
    nchw_tiles(d, w, plane, out, ix, y);
}

/* One output plane of global pooling (the window is the whole plane). */
static void nchw_global(const float *plane, int64_t ih, int64_t iw, bool is_max, float *out,
                        int32_t *ix)
{
    int64_t L = ih * iw;
    if (!is_max) {
        *out = (float)(pb_bl_sum_f64(plane, L) / (double)L);
        return;
    }
    int32_t p;
    /* the plane is contiguous: one "row" of L elements */
    if (!max_lanes(plane, 0, 0, 1, 1, 0, L, out, &p)) {
        pb_axis_window y = {.start = 0, .t_lo = 0, .t_hi = ih, .n_pad = ih};
        pb_axis_window x = {.start = 0, .t_lo = 0, .t_hi = iw, .n_pad = iw};
        *out = bl_max_exact(plane, iw, 1, iw, &y, 1, &x, 1, &p);
    }
    if (ix) *ix = p;
}

/* Taps of one NHWC output position as passes over nc channels (windows
 * too large for the fused kernels). */
static void nhwc_passes(const pb_desc *d, work *w, const float *src_n, float *o, int32_t *io,
                        pb_axis_window y, pb_axis_window x, int64_t c0, int64_t nc)
{
    const int64_t C = d->c, iw = d->iw, rs = iw * C, dh = d->dh, dw = d->dw;
    if (d->alg == PB_ALG_MAX) {
        bool first = true;
        for (int64_t ty = y.t_lo; ty < y.t_hi; ty++) {
            int64_t h = y.start + ty * dh;
            for (int64_t tx = x.t_lo; tx < x.t_hi; tx++) {
                int64_t wv = x.start + tx * dw;
                const float *tap = src_n + (h * iw + wv) * C + c0;
                int32_t pos = (int32_t)(h * iw + wv);
                if (first) {
                    bl_copy(o, tap, nc);
                    if (io) bl_fill_i32(io, pos, nc);
                    first = false;
                } else if (io) {
                    bl_max_arg_into(o, io, tap, nc, pos);
                } else {
                    bl_max_into(o, tap, nc);
                }
            }
        }
        return;
    }
    const int64_t div = bl_div_factor(d, y) * bl_div_factor(d, x);
    if (bl_avg_small(d)) {
        /* row sums first, then across rows: shallow float sums */
        for (int64_t ty = y.t_lo; ty < y.t_hi; ty++) {
            const float *row = src_n + (y.start + ty * dh) * rs + c0;
            float *acc = ty == y.t_lo ? o : w->rb;
            for (int64_t tx = x.t_lo; tx < x.t_hi; tx++) {
                const float *tap = row + (x.start + tx * dw) * C;
                if (tx == x.t_lo)
                    bl_copy(acc, tap, nc);
                else
                    bl_add_into(acc, tap, nc);
            }
            if (acc != o) bl_add_into(o, acc, nc);
        }
        bl_div_by(o, (float)div, nc);
        return;
    }
    /* large window: float partials of 8 taps flushed into double */
    int64_t k = 0;
    for (int64_t ty = y.t_lo; ty < y.t_hi; ty++) {
        const float *row = src_n + (y.start + ty * dh) * rs + c0;
        for (int64_t tx = x.t_lo; tx < x.t_hi; tx++) {
            const float *tap = row + (x.start + tx * dw) * C;
            if (k % 8 == 0)
                bl_copy(w->fa, tap, nc);
            else
                bl_add_into(w->fa, tap, nc);
            if (++k % 8 == 0) {
                if (k == 8)
                    bl_cvt_f64(w->da, w->fa, nc);
                else
                    bl_add_f64(w->da, w->fa, nc);
            }
        }
    }
    if (k % 8) {
        if (k < 8)
            bl_cvt_f64(w->da, w->fa, nc);
        else
            bl_add_f64(w->da, w->fa, nc);
    }
    bl_div_f64_to_f32(o, w->da, (double)div, nc);
}

/* One NHWC output row oh of sample n (all channels). */
static void nhwc_row(const pb_desc *d, work *w, const float *src_n, float *out, int32_t *ix,
                     int64_t oh, int64_t n)
{
    const int64_t C = d->c, iw = d->iw, rs = iw * C, dh = d->dh, dw = d->dw;
    const pb_axis_window y = w->yw[oh];
    const bool is_max = d->alg == PB_ALG_MAX;

    if (is_max && rows_nan(w, n, src_n, rs, d->ih, y, dh)) {
        for (int64_t ow = 0; ow < d->ow; ow++)
            for (int64_t c = 0; c < C; c++) {
                int32_t p;
                out[ow * C + c] = bl_max_exact(src_n + c, rs, C, iw, &y, dh, &w->xw[ow], dw, &p);
                if (ix) ix[ow * C + c] = p;
            }
        return;
    }
    const int64_t dy = bl_div_factor(d, y), nr = y.t_hi - y.t_lo;
    const bool small = bl_avg_small(d);
    for (int64_t c0 = 0; c0 < C; c0 += BL_CT) {
        const int64_t nc = C - c0 < BL_CT ? C - c0 : BL_CT;
        for (int64_t ow = 0; ow < d->ow; ow++) {
            const pb_axis_window x = w->xw[ow];
            float *o = out + ow * C + c0;
            int32_t *io = ix ? ix + ow * C + c0 : NULL;
            const int64_t nx = x.t_hi - x.t_lo;
            if (is_max ? nr * nx > BL_MAXT : !small || nr > 3 || nx > 3) {
                nhwc_passes(d, w, src_n, o, io, y, x, c0, nc);
                continue;
            }
            const float *t[BL_MAXT] = {0};
            int32_t g[BL_MAXT];
            int k = 0;
            const int64_t pos0 = (y.start + y.t_lo * dh) * iw + x.start + x.t_lo * dw;
            for (int64_t ty = y.t_lo; ty < y.t_hi; ty++)
                for (int64_t tx = x.t_lo; tx < x.t_hi; tx++, k++) {
                    int64_t pos = (y.start + ty * dh) * iw + x.start + tx * dw;
                    t[k] = src_n + pos * C + c0;
                    g[k] = (int32_t)(pos - pos0);
                }
            if (!is_max)
                favg_n(o, (int)nr, (int)nx, 1, nc, (float)(dy * bl_div_factor(d, x)), t);
            else if (io)
                fmax_arg_n(o, io, k, 1, nc, g, (int32_t)pos0, 0, t);
            else
                fmax_n(o, k, 1, nc, t);
        }
    }
}

pb_status pb_blocked_fwd_rows(const pb_desc *d, const pb_args *a, void *state, int64_t begin,
                              int64_t end)
{
    (void)state;
    pb_status st = pb_bl_check_fwd(d, a);
    if (st != PB_OK) return st;
    if (begin < 0 || end < begin || end > pb_fwd_rows(d)) return PB_ERR_SHAPE;
    if (begin == end) return PB_OK;
    int32_t *ws = d->alg == PB_ALG_MAX ? a->ws : NULL;
    const int64_t OH = d->oh, OW = d->ow, plane = d->ih * d->iw;

    if (d->layout == PB_LAYOUT_NCHW && bl_plane_window(d)) {
        for (int64_t r = begin; r < end; r++)
            nchw_global(a->src + r * plane, d->ih, d->iw, d->alg == PB_ALG_MAX, a->dst + r,
                        ws ? ws + r : NULL);
        return PB_OK;
    }
    work w;
    st = work_init(d, &w);
    if (st != PB_OK) return st;
    int64_t p = begin / OH, oh = begin % OH;
    for (int64_t r = begin; r < end; r++) {
        if (d->layout == PB_LAYOUT_NCHW)
            nchw_row(d, &w, a->src + p * plane, a->dst + r * OW, ws ? ws + r * OW : NULL, oh, p);
        else
            nhwc_row(d, &w, a->src + p * plane * d->c, a->dst + r * OW * d->c,
                     ws ? ws + r * OW * d->c : NULL, oh, p);
        if (++oh == OH) {
            oh = 0;
            p++;
        }
    }
    free(w.mem);
    return PB_OK;
}
