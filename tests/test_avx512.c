/*
 * The avx512 implementation against the reference (naive), in every
 * direction and both layouts: max values and argmax bitwise (ties to the
 * first max, first NaN wins, all -inf windows), max backward bitwise with
 * upstream gradients in multiples of 1/8, avg within 8 ulps (on the scale
 * max(|ref|, 1)).  Widths and channel counts sweep 1..33 and the vector
 * edges; buffers sit at odd float offsets between guard zones that must
 * stay untouched, and outputs are poisoned so an unwritten element fails.
 *
 * On a CPU without AVX-512 (or under POOLBENCH_MAX_ISA=avx2) the suite
 * holds no tests and prints SKIPPED with the reason: it is not a pass.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pool.h"

#define GUARD 37           /* guard floats on each side of every buffer */
#define AVG_ULPS 8.0       /* the documented avg tolerance */
#define SENT_F 0x7fa5a5a5u /* guard pattern (a NaN no kernel makes) */
#define POISON_F 0x7fc0deadu

extern const pb_impl pb_impl_avx512;
/* kernels/pool_avx512.h, whose inline AVX-512 helpers this file must not see */
bool pb_avx512_ws_rows_valid(const pb_desc *d, const int32_t *ws_n, int64_t oh0, int64_t oh1);
bool pb_avx512_nchw_max_bwd_k3s1_plane(const pb_desc *d, const float *dd, const int32_t *ws,
                                       float *ds);

static uint64_t rng_state;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
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

/* A buffer of n elements at an odd offset inside guard zones. */
typedef struct gbuf {
    void *base;
    size_t off, n, esz;
} gbuf;

static void *gbuf_make(gbuf *b, int64_t n, size_t esz, size_t off)
{
    b->n = (size_t)n;
    b->esz = esz;
    b->off = off;
    size_t total = off + b->n + GUARD;
    b->base = malloc(total * esz);
    ck_assert_ptr_nonnull(b->base);
    const uint32_t s = SENT_F;
    for (size_t i = 0; i < total; i++) memcpy((char *)b->base + i * esz, &s, 4);
    return (char *)b->base + off * esz;
}

static bool gbuf_guards_ok(const gbuf *b)
{
    size_t total = b->off + b->n + GUARD;
    for (size_t i = 0; i < total; i++) {
        if (i >= b->off && i < b->off + b->n) continue;
        uint32_t u;
        memcpy(&u, (char *)b->base + i * b->esz, 4);
        if (u != SENT_F) return false;
    }
    return true;
}

typedef enum fill { FILL_DISTINCT, FILL_TIES, FILL_SPECIAL, FILL_COUNT } fill;
static const char *const fill_names[FILL_COUNT] = {"distinct", "ties", "special"};

static void fill_src(float *x, int64_t n, fill f, bool is_max)
{
    for (int64_t i = 0; i < n; i++) {
        uint64_t r = rng();
        switch (f) {
        case FILL_DISTINCT:
            /* integers for max (exact compares), reals for avg */
            x[i] = is_max ? (float)((int64_t)(r % 2000001) - 1000000)
                          : (float)((double)(r % 2000001) / 250000.0 - 4.0);
            break;
        case FILL_TIES: {
            static const float vals[] = {-1.0f, -0.0f, 0.0f, 1.0f, 2.0f, 2.0f};
            x[i] = vals[r % 6];
            break;
        }
        default: {
            unsigned k = (unsigned)(r % 16);
            if (k == 0)
                x[i] = bits_f(0x7fc00001u + (uint32_t)(r >> 40 & 0xff)); /* NaN, payloads */
            else if (k == 1)
                x[i] = bits_f(0xffc00002u); /* negative NaN */
            else if (k == 2)
                x[i] = INFINITY;
            else if (k < 8)
                x[i] = -INFINITY; /* -inf windows */
            else
                x[i] = (float)((int)(r % 7) - 3);
            break;
        }
        }
    }
}

static void fill_diff_dst(float *g, int64_t n)
{
    /* zeros of both signs: max backward must give 0 + g, +0 for -0 */
    for (int64_t i = 0; i < n; i++) {
        const uint64_t r = rng();
        g[i] = (float)((int)(r % 33) - 16) / 8.0f;
        if (g[i] == 0.0f && (r >> 8) % 2) g[i] = -0.0f;
    }
}

static void poison(float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) x[i] = bits_f(POISON_F);
}

static double ulp_err(float got, float ref)
{
    if (isnan(ref) || isnan(got)) return isnan(ref) && isnan(got) ? 0.0 : INFINITY;
    if (isinf(ref) || isinf(got)) return got == ref ? 0.0 : INFINITY;
    float s = fmaxf(fabsf(ref), 1.0f);
    return fabs((double)got - (double)ref) / (double)(nextafterf(s, INFINITY) - s);
}

static void desc_str(const pb_desc *d, pb_dir dir, fill f, char *buf, size_t len)
{
    snprintf(
        buf, len,
        "%s %s %s mb%lldic%lld ih%lldiw%lld kh%lldkw%lld sh%lldsw%lld pt%lldpb%lldpl%lldpr%lld%s%s "
        "fill=%s",
        pb_alg_name(d->alg), pb_layout_name(d->layout), pb_dir_name(dir), (long long)d->n,
        (long long)d->c, (long long)d->ih, (long long)d->iw, (long long)d->kh, (long long)d->kw,
        (long long)d->sh, (long long)d->sw, (long long)d->pt, (long long)d->pb, (long long)d->pl,
        (long long)d->pr, d->ceil_mode ? " ceil" : "", d->global ? " global" : "", fill_names[f]);
}

/* Compares one float output; returns false (after printing) on a miss. */
static bool compare_f(const pb_desc *d, pb_dir dir, fill f, const char *what, const float *got,
                      const float *ref, int64_t n, bool bitwise)
{
    for (int64_t i = 0; i < n; i++) {
        bool ok = bitwise ? f_bits(got[i]) == f_bits(ref[i]) : ulp_err(got[i], ref[i]) <= AVG_ULPS;
        if (!ok) {
            char s[256];
            desc_str(d, dir, f, s, sizeof s);
            fprintf(stderr, "avx512 mismatch: %s: %s[%lld] got %a (0x%08x) want %a (0x%08x)\n", s,
                    what, (long long)i, (double)got[i], f_bits(got[i]), (double)ref[i],
                    f_bits(ref[i]));
            return false;
        }
    }
    return true;
}

