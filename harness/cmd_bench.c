/*
 * `poolbench bench` (see bench.h and results/README.md).
 *
 * Phases, in order:
 *   1. options; the results record's temporary directory (an unwritable
 *      results directory fails here, before any work);
 *   2. enumerate (implementation, problem, algorithm, layout, direction,
 *      threads) from the registry and the suite, and verify each case
 *      against the reference (a FAIL is reported, never timed; SKIPPED
 *      says why);
 *   3. the bandwidth reference of every traffic shape, size and thread
 *      count the verified cases need;
 *   4. hardware counters, a separate pass from timing;
 *   5. timing: one generic Google Benchmark body per case;
 *   6. figures, the summary table, the CSV, and the record renamed into
 *      place.
 */

#include <errno.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bandwidth.h"
#include "bytes.h"
#include "cmd_common.h"
#include "gbench_shim.h"
#include "json.h"
#include "par.h"
#include "pool.h"
#include "problem.h"
#include "results.h"
#include "simcount.h"
#include "sysinfo.h"
#include "verify.h"

#if defined(PB_HAVE_PAPI) && __has_include("counters.h")
#include "counters.h"
#define HAVE_COUNTERS 1
#endif
#if defined(PB_HAVE_ONEDNN) && __has_include("onednn.h")
#include "onednn.h"
#define HAVE_ONEDNN_CONVERSION 1
#endif

#define DEFAULT_SEED 1
#define DEFAULT_REPS 5
#define DEFAULT_MIN_TIME 0.1 /* seconds per repetition */
#define DEFAULT_SUITES "seed"
#define CV_WARN 0.05
#define PROGRESS_AFTER_S 2.0
#define MAX_SEL 64
#define MAX_THREADS 64

static const char *const default_events[] = {"PAPI_TOT_CYC", "PAPI_TOT_INS", "PAPI_L1_DCM",
                                             "PAPI_L2_DCM", "PAPI_L3_TCM"};

/* ---- options ---------------------------------------------------------- */

typedef struct opts {
    pb_selection sel;   /* --impl --suite --problem --alg --layout --dir --seed */
    int threads[MAX_THREADS];
    int n_threads;
    char threads_text[128];
    int reps;
    double min_time;
    bool cold;
    const char *counters;
    bool sweep;         /* --sweep: the cache-size sweep problems */
    size_t sweep_first; /* index of the first sweep problem in sel */
    pb_selection sweep_sel; /* --sweep-impl (only its impls are used) */
    unsigned sweep_algs, sweep_dirs;
    const char *out;
    char *gb_argv[MAX_SEL + 4];
    int gb_argc;
    const char *filter; /* --benchmark_filter value, for pre-filtering */
} opts;

static void usage(FILE *f)
{
    fputs(
        "usage: poolbench bench [options] [--benchmark_* flags]\n"
        "Verifies, then times pooling implementations with Google Benchmark against\n"
        "an in-run bandwidth reference, and writes results/<host>/<UTC>-<commit>/.\n"
        "  --impl NAMES      comma list of implementations, `all` or `best` [all]\n"
        "  --suite LIST      built-in suites, or `all` [seed, when no --problem]\n"
        "  --problem STR     a problem string (repeatable), e.g.\n"
        "                    mb1ic64_ih112iw112_kh3kw3_sh2sw2_ph1pw1\n"
        "  --alg LIST        max,avg_incl,avg_excl or all [all]\n"
        "  --layout LIST     nchw,nhwc or all [all]\n"
        "  --dir LIST        fwd_inf,fwd_train,bwd or all [all]\n"
        "  --threads LIST    thread counts, e.g. 1,2 [1 and all allowed CPUs]\n"
        "  --seed N          input fill seed [1]\n"
        "  --reps N          repetitions per case, for the median and CV [5;\n"
        "                    9 or more for regression runs]\n"
        "  --min-time S      seconds per repetition [0.1]\n"
        "  --cold            flush the case's buffers from the caches before\n"
        "                    every iteration (and time the reference cold)\n"
        "  --counters SPEC   papi, none, a comma list of PAPI events, or sim:\n"
        "                    exact instruction counts and simulated D1/LL misses\n"
        "                    of one kernel call under valgrind (1-thread cases) [papi]\n"
        "  --sweep           add the cache-size sweep: 2x2/2 max, 64 channels,\n"
        "                    working sets ~20 KiB .. ~1 GiB (labels sweep:<KiB>K);\n"
        "                    max, fwd_inf and bwd unless --alg/--dir say otherwise\n"
        "  --sweep-impl NAMES implementations for the sweep problems [--impl]\n"
        "  --out DIR         results root [results]\n"
        "  --help            this text\n"
        "Every --benchmark_* flag goes to Google Benchmark (--benchmark_filter,\n"
        "--benchmark_repetitions, --benchmark_min_time,\n"
        "--benchmark_enable_random_interleaving, --benchmark_out, ...).\n"
        "Exit: 0 all timed or skipped with a reason; 1 a case failed verification\n"
        "or timing, or the record could not be written; 2 usage error.\n",
        f);
}

#define CMD "bench"

static int parse_threads(opts *o, const char *list)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", list);
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char *end;
        errno = 0;
        long v = strtol(t, &end, 10);
        if (errno || *end || v < 1 || v > MAX_THREADS)
            return pb_usage_error(CMD, "bad thread count '%s' in --threads", t);
        if (v > pb_par_cpus())
            return pb_usage_error(CMD, "--threads %ld, but this process may run on %d CPUs", v,
                                  pb_par_cpus());
        bool dup = false;
        for (int i = 0; i < o->n_threads; i++) dup |= o->threads[i] == (int)v;
        if (!dup) o->threads[o->n_threads++] = (int)v;
    }
    return o->n_threads ? 0 : pb_usage_error(CMD, "--threads needs a value");
}

static int parse_number(const char *opt, const char *v, double lo, double *out)
{
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || *end || !isfinite(x) || x < lo)
        return pb_usage_error(CMD, "bad value '%s' for %s", v, opt);
    *out = x;
    return 0;
}

/* The sweep: 2x2/2 max pooling, NCHW-sized 64 channels, square planes
 * with H growing by ~sqrt(2) so the working set (forward: 1.25 x src)
 * doubles per step from 20 KiB to 1 GiB.  Labelled sweep:<src KiB>K so
 * reports find them (`poolbench report` draws GB/s against bytes).  Sweep
 * problems have their own alg, dir and implementation lists (max forward
 * inference and backward, what the figure shows, unless --alg/--dir are
 * given; --sweep-impl), so one run can hold a suite and the sweep: the
 * slow naive and oneDNN-NCHW kernels take seconds per call at 1 GiB. */
static const int sweep_h[] = {8,   12,  16,  22,  32,  46,  64,   90,   128,
                              182, 256, 362, 512, 724, 1024, 1448, 1816};
static int add_sweep(opts *o)
{
    o->sweep_first = o->sel.n_problems;
    for (size_t i = 0; i < sizeof sweep_h / sizeof sweep_h[0]; i++) {
        char text[160];
        long long kib = 64LL * sweep_h[i] * sweep_h[i] * 4 / 1024;
        snprintf(text, sizeof text, "nsweep:%lldK_mb1ic64_ih%diw%d_kh2kw2_sh2sw2", kib, sweep_h[i],
                 sweep_h[i]);
        int rc = pb_sel_add_problem(&o->sel, CMD, text);
        if (rc) return rc;
    }
    o->sweep_algs = o->sel.algs ? o->sel.algs : PB_BIT(PB_ALG_MAX);
    o->sweep_dirs = o->sel.dirs ? o->sel.dirs : PB_BIT(PB_DIR_FWD_INF) | PB_BIT(PB_DIR_BWD);
    return 0;
}

