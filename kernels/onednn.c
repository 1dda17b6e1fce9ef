/* oneDNN 2.6 pooling (C API, pooling_v2 for dilation) as a comparison
 * backend: entries `onednn` (NCHW / NHWC as given) and `onednn_blocked`
 * (nChw16c, conversions outside the timed calls).  See onednn.h.
 *
 * Mapping of a pb_desc onto oneDNN:
 *   dilation   oneDNN counts the gap: dnnl_dil = dh - 1.
 *   ceil mode  oneDNN has none; its output rule is floor((in - range +
 *              pad_l + pad_r) / s) + 1, so the right/bottom padding grows
 *              until that gives our output size.  Harmless for max (padding
 *              never wins) and avg_excl (padding is not counted), wrong for
 *              avg_incl when a window runs past our padding: declined.
 * Declined (supports(), with the rule):
 *   avg_incl  when a ceil-mode window runs past the padding: oneDNN divides
 *             by the full kh*kw window, we by the taps inside the padding.
 *   avg_excl  when dh-1 >= ih or dw-1 >= iw: oneDNN's descriptor check
 *             refuses it (dilation gap not smaller than the input).
 *   anything  whose primitive descriptor oneDNN fails to create: the
 *             reason quotes oneDNN's status (checked by creating it).
 * Data-dependent differences are declared as quirks (NaN ignored, an all
 * -inf window gives -FLT_MAX); argmax lives in oneDNN's own workspace.
 *
 * Threads: the Debian build uses OpenMP and has no dnnl_set_max_threads;
 * oneDNN reads omp_get_max_threads() when it creates and runs a primitive.
 * With d->threads > 0 we call omp_set_num_threads(d->threads) around
 * primitive creation and around each execution, then restore the previous
 * value, so other implementations' OpenMP settings are untouched.  With
 * d->threads == 1 oneDNN runs its kernel on the calling thread without an
 * OpenMP parallel region. */
#include "onednn.h"

#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- conversion record ------------------------------------------------ */

static pthread_mutex_t conv_lock = PTHREAD_MUTEX_INITIALIZER;
static pb_onednn_conversion conv_last;

pb_status pb_onednn_last_conversion(pb_onednn_conversion *out)
{
    if (!out) return PB_ERR_NULL;
    pthread_mutex_lock(&conv_lock);
    *out = conv_last;
    pthread_mutex_unlock(&conv_lock);
    return PB_OK;
}