/* Runs avx512 and the reference on one case and checks everything. */
static bool check_case(pb_desc *d, pb_dir dir, fill f, size_t off)
{
    const pb_impl *ref = pb_impl_reference();
    const bool is_max = d->alg == PB_ALG_MAX;
    gbuf bs, bd, bw, bg, bdi;
    float *src = gbuf_make(&bs, d->src_elems, 4, off);
    float *dst = gbuf_make(&bd, d->dst_elems, 4, off + 2);
    int32_t *ws = gbuf_make(&bw, d->dst_elems, 4, off + 4);
    float *g = gbuf_make(&bg, d->dst_elems, 4, off + 6);
    float *dsrc = gbuf_make(&bdi, d->src_elems, 4, off + 8);
    float *rdst = malloc((size_t)d->dst_elems * 4);
    int32_t *rws = malloc((size_t)d->dst_elems * 4);
    float *rdsrc = malloc((size_t)d->src_elems * 4);
    ck_assert(rdst && rws && rdsrc);
    fill_src(src, d->src_elems, f, is_max);
    bool ok = true;

    pb_args ra = {.src = src, .dst = rdst, .ws = is_max && dir != PB_DIR_FWD_INF ? rws : NULL};
    ck_assert_int_eq(pb_impl_run(ref, d, dir == PB_DIR_BWD ? PB_DIR_FWD_TRAIN : dir, &ra), PB_OK);
    if (dir != PB_DIR_BWD) {
        poison(dst, d->dst_elems);
        for (int64_t i = 0; i < d->dst_elems; i++) ws[i] = INT32_MIN;
        pb_args a = {.src = src, .dst = dst, .ws = ra.ws ? ws : NULL};
        ck_assert_int_eq(pb_impl_run(&pb_impl_avx512, d, dir, &a), PB_OK);
        ok = compare_f(d, dir, f, "dst", dst, rdst, d->dst_elems, is_max);
        if (ok && ra.ws)
            for (int64_t i = 0; i < d->dst_elems && ok; i++)
                if (ws[i] != rws[i]) {
                    char s[256];
                    desc_str(d, dir, f, s, sizeof s);
                    fprintf(stderr, "avx512 mismatch: %s: ws[%lld] got %d want %d\n", s,
                            (long long)i, ws[i], rws[i]);
                    ok = false;
                }
    } else {
        fill_diff_dst(g, d->dst_elems);
        if (is_max) memcpy(ws, rws, (size_t)d->dst_elems * 4);
        pb_args rb = {.src = src, .diff_dst = g, .ws = is_max ? ws : NULL, .diff_src = rdsrc};
        ck_assert_int_eq(pb_impl_run(ref, d, PB_DIR_BWD, &rb), PB_OK);
        poison(dsrc, d->src_elems);
        pb_args b = {.src = src, .diff_dst = g, .ws = is_max ? ws : NULL, .diff_src = dsrc};
        ck_assert_int_eq(pb_impl_run(&pb_impl_avx512, d, PB_DIR_BWD, &b), PB_OK);
        ok = compare_f(d, dir, f, "diff_src", dsrc, rdsrc, d->src_elems, is_max);
    }
    bool guards = gbuf_guards_ok(&bs) && gbuf_guards_ok(&bd) && gbuf_guards_ok(&bw) &&
                  gbuf_guards_ok(&bg) && gbuf_guards_ok(&bdi);
    if (!guards) {
        char s[256];
        desc_str(d, dir, f, s, sizeof s);
        fprintf(stderr, "avx512: guard zone overwritten: %s\n", s);
    }
    free(bs.base), free(bd.base), free(bw.base), free(bg.base), free(bdi.base);
    free(rdst), free(rws), free(rdsrc);
    return ok && guards;
}

typedef struct win {
    int kh, kw, sh, sw, pt, pb, pl, pr;
    bool ceil_mode, global;
} win;

static const win windows[] = {
    {2, 2, 2, 2, 0, 0, 0, 0, false, false}, /* vgg */
    {3, 3, 2, 2, 1, 1, 1, 1, false, false}, /* resnet */
    {3, 3, 1, 1, 1, 1, 1, 1, false, false}, /* googlenet inception */
    {3, 3, 2, 2, 0, 0, 0, 0, true, false},  /* googlenet / alexnet, ceil */
    {2, 2, 1, 1, 0, 0, 0, 0, false, false}, {1, 1, 1, 1, 0, 0, 0, 0, false, false},
    {5, 5, 2, 2, 2, 2, 2, 2, false, false}, {3, 1, 1, 2, 1, 0, 0, 0, true, false}, /* asymmetric */
    {2, 3, 2, 1, 0, 1, 1, 0, true, false},  {4, 4, 3, 2, 2, 1, 0, 2, true, false},
    {2, 2, 2, 2, 1, 0, 1, 1, false, false}, /* 2x2/2 shifted by padding */
    {2, 2, 2, 2, 0, 1, 0, 1, false, false}, /* 2x2/2, the last row or column padded */
    {2, 2, 2, 2, 0, 0, 0, 0, true, false},  /* 2x2/2, ceil */
    {3, 3, 1, 1, 0, 1, 0, 1, false, false}, /* 3x3/1, padding after only */
    {0, 0, 0, 0, 0, 0, 0, 0, false, true}, /* global */
};
#define NWIN (sizeof windows / sizeof windows[0])

/* Fills a descriptor; false when the shape gives no valid problem. */
static bool make_desc(pb_desc *d, const win *w, pb_layout l, pb_alg alg, int64_t n, int64_t c,
                      int64_t ih, int64_t iw)
{
    pb_desc_init(d);
    d->n = n, d->c = c, d->ih = ih, d->iw = iw;
    d->kh = w->kh, d->kw = w->kw, d->sh = w->sh, d->sw = w->sw;
    d->pt = w->pt, d->pb = w->pb, d->pl = w->pl, d->pr = w->pr;
    d->ceil_mode = w->ceil_mode, d->global = w->global;
    d->alg = alg, d->layout = l;
    return pb_desc_finalize(d, NULL, 0) == PB_OK;
}

/* Every direction and algorithm of one shape; counts the cases run. */
static int sweep_shape(const win *w, pb_layout l, int64_t n, int64_t c, int64_t ih, int64_t iw,
                       size_t off)
{
    int runs = 0;
    for (int alg = 0; alg < PB_ALG_COUNT; alg++) {
        pb_desc d;
        if (!make_desc(&d, w, l, (pb_alg)alg, n, c, ih, iw)) continue;
        ck_assert(pb_impl_accepts(&pb_impl_avx512, &d, PB_DIR_FWD_INF, NULL));
        for (int dir = 0; dir < PB_DIR_COUNT; dir++) {
            if (alg != PB_ALG_MAX && dir == PB_DIR_FWD_TRAIN) continue;
            for (int f = 0; f < FILL_COUNT; f++) {
                if (alg != PB_ALG_MAX && f == FILL_TIES) continue;
                ck_assert_msg(check_case(&d, (pb_dir)dir, (fill)f, off),
                              "case failed (see stderr)");
                runs++;
            }
        }
    }
    return runs;
}

/* NCHW: widths 1..33 and around the 16/32-lane edges of stride 2. */
START_TEST(test_nchw_widths)
{
    static const int64_t extra[] = {40, 47, 63, 64, 65, 66, 70, 97, 131};
    const win *w = &windows[_i];
    rng_state = 0x9e3779b97f4a7c15ull + (uint64_t)_i;
    int runs = 0;
    for (int64_t iw = 1; iw <= 33 + (int64_t)(sizeof extra / sizeof extra[0]); iw++) {
        int64_t width = iw <= 33 ? iw : extra[iw - 34];
        for (int64_t ih = 1; ih <= 7; ih += 3)
            runs += sweep_shape(w, PB_LAYOUT_NCHW, 2, 3, ih, width, (size_t)(1 + 2 * (iw % 5)));
    }
    ck_assert_int_gt(runs, 0);
}
END_TEST

/* NCHW planes narrow enough for the lanes path, 150 of them (groups of
 * 64, 64 and 22), every window, algorithm, direction and fill. */
START_TEST(test_nchw_lanes)
{
    static const int64_t sizes[] = {7, 13, 14, 16};
    const win *w = &windows[_i];
    rng_state = 0x5851f42d4c957f2dull + (uint64_t)_i;
    int runs = 0;
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++)
        runs += sweep_shape(w, PB_LAYOUT_NCHW, 2, 75, sizes[k], sizes[k], 3);
    ck_assert_int_gt(runs, 0);
}
END_TEST

/* Window `wi` over NCHW planes of each (ih, iw) in sizes, n x c of them,
 * the source at float offset off; at least one case must run. */
static void sweep_planes(int wi, uint64_t seed, int64_t n, int64_t c, const int64_t (*sizes)[2],
                         size_t count, size_t off)
{
    rng_state = seed + (uint64_t)wi;
    int runs = 0;
    for (size_t k = 0; k < count; k++)
        runs += sweep_shape(&windows[wi], PB_LAYOUT_NCHW, n, c, sizes[k][0], sizes[k][1], off);
    ck_assert_int_gt(runs, 0);
}