static int parse_opts(int argc, char **argv, opts *o, bool *help)
{
    memset(o, 0, sizeof *o);
    o->reps = DEFAULT_REPS;
    o->min_time = DEFAULT_MIN_TIME;
    o->counters = "papi";
    o->out = "results";
    o->sel.seed = DEFAULT_SEED;
    *help = false;
    const char *thr_list = NULL;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (!strncmp(a, "--benchmark_", 12)) {
            if (o->gb_argc >= MAX_SEL) return pb_usage_error(CMD, "too many --benchmark flags");
            o->gb_argv[o->gb_argc++] = a;
            if (!strncmp(a, "--benchmark_filter=", 19)) o->filter = a + 19;
            continue;
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            *help = true;
            return 0;
        }
        if (!strcmp(a, "--cold")) {
            o->cold = true;
            continue;
        }
        if (!strcmp(a, "--sweep")) {
            o->sweep = true;
            continue;
        }
        /* --opt VALUE or --opt=VALUE */
        static const char *const with_value[] = {
            "--impl",    "--suite", "--problem",  "--alg",      "--layout", "--dir",
            "--threads", "--reps",  "--min-time", "--counters", "--out",    "--seed",
            "--sweep-impl"};
        const char *opt = NULL, *val = NULL;
        for (size_t k = 0; k < sizeof with_value / sizeof with_value[0]; k++) {
            size_t n = strlen(with_value[k]);
            if (!strncmp(a, with_value[k], n) && (a[n] == '\0' || a[n] == '=')) {
                opt = with_value[k];
                if (a[n] == '=')
                    val = a + n + 1;
                else if (i + 1 < argc)
                    val = argv[++i];
                else
                    return pb_usage_error(CMD, "%s needs a value", opt);
                break;
            }
        }
        if (!opt) {
            if (a[0] == '-')
                return pb_usage_error(CMD, "unknown option '%s' (see poolbench bench --help)", a);
            return pb_usage_error(CMD, "unexpected argument '%s' (see poolbench bench --help)", a);
        }
        if (!*val) return pb_usage_error(CMD, "%s needs a value", opt);
        int rc = 0;
        if (!strcmp(opt, "--impl")) rc = pb_sel_impls(&o->sel, CMD, val);
        else if (!strcmp(opt, "--suite")) rc = pb_sel_suites(&o->sel, CMD, val);
        else if (!strcmp(opt, "--problem")) rc = pb_sel_add_problem(&o->sel, CMD, val);
        else if (!strcmp(opt, "--alg")) rc = pb_sel_mask(&o->sel.algs, CMD, "alg", val);
        else if (!strcmp(opt, "--layout")) rc = pb_sel_mask(&o->sel.layouts, CMD, "layout", val);
        else if (!strcmp(opt, "--dir")) rc = pb_sel_mask(&o->sel.dirs, CMD, "dir", val);
        else if (!strcmp(opt, "--seed")) rc = pb_sel_seed(&o->sel, CMD, val);
        else if (!strcmp(opt, "--sweep-impl")) rc = pb_sel_impls(&o->sweep_sel, CMD, val);
        else if (!strcmp(opt, "--threads")) thr_list = val;
        else if (!strcmp(opt, "--reps")) {
            double r;
            rc = parse_number(opt, val, 1, &r);
            if (!rc && (r != floor(r) || r > 100000))
                rc = pb_usage_error(CMD, "bad value '%s' for %s", val, opt);
            o->reps = (int)r;
        } else if (!strcmp(opt, "--min-time")) {
            rc = parse_number(opt, val, 0, &o->min_time);
            if (!rc && !(o->min_time > 0)) rc = pb_usage_error(CMD, "bad value '%s' for %s", val, opt);
        } else if (!strcmp(opt, "--counters")) {
            o->counters = val;
        } else if (!strcmp(opt, "--out")) {
            o->out = val;
        }
        if (rc) return rc;
    }
    if (o->sweep) {
        int rc = add_sweep(o);
        if (rc) return rc;
    }
    int rc = pb_sel_finish(&o->sel, CMD, DEFAULT_SUITES);
    if (rc) return rc;
    if (o->sweep_sel.n_impls && !o->sweep)
        return pb_usage_error(CMD, "--sweep-impl needs --sweep");
    if (!o->sweep_sel.n_impls) {
        memcpy(o->sweep_sel.impls, o->sel.impls, sizeof o->sel.impls);
        o->sweep_sel.n_impls = o->sel.n_impls;
    }
    if (thr_list) {
        if ((rc = parse_threads(o, thr_list))) return rc;
    } else {
        o->threads[o->n_threads++] = 1;
        if (pb_par_cpus() > 1) o->threads[o->n_threads++] = pb_par_cpus();
    }
    size_t at = 0;
    for (int i = 0; i < o->n_threads; i++)
        at += (size_t)snprintf(o->threads_text + at, sizeof o->threads_text - at, "%s%d",
                               i ? "," : "", o->threads[i]);
    return 0;
}

/* ---- cases ------------------------------------------------------------ */

typedef struct bcase {
    size_t res;            /* index of its pb_case_result */
    const pb_impl *impl;   /* the implementation that runs (best resolved) */
    pb_desc d;             /* finalized, d.threads set */
    pb_dir dir;
    bool timed;            /* registered with Google Benchmark */
    bool seen;             /* reported at least once (progress) */
    char full_name[300];   /* the library's run name ("<name>/real_time") */
    double *samples;       /* ns per iteration of each repetition */
    int64_t *iters;
    int n_samples, cap;
    char error[256];       /* a timing error the library reported */
} bcase;

typedef struct run {
    opts o;
    pb_case_result *res;
    size_t n_res, cap_res;
    bcase *cases;
    size_t n_cases, cap_cases;
    pb_bw_result *bw;
    size_t n_bw;
    regex_t filter;
    bool have_filter, filter_negative;
    pb_run_info *ri;     /* what the record says, for context_block() */
    size_t above_100;    /* cases above 100% of their reference */
    /* progress of the timing pass */
    double t_start;
    size_t n_timed, n_done;
} run;

/* The case whose buffers are set up: the library calls the body several
 * times per repetition, so buffers and prepare() stay until another case
 * runs (one case's buffers at a time).  The buffers and inputs also stay
 * for the next case of the same (problem, alg, layout, dir), i.e. the
 * other implementations and thread counts: the inputs are the same and
 * read-only (verify checked it), and on the sweep's 1 GiB problems
 * allocating, filling and the reference argmax took ~10 s per case. */
typedef struct live {
    bcase *c;
    char key[200]; /* what the buffers hold; "" when none */
    float *src, *dst, *diff_dst, *diff_src;
    int32_t *ws;
    pb_args args;
    void *state;
    bool prepared;
    bool cold;
    double setup_ms;
} live;

static live L;
static run *R; /* for the library callbacks */

static double now_s(void) { return pb_bw_now(); }

static void *grow(void *p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return p;
    size_t c = *cap ? *cap * 2 : 64;
    while (c < need) c *= 2;
    void *q = realloc(p, c * elem);
    if (q) *cap = c;
    return q;
}

static void free_buffers(void)
{
    free(L.src);
    free(L.dst);
    free(L.diff_dst);
    free(L.diff_src);
    free(L.ws);
    L.src = L.dst = L.diff_dst = L.diff_src = NULL;
    L.ws = NULL;
    L.key[0] = '\0';
}

