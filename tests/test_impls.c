/* Every registry implementation against the reference.
 *
 * For each entry of the registry (pb_impl_get loop, nothing listed here)
 * and each problem of a set built below (channel counts and widths around
 * the vector widths, 1..33; the required window shapes; global; dilation,
 * ceil mode, asymmetric padding, large windows, rows and channel counts
 * wider than a tile), all algorithms, both layouts and all directions, with
 * three input patterns (near-distinct values, heavy ties with both signs of
 * zero, and NaN with distinct payloads, +-inf and all -inf windows):
 *   max  values and argmax bitwise equal to the reference; backward
 *        (upstream gradients multiples of 1/8, so sums are exact) bitwise;
 *   avg  within PB_TEST_ULPS ulps of the reference on a scale of
 *        max(|ref|, 1) (verify.h's documented bound);
 * every tensor sits at an odd float offset with guard floats before and
 * after it that must stay untouched, and outputs are poisoned first so an
 * unwritten element fails.  Implementations with slice entry points are
 * also run over an uneven partition of the slices and must match their
 * whole-problem call bitwise.  An implementation the CPU cannot run, or a
 * case it declines, is reported as skipped and never counted as passed. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"

#define PB_TEST_ULPS 8
#define GUARD 13               /* guard floats after each tensor */
#define GUARD_BITS 0x7fa5a5a5u /* signalling-NaN pattern no kernel writes */
#define POISON_BITS 0xffc0deadu /* negative quiet NaN no input holds */
#define POISON_I32 INT32_MIN

enum fill { FILL_DISTINCT, FILL_TIES, FILL_SPECIAL, FILL_COUNT };
static const char *const fill_names[FILL_COUNT] = {"distinct", "ties", "special"};

/* --- deterministic random numbers (splitmix64) --- */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static float bits_f(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}
static uint32_t f_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static void fill_src(float *p, int64_t n, enum fill f, bool is_max, uint64_t seed)
{
    uint64_t s = seed;
    for (int64_t i = 0; i < n; i++) {
        uint64_t r = rng_next(&s);
        float v;
        if (f == FILL_TIES) {
            static const float ties[5] = {-1.0f, 0.0f, -0.0f, 1.0f, 2.0f};
            v = ties[r % 5];
        } else if (is_max) {
            v = (float)((int64_t)(r >> 40) - (1 << 23)); /* integers, rarely equal */
        } else {
            v = (float)((double)(r >> 11) / 9007199254740992.0 * 2.0 - 1.0);
        }
        if (f == FILL_SPECIAL) {
            unsigned k = (unsigned)(r >> 8) % 100;
            if (k < 4)
                v = bits_f(0x7fc00000u | (uint32_t)(r & 0x3fffffu) | 1u); /* distinct payloads */
            else if (k < 8)
                v = INFINITY;
            else if (k < 20)
                v = -INFINITY;
        }
        p[i] = v;
    }
    /* whole -inf stretches so that some windows hold nothing else */
    if (f == FILL_SPECIAL)
        for (int64_t i = n / 3; i < n / 3 + n / 8; i++) p[i] = -INFINITY;
}

static void fill_grad(float *p, int64_t n, uint64_t seed)
{
    uint64_t s = seed;
    for (int64_t i = 0; i < n; i++) p[i] = (float)((int)(rng_next(&s) % 33) - 16) / 8.0f;
}

/* --- guarded buffers: [off guard][n elements][GUARD guard] --- */
typedef struct gbuf {
    uint32_t *base;
    int64_t n, off;
} gbuf;

static void *gbuf_make(gbuf *b, int64_t n, int64_t off)
{
    b->n = n;
    b->off = off;
    b->base = malloc((size_t)(n + off + GUARD) * sizeof *b->base);
    ck_assert_ptr_nonnull(b->base);
    for (int64_t i = 0; i < n + off + GUARD; i++) b->base[i] = GUARD_BITS;
    return b->base + off;
}
static bool gbuf_guards_ok(const gbuf *b)
{
    for (int64_t i = 0; i < b->off; i++)
        if (b->base[i] != GUARD_BITS) return false;
    for (int64_t i = b->off + b->n; i < b->off + b->n + GUARD; i++)
        if (b->base[i] != GUARD_BITS) return false;
    return true;
}

/* --- the problem set --- */
typedef struct spec {
    int64_t n, c, ih, iw, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw;
    bool ceil, global;
} spec;

static int n_specs;
static spec specs[400];

static void add(spec s)
{
    ck_assert_int_lt(n_specs, (int)(sizeof specs / sizeof specs[0]));
    if (s.n == 0) s.n = 1;
    if (s.dh == 0) s.dh = 1;
    if (s.dw == 0) s.dw = 1;
    specs[n_specs++] = s;
}

