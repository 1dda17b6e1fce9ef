/* Every registry implementation against the reference.
 *
 * For each entry of the registry (pb_impl_get loop, nothing listed here)
 * and each problem of a set built below (channel counts and widths around
 * the vector widths, 1..33; the required window shapes 2x2/2, 3x3/2 p1,
 * 3x3/1 p1 and global; dilation, ceil mode, asymmetric padding, odd
 * strides, large windows, rows and channel counts wider than a tile), all
 * algorithms, both layouts, all directions and every fill of verify.h,
 * pb_verify_case() compares with the reference (max bitwise with argmax,
 * avg within PB_AVG_ULPS; buffers at odd offsets between guard zones,
 * outputs poisoned).  An implementation the CPU cannot run is reported as
 * SKIPPED and never counted as passed; so is every case it declines.
 *
 * Two checks verify does not make:
 *   - max bitwise including NaN payloads and the sign of zero (verify
 *     counts any two NaNs equal): inputs with distinct NaN payloads and
 *     mixed +0/-0 ties, outputs memcmp'd with the reference's;
 *   - the slice entry points (pool.h): an uneven partition of the slices
 *     gives bitwise the whole-problem call's result;
 *   - a max workspace entry outside its window (no forward writes one):
 *     every implementation honours it as the reference does, or, in a
 *     slice range holding part of an NHWC sample, says PB_ERR_PARTIAL. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"
#include "verify.h"

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

#define P1 .pt = 1, .pl = 1, .pb = 1, .pr = 1
static void build_specs(void)
{
    if (n_specs) return;
    static const int chans[] = {1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 23, 24, 25, 31, 32, 33};
    for (size_t i = 0; i < sizeof chans / sizeof chans[0]; i++) {
        add((spec){.c = chans[i], .ih = 9, .iw = 9, .kh = 3, .kw = 3, .sh = 2, .sw = 2, P1});
        add((spec){.c = chans[i], .ih = 6, .iw = 8, .kh = 2, .kw = 2, .sh = 2, .sw = 2});
    }
    for (int w = 1; w <= 33; w++) {
        add((spec){.c = 2, .ih = 5, .iw = w, .kh = 2, .kw = 2, .sh = 2, .sw = 2});
        add((spec){.c = 2, .ih = 5, .iw = w, .kh = 3, .kw = 3, .sh = 2, .sw = 2, P1});
        add((spec){.c = 2, .ih = 4, .iw = w, .kh = 3, .kw = 3, .sh = 1, .sw = 1, P1});
    }
    static const int gl[][2] = {{1, 1}, {2, 3}, {7, 7}, {5, 17}, {13, 11}, {33, 35}, {1, 40}};
    for (size_t i = 0; i < sizeof gl / sizeof gl[0]; i++) {
        add((spec){.c = 3, .ih = gl[i][0], .iw = gl[i][1], .global = true});
        add((spec){.n = 2, .c = 17, .ih = gl[i][0], .iw = gl[i][1], .global = true});
    }
    /* batch, dilation, ceil mode, asymmetric padding, odd strides */
    add((spec){.n = 2, .c = 5, .ih = 11, .iw = 13, .kh = 3, .kw = 3, .sh = 2, .sw = 2, P1});
    add((spec){.c = 3, .ih = 12, .iw = 14, .kh = 3, .kw = 3, .sh = 1, .sw = 1, .dh = 2, .dw = 2, P1});
    add((spec){.c = 3, .ih = 10, .iw = 11, .kh = 3, .kw = 3, .sh = 2, .sw = 2, .ceil = true});
    add((spec){.c = 3, .ih = 10, .iw = 11, .kh = 3, .kw = 3, .sh = 2, .sw = 2, .ceil = true, P1});
    add((spec){.c = 4, .ih = 9, .iw = 10, .kh = 3, .kw = 3, .sh = 2, .sw = 2, .pl = 1, .pb = 1});
    add((spec){.c = 3, .ih = 13, .iw = 16, .kh = 3, .kw = 3, .sh = 3, .sw = 3});
    add((spec){.c = 3, .ih = 12, .iw = 17, .kh = 5, .kw = 5, .sh = 3, .sw = 3, .pt = 2, .pl = 2,
               .pb = 2, .pr = 2});
    add((spec){.c = 3, .ih = 9, .iw = 19, .kh = 2, .kw = 3, .sh = 1, .sw = 2, .pl = 1, .pr = 1});
    add((spec){.c = 3, .ih = 7, .iw = 9, .kh = 1, .kw = 1, .sh = 2, .sw = 2});
    add((spec){.c = 3, .ih = 5, .iw = 6, .kh = 1, .kw = 1, .sh = 1, .sw = 1});
    add((spec){.c = 2, .ih = 14, .iw = 15, .kh = 3, .kw = 4, .sh = 1, .sw = 3, .dh = 3, .dw = 2,
               .pt = 1, .pl = 2, .pr = 1});
    add((spec){.c = 2, .ih = 15, .iw = 16, .kh = 3, .kw = 3, .sh = 2, .sw = 2, .dh = 2, .dw = 2, P1});
    /* large windows: double-summed averages, max along the window */
    add((spec){.c = 3, .ih = 14, .iw = 15, .kh = 11, .kw = 11, .sh = 1, .sw = 2, .pt = 5, .pl = 5,
               .pb = 5, .pr = 5});
    add((spec){.c = 2, .ih = 4, .iw = 45, .kh = 3, .kw = 20, .sh = 1, .sw = 7, .pl = 10, .pr = 3});
    add((spec){.c = 2, .ih = 7, .iw = 7, .kh = 7, .kw = 7, .sh = 1, .sw = 1});
    /* rows wider than an NCHW tile, channels wider than an NHWC tile */
    add((spec){.c = 1, .ih = 4, .iw = 1100, .kh = 2, .kw = 2, .sh = 2, .sw = 2});
    add((spec){.c = 1, .ih = 3, .iw = 1100, .kh = 3, .kw = 3, .sh = 1, .sw = 1, P1});
    add((spec){.c = 1, .ih = 3, .iw = 1100, .kh = 3, .kw = 3, .sh = 2, .sw = 2, P1});
    add((spec){.c = 300, .ih = 5, .iw = 5, .kh = 3, .kw = 3, .sh = 2, .sw = 2, P1});
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