/* Releases the case's prepare() state, keeping the buffers. */
static void release_case(void)
{
    if (!L.c) return;
    if (L.prepared && L.c->impl->release) L.c->impl->release(L.state);
#ifdef HAVE_ONEDNN_CONVERSION
    if (L.prepared && !strcmp(L.c->impl->name, "onednn_blocked")) {
        pb_onednn_conversion conv;
        if (pb_onednn_last_conversion(&conv) == PB_OK)
            R->res[L.c->res].convert_ms = (conv.to_blocked_s + conv.from_blocked_s) * 1e3;
    }
#endif
    L.prepared = false;
    L.state = NULL;
    L.c = NULL;
}

static void teardown(void)
{
    release_case();
    free_buffers();
}

static void buffers_key(const bcase *c, char *key, size_t len)
{
    pb_desc d = c->d;
    d.threads = 1;
    char canon[160];
    if (pb_problem_format(&d, canon, sizeof canon) < 0) canon[0] = '\0';
    snprintf(key, len, "%s %s %s %s", canon, pb_alg_name(d.alg), pb_layout_name(d.layout),
             pb_dir_name(c->dir));
}

static void *alloc64(int64_t elems, size_t elem)
{
    size_t bytes = ((size_t)elems * elem + 63) / 64 * 64;
    void *p = aligned_alloc(64, bytes);
    if (p) memset(p, 0, bytes); /* touch every page before timing */
    return p;
}

static pb_exec_fn exec_of(const bcase *c) { return c->dir == PB_DIR_BWD ? c->impl->bwd : c->impl->fwd; }

/* Allocates and fills the buffers of case c (the live ones are freed
 * first); false with msg on failure. */
static bool make_inputs(const bcase *c, char *msg, size_t len)
{
    const pb_desc *d = &c->d;
    teardown();
    L.src = alloc64(d->src_elems, sizeof(float));
    L.dst = alloc64(d->dst_elems, sizeof(float));
    L.ws = alloc64(d->dst_elems, sizeof(int32_t));
    L.diff_dst = alloc64(d->dst_elems, sizeof(float));
    L.diff_src = alloc64(d->src_elems, sizeof(float));
    if (!L.src || !L.dst || !L.ws || !L.diff_dst || !L.diff_src) {
        free_buffers();
        snprintf(msg, len, "out of memory for the case's buffers");
        return false;
    }
    pb_fill_src(d, PB_FILL_DISTINCT, R->o.sel.seed, L.src, d->src_elems);
    pb_fill_diff_dst(R->o.sel.seed, L.diff_dst, d->dst_elems);
    if (c->dir == PB_DIR_BWD && d->alg == PB_ALG_MAX) {
        /* backward reads a valid argmax: the reference's */
        pb_args ref = {L.src, L.dst, L.ws, L.diff_dst, L.diff_src};
        pb_status st = pb_impl_run(pb_impl_reference(), d, PB_DIR_FWD_TRAIN, &ref);
        if (st != PB_OK) {
            free_buffers();
            snprintf(msg, len, "reference forward for the argmax: %s", pb_status_str(st));
            return false;
        }
    }
    return true;
}

/* Buffers, inputs, pinned threads, prepare() (timed separately) and a
 * warm-up for case c; false with msg on failure. */
static bool setup(bcase *c, char *msg, size_t len)
{
    if (L.c == c) return true;
    const pb_desc *d = &c->d;
    bool max = d->alg == PB_ALG_MAX;
    char key[sizeof L.key];
    buffers_key(c, key, sizeof key);
    if (L.src && key[0] && !strcmp(key, L.key)) {
        release_case(); /* same inputs: keep the buffers */
    } else {
        if (!make_inputs(c, msg, len)) return false;
        snprintf(L.key, sizeof L.key, "%s", key);
    }
    L.args = (pb_args){
        .src = L.src,
        .dst = c->dir == PB_DIR_BWD ? NULL : L.dst,
        .ws = max && c->dir != PB_DIR_FWD_INF ? L.ws : NULL,
        .diff_dst = c->dir == PB_DIR_BWD ? L.diff_dst : NULL,
        .diff_src = c->dir == PB_DIR_BWD ? L.diff_src : NULL,
    };
    /* threads a library makes in prepare() inherit the set of T CPUs;
     * then the OpenMP team is pinned one thread per CPU */
    char pin[160];
    if (pb_par_pin_set(d->threads, pin, sizeof pin) != PB_OK) {
        free_buffers();
        snprintf(msg, len, "pinning %d threads: %s", d->threads, pin);
        return false;
    }
    L.c = c;
    L.state = NULL;
    L.setup_ms = NAN;
    if (c->impl->prepare) {
        double t0 = now_s();
        pb_status st = c->impl->prepare(d, c->dir, &L.args, &L.state);
        L.setup_ms = (now_s() - t0) * 1e3;
        if (st != PB_OK) {
            L.c = NULL;
            free_buffers();
            snprintf(msg, len, "%s prepare: %s", c->impl->name, pb_status_str(st));
            return false;
        }
    }
    L.prepared = true;
    if (pb_par_pin(d->threads, pin, sizeof pin) != PB_OK) {
        teardown();
        snprintf(msg, len, "pinning %d threads: %s", d->threads, pin);
        return false;
    }
    R->res[c->res].setup_ms = L.setup_ms;
    /* warm-up: code, data and the library's threads hot before timing */
    for (int k = 0; k < 2; k++) {
        pb_status st = exec_of(c)(d, &L.args, L.state);
        if (st != PB_OK) {
            teardown();
            snprintf(msg, len, "%s: %s", c->impl->name, pb_status_str(st));
            return false;
        }
    }
    return true;
}

static void flush_case(void)
{
    const pb_desc *d = &L.c->d;
    pb_cache_flush(L.src, (size_t)d->src_elems * 4);
    pb_cache_flush(L.dst, (size_t)d->dst_elems * 4);
    pb_cache_flush(L.ws, (size_t)d->dst_elems * 4);
    pb_cache_flush(L.diff_dst, (size_t)d->dst_elems * 4);
    pb_cache_flush(L.diff_src, (size_t)d->src_elems * 4);
}

/* The one generic benchmark body. */
static void body(pb_gb_state *st, void *user)
{
    bcase *c = user;
    char msg[320];
    if (!setup(c, msg, sizeof msg)) {
        pb_gb_skip_with_error(st, msg);
        return;
    }
    pb_exec_fn exec = exec_of(c);
    const pb_desc *d = &c->d;
    while (pb_gb_keep_running(st)) {
        if (L.cold) {
            pb_gb_pause(st);
            flush_case();
            pb_gb_resume(st);
        }
        pb_status s = exec(d, &L.args, L.state);
        if (s != PB_OK) {
            snprintf(msg, sizeof msg, "%s: %s", c->impl->name, pb_status_str(s));
            pb_gb_skip_with_error(st, msg);
            break;
        }
    }
    const pb_bytes *b = &R->res[c->res].bytes;
    double it = (double)pb_gb_iterations(st);
    pb_gb_set_counter(st, "bytes_per_second", (double)b->total * it, PB_GB_COUNTER_RATE);
    pb_gb_set_counter(st, "items_per_second", (double)b->elements * it, PB_GB_COUNTER_RATE);
}

static bcase *find_case(run *r, const char *name)
{
    for (size_t i = 0; i < r->n_cases; i++)
        if (r->cases[i].timed && !strcmp(r->cases[i].full_name, name)) return &r->cases[i];
    return NULL;
}