/* NCHW planes with at most 8 outputs per row, which the forward takes two
 * at a time (strips, twin_planes): an odd count of them, so the last plane
 * goes alone. */
START_TEST(test_nchw_twin_planes)
{
    static const int64_t sizes[][2] = {{5, 5}, {7, 7}, {13, 13}, {14, 14}, {9, 16}};
    sweep_planes(_i, 0x2545f4914f6cdd1dull, 1, 5, sizes, sizeof sizes / sizeof sizes[0], 7);
}
END_TEST

/* NCHW planes between 16 and 64 KiB in a small tensor: the forward takes
 * the strips path there too (PB_AVX512_STRIPS_MAX_PLANE_CACHED). */
START_TEST(test_nchw_strips_cached)
{
    static const int64_t sizes[][2] = {{70, 73}, {101, 96}};
    sweep_planes(_i, 0x94d049bb133111ebull, 1, 2, sizes, sizeof sizes / sizeof sizes[0], 5);
}
END_TEST

/* NHWC: channels 1..33 and past 64 (the 4-register groups). */
START_TEST(test_nhwc_channels)
{
    static const int64_t extra[] = {47, 48, 63, 64, 65, 80, 129};
    const win *w = &windows[_i];
    rng_state = 0x2545f4914f6cdd1dull + (uint64_t)_i;
    int runs = 0;
    for (int64_t ci = 1; ci <= 33 + (int64_t)(sizeof extra / sizeof extra[0]); ci++) {
        int64_t c = ci <= 33 ? ci : extra[ci - 34];
        runs += sweep_shape(w, PB_LAYOUT_NHWC, 2, c, 5, 7, (size_t)(1 + 2 * (ci % 5)));
        runs += sweep_shape(w, PB_LAYOUT_NHWC, 1, c, 2, 9, 3);
    }
    ck_assert_int_gt(runs, 0);
}
END_TEST

/* NHWC windows of 25 taps and more over 256 channels and more, which avg
 * sums in blocks of 16 registers: global 7x7 with 334, 335, 512 and 1029
 * channels (blocks plus the 4-register tails), and padded 7x7/7 windows
 * (7x7/1 goes the separable way) that the edges cut to different tap
 * counts. */
START_TEST(test_nhwc_wide_windows)
{
    static const int64_t chans[] = {334, 335, 512, 1029};
    const win global = {0, 0, 0, 0, 0, 0, 0, 0, false, true};
    const win padded = {7, 7, 7, 7, 3, 3, 3, 3, false, false};
    rng_state = 0x3c6ef372fe94f82bull;
    int runs = 0;
    for (size_t c = 0; c < sizeof chans / sizeof chans[0]; c++)
        runs += sweep_shape(&global, PB_LAYOUT_NHWC, 2, chans[c], 7, 7, 1 + 2 * c);
    runs += sweep_shape(&padded, PB_LAYOUT_NHWC, 1, 400, 12, 12, 3);
    ck_assert_int_gt(runs, 0);
}
END_TEST

/* Backward split into slice ranges of 1..3 input rows equals the whole
 * call bitwise (the forward supplies the argmaxes). */
static void check_bwd_split(const pb_desc *d)
{
    const bool is_max = d->alg == PB_ALG_MAX;
    float *src = malloc((size_t)d->src_elems * 4), *dst = malloc((size_t)d->dst_elems * 4);
    float *g = malloc((size_t)d->dst_elems * 4);
    float *s1 = malloc((size_t)d->src_elems * 4), *s2 = malloc((size_t)d->src_elems * 4);
    int32_t *ws = malloc((size_t)d->dst_elems * 4);
    ck_assert(src && dst && g && s1 && s2 && ws);
    fill_src(src, d->src_elems, FILL_TIES, is_max);
    fill_diff_dst(g, d->dst_elems);
    pb_args a = {.src = src, .dst = dst, .ws = is_max ? ws : NULL, .diff_dst = g, .diff_src = s1};
    ck_assert_int_eq(pb_impl_run(&pb_impl_avx512, d, is_max ? PB_DIR_FWD_TRAIN : PB_DIR_FWD_INF,
                                 &a),
                     PB_OK);
    ck_assert_int_eq(pb_impl_avx512.bwd(d, &a, NULL), PB_OK);
    poison(s2, d->src_elems);
    a.diff_src = s2;
    const int64_t sl = pb_bwd_slices(d);
    for (int64_t s = 0; s < sl; s += 1 + s % 3)
        ck_assert_int_eq(
            pb_impl_avx512.bwd_slices(d, &a, NULL, s, s + 1 + s % 3 < sl ? s + 1 + s % 3 : sl),
            PB_OK);
    ck_assert_mem_eq(s1, s2, (size_t)d->src_elems * 4);
    free(src), free(dst), free(g), free(s1), free(s2), free(ws);
}

/* Every algorithm and direction of window w in NHWC (2 samples) over
 * shapes x channel counts, and the backward split into slice ranges of
 * 1..3 input rows (check_bwd_split); the number of cases run. */
static int sweep_nhwc_split(const win *w, const int64_t (*shapes)[2], size_t nshapes,
                            const int64_t *chans, size_t nchans)
{
    int runs = 0;
    for (size_t k = 0; k < nshapes; k++)
        for (size_t c = 0; c < nchans; c++) {
            runs += sweep_shape(w, PB_LAYOUT_NHWC, 2, chans[c], shapes[k][0], shapes[k][1],
                                (size_t)(1 + 2 * (k % 5)));
            for (int alg = 0; alg < PB_ALG_COUNT; alg++) {
                pb_desc d;
                if (make_desc(&d, w, PB_LAYOUT_NHWC, (pb_alg)alg, 2, chans[c], shapes[k][0],
                              shapes[k][1]))
                    check_bwd_split(&d);
            }
        }
    return runs;
}

/* NHWC 3x3/2 backward up to 128 channels (w3_bwd; an output-centric
 * kernel before it): padding 0 and 1, ceil mode, planes whose last rows
 * and columns no window covers (zeroed), 1-row planes, channel counts
 * around the 4-register blocks, and slices split inside samples. */
START_TEST(test_nhwc_k3s2)
{
    static const win wins[] = {{3, 3, 2, 2, 0, 0, 0, 0, false, false},
                               {3, 3, 2, 2, 1, 1, 1, 1, false, false},
                               {3, 3, 2, 2, 1, 1, 1, 1, true, false},
                               {3, 3, 2, 2, 0, 0, 0, 0, true, false},
                               {3, 3, 2, 2, 1, 0, 0, 1, false, false}};
    static const int64_t shapes[][2] = {{8, 10}, {9, 9}, {4, 4}, {3, 3}, {12, 7}, {1, 5}, {6, 1}};
    static const int64_t chans[] = {1, 16, 17, 64, 65, 128};
    rng_state = 0x7f4a7c159e3779b9ull + (uint64_t)_i;
    ck_assert_int_gt(sweep_nhwc_split(&wins[_i], shapes, sizeof shapes / sizeof shapes[0], chans,
                                      sizeof chans / sizeof chans[0]),
                     0);
}
END_TEST

/* NHWC backward of windows 3 columns wide at stride 1 or 2 (w3_bwd,
 * which carries the covering outputs along the row), every algorithm:
 * padding 0 or 1 on either side, ceil mode, 1 to 3 window rows at
 * vertical strides 1 to 3 (rows no window covers at 1/2), planes 1 pixel
 * wide or high, channel counts around the 16-lane registers and past 128;
 * whole and split into slice ranges. */
