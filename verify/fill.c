/* Seeded input patterns, the upstream-gradient fill, output poisoning and
 * the fill names.  Every value is a pure function of (seed, logical
 * coordinates), so a problem filled in NCHW and in NHWC holds the same
 * tensor and a failure reproduces from its seed alone. */
#include <math.h>
#include <string.h>

#include "verify_internal.h"

/* Salts keep the independent streams (permutation keys, quarter values,
 * ties, special values, -inf windows, gradients) uncorrelated. */
enum {
    SALT_PERM = 0x5045524D,
    SALT_AVG = 0x41564731,
    SALT_TIES = 0x54494553,
    SALT_SPECIAL = 0x53504543,
    SALT_WINDOW = 0x57494E44,
    SALT_GRAD = 0x47524144,
};

static const char *const fill_names[PB_FILL_COUNT] = {"distinct", "ties", "nan", "inf"};

const char *pb_fill_name(pb_fill f) { return (unsigned)f < PB_FILL_COUNT ? fill_names[f] : "?"; }

pb_status pb_fill_parse(const char *s, pb_fill *out)
{
    if (!s || !out) return PB_ERR_NULL;
    for (unsigned i = 0; i < PB_FILL_COUNT; i++)
        if (strcmp(s, fill_names[i]) == 0) {
            *out = (pb_fill)i;
            return PB_OK;
        }
    return PB_ERR_UNKNOWN_NAME;
}

/* Feistel round function: any keyed mix works, bijectivity comes from the
 * network structure. */
static uint64_t feistel(uint64_t x, uint64_t key, unsigned half)
{
    uint64_t mask = (1ull << half) - 1;
    uint64_t l = x >> half, r = x & mask;
    for (uint64_t round = 0; round < 4; round++) {
        uint64_t t = l ^ (pb_v_hash(key, round, r) & mask);
        l = r;
        r = t;
    }
    return (l << half) | r;
}

int64_t pb_v_permute(uint64_t key, int64_t i, int64_t n)
{
    if (n <= 1 || i < 0 || i >= n) return i;
    unsigned bits = 2;
    while (bits < 62 && (1ll << bits) < n) bits++;
    if (bits & 1) bits++;
    /* Cycle walking: i's cycle under the permutation of [0, 2^bits) returns
     * to [0, n), so the first value in range defines a bijection of [0, n). */
    uint64_t y = feistel((uint64_t)i, key, bits / 2);
    while (y >= (uint64_t)n) y = feistel(y, key, bits / 2);
    return (int64_t)y;
}

/* Largest plane for which integer values stay exact and distinct in f32. */
#define EXACT_F32_INTS ((int64_t)1 << 24)

static float distinct_value(const pb_desc *d, uint64_t seed, int64_t plane, int64_t pos,
                            int64_t P)
{
    if (d->alg == PB_ALG_MAX) {
        int64_t q = pb_v_permute(pb_v_hash(seed, (uint64_t)plane, SALT_PERM), pos, P);
        int64_t range = P < EXACT_F32_INTS ? P : EXACT_F32_INTS;
        q %= range;
        /* about 7/8 negative: zero-initialised accumulators and winning
         * padding show up in most padded windows */
        return (float)(q - (range - 1 - range / 8));
    }
    uint64_t h = pb_v_hash(seed ^ SALT_AVG, (uint64_t)plane, (uint64_t)pos);
    return (float)((int64_t)(h & 255) - 128) * 0.25f;
}

static float fill_value(const pb_desc *d, pb_fill f, uint64_t seed, int64_t plane, int64_t pos,
                        int64_t P)
{
    if (f == PB_FILL_TIES) {
        uint64_t h = pb_v_hash(seed ^ SALT_TIES, (uint64_t)plane, (uint64_t)pos);
        return (float)((int64_t)(h & 3) - 2);
    }
    float v = distinct_value(d, seed, plane, pos, P);
    if (f == PB_FILL_DISTINCT) return v;
    unsigned h = (unsigned)(pb_v_hash(seed ^ SALT_SPECIAL, (uint64_t)plane, (uint64_t)pos) & 63);
    if (f == PB_FILL_NAN) {
        if (h < 4) return NAN;
        if (h == 4) return INFINITY;
        if (h == 5) return -INFINITY;
        return v;
    }
    if (h < 4) return INFINITY;
    if (h < 8) return -INFINITY;
    return v;
}