static void build_specs(void)
{
    if (n_specs) return;
    static const int chans[] = {1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 23, 24, 25, 31, 32, 33};
    for (size_t i = 0; i < sizeof chans / sizeof chans[0]; i++) {
        add((spec){.c = chans[i], .ih = 9, .iw = 9, .kh = 3, .kw = 3, .sh = 2, .sw = 2, .pt = 1,
                   .pl = 1, .pb = 1, .pr = 1});
        add((spec){.c = chans[i], .ih = 6, .iw = 8, .kh = 2, .kw = 2, .sh = 2, .sw = 2});
    }
    for (int w = 1; w <= 33; w++) {
        add((spec){.c = 2, .ih = 5, .iw = w, .kh = 2, .kw = 2, .sh = 2, .sw = 2});
        add((spec){.c = 2, .ih = 5, .iw = w, .kh = 3, .kw = 3, .sh = 2, .sw = 2, .pt = 1, .pl = 1,
                   .pb = 1, .pr = 1});
        add((spec){.c = 2, .ih = 4, .iw = w, .kh = 3, .kw = 3, .sh = 1, .sw = 1, .pt = 1, .pl = 1,
                   .pb = 1, .pr = 1});
    }
    static const int gl[][2] = {{1, 1}, {2, 3}, {7, 7}, {5, 17}, {13, 11}, {33, 35}, {1, 40}};
    for (size_t i = 0; i < sizeof gl / sizeof gl[0]; i++) {
        add((spec){.c = 3, .ih = gl[i][0], .iw = gl[i][1], .global = true});
        add((spec){.n = 2, .c = 17, .ih = gl[i][0], .iw = gl[i][1], .global = true});
    }
    /* batch, dilation, ceil mode, asymmetric padding, odd strides */
    add((spec){.n = 2, .c = 5, .ih = 11, .iw = 13, .kh = 3, .kw = 3, .sh = 2, .sw = 2, .pt = 1,
               .pl = 1, .pb = 1, .pr = 1});
    add((spec){.c = 3, .ih = 12, .iw = 14, .kh = 3, .kw = 3, .sh = 1, .sw = 1, .pt = 1, .pl = 1,
               .pb = 1, .pr = 1, .dh = 2, .dw = 2});
    add((spec){.c = 3, .ih = 10, .iw = 11, .kh = 3, .kw = 3, .sh = 2, .sw = 2, .ceil = true});
    add((spec){.c = 3, .ih = 10, .iw = 11, .kh = 3, .kw = 3, .sh = 2, .sw = 2, .pt = 1, .pl = 1,
               .pb = 1, .pr = 1, .ceil = true});
    add((spec){.c = 4, .ih = 9, .iw = 10, .kh = 3, .kw = 3, .sh = 2, .sw = 2, .pt = 0, .pl = 1,
               .pb = 1, .pr = 0});
    add((spec){.c = 3, .ih = 13, .iw = 16, .kh = 3, .kw = 3, .sh = 3, .sw = 3});
    add((spec){.c = 3, .ih = 12, .iw = 17, .kh = 5, .kw = 5, .sh = 3, .sw = 3, .pt = 2, .pl = 2,
               .pb = 2, .pr = 2});
    add((spec){.c = 3, .ih = 9, .iw = 19, .kh = 2, .kw = 3, .sh = 1, .sw = 2, .pl = 1, .pr = 1});
    add((spec){.c = 3, .ih = 7, .iw = 9, .kh = 1, .kw = 1, .sh = 2, .sw = 2});
    add((spec){.c = 3, .ih = 5, .iw = 6, .kh = 1, .kw = 1, .sh = 1, .sw = 1});
    add((spec){.c = 2, .ih = 14, .iw = 15, .kh = 3, .kw = 4, .sh = 1, .sw = 3, .dh = 3, .dw = 2,
               .pt = 1, .pl = 2, .pb = 0, .pr = 1});
    /* large windows: double-summed averages, max along the window */
    add((spec){.c = 3, .ih = 14, .iw = 15, .kh = 11, .kw = 11, .sh = 1, .sw = 2, .pt = 5, .pl = 5,
               .pb = 5, .pr = 5});
    add((spec){.c = 2, .ih = 4, .iw = 45, .kh = 3, .kw = 20, .sh = 1, .sw = 7, .pl = 10, .pr = 3});
    add((spec){.c = 2, .ih = 7, .iw = 7, .kh = 7, .kw = 7, .sh = 1, .sw = 1});
    /* rows wider than an NCHW tile, channels wider than an NHWC tile */
    add((spec){.c = 1, .ih = 4, .iw = 1100, .kh = 2, .kw = 2, .sh = 2, .sw = 2});
    add((spec){.c = 1, .ih = 3, .iw = 1100, .kh = 3, .kw = 3, .sh = 1, .sw = 1, .pt = 1, .pl = 1,
               .pb = 1, .pr = 1});
    add((spec){.c = 300, .ih = 5, .iw = 5, .kh = 3, .kw = 3, .sh = 2, .sw = 2, .pt = 1, .pl = 1,
               .pb = 1, .pr = 1});
}