/* True (and says so) when the CPU cannot run im: nothing is counted. */
static bool cpu_skips(const pb_impl *im)
{
    const char *why = NULL;
    if (pb_cpu_can_run(im->isa, &why)) return false;
    printf("test_impls: SKIPPED %s: %s\n", im->name, why ? why : "ISA not available");
    return true;
}

/* Every problem x alg x layout x dir x fill through pb_verify_case. */
START_TEST(test_every_impl)
{
    const pb_impl *im = pb_impl_get((size_t)_i);
    ck_assert_ptr_nonnull(im);
    if (im->is_reference) {
        printf("test_impls: %s is the reference: not compared with itself\n", im->name);
        return;
    }
    if (cpu_skips(im)) return;
    build_specs();
    int pass = 0, fail = 0, skip = 0, valid = 0;
    char first_skip[320] = "";
    for (int i = 0; i < n_specs; i++)
        for (int l = 0; l < PB_LAYOUT_COUNT; l++)
            for (int al = 0; al < PB_ALG_COUNT; al++) {
                pb_desc d;
                if (!make_desc(&specs[i], (pb_alg)al, (pb_layout)l, &d)) continue;
                valid++;
                if (im->parallel) d.threads = 2;
                for (int dir = 0; dir < PB_DIR_COUNT; dir++)
                    for (int f = 0; f < PB_FILL_COUNT; f++) {
                        pb_check c;
                        uint64_t seed = (uint64_t)(i * 1000 + l * 100 + al * 10 + f);
                        ck_assert_int_eq(pb_verify_case(im, &d, (pb_dir)dir, (pb_fill)f, seed, &c),
                                         PB_OK);
                        if (c.verdict == PB_PASS) {
                            pass++;
                        } else if (c.verdict == PB_SKIP) {
                            if (!skip++) snprintf(first_skip, sizeof first_skip, "%s", c.detail);
                        } else if (++fail <= 10) {
                            fprintf(stderr, "FAIL %s: %s\n", im->name, c.detail);
                        }
                    }
            }
    printf("test_impls: %s: %d passed, %d failed, %d skipped%s%s\n", im->name, pass, fail, skip,
           skip ? "; first skip: " : "", first_skip);
    ck_assert_int_ge(valid, 500); /* the set really is the promised one */
    ck_assert_msg(fail == 0, "%s: %d cases differ from the reference", im->name, fail);
    ck_assert_msg(pass > 0, "%s: no case ran", im->name);
}
END_TEST

