/* Descriptor validation, the output-size rule, the window/divisor helper
 * and the enum <-> name tables.  See pool.h for the contract. */
#include "pool.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const status_names[PB_ERR_COUNT] = {
    [PB_OK] = "ok",
    [PB_ERR_NULL] = "null pointer",
    [PB_ERR_SHAPE] = "bad shape",
    [PB_ERR_WINDOW] = "bad window",
    [PB_ERR_STRIDE] = "bad stride",
    [PB_ERR_DILATION] = "bad dilation",
    [PB_ERR_PADDING] = "bad padding",
    [PB_ERR_OUTPUT] = "empty output",
    [PB_ERR_EMPTY_WINDOW] = "window covers no input",
    [PB_ERR_OVERFLOW] = "size overflow",
    [PB_ERR_TOO_LARGE] = "buffer too large",
    [PB_ERR_ALG] = "unknown algorithm",
    [PB_ERR_LAYOUT] = "unknown layout",
    [PB_ERR_DTYPE] = "unknown data type",
    [PB_ERR_DIR] = "unknown direction",
    [PB_ERR_PARSE] = "malformed problem string",
    [PB_ERR_UNSUPPORTED] = "unsupported by implementation",
    [PB_ERR_ISA] = "ISA not available",
    [PB_ERR_NOMEM] = "out of memory",
    [PB_ERR_UNKNOWN_NAME] = "unknown name",
    [PB_ERR_IO] = "I/O error",
    [PB_ERR_LIBRARY] = "library error",
    [PB_ERR_PARTIAL] = "workspace outside its window; needs whole samples",
};

const char *pb_status_str(pb_status s)
{
    if ((unsigned)s >= PB_ERR_COUNT) return "invalid status";
    return status_names[s];
}

static const char *const alg_names[PB_ALG_COUNT] = {"max", "avg_incl", "avg_excl"};
static const char *const layout_names[PB_LAYOUT_COUNT] = {"nchw", "nhwc"};
static const char *const dtype_names[PB_DT_COUNT] = {"f32"};
static const char *const dir_names[PB_DIR_COUNT] = {"fwd_inf", "fwd_train", "bwd"};

static const char *name_of(const char *const *names, unsigned count, unsigned v)
{
    return v < count ? names[v] : "?";
}

static pb_status parse_name(const char *const *names, unsigned count, const char *s,
                            unsigned *out, pb_status err)
{
    if (!s || !out) return PB_ERR_NULL;
    for (unsigned i = 0; i < count; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return PB_OK;
        }
    return err;
}

const char *pb_alg_name(pb_alg a) { return name_of(alg_names, PB_ALG_COUNT, a); }
const char *pb_layout_name(pb_layout l) { return name_of(layout_names, PB_LAYOUT_COUNT, l); }
const char *pb_dtype_name(pb_dtype t) { return name_of(dtype_names, PB_DT_COUNT, t); }
const char *pb_dir_name(pb_dir d) { return name_of(dir_names, PB_DIR_COUNT, d); }

/* Parse into an unsigned first: enum types' signedness is implementation-defined. */
#define PARSE_ENUM(fn, type, names, count, err)                                   \
    pb_status fn(const char *s, type *out)                                        \
    {                                                                             \
        unsigned v = 0;                                                           \
        pb_status st = parse_name(names, count, s, &v, err);                      \
        if (st == PB_OK) *out = (type)v;                                          \
        return st;                                                                \
    }
PARSE_ENUM(pb_alg_parse, pb_alg, alg_names, PB_ALG_COUNT, PB_ERR_ALG)
PARSE_ENUM(pb_layout_parse, pb_layout, layout_names, PB_LAYOUT_COUNT, PB_ERR_LAYOUT)
PARSE_ENUM(pb_dtype_parse, pb_dtype, dtype_names, PB_DT_COUNT, PB_ERR_DTYPE)
PARSE_ENUM(pb_dir_parse, pb_dir, dir_names, PB_DIR_COUNT, PB_ERR_DIR)

void pb_desc_init(pb_desc *d)
{
    if (!d) return;
    memset(d, 0, sizeof *d);
    d->n = 1;
    d->dh = d->dw = 1;
    d->alg = PB_ALG_MAX;
    d->layout = PB_LAYOUT_NCHW;
    d->dtype = PB_DT_F32;
    /* stride 0 means "not given": finalize makes it the window size */
}

/* C's '/' truncates toward zero; the output-size rule needs a true floor. */
static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

int64_t pb_out_size(int64_t in, int64_t k, int64_t s, int64_t pad_lo, int64_t pad_hi,
                    int64_t dil, bool ceil_mode)
{
    if (in < 1 || k < 1 || s < 1 || dil < 1 || pad_lo < 0 || pad_hi < 0) return 0;
    /* no valid descriptor goes beyond int32 here; bounding the operands
     * keeps the arithmetic below free of int64 overflow for any caller */
    if (in > INT32_MAX || k > INT32_MAX || s > INT32_MAX || pad_lo > INT32_MAX ||
        pad_hi > INT32_MAX)
        return 0;
    int64_t span;
    /* a dilated span past 2^62 dwarfs in + pads (< 2^33): no output */
    if (__builtin_mul_overflow(dil, k - 1, &span) || span > ((int64_t)1 << 62)) return 0;
    int64_t num = in + pad_lo + pad_hi - span - 1 + (ceil_mode ? s - 1 : 0);
    int64_t out = floor_div(num, s) + 1;
    if (ceil_mode && out > 0 && (out - 1) * s >= in + pad_lo) out--;
    return out;
}

