/* XNNPACK (Debian libxnnpack-dev, 2022-02 snapshot) as a comparison
 * backend: entry `xnnpack`, NHWC forward inference only.
 *
 *   max       xnn_create_max_pooling2d_nhwc_f32 (has dilation)
 *   avg       xnn_create_average_pooling2d_nhwc_f32: with any padding it
 *             divides by the input pixels the window covers, i.e. avg_excl;
 *             with all four paddings zero avg_incl counts the same taps
 *             (its padded extent is the input, ceil overhang excluded), so
 *             it serves avg_incl then too.
 *   global    xnn_create_global_average_pooling_nwc_f32 when the window is
 *             the whole plane (global flag, or k = input and no padding).
 * Ceil mode: XNNPACK's output rule is floor((pad + in - range) / s) + 1, so
 * the bottom/right padding grows until it gives our output size; XNNPACK's
 * average never counts padding, so that is exact (max: see below).
 * Declined (supports(), with the rule):
 *   avg_incl with nonzero padding (XNNPACK excludes padding),
 *   dilated average (no dilation parameter),
 *   a 1x1 window, except global average (XNNPACK refuses pooling of 1
 *     pixel),
 *   dilated max where XNNPACK's substitute for a padded tap is not a tap
 *     of that window (see substitute_exact()),
 *   anything xnn_create_* rejects (its status is quoted).
 * NaN: never propagates, in max or average (see .quirks below).
 * Threads: d->threads == 1 runs on the calling thread (no pthreadpool),
 * otherwise a pthreadpool of d->threads workers (0: one per core) made in
 * prepare(). */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xnnpack.h>

#include "pool.h"

static const char *xnn_status_name(enum xnn_status s)
{
    switch (s) {
    case xnn_status_success: return "xnn_status_success";
    case xnn_status_uninitialized: return "xnn_status_uninitialized";
    case xnn_status_invalid_parameter: return "xnn_status_invalid_parameter";
    case xnn_status_invalid_state: return "xnn_status_invalid_state";
    case xnn_status_unsupported_parameter: return "xnn_status_unsupported_parameter";
    case xnn_status_unsupported_hardware: return "xnn_status_unsupported_hardware";
    case xnn_status_out_of_memory: return "xnn_status_out_of_memory";
    }
    return "unknown xnn_status";
}

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static enum xnn_status init_status;
static void init_xnnpack(void) { init_status = xnn_initialize(NULL); }

/* The bottom/right padding that makes XNNPACK's floor rule give `out`. */
static int64_t grown_pad(int64_t in, int64_t k, int64_t s, int64_t plo, int64_t phi, int64_t dil,
                         int64_t out)
{
    int64_t need = (out - 1) * s + (k - 1) * dil + 1 - in - plo;
    return need > phi ? need : phi;
}

/* The window is the whole plane: one output per (n, c). */
static bool is_global(const pb_desc *d)
{
    return d->global || (d->kh == d->ih && d->kw == d->iw && d->pt == 0 && d->pb == 0 &&
                         d->pl == 0 && d->pr == 0 && (d->dh == 1 || d->kh == 1) &&
                         (d->dw == 1 || d->kw == 1));
}

/* XNNPACK max pooling reads another pixel in place of each padded tap
 * (its indirection buffer has no padding entries):
 *   no dilation on either axis: the nearest edge pixel, which a contiguous
 *     window reaching past that edge always taps itself: exact;
 *   any dilation (even on the other axis): per axis, tap t = plo/dil (+1
 *     when o*s < plo%dil) of the window, its first in-input tap only when
 *     the window starts in the top/left padding.  For a window that runs
 *     into the bottom/right padding that tap may lie past the input (read
 *     out of bounds) or be no tap at all.
 * True when every substitute along this axis is a real tap of its window. */
static bool substitute_exact(int64_t in, int64_t k, int64_t s, int64_t plo, int64_t phi,
                             int64_t dil, int64_t out, bool any_dilation)
{
    if (!any_dilation) return true;
    for (int64_t o = 0; o < out; o++) {
        pb_axis_window w = pb_axis_window_at(o, in, k, s, plo, phi, dil);
        if (w.t_lo == 0 && w.t_hi == k) continue; /* no padded tap */
        int64_t t = plo / dil + (o * s < plo % dil ? 1 : 0);
        if (t < w.t_lo || t >= w.t_hi) return false;
    }
    return true;
}