double pb_onednn_last_conversion_seconds(void)
{
    pb_onednn_conversion c;
    pb_onednn_last_conversion(&c);
    return c.to_blocked_s + c.from_blocked_s;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- threads ---------------------------------------------------------- */

/* Sets OpenMP's thread count for oneDNN, returns the value to restore. */
static int threads_enter(int want)
{
    int saved = omp_get_max_threads();
    if (want > 0 && want != saved) omp_set_num_threads(want);
    return saved;
}

static void threads_leave(int want, int saved)
{
    if (want > 0 && want != saved) omp_set_num_threads(saved);
}

/* ---- descriptors ------------------------------------------------------ */

/* oneDNN's view of a problem: dims, window and the padding that makes its
 * floor output rule give our (possibly ceil-mode) output size. */
typedef struct geom {
    dnnl_dims_t src, dst, strides, kernel, dil, pad_l, pad_r;
} geom;

static int64_t grown_pad(int64_t in, int64_t k, int64_t s, int64_t plo, int64_t phi, int64_t dil,
                         int64_t out)
{
    int64_t need = (out - 1) * s + (k - 1) * dil + 1 - in - plo;
    return need > phi ? need : phi;
}

static void make_geom(const pb_desc *d, geom *g)
{
    memset(g, 0, sizeof *g);
    g->src[0] = g->dst[0] = d->n;
    g->src[1] = g->dst[1] = d->c;
    g->src[2] = d->ih;
    g->src[3] = d->iw;
    g->dst[2] = d->oh;
    g->dst[3] = d->ow;
    g->strides[0] = d->sh;
    g->strides[1] = d->sw;
    g->kernel[0] = d->kh;
    g->kernel[1] = d->kw;
    g->dil[0] = d->dh - 1;
    g->dil[1] = d->dw - 1;
    g->pad_l[0] = d->pt;
    g->pad_l[1] = d->pl;
    g->pad_r[0] = grown_pad(d->ih, d->kh, d->sh, d->pt, d->pb, d->dh, d->oh);
    g->pad_r[1] = grown_pad(d->iw, d->kw, d->sw, d->pl, d->pr, d->dw, d->ow);
}

static dnnl_format_tag_t user_tag(const pb_desc *d)
{
    return d->layout == PB_LAYOUT_NHWC ? dnnl_nhwc : dnnl_nchw;
}

static dnnl_alg_kind_t dnnl_alg(pb_alg a)
{
    return a == PB_ALG_MAX        ? dnnl_pooling_max
           : a == PB_ALG_AVG_INCL ? dnnl_pooling_avg_include_padding
                                  : dnnl_pooling_avg_exclude_padding;
}

/* The forward primitive descriptor (inference or training) and, for
 * backward, the backward one hinted by a training forward.  On failure
 * *stage names the call that failed and the oneDNN status is returned. */
static dnnl_status_t make_pds(dnnl_engine_t eng, const pb_desc *d, pb_dir dir, bool blocked,
                              dnnl_primitive_desc_t *fwd, dnnl_primitive_desc_t *bwd,
                              const char **stage)
{
    *fwd = *bwd = NULL;
    geom g;
    make_geom(d, &g);
    dnnl_format_tag_t tag = blocked ? dnnl_nChw16c : user_tag(d);
    dnnl_memory_desc_t smd, dmd;
    dnnl_status_t r = dnnl_memory_desc_init_by_tag(&smd, 4, g.src, dnnl_f32, tag);
    if (r == dnnl_success) r = dnnl_memory_desc_init_by_tag(&dmd, 4, g.dst, dnnl_f32, tag);
    if (r != dnnl_success) {
        *stage = "dnnl_memory_desc_init_by_tag";
        return r;
    }
    dnnl_pooling_v2_desc_t pd;
    dnnl_prop_kind_t prop = dir == PB_DIR_FWD_INF ? dnnl_forward_inference : dnnl_forward_training;
    r = dnnl_pooling_v2_forward_desc_init(&pd, prop, dnnl_alg(d->alg), &smd, &dmd, g.strides,
                                          g.kernel, g.dil, g.pad_l, g.pad_r);
    if (r != dnnl_success) {
        *stage = "dnnl_pooling_v2_forward_desc_init";
        return r;
    }
    r = dnnl_primitive_desc_create(fwd, &pd, NULL, eng, NULL);
    if (r != dnnl_success) {
        *fwd = NULL;
        *stage = "forward dnnl_primitive_desc_create";
        return r;
    }
    if (dir != PB_DIR_BWD) return dnnl_success;
    dnnl_pooling_v2_desc_t bd;
    r = dnnl_pooling_v2_backward_desc_init(&bd, dnnl_alg(d->alg), &smd, &dmd, g.strides,
                                           g.kernel, g.dil, g.pad_l, g.pad_r);
    if (r == dnnl_success) {
        r = dnnl_primitive_desc_create(bwd, &bd, NULL, eng, *fwd);
        if (r != dnnl_success) {
            *bwd = NULL;
            *stage = "backward dnnl_primitive_desc_create";
        }
    } else {
        *stage = "dnnl_pooling_v2_backward_desc_init";
    }
    if (r != dnnl_success) {
        dnnl_primitive_desc_destroy(*fwd);
        *fwd = NULL;
    }
    return r;
}

/* ---- supports(): semantic rules, then oneDNN's own verdict (cached) ---- */

/* The engine supports() asks; created once, kept for the process. */
static pthread_once_t probe_once = PTHREAD_ONCE_INIT;
static dnnl_engine_t probe_engine;
static dnnl_status_t probe_status;
static void probe_init(void) { probe_status = dnnl_engine_create(&probe_engine, dnnl_cpu, 0); }

/* Verdict cache: oneDNN's primitive-descriptor creation costs tens of
 * microseconds and verify/bench ask the same question many times. */
typedef struct verdict_key {
    int64_t n, c, ih, iw, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, oh, ow;
    int alg, layout, dir, blocked;
} verdict_key;
typedef struct verdict {
    verdict_key key;
    bool used, ok;
    char why[200];
} verdict;
#define VERDICT_SLOTS 256
static verdict verdicts[VERDICT_SLOTS];
static unsigned verdict_next;
static pthread_mutex_t verdict_lock = PTHREAD_MUTEX_INITIALIZER;
static _Thread_local char why_buf[200];

static verdict_key key_of(const pb_desc *d, pb_dir dir, bool blocked)
{
    verdict_key k;
    memset(&k, 0, sizeof k); /* padding bytes too: keys are compared with memcmp */
    k.n = d->n, k.c = d->c, k.ih = d->ih, k.iw = d->iw, k.kh = d->kh, k.kw = d->kw;
    k.sh = d->sh, k.sw = d->sw, k.pt = d->pt, k.pl = d->pl, k.pb = d->pb, k.pr = d->pr;
    k.dh = d->dh, k.dw = d->dw, k.oh = d->oh, k.ow = d->ow;
    k.alg = (int)d->alg, k.layout = (int)d->layout, k.dir = (int)dir, k.blocked = blocked;
    return k;
}

/* True when the last window along an axis runs past the padded extent,
 * i.e. the ceil-mode overhang is real (only the last window can). */
static bool overhangs(int64_t in, int64_t k, int64_t s, int64_t plo, int64_t phi, int64_t dil,
                      int64_t out)
{
    return pb_axis_window_at(out - 1, in, k, s, plo, phi, dil).n_pad < k;
}

/* The rules oneDNN is known to break or refuse, with the reason; then the
 * authoritative check: create the primitive descriptors. */
static bool decide(const pb_desc *d, pb_dir dir, bool blocked, char *why, size_t len)
{
    if (d->alg == PB_ALG_AVG_INCL &&
        (overhangs(d->ih, d->kh, d->sh, d->pt, d->pb, d->dh, d->oh) ||
         overhangs(d->iw, d->kw, d->sw, d->pl, d->pr, d->dw, d->ow))) {
        snprintf(why, len,
                 "oneDNN avg_incl divides by the full %lldx%lld window; here a ceil-mode window "
                 "runs past the padding, which avg_incl does not count",
                 (long long)d->kh, (long long)d->kw);
        return false;
    }
    if (d->alg == PB_ALG_AVG_EXCL && (d->dh - 1 >= d->ih || d->dw - 1 >= d->iw)) {
        snprintf(why, len,
                 "oneDNN refuses dilated avg_excl when the dilation gap (dh-1=%lld, dw-1=%lld) "
                 "is not smaller than the input (ih=%lld, iw=%lld)",
                 (long long)(d->dh - 1), (long long)(d->dw - 1), (long long)d->ih,
                 (long long)d->iw);
        return false;
    }
    pthread_once(&probe_once, probe_init);
    if (probe_status != dnnl_success) {
        snprintf(why, len, "oneDNN CPU engine unavailable: %s", dnnl_status2str(probe_status));
        return false;
    }
    dnnl_primitive_desc_t fwd, bwd;
    const char *stage = "";
    dnnl_status_t r = make_pds(probe_engine, d, dir, blocked, &fwd, &bwd, &stage);
    if (r != dnnl_success) {
        snprintf(why, len, "oneDNN refuses this problem: %s: %s", stage, dnnl_status2str(r));
        return false;
    }
    if (bwd) dnnl_primitive_desc_destroy(bwd);
    dnnl_primitive_desc_destroy(fwd);
    return true;
}

static bool supports_common(const pb_desc *d, pb_dir dir, const char **why, bool blocked)
{
    const char *dummy;
    if (!why) why = &dummy;
    if (!d) {
        *why = "null descriptor";
        return false;
    }
    verdict_key k = key_of(d, dir, blocked);
    bool ok = false, found = false;
    pthread_mutex_lock(&verdict_lock);
    for (unsigned i = 0; i < VERDICT_SLOTS; i++)
        if (verdicts[i].used && memcmp(&verdicts[i].key, &k, sizeof k) == 0) {
            ok = verdicts[i].ok;
            memcpy(why_buf, verdicts[i].why, sizeof why_buf);
            found = true;
            break;
        }
    pthread_mutex_unlock(&verdict_lock);
    if (!found) {
        char buf[sizeof why_buf] = "";
        ok = decide(d, dir, blocked, buf, sizeof buf);
        memcpy(why_buf, buf, sizeof why_buf);
        pthread_mutex_lock(&verdict_lock);
        verdict *v = &verdicts[verdict_next++ % VERDICT_SLOTS];
        v->key = k;
        v->used = true;
        v->ok = ok;
        memcpy(v->why, buf, sizeof v->why);
        pthread_mutex_unlock(&verdict_lock);
    }
    if (!ok) *why = why_buf;
    return ok;
}

static bool supports_plain(const pb_desc *d, pb_dir dir, const char **why)
{
    return supports_common(d, dir, why, false);
}

static bool supports_blocked(const pb_desc *d, pb_dir dir, const char **why)
{
    return supports_common(d, dir, why, true);
}

/* ---- state: everything prepare() makes, freed by release() ------------ */

#define MAX_MEMS 10
typedef struct onednn_state {
    dnnl_engine_t eng;
    dnnl_stream_t strm;
    dnnl_primitive_t prim;       /* the timed primitive */
    dnnl_exec_arg_t args[4];     /* its arguments */
    int nargs;
    dnnl_memory_t mems[MAX_MEMS]; /* every memory object made here */
    int nmems;
    bool blocked;
    int threads;                 /* d->threads: OpenMP threads to run with */
    /* onednn: the memory objects bound to caller buffers, rebound in the
     * timed call when it is given other pointers */
    dnnl_memory_t in_mem, out_mem;
    const void *in_ptr;
    void *out_ptr;
    /* onednn_blocked: the reorder back to the problem layout, run by
     * release() once the timed call ran */
    dnnl_primitive_t back;
    dnnl_memory_t back_from, back_to;
    int64_t back_bytes;
    bool executed;
} onednn_state;

static void state_free(onednn_state *s)
{
    if (!s) return;
    if (s->prim) dnnl_primitive_destroy(s->prim);
    if (s->back) dnnl_primitive_destroy(s->back);
    for (int i = 0; i < s->nmems; i++) dnnl_memory_destroy(s->mems[i]);
    if (s->strm) dnnl_stream_destroy(s->strm);
    if (s->eng) dnnl_engine_destroy(s->eng);
    free(s);
}

/* A memory object owned by the state: handle = a caller buffer, or
 * DNNL_MEMORY_ALLOCATE for one oneDNN allocates and frees. */
static dnnl_status_t new_mem(onednn_state *s, const dnnl_memory_desc_t *md, void *handle,
                             dnnl_memory_t *out)
{
    if (s->nmems >= MAX_MEMS) return dnnl_out_of_memory;
    dnnl_status_t r = dnnl_memory_create(out, md, s->eng, handle);
    if (r == dnnl_success) s->mems[s->nmems++] = *out;
    return r;
}

/* A plain memory desc of the problem layout for src (dst=false) or dst. */
static dnnl_status_t user_md(const pb_desc *d, bool dst, dnnl_memory_desc_t *md)
{
    geom g;
    make_geom(d, &g);
    return dnnl_memory_desc_init_by_tag(md, 4, dst ? g.dst : g.src, dnnl_f32, user_tag(d));
}

/* Creates and runs a reorder from -> to now, adding its execution time to
 * *secs (creation excluded). */
static dnnl_status_t reorder_now(onednn_state *s, dnnl_memory_t from, dnnl_memory_t to,
                                 double *secs)
{
    const dnnl_memory_desc_t *fmd, *tmd;
    dnnl_memory_get_memory_desc(from, &fmd);
    dnnl_memory_get_memory_desc(to, &tmd);
    dnnl_primitive_desc_t pd;
    dnnl_status_t r = dnnl_reorder_primitive_desc_create(&pd, fmd, s->eng, tmd, s->eng, NULL);
    if (r != dnnl_success) return r;
    dnnl_primitive_t p;
    r = dnnl_primitive_create(&p, pd);
    dnnl_primitive_desc_destroy(pd);
    if (r != dnnl_success) return r;
    /* touch the destination first: a fresh buffer's first-touch page
     * faults (milliseconds on this VM for a few MB) are not the reorder */
    void *h = NULL;
    if (dnnl_memory_get_data_handle(to, &h) == dnnl_success && h)
        memset(h, 0, dnnl_memory_desc_get_size(tmd));
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
    double t0 = now_s();
    r = dnnl_primitive_execute(p, s->strm, 2, args);
    if (r == dnnl_success) r = dnnl_stream_wait(s->strm);
    *secs += now_s() - t0;
    dnnl_primitive_destroy(p);
    return r;
}

/* The library-side memory for one tensor: for onednn the caller's buffer,
 * for onednn_blocked a oneDNN-allocated nChw16c buffer, filled from the
 * caller's buffer when `fill` (timed into *secs). */
static dnnl_status_t tensor_mem(onednn_state *s, const pb_desc *d, const dnnl_memory_desc_t *md,
                                bool dst, void *user, bool fill, double *secs,
                                dnnl_memory_t *out)
{
    if (!s->blocked) return new_mem(s, md, user, out);
    dnnl_status_t r = new_mem(s, md, DNNL_MEMORY_ALLOCATE, out);
    if (r != dnnl_success || !fill) return r;
    dnnl_memory_desc_t umd;
    dnnl_memory_t um;
    r = user_md(d, dst, &umd);
    if (r == dnnl_success) r = new_mem(s, &umd, user, &um);
    if (r == dnnl_success) r = reorder_now(s, um, *out, secs);
    return r;
}

/* onednn_blocked: the reorder release() runs, from the library's result
 * buffer back into the caller's. */
static dnnl_status_t plan_back(onednn_state *s, const pb_desc *d, bool dst, dnnl_memory_t lib,
                               void *user)
{
    dnnl_memory_desc_t umd;
    dnnl_status_t r = user_md(d, dst, &umd);
    if (r == dnnl_success) r = new_mem(s, &umd, user, &s->back_to);
    if (r != dnnl_success) return r;
    s->back_from = lib;
    const dnnl_memory_desc_t *lmd;
    dnnl_memory_get_memory_desc(lib, &lmd);
    dnnl_primitive_desc_t pd;
    r = dnnl_reorder_primitive_desc_create(&pd, lmd, s->eng, &umd, s->eng, NULL);
    if (r != dnnl_success) return r;
    r = dnnl_primitive_create(&s->back, pd);
    dnnl_primitive_desc_destroy(pd);
    if (r != dnnl_success) s->back = NULL;
    s->back_bytes = (dst ? d->dst_elems : d->src_elems) * (int64_t)sizeof(float);
    return r;
}

static const dnnl_memory_desc_t *query_md(dnnl_primitive_desc_t pd, dnnl_query_t what)
{
    return dnnl_primitive_desc_query_md(pd, what, 0);
}

/* Builds everything for one (d, dir): the forward path. */
static dnnl_status_t prepare_fwd(onednn_state *s, const pb_desc *d, pb_dir dir,
                                 dnnl_primitive_desc_t fpd, const pb_args *a, double *secs)
{
    dnnl_memory_t src, dst, ws = NULL;
    dnnl_status_t r = tensor_mem(s, d, query_md(fpd, dnnl_query_src_md), false,
                                 (void *)(uintptr_t)a->src, true, secs, &src);
    if (r == dnnl_success)
        r = tensor_mem(s, d, query_md(fpd, dnnl_query_dst_md), true, a->dst, false, secs, &dst);
    const dnnl_memory_desc_t *wmd = query_md(fpd, dnnl_query_workspace_md);
    if (r == dnnl_success && dir == PB_DIR_FWD_TRAIN && wmd && dnnl_memory_desc_get_size(wmd) > 0)
        r = new_mem(s, wmd, DNNL_MEMORY_ALLOCATE, &ws);
    if (r == dnnl_success && s->blocked) r = plan_back(s, d, true, dst, a->dst);
    if (r == dnnl_success) r = dnnl_primitive_create(&s->prim, fpd);
    if (r != dnnl_success) {
        s->prim = NULL;
        return r;
    }
    s->args[0] = (dnnl_exec_arg_t){DNNL_ARG_SRC, src};
    s->args[1] = (dnnl_exec_arg_t){DNNL_ARG_DST, dst};
    s->nargs = 2;
    if (ws) s->args[s->nargs++] = (dnnl_exec_arg_t){DNNL_ARG_WORKSPACE, ws};
    s->in_mem = src, s->in_ptr = a->src;
    s->out_mem = dst, s->out_ptr = a->dst;
    return dnnl_success;
}

/* The backward path; for max, a training forward on a->src fills oneDNN's
 * workspace here, outside the timed call. */
static dnnl_status_t prepare_bwd(onednn_state *s, const pb_desc *d, dnnl_primitive_desc_t fpd,
                                 dnnl_primitive_desc_t bpd, const pb_args *a, double *secs)
{
    dnnl_memory_t ws = NULL, ddst, dsrc;
    dnnl_status_t r = dnnl_success;
    if (d->alg == PB_ALG_MAX) {
        dnnl_memory_t src, dst;
        dnnl_primitive_t fp = NULL;
        r = tensor_mem(s, d, query_md(fpd, dnnl_query_src_md), false, (void *)(uintptr_t)a->src,
                       true, secs, &src);
        if (r == dnnl_success)
            r = new_mem(s, query_md(fpd, dnnl_query_dst_md), DNNL_MEMORY_ALLOCATE, &dst);
        if (r == dnnl_success)
            r = new_mem(s, query_md(fpd, dnnl_query_workspace_md), DNNL_MEMORY_ALLOCATE, &ws);
        if (r == dnnl_success) r = dnnl_primitive_create(&fp, fpd);
        if (r == dnnl_success) {
            dnnl_exec_arg_t fa[3] = {
                {DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}, {DNNL_ARG_WORKSPACE, ws}};
            r = dnnl_primitive_execute(fp, s->strm, 3, fa);
            if (r == dnnl_success) r = dnnl_stream_wait(s->strm);
            dnnl_primitive_destroy(fp);
        }
        if (r != dnnl_success) return r;
    }
    r = tensor_mem(s, d, query_md(bpd, dnnl_query_diff_dst_md), true,
                   (void *)(uintptr_t)a->diff_dst, true, secs, &ddst);
    if (r == dnnl_success)
        r = tensor_mem(s, d, query_md(bpd, dnnl_query_diff_src_md), false, a->diff_src, false,
                       secs, &dsrc);
    if (r == dnnl_success && s->blocked) r = plan_back(s, d, false, dsrc, a->diff_src);
    if (r == dnnl_success) r = dnnl_primitive_create(&s->prim, bpd);
    if (r != dnnl_success) {
        s->prim = NULL;
        return r;
    }
    s->args[0] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_DST, ddst};
    s->args[1] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_SRC, dsrc};
    s->nargs = 2;
    if (ws) s->args[s->nargs++] = (dnnl_exec_arg_t){DNNL_ARG_WORKSPACE, ws};
    s->in_mem = ddst, s->in_ptr = a->diff_dst;
    s->out_mem = dsrc, s->out_ptr = a->diff_src;
    return dnnl_success;
}