START_TEST(test_nhwc_w3_bwd)
{
    static const win wins[] = {{3, 3, 1, 1, 1, 1, 1, 1, false, false},
                               {3, 3, 1, 1, 1, 0, 0, 1, false, false},
                               {3, 3, 1, 1, 0, 0, 0, 0, false, false},
                               {1, 3, 1, 1, 0, 0, 1, 1, false, false},
                               {2, 3, 2, 1, 0, 1, 1, 0, true, false},
                               {3, 3, 3, 1, 1, 1, 1, 1, false, false},
                               {1, 3, 2, 1, 0, 0, 1, 1, false, false},
                               {3, 3, 2, 2, 1, 1, 1, 1, false, false},
                               {3, 3, 2, 2, 0, 0, 0, 0, true, false},
                               {2, 3, 3, 2, 1, 0, 1, 0, true, false}};
    static const int64_t shapes[][2] = {{5, 7}, {1, 1}, {2, 3}, {7, 1}, {4, 16}, {6, 6}};
    static const int64_t chans[] = {1, 15, 16, 17, 50, 144};
    rng_state = 0x510e527fade682d1ull + (uint64_t)_i;
    ck_assert_int_gt(sweep_nhwc_split(&wins[_i], shapes, sizeof shapes / sizeof shapes[0], chans,
                                      sizeof chans / sizeof chans[0]),
                     0);
}
END_TEST

/* Hand-checked example: one 2x4 plane, 2x2/2 max with a tie, a NaN after
 * a larger value, -0 before +0. */
START_TEST(test_worked_example)
{
    pb_desc d;
    pb_desc_init(&d);
    d.c = 1, d.ih = 2, d.iw = 6, d.kh = d.kw = 2;
    ck_assert_int_eq(pb_desc_finalize(&d, NULL, 0), PB_OK);
    const float src[12] = {5, 1, 9, NAN, -0.0f, 0.0f, 5, 2, 1, 3, 0.0f, -0.0f};
    float dst[3];
    int32_t ws[3];
    pb_args a = {.src = src, .dst = dst, .ws = ws};
    ck_assert_int_eq(pb_impl_run(&pb_impl_avx512, &d, PB_DIR_FWD_TRAIN, &a), PB_OK);
    ck_assert_float_eq(dst[0], 5.0f);
    ck_assert_int_eq(ws[0], 0); /* tie 5 at (0,0) and (1,0): the first */
    ck_assert(isnan(dst[1]));
    ck_assert_int_eq(ws[1], 3); /* NaN wins over the larger 9 before it */
    ck_assert_uint_eq(f_bits(dst[2]), f_bits(-0.0f));
    ck_assert_int_eq(ws[2], 4); /* -0 first, +0 does not replace it */

    /* backward: the gradient lands on the argmax, the rest is zero */
    const float g[3] = {0.5f, -1.25f, 2.0f};
    float ds[12];
    for (int i = 0; i < 12; i++) ds[i] = 99.0f;
    pb_args b = {.diff_dst = g, .ws = ws, .diff_src = ds};
    ck_assert_int_eq(pb_impl_run(&pb_impl_avx512, &d, PB_DIR_BWD, &b), PB_OK);
    const float want[12] = {0.5f, 0, 0, -1.25f, 2.0f, 0, 0, 0, 0, 0, 0, 0};
    for (int i = 0; i < 12; i++) ck_assert_float_eq(ds[i], want[i]);
}
END_TEST

/* All -inf window: -inf at the first in-input tap, padding never wins. */
START_TEST(test_all_neg_inf)
{
    for (int l = 0; l < PB_LAYOUT_COUNT; l++) {
        pb_desc d;
        pb_desc_init(&d);
        d.c = 1, d.ih = 3, d.iw = 3, d.kh = d.kw = 3, d.sh = d.sw = 2,
        d.pt = d.pb = d.pl = d.pr = 1;
        d.layout = (pb_layout)l;
        ck_assert_int_eq(pb_desc_finalize(&d, NULL, 0), PB_OK);
        float src[9];
        for (int i = 0; i < 9; i++) src[i] = -INFINITY;
        float dst[4];
        int32_t ws[4];
        pb_args a = {.src = src, .dst = dst, .ws = ws};
        ck_assert_int_eq(pb_impl_run(&pb_impl_avx512, &d, PB_DIR_FWD_TRAIN, &a), PB_OK);
        /* windows start at (-1,-1), (-1,1), (1,-1), (1,1) */
        const int32_t want[4] = {0, 1, 3, 4};
        for (int i = 0; i < 4; i++) {
            ck_assert(isinf(dst[i]) && dst[i] < 0);
            ck_assert_int_eq(ws[i], want[i]);
        }
    }
}
END_TEST

/* Global max whose maximum is a zero of each sign in turn: the first zero
 * in row-major order wins, bit for bit, in inference (the values-only
 * scan must hand such planes to the exact one) as in training. */
START_TEST(test_global_signed_zeros)
{
    static const int64_t shapes[][2] = {{7, 7}, {2, 3}, {4, 4}, {17, 1}, {16, 16}};
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        pb_desc d;
        ck_assert(make_desc(&d, &windows[NWIN - 1], PB_LAYOUT_NCHW, PB_ALG_MAX, 1, 20,
                            shapes[k][0], shapes[k][1]));
        const int64_t P = d.ih * d.iw;
        float *src = malloc((size_t)d.src_elems * 4);
        ck_assert(src != NULL);
        bool want_neg[20];
        for (int64_t c = 0; c < d.c; c++) {
            float *x = src + c * P;
            for (int64_t i = 0; i < P; i++) x[i] = -1.0f - (float)(i % 5);
            const int64_t at = c % P, other = (at + 1 + (c * 7) % (P - 1)) % P;
            x[at] = c % 2 ? 0.0f : -0.0f;
            x[other] = c % 2 ? -0.0f : 0.0f;
            want_neg[c] = (c % 2 == 0) == (at < other);
        }
        float dst[20], rdst[20];
        int32_t ws[20], rws[20];
        for (int dir = 0; dir < 2; dir++) {
            pb_args r = {.src = src, .dst = rdst, .ws = dir ? rws : NULL};
            pb_args a = {.src = src, .dst = dst, .ws = dir ? ws : NULL};
            ck_assert_int_eq(pb_impl_run(pb_impl_reference(), &d, (pb_dir)dir, &r), PB_OK);
            ck_assert_int_eq(pb_impl_run(&pb_impl_avx512, &d, (pb_dir)dir, &a), PB_OK);
            for (int64_t c = 0; c < d.c; c++)
                ck_assert_msg(signbit(dst[c]) == signbit(rdst[c]) && dst[c] == 0.0f &&
                                  !!signbit(rdst[c]) == want_neg[c],
                              "%lldx%lld plane %lld dir %d: got %g want %g", (long long)d.ih,
                              (long long)d.iw, (long long)c, dir, dst[c], rdst[c]);
            if (dir) ck_assert_mem_eq(ws, rws, sizeof ws);
        }
        free(src);
    }
}
END_TEST

/* A buffer flush against an inaccessible page (after its end, or before
 * its start): any read or write outside it faults, masked-off lanes of a
 * masked load or store do not. */
typedef struct ebuf {
    char *map;
    size_t len;
} ebuf;

static void *ebuf_make(ebuf *e, int64_t n, bool at_end)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE), bytes = (size_t)n * 4;
    size_t data = (bytes + pg - 1) / pg * pg;
    e->len = data + 2 * pg;
    e->map = mmap(NULL, e->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert(e->map != MAP_FAILED);
    ck_assert_int_eq(mprotect(e->map, pg, PROT_NONE), 0);
    ck_assert_int_eq(mprotect(e->map + pg + data, pg, PROT_NONE), 0);
    return at_end ? e->map + pg + data - bytes : e->map + pg;
}