typedef enum xnn_kind { KIND_MAX, KIND_AVG, KIND_GLOBAL_AVG } xnn_kind;

typedef struct xnn_state {
    xnn_operator_t op;
    pthreadpool_t pool;  /* NULL: run on the calling thread */
    xnn_kind kind;
    size_t n, ih, iw;    /* batch and input plane, for setup */
    const float *src;    /* the buffers setup bound */
    float *dst;
} xnn_state;

static enum xnn_status create_op(const pb_desc *d, xnn_operator_t *op)
{
    size_t c = (size_t)d->c;
    if (is_global(d) && d->alg != PB_ALG_MAX)
        return xnn_create_global_average_pooling_nwc_f32(c, c, c, -INFINITY, INFINITY, 0, op);
    uint32_t pb = (uint32_t)grown_pad(d->ih, d->kh, d->sh, d->pt, d->pb, d->dh, d->oh);
    uint32_t pr = (uint32_t)grown_pad(d->iw, d->kw, d->sw, d->pl, d->pr, d->dw, d->ow);
    if (d->alg == PB_ALG_MAX)
        return xnn_create_max_pooling2d_nhwc_f32(
            (uint32_t)d->pt, pr, pb, (uint32_t)d->pl, (uint32_t)d->kh, (uint32_t)d->kw,
            (uint32_t)d->sh, (uint32_t)d->sw, (uint32_t)d->dh, (uint32_t)d->dw, c, c, c,
            -INFINITY, INFINITY, 0, op);
    return xnn_create_average_pooling2d_nhwc_f32((uint32_t)d->pt, pr, pb, (uint32_t)d->pl,
                                                 (uint32_t)d->kh, (uint32_t)d->kw,
                                                 (uint32_t)d->sh, (uint32_t)d->sw, c, c, c,
                                                 -INFINITY, INFINITY, 0, op);
}

static _Thread_local char why_buf[200];

static bool xnn_supports(const pb_desc *d, pb_dir dir, const char **why)
{
    const char *dummy;
    if (!why) why = &dummy;
    if (!d) {
        *why = "null descriptor";
        return false;
    }
    if (dir != PB_DIR_FWD_INF) {
        *why = "XNNPACK has forward inference only";
        return false;
    }
    bool global = is_global(d);
    bool padded = d->pt || d->pb || d->pl || d->pr;
    if (d->alg == PB_ALG_AVG_INCL && padded) {
        *why = "XNNPACK average pooling excludes padding from the divisor (avg_excl); "
               "avg_incl differs when padding is nonzero";
        return false;
    }
    if (d->alg != PB_ALG_MAX && !global && (d->dh > 1 || d->dw > 1)) {
        *why = "XNNPACK average pooling has no dilation";
        return false;
    }
    /* only global average has its own operator; everything else is a
     * pooling window, which XNNPACK wants larger than one pixel */
    if ((d->alg == PB_ALG_MAX || !global) && d->kh * d->kw == 1) {
        *why = "XNNPACK refuses a 1x1 pooling window (xnn_status_invalid_parameter)";
        return false;
    }
    bool dilated = d->dh > 1 || d->dw > 1;
    if (d->alg == PB_ALG_MAX &&
        (!substitute_exact(d->ih, d->kh, d->sh, d->pt, d->pb, d->dh, d->oh, dilated) ||
         !substitute_exact(d->iw, d->kw, d->sw, d->pl, d->pr, d->dw, d->ow, dilated))) {
        *why = "XNNPACK dilated max pooling reads a substitute pixel for padded taps that is "
               "not a tap of the window here (wrong value or out-of-bounds read)";
        return false;
    }
    pthread_once(&init_once, init_xnnpack);
    if (init_status != xnn_status_success) {
        snprintf(why_buf, sizeof why_buf, "xnn_initialize failed: %s",
                 xnn_status_name(init_status));
        *why = why_buf;
        return false;
    }
    xnn_operator_t op = NULL;
    enum xnn_status st = create_op(d, &op);
    if (st != xnn_status_success) {
        snprintf(why_buf, sizeof why_buf, "XNNPACK refuses this problem: %s",
                 xnn_status_name(st));
        *why = why_buf;
        return false;
    }
    xnn_delete_operator(op);
    return true;
}