/* --- bitwise max with NaN payloads and signed zeros --- */

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

/* +0/-0/1 ties, and 1 in 16 elements a NaN with its own payload. */
static void fill_payloads(float *p, int64_t n, uint64_t seed)
{
    static const float v[3] = {0.0f, -0.0f, 1.0f};
    for (int64_t i = 0; i < n; i++) {
        uint64_t r = rng_next(&seed);
        p[i] = r % 16 == 0 ? bits_f(0x7fc00000u | (uint32_t)((r >> 8) & 0x3fffffu) | 1u)
                           : v[(r >> 32) % 3];
    }
}

START_TEST(test_max_bits)
{
    const pb_impl *im = pb_impl_get((size_t)_i), *ref = pb_impl_reference();
    ck_assert_ptr_nonnull(im);
    if (im->is_reference || cpu_skips(im)) return;
    /* declared semantic differences: verify.h skips these too */
    if (im->quirks & (PB_QUIRK_NAN_IGNORED | PB_QUIRK_NAN_CLAMPED | PB_QUIRK_TIE_ORDER)) {
        printf("test_impls: max bits: SKIPPED %s: declared NaN/tie quirks\n", im->name);
        return;
    }
    build_specs();
    int checked = 0, declined = 0;
    for (int i = 0; i < n_specs; i++)
        for (int l = 0; l < PB_LAYOUT_COUNT; l++) {
            pb_desc d;
            if (!make_desc(&specs[i], PB_ALG_MAX, (pb_layout)l, &d)) continue;
            if (im->parallel) d.threads = 2;
            if (!pb_impl_accepts(im, &d, PB_DIR_FWD_TRAIN, NULL)) {
                declined++;
                continue;
            }
            size_t nd = (size_t)d.dst_elems;
            float *src = malloc((size_t)d.src_elems * sizeof *src);
            float *dst = malloc(nd * sizeof *dst), *rdst = malloc(nd * sizeof *rdst);
            int32_t *ws = malloc(nd * sizeof *ws), *rws = malloc(nd * sizeof *rws);
            ck_assert(src && dst && rdst && ws && rws);
            fill_payloads(src, d.src_elems, (uint64_t)i);
            pb_args ra = {.src = src, .dst = rdst, .ws = rws}, a = {.src = src, .dst = dst, .ws = ws};
            ck_assert_int_eq(pb_impl_run(ref, &d, PB_DIR_FWD_TRAIN, &ra), PB_OK);
            ck_assert_int_eq(pb_impl_run(im, &d, PB_DIR_FWD_TRAIN, &a), PB_OK);
            ck_assert_msg(memcmp(dst, rdst, nd * sizeof *dst) == 0, "%s: spec %d %s: values",
                          im->name, i, pb_layout_name(d.layout));
            ck_assert_msg(im->own_workspace || memcmp(ws, rws, nd * sizeof *ws) == 0,
                          "%s: spec %d %s: argmax", im->name, i, pb_layout_name(d.layout));
            a.ws = NULL;
            ck_assert_int_eq(pb_impl_run(im, &d, PB_DIR_FWD_INF, &a), PB_OK);
            ck_assert_msg(memcmp(dst, rdst, nd * sizeof *dst) == 0, "%s: spec %d %s: inference",
                          im->name, i, pb_layout_name(d.layout));
            checked++;
            free(src), free(dst), free(rdst), free(ws), free(rws);
        }
    printf("test_impls: max bits: %s: %d problems bitwise equal, %d declined\n", im->name, checked,
           declined);
    ck_assert_int_gt(checked, 0);
}
END_TEST

/* --- slice entry points over an uneven partition --- */

/* Runs the slice entry point over pieces of 1, 2, 3, ... slices, the rest
 * in the last of `parts` pieces. */
