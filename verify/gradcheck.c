/* Finite-difference gradient checker.  L(x) = sum(w * pool(x)); each
 * checked dL/dx_i is a central difference in double over only the outputs
 * whose windows tap x_i (L changes nowhere else), compared with the
 * implementation's backward of the whole tensor. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "verify_internal.h"

enum { SALT_FD = 0x46444946 };

typedef struct fd_ctx {
    const pb_desc *d;
    const float *x, *w, *an;
    int64_t bad, checked;
    double max_abs, max_rel;
    char first[160];
} fd_ctx;

/* Outputs o along one axis whose window taps input i: 0 <= i + pad - o*s
 * <= dil*(k-1) and (i + pad - o*s) divisible by dil.  [*lo, *hi). */
static void covering(int64_t i, int64_t k, int64_t s, int64_t pad, int64_t dil, int64_t out,
                     int64_t *lo, int64_t *hi)
{
    int64_t a = i + pad - dil * (k - 1);
    *lo = a <= 0 ? 0 : (a + s - 1) / s;
    *hi = (i + pad) / s + 1;
    if (*hi > out) *hi = out;
}

/* pool(x) at output (oh, ow) of plane (n, c) in double, with input (h, w)
 * replaced by v.  Same rules as the reference: max over in-input taps
 * (inputs are distinct, so no tie rule is needed), avg by pb_divisor. */
static double pool_at(const pb_desc *d, const float *x, int64_t n, int64_t c, int64_t oh,
                      int64_t ow, int64_t h, int64_t w, double v)
{
    pb_axis_window y = pb_axis_window_at(oh, d->ih, d->kh, d->sh, d->pt, d->pb, d->dh);
    pb_axis_window z = pb_axis_window_at(ow, d->iw, d->kw, d->sw, d->pl, d->pr, d->dw);
    double acc = 0.0;
    bool first = true;
    for (int64_t ty = y.t_lo; ty < y.t_hi; ty++) {
        int64_t ih = y.start + ty * d->dh;
        for (int64_t tx = z.t_lo; tx < z.t_hi; tx++) {
            int64_t iw = z.start + tx * d->dw;
            double t = (ih == h && iw == w)
                           ? v
                           : (double)x[pb_offset(d->layout, d->c, d->ih, d->iw, n, c, ih, iw)];
            if (d->alg != PB_ALG_MAX)
                acc += t;
            else if (first || t > acc)
                acc = t;
            first = false;
        }
    }
    return d->alg == PB_ALG_MAX ? acc : acc / (double)pb_divisor(d, oh, ow);
}

/* The part of L that depends on input (n, c, h, w), with that input = v. */
static double local_loss(const pb_desc *d, const float *x, const float *wt, int64_t n, int64_t c,
                         int64_t h, int64_t w, double v)
{
    int64_t oh_lo, oh_hi, ow_lo, ow_hi;
    covering(h, d->kh, d->sh, d->pt, d->dh, d->oh, &oh_lo, &oh_hi);
    covering(w, d->kw, d->sw, d->pl, d->dw, d->ow, &ow_lo, &ow_hi);
    double L = 0.0;
    for (int64_t oh = oh_lo; oh < oh_hi; oh++) {
        if ((h + d->pt - oh * d->sh) % d->dh != 0) continue;
        for (int64_t ow = ow_lo; ow < ow_hi; ow++) {
            if ((w + d->pl - ow * d->sw) % d->dw != 0) continue;
            double wo = wt[pb_offset(d->layout, d->c, d->oh, d->ow, n, c, oh, ow)];
            L += wo * pool_at(d, x, n, c, oh, ow, h, w, v);
        }
    }
    return L;
}

