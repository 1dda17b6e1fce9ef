/* Property checks of one implementation: channel independence of the
 * forward, and conservation of gradient mass in the max backward. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "verify_internal.h"

enum { SALT_PROP = 0x50524F50 };

/* Shared prologue: validate, finalize, pick the reference. */
static pb_status begin(const pb_impl *impl, const pb_desc *d, pb_check *out, pb_desc *dd,
                       const pb_impl **ref)
{
    if (!out) return PB_ERR_NULL;
    memset(out, 0, sizeof *out);
    if (!impl || !d) return PB_ERR_NULL;
    pb_status st = pb_v_finalized(d, dd);
    if (st != PB_OK) return st;
    *ref = pb_impl_reference();
    return *ref ? PB_OK : PB_ERR_UNKNOWN_NAME;
}

/* Common epilogue: free, turn a FAIL message into the detail. */
static pb_status finish(pb_status st, pb_v_bufset *s, const pb_desc *d, uint64_t seed,
                        const char *what, const char *msg, pb_check *out)
{
    pb_v_release(s);
    if (st != PB_OK) {
        memset(out, 0, sizeof *out);
        return st;
    }
    if (out->verdict == PB_FAIL) {
        char desc[128];
        pb_v_describe(d, desc, sizeof desc);
        pb_v_verdict(out, PB_FAIL, "seed=%llu %s %s: %s", (unsigned long long)seed, desc, what, msg);
    }
    return PB_OK;
}

/* Compares dst1 (after perturbing channel ch) with dst0. */
static bool channel_outputs_ok(const pb_desc *d, const float *dst0, const float *dst1, int64_t ch,
                               pb_check *out, char *msg, size_t len)
{
    for (int64_t n = 0; n < d->n; n++)
        for (int64_t c = 0; c < d->c; c++)
            for (int64_t h = 0; h < d->oh; h++)
                for (int64_t w = 0; w < d->ow; w++) {
                    int64_t o = pb_offset(d->layout, d->c, d->oh, d->ow, n, c, h, w);
                    char a[32], b[32];
                    out->compared++;
                    if (pb_is_poison_f32(dst0[o]) || pb_is_poison_f32(dst1[o])) {
                        snprintf(msg, len, "output (n=%lld,c=%lld,h=%lld,w=%lld) unwritten",
                                 (long long)n, (long long)c, (long long)h, (long long)w);
                        return false;
                    }
                    bool same = pb_v_same_bits(dst0[o], dst1[o]);
                    if (c != ch && !same) {
                        snprintf(msg, len,
                                 "changing input channel %lld changed output (n=%lld,c=%lld,h=%lld,w=%lld): %s -> %s",
                                 (long long)ch, (long long)n, (long long)c, (long long)h,
                                 (long long)w, pb_v_fmt(dst0[o], a), pb_v_fmt(dst1[o], b));
                        return false;
                    }
                    if (c == ch && same) {
                        snprintf(msg, len,
                                 "changing input channel %lld left its output (n=%lld,c=%lld,h=%lld,w=%lld) at %s",
                                 (long long)ch, (long long)n, (long long)c, (long long)h,
                                 (long long)w, pb_v_fmt(dst0[o], a));
                        return false;
                    }
                }
    return true;
}