static void observe(const pb_gb_report *rep, void *user)
{
    run *r = user;
    bcase *c = find_case(r, rep->name);
    if (!c) return;
    if (rep->error) {
        snprintf(c->error, sizeof c->error, "%s", rep->error_message);
    } else if (!rep->aggregate[0]) {
        size_t cap = (size_t)c->cap;
        double *s = grow(c->samples, &cap, (size_t)c->n_samples + 1, sizeof *s);
        if (s) c->samples = s;
        size_t cap2 = (size_t)c->cap;
        int64_t *it = grow(c->iters, &cap2, (size_t)c->n_samples + 1, sizeof *it);
        if (it) c->iters = it;
        if (s && it && cap == cap2) {
            c->cap = (int)cap;
            c->samples[c->n_samples] = rep->real_time_ns;
            c->iters[c->n_samples] = rep->iterations;
            c->n_samples++;
        }
    }
    if (!c->seen) { /* its first report: with random interleaving, of several */
        c->seen = true;
        r->n_done++;
        double el = now_s() - r->t_start;
        if (el >= PROGRESS_AFTER_S) {
            double left = el / (double)r->n_done * (double)(r->n_timed - r->n_done);
            fprintf(stderr, "poolbench: bench: [%zu/%zu] %s  %.0f s elapsed, ~%.0f s left\n",
                    r->n_done, r->n_timed, rep->name, el, left);
        }
    }
}

/* Label of a problem string: the nLABEL_ token, "" if none. */
static void problem_label(const char *s, char *out, size_t len)
{
    out[0] = '\0';
    if (s[0] != 'n') return;
    const char *us = strchr(s, '_');
    if (!us) return;
    snprintf(out, len, "%.*s", (int)(us - s - 1), s + 1);
}

/* Index of an earlier problem of the selection that is the same problem
 * as problem p (same canonical string, both or neither from --sweep), or
 * -1: suites share problems (resnet50:avgpool is also in `global`), and
 * the library times one benchmark per name, so a repeat would be left
 * NOTRUN.  It is timed once, under its first label. */
static long earlier_same(const opts *o, size_t p, const char *canon)
{
    const pb_selection *sel = &o->sel;
    const bool sweep = o->sweep && p >= o->sweep_first;
    for (size_t q = 0; q < p; q++) {
        char other[160];
        if ((o->sweep && q >= o->sweep_first) != sweep ||
            pb_problem_format(&sel->problems[q].desc, other, sizeof other) < 0)
            continue;
        if (!strcmp(other, canon)) return (long)q;
    }
    return -1;
}

static bool filtered_out(run *r, const char *full_name)
{
    if (!r->have_filter) return false;
    bool match = regexec(&r->filter, full_name, 0, NULL, 0) == 0;
    return r->filter_negative ? match : !match;
}

static pb_case_result *new_result(run *r)
{
    pb_case_result *p = grow(r->res, &r->cap_res, r->n_res + 1, sizeof *p);
    if (!p) return NULL;
    r->res = p;
    pb_case_result_init(&r->res[r->n_res]);
    return &r->res[r->n_res++];
}

/* Enumerates and verifies; returns false only on allocation failure or a
 * bad problem string (message printed). */
static bool enumerate(run *r, int *usage_rc)
{
    const opts *o = &r->o;
    const pb_selection *sel = &o->sel;
    (void)usage_rc;
    /* count first, for progress */
    size_t total = 0, done = 0;
    double t0 = now_s(), last = t0;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t p = 0; p < sel->n_problems; p++) {
            pb_desc base = sel->problems[p].desc;
            char msg[256];
            char canon[160], label[64];
            if (pb_problem_format(&base, canon, sizeof canon) < 0)
                snprintf(canon, sizeof canon, "%s", sel->problems[p].text);
            problem_label(sel->problems[p].text, label, sizeof label);
            const long same = earlier_same(o, p, canon);
            if (same >= 0) {
                if (pass == 1) {
                    char first[64];
                    problem_label(sel->problems[same].text, first, sizeof first);
                    if (first[0])
                        fprintf(stderr, "poolbench: bench: %s%s%s is %s again: timed once\n",
                                label[0] ? label : "", label[0] ? " = " : "", canon, first);
                    else
                        fprintf(stderr, "poolbench: bench: %s is listed twice: timed once\n",
                                canon);
                }
                continue;
            }
            bool sweep = o->sweep && p >= o->sweep_first;
            unsigned algs = sweep ? o->sweep_algs : sel->algs;
            unsigned dirs = sweep ? o->sweep_dirs : sel->dirs;
            const pb_selection *isel = sweep ? &o->sweep_sel : sel;
            for (int a = 0; a < PB_ALG_COUNT; a++) {
                if (!(algs & PB_BIT(a))) continue;
                /* global: no padding, so avg_incl is avg_excl; time it once */
                if (base.global && a == PB_ALG_AVG_INCL && (algs & PB_BIT(PB_ALG_AVG_EXCL)))
                    continue;
                for (int l = 0; l < PB_LAYOUT_COUNT; l++) {
                    if (!(sel->layouts & PB_BIT(l))) continue;
                    for (int dr = 0; dr < PB_DIR_COUNT; dr++) {
                        if (!(dirs & PB_BIT(dr))) continue;
                        for (int t = 0; t < o->n_threads; t++)
                            for (size_t k = 0; k < isel->n_impls; k++) {
                                pb_desc d = base;
                                d.alg = (pb_alg)a;
                                d.layout = (pb_layout)l;
                                d.threads = o->threads[t];
                                if (pb_desc_finalize(&d, msg, sizeof msg) != PB_OK) continue;
                                const pb_impl *im = isel->impls[k];
                                bool best = im == &pb_best_marker;
                                if (best) im = pb_impl_best(&d, (pb_dir)dr);
                                /* a serial implementation does not depend on
                                 * the thread count: timed at 1 thread only
                                 * (`best` too, when it resolves to one) */
                                if (!im->parallel && d.threads != 1) continue;
                                char name[sizeof r->res->name];
                                snprintf(name, sizeof name, "%s/%s/%s/%s/%s/threads:%d",
                                         best ? "best" : im->name, canon, pb_alg_name(d.alg),
                                         pb_layout_name(d.layout), pb_dir_name((pb_dir)dr),
                                         d.threads);
                                char full[sizeof r->cases->full_name];
                                snprintf(full, sizeof full, "%.*s/real_time",
                                         (int)sizeof full - 11, name);
                                if (filtered_out(r, full)) continue;
                                if (pass == 0) {
                                    total++;
                                    continue;
                                }
                                pb_case_result *res = new_result(r);
                                bcase *bc = grow(r->cases, &r->cap_cases, r->n_cases + 1,
                                                 sizeof *bc);
                                if (!res || !bc) return false;
                                r->cases = bc;
                                bc = &r->cases[r->n_cases++];
                                memset(bc, 0, sizeof *bc);
                                bc->res = r->n_res - 1;
                                bc->impl = im;
                                bc->d = d;
                                bc->dir = (pb_dir)dr;
                                memcpy(bc->full_name, full, sizeof full);
                                snprintf(res->impl, sizeof res->impl, "%s",
                                         best ? "best" : im->name);
                                snprintf(res->resolved, sizeof res->resolved, "%s", im->name);
                                snprintf(res->problem, sizeof res->problem, "%s", canon);
                                snprintf(res->label, sizeof res->label, "%s", label);
                                memcpy(res->name, name, sizeof name);
                                res->alg = d.alg;
                                res->layout = d.layout;
                                res->dir = (pb_dir)dr;
                                res->threads = d.threads;
                                pb_bytes_model(&d, (pb_dir)dr, &res->bytes);
                                const char *why = NULL;
                                if (!pb_impl_accepts(im, &d, (pb_dir)dr, &why)) {
                                    snprintf(res->verify, sizeof res->verify, "SKIPPED");
                                    snprintf(res->detail, sizeof res->detail, "%s", why ? why : "");
                                } else {
                                    pb_check chk;
                                    memset(&chk, 0, sizeof chk);
                                    pb_status vs = pb_verify_case(im, &d, (pb_dir)dr,
                                                                  PB_FILL_DISTINCT, sel->seed, &chk);
                                    if (vs != PB_OK) {
                                        snprintf(res->verify, sizeof res->verify, "ERROR");
                                        snprintf(res->detail, sizeof res->detail,
                                                 "verify could not run: %s", pb_status_str(vs));
                                    } else {
                                        snprintf(res->verify, sizeof res->verify, "%s",
                                                 chk.verdict == PB_PASS   ? "PASS"
                                                 : chk.verdict == PB_FAIL ? "FAIL"
                                                                          : "SKIPPED");
                                        if (chk.verdict != PB_PASS)
                                            snprintf(res->detail, sizeof res->detail, "%s",
                                                     chk.detail);
                                    }
                                }
                                snprintf(res->status, sizeof res->status, "%s",
                                         !strcmp(res->verify, "PASS") ? "OK" : res->verify);
                                done++;
                                double tn = now_s();
                                if (tn - t0 >= PROGRESS_AFTER_S && tn - last >= 1.0) {
                                    last = tn;
                                    fprintf(stderr,
                                            "poolbench: bench: verified %zu/%zu cases, %.0f s\n",
                                            done, total, tn - t0);
                                }
                            }
                    }
                }
            }
        }
    }
    return true;
}