static pb_status prepare_common(const pb_desc *d, pb_dir dir, const pb_args *a, void **state,
                                bool blocked)
{
    if (!state) return PB_ERR_NULL;
    *state = NULL;
    if (!d || !a) return PB_ERR_NULL;
    if ((unsigned)dir >= PB_DIR_COUNT) return PB_ERR_DIR;
    if (dir == PB_DIR_BWD ? (!a->diff_dst || !a->diff_src || (d->alg == PB_ALG_MAX && !a->src))
                          : (!a->src || !a->dst))
        return PB_ERR_NULL;
    if (!supports_common(d, dir, NULL, blocked)) return PB_ERR_UNSUPPORTED;
    onednn_state *s = calloc(1, sizeof *s);
    if (!s) return PB_ERR_NOMEM;
    s->blocked = blocked;
    s->threads = d->threads;
    int saved = threads_enter(s->threads);
    dnnl_primitive_desc_t fpd = NULL, bpd = NULL;
    const char *stage = "";
    double secs = 0.0;
    dnnl_status_t r = dnnl_engine_create(&s->eng, dnnl_cpu, 0);
    if (r != dnnl_success) s->eng = NULL;
    if (r == dnnl_success) r = dnnl_stream_create(&s->strm, s->eng, dnnl_stream_default_flags);
    if (r != dnnl_success) s->strm = NULL;
    if (r == dnnl_success) r = make_pds(s->eng, d, dir, blocked, &fpd, &bpd, &stage);
    if (r == dnnl_success)
        r = dir == PB_DIR_BWD ? prepare_bwd(s, d, fpd, bpd, a, &secs)
                              : prepare_fwd(s, d, dir, fpd, a, &secs);
    if (bpd) dnnl_primitive_desc_destroy(bpd);
    if (fpd) dnnl_primitive_desc_destroy(fpd);
    threads_leave(s->threads, saved);
    if (r != dnnl_success) {
        state_free(s);
        return r == dnnl_out_of_memory ? PB_ERR_NOMEM : PB_ERR_LIBRARY;
    }
    if (blocked) {
        int64_t in = dir == PB_DIR_BWD ? d->dst_elems + (d->alg == PB_ALG_MAX ? d->src_elems : 0)
                                       : d->src_elems;
        pthread_mutex_lock(&conv_lock);
        conv_last.to_blocked_s = secs;
        conv_last.from_blocked_s = 0.0;
        conv_last.to_bytes = in * (int64_t)sizeof(float);
        conv_last.from_bytes = 0;
        conv_last.count++;
        pthread_mutex_unlock(&conv_lock);
    }
    *state = s;
    return PB_OK;
}