static void ebuf_free(ebuf *e) { munmap(e->map, e->len); }

START_TEST(test_page_edges)
{
    static const int wi[] = {0, 1, 2, 3, 7, 10};
    static const int64_t widths[] = {1, 3, 17, 33, 65};
    rng_state = 4242;
    for (int l = 0; l < PB_LAYOUT_COUNT; l++)
        for (size_t k = 0; k < sizeof wi / sizeof wi[0]; k++)
            for (size_t iw = 0; iw < sizeof widths / sizeof widths[0]; iw++)
                for (int alg = 0; alg < PB_ALG_COUNT; alg++)
                    for (int at_end = 0; at_end < 2; at_end++) {
                        pb_desc d;
                        if (!make_desc(&d, &windows[wi[k]], (pb_layout)l, (pb_alg)alg, 1,
                                       l == PB_LAYOUT_NHWC ? 1 + (int64_t)iw * 8 : 1, 5,
                                       widths[iw]))
                            continue;
                        ebuf e[5];
                        float *src = ebuf_make(&e[0], d.src_elems, at_end);
                        float *dst = ebuf_make(&e[1], d.dst_elems, at_end);
                        int32_t *ws = ebuf_make(&e[2], d.dst_elems, at_end);
                        float *g = ebuf_make(&e[3], d.dst_elems, at_end);
                        float *ds = ebuf_make(&e[4], d.src_elems, at_end);
                        fill_src(src, d.src_elems, FILL_DISTINCT, alg == PB_ALG_MAX);
                        fill_diff_dst(g, d.dst_elems);
                        float *rdst = malloc((size_t)d.dst_elems * 4);
                        float *rds = malloc((size_t)d.src_elems * 4);
                        int32_t *rws = malloc((size_t)d.dst_elems * 4);
                        bool mx = alg == PB_ALG_MAX;
                        pb_args r = {.src = src,
                                     .dst = rdst,
                                     .ws = mx ? rws : NULL,
                                     .diff_dst = g,
                                     .diff_src = rds};
                        pb_args a = {.src = src,
                                     .dst = dst,
                                     .ws = mx ? ws : NULL,
                                     .diff_dst = g,
                                     .diff_src = ds};
                        pb_dir fd = mx ? PB_DIR_FWD_TRAIN : PB_DIR_FWD_INF;
                        ck_assert_int_eq(pb_impl_run(pb_impl_reference(), &d, fd, &r), PB_OK);
                        ck_assert_int_eq(pb_impl_run(&pb_impl_avx512, &d, fd, &a), PB_OK);
                        ck_assert(
                            compare_f(&d, fd, FILL_DISTINCT, "dst", dst, rdst, d.dst_elems, mx));
                        if (mx) {
                            ck_assert_mem_eq(ws, rws, (size_t)d.dst_elems * 4);
                            /* inference max takes other kernels (strips) */
                            pb_args inf = {.src = src, .dst = dst};
                            poison(dst, d.dst_elems);
                            ck_assert_int_eq(pb_impl_run(&pb_impl_avx512, &d, PB_DIR_FWD_INF, &inf),
                                             PB_OK);
                            ck_assert(compare_f(&d, PB_DIR_FWD_INF, FILL_DISTINCT, "dst", dst, rdst,
                                                d.dst_elems, true));
                        }
                        ck_assert_int_eq(pb_impl_run(pb_impl_reference(), &d, PB_DIR_BWD, &r),
                                         PB_OK);
                        a.ws = mx ? rws : NULL;
                        ck_assert_int_eq(pb_impl_run(&pb_impl_avx512, &d, PB_DIR_BWD, &a), PB_OK);
                        ck_assert(compare_f(&d, PB_DIR_BWD, FILL_DISTINCT, "diff_src", ds, rds,
                                            d.src_elems, mx));
                        for (int i = 0; i < 5; i++) ebuf_free(&e[i]);
                        free(rdst), free(rds), free(rws);
                    }
}
END_TEST

/* One NaN at every position in turn (the fast max scans must notice it
 * wherever it sits: chunk edges, row tails, ring rows). */
START_TEST(test_nan_sweep)
{
    static const int wi[] = {0, 1, 2, 3, 4, 13};
    static const int64_t widths[] = {31, 33, 34, 64, 65, 66, 97};
    const size_t nw = sizeof widths / sizeof widths[0];
    const int l = _i / (int)nw;
    const int64_t iw = widths[_i % (int)nw];
    for (size_t k = 0; k < sizeof wi / sizeof wi[0]; k++) {
        pb_desc d;
        if (!make_desc(&d, &windows[wi[k]], (pb_layout)l, PB_ALG_MAX, 1,
                       l == PB_LAYOUT_NHWC ? 3 : 1, 5, iw))
            continue;
        float *src = malloc((size_t)d.src_elems * 4);
        float *dst = malloc((size_t)d.dst_elems * 4), *rdst = malloc((size_t)d.dst_elems * 4);
        int32_t *ws = malloc((size_t)d.dst_elems * 4), *rws = malloc((size_t)d.dst_elems * 4);
        for (int64_t i = 0; i < d.src_elems; i++) src[i] = (float)((i * 37) % 101);
        for (int64_t i = 0; i < d.src_elems; i++) {
            float keep = src[i];
            src[i] = bits_f(0x7fc00100u + (uint32_t)i);
            for (int dir = 0; dir < 2; dir++) {
                pb_args r = {.src = src, .dst = rdst, .ws = dir ? rws : NULL};
                pb_args a = {.src = src, .dst = dst, .ws = dir ? ws : NULL};
                ck_assert_int_eq(pb_impl_run(pb_impl_reference(), &d, (pb_dir)dir, &r), PB_OK);
                ck_assert_int_eq(pb_impl_run(&pb_impl_avx512, &d, (pb_dir)dir, &a), PB_OK);
                ck_assert_msg(
                    compare_f(&d, (pb_dir)dir, FILL_SPECIAL, "dst", dst, rdst, d.dst_elems, true),
                    "NaN at %lld", (long long)i);
                if (dir) ck_assert_mem_eq(ws, rws, (size_t)d.dst_elems * 4);
            }
            src[i] = keep;
        }
        free(src), free(dst), free(rdst), free(ws), free(rws);
    }
}
END_TEST

/* Inference max on pairs of small planes (twin_planes): one NaN at every
 * position of either plane, the other plane NaN-free, must give the
 * reference in both. */
START_TEST(test_nan_twins)
{
    static const int wi[] = {0, 1, 2, 3};
    static const int64_t sides[] = {7, 13};
    for (size_t k = 0; k < sizeof wi / sizeof wi[0]; k++)
        for (size_t s = 0; s < sizeof sides / sizeof sides[0]; s++) {
            pb_desc d;
            ck_assert(make_desc(&d, &windows[wi[k]], PB_LAYOUT_NCHW, PB_ALG_MAX, 1, 2, sides[s],
                                sides[s]));
            float *src = malloc((size_t)d.src_elems * 4);
            float *dst = malloc((size_t)d.dst_elems * 4), *rdst = malloc((size_t)d.dst_elems * 4);
            for (int64_t i = 0; i < d.src_elems; i++) src[i] = (float)((i * 37) % 101);
            for (int64_t i = 0; i < d.src_elems; i++) {
                const float keep = src[i];
                src[i] = bits_f(0x7fc00100u + (uint32_t)i);
                pb_args r = {.src = src, .dst = rdst}, a = {.src = src, .dst = dst};
                ck_assert_int_eq(pb_impl_run(pb_impl_reference(), &d, PB_DIR_FWD_INF, &r), PB_OK);
                ck_assert_int_eq(pb_impl_run(&pb_impl_avx512, &d, PB_DIR_FWD_INF, &a), PB_OK);
                ck_assert_msg(compare_f(&d, PB_DIR_FWD_INF, FILL_SPECIAL, "dst", dst, rdst,
                                        d.dst_elems, true),
                              "NaN at %lld", (long long)i);
                src[i] = keep;
            }
            free(src), free(dst), free(rdst);
        }
}
END_TEST