/* ---- bandwidth references --------------------------------------------- */

static bool measure_references(run *r)
{
    bool ok = true;
    /* dedupe by (shape, requested bytes, threads): measure each once */
    typedef struct req {
        pb_bw_shape sh;
        int64_t bytes;
        int threads;
    } req;
    req *reqs = calloc(r->n_cases + 1, sizeof *reqs);
    size_t n_req = 0;
    if (!reqs) return false;
    for (size_t i = 0; i < r->n_cases; i++) {
        pb_case_result *res = &r->res[r->cases[i].res];
        if (strcmp(res->status, "OK") != 0) continue;
        pb_bw_shape sh;
        if (pb_bw_shape_for(res->bytes.read, res->bytes.write, &sh) != PB_OK) continue;
        size_t k;
        for (k = 0; k < n_req; k++)
            if (reqs[k].sh.reads == sh.reads && reqs[k].sh.writes == sh.writes &&
                reqs[k].bytes == res->bytes.total && reqs[k].threads == res->threads)
                break;
        if (k == n_req) reqs[n_req++] = (req){sh, res->bytes.total, res->threads};
        res->bw_index = (int)k;
    }
    r->bw = calloc(n_req + 1, sizeof *r->bw);
    if (!r->bw) {
        free(reqs);
        return false;
    }
    double t0 = now_s();
    for (size_t k = 0; k < n_req; k++) {
        char pin[160], msg[256];
        pb_bw_config cfg = {.shape = reqs[k].sh, .bytes = reqs[k].bytes,
                            .threads = reqs[k].threads, .cold = r->o.cold, .isa = PB_ISA_COUNT};
        pb_status st = pb_par_pin(reqs[k].threads, pin, sizeof pin);
        if (st == PB_OK) st = pb_bw_measure(&cfg, &r->bw[k], msg, sizeof msg);
        else snprintf(msg, sizeof msg, "%s", pin);
        if (st != PB_OK || !r->bw[k].valid) {
            fprintf(stderr, "poolbench: bench: bandwidth reference r%dw%d %lld B t%d: %s\n",
                    reqs[k].sh.reads, reqs[k].sh.writes, (long long)reqs[k].bytes,
                    reqs[k].threads, st != PB_OK ? pb_status_str(st) : msg);
            r->bw[k].best_gbps = NAN; /* never a number from a wrong result */
            r->bw[k].shape = reqs[k].sh;
            r->bw[k].threads = reqs[k].threads;
            ok = false;
        }
        char id[64];
        pb_bw_id(&r->bw[k], id, sizeof id);
        if (now_s() - t0 >= PROGRESS_AFTER_S)
            fprintf(stderr, "poolbench: bench: bandwidth %zu/%zu %s: %.1f GB/s\n", k + 1, n_req,
                    id, r->bw[k].best_gbps);
    }
    r->n_bw = n_req;
    free(reqs);
    return ok;
}

/* ---- counters --------------------------------------------------------- */

typedef struct counters_out {
    const char *backend;
    bool available;
    char status[512];
    const char *events[PB_MAX_EVENTS];
    size_t n_events;
    char names[PB_MAX_EVENTS][64];
} counters_out;

/* Columns: the default set for "papi", the given list, none for "none". */
static int counter_columns(const char *spec, counters_out *co)
{
    co->n_events = 0;
    if (!strcmp(spec, "none")) return 0;
    if (!strcmp(spec, "papi")) {
        for (size_t i = 0; i < sizeof default_events / sizeof default_events[0]; i++)
            co->events[co->n_events++] = default_events[i];
        return 0;
    }
    char buf[512];
    snprintf(buf, sizeof buf, "%s", spec);
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (co->n_events >= PB_MAX_EVENTS)
            return pb_usage_error(CMD, "at most %d counter events", PB_MAX_EVENTS);
        snprintf(co->names[co->n_events], sizeof co->names[0], "%s", t);
        co->events[co->n_events] = co->names[co->n_events];
        co->n_events++;
    }
    return 0;
}

/* --counters sim: each 1-thread case once under callgrind in a child
 * process (`poolbench sim-case`, harness/simcount.h): exact instruction
 * counts and simulated cache misses of one kernel call.  Cases with more
 * threads are not counted (valgrind runs threads one at a time and their
 * spin loops are not deterministic); where valgrind is missing the record
 * says so and no number is written. */
static int count_sim(run *r, counters_out *co)
{
    co->n_events = 0;
    for (int k = 0; k < PB_SIM_NCOUNTERS && k < PB_MAX_EVENTS; k++)
        co->events[co->n_events++] = pb_sim_counter_names[k];
    co->backend = "sim";
    co->available = false;
    char why[512], exe[4096];
    if (pb_sim_available(NULL, why, sizeof why) != PB_OK) {
        snprintf(co->status, sizeof co->status, "sim: unavailable: %.400s", why);
        return 0;
    }
    if (pb_sim_self_exe(exe, sizeof exe) != PB_OK) {
        snprintf(co->status, sizeof co->status, "sim: unavailable: cannot read /proc/self/exe");
        return 0;
    }
    size_t counted = 0, not_counted = 0, todo = 0, done = 0;
    for (size_t i = 0; i < r->n_cases; i++)
        todo += !strcmp(r->res[r->cases[i].res].status, "OK") && r->cases[i].d.threads == 1;
    char first_why[256] = "", d1[80] = "", ll[80] = "";
    double t0 = now_s();
    for (size_t i = 0; i < r->n_cases; i++) {
        bcase *c = &r->cases[i];
        pb_case_result *res = &r->res[c->res];
        if (strcmp(res->status, "OK") != 0 || c->d.threads != 1) continue;
        pb_sim_case sc = {c->impl->name, res->problem, c->d.alg, c->d.layout, c->dir};
        pb_simcount sv;
        char msg[512];
        pb_status st = pb_sim_run(exe, &sc, NULL, &sv, msg, sizeof msg);
        done++;
        if (now_s() - t0 >= PROGRESS_AFTER_S)
            fprintf(stderr, "poolbench: bench: sim counts %zu/%zu  %.0f s\n", done, todo, now_s() - t0);
        if (st != PB_OK) {
            not_counted++;
            if (!first_why[0]) snprintf(first_why, sizeof first_why, "%.32s: %.200s", c->impl->name, msg);
            continue;
        }
        double v[PB_SIM_NCOUNTERS];
        pb_sim_values(&sv, v);
        for (size_t k = 0; k < co->n_events; k++) res->events[k] = v[k];
        snprintf(d1, sizeof d1, "%s", sv.d1_desc);
        snprintf(ll, sizeof ll, "%s", sv.ll_desc);
        counted++;
    }
    co->available = counted > 0;
    snprintf(co->status, sizeof co->status,
             "sim: valgrind callgrind, exact counts of one kernel call, 1-thread cases; simulated "
             "D1 %.40s, LL %.40s; %zu counted, %zu not%s%.160s%s",
             d1[0] ? d1 : "-", ll[0] ? ll : "-", counted, not_counted, first_why[0] ? " (first: " : "",
             first_why, first_why[0] ? ")" : "");
    return 0;
}