static bool make_desc(const spec *s, pb_alg alg, pb_layout l, pb_desc *d)
{
    pb_desc_init(d);
    d->n = s->n, d->c = s->c, d->ih = s->ih, d->iw = s->iw;
    d->kh = s->kh, d->kw = s->kw, d->sh = s->sh, d->sw = s->sw;
    d->pt = s->pt, d->pl = s->pl, d->pb = s->pb, d->pr = s->pr;
    d->dh = s->dh, d->dw = s->dw, d->ceil_mode = s->ceil, d->global = s->global;
    d->alg = alg, d->layout = l;
    return pb_desc_finalize(d, NULL, 0) == PB_OK;
}

static void desc_str(const pb_desc *d, char *buf, size_t len)
{
    snprintf(buf, len,
             "mb%lld ic%lld ih%lld iw%lld kh%lld kw%lld sh%lld sw%lld p(t%lld l%lld b%lld r%lld) "
             "dh%lld dw%lld%s%s %s %s",
             (long long)d->n, (long long)d->c, (long long)d->ih, (long long)d->iw,
             (long long)d->kh, (long long)d->kw, (long long)d->sh, (long long)d->sw,
             (long long)d->pt, (long long)d->pl, (long long)d->pb, (long long)d->pr,
             (long long)d->dh, (long long)d->dw, d->ceil_mode ? " ceil" : "",
             d->global ? " global" : "", pb_alg_name(d->alg), pb_layout_name(d->layout));
}

/* Within tolerance: bitwise for max; avg within PB_TEST_ULPS ulps of
 * max(|ref|, 1), NaN matches any NaN except the poison, inf must match. */
static bool close_enough(float ref, float got, bool bitwise)
{
    if (f_bits(got) == POISON_BITS) return false;
    if (bitwise) return f_bits(ref) == f_bits(got);
    if (isnan(ref) || isnan(got)) return isnan(ref) && isnan(got);
    if (isinf(ref) || isinf(got)) return ref == got;
    float scale = fabsf(ref) > 1.0f ? fabsf(ref) : 1.0f;
    double ulp = (double)nextafterf(scale, INFINITY) - (double)scale;
    return fabs((double)got - (double)ref) <= PB_TEST_ULPS * ulp;
}

typedef struct tally {
    int pass, skip, fail;
    char first_skip[160];
} tally;

static void report_fail(tally *t, const pb_impl *im, const pb_desc *d, pb_dir dir, enum fill f,
                        const char *what, int64_t i, uint32_t ref, uint32_t got)
{
    t->fail++;
    if (t->fail > 10) return;
    char s[256];
    desc_str(d, s, sizeof s);
    fprintf(stderr, "FAIL %s %s %s fill=%s: %s at %lld: ref 0x%08x (%g) got 0x%08x (%g)\n",
            im->name, pb_dir_name(dir), s, fill_names[f], what, (long long)i, ref,
            (double)bits_f(ref), got, (double)bits_f(got));
}

/* Runs impl on (d, dir) with buffers placed as the arguments; the slice
 * entry points instead over `parts` uneven pieces when parts > 1. */
static pb_status run_impl(const pb_impl *im, const pb_desc *d, pb_dir dir, const pb_args *a,
                          int parts)
{
    if (parts <= 1) return pb_impl_run(im, d, dir, a);
    void *state = NULL;
    pb_status st = im->prepare ? im->prepare(d, dir, a, &state) : PB_OK;
    if (st != PB_OK) return st;
    bool bwd = dir == PB_DIR_BWD;
    int64_t total = bwd ? pb_bwd_slices(d) : pb_fwd_rows(d);
    pb_slice_fn fn = bwd ? im->bwd_slices : im->fwd_rows;
    /* pieces of growing size: 1, 2, 3, ... slices, the rest in the last */
    int64_t b = 0;
    for (int k = 1; k <= parts && st == PB_OK && b < total; k++) {
        int64_t e = k == parts ? total : b + k;
        if (e > total) e = total;
        st = fn(d, a, state, b, e);
        b = e;
    }
    if (im->release) im->release(state);
    return st;
}