/* Slices: any partition gives bitwise the whole-range result.  The second
 * shape takes the NCHW lanes path (planes of width <= 16, 64 per group):
 * 150 planes, so ranges start and end inside planes and groups.  The third
 * has planes 7 wide, which forward and the average backward take two at
 * a time: 9 planes, paired differently by the partition. */
START_TEST(test_slices_partition)
{
    static const int wi[] = {0, 1, 2, 10};
    static const int64_t shapes[][4] = {{2, 37, 9, 21}, {2, 75, 13, 13}, {1, 9, 7, 7}};
    for (int l = 0; l < PB_LAYOUT_COUNT; l++)
        for (size_t k = 0; k < sizeof wi / sizeof wi[0] * 3; k++)
            for (int alg = 0; alg < PB_ALG_COUNT; alg++) {
                pb_desc d;
                const int64_t *sh = shapes[k / 4];
                ck_assert(make_desc(&d, &windows[wi[k % 4]], (pb_layout)l, (pb_alg)alg, sh[0], sh[1],
                                    sh[2], sh[3]));
                rng_state = 77 + k;
                float *src = malloc((size_t)d.src_elems * 4), *g = malloc((size_t)d.dst_elems * 4);
                float *d1 = malloc((size_t)d.dst_elems * 4), *d2 = malloc((size_t)d.dst_elems * 4);
                float *s1 = malloc((size_t)d.src_elems * 4), *s2 = malloc((size_t)d.src_elems * 4);
                int32_t *w1 = malloc((size_t)d.dst_elems * 4),
                        *w2 = malloc((size_t)d.dst_elems * 4);
                fill_src(src, d.src_elems, FILL_TIES, true);
                fill_diff_dst(g, d.dst_elems);
                pb_args a1 = {.src = src,
                              .dst = d1,
                              .ws = alg == PB_ALG_MAX ? w1 : NULL,
                              .diff_dst = g,
                              .diff_src = s1};
                pb_args a2 = {.src = src,
                              .dst = d2,
                              .ws = alg == PB_ALG_MAX ? w2 : NULL,
                              .diff_dst = g,
                              .diff_src = s2};
                ck_assert_int_eq(pb_impl_avx512.fwd(&d, &a1, NULL), PB_OK);
                int64_t rows = pb_fwd_rows(&d);
                for (int64_t r = 0; r < rows; r += 1 + r % 3)
                    ck_assert_int_eq(
                        pb_impl_avx512.fwd_rows(&d, &a2, NULL, r,
                                                r + 1 + r % 3 < rows ? r + 1 + r % 3 : rows),
                        PB_OK);
                ck_assert_mem_eq(d1, d2, (size_t)d.dst_elems * 4);
                if (alg == PB_ALG_MAX) {
                    ck_assert_mem_eq(w1, w2, (size_t)d.dst_elems * 4);
                    memcpy(w2, w1, (size_t)d.dst_elems * 4);
                }
                ck_assert_int_eq(pb_impl_avx512.bwd(&d, &a1, NULL), PB_OK);
                int64_t sl = pb_bwd_slices(&d);
                for (int64_t s = sl; s > 0; s -= 2)
                    ck_assert_int_eq(pb_impl_avx512.bwd_slices(&d, &a2, NULL, s > 1 ? s - 2 : 0, s),
                                     PB_OK);
                ck_assert_mem_eq(s1, s2, (size_t)d.src_elems * 4);
                /* ranges outside [0, total] are refused */
                ck_assert_int_eq(pb_impl_avx512.fwd_rows(&d, &a2, NULL, 0, rows + 1), PB_ERR_SHAPE);
                ck_assert_int_eq(pb_impl_avx512.bwd_slices(&d, &a2, NULL, 1, 0), PB_ERR_SHAPE);
                free(src), free(g), free(d1), free(d2), free(s1), free(s2), free(w1), free(w2);
            }
}
END_TEST

/* One max backward with argmaxes (o * step) % plane, mostly outside their
 * windows: equal to the reference; then entry `bad` set past the plane's
 * end and to -1 must be refused. */
static void check_foreign(const win *w, pb_layout l, int64_t c, int64_t side, int step,
                          int64_t bad)
{
    pb_desc d;
    ck_assert(make_desc(&d, w, l, PB_ALG_MAX, 1, c, side, side));
    const int64_t plane = side * side, nd = d.dst_elems, ns = d.src_elems;
    float *g = malloc((size_t)nd * 4), *ds = malloc((size_t)ns * 4), *rds = malloc((size_t)ns * 4);
    float *src = calloc((size_t)ns, 4);
    int32_t *ws = malloc((size_t)nd * 4);
    ck_assert(g && ds && rds && src && ws);
    for (int64_t i = 0; i < nd; i++) {
        g[i] = (float)(i + 1) / 8.0f;
        ws[i] = (int32_t)(i * step % plane);
    }
    pb_args a = {.src = src, .diff_dst = g, .ws = ws, .diff_src = ds};
    pb_args r = {.src = src, .diff_dst = g, .ws = ws, .diff_src = rds};
    ck_assert_int_eq(pb_impl_run(pb_impl_reference(), &d, PB_DIR_BWD, &r), PB_OK);
    ck_assert_int_eq(pb_impl_run(&pb_impl_avx512, &d, PB_DIR_BWD, &a), PB_OK);
    ck_assert_mem_eq(ds, rds, (size_t)ns * 4);
    ws[bad] = (int32_t)plane;
    ck_assert_int_eq(pb_impl_run(&pb_impl_avx512, &d, PB_DIR_BWD, &a), PB_ERR_UNSUPPORTED);
    ws[bad] = -1;
    ck_assert_int_eq(pb_impl_run(&pb_impl_avx512, &d, PB_DIR_BWD, &a), PB_ERR_UNSUPPORTED);
    free(g), free(ds), free(rds), free(src), free(ws);
}

/* A workspace naming a position outside its window (but inside the plane)
 * is honoured like the reference; outside the plane it is refused.  The
 * 10x10 NCHW cases take the strips path (a scatter into a scratch plane,
 * small planes in groups). */
START_TEST(test_foreign_argmax)
{
    for (int l = 0; l < PB_LAYOUT_COUNT; l++) check_foreign(&windows[1], (pb_layout)l, 3, 6, 7, 5);
    check_foreign(&windows[1], PB_LAYOUT_NCHW, 2, 10, 13, 31);
    /* nine planes in one group of the scatter: the last argmax (in the
     * tail of the group's check) bad */
    check_foreign(&windows[1], PB_LAYOUT_NCHW, 9, 10, 13, 9 * 25 - 1);
    /* NHWC 3x3/1 (max_w3_bwd), 17 channels: a full register and a tail */
    check_foreign(&windows[2], PB_LAYOUT_NHWC, 17, 6, 7, 17 * 36 - 1);
}
END_TEST

/* NCHW 3x3/1 max backward from 14 columns gathers per plane and counts
 * its matches (max_bwd_k3s1_plane): with the forward's workspace it equals
 * the reference; a plane with one argmax moved outside its window (to a
 * far pixel, or to the previous row's last column, which a window with
 * left padding would reach by wrapping) goes to the exact scatter alone,
 * and the result still equals the reference bitwise.  The gather alone
 * says which planes it took. */