static int count_events(run *r, counters_out *co)
{
    if (!strcmp(r->o.counters, "sim")) return count_sim(r, co);
    int rc = counter_columns(r->o.counters, co);
    if (rc) return rc;
#ifdef HAVE_COUNTERS
    co->backend = strcmp(r->o.counters, "none") ? "papi" : "none";
    pb_counters *ctr = NULL;
    pb_status st = pb_counters_open(r->o.counters, &ctr);
    if (st != PB_OK) {
        const char *why = pb_counters_open_error();
        fprintf(stderr, "poolbench: bench: --counters %s: %s\n", r->o.counters,
                why && *why ? why : pb_status_str(st));
        return st == PB_ERR_NOMEM || st == PB_ERR_LIBRARY ? 1 : 2;
    }
    snprintf(co->status, sizeof co->status, "%s", pb_counters_status(ctr));
    int n = pb_counters_count(ctr);
    co->available = n > 0;
    for (size_t i = 0; n > 0 && i < r->n_cases; i++) {
        bcase *c = &r->cases[i];
        pb_case_result *res = &r->res[c->res];
        if (strcmp(res->status, "OK") != 0) continue;
        char msg[256];
        if (!setup(c, msg, sizeof msg)) {
            snprintf(res->status, sizeof res->status, "ERROR");
            snprintf(res->detail, sizeof res->detail, "counters pass: %s", msg);
            continue;
        }
        /* enough iterations for ~10 ms of counting */
        pb_exec_fn exec = exec_of(c);
        double t0 = now_s();
        exec(&c->d, &L.args, L.state);
        double one = now_s() - t0;
        int64_t k = one > 0 ? (int64_t)(0.01 / one) + 1 : 1000;
        if (k > 100000) k = 100000;
        long long vals[PB_COUNTERS_MAX];
        bool ok = pb_counters_start(ctr) == PB_OK;
        for (int64_t it = 0; ok && it < k; it++) exec(&c->d, &L.args, L.state);
        ok = ok && pb_counters_stop(ctr, vals) == PB_OK;
        if (!ok) continue;
        double cyc = NAN, ins = NAN, l3 = NAN;
        for (int e = 0; e < n; e++) {
            const char *name = pb_counters_event(ctr, e);
            double v = (double)vals[e] / (double)k;
            for (size_t col = 0; col < co->n_events; col++)
                if (name && !strcmp(name, co->events[col])) res->events[col] = v;
            if (name && !strcmp(name, "PAPI_TOT_CYC")) cyc = v;
            if (name && !strcmp(name, "PAPI_TOT_INS")) ins = v;
            if (name && !strcmp(name, "PAPI_L3_TCM")) l3 = v;
        }
        if (cyc > 0 && isfinite(ins)) res->ipc = ins / cyc;
        if (l3 > 0) res->bytes_per_llc_miss = (double)res->bytes.total / l3;
    }
    teardown();
    pb_counters_close(ctr);
#else
    co->backend = "none";
    co->available = false;
    snprintf(co->status, sizeof co->status, "unavailable: built without PAPI (libpapi-dev)");
    (void)r;
#endif
    return 0;
}

/* ---- figures and output ----------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void figures(run *r)
{
    for (size_t i = 0; i < r->n_cases; i++) {
        bcase *c = &r->cases[i];
        pb_case_result *res = &r->res[c->res];
        if (!c->timed) continue;
        if (c->error[0]) {
            snprintf(res->status, sizeof res->status, "ERROR");
            snprintf(res->detail, sizeof res->detail, "%s", c->error);
            continue;
        }
        if (c->n_samples == 0) {
            snprintf(res->status, sizeof res->status, "NOTRUN");
            snprintf(res->detail, sizeof res->detail, "not run by the library (--benchmark_filter)");
            continue;
        }
        int n = c->n_samples;
        double *s = malloc((size_t)n * sizeof *s);
        if (!s) continue;
        memcpy(s, c->samples, (size_t)n * sizeof *s);
        qsort(s, (size_t)n, sizeof *s, cmp_double);
        double med = n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
        double sum = 0;
        for (int k = 0; k < n; k++) sum += s[k];
        double mean = sum / n, var = 0;
        for (int k = 0; k < n; k++) var += (s[k] - mean) * (s[k] - mean);
        double sd = n > 1 ? sqrt(var / (n - 1)) : NAN; /* as the library computes it */
        res->reps = n;
        /* iterations of the repetition nearest the median */
        int best = 0;
        for (int k = 1; k < n; k++)
            if (fabs(c->samples[k] - med) < fabs(c->samples[best] - med)) best = k;
        res->iterations = c->iters[best];
        res->median_ns = med;
        res->mean_ns = mean;
        res->stddev_ns = sd;
        res->cv = n > 1 && mean > 0 ? sd / mean : NAN;
        res->min_ns = s[0];
        res->max_ns = s[n - 1];
        res->gbps = (double)res->bytes.total / med; /* B/ns = GB/s */
        res->elems_per_s = (double)res->bytes.elements / med * 1e9;
        free(s);
    }
    /* speedup over naive: the same problem, algorithm, layout, direction
     * (naive is serial: its 1-thread time is the baseline for any count) */
    for (size_t i = 0; i < r->n_cases; i++) {
        pb_case_result *res = &r->res[r->cases[i].res];
        if (!isfinite(res->median_ns)) continue;
        for (size_t j = 0; j < r->n_cases; j++) {
            const pb_case_result *nv = &r->res[r->cases[j].res];
            if (!strcmp(nv->impl, "naive") && nv->threads == 1 && !strcmp(nv->problem, res->problem) &&
                nv->alg == res->alg && nv->layout == res->layout && nv->dir == res->dir &&
                isfinite(nv->median_ns)) {
                res->speedup = nv->median_ns / res->median_ns;
                break;
            }
        }
    }
}

/* % of the bandwidth reference.  A case faster than its reference means
 * the reference lost the CPU in every trial (a loaded machine: a 2-thread
 * pass that waits for a scheduler tick): it is measured again, up to 3
 * times, keeping the best valid result, as STREAM keeps the best trial.
 * Returns the number of cases still above 100%. */