static void check_at(fd_ctx *k, int64_t n, int64_t c, int64_t h, int64_t w)
{
    const pb_desc *d = k->d;
    int64_t off = pb_offset(d->layout, d->c, d->ih, d->iw, n, c, h, w);
    double x0 = k->x[off];
    double fd = (local_loss(d, k->x, k->w, n, c, h, w, x0 + PB_FD_STEP) -
                 local_loss(d, k->x, k->w, n, c, h, w, x0 - PB_FD_STEP)) /
                (2.0 * PB_FD_STEP);
    float an = k->an[off];
    double err = fabs(fd - (double)an);
    if (isnan(err)) err = INFINITY;
    double rel = err / fmax(fabs(fd), PB_FD_ATOL / PB_FD_RTOL);
    k->checked++;
    if (err > k->max_abs) k->max_abs = err;
    if (rel > k->max_rel) k->max_rel = rel;
    if (err <= PB_FD_ATOL + PB_FD_RTOL * fabs(fd)) return;
    if (k->bad++ == 0) {
        char a[32];
        snprintf(k->first, sizeof k->first,
                 "dL/dx(n=%lld,c=%lld,h=%lld,w=%lld): finite difference %.9g, analytic %s",
                 (long long)n, (long long)c, (long long)h, (long long)w, fd, pb_v_fmt(an, a));
    }
}

/* Every position of plane p's border when it is short, else its corners
 * and 256 seeded border positions. */
static void check_border(fd_ctx *k, int64_t p, pb_v_rng *r)
{
    const pb_desc *d = k->d;
    int64_t n = p / d->c, c = p % d->c, H = d->ih, W = d->iw;
    if (2 * (H + W) <= 1024) {
        for (int64_t w = 0; w < W; w++) {
            check_at(k, n, c, 0, w);
            if (H > 1) check_at(k, n, c, H - 1, w);
        }
        for (int64_t h = 1; h + 1 < H; h++) {
            check_at(k, n, c, h, 0);
            if (W > 1) check_at(k, n, c, h, W - 1);
        }
        return;
    }
    check_at(k, n, c, 0, 0);
    check_at(k, n, c, 0, W - 1);
    check_at(k, n, c, H - 1, 0);
    check_at(k, n, c, H - 1, W - 1);
    for (int i = 0; i < 256; i++) {
        int64_t side = pb_v_below(r, 4);
        if (side < 2)
            check_at(k, n, c, side ? H - 1 : 0, pb_v_below(r, W));
        else
            check_at(k, n, c, pb_v_below(r, H), side == 3 ? W - 1 : 0);
    }
}

/* Inputs k * PB_FD_SPACING, k a seeded permutation of [-P/2, P/2) per
 * plane: exact in f32 and far apart relative to the step. */
static void fill_spaced(const pb_desc *d, uint64_t seed, float *x)
{
    int64_t P = d->ih * d->iw;
    for (int64_t n = 0; n < d->n; n++)
        for (int64_t c = 0; c < d->c; c++) {
            uint64_t key = pb_v_hash(seed ^ SALT_FD, (uint64_t)(n * d->c + c), 0);
            for (int64_t h = 0; h < d->ih; h++)
                for (int64_t w = 0; w < d->iw; w++) {
                    int64_t q = pb_v_permute(key, h * d->iw + w, P) - P / 2;
                    x[pb_offset(d->layout, d->c, d->ih, d->iw, n, c, h, w)] =
                        (float)((double)q * PB_FD_SPACING);
                }
        }
}