START_TEST(test_nchw_k3s1_bwd_foreign)
{
    static const int64_t shapes[][2] = {{14, 14}, {16, 17}, {15, 30}, {33, 14}};
    const win *w = _i < 4 ? &windows[2] : &windows[13];
    const int64_t *sh = shapes[_i % 4];
    pb_desc d;
    ck_assert(make_desc(&d, w, PB_LAYOUT_NCHW, PB_ALG_MAX, 1, 3, sh[0], sh[1]));
    const int64_t P = d.ih * d.iw, Q = d.oh * d.ow;
    float *src = malloc((size_t)d.src_elems * 4), *dst = malloc((size_t)d.dst_elems * 4);
    float *g = malloc((size_t)d.dst_elems * 4), *ref = malloc((size_t)d.src_elems * 4);
    float *out = malloc((size_t)d.src_elems * 4);
    int32_t *ws = malloc((size_t)d.dst_elems * 4);
    ck_assert(src && dst && g && ref && out && ws);
    rng_state = 0x3c6ef372fe94f82bull + (uint64_t)_i;
    fill_src(src, d.src_elems, FILL_TIES, true);
    fill_diff_dst(g, d.dst_elems);
    pb_args fa = {.src = src, .dst = dst, .ws = ws};
    ck_assert_int_eq(pb_impl_run(pb_impl_reference(), &d, PB_DIR_FWD_TRAIN, &fa), PB_OK);
    for (int round = 0; round < 3; round++) {
        if (round == 1) /* plane 1, output (2, 3): the far corner of the plane */
            ws[Q + 2 * d.ow + 3] = (int32_t)(P - 1);
        if (round == 2) /* plane 2, output (5, 0): column -1 of its rows, wrapped */
            ws[2 * Q + 5 * d.ow] = (int32_t)((5 - d.pt) * d.iw - 1);
        pb_args r = {.src = src, .ws = ws, .diff_dst = g, .diff_src = ref};
        pb_args a = {.src = src, .ws = ws, .diff_dst = g, .diff_src = out};
        ck_assert_int_eq(pb_impl_run(pb_impl_reference(), &d, PB_DIR_BWD, &r), PB_OK);
        poison(out, d.src_elems);
        ck_assert_int_eq(pb_impl_run(&pb_impl_avx512, &d, PB_DIR_BWD, &a), PB_OK);
        ck_assert_msg(memcmp(out, ref, (size_t)d.src_elems * 4) == 0, "shape %lldx%lld round %d",
                      (long long)sh[0], (long long)sh[1], round);
        /* the gather itself: it takes a plane exactly when every argmax
         * lies in its window, and then writes the reference's plane */
        for (int64_t p = 0; p < d.c; p++) {
            /* the rounds' changes accumulate */
            const bool foreign = (round >= 1 && p == 1) || (round == 2 && p == 2);
            poison(out, P);
            ck_assert_int_eq(pb_avx512_nchw_max_bwd_k3s1_plane(&d, g + p * Q, ws + p * Q, out),
                             !foreign);
            ck_assert(foreign || memcmp(out, ref + p * P, (size_t)P * 4) == 0);
        }
    }
    free(src), free(dst), free(g), free(ref), free(out), free(ws);
}
END_TEST

/* pb_avx512_ws_rows_valid gives pb_ws_rows_valid's answer (slices.c, the
 * portable check): the reference's workspace over random row ranges, then
 * one entry at a time moved just outside its window (a column either side,
 * the rows above and below, a dilation gap, before and past the plane) or
 * to another tap of it.  Windows 1 to 5 rows tall, dilated, and 9 tall or
 * column-dilated (where it defers to the portable one); channel counts
 * around the 16-lane register. */
START_TEST(test_ws_rows_valid)
{
    /* kh kw sh sw pt pb pl pr dh dw ceil */
    static const int64_t wins[][11] = {{3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0},
                                       {3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1},
                                       {2, 3, 2, 1, 0, 1, 1, 0, 1, 1, 0},
                                       {1, 3, 1, 2, 0, 0, 1, 1, 1, 1, 0},
                                       {5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 0},
                                       {3, 3, 1, 1, 1, 1, 1, 1, 2, 1, 0},
                                       {9, 3, 1, 1, 4, 4, 1, 1, 1, 1, 0},
                                       {3, 3, 1, 1, 1, 1, 1, 1, 1, 2, 0}};
    static const int64_t chans[] = {1, 15, 16, 17, 33};
    const int64_t *w = wins[_i];
    int said[2] = {0, 0};
    for (size_t ci = 0; ci < sizeof chans / sizeof chans[0]; ci++) {
        pb_desc d;
        pb_desc_init(&d);
        d.c = chans[ci], d.ih = 11, d.iw = 10, d.layout = PB_LAYOUT_NHWC, d.alg = PB_ALG_MAX;
        d.kh = w[0], d.kw = w[1], d.sh = w[2], d.sw = w[3], d.pt = w[4], d.pb = w[5];
        d.pl = w[6], d.pr = w[7], d.dh = w[8], d.dw = w[9], d.ceil_mode = w[10];
        ck_assert_int_eq(pb_desc_finalize(&d, NULL, 0), PB_OK);
        float *src = malloc((size_t)d.src_elems * 4), *dst = malloc((size_t)d.dst_elems * 4);
        int32_t *ws = malloc((size_t)d.dst_elems * 4);
        ck_assert(src && dst && ws);
        rng_state = 0x9b05688c2b3e6c1full + (uint64_t)(_i * 8 + (int)ci);
        fill_src(src, d.src_elems, FILL_TIES, true);
        pb_args a = {.src = src, .dst = dst, .ws = ws};
        ck_assert_int_eq(pb_impl_run(pb_impl_reference(), &d, PB_DIR_FWD_TRAIN, &a), PB_OK);
        ck_assert(pb_avx512_ws_rows_valid(&d, ws, 0, d.oh));
        for (int trial = 0; trial < 300; trial++) {
            const int64_t oh0 = (int64_t)(rng() % (uint64_t)d.oh);
            const int64_t oh1 = oh0 + 1 + (int64_t)(rng() % (uint64_t)(d.oh - oh0));
            const int64_t oh = oh0 + (int64_t)(rng() % (uint64_t)(oh1 - oh0));
            const int64_t ow = (int64_t)(rng() % (uint64_t)d.ow);
            const int64_t i = (oh * d.ow + ow) * d.c + (int64_t)(rng() % (uint64_t)d.c);
            pb_axis_window y = pb_axis_window_at(oh, d.ih, d.kh, d.sh, d.pt, d.pb, d.dh);
            pb_axis_window x = pb_axis_window_at(ow, d.iw, d.kw, d.sw, d.pl, d.pr, d.dw);
            const int64_t r0 = y.start + y.t_lo * d.dh, r1 = y.start + (y.t_hi - 1) * d.dh;
            const int64_t c0 = x.start + x.t_lo * d.dw, c1 = x.start + (x.t_hi - 1) * d.dw;
            const int64_t r = r0 + (int64_t)(rng() % (uint64_t)(r1 - r0 + 1));
            const int64_t cands[] = {r * d.iw + c0 - 1, r * d.iw + c1 + 1, (r0 - 1) * d.iw + c0,
                                     (r1 + 1) * d.iw + c1, r * d.iw + c0 + 1, r1 * d.iw + c1,
                                     -1, d.ih * d.iw, INT32_MIN, INT32_MAX};
            const int32_t keep = ws[i];
            ws[i] = (int32_t)cands[trial % 10];
            const bool want = pb_ws_rows_valid(&d, ws, oh0, oh1);
            ck_assert_msg(pb_avx512_ws_rows_valid(&d, ws, oh0, oh1) == want,
                          "window %d, C %lld, rows [%lld, %lld), entry %lld = %d: want %d", _i,
                          (long long)d.c, (long long)oh0, (long long)oh1, (long long)i, ws[i],
                          want);
            said[want]++;
            ws[i] = keep;
        }
        free(src), free(dst), free(ws);
    }
    /* both answers were exercised */
    ck_assert_int_gt(said[0], 100);
    ck_assert_int_gt(said[1], 100);
}
END_TEST

