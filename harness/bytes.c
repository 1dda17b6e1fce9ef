/* The byte model (see bytes.h). */
#include "bytes.h"

#include <string.h>

pb_status pb_bytes_model(const pb_desc *d, pb_dir dir, pb_bytes *out)
{
    if (!d || !out) return PB_ERR_NULL;
    memset(out, 0, sizeof *out);
    if ((unsigned)dir >= PB_DIR_COUNT) return PB_ERR_DIR;
    if ((unsigned)d->alg >= PB_ALG_COUNT) return PB_ERR_ALG;
    if (d->dtype != PB_DT_F32) return PB_ERR_DTYPE;
    if (d->src_elems < 1 || d->dst_elems < 1) return PB_ERR_SHAPE;
    /* 4 bytes per f32 and per int32 index; /16 keeps the sums below
     * INT64_MAX (at most 3 tensors per side plus the total) */
    if (d->src_elems > INT64_MAX / 16 || d->dst_elems > INT64_MAX / 16) return PB_ERR_OVERFLOW;
    const int64_t f32 = 4, i32 = 4;
    int64_t src = d->src_elems * f32, dst = d->dst_elems * f32, idx = d->dst_elems * i32;
    bool max = d->alg == PB_ALG_MAX;
    switch (dir) {
    case PB_DIR_FWD_INF:
        out->src = src;
        out->dst = dst;
        break;
    case PB_DIR_FWD_TRAIN:
        out->src = src;
        out->dst = dst;
        out->ws = max ? idx : 0;
        break;
    case PB_DIR_BWD:
    default:
        out->diff_dst = dst;
        out->ws = max ? idx : 0;
        out->diff_src = src;
        break;
    }
    out->read = out->src + out->diff_dst + (dir == PB_DIR_BWD ? out->ws : 0);
    out->write = out->dst + out->diff_src + (dir == PB_DIR_BWD ? 0 : out->ws);
    out->total = out->read + out->write;
    out->elements = d->src_elems;
    return PB_OK;
}