static bool cpu_or_decline(const pb_impl *im, const pb_desc *d, pb_dir dir, tally *t)
{
    const char *why = NULL;
    if (pb_impl_accepts(im, d, dir, &why)) return true;
    if (!t->skip) snprintf(t->first_skip, sizeof t->first_skip, "%s", why ? why : "?");
    t->skip++;
    return false;
}

/* One case: reference and impl on the same inputs, compared. */
static void check_case(const pb_impl *im, const pb_desc *d, pb_dir dir, enum fill f, uint64_t seed,
                       int parts, tally *t)
{
    const pb_impl *ref = pb_impl_reference();
    const bool is_max = d->alg == PB_ALG_MAX;
    if (!cpu_or_decline(im, d, dir, t)) return;
    /* declared data-dependent differences of comparison backends */
    if (f == FILL_SPECIAL && is_max && (im->quirks & (PB_QUIRK_NAN_IGNORED | PB_QUIRK_NEG_INF_FLT_MAX))) {
        if (!t->skip) snprintf(t->first_skip, sizeof t->first_skip, "declared NaN/-inf quirk");
        t->skip++;
        return;
    }
    const bool cmp_ws = is_max && dir == PB_DIR_FWD_TRAIN && !im->own_workspace &&
                        !(f == FILL_TIES && (im->quirks & PB_QUIRK_TIE_ORDER));
    const int64_t ns = d->src_elems, nd = d->dst_elems;
    gbuf bs, bd, bw, bdd, bds, rd, rw, rds;
    float *src = gbuf_make(&bs, ns, 3);
    float *dst = gbuf_make(&bd, nd, 1);
    int32_t *ws = gbuf_make(&bw, nd, 5);
    float *ddst = gbuf_make(&bdd, nd, 7);
    float *dsrc = gbuf_make(&bds, ns, 1);
    float *rdst = gbuf_make(&rd, nd, 0);
    int32_t *rws = gbuf_make(&rw, nd, 0);
    float *rdsrc = gbuf_make(&rds, ns, 0);
    fill_src(src, ns, f, is_max, seed);
    fill_grad(ddst, nd, seed ^ 0x5555);

    pb_args ra = {.src = src, .dst = rdst, .ws = is_max ? rws : NULL};
    ck_assert_int_eq(pb_impl_run(ref, d, PB_DIR_FWD_TRAIN, &ra), PB_OK);
    pb_args a = {.src = src};
    if (dir == PB_DIR_BWD) {
        /* both backward passes get the reference's argmax */
        memcpy(ws, rws, (size_t)nd * sizeof *ws);
        ra = (pb_args){.src = src, .ws = is_max ? rws : NULL, .diff_dst = ddst, .diff_src = rdsrc};
        ck_assert_int_eq(pb_impl_run(ref, d, PB_DIR_BWD, &ra), PB_OK);
        for (int64_t i = 0; i < ns; i++) dsrc[i] = bits_f(POISON_BITS);
        a = (pb_args){.src = src, .ws = is_max ? ws : NULL, .diff_dst = ddst, .diff_src = dsrc};
    } else {
        for (int64_t i = 0; i < nd; i++) {
            dst[i] = bits_f(POISON_BITS);
            ws[i] = POISON_I32;
        }
        a = (pb_args){.src = src, .dst = dst, .ws = is_max && dir == PB_DIR_FWD_TRAIN ? ws : NULL};
    }
    pb_status st = run_impl(im, d, dir, &a, parts);
    bool ok = st == PB_OK;
    if (!ok) report_fail(t, im, d, dir, f, pb_status_str(st), -1, 0, 0);
    if (ok && dir == PB_DIR_BWD) {
        for (int64_t i = 0; i < ns && ok; i++)
            if (!close_enough(rdsrc[i], dsrc[i], is_max)) {
                report_fail(t, im, d, dir, f, "diff_src", i, f_bits(rdsrc[i]), f_bits(dsrc[i]));
                ok = false;
            }
    } else if (ok) {
        for (int64_t i = 0; i < nd && ok; i++)
            if (!close_enough(rdst[i], dst[i], is_max)) {
                report_fail(t, im, d, dir, f, "dst", i, f_bits(rdst[i]), f_bits(dst[i]));
                ok = false;
            }
        for (int64_t i = 0; i < nd && ok && cmp_ws; i++)
            if (rws[i] != ws[i]) {
                report_fail(t, im, d, dir, f, "argmax", i, (uint32_t)rws[i], (uint32_t)ws[i]);
                ok = false;
            }
        if (ok && dir == PB_DIR_FWD_INF && is_max)
            for (int64_t i = 0; i < nd && ok; i++)
                if (ws[i] != POISON_I32) {
                    report_fail(t, im, d, dir, f, "inference wrote ws", i, 0, (uint32_t)ws[i]);
                    ok = false;
                }
    }
    const gbuf *all[] = {&bs, &bd, &bw, &bdd, &bds};
    for (size_t k = 0; k < 5 && ok; k++)
        if (!gbuf_guards_ok(all[k])) {
            report_fail(t, im, d, dir, f, "guard zone overwritten", (long long)k, GUARD_BITS, 0);
            ok = false;
        }
    if (ok) t->pass++;
    gbuf *fr[] = {&bs, &bd, &bw, &bdd, &bds, &rd, &rw, &rds};
    for (size_t k = 0; k < 8; k++) free(fr[k]->base);
}

