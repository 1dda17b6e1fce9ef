/* Helpers shared by the verify/ sources: the seeded generator, the
 * permutation, guarded buffers and message formatting.  Not public API
 * (symbols carry the pb_v_ prefix). */
#ifndef POOLBENCH_VERIFY_INTERNAL_H
#define POOLBENCH_VERIFY_INTERNAL_H

#include <stdarg.h>

#include "verify.h"

/* splitmix64's finalizer: a strong 64-bit mix, used as a counter-based
 * hash so every value is a pure function of (seed, coordinates). */
static inline uint64_t pb_v_mix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

static inline uint64_t pb_v_hash(uint64_t seed, uint64_t a, uint64_t b)
{
    return pb_v_mix(pb_v_mix(seed ^ pb_v_mix(a)) ^ b);
}

/* A sequential generator (splitmix64) for sampling. */
typedef struct pb_v_rng {
    uint64_t s;
} pb_v_rng;

static inline uint64_t pb_v_next(pb_v_rng *r)
{
    r->s += 0x9E3779B97F4A7C15ull;
    return pb_v_mix(r->s);
}

/* Uniform in [0, n) for n >= 1 (the modulo bias is < 2^-32 for the sizes
 * used here, irrelevant for test sampling). */
static inline int64_t pb_v_below(pb_v_rng *r, int64_t n)
{
    return n <= 1 ? 0 : (int64_t)(pb_v_next(r) % (uint64_t)n);
}

/* Seeded bijection of [0, n) (n <= 2^62): a balanced Feistel network on
 * the next even power of two, cycle-walked into range.  No allocation, so
 * any plane size works. */
int64_t pb_v_permute(uint64_t key, int64_t i, int64_t n);

/* A buffer placed at an odd float offset inside a larger allocation, with
 * guard words before and after it. */
typedef struct pb_v_buf {
    unsigned char *raw; /* the allocation */
    void *p;            /* the tensor */
    size_t bytes;       /* tensor bytes */
    const char *name;   /* for messages: "dst", "ws", ... */
} pb_v_buf;

/* Allocates elems * elem_size bytes (elems >= 1) with guards; the tensor
 * content is zeroed.  PB_ERR_NOMEM / PB_ERR_TOO_LARGE on failure. */
pb_status pb_v_alloc(pb_v_buf *b, const char *name, int64_t elems, size_t elem_size);
void pb_v_free(pb_v_buf *b);
/* False when a guard word was overwritten; then msg says which buffer,
 * which side and how far from the tensor. */
bool pb_v_guards_ok(const pb_v_buf *b, char *msg, size_t len);

/* The buffers of one check, freed together.  pb_v_take returns NULL after
 * the first failure, which stays in st. */
#define PB_V_MAX_BUFS 16
typedef struct pb_v_bufset {
    pb_v_buf b[PB_V_MAX_BUFS];
    int count;
    pb_status st;
} pb_v_bufset;
void *pb_v_take(pb_v_bufset *s, const char *name, int64_t elems); /* 4-byte elements */
void pb_v_release(pb_v_bufset *s);

/* A read-only input and the snapshot it must still equal after a run. */
typedef struct pb_v_ro {
    const void *p, *copy;
    size_t bytes;
    const char *name;
} pb_v_ro;

/* The checks after every run of an implementation: its status, every
 * guard of the set, the read-only inputs (entries with p == NULL are
 * ignored).  False with the reason in msg. */
bool pb_v_run_ok(pb_status ist, const pb_v_bufset *s, const pb_v_ro *ro, int n_ro, char *msg,
                 size_t len);

/* Bitwise float equality. */
bool pb_v_same_bits(float a, float b);

/* The problem as a problem string (parsable by the harness), then alg,
 * layout: "mb1ic3_ih4iw4_kh2kw2_sh2sw2_pt0pb0pl0pr0_dh1dw1 max nchw". */
void pb_v_describe(const pb_desc *d, char *buf, size_t len);

/* Validates and finalizes a copy of d into *out. */
pb_status pb_v_finalized(const pb_desc *d, pb_desc *out);

/* Set out's verdict and detail (printf-style). */
void pb_v_verdict(pb_check *out, pb_verdict v, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* One float for a message: "unwritten" for poison, else %.9g. */
const char *pb_v_fmt(float v, char buf[32]);

/* Float spacing (ulp) at x >= 0 finite; x < 2^-126 gives the subnormal
 * spacing. */
double pb_v_ulp(double x);

#endif
