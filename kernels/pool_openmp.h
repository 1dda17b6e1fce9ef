/* The `openmp` implementation's choices, exposed so tests and tools can
 * check them (kernels/pool_openmp.c). */
#ifndef POOLBENCH_POOL_OPENMP_H
#define POOLBENCH_POOL_OPENMP_H

#include "pool.h"

/* Below pb_openmp_min_bytes(layout, dir) of memory traffic (bytes read +
 * written) a case runs on one thread.  An OpenMP region costs ~3.5 us
 * here, so 2 threads pay once one thread needs ~10 us.  Measured on this
 * 2-core VM (avx512 inside, 2x2/2 and 3x3/2 max, 64 channels, 2 threads
 * vs 1, every size forced to split): NCHW backward wins from 221 KiB
 * (1.14x), NCHW forward from 512 KiB (1.41x; 0.82x at 320 KiB), NHWC
 * backward from 614 KiB (1.11x; 0.87x at 393 KiB), NHWC forward, the
 * fastest kernel, from 1.3 MiB (1.44x; 0.77x at 737 KiB).  NHWC backward
 * splits from 768 KiB since its 3x3/2 kernel got faster: vgg16 pool5
 * (602 KiB, 7 us) ran 0.81-0.99x on 2 threads in 4 rounds. */
#define PB_OPENMP_MIN_BYTES ((int64_t)256 << 10) /* the smallest of the four */
/* Global pooling splits only from this much traffic: its backward is a
 * fill at 65-85 GB/s, so resnet50's 7x7x2048 NCHW backward (410 KiB,
 * 5-7 us) ran 0.76-0.96x on 2 threads in 3 of 4 rounds. */
#define PB_OPENMP_GLOBAL_MIN_BYTES ((int64_t)1 << 20)
int64_t pb_openmp_min_bytes(pb_layout layout, pb_dir dir);

/* The implementation the wrapper runs (d, dir) with: the highest-priority
 * registry entry that is neither parallel nor external, has the slice entry
 * point for the direction and accepts the case.  NULL if none does (then
 * the wrapper declines the case) or d is NULL. */
const pb_impl *pb_openmp_inner(const pb_desc *d, pb_dir dir);

/* The number of threads the wrapper uses for (d, dir): d->threads, or
 * OpenMP's default when it is 0; 1 below pb_openmp_min_bytes() of traffic
 * (PB_OPENMP_GLOBAL_MIN_BYTES for global pooling); never more than there
 * are slices.  1 for a NULL descriptor or an
 * unknown direction. */
int pb_openmp_threads_for(const pb_desc *d, pb_dir dir);

#endif
