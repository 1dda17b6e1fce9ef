/*
 * In-run bandwidth reference, STREAM's discipline: before the cases, time
 * streaming kernels with the traffic shape of each case (read-k/write-1 for
 * forward pooling, read-1/write-k for backward scatter, copy) at the same
 * working-set size and thread count, so every case can report the fraction
 * of the machine's attainable bandwidth it reaches at that size.
 *
 *   - the clock's granularity is measured and every trial lasts many ticks
 *     (a trial repeats whole passes until it lasts min_trial_s);
 *   - warm-up trials are discarded (STREAM skips the first iteration);
 *   - the best trial is the reference, the mean and worst give the spread;
 *   - the result is validated after the timed trials (every element of
 *     every destination stream, exact integer-valued sums).
 * Bytes are counted as the kernel's compulsory traffic (each stream read
 * or written once per pass), the same convention as the byte model of the
 * cases (bytes.h), so the ratio is fair.
 */
#ifndef POOLBENCH_BANDWIDTH_H
#define POOLBENCH_BANDWIDTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bw_kernels.h"
#include "pool.h"

/* A traffic shape: reads source streams and writes destination streams of
 * equal length.  One of the two is 1, the other 1..PB_BW_MAX_STREAMS. */
typedef struct pb_bw_shape {
    int reads;
    int writes;
} pb_bw_shape;

/* The shape closest to a case that reads read_bytes and writes
 * write_bytes: read-k/write-1 with k = round(read/write) when reading
 * more, read-1/write-k otherwise, k clamped to 1..PB_BW_MAX_STREAMS (past
 * 16 the smaller side is under 6% of the traffic).  PB_ERR_NULL,
 * PB_ERR_SHAPE if either count is < 1. */
pb_status pb_bw_shape_for(int64_t read_bytes, int64_t write_bytes, pb_bw_shape *out);
/* Valid shape (see above)? */
bool pb_bw_shape_ok(pb_bw_shape s);

/* The streams of one shape, 64-byte aligned and staggered so that no two
 * streams share their low 12 address bits (4K aliasing between loads and
 * stores would slow the reference for no reason of the machine's). */
typedef struct pb_bw_buffers {
    pb_bw_shape shape;
    int64_t elems;                      /* floats per stream, multiple of PB_BW_BLOCK */
    const float *src[PB_BW_MAX_STREAMS];
    float *dst[PB_BW_MAX_STREAMS];
    void *mem;                          /* the one allocation */
    size_t mem_bytes;
} pb_bw_buffers;

/* Allocates streams for a pass of about `bytes` (reads + writes; rounded
 * down to whole blocks, at least one block per stream), fills the sources
 * with integer values and poisons the destinations with NaN, touching the
 * pages from `threads` threads with the partition the passes use.
 * PB_ERR_SHAPE for a bad shape, PB_ERR_PARSE for threads < 1 or bytes < 1,
 * PB_ERR_TOO_LARGE past 4 * PB_MAX_BUFFER_BYTES, PB_ERR_NOMEM. */
pb_status pb_bw_alloc(pb_bw_shape shape, int64_t bytes, int threads, pb_bw_buffers *b);
void pb_bw_free(pb_bw_buffers *b);
/* Bytes one pass moves: (reads + writes) * elems * 4. */
int64_t pb_bw_pass_bytes(const pb_bw_buffers *b);

/* One pass over all elements on `threads` threads with the kernels of
 * `isa` (PB_ERR_ISA if the CPU cannot run them), with ordinary or
 * streaming (non-temporal) stores. */
pb_status pb_bw_pass(const pb_bw_buffers *b, int threads, pb_isa isa, bool streaming);

/* Checks every destination element against the value the kernel must
 * have written.  True if all match; otherwise false and, if msg is not
 * NULL, a one-line message with the first bad stream, index and values. */
bool pb_bw_validate(const pb_bw_buffers *b, char *msg, size_t msg_len);

/* Granularity of the clock the reference and the harness use
 * (CLOCK_MONOTONIC): the smallest nonzero step between successive
 * readings, as STREAM's checktick() measures it, in seconds. */
double pb_bw_timer_resolution(void);
/* Seconds on that clock. */
double pb_bw_now(void);

/* Evicts [p, p + n) from every cache level (clflush + mfence): the --cold
 * discipline of the cases and of the reference. */
void pb_cache_flush(const void *p, size_t n);

/* The stores a reference is timed with.  A pooling kernel may write with
 * either kind (backward kernels stream diff_src once it cannot stay in the
 * caches), so the reference takes the faster of the two by default: the
 * machine's attainable bandwidth, whichever stores attain it. */
typedef enum pb_bw_stores {
    PB_BW_STORES_BEST = 0,   /* both, the faster one is the reference */
    PB_BW_STORES_ORDINARY,
    PB_BW_STORES_STREAMING,
} pb_bw_stores;

typedef struct pb_bw_config {
    pb_bw_shape shape;
    int64_t bytes;       /* working set of one pass, reads + writes */
    int threads;         /* >= 1 */
    int trials;          /* timed trials after the discarded warm-up; 0 = 10 */
    double min_trial_s;  /* hot: passes per trial so a trial lasts this
                            long; 0 = 1 ms (cold: one pass per trial) */
    bool cold;           /* flush the streams from the caches before each trial */
    pb_isa isa;          /* kernels to use; PB_ISA_COUNT = the best this CPU runs */
    pb_bw_stores stores; /* which stores to time; the default takes the faster */
} pb_bw_config;

typedef struct pb_bw_result {
    pb_bw_shape shape;
    int threads;
    bool cold;
    pb_isa isa;             /* kernels used */
    int64_t bytes;          /* bytes per pass (reads + writes) */
    int64_t elems;          /* floats per stream */
    int trials;             /* timed trials */
    int64_t passes;         /* passes per trial */
    double best_s;          /* per pass, best trial */
    double mean_s;          /* per pass, mean over the timed trials */
    double worst_s;         /* per pass, worst trial */
    double best_gbps;       /* bytes / best_s / 1e9: THE reference */
    double mean_gbps;
    double worst_gbps;
    double spread;          /* (worst_s - best_s) / best_s */
    double timer_res_s;     /* clock granularity */
    double ticks_per_trial; /* best trial in clock ticks (STREAM wants >= 20) */
    bool valid;             /* the timed result passed pb_bw_validate */
    bool streaming;         /* the figures above are of streaming stores */
    double ordinary_gbps;   /* best_gbps of each store kind; NaN if not timed */
    double streaming_gbps;
} pb_bw_result;

/* Measures one reference (with PB_BW_STORES_BEST, both store kinds in
 * full and the faster one's figures).  Returns PB_OK with out->valid false if the
 * computed result was wrong (msg says where), so the caller can report
 * it; errors as pb_bw_alloc, PB_ERR_ISA, PB_ERR_NULL. */
pb_status pb_bw_measure(const pb_bw_config *cfg, pb_bw_result *out, char *msg, size_t msg_len);

/* Short id of a reference, e.g. "r4w1-3.1MB-t1" or "r1w4-12.5MB-t2-cold". */
void pb_bw_id(const pb_bw_result *r, char *buf, size_t len);

#endif