/* Binds buffers (and, for padded average pooling, builds XNNPACK's
 * indirection and divisor tables). */
static enum xnn_status setup(xnn_state *s, const float *src, float *dst)
{
    enum xnn_status st;
    if (s->kind == KIND_GLOBAL_AVG)
        st = xnn_setup_global_average_pooling_nwc_f32(s->op, s->n, s->ih * s->iw, src, dst,
                                                      s->pool);
    else if (s->kind == KIND_MAX)
        st = xnn_setup_max_pooling2d_nhwc_f32(s->op, s->n, s->ih, s->iw, src, dst, s->pool);
    else
        st = xnn_setup_average_pooling2d_nhwc_f32(s->op, s->n, s->ih, s->iw, src, dst, s->pool);
    if (st == xnn_status_success) {
        s->src = src;
        s->dst = dst;
    }
    return st;
}

static void xnn_release(void *state)
{
    xnn_state *s = state;
    if (!s) return;
    if (s->op) xnn_delete_operator(s->op);
    if (s->pool) pthreadpool_destroy(s->pool);
    free(s);
}

static pb_status xnn_prepare(const pb_desc *d, pb_dir dir, const pb_args *a, void **state)
{
    if (!state) return PB_ERR_NULL;
    *state = NULL;
    if (!d || !a || !a->src || !a->dst) return PB_ERR_NULL;
    if (!xnn_supports(d, dir, NULL)) return PB_ERR_UNSUPPORTED;
    xnn_state *s = calloc(1, sizeof *s);
    if (!s) return PB_ERR_NOMEM;
    s->kind = is_global(d) && d->alg != PB_ALG_MAX ? KIND_GLOBAL_AVG
              : d->alg == PB_ALG_MAX                 ? KIND_MAX
                                                     : KIND_AVG;
    s->n = (size_t)d->n;
    s->ih = (size_t)d->ih;
    s->iw = (size_t)d->iw;
    if (d->threads != 1) {
        s->pool = pthreadpool_create((size_t)d->threads); /* 0: one per core */
        if (!s->pool) {
            free(s);
            return PB_ERR_NOMEM;
        }
    }
    enum xnn_status st = create_op(d, &s->op);
    if (st != xnn_status_success) s->op = NULL;
    if (st == xnn_status_success) st = setup(s, a->src, a->dst);
    if (st != xnn_status_success) {
        xnn_release(s);
        return st == xnn_status_out_of_memory ? PB_ERR_NOMEM : PB_ERR_LIBRARY;
    }
    *state = s;
    return PB_OK;
}

/* The timed call: run the operator; set up again only if the caller
 * passes other buffers than the ones bound in prepare(). */
static pb_status xnn_fwd(const pb_desc *d, const pb_args *a, void *state)
{
    xnn_state *s = state;
    if (!d || !a || !s || !a->src || !a->dst) return PB_ERR_NULL;
    if ((a->src != s->src || a->dst != s->dst) && setup(s, a->src, a->dst) != xnn_status_success)
        return PB_ERR_LIBRARY;
    return xnn_run_operator(s->op, s->pool) == xnn_status_success ? PB_OK : PB_ERR_LIBRARY;
}

const pb_impl pb_impl_xnnpack = {
    .name = "xnnpack",
    .summary = "XNNPACK (2022-02) NHWC forward: max, average, global average (comparison)",
    .isa = PB_ISA_BASELINE,
    .algs = PB_ALL_ALGS,
    .layouts = PB_BIT(PB_LAYOUT_NHWC),
    .dirs = PB_BIT(PB_DIR_FWD_INF),
    .priority = -12,
    .external = true,
    /* measured: a NaN result never comes out.  XNNPACK's output clamp
     * (max with output_min, then min with output_max) turns a NaN average
     * into -inf, and in max pooling a NaN tap gives +inf or the max of part
     * of the window.  An all -inf window gives -inf as ours does. */
    .quirks = PB_QUIRK_NAN_CLAMPED,
    .parallel = true,
    .supports = xnn_supports,
    .prepare = xnn_prepare,
    .fwd = xnn_fwd,
    .release = xnn_release,
};
