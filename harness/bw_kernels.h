/*
 * The streaming kernels of the bandwidth reference (bandwidth.h), written
 * once here and compiled per ISA: bw_kernels.c (SSE2), bw_kernels_avx2.c,
 * bw_kernels_avx512.c each define PB_BW_VEC_BYTES and PB_BW_TABLE and
 * include this file.  Vector types with explicit width make each a plain
 * load/add/store stream at the widest registers of its ISA whatever the
 * optimization level, so the reference is as fast as a pooling kernel of
 * that ISA could stream.
 *
 * Shapes: read-R/write-1 (dst[i] = sum of R source streams at i) for
 * R = 1..PB_BW_MAX_STREAMS, and read-1/write-W (dst_w[i] = src[i] + w) for
 * W = 2..PB_BW_MAX_STREAMS.  A kernel handles elements [begin, end), both
 * multiples of PB_BW_BLOCK floats, of 64-byte aligned streams.
 *
 * Each shape comes twice: with ordinary stores (a written line is first
 * read for ownership, then kept in the caches) and with streaming stores
 * (non-temporal: full lines go straight to memory, no read for ownership;
 * ended by an sfence).  Which is faster depends on the size: streaming
 * wins once the destination cannot stay in the caches, ordinary below.
 */
#ifndef POOLBENCH_BW_KERNELS_H
#define POOLBENCH_BW_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PB_BW_MAX_STREAMS 16
#define PB_BW_BLOCK 64 /* floats: 4 cache lines, a multiple of every vector */

typedef void (*pb_bw_kernel)(const float *const *src, float *const *dst, int64_t begin,
                             int64_t end);

/* Index: [R] for read-R/write-1 (R = 1..16), [16 + W] for read-1/write-W
 * (W = 2..16); entry 0 and 17 unused.  k: ordinary stores, nt: streaming. */
typedef struct pb_bw_table {
    pb_bw_kernel k[2 * PB_BW_MAX_STREAMS + 1];
    pb_bw_kernel nt[2 * PB_BW_MAX_STREAMS + 1];
} pb_bw_table;

extern const pb_bw_table pb_bw_table_baseline;
extern const pb_bw_table pb_bw_table_avx2;
extern const pb_bw_table pb_bw_table_avx512;

#endif

#ifdef PB_BW_VEC_BYTES
/* The body, included once per ISA file, which also defines
 * PB_BW_STREAM(float *p, pb_bw_vec v): a streaming store of v at p. */
#include <immintrin.h>
typedef float pb_bw_vec __attribute__((vector_size(PB_BW_VEC_BYTES), may_alias));
#define PB_BW_VL (PB_BW_VEC_BYTES / 4)

static inline __attribute__((always_inline)) void bw_read_k(int R, const float *const *src,
                                                            float *const *dst, int64_t begin,
                                                            int64_t end, const bool nt)
{
    /* local copies: the may_alias stores cannot touch a non-escaped local,
     * so the stream pointers stay in registers */
    const float *s[PB_BW_MAX_STREAMS];
#pragma GCC unroll 16
    for (int r = 0; r < R; r++) s[r] = src[r];
    float *d = dst[0];
    for (int64_t i = begin; i < end; i += PB_BW_VL) {
        pb_bw_vec acc = *(const pb_bw_vec *)(s[0] + i);
#pragma GCC unroll 16
        for (int r = 1; r < R; r++) acc += *(const pb_bw_vec *)(s[r] + i);
        if (nt)
            PB_BW_STREAM(d + i, acc);
        else
            *(pb_bw_vec *)(d + i) = acc;
    }
    if (nt) _mm_sfence();
}

static inline __attribute__((always_inline)) void bw_write_k(int W, const float *const *src,
                                                             float *const *dst, int64_t begin,
                                                             int64_t end, const bool nt)
{
    float *d[PB_BW_MAX_STREAMS];
#pragma GCC unroll 16
    for (int w = 0; w < W; w++) d[w] = dst[w];
    const float *s = src[0];
    for (int64_t i = begin; i < end; i += PB_BW_VL) {
        pb_bw_vec v = *(const pb_bw_vec *)(s + i);
#pragma GCC unroll 16
        for (int w = 0; w < W; w++) {
            if (nt)
                PB_BW_STREAM(d[w] + i, v + (float)w);
            else
                *(pb_bw_vec *)(d[w] + i) = v + (float)w;
        }
    }
    if (nt) _mm_sfence();
}

#define PB_BW_R(R)                                                                          \
    static void bw_r##R(const float *const *src, float *const *dst, int64_t b, int64_t e)  \
    {                                                                                       \
        bw_read_k(R, src, dst, b, e, false);                                                \
    }                                                                                       \
    static void bw_nt_r##R(const float *const *src, float *const *dst, int64_t b, int64_t e) \
    {                                                                                       \
        bw_read_k(R, src, dst, b, e, true);                                                 \
    }
#define PB_BW_W(W)                                                                          \
    static void bw_w##W(const float *const *src, float *const *dst, int64_t b, int64_t e)  \
    {                                                                                       \
        bw_write_k(W, src, dst, b, e, false);                                               \
    }                                                                                       \
    static void bw_nt_w##W(const float *const *src, float *const *dst, int64_t b, int64_t e) \
    {                                                                                       \
        bw_write_k(W, src, dst, b, e, true);                                                \
    }
PB_BW_R(1) PB_BW_R(2) PB_BW_R(3) PB_BW_R(4) PB_BW_R(5) PB_BW_R(6) PB_BW_R(7) PB_BW_R(8)
PB_BW_R(9) PB_BW_R(10) PB_BW_R(11) PB_BW_R(12) PB_BW_R(13) PB_BW_R(14) PB_BW_R(15) PB_BW_R(16)
PB_BW_W(2) PB_BW_W(3) PB_BW_W(4) PB_BW_W(5) PB_BW_W(6) PB_BW_W(7) PB_BW_W(8) PB_BW_W(9)
PB_BW_W(10) PB_BW_W(11) PB_BW_W(12) PB_BW_W(13) PB_BW_W(14) PB_BW_W(15) PB_BW_W(16)

const pb_bw_table PB_BW_TABLE = {
    {
        NULL,    bw_r1,   bw_r2,   bw_r3,   bw_r4,   bw_r5,   bw_r6,   bw_r7,   bw_r8,
        bw_r9,   bw_r10,  bw_r11,  bw_r12,  bw_r13,  bw_r14,  bw_r15,  bw_r16,  NULL,
        bw_w2,   bw_w3,   bw_w4,   bw_w5,   bw_w6,   bw_w7,   bw_w8,   bw_w9,   bw_w10,
        bw_w11,  bw_w12,  bw_w13,  bw_w14,  bw_w15,  bw_w16,
    },
    {
        NULL,       bw_nt_r1,   bw_nt_r2,   bw_nt_r3,   bw_nt_r4,   bw_nt_r5,   bw_nt_r6,
        bw_nt_r7,   bw_nt_r8,   bw_nt_r9,   bw_nt_r10,  bw_nt_r11,  bw_nt_r12,  bw_nt_r13,
        bw_nt_r14,  bw_nt_r15,  bw_nt_r16,  NULL,       bw_nt_w2,   bw_nt_w3,   bw_nt_w4,
        bw_nt_w5,   bw_nt_w6,   bw_nt_w7,   bw_nt_w8,   bw_nt_w9,   bw_nt_w10,  bw_nt_w11,
        bw_nt_w12,  bw_nt_w13,  bw_nt_w14,  bw_nt_w15,  bw_nt_w16,
    },
};
#endif