static size_t percent_of_bandwidth(run *r)
{
    size_t above = 0;
    for (size_t k = 0; k < r->n_bw; k++) {
        double fastest = 0;
        for (size_t i = 0; i < r->n_res; i++)
            if (r->res[i].bw_index == (int)k && isfinite(r->res[i].gbps) &&
                r->res[i].gbps > fastest)
                fastest = r->res[i].gbps;
        pb_bw_result *b = &r->bw[k];
        for (int again = 0; again < 3 && isfinite(b->best_gbps) && b->best_gbps < fastest;
             again++) {
            pb_bw_config cfg = {.shape = b->shape, .bytes = b->bytes, .threads = b->threads,
                                .cold = b->cold, .isa = PB_ISA_COUNT};
            pb_bw_result nb;
            char msg[256], id[64];
            pb_bw_id(b, id, sizeof id);
            fprintf(stderr,
                    "poolbench: bench: bandwidth %s: %.2f GB/s is below a case's %.2f GB/s; "
                    "measuring again\n",
                    id, b->best_gbps, fastest);
            if (pb_par_pin(b->threads, msg, sizeof msg) == PB_OK &&
                pb_bw_measure(&cfg, &nb, msg, sizeof msg) == PB_OK && nb.valid &&
                nb.best_gbps > b->best_gbps)
                *b = nb;
        }
        pb_par_unpin();
        for (size_t i = 0; i < r->n_res; i++) {
            pb_case_result *c = &r->res[i];
            if (c->bw_index != (int)k || !isfinite(c->gbps) || !isfinite(b->best_gbps)) continue;
            c->pct_bw = 100.0 * c->gbps / b->best_gbps;
            if (c->pct_bw > 100.0) above++;
        }
    }
    return above;
}

static void fmt_time(double ns, char *buf, size_t len)
{
    if (!isfinite(ns)) snprintf(buf, len, "-");
    else if (ns < 1e3) snprintf(buf, len, "%.1f ns", ns);
    else if (ns < 1e6) snprintf(buf, len, "%.2f us", ns / 1e3);
    else if (ns < 1e9) snprintf(buf, len, "%.2f ms", ns / 1e6);
    else snprintf(buf, len, "%.2f s", ns / 1e9);
}

static void fmt_num(double v, const char *f, char *buf, size_t len)
{
    if (isfinite(v)) snprintf(buf, len, f, v);
    else snprintf(buf, len, "-");
}

static void print_table(const run *r, const counters_out *co)
{
    int wi = 4, wp = 7;
    for (size_t i = 0; i < r->n_res; i++) {
        const pb_case_result *c = &r->res[i];
        int li = (int)strlen(c->impl) + (strcmp(c->impl, c->resolved) ? (int)strlen(c->resolved) + 1 : 0);
        int lp = (int)strlen(c->label[0] ? c->label : c->problem);
        if (li > wi) wi = li;
        if (lp > wp) wp = lp;
    }
    printf("\ncounters: %s\n", co->status);
    printf("%-*s  %-*s  %-8s %-6s %-9s %3s  %11s %6s %8s %8s %6s %8s %8s  %s\n", wi, "impl", wp,
           "problem", "alg", "layout", "dir", "thr", "median", "cv%", "GB/s", "ref GB/s",
           "%bw", "Gelem/s", "speedup", "status");
    size_t skipped = 0;
    for (size_t i = 0; i < r->n_res; i++) {
        const pb_case_result *c = &r->res[i];
        if (!strcmp(c->status, "SKIPPED")) {
            skipped++; /* grouped by reason below the table */
            continue;
        }
        char impl[80], t[32], cv[16], gb[16], ref[16], pct[16], ge[16], sp[16];
        if (strcmp(c->impl, c->resolved) && c->resolved[0])
            snprintf(impl, sizeof impl, "%s:%s", c->impl, c->resolved);
        else
            snprintf(impl, sizeof impl, "%s", c->impl);
        fmt_time(c->median_ns, t, sizeof t);
        fmt_num(c->cv * 100, "%.1f", cv, sizeof cv);
        fmt_num(c->gbps, "%.2f", gb, sizeof gb);
        fmt_num(c->bw_index >= 0 ? r->bw[c->bw_index].best_gbps : NAN, "%.1f", ref, sizeof ref);
        fmt_num(c->pct_bw, c->pct_bw > 100.0 ? "%.1f?" : "%.1f", pct, sizeof pct);
        fmt_num(c->elems_per_s / 1e9, "%.3f", ge, sizeof ge);
        fmt_num(c->speedup, "%.2fx", sp, sizeof sp);
        bool noisy = isfinite(c->cv) && c->cv > CV_WARN;
        printf("%-*s  %-*s  %-8s %-6s %-9s %3d  %11s %5s%s %8s %8s %6s %8s %8s  %s%s%s\n", wi,
               impl, wp, c->label[0] ? c->label : c->problem, pb_alg_name(c->alg),
               pb_layout_name(c->layout), pb_dir_name(c->dir), c->threads, t, cv,
               noisy ? "!" : " ", gb, ref, pct, ge, sp, c->status,
               c->detail[0] ? ": " : "", c->detail);
    }
    /* skipped cases: one line per (implementation, reason) with a count */
    if (skipped) printf("skipped (%zu cases, all in results.csv):\n", skipped);
    for (size_t i = 0; i < r->n_res; i++) {
        const pb_case_result *c = &r->res[i];
        if (strcmp(c->status, "SKIPPED") != 0) continue;
        bool first = true;
        for (size_t j = 0; j < i && first; j++)
            first = !(!strcmp(r->res[j].status, "SKIPPED") &&
                      !strcmp(r->res[j].resolved, c->resolved) &&
                      !strcmp(r->res[j].detail, c->detail));
        if (!first) continue;
        size_t n = 0;
        for (size_t j = i; j < r->n_res; j++)
            n += !strcmp(r->res[j].status, "SKIPPED") && !strcmp(r->res[j].resolved, c->resolved) &&
                 !strcmp(r->res[j].detail, c->detail);
        printf("  %-*s %4zu x  %s\n", wi, c->resolved, n, c->detail);
    }
    size_t noisy = 0;
    for (size_t i = 0; i < r->n_res; i++)
        if (isfinite(r->res[i].cv) && r->res[i].cv > CV_WARN) noisy++;
    if (noisy)
        printf("! CV above %.0f%%: noisy; rerun with more --reps or on a quieter machine\n",
               CV_WARN * 100);
}

/* ---- the command -------------------------------------------------------- */

static void free_run(run *r)
{
    for (size_t i = 0; i < r->n_cases; i++) {
        free(r->cases[i].samples);
        free(r->cases[i].iters);
    }
    free(r->cases);
    free(r->res);
    free(r->bw);
    if (r->have_filter) regfree(&r->filter);
    pb_sel_free(&r->o.sel);
}

/* Called by the shim once the benchmarks ran: the last case's buffers go
 * (so a backend's conversion time is known), the figures are worked out,
 * and the poolbench block describes the whole run. */
static pb_status context_block(void *user, char **json)
{
    run *r = user;
    *json = NULL;
    teardown();
    pb_par_unpin();
    if (r->n_done == 0) return PB_OK;
    figures(r);
    r->above_100 = percent_of_bandwidth(r);
    pb_json block;
    pb_json_init(&block, 4);
    pb_status st = pb_results_context_json(r->ri, &block);
    if (st == PB_OK) {
        *json = block.text; /* handed over: the shim frees it */
        block.text = NULL;
    }
    pb_json_free(&block);
    return st;
}

static void join_args(int argc, char **argv, char *buf, size_t len)
{
    size_t at = (size_t)snprintf(buf, len, "poolbench bench");
    for (int i = 1; i < argc && at < len; i++)
        at += (size_t)snprintf(buf + at, len - at, " %s", argv[i]);
}