/* ceil(x / dil) for x >= 1, without overflow for a huge dil; no division
 * for dil 1, the common case (the avx512 geometry calls this per output
 * and per call, where three divisions per window were measurable) */
static inline int64_t ceil_div_pos(int64_t x, int64_t dil)
{
    return dil == 1 ? x : (x - 1) / dil + 1;
}

pb_axis_window pb_axis_window_at(int64_t o, int64_t in, int64_t k, int64_t s, int64_t pad_lo,
                                 int64_t pad_hi, int64_t dil)
{
    pb_axis_window w = {.start = 0, .t_lo = 0, .t_hi = 0, .n_pad = 0};
    /* out of contract (a descriptor pb_desc_finalize would refuse, or an
     * output index past any valid output): an empty window, never a
     * division by zero or an int64 overflow.  dil is only ever a divisor,
     * so any dil >= 1 is safe (finalize allows a huge dil when k = 1). */
    if (k < 1 || s < 1 || dil < 1 || in < 1 || pad_lo < 0 || pad_hi < 0 || o < 0 ||
        o > INT32_MAX || in > INT32_MAX || k > INT32_MAX || s > INT32_MAX ||
        pad_lo > INT32_MAX || pad_hi > INT32_MAX)
        return w;
    w.start = o * s - pad_lo;
    /* first tap with start + t*dil >= 0: ceil(-start / dil), written so
     * that it cannot overflow for a huge dil */
    w.t_lo = w.start >= 0 ? 0 : ceil_div_pos(-w.start, dil);
    /* one past the last tap with start + t*dil < in */
    int64_t hi = w.start < in ? ceil_div_pos(in - w.start, dil) : 0;
    w.t_hi = hi < k ? hi : k;
    if (w.t_lo > w.t_hi) w.t_lo = w.t_hi;
    /* taps inside the padded extent [-pad_lo, in + pad_hi): the left edge
     * never clips (start >= -pad_lo), only the ceil-mode overhang does */
    int64_t lim = in + pad_hi - w.start; /* taps need t*dil < lim */
    int64_t np = lim > 0 ? ceil_div_pos(lim, dil) : 0;
    w.n_pad = np < k ? np : k;
    return w;
}

int64_t pb_divisor(const pb_desc *d, int64_t oh, int64_t ow)
{
    if (!d || d->alg == PB_ALG_MAX) return 1;
    pb_axis_window y = pb_axis_window_at(oh, d->ih, d->kh, d->sh, d->pt, d->pb, d->dh);
    pb_axis_window x = pb_axis_window_at(ow, d->iw, d->kw, d->sw, d->pl, d->pr, d->dw);
    if (d->alg == PB_ALG_AVG_INCL) return y.n_pad * x.n_pad;
    return (y.t_hi - y.t_lo) * (x.t_hi - x.t_lo);
}

pb_status pb_errorf(char *msg, size_t len, pb_status st, const char *fmt, ...)
{
    if (msg && len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, len, fmt, ap);
        va_end(ap);
    }
    return st;
}

/* a*b into *r unless it overflows int64 */
static bool mul_ok(int64_t a, int64_t b, int64_t *r) { return !__builtin_mul_overflow(a, b, r); }

/* Checks one axis: window, stride, dilation, padding, output size and that
 * every window taps at least one input element. */
static pb_status check_axis(const char *axis, int64_t in, int64_t k, int64_t s, int64_t plo,
                            int64_t phi, int64_t dil, bool ceil_mode, int64_t *out, char *msg,
                            size_t len)
{
    if (k < 1) return pb_errorf(msg, len, PB_ERR_WINDOW, "window k%s=%lld must be >= 1", axis, (long long)k);
    if (s < 1) return pb_errorf(msg, len, PB_ERR_STRIDE, "stride s%s=%lld must be >= 1", axis, (long long)s);
    if (dil < 1)
        return pb_errorf(msg, len, PB_ERR_DILATION, "dilation d%s=%lld must be >= 1", axis, (long long)dil);
    if (plo < 0 || phi < 0)
        return pb_errorf(msg, len, PB_ERR_PADDING, "padding along %s must be >= 0", axis);
    if (plo > k / 2 || phi > k / 2)
        return pb_errorf(msg, len, PB_ERR_PADDING,
                    "padding along %s (%lld,%lld) exceeds half the window k%s=%lld", axis,
                    (long long)plo, (long long)phi, axis, (long long)k);
    int64_t span;
    if (!mul_ok(dil, k - 1, &span) || span > INT32_MAX || in > INT32_MAX || k > INT32_MAX ||
        s > INT32_MAX)
        return pb_errorf(msg, len, PB_ERR_OVERFLOW, "window or input along %s too large", axis);
    int64_t o = pb_out_size(in, k, s, plo, phi, dil, ceil_mode);
    if (o < 1)
        return pb_errorf(msg, len, PB_ERR_OUTPUT,
                    "output along %s is %lld: the window (%lld taps, dilation %lld) does not fit "
                    "input %lld with padding %lld+%lld",
                    axis, (long long)o, (long long)k, (long long)dil, (long long)in,
                    (long long)plo, (long long)phi);
    /* every window starts before `in` (the ceil rule guarantees it), so only
     * windows starting in the left padding can miss the input */
    for (int64_t i = 0; i < o && i * s < plo; i++) {
        pb_axis_window w = pb_axis_window_at(i, in, k, s, plo, phi, dil);
        if (w.t_hi <= w.t_lo)
            return pb_errorf(msg, len, PB_ERR_EMPTY_WINDOW,
                        "window %lld along %s taps no input element (only padding)",
                        (long long)i, axis);
    }
    *out = o;
    return PB_OK;
}

