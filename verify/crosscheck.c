/* Cross-check: one implementation against the reference on one case.
 * See verify.h for the tolerance rules and the SKIP cases. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "verify_internal.h"

/* Max rule: bitwise, any two non-poison NaNs equal.  *err is |got - ref|
 * (inf for a non-finite mismatch). */
static bool max_equal(float got, float ref, double *err)
{
    *err = 0.0;
    bool ok;
    if (pb_is_poison_f32(got))
        ok = false;
    else if (isnan(ref))
        ok = isnan(got);
    else
        ok = pb_v_same_bits(got, ref);
    if (!ok) *err = isfinite(got) && isfinite(ref) ? fabs((double)got - (double)ref) : INFINITY;
    return ok;
}

/* Avg rule: PB_AVG_ULPS ulps at max(|ref|, ref_abs, 1); non-finite
 * references exactly. */
static bool avg_close(float got, float ref, float ref_abs, double *err, double *ulps)
{
    *err = 0.0;
    *ulps = 0.0;
    if (pb_is_poison_f32(got)) {
        *err = *ulps = INFINITY;
        return false;
    }
    if (!isfinite(ref)) {
        bool ok = isnan(ref) ? isnan(got) : got == ref;
        if (!ok) *err = *ulps = INFINITY;
        return ok;
    }
    if (!isfinite(got)) {
        *err = *ulps = INFINITY;
        return false;
    }
    double scale = fmax(fabs((double)ref), 1.0);
    if (isfinite(ref_abs)) scale = fmax(scale, fabs((double)ref_abs));
    *err = fabs((double)got - (double)ref);
    *ulps = *err / pb_v_ulp(scale);
    return *ulps <= PB_AVG_ULPS;
}

/* What to compare: a float tensor of the output (dst) or input (diff_src)
 * shape; ref_abs non-NULL selects the avg rule; ws_got/ws_ref non-NULL
 * adds argmax. */
typedef struct compare_spec {
    const char *what;
    bool out_shape;
    const float *got, *ref, *ref_abs;
    const int32_t *ws_got, *ws_ref;
} compare_spec;

/* Walks (n, c, h, w) in logical order so "first" means the same in both
 * layouts; counts mismatches, records the first into msg and the error
 * maxima into out. */
static int64_t compare(const pb_desc *d, const compare_spec *cs, pb_check *out, char *msg,
                       size_t len)
{
    int64_t H = cs->out_shape ? d->oh : d->ih, W = cs->out_shape ? d->ow : d->iw, bad = 0;
    for (int64_t n = 0; n < d->n; n++)
        for (int64_t c = 0; c < d->c; c++)
            for (int64_t h = 0; h < H; h++)
                for (int64_t w = 0; w < W; w++) {
                    int64_t o = pb_offset(d->layout, d->c, H, W, n, c, h, w);
                    double err, ulps;
                    bool ok;
                    if (cs->ref_abs) {
                        ok = avg_close(cs->got[o], cs->ref[o], cs->ref_abs[o], &err, &ulps);
                    } else {
                        ok = max_equal(cs->got[o], cs->ref[o], &err);
                        /* pb_v_ulp only for a difference: it dominated
                         * the check of 1 GiB problems */
                        ulps = err == 0.0 ? 0.0
                               : isfinite(err) ? err / pb_v_ulp(fmax(fabs((double)cs->ref[o]), 1.0))
                                               : err;
                    }
                    out->compared++;
                    if (err > out->max_abs_err) out->max_abs_err = err;
                    if (ulps > out->max_ulp_err) out->max_ulp_err = ulps;
                    bool ws_ok = true;
                    if (cs->ws_got) {
                        out->compared++;
                        ws_ok = cs->ws_got[o] == cs->ws_ref[o];
                    }
                    if (ok && ws_ok) continue;
                    if (bad++ == 0) {
                        char g[32], r[32];
                        int k = snprintf(msg, len, "%s(n=%lld,c=%lld,h=%lld,w=%lld) got %s expected %s",
                                         cs->what, (long long)n, (long long)c, (long long)h,
                                         (long long)w, pb_v_fmt(cs->got[o], g),
                                         pb_v_fmt(cs->ref[o], r));
                        if (cs->ws_got && k > 0 && (size_t)k < len) {
                            if (cs->ws_got[o] == PB_POISON_I32)
                                snprintf(msg + k, len - (size_t)k, ", argmax got unwritten expected %d",
                                         (int)cs->ws_ref[o]);
                            else
                                snprintf(msg + k, len - (size_t)k, ", argmax got %d expected %d",
                                         (int)cs->ws_got[o], (int)cs->ws_ref[o]);
                        }
                    }
                }
    return bad;
}