/* Backward large enough for streaming stores (diff_src of 20 MiB, past
 * PB_AVX512_STREAM_MIN_BYTES, 64-byte aligned, widths and channels whole
 * vectors) against the reference, whole and split in two slice ranges as
 * two threads would; and max with one argmax outside its window, so the
 * scatter fallback rewrites lines that were just streamed. */
START_TEST(test_streaming_bwd)
{
    static const win wins[] = {{2, 2, 2, 2, 0, 0, 0, 0, false, false},
                               {3, 3, 2, 2, 1, 1, 1, 1, false, false}};
    const pb_layout l = (pb_layout)(_i / 2);
    const pb_alg alg = _i % 2 ? PB_ALG_AVG_INCL : PB_ALG_MAX;
    const bool is_max = alg == PB_ALG_MAX;
    rng_state = 0x243f6a8885a308d3ull + (uint64_t)_i;
    for (size_t k = 0; k < sizeof wins / sizeof wins[0]; k++) {
        pb_desc d;
        ck_assert(make_desc(&d, &wins[k], l, alg, 1, 16, 576, 576));
        ck_assert_int_ge(d.src_elems * 4, (int64_t)20 << 20);
        float *src = malloc((size_t)d.src_elems * 4), *dst = malloc((size_t)d.dst_elems * 4);
        float *g = malloc((size_t)d.dst_elems * 4), *rds = malloc((size_t)d.src_elems * 4);
        float *ds = aligned_alloc(64, (size_t)d.src_elems * 4);
        int32_t *ws = malloc((size_t)d.dst_elems * 4);
        ck_assert(src && dst && g && rds && ds && ws);
        fill_src(src, d.src_elems, FILL_DISTINCT, is_max);
        fill_diff_dst(g, d.dst_elems);
        pb_args f = {.src = src, .dst = dst, .ws = is_max ? ws : NULL};
        ck_assert_int_eq(pb_impl_run(pb_impl_reference(), &d, PB_DIR_FWD_TRAIN, &f), PB_OK);
        for (int foreign = 0; foreign <= is_max; foreign++) {
            /* output 0's argmax (channel 0) moved to the plane's far corner */
            if (foreign) ws[0] = (int32_t)(d.ih * d.iw - 1);
            pb_args r = {.src = src, .diff_dst = g, .ws = f.ws, .diff_src = rds};
            ck_assert_int_eq(pb_impl_run(pb_impl_reference(), &d, PB_DIR_BWD, &r), PB_OK);
            pb_args a = {.src = src, .diff_dst = g, .ws = f.ws, .diff_src = ds};
            /* a split NHWC sample refuses a foreign argmax (PB_ERR_PARTIAL,
             * for the OpenMP wrapper to redo): whole calls only then */
            for (int threads = 1; threads <= (foreign ? 1 : 2); threads++) {
                poison(ds, d.src_elems);
                const int64_t sl = pb_bwd_slices(&d), mid = threads == 2 ? sl / 2 : sl;
                pb_status s1 = pb_impl_avx512.bwd_slices(&d, &a, NULL, 0, mid);
                pb_status s2 = pb_impl_avx512.bwd_slices(&d, &a, NULL, mid, sl);
                ck_assert_int_eq(s1, PB_OK);
                ck_assert_int_eq(s2, PB_OK);
                ck_assert_msg(compare_f(&d, PB_DIR_BWD, FILL_DISTINCT, "diff_src", ds, rds,
                                        d.src_elems, is_max),
                              "streaming bwd mismatch (see stderr)");
            }
        }
        free(src), free(dst), free(g), free(rds), free(ds), free(ws);
    }
}
END_TEST

/* What it declines, with a reason, and what it claims. */
START_TEST(test_supports)
{
    const char *why = NULL;
    pb_desc d;
    pb_desc_init(&d);
    d.c = 4, d.ih = d.iw = 12, d.kh = d.kw = 3, d.sh = d.sw = 3;
    ck_assert_int_eq(pb_desc_finalize(&d, NULL, 0), PB_OK);
    ck_assert(!pb_impl_accepts(&pb_impl_avx512, &d, PB_DIR_FWD_INF, &why));
    ck_assert_str_eq(why, "NCHW with stride_w > 2 not vectorized");
    d.layout = PB_LAYOUT_NHWC;
    ck_assert(pb_impl_accepts(&pb_impl_avx512, &d, PB_DIR_BWD, &why));
    pb_desc_init(&d);
    d.c = 4, d.ih = d.iw = 12, d.kh = d.kw = 3, d.dh = d.dw = 2;
    ck_assert_int_eq(pb_desc_finalize(&d, NULL, 0), PB_OK);
    ck_assert(!pb_impl_accepts(&pb_impl_avx512, &d, PB_DIR_FWD_INF, &why));
    ck_assert_str_eq(why, "dilation > 1 not vectorized");
    ck_assert_int_eq(pb_impl_avx512.isa, PB_ISA_AVX512);
    ck_assert_int_eq(pb_impl_avx512.priority, 30);
    ck_assert_ptr_eq(pb_impl_find("avx512"), &pb_impl_avx512);
}
END_TEST

Suite *pb_test_suite_avx512(void)
{
    Suite *s = suite_create("avx512");
    const char *why = NULL;
    if (!pb_cpu_can_run(PB_ISA_AVX512, &why)) {
        /* no test cases: Check counts nothing for this suite */
        printf("avx512: SKIPPED (%s)\n", why);
        return s;
    }
    TCase *tc = tcase_create("vs_reference");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, test_nchw_widths, 0, (int)NWIN);
    tcase_add_loop_test(tc, test_nhwc_channels, 0, (int)NWIN);
    tcase_add_loop_test(tc, test_nhwc_k3s2, 0, 5);
    tcase_add_loop_test(tc, test_nhwc_w3_bwd, 0, 10);
    tcase_add_test(tc, test_nhwc_wide_windows);
    tcase_add_loop_test(tc, test_nchw_lanes, 0, (int)NWIN);
    tcase_add_loop_test(tc, test_nchw_strips_cached, 0, 5);
    tcase_add_loop_test(tc, test_nchw_twin_planes, 0, (int)NWIN);
    tcase_add_loop_test(tc, test_nan_sweep, 0, 14);
    suite_add_tcase(s, tc);
    TCase *te = tcase_create("semantics");
    tcase_set_timeout(te, 60);
    tcase_add_test(te, test_worked_example);
    tcase_add_test(te, test_all_neg_inf);
    tcase_add_test(te, test_global_signed_zeros);
    tcase_add_test(te, test_page_edges);
    tcase_add_test(te, test_nan_twins);
    tcase_add_test(te, test_slices_partition);
    tcase_add_test(te, test_foreign_argmax);
    tcase_add_loop_test(te, test_ws_rows_valid, 0, 8);
    tcase_add_loop_test(te, test_nchw_k3s1_bwd_foreign, 0, 8);
    tcase_add_loop_test(te, test_streaming_bwd, 0, 2 * PB_LAYOUT_COUNT);
    tcase_add_test(te, test_supports);
    suite_add_tcase(s, te);
    return s;
}
