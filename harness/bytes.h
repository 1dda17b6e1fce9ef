/*
 * The byte model: how many bytes a pooling case must move, per direction,
 * for the GB/s figure and the bandwidth reference's traffic shape.
 *
 * Compulsory traffic: every tensor the direction reads or writes, counted
 * once, at its element size (f32 data, int32 indices):
 *   fwd_inf            read src                 write dst
 *   fwd_train, max     read src                 write dst + ws (argmax)
 *   fwd_train, avg     read src                 write dst        (no indices)
 *   bwd, max           read diff_dst + ws       write diff_src
 *   bwd, avg           read diff_dst            write diff_src
 * Global pooling follows the same rows (its dst is one element per plane).
 * Not counted: re-reads of overlapping windows (cache hits), the zeroing
 * pass of a backward kernel, write-allocate reads, and a library backend's
 * own workspace format: a kernel that moves more than this model pays for
 * it in its GB/s.  Elements: the input plane elements (src_elems, which is
 * also diff_src's size), the same count in every direction, so elements/s
 * compares directions and implementations on one scale.
 */
#ifndef POOLBENCH_BYTES_H
#define POOLBENCH_BYTES_H

#include <stdint.h>

#include "pool.h"

typedef struct pb_bytes {
    int64_t src;       /* bytes of each tensor the direction touches, 0 if not */
    int64_t dst;
    int64_t ws;
    int64_t diff_dst;
    int64_t diff_src;
    int64_t read;      /* sum of the tensors read */
    int64_t write;     /* sum of the tensors written */
    int64_t total;     /* read + write: the GB/s numerator */
    int64_t elements;  /* src_elems: the elements/s numerator */
} pb_bytes;

/* Fills *out for a finalized descriptor and a direction.  PB_ERR_NULL,
 * PB_ERR_DIR, PB_ERR_ALG, PB_ERR_DTYPE, PB_ERR_SHAPE if d was not
 * finalized (no element counts), PB_ERR_OVERFLOW if a byte count would
 * overflow int64. */
pb_status pb_bytes_model(const pb_desc *d, pb_dir dir, pb_bytes *out);

#endif