static pb_status channels(const pb_impl *impl, const pb_desc *d, pb_dir dir, uint64_t seed,
                          pb_check *out, pb_v_bufset *s, char *msg, size_t len)
{
    bool want_ws = d->alg == PB_ALG_MAX && dir == PB_DIR_FWD_TRAIN;
    float *src = pb_v_take(s, "src", d->src_elems);
    float *src2 = pb_v_take(s, "perturbed src", d->src_elems);
    float *copy = pb_v_take(s, "src copy", d->src_elems);
    float *dst0 = pb_v_take(s, "dst", d->dst_elems);
    float *dst1 = pb_v_take(s, "perturbed dst", d->dst_elems);
    int32_t *ws = want_ws ? pb_v_take(s, "ws", d->dst_elems) : NULL;
    if (s->st != PB_OK) return s->st;
    size_t src_bytes = (size_t)d->src_elems * sizeof *src;

    pb_fill_src(d, PB_FILL_DISTINCT, seed, src, d->src_elems);
    memcpy(copy, src, src_bytes);
    pb_poison_f32(dst0, d->dst_elems);
    pb_poison_i32(ws, want_ws ? d->dst_elems : 0);
    pb_status ist = pb_impl_run(impl, d, dir, &(pb_args){.src = src, .dst = dst0, .ws = ws});
    pb_v_ro ro = {src, copy, src_bytes, "src"};
    if (!pb_v_run_ok(ist, s, &ro, 1, msg, len)) {
        out->verdict = PB_FAIL;
        return PB_OK;
    }
    pb_v_rng r = {pb_v_hash(seed ^ SALT_PROP, 3, 4)};
    int64_t chans[3] = {0, d->c - 1, pb_v_below(&r, d->c)};
    for (int i = 0; i < 3; i++) {
        int64_t ch = chans[i];
        if ((i == 1 && ch == chans[0]) || (i == 2 && (ch == chans[0] || ch == chans[1]))) continue;
        memcpy(src2, src, src_bytes);
        /* +1024 shifts every window of channel ch (max by exactly 1024, avg
         * by 1024 * taps / divisor), exact for the DISTINCT values */
        for (int64_t n = 0; n < d->n; n++)
            for (int64_t h = 0; h < d->ih; h++)
                for (int64_t w = 0; w < d->iw; w++)
                    src2[pb_offset(d->layout, d->c, d->ih, d->iw, n, ch, h, w)] += 1024.0f;
        memcpy(copy, src2, src_bytes);
        pb_poison_f32(dst1, d->dst_elems);
        pb_poison_i32(ws, want_ws ? d->dst_elems : 0);
        ist = pb_impl_run(impl, d, dir, &(pb_args){.src = src2, .dst = dst1, .ws = ws});
        pb_v_ro ro2 = {src2, copy, src_bytes, "src"};
        if (!pb_v_run_ok(ist, s, &ro2, 1, msg, len) ||
            !channel_outputs_ok(d, dst0, dst1, ch, out, msg, len)) {
            out->verdict = PB_FAIL;
            return PB_OK;
        }
    }
    return PB_OK;
}

pb_status pb_check_channel_independence(const pb_impl *impl, const pb_desc *d, uint64_t seed,
                                        pb_check *out)
{
    pb_desc dd;
    const pb_impl *ref;
    pb_status st = begin(impl, d, out, &dd, &ref);
    if (st != PB_OK) return st;
    const char *why = NULL;
    pb_dir dir = PB_DIR_FWD_INF;
    if (!pb_impl_accepts(impl, &dd, dir, &why)) {
        dir = PB_DIR_FWD_TRAIN;
        if (!pb_impl_accepts(impl, &dd, dir, NULL)) {
            pb_v_verdict(out, PB_SKIP, "%s", why ? why : "not accepted");
            return PB_OK;
        }
    }
    pb_v_bufset s = {.count = 0, .st = PB_OK};
    char msg[256] = "";
    st = channels(impl, &dd, dir, seed, out, &s, msg, sizeof msg);
    return finish(st, &s, &dd, seed, pb_dir_name(dir), msg, out);
}

/* Sum of a plane of a tensor in double (exact for multiples of 1/8 in the
 * sizes used); *poisoned set when an element is unwritten. */
static double plane_sum(const pb_desc *d, const float *t, bool out_shape, int64_t n, int64_t c,
                        bool *poisoned)
{
    int64_t H = out_shape ? d->oh : d->ih, W = out_shape ? d->ow : d->iw;
    double sum = 0.0;
    for (int64_t h = 0; h < H; h++)
        for (int64_t w = 0; w < W; w++) {
            float v = t[pb_offset(d->layout, d->c, H, W, n, c, h, w)];
            if (pb_is_poison_f32(v)) *poisoned = true;
            sum += v;
        }
    return sum;
}