static void abs_copy(float *dst, const float *src, int64_t n)
{
    for (int64_t i = 0; i < n; i++) dst[i] = fabsf(src[i]);
}

/* The reference side of a check: the inputs, their snapshots and the
 * reference's outputs, kept from one call to the next under a key naming
 * (problem, alg, layout, dir, fill, seed).  bench verifies every
 * implementation and thread count of a case in a row; on the sweep's
 * ~1 GiB problems the naive reference and the fill would otherwise
 * dominate its run time.  One entry per thread. */
typedef struct ref_side {
    char key[256];
    pb_v_bufset s;
    float *src, *src_copy, *dst_ref, *dst_abs, *dd, *dd_copy, *ds_ref, *ds_abs;
    int32_t *ws_ref;
} ref_side;
static _Thread_local ref_side cached;

void pb_verify_release_cache(void)
{
    pb_v_release(&cached.s);
    memset(&cached, 0, sizeof cached);
}

/* Fills rs for (d, dir, fill, seed), reusing it when the key matches. */
static pb_status reference_side(const pb_impl *ref, const pb_desc *d, pb_dir dir, pb_fill fill,
                                uint64_t seed, ref_side *rs)
{
    char key[sizeof rs->key], desc[160];
    pb_v_describe(d, desc, sizeof desc);
    snprintf(key, sizeof key, "%s %s %s %llu", desc, pb_dir_name(dir), pb_fill_name(fill),
             (unsigned long long)seed);
    if (rs->key[0] && !strcmp(rs->key, key)) return PB_OK;
    pb_verify_release_cache();

    bool is_max = d->alg == PB_ALG_MAX, bwd = dir == PB_DIR_BWD;
    bool want_ws = is_max && dir != PB_DIR_FWD_INF;
    pb_v_bufset *s = &rs->s;
    rs->src = pb_v_take(s, "src", d->src_elems);
    rs->src_copy = pb_v_take(s, "src copy", d->src_elems);
    rs->dst_ref = (!bwd || is_max) ? pb_v_take(s, "reference dst", d->dst_elems) : NULL;
    rs->ws_ref = want_ws ? pb_v_take(s, "reference ws", d->dst_elems) : NULL;
    if (!bwd) {
        rs->dst_abs = is_max ? NULL : pb_v_take(s, "reference |dst|", d->dst_elems);
    } else {
        rs->dd = pb_v_take(s, "diff_dst", d->dst_elems);
        rs->dd_copy = pb_v_take(s, "diff_dst copy", d->dst_elems);
        rs->ds_ref = pb_v_take(s, "reference diff_src", d->src_elems);
        rs->ds_abs = is_max ? NULL : pb_v_take(s, "reference |diff_src|", d->src_elems);
    }
    /* scratch for the |x| runs of the avg rule, freed below */
    pb_v_bufset tmp = {.count = 0, .st = PB_OK};
    float *abs_in = is_max ? NULL
                           : pb_v_take(&tmp, "reference |input|", bwd ? d->dst_elems : d->src_elems);
    pb_status st = s->st != PB_OK ? s->st : tmp.st;

    if (st == PB_OK) {
        pb_fill_src(d, fill, seed, rs->src, d->src_elems);
        memcpy(rs->src_copy, rs->src, (size_t)d->src_elems * sizeof *rs->src);
        if (rs->dst_ref) pb_poison_f32(rs->dst_ref, d->dst_elems);
        pb_poison_i32(rs->ws_ref, want_ws ? d->dst_elems : 0);
    }
    if (st == PB_OK && !bwd) {
        st = pb_impl_run(ref, d, dir, &(pb_args){.src = rs->src, .dst = rs->dst_ref, .ws = rs->ws_ref});
        if (st == PB_OK && !is_max) {
            abs_copy(abs_in, rs->src, d->src_elems);
            st = pb_impl_run(ref, d, PB_DIR_FWD_INF, &(pb_args){.src = abs_in, .dst = rs->dst_abs});
        }
    } else if (st == PB_OK) {
        pb_fill_diff_dst(seed, rs->dd, d->dst_elems);
        memcpy(rs->dd_copy, rs->dd, (size_t)d->dst_elems * sizeof *rs->dd);
        if (is_max)
            st = pb_impl_run(ref, d, PB_DIR_FWD_TRAIN,
                             &(pb_args){.src = rs->src, .dst = rs->dst_ref, .ws = rs->ws_ref});
        if (st == PB_OK) {
            pb_poison_f32(rs->ds_ref, d->src_elems);
            st = pb_impl_run(ref, d, PB_DIR_BWD,
                             &(pb_args){.src = rs->src, .ws = rs->ws_ref, .diff_dst = rs->dd,
                                        .diff_src = rs->ds_ref});
        }
        if (st == PB_OK && !is_max) {
            abs_copy(abs_in, rs->dd, d->dst_elems);
            pb_poison_f32(rs->ds_abs, d->src_elems);
            st = pb_impl_run(ref, d, PB_DIR_BWD,
                             &(pb_args){.src = rs->src, .diff_dst = abs_in, .diff_src = rs->ds_abs});
        }
    }
    pb_v_release(&tmp);
    if (st != PB_OK) {
        pb_verify_release_cache();
        return st;
    }
    memcpy(rs->key, key, sizeof key);
    return PB_OK;
}