static pb_status onednn_prepare(const pb_desc *d, pb_dir dir, const pb_args *a, void **state)
{
    return prepare_common(d, dir, a, state, false);
}

static pb_status onednn_blocked_prepare(const pb_desc *d, pb_dir dir, const pb_args *a,
                                        void **state)
{
    return prepare_common(d, dir, a, state, true);
}

/* ---- the timed calls -------------------------------------------------- */

static pb_status execute(onednn_state *s, const void *in, void *out)
{
    /* onednn runs on the caller's buffers: follow them if they moved */
    if (!s->blocked) {
        if (in != s->in_ptr) {
            if (dnnl_memory_set_data_handle(s->in_mem, (void *)(uintptr_t)in) != dnnl_success)
                return PB_ERR_LIBRARY;
            s->in_ptr = in;
        }
        if (out != s->out_ptr) {
            if (dnnl_memory_set_data_handle(s->out_mem, out) != dnnl_success) return PB_ERR_LIBRARY;
            s->out_ptr = out;
        }
    }
    int saved = threads_enter(s->threads);
    dnnl_status_t r = dnnl_primitive_execute(s->prim, s->strm, s->nargs, s->args);
    if (r == dnnl_success) r = dnnl_stream_wait(s->strm);
    threads_leave(s->threads, saved);
    if (r != dnnl_success) return PB_ERR_LIBRARY;
    s->executed = true;
    return PB_OK;
}