/* One-hot diff_dst at output o of plane (n, c): the window's taps must
 * hold exactly g, every other element of diff_src exactly 0.  ds is
 * scratch (the taps are zeroed while summing). */
static bool one_hot_ok(const pb_desc *d, float *ds, int64_t n, int64_t c, int64_t oh, int64_t ow,
                       float g, char *msg, size_t len)
{
    pb_axis_window y = pb_axis_window_at(oh, d->ih, d->kh, d->sh, d->pt, d->pb, d->dh);
    pb_axis_window x = pb_axis_window_at(ow, d->iw, d->kw, d->sw, d->pl, d->pr, d->dw);
    double mass = 0.0;
    bool poisoned = false;
    for (int64_t ty = y.t_lo; ty < y.t_hi; ty++)
        for (int64_t tx = x.t_lo; tx < x.t_hi; tx++) {
            int64_t off = pb_offset(d->layout, d->c, d->ih, d->iw, n, c, y.start + ty * d->dh,
                                    x.start + tx * d->dw);
            if (pb_is_poison_f32(ds[off])) poisoned = true;
            mass += ds[off];
            ds[off] = 0.0f;
        }
    /* the first nonzero left outside the window's taps */
    int64_t on = -1, oc = 0, oy = 0, ox = 0;
    float ov = 0.0f;
    for (int64_t nn = 0; nn < d->n && on < 0; nn++)
        for (int64_t cc = 0; cc < d->c && on < 0; cc++)
            for (int64_t h = 0; h < d->ih && on < 0; h++)
                for (int64_t w = 0; w < d->iw; w++) {
                    float v = ds[pb_offset(d->layout, d->c, d->ih, d->iw, nn, cc, h, w)];
                    if (v == 0.0f) continue;
                    on = nn, oc = cc, oy = h, ox = w, ov = v;
                    break;
                }
    if (!poisoned && mass == (double)g && on < 0) return true;
    int k;
    if (poisoned)
        k = snprintf(msg, len, "window (n=%lld,c=%lld,h=%lld,w=%lld): diff_src unwritten in its taps",
                     (long long)n, (long long)c, (long long)oh, (long long)ow);
    else
        k = snprintf(msg, len, "window (n=%lld,c=%lld,h=%lld,w=%lld) holds gradient mass %.9g of %g",
                     (long long)n, (long long)c, (long long)oh, (long long)ow, mass, (double)g);
    if (on >= 0 && k > 0 && (size_t)k < len) {
        char a[32];
        snprintf(msg + k, len - (size_t)k, "; diff_src(n=%lld,c=%lld,h=%lld,w=%lld) = %s outside its window",
                 (long long)on, (long long)oc, (long long)oy, (long long)ox, pb_v_fmt(ov, a));
    }
    return false;
}