/* After an implementation's run: its status, the guards of both buffer
 * sets and the read-only inputs.  A failure also drops the reference side
 * (the run may have scribbled on it). */
static bool run_ok(pb_status ist, const pb_v_bufset *s, ref_side *rs, const pb_v_ro *ro, int n_ro,
                   char *msg, size_t len)
{
    if (pb_v_run_ok(ist, s, ro, n_ro, msg, len) && pb_v_run_ok(PB_OK, &rs->s, NULL, 0, msg, len))
        return true;
    pb_verify_release_cache();
    return false;
}

/* Forward (inference or training).  The verdict goes to out. */
static void verify_fwd(const pb_impl *impl, const pb_desc *d, pb_dir dir, ref_side *rs,
                       bool cmp_argmax, pb_check *out, pb_v_bufset *s, char *msg, size_t len)
{
    bool want_ws = d->alg == PB_ALG_MAX && dir == PB_DIR_FWD_TRAIN;
    float *dst = pb_v_take(s, "dst", d->dst_elems);
    int32_t *ws = want_ws ? pb_v_take(s, "ws", d->dst_elems) : NULL;
    if (s->st != PB_OK) return;

    pb_poison_f32(dst, d->dst_elems);
    pb_poison_i32(ws, want_ws ? d->dst_elems : 0);
    pb_status ist = pb_impl_run(impl, d, dir, &(pb_args){.src = rs->src, .dst = dst, .ws = ws});

    pb_v_ro ro[] = {{rs->src, rs->src_copy, (size_t)d->src_elems * sizeof(float), "src"}};
    if (!run_ok(ist, s, rs, ro, 1, msg, len)) {
        out->verdict = PB_FAIL;
        return;
    }
    compare_spec cs = {.what = "dst", .out_shape = true, .got = dst, .ref = rs->dst_ref,
                       .ref_abs = rs->dst_abs};
    if (want_ws && cmp_argmax) {
        cs.ws_got = ws;
        cs.ws_ref = rs->ws_ref;
    }
    int64_t bad = compare(d, &cs, out, msg, len);
    if (bad) {
        out->verdict = PB_FAIL;
        size_t k = strlen(msg);
        snprintf(msg + k, len - k, " (%lld of %lld outputs differ)", (long long)bad,
                 (long long)d->dst_elems);
    }
}

static void verify_bwd(const pb_impl *impl, const pb_desc *d, ref_side *rs, pb_check *out,
                       pb_v_bufset *s, char *msg, size_t len)
{
    bool is_max = d->alg == PB_ALG_MAX;
    float *ds = pb_v_take(s, "diff_src", d->src_elems);
    int32_t *ws = is_max ? pb_v_take(s, "ws", d->dst_elems) : NULL;
    if (s->st != PB_OK) return;
    if (is_max) memcpy(ws, rs->ws_ref, (size_t)d->dst_elems * sizeof *ws);

    pb_poison_f32(ds, d->src_elems);
    pb_status ist = pb_impl_run(impl, d, PB_DIR_BWD,
                                &(pb_args){.src = rs->src, .ws = ws, .diff_dst = rs->dd,
                                           .diff_src = ds});

    pb_v_ro ro[] = {{rs->src, rs->src_copy, (size_t)d->src_elems * sizeof(float), "src"},
                    {rs->dd, rs->dd_copy, (size_t)d->dst_elems * sizeof(float), "diff_dst"},
                    {ws, rs->ws_ref, (size_t)d->dst_elems * sizeof(int32_t), "ws"}};
    if (!run_ok(ist, s, rs, ro, 3, msg, len)) {
        out->verdict = PB_FAIL;
        return;
    }
    compare_spec cs = {.what = "diff_src", .out_shape = false, .got = ds, .ref = rs->ds_ref,
                       .ref_abs = rs->ds_abs};
    int64_t bad = compare(d, &cs, out, msg, len);
    if (bad) {
        out->verdict = PB_FAIL;
        size_t k = strlen(msg);
        snprintf(msg + k, len - k, " (%lld of %lld inputs differ)", (long long)bad,
                 (long long)d->src_elems);
    }
}