static pb_status onednn_fwd(const pb_desc *d, const pb_args *a, void *state)
{
    if (!d || !a || !state || !a->src || !a->dst) return PB_ERR_NULL;
    return execute(state, a->src, a->dst);
}

static pb_status onednn_bwd(const pb_desc *d, const pb_args *a, void *state)
{
    if (!d || !a || !state || !a->diff_dst || !a->diff_src) return PB_ERR_NULL;
    return execute(state, a->diff_dst, a->diff_src);
}

/* onednn_blocked: converts the result back (timed) if the primitive ran,
 * then frees.  A failed conversion leaves the caller's buffer as it was
 * (poisoned by verify), so it is caught rather than silently wrong. */
static void onednn_release(void *state)
{
    onednn_state *s = state;
    if (!s) return;
    if (s->blocked && s->back && s->executed) {
        int saved = threads_enter(s->threads);
        dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, s->back_from}, {DNNL_ARG_TO, s->back_to}};
        double t0 = now_s();
        dnnl_status_t r = dnnl_primitive_execute(s->back, s->strm, 2, args);
        if (r == dnnl_success) r = dnnl_stream_wait(s->strm);
        double t = now_s() - t0;
        threads_leave(s->threads, saved);
        if (r == dnnl_success) {
            pthread_mutex_lock(&conv_lock);
            conv_last.from_blocked_s = t;
            conv_last.from_bytes = s->back_bytes;
            pthread_mutex_unlock(&conv_lock);
        }
    }
    state_free(s);
}