static pb_status mass(const pb_impl *impl, const pb_impl *ref, const pb_desc *d, uint64_t seed,
                      pb_check *out, pb_v_bufset *s, char *msg, size_t len)
{
    float *src = pb_v_take(s, "src", d->src_elems);
    float *src_copy = pb_v_take(s, "src copy", d->src_elems);
    float *dst = pb_v_take(s, "reference dst", d->dst_elems);
    int32_t *ws_ref = pb_v_take(s, "reference ws", d->dst_elems);
    int32_t *ws = pb_v_take(s, "ws", d->dst_elems);
    float *dd = pb_v_take(s, "diff_dst", d->dst_elems);
    float *dd_copy = pb_v_take(s, "diff_dst copy", d->dst_elems);
    float *ds = pb_v_take(s, "diff_src", d->src_elems);
    if (s->st != PB_OK) return s->st;
    size_t src_bytes = (size_t)d->src_elems * sizeof *src;
    size_t dst_bytes = (size_t)d->dst_elems * sizeof *dd;

    pb_fill_src(d, PB_FILL_DISTINCT, seed, src, d->src_elems);
    memcpy(src_copy, src, src_bytes);
    pb_poison_i32(ws_ref, d->dst_elems);
    pb_status st = pb_impl_run(ref, d, PB_DIR_FWD_TRAIN, &(pb_args){.src = src, .dst = dst, .ws = ws_ref});
    if (st != PB_OK) return st;
    memcpy(ws, ws_ref, dst_bytes);
    pb_v_ro ro[] = {{src, src_copy, src_bytes, "src"},
                    {dd, dd_copy, dst_bytes, "diff_dst"},
                    {ws, ws_ref, dst_bytes, "ws"}};
    pb_args a = {.src = src, .ws = ws, .diff_dst = dd, .diff_src = ds};

    /* Whole planes: mass in = mass out, exactly. */
    pb_fill_diff_dst(seed, dd, d->dst_elems);
    memcpy(dd_copy, dd, dst_bytes);
    pb_poison_f32(ds, d->src_elems);
    if (!pb_v_run_ok(pb_impl_run(impl, d, PB_DIR_BWD, &a), s, ro, 3, msg, len)) {
        out->verdict = PB_FAIL;
        return PB_OK;
    }
    for (int64_t n = 0; n < d->n; n++)
        for (int64_t c = 0; c < d->c; c++) {
            bool poisoned = false;
            double in = plane_sum(d, dd, true, n, c, &poisoned);
            double got = plane_sum(d, ds, false, n, c, &poisoned);
            out->compared++;
            if (poisoned || got != in) {
                if (poisoned)
                    snprintf(msg, len, "plane (n=%lld,c=%lld): diff_src has unwritten elements",
                             (long long)n, (long long)c);
                else
                    snprintf(msg, len, "plane (n=%lld,c=%lld): diff_src mass %.9g, diff_dst mass %.9g",
                             (long long)n, (long long)c, got, in);
                out->max_abs_err = isnan(got) ? INFINITY : fabs(got - in);
                out->verdict = PB_FAIL;
                return PB_OK;
            }
        }

    /* Single windows: first, last and 6 seeded outputs. */
    pb_v_rng r = {pb_v_hash(seed ^ SALT_PROP, 5, 6)};
    for (int i = 0; i < 8; i++) {
        int64_t n = 0, c = 0, oh = 0, ow = 0;
        if (i == 1) {
            n = d->n - 1, c = d->c - 1, oh = d->oh - 1, ow = d->ow - 1;
        } else if (i > 1) {
            n = pb_v_below(&r, d->n), c = pb_v_below(&r, d->c);
            oh = pb_v_below(&r, d->oh), ow = pb_v_below(&r, d->ow);
        }
        const float g = 1.625f;
        memset(dd, 0, dst_bytes);
        dd[pb_offset(d->layout, d->c, d->oh, d->ow, n, c, oh, ow)] = g;
        memcpy(dd_copy, dd, dst_bytes);
        pb_poison_f32(ds, d->src_elems);
        out->compared++;
        if (!pb_v_run_ok(pb_impl_run(impl, d, PB_DIR_BWD, &a), s, ro, 3, msg, len) ||
            !one_hot_ok(d, ds, n, c, oh, ow, g, msg, len)) {
            out->verdict = PB_FAIL;
            return PB_OK;
        }
    }
    return PB_OK;
}

pb_status pb_check_max_grad_mass(const pb_impl *impl, const pb_desc *d, uint64_t seed,
                                 pb_check *out)
{
    pb_desc dd;
    const pb_impl *ref;
    pb_status st = begin(impl, d, out, &dd, &ref);
    if (st != PB_OK) return st;
    if (dd.alg != PB_ALG_MAX) {
        pb_v_verdict(out, PB_SKIP, "gradient mass check applies to max pooling only");
        return PB_OK;
    }
    const char *why = NULL;
    if (!pb_impl_accepts(impl, &dd, PB_DIR_BWD, &why)) {
        pb_v_verdict(out, PB_SKIP, "%s", why ? why : "not accepted");
        return PB_OK;
    }
    pb_v_bufset s = {.count = 0, .st = PB_OK};
    char msg[256] = "";
    st = mass(impl, ref, &dd, seed, out, &s, msg, sizeof msg);
    return finish(st, &s, &dd, seed, "bwd", msg, out);
}
