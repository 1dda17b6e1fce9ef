/* The `openmp` implementation's choices, exposed so tests and tools can
 * check them (kernels/pool_openmp.c). */
#ifndef POOLBENCH_POOL_OPENMP_H
#define POOLBENCH_POOL_OPENMP_H

#include "pool.h"

/* Below this much memory traffic (bytes read + written) a case runs on one
 * thread.  An OpenMP region costs ~3.5 us here.  Measured with `blocked`
 * inside (3x3/2 and 2x2/2 max forward, NCHW, 2 threads vs 1): 2 threads
 * lose below ~60-120 KiB, win 1.1-1.35x at 245 KiB; a faster inner kernel
 * moves the break-even up, so the threshold sits at 256 KiB. */
#define PB_OPENMP_MIN_BYTES ((int64_t)256 << 10)

/* The implementation the wrapper runs (d, dir) with: the highest-priority
 * registry entry that is neither parallel nor external, has the slice entry
 * point for the direction and accepts the case.  NULL if none does (then
 * the wrapper declines the case) or d is NULL. */
const pb_impl *pb_openmp_inner(const pb_desc *d, pb_dir dir);

/* The number of threads the wrapper uses for (d, dir): d->threads, or
 * OpenMP's default when it is 0; 1 below PB_OPENMP_MIN_BYTES of traffic;
 * never more than there are slices.  1 for a NULL descriptor or an
 * unknown direction. */
int pb_openmp_threads_for(const pb_desc *d, pb_dir dir);

#endif
