/*
 * poolbench: the one contract every pooling implementation, the verifier,
 * the tests and the benchmark harness speak through.
 *
 * A problem is a pb_desc: shape, window, stride, padding, dilation, ceil
 * mode, global flag, algorithm, layout, data type.  pb_desc_finalize()
 * validates it and derives the output size; nothing may run on a
 * descriptor that did not pass it.
 *
 * Output size per axis (one rule for everything, pb_out_size()):
 *   out = floor((in + pad_lo + pad_hi - dil*(k-1) - 1 + (ceil ? s-1 : 0)) / s) + 1
 * with a true floor (the numerator can be negative).  In ceil mode the last
 * output is dropped when (out-1)*s >= in + pad_lo, so the last window starts
 * inside the input or the left padding (PyTorch's rule).
 *
 * Semantics (f32):
 *   max       padding never wins; ties go to the FIRST maximum in row-major
 *             window scan order; a window containing NaN outputs NaN and its
 *             argmax is the first NaN (PyTorch's CPU kernel reports the last
 *             NaN, oneDNN ignores NaN); an all -inf window outputs -inf with
 *             the first in-input position (oneDNN gives -FLT_MAX).
 *   avg_excl  divides by the number of real input elements the window taps.
 *   avg_incl  divides by the taps inside the padded extent
 *             [-pad_lo, in + pad_hi): padding counts, the ceil-mode overhang
 *             past the padding never does (as in PyTorch).
 *   argmax    int32, the flat position h*W + w inside its (n, c) plane, in
 *             both layouts.
 *   backward  diff_src is fully written by the kernel (zeroed, then
 *             accumulated).  max adds each diff_dst element to the position
 *             its argmax names, accumulating where windows overlap; avg adds
 *             diff_dst / divisor to every input position its window taps.
 *
 * Every public function validates its input and returns a pb_status; none
 * aborts or writes outside the buffers the descriptor describes.
 */
#ifndef POOLBENCH_POOL_H
#define POOLBENCH_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Status codes: 0 is success, each rejection has its own code so the tests
 * can assert which rule fired.  pb_status_str() gives a stable short name. */
typedef enum pb_status {
    PB_OK = 0,
    PB_ERR_NULL,             /* a required pointer is NULL */
    PB_ERR_SHAPE,            /* N, C, H or W is zero or negative */
    PB_ERR_WINDOW,           /* kernel size zero or negative */
    PB_ERR_STRIDE,           /* stride zero or negative */
    PB_ERR_DILATION,         /* dilation zero or negative */
    PB_ERR_PADDING,          /* padding negative or greater than k/2 */
    PB_ERR_OUTPUT,           /* output size smaller than 1 */
    PB_ERR_EMPTY_WINDOW,     /* some window taps no input element at all */
    PB_ERR_OVERFLOW,         /* element or byte count overflows int64, or a
                                plane does not fit int32 argmax indices */
    PB_ERR_TOO_LARGE,        /* a buffer exceeds PB_MAX_BUFFER_BYTES */
    PB_ERR_ALG,              /* unknown algorithm */
    PB_ERR_LAYOUT,           /* unknown layout */
    PB_ERR_DTYPE,            /* unknown or unsupported data type */
    PB_ERR_DIR,              /* unknown direction */
    PB_ERR_PARSE,            /* malformed problem string */
    PB_ERR_UNSUPPORTED,      /* implementation declines this problem */
    PB_ERR_ISA,              /* CPU lacks the implementation's ISA */
    PB_ERR_NOMEM,            /* allocation failed */
    PB_ERR_UNKNOWN_NAME,     /* no implementation, suite or option by that name */
    PB_ERR_IO,               /* file could not be read or written */
    PB_ERR_LIBRARY,          /* an external library (oneDNN, XNNPACK, ...) failed */
    PB_ERR_PARTIAL,          /* a slice range cannot honour a workspace entry
                              * outside its window; run whole samples (see
                              * pb_slice_fn) */
    PB_ERR_COUNT
} pb_status;

const char *pb_status_str(pb_status s);

/* Writes a printf-style one-line message into msg (msg_len bytes; nothing
 * when msg is NULL or msg_len is 0) and returns st: the one way every
 * validating function reports why it failed. */
