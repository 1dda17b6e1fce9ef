/* The `openmp` implementation's choices, exposed so tests and tools can
 * check them (kernels/pool_openmp.c). */
#ifndef POOLBENCH_POOL_OPENMP_H
#define POOLBENCH_POOL_OPENMP_H

#include "pool.h"

/* Below pb_openmp_min_bytes(layout, dir) of memory traffic (bytes read +
 * written) an evenly splittable case runs on one thread; with few slices
 * the bar rises (pb_openmp_threads_for).  2 threads forced against 1,
 * avx512 inside, 3 rounds on this 2-core VM (2026-11-25), 64 channels at
 * 2x2/2 and 3x3/2 from 16x16 to 56x56, and every suite problem:
 *   NCHW backward, 192 KiB: 1.26-1.58x from 125 KiB;
 *   NCHW forward, 256 KiB: 1.06-1.43x from 245 KiB, 0.80-1.35x at 80-180;
 *   NHWC forward, 256 KiB: 1.12-1.24x from 245 KiB, 0.61-1.11x below;
 *   NHWC backward, 448 KiB: 1.3-1.5x on even splits from 216 KiB, but
 *     on 7 rows 1.0-1.1x at 400 KiB (7x7x2048 global) and 0.83-1.2x at
 *     478 KiB (googlenet 5ab max).
 * Half the old bars or less: under those, googlenet 4a-5ab, alexnet pool2
 * and vgg16 pool5 ran on one thread where 2 threads were 1.1-1.8x faster.
 * Global pooling lost its own 1 MiB bar: 7x7x2048 NCHW backward, 0.76-0.96x
 * on 2 threads when that was set, was 1.25-1.65x in 5 rounds of 5. */
#define PB_OPENMP_MIN_BYTES ((int64_t)192 << 10) /* the smallest of the four */
int64_t pb_openmp_min_bytes(pb_layout layout, pb_dir dir);

/* The implementation the wrapper runs (d, dir) with: the highest-priority
 * registry entry that is neither parallel nor external, has the slice entry
 * point for the direction and accepts the case.  NULL if none does (then
 * the wrapper declines the case) or d is NULL. */
const pb_impl *pb_openmp_inner(const pb_desc *d, pb_dir dir);

/* The number of threads the wrapper uses for (d, dir): t = d->threads,
 * or OpenMP's default when it is 0, at most one per slice; but 1 when the
 * busiest thread's share, ceil(slices / t) slices, spares it less than
 * half of pb_openmp_min_bytes() of traffic (an even 2-way split: less
 * than the threshold).  1 for a NULL descriptor or an unknown direction. */
int pb_openmp_threads_for(const pb_desc *d, pb_dir dir);

#endif
