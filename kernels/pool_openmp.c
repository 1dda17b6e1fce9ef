/* The `openmp` implementation: a generic parallel wrapper.  For each case
 * it runs the best single-thread implementation that has slice entry points
 * (pool.h) and splits the slices statically across threads: forward output
 * rows, backward disjoint input slices (NHWC: input rows).  Each slice is computed exactly as
 * the whole-problem call computes it, so the result is bitwise identical
 * for any thread count; backward needs no reduction since slices never
 * share diff_src.  Small problems run on one thread (pb_openmp_min_bytes). */
#include "pool_openmp.h"

#include <omp.h>
#include <stdlib.h>

static bool has_slices(const pb_impl *im, pb_dir dir)
{
    return dir == PB_DIR_BWD ? im->bwd_slices != NULL : im->fwd_rows != NULL;
}

const pb_impl *pb_openmp_inner(const pb_desc *d, pb_dir dir)
{
    if (!d || (unsigned)dir >= PB_DIR_COUNT) return NULL;
    const pb_impl *best = NULL;
    for (size_t i = 0; i < pb_impl_count(); i++) {
        const pb_impl *im = pb_impl_get(i);
        if (im->parallel || im->external || !has_slices(im, dir) ||
            !pb_impl_accepts(im, d, dir, NULL))
            continue;
        if (!best || im->priority > best->priority) best = im;
    }
    return best;
}

/* Bytes a run moves: the tensors it reads and writes once each. */
static int64_t traffic(const pb_desc *d, pb_dir dir)
{
    int64_t ws = d->alg == PB_ALG_MAX && dir != PB_DIR_FWD_INF ? d->dst_elems : 0;
    return (d->src_elems + d->dst_elems + ws) * (int64_t)sizeof(float);
}

int64_t pb_openmp_min_bytes(pb_layout layout, pb_dir dir)
{
    const bool bwd = dir == PB_DIR_BWD;
    if (layout == PB_LAYOUT_NCHW) return bwd ? PB_OPENMP_MIN_BYTES : (int64_t)256 << 10;
    return bwd ? (int64_t)448 << 10 : (int64_t)256 << 10;
}

int pb_openmp_threads_for(const pb_desc *d, pb_dir dir)
{
    if (!d || (unsigned)dir >= PB_DIR_COUNT) return 1;
    const int64_t units = dir == PB_DIR_BWD ? pb_bwd_slices(d) : pb_fwd_rows(d);
    int64_t t = d->threads > 0 ? d->threads : omp_get_max_threads();
    if (t > units) t = units;
    if (t < 2) return 1; /* also a descriptor with no slices */
    /* the busiest thread gets ceil(units / t) slices; the split pays when
     * that spares it half the threshold's traffic (7 rows on 2 threads
     * spare 3/7 of the traffic, not 1/2) */
    const int64_t busiest = (units + t - 1) / t;
    const double spared = (double)traffic(d, dir) * (double)(units - busiest) / (double)units;
    return 2 * spared < (double)pb_openmp_min_bytes(d->layout, dir) ? 1 : (int)t;
}

/* Static partition of the slices: thread k of T gets [total*k/T,
 * total*(k+1)/T).  A thread that meets a workspace entry outside its
 * window (PB_ERR_PARTIAL, pool.h) cannot honour it alone, so the whole
 * problem then runs again on one thread, which does. */
static pb_status run_slices(const pb_impl *inner, void *ist, const pb_desc *d, const pb_args *a,
                            pb_dir dir)
{
    const bool bwd = dir == PB_DIR_BWD;
    pb_slice_fn fn = bwd ? inner->bwd_slices : inner->fwd_rows;
    const int64_t total = bwd ? pb_bwd_slices(d) : pb_fwd_rows(d);
    const int threads = pb_openmp_threads_for(d, dir);
    if (threads <= 1) return fn(d, a, ist, 0, total);
    pb_status first = PB_OK;
#pragma omp parallel num_threads(threads)
    {
        int64_t nt = omp_get_num_threads(), k = omp_get_thread_num();
        int64_t b = total * k / nt, e = total * (k + 1) / nt;
        pb_status s = b < e ? fn(d, a, ist, b, e) : PB_OK;
        if (s != PB_OK) {
#pragma omp critical(pb_openmp_status)
            if (first == PB_OK) first = s;
        }
    }
    if (first == PB_ERR_PARTIAL) return fn(d, a, ist, 0, total);
    return first;
}

typedef struct omp_state {
    const pb_impl *inner;
    void *inner_state;
    pb_dir dir;
} omp_state;

static void omp_release(void *state)
{
    omp_state *s = state;
    if (!s) return;
    if (s->inner->release) s->inner->release(s->inner_state);
    free(s);
}

static pb_status omp_prepare(const pb_desc *d, pb_dir dir, const pb_args *a, void **state)
{
    if (!d || !state) return PB_ERR_NULL;
    const pb_impl *inner = pb_openmp_inner(d, dir);
    if (!inner) return PB_ERR_UNSUPPORTED;
    omp_state *s = malloc(sizeof *s);
    if (!s) return PB_ERR_NOMEM;
    *s = (omp_state){.inner = inner, .dir = dir};
    pb_status st = inner->prepare ? inner->prepare(d, dir, a, &s->inner_state) : PB_OK;
    if (st != PB_OK) {
        free(s);
        return st;
    }
    *state = s;
    return PB_OK;
}

/* Runs with the prepared inner implementation, or, called without
 * prepare(), prepares and releases one around the call. */
static pb_status omp_exec(const pb_desc *d, const pb_args *a, void *state, pb_dir dir)
{
    if (!d || !a) return PB_ERR_NULL;
    omp_state *s = state;
    if (s && (s->dir == PB_DIR_BWD) == (dir == PB_DIR_BWD))
        return run_slices(s->inner, s->inner_state, d, a, dir);
    void *own = NULL;
    pb_status st = omp_prepare(d, dir, a, &own);
    if (st != PB_OK) return st;
    s = own;
    st = run_slices(s->inner, s->inner_state, d, a, dir);
    omp_release(own);
    return st;
}

static pb_status omp_fwd(const pb_desc *d, const pb_args *a, void *state)
{
    if (!d || !a) return PB_ERR_NULL;
    pb_dir dir = d->alg == PB_ALG_MAX && a->ws ? PB_DIR_FWD_TRAIN : PB_DIR_FWD_INF;
    return omp_exec(d, a, state, dir);
}

static pb_status omp_bwd(const pb_desc *d, const pb_args *a, void *state)
{
    return omp_exec(d, a, state, PB_DIR_BWD);
}

static bool omp_supports(const pb_desc *d, pb_dir dir, const char **why)
{
    if (pb_openmp_inner(d, dir)) return true;
    if (why) *why = "no implementation with slice entry points accepts this case";
    return false;
}

const pb_impl pb_impl_openmp = {
    .name = "openmp",
    .summary = "OpenMP over the best sliceable kernel: static split of rows/slices",
    .isa = PB_ISA_BASELINE,
    .algs = PB_ALL_ALGS,
    .layouts = PB_ALL_LAYOUTS,
    .dirs = PB_ALL_DIRS,
    .priority = 100,
    .parallel = true,
    .supports = omp_supports,
    .prepare = omp_prepare,
    .fwd = omp_fwd,
    .bwd = omp_bwd,
    .release = omp_release,
};
