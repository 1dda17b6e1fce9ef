/*
 * oneDNN comparison backends (kernels/onednn.c), built when libdnnl-dev is
 * installed (PB_HAVE_ONEDNN).  Two registry entries:
 *
 *   onednn          oneDNN's pooling primitive on the problem's own layout
 *                   (NCHW or NHWC): primitives wrap the caller's buffers.
 *   onednn_blocked  the same primitive on oneDNN's native nChw16c layout.
 *                   prepare() converts the inputs (src; diff_dst and, for max
 *                   backward, src) from the problem layout into nChw16c
 *                   buffers; fwd/bwd run only the pooling primitive on them;
 *                   release() converts the result (dst or diff_src) back
 *                   into the caller's buffer that prepare() was given, and
 *                   only if fwd/bwd ran.  So the timed calls measure pooling
 *                   alone, and the conversions are timed here instead.
 *
 * Both read the buffers given to prepare(): onednn rebinds its memory
 * objects when fwd/bwd get other pointers, onednn_blocked ignores the
 * pointers passed to fwd/bwd (the data was converted in prepare()).
 */
#ifndef POOLBENCH_ONEDNN_H
#define POOLBENCH_ONEDNN_H

#include <stdint.h>

#include "pool.h"

/* Layout conversions of the most recent onednn_blocked prepare()/release()
 * pair in this process: one execution of oneDNN's reorder primitive each
 * (creation excluded), into a destination already touched, so page faults
 * of fresh buffers are not counted; the source is as the caller left it. */
typedef struct pb_onednn_conversion {
    double to_blocked_s;    /* prepare(): problem layout -> nChw16c, all inputs */
    double from_blocked_s;  /* release(): nChw16c -> problem layout (0 until then) */
    int64_t to_bytes;       /* bytes read from the problem-layout inputs */
    int64_t from_bytes;     /* bytes written to the problem-layout result */
    int64_t count;          /* prepare() calls that converted, since start */
} pb_onednn_conversion;

/* Copies the record of the latest conversion into *out (all zero before the
 * first one).  PB_ERR_NULL if out is NULL.  Thread-safe. */
pb_status pb_onednn_last_conversion(pb_onednn_conversion *out);

/* Seconds spent in the latest conversion pair, to_blocked_s + from_blocked_s
 * (0 before the first one).  Primitive creation is not included. */
double pb_onednn_last_conversion_seconds(void);

#endif