/* Runs the backward and, on a clean run, the finite differences. */
static pb_status gradcheck(const pb_impl *impl, const pb_impl *ref, const pb_desc *d,
                           uint64_t seed, pb_check *out, pb_v_bufset *s, char *msg, size_t len)
{
    bool is_max = d->alg == PB_ALG_MAX;
    float *x = pb_v_take(s, "src", d->src_elems);
    float *x_copy = pb_v_take(s, "src copy", d->src_elems);
    float *wt = pb_v_take(s, "diff_dst", d->dst_elems);
    float *wt_copy = pb_v_take(s, "diff_dst copy", d->dst_elems);
    float *an = pb_v_take(s, "diff_src", d->src_elems);
    float *dst_ref = is_max ? pb_v_take(s, "reference dst", d->dst_elems) : NULL;
    int32_t *ws_ref = is_max ? pb_v_take(s, "reference ws", d->dst_elems) : NULL;
    int32_t *ws = is_max ? pb_v_take(s, "ws", d->dst_elems) : NULL;
    if (s->st != PB_OK) return s->st;

    fill_spaced(d, seed, x);
    memcpy(x_copy, x, (size_t)d->src_elems * sizeof *x);
    pb_fill_diff_dst(seed, wt, d->dst_elems);
    memcpy(wt_copy, wt, (size_t)d->dst_elems * sizeof *wt);
    if (is_max) {
        pb_poison_i32(ws_ref, d->dst_elems);
        pb_status st = pb_impl_run(ref, d, PB_DIR_FWD_TRAIN,
                                   &(pb_args){.src = x, .dst = dst_ref, .ws = ws_ref});
        if (st != PB_OK) return st;
        memcpy(ws, ws_ref, (size_t)d->dst_elems * sizeof *ws);
    }
    pb_poison_f32(an, d->src_elems);
    pb_status ist = pb_impl_run(impl, d, PB_DIR_BWD,
                                &(pb_args){.src = x, .ws = ws, .diff_dst = wt, .diff_src = an});
    pb_v_ro ro[] = {{x, x_copy, (size_t)d->src_elems * sizeof *x, "src"},
                    {wt, wt_copy, (size_t)d->dst_elems * sizeof *wt, "diff_dst"},
                    {ws, ws_ref, (size_t)d->dst_elems * sizeof(int32_t), "ws"}};
    if (!pb_v_run_ok(ist, s, ro, 3, msg, len)) {
        out->verdict = PB_FAIL;
        return PB_OK;
    }

    fd_ctx k = {.d = d, .x = x, .w = wt, .an = an};
    if (d->src_elems <= PB_FD_FULL) {
        for (int64_t n = 0; n < d->n; n++)
            for (int64_t c = 0; c < d->c; c++)
                for (int64_t h = 0; h < d->ih; h++)
                    for (int64_t w = 0; w < d->iw; w++) check_at(&k, n, c, h, w);
    } else {
        pb_v_rng r = {pb_v_hash(seed ^ SALT_FD, 1, 2)};
        int64_t planes = d->n * d->c, P = d->ih * d->iw;
        check_border(&k, 0, &r);
        if (planes > 1) check_border(&k, planes - 1, &r);
        if (planes > 2) check_border(&k, pb_v_below(&r, planes), &r);
        for (int i = 0; i < 1024; i++) {
            int64_t e = pb_v_below(&r, d->src_elems), p = e / P;
            check_at(&k, p / d->c, p % d->c, (e % P) / d->iw, e % d->iw);
        }
    }
    out->compared = k.checked;
    out->max_abs_err = k.max_abs;
    out->max_ulp_err = k.max_rel;
    if (k.bad) {
        out->verdict = PB_FAIL;
        snprintf(msg, len, "%s (%lld of %lld checked positions off)", k.first, (long long)k.bad,
                 (long long)k.checked);
    } else if (k.checked == d->src_elems && d->src_elems <= PB_FD_FULL) {
        snprintf(msg, len, "checked all %lld inputs", (long long)k.checked);
    } else {
        snprintf(msg, len, "checked %lld sampled positions of %lld inputs", (long long)k.checked,
                 (long long)d->src_elems);
    }
    return PB_OK;
}

pb_status pb_gradcheck_case(const pb_impl *impl, const pb_desc *d, uint64_t seed, pb_check *out)
{
    if (!out) return PB_ERR_NULL;
    memset(out, 0, sizeof *out);
    if (!impl || !d) return PB_ERR_NULL;
    pb_desc dd;
    pb_status st = pb_v_finalized(d, &dd);
    if (st != PB_OK) return st;
    const pb_impl *ref = pb_impl_reference();
    if (!ref) return PB_ERR_UNKNOWN_NAME;
    const char *why = NULL;
    if (!pb_impl_accepts(impl, &dd, PB_DIR_BWD, &why)) {
        pb_v_verdict(out, PB_SKIP, "%s", why ? why : "not accepted");
        return PB_OK;
    }
    pb_v_bufset s = {.count = 0, .st = PB_OK};
    char msg[256] = "";
    st = gradcheck(impl, ref, &dd, seed, out, &s, msg, sizeof msg);
    pb_v_release(&s);
    if (st != PB_OK) {
        memset(out, 0, sizeof *out);
        return st;
    }
    if (out->verdict == PB_FAIL) {
        char desc[128];
        pb_v_describe(&dd, desc, sizeof desc);
        pb_v_verdict(out, PB_FAIL, "seed=%llu %s bwd: %s", (unsigned long long)seed, desc, msg);
    } else {
        pb_v_verdict(out, PB_PASS, "%s", msg);
    }
    return PB_OK;
}