#define ONEDNN_QUIRKS (PB_QUIRK_NAN_IGNORED | PB_QUIRK_NEG_INF_FLT_MAX)

const pb_impl pb_impl_onednn = {
    .name = "onednn",
    .summary = "oneDNN 2.6 pooling primitive on the problem layout (comparison)",
    .isa = PB_ISA_BASELINE,
    .algs = PB_ALL_ALGS,
    .layouts = PB_ALL_LAYOUTS,
    .dirs = PB_ALL_DIRS,
    .priority = -10,
    .external = true,
    .own_workspace = true,
    .quirks = ONEDNN_QUIRKS,
    .parallel = true,
    .supports = supports_plain,
    .prepare = onednn_prepare,
    .fwd = onednn_fwd,
    .bwd = onednn_bwd,
    .release = onednn_release,
};

const pb_impl pb_impl_onednn_blocked = {
    .name = "onednn_blocked",
    .summary = "oneDNN 2.6 on nChw16c; layout conversion outside the timed call (comparison)",
    .isa = PB_ISA_BASELINE,
    .algs = PB_ALL_ALGS,
    .layouts = PB_ALL_LAYOUTS,
    .dirs = PB_ALL_DIRS,
    .priority = -11,
    .external = true,
    .own_workspace = true,
    .quirks = ONEDNN_QUIRKS,
    .parallel = true,
    .supports = supports_blocked,
    .prepare = onednn_blocked_prepare,
    .fwd = onednn_fwd,
    .bwd = onednn_bwd,
    .release = onednn_release,
};