/* INF fill: whole windows of -inf in the even planes, so the "all -inf
 * window -> -inf at the first in-input position" rule is exercised. */
static void neg_inf_windows(const pb_desc *d, uint64_t seed, float *src, int64_t n)
{
    if (d->oh < 1 || d->ow < 1) return; /* not finalized: no windows known */
    int64_t P = d->ih * d->iw, outs = d->oh * d->ow;
    int64_t planes = (n + P - 1) / P; /* planes touched by the n elements */
    for (int64_t p = 0; p < planes; p += 2) {
        int64_t nn = p / d->c, c = p % d->c;
        for (int64_t j = 0; j < 1 + outs / 16; j++) {
            int64_t o = (int64_t)(pb_v_hash(seed ^ SALT_WINDOW, (uint64_t)p, (uint64_t)j) %
                                  (uint64_t)outs);
            pb_axis_window y = pb_axis_window_at(o / d->ow, d->ih, d->kh, d->sh, d->pt, d->pb, d->dh);
            pb_axis_window x = pb_axis_window_at(o % d->ow, d->iw, d->kw, d->sw, d->pl, d->pr, d->dw);
            for (int64_t ty = y.t_lo; ty < y.t_hi; ty++)
                for (int64_t tx = x.t_lo; tx < x.t_hi; tx++) {
                    int64_t off = pb_offset(d->layout, d->c, d->ih, d->iw, nn, c,
                                            y.start + ty * d->dh, x.start + tx * d->dw);
                    if (off < n) src[off] = -INFINITY;
                }
        }
    }
}

void pb_fill_src(const pb_desc *d, pb_fill f, uint64_t seed, float *src, int64_t n)
{
    if (!d || !src || n < 1 || (unsigned)f >= PB_FILL_COUNT) return;
    if (d->c < 1 || d->ih < 1 || d->iw < 1) return;
    int64_t P, CP;
    if (__builtin_mul_overflow(d->ih, d->iw, &P) || __builtin_mul_overflow(P, d->c, &CP)) return;
    for (int64_t e = 0; e < n; e++) {
        int64_t plane, pos;
        if (d->layout == PB_LAYOUT_NHWC) {
            int64_t c = e % d->c;
            pos = (e / d->c) % P;
            plane = (e / CP) * d->c + c;
        } else {
            plane = e / P;
            pos = e % P;
        }
        src[e] = fill_value(d, f, seed, plane, pos, P);
    }
    if (f == PB_FILL_INF) neg_inf_windows(d, seed, src, n);
}

void pb_fill_diff_dst(uint64_t seed, float *diff_dst, int64_t n)
{
    if (!diff_dst) return;
    for (int64_t i = 0; i < n; i++) {
        uint64_t h = pb_v_hash(seed ^ SALT_GRAD, (uint64_t)i, 0);
        diff_dst[i] = (float)((int64_t)(h % 129) - 64) * 0.125f;
        /* zeros of both signs: the reference adds gradients to +0, so a
         * kernel that copies a -0 instead of adding it is caught */
        if (diff_dst[i] == 0.0f && (h >> 32) % 2) diff_dst[i] = -0.0f;
    }
}

void pb_poison_f32(float *p, int64_t n)
{
    if (!p) return;
    uint32_t bits = PB_POISON_F32_BITS;
    float v;
    memcpy(&v, &bits, sizeof v);
    for (int64_t i = 0; i < n; i++) p[i] = v;
}

void pb_poison_i32(int32_t *p, int64_t n)
{
    if (!p) return;
    for (int64_t i = 0; i < n; i++) p[i] = PB_POISON_I32;
}

bool pb_is_poison_f32(float v)
{
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    return bits == PB_POISON_F32_BITS;
}