pb_status pb_verify_case(const pb_impl *impl, const pb_desc *d, pb_dir dir, pb_fill fill,
                         uint64_t seed, pb_check *out)
{
    if (!out) return PB_ERR_NULL;
    memset(out, 0, sizeof *out);
    if (!impl || !d) return PB_ERR_NULL;
    if ((unsigned)dir >= PB_DIR_COUNT) return PB_ERR_DIR;
    if ((unsigned)fill >= PB_FILL_COUNT) return PB_ERR_UNKNOWN_NAME;
    pb_desc dd;
    pb_status st = pb_v_finalized(d, &dd);
    if (st != PB_OK) return st;
    const pb_impl *ref = pb_impl_reference();
    if (!ref) return PB_ERR_UNKNOWN_NAME;

    const char *why = NULL;
    if (!pb_impl_accepts(impl, &dd, dir, &why)) {
        pb_v_verdict(out, PB_SKIP, "%s", why ? why : "not accepted");
        return PB_OK;
    }
    bool is_max = dd.alg == PB_ALG_MAX, repeats = fill != PB_FILL_DISTINCT;
    if (is_max && fill == PB_FILL_NAN && (impl->quirks & PB_QUIRK_NAN_IGNORED)) {
        pb_v_verdict(out, PB_SKIP, "%s ignores NaN (poolbench: NaN wins)", impl->name);
        return PB_OK;
    }
    if (is_max && fill == PB_FILL_INF && (impl->quirks & PB_QUIRK_NEG_INF_FLT_MAX)) {
        pb_v_verdict(out, PB_SKIP, "%s gives -FLT_MAX for an all -inf window (poolbench: -inf)",
                     impl->name);
        return PB_OK;
    }
    if ((impl->quirks & PB_QUIRK_NAN_CLAMPED) &&
        (fill == PB_FILL_NAN || (fill == PB_FILL_INF && !is_max))) {
        pb_v_verdict(out, PB_SKIP,
                     "%s clamps its output: a NaN result (NaN input, or +inf and -inf averaged) "
                     "comes out as +-inf or a partial max (poolbench: NaN)",
                     impl->name);
        return PB_OK;
    }
    bool tie_order = (impl->quirks & PB_QUIRK_TIE_ORDER) && repeats;
    if (is_max && dir == PB_DIR_BWD && tie_order && impl->own_workspace) {
        pb_v_verdict(out, PB_SKIP,
                     "%s keeps its own argmax and may resolve ties to another maximum", impl->name);
        return PB_OK;
    }

    st = reference_side(ref, &dd, dir, fill, seed, &cached);
    if (st != PB_OK) return st;
    pb_v_bufset s = {.count = 0, .st = PB_OK};
    char msg[256] = "";
    if (dir == PB_DIR_BWD)
        verify_bwd(impl, &dd, &cached, out, &s, msg, sizeof msg);
    else
        verify_fwd(impl, &dd, dir, &cached, !impl->own_workspace && !tie_order, out, &s, msg,
                   sizeof msg);
    st = s.st;
    pb_v_release(&s);
    if (st != PB_OK) {
        memset(out, 0, sizeof *out);
        return st;
    }
    if (out->verdict == PB_FAIL) {
        char desc[128];
        pb_v_describe(&dd, desc, sizeof desc);
        pb_v_verdict(out, PB_FAIL, "seed=%llu %s %s %s: %s", (unsigned long long)seed, desc,
                     pb_dir_name(dir), pb_fill_name(fill), msg);
    }
    return PB_OK;
}