static void check_impl(const pb_impl *im, int parts)
{
    build_specs();
    tally t = {0};
    const char *why = NULL;
    if (!pb_cpu_can_run(im->isa, &why)) {
        printf("test_impls: SKIPPED %s: %s\n", im->name, why ? why : "ISA not available");
        return;
    }
    for (int i = 0; i < n_specs; i++)
        for (int l = 0; l < PB_LAYOUT_COUNT; l++)
            for (int al = 0; al < PB_ALG_COUNT; al++) {
                pb_desc d;
                if (!make_desc(&specs[i], (pb_alg)al, (pb_layout)l, &d)) continue;
                if (im->parallel) d.threads = 2;
                for (int dir = 0; dir < PB_DIR_COUNT; dir++) {
                    if (parts > 1 && !(dir == PB_DIR_BWD ? im->bwd_slices : im->fwd_rows)) continue;
                    for (int f = 0; f < FILL_COUNT; f++)
                        check_case(im, &d, (pb_dir)dir, (enum fill)f,
                                   (uint64_t)(i * 1000 + l * 100 + al * 10 + f), parts, &t);
                }
            }
    printf("test_impls: %s%s: %d passed, %d failed, %d skipped%s%s\n", im->name,
           parts > 1 ? " (uneven slices)" : "", t.pass, t.fail, t.skip,
           t.skip ? ", first reason: " : "", t.skip ? t.first_skip : "");
    ck_assert_msg(t.fail == 0, "%s: %d cases differ from the reference", im->name, t.fail);
    ck_assert_msg(t.pass > 0, "%s: no case ran", im->name);
}

START_TEST(test_every_impl)
{
    const pb_impl *im = pb_impl_get((size_t)_i);
    ck_assert_ptr_nonnull(im);
    if (im->is_reference) return; /* compared with itself: nothing to learn */
    check_impl(im, 1);
}
END_TEST

START_TEST(test_every_impl_slices)
{
    const pb_impl *im = pb_impl_get((size_t)_i);
    ck_assert_ptr_nonnull(im);
    if (!im->fwd_rows && !im->bwd_slices) return;
    check_impl(im, 4);
}
END_TEST

/* The set really contains what the header promises. */
START_TEST(test_problem_set)
{
    build_specs();
    int nhwc_small_c = 0, widths = 0, globals = 0;
    for (int i = 0; i < n_specs; i++) {
        if (specs[i].c <= 33) nhwc_small_c++;
        if (specs[i].c == 2 && specs[i].ih == 5) widths++;
        if (specs[i].global) globals++;
    }
    ck_assert_int_ge(nhwc_small_c, 100);
    ck_assert_int_eq(widths, 66);
    ck_assert_int_eq(globals, 14);
    /* a poisoned output is never close to anything, guards are detected */
    ck_assert(!close_enough(1.0f, bits_f(POISON_BITS), false));
    ck_assert(!close_enough(bits_f(0x7fc00001u), bits_f(POISON_BITS), false));
    ck_assert(close_enough(1.0f, nextafterf(1.0f, 2.0f), false));
    ck_assert(!close_enough(0.0f, -0.0f, true));
    ck_assert(!close_enough(1.0f, 1.0f + 9.0f * 1.1920929e-7f, false));
}
END_TEST

Suite *pb_test_suite_impls(void)
{
    Suite *s = suite_create("impls");
    TCase *tc = tcase_create("vs_reference");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_problem_set);
    tcase_add_loop_test(tc, test_every_impl, 0, (int)pb_impl_count());
    tcase_add_loop_test(tc, test_every_impl_slices, 0, (int)pb_impl_count());
    suite_add_tcase(s, tc);
    return s;
}