int pb_cmd_bench(int argc, char **argv)
{
    static run rr;
    run *r = &rr;
    memset(r, 0, sizeof *r);
    memset(&L, 0, sizeof L);
    R = r;
    bool help;
    int rc = parse_opts(argc, argv, &r->o, &help);
    if (rc) return rc;
    if (help) {
        usage(stdout);
        return 0;
    }
    opts *o = &r->o;
    L.cold = o->cold;

    /* Google Benchmark: our defaults first, the user's own flags after
     * them (the library keeps the last value of a flag) */
    static char reps_flag[64], min_flag[64], arg0[] = "poolbench-bench";
    snprintf(reps_flag, sizeof reps_flag, "--benchmark_repetitions=%d", o->reps);
    snprintf(min_flag, sizeof min_flag, "--benchmark_min_time=%g", o->min_time);
    char *gargv[MAX_SEL + 8];
    int gargc = 0;
    gargv[gargc++] = arg0;
    gargv[gargc++] = reps_flag;
    gargv[gargc++] = min_flag;
    for (int i = 0; i < o->gb_argc; i++) gargv[gargc++] = o->gb_argv[i];
    gargv[gargc] = NULL;
    if (pb_gb_init(&gargc, gargv) != PB_OK) {
        fprintf(stderr, "poolbench: bench: Google Benchmark failed to initialize\n");
        return 1;
    }
    if (gargc > 1)
        return pb_usage_error(CMD, "unknown option '%s' (see poolbench bench --help)", gargv[1]);
    pb_gb_clear();
    if (o->filter && *o->filter) {
        const char *f = o->filter;
        r->filter_negative = f[0] == '-';
        if (r->filter_negative) f++;
        r->have_filter = regcomp(&r->filter, f, REG_EXTENDED | REG_NOSUB) == 0;
    }

    /* the record first: an unwritable results directory fails now */
    pb_sysinfo *sys = calloc(1, sizeof *sys);
    if (!sys) return 1;
    pb_sysinfo_probe(sys);
    time_t now = time(NULL);
    char stamp[32], iso[32], rec_name[64], msg[512];
    pb_record_stamp(now, stamp, sizeof stamp);
    strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    snprintf(rec_name, sizeof rec_name, "%s-%s", stamp, sys->commit_short);
    pb_record *rec = NULL;
    if (pb_record_begin(o->out, sys->host, rec_name, &rec, msg, sizeof msg) != PB_OK) {
        fprintf(stderr, "poolbench: bench: %s\n", msg);
        free(sys);
        return 1;
    }

    int exit_rc = 0;
    int urc = 0;
    bool enumerated = enumerate(r, &urc);
    pb_verify_release_cache(); /* the reference buffers, before timing allocates */
    if (!enumerated) {
        exit_rc = urc ? urc : 1;
        if (!urc) fprintf(stderr, "poolbench: bench: out of memory\n");
        goto fail;
    }
    if (r->n_cases == 0) {
        fprintf(stderr, "poolbench: bench: no case matches the selection\n");
        exit_rc = 2;
        goto fail;
    }
    if (!measure_references(r)) exit_rc = 1;

    counters_out co;
    memset(&co, 0, sizeof co);
    urc = count_events(r, &co);
    if (urc) {
        exit_rc = urc;
        goto fail;
    }

    /* register the verified cases */
    for (size_t i = 0; i < r->n_cases; i++) {
        bcase *c = &r->cases[i];
        pb_case_result *res = &r->res[c->res];
        if (strcmp(res->status, "OK") != 0) continue;
        if (pb_gb_register(res->name, body, c, NULL) != PB_OK) {
            snprintf(res->status, sizeof res->status, "ERROR");
            snprintf(res->detail, sizeof res->detail, "could not register with the library");
            continue;
        }
        c->timed = true;
        r->n_timed++;
    }

    /* the poolbench context block and the custom context keys */
    char cmdline[2048], pinned[64], commit_kv[64], suites[256] = "";
    for (size_t p = 0; p < o->sel.n_problems; p++) {
        const char *su = o->sel.problems[p].suite;
        if (!su || strstr(suites, su)) continue;
        size_t at = strlen(suites);
        snprintf(suites + at, sizeof suites - at, "%s%s", at ? "," : "", su);
    }
    join_args(argc, argv, cmdline, sizeof cmdline);
    pb_par_cpu_list(pinned, sizeof pinned);
    pb_run_info ri = {
        .timestamp_utc = iso,
        .command_line = cmdline,
        .sys = sys,
        .suite = suites,
        .reps = o->reps,
        .min_time_s = o->min_time,
        .cold = o->cold,
        .threads_list = o->threads_text,
        .bw = r->bw,
        .n_bw = r->n_bw,
        .counters_spec = o->counters,
        .counters_backend = co.backend,
        .counters_available = co.available,
        .counters_status = co.status,
        .events = co.events,
        .n_events = co.n_events,
        .cases = r->res,
        .n_cases = r->n_res,
    };
    snprintf(ri.pinned_cpus, sizeof ri.pinned_cpus, "%s", pinned);
    r->ri = &ri;
    snprintf(commit_kv, sizeof commit_kv, "%s%s", sys->commit_short, sys->dirty ? " (dirty)" : "");
    pb_gb_add_context("poolbench_commit", commit_kv);
    pb_gb_add_context("poolbench_isa", pb_isa_name(sys->isa));
    pb_gb_add_context("poolbench_counters", co.status);

    char json_path[4200], csv_path[4200];
    pb_record_path(rec, "gbench.json", json_path, sizeof json_path);
    pb_record_path(rec, "results.csv", csv_path, sizeof csv_path);
    size_t n_est = r->n_timed;
    fprintf(stderr, "poolbench: bench: timing %zu case(s), %d repetitions of >= %g s each "
                    "(about %.0f s)\n",
            n_est, o->reps, o->min_time, (double)n_est * o->reps * o->min_time * 1.5);
    r->t_start = now_s();
    fflush(stdout);
    /* after the runs, context_block() works out the figures and describes
     * the whole run in the JSON */
    pb_status st = pb_gb_run(json_path, context_block, r, observe, r, NULL);
    teardown();
    pb_par_unpin();
    if (st != PB_OK) {
        fprintf(stderr, "poolbench: bench: writing %s: %s\n", json_path, pb_status_str(st));
        exit_rc = 1;
        goto fail;
    }

    if (r->n_done == 0) {
        /* --benchmark_list_tests, or nothing left to run: no record */
        fprintf(stderr, "poolbench: bench: nothing was timed; no record written\n");
        goto fail;
    }
    size_t above = r->above_100;
    print_table(r, &co);
    if (above)
        fprintf(stderr,
                "poolbench: bench: warning: %zu case(s) above 100%% of their bandwidth "
                "reference: the reference run was disturbed (marked ? in the table)\n",
                above);
    size_t noisy = 0, failed = 0;
    for (size_t i = 0; i < r->n_res; i++) {
        const pb_case_result *c = &r->res[i];
        if (isfinite(c->cv) && c->cv > CV_WARN) noisy++;
        if (!strcmp(c->status, "FAIL") || !strcmp(c->status, "ERROR")) failed++;
    }
    if (noisy)
        fprintf(stderr,
                "poolbench: bench: warning: CV above %.0f%% in %zu of %zu timed cases (marked "
                "! in the table)\n",
                CV_WARN * 100, noisy, r->n_timed);
    if (failed) {
        fprintf(stderr, "poolbench: bench: %zu case(s) failed verification or timing\n", failed);
        exit_rc = 1;
    }
    if (pb_results_write_csv(csv_path, &ri) != PB_OK) {
        fprintf(stderr, "poolbench: bench: cannot write %s: %s\n", csv_path, strerror(errno));
        exit_rc = 1;
        goto fail;
    }
    char final[4200];
    if (pb_record_commit(rec, final, sizeof final, msg, sizeof msg) != PB_OK) {
        fprintf(stderr, "poolbench: bench: %s\n", msg);
        rec = NULL;
        exit_rc = 1;
        goto done;
    }
    rec = NULL;
    printf("record: %s/\n", final);
    goto done;

fail:
    teardown();
    pb_par_unpin();
    if (rec) pb_record_abort(rec);
done:
    free(sys);
    free_run(r);
    pb_gb_clear();
    R = NULL;
    return exit_rc;
}