pb_status pb_errorf(char *msg, size_t msg_len, pb_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* One buffer may not exceed this many bytes (a sane limit for a 24 GiB
 * machine; a descriptor that needs more is rejected, not attempted). */
#define PB_MAX_BUFFER_BYTES ((int64_t)8 << 30)

typedef enum pb_alg { PB_ALG_MAX = 0, PB_ALG_AVG_INCL, PB_ALG_AVG_EXCL, PB_ALG_COUNT } pb_alg;
typedef enum pb_layout { PB_LAYOUT_NCHW = 0, PB_LAYOUT_NHWC, PB_LAYOUT_COUNT } pb_layout;
typedef enum pb_dtype { PB_DT_F32 = 0, PB_DT_COUNT } pb_dtype;
typedef enum pb_dir {
    PB_DIR_FWD_INF = 0, /* forward inference: dst only */
    PB_DIR_FWD_TRAIN,   /* forward training: dst, and argmax for max */
    PB_DIR_BWD,         /* backward data: diff_dst (+ argmax) -> diff_src */
    PB_DIR_COUNT
} pb_dir;

/* Capability bit for an enum value, for the registry's support masks. */
#define PB_BIT(x) (1u << (unsigned)(x))
#define PB_ALL_ALGS (PB_BIT(PB_ALG_MAX) | PB_BIT(PB_ALG_AVG_INCL) | PB_BIT(PB_ALG_AVG_EXCL))
#define PB_ALL_LAYOUTS (PB_BIT(PB_LAYOUT_NCHW) | PB_BIT(PB_LAYOUT_NHWC))
#define PB_ALL_DIRS (PB_BIT(PB_DIR_FWD_INF) | PB_BIT(PB_DIR_FWD_TRAIN) | PB_BIT(PB_DIR_BWD))

const char *pb_alg_name(pb_alg a);       /* "max", "avg_incl", "avg_excl" */
const char *pb_layout_name(pb_layout l); /* "nchw", "nhwc" */
const char *pb_dtype_name(pb_dtype t);   /* "f32" */
const char *pb_dir_name(pb_dir d);       /* "fwd_inf", "fwd_train", "bwd" */
/* Name -> value; PB_ERR_ALG / _LAYOUT / _DTYPE / _DIR for an unknown name. */
pb_status pb_alg_parse(const char *s, pb_alg *out);
pb_status pb_layout_parse(const char *s, pb_layout *out);
pb_status pb_dtype_parse(const char *s, pb_dtype *out);
pb_status pb_dir_parse(const char *s, pb_dir *out);

/* The problem.  Fill with pb_desc_init() (defaults: N=1, stride = window,
 * padding 0, dilation 1, max, nchw, f32), set fields, then call
 * pb_desc_finalize().  Fields below "derived" are written by finalize. */
typedef struct pb_desc {
    int64_t n, c, ih, iw;     /* batch, channels, input height and width */
    int64_t kh, kw;           /* window size */
    int64_t sh, sw;           /* stride */
    int64_t pt, pl, pb, pr;   /* padding: top, left, bottom, right */
    int64_t dh, dw;           /* dilation, 1 = dense (PyTorch convention) */
    bool ceil_mode;           /* round the output size up, PyTorch's rule */
    bool global;              /* window = whole plane, output 1x1 */
    pb_alg alg;
    pb_layout layout;
    pb_dtype dtype;
    int threads;              /* execution hint for parallel implementations:
                                 0 = OpenMP's default; not part of the shape */
    /* derived by pb_desc_finalize() */
    int64_t oh, ow;           /* output height and width */
    int64_t src_elems;        /* n*c*ih*iw */
    int64_t dst_elems;        /* n*c*oh*ow */
} pb_desc;

void pb_desc_init(pb_desc *d);

/* Validate and derive.  For a global descriptor the window becomes the
 * plane, stride 1, no padding, no dilation.  On failure returns the code of
 * the first rule broken and, if msg is not NULL, writes a one-line message
 * naming the field into msg (msg_len bytes, NUL-terminated). */
pb_status pb_desc_finalize(pb_desc *d, char *msg, size_t msg_len);

/* The output-size rule for one axis, exposed for tests and tools.  Returns
 * the output size, or a value < 1 when the problem yields no output (also
 * for k, s or dil < 1, and for in, k, s or a pad beyond INT32_MAX). */
int64_t pb_out_size(int64_t in, int64_t k, int64_t s, int64_t pad_lo, int64_t pad_hi,
                    int64_t dil, bool ceil_mode);

/* Element offset of (n, c, h, w) in a tensor of this layout and shape. */
static inline int64_t pb_offset(pb_layout l, int64_t C, int64_t H, int64_t W,
                                int64_t n, int64_t c, int64_t h, int64_t w)
{
    return l == PB_LAYOUT_NCHW ? ((n * C + c) * H + h) * W + w
                               : ((n * H + h) * W + w) * C + c;
}

/* Window of output (oh, ow) along one axis, clipped to the input: taps
 * i = start + t*dil for t in [t_lo, t_hi) lie in [0, in).  Also gives the
 * divisor for the algorithm (count of taps in the input for avg_excl, in the
 * padded extent for avg_incl).  The single helper for padding and divisor
 * rules: the reference and the optimized kernels use it.  Arguments no
 * finalized descriptor produces (k, s, dil or in < 1, negative padding,
 * o < 0, values beyond INT32_MAX except dil) give an all-zero window. */
typedef struct pb_axis_window {
    int64_t start;   /* first tap position, may be negative (padding) */
    int64_t t_lo;    /* first tap index inside the input */
    int64_t t_hi;    /* one past the last tap index inside the input */
    int64_t n_pad;   /* taps inside the padded extent [-pad_lo, in+pad_hi) */
} pb_axis_window;

pb_axis_window pb_axis_window_at(int64_t o, int64_t in, int64_t k, int64_t s, int64_t pad_lo,
                                 int64_t pad_hi, int64_t dil);

/* Divisor of output (oh, ow) for average pooling (1 for max). */
int64_t pb_divisor(const pb_desc *d, int64_t oh, int64_t ow);

/* Buffers of one execution.  Forward reads src, writes dst and (training,
 * max) ws.  Backward reads diff_dst and (max) ws, writes all of diff_src;
 * src is also given to backward so that a backend which keeps its own
 * workspace format (oneDNN) can recompute it in prepare().  Tensors are in
 * d->layout; ws has dst_elems int32 entries in the same layout as dst. */
typedef struct pb_args {
    const float *src;
    float *dst;
    int32_t *ws;
    const float *diff_dst;
    float *diff_src;
} pb_args;

/* Instruction sets an implementation may require. */
typedef enum pb_isa {
    PB_ISA_BASELINE = 0, /* any x86-64 (SSE2) */
    PB_ISA_AVX2,         /* AVX2 + FMA */
    PB_ISA_AVX512,       /* AVX-512 F + BW + VL */
    PB_ISA_COUNT
} pb_isa;

const char *pb_isa_name(pb_isa i); /* "baseline", "avx2", "avx512" */
pb_status pb_isa_parse(const char *s, pb_isa *out);
/* Probed once (cpuid + OS XSAVE state): the highest ISA this CPU and OS can
 * run, capped by the environment variable POOLBENCH_MAX_ISA if set. */
pb_isa pb_cpu_isa(void);
/* True when implementations needing `isa` may run here; if not, *why (may
 * be NULL) explains, e.g. "CPU lacks avx512f" or "capped by POOLBENCH_MAX_ISA=avx2". */
bool pb_cpu_can_run(pb_isa isa, const char **why);

/* Implementation hooks.  prepare (optional) runs outside any timed region:
 * library backends create primitives, convert layouts, fill their own
 * workspace; it may read the buffers in a.  fwd/bwd are the timed calls.
 * release (optional) frees what prepare made. */
typedef pb_status (*pb_prepare_fn)(const pb_desc *d, pb_dir dir, const pb_args *a, void **state);
typedef pb_status (*pb_exec_fn)(const pb_desc *d, const pb_args *a, void *state);
typedef void (*pb_release_fn)(void *state);
/* Slices of the work, for the generic parallel wrapper (kernels/openmp):
 *   forward  output rows [begin, end) of pb_fwd_rows(d) rows:
 *            NCHW: row r = (n*C + c)*OH + oh (one output row of one plane);
 *            NHWC: row r = n*OH + oh (one output row, all channels).
 *   backward disjoint input slices [begin, end) of pb_bwd_slices(d):
 *            NCHW: slice = one (n, c) plane;
 *            NHWC: slice s = n*IH + h, input row h of sample n, all
 *            channels (threads own contiguous memory: splitting a pixel's
 *            channels between threads made 2 threads 1.6-2.6x slower
 *            than one).
 * A kernel computes every element of a slice exactly as its whole-problem
 * call does, so results are bitwise identical for any partition.  One
 * exception: a max workspace entry outside its window (no forward writes
 * one; the reference honours any position inside the plane) can only be
 * found by reading every output of the sample.  A range that holds part of
 * a sample's rows checks the outputs it reads (pb_ws_rows_valid) and
 * returns PB_ERR_PARTIAL when one is outside its window; the caller then
 * runs whole samples, which honour it. */
typedef pb_status (*pb_slice_fn)(const pb_desc *d, const pb_args *a, void *state, int64_t begin,
                                 int64_t end);
static inline int64_t pb_fwd_rows(const pb_desc *d)
{
    return d->layout == PB_LAYOUT_NCHW ? d->n * d->c * d->oh : d->n * d->oh;
}
static inline int64_t pb_bwd_slices(const pb_desc *d)
{
    return d->layout == PB_LAYOUT_NCHW ? d->n * d->c : d->n * d->ih;
}

/* Output rows a slice of input rows [h0, h1) of one sample reads in
 * backward, and which of them it owns.  An owned output row has every tap
 * of its windows inside [h0, h1): in a kernel that gathers by matching
 * argmax positions, each of its argmaxes matches exactly once in the
 * slice or lies outside its window.  The others, read but shared with a
 * neighbouring slice, need pb_ws_rows_valid. */
typedef struct pb_row_slice {
    int64_t oh_lo, oh_hi;   /* output rows whose windows tap a row of [h0, h1) lie in here */
    int64_t own_lo, own_hi; /* output rows with every tap inside [h0, h1) (may be empty) */
} pb_row_slice;
pb_row_slice pb_row_slice_of(const pb_desc *d, int64_t h0, int64_t h1);

/* True when every max workspace entry of output rows [oh0, oh1) of one
 * NHWC sample names a tap of its own window.  ws_n: the sample's
 * workspace (OH*OW*C entries). */
bool pb_ws_rows_valid(const pb_desc *d, const int32_t *ws_n, int64_t oh0, int64_t oh1);

/* Max backward of one NCHW plane (nc = 1) or one NHWC sample (nc = C) by
 * scatter: zero, then add each gradient where its argmax points, in
 * output order, as the reference.  The kernels' exact fallback for a
 * workspace entry outside its window.  PB_ERR_UNSUPPORTED for one outside
 * the plane. */
pb_status pb_max_bwd_scatter(const pb_desc *d, const float *g, const int32_t *ws, float *ds,
                             int64_t nc);

/* Finer support check beyond the masks; NULL means "everything the masks
 * allow".  Returns false and sets *why to a short reason to decline. */
typedef bool (*pb_supports_fn)(const pb_desc *d, pb_dir dir, const char **why);

/* Data-dependent semantic differences of a comparison backend, declared so
 * verify marks the affected cases SKIPPED with the reason instead of
 * failing (descriptor-level differences go through supports() instead). */
#define PB_QUIRK_NAN_IGNORED     0x1u /* max ignores NaN (oneDNN) */
#define PB_QUIRK_NEG_INF_FLT_MAX 0x2u /* all -inf window gives -FLT_MAX (oneDNN) */
#define PB_QUIRK_TIE_ORDER       0x4u /* ties may resolve to another maximum:
                                         argmax not compared on tie fills */
#define PB_QUIRK_NAN_CLAMPED     0x8u /* NaN never reaches the output: an output
                                         clamp turns a NaN result (NaN input, or
                                         +inf and -inf averaged) into +-inf or a
                                         partial max, max and avg (XNNPACK) */

/* One registry entry.  The table in kernels/registry.c is the only list of
 * implementations: tests, verify and bench enumerate it. */
typedef struct pb_impl {
    const char *name;        /* unique, e.g. "naive", "avx512" */
    const char *summary;     /* one line for `poolbench list` */
    pb_isa isa;              /* what the CPU must support */
    unsigned algs;           /* PB_BIT(pb_alg) mask */
    unsigned layouts;        /* PB_BIT(pb_layout) mask */
    unsigned dirs;           /* PB_BIT(pb_dir) mask */
    int priority;            /* higher wins in `best`; the reference is lowest */
    bool is_reference;       /* the oracle everything is checked against */
    bool external;           /* a comparison backend (oneDNN, XNNPACK) */
    bool own_workspace;      /* argmax kept in the library's own format: ws
                                is neither written nor compared */
    unsigned quirks;         /* PB_QUIRK_* bits */
    bool parallel;           /* multi-threaded (uses d->threads); `best`
                                considers it only when d->threads != 1 */
    pb_supports_fn supports;
    pb_prepare_fn prepare;
    pb_exec_fn fwd;          /* NULL when dirs has no forward */
    pb_exec_fn bwd;          /* NULL when dirs has no backward */
    pb_slice_fn fwd_rows;    /* optional slice entry points (see above) */
    pb_slice_fn bwd_slices;
    pb_release_fn release;
} pb_impl;

/* The registry: count and i-th entry (in table order, priority descending). */
size_t pb_impl_count(void);
const pb_impl *pb_impl_get(size_t i);
/* By name; NULL if none. */
const pb_impl *pb_impl_find(const char *name);
const pb_impl *pb_impl_reference(void);
/* Whether impl can run (d, dir) here: masks, supports(), CPU ISA.  On false,
 * *why says why (a static or thread-local string). */
bool pb_impl_accepts(const pb_impl *impl, const pb_desc *d, pb_dir dir, const char **why);
/* The `best` pseudo-implementation: highest priority non-external entry
 * that accepts (d, dir), parallel ones only when d->threads != 1.  Never
 * NULL: the reference accepts everything. */
const pb_impl *pb_impl_best(const pb_desc *d, pb_dir dir);

/* Run one implementation end to end: accept check, prepare, execute,
 * release.  The convenience path for verify and tests. */
pb_status pb_impl_run(const pb_impl *impl, const pb_desc *d, pb_dir dir, const pb_args *a);

#endif