pb_status pb_desc_finalize(pb_desc *d, char *msg, size_t len)
{
    if (msg && len) msg[0] = '\0';
    if (!d) return pb_errorf(msg, len, PB_ERR_NULL, "descriptor is NULL");
    if ((unsigned)d->alg >= PB_ALG_COUNT)
        return pb_errorf(msg, len, PB_ERR_ALG, "unknown algorithm %d", (int)d->alg);
    if ((unsigned)d->layout >= PB_LAYOUT_COUNT)
        return pb_errorf(msg, len, PB_ERR_LAYOUT, "unknown layout %d", (int)d->layout);
    if ((unsigned)d->dtype >= PB_DT_COUNT)
        return pb_errorf(msg, len, PB_ERR_DTYPE, "unknown data type %d", (int)d->dtype);
    const struct { const char *name; int64_t v; } dims[] = {
        {"mb", d->n}, {"ic", d->c}, {"ih", d->ih}, {"iw", d->iw}};
    for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++)
        if (dims[i].v < 1)
            return pb_errorf(msg, len, PB_ERR_SHAPE, "%s=%lld must be >= 1", dims[i].name,
                        (long long)dims[i].v);
    if (d->threads < 0) return pb_errorf(msg, len, PB_ERR_SHAPE, "threads=%d must be >= 0", d->threads);

    if (d->global) {
        d->kh = d->ih;
        d->kw = d->iw;
        d->sh = d->sw = 1;
        d->pt = d->pl = d->pb = d->pr = 0;
        d->dh = d->dw = 1;
        d->ceil_mode = false;
    }
    /* stride not given: the window size (benchdnn and PyTorch default) */
    if (d->sh == 0 && d->kh > 0) d->sh = d->kh;
    if (d->sw == 0 && d->kw > 0) d->sw = d->kw;

    pb_status st = check_axis("h", d->ih, d->kh, d->sh, d->pt, d->pb, d->dh, d->ceil_mode, &d->oh,
                              msg, len);
    if (st != PB_OK) return st;
    st = check_axis("w", d->iw, d->kw, d->sw, d->pl, d->pr, d->dw, d->ceil_mode, &d->ow, msg, len);
    if (st != PB_OK) return st;

    int64_t nc, plane, src, dst, bytes;
    if (!mul_ok(d->ih, d->iw, &plane) || plane > INT32_MAX)
        return pb_errorf(msg, len, PB_ERR_OVERFLOW,
                    "plane ih*iw does not fit the int32 argmax index");
    if (!mul_ok(d->n, d->c, &nc) || !mul_ok(nc, plane, &src) || !mul_ok(nc, d->oh * d->ow, &dst) ||
        !mul_ok(src, (int64_t)sizeof(float), &bytes))
        return pb_errorf(msg, len, PB_ERR_OVERFLOW, "element count mb*ic*ih*iw overflows 64 bits");
    if (bytes > PB_MAX_BUFFER_BYTES)
        return pb_errorf(msg, len, PB_ERR_TOO_LARGE,
                    "source tensor needs %lld bytes, over the %lld-byte limit", (long long)bytes,
                    (long long)PB_MAX_BUFFER_BYTES);
    /* padding can make dst up to 4x src (ih = iw = 1, k2 s1 p1 gives 2x2),
     * so dst (and the same-sized int32 argmax workspace) is checked too */
    if (!mul_ok(dst, (int64_t)sizeof(float), &bytes))
        return pb_errorf(msg, len, PB_ERR_OVERFLOW, "element count mb*ic*oh*ow overflows 64 bits");
    if (bytes > PB_MAX_BUFFER_BYTES)
        return pb_errorf(msg, len, PB_ERR_TOO_LARGE,
                    "destination tensor needs %lld bytes, over the %lld-byte limit",
                    (long long)bytes, (long long)PB_MAX_BUFFER_BYTES);
    d->src_elems = src;
    d->dst_elems = dst;
    return PB_OK;
}