static pb_status run_pieces(const pb_impl *im, const pb_desc *d, pb_dir dir, const pb_args *a,
                            int parts)
{
    void *state = NULL;
    pb_status st = im->prepare ? im->prepare(d, dir, a, &state) : PB_OK;
    if (st != PB_OK) return st;
    const bool bwd = dir == PB_DIR_BWD;
    const int64_t total = bwd ? pb_bwd_slices(d) : pb_fwd_rows(d);
    pb_slice_fn fn = bwd ? im->bwd_slices : im->fwd_rows;
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

START_TEST(test_uneven_slices)
{
    const pb_impl *im = pb_impl_get((size_t)_i);
    ck_assert_ptr_nonnull(im);
    if (!im->fwd_rows && !im->bwd_slices) return;
    if (cpu_skips(im)) return;
    build_specs();
    int checked = 0;
    for (int i = 0; i < n_specs; i++)
        for (int l = 0; l < PB_LAYOUT_COUNT; l++)
            for (int al = 0; al < PB_ALG_COUNT; al++) {
                pb_desc d;
                if (!make_desc(&specs[i], (pb_alg)al, (pb_layout)l, &d)) continue;
                const size_t ns = (size_t)d.src_elems, nd = (size_t)d.dst_elems;
                float *src = malloc(ns * sizeof *src), *dd = malloc(nd * sizeof *dd);
                float *o1 = malloc(ns * sizeof *o1), *o2 = malloc(ns * sizeof *o2);
                int32_t *w1 = malloc(nd * sizeof *w1), *w2 = malloc(nd * sizeof *w2);
                ck_assert(src && dd && o1 && o2 && w1 && w2);
                pb_fill_src(&d, PB_FILL_TIES, (uint64_t)i, src, d.src_elems);
                pb_fill_diff_dst((uint64_t)i, dd, d.dst_elems);
                for (int dir = 0; dir < PB_DIR_COUNT; dir++) {
                    bool bwd = dir == PB_DIR_BWD;
                    if (!(bwd ? im->bwd_slices : im->fwd_rows) ||
                        !pb_impl_accepts(im, &d, (pb_dir)dir, NULL))
                        continue;
                    size_t n = bwd ? ns : nd;
                    bool ws = d.alg == PB_ALG_MAX && dir == PB_DIR_FWD_TRAIN;
                    pb_args a1 = {.src = src}, a2 = {.src = src};
                    if (bwd) {
                        /* a valid argmax: the reference's */
                        pb_args ra = {.src = src, .dst = o1, .ws = w1};
                        ck_assert_int_eq(pb_impl_run(pb_impl_reference(), &d, PB_DIR_FWD_TRAIN, &ra),
                                         PB_OK);
                        a1 = a2 = (pb_args){.src = src, .ws = w1, .diff_dst = dd};
                        a1.diff_src = o1, a2.diff_src = o2;
                    } else {
                        a1.dst = o1, a1.ws = ws ? w1 : NULL;
                        a2.dst = o2, a2.ws = ws ? w2 : NULL;
                    }
                    pb_poison_f32(o1, (int64_t)n), pb_poison_f32(o2, (int64_t)n);
                    if (!bwd) pb_poison_i32(w1, (int64_t)nd), pb_poison_i32(w2, (int64_t)nd);
                    ck_assert_int_eq(pb_impl_run(im, &d, (pb_dir)dir, &a1), PB_OK);
                    ck_assert_int_eq(run_pieces(im, &d, (pb_dir)dir, &a2, 4), PB_OK);
                    ck_assert_msg(memcmp(o1, o2, n * sizeof *o1) == 0, "%s: spec %d %s %s %s",
                                  im->name, i, pb_alg_name(d.alg), pb_layout_name(d.layout),
                                  pb_dir_name((pb_dir)dir));
                    ck_assert(!ws || memcmp(w1, w2, nd * sizeof *w1) == 0);
                    checked++;
                }
                free(src), free(dd), free(o1), free(o2), free(w1), free(w2);
            }
    printf("test_impls: %s: slices: %d cases bitwise equal to the whole-problem call\n", im->name,
           checked);
    ck_assert_int_gt(checked, 0);
}
END_TEST

/* Max backward with a foreign workspace: from the reference's forward,
 * then every 5th entry moved to another position of the plane (mostly
 * outside its window).  The whole-problem call equals the reference
 * bitwise; a partition into pieces either does too or says
 * PB_ERR_PARTIAL; a position outside the plane is refused. */
START_TEST(test_foreign_workspace)
{
    const pb_impl *im = pb_impl_get((size_t)_i);
    ck_assert_ptr_nonnull(im);
    if (im->external || im == pb_impl_reference() || cpu_skips(im)) return;
    build_specs();
    int checked = 0, partial = 0;
    for (int i = 0; i < n_specs; i++)
        for (int l = 0; l < PB_LAYOUT_COUNT; l++) {
            pb_desc d;
            if (!make_desc(&specs[i], PB_ALG_MAX, (pb_layout)l, &d) ||
                !pb_impl_accepts(im, &d, PB_DIR_BWD, NULL))
                continue;
            const size_t ns = (size_t)d.src_elems, nd = (size_t)d.dst_elems;
            const int64_t plane = d.ih * d.iw;
            float *src = malloc(ns * sizeof *src), *dd = malloc(nd * sizeof *dd);
            float *ref = malloc(ns * sizeof *ref), *o1 = malloc(ns * sizeof *o1);
            float *o2 = malloc(ns * sizeof *o2), *dst = malloc(nd * sizeof *dst);
            int32_t *ws = malloc(nd * sizeof *ws);
            ck_assert(src && dd && ref && o1 && o2 && dst && ws);
            pb_fill_src(&d, PB_FILL_DISTINCT, (uint64_t)i, src, d.src_elems);
            pb_fill_diff_dst((uint64_t)i, dd, d.dst_elems);
            pb_args fa = {.src = src, .dst = dst, .ws = ws};
            ck_assert_int_eq(pb_impl_run(pb_impl_reference(), &d, PB_DIR_FWD_TRAIN, &fa), PB_OK);
            for (size_t k = 0; k < nd; k += 5) ws[k] = (int32_t)((ws[k] + 1 + (int64_t)k * 7) % plane);
            pb_args ra = {.src = src, .ws = ws, .diff_dst = dd, .diff_src = ref};
            ck_assert_int_eq(pb_impl_run(pb_impl_reference(), &d, PB_DIR_BWD, &ra), PB_OK);
            pb_args a1 = ra, a2 = ra;
            a1.diff_src = o1, a2.diff_src = o2;
            pb_poison_f32(o1, (int64_t)ns);
            ck_assert_int_eq(pb_impl_run(im, &d, PB_DIR_BWD, &a1), PB_OK);
            ck_assert_msg(memcmp(o1, ref, ns * sizeof *o1) == 0, "%s: spec %d %s: whole call",
                          im->name, i, pb_layout_name(d.layout));
            if (im->bwd_slices) {
                pb_poison_f32(o2, (int64_t)ns);
                pb_status st = run_pieces(im, &d, PB_DIR_BWD, &a2, 4);
                ck_assert_msg(st == PB_OK || (st == PB_ERR_PARTIAL && l == PB_LAYOUT_NHWC),
                              "%s: spec %d %s: pieces say %s", im->name, i,
                              pb_layout_name(d.layout), pb_status_str(st));
                ck_assert(st != PB_OK || memcmp(o2, ref, ns * sizeof *o2) == 0);
                partial += st == PB_ERR_PARTIAL;
            }
            ws[nd - 1] = (int32_t)plane; /* outside the plane */
            ck_assert_int_eq(pb_impl_run(im, &d, PB_DIR_BWD, &a1), PB_ERR_UNSUPPORTED);
            checked++;
            free(src), free(dd), free(ref), free(o1), free(o2), free(dst), free(ws);
        }
    printf("test_impls: %s: foreign workspace: %d problems equal to the reference, %d partial "
           "ranges refused\n",
           im->name, checked, partial);
    ck_assert_int_gt(checked, 0);
    /* sliced NHWC kernels see the foreign entries from partial samples */
    ck_assert(!im->bwd_slices || im->parallel || partial > 0);
}
END_TEST

Suite *pb_test_suite_impls(void)
{
    Suite *s = suite_create("impls");
    TCase *tc = tcase_create("vs_reference");
    tcase_set_timeout(tc, 900);
    tcase_add_loop_test(tc, test_every_impl, 0, (int)pb_impl_count());
    tcase_add_loop_test(tc, test_max_bits, 0, (int)pb_impl_count());
    tcase_add_loop_test(tc, test_uneven_slices, 0, (int)pb_impl_count());
    tcase_add_loop_test(tc, test_foreign_workspace, 0, (int)pb_impl_count());
    suite_add_tcase(s, tc);
    return s;
}
